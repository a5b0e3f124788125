"""The page around every view (header, language links, filters) and all callbacks.

Flow: the URL is the state. Changing a filter writes the URL (sync_filters); a changed URL
re-renders the view skeleton with its headline cards (render_view, one query); each chart or
table slot in the skeleton then fills itself (fill_chart / fill_table, one query each); a
chart's data table when its reader opens it (fill_chart_table). Paging or sorting the
package list only refreshes that list.
"""

import json
import logging
from functools import partial

from dash import ALL, MATCH, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy.exc import SQLAlchemyError

from dashboard import components as c
from dashboard import format as fmt
from dashboard import queries as q
from dashboard.i18n import t

from . import ViewState, charts, options, overview, region, year

log = logging.getLogger(__name__)
VIEWS = {"overview": overview, "province": region, "regency": region, "year": year}
# The parts of the URL that only the package list reads.
LIST_PARAMS = ("satker", "page", "sort")


def make_layout():
    return html.Div([
        dcc.Location(id=c.URL, refresh=False),
        dcc.Store(id=c.LANG_STORE),
        dcc.Store(id=c.META),
        dcc.Download(id=c.DOWNLOAD),
        html.Div(id="doc-lang", hidden=True),
        html.Header([html.Div(id=c.HEADER, className="header-text"),
                     html.Div(id=c.LANG_LINKS, className="lang-links")], className="top"),
        html.Div(id=c.FILTERS),
        html.Main(id=c.VIEW, tabIndex=-1),
    ], className="page")


def build_view(engine, state: ViewState):
    """The view's children and its meta (period, place) for the slots; never raises."""
    lang = state.lang
    meta = {"path": state.path, "search": state.search, "period": "", "place": ""}
    if state.view == "notfound":
        return _not_found(state), meta
    try:
        opts = options(engine)
        names = q.region_names(engine) if state.view in ("province", "regency") else {}
        crumbs, place = VIEWS[state.view].crumbs(engine, state, names)
        if crumbs is None:
            return _not_found(state), meta
        total = q.headline(engine, state.filters(opts))
        empty_db = total.packages == 0 and q.headline(engine).packages == 0
    except SQLAlchemyError:
        log.exception("database not readable")
        return c.make_message(t("db_error_title", lang), t("db_error", lang), kind="error"), meta
    meta.update(period=_period(state, total, lang), place=place)
    if empty_db:
        return c.make_message(t("empty_db_title", lang), t("empty_db", lang)), meta
    head = [c.make_breadcrumb(crumbs, lang),
            html.H2(t("heading_period", lang, place=place, period=meta["period"]),
                    className="view-title")]
    if total.packages == 0:
        reset = dcc.Link(t("reset", lang), href=state.drill(state.view, state.code).with_(
            year_from=None, year_to=None, kind=None, methods=(), cat_groups=(), fundings=(),
            flagged=False, basis="pagu").href(), className="button")
        return head + [c.make_message(t("no_match_title", lang), t("no_match", lang),
                                      reset)], meta
    reasons = c.slot("table", "reasons", lang)
    if total.contracted == 0:
        body = [c.make_message(t("no_match_title", lang), t(
            "no_contracted", lang, total=fmt.integer(total.packages, lang)))]
    else:
        body = VIEWS[state.view].layout(state, total, meta)
    return head + body + [c.make_definitions(total, state, lang, reasons)], meta


def _period(state: ViewState, total, lang: str) -> str:
    if state.view == "year":
        return state.code
    if state.year_from or state.year_to:
        return fmt.year_span(state.year_from or state.year_to, state.year_to or state.year_from)
    return fmt.year_span(total.extra["year_min"], total.extra["year_max"], lang)


def _not_found(state: ViewState):
    lang = state.lang
    return c.make_message(t("not_found_title", lang), t("not_found", lang), dcc.Link(
        t("back_home", lang), href=state.drill("overview", None).href(), className="button"))


SLOT_BUILDERS = {"chart": charts.chart_block, "chart-table": charts.chart_table}


