"""The subsidy-audit findings built into the province, recorded exactly (next to the defects manifest).

They are not data defects — each row is a faithful copy of what the department holds — but facts only
sharing reveals: 民政厅 still lists recipients 公安厅 records as dead, 财政厅 keeps paying them, pays the
same month twice, and pays ID numbers the household registry has never issued. A finding is listed only
when every row the audit needs is clean (not given a defect), so the subsidy-audit theme library must
find exactly these.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from demo_province.civil import Dibao
from demo_province.payments import Payments
from demo_province.people import People
from demo_province.tables import DIBAO, PAYMENTS, row_key

DECEASED_RECIPIENTS = "deceased_recipients"
PAID_AFTER_DEATH = "paid_after_death"
PAID_TWICE = "paid_twice"
UNKNOWN_RECIPIENTS = "unknown_recipients"
FINDINGS = {DIBAO: (DECEASED_RECIPIENTS,), PAYMENTS: (PAID_AFTER_DEATH, PAID_TWICE, UNKNOWN_RECIPIENTS)}


def _untouched(n: int, touched: np.ndarray) -> np.ndarray:
    clean = np.ones(n, dtype=bool)
    clean[touched[touched < n]] = False
    return clean


def _paid_twice(payments: Payments, clean: np.ndarray) -> list[str]:
    """The extra payments of groups (recipient, subsidy, month) paid more than once, all rows clean."""
    table = payments.table
    n = len(payments)
    groups: dict[tuple, list[int]] = {}
    for i in np.flatnonzero(payments.paid_twice).tolist():
        groups.setdefault((table["recipient_id"][i], table["subsidy_type"][i], table["period"][i]), [])
    for i in range(n):
        key = (table["recipient_id"][i], table["subsidy_type"][i], table["period"][i])
        if key in groups:
            groups[key].append(i)
    out = []
    for rows in groups.values():
        if len(rows) > 1 and clean[rows].all():
            out += [table["payment_id"][i] for i in rows[1:]]
    return out


def chunk_findings(
    people: People, clean_person: np.ndarray, dibao: Dibao, payments: Payments, touched: dict[str, np.ndarray]
) -> dict[str, dict[str, list[str]]]:
    """The chunk's findings by dataset and kind; keys as the defects manifest writes them."""
    n_dibao, n_pay = len(dibao), len(payments)
    dibao_clean = _untouched(n_dibao, touched[DIBAO])
    dead = people.status[dibao.person] == "死亡"
    listed = dibao.active & dead & clean_person[dibao.person] & dibao_clean
    pay_clean = _untouched(n_pay, touched[PAYMENTS])
    person = np.where(payments.unknown, 0, payments.person)
    registry_clean = np.where(payments.unknown, True, clean_person[person])
    table = payments.table
    return {
        DIBAO: {
            DECEASED_RECIPIENTS: [row_key(DIBAO, dibao.table, i) for i in np.flatnonzero(listed).tolist()]
        },
        PAYMENTS: {
            PAID_AFTER_DEATH: [
                table["payment_id"][i]
                for i in np.flatnonzero(payments.after_death & registry_clean & pay_clean).tolist()
            ],
            PAID_TWICE: _paid_twice(payments, pay_clean),
            UNKNOWN_RECIPIENTS: [
                table["payment_id"][i] for i in np.flatnonzero(payments.unknown & pay_clean).tolist()
            ],
        },
    }


def merge_findings(parts: Iterable[dict[str, dict[str, list[str]]]]) -> dict[str, dict[str, list[str]]]:
    merged = {ds: {kind: [] for kind in kinds} for ds, kinds in FINDINGS.items()}
    for part in parts:
        for ds, kinds in part.items():
            for kind, keys in kinds.items():
                merged[ds][kind] += keys
    return merged
