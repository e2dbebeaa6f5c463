"""Naming the person behind a department's dispatch action in the audit trail.

The dispatch workflow (govlake.sharing.dispatch) records the *department* that filed or decided a
request. When a person does it through the portal, :func:`acting` runs the workflow step and appends,
in the same transaction, a ``<action>.person`` record naming the person, their role and department;
then the audit head is anchored again. If the step fails, neither record is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import psycopg

from govlake.settings import Settings
from govlake.sharing import audit

T = TypeVar("T")


def acting(
    conn: psycopg.Connection,
    username: str,
    role: str,
    department: str,
    action: str,
    step: Callable[[], T],
    subject: Callable[[T], str],
    settings: Settings | None = None,
) -> T:
    """Run ``step`` (a dispatch call on ``conn``) and record who did it, atomically."""
    with conn.transaction():
        result = step()
        audit.append(
            conn,
            f"{department}/{username}",
            f"{action}.person",
            subject(result),
            {"person": username, "role": role, "department": department, "action": action},
        )
    audit.write_anchor(conn, settings)
    return result
