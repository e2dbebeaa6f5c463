"""People who sign in to the portal: add, list, disable, reset a password, and check a sign-in.

Passwords are hashed with Argon2id (argon2-cffi, its default parameters) and never stored, logged or
returned. A sign-in is refused, whatever the password, when the account is disabled or locked; after
``MAX_FAILURES`` consecutive wrong passwords the account is locked for ``LOCK_MINUTES``; a client that
failed ``MAX_CLIENT_FAILURES`` times within ``WINDOW_MINUTES`` is refused for that window (so guessing
across many names is slowed too). Every attempt is recorded in ``platform.portal_sign_ins``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from psycopg.rows import dict_row

from govlake.warehouse import ensure_platform_schema

# role code -> the Chinese name people know it by
ROLES: dict[str, str] = {
    "requester": "申请人",
    "approver": "审批人",
    "steward": "数据管理员",
    "data_office": "大数据局",
    "leader": "领导",
    "analyst": "分析师",
}
DATA_OFFICE = "data_office"
USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,39}$")
MIN_PASSWORD = 10
MAX_FAILURES = 5
LOCK_MINUTES = 15
MAX_CLIENT_FAILURES = 20
WINDOW_MINUTES = 15

_hasher = PasswordHasher()


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says why."""


class SignInError(PermissionError):
    """A sign-in was refused. ``reason`` is for the log; ``message`` is safe to show (it never says
    whether the name exists)."""

    def __init__(self, reason: str, message: str = "用户名或密码错误"):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str
    department: str
    role: str
    disabled: bool = False
    locked_until: dt.datetime | None = None
    last_sign_in_at: dt.datetime | None = None

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def is_data_office(self) -> bool:
        return self.department == DATA_OFFICE or self.role == "data_office"

    def as_dict(self) -> dict:
        return {**self.__dict__, "role_label": self.role_label}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def _validate(username: str, role: str, department: str, password: str) -> None:
    if not USERNAME.match(username):
        raise AccountError(
            f"user name {username!r}: 2-40 lower-case letters, digits, '_', '.', '-', starting with a letter"
        )
    if role not in ROLES:
        raise AccountError(f"role {role!r} is unknown; use one of {', '.join(ROLES)}")
    if not re.match(r"^[a-z][a-z0-9_]{1,40}$", department):
        raise AccountError(f"department {department!r} must be a department code (e.g. civil_affairs)")
    if role == "data_office" and department != DATA_OFFICE:
        raise AccountError("data-office staff belong to the department data_office")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")


def _person(row: dict) -> Person:
    return Person(**{k: row[k] for k in Person.__dataclass_fields__})


def add_person(
    conn: psycopg.Connection,
    username: str,
    display_name: str,
    department: str,
    role: str,
    password: str,
    *,
    replace: bool = False,
) -> Person:
    """Create an account (with ``replace``, reset an existing one's name, department, role and password)."""
    username = username.strip().lower()
    _validate(username, role, department, password)
    ensure_platform_schema(conn)
    conflict = (
        "on conflict (username) do update set display_name = excluded.display_name, "
        "department = excluded.department, role = excluded.role, password_hash = excluded.password_hash, "
        "disabled = false, failed_count = 0, locked_until = null, password_changed_at = now()"
        if replace
        else "on conflict (username) do nothing"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "insert into platform.portal_users (username, display_name, department, role, password_hash) "
            f"values (%s, %s, %s, %s, %s) {conflict} returning *",
            (username, display_name.strip() or username, department, role, hash_password(password)),
        ).fetchone()
    if row is None:
        raise AccountError(f"user {username} exists; use `govlake users reset-password {username}`")
    return _person(row)


def get_person(conn: psycopg.Connection, username: str) -> Person | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "select * from platform.portal_users where username = %s", (username.strip().lower(),)
        ).fetchone()
    return _person(row) if row else None


def list_people(conn: psycopg.Connection, department: str | None = None) -> list[Person]:
    ensure_platform_schema(conn)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "select * from platform.portal_users where %(d)s::text is null or department = %(d)s "
            "order by department, role, username",
            {"d": department},
        ).fetchall()
    return [_person(r) for r in rows]


def set_disabled(conn: psycopg.Connection, username: str, disabled: bool = True) -> Person:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "update platform.portal_users set disabled = %s where username = %s returning *",
            (disabled, username.strip().lower()),
        ).fetchone()
    if row is None:
        raise AccountError(f"no user {username}; list them with `govlake users list`")
    return _person(row)


def reset_password(conn: psycopg.Connection, username: str, password: str | None = None) -> str:
    """Set a new password (generated if not given), unlock the account; returns the password."""
    password = password or generate_password()
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    updated = conn.execute(
        "update platform.portal_users set password_hash = %s, failed_count = 0, locked_until = null, "
        "password_changed_at = now() where username = %s",
        (hash_password(password), username.strip().lower()),
    ).rowcount
    if not updated:
        raise AccountError(f"no user {username}; list them with `govlake users list`")
    return password


def _record(conn: psycopg.Connection, username: str, client: str, ok: bool, reason: str | None) -> None:
    conn.execute(
        "insert into platform.portal_sign_ins (username, client, ok, reason) values (%s, %s, %s, %s)",
        (username[:80], client[:80], ok, reason),
    )


def authenticate(conn: psycopg.Connection, username: str, password: str, client: str) -> Person:
    """The person if the name and password match an enabled, unlocked account; SignInError otherwise."""
    username = (username or "").strip().lower()[:80]
    recent = conn.execute(
        "select count(*) from platform.portal_sign_ins where client = %s and not ok "
        "and attempted_at > now() - make_interval(mins => %s)",
        (client, WINDOW_MINUTES),
    ).fetchone()[0]
    if recent >= MAX_CLIENT_FAILURES:
        _record(conn, username, client, False, "rate")
        raise SignInError("rate", f"登录失败次数过多，请 {WINDOW_MINUTES} 分钟后再试")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("select * from platform.portal_users where username = %s", (username,)).fetchone()
    if row is None:
        check_password(_DUMMY_HASH, password or "")  # same work as a real check: no timing hint
        _record(conn, username, client, False, "unknown")
        raise SignInError("unknown")
    now = dt.datetime.now(dt.UTC)
    if row["locked_until"] and row["locked_until"] > now:
        _record(conn, username, client, False, "locked")
        raise SignInError("locked", f"账号已暂时锁定，请 {LOCK_MINUTES} 分钟后再试或联系管理员")
    if not check_password(row["password_hash"], password or ""):
        failures = row["failed_count"] + 1
        lock = failures >= MAX_FAILURES
        conn.execute(
            "update platform.portal_users set failed_count = %s, "
            "locked_until = case when %s then now() + make_interval(mins => %s) else locked_until end "
            "where username = %s",
            (0 if lock else failures, lock, LOCK_MINUTES, username),
        )
        _record(conn, username, client, False, "password")
        if lock:
            raise SignInError("locked", f"密码错误次数过多，账号锁定 {LOCK_MINUTES} 分钟")
        raise SignInError("password")
    if row["disabled"]:
        _record(conn, username, client, False, "disabled")
        raise SignInError("disabled", "账号已停用，请联系管理员")
    conn.execute(
        "update platform.portal_users set failed_count = 0, locked_until = null, last_sign_in_at = now() "
        "where username = %s",
        (username,),
    )
    _record(conn, username, client, True, None)
    return _person({**row, "last_sign_in_at": now})


_DUMMY_HASH = _hasher.hash("not a password of anyone")
