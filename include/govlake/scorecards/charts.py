"""Charts as inline SVG: a radar of the six dimensions, horizontal bars (scores, ranking), a trend line.

Hand-written SVG keeps the report one self-contained file that browsers and WeasyPrint (the PDF) draw
the same way, with the page's CJK font — no plotting library, no font configuration of its own.
"""

from __future__ import annotations

import math
from html import escape

GOOD, FAIR, POOR, NONE = "#2e7d32", "#f9a825", "#c62828", "#9e9e9e"
INK, GRID, ACCENT = "#263238", "#cfd8dc", "#1f4e79"
# SVG text does not inherit the page's font in every renderer: name the same CJK families explicitly.
# WenQuanYi Micro Hei (Debian fonts-wqy-microhei) comes first because it has TrueType outlines: WeasyPrint
# subsets it in about a second, where the CFF-based Noto CJK takes several seconds per face and page.
FONTS = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "sans-serif",
)
FONT = ", ".join(FONTS)


def _svg(width: float, height: float) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}">'
    )


def band_color(score: float | None) -> str:
    """Green from 90, amber from 75, red below; grey when not scored."""
    if score is None:
        return NONE
    return GOOD if score >= 90 else FAIR if score >= 75 else POOR


def _fmt(score: float | None) -> str:
    return "未评分" if score is None else f"{score:.1f}"


def radar(axes: list[tuple[str, float | None]], size: int = 270) -> str:
    """A radar (spider) chart of 0–100 scores; an unscored axis is drawn at 0 and labelled 未评分."""
    c, r = size / 2, size / 2 - 52
    n = len(axes)

    def point(i: int, value: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return c + r * value / 100 * math.cos(angle), c + r * value / 100 * math.sin(angle)

    parts = [_svg(size, size)]
    for ring in (20, 40, 60, 80, 100):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, ring) for i in range(n)))
        parts.append(f'<polygon points="{pts}" fill="none" stroke="{GRID}" stroke-width="1"/>')
    for i, (label, score) in enumerate(axes):
        x, y = point(i, 100)
        parts.append(f'<line x1="{c}" y1="{c}" x2="{x:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        lx, ly = point(i, 122)
        anchor = "middle" if abs(lx - c) < 8 else ("start" if lx > c else "end")
        parts.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="12" text-anchor="{anchor}" fill="{INK}">{escape(label)}'
            f'<tspan x="{lx:.1f}" dy="14" font-size="11" fill="{band_color(score)}">{_fmt(score)}</tspan></text>'
        )
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, s or 0) for i, (_, s) in enumerate(axes)))
    parts.append(
        f'<polygon points="{pts}" fill="{ACCENT}" fill-opacity="0.25" stroke="{ACCENT}" stroke-width="2"/>'
    )
    for i, (_, s) in enumerate(axes):
        x, y = point(i, s or 0)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{band_color(s)}"/>')
    parts.append("</svg>")
    return "".join(parts)


def bars(items: list[tuple[str, float | None]], width: int = 460, label_width: int = 110) -> str:
    """Horizontal 0–100 bars with the value at the end, coloured by band."""
    row, top = 26, 8
    height = top + row * len(items) + 22
    plot = width - label_width - 56
    parts = [_svg(width, height)]
    for tick in (0, 25, 50, 75, 100):
        x = label_width + plot * tick / 100
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 18}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{height - 4}" font-size="10" text-anchor="middle" fill="{INK}">{tick}</text>'
        )
    for i, (label, score) in enumerate(items):
        y = top + i * row
        w = plot * (score or 0) / 100
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 16}" font-size="12" text-anchor="end" fill="{INK}">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{w:.1f}" height="16" rx="2" fill="{band_color(score)}"/>'
            f'<text x="{label_width + w + 4:.1f}" y="{y + 16}" font-size="11" fill="{INK}">{_fmt(score)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _floor(points: list[tuple[str, float | None]]) -> float:
    """The y axis starts below the lowest score (in tens) so that small changes near 100 stay visible."""
    scores = [s for _, s in points if s is not None]
    return 0.0 if not scores else float(max(0, min(80, int((min(scores) - 5) // 10 * 10))))


def trend(points: list[tuple[str, float | None]], width: int = 320, height: int = 190) -> str:
    """The overall score over the last periods (this one last); gaps where a period was not scored."""
    left, right, top, bottom = 36, 16, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(points), 1)
    lo = _floor(points)

    def xy(i: int, score: float) -> tuple[float, float]:
        x = left + (plot_w * (i + 0.5) / n)
        return x, top + plot_h * (1 - (score - lo) / (100 - lo))

    parts = [_svg(width, height)]
    for k in range(5):
        tick = lo + (100 - lo) * k / 4
        _, y = xy(0, tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="{INK}">{tick:.0f}</text>'
        )
    scored = [(i, s) for i, (_, s) in enumerate(points) if s is not None]
    if len(scored) > 1:
        path = " ".join(
            f"{'M' if k == 0 else 'L'}{xy(i, s)[0]:.1f},{xy(i, s)[1]:.1f}" for k, (i, s) in enumerate(scored)
        )
        parts.append(f'<path d="{path}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    for i, (label, score) in enumerate(points):
        x, _ = xy(i, lo)
        parts.append(
            f'<text x="{x:.1f}" y="{height - 14}" font-size="10" text-anchor="middle" fill="{INK}">{escape(label)}</text>'
        )
        if score is not None:
            _, y = xy(i, score)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{band_color(score)}"/>')
            parts.append(
                f'<text x="{x:.1f}" y="{y + 16:.1f}" font-size="10" text-anchor="middle" fill="{INK}">{score:.1f}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
