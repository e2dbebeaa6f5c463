"""Every row rule of a staging suite in ONE scan of the batch, failing rows written by INSERT … SELECT.

A suite's row rules are ``unexpected_rows_mostly_expectation``s whose query reads ``{batch}``. Run one by
one (what Great Expectations does: a ``count(*)`` per rule, then the quarantine's INSERT per rule) the batch
is read 2 × rules times. Here the suite is folded into one statement::

    insert into platform.rule_verdicts (…)
    select …, x.rule_no, x.message, to_jsonb(b) - <verdict columns>
    from (select b.*, <rule 1's WHERE> as _rule_v1, …, <rule n's WHERE> as _rule_vn
          from (<batch part>) b) b,
         lateral (select 1, <rule 1's _message> where b._rule_v1 union all …) x
    where b._rule_v1 or … or b._rule_vn

The inner select is the one pass: every rule's verdict per row (a uniqueness rule's from a join with the
few rows that repeat a key, found by a hash aggregate: the batch is never sorted); the outer lateral yields
one record per failing (row, rule), with the rule's own ``_message`` expression evaluated on the failing
rows only. No row passes through Python.

**Parts.** The pass is CPU-bound (check characters, regular expressions, the JSON of failing rows), and
PostgreSQL runs neither the SELECT of an ``INSERT`` in parallel workers nor — for ``CREATE TABLE … AS`` —
a scan whose rows reference a correlated subquery (a rule's ``not exists (select … from
reference.divisions …)``). So a large batch is cut into parts by ``_source_row`` modulo the part count,
each part's INSERT … SELECT on a connection of its own, at once: every row rule judges one row, so the
parts' records are exactly the whole batch's. The rows that repeat a key are found over the whole batch
first, into a scratch table (``platform.rule_scan_<run>_<rule>``) every part joins. Parts:
``GOVLAKE_VALIDATION_PARTS``, by default the machine's cores (at most 4) from 200,000 rows on, else 1.

The fold is exact, not a re-implementation: each verdict is the text of the rule's own ``WHERE`` and each
message the text of its own ``_message`` expression, cut out of the rendered query of ``expectations/``
(the suites stay the one definition of a rule). A rule is folded when its query has the shape every
suite's single-row rules share — ``with b as (select * from {batch}) select b.*, <message> as _message
from b [, lateral (select …) c] where <condition>`` — or is the ``later_duplicates_in_batch`` macro.
Any other rule (a cross-department comparison reading another staging view) runs its own query in its own
INSERT … SELECT into the same table, exactly as before. The counts per rule come back from the INSERTs'
``returning``; Great Expectations turns them into its validation result (:mod:`gx_runner`).

``platform.rule_verdicts`` is an unlogged scratch table: the records of one validation run (``run_id``)
live from :func:`validate` to the quarantine step that reads them, which deletes them.
"""

from __future__ import annotations

import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
from psycopg import sql

from govlake.quality.sql import later_duplicates_in_batch
from govlake.quality.suites import Rule, Suite

VERDICTS = "platform.rule_verdicts"
PARTS_FROM_ROWS = 200_000  # below this a batch is one part: a second connection costs more than it saves
_PREFIX = "with b as (select * from {batch}) select b.*, "
_DUPLICATES = re.compile(
    r"^\s*\{\{\s*later_duplicates_in_batch\(\s*'([^']*)'\s*,\s*'([^']*)'\s*\)\s*\}\}\s*$"
)
_LATERAL = re.compile(r"^lateral \((select .*)\) ([a-z_][a-z0-9_]*)$", re.DOTALL)

_DDL = f"""
create unlogged table if not exists {VERDICTS} (
    run_id uuid not null,
    validation_id text not null,
    rule_no integer not null,
    batch_id text,
    source_file text,
    source_row bigint,
    message text,
    record jsonb,
    created_at timestamptz not null default now()
);
create index if not exists rule_verdicts_run on {VERDICTS} (run_id, rule_no);
create index if not exists rule_verdicts_validation on {VERDICTS} (validation_id);
"""


