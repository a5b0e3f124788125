"""The dashboard without a browser: its queries, figures, number formats, texts, URL state and
page states (empty database, no match, unreadable database), on SQLite and PostgreSQL.

KNOWN is a small dataset written straight into the packages table, so every expected figure
below can be checked by hand.
"""

import io
import json
import string
import sys
import types
from contextlib import redirect_stdout
from decimal import Decimal

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from dash import dcc, html
from sqlalchemy import insert

from dashboard import format as fmt
from dashboard import queries as q
from dashboard.figures import BLUE, VERMILLION, chart_title, ranked_bars, year_bars
from dashboard.i18n import EN, ID, dropdown_labels, t
from dashboard.pages import ViewState, options
from dashboard.pages.frame import (
    build_slot,
    build_view,
    controls_from,
    download_file,
    state_from_controls,
)
from etl import schema

D = Decimal


def _pkg(kind, code, year, prov, reg, method, category, funding, pagu, hps, kontrak, **extra):
    return {"kind": kind, "code": code, "year": year, "province_code": prov,
            "regency_code": reg, "method": method, "category": category, "funding": funding,
            "pagu": D(pagu) if pagu else None, "hps": D(hps) if hps else None,
            "kontrak": D(kontrak) if kontrak else None, "name": f"Paket {code}",
            "satker_code": extra.get("satker_code", "S-" + (reg or "x")),
            "satker_name": extra.get("satker_name", "Dinas " + (reg or "x")),
            "klpd_code": extra.get("klpd_code", "D1"), "klpd_name": extra.get("klpd_name", "Pemda"),
            "excluded": extra.get("excluded", False),
            "flags": extra.get("flags")}


KNOWN = [
    _pkg("tender", "T1", 2023, "32", "32.04", "Tender", "Pekerjaan Konstruksi", "APBD",
         "1000000000", "950000000.50", "900000000.25", satker_code="S1",
         satker_name="Dinas PU"),
    _pkg("tender", "T2", 2024, "32", "32.73", "Seleksi",
         "Jasa Konsultansi Badan Usaha Non Konstruksi", "APBD", "200000000", "190000000",
         "150000000", flags="hemat_tinggi_vs_hps"),
    _pkg("non-tender", "N1", 2024, "32", "32.04", "Pengadaan Langsung", "Pengadaan Barang",
         "APBD", "50000000", "48000000", "47500000", satker_code="S1", satker_name="Dinas PU"),
    _pkg("non-tender", "N2", 2024, "63", "63.71", "Pengadaan Langsung", "Jasa Lainnya", "APBN",
         "80000000", "79000000", None),
    # A typo: the contract is ten times its HPS. Flagged and left out of the totals.
    _pkg("tender", "T3", 2025, "63", "63.09", "Tender", "Pekerjaan Konstruksi", "APBN",
         "19999776000", "19999776000", "194978195000", excluded=True,
         flags="kontrak_sangat_tinggi"),
    _pkg("tender", "T4", 2025, "63", "63.09", "Tender", "Pekerjaan Konstruksi Terintegrasi",
         "APBN", "3000000000", "2900000000", "3100000000", flags="kontrak_di_atas_hps"),
    _pkg("non-tender", "N3", 2025, None, None, None, None, None, "10000000", None, "9000000"),
]
FLAGS = [
    {"kind": "tender", "code": "T3", "flag": "kontrak_sangat_tinggi", "excludes": True,
     "detail": "Nilai kontrak 9,7× HPS: hampir pasti salah ketik"},
    {"kind": "tender", "code": "T4", "flag": "kontrak_di_atas_hps", "excludes": False,
     "detail": "Nilai kontrak di atas HPS (106,9% dari HPS)"},
]


def seed(engine) -> None:
    """KNOWN into packages, and the savings cube the loader would keep beside them."""
    from etl.load import refresh_cube

    with engine.begin() as conn:
        conn.execute(insert(schema.packages), KNOWN)
        conn.execute(insert(schema.package_flags), FLAGS)
        refresh_cube(conn, {(p["year"], p["kind"]) for p in KNOWN})


@pytest.fixture
def known(engine):
    seed(engine)
    return engine


def find(component, predicate):
    """Every component in the tree under COMPONENT for which PREDICATE holds."""
    if isinstance(component, list | tuple):
        return [c for child in component for c in find(child, predicate)]
    found = [component] if predicate(component) else []
    children = getattr(component, "children", None)
    if isinstance(children, list | tuple):
        for child in children:
            found += find(child, predicate)
    elif children is not None and not isinstance(children, str | int | float):
        found += find(children, predicate)
    return found


def text_of(component) -> str:
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def graphs(component):
    return find(component, lambda c: isinstance(c, dcc.Graph))


# ---- Headline figures: the dashboard and `hemat summary` agree ------------------------------

def test_headline_known_values(known):
    h = q.headline(known, q.Filters())
    assert (h.packages, h.contracted, h.excluded) == (7, 5, 1)
    assert h.pagu == D("4260000000.00")
    assert h.kontrak == D("4206500000.25")
    assert h.savings_vs_pagu == D("53499999.75")
    assert h.hps == D("4088000000.50")
    assert h.savings_vs_hps == D("-109499999.75")
    assert (h.extra["year_min"], h.extra["year_max"]) == (2023, 2025)
    flagged = q.headline(known, q.Filters(include_flagged=True))
    assert flagged.contracted == 6
    assert flagged.kontrak == D("4206500000.25") + D("194978195000")


def _cli_json(db_url: str, *args) -> list[dict]:
    from hemat.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["summary", "--format", "json", "--db", db_url, *args]) == 0
    return json.loads(out.getvalue())


