"""Generate the synthetic province and write every department's source (``govlake generate``).

Deterministic for a seed: chunk ``i`` draws from ``numpy.random.default_rng([seed, i])`` (and the departments
added later from ``[seed, i, k]``, so adding one never changes another's data), so the same seed and
logical date give byte-identical sources, whatever else runs. The draws never depend on the logical date:
the province is one population per era that evolves day by day (``timeline``), and the date only decides
what each record shows — so consecutive dates differ by a small daily churn, each department database's
changed rows carry that day's ``updated_at``, and the report lists the keys each database lost since the
day before (``deleted``: rows its system deletes outright, IDs re-keyed by a defect). Chunks of 100k people
are generated,
defect-injected and written one after another (persons to 公安厅's table, entities to 市场监管局's CSV
stream, enrollments to 人社厅's table, marriages to 民政厅's CSV stream, 低保 recipients and subsidy
payments to 民政厅's and 财政厅's tables), so memory stays bounded at every scale. Birth certificates
(about 1.2% of persons) spill to a file per city until the end, because 卫健委's workbook groups them by
city and hospital (``file_deliveries.BirthWorkbook``); the defects spill to a file per dataset and are
streamed into the defects document (a province has ~2 million).
The regional datasets (crops, indicators, divisions, passenger volumes) do not grow with the population
and are generated once.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from demo_province import file_deliveries as deliveries
from demo_province.births import generate_births
from demo_province.civil import generate_dibao, generate_marriages
from demo_province.crops import crop_table
from demo_province.defects import (
    CROSS_DEPARTMENT_CONFLICT,
    Defect,
    DefectPlanner,
    inject,
    inject_versions,
    manifest,
    version_keys,
)
from demo_province.enrollments import generate_enrollments
from demo_province.entities import generate_entities
from demo_province.findings import chunk_findings, merge_findings
from demo_province.indicators import indicator_table
from demo_province.payments import generate_payments
from demo_province.people import IssuedBodies, generate_outsiders, generate_people, state_on
from demo_province.regions import division_table, passenger_table
from demo_province.systems import department_systems
from demo_province.tables import (
    ALL_DATASETS,
    BIRTHS,
    COLUMNS,
    CROPS,
    DATASETS,
    DIBAO,
    DIVISIONS,
    ENROLLMENT,
    ENTITIES,
    HOUSEHOLD,
    INDICATORS,
    MARRIAGES,
    PASSENGERS,
    PAYMENTS,
    PERSON_LINKED,
    REGIONAL,
    Table,
    enrollment_table,
    entity_table,
    household_table,
    row_count,
    row_keys,
)
from demo_province.timeline import mix
from demo_province.writers import (
    DEPARTMENT_TABLES,
    DepartmentDatabase,
    S3Stream,
    csv_bytes,
    entity_csv_key,
)
from govlake.lake import ensure_buckets, s3_client
from govlake.settings import Settings

# `province` is Guizhou's ~38.6 million residents (issue 19); `xlarge` the step between.
SCALES: dict[str, int] = {
    "tiny": 1_000,
    "small": 20_000,
    "medium": 200_000,
    "large": 1_000_000,
    "xlarge": 10_000_000,
    "province": 38_600_000,
}
CHUNK_SIZE = 100_000
ENTITY_SHARE = 0.08  # market entities per registered person
INSURED_SHARE = 0.6  # insured people per registered person (each with 1.2 insurance types on average)
OUTSIDER_SHARE = 0.04  # of the insured: registered in another province, so only in 人社厅's data

ProgressCallback = Callable[[int, int], None]


# Per-chunk random streams of the departments added after the first three: [seed, chunk, stream].
_HEALTH, _CIVIL, _FINANCE = 1, 2, 3
# Random streams of the regional datasets: [seed, stream].
_REGIONAL_STREAMS = {CROPS: 10_001, INDICATORS: 10_002, DIVISIONS: 10_003, PASSENGERS: 10_004}


@dataclass
class ProvinceChunk:
    """One chunk of the person-linked sources, defects already injected, and the audit findings in it."""

    index: int
    persons: int
    tables: dict[str, Table]
    defects: list[Defect]
    findings: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    deleted: dict[str, list[str]] = field(default_factory=dict)  # keys gone since the day before


@dataclass
class ProvinceReport:
    """What ``generate_province`` wrote: rows per dataset, the defects injected, and where each source is."""

    scale: str
    seed: int
    logical_date: date
    defect_rate: float
    counts: dict[str, int]
    manifest: dict[str, dict[str, int]]
    # every defect by dataset; empty above DEFECTS_IN_MEMORY defects (read the document at defects_uri)
    defects: dict[str, list[dict[str, Any]]]
    locations: dict[str, str]
    defects_uri: str
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    findings: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    deleted: dict[str, list[str]] = field(default_factory=dict)

    def defects_document(self) -> dict[str, Any]:
        """The JSON written next to the sources (``defects_uri``, streamed by ``_write_defects``); end-to-end
        tests compare the quarantine with it."""
        return {
            "scale": self.scale,
            "seed": self.seed,
            "logical_date": self.logical_date.isoformat(),
            "defect_rate": self.defect_rate,
            "counts": self.counts,
            "manifest": self.manifest,
            "defects": self.defects,
            "locations": self.locations,
            "findings": self.findings,
            "deleted": self.deleted,
        }


def scale_persons(scale: str) -> int:
    try:
        return SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}") from None


# Department tables with an ``updated_at``-like watermark: a defect there is an edit of the day.
WATERMARKS: dict[str, str] = {
    HOUSEHOLD: "gxsj",
    ENROLLMENT: "aae036",
    DIBAO: "updated_at",
    PAYMENTS: "updated_at",
    INDICATORS: "gxsj",
}
# Tables whose rows the department's own system deletes or re-keys: the report lists the keys gone each day.
DELETING: tuple[str, ...] = (HOUSEHOLD, ENROLLMENT, DIBAO, PAYMENTS)


@dataclass
class _Rows:
    """A department database table's row versions: the day of each row's ``updated_at`` on the date, and
    the rows' keys and versions the day before (for the keys that are gone; None where not needed)."""

    versions: np.ndarray
    previous_keys: list[str] | None = None
    previous_versions: np.ndarray | None = None