@dataclass(frozen=True)
class FoldedRule:
    """A row rule cut into the pieces the one pass needs."""

    verdict: str  # boolean SQL over the batch row ``b`` (may hold a window function)
    message: str  # the rule's ``_message`` expression over ``b``
    scope: str = ""  # the rule's own FROM items after ``b`` (a lateral subselect), if any
    from_item: str = ""  # a lateral FROM item of the one pass computing the verdict (``verdict`` reads it)
    extra: tuple[tuple[str, str], ...] = ()  # more inner columns (name, SQL), e.g. a duplicate's first row
    join: str = ""  # a LEFT JOIN onto the batch row ``b`` of the ``scratch`` table, named ``{table}``
    scratch: str = ""  # a query over ``{batch}`` materialized into a scratch table before the pass


@dataclass(frozen=True)
class ScanResult:
    """What one validation run found: per rule index its failing-row count, and the batch's size."""

    run_id: str
    validation_id: str
    element_count: int
    counts: dict[str, int]  # rule id -> failing rows (every row rule of the suite, 0 included)
    folded: tuple[str, ...]  # rule ids computed in the one pass
    separate: tuple[str, ...]  # rule ids that ran their own query


def _top_level(text: str) -> list[tuple[int, str]]:
    """(position, character) of the characters outside parentheses, quotes and double-quoted names."""
    out: list[tuple[int, str]] = []
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            out.append((i, ch))
    return out


def _find_top(text: str, needle: str) -> int:
    """The first position of ``needle`` (case-insensitive) that starts and lies wholly at the top level."""
    top = {i for i, _ in _top_level(text)}
    lowered, low_needle = text.lower(), needle.lower()
    start = lowered.find(low_needle)
    while start >= 0:
        if all(j in top for j in range(start, start + len(needle))):
            return start
        start = lowered.find(low_needle, start + 1)
    return -1


def _flag(index: int) -> str:
    return f"_rule_v{index}"


def _fold_duplicates(columns: list[str], label: str, index: int) -> FoldedRule:
    """ "Unique within the batch" without sorting the batch: a hash aggregate finds the keys that repeat
    (few), only their rows go through the window that numbers them by source file and row, and the later
    ones join back to the one pass by (file, row). A window over the whole batch would carry every column
    of every row through a sort — an external sort on disk from a million rows on."""
    key = ", ".join(columns)
    not_null = " and ".join(f"k.{c} is not null" for c in columns)
    window = f"partition by {', '.join(f'r.{c}' for c in columns)} order by r._source_file, r._source_row"
    alias, first = f"_rule_d{index}", f"_rule_first{index}"
    later = (
        f"select d._source_file, d._source_row, d.first_row from ("
        f"select r._source_file, r._source_row, row_number() over w as n,"
        f" first_value(r._source_row) over w as first_row"
        f" from ({{batch}}) AS r where ({key}) in ("
        f"select {key} from ({{batch}}) AS k where {not_null} group by {key} having count(*) > 1)"
        f" window w as ({window})) d where d.n > 1"
    )
    shown = ", ' / ', ".join(f"b.{c}" for c in columns)
    return FoldedRule(
        verdict=f"({alias}._source_row is not null)",
        message=f"concat('{label} ', {shown}, ' 在本批次中重复 (首次出现在第 ', b.{first}, ' 行)')",
        extra=((first, f"{alias}.first_row"),),
        # a table: computed once, whatever the planner estimates for the batch, and readable by workers
        scratch=later,
        join=(
            f" left join {{table}} {alias}"
            f" on {alias}._source_file = b._source_file and {alias}._source_row = b._source_row"
        ),
    )


