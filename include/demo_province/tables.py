"""The department sources as column lists, named as each department's system names them.

A table is an ordered ``{source column: [value, ...]}``; values are the strings the source stores (dates
``YYYY-MM-DD``, timestamps ``YYYY-MM-DD HH:MM:SS+08:00``) or ``None``. Column names are the registry's
``source_name``s (tests/province checks they match ``config/departments/*.yaml``).
"""

from __future__ import annotations

import numpy as np

from demo_province.enrollments import Enrollments
from demo_province.entities import Entities
from demo_province.people import People

Table = dict[str, list]

HOUSEHOLD = "public_security__household_registration"
ENTITIES = "market_regulation__market_entities"
ENROLLMENT = "human_resources__social_insurance_enrollment"
# The first three departments (issue 2); other code (quality tests, suites) iterates exactly these.
DATASETS: tuple[str, ...] = (HOUSEHOLD, ENTITIES, ENROLLMENT)

BIRTHS = "health__birth_certificates"
MARRIAGES = "civil_affairs__marriage_registrations"
DIBAO = "civil_affairs__subsistence_allowance"
PAYMENTS = "finance__subsidy_payments"
CROPS = "agriculture__crop_production"
INDICATORS = "statistics__macro_indicators"
DIVISIONS = "natural_resources__administrative_divisions"
PASSENGERS = "transport__passenger_volumes"
# Generated per chunk of people (they link to persons) ...
PERSON_LINKED: tuple[str, ...] = (BIRTHS, MARRIAGES, DIBAO, PAYMENTS)
# ... and once per province (regions x periods, independent of the number of people).
REGIONAL: tuple[str, ...] = (CROPS, INDICATORS, DIVISIONS, PASSENGERS)
NEW_DATASETS: tuple[str, ...] = PERSON_LINKED + REGIONAL
ALL_DATASETS: tuple[str, ...] = DATASETS + NEW_DATASETS

HOUSEHOLD_COLUMNS = ("gmsfhm", "xm", "xb", "mz", "csrq", "hjdqh", "zz", "hh", "yhzgx", "rkzt", "swrq", "gxsj")
ENTITY_COLUMNS = (
    "统一社会信用代码", "企业名称", "市场主体类型", "法定代表人", "法定代表人证件号码", "行业门类",
    "注册资本万元", "成立日期", "住所行政区划代码", "住所", "登记状态",
)  # fmt: skip
# fmt: off
ENROLLMENT_COLUMNS = (
    "id", "aac002", "aac003", "aac006", "aae140", "aab998", "aab301", "aac030", "aac008", "aae005", "aae036",
)

BIRTH_COLUMNS = (
    "出生医学证明编号", "新生儿姓名", "性别", "出生日期", "出生地点", "签发机构", "行政区划代码",
    "母亲姓名", "母亲身份证号", "父亲姓名", "父亲身份证号", "签发日期",
)
MARRIAGE_COLUMNS = (
    "登记证号", "登记类型", "登记日期", "登记机关行政区划代码", "登记机关", "男方姓名", "男方身份证号",
    "女方姓名", "女方身份证号", "备注",
)
DIBAO_COLUMNS = (
    "recipient_id", "recipient_name", "family_id", "relation_to_applicant", "division_code",
    "monthly_amount", "start_month", "approval_date", "status", "is_deleted", "updated_at",
)
PAYMENT_COLUMNS = (
    "payment_id", "recipient_id", "recipient_name", "subsidy_type", "period", "amount", "payment_date",
    "division_code", "bank_name", "bank_account", "updated_at",
)
CROP_COLUMNS = (
    "年度", "行政区划代码", "县（市、区）", "产业", "规模指标", "规模数量", "规模单位", "产量（吨）",
    "平均出售价格（元/公斤）", "产值（万元）", "主产乡镇",
)
INDICATOR_COLUMNS = ("id", "zbdm", "zbmc", "dqdm", "dqmc", "pd", "sj", "sz", "jldw", "gxsj")
DIVISION_COLUMNS = ("区划代码", "区划名称", "区划级别", "上级区划代码", "面积（平方公里）")
PASSENGER_COLUMNS = ("统计月份", "市州代码", "市州名称", "运输方式", "客运量（万人次）", "旅客周转量（万人公里）")
# fmt: on

