"""`/tahun/<tahun>`: one budget year: savings by province, method and category, and its
packages."""

from dashboard import components as c
from dashboard.i18n import t


def crumbs(engine, state, names):
    lang = state.lang
    label = t("view_year", lang, year=state.code)
    # The heading names the place; the year is its period ("Seluruh Indonesia, tahun
    # anggaran 2024").
    up = state.drill("overview", None).with_(year_from=None, year_to=None)  # all years
    return ([(t("crumb_home", lang), up.href()), (label, None)],
            t("view_overview", lang))


def layout(state, total, meta):
    lang = state.lang
    return [
        c.make_cards(total, lang, state.basis, state.flagged),
        c.html.Div([
            c.html.Div(c.slot("chart", "province", lang), className="column"),
            c.html.Div([c.slot("chart", "method", lang), c.slot("chart", "category", lang)],
                       className="column"),
        ], className="grid"),
        c.html.Div(c.slot("table", "packages", lang), id="paket"),
    ]
