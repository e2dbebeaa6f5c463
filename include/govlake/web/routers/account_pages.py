"""Sign in and sign out (the portal's personal accounts)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from govlake.accounts.people import SignInError, authenticate
from govlake.web.page_render import render
from govlake.web.portal_db import connect
from govlake.web.portal_session import CsrfChecked, end_session, safe_next, start_session

router = APIRouter(include_in_schema=False)
log = logging.getLogger("govlake.portal")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/signin")
def signin_page(request: Request, next: str = "/"):  # noqa: A002
    return render(request, "account/signin.html", {"next": safe_next(next), "error": None})


@router.post("/signin", dependencies=[CsrfChecked])
def signin(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",  # noqa: A002
):
    try:
        with connect(autocommit=True) as conn:
            person = authenticate(conn, username, password, client_address(request))
    except SignInError as exc:
        # the reason and the name, never the password
        log.warning(
            "portal sign-in refused for %r from %s: %s", username[:80], client_address(request), exc.reason
        )
        context = {"next": safe_next(next), "error": exc.message, "username": username[:80]}
        return render(request, "account/signin.html", context, status_code=401)
    log.info("portal sign-in: %s (%s, %s)", person.username, person.department, person.role)
    response = RedirectResponse(safe_next(next), status_code=303)
    start_session(request, response, person)
    return response


@router.post("/signout", dependencies=[CsrfChecked])
def signout():
    response = RedirectResponse("/", status_code=303)
    end_session(response)
    return response