@pytest.mark.parametrize("args, f", [
    ((), q.Filters()),
    (("--year", "2024", "--year", "2025", "--kind", "tender"),
     q.Filters(years=(2024, 2025), kind="tender")),
    (("--province", "32", "--include-flagged"), q.Filters(provinces=("32",), include_flagged=True)),
])
def test_headline_equals_hemat_summary(known, db_url, args, f):
    rows = _cli_json(db_url, "--by", "year", *args)
    h = q.headline(known, f)
    for key in ("pagu", "hps", "kontrak", "savings_vs_pagu", "savings_vs_hps"):
        assert sum(D(r[key]) for r in rows) == getattr(h, key), key
    assert sum(r["contracted"] for r in rows) == h.contracted
    assert sum(r["packages"] for r in rows) == h.packages
    total = q.total(known, f)
    assert (total.pagu, total.kontrak, total.contracted) == (h.pagu, h.kontrak, h.contracted)


def test_cards_show_headline(known):
    children, meta = build_view(known, ViewState())
    text = text_of(children)
    assert "Seluruh Indonesia, tahun anggaran 2023–2025" in text
    assert "Rp53,5 juta" in text  # savings vs pagu
    assert "1,3% dari pagu" in text  # 53,499,999.75 / 4,260,000,000
    assert "5 dari 7 paket punya kontrak" in text
    assert "1 paket tidak wajar dikeluarkan" in text
    full = find(children, lambda c: getattr(c, "title", None) == "Rp53.499.999,75")
    assert full, "the full value is on hover"
    assert meta["period"] == "2023–2025"


def test_cards_in_english_and_on_hps(known):
    children, _ = build_view(known, ViewState(lang="en", basis="hps"))
    text = text_of(children)
    assert "-Rp109.5 million" in text
    assert "4 of 7 packages have an HPS and a contract" in text
    assert "All of Indonesia, budget years 2023–2025" in text


def test_cards_over_no_counted_package_show_dashes_not_rp0():
    from dashboard import components as c

    zero = D("0.00")
    # Two packages with a contract on pagu, none with an HPS.
    total = q.SummaryRow("all", "Semua paket", 2, 2, D("500.00"), zero, D("400.00"),
                         D("100.00"), zero, 0)
    amounts = [x.children for x in find(c.make_cards(total, "en", "hps", False),
                                        lambda x: "money" in (getattr(x, "className", "")
                                                              or ""))]
    assert amounts == ["–", "–", "–", "0"]
    amounts = [x.children for x in find(c.make_cards(total, "en", "pagu", False),
                                        lambda x: "money" in (getattr(x, "className", "")
                                                              or ""))]
    assert amounts == ["Rp100", "Rp500", "Rp400", "2"]


# ---- Drill-down queries -------------------------------------------------------------------

def test_province_drill_down_queries(known):
    f = q.Filters(provinces=("32",))
    regencies = {r.group: r for r in q.summary(known, "regency", f)}
    assert set(regencies) == {"32.04", "32.73"}
    assert regencies["32.04"].savings_vs_pagu == D("102499999.75")
    satkers = q.satker_summary(known, f)
    assert [s.group for s in satkers] == ["D1:S1", "D1:S-32.73"]
    assert satkers[0].name == "Dinas PU" and satkers[0].contracted == 2
    assert satkers[0].extra["klpd"] == "Pemda"


@pytest.mark.parametrize("basis", ["pagu", "hps"])
def test_work_units_without_a_counted_package_come_last(engine, basis):
    """Largest savings first, a unit that spent more than its pagu after those that saved,
    and a unit without a counted package (on HPS: none with one) last: it has no savings
    to rank, though they sum to 0."""
    from etl.load import refresh_cube

    def pkg(code, unit, pagu, hps, kontrak):
        return _pkg("tender", code, 2024, "32", "32.04", "Tender", "Pengadaan Barang", "APBD",
                    pagu, hps, kontrak, satker_code=unit, satker_name=f"Dinas {unit}")

    rows = [pkg("T1", "S1", "100000000", "95000000", "80000000"),
            pkg("T2", "S2", "100000000", "95000000", "120000000"),  # above its pagu
            pkg("T3", "S3", "100000000", None, None),  # no contract yet
            pkg("T4", "S4", "100000000", None, "90000000")]  # no HPS
    with engine.begin() as conn:
        conn.execute(insert(schema.packages), rows)
        refresh_cube(conn, {(2024, "tender")})
    order = {"pagu": ["D1:S1", "D1:S4", "D1:S2", "D1:S3"],
             "hps": ["D1:S1", "D1:S2", "D1:S3", "D1:S4"]}[basis]
    assert [u.group for u in q.satker_summary(engine, basis=basis)] == order
    assert [u.group for u in q.satker_summary(engine, basis=basis, limit=None)] == order


def test_packages_without_a_work_unit_are_named_as_unknown_and_listed(engine):
    from etl.load import refresh_cube

    def pkg(code, reg, pagu, kontrak, **extra):
        return _pkg("tender", code, 2024, "32", reg, "Tender", "Pengadaan Barang", "APBD",
                    pagu, None, kontrak, **extra)

    rows = [pkg("T9", "32.04", "100000000", "80000000", satker_code=None, satker_name=None),
            # The same buyer's unit with a code, and a code without a buyer: other units.
            pkg("T8", "32.04", "70000000", "60000000", satker_code="S7", satker_name="Dinas A"),
            pkg("T7", "32.73", "30000000", "25000000", satker_code="S8", klpd_code=None,
                satker_name="Dinas B", klpd_name=None),
            # An analyst's recap names the unit and buyer but gives neither code: its name
            # must not stand for every package without codes.
            pkg("R1", "32.73", "50000000", "44000000", satker_code=None, klpd_code=None,
                satker_name="Dinas PUPR", klpd_name="Provinsi Jawa Barat")]
    with engine.begin() as conn:
        conn.execute(insert(schema.packages), rows)
        refresh_cube(conn, {(2024, "tender")})
    units = q.satker_summary(engine)
    assert [(u.group, u.name, u.extra["klpd"], u.packages) for u in units] == [
        ("D1:", None, "Pemda", 1),  # the buyer is still known
        ("D1:S7", "Dinas A", "Pemda", 1), (":", None, None, 1), (":S8", "Dinas B", None, 1)]
    state = ViewState(view="province", code="32")
    table = build_slot(engine, "table", "satker", state, {"period": "2024", "place": "Jawa Barat"})
    assert text_of(table).count("Tidak diketahui") == 2 and "unresolved" not in text_of(table)
    # Each unit's total leads to exactly its packages, the unknown ones too.
    hrefs = [link.href for link in find(table, lambda c: isinstance(c, dcc.Link))]
    assert hrefs[0] == "/provinsi/32?satker=D1%3A#paket"
    assert hrefs[2] == "/provinsi/32?satker=%3A#paket"
    chosen = [ViewState.from_url("/provinsi/32", h.split("#")[0].split("?", 1)[1]) for h in hrefs]
    for unit, view in zip(units, chosen, strict=True):
        listed, count = q.packages_page(engine, q.Filters(), satker=view.satker)
        assert count == unit.packages == len(listed)
        assert sum(r["savings"] for r in listed) == unit.savings_vs_pagu
    meta = {"period": "2024", "place": "Jawa Barat"}
    for view, heading, shown, hidden in ((chosen[0], "Tidak diketahui (Pemda)", "T9", "T8"),
                                         (chosen[2], "Tidak diketahui (–)", "R1", "T7")):
        block = text_of(build_slot(engine, "table", "packages", view, meta))
        assert f"Paket {heading}, 2024" in block
        assert f"Paket {shown}" in block and f"Paket {hidden}" not in block


