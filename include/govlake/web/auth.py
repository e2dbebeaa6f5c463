"""Who is calling: HTTP Basic with a department's own database login.

The user name is the department code (``civil_affairs``; ``data_office`` for the data office) and the
password is that department's database role password (``<GOVLAKE_HOME>/departments.env``). The service
checks it by logging in to PostgreSQL as the role, so there is one credential per department, the
database stays the authority, and data reads then run over that very login. Successful checks are
cached for a minute (a hash of the password, never the password itself on disk).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Annotated

import psycopg
from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from govlake.settings import Settings, get_settings
from govlake.warehouse.department_roles import DATA_OFFICE, RoleError, role_name

basic = HTTPBasic(description="Department code and its database role password (departments.env).")
CACHE_SECONDS = 60.0
_verified: dict[tuple[str, str], float] = {}


@dataclass(frozen=True)
class Principal:
    department: str
    role: str
    password: str

    @property
    def is_data_office(self) -> bool:
        return self.department == DATA_OFFICE


def _digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def verify_login(settings: Settings, department: str, password: str) -> bool:
    """True if PostgreSQL accepts the department's role with this password (cached briefly)."""
    key = (department, _digest(password))
    if _verified.get(key, 0) > time.monotonic():
        return True
    try:
        role = role_name(department)
        with psycopg.connect(
            settings.pg_url(settings.warehouse_db, user=role, password=password), connect_timeout=5
        ):
            pass
    except (RoleError, psycopg.OperationalError):
        return False
    _verified[key] = time.monotonic() + CACHE_SECONDS
    return True


def current_principal(credentials: Annotated[HTTPBasicCredentials, Depends(basic)]) -> Principal:
    settings = get_settings()
    if not credentials.password or not verify_login(settings, credentials.username, credentials.password):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="unknown department or wrong password (use the department code and its role password)",
            headers={"WWW-Authenticate": "Basic"},
        )
    return Principal(credentials.username, role_name(credentials.username), credentials.password)


def data_office(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_data_office:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="only the data office (user data_office) may do this"
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
DataOffice = Annotated[Principal, Depends(data_office)]
