"""Database work done as the signed-in person's department (govlake.sharing.authenticator).

One pool of authenticator connections per process; :func:`as_person` yields a connection inside a
transaction switched to the person's department role, so a page shows exactly what that department
may read over psql. Roles created after the authenticator (a new consumer) are added on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import psycopg

from govlake.accounts.people import Person
from govlake.settings import get_settings
from govlake.sharing.authenticator import AuthenticatorPool, as_department, grant_to_authenticator
from govlake.web.portal_db import connect


@lru_cache(maxsize=1)
def pool() -> AuthenticatorPool:
    return AuthenticatorPool(get_settings())


def department_of(person: Person) -> str:
    return "data_office" if person.is_data_office else person.department


@contextmanager
def as_person(person: Person) -> Iterator[psycopg.Connection]:
    department = department_of(person)
    with pool().connection() as conn:
        try:
            with as_department(conn, department):
                yield conn
            return
        except psycopg.errors.InsufficientPrivilege as exc:
            if "permission denied to set role" not in str(exc):
                raise
        with connect(autocommit=True) as platform:
            grant_to_authenticator(platform, department)
        with as_department(conn, department):
            yield conn