def test_a_colon_in_a_buyer_code_keeps_its_unit_apart(engine):
    """The unit key puts the first colon between the codes: one inside a KLPD code is
    escaped, so that its link leads to its packages and no others."""
    from etl.load import refresh_cube

    rows = [_pkg("tender", "C1", 2024, "32", "32.04", "Tender", "Pengadaan Barang", "APBD",
                 "100000000", None, "90000000", klpd_code="D1:X", satker_code="S%1",
                 satker_name="Dinas Satu", klpd_name="Pemda X"),
            _pkg("tender", "C2", 2024, "32", "32.04", "Tender", "Pengadaan Barang", "APBD",
                 "100000000", None, "80000000", klpd_code="D1", satker_code="X:S%1",
                 satker_name="Dinas Dua", klpd_name="Pemda Satu")]
    with engine.begin() as conn:
        conn.execute(insert(schema.packages), rows)
        refresh_cube(conn, {(2024, "tender")})
    units = q.satker_summary(engine)
    assert [u.group for u in units] == ["D1:X:S%1", "D1%3AX:S%1"]
    for unit, code, names in zip(units, ["C2", "C1"], [("Dinas Dua", "Pemda Satu"),
                                                        ("Dinas Satu", "Pemda X")], strict=True):
        listed, count = q.packages_page(engine, q.Filters(), satker=unit.group)
        assert count == 1 and [r["code"] for r in listed] == [code]
        assert q.unit_names(engine, unit.group) == names == (unit.name, unit.extra["klpd"])


@pytest.mark.parametrize("klpd,code", [("D1:X", "S1"), ("D%3A1", "S:1"), ("D%1", None),
                                       (None, "S%25"), (None, None), ("K34", "626131")])
def test_work_unit_keys_read_back(klpd, code):
    assert q._parse_unit(q.work_unit(klpd, code)) == (klpd, code)


def test_work_unit_key_of_an_older_link_has_no_colon():
    assert q._parse_unit("1.01.0.00.0.00.01.0000") is None


def test_one_work_unit_code_in_two_governments_makes_two_units(engine):
    """SIPD-style satker codes repeat in every local government: a work unit is the pair
    (KLPD, satker), so each government's office keeps its own name, buyer and total."""
    from etl.load import refresh_cube

    code = "1.01.0.00.0.00.01.0000"
    rows = [_pkg("tender", "B1", 2024, "63", "63.03", "Tender", "Pekerjaan Konstruksi", "APBD",
                 "1000000000", "950000000", "800000000", satker_code=code, klpd_code="D401",
                 klpd_name="Kab. Banjar", satker_name="DINAS PENDIDIKAN DAN KEBUDAYAAN"),
            _pkg("tender", "B2", 2024, "63", "63.05", "Tender", "Pekerjaan Konstruksi", "APBD",
                 "500000000", "480000000", "450000000", satker_code=code, klpd_code="D405",
                 klpd_name="Kab. Tapin", satker_name="DINAS PENDIDIKAN"),
            _pkg("tender", "B3", 2024, "63", "63.05", "Tender", "Pengadaan Barang", "APBD",
                 "300000000", "290000000", "280000000", satker_code=code, klpd_code="D405",
                 klpd_name="Kab. Tapin", satker_name="DINAS PENDIDIKAN")]
    with engine.begin() as conn:
        conn.execute(insert(schema.packages), rows)
        refresh_cube(conn, {(2024, "tender")})
    units = q.satker_summary(engine, q.Filters(provinces=("63",)))
    assert [(u.group, u.name, u.extra["klpd"], u.packages, u.savings_vs_pagu) for u in units] == [
        ("D401:" + code, "DINAS PENDIDIKAN DAN KEBUDAYAAN", "Kab. Banjar", 1, D("200000000.00")),
        ("D405:" + code, "DINAS PENDIDIKAN", "Kab. Tapin", 2, D("70000000.00")),
    ]
    assert units == q.satker_summary(engine, q.Filters(provinces=("63",)), from_packages=True)
    listed, count = q.packages_page(engine, q.Filters(), satker="D405:" + code, sort="nama")
    assert count == 2 and [r["code"] for r in listed] == ["B2", "B3"]
    state = ViewState(view="province", code="63")
    table = build_slot(engine, "table", "satker", state, {"period": "2024", "place": "Kalsel"})
    hrefs = [link.href for link in find(table, lambda c: isinstance(c, dcc.Link))]
    assert hrefs == [f"/provinsi/63?satker=D401%3A{code}#paket",
                     f"/provinsi/63?satker=D405%3A{code}#paket"]
    chosen = ViewState.from_url("/provinsi/63", hrefs[1].split("#")[0].split("?", 1)[1])
    block = build_slot(engine, "table", "packages", chosen, {"period": "2024", "place": "Kalsel"})
    assert "Paket B2" in text_of(block) and "Paket B1" not in text_of(block)
    assert "Paket DINAS PENDIDIKAN (Kab. Tapin), 2024" in text_of(block)
    # A link of older versions (the code alone) lists the code in every buyer, named by none.
    older = text_of(build_slot(engine, "table", "packages", state.with_(satker=code),
                               {"period": "2024", "place": "Kalsel"}))
    assert "Menampilkan 1–3 dari 3 paket." in older and "(–), 2024" in older


