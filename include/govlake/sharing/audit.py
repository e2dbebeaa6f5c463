"""The dispatch workflow's audit trail: append-only, hash-chained, verifiable.

Each record's hash is ``sha256(previous hash + canonical JSON of the record)`` (canonical: sorted keys,
no spaces, UTF-8), the first record chains from 64 zeros. A trigger forbids UPDATE, DELETE and TRUNCATE
on ``platform.audit_log``; a superuser who bypasses it (``session_replication_role = replica``) still
cannot rewrite history unnoticed, because ``verify`` recomputes every hash, checks the sequence has no
gaps and compares the head with the anchor written to S3 after each append (which catches a deleted
tail). Records are appended in the same transaction as the state change they describe.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from govlake.settings import Settings, get_settings

log = logging.getLogger(__name__)

GENESIS = "0" * 64
ANCHOR_BUCKET = "exchange"
ANCHOR_KEY = "_platform/audit/head.json"


def canonical(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(record)).encode("utf-8")).hexdigest()


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so what is hashed is exactly what jsonb gives back (no floats, dates as text)."""
    return json.loads(canonical(value))


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    recorded_at: str
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def append(
    conn: psycopg.Connection, actor: str, action: str, subject: str, details: dict[str, Any] | None = None
) -> AuditRecord:
    """Append one record; call inside the transaction of the change it records (it takes a lock)."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('govlake.audit_log'))")
        last = conn.execute("select seq, hash from platform.audit_log order by seq desc limit 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        record = _jsonable(
            {
                "seq": seq,
                "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
                "actor": actor,
                "action": action,
                "subject": subject,
                "details": details or {},
            }
        )
        digest = chain_hash(prev, record)
        conn.execute(
            "insert into platform.audit_log (seq, recorded_at, actor, action, subject, record, prev_hash, hash) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s)",
            (seq, record["recorded_at"], actor, action, subject, Jsonb(record), prev, digest),
        )
    return AuditRecord(seq, record["recorded_at"], actor, action, subject, record["details"], prev, digest)


def write_anchor(conn: psycopg.Connection, settings: Settings | None = None) -> dict[str, Any] | None:
    """Copy the head (last seq and hash) out of the database, to S3, after a committed append."""
    from govlake.lake import s3_client

    row = conn.execute("select seq, hash from platform.audit_log order by seq desc limit 1").fetchone()
    if row is None:
        return None
    head = {"seq": row[0], "hash": row[1], "written_at": dt.datetime.now(dt.UTC).isoformat()}
    data = json.dumps(head).encode()
    try:
        s3_client(settings or get_settings()).put_object(
            ANCHOR_BUCKET, ANCHOR_KEY, io.BytesIO(data), len(data), content_type="application/json"
        )
    except Exception as exc:  # the record is committed; a missing anchor only weakens tail checks
        log.warning("could not write the audit anchor to s3://%s/%s: %s", ANCHOR_BUCKET, ANCHOR_KEY, exc)
        return None
    return head


def read_anchor(settings: Settings | None = None) -> dict[str, Any] | None:
    from minio.error import S3Error

    from govlake.lake import s3_client

    try:
        resp = s3_client(settings or get_settings()).get_object(ANCHOR_BUCKET, ANCHOR_KEY)
    except S3Error:
        return None
    try:
        return json.loads(resp.read())
    finally:
        resp.close()
        resp.release_conn()


def records(conn: psycopg.Connection, subject: str | None = None) -> Iterator[AuditRecord]:
    rows = conn.execute(
        "select seq, record, prev_hash, hash from platform.audit_log "
        "where %(s)s::text is null or subject = %(s)s order by seq",
        {"s": subject},
    )
    for seq, rec, prev, digest in rows:
        yield AuditRecord(
            seq,
            rec.get("recorded_at"),
            rec.get("actor"),
            rec.get("action"),
            rec.get("subject"),
            rec.get("details") or {},
            prev,
            digest,
        )


@dataclass
class Verification:
    records: int = 0
    problems: list[str] = field(default_factory=list)
    head: tuple[int, str] | None = None
    anchor: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    conn: psycopg.Connection, settings: Settings | None = None, check_anchor: bool = True
) -> Verification:
    """Recompute the chain; every edit, gap, reordering or truncated tail is reported with its seq."""
    result = Verification()
    anchor = result.anchor = read_anchor(settings) if check_anchor else None
    expected_prev, expected_seq = GENESIS, 1
    cursor = conn.execute(
        "select seq, recorded_at, actor, action, subject, record, prev_hash, hash from platform.audit_log order by seq"
    )
    for seq, recorded_at, actor, action, subject, record, prev, digest in cursor:
        result.records += 1
        if seq != expected_seq:
            result.problems.append(
                f"seq {expected_seq}..{seq - 1} missing: records were deleted before seq {seq}"
            )
        columns = {"seq": seq, "actor": actor, "action": action, "subject": subject}
        edited = [k for k, v in columns.items() if record.get(k) != v]
        if record.get("recorded_at") and dt.datetime.fromisoformat(record["recorded_at"]) != recorded_at:
            edited.append("recorded_at")
        if edited:
            result.problems.append(f"seq {seq}: column(s) {', '.join(edited)} differ from the hashed record")
        if prev != expected_prev:
            result.problems.append(f"seq {seq}: prev_hash does not match the hash of the record before it")
        if chain_hash(prev, record) != digest:
            result.problems.append(f"seq {seq}: hash does not match its content (the record was edited)")
        if anchor is not None and seq == anchor["seq"] and digest != anchor["hash"]:
            result.problems.append(
                f"seq {seq}: hash differs from the anchor in s3://{ANCHOR_BUCKET}/{ANCHOR_KEY}"
            )
        expected_prev, expected_seq = digest, seq + 1
        result.head = (seq, digest)
    if anchor is not None and (result.head is None or result.head[0] < anchor["seq"]):
        result.problems.append(
            f"the log ends at seq {result.head[0] if result.head else 0} but the anchor in "
            f"s3://{ANCHOR_BUCKET}/{ANCHOR_KEY} records seq {anchor['seq']}: the tail was deleted"
        )
    return result
