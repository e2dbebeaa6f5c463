"""The catalog in the platform tables: resource codes, sync, lookup and search.

A resource code is the classification code plus a six-digit sequence within it
(``<类><项><目><细目>/<顺序号>``, 政务信息资源目录编制指南). Sequences are assigned once per entry key in
``platform.catalog_sequences`` and never reused, so a code stays the same across runs and a removed
resource's code is not handed to another.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from govlake.catalog.model import CatalogEntry, CatalogError
from govlake.warehouse import ensure_platform_schema


def resource_code(
    conn: psycopg.Connection, classification_code: str, entry_key: str, fixed: str | None = None
) -> tuple[str, dt.date]:
    """The stable code of an entry (assigned on first sight) and the date it was first catalogued.

    ``fixed`` is a code the steward wrote in the registry: it is reserved for the entry, or CatalogError
    names the entry already holding it. A reclassified entry gets the next sequence of its new class.
    """
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('govlake.catalog_sequences'))")
        if fixed:
            code, _, seq = fixed.partition("/")
            holder = conn.execute(
                "select entry_key from platform.catalog_sequences where classification_code = %s and sequence = %s",
                (code, int(seq)),
            ).fetchone()
            if holder and holder[0] != entry_key:
                raise CatalogError(f"resource code {fixed} of {entry_key} is already held by {holder[0]}")
            row = conn.execute(
                "insert into platform.catalog_sequences (classification_code, sequence, entry_key) values (%s, %s, %s) "
                "on conflict (entry_key) do update set classification_code = excluded.classification_code, "
                "sequence = excluded.sequence returning classification_code, sequence, assigned_at",
                (code, int(seq), entry_key),
            ).fetchone()
            return fixed, row[2].date()
        row = conn.execute(
            "select classification_code, sequence, assigned_at from platform.catalog_sequences "
            "where entry_key = %s",
            (entry_key,),
        ).fetchone()
        next_seq = "(select coalesce(max(sequence), 0) + 1 from platform.catalog_sequences where classification_code = %(c)s)"
        if row is None:
            row = conn.execute(
                f"insert into platform.catalog_sequences (classification_code, sequence, entry_key) "
                f"values (%(c)s, {next_seq}, %(k)s) returning classification_code, sequence, assigned_at",
                {"c": classification_code, "k": entry_key},
            ).fetchone()
        elif row[0] != classification_code:
            row = conn.execute(
                f"update platform.catalog_sequences set classification_code = %(c)s, sequence = {next_seq} "
                "where entry_key = %(k)s returning classification_code, sequence, assigned_at",
                {"c": classification_code, "k": entry_key},
            ).fetchone()
    code, seq, assigned = row
    return f"{code}/{seq:06d}", assigned.date()


def _search_text(entry: CatalogEntry) -> str:
    parts = [entry.entry_key, entry.name, entry.summary, entry.provider, entry.department, entry.format]
    parts += [p for lvl in entry.classification.as_dict().values() for p in lvl.values()]
    parts += [f"{i.name} {i.label}" for i in entry.items]
    return " ".join(p for p in parts if p).lower()


def sync_catalog(
    conn: psycopg.Connection, entries: Sequence[CatalogEntry], prune: bool = True
) -> list[CatalogEntry]:
    """Upsert every entry with its items; with ``prune``, entries no longer declared are removed
    (their codes stay reserved)."""
    ensure_platform_schema(conn)
    # Codes fixed in the registry are reserved first, so an assigned sequence never takes one of them.
    ordered = sorted(entries, key=lambda e: e.resource_code is None)
    coded = [_with_code(conn, e) for e in ordered]
    known = dict(conn.execute("select entry_key, resource_code from platform.catalog_entries").fetchall())
    keys = {**known, **{e.entry_key: e.resource_code for e in coded}}
    codes = set(keys.values())
    coded = [
        dataclasses.replace(
            e,
            related_codes=tuple(
                keys.get(k, k) for k in e.related_keys if k in keys or k in codes or "/" in k
            ),
        )
        for e in coded
    ]
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('govlake.catalog'))")
        if prune:
            declared = [e.entry_key for e in coded]
            conn.execute("delete from platform.catalog_entries where entry_key <> all(%s)", (declared,))
        for entry in coded:
            _upsert(conn, entry)
    return coded


def _with_code(conn: psycopg.Connection, entry: CatalogEntry) -> CatalogEntry:
    code, first_seen = resource_code(conn, entry.classification.code, entry.entry_key, entry.resource_code)
    publish = entry.publish_date or first_seen.isoformat()
    return dataclasses.replace(entry, resource_code=code, publish_date=publish)


def _upsert(conn: psycopg.Connection, e: CatalogEntry) -> None:
    # A code can move with a reclassification: drop the entry's old row first (items cascade).
    conn.execute(
        "delete from platform.catalog_entries where entry_key = %s or resource_code = %s",
        (e.entry_key, e.resource_code),
    )
    doc = e.as_dict()
    conn.execute(
        """
        insert into platform.catalog_entries (resource_code, entry_key, kind, name, classification,
            classification_code, provider, provider_code, department, summary, format, sharing_type,
            sharing_condition, sharing_method, open_type, update_cycle, publish_date, related_codes,
            relation, source_file, document, search_text, synced_at)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
        """,
        (
            e.resource_code,
            e.entry_key,
            e.kind,
            e.name,
            Jsonb(doc["classification"]),
            e.classification.code,
            e.provider,
            e.provider_code,
            e.department,
            e.summary,
            e.format,
            e.sharing_type,
            e.sharing_condition,
            e.sharing_method,
            e.open_type,
            e.update_cycle,
            e.publish_date,
            list(e.related_codes),
            e.relation,
            e.source_file,
            Jsonb(doc),
            _search_text(e),
        ),
    )
    with conn.cursor() as cur:
        cur.executemany(
            """
            insert into platform.catalog_items (resource_code, position, item, label, data_type, grade, pi,
                sharing_type, sharing_condition, open_type, description)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            [
                (
                    e.resource_code,
                    n,
                    i.name,
                    i.label,
                    i.data_type,
                    i.grade,
                    i.pi,
                    i.sharing_type,
                    i.sharing_condition,
                    i.open_type,
                    i.description,
                )
                for n, i in enumerate(e.items, start=1)
            ],
        )


