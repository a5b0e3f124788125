"""The slots a view leaves for callbacks: each builder runs one query and returns what the
slot shows (a chart, or a table), or a short message when there is nothing.

Builders take (engine, state, opts, meta); meta is what the view computed once for all its
slots: the period in words and the place name. A chart's own data table is built only when
its reader opens it (chart_table): the hundreds of cells of tables most readers never open
kept the browser redrawing them with every answer (the overview's charts at a million
packages: drawn 2.5 s after navigation with them, 0.7 s without).
"""

from dataclasses import dataclass, field

from dash import html

from dashboard import components as c
from dashboard import figures
from dashboard import format as fmt
from dashboard import queries as q
from dashboard.i18n import t


def _empty(lang: str):
    return html.P(t("chart_empty", lang), className="empty")


def _by_savings(rows, basis):
    return sorted(rows, key=lambda r: -figures.savings_of(r, basis))


def _counted(rows, basis):
    """Rows a savings chart can show: those with at least one counted package."""
    return [r for r in rows if figures.counted_of(r, basis)]


@dataclass
class ChartParts:
    """What a chart shows: its rows, their labels and links, and its title. Its data table
    is made from them without drawing the figure."""
    rows: list
    labels: list
    targets: list
    title: str
    notes: list = field(default_factory=list)
    vertical: bool = False  # the years' bars stand; the others lie, largest first

    def figure(self, state):
        draw = figures.year_bars if self.vertical else figures.ranked_bars
        return draw(self.rows, self.labels, self.targets, state.lang, state.basis)


def _title(key: str, rows, state, meta, **values) -> str:
    return figures.chart_title(key, state.lang, state.basis, meta["period"], rows, **values)


def _province(engine, state, opts, meta):
    rows = q.summary(engine, "province", state.filters(opts))
    unplaced = sum(r.packages for r in rows if r.group == q.UNRESOLVED)
    rows = _by_savings(_counted([r for r in rows if r.group != q.UNRESOLVED], state.basis),
                       state.basis)
    if not rows:
        return None
    labels = [r.name for r in rows]
    targets = [state.drill("province", r.group).href() for r in rows]
    notes = [t("unplaced_note", state.lang, n=fmt.integer(unplaced, state.lang))] \
        if unplaced else []
    return ChartParts(rows, labels, targets, _title("chart_province", rows, state, meta), notes)


def _regency(engine, state, opts, meta):
    rows = _by_savings(_counted(q.summary(engine, "regency", state.filters(opts)),
                                state.basis), state.basis)
    if not rows:
        return None
    labels, targets = [], []
    for r in rows:
        single = r.group != q.UNRESOLVED and "." in r.group
        labels.append(r.name if single else t("no_single_regency", state.lang,
                                              province=meta["place"]))
        targets.append(state.drill("regency", r.group).href() if single else None)
    return ChartParts(rows, labels, targets,
                      _title("chart_regency", rows, state, meta, place=meta["place"]))


def _year(engine, state, opts, meta):
    rows = _counted(q.summary(engine, "year", state.filters(opts)), state.basis)
    if not rows:
        return None
    labels = [r.name if r.group != q.UNRESOLVED else t("no_year", state.lang) for r in rows]
    targets = [_year_target(state, r.group) for r in rows]
    return ChartParts(rows, labels, targets, _title("chart_year", rows, state, meta),
                      vertical=True)


def _year_target(state, year: str) -> str | None:
    if year == q.UNRESOLVED or state.view == "year":
        return None
    if state.view == "overview":
        return state.drill("year", year).href()
    return state.with_(year_from=int(year), year_to=int(year), page=1).href()


def _method(engine, state, opts, meta):
    rows = _by_savings(_counted(q.summary(engine, "method", state.filters(opts)),
                                state.basis), state.basis)
    if not rows:
        return None
    labels = [r.name if r.group != q.UNRESOLVED else t("unknown", state.lang) for r in rows]
    targets = [None if r.group == q.UNRESOLVED or state.methods else
               state.with_(methods=(r.group,), page=1).href() for r in rows]
    return ChartParts(rows, labels, targets, _title("chart_method", rows, state, meta))


def _category(engine, state, opts, meta):
    rows = _by_savings(_counted(q.summary_by_category_group(engine, state.filters(opts)),
                                state.basis), state.basis)
    if not rows:
        return None
    labels = [t(f"cat_{r.group}", state.lang) for r in rows]
    targets = [None if r.group == q.UNRESOLVED or state.cat_groups else
               state.with_(cat_groups=(r.group,), page=1).href() for r in rows]
    return ChartParts(rows, labels, targets, _title("chart_category", rows, state, meta))


def satker_table(engine, state, opts, meta):
    rows = q.satker_summary(engine, state.filters(opts), basis=state.basis, limit=15)
    if not rows:
        return html.P(t("satker_none", state.lang), className="empty")
    caption = t("satker_title", state.lang, period=meta["period"])
    return html.Div([html.H3(caption, className="chart-title"),
                     c.make_satker_table(rows, state, state.lang, caption)],
                    className="chart-block")


def packages_table(engine, state, opts, meta):
    rows, count = q.packages_page(
        engine, state.filters(opts), satker=state.satker, sort=state.sort, basis=state.basis,
        offset=(state.page - 1) * c.PAGE_SIZE, limit=c.PAGE_SIZE)
    lang = state.lang
    if state.satker:
        # Named as in the work-unit table; names repeat across governments, so with the buyer.
        name, klpd = q.unit_names(engine, state.satker)
        caption = t("packages_title_satker", lang, satker=name or t("unknown", lang),
                    klpd=klpd or "–", period=meta["period"])
        clear = html.P(c.dcc.Link(t("satker_all", lang), href=state.href(satker=None, page=1)
                                  + "#paket"))
    else:
        caption, clear = t("packages_title", lang, period=meta["period"]), None
    return html.Div([html.H3(caption, className="chart-title"), clear,
                     c.make_packages_table(rows, count, state, lang, caption)],
                    className="chart-block")


def reasons_list(engine, state, opts, meta):
    return c.make_reasons(q.excluded_reasons(engine, state.filters(opts)), state.lang)


def chart_block(name: str, engine, state, opts, meta):
    parts = CHARTS[name](engine, state, opts, meta)
    if parts is None:
        return _empty(state.lang)
    return c.make_chart_block(parts.figure(state), parts.title, name, state.lang, parts.rows,
                              parts.targets, state.basis, parts.notes)


def chart_table(name: str, engine, state, opts, meta):
    """The data table of chart NAME, for its reader who opened it."""
    parts = CHARTS[name](engine, state, opts, meta)
    if parts is None:
        return _empty(state.lang)
    return c.make_summary_table(parts.rows, parts.labels, parts.targets, state.lang,
                                state.basis, parts.title)


CHARTS = {"province": _province, "regency": _regency, "year": _year, "method": _method,
          "category": _category}
TABLES = {"satker": satker_table, "packages": packages_table, "reasons": reasons_list}
# Slots that depend on the page-level choices (satker, sort, page) and refresh without the
# rest of the view when only those change.
LIST_SLOTS = ("packages",)
