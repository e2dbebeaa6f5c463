"""Department REST APIs: paged JSON with a Bearer token, configured entirely from the registry.

Registry ``source`` block (every key but ``path``/``url`` optional; defaults shown)::

    source:
      kind: rest_api
      connection: human_resources_api    # AIRFLOW_CONN_HUMAN_RESOURCES_API=http://:<token>@host:port
      path: /api/v1/enrollments          # on the connection's base URL (or a full `url:` + `token_env:`)
      data_key: data                     # where the records are in the page (dotted path allowed)
      page_size: 5000
      page_size_param: page_size
      paging: page                       # page | keyset
      page_param: page                   # paging: page — ?page=1, 2, ... up to the page's `pages_key`
      pages_key: pages                   #   (absent from the page: stop at the first short page)
      after_param: after_id              # paging: keyset — ?after_id=<key of the last record>
      keyset_key: id                     #   the record field the API orders by
      watermark: aae036                  # incremental: rows with a newer watermark than the last batch
      watermark_param: updated_since     #   sent as the low mark (the API's filter is inclusive)
      requests_per_second: 0             # client-side rate limit; 0 = none
      retry_attempts: 5
      retry_backoff_seconds: 1.0         # 1x, 2x, 4x, ... between attempts
      timeout_seconds: 60

**Keyset over offsets.** With ``paging: keyset`` each request asks for the records after the last key
seen; the server's cost per page stays flat, where an ``OFFSET`` grows with the page number. Pages are
fetched by a worker thread one page ahead of normalisation, so network and parsing overlap.

**Failures.** 5xx, 408, timeouts and dropped connections are retried with exponential backoff; 429 waits
the server's ``Retry-After`` (seconds or an HTTP date) before retrying. Past the retries the batch fails
with the URL, parameters and last answer (``SourceUnavailable``: recorded and quarantined, and Airflow
may retry later). Other 4xx fail at once — retrying a bad token or path only hides the problem.

Each page is landed as received at ``landing/<department>/<dataset>/<YYYY-MM-DD>/page-00001.json`` before
it is parsed; ``source_row`` is the record's position in its page file. The API filters by the low mark
only, so the logical day's upper mark is applied here; rows outside the window stay in the landed page and
are counted in the manifest (``rows_outside_window``) — they belong to a later date's batch.
"""

from __future__ import annotations

import email.utils
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import requests

from govlake.connections import get_connection
from govlake.ingest.context import PROVINCE_TZ, BatchContext
from govlake.ingest.errors import IngestError, SourceUnavailable
from govlake.ingest.landing import clear_prefix, s3_uri, upload_bytes
from govlake.ingest.prefetch import prefetch
from govlake.ingest.sources import SourceChunk
from govlake.ingest.watermark import Window

RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 300.0


@dataclass(frozen=True)
class RestConfig:
    url: str
    token: str
    data_key: str = "data"
    page_size: int = 1000
    page_size_param: str = "page_size"
    paging: str = "page"
    page_param: str = "page"
    pages_key: str | None = "pages"
    after_param: str = "after_id"
    keyset_key: str = "id"
    watermark_param: str = "updated_since"
    requests_per_second: float = 0.0
    retry_attempts: int = 5
    retry_backoff: float = 1.0
    timeout: float = 60.0

    @classmethod
    def from_registry(cls, ctx: BatchContext) -> RestConfig:
        s = ctx.dataset.source
        if s.get("url"):  # a full URL; the token then comes from token_env
            url, token = str(s["url"]), os.environ.get(str(s.get("token_env") or ""), "")
        else:
            conn = get_connection(str(s.get("connection") or ""), ctx.settings)
            url, token = conn.base_url + str(s.get("path", "")), conn.password
        paging = str(s.get("paging", "page"))
        if paging not in ("page", "keyset"):
            raise IngestError(
                f"{ctx.dataset.registry_file}: source.paging of {ctx.dataset.key} is {paging!r}; expected page or keyset"
            )
        return cls(
            url=url,
            token=token,
            data_key=str(s.get("data_key", "data")),
            page_size=int(s.get("page_size", 1000)),
            page_size_param=str(s.get("page_size_param", "page_size")),
            paging=paging,
            page_param=str(s.get("page_param", "page")),
            pages_key=s.get("pages_key", "pages"),
            after_param=str(s.get("after_param", "after_id")),
            keyset_key=str(s.get("keyset_key", "id")),
            watermark_param=str(s.get("watermark_param", "updated_since")),
            requests_per_second=float(s.get("requests_per_second", 0) or 0),
            retry_attempts=int(s.get("retry_attempts", 5)),
            retry_backoff=float(s.get("retry_backoff_seconds", 1.0)),
            timeout=float(s.get("timeout_seconds", 60)),
        )


