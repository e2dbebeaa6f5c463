"""Rendering a scorecard: the HTML page (inline SVG charts) and the same page printed to PDF by WeasyPrint."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import jinja2
from markupsafe import Markup

from govlake.scorecards import charts
from govlake.scorecards.compute import DIMENSIONS_ZH, Scorecard
from govlake.scorecards.templates import PAGE

log = logging.getLogger(__name__)

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_INGEST_RULES = {
    "required": "必填项不能为空",
    "type": "取值须符合登记的数据类型",
    "columns": "列数须与表头一致",
}


def _css_text(text: str) -> str:
    """Text safe inside a CSS string in <style>: no quotes, backslashes or tags."""
    return "".join(ch for ch in text if ch not in "\"'\\<>")


def _fmt(score: float | None) -> str:
    return "—" if score is None else f"{score:.1f}"


def _band(score: float | None) -> str:
    if score is None:
        return "none"
    return "good" if score >= 90 else "fair" if score >= 75 else "poor"


def _delta(card: Scorecard) -> str:
    if card.overall is None or card.previous_score is None:
        return "—"
    diff = card.overall - card.previous_score
    return f"{'▲' if diff > 0 else '▼' if diff < 0 else '＝'} {abs(diff):.1f}"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} 天"


def _rule_texts() -> dict[str, str]:
    from govlake.quality.suites import load_suites

    texts = dict(_INGEST_RULES)
    for suite in load_suites().values():
        for rule in suite.rules:
            texts.setdefault(rule.rule, rule.description_zh)
    return texts


def _share(rule: dict[str, Any]) -> str:
    checks = rule.get("checks")
    return f"{100 * rule['failures'] / checks:.2f}%" if checks else "—"


def render_html(
    card: Scorecard, departments: list[Scorecard] | None = None, has_deliveries: bool = True
) -> str:
    """The scorecard page; ``departments`` (all ranked cards) adds the ranking chart and table."""
    names = {c.department: c.department_name for c in departments or []}
    ranked = sorted((c for c in departments or [] if c.overall is not None), key=lambda c: -(c.overall or 0))
    ranking_svg = (
        charts.bars([(c.department_name, c.overall) for c in ranked], width=360, label_width=100)
        if ranked
        else ""
    )
    dims = list(card.dimensions.values())
    rule_texts = _rule_texts()
    previous = card.trend[-2][0] if len(card.trend) > 1 else card.period.previous().label
    context = {
        # <style> is raw text in HTML (entities are not decoded), so these two go in unescaped.
        "fonts": Markup(", ".join(f'"{f}"' if " " in f else f for f in charts.FONTS)),
        "title": f"{card.department_name} 政务数据质量评分卡",
        "footer": Markup(_css_text(f"{card.department_name} · {card.period.label}")),
        "period_zh": card.period.label_zh,
        "start": card.period.start.isoformat(),
        "end": card.period.end.isoformat(),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "card": card,
        "dims": dims,
        "dim_names": [DIMENSIONS_ZH[d.dimension] for d in dims],
        "departments": sorted(departments, key=lambda c: (c.rank or 10**6, c.department))
        if card.is_province and departments
        else [],
        "radar_svg": Markup(charts.radar([(d.name_zh, d.score) for d in dims])),
        "bars_svg": Markup(charts.bars([(d.name_zh, d.score) for d in dims], width=390, label_width=70)),
        "trend_svg": Markup(charts.trend(card.trend)),
        "ranking_svg": Markup(ranking_svg),
        "previous_label": previous,
        "has_deliveries": has_deliveries,
        "late_note": "本期所有批次均按时交付。"
        if has_deliveries
        else "尚无交付时效记录（platform.deliveries）。",
        "fmt": _fmt,
        "band": _band,
        "delta": _delta,
        "days": _days,
        "share": _share,
        "dim_zh": lambda d: DIMENSIONS_ZH.get(d, d),
        "dept_name": lambda d: names.get(d, d),
        "rule_text": lambda r: rule_texts.get(r["rule"], ""),
    }
    return _ENV.from_string(PAGE).render(**context)


class FontError(RuntimeError):
    """No CJK font is installed: the PDF would show empty boxes instead of Chinese."""


def cjk_fonts() -> list[str]:
    """Installed font families that cover Chinese, as fontconfig sees them (what WeasyPrint uses)."""
    import shutil
    import subprocess

    if not shutil.which("fc-list"):
        return []
    out = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    ).stdout
    return sorted({line.split(",")[0].strip() for line in out.splitlines() if line.strip()})


def render_pdf(html: str) -> bytes:
    """Print the page to PDF (A4) with WeasyPrint; fonts come from fontconfig.

    Raises :class:`FontError` when no CJK font is installed rather than printing boxes.
    """
    if not any(f in charts.FONTS for f in cjk_fonts()):
        raise FontError(
            "no Chinese font for the scorecard PDF: install the Debian package fonts-wqy-microhei "
            f"(or fonts-noto-cjk); fontconfig knows {cjk_fonts() or 'none'}"
        )
    from weasyprint import HTML  # imported here: pango/cairo load takes a moment

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=html).write_pdf()
