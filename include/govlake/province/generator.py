"""Generate the synthetic province and write every department's source (``govlake generate``).

Deterministic for a seed: chunk ``i`` draws from ``numpy.random.default_rng([seed, i])`` (and the departments
added later from ``[seed, i, k]``, so adding one never changes another's data), so the same seed and
logical date give byte-identical sources, whatever else runs. Chunks of 100k people are generated,
defect-injected and written one after another (persons to 公安厅's table, entities to 市场监管局's CSV
stream, enrollments to 人社厅's table, marriages to 民政厅's CSV stream, 低保 recipients and subsidy
payments to 民政厅's and 财政厅's tables), so memory stays bounded at every scale. Birth certificates
(about 2% of persons) are kept until the end because 卫健委's workbook groups them by city and hospital.
The regional datasets (crops, indicators, divisions, passenger volumes) do not grow with the population
and are generated once.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from govlake.lake import ensure_buckets, s3_client
from govlake.province import deliveries
from govlake.province.births import generate_births
from govlake.province.civil import generate_dibao, generate_marriages
from govlake.province.crops import crop_table
from govlake.province.defects import (
    CROSS_DEPARTMENT_CONFLICT,
    Defect,
    DefectPlanner,
    inject,
    manifest,
)
from govlake.province.enrollments import generate_enrollments
from govlake.province.entities import generate_entities
from govlake.province.findings import chunk_findings, merge_findings
from govlake.province.indicators import indicator_table
from govlake.province.payments import generate_payments
from govlake.province.people import generate_outsiders, generate_people
from govlake.province.regions import division_table, passenger_table
from govlake.province.tables import (
    ALL_DATASETS,
    BIRTHS,
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
    empty_table,
    enrollment_table,
    entity_table,
    extend,
    household_table,
    row_count,
)
from govlake.province.writers import (
    DEPARTMENT_TABLES,
    DepartmentDatabase,
    S3Stream,
    csv_bytes,
    entity_csv_key,
    put_json,
)
from govlake.settings import Settings

SCALES: dict[str, int] = {"tiny": 1_000, "small": 20_000, "medium": 200_000, "large": 1_000_000}
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


@dataclass
class ProvinceReport:
    """What ``generate_province`` wrote: rows per dataset, the defects injected, and where each source is."""

    scale: str
    seed: int
    logical_date: date
    defect_rate: float
    counts: dict[str, int]
    manifest: dict[str, dict[str, int]]
    defects: dict[str, list[dict[str, Any]]]
    locations: dict[str, str]
    defects_uri: str
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    findings: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def defects_document(self) -> dict[str, Any]:
        """The JSON written next to the sources; end-to-end tests compare the quarantine with it."""
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
        }


def scale_persons(scale: str) -> int:
    try:
        return SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}") from None


def iter_province(
    persons: int,
    seed: int,
    logical_date: date,
    defect_rate: float = 0.02,
    chunk_size: int = CHUNK_SIZE,
    planner: DefectPlanner | None = None,
) -> Iterator[ProvinceChunk]:
    """The province chunk by chunk, in memory; writers consume it. Deterministic for (seed, chunk_size).

    Pass ``planner`` to share the exact defect counts with :func:`regional_tables`.
    """
    planner = planner or DefectPlanner(defect_rate)
    used_bodies = np.empty(0, dtype=np.int64)
    used_codes: set[str] = set()
    next_household, next_enrollment, entities_made = 1, 1, 0
    serials = {BIRTHS: 1, MARRIAGES: 1, DIBAO: 1, PAYMENTS: 1}
    for index, start in enumerate(range(0, persons, chunk_size)):
        n = min(chunk_size, persons - start)
        rng = np.random.default_rng([seed, index])
        people, used_bodies, next_household = generate_people(
            rng, n, logical_date, used_bodies, next_household
        )
        n_entities = int(ENTITY_SHARE * (start + n) + 0.5) - entities_made
        entities = generate_entities(rng, n_entities, people, logical_date, used_codes)
        entities_made += n_entities
        outsiders, used_bodies = generate_outsiders(
            rng, int(INSURED_SHARE * OUTSIDER_SHARE * n + 0.5), logical_date, used_bodies
        )
        enrollments = generate_enrollments(
            rng, people, outsiders, entities.employers(), logical_date, next_enrollment
        )
        next_enrollment += len(enrollments)
        linked = _person_linked(
            seed, index, people, logical_date, serials
        )  # before 公安厅's table: 落户 dates

        tables = {
            HOUSEHOLD: household_table(people),
            ENTITIES: entity_table(entities),
            ENROLLMENT: enrollment_table(enrollments),
        }
        kinds = {ds: planner.kinds_for(ds, row_count(tables[ds])) for ds in DATASETS}
        defects, touched_people = inject(HOUSEHOLD, tables[HOUSEHOLD], kinds[HOUSEHOLD], rng, logical_date)
        defects += inject(ENTITIES, tables[ENTITIES], kinds[ENTITIES], rng, logical_date)[0]
        # A conflict is only a conflict when 公安厅's own row for the person is clean.
        clean_person = np.ones(len(people), dtype=bool)
        clean_person[touched_people] = False
        conflict_ok = (
            ~enrollments.outsider & clean_person[np.where(enrollments.outsider, 0, enrollments.person)]
        )
        defects += inject(
            ENROLLMENT,
            tables[ENROLLMENT],
            kinds[ENROLLMENT],
            rng,
            logical_date,
            {CROSS_DEPARTMENT_CONFLICT: conflict_ok},
        )[0]
        births, marriages, dibao, payments = linked
        tables.update(
            {BIRTHS: births.table, MARRIAGES: marriages.table, DIBAO: dibao.table, PAYMENTS: payments.table}
        )
        eligible = {
            BIRTHS: {CROSS_DEPARTMENT_CONFLICT: clean_person[births.newborn]},
            MARRIAGES: {
                CROSS_DEPARTMENT_CONFLICT: clean_person[marriages.male] & clean_person[marriages.female]
            },
        }
        touched: dict[str, np.ndarray] = {}
        for k, ds in enumerate(PERSON_LINKED):
            drng = np.random.default_rng([seed, index, 100 + k])
            found, touched[ds] = inject(
                ds,
                tables[ds],
                planner.kinds_for(ds, row_count(tables[ds])),
                drng,
                logical_date,
                eligible.get(ds),
            )
            defects += found
        findings = chunk_findings(people, clean_person, dibao, payments, touched)
        yield ProvinceChunk(index=index, persons=n, tables=tables, defects=defects, findings=findings)


def _person_linked(seed: int, index: int, people, logical_date: date, serials: dict[str, int]) -> tuple:
    """卫健委, 民政厅 and 财政厅 rows for the chunk's people, each from its own random stream."""
    health = np.random.default_rng([seed, index, _HEALTH])
    civil = np.random.default_rng([seed, index, _CIVIL])
    finance = np.random.default_rng([seed, index, _FINANCE])
    births = generate_births(health, people, logical_date, serials[BIRTHS])
    marriages = generate_marriages(civil, people, logical_date, serials[MARRIAGES])
    dibao, serials[DIBAO] = generate_dibao(civil, people, logical_date, serials[DIBAO])
    payments = generate_payments(finance, people, dibao, logical_date, serials[PAYMENTS])
    serials[BIRTHS] += len(births)
    serials[MARRIAGES] += len(marriages)
    serials[PAYMENTS] += len(payments)
    return births, marriages, dibao, payments