class RateLimiter:
    """At most ``per_second`` requests a second from this client (0 = unlimited)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_at = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if now < self.next_at:
            time.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


def retry_after_seconds(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value:
        return default
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return min(MAX_RETRY_AFTER, max(0.0, (when - datetime.now(UTC)).total_seconds()))


def get_with_retries(
    session: requests.Session,
    url: str,
    params: dict,
    attempts: int = 5,
    backoff: float = 1.0,
    timeout: float = 60,
    limiter: RateLimiter | None = None,
) -> requests.Response:
    """GET, retrying transient failures ``attempts`` times with backoff 1x, 2x, 4x ...; 429 honours Retry-After."""
    last_problem = ""
    for attempt in range(1, attempts + 1):
        if limiter:
            limiter.wait()
        wait = backoff * 2 ** (attempt - 1)
        try:
            response = session.get(url, params=params, timeout=(10, timeout))
        except (requests.ConnectionError, requests.Timeout) as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code < 400:
                return response
            if response.status_code not in RETRY_STATUSES:
                raise IngestError(
                    f"GET {response.url} answered HTTP {response.status_code}: {response.text[:300]!r} "
                    "— check the API path and token (registry source.path / token_env)"
                )
            last_problem = f"HTTP {response.status_code}: {response.text[:200]!r}"
            if response.status_code in (429, 503) and response.headers.get("Retry-After"):
                wait = max(wait, retry_after_seconds(response.headers.get("Retry-After"), wait))
        if attempt < attempts:
            time.sleep(wait)
    raise SourceUnavailable(
        f"GET {url} {params} failed {attempts} times (backoff from {backoff}s), last answer: {last_problem} "
        "— the department's API is down or overloaded; the run can be retried once it answers",
        source_file=url,
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_time(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=PROVINCE_TZ)


def _text_table(records: list[dict], names: list[str]) -> pa.Table:
    """Records as a table of text columns: Arrow's own conversion, per value only when types are mixed."""
    columns = {}
    for name in names:
        values = [r.get(name) for r in records]
        try:
            array = pa.array(values)
            if pa.types.is_string(array.type) or pa.types.is_null(array.type):
                columns[name] = array.cast(pa.string())
            elif pa.types.is_boolean(array.type) or pa.types.is_nested(array.type):
                raise pa.ArrowInvalid("converted per value")
            else:
                columns[name] = array.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            columns[name] = pa.array([_text(v) for v in values], pa.string())
    return pa.table(columns) if columns else pa.table({})


def records_to_chunk(records: list[dict], source_file: str, window: Window | None) -> tuple[SourceChunk, int]:
    """The page's records as a text table; records outside the window are left out and counted.

    A record whose watermark cannot be read is kept: normalisation quarantines it with the reason.
    """
    numbers: list[int] = []
    keep: list[dict] = []
    outside = 0
    for number, record in enumerate(records, start=1):
        stamp = _parse_time(record.get(window.column)) if window else None
        if stamp is not None and window is not None and not window.contains(stamp):
            outside += 1
            continue
        numbers.append(number)
        keep.append(record)
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    table = _text_table(keep, list(names))
    return SourceChunk(table, source_file, pa.array(numbers, pa.int64())), outside