def test_packages_page_sorts_pages_and_counts(known):
    rows, count = q.packages_page(known, q.Filters(), limit=3)
    assert count == 7
    assert [r["code"] for r in rows] == ["T1", "T2", "N1"]  # largest savings vs pagu first
    assert rows[0]["savings"] == D("99999999.75")
    rows, count = q.packages_page(known, q.Filters(), limit=3, offset=6)
    assert count == 7 and len(rows) == 1
    rows, _ = q.packages_page(known, q.Filters(), sort="pagu", limit=1)
    assert rows[0]["code"] == "T3"  # flagged packages are listed, marked
    assert rows[0]["excluded"] is True
    rows, count = q.packages_page(known, q.Filters(), satker="D1:S1", sort="nama")
    assert count == 2 and [r["code"] for r in rows] == ["N1", "T1"]
    rows, count = q.packages_page(known, q.Filters(), satker="D2:S1")
    assert count == 0 and rows == []
    rows, count = q.packages_page(known, q.Filters(), satker="S1")  # a link of older versions
    assert count == 2
    rows, _ = q.packages_page(known, q.Filters(), basis="hps", limit=1)
    assert rows[0]["code"] == "T1" and rows[0]["savings"] == D("50000000.25")
    rows, _ = q.packages_page(known, q.Filters(), sort="tahun")  # newest, then largest savings
    assert [r["code"] for r in rows] == ["N3", "T4", "T3", "T2", "N1", "N2", "T1"]


def test_category_groups(known):
    assert q.category_group("Jasa Konsultansi Badan Usaha Konstruksi") == "konsultansi"
    assert q.category_group("Pekerjaan Konstruksi Terintegrasi") == "konstruksi"
    assert q.category_group("Pengadaan Barang") == "barang"
    assert q.category_group("Jasa Lainnya") == "jasa_lainnya"
    assert q.category_group(None) == q.UNRESOLVED
    groups = {r.group: r for r in q.summary_by_category_group(known)}
    assert set(groups) == {"konstruksi", "konsultansi", "barang", "jasa_lainnya", "unresolved"}
    konstruksi = groups["konstruksi"]
    assert (konstruksi.packages, konstruksi.contracted, konstruksi.excluded) == (3, 2, 1)
    assert konstruksi.savings_vs_pagu == D("-0.25")  # T1 +99,999,999.75, T4 −100,000,000


def test_filter_options_and_category_filter(known):
    opts = q.filter_options(known)
    assert opts["years"] == [2023, 2024, 2025]
    assert opts["methods"] == ["Pengadaan Langsung", "Seleksi", "Tender"]
    assert opts["fundings"] == ["APBD", "APBN"]
    f = ViewState(cat_groups=("konstruksi",)).filters(opts)
    assert set(f.categories) == {"Pekerjaan Konstruksi", "Pekerjaan Konstruksi Terintegrasi"}
    assert q.headline(known, f).contracted == 2


def test_excluded_reasons_in_definitions(known):
    assert q.excluded_reasons(known, q.Filters()) == [
        {"flag": "kontrak_sangat_tinggi", "packages": 1}]
    state = ViewState()
    reasons = build_slot(known, "table", "reasons", state, {"period": "2023–2025"})
    assert "Kontrak jauh di atas HPS/pagu (salah ketik): 1" in text_of(reasons)
    children, _ = build_view(known, state)
    text = text_of(children)
    assert "Penghematan = pagu − nilai kontrak" in text
    assert "Hanya paket yang punya pagu dan nilai kontrak yang dihitung: 5 dari 7" in text
    assert "1 paket berkontrak ditandai tidak wajar" in text


# ---- Figures ------------------------------------------------------------------------------

def plotly_figure(fig: dict) -> go.Figure:
    """FIG as plotly reads it, which fails on any property plotly does not know; and plotly
    would send it to the browser exactly as the dashboard does."""
    drawn = go.Figure(fig)
    assert json.loads(pio.to_json(drawn)) == json.loads(pio.to_json(fig, validate=False))
    return drawn


def _chart(engine, name, state, meta):
    block = build_slot(engine, "chart", name, state, meta)
    (graph,) = graphs(block)
    title = text_of(find(block, lambda c: isinstance(c, html.H3)))
    return plotly_figure(graph.figure), title, block


def test_province_chart(known):
    state = ViewState()
    fig, title, block = _chart(known, "province", state, {"period": "2023–2025", "place": ""})
    assert title == "Penghematan per provinsi, 2023–2025 (Rp juta)"
    bar = fig.data[0]
    assert bar.orientation == "h"
    assert list(bar.ticktext if hasattr(bar, "ticktext") else fig.layout.yaxis.ticktext) == [
        "Jawa Barat<br><b>Rp152,5 juta (12,2%)</b>",
        "Kalimantan Selatan<br><b>-Rp100,0 juta (-3,3%)</b>"]
    assert list(bar.marker.color) == [BLUE, VERMILLION]
    assert bar.customdata[0][0] == "/provinsi/32"  # a click drills in
    assert bar.customdata[0][1] == "Rp152.499.999,75"  # hover: the full value
    text = text_of(block)
    assert "1 paket tanpa provinsi yang dikenali" in text
    # The data table is not in the slot: it is built when its reader opens it.
    assert not find(block, lambda c: isinstance(c, (html.Table, dcc.Link)))
    (opener,) = find(block, lambda c: isinstance(c, html.Summary))
    assert opener.id == {"type": "chart-open", "name": "province"}
    assert text_of(opener) == "Tabel data grafik ini"
    table = build_slot(known, "chart-table", "province", state,
                       {"period": "2023–2025", "place": ""})
    assert text_of(find(table, lambda c: isinstance(c, html.Caption))[0]) == title
    rows = find(table, lambda c: isinstance(c, html.Tr))[1:]
    assert [text_of(r) for r in rows] == [
        "Jawa Barat Rp152,5 juta 12,2% Rp1,3 miliar Rp1,1 miliar 3",
        "Kalimantan Selatan -Rp100,0 juta -3,3% Rp3,0 miliar Rp3,1 miliar 1"]
    links = find(table, lambda c: isinstance(c, dcc.Link))
    assert [link.href for link in links] == ["/provinsi/32", "/provinsi/63"]