def build_slot(engine, kind: str, name: str, state: ViewState, meta: dict):
    """What a chart, a chart's data table ("chart-table") or a table slot shows; a message
    instead of a traceback on failure."""
    build = partial(SLOT_BUILDERS[kind], name) if kind in SLOT_BUILDERS else charts.TABLES[name]
    try:
        return build(engine, state, options(engine), meta)
    except SQLAlchemyError:
        log.exception("slot %s/%s: database not readable", kind, name)
        return html.P(t("db_error", state.lang), className="empty", role="alert")
    except Exception:
        log.exception("slot %s/%s failed", kind, name)
        return html.P(t("slot_error", state.lang), className="empty", role="alert")


def _same_view(meta: dict | None, state: ViewState) -> bool:
    """Whether STATE differs from the rendered view only in what the package list reads."""
    if not meta:
        return False
    before = ViewState.from_url(meta["path"], meta["search"])
    blank = dict.fromkeys(LIST_PARAMS)
    blank.update(page=1, sort="hemat")
    return before.with_(**blank) == state.with_(**blank)


def controls_from(state: ViewState) -> list:
    """The filter controls' values for STATE (in FILTER_NAMES order)."""
    years = (int(state.code),) * 2 if state.view == "year" else (state.year_from, state.year_to)
    return [*years, state.kind or "all", list(state.methods), list(state.cat_groups),
            list(state.fundings), state.basis, ["1"] if state.flagged else []]


def state_from_controls(state: ViewState, values: dict) -> ViewState:
    """STATE with the filters the controls show (VALUES by filter name); leaving a year view
    when its year changes."""
    year_from, year_to, kind, methods, groups, fundings, basis, flagged = (
        values.get(n) for n in c.FILTER_NAMES)
    new = state.with_(
        year_from=year_from, year_to=year_to, kind=None if kind in (None, "all") else kind,
        methods=tuple(methods or ()), cat_groups=tuple(groups or ()),
        fundings=tuple(fundings or ()), basis=basis or "pagu", flagged=bool(flagged), page=1)
    if state.view != "year":
        return new
    if year_from == year_to == int(state.code):
        return new.with_(year_from=None, year_to=None)
    if year_from and year_to and year_from != year_to or not (year_from or year_to):
        return new.drill("overview", None).with_(year_from=year_from, year_to=year_to,
                                                 satker=state.satker)
    return new.with_(code=str(year_from or year_to), year_from=None, year_to=None)


