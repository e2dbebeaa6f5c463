"""Build an open dataset's rows in SQL, next to the data, so nothing below k ever leaves the warehouse.

* Aggregates: group by the generalised dimensions and count; a count below k is published empty with
  ``suppressed = true``. With ``grid`` the result is the full cross product of every dimension's domain
  (zero cells included), so the release has the same shape every day.
* De-identified records: the quasi-identifiers start at their finest level; while more than
  ``max_suppressed_share`` of the records sit in equivalence classes smaller than k, the quasi-identifier
  with the most distinct values is generalised one level (Sweeney's Datafly heuristic). Records still in
  classes below k are then left out. Every published class has at least k records.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from govlake.opendata.definitions import ColumnSpec, OpenDataset
from govlake.opendata.rules import domain, expressions

log = logging.getLogger(__name__)

_DIVISIONS_REF = """
divisions_ref as (
    select c.code::text as code, c.code::text as county_code, c.name::text as county_name,
           p.code::text as prefecture_code, p.name::text as prefecture_name
    from {ref} c join {ref} p on p.code::text = c.parent_code::text
    where c.level = 'county' and p.level = 'prefecture'
    union all  -- a prefecture-level code stands for itself at prefecture level
    select p.code::text, null, null, p.code::text, p.name::text from {ref} p where p.level = 'prefecture'
)"""


FETCH_ROWS = 10_000  # rows per FETCH from the server-side cursor: what a release holds in memory at once


@dataclass
class BuiltRows:
    """How an open dataset's rows are protected, and the query that yields them — streamed, never held.

    The counts (``rows``, ``k_achieved``, ``suppressed``) are final once :meth:`stream` has been read to
    the end: a release of millions of records is written to its files batch by batch (release_files).
    """

    query: sql.Composable
    params: dict[str, Any]
    k_required: int
    measure: str | None  # aggregate: the count column; None for de-identified records
    in_scope: int = 0  # source rows selected (records: counted as they stream)
    levels: dict[str, int] = field(default_factory=dict)  # quasi-identifier -> level used
    level_names: dict[str, str] = field(default_factory=dict)
    rows: int = 0  # cells or records published (a suppressed cell is published empty)
    k_achieved: int | None = None  # smallest published count/class; None when everything is suppressed
    suppressed: int = 0  # cells (aggregate) or records (de-identified) withheld

    def stream(
        self, conn: psycopg.Connection, batch_rows: int = FETCH_ROWS
    ) -> Iterator[list[dict[str, Any]]]:
        """The rows to publish in order, a batch at a time from a server-side cursor (conn must be in a
        transaction), counting them as they go."""
        with conn.cursor(name=f"open_release_{uuid.uuid4().hex}") as cur:
            cur.execute(self.query, self.params)
            names = [c.name for c in cur.description]
            while batch := cur.fetchmany(batch_rows):
                yield self._publishable([dict(zip(names, r, strict=True)) for r in batch])

    def _publishable(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for r in batch:
            if self.measure is not None:  # a cell below k is published empty, flagged as suppressed
                n = int(r.pop("n"))
                keep = n >= self.k_required
                out.append({**r, self.measure: n if keep else None, "suppressed": not keep})
            else:  # a record in a class below k is left out
                n = int(r.pop("_class"))
                keep = n >= self.k_required
                self.in_scope += 1
                if keep:
                    out.append(r)
            if keep:
                self.k_achieved = n if self.k_achieved is None else min(self.k_achieved, n)
            else:
                self.suppressed += 1
        self.rows += len(out)
        return out


def _source(dataset: OpenDataset, schema: str | None) -> sql.Composable:
    table = sql.Identifier(schema or dataset.schema, dataset.library)
    if not dataset.where:
        return sql.SQL("select * from {}").format(table)
    where = sql.SQL(dataset.where.replace("{date}", "%(d)s::date"))
    return sql.SQL("select * from {} where {}").format(table, where)


def _joins(specs: list[tuple[ColumnSpec, int]]) -> tuple[sql.Composable, list[tuple[str, sql.Composable]]]:
    """The division joins and (output name, expression) pairs of every column at its level."""
    joins, pairs = [], []
    for n, (spec, level) in enumerate(specs):
        rule, alias = spec.levels[level], f"d{n}"
        if rule.kind == "division":
            cond = sql.SQL("{a}.code = s.{c}").format(a=sql.Identifier(alias), c=sql.Identifier(spec.source))
            if rule.params["level"] == "county":
                cond = sql.SQL("{} and {}.county_code is not null").format(cond, sql.Identifier(alias))
            joins.append(sql.SQL("left join divisions_ref {} on {}").format(sql.Identifier(alias), cond))
        outs = [o.name for o in spec.outputs(level)]
        pairs += list(zip(outs, expressions(rule, spec.source, alias), strict=True))
    return sql.SQL(" ").join(joins), pairs


def _generalised_cte(
    dataset: OpenDataset, specs: list[tuple[ColumnSpec, int]], schema: str | None, ref: str
) -> tuple[sql.Composable, list[str]]:
    joins, pairs = _joins(specs)
    select = sql.SQL(", ").join(sql.SQL("{} as {}").format(e, sql.Identifier(n)) for n, e in pairs)
    query = sql.SQL("with {divs}, src as ({src}), gen as (select {select} from src s {joins})").format(
        divs=sql.SQL(_DIVISIONS_REF).format(ref=sql.Identifier(ref, "divisions")),
        src=_source(dataset, schema),
        select=select,
        joins=joins,
    )
    return query, [n for n, _ in pairs]


def build_aggregate(
    conn: psycopg.Connection,
    dataset: OpenDataset,
    date: dt.date,
    k: int,
    *,
    schema: str | None = None,
    reference_schema: str = "reference",
) -> BuiltRows:
    specs = [(c, 0) for c in dataset.columns]
    head, names = _generalised_cte(dataset, specs, schema, reference_schema)
    cols = sql.SQL(", ").join(map(sql.Identifier, names))
    measure = dataset.measure["name"]
    counted = sql.SQL(
        "counted as (select {cols}, count(*) as n from gen where {notnull} group by {cols})"
    ).format(
        cols=cols,
        notnull=sql.SQL(" and ").join(sql.SQL("{} is not null").format(sql.Identifier(n)) for n in names),
    )
    if dataset.grid:
        parts, orders = [], []
        for i, (spec, _) in enumerate(specs):
            outs = [o.name for o in spec.outputs()]
            part = domain(spec.levels[0], list(spec.values or []), outs)
            parts.append(sql.SQL("({}) as {}").format(part, sql.Identifier(f"g{i}")))
            orders.append(sql.SQL("{}._o").format(sql.Identifier(f"g{i}")))
        body = sql.SQL(
            ", grid as (select {cols}, {orders} from {parts}) "
            "select {cols}, coalesce(c.n, 0) as n from grid left join counted c using ({cols}) order by {ord}"
        ).format(
            cols=cols,
            orders=sql.SQL(", ").join(
                sql.SQL("{} as {}").format(o, sql.Identifier(f"_o{i}")) for i, o in enumerate(orders)
            ),
            parts=sql.SQL(" cross join ").join(parts),
            ord=sql.SQL(", ").join(sql.Identifier(f"_o{i}") for i in range(len(orders))),
        )
    else:
        body = sql.SQL(" select {cols}, n from counted order by {cols}").format(cols=cols)
    query = sql.SQL("{head}, {counted}{body}").format(head=head, counted=counted, body=body)
    return BuiltRows(query, {"d": date}, k, measure, in_scope=_count(conn, dataset, schema, date))


def _count(conn: psycopg.Connection, dataset: OpenDataset, schema: str | None, date: dt.date) -> int:
    query = sql.SQL("select count(*) from ({}) s").format(_source(dataset, schema))
    return int(conn.execute(query, {"d": date}).fetchone()[0])


def _class_stats(
    conn: psycopg.Connection, head: sql.Composable, qi_cols: list[str], k: int, date: dt.date
) -> tuple[int, int, dict[str, int]]:
    """(records in classes below k, all records, distinct values per quasi-identifier column)."""
    qis = sql.SQL(", ").join(map(sql.Identifier, qi_cols))
    distinct = sql.SQL(", ").join(sql.SQL("count(distinct {})").format(sql.Identifier(c)) for c in qi_cols)
    query = sql.SQL(
        "{head}, classes as (select count(*) as n from gen group by {qis}) "
        "select (select coalesce(sum(n) filter (where n < %(k)s), 0) from classes), "
        "(select count(*) from gen), {distinct} from gen"
    ).format(head=head, qis=qis, distinct=distinct)
    row = conn.execute(query, {"d": date, "k": k}).fetchone()
    return int(row[0]), int(row[1]), dict(zip(qi_cols, (int(v) for v in row[2:]), strict=True))


def choose_levels(
    conn: psycopg.Connection, dataset: OpenDataset, date: dt.date, k: int, schema: str | None, ref: str
) -> dict[str, int]:
    """Datafly: generalise the most varied quasi-identifier until few enough records fall below k."""
    levels = {q.name: 0 for q in dataset.quasi_identifiers}
    while True:
        specs = [(q, levels[q.name]) for q in dataset.quasi_identifiers]
        head, names = _generalised_cte(dataset, specs, schema, ref)
        below, total, distinct = _class_stats(conn, head, names, k, date)
        if total == 0 or below <= dataset.max_suppressed_share * total:
            return levels
        candidates = [q for q in dataset.quasi_identifiers if levels[q.name] + 1 < len(q.levels)]
        if not candidates:
            return levels
        by_variety = {q.name: max(distinct[o.name] for o in q.outputs(levels[q.name])) for q in candidates}
        pick = max(candidates, key=lambda q: by_variety[q.name])
        levels[pick.name] += 1
        log.info(
            "%s: %d of %d records below k=%d; generalising %s to level %d",
            dataset.name,
            below,
            total,
            k,
            pick.name,
            levels[pick.name],
        )


def build_records(
    conn: psycopg.Connection,
    dataset: OpenDataset,
    date: dt.date,
    k: int,
    *,
    schema: str | None = None,
    reference_schema: str = "reference",
) -> BuiltRows:
    levels = choose_levels(conn, dataset, date, k, schema, reference_schema)
    specs = [(c, 0) for c in dataset.columns] + [(q, levels[q.name]) for q in dataset.quasi_identifiers]
    head, names = _generalised_cte(dataset, specs, schema, reference_schema)
    qi_names = [o.name for q in dataset.quasi_identifiers for o in q.outputs(levels[q.name])]
    qis = sql.SQL(", ").join(map(sql.Identifier, qi_names))
    query = sql.SQL(
        "{head}, classed as (select *, count(*) over (partition by {qis}) as _class from gen) "
        "select {cols}, _class from classed order by {order}"
    ).format(
        head=head,
        qis=qis,
        cols=sql.SQL(", ").join(map(sql.Identifier, names)),
        order=sql.SQL(", ").join(
            sql.SQL("{} nulls first").format(sql.Identifier(n))
            for n in (*qi_names, *[n for n in names if n not in qi_names])
        ),
    )
    level_names = {
        q.name: q.levels[levels[q.name]].kind + (f":{_param(q.levels[levels[q.name]].params)}")
        for q in dataset.quasi_identifiers
    }
    return BuiltRows(query, {"d": date}, k, None, levels=levels, level_names=level_names)


def _param(params: Any) -> str:
    if isinstance(params, dict):
        return ",".join(f"{k}={v}" for k, v in params.items())
    return "" if params is None else str(params)


def build_rows(
    conn: psycopg.Connection, dataset: OpenDataset, date: dt.date, k: int, **kwargs: Any
) -> BuiltRows:
    builder = build_aggregate if dataset.kind == "aggregate" else build_records
    return builder(conn, dataset, date, k, **kwargs)