# The columns that identify a row in each source (the registry's primary key, by source name). A defect
# records its row by these values joined with "|" (see ``row_key``).
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    HOUSEHOLD: ("gmsfhm",),
    ENTITIES: ("统一社会信用代码",),
    ENROLLMENT: ("id",),
    BIRTHS: ("出生医学证明编号",),
    MARRIAGES: ("登记证号",),
    DIBAO: ("recipient_id", "family_id"),
    PAYMENTS: ("payment_id",),
    CROPS: ("行政区划代码", "产业", "年度"),
    INDICATORS: ("zbdm", "dqdm", "sj"),
    DIVISIONS: ("区划代码",),
    PASSENGERS: ("市州代码", "统计月份", "运输方式"),
}
# The first key column; for the single-key datasets it is the whole key.
KEY_COLUMN: dict[str, str] = {ds: cols[0] for ds, cols in KEY_COLUMNS.items()}
COLUMNS: dict[str, tuple[str, ...]] = {
    HOUSEHOLD: HOUSEHOLD_COLUMNS,
    ENTITIES: ENTITY_COLUMNS,
    ENROLLMENT: ENROLLMENT_COLUMNS,
    BIRTHS: BIRTH_COLUMNS,
    MARRIAGES: MARRIAGE_COLUMNS,
    DIBAO: DIBAO_COLUMNS,
    PAYMENTS: PAYMENT_COLUMNS,
    CROPS: CROP_COLUMNS,
    INDICATORS: INDICATOR_COLUMNS,
    DIVISIONS: DIVISION_COLUMNS,
    PASSENGERS: PASSENGER_COLUMNS,
}


def row_key(dataset: str, table: Table, row: int) -> str:
    """The row's key as written in the source: the key columns' values joined with ``|``."""
    return "|".join("" if table[c][row] is None else str(table[c][row]) for c in KEY_COLUMNS[dataset])


def row_keys(dataset: str, table: Table) -> list[str]:
    """Every row's :func:`row_key`, in row order (fast: no per-row function call)."""
    columns = [["" if v is None else str(v) for v in table[c]] for c in KEY_COLUMNS[dataset]]
    return columns[0] if len(columns) == 1 else ["|".join(parts) for parts in zip(*columns, strict=True)]


def empty_table(dataset: str) -> Table:
    return {c: [] for c in COLUMNS[dataset]}


def extend(table: Table, other: Table) -> None:
    """Append ``other``'s rows to ``table`` (same columns)."""
    for column, values in table.items():
        values.extend(other[column])


TZ_SUFFIX = "+08:00"


def date_strings(days: np.ndarray) -> list[str | None]:
    """``YYYY-MM-DD`` per day, ``None`` for NaT."""
    text = np.datetime_as_string(days, unit="D").tolist()
    return [None if t == "NaT" else t for t in text]


def timestamp_strings(moments: np.ndarray) -> list[str]:
    """``YYYY-MM-DD HH:MM:SS+08:00``: local China time, which is what the departments' systems record."""
    return [t.replace("T", " ") + TZ_SUFFIX for t in np.datetime_as_string(moments, unit="s").tolist()]


def household_table(people: People) -> Table:
    """公安厅's rows: the persons registered on the logical date (``People.visible``)."""
    shown = np.flatnonzero(people.visible) if people.visible is not None else np.arange(len(people))
    rows = shown.tolist()
    return dict(
        zip(
            HOUSEHOLD_COLUMNS,
            (
                [people.resident_id[i] for i in rows],
                [people.name[i] for i in rows],
                ["男" if m else "女" for m in people.male[shown].tolist()],
                [people.ethnicity[i] for i in rows],
                date_strings(people.birth[shown]),
                [str(c) for c in people.county_code[shown].tolist()],
                [people.address[i] for i in rows],
                [people.household_id[i] for i in rows],
                [people.relation[i] for i in rows],
                people.status[shown].tolist(),
                date_strings(people.death[shown]),
                timestamp_strings(people.updated_at[shown]),
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