def fold_rule(rule: Rule, index: int) -> FoldedRule | None:
    """The rule as a verdict column and a message branch, or ``None`` when it must run on its own."""
    template = str(rule.kwargs.get("unexpected_rows_query", ""))
    duplicates = _DUPLICATES.match(template)
    if duplicates:
        keys, label = duplicates.groups()
        later_duplicates_in_batch(keys, label)  # the same validation of its arguments as the macro
        return _fold_duplicates([c.strip() for c in keys.split(",")], label, index)
    query = rule.query or ""
    if not query.startswith(_PREFIX):
        return None
    body = query[len(_PREFIX) :]
    cut = _find_top(body, " as _message from b")
    if cut < 0:
        return None
    message = body[:cut]
    rest = body[cut + len(" as _message from b") :]
    where = _find_top(rest, " where ")
    if where < 0:
        return None
    items, condition = rest[:where].strip(), rest[where + len(" where ") :]
    if any(ch == ";" for _, ch in _top_level(condition + message)):
        return None
    if not items:
        return FoldedRule(verdict=f"coalesce(({condition}), false)", message=message)
    lateral = _LATERAL.match(items[1:].strip()) if items.startswith(",") else None
    # one lateral subselect without FROM yields exactly one row per batch row: joined to the row it
    # selects the same rows as the rule's join
    if lateral is None or _find_top(lateral.group(1), " from ") >= 0:
        return None
    scope = items[1:].strip()
    # a FROM item rather than a scalar subquery: PostgreSQL pulls the one-row subselects up into the scan
    alias = f"_rule_s{index}"
    return FoldedRule(
        verdict=f"{alias}.v",
        from_item=f"lateral (select coalesce(({condition}), false) as v from {scope}) {alias}",
        message=message,
        scope=scope,
    )


def fold_suite(suite: Suite) -> tuple[dict[int, FoldedRule], list[int]]:
    """The suite's row rules by position: those folded into the one pass, and those that run alone."""
    folded: dict[int, FoldedRule] = {}
    separate: list[int] = []
    for index, rule in enumerate(suite.rules, start=1):
        if not rule.is_row_rule:
            continue
        fold = fold_rule(rule, index)
        if fold is None:
            separate.append(index)
        else:
            folded[index] = fold
    return folded, separate


def one_pass_sql(
    batch_sql: str, folded: dict[int, FoldedRule], run_id: str, validation_id: str, tables: dict[int, str]
) -> str:
    """The SELECT of every (failing row, folded rule), in the column order of ``rule_verdicts``.
    ``tables``: the scratch tables :func:`materialize` made for the rules that need one."""
    inner_cols = [f"{fold.verdict} as {_flag(i)}" for i, fold in folded.items()]
    inner_cols += [f"{expr} as {name}" for fold in folded.values() for name, expr in fold.extra]
    hidden = [_flag(i) for i in folded] + [name for fold in folded.values() for name, _ in fold.extra]
    branches = " union all ".join(
        f"select {i} as rule_no, ({fold.message}) as message"
        f"{f' from {fold.scope}' if fold.scope else ''} where b.{_flag(i)}"
        for i, fold in folded.items()
    )
    hidden_array = "array[" + ", ".join(f"'{h}'" for h in hidden) + "]::text[]"
    any_failing = " or ".join(f"b.{_flag(i)}" for i in folded)
    return (
        f"select '{uuid.UUID(run_id)}'::uuid as run_id, {_literal(validation_id)} as validation_id,"
        " x.rule_no, b._batch_id as batch_id, b._source_file as source_file, b._source_row as source_row,"
        f" x.message, to_jsonb(b) - {hidden_array} as record"
        f" from (select b.*, {', '.join(inner_cols)} from {from_clause(batch_sql, folded, tables)}) b,"
        f" lateral ({branches}) x"
        f" where {any_failing}"
    )