def test_regency_year_method_category_charts(known):
    state = ViewState(view="province", code="32", year_from=2023, year_to=2024)
    meta = {"period": "2023–2024", "place": "Jawa Barat"}
    fig, title, _ = _chart(known, "regency", state, meta)
    assert title == "Penghematan per kabupaten/kota di Jawa Barat, 2023–2024 (Rp juta)"
    assert fig.data[0].customdata[0][0] == "/kabkota/32.04?tahun=2023-2024"
    fig, title, _ = _chart(known, "year", state, meta)
    assert title == "Penghematan per tahun anggaran, 2023–2024 (Rp juta)"
    assert [tick.split("<br>")[0] for tick in fig.layout.xaxis.ticktext] == ["2023", "2024"]
    fig, title, _ = _chart(known, "method", ViewState(lang="en"), {"period": "2023–2025"})
    assert title == "Savings by procurement method, 2023–2025 (Rp million)"
    fig, title, _ = _chart(known, "category", ViewState(), {"period": "2023–2025"})
    assert title == "Penghematan per jenis pengadaan, 2023–2025 (Rp juta)"
    labels = [tick.split("<br>")[0] for tick in fig.layout.yaxis.ticktext]
    assert labels == ["Konsultansi", "Barang", "Jenis tidak diketahui", "Konstruksi"]


def test_figure_functions_carry_unit_and_period():
    row = q.SummaryRow("2024", "2024", 3, 2, D("1500000000000"), D("1400000000000"),
                       D("1300000000000"), D("200000000000"), D("100000000000"), 2)
    assert chart_title("chart_year", "id", "pagu", "2024", [row]) \
        == "Penghematan per tahun anggaran, 2024 (Rp miliar)"
    fig = plotly_figure(year_bars([row], ["2024"], [None], "id", "pagu"))
    # plotly's stock look, as go.Figure gave it before (unless a program changed the default)
    assert json.loads(pio.to_json(fig))["layout"]["template"] == json.loads(
        pio.json.to_json_plotly(pio.templates["plotly"]))
    assert fig.layout.separators == ",."
    assert fig.layout.xaxis.ticktext == ("2024<br><b>Rp200,0 miliar</b><br>(13,3%)",)
    assert fig.layout.yaxis.title.text == "Penghematan (Rp miliar)"
    assert chart_title("chart_province", "en", "hps", "2024", [row]) \
        == "Savings against HPS by province, 2024 (Rp billion)"
    fig = plotly_figure(ranked_bars([row], ["X"], [None], "en", "hps"))
    assert fig.layout.yaxis.ticktext == ("X<br><b>Rp100.0 billion (7.1%)</b>",)
    assert not fig.layout.title.text


def test_packages_and_satker_tables(known):
    state = ViewState(view="regency", code="32.04")
    meta = {"period": "2023–2024", "place": "Kabupaten Bandung"}
    block = build_slot(known, "table", "packages", state, meta)
    text = text_of(block)
    assert "Daftar paket, 2023–2024" in text
    assert "Menampilkan 1–2 dari 2 paket." in text
    assert "Paket T1" in text and "Rp1,0 miliar" in text
    # Each amount short in its cell, right-aligned, with its full value to the sen on hover.
    cells = find(block, lambda c: "money" in (getattr(c, "className", None) or ""))
    assert [(type(c).__name__, c.className, c.children, c.title) for c in cells] == [
        ("Td", "num money", "Rp1,0 miliar", "Rp1.000.000.000,00"),
        ("Td", "num money", "Rp1,0 miliar", "Rp950.000.000,50"),
        ("Td", "num money", "Rp900,0 juta", "Rp900.000.000,25"),
        ("Span", "money", "Rp100,0 juta", "Rp99.999.999,75"),
        ("Td", "num money", "Rp50,0 juta", "Rp50.000.000,00"),
        ("Td", "num money", "Rp48,0 juta", "Rp48.000.000,00"),
        ("Td", "num money", "Rp47,5 juta", "Rp47.500.000,00"),
        ("Span", "money", "Rp2,5 juta", "Rp2.500.000,00")]
    # The savings cell holds the amount and its rate, nothing around them.
    savings_cells = find(block, lambda c: isinstance(c, html.Td) and isinstance(c.children, list))
    assert [[type(x).__name__ for x in c.children] for c in savings_cells] == [
        ["Span", "str", "Small"], ["Span", "str", "Small"]]
    satker = build_slot(known, "table", "satker", state, meta)
    cells = find(satker, lambda c: isinstance(c, html.Td))
    assert [(c.className, c.children, getattr(c, "title", None)) for c in cells[1:4]] == [
        ("num money", "Rp102,5 juta", "Rp102.499.999,75"), ("num", "9,8%", None),
        ("num money", "Rp947,5 juta", "Rp947.500.000,25")]
    links = find(satker, lambda c: isinstance(c, dcc.Link))
    assert links[0].href == "/kabkota/32.04?satker=D1%3AS1#paket"
    flagged = build_slot(known, "table", "packages",
                         ViewState(view="province", code="63", sort="pagu"), meta)
    assert "dikeluarkan dari total" in text_of(flagged)
    assert "Kontrak jauh di atas HPS/pagu (salah ketik)" in text_of(flagged)


