"""Receiving OpenLineage events into ``platform.lineage_*`` (schema/70_lineage.sql).

The web service's ``POST /api/v1/lineage`` (OpenLineage's HTTP transport path and payload) and the
platform's own collection both call :func:`store_event`. Idempotent by construction: the raw event is
keyed by (runId, eventType, job), a run by its runId, and an edge by what it connects — so the same
event received twice is stored once, and a re-run of a date (a new runId) adds a run and moves the
edges' ``last_seen_at`` without adding edges.

A dataset's relation is the platform's name from its symlink facet (namespace ``govlake``), else
``<schema>.<table>`` for a warehouse dataset, else ``<namespace>/<name>`` (e.g. an Airflow task's S3 Asset).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from govlake.settings import Settings

SYMLINK_NAMESPACE = "govlake"
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")


class InvalidEvent(ValueError):
    """The payload is not an OpenLineage RunEvent; the message names the field."""


def ingest_token(settings: Settings) -> str:
    """The bearer token emitters send (derived from the stack's warehouse secret: nothing new to store)."""
    return hashlib.sha256(f"govlake-lineage:{settings.pg_password}".encode()).hexdigest()[:40]


def relation_of(dataset: dict[str, Any]) -> str:
    for ident in (dataset.get("facets") or {}).get("symlinks", {}).get("identifiers") or []:
        if ident.get("namespace") == SYMLINK_NAMESPACE and ident.get("name"):
            return ident["name"]
    namespace, name = dataset["namespace"], dataset["name"]
    if namespace.startswith(("postgres://", "postgresql://")) and name.count(".") == 2:
        return name.split(".", 1)[1]
    return f"{namespace.rstrip('/')}/{name}"


def _check(event: Any) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise InvalidEvent("the body must be one OpenLineage RunEvent (a JSON object)")
    for path in ("eventTime", "producer", "run", "job"):
        if path not in event:
            raise InvalidEvent(f"missing required field {path!r}")
    run, job = event["run"], event["job"]
    if not isinstance(run, dict) or not run.get("runId"):
        raise InvalidEvent("missing required field 'run.runId'")
    if not isinstance(job, dict) or not job.get("namespace") or not job.get("name"):
        raise InvalidEvent("missing required field 'job.namespace' or 'job.name'")
    event_type = event.get("eventType") or "OTHER"
    if event_type not in EVENT_TYPES:
        raise InvalidEvent(f"eventType {event_type!r} is not one of {', '.join(EVENT_TYPES)}")
    for key in ("inputs", "outputs"):
        for i, ds in enumerate(event.get(key) or []):
            if not isinstance(ds, dict) or not ds.get("namespace") or not ds.get("name"):
                raise InvalidEvent(f"{key}[{i}] needs a namespace and a name")
    return event


# A failed or aborted run states what it meant to do, not lineage that holds: no edges from it.
UNFINISHED = ("FAIL", "ABORT")


def store_event(conn: psycopg.Connection, event: dict[str, Any]) -> bool:
    """Store one event and the edges it states; False when it was received before (nothing changed)."""
    event = _check(event)
    run_id, job = event["run"]["runId"], event["job"]
    event_type = event.get("eventType") or "OTHER"
    with conn.transaction():
        inserted = conn.execute(
            """
            insert into platform.lineage_events
                (run_id, event_type, event_time, job_namespace, job_name, producer, payload)
            values (%s, %s, %s, %s, %s, %s, %s)
            on conflict (run_id, event_type, job_namespace, job_name) do nothing
            returning event_id
            """,
            (
                run_id,
                event_type,
                event["eventTime"],
                job["namespace"],
                job["name"],
                event["producer"],
                Jsonb(event),
            ),
        ).fetchone()
        if inserted is None:
            return False
        _upsert_run(conn, event, event_type)
        if event_type in UNFINISHED:
            return True
        _upsert_graph(conn, event, run_id)
    return True


def _upsert_run(conn: psycopg.Connection, event: dict[str, Any], event_type: str) -> None:
    facets = event["run"].get("facets") or {}
    nominal = (facets.get("nominalTime") or {}).get("nominalStartTime")
    parent = ((facets.get("parent") or {}).get("run") or {}).get("runId")
    started = event["eventTime"] if event_type == "START" else None
    ended = event["eventTime"] if event_type in ("COMPLETE", "FAIL", "ABORT") else None
    conn.execute(
        """
        insert into platform.lineage_runs
            (run_id, job_namespace, job_name, state, nominal_time, started_at, ended_at, parent_run_id)
        values (%s, %s, %s, %s, %s::timestamptz, coalesce(%s::timestamptz, %s::timestamptz), %s::timestamptz, %s::uuid)
        on conflict (run_id) do update set
            state = case when excluded.state in ('START', 'RUNNING') and lineage_runs.state not in ('START', 'RUNNING')
                         then lineage_runs.state else excluded.state end,
            nominal_time = coalesce(lineage_runs.nominal_time, excluded.nominal_time),
            started_at = least(lineage_runs.started_at, excluded.started_at),
            ended_at = coalesce(excluded.ended_at, lineage_runs.ended_at),
            parent_run_id = coalesce(lineage_runs.parent_run_id, excluded.parent_run_id)
        """,
        (
            event["run"]["runId"],
            event["job"]["namespace"],
            event["job"]["name"],
            event_type,
            nominal,
            started,
            event["eventTime"],
            ended,
            parent,
        ),
    )


def _fields(ds: dict[str, Any]) -> list[dict[str, Any]]:
    schema = (ds.get("facets") or {}).get("schema") or {}
    return [
        {k: f.get(k) for k in ("name", "type", "description") if f.get(k) is not None}
        for f in schema.get("fields") or []
    ]


def _upsert_graph(conn: psycopg.Connection, event: dict[str, Any], run_id: str) -> None:
    job = event["job"]
    names: dict[tuple[str, str], str] = {}
    for ds in [*(event.get("inputs") or []), *(event.get("outputs") or [])]:
        relation = relation_of(ds)
        names[(ds["namespace"], ds["name"])] = relation
        facets = {k: v for k, v in (ds.get("facets") or {}).items() if k not in ("columnLineage", "schema")}
        fields = _fields(ds)
        conn.execute(
            """
            insert into platform.lineage_datasets (namespace, name, relation, fields, facets)
            values (%s, %s, %s, %s, %s)
            on conflict (namespace, name) do update set
                relation = excluded.relation,
                fields = case when excluded.fields = '[]'::jsonb then lineage_datasets.fields else excluded.fields end,
                facets = lineage_datasets.facets || excluded.facets,
                last_seen_at = now()
            """,
            (ds["namespace"], ds["name"], relation, Jsonb(fields), Jsonb(facets)),
        )
    # relation edges: where an output states its column lineage, from the datasets it names (an output
    # made from another output of the same run: landing -> raw objects -> raw table); else, when the run
    # wrote one dataset, from every input. A run that wrote several without saying which input made which
    # (Airflow's event for a task running a whole dbt build: every raw table in, every staging model out)
    # states no edge: joining each input to each output would make every department feed every model.
    outputs = event.get("outputs") or []
    edges = {
        (names[(i["namespace"], i["name"])], names[(o["namespace"], o["name"])])
        for o in (outputs if len(outputs) == 1 else [])
        if not ((o.get("facets") or {}).get("columnLineage") or {}).get("fields")
        for i in event.get("inputs") or []
    }
    column_rows = []
    for o in event.get("outputs") or []:
        target = names[(o["namespace"], o["name"])]
        lineage = ((o.get("facets") or {}).get("columnLineage") or {}).get("fields") or {}
        for column, spec in lineage.items():
            for ref in spec.get("inputFields") or []:
                source = names.get((ref["namespace"], ref["name"])) or relation_of(ref)
                kinds = ",".join(t.get("type", "") for t in ref.get("transformations") or [])
                column_rows.append((source, ref["field"], target, column, kinds))
                if source != target:
                    edges.add((source, target))
    edges.discard(("", ""))
    with conn.cursor() as cur:
        cur.executemany(
            """
            insert into platform.lineage_edges (job_namespace, job_name, source, target, first_run_id, last_run_id)
            values (%s, %s, %s, %s, %s, %s)
            on conflict (source, target, job_namespace, job_name) do update set
                last_run_id = excluded.last_run_id, last_seen_at = now()
            """,
            [(job["namespace"], job["name"], s, t, run_id, run_id) for s, t in sorted(edges) if s != t],
        )
        cur.executemany(
            """
            insert into platform.lineage_column_edges
                (source, source_column, target, target_column, transformation, job_name, last_run_id)
            values (%s, %s, %s, %s, %s, %s, %s)
            on conflict (target, target_column, source, source_column) do update set
                transformation = excluded.transformation, job_name = excluded.job_name,
                last_run_id = excluded.last_run_id, last_seen_at = now()
            """,
            [(s, sc, t, tc, k, job["name"], run_id) for s, sc, t, tc, k in column_rows if s != t],
        )


def store_events(conn: psycopg.Connection, events: list[dict[str, Any]]) -> int:
    return sum(store_event(conn, e) for e in events)


def rebuild_graph(conn: psycopg.Connection) -> int:
    """Derive the stored edges again from every stored event (after the rules of what an event states
    changed); the events and runs stay as received. Returns the number of events replayed."""
    with conn.transaction():
        conn.execute("lock table platform.lineage_edges, platform.lineage_column_edges in exclusive mode")
        conn.execute("delete from platform.lineage_edges")
        conn.execute("delete from platform.lineage_column_edges")
        rows = conn.execute(
            "select payload, run_id::text, event_type from platform.lineage_events order by event_time, event_id"
        ).fetchall()
        for payload, run_id, event_type in rows:
            if event_type not in UNFINISHED:
                _upsert_graph(conn, payload, run_id)
    return len(rows)


def dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, sort_keys=True)
