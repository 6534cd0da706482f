"""Charts drawn on the server as SVG: labelled axes, a legend, a text alternative, and "no data
yet" instead of an empty frame. No script, no external file (the admin's CSP allows none)."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

COLOURS = ["#417690", "#ba2121", "#c98a00", "#2d7a3a"]


def _nice_max(peak: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if peak <= step * 4:
            return step * 4
    return peak


def bar_chart(
    *,
    categories: list[str],
    series: list[tuple[str, list[int]]],
    x_label: str,
    y_label: str,
    title: str,
    width: int = 420,
    height: int = 200,
) -> SafeString:
    """Grouped bars: one group per category (x axis), one bar per series, counts on the y axis."""
    peak = max((v for _name, values in series for v in values), default=0)
    if peak <= 0:
        return format_html('<p class="no-data">{}</p>', gettext("No data yet."))
    top = _nice_max(peak)
    left, right, top_pad, bottom = 44, 8, 10, 46
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    group_w = plot_w / max(len(categories), 1)
    bar_w = max(2.0, (group_w - 6) / max(len(series), 1))
    parts = []
    for i in range(5):  # y ticks: 0, 1/4 ... top
        value = top * i // 4
        y = top_pad + plot_h - plot_h * i / 4
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>'
                '<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>',
                left,
                left + plot_w,
                f"{y:.1f}",
                f"{y:.1f}",
                left - 4,
                f"{y + 3:.1f}",
                value,
            )
        )
    for ci, category in enumerate(categories):
        x0 = left + ci * group_w + 3
        for si, (_name, values) in enumerate(series):
            value = values[ci] if ci < len(values) else 0
            h = plot_h * value / top
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
                    f"{x0 + si * bar_w:.1f}",
                    f"{top_pad + plot_h - h:.1f}",
                    f"{bar_w:.1f}",
                    f"{h:.1f}",
                    COLOURS[si % len(COLOURS)],
                    f"{category} {_name}",
                    value,
                )
            )
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>',
                f"{x0 + group_w / 2 - 3:.1f}",
                top_pad + plot_h + 13,
                category,
            )
        )
    axes = format_html(
        '<line x1="{l}" x2="{l}" y1="{t}" y2="{b}" stroke="#333"/>'
        '<line x1="{l}" x2="{r}" y1="{b}" y2="{b}" stroke="#333"/>'
        '<text x="{cx}" y="{xl}" font-size="11" text-anchor="middle" class="x-label">{x}</text>'
        '<text x="12" y="{cy}" font-size="11" text-anchor="middle" transform="rotate(-90 12 {cy})"'
        ' class="y-label">{y}</text>',
        l=left,
        t=top_pad,
        b=top_pad + plot_h,
        r=left + plot_w,
        cx=left + plot_w / 2,
        xl=height - 20,
        cy=top_pad + plot_h / 2,
        x=x_label,
        y=y_label,
    )
    legend = format_html_join(
        "",
        '<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" font-size="10">{}</text>',
        (
            (left + i * 110, height - 12, COLOURS[i % len(COLOURS)], left + i * 110 + 14, height - 3, name)
            for i, (name, _v) in enumerate(series)
        ),
    )
    text = "; ".join(
        f"{category}: " + ", ".join(f"{name} {values[ci]}" for name, values in series)
        for ci, category in enumerate(categories)
    )
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="100%" '
        'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}{}{}</svg>',
        f"{title}. {text}",
        width,
        height,
        title,
        format_html_join("", "{}", ((part,) for part in parts)),
        axes,
        legend,
    )


def sparkline(values: list[int], *, label: str, width: int = 120, height: int = 28) -> SafeString:
    """A small bar line of the last runs (oldest first), with the numbers in its text alternative."""
    if not values:
        return format_html('<span class="no-data">{}</span>', gettext("No data yet."))
    peak = max(values) or 1
    bar_w = width / len(values)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="#417690"><title>{}</title></rect>',
        (
            (
                f"{i * bar_w + 1:.1f}",
                f"{height - max(1.0, (height - 2) * v / peak):.1f}",
                f"{max(bar_w - 2, 1):.1f}",
                f"{max(1.0, (height - 2) * v / peak):.1f}",
                v,
            )
            for i, v in enumerate(values)
        ),
    )
    return format_html(
        '<svg class="sparkline" role="img" aria-label="{}" width="{}" height="{}" viewBox="0 0 {} {}" '
        'xmlns="http://www.w3.org/2000/svg">{}</svg>',
        f"{label}: {', '.join(str(v) for v in values)}",
        width,
        height,
        width,
        height,
        bars,
    )
