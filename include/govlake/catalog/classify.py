"""Suggest each column's grade (GB/T 43697) and personal-information flag from its name and values.

The suggester looks at a sample of the column's values and recognises resident IDs (GB 11643 check
digit, via python-stdnum), mobile numbers, unified social credit codes of individuals (个体工商户, the
``92`` prefix), personal names, street addresses, bank card numbers (Luhn) and birth dates; column
names add weaker evidence. It only suggests: the steward confirms by editing the registry, and
``govlake catalog classify <dataset>`` shows the suggestion next to what the registry says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from govlake.registry import Dataset

# A value-level detector: it recognises a value, and what the column is then.
MOBILE = re.compile(r"^(\+?86)?1[3-9]\d{9}$")
CJK_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
ADDRESS = re.compile(r"[\u4e00-\u9fff]+(省|市|州|县|区)[\u4e00-\u9fff0-9]*(路|街|巷|号|村|组|镇|乡|栋|室)")
DIGITS_16_19 = re.compile(r"^\d{16,19}$")
COMMON_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
THRESHOLD = 0.6  # share of non-empty sampled values a detector must recognise


def _ric(value: str) -> bool:
    from stdnum.cn import ric

    # Check digit (ISO 7064 MOD 11-2) and birth date, not the birthplace: stdnum 2.2's region history
    # lacks newer county codes (e.g. 520281 盘州市) and would reject valid IDs.
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        ric.get_birth_date(value)
        return ric.calc_check_digit(value) == value[-1].upper()
    except Exception:
        return False


def _individual_uscc(value: str) -> bool:
    from stdnum.cn import uscc

    try:
        return value.startswith("92") and uscc.is_valid(value)
    except Exception:
        return False


def _bank_card(value: str) -> bool:
    from stdnum import luhn

    return bool(DIGITS_16_19.match(value)) and luhn.is_valid(value)


def _name(value: str) -> bool:
    return bool(CJK_NAME.match(value)) and value[0] in COMMON_SURNAMES


def _birth_date_like(value: str) -> bool:
    return bool(re.match(r"^(19|20)\d{2}-\d{2}-\d{2}", value))


@dataclass(frozen=True)
class Detector:
    name: str
    label: str
    grade: str
    pi: str
    matches: Callable[[str], bool]
    name_hints: tuple[str, ...] = ()


# Order matters: the first detector that passes the threshold wins (a resident ID is also 18 digits).
DETECTORS: tuple[Detector, ...] = (
    Detector(
        "resident_id",
        "公民身份号码",
        "重要",
        "direct",
        _ric,
        ("resident_id", "gmsfhm", "sfzh", "id_card", "aac002", "legal_rep_id"),
    ),
    Detector("bank_card", "银行卡号 (Luhn)", "重要", "direct", _bank_card, ("bank", "card_no", "account")),
    Detector("individual_credit_code", "个体工商户统一社会信用代码", "重要", "direct", _individual_uscc, ()),
    Detector(
        "mobile",
        "手机号码",
        "重要",
        "direct",
        lambda v: bool(MOBILE.match(v.replace(" ", ""))),
        ("phone", "mobile", "tel", "aae005"),
    ),
    Detector("person_name", "姓名", "重要", "direct", _name, ("name", "xm", "aac003", "legal_rep_name")),
    Detector(
        "address", "详细地址", "重要", "direct", lambda v: bool(ADDRESS.search(v)), ("address", "zz", "addr")
    ),
    Detector("birth_date", "出生日期", "重要", "quasi", _birth_date_like, ("birth", "csrq", "aac006")),
)
NAME_ONLY = (
    (("division_code", "qh", "aab301"), "一般", "quasi", "行政区划 (quasi-identifier by name)"),
    (("gender", "xb", "ethnicity", "mz"), "一般", "quasi", "人口学属性 (quasi-identifier by name)"),
    (("household_id", "hh"), "重要", "direct", "户号 (direct identifier by name)"),
    (("death_date", "swrq"), "重要", "quasi", "死亡日期 (quasi-identifier by name)"),
)


@dataclass(frozen=True)
class Suggestion:
    column: str
    grade: str
    pi: str
    evidence: str
    share: float | None  # share of sampled values the winning detector recognised


def suggest_column(name: str, values: Iterable[object]) -> Suggestion:
    """The grade and personal-information flag a column should have, with the evidence for it."""
    sample = [str(v).strip() for v in values if v is not None and str(v).strip()]
    lowered = name.lower()
    for det in DETECTORS:
        if not sample:
            break
        share = sum(det.matches(v) for v in sample) / len(sample)
        if share >= THRESHOLD and (det.name != "birth_date" or any(h in lowered for h in det.name_hints)):
            return Suggestion(
                name, det.grade, det.pi, f"{det.label}: {share:.0%} of {len(sample)} values", share
            )
    if sample and any(v.startswith("92") for v in sample):
        share = sum(_individual_uscc(v) for v in sample) / len(sample)
        if share > 0:  # a mixed column: some of its credit codes are persons' businesses
            return Suggestion(name, "重要", "quasi", f"个体工商户信用代码 in {share:.0%} of values", share)
    for det in DETECTORS:
        if lowered in det.name_hints:
            return Suggestion(name, det.grade, det.pi, f"{det.label} (by column name only)", None)
    for hints, grade, pi, why in NAME_ONLY:
        if lowered in hints:
            return Suggestion(name, grade, pi, why, None)
    return Suggestion(name, "一般", "none", "no personal information recognised", None)


def sample_values(
    conn: psycopg.Connection, relation: str, columns: Sequence[str], limit: int = 1000
) -> dict[str, list]:
    """Up to ``limit`` non-null values per column, read as text from a warehouse table."""
    schema, table = relation.split(".")
    result = {}
    for col in columns:
        rows = conn.execute(
            sql.SQL("select {c}::text from {t} where {c} is not null limit {n}").format(
                c=sql.Identifier(col), t=sql.Identifier(schema, table), n=sql.Literal(limit)
            )
        ).fetchall()
        result[col] = [r[0] for r in rows]
    return result


@dataclass(frozen=True)
class ColumnReview:
    """A suggestion next to what the registry (the steward's confirmed values) says."""

    column: str
    label: str
    registry_grade: str
    registry_pi: str
    suggestion: Suggestion

    @property
    def agrees(self) -> bool:
        return (self.registry_grade, self.registry_pi) == (self.suggestion.grade, self.suggestion.pi)


def review_dataset(conn: psycopg.Connection, dataset: Dataset, limit: int = 1000) -> list[ColumnReview]:
    """Suggest every column of a registry dataset from a sample of its raw table."""
    values = sample_values(conn, dataset.raw_table, [c.name for c in dataset.columns], limit)
    return [
        ColumnReview(c.name, c.label, c.grade, c.pi, suggest_column(c.name, values[c.name]))
        for c in dataset.columns
    ]
