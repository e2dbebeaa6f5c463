"""Alerts to a chat robot or relay webhook: failed tasks, late or missing deliveries, held batches.

Alerts go to ``GOVLAKE_ALERT_WEBHOOK_URL`` as one JSON POST shaped by ``GOVLAKE_ALERT_WEBHOOK_STYLE``:

* ``text`` (default): ``{"msgtype": "text", "text": {"content": ...}}``, which DingTalk and WeCom robots both
  accept as is, plus ``title`` and the facts as fields (``govlake``: dag, task, run, logical date, try,
  error, log URL) for a relay;
* ``dingtalk``: a DingTalk markdown message, ``{"msgtype": "markdown", "markdown": {"title", "text"}}``;
* ``wecom``: a WeCom (企业微信) markdown message, ``{"msgtype": "markdown", "markdown": {"content"}}``;
* ``slack``: a Slack incoming-webhook message, ``{"text": fallback, "blocks": [header, section, ...]}``;
* ``generic``: ``{"title", "text", "govlake"}`` for a relay of one's own.

The robot styles send exactly the robot's documented shape (robots may refuse fields they do not know).
A broken or slow webhook never hides the original failure: errors are logged, the POST times out in 10 s.

Enrichers (:func:`add_enricher`) add lines and fields to every alert before it goes out: the
orchestration layer registers one that names the consumers affected by a dataset the alert is about
(``fields["datasets"]``, or the ``department`` and ``dataset`` of a timeliness alert, or an ``ingest__``
DAG), from the lineage graph — a layer this module must not import.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

ALERT_STYLES = ("text", "dingtalk", "wecom", "slack", "generic")
SLACK_HEADER_CHARS = 150  # Slack's limit for a header block's text
SLACK_SECTION_CHARS = 3000  # and for a section's


def _dingtalk(title: str, lines: list[str]) -> dict[str, Any]:
    # DingTalk markdown needs a blank line between paragraphs; the title shows in the notification.
    body = "\n\n".join([f"#### {title}", *(f"- {line}" for line in lines)])
    return {"msgtype": "markdown", "markdown": {"title": title, "text": body}}


def _wecom(title: str, lines: list[str]) -> dict[str, Any]:
    body = "\n".join([f"**{title}**", *(f"> {line}" for line in lines)])
    return {"msgtype": "markdown", "markdown": {"content": body}}


def _slack_escape(text: str) -> str:
    """Slack reads &, < and > as markup in mrkdwn (``<url|label>``); an error's ``<class ...>`` must not be."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack(title: str, lines: list[str]) -> dict[str, Any]:
    section = _slack_escape("\n".join(lines))[:SLACK_SECTION_CHARS]
    return {
        "text": title,  # the notification's fallback text
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:SLACK_HEADER_CHARS]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": section}},
        ],
    }


def alert_payload(
    title: str, lines: list[str], fields: dict[str, Any], style: str = "text"
) -> dict[str, Any]:
    """The webhook body in the configured style: human text for chat robots, fields for relays."""
    if style == "dingtalk":
        return _dingtalk(title, lines)
    if style == "wecom":
        return _wecom(title, lines)
    if style == "slack":
        return _slack(title, lines)
    content = "\n".join([title, *lines])
    if style == "generic":
        return {"title": title, "text": content, "govlake": fields}
    if style == "text":
        return {"msgtype": "text", "text": {"content": content}, "title": title, "govlake": fields}
    raise ValueError(
        f"GOVLAKE_ALERT_WEBHOOK_STYLE is {style!r}; use one of {', '.join(ALERT_STYLES)} "
        "(set it in the environment or $GOVLAKE_HOME/stack.env)"
    )


Enricher = Callable[[dict[str, Any]], list[str]]
_ENRICHERS: list[Enricher] = []


def add_enricher(enricher: Enricher) -> None:
    """Run ``enricher(fields)`` for every alert: it may add to ``fields`` and returns lines to append."""
    if enricher not in _ENRICHERS:
        _ENRICHERS.append(enricher)


def enrich(lines: list[str], fields: dict[str, Any]) -> list[str]:
    """``lines`` with every enricher's lines appended; an enricher that fails is logged and skipped."""
    out = list(lines)
    for enricher in _ENRICHERS:
        try:
            out += enricher(fields)
        except Exception:  # noqa: BLE001 - the alert goes out even when an enricher cannot say more
            log.warning("alert enricher %s failed", getattr(enricher, "__name__", enricher), exc_info=True)
    return out


def send_alert(title: str, lines: list[str], fields: dict[str, Any], settings: Any = None) -> bool:
    """POST an alert to the configured webhook; True if it was accepted (2xx), False if off or failed."""
    from govlake.settings import get_settings

    settings = settings or get_settings()
    url = settings.alert_webhook_url
    if not url:
        log.info("alert (no GOVLAKE_ALERT_WEBHOOK_URL set): %s", title)
        return False
    lines = enrich(lines, fields)  # only for an alert that goes out: an enricher may read the lineage graph
    try:
        payload = alert_payload(title, lines, fields, settings.alert_webhook_style)
    except ValueError:
        log.exception("could not build the alert %r", title)
        return False
    try:
        import requests

        response = requests.post(
            url,
            data=json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8"),
            timeout=10,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
    except Exception:  # a broken webhook must not hide the original failure
        log.exception("could not post the alert to %s", url)
        return False
    if response.status_code >= 300:
        log.error("alert webhook %s answered HTTP %s: %s", url, response.status_code, response.text[:200])
        return False
    return True
