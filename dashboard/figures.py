"""Plotly figures from query rows: ranked savings bars and the savings trend by year.

Pure functions of SummaryRows, so tests build them without a browser. Titles carry the unit
and the period ("Penghematan per provinsi, 2023–2025 (Rp miliar)"); bar labels are short
Indonesian numbers and the hover shows the full value to the sen.
"""

from decimal import Decimal

import plotly.graph_objects as go

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


def _layout(fig: go.Figure, lang: str, height: int) -> None:
    """The page heads a chart with its title (chart_title), so the figure has none."""
    fig.update_layout(
        font={"family": FONT, "size": 14, "color": INK},
        separators=",." if lang != "en" else ".,",
        plot_bgcolor="white", paper_bgcolor="white", height=height, showlegend=False,
        margin={"l": 8, "r": 16, "t": 12, "b": 48}, hoverlabel={"font": {"size": 14}},
        dragmode=False,
    )


def ranked_bars(rows, labels, targets, lang: str, basis: str) -> go.Figure:
    """Horizontal bars of savings, in the order given (largest first at the top).

    Each bar's value is written under its name on the axis rather than beside the bar: there
    it is never cut off, on a phone or a projector alike.
    """
    scaled, text, custom, colors, unit_index = _trace_data(rows, labels, targets, lang, basis)
    ticks = [f"{label}<br><b>{value}</b>" for label, value in zip(labels, text, strict=True)]
    fig = go.Figure(go.Bar(
        x=scaled, y=list(range(len(rows))), orientation="h", marker_color=colors,
        customdata=custom, hovertemplate=_hover(lang, basis)))
    _layout(fig, lang, height=max(220, 110 + BAR_HEIGHT * len(rows)))
    fig.update_xaxes(title_text=t("axis_savings", lang, unit=fmt.unit_word(unit_index, lang)),
                     gridcolor=GRID, zerolinecolor=INK, fixedrange=True)
    fig.update_yaxes(autorange="reversed", automargin=True, fixedrange=True, ticksuffix="  ",
                     tickmode="array", tickvals=list(range(len(rows))), ticktext=ticks)
    return fig


def year_bars(rows, labels, targets, lang: str, basis: str) -> go.Figure:
    """Vertical bars of savings per budget year, oldest first; values under each year."""
    scaled, text, custom, colors, unit_index = _trace_data(rows, labels, targets, lang, basis)
    ticks = [f"{label}<br><b>{value.replace(' (', '</b><br>(')}"
             for label, value in zip(labels, text, strict=True)]
    fig = go.Figure(go.Bar(
        x=list(range(len(rows))), y=scaled, marker_color=colors, customdata=custom,
        hovertemplate=_hover(lang, basis)))
    _layout(fig, lang, height=400)
    fig.update_xaxes(title_text=t("axis_year", lang), fixedrange=True, tickmode="array",
                     tickvals=list(range(len(rows))), ticktext=ticks, automargin=True)
    fig.update_yaxes(title_text=t("axis_savings", lang, unit=fmt.unit_word(unit_index, lang)),
                     gridcolor=GRID, zerolinecolor=INK, fixedrange=True)
    return fig
