"""The three department sources as column lists, named as each department's system names them.

A table is an ordered ``{source column: [value, ...]}``; values are the strings the source stores (dates
``YYYY-MM-DD``, timestamps ``YYYY-MM-DD HH:MM:SS+08:00``) or ``None``. Column names are the registry's
``source_name``s (tests/province checks they match ``config/departments/*.yaml``).
"""

from __future__ import annotations

import numpy as np

from govlake.province.enrollments import Enrollments
from govlake.province.entities import Entities
from govlake.province.people import People

Table = dict[str, list]

HOUSEHOLD = "public_security__household_registration"
ENTITIES = "market_regulation__market_entities"
ENROLLMENT = "human_resources__social_insurance_enrollment"
DATASETS: tuple[str, ...] = (HOUSEHOLD, ENTITIES, ENROLLMENT)

HOUSEHOLD_COLUMNS = ("gmsfhm", "xm", "xb", "mz", "csrq", "hjdqh", "zz", "hh", "yhzgx", "rkzt", "swrq", "gxsj")
ENTITY_COLUMNS = (
    "统一社会信用代码", "企业名称", "市场主体类型", "法定代表人", "法定代表人证件号码", "行业门类",
    "注册资本万元", "成立日期", "住所行政区划代码", "住所", "登记状态",
)  # fmt: skip
ENROLLMENT_COLUMNS = (
    "id",
    "aac002",
    "aac003",
    "aac006",
    "aae140",
    "aab998",
    "aab301",
    "aac030",
    "aac008",
    "aae005",
    "aae036",
)

# The column that identifies a row in each source (the registry's primary key, by source name).
KEY_COLUMN: dict[str, str] = {HOUSEHOLD: "gmsfhm", ENTITIES: "统一社会信用代码", ENROLLMENT: "id"}
COLUMNS: dict[str, tuple[str, ...]] = {
    HOUSEHOLD: HOUSEHOLD_COLUMNS,
    ENTITIES: ENTITY_COLUMNS,
    ENROLLMENT: ENROLLMENT_COLUMNS,
}

TZ_SUFFIX = "+08:00"


def date_strings(days: np.ndarray) -> list[str | None]:
    """``YYYY-MM-DD`` per day, ``None`` for NaT."""
    text = np.datetime_as_string(days, unit="D").tolist()
    return [None if t == "NaT" else t for t in text]


def timestamp_strings(moments: np.ndarray) -> list[str]:
    """``YYYY-MM-DD HH:MM:SS+08:00``: local China time, which is what the departments' systems record."""
    return [t.replace("T", " ") + TZ_SUFFIX for t in np.datetime_as_string(moments, unit="s").tolist()]


def household_table(people: People) -> Table:
    return dict(
        zip(
            HOUSEHOLD_COLUMNS,
            (
                list(people.resident_id),
                list(people.name),
                ["男" if m else "女" for m in people.male.tolist()],
                list(people.ethnicity),
                date_strings(people.birth),
                [str(c) for c in people.county_code.tolist()],
                list(people.address),
                list(people.household_id),
                list(people.relation),
                people.status.tolist(),
                date_strings(people.death),
                timestamp_strings(people.updated_at),
            ),
            strict=True,
        )
    )


def entity_table(entities: Entities) -> Table:
    return dict(
        zip(
            ENTITY_COLUMNS,
            (
                list(entities.credit_code),
                list(entities.name),
                list(entities.entity_type),
                list(entities.legal_rep_name),
                list(entities.legal_rep_id),
                list(entities.industry),
                list(entities.capital),
                date_strings(entities.established),
                list(entities.division),
                list(entities.address),
                list(entities.status),
            ),
            strict=True,
        )
    )


def enrollment_table(enrollments: Enrollments) -> Table:
    return dict(
        zip(
            ENROLLMENT_COLUMNS,
            (
                list(enrollments.id),
                list(enrollments.resident_id),
                list(enrollments.name),
                date_strings(enrollments.birth),
                list(enrollments.insurance_type),
                list(enrollments.employer),
                list(enrollments.division),
                date_strings(enrollments.enrolled),
                list(enrollments.status),
                list(enrollments.phone),
                timestamp_strings(enrollments.updated_at),
            ),
            strict=True,
        )
    )


def row_count(table: Table) -> int:
    return len(next(iter(table.values())))


def rows(table: Table) -> list[tuple]:
    return list(zip(*table.values(), strict=True))
