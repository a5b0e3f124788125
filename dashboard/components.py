"""Shared pieces of the page: `make_*` functions that return Dash components.

Tables are plain HTML tables (captions, header cells, right-aligned numbers): light on slow
networks, readable by screen readers, usable from the keyboard. Short numbers are shown,
the full value to the sen is in the cell's tooltip (title).
"""

import json

from dash import dcc, html

from . import format as fmt
from .figures import base_of, counted_of, kontrak_of, rate_of, savings_of
from .i18n import dropdown_labels, t

# Component ids (constants, so callbacks and tests name the same thing).
URL = "url"
LANG_STORE = "lang"
META = "view-meta"
HEADER = "header"
LANG_LINKS = "lang-links"
FILTERS = "filters"
FILTER_PANEL = "filter-panel"
VIEW = "view"
DOWNLOAD = "download"
DOWNLOAD_BUTTON = "download-button"
DOWNLOAD_STATUS = "download-status"
RESET = "reset-filters"
# Filter controls have pattern ids ({"type": "filter", "name": ...}): the filter bar is
# rendered by a callback (it follows the language), and a callback over ALL of them does not
# fail while the bar is not there yet.
F_YEAR_FROM, F_YEAR_TO = "year-from", "year-to"
F_KIND, F_METHOD, F_CATEGORY = "kind", "method", "category"
F_FUNDING, F_BASIS, F_FLAGGED = "funding", "basis", "flagged"
FILTER_NAMES = (F_YEAR_FROM, F_YEAR_TO, F_KIND, F_METHOD, F_CATEGORY, F_FUNDING, F_BASIS,
                F_FLAGGED)


def fid(name: str) -> dict:
    return {"type": "filter", "name": name}


def dom_id(pattern_id: dict) -> str:
    """The DOM id Dash gives a pattern id (keys sorted, compact JSON), for <label for>."""
    return json.dumps(dict(sorted(pattern_id.items())), separators=(",", ":"))
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True, "scrollZoom": False}
PAGE_SIZE = 25  # packages per page of the list


def slot(kind: str, name: str, lang: str):
    """A place a callback fills (kind "chart" or "table"); it says 'loading' until then."""
    return dcc.Loading(html.Div(t("loading", lang), id={"type": kind, "name": name},
                                className=f"slot slot-{kind}"),
                       delay_show=400, type="dot", color="#0072B2",
                       parent_className=f"slot-wrap slot-wrap-{name}")


def make_message(title: str, text: str, *extra, kind: str = "info"):
    """A boxed message in place of figures (empty database, no match, database error)."""
    return html.Div([html.H2(title), html.P(text), *extra], className=f"message {kind}",
                    role="alert" if kind == "error" else "status")


def money(value, lang: str, cls: str = "", tag=html.Span):
    """Short rupiah with the full value on hover, as a TAG element (a span, or a table
    cell)."""
    classes = f"{cls} money".strip()
    if value is None:
        return tag("–", className=classes)
    return tag(fmt.rupiah_short(value, lang), title=fmt.rupiah_full(value, lang),
               className=classes)


# ---- Header and language switch ---------------------------------------------------------

def make_header(lang: str):
    return html.Div([
        html.H1(t("app_title", lang)),
        html.P(t("app_subtitle", lang), className="subtitle"),
    ], className="titles")


def make_lang_links(state) -> list:
    """Two real links, the current language marked for screen readers."""
    items = []
    for code, label in (("id", "Bahasa Indonesia"), ("en", "English")):
        current = state.lang == code
        link = dcc.Link(label, href=state.href(lang=code), id=f"lang-{code}",
                        className="lang-link current" if current else "lang-link")
        items.append(html.Li(link, **({"aria-current": "true"} if current else {})))
    return html.Nav(html.Ul(items), **{"aria-label": t("lang_nav", state.lang)})


# ---- Filters --------------------------------------------------------------------------

