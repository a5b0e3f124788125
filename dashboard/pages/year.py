"""`/tahun/<tahun>`: one budget year: savings by province, method and category, and its
packages."""

from dashboard import components as c
from dashboard.i18n import t


def crumbs(engine, state, names):
    lang = state.lang
    label = t("view_year", lang, year=state.code)
    return [(t("crumb_home", lang), state.drill("overview", None).href()), (label, None)], label


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