class _Defects:
    """The defects of one date, and the keys the department databases lost since the day before.

    Files are whole deliveries: their defects are planned per date, exactly ``round(rate * rows)`` per
    dataset (``DefectPlanner``). A department database delivers what changed, so there a defect belongs
    to a row version (``defects.version_defects``): it is delivered with the edit that made it and
    corrected by the next edit — about ``rate`` of the rows on any date.
    """

    def __init__(self, seed: int, logical_date: date, rate: float, planner: DefectPlanner | None) -> None:
        self.seed, self.day = seed, logical_date
        self.planner = planner or DefectPlanner(rate)
        self.rate = self.planner.rate
        self.deleted: dict[str, list[str]] = {ds: [] for ds in DELETING}

    def files(
        self, dataset: str, table: Table, rng: np.random.Generator, eligible: dict | None = None
    ) -> tuple[list[Defect], np.ndarray]:
        kinds = self.planner.kinds_for(dataset, row_count(table))
        return inject(dataset, table, kinds, rng, self.day, eligible)

    def database(
        self, dataset: str, table: Table, rows: _Rows, eligible: dict | None = None
    ) -> tuple[list[Defect], np.ndarray]:
        keys = row_keys(dataset, table)
        found, touched = inject_versions(
            dataset, table, keys, rows.versions, self.rate, self.seed, self.day, eligible
        )
        if dataset in DELETING and rows.previous_keys is not None:
            before = version_keys(dataset, rows.previous_keys, rows.previous_versions, self.rate, self.seed)
            self.deleted[dataset] += sorted(set(before) - set(row_keys(dataset, table)))
        return found, touched


