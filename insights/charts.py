"""Server-side SVG charts: horizontal bars, one group per row, one bar per series.

Readable in both languages: every label is drawn in the reader's language, with the other
language in the bar's ``<title>`` tooltip; the font stack names Noto Sans CJK so Chinese
labels render wherever the SVG is opened, and in the PNG (``png``: cairosvg on the server,
which finds the font through fontconfig; fonts-noto-cjk on Debian). The SVG is a standalone document (XML declaration,
``role="img"``, ``<title>`` and ``<desc>``) so the same string is inlined in the page and
served as a download.
"""

from xml.sax.saxutils import escape

from django.utils.translation import gettext_lazy as _

from audit.search import PALETTE, bilingual

FONT = "'Noto Sans CJK SC','Noto Sans SC','Noto Sans',sans-serif"
#: PNG pixels per SVG pixel: sharp enough for a slide or a printed report.
PNG_SCALE = 2


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def bar_chart(title, rows, series, *, chart_id="chart", label_width=220):
    """``rows``: ``[(label, {series_key: number})]``; ``series``: ``[(key, label)]``.

    Returns the SVG document as a string.
    """
    bar_h, gap, group_gap, top, right = 14, 2, 10, 28, 70
    plot_w = 400
    width = label_width + plot_w + right
    n = max(1, len(series))
    group_h = n * (bar_h + gap) + group_gap
    legend_h = 20
    height = top + legend_h + max(1, len(rows)) * group_h + 8
    peak = max([float(v.get(k) or 0) for _l, v in rows for k, _s in series] or [0]) or 1
    title_here, title_other = bilingual(title)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'font-family="{FONT}" font-size="12">',
        f'<title id="{chart_id}-t">{escape(title_here)}</title>',
        f'<desc id="{chart_id}-d">{escape(title_other)}</desc>',
        '<rect width="100%" height="100%" fill="#fff"/>',
        f'<text x="4" y="16" font-size="14" font-weight="bold" fill="#222">'
        f"{escape(title_here)}</text>",
    ]
    x = 4
    for i, (_key, label) in enumerate(series):
        here, other = bilingual(label)
        color = PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{x}" y="{top}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{top + 9}" fill="#222">{escape(here)}<title>'
            f"{escape(other)}</title></text>"
        )
        x += 24 + 8 * len(here) + (6 * sum(1 for c in here if ord(c) > 0x2E80))
    y = top + legend_h
    if not rows:
        here = str(_("No data for these filters."))
        out.append(f'<text x="4" y="{y + 12}" fill="#555">{escape(here)}</text>')
    for label, values in rows:
        here, other = bilingual(label)
        short = here if len(here) <= 30 else here[:29] + "…"
        mid = y + (n * (bar_h + gap)) / 2
        out.append(
            f'<text x="{label_width - 6}" y="{mid:.1f}" text-anchor="end" '
            f'dominant-baseline="middle" fill="#222">{escape(short)}<title>{escape(here)} / '
            f"{escape(other)}</title></text>"
        )
        for i, (key, s_label) in enumerate(series):
            v = values.get(key) or 0
            w = plot_w * float(v) / peak
            s_here = str(s_label)
            out.append(
                f'<rect x="{label_width}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{PALETTE[i % len(PALETTE)]}" data-series="{escape(str(key))}" '
                f'data-value="{escape(str(v))}"><title>{escape(here)} · {escape(s_here)}: '
                f"{escape(_fmt(v))}</title></rect>"
                f'<text x="{label_width + w + 4:.1f}" y="{y + bar_h - 3:.1f}" fill="#222" '
                f'font-size="11">{escape(_fmt(v))}</text>'
            )
            y += bar_h + gap
        y += group_gap
    out.append("</svg>")
    return "\n".join(out)


def png(svg):
    """The chart ``svg`` (from ``bar_chart``) as PNG bytes, ``PNG_SCALE`` times its size."""
    import cairosvg

    return cairosvg.svg2png(bytestring=svg.encode(), scale=PNG_SCALE)