@pytest.mark.parametrize("basis", ["pagu", "hps"])
def test_a_row_without_counted_packages_shows_dashes_not_rp0(basis):
    from dashboard import components as c

    zero = D("0.00")
    # Two packages in all, one counted on pagu, none with an HPS.
    some = q.SummaryRow("D1:S1", "Dinas A", 2, 1, D("500.00"), zero, D("400.00"), D("100.00"),
                        zero, 0, extra={"klpd": "Kab. A"})
    none = q.SummaryRow("D1:S2", "Dinas B", 3, 0, zero, zero, zero, zero, zero, 0,
                        extra={"klpd": "Kab. A"})
    state = ViewState(view="regency", code="32.04", basis=basis)
    units = c.make_satker_table([some, none], state, "id", "Satuan kerja")
    regions = c.make_summary_table([some, none], ["A", "B"], [None, None], "id", basis, "X")

    def money_cells(table):
        rows = find(table, lambda x: isinstance(x, html.Tr))[1:]  # after the heading
        return [[(text_of(x), x.title) for x in find(r, lambda x: isinstance(x, html.Td))
                 if "money" in (getattr(x, "className", None) or "")] for r in rows]

    reason = "tidak ada paket yang dihitung di baris ini"
    dash = (f"– {reason}", reason)  # the dash, and its reason for screen readers
    if basis == "pagu":
        assert money_cells(units) == [[("Rp100", "Rp100,00"), ("Rp400", "Rp400,00")],
                                      [dash] * 3]
        assert money_cells(regions)[0] == [("Rp100", "Rp100,00"), ("Rp500", "Rp500,00"),
                                           ("Rp400", "Rp400,00")]
    else:  # on HPS neither has a counted package
        assert money_cells(units) == [[dash] * 3, [dash] * 3]
        assert money_cells(regions)[0] == [dash] * 4
    assert money_cells(regions)[1] == [dash] * 4
    # The count says why: 0 counted.
    assert text_of(find(units, lambda x: isinstance(x, html.Tr))[2]).endswith(" 0")


# ---- Number formats -----------------------------------------------------------------------

@pytest.mark.parametrize("value, lang, expected", [
    ("107312455000", "id", "Rp107,3 miliar"),
    ("107312455000", "en", "Rp107.3 billion"),
    ("1200000000000", "id", "Rp1,2 triliun"),
    ("1200000000000", "en", "Rp1.2 trillion"),
    ("850500000", "id", "Rp850,5 juta"),
    ("999960000000", "id", "Rp1,0 triliun"),
    ("-100000000", "id", "-Rp100,0 juta"),
    ("850000", "id", "Rp850.000"),
    ("1234567890123456", "id", "Rp1.234,6 triliun"),
])
def test_rupiah_short(value, lang, expected):
    assert fmt.rupiah_short(D(value), lang) == expected


def test_full_values_percent_and_counts():
    assert fmt.rupiah_full(D("107312455000")) == "Rp107.312.455.000,00"
    assert fmt.rupiah_full(D("1399818654.61"), "en") == "Rp1,399,818,654.61"
    assert fmt.rupiah_full(D("-5.5")) == "-Rp5,50"
    assert fmt.percent(0.1118) == "11,2%"
    assert fmt.percent(0.1118, "en") == "11.2%"
    assert fmt.percent(None) == "–"
    assert fmt.integer(1162) == "1.162" and fmt.integer(1162, "en") == "1,162"
    assert fmt.year_span(2023, 2025) == "2023–2025" and fmt.year_span(2024, 2024) == "2024"
    assert fmt.unit_word(fmt.chart_unit([D("5e9")])[1]) == "Rp miliar"
    assert fmt.unit_word(fmt.chart_unit([D("5e5")])[1], "en") == "Rp"


# ---- Texts --------------------------------------------------------------------------------

def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys_and_placeholders():
    assert set(ID) == set(EN)
    for key in ID:
        assert _fields(ID[key]) == _fields(EN[key]), key
        assert ID[key].strip() and EN[key].strip(), key


def test_every_flag_code_has_a_label():
    from etl.quality import rules

    codes = [rule.flag for rule in rules(schema.sen_view(schema.packages).c)]
    assert len(codes) >= 10
    for code in codes:
        assert t(f"flag_{code}", "id") != t(f"flag_{code}", "en"), code


def test_dropdown_texts_translated():
    assert dropdown_labels("id")["no_options_found"] == "Tidak ada pilihan"
    assert dropdown_labels("en")["selected_count"] == "{num_selected} selected"


# ---- URL state ----------------------------------------------------------------------------

@pytest.mark.parametrize("path, search", [
    ("/", ""),
    ("/provinsi/32", "?tahun=2023-2025&jenis=tender&metode=Tender&metode=Seleksi"
                     "&kategori=konstruksi&dana=APBD&dasar=hps&tanda=1&lang=en"),
    ("/kabkota/32.04", "?satker=D1%3AS1&urut=pagu&hal=3"),
    ("/tahun/2024", "?lang=en"),
])
def test_url_round_trip(path, search):
    state = ViewState.from_url(path, search)
    assert state.href() == path + search


def test_url_parsing_ignores_junk():
    state = ViewState.from_url("/provinsi/3x", "?tahun=abc&jenis=x&dasar=y&lang=fr&hal=-2")
    assert state.view == "notfound"
    assert (state.year_from, state.kind, state.basis, state.lang, state.page) == (
        None, None, "pagu", "id", 1)
    assert ViewState.from_url("/", "?tahun=2025-2023").search == "?tahun=2023-2025"