def entry_from_document(doc: dict[str, Any]) -> CatalogEntry:
    """Rebuild an entry from its stored document."""
    from govlake.catalog.entries import parse_classification
    from govlake.catalog.model import InfoItem

    fields = {f.name for f in dataclasses.fields(CatalogEntry)}
    values = {k: v for k, v in doc.items() if k in fields}
    values["classification"] = parse_classification(
        {k: [v["code"], v["name"]] for k, v in doc["classification"].items()}, doc["entry_key"]
    )
    values["items"] = tuple(InfoItem(**i) for i in doc["items"])
    for key in ("related_keys", "related_codes"):
        values[key] = tuple(values.get(key) or ())
    return CatalogEntry(**values)


def list_entries(
    conn: psycopg.Connection, query: str | None = None, kind: str | None = None
) -> list[CatalogEntry]:
    """Entries matching a case-insensitive substring (Chinese works: ``人口``) in any field or item."""
    rows = conn.execute(
        """
        select document from platform.catalog_entries
        where (%(q)s::text is null or search_text like '%%' || lower(%(q)s) || '%%'
               or resource_code = %(q)s)
          and (%(k)s::text is null or kind = %(k)s)
        order by resource_code
        """,
        {"q": query or None, "k": kind},
    ).fetchall()
    return [entry_from_document(r[0]) for r in rows]


def get_entry(conn: psycopg.Connection, key_or_code: str) -> CatalogEntry:
    """An entry by resource code or entry key; CatalogError says how to find one if it is unknown."""
    row = conn.execute(
        "select document from platform.catalog_entries where resource_code = %s or entry_key = %s",
        (key_or_code, key_or_code),
    ).fetchone()
    if row is None:
        raise CatalogError(
            f"no catalog entry {key_or_code!r}: search with `govlake catalog search <text>` "
            "(or run `govlake catalog sync` after changing the registry)"
        )
    return entry_from_document(row[0])


def dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, default=str)
