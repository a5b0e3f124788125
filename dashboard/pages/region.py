"""`/provinsi/<kode>` and `/kabkota/<kode>`: a province (its regencies, work units and
packages) and a regency or city (its years, categories, work units and packages)."""

from dashboard import components as c
from dashboard.i18n import t


def crumbs(engine, state, names):
    """The breadcrumb and the place name, or None when the code is not a known region."""
    lang = state.lang
    home = (t("crumb_home", lang), state.drill("overview", None).href())
    province = state.code[:2]
    if state.code not in names or province not in names:
        return None, None
    if state.view == "province":
        return [home, (names[province], None)], names[province]
    return [home, (names[province], state.drill("province", province).href()),
            (names[state.code], None)], names[state.code]


def layout(state, total, meta):
    lang = state.lang
    if state.view == "province":
        # The regency ranking can be long: the shorter charts stack beside it.
        charts = [c.html.Div(c.slot("chart", "regency", lang), className="column"),
                  c.html.Div([c.slot("chart", "year", lang), c.slot("chart", "category", lang)],
                             className="column")]
    else:
        charts = [c.slot("chart", "category", lang), c.slot("chart", "year", lang)]
    return [
        c.make_cards(total, lang, state.basis, state.flagged),
        c.html.Div(charts, className="grid"),
        c.slot("table", "satker", lang),
        c.html.Div(c.slot("table", "packages", lang), id="paket"),
    ]