def materialize(
    conn: psycopg.Connection, batch_sql: str, folded: dict[int, FoldedRule], run_id: str
) -> dict[int, str]:
    """Create the scratch table of every rule that reads one (committed when ``conn`` is in autocommit mode,
    so that other connections' parts can read it; drop them with :func:`drop_tables`). Returns rule index
    -> table name."""
    tables: dict[int, str] = {}
    for index, fold in folded.items():
        if fold.scratch:
            name = f"platform.rule_scan_{uuid.UUID(run_id).hex[:16]}_{index}"
            conn.execute(f"create unlogged table {name} as {fold.scratch.replace('{batch}', batch_sql)}")
            conn.execute(f"analyze {name}")
            tables[index] = name
    return tables


def drop_tables(conn: psycopg.Connection, tables) -> None:
    for name in tables:
        conn.execute(f"drop table if exists {name}")


def from_clause(batch_sql: str, folded: dict[int, FoldedRule], tables: dict[int, str]) -> str:
    """The one pass's FROM: the batch as ``b``, the rules' joins (onto their scratch tables), then their
    lateral items (which may read both).

    ``offset 0`` keeps the batch a subquery of its own: a staging view's columns are expressions over raw
    (``upper(btrim(resident_id))``, ``nullif(btrim(name), '')``, …), and pulled up into the pass every
    rule's reference to a column would compute its expression again — the check character alone reads the
    resident ID 18 times. Behind the fence each row's columns are computed once."""
    joins = "".join(fold.join.replace("{table}", tables[i]) for i, fold in folded.items() if fold.join)
    from_items = "".join(f", {fold.from_item}" for fold in folded.values() if fold.from_item)
    return f"({batch_sql} offset 0) AS b{joins}{from_items}"


def _literal(text: str) -> str:
    """A SQL string literal of a validation id (suite name and ISO date: no quotes, no braces)."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", text):
        raise ValueError(f"not a validation id: {text!r}")
    return f"'{text}'"


def ensure_verdicts_table(conn: psycopg.Connection) -> None:
    """Create the scratch table once. Checked first: CREATE INDEX IF NOT EXISTS would lock the table
    against a concurrent validation's INSERT for as long as that runs."""
    if conn.execute("select to_regclass('platform.rule_verdicts_validation')").fetchone()[0]:
        return
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('platform.rule_verdicts ddl'))")
        conn.execute(_DDL)


def batch_parts(element_count: int, setting: str | None = None) -> int:
    """How many parts (connections) the pass over a batch of ``element_count`` rows is cut into."""
    chosen = setting if setting is not None else os.environ.get("GOVLAKE_VALIDATION_PARTS", "")
    if chosen.strip():
        try:
            parts = int(chosen)
        except ValueError:
            raise ValueError(f"GOVLAKE_VALIDATION_PARTS must be a whole number, not {chosen!r}") from None
        return max(1, min(parts, 16))
    if element_count < PARTS_FROM_ROWS:
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def part_sql(batch_sql: str, part: int, parts: int) -> str:
    """The rows of one part of the batch (every row is in exactly one part)."""
    if parts == 1:
        return batch_sql
    return f"select * from ({batch_sql}) AS p where mod(p._source_row, {parts}) = {part}"


def _connect_like(conn: psycopg.Connection) -> psycopg.Connection:
    """Another connection to the same database as the same role."""
    return psycopg.connect(conn.info.dsn, password=conn.info.password, autocommit=True)


def _run_part(
    conn: psycopg.Connection | None, like: psycopg.Connection, statement: str
) -> list[tuple[int, int]]:
    if conn is not None:
        return conn.execute(statement).fetchall()
    with _connect_like(like) as own:
        return own.execute(statement).fetchall()