def _days(moments: np.ndarray) -> np.ndarray:
    return moments.astype("M8[D]")


def iter_province(
    persons: int,
    seed: int,
    logical_date: date,
    defect_rate: float = 0.02,
    chunk_size: int = CHUNK_SIZE,
    planner: DefectPlanner | None = None,
    defects: _Defects | None = None,
) -> Iterator[ProvinceChunk]:
    """The province chunk by chunk, in memory, as it is on ``logical_date``; writers consume it.

    Deterministic for (seed, chunk_size, logical_date); the records are the same on every date of the
    era (``timeline``). Pass ``planner`` to share the exact defect counts with :func:`regional_tables`.
    """
    defects = defects or _Defects(seed, logical_date, defect_rate, planner)
    yesterday = np.datetime64(logical_date.isoformat(), "D") - np.timedelta64(1, "D")
    used_bodies = IssuedBodies()
    used_codes: set[str] = set()
    next_household, next_enrollment, entities_made = 1, 1, 0
    serials = {BIRTHS: 1, MARRIAGES: 1, DIBAO: 1}
    for index, start in enumerate(range(0, persons, chunk_size)):
        n = min(chunk_size, persons - start)
        deleted_before = {ds: len(keys) for ds, keys in defects.deleted.items()}
        rng = np.random.default_rng([seed, index])
        salt = int(mix(seed, index)[0] >> np.uint64(1))
        people, used_bodies, next_household = generate_people(
            rng, n, logical_date, used_bodies, next_household, salt
        )
        n_entities = int(ENTITY_SHARE * (start + n) + 0.5) - entities_made
        entities, employers = generate_entities(rng, n_entities, people, logical_date, used_codes, salt)
        entities_made += n_entities
        outsiders, used_bodies = generate_outsiders(
            rng, int(INSURED_SHARE * OUTSIDER_SHARE * n + 0.5), logical_date, used_bodies, salt
        )
        enrollments, next_enrollment = generate_enrollments(
            rng, people, outsiders, employers, logical_date, next_enrollment
        )
        births, marriages, dibao, payments = _person_linked(seed, index, people, logical_date, serials)

        tables = {
            HOUSEHOLD: household_table(people),
            ENTITIES: entity_table(entities),
            ENROLLMENT: enrollment_table(enrollments),
        }
        shown = np.flatnonzero(people.visible)
        _, _, _, updated_before = state_on(people, yesterday)
        registered_before = np.flatnonzero(people.registered <= yesterday)
        household = _Rows(
            _days(people.updated_at[shown]),
            [people.resident_id[i] for i in registered_before.tolist()],
            updated_before[registered_before],
        )
        found, touched_rows = defects.database(HOUSEHOLD, tables[HOUSEHOLD], household)
        entity_rng = np.random.default_rng([seed, index, 201, logical_date.toordinal()])
        found += defects.files(ENTITIES, tables[ENTITIES], entity_rng)[0]
        clean_person = people.visible.copy()
        clean_person[shown[touched_rows]] = False
        enrollment = _Rows(enrollments.versions, enrollments.previous_ids, enrollments.previous_versions)
        more = defects.database(
            ENROLLMENT, tables[ENROLLMENT], enrollment, {CROSS_DEPARTMENT_CONFLICT: ~enrollments.outsider}
        )[0]
        # A conflict is one only while 公安厅's own row for the person is clean: the platform compares with it.
        rows_of = {k: i for i, k in enumerate(enrollments.id)}
        found += [
            x
            for x in more
            if x.kind != CROSS_DEPARTMENT_CONFLICT or clean_person[enrollments.person[rows_of[x.key]]]
        ]
        tables.update(
            {BIRTHS: births.table, MARRIAGES: marriages.table, DIBAO: dibao.table, PAYMENTS: payments.table}
        )
        touched: dict[str, np.ndarray] = {}
        for k, ds in enumerate((BIRTHS, MARRIAGES)):
            drng = np.random.default_rng([seed, index, 100 + k, logical_date.toordinal()])
            eligible = {
                BIRTHS: clean_person[births.newborn],
                MARRIAGES: clean_person[marriages.male] & clean_person[marriages.female],
            }[ds]
            more, touched[ds] = defects.files(ds, tables[ds], drng, {CROSS_DEPARTMENT_CONFLICT: eligible})
            found += more
        rows = {
            DIBAO: _Rows(dibao.versions, dibao.previous_keys, dibao.previous_versions),
            PAYMENTS: _Rows(payments.versions, payments.previous_ids, payments.previous_versions),
        }
        for ds in (DIBAO, PAYMENTS):
            more, touched[ds] = defects.database(ds, tables[ds], rows[ds])
            found += more
        findings = chunk_findings(people, clean_person, dibao, payments, touched)
        deleted = {ds: keys[deleted_before[ds] :] for ds, keys in defects.deleted.items()}
        yield ProvinceChunk(
            index=index, persons=n, tables=tables, defects=found, findings=findings, deleted=deleted
        )


