"""Log-log line charts as SVG, drawn by hand so the benchmarks need no plotting library.

A chart is one or more panels stacked top to bottom; each panel has its own axes, series and
legend (at its right). Points with a value of zero or less cannot be drawn on a log axis and are
left out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


@dataclass
class Series:
    label: str
    colour: str
    points: list[tuple[float, float]]
    dashed: bool = False


@dataclass
class Panel:
    x_label: str
    y_label: str
    series: list[Series] = field(default_factory=list)


def loglog(panels: list[Panel], width: int = 760, panel_height: int = 440, legend_width: int = 200) -> str:
    """The panels as one SVG document."""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{panel_height * len(panels)}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{panel_height * len(panels)}" fill="white"/>']
    for k, panel in enumerate(panels):
        out += _panel(panel, k * panel_height, width, panel_height, legend_width)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _decades(values: list[float]) -> tuple[int, int]:
    lo = math.floor(math.log10(min(values))) if values else 0
    hi = math.ceil(math.log10(max(values)) + 1e-9) if values else 1
    return lo, max(hi, lo + 1)


def _panel(panel: Panel, y_offset: int, width: int, height: int, legend_width: int) -> list[str]:
    series = [Series(s.label, s.colour, [(x, y) for x, y in s.points if x > 0 and y > 0], s.dashed)
              for s in panel.series]
    series = [s for s in series if s.points]
    left, top, bottom = 70, y_offset + 20, 50
    pw, ph = width - left - legend_width, height - 20 - bottom
    x0, x1 = _decades([x for s in series for x, _ in s.points])
    y0, y1 = _decades([y for s in series for _, y in s.points])

    def px(x: float) -> float:
        return left + (math.log10(x) - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + ph - (math.log10(y) - y0) / (y1 - y0) * ph

    out = [f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>']
    for e in range(x0, x1 + 1):
        x = px(10.0 ** e)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{top + ph + 15}" text-anchor="middle">{10 ** e:,}</text>')
    for e in range(y0, y1 + 1):
        y = py(10.0 ** e)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{10.0 ** e:g}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{top + ph + 38}" text-anchor="middle">{panel.x_label}</text>')
    out.append(f'<text x="16" y="{top + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {top + ph / 2})">{panel.y_label}</text>')
    for i, s in enumerate(series):
        dash = ' stroke-dasharray="5,4"' if s.dashed else ""
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s.points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{s.colour}" stroke-width="1.6"{dash}/>')
        out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{s.colour}"/>' for x, y in s.points]
        ly = top + 12 + i * 15
        out.append(f'<line x1="{left + pw + 10}" y1="{ly - 4}" x2="{left + pw + 34}" y2="{ly - 4}" '
                   f'stroke="{s.colour}" stroke-width="1.6"{dash}/>')
        out.append(f'<text x="{left + pw + 40}" y="{ly}">{s.label}</text>')
    return out