def regional_tables(
    seed: int, logical_date: date, planner: DefectPlanner
) -> tuple[dict[str, Table], list[Defect]]:
    """Crops, indicators, divisions and passenger volumes (each from its own stream), defects injected."""
    builders = {
        CROPS: lambda rng: crop_table(rng, logical_date),
        INDICATORS: lambda rng: indicator_table(rng, logical_date),
        DIVISIONS: division_table,
        PASSENGERS: lambda rng: passenger_table(rng, logical_date),
    }
    tables: dict[str, Table] = {}
    defects: list[Defect] = []
    for ds in REGIONAL:
        rng = np.random.default_rng([seed, _REGIONAL_STREAMS[ds]])
        tables[ds] = builders[ds](rng)
        defects += inject(ds, tables[ds], planner.kinds_for(ds, row_count(tables[ds])), rng, logical_date)[0]
    return tables, defects


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
    defects: list[Defect] = []
    findings: list[dict[str, dict[str, list[str]]]] = []
    births = empty_table(BIRTHS)
    planner = DefectPlanner(defect_rate)
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
            for chunk in iter_province(persons, seed, logical_date, defect_rate, chunk_size, planner):
                for ds in (HOUSEHOLD, ENROLLMENT, DIBAO, PAYMENTS):
                    database.copy(ds, chunk.tables[ds])
                streams[ENTITIES].write(csv_bytes(chunk.tables[ENTITIES], header=chunk.index == 0))
                streams[MARRIAGES].write(
                    deliveries.marriage_csv(chunk.tables[MARRIAGES], first=chunk.index == 0)
                )
                extend(births, chunk.tables[BIRTHS])
                for ds in (*DATASETS, *PERSON_LINKED):
                    counts[ds] += row_count(chunk.tables[ds])
                defects += chunk.defects
                findings.append(chunk.findings)
                tracker.advance(chunk.persons)
            regional, regional_defects = regional_tables(seed, logical_date, planner)
            defects += regional_defects
            database.copy(INDICATORS, regional[INDICATORS])
            _put_files(client, logical_date, births, regional)
            for ds, table in [(BIRTHS, births), *regional.items()]:
                counts[ds] = row_count(table)
            for stream in streams.values():
                stream.close()  # the files are complete before the databases commit
    except BaseException:
        for stream in streams.values():
            stream.abort()
        raise
    report = ProvinceReport(
        scale=scale,
        seed=seed,
        logical_date=logical_date,
        defect_rate=defect_rate,
        counts=counts,
        manifest=manifest(defects),
        defects={ds: [d.as_dict() for d in defects if d.dataset == ds] for ds in ALL_DATASETS},
        locations=_locations(settings, logical_date),
        defects_uri=f"s3://landing/{defects_key(seed, logical_date)}",
        findings=merge_findings(findings),
    )
    put_json(client, "landing", defects_key(seed, logical_date), report.defects_document())
    report.seconds = time.monotonic() - started
    return report


def _put_files(client: Any, logical_date: date, births: Table, regional: dict[str, Table]) -> None:
    files = {
        BIRTHS: deliveries.birth_workbook(births, logical_date),
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
    db = f"postgresql://{settings.pg_host}:{settings.pg_port}/{settings.department_db}"
    where = {ds: f"{db}/{table}" for ds, table in DEPARTMENT_TABLES.items()}
    where[ENTITIES] = f"s3://landing/{entity_csv_key(logical_date.isoformat())}"
    for ds in (BIRTHS, MARRIAGES, CROPS, DIVISIONS, PASSENGERS):
        where[ds] = f"s3://landing/{deliveries.landing_key(ds, logical_date)}"
    return {ds: where[ds] for ds in ALL_DATASETS}
