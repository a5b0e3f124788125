"""Plotly figures from query rows: ranked savings bars and the savings trend by year.

Pure functions of SummaryRows, so tests build them without a browser. Titles carry the unit
and the period ("Penghematan per provinsi, 2023–2025 (Rp miliar)"); bar labels are short
Indonesian numbers and the hover shows the full value to the sen.

Figures are plain dicts in plotly's JSON form, with plotly's stock template (the one
go.Figure adds while a program leaves pio.templates.default alone): building a go.Figure
validated every property on each answer, 21.8-25.6 ms of a chart callback's 36-53 ms on a
slow machine. Tests check that plotly accepts each figure and would send it unchanged.
"""

import json
from decimal import Decimal
from importlib import resources

from . import format as fmt
from .i18n import t

# Okabe–Ito: distinguishable with every common colour-vision deficiency.
BLUE = "#0072B2"
VERMILLION = "#D55E00"
INK = "#1a1a1a"
GRID = "#d9d9d9"
FONT = ('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", '
        "Arial, sans-serif")
BAR_HEIGHT = 46  # two lines of tick text: name and value
# plotly's stock template, read once and shared by every figure: never changed in place.
TEMPLATE = json.loads((resources.files("plotly") / "package_data/templates/plotly.json")
                      .read_text(encoding="utf-8"))


def savings_of(row, basis: str) -> Decimal:
    return row.savings_vs_hps if basis == "hps" else row.savings_vs_pagu


def rate_of(row, basis: str) -> float | None:
    return row.rate_vs_hps if basis == "hps" else row.rate_vs_pagu


def base_of(row, basis: str) -> Decimal:
    return row.hps if basis == "hps" else row.pagu


def kontrak_of(row, basis: str) -> Decimal:
    """The contract value savings were computed from (only packages with an HPS, on HPS)."""
    return row.hps - row.savings_vs_hps if basis == "hps" else row.kontrak


def counted_of(row, basis: str) -> int:
    return row.hps_contracted if basis == "hps" else row.contracted


def chart_title(key: str, lang: str, basis: str, period: str, rows, **values) -> str:
    """`Penghematan per provinsi, 2023–2025 (Rp miliar)` for a chart of ROWS, in the unit
    its bars are drawn in; on HPS the measure says so."""
    _, unit_index = fmt.chart_unit([savings_of(r, basis) for r in rows])
    return t(key, lang, measure=t(f"measure_{basis}", lang), period=period,
             unit=fmt.unit_word(unit_index, lang), **values)


def _hover(lang: str, basis: str) -> str:
    base = t("hover_hps" if basis == "hps" else "hover_pagu", lang)
    return (f"<b>%{{customdata[6]}}</b><br>{t('hover_savings', lang)}: %{{customdata[1]}}"
            f"<br>{t('hover_rate', lang)}: %{{customdata[2]}}<br>{base}: %{{customdata[3]}}"
            f"<br>{t('hover_kontrak', lang)}: %{{customdata[4]}}"
            f"<br>{t('hover_contracted', lang)}: %{{customdata[5]}}<extra></extra>")


def _trace_data(rows, labels, targets, lang, basis):
    values = [savings_of(r, basis) for r in rows]
    divisor, unit_index = fmt.chart_unit(values)
    scaled = [float(v / divisor) for v in values]
    text = [f"{fmt.rupiah_short(v, lang)} ({fmt.percent(rate_of(r, basis), lang)})"
            for r, v in zip(rows, values, strict=True)]
    custom = [[target or "", fmt.rupiah_full(v, lang), fmt.percent(rate_of(r, basis), lang, 2),
               fmt.rupiah_full(base_of(r, basis), lang),
               fmt.rupiah_full(kontrak_of(r, basis), lang),
               fmt.integer(counted_of(r, basis), lang), label]
              for r, v, target, label in zip(rows, values, targets, labels, strict=True)]
    colors = [VERMILLION if v < 0 else BLUE for v in values]
    return scaled, text, custom, colors, unit_index


def _figure(bar: dict, lang: str, height: int, xaxis: dict, yaxis: dict) -> dict:
    """One bar trace and the layout every chart shares. The page heads a chart with its
    title (chart_title), so the figure has none."""
    return {"data": [{"type": "bar", **bar}], "layout": {
        "template": TEMPLATE, "font": {"family": FONT, "size": 14, "color": INK},
        "separators": ",." if lang != "en" else ".,",
        "plot_bgcolor": "white", "paper_bgcolor": "white", "height": height, "showlegend": False,
        "margin": {"l": 8, "r": 16, "t": 12, "b": 48}, "hoverlabel": {"font": {"size": 14}},
        "dragmode": False, "xaxis": xaxis, "yaxis": yaxis}}


def _savings_axis(lang: str, unit_index: int) -> dict:
    return {"title": {"text": t("axis_savings", lang, unit=fmt.unit_word(unit_index, lang))},
            "gridcolor": GRID, "zerolinecolor": INK, "fixedrange": True}


def ranked_bars(rows, labels, targets, lang: str, basis: str) -> dict:
    """Horizontal bars of savings, in the order given (largest first at the top).

    Each bar's value is written under its name on the axis rather than beside the bar: there
    it is never cut off, on a phone or a projector alike.
    """
    scaled, text, custom, colors, unit_index = _trace_data(rows, labels, targets, lang, basis)
    ticks = [f"{label}<br><b>{value}</b>" for label, value in zip(labels, text, strict=True)]
    places = list(range(len(rows)))
    bar = {"x": scaled, "y": places, "orientation": "h", "marker": {"color": colors},
           "customdata": custom, "hovertemplate": _hover(lang, basis)}
    return _figure(bar, lang, max(220, 110 + BAR_HEIGHT * len(rows)),
                   _savings_axis(lang, unit_index),
                   {"autorange": "reversed", "automargin": True, "fixedrange": True,
                    "ticksuffix": "  ", "tickmode": "array", "tickvals": places,
                    "ticktext": ticks})


def year_bars(rows, labels, targets, lang: str, basis: str) -> dict:
    """Vertical bars of savings per budget year, oldest first; values under each year."""
    scaled, text, custom, colors, unit_index = _trace_data(rows, labels, targets, lang, basis)
    ticks = [f"{label}<br><b>{value.replace(' (', '</b><br>(')}"
             for label, value in zip(labels, text, strict=True)]
    places = list(range(len(rows)))
    bar = {"x": places, "y": scaled, "marker": {"color": colors}, "customdata": custom,
           "hovertemplate": _hover(lang, basis)}
    return _figure(bar, lang, 400,
                   {"title": {"text": t("axis_year", lang)}, "fixedrange": True,
                    "tickmode": "array", "tickvals": places, "ticktext": ticks,
                    "automargin": True},
                   _savings_axis(lang, unit_index))