def _person_linked(seed: int, index: int, people, logical_date: date, serials: dict[str, int]) -> tuple:
    """卫健委, 民政厅 and 财政厅 rows for the chunk's people, each from its own random stream."""
    health = np.random.default_rng([seed, index, _HEALTH])
    civil = np.random.default_rng([seed, index, _CIVIL])
    finance = np.random.default_rng([seed, index, _FINANCE])
    births = generate_births(health, people, logical_date, serials[BIRTHS])
    marriages, serials[MARRIAGES] = generate_marriages(civil, people, logical_date, serials[MARRIAGES])
    full, dibao, serials[DIBAO] = generate_dibao(civil, people, logical_date, serials[DIBAO])
    payments = generate_payments(finance, people, full, logical_date, (seed, index))
    serials[BIRTHS] += len(people)
    return births, marriages, dibao, payments


def regional_tables(
    seed: int, logical_date: date, planner: DefectPlanner, defects: _Defects | None = None
) -> tuple[dict[str, Table], list[Defect]]:
    """Crops, indicators, divisions and passenger volumes (each from its own stream), defects injected."""
    defects = defects or _Defects(seed, logical_date, planner.rate, planner)
    builders = {
        CROPS: lambda rng: crop_table(rng, logical_date),
        INDICATORS: lambda rng: indicator_table(rng, logical_date),
        DIVISIONS: division_table,
        PASSENGERS: lambda rng: passenger_table(rng, logical_date),
    }
    tables: dict[str, Table] = {}
    found: list[Defect] = []
    for ds in REGIONAL:
        rng = np.random.default_rng([seed, _REGIONAL_STREAMS[ds]])
        tables[ds] = builders[ds](rng)
        if ds in WATERMARKS:
            versions = np.array([t[:10] for t in tables[ds][WATERMARKS[ds]]], dtype="M8[D]")
            found += defects.database(ds, tables[ds], _Rows(versions))[0]
        else:
            drng = np.random.default_rng([seed, _REGIONAL_STREAMS[ds], logical_date.toordinal()])
            found += defects.files(ds, tables[ds], drng)[0]
    return tables, found


class _Progress:
    """Adapts a rich Progress, a ``(done, total)`` callback or nothing."""

    def __init__(self, progress: Any, total: int, description: str) -> None:
        self.progress, self.total, self.done = progress, total, 0
        self.task = None
        if progress is not None and hasattr(progress, "add_task"):
            self.task = progress.add_task(description, total=total)

    def advance(self, n: int) -> None:
        self.done += n
        if self.task is not None:
            self.progress.update(self.task, completed=self.done)
        elif callable(self.progress):
            self.progress(self.done, self.total)