def dig(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        doc = doc[part]
    return doc


@dataclass
class Page:
    number: int
    uri: str
    records: list[dict]


class RestApiReader:
    """Every page of the dataset's endpoint for the window, landed one file per page."""

    kind = "rest_api"

    def __init__(self, ctx: BatchContext, window: Window | None) -> None:
        self.ctx = ctx
        self.window = window
        self.config = RestConfig.from_registry(ctx)
        self.url = self.config.url
        self.source = self.url
        self.landed_files: list[str] = []
        self.details: dict = {
            "pages": 0,
            "requests": 0,
            "rows_outside_window": 0,
            "updated_since": None,
            "paging": self.config.paging,
            "page_size": self.config.page_size,
        }

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.config.token}"
        session.headers["Accept"] = "application/json"
        return session

    def _params(self, page: int, after: str | None) -> dict:
        c = self.config
        params: dict = {c.page_size_param: c.page_size}
        if c.paging == "keyset":
            params[c.page_param] = page  # only labels the page for servers that echo it
            if after is not None:
                params[c.after_param] = after
        else:
            params[c.page_param] = page
        if self.window is not None and self.window.low is not None:
            params[c.watermark_param] = self.window.low.isoformat()
            self.details["updated_since"] = params[c.watermark_param]
        return params

    def _parse_page(self, body: bytes, uri: str) -> tuple[list[dict], int | None]:
        try:
            doc = json.loads(body)
            records = dig(doc, self.config.data_key)
            if not isinstance(records, list):
                raise TypeError(f"{self.config.data_key!r} is {type(records).__name__}, not a list")
            pages = (
                doc.get(self.config.pages_key) if self.config.pages_key and isinstance(doc, dict) else None
            )
            return records, int(pages) if pages is not None else None
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceUnavailable(
                f"{uri}: not a page of the expected shape (records under {self.config.data_key!r}) ({exc}) "
                "— check source.data_key in the registry, or the API changed",
                source_file=uri,
                rule="api_shape",
            ) from exc

    def _pages(self) -> Iterator[Page]:
        """Fetch, land and parse pages in order; stops after the last page (the page count the API states —
        with keyset paging too, where the 人社厅 API states it on the first page only — or else an empty
        page)."""
        c = self.config
        limiter = RateLimiter(c.requests_per_second)
        page, after = 1, None
        pages: int | None = None
        with self._session() as session:
            while True:
                response = get_with_retries(
                    session,
                    c.url,
                    self._params(page, after),
                    c.retry_attempts,
                    c.retry_backoff,
                    c.timeout,
                    limiter,
                )
                self.details["requests"] += 1
                uri = s3_uri("landing", f"{self.ctx.date_prefix}page-{page:05d}.json")
                upload_bytes(self.ctx.s3, uri, response.content, "application/json")
                records, stated = self._parse_page(response.content, uri)
                pages = stated if stated is not None else pages  # keyset APIs may state the count once
                yield Page(page, uri, records)
                # Only an empty page, or the page count the API states, ends the walk: a short page may just
                # mean the server caps page_size lower than asked.
                if not records or (pages is not None and page >= pages):
                    return
                if c.paging == "keyset":
                    key = records[-1].get(c.keyset_key)
                    if key is None:
                        raise SourceUnavailable(
                            f"{uri}: record {len(records)} has no {c.keyset_key!r} for keyset paging "
                            "(registry source.keyset_key)",
                            source_file=uri,
                            source_row=len(records),
                            rule="api_shape",
                        )
                    after = str(key)
                page += 1

    def chunks(self) -> Iterator[SourceChunk]:
        clear_prefix(self.ctx.s3, "landing", self.ctx.date_prefix)
        # the next page is fetched while this one is converted and landed
        for page in prefetch(self._pages(), 2, name="govlake-rest-fetch"):
            self.landed_files.append(page.uri)
            chunk, outside = records_to_chunk(page.records, page.uri, self.window)
            self.details["pages"] = page.number
            self.details["rows_outside_window"] += outside
            if page.records:
                yield chunk