def _field(label: str, control, name: str):
    return html.Div([html.Label(label, htmlFor=dom_id(fid(name)), id=f"label-{name}"), control],
                    className="field")


def _dropdown(name: str, options, value, placeholder: str, lang: str, multi=True):
    return dcc.Dropdown(id=fid(name), options=options, value=value, multi=multi,
                        placeholder=placeholder, labels=dropdown_labels(lang),
                        clearable=True, searchable=True, persistence=False)


def make_filter_bar(state, opts: dict):
    """The filter form; its values mirror the URL (see pages.frame)."""
    lang = state.lang
    year_from = state.year_from if state.view != "year" else int(state.code)
    year_to = state.year_to if state.view != "year" else int(state.code)
    # Values the URL asks for stay offered even without data (a link to 2031 shows "no
    # packages"): a dropdown would otherwise drop its value and rewrite the link.
    years = [{"label": str(y), "value": y}
             for y in sorted({*opts["years"], *filter(None, (year_from, year_to))})]
    groups = [{"label": t(f"cat_{g}", lang), "value": g}
              for g in _category_groups(opts) + [g for g in state.cat_groups
                                                 if g not in _category_groups(opts)]]
    methods = sorted({*opts["methods"], *state.methods})
    fundings = sorted({*opts["fundings"], *state.fundings})
    return html.Details([
        html.Summary(html.H2(t("filters_title", lang))),
        html.Div([
            html.Div([
                _field(t("year_from", lang), _dropdown(
                    F_YEAR_FROM, years, year_from, t("year_any", lang), lang, multi=False),
                    F_YEAR_FROM),
                _field(t("year_to", lang), _dropdown(
                    F_YEAR_TO, years, year_to, t("year_any", lang), lang, multi=False),
                    F_YEAR_TO)], className="years"),
            _field(t("method", lang), _dropdown(
                F_METHOD, methods, list(state.methods), t("method_all", lang), lang),
                F_METHOD),
            _field(t("category", lang), _dropdown(
                F_CATEGORY, groups, list(state.cat_groups), t("category_all", lang), lang),
                F_CATEGORY),
            _field(t("funding", lang), _dropdown(
                F_FUNDING, fundings, list(state.fundings), t("funding_all", lang),
                lang), F_FUNDING),
            _field(t("kind", lang), dcc.RadioItems(
                id=fid(F_KIND), value=state.kind or "all", inline=True, className="radios",
                options=[{"label": t("kind_all", lang), "value": "all"},
                         {"label": t("kind_tender", lang), "value": "tender"},
                         {"label": t("kind_nontender", lang), "value": "non-tender"}]),
                F_KIND),
            _field(t("basis", lang), dcc.RadioItems(
                id=fid(F_BASIS), value=state.basis, inline=True, className="radios",
                options=[{"label": t("basis_pagu", lang), "value": "pagu"},
                         {"label": t("basis_hps", lang), "value": "hps"}]), F_BASIS),
            html.Div(dcc.Checklist(
                id=fid(F_FLAGGED), value=["1"] if state.flagged else [], className="check",
                options=[{"label": t("flagged", lang), "value": "1"}]), className="field"),
        ], className="filter-grid"),
        html.Div([
            html.Button(t("reset", lang), id=RESET, className="button secondary",
                        type="button"),
            html.Button(t("download", lang), id=DOWNLOAD_BUTTON, className="button",
                        type="button", title=t("download_hint", lang)),
            html.Span(id=DOWNLOAD_STATUS, className="download-status", role="status"),
        ], className="filter-actions"),
    ], className="filters", id=FILTER_PANEL, open=True)


def _category_groups(opts: dict) -> list[str]:
    from .queries import CATEGORY_GROUPS, category_group

    present = {category_group(c) for c in opts["categories"]}
    return [g for g in CATEGORY_GROUPS if g in present]


# ---- Breadcrumb, heading, cards ---------------------------------------------------------