def scan(
    conn: psycopg.Connection,
    suite: Suite,
    batch_sql: str,
    failing_rows_sql,
    validation_id: str,
    parts: int | None = None,
) -> ScanResult:
    """Run the suite's row rules on ``batch_sql`` and keep every failing (row, rule) in ``rule_verdicts``.

    ``conn`` must be in autocommit mode: the scratch tables are committed for the parts' connections to
    read (and dropped at the end, whatever happens). ``failing_rows_sql(rule)`` gives a rule's own
    failing-rows query (for the rules not folded). ``parts``: see :func:`batch_parts` (default). Raises
    ``psycopg.Error`` when a rule's SQL fails (the caller lets Great Expectations record the error); the
    records of a failed run are removed.
    """
    ensure_verdicts_table(conn)
    run_id = str(uuid.uuid4())
    folded, separate = fold_suite(suite)
    counts = {r.rule: 0 for r in suite.rules if r.is_row_rule}
    insert = (
        f"insert into {VERDICTS} (run_id, validation_id, rule_no, batch_id, source_file, source_row, message,"
        " record) "
    )
    # an earlier run of this validation, and whatever a run left that no quarantine step read
    conn.execute(
        f"delete from {VERDICTS} where validation_id = %s or created_at < now() - interval '1 day'",
        (validation_id,),
    )
    element_count = int(conn.execute(f"select count(*) from ({batch_sql}) AS b").fetchone()[0])
    parts = batch_parts(element_count) if parts is None else max(1, parts)
    tables: dict[int, str] = {}
    try:
        if folded:
            tables = materialize(conn, batch_sql, folded, run_id)
            # no parameters: psycopg sends the text as is (a '%' in a rule stays an operator)
            statements = [
                f"with ins as ({insert}"
                f"{one_pass_sql(part_sql(batch_sql, part, parts), folded, run_id, validation_id, tables)}"
                " returning rule_no) select rule_no, count(*) from ins group by rule_no"
                for part in range(parts)
            ]
            with ThreadPoolExecutor(max_workers=parts) as pool:
                # the first part on the caller's connection, the others on their own
                futures = [
                    pool.submit(_run_part, conn if part == 0 else None, conn, statement)
                    for part, statement in enumerate(statements)
                ]
                results = [future.result() for future in futures]
            for rows in results:
                for rule_no, count in rows:
                    counts[suite.rules[rule_no - 1].rule] += int(count)
        for index in separate:
            rule = suite.rules[index - 1]
            own = sql.SQL(
                "with ins as ({insert} select {run}::uuid, {vid}, {no}, q._batch_id, q._source_file,"
                " q._source_row, q._message, to_jsonb(q) - '_message' from ({failing}) q returning 1)"
                " select count(*) from ins"
            ).format(
                insert=sql.SQL(insert.strip()),
                run=sql.Literal(run_id),
                vid=sql.Literal(validation_id),
                no=sql.Literal(index),
                failing=sql.SQL(failing_rows_sql(rule)),  # type: ignore[arg-type]
            )
            counts[rule.rule] = int(conn.execute(own).fetchone()[0])
    except BaseException:
        if not conn.closed and not conn.broken:
            discard(conn, run_id)
        raise
    finally:
        if not conn.closed and not conn.broken:
            drop_tables(conn, tables.values())
    return ScanResult(
        run_id=run_id,
        validation_id=validation_id,
        element_count=element_count,
        counts=counts,
        folded=tuple(suite.rules[i - 1].rule for i in folded),
        separate=tuple(suite.rules[i - 1].rule for i in separate),
    )


def sample_messages(conn: psycopg.Connection, run_id: str, rule_no: int, limit: int) -> list[str]:
    """The first failing rows' messages of one rule (by source file and row)."""
    rows = conn.execute(
        f"select message from {VERDICTS} where run_id = %s and rule_no = %s"
        " order by source_file, source_row limit %s",
        (run_id, rule_no, limit),
    ).fetchall()
    return [r[0] for r in rows]


def discard(conn: psycopg.Connection, run_id: str) -> None:
    conn.execute(f"delete from {VERDICTS} where run_id = %s", (run_id,))
