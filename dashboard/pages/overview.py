"""`/`: all of Indonesia: savings by province (click to drill in), by year, method, category."""

from dashboard import components as c
from dashboard.i18n import t


def crumbs(engine, state, names):
    return [(t("crumb_home", state.lang), None)], t("view_overview", state.lang)


def layout(state, total, meta):
    lang = state.lang
    return [
        c.make_cards(total, lang, state.basis, state.flagged),
        # The long province ranking on the left, the shorter charts stacked beside it.
        c.html.Div([
            c.html.Div(c.slot("chart", "province", lang), className="column"),
            c.html.Div([c.slot("chart", "year", lang), c.slot("chart", "method", lang),
                        c.slot("chart", "category", lang)], className="column"),
        ], className="grid"),
    ]