def test_controls_and_url_agree():
    state = ViewState.from_url("/provinsi/32", "?tahun=2023-2024&jenis=tender&dasar=hps&hal=4")
    values = dict(zip(("year-from", "year-to", "kind", "method", "category", "funding",
                       "basis", "flagged"), controls_from(state), strict=True))
    assert values == {"year-from": 2023, "year-to": 2024, "kind": "tender", "method": [],
                      "category": [], "funding": [], "basis": "hps", "flagged": []}
    changed = state_from_controls(state, {**values, "flagged": ["1"]})
    assert changed.href() == "/provinsi/32?tahun=2023-2024&jenis=tender&dasar=hps&tanda=1"


def test_year_view_follows_the_year_controls():
    state = ViewState.from_url("/tahun/2024", "")
    values = dict(zip(("year-from", "year-to", "kind", "method", "category", "funding",
                       "basis", "flagged"), controls_from(state), strict=True))
    assert (values["year-from"], values["year-to"]) == (2024, 2024)
    one = state_from_controls(state, {**values, "year-from": 2025, "year-to": 2025})
    assert one.href() == "/tahun/2025"
    span = state_from_controls(state, {**values, "year-from": 2023, "year-to": 2025})
    assert span.href() == "/?tahun=2023-2025"


# ---- Page states --------------------------------------------------------------------------

def test_empty_database_says_how_to_load(engine):
    children, _ = build_view(engine, ViewState())
    assert "Belum ada data" in text_of(children)
    assert "hemat load" in text_of(children)
    assert not graphs(children)
    children, _ = build_view(engine, ViewState(lang="en"))
    assert "No data yet" in text_of(children)


def test_filter_without_data_says_so(known):
    children, _ = build_view(known, ViewState(year_from=2030, year_to=2031))
    text = text_of(children)
    assert "Tidak ada paket untuk pilihan ini" in text
    links = find(children, lambda c: isinstance(c, dcc.Link) and "Hapus" in text_of(c))
    assert links and links[0].href == "/"
    chart = build_slot(known, "chart", "province", ViewState(year_from=2030, year_to=2031),
                       {"period": "2030–2031"})
    assert "Tidak ada penghematan" in text_of(chart) and not graphs(chart)


def test_unreadable_database_gives_a_message(tmp_path):
    from etl.db import engine_from_url

    engine = engine_from_url(f"sqlite:///{tmp_path / 'missing.db'}", read_only=True)
    children, _ = build_view(engine, ViewState())
    assert "Basis data belum siap" in text_of(children)
    chart = build_slot(engine, "chart", "province", ViewState(lang="en"), {"period": ""})
    assert "The database cannot be read right now" in text_of(chart)


def test_unknown_region_and_path(known):
    for path in ("/provinsi/99", "/kabkota/32.99", "/tidak-ada"):
        children, _ = build_view(known, ViewState.from_url(path, ""))
        assert "Halaman tidak ditemukan" in text_of(children), path


def test_region_views_breadcrumb(known):
    children, meta = build_view(known, ViewState.from_url("/kabkota/32.04", "?lang=en"))
    crumbs = find(children, lambda c: isinstance(c, html.Nav))[0]
    assert text_of(crumbs).split() == ["Indonesia", "Jawa", "Barat", "Kabupaten", "Bandung"]
    links = find(crumbs, lambda c: isinstance(c, dcc.Link))
    assert [link.href for link in links] == ["/?lang=en", "/provinsi/32?lang=en"]
    assert meta["place"] == "Kabupaten Bandung"


# ---- Download and app ---------------------------------------------------------------------

def test_download_calls_the_export(known, monkeypatch):
    calls = []
    fake = types.ModuleType("dashboard.export")
    fake.download_workbook = lambda engine, f, lang: \
        calls.append((f, lang)) or (f"hemat-32-{lang}.xlsx", b"PK-xlsx")
    monkeypatch.setitem(sys.modules, "dashboard.export", fake)
    import dashboard

    monkeypatch.setattr(dashboard, "export", fake, raising=False)
    data, status = download_file(known, ViewState(view="province", code="32", lang="en"))
    assert data["filename"] == "hemat-32-en.xlsx" and data["base64"] and status == ""
    f, lang = calls[0]
    assert f.provinces == ("32",) and lang == "en"


def test_download_of_the_real_export(known):
    pytest.importorskip("dashboard.export")
    data, status = download_file(known, ViewState(view="province", code="32"))
    assert status == ""
    assert data["filename"].endswith(".xlsx")


def test_app_serves_everything_itself(known, db_url):
    from dashboard.app import create_app

    client = create_app(db_url).server.test_client()
    page = client.get("/provinsi/32?lang=en")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert '<html lang="id">' in body
    import re

    sources = re.findall(r'(?:src|href)="([^"]+)"', body)
    assert sources and all(s.startswith("/") for s in sources), sources
    for src in sources:
        assert client.get(src).status_code == 200, src
    scripts = [s for s in sources if s.endswith(".js")]
    big = client.get(scripts[0], headers={"Accept-Encoding": "gzip"})
    assert big.headers.get("Content-Encoding") == "gzip"  # slow networks get it compressed
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200


def test_app_sets_what_it_holds_aside_from_the_collector_once_warm(known, db_url, monkeypatch):
    import dashboard.app as app_module
    from dashboard import components as c

    frozen = []
    monkeypatch.setattr(app_module, "_freeze", lambda: frozen.append(True))
    monkeypatch.setattr(app_module, "WARM_CALLBACKS", 3)
    client = app_module.create_app(db_url).server.test_client()
    body = {"output": f"{c.LANG_STORE}.data",
            "outputs": {"id": c.LANG_STORE, "property": "data"},
            "inputs": [{"id": c.URL, "property": "search", "value": "?lang=en"}],
            "state": [{"id": c.LANG_STORE, "property": "data", "value": "id"}],
            "changedPropIds": [f"{c.URL}.search"]}

    def answer():
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 200 and '"en"' in response.get_data(as_text=True)
        response.close()  # what the server does once the answer is sent

    for _ in range(2):
        answer()
        assert client.get("/_dash-layout").status_code == 200  # not a callback: not counted
    assert frozen == []
    answer()
    assert frozen == [True]
    for _ in range(3):
        answer()
    assert frozen == [True]  # once only


