"""Department REST APIs: paged JSON (``?page=N&page_size=M[&updated_since=ISO]``) with a Bearer token.

Each page is landed as received at ``landing/<department>/<dataset>/<YYYY-MM-DD>/page-00001.json`` before
it is parsed, so what the platform read can always be shown to the department. Transient failures (5xx,
429, timeouts, dropped connections) are retried with exponential backoff; other client errors fail at once
with the URL and the status, because retrying a bad token or a wrong path only hides the problem.

The API filters by ``updated_since`` but has no upper bound, so the logical day's upper mark is applied
here; rows outside the window stay in the landed page and are counted in the manifest
(``rows_outside_window``) — they belong to a later date's batch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime

import pyarrow as pa
import requests

from govlake.ingest.context import PROVINCE_TZ, BatchContext
from govlake.ingest.errors import IngestError
from govlake.ingest.landing import clear_prefix, s3_uri, upload_bytes
from govlake.ingest.sources import SourceChunk
from govlake.ingest.watermark import Window

RETRY_STATUSES = {429, 500, 502, 503, 504}


def get_with_retries(
    session: requests.Session,
    url: str,
    params: dict,
    attempts: int = 5,
    backoff: float = 1.0,
    timeout: float = 60,
) -> requests.Response:
    """GET, retrying transient failures ``attempts`` times with backoff 1x, 2x, 4x ... seconds."""
    last_problem = ""
    for attempt in range(1, attempts + 1):
        try:
            response = session.get(url, params=params, timeout=(10, timeout))
        except (requests.ConnectionError, requests.Timeout) as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code < 400:
                return response
            if response.status_code not in RETRY_STATUSES:
                raise IngestError(
                    f"GET {response.url} answered HTTP {response.status_code}: {response.text[:300]!r} "
                    "— check the API path and token (GOVLAKE_DEPARTMENT_API_TOKEN)"
                )
            last_problem = f"HTTP {response.status_code}"
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1))
    raise IngestError(f"GET {url} {params} failed {attempts} times, last: {last_problem}")


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_time(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=PROVINCE_TZ)


def records_to_chunk(records: list[dict], source_file: str, window: Window | None) -> tuple[SourceChunk, int]:
    """The page's records as a text table; records outside the window are left out and counted.

    A record whose watermark cannot be read is kept: normalisation quarantines it with the reason.
    """
    keep: list[tuple[int, dict]] = []
    outside = 0
    for number, record in enumerate(records, start=1):
        stamp = _parse_time(record.get(window.column)) if window else None
        if stamp is not None and window is not None and not window.contains(stamp):
            outside += 1
            continue
        keep.append((number, record))
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    table = pa.table({n: pa.array([_text(r.get(n)) for _, r in keep], pa.string()) for n in names})
    return SourceChunk(table, source_file, pa.array([n for n, _ in keep], pa.int64())), outside


class RestApiReader:
    """Every page of the dataset's endpoint for the window, landed one file per page."""

    kind = "rest_api"

    def __init__(self, ctx: BatchContext, window: Window | None) -> None:
        self.ctx = ctx
        self.window = window
        source = ctx.dataset.source
        self.url = str(
            source.get("url") or ctx.settings.department_api_url.rstrip("/") + str(source.get("path", ""))
        )
        self.page_size = int(source.get("page_size", 1000))
        self.attempts = int(source.get("retry_attempts", 5))
        self.backoff = float(source.get("retry_backoff_seconds", 1.0))
        self.source = self.url
        self.landed_files: list[str] = []
        self.details: dict = {"pages": 0, "rows_outside_window": 0, "updated_since": None}

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.ctx.settings.department_api_token}"
        session.headers["Accept"] = "application/json"
        return session

    def _params(self, page: int) -> dict:
        params: dict = {"page": page, "page_size": self.page_size}
        if self.window is not None and self.window.low is not None:
            params["updated_since"] = self.window.low.isoformat()
            self.details["updated_since"] = params["updated_since"]
        return params

    def _parse_page(self, body: bytes, uri: str) -> tuple[list[dict], int]:
        try:
            doc = json.loads(body)
            return list(doc["data"]), int(doc.get("pages") or 0)
        except (ValueError, KeyError, TypeError) as exc:
            raise IngestError(
                f"{uri}: not a page of the expected shape {{page, pages, data: [...]}} ({exc})"
            ) from exc

    def chunks(self) -> Iterator[SourceChunk]:
        clear_prefix(self.ctx.s3, "landing", self.ctx.date_prefix)
        page, pages = 1, 1
        with self._session() as session:
            while page <= pages:
                response = get_with_retries(
                    session, self.url, self._params(page), self.attempts, self.backoff
                )
                uri = s3_uri("landing", f"{self.ctx.date_prefix}page-{page:05d}.json")
                upload_bytes(self.ctx.s3, uri, response.content, "application/json")
                self.landed_files.append(uri)
                records, pages = self._parse_page(response.content, uri)
                chunk, outside = records_to_chunk(records, uri, self.window)
                self.details["pages"] = page
                self.details["rows_outside_window"] += outside
                if records:
                    yield chunk
                page += 1
