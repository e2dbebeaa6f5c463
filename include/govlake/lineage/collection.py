"""Collecting lineage after a build: the dbt manifest and the registry as OpenLineage events, sent to the
platform's own endpoint over OpenLineage's HTTP transport (or stored directly when asked).

Called after dbt has built (``govlake lineage collect``, the build DAG): the manifest in dbt's target
folder holds every model's compiled SQL, so a model added to dbt is collected with no code change.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from govlake.lineage.column_lineage import DerivationMemo, ModelLineage, derive, load_manifest
from govlake.lineage.event_store import ingest_token, store_events
from govlake.lineage.events import dbt_events, ingest_event, to_json
from govlake.registry import iter_datasets
from govlake.settings import Settings, get_settings
from govlake.transform.runner import DBT_PROJECT_DIR
from govlake.warehouse import connect

log = logging.getLogger(__name__)

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


@dataclass(frozen=True)
class Collected:
    events: int
    stored: int
    models: int
    columns_without_lineage: int
    seconds: float

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def warehouse_columns(settings: Settings) -> dict[tuple[str, str], list[str]]:
    """Columns of the platform's own tables (sources dbt declares without listing their columns)."""
    with connect(settings) as conn:
        rows = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema = 'platform' order by table_schema, table_name, ordinal_position"
        ).fetchall()
    out: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in rows:
        out.setdefault((schema, table), []).append(column)
    return out


def model_lineage(
    manifest_path: Path = MANIFEST, settings: Settings | None = None
) -> dict[str, ModelLineage]:
    """Column lineage of the manifest's models; what was derived is kept beside the manifest
    (:func:`memo_path`), so the next build derives only the models whose SQL or parents changed."""
    settings = settings or get_settings()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    memo = DerivationMemo.load(memo_path(manifest_path))
    models = derive(
        load_manifest(manifest_path),
        iter_datasets(),
        manifest_path.parent.parent if manifest_path.parent.name == "target" else DBT_PROJECT_DIR,
        warehouse_columns(settings),
        memo,
    )
    try:
        memo.save(memo_path(manifest_path))
    except OSError as exc:  # a read-only target folder costs the next build time, not this one's lineage
        log.warning("column lineage memo not saved: %s", exc)
    log.info("column lineage: %d of %d models reused from the memo", memo.hits, len(memo.used))
    return models


def memo_path(manifest_path: Path) -> Path:
    return manifest_path.with_name("column_lineage_memo.json")


def events_for(
    manifest_path: Path = MANIFEST, logical_date: str | None = None, settings: Settings | None = None
):
    """Every ingest's and every dbt model's RunEvent (openlineage-python objects), and the model lineage."""
    settings = settings or get_settings()
    models = model_lineage(manifest_path, settings)
    events = [ingest_event(d, settings, logical_date) for d in iter_datasets()]
    events += dbt_events(models, settings, logical_date)
    return events, models


def send_http(events: list, settings: Settings) -> int:
    """POST each event to the platform's endpoint with the OpenLineage client's HTTP transport."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    config = HttpConfig.from_dict(
        {
            "url": settings.web_url,
            "auth": {"type": "api_key", "apiKey": ingest_token(settings)},
            "timeout": 30,
        }
    )
    client = OpenLineageClient(transport=HttpTransport(config))
    for event in events:
        client.emit(event)
    return len(events)


def collect(
    manifest_path: Path = MANIFEST,
    logical_date: str | None = None,
    settings: Settings | None = None,
    *,
    via_http: bool = False,
) -> Collected:
    settings = settings or get_settings()
    started = time.monotonic()
    events, models = events_for(manifest_path, logical_date, settings)
    if via_http:
        send_http(events, settings)
        stored = len(events)
    else:
        with connect(settings) as conn:
            stored = store_events(conn, [to_json(e) for e in events])
    missing = sum(
        1
        for m in models.values()
        if m.resource_type == "model"
        for c in m.columns
        if not m.column_sources.get(c)
    )
    result = Collected(
        len(events),
        stored,
        sum(m.resource_type == "model" for m in models.values()),
        missing,
        time.monotonic() - started,
    )
    log.info("lineage collected: %s", result)
    return result