def make_breadcrumb(crumbs: list[tuple[str, str | None]], lang: str):
    """CRUMBS: (label, href) from Indonesia down; the last one is the current page.

    None at the top (Indonesia alone): the heading already says where one is.
    """
    if len(crumbs) < 2:
        return None
    items = []
    for i, (label, href) in enumerate(crumbs):
        last = i == len(crumbs) - 1
        item = html.Span(label, **{"aria-current": "page"}) if last or not href else \
            dcc.Link(label, href=href)
        items.append(html.Li(item))
    return html.Nav(html.Ol(items), className="breadcrumb",
                    **{"aria-label": t("crumb_label", lang)})


def make_cards(total, lang: str, basis: str, flagged: bool):
    """Savings, the base (pagu or HPS), contract value and coverage, as four cards."""
    counted = counted_of(total, basis)
    # Sums over no counted package (on HPS: none with one) are dashes, not "Rp0".
    savings, base, kontrak = ((savings_of(total, basis), base_of(total, basis),
                               kontrak_of(total, basis)) if counted else (None, None, None))
    rate = rate_of(total, basis)
    rate_key = "card_rate_hps" if basis == "hps" else "card_rate_pagu"
    coverage = t("coverage_hps" if basis == "hps" else "coverage", lang,
                 n=fmt.integer(counted, lang), total=fmt.integer(total.packages, lang))
    flagged_key = "included_note" if flagged else "excluded_note"
    notes = [html.P(coverage, className="card-note")]
    if total.excluded:
        notes.append(html.P(t(flagged_key, lang, n=fmt.integer(total.excluded, lang)),
                            className="card-note warn"))
    cards = [
        _card(t("card_savings", lang),
              money(savings, lang, "negative" if savings is not None and savings < 0 else ""),
              html.P(t(rate_key, lang, rate=fmt.percent(rate, lang)), className="card-note"),
              main=True),
        _card(t("card_hps" if basis == "hps" else "card_pagu", lang),
              money(base, lang),
              html.P(t("card_counted_note", lang), className="card-note")),
        _card(t("card_kontrak", lang), money(kontrak, lang),
              html.P(t("card_counted_note", lang), className="card-note")),
        _card(t("card_packages", lang),
              html.Span(fmt.integer(counted, lang), className="money"), *notes),
    ]
    return html.Section(cards, className="cards", **{"aria-label": t("cards_label", lang)})


def _card(label: str, value, *notes, main: bool = False):
    return html.Div([html.H3(label), html.P(value, className="card-value"), *notes],
                    className="card main" if main else "card")


# ---- Charts and their tables ------------------------------------------------------------

def make_chart_block(fig, title: str, name: str, lang: str, rows, targets, basis: str,
                     notes=()):
    """The chart with its title as a heading, a hint when bars link somewhere, and a
    disclosure for the same numbers as a table with links (keyboard and screen-reader users
    drill down there): the table is filled when it is opened (chart_table_id)."""
    clickable = any(targets)
    parts = [html.H3(title, className="chart-title"),
             dcc.Graph(id={"type": "graph", "name": name}, figure=fig, config=GRAPH_CONFIG,
                       className="graph clickable" if clickable else "graph")]
    if clickable:
        parts.append(html.P(t("chart_hint_click", lang), className="hint"))
    if any(savings_of(r, basis) < 0 for r in rows):
        parts.append(html.P(t("negative_note", lang, basis="HPS" if basis == "hps" else "pagu"),
                            className="hint"))
    parts += [html.P(n, className="hint") for n in notes]
    parts.append(html.Details([
        html.Summary(t("chart_table", lang), id=chart_table_id(name, "open")),
        html.Div(html.P(t("loading", lang), className="empty"), id=chart_table_id(name))]))
    return html.Div(parts, className="chart-block")


def chart_table_id(name: str, part: str = "table") -> dict:
    """The pattern id of chart NAME's data table ("table") or of the summary line that opens
    it ("open")."""
    return {"type": f"chart-{part}", "name": name}