def test_freezing_keeps_no_garbage_for_good():
    import gc
    import weakref

    from dashboard.app import _freeze

    class Node:
        pass

    node = Node()
    node.itself = node  # a cycle only the collector frees
    gone = weakref.ref(node)
    del node
    before = gc.get_freeze_count()
    try:
        _freeze()
        assert gone() is None  # collected first, not frozen with what lives on
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_importing_the_app_opens_no_database(monkeypatch, tmp_path):
    import importlib

    import dashboard.app as app_module

    monkeypatch.setenv("HEMAT_DATABASE_URL", f"sqlite:///{tmp_path / 'nothing.db'}")
    importlib.reload(app_module)
    assert not (tmp_path / "nothing.db").exists()
    server = app_module.server  # built on first access, still without reading the database
    assert server.name == "dashboard.app"
    assert not (tmp_path / "nothing.db").exists()


def test_options_cache_follows_loads(known):
    first = options(known)
    assert first["years"] == [2023, 2024, 2025]
    assert options(known) is first


def test_filter_bar_keeps_what_the_url_asks_for(known):
    from dashboard.components import make_filter_bar

    state = ViewState.from_url("/", "?tahun=2031&metode=Kontes&dana=APBDP")
    bar = make_filter_bar(state, options(known))
    dropdowns = {d.id["name"]: d for d in find(bar, lambda c: isinstance(c, dcc.Dropdown))}
    assert dropdowns["year-from"].value == 2031
    assert {"label": "2031", "value": 2031} in dropdowns["year-from"].options
    assert "Kontes" in dropdowns["method"].options and "APBDP" in dropdowns["funding"].options


def test_year_view(known):
    children, meta = build_view(known, ViewState.from_url("/tahun/2024", "?lang=en"))
    text = text_of(children)
    assert "All of Indonesia, budget years 2024" in text
    assert meta["period"] == "2024"
    crumbs = find(children, lambda c: isinstance(c, html.Nav))[0]
    assert text_of(crumbs).split() == ["Indonesia", "Budget", "year", "2024"]
    assert find(crumbs, lambda c: isinstance(c, dcc.Link))[0].href == "/?lang=en"
    h = q.headline(known, q.Filters(years=(2024,)))
    assert (h.packages, h.contracted) == (3, 2)
    assert "2 of 3 packages have a contract" in text
    fig, title, _ = _chart(known, "province", ViewState(view="year", code="2024"), meta)
    assert title == "Penghematan per provinsi, 2024 (Rp juta)"
    assert fig.data[0].customdata[0][0] == "/provinsi/32?tahun=2024"


def test_run_prints_the_address(monkeypatch, capsys, tmp_path):
    import dash

    from dashboard import app as app_module

    served = {}
    monkeypatch.setattr(dash.Dash, "run", lambda self, **kw: served.update(kw))
    app_module.run(f"sqlite:///{tmp_path / 'x.db'}", "0.0.0.0", 8123)
    assert "Dasbor: http://127.0.0.1:8123/" in capsys.readouterr().out
    assert served == {"host": "0.0.0.0", "port": 8123, "debug": False}


def test_demo_data_headline_equals_hemat_summary(engine, db_url):
    """On the loader's own output (the committed demo set), cards and CLI agree to the sen."""
    from etl.load import load_paths
    from tests.conftest import ROOT

    assert not any(r.error for r in load_paths(engine, [ROOT / "data" / "demo"]))
    for f, args in ((q.Filters(), ()), (q.Filters(provinces=("32",), kind="tender"),
                                        ("--province", "32", "--kind", "tender"))):
        rows = _cli_json(db_url, "--by", "province", *args)
        h = q.headline(engine, f)
        assert h.contracted > 0
        assert sum(D(r["savings_vs_pagu"]) for r in rows) == h.savings_vs_pagu
        assert sum(D(r["kontrak"]) for r in rows) == h.kontrak
        assert sum(r["packages"] for r in rows) == h.packages
    children, _ = build_view(engine, ViewState())
    assert fmt.rupiah_short(q.headline(engine).savings_vs_pagu) in text_of(children)


def test_a_new_server_reads_its_sqlite_file_ahead(tmp_path, monkeypatch):
    """A new server starts reading its SQLite file into the system's file cache in the
    background, so that its first visitors do not wait for the disk; not a PostgreSQL
    database, one in memory, a file not there, one larger than WARM_SHARE of the memory the
    server may use (its control group's limit where lower), or where that is not known."""
    import os

    from dashboard import app as app_module

    read = []
    monkeypatch.setattr(app_module, "_read_through", read.append)
    monkeypatch.setattr(app_module, "CGROUP_LIMIT", tmp_path / "memory.max")  # none
    db = tmp_path / "hemat.db"
    db.write_bytes(b"\0" * 4096)
    app_module._read_ahead(f"sqlite:///{db}?timeout=5").join(10)
    assert read == [db]
    for other in ("postgresql+psycopg://u@127.0.0.1/hemat", "sqlite://",
                  f"sqlite:///{tmp_path / 'absent.db'}"):
        assert app_module._read_ahead(other) is None
    (tmp_path / "memory.max").write_text("max\n")
    memory = app_module._usable_memory()
    assert memory == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    (tmp_path / "memory.max").write_text("16384\n")  # a container of 16 KB: 4 KB fits
    assert app_module._usable_memory() == 16384
    app_module._read_ahead(f"sqlite:///{db}").join(10)
    (tmp_path / "memory.max").write_text("12288\n")  # a quarter is 3 KB: too small
    assert app_module._read_ahead(f"sqlite:///{db}") is None
    monkeypatch.delattr(os, "sysconf")  # as on Windows
    assert app_module._usable_memory() is None
    assert app_module._read_ahead(f"sqlite:///{db}") is None
    assert read == [db, db]
    started = []
    monkeypatch.setattr(app_module, "_read_ahead", started.append)
    app_module.create_app(f"sqlite:///{db}")
    assert started == [f"sqlite:///{db}"]
