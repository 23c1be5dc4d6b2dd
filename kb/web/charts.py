"""Server-drawn charts: claims per month as an inline SVG of stacked bars.

``timeline(rows)`` takes (month 'YYYY-MM', series label, count) triples and
gives a ``Timeline``: the months (every month between the first and the
last, gaps included), the series, the counts, and ``svg()`` — markup built
here with every label escaped, so a template may output it as it is.  The
page shows a <table> of the same numbers next to it, its legend coloured
by the classes ``.series-0`` … ``.series-9`` of kb.css (no style
attributes: the pages run under a Content-Security-Policy).
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
           "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
HEIGHT = 160  # pixels of the plot area
BAR = 14  # pixels per month
LEFT, BOTTOM, TOP = 30, 40, 10


@dataclass
class Timeline:
    months: list[str]
    series: list[str]
    counts: dict[tuple[str, str], int]  # (month, series) -> claims

    def total(self, month: str) -> int:
        return sum(self.counts.get((month, s), 0) for s in self.series)

    def table(self) -> list[tuple[str, list[int], int]]:
        """(month, counts per series, total) for the months with claims."""
        return [(m, [self.counts.get((m, s), 0) for s in self.series], self.total(m))
                for m in self.months if self.total(m)]

    def series_index(self, series: str) -> int:
        """The series' place in COLOURS (kb.css has a class .series-N of the same colour)."""
        return self.series.index(series) % len(COLOURS)

    def colour(self, series: str) -> str:
        return COLOURS[self.series_index(series)]

    def svg(self, title: str = "Claims per month") -> Markup:
        if not self.months:
            return Markup("")
        peak = max(self.total(m) for m in self.months) or 1
        width = LEFT + BAR * len(self.months) + 10
        height = TOP + HEIGHT + BOTTOM
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
               f'width="{width}" height="{height}" aria-labelledby="chart-title">',
               f'<title id="chart-title">{escape(title)}</title>',
               f'<line x1="{LEFT}" y1="{TOP + HEIGHT}" x2="{width - 5}" y2="{TOP + HEIGHT}" stroke="#888"/>',
               f'<text x="{LEFT - 4}" y="{TOP + 8}" font-size="10" text-anchor="end">{peak}</text>',
               f'<text x="{LEFT - 4}" y="{TOP + HEIGHT}" font-size="10" text-anchor="end">0</text>']
        for i, month in enumerate(self.months):
            x = LEFT + i * BAR + 1
            y = TOP + HEIGHT
            for s in self.series:
                n = self.counts.get((month, s), 0)
                if not n:
                    continue
                h = HEIGHT * n / peak
                y -= h
                out.append(f'<rect x="{x}" y="{y:.1f}" width="{BAR - 2}" height="{h:.1f}" '
                           f'fill="{self.colour(s)}"><title>{escape(month)} · {escape(s)}: {n}</title></rect>')
            if month.endswith("-01") or i == 0 or i == len(self.months) - 1:
                out.append(f'<text x="{x + BAR / 2}" y="{TOP + HEIGHT + 12}" font-size="9" '
                           f'text-anchor="middle">{escape(month)}</text>')
        out.append("</svg>")
        return Markup("".join(out))


def _month_range(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def timeline(rows) -> Timeline:
    """A Timeline from (month, series, count) triples; months not shaped YYYY-MM are left out."""
    counts: dict[tuple[str, str], int] = {}
    series: dict[str, int] = {}
    for month, label, n in rows:
        if len(month) < 7 or not month[:4].isdigit() or not month[5:7].isdigit():
            continue
        month = month[:7]
        counts[(month, label)] = counts.get((month, label), 0) + int(n)
        series[label] = series.get(label, 0) + int(n)
    months = sorted({m for m, _ in counts})
    order = sorted(series, key=lambda s: (-series[s], s))
    return Timeline(_month_range(months[0], months[-1]) if months else [], order, counts)