def register(app, engine) -> None:
    """Attach the callbacks to APP; they read ENGINE."""

    @app.callback(Output(c.LANG_STORE, "data"), Input(c.URL, "search"),
                  State(c.LANG_STORE, "data"))
    def pick_lang(search, current):
        lang = ViewState.from_url("/", search).lang
        return no_update if lang == current else lang

    titles = json.dumps({lang: t("doc_title", lang) for lang in ("id", "en")})
    app.clientside_callback(
        "function(lang) { lang = lang || 'id'; document.documentElement.lang = lang;"
        f" document.title = {titles}[lang]; return lang; }}",
        Output("doc-lang", "children"), Input(c.LANG_STORE, "data"))

    @app.callback(Output(c.HEADER, "children"), Output(c.FILTERS, "children"),
                  Input(c.LANG_STORE, "data"), State(c.URL, "pathname"), State(c.URL, "search"))
    def render_frame(lang, pathname, search):
        state = ViewState.from_url(pathname, search)
        header = [html.A(t("skip_link", state.lang), href="#view", className="skip-link"),
                  c.make_header(state.lang)]
        try:
            opts = options(engine)
        except SQLAlchemyError:
            return header, None
        return header, c.make_filter_bar(state, opts) if opts["years"] else None

    # Phones open the page on the figures: the filter panel starts folded there.
    app.clientside_callback(
        "function(id) { return window.innerWidth > 700; }",
        Output(c.FILTER_PANEL, "open"), Input(c.FILTER_PANEL, "id"))

    @app.callback(Output(c.LANG_LINKS, "children"), Input(c.URL, "pathname"),
                  Input(c.URL, "search"))
    def lang_links(pathname, search):
        return c.make_lang_links(ViewState.from_url(pathname, search))

    filters = {"type": "filter", "name": ALL}

    @app.callback(Output(c.URL, "search"), Output(c.URL, "pathname"),
                  Output(filters, "value"), Input(c.URL, "search"), Input(filters, "value"),
                  State(c.URL, "pathname"), prevent_initial_call=True)
    def sync_filters(search, values, pathname):
        state = ViewState.from_url(pathname, search)
        names = [i["id"]["name"] for i in ctx.outputs_list[2]]
        if ctx.triggered_id == c.URL:  # a link or the back button: show it in the controls
            shown = dict(zip(c.FILTER_NAMES, controls_from(state), strict=True))
            return no_update, no_update, [shown[n] for n in names]
        new = state_from_controls(state, dict(zip(names, values, strict=True)))
        if new.href() == state.href():
            raise PreventUpdate
        path = new.path if new.path != state.path else no_update
        return new.search, path, [no_update] * len(names)

    @app.callback(Output(c.URL, "search", allow_duplicate=True), Input(c.RESET, "n_clicks"),
                  State(c.URL, "search"), prevent_initial_call=True)
    def reset_filters(clicks, search):
        if not clicks:
            raise PreventUpdate
        return ViewState(lang=ViewState.from_url("/", search).lang).search

    @app.callback(Output(c.VIEW, "children"), Output(c.META, "data"),
                  Input(c.URL, "pathname"), Input(c.URL, "search"), State(c.META, "data"))
    def render_view(pathname, search, meta):
        state = ViewState.from_url(pathname, search)
        if _same_view(meta, state):
            raise PreventUpdate  # only the package list changes: fill_table refreshes it
        return build_view(engine, state)

    @app.callback(Output({"type": "chart", "name": MATCH}, "children"),
                  Input({"type": "chart", "name": MATCH}, "id"), State(c.META, "data"))
    def fill_chart(slot_id, meta):
        state = ViewState.from_url(meta["path"], meta["search"])
        return build_slot(engine, "chart", slot_id["name"], state, meta)

    @app.callback(Output(c.chart_table_id(MATCH), "children"),
                  Input(c.chart_table_id(MATCH, "open"), "n_clicks"), State(c.META, "data"),
                  prevent_initial_call=True)
    def fill_chart_table(clicks, meta):
        if clicks % 2 == 0:
            raise PreventUpdate  # an even click closes the table: nothing to show
        state = ViewState.from_url(meta["path"], meta["search"])
        return build_slot(engine, "chart-table", ctx.triggered_id["name"], state, meta)

    @app.callback(Output({"type": "table", "name": MATCH}, "children"),
                  Input({"type": "table", "name": MATCH}, "id"), Input(c.URL, "search"),
                  State(c.URL, "pathname"), State(c.META, "data"))
    def fill_table(slot_id, search, pathname, meta):
        state = ViewState.from_url(pathname, search)
        if ctx.triggered_id == c.URL and (slot_id["name"] not in charts.LIST_SLOTS
                                          or not _same_view(meta, state)):
            raise PreventUpdate  # the view re-renders, or this table does not change
        return build_slot(engine, "table", slot_id["name"], state, meta)

    @app.callback(Output(c.URL, "pathname", allow_duplicate=True),
                  Output(c.URL, "search", allow_duplicate=True),
                  Input({"type": "graph", "name": ALL}, "clickData"), prevent_initial_call=True)
    def drill(_clicks):
        click = ctx.triggered[0]["value"] if ctx.triggered else None
        target = click["points"][0]["customdata"][0] if click else ""
        if not target:
            raise PreventUpdate
        path, _, query = target.partition("?")
        return path, f"?{query}" if query else ""

    @app.callback(Output(c.DOWNLOAD, "data"), Output(c.DOWNLOAD_STATUS, "children"),
                  Input(c.DOWNLOAD_BUTTON, "n_clicks"), State(c.URL, "pathname"),
                  State(c.URL, "search"), prevent_initial_call=True)
    def download(clicks, pathname, search):
        # The renderer also fires this when it inserts the filter bar (n_clicks None): only a
        # real click may build a workbook.
        if not clicks:
            raise PreventUpdate
        state = ViewState.from_url(pathname, search)
        return download_file(engine, state)


def download_file(engine, state: ViewState):
    """The Excel workbook of STATE for dcc.Download, and a status text for the page."""
    try:
        from dashboard import export
    except ImportError:
        return no_update, t("download_unavailable", state.lang)
    try:
        f = state.filters(options(engine))
        name, data = export.download_workbook(engine, f, state.lang)
    except Exception:
        log.exception("export failed")
        return no_update, t("download_failed", state.lang)
    return dcc.send_bytes(data, name), ""
