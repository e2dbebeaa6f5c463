"""Portal accounts against the real warehouse: Argon2 hashes, disable, lock-out after failures,
rate limit per client, password reset; and the authenticator switching to a department role."""

from __future__ import annotations

import pytest

from govlake.accounts import people
from govlake.accounts.people import AccountError, SignInError

pytestmark = pytest.mark.integration


@pytest.fixture
def conn(warehouse):
    from govlake.warehouse import ensure_platform_schema

    ensure_platform_schema(warehouse)
    yield warehouse
    warehouse.execute("delete from platform.portal_users where username like 'zz\\_%%'")
    warehouse.execute(
        "delete from platform.portal_sign_ins where username like 'zz\\_%%' or client like 'zz-%%'"
    )


def test_passwords_are_argon2_hashes_and_never_stored(conn):
    people.add_person(conn, "zz_alice", "爱丽丝", "civil_affairs", "requester", "correct horse 1")
    stored = conn.execute(
        "select password_hash from platform.portal_users where username = 'zz_alice'"
    ).fetchone()[0]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert people.authenticate(conn, "ZZ_Alice", "correct horse 1", "zz-1").department == "civil_affairs"
    with pytest.raises(AccountError, match="exists"):
        people.add_person(conn, "zz_alice", "x", "civil_affairs", "requester", "another pass 1")


@pytest.mark.parametrize(
    ("username", "role", "department", "password", "message"),
    [
        ("Bad Name", "requester", "health", "long enough 1", "user name"),
        ("zz_bob", "boss", "health", "long enough 1", "role"),
        ("zz_bob", "data_office", "health", "long enough 1", "data_office"),
        ("zz_bob", "requester", "health", "short", "at least"),
    ],
)
def test_invalid_accounts_are_refused(conn, username, role, department, password, message):
    with pytest.raises(AccountError, match=message):
        people.add_person(conn, username, "x", department, role, password)


def test_disabled_account_cannot_sign_in_even_with_the_right_password(conn):
    people.add_person(conn, "zz_carol", "卡罗", "health", "approver", "right password")
    people.set_disabled(conn, "zz_carol")
    with pytest.raises(SignInError) as err:
        people.authenticate(conn, "zz_carol", "right password", "zz-2")
    assert err.value.reason == "disabled"
    people.set_disabled(conn, "zz_carol", False)
    assert people.authenticate(conn, "zz_carol", "right password", "zz-2").role == "approver"


def test_wrong_passwords_lock_the_account_and_a_reset_unlocks_it(conn):
    people.add_person(conn, "zz_dave", "大卫", "health", "steward", "right password")
    for _ in range(people.MAX_FAILURES - 1):
        with pytest.raises(SignInError) as err:
            people.authenticate(conn, "zz_dave", "wrong", "zz-3")
        assert err.value.reason == "password" and "用户名或密码错误" in err.value.message
    with pytest.raises(SignInError) as err:
        people.authenticate(conn, "zz_dave", "wrong", "zz-3")
    assert err.value.reason == "locked"
    with pytest.raises(SignInError) as err:  # locked: even the right password is refused
        people.authenticate(conn, "zz_dave", "right password", "zz-4")
    assert err.value.reason == "locked"
    new = people.reset_password(conn, "zz_dave")
    assert people.authenticate(conn, "zz_dave", new, "zz-4").username == "zz_dave"


def test_a_client_guessing_many_names_is_rate_limited(conn):
    for n in range(people.MAX_CLIENT_FAILURES):
        with pytest.raises(SignInError):
            people.authenticate(conn, f"zz_ghost{n}", "x", "zz-5")
    people.add_person(conn, "zz_erin", "艾琳", "health", "requester", "right password")
    with pytest.raises(SignInError) as err:
        people.authenticate(conn, "zz_erin", "right password", "zz-5")
    assert err.value.reason == "rate"
    assert people.authenticate(conn, "zz_erin", "right password", "zz-6").username == "zz_erin"


def test_unknown_and_wrong_password_look_the_same(conn):
    people.add_person(conn, "zz_fay", "菲", "health", "requester", "right password")
    messages = set()
    for name in ("zz_fay", "zz_nobody"):
        with pytest.raises(SignInError) as err:
            people.authenticate(conn, name, "wrong", "zz-7")
        messages.add(err.value.message)
    assert len(messages) == 1


def test_authenticator_holds_nothing_until_it_switches_role(stack, warehouse):
    import psycopg

    from govlake.sharing.authenticator import (
        AuthenticatorPool,
        as_department,
        ensure_department_logins,
        registry_department_codes,
    )
    from govlake.warehouse.department_roles import _read_credentials, credentials_file

    ensure_department_logins(warehouse, registry_department_codes(), stack)
    roles = _read_credentials(credentials_file(stack))
    assert {"govlake_web", "govlake_data_office", "dept_public_security", "dept_civil_affairs"} <= set(roles)
    assert warehouse.execute("select rolinherit from pg_roles where rolname = 'govlake_web'").fetchone() == (
        False,
    )
    pool = AuthenticatorPool(stack)
    with pool.connection() as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select 1 from platform.catalog_entries limit 1")
        conn.rollback()
        with as_department(conn, "civil_affairs"):
            assert conn.execute("select current_user, current_setting('role')").fetchone() == (
                "dept_civil_affairs",
                "dept_civil_affairs",
            )
        assert conn.execute("select current_user").fetchone() == ("govlake_web",)