def defects_key(seed: int, logical_date: date) -> str:
    return f"_province/{seed}/{logical_date.isoformat()}/defects.json"


# A report keeps its defects in memory up to this many (``large`` has ~51,000; the province ~2 million).
DEFECTS_IN_MEMORY = 250_000


class _DefectLog:
    """The defects injected so far, one JSON line each in a temporary file per dataset, and their manifest:
    memory holds counts, never the defects (a province has ~2 million)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="govlake-defects-")
        self._files = {
            ds: open(f"{self._dir.name}/{ds}.jsonl", "w+", encoding="utf-8")  # noqa: SIM115
            for ds in ALL_DATASETS
        }
        self.manifest = manifest(())
        self.total = 0

    def add(self, defects: list[Defect]) -> None:
        for d in defects:
            self._files[d.dataset].write(json.dumps(d.as_dict(), ensure_ascii=False) + "\n")
            self.manifest[d.dataset][d.kind] += 1
        self.total += len(defects)

    def lines(self, dataset: str) -> Iterator[str]:
        spill = self._files[dataset]
        spill.flush()
        spill.seek(0)
        for line in spill:
            yield line.rstrip("\n")
        spill.seek(0, io.SEEK_END)

    def in_memory(self) -> dict[str, list[dict[str, Any]]]:
        if self.total > DEFECTS_IN_MEMORY:
            return {}
        return {ds: [json.loads(line) for line in self.lines(ds)] for ds in ALL_DATASETS}

    def close(self) -> None:
        for spill in self._files.values():
            spill.close()
        self._dir.cleanup()


def _write_defects(client: Any, key: str, report: ProvinceReport, log: _DefectLog) -> None:
    """The defects document, streamed: the report's fields, and each dataset's defects line by line."""
    document = report.defects_document()
    stream = S3Stream(client, "landing", key, "application/json; charset=utf-8")
    try:
        parts: list[str] = []
        for i, (field_name, value) in enumerate(document.items()):
            parts.append(("{\n" if i == 0 else ",\n") + f" {json.dumps(field_name)}: ")
            if field_name != "defects":
                parts.append(json.dumps(value, ensure_ascii=False))
                continue
            for j, ds in enumerate(ALL_DATASETS):
                parts.append(("{\n" if j == 0 else ",\n") + f"  {json.dumps(ds)}: [")
                for k, line in enumerate(log.lines(ds)):
                    parts.append(("\n   " if k == 0 else ",\n   ") + line)
                    if len(parts) >= 10_000:
                        stream.write("".join(parts).encode("utf-8"))
                        parts.clear()
                parts.append("]")
            parts.append("\n }")
        parts.append("\n}\n")
        stream.write("".join(parts).encode("utf-8"))
        stream.close()
    except BaseException:
        stream.abort()
        raise


def generate_province(
    settings: Settings,
    scale: str,
    seed: int,
    logical_date: date,
    defect_rate: float = 0.02,
    progress: Any = None,
    chunk_size: int = CHUNK_SIZE,
) -> ProvinceReport:
    """Generate the province at ``scale`` and (re)write every department's source for ``logical_date``.

    Idempotent: the department tables are truncated and reloaded in one transaction, the files and the
    defects manifest are overwritten. ``progress`` may be a rich ``Progress`` or a ``(done, total)``
    callable.
    """
    persons = scale_persons(scale)
    started = time.monotonic()
    client = s3_client(settings)
    ensure_buckets(client)
    day = logical_date.isoformat()
    csv_key = entity_csv_key(day)
    counts = dict.fromkeys(ALL_DATASETS, 0)
    defects = _DefectLog()
    findings: list[dict[str, dict[str, list[str]]]] = []
    births = deliveries.BirthWorkbook(list(COLUMNS[BIRTHS]), logical_date)
    planner = DefectPlanner(defect_rate)
    plan = _Defects(seed, logical_date, defect_rate, planner)
    tracker = _Progress(progress, persons, f"generating {scale} province (seed {seed}, {day})")
    streams = {
        ENTITIES: S3Stream(client, "landing", csv_key, "text/csv; charset=gbk"),
        MARRIAGES: S3Stream(
            client,
            "landing",
            deliveries.landing_key(MARRIAGES, logical_date),
            deliveries.CONTENT_TYPES[MARRIAGES],
        ),
    }
    try:
        with DepartmentDatabase(settings) as database:
            for chunk in iter_province(persons, seed, logical_date, defect_rate, chunk_size, planner, plan):
                for ds in (HOUSEHOLD, ENROLLMENT, DIBAO, PAYMENTS):
                    database.copy(ds, chunk.tables[ds])
                streams[ENTITIES].write(csv_bytes(chunk.tables[ENTITIES], header=chunk.index == 0))
                streams[MARRIAGES].write(
                    deliveries.marriage_csv(chunk.tables[MARRIAGES], first=chunk.index == 0)
                )
                births.add(chunk.tables[BIRTHS])
                for ds in (*DATASETS, *PERSON_LINKED):
                    counts[ds] += row_count(chunk.tables[ds])
                defects.add(chunk.defects)
                findings.append(chunk.findings)
                tracker.advance(chunk.persons)
            regional, regional_defects = regional_tables(seed, logical_date, planner, plan)
            defects.add(regional_defects)
            database.copy(INDICATORS, regional[INDICATORS])
            _put_files(client, logical_date, births, regional)
            counts[BIRTHS] = births.rows
            for ds, table in regional.items():
                counts[ds] = row_count(table)
            for stream in streams.values():
                stream.close()  # the files are complete before the databases commit
    except BaseException:
        for stream in streams.values():
            stream.abort()
        defects.close()
        raise
    finally:
        births.close()
    try:
        report = ProvinceReport(
            scale=scale,
            seed=seed,
            logical_date=logical_date,
            defect_rate=defect_rate,
            counts=counts,
            manifest=defects.manifest,
            defects=defects.in_memory(),
            locations=_locations(settings, logical_date),
            defects_uri=f"s3://landing/{defects_key(seed, logical_date)}",
            findings=merge_findings(findings),
            deleted=plan.deleted,
        )
        _write_defects(client, defects_key(seed, logical_date), report, defects)
    finally:
        defects.close()
    report.seconds = time.monotonic() - started
    return report


def _put_files(
    client: Any, logical_date: date, births: deliveries.BirthWorkbook, regional: dict[str, Table]
) -> None:
    client.fput_object(
        "landing",
        deliveries.landing_key(BIRTHS, logical_date),
        str(births.finish()),
        content_type=deliveries.CONTENT_TYPES[BIRTHS],
    )
    files = {
        PASSENGERS: deliveries.passenger_workbook(regional[PASSENGERS], logical_date),
        CROPS: deliveries.crop_csv(regional[CROPS]),
        DIVISIONS: deliveries.division_csv(regional[DIVISIONS]),
    }
    for ds, data in files.items():
        client.put_object(
            "landing",
            deliveries.landing_key(ds, logical_date),
            io.BytesIO(data),
            length=len(data),
            content_type=deliveries.CONTENT_TYPES[ds],
        )


def _locations(settings: Settings, logical_date: date) -> dict[str, str]:
    """Where each dataset's source is: a department-database table or a landing-zone file."""
    db = f"postgresql://{settings.pg_host}:{settings.pg_port}/{department_systems(settings).database}"
    where = {ds: f"{db}/{table}" for ds, table in DEPARTMENT_TABLES.items()}
    where[ENTITIES] = f"s3://landing/{entity_csv_key(logical_date.isoformat())}"
    for ds in (BIRTHS, MARRIAGES, CROPS, DIVISIONS, PASSENGERS):
        where[ds] = f"s3://landing/{deliveries.landing_key(ds, logical_date)}"
    return {ds: where[ds] for ds in ALL_DATASETS}