def make_summary_table(rows, labels, targets, lang: str, basis: str, caption: str):
    base_col = "col_hps" if basis == "hps" else "col_pagu"
    head = [t("col_group", lang), t("col_savings", lang), t("col_rate", lang),
            t(base_col, lang), t("col_kontrak", lang), t("col_contracted", lang)]
    body = []
    for row, label, target in zip(rows, labels, targets, strict=True):
        name = dcc.Link(label, href=target) if target else label
        body.append(html.Tr([
            html.Th(name, scope="row"),
            *_measure_cells(row, basis, lang, savings_of, rate_of, base_of, kontrak_of),
            _num(fmt.integer(counted_of(row, basis), lang))]))
    return _table(caption, head, body)


def _num(content):
    return html.Td(content, className="num")


def _money_cell(value, lang: str):
    """A cell of money, its hover on the cell itself: a span inside each cell was a fifth of
    a page of packages' components (100 of 473), each built and sent on every answer."""
    return money(value, lang, "num", html.Td)


def _measure_cells(row, basis: str, lang: str, *measures) -> list:
    """ROW's cells of MEASURES (money, or rate_of); dashes where none of its packages is
    counted: its sums are over nothing, and "Rp0" would read as savings of nothing."""
    if not counted_of(row, basis):
        return [_uncounted_cell(lang) for _ in measures]
    return [_num(fmt.percent(rate_of(row, basis), lang)) if measure is rate_of
            else _money_cell(measure(row, basis), lang) for measure in measures]


def _uncounted_cell(lang: str):
    """A dash with its reason on hover and for screen readers (a title alone reaches
    neither touch screens nor every screen reader)."""
    reason = t("none_counted", lang)
    return html.Td([html.Span("–", **{"aria-hidden": "true"}),
                    html.Span(reason, className="visually-hidden")],
                   title=reason, className="num money")


def _table(caption: str, head: list[str], body: list, cls: str = ""):
    return html.Div(html.Table([
        html.Caption(caption),
        html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
        html.Tbody(body),
    ], className=f"data {cls}".strip()), className="table-scroll", tabIndex=0)


def make_satker_table(rows, state, lang: str, caption: str):
    """Work units with links that show their packages in the list below."""
    basis = state.basis
    head = [t("col_satker", lang), t("col_klpd", lang), t("col_savings", lang),
            t("col_rate", lang), t("col_kontrak", lang), t("col_contracted", lang)]
    body = [html.Tr([
        html.Th(dcc.Link(r.name or t("unknown", lang),
                         href=state.href(satker=r.group, page=1) + "#paket"), scope="row"),
        html.Td(r.extra.get("klpd") or "–"),
        *_measure_cells(r, basis, lang, savings_of, rate_of, kontrak_of),
        _num(fmt.integer(counted_of(r, basis), lang)),
    ]) for r in rows]
    return _table(caption, head, body)


def make_packages_table(rows, count: int, state, lang: str, caption: str):
    """One page of packages, with sort links and previous/next links."""
    head = [t("col_name", lang), t("col_code", lang), t("col_year", lang), t("col_pagu", lang),
            t("col_hps", lang), t("col_kontrak", lang), t("col_savings", lang),
            t("col_flags", lang)]
    body = [_package_row(r, lang, state.basis) for r in rows]
    first = (state.page - 1) * PAGE_SIZE + 1
    shown = t("packages_count", lang, first=fmt.integer(first, lang),
              last=fmt.integer(first + len(rows) - 1, lang), total=fmt.integer(count, lang))
    return html.Div([
        _sort_links(state, lang),
        html.P(shown, className="hint") if rows else html.P(t("packages_none", lang)),
        _table(caption, head, body, "packages") if rows else None,
        _page_links(state, count, lang),
    ])


