"""Who is signed in to the portal: a signed session cookie, a CSRF token, and the person behind them.

The session cookie (``govlake_session``) is signed with itsdangerous under a secret kept in
``<GOVLAKE_HOME>/portal_secret`` (generated once, mode 0600); it holds the user name and the time it
was issued, is ``HttpOnly`` and ``SameSite=Lax``, ``Secure`` when the request came over HTTPS, and
expires after ``SESSION_HOURS``. The person is read again on every request, so disabling an account
ends its sessions at once. Every form carries the CSRF token of the ``govlake_csrf`` cookie (a random
value, signed); a POST without the matching token is refused with 403.
"""

from __future__ import annotations

import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from govlake.accounts.people import Person, get_person
from govlake.settings import get_settings
from govlake.web.portal_db import connect

SESSION_COOKIE = "govlake_session"
CSRF_COOKIE = "govlake_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_HOURS = 8


class SignInRequired(Exception):
    """Raised by :func:`signed_in`; the portal answers with a redirect to the sign-in page."""

    def __init__(self, next_url: str):
        self.next_url = next_url


@lru_cache(maxsize=4)
def _secret(home: Path) -> str:
    path = home / "portal_secret"
    if not path.exists():
        # several web workers may start at once: each writes its own file, the first link wins, and all
        # read the one that won
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text(encoding="utf-8").strip()


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(get_settings().home), salt=salt)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=is_https(request), path="/"
    )


def start_session(request: Request, response: Response, person: Person) -> None:
    token = _serializer("session").dumps({"u": person.username})
    _set_cookie(request, response, SESSION_COOKIE, token, SESSION_HOURS * 3600)
    # A fresh CSRF token for the new session (a token seen before sign-in is not reused).
    _set_cookie(request, response, CSRF_COOKIE, _serializer("csrf").dumps(secrets.token_urlsafe(24)), None)


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def session_user(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        return _serializer("session").loads(raw, max_age=SESSION_HOURS * 3600)["u"]
    except (BadSignature, KeyError, TypeError):
        return None


def current_person(request: Request) -> Person | None:
    """The signed-in person, or None (no cookie, expired, tampered, unknown or disabled account)."""
    if hasattr(request.state, "person"):
        return request.state.person
    username = session_user(request)
    person = None
    if username:
        with connect(autocommit=True) as conn:
            person = get_person(conn, username)
        if person and person.disabled:
            person = None
    request.state.person = person
    return person


def signed_in(request: Request) -> Person:
    person = current_person(request)
    if person is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return person


def sign_in_url(next_url: str) -> str:
    return f"/signin?next={quote(next_url, safe='')}"


def csrf_token(request: Request) -> str:
    """The token forms must send back; issued on first use (see :func:`issue_csrf_cookie`)."""
    raw = request.cookies.get(CSRF_COOKIE)
    if raw:
        try:
            return _serializer("csrf").loads(raw)
        except BadSignature:
            pass
    token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(24)
    request.state.new_csrf = token
    return token


def issue_csrf_cookie(request: Request, response: Response) -> None:
    """Set the CSRF cookie when this request created the token."""
    token = getattr(request.state, "new_csrf", None)
    if token:
        _set_cookie(request, response, CSRF_COOKIE, _serializer("csrf").dumps(token), None)


async def check_csrf(request: Request) -> None:
    """403 unless the form field (or the htmx header) carries this browser's CSRF token."""
    raw = request.cookies.get(CSRF_COOKIE)
    try:
        expected = _serializer("csrf").loads(raw) if raw else None
    except BadSignature:
        expected = None
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        sent = form.get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "表单已过期或缺少 CSRF 令牌，请刷新页面后重试")


def safe_next(target: str | None) -> str:
    """Only local paths after sign-in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


SignedIn = Annotated[Person, Depends(signed_in)]
MaybePerson = Annotated[Person | None, Depends(current_person)]
CsrfChecked = Depends(check_csrf)
