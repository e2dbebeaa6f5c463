"""Generate the synthetic province and write every department's source (``govlake generate``).

Deterministic for a seed: chunk ``i`` draws from ``numpy.random.default_rng([seed, i])``, so the same seed
and logical date give byte-identical sources, whatever else runs. Chunks of 100k people are generated,
defect-injected and written one after another (persons to 公安厅's table, entities to 市场监管局's CSV
stream, enrollments to 人社厅's table), so memory stays bounded at every scale.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from govlake.lake import ensure_buckets, s3_client
from govlake.province.defects import (
    CROSS_DEPARTMENT_CONFLICT,
    Defect,
    DefectPlanner,
    inject,
    manifest,
)
from govlake.province.enrollments import generate_enrollments
from govlake.province.entities import generate_entities
from govlake.province.people import generate_outsiders, generate_people
from govlake.province.tables import (
    DATASETS,
    ENROLLMENT,
    ENTITIES,
    HOUSEHOLD,
    Table,
    enrollment_table,
    entity_table,
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


@dataclass
class ProvinceChunk:
    """One chunk of all three sources, defects already injected."""

    index: int
    persons: int
    tables: dict[str, Table]
    defects: list[Defect]


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
) -> Iterator[ProvinceChunk]:
    """The province chunk by chunk, in memory; writers consume it. Deterministic for (seed, chunk_size)."""
    planner = DefectPlanner(defect_rate)
    used_bodies = np.empty(0, dtype=np.int64)
    used_codes: set[str] = set()
    next_household, next_enrollment, entities_made = 1, 1, 0
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
        yield ProvinceChunk(index=index, persons=n, tables=tables, defects=defects)


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
    """Generate the province at ``scale`` and (re)write the three department sources for ``logical_date``.

    Idempotent: the department tables are truncated and reloaded in one transaction, the CSV object and
    the defects manifest are overwritten. ``progress`` may be a rich ``Progress`` or a ``(done, total)``
    callable.
    """
    persons = scale_persons(scale)
    started = time.monotonic()
    client = s3_client(settings)
    ensure_buckets(client)
    day = logical_date.isoformat()
    csv_key = entity_csv_key(day)
    counts = dict.fromkeys(DATASETS, 0)
    defects: list[Defect] = []
    tracker = _Progress(progress, persons, f"generating {scale} province (seed {seed}, {day})")
    stream = S3Stream(client, "landing", csv_key, "text/csv; charset=gbk")
    try:
        with DepartmentDatabase(settings) as database:
            for chunk in iter_province(persons, seed, logical_date, defect_rate, chunk_size):
                database.copy(HOUSEHOLD, chunk.tables[HOUSEHOLD])
                database.copy(ENROLLMENT, chunk.tables[ENROLLMENT])
                stream.write(csv_bytes(chunk.tables[ENTITIES], header=chunk.index == 0))
                for ds in DATASETS:
                    counts[ds] += row_count(chunk.tables[ds])
                defects += chunk.defects
                tracker.advance(chunk.persons)
            stream.close()  # the CSV is complete before the databases commit
    except BaseException:
        stream.abort()
        raise
    db = f"postgresql://{settings.pg_host}:{settings.pg_port}/{settings.department_db}"
    report = ProvinceReport(
        scale=scale,
        seed=seed,
        logical_date=logical_date,
        defect_rate=defect_rate,
        counts=counts,
        manifest=manifest(defects),
        defects={ds: [d.as_dict() for d in defects if d.dataset == ds] for ds in DATASETS},
        locations={
            HOUSEHOLD: f"{db}/{DEPARTMENT_TABLES[HOUSEHOLD]}",
            ENTITIES: f"s3://landing/{csv_key}",
            ENROLLMENT: f"{db}/{DEPARTMENT_TABLES[ENROLLMENT]}",
        },
        defects_uri=f"s3://landing/{defects_key(seed, logical_date)}",
    )
    put_json(client, "landing", defects_key(seed, logical_date), report.defects_document())
    report.seconds = time.monotonic() - started
    return report