def _package_row(r: dict, lang: str, basis: str):
    base = r["hps"] if basis == "hps" else r["pagu"]
    rate = r["savings"] / base if r["savings"] is not None and base else None
    savings = ([money(r["savings"], lang), " ", html.Small(fmt.percent(rate, lang))]
               if r["savings"] is not None else html.Small(t("no_contract", lang)))
    return html.Tr([
        html.Th(r["name"] or "–", scope="row", className="name"),
        html.Td(html.Code(f"{r['code']}"), title=r["kind"]),
        html.Td(r["year"] or "–"),
        _money_cell(r["pagu"], lang), _money_cell(r["hps"], lang),
        _money_cell(r["kontrak"], lang), _num(savings),
        html.Td(_flag_list(r, lang)),
    ], className="excluded" if r["excluded"] else None)


def _flag_list(r: dict, lang: str):
    codes = [c for c in (r["flags"] or "").split(",") if c and not c.startswith("tanpa_")]
    items = [html.Li(flag_label(c, lang)) for c in codes]
    if r["excluded"]:
        items.insert(0, html.Li(html.Strong(t("excluded_mark", lang))))
    return html.Ul(items, className="flags") if items else "–"


def flag_label(code: str, lang: str) -> str:
    try:
        return t(f"flag_{code}", lang)
    except KeyError:
        return code


def _sort_links(state, lang: str):
    from .queries import PACKAGE_SORTS

    links = []
    for key in PACKAGE_SORTS:
        label = t(f"sort_{key}", lang)
        links.append(html.Li(html.Span(label, **{"aria-current": "true"}) if key == state.sort
                             else dcc.Link(label, href=state.href(sort=key, page=1) + "#paket")))
    return html.Div([html.Span(t("sort_label", lang)), html.Ul(links)], className="sorts")


def _page_links(state, count: int, lang: str):
    pages = max(1, -(-count // PAGE_SIZE))
    prev = dcc.Link(t("prev", lang), href=state.href(page=state.page - 1) + "#paket",
                    className="button secondary") if state.page > 1 else None
    nxt = dcc.Link(t("next", lang), href=state.href(page=state.page + 1) + "#paket",
                   className="button secondary") if state.page < pages else None
    if not prev and not nxt:
        return None
    return html.Nav([prev, html.Span(f"{state.page} / {pages}"), nxt], className="pager",
                    **{"aria-label": t("page_nav", lang)})


# ---- Definitions ------------------------------------------------------------------------

def make_definitions(total, state, lang: str, reasons_slot):
    """What savings means, which packages count, how many were left out and why."""
    basis_label = t("basis_hps" if state.basis == "hps" else "basis_pagu", lang)
    counted_key = "def_counted_hps" if state.basis == "hps" else "def_counted"
    counted = counted_of(total, state.basis)
    if not total.excluded:
        left_out = t("def_excluded_none", lang)
    elif state.flagged:
        left_out = t("def_included", lang, n=fmt.integer(total.excluded, lang))
    else:
        left_out = t("def_excluded", lang, n=fmt.integer(total.excluded, lang))
    return html.Details([
        html.Summary(html.H2(t("def_title", lang))),
        html.Ul([
            html.Li(t("def_savings_pagu", lang)), html.Li(t("def_savings_hps", lang)),
            html.Li(t("def_basis_now", lang, basis=basis_label)),
            html.Li(t(counted_key, lang, n=fmt.integer(counted, lang),
                      total=fmt.integer(total.packages, lang))),
            html.Li([left_out, reasons_slot if total.excluded else None]),
            html.Li(t("def_year", lang)), html.Li(t("def_nontender", lang)),
            html.Li(t("def_source", lang)),
        ]),
    ], className="definitions", open=True, id="definisi")


def make_reasons(rows, lang: str):
    if not rows:
        return None
    return html.Div([
        html.P(t("def_reasons", lang)),
        html.Ul([html.Li(f"{flag_label(r['flag'], lang)}: {fmt.integer(r['packages'], lang)}")
                 for r in rows]),
    ])
