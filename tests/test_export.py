"""Exports: the workbook, CSV and JSON hold exactly the query layer's figures, safely.

Every test loads one small dataset written here in the ISB JSON layout: packages whose names
start with formula characters, one implausible contract (10x its HPS), one without a contract,
money with sen. Workbooks are opened again with openpyxl and checked cell by cell.
"""

import csv
import json
import re
import tempfile
import zipfile
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest

from dashboard import export as ex
from dashboard import queries
from dashboard.queries import Filters
from etl.load import load_paths

EVIL = {
    "T1": '=HYPERLINK("http://x.example","klik")',
    "T2": "+62 812 Pengadaan Laptop",
    "T3": "-1+1 Rehab Gedung",
    "T4": "@SUM(A1:A9) Jalan Desa",
    "T7": "#DIV/0!",  # Excel's own error text, as Excel-mangled exports carry it
}
CONTROL = "Belum berkontrak\x01\x0b (karakter kendali)"
SATKER_EVIL = "=cmd|' /C calc'!A0"
WINNER_EVIL = "@PT Jahat"


def _tender(code, name, year, provinsi, kabkota, pagu, hps, kontrak, **more):
    return {
        "kd_tender": code, "nama_paket": name, "tahun_anggaran": year, "provinsi": provinsi,
        "kabkota": kabkota, "pagu": pagu, "hps": hps, "nilai_kontrak": kontrak,
        "mtd_pemilihan": more.get("method", "Tender"),
        "jenis_pengadaan": more.get("category", "Pekerjaan Konstruksi"),
        "sumber_dana": "APBD", "nama_satker": more.get("satker", "Dinas PUPR"),
        "kd_satker": more.get("satker_code"),
        "nama_penyedia": more.get("winner", "CV Maju"), "kd_klpd": "D107",
        "nama_klpd": "Kab. Bandung", "status_tender": "Selesai",
    }


TENDERS = [
    _tender("T1", EVIL["T1"], 2024, "Jawa Barat", "Bandung (Kab.)",
            1_000_000_000.50, 950_000_000.25, 900_000_000.10, satker=SATKER_EVIL,
            satker_code="1.01.01"),
    _tender("T2", EVIL["T2"], 2025, "Jawa Barat", "Bandung (Kab.)",
            250_000_000, 240_000_000, 230_500_000.75, winner=WINNER_EVIL,
            category="Pengadaan Barang"),
    _tender("T3", EVIL["T3"], 2024, "Jawa Barat", "Bekasi (Kota)",
            1_234_567_890_123.45, 1_200_000_000_000.00, 1_100_000_000_000.01,
            method="Seleksi", category="Jasa Konsultansi Badan Usaha Non Konstruksi",
            satker_code="1.03.01"),
    _tender("T4", EVIL["T4"], 2024, "Jawa Timur", "Surabaya (Kota)",
            500_000_000, None, 480_000_000.99, satker_code="1.03.01"),
    # A typo: the contract is 10x its HPS. Flagged and left out of the default totals.
    _tender("T5", "Pembangunan Pasar (salah ketik)", 2025, "Jawa Timur", "Surabaya (Kota)",
            20_000_000_000, 19_999_776_000, 194_978_195_000),
    _tender("T6", CONTROL, 2025, "Jawa Barat", "Bandung (Kab.)",
            300_000_000, 290_000_000, None),
    _tender("T7", EVIL["T7"], 2025, "Jawa Timur", "Surabaya (Kota)",
            80_000_000, 79_000_000, 70_000_000),
]
NONTENDERS = [{
    "kd_nontender": "N1", "nama_paket": "Belanja ATK", "tahun_anggaran": 2025,
    "provinsi": "Jawa Barat", "kabkota": "Bandung (Kab.)", "pagu": 50_000_000,
    "hps": 49_000_000, "nilai_kontrak": 45_500_000.25, "mtd_pemilihan": "Pengadaan Langsung",
    "jenis_pengadaan": "Pengadaan Barang", "sumber_dana": "APBD", "status_nontender": "Selesai",
}]
ALL = Filters()
MONEY = ("pagu", "hps", "kontrak", "savings_vs_pagu", "savings_vs_hps")


@pytest.fixture
def loaded(engine, tmp_path):
    """The engine with the fixture packages loaded."""
    files = []
    for name, rows in (("SPSE-TenderSelesaiNilai.json", TENDERS),
                       ("SPSE-NonTenderSelesai.json", NONTENDERS)):
        path = tmp_path / name
        path.write_text(json.dumps(rows), encoding="utf-8")
        files.append(path)
    results = load_paths(engine, files)
    assert [r.error for r in results] == [None, None]
    return engine


def _xlsx(engine, tmp_path, filters=ALL, lang="id", **kw):
    (path,) = ex.export(engine, filters, "xlsx", tmp_path / f"out-{lang}.xlsx", lang, **kw)
    return openpyxl.load_workbook(path), path


def _table(ws):
    """Header, data rows and totals row of a table sheet (the totals row is bold)."""
    rows = list(ws.iter_rows())
    header = [c.value for c in rows[0]]
    body = rows[1:]
    total = body[-1] if body and body[-1][0].font.b or body and body[-1][1].font.b else None
    data = body[:-1] if total else body
    return header, data, total


def _record(header, row) -> dict:
    return {h: c.value for h, c in zip(header, row, strict=True)}


def _dec(value) -> Decimal:
    """A workbook number as Decimal rupiah (openpyxl reads numbers back as float)."""
    return Decimal(repr(value)).quantize(Decimal("0.01"))


SHEETS_ID = ["Ringkasan", "Per provinsi", "Per kabupaten-kota", "Per tahun", "Metode & jenis",
             "Per satuan kerja", "Paket ditandai", "Paket"]
SHEETS_EN = ["Summary", "By province", "By regency-city", "By year", "Method & category",
             "By work unit", "Flagged packages", "Packages"]


def test_sheets_and_headers_in_both_languages(loaded, tmp_path):
    wb, _ = _xlsx(loaded, tmp_path, lang="id")
    assert wb.sheetnames == SHEETS_ID
    header = [c.value for c in wb["Per provinsi"][1]]
    assert header[:4] == ["Kode", "Provinsi", "Paket", "Paket dihitung"]
    assert "Penghematan vs pagu" in header and "Penghematan vs HPS" in header
    assert [c.value for c in wb["Paket"][1]][:5] == [
        "Jenis", "Kode paket", "Kode RUP", "Tahun anggaran", "Nama paket"]

    wb, _ = _xlsx(loaded, tmp_path, lang="en")
    assert wb.sheetnames == SHEETS_EN
    header = [c.value for c in wb["By province"][1]]
    assert header[:4] == ["Code", "Province", "Packages", "Packages counted"]
    assert "Savings vs pagu" in header and "Savings vs HPS" in header
    assert [c.value for c in wb["Flagged packages"][1]][-3:] == ["Flags", "Reasons", "Winner"]


@pytest.mark.parametrize("sheet,by", [("Per provinsi", "province"),
                                      ("Per kabupaten-kota", "regency"),
                                      ("Per tahun", "year")])
def test_summary_sheets_equal_hemat_summary(loaded, tmp_path, sheet, by):
    wb, _ = _xlsx(loaded, tmp_path)
    header, data, total = _table(wb[sheet])
    expected = [s.as_json() for s in queries.summary(loaded, by, ALL)]
    assert len(data) == len(expected) > 1
    keys = {"Paket": "packages", "Paket dihitung": "contracted", "Pagu": "pagu", "HPS": "hps",
            "Nilai kontrak": "kontrak", "Penghematan vs pagu": "savings_vs_pagu",
            "Penghematan vs HPS": "savings_vs_hps", "% vs pagu": "rate_vs_pagu",
            "% vs HPS": "rate_vs_hps"}
    label = "Tahun anggaran" if by == "year" else header[1]
    for row, want in zip(data, expected, strict=True):
        got = _record(header, row)
        assert str(got[label]) == want["name"]
        for head, key in keys.items():
            if key in MONEY:
                assert _dec(got[head]) == Decimal(want[key]), (head, want)
            elif key.startswith("rate"):
                assert round(got[head], 4) == want[key]
            else:
                assert got[head] == want[key]
    totals = _record(header, total)
    headline = queries.total(loaded, ALL).as_json()
    assert totals[label] == "Jumlah"
    for head, key in keys.items():
        if key in MONEY:
            assert _dec(totals[head]) == Decimal(headline[key])
            assert sum(_dec(_record(header, r)[head]) for r in data) == Decimal(headline[key])


def test_work_unit_sheet_equals_the_dashboards_units(loaded, tmp_path):
    """Every work unit of the selection, named and ranked as the dashboard's work-unit table
    ranks its top 15, adding up to the headline."""
    wb, _ = _xlsx(loaded, tmp_path)
    header, data, total = _table(wb["Per satuan kerja"])
    assert header[:6] == ["Satuan kerja", "K/L/PD", "Kode satker", "Kode K/L/PD", "Paket",
                          "Paket dihitung"]
    rows = [_record(header, r) for r in data]
    units = queries.satker_summary(loaded, ALL, limit=None)
    assert len(rows) == len(units) == 4
    assert [(r["Satuan kerja"], r["K/L/PD"], r["Kode satker"], r["Kode K/L/PD"], r["Paket"])
            for r in rows] == [
        ("Dinas PUPR", "Kab. Bandung", "1.03.01", "D107", 2),  # T3 and T4
        (SATKER_EVIL, "Kab. Bandung", "1.01.01", "D107", 1),
        ("Tidak diketahui", "Kab. Bandung", None, "D107", 4),  # T2, T5 (flagged), T6, T7
        ("Tidak diketahui", None, None, None, 1)]  # N1 names no buyer
    assert _dec(rows[0]["Penghematan vs pagu"]) == Decimal("134587890122.45")
    assert [_dec(r["Penghematan vs pagu"]) for r in rows] == [u.savings_vs_pagu for u in units]
    assert units[:3] == queries.satker_summary(loaded, ALL, limit=3)
    assert data[1][0].data_type == "s"  # the formula-like satker name stays text
    headline = queries.total(loaded, ALL)
    assert _record(header, total)["Satuan kerja"] == "Jumlah"
    for head, key in (("Pagu", "pagu"), ("Nilai kontrak", "kontrak"),
                      ("Penghematan vs pagu", "savings_vs_pagu")):
        assert sum(_dec(r[head]) for r in rows) == getattr(headline, key) \
            == _dec(_record(header, total)[head])


def test_money_is_exact_in_the_file(loaded, tmp_path):
    """The cell holds the Decimal's digits, not a float's: 1.2 trillion with sen survives."""
    _, path = _xlsx(loaded, tmp_path)
    headline = queries.total(loaded, ALL).as_json()
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet2.xml").decode()  # Per provinsi
    numbers = set(re.findall(r"<v>([-0-9.]+)</v>", xml))
    assert Decimal(headline["pagu"]) > 10**12
    for key in MONEY:
        assert headline[key] in numbers or headline[key].rstrip("0").rstrip(".") in numbers



def test_money_keeps_every_digit_of_a_national_sum(tmp_path):
    """A national sum with its sen has 17 digits; the writer would round numbers to 16."""
    path = tmp_path / "sum.xlsx"
    with ex._Book(path, "sum") as book:
        ex._write(book.sheet("sum", fit_width=True), 0, 0, Decimal("725074680533687.91"), None)
    with zipfile.ZipFile(path) as z:
        assert "<v>725074680533687.91</v>" in z.read("xl/worksheets/sheet1.xml").decode()

def test_number_formats_frozen_header_autofilter_widths(loaded, tmp_path):
    wb, _ = _xlsx(loaded, tmp_path)
    for name in SHEETS_ID[1:]:
        ws = wb[name]
        header, data, total = _table(ws)
        assert ws.freeze_panes in ("B2", "C2"), name
        last = openpyxl.utils.get_column_letter(len(header))
        assert ws.auto_filter.ref == f"A1:{last}{len(data) + 1}", name
        for i, head in enumerate(header):
            letter = openpyxl.utils.get_column_letter(i + 1)
            assert ws.column_dimensions[letter].width >= 8, (name, head)
            cells = [row[i] for row in data] + ([total[i]] if total else [])
            cells = [c for c in cells if c.value is not None]  # empty cells are not written
            if head in ("Pagu", "HPS", "Nilai kontrak", "Penghematan vs pagu",
                        "Penghematan vs HPS"):
                assert {c.number_format for c in cells} == {ex.MONEY_FORMAT}, (name, head)
                assert all(isinstance(c.value, float | int) for c in cells)
            if head.startswith("%"):
                assert {c.number_format for c in cells} == {ex.PCT_FORMAT}, (name, head)
        assert all(c.font.b for c in ws[1]), name


def test_no_cell_is_a_formula_and_data_text_is_kept(loaded, tmp_path):
    wb, _ = _xlsx(loaded, tmp_path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    header, data, _ = _table(wb["Paket"])
    by_code = {_record(header, r)["Kode paket"]: _record(header, r) for r in data}
    for code, name in EVIL.items():
        assert by_code[code]["Nama paket"] == name
    # The loader keeps \x01; a worksheet cannot hold it, so the workbook drops it.
    assert by_code["T6"]["Nama paket"] == "Belum berkontrak (karakter kendali)"
    assert by_code["T1"]["Satker"] == SATKER_EVIL
    assert by_code["T2"]["Pemenang"] == WINNER_EVIL
    cell = next(r for r in data if r[1].value == "T1")[4]
    assert cell.data_type == "s" and cell.quotePrefix


def test_flagged_sheet_lists_the_typo_with_its_reason(loaded, tmp_path):
    wb, _ = _xlsx(loaded, tmp_path)
    header, data, total = _table(wb["Paket ditandai"])
    assert total is None
    first = _record(header, data[0])
    assert first["Kode paket"] == "T5"
    assert first["Dikeluarkan dari total"] == "Ya"
    assert "kontrak_sangat_tinggi" in first["Tanda"]
    assert re.search(r"9,7× HPS", first["Alasan"]), first["Alasan"]
    header_en, data_en, _ = _table(_xlsx(loaded, tmp_path, lang="en")[0]["Flagged packages"])
    assert _record(header_en, data_en[0])["Reasons"].startswith(
        "Contract value 9.7× HPS: almost certainly a typo")
    assert first["Kabupaten/kota"] == "Kota Surabaya"
    assert _dec(first["Nilai kontrak"]) == Decimal("194978195000.00")
    assert len(data) == queries.flagged_count(loaded, ALL)

    header, data, _ = _table(wb["Paket"])
    t5 = next(_record(header, r) for r in data if r[1].value == "T5")
    assert t5["Dihitung dalam total"] == "Tidak"
    assert len(data) == len(TENDERS) + len(NONTENDERS)


def _summary_values(ws) -> dict:
    """Label → value; the first one wins (the definitions repeat a few labels further down)."""
    values = {}
    for row in ws.iter_rows(max_col=2):
        if row[0].value:
            values.setdefault(row[0].value, row[1].value)
    return values


def test_summary_sheet_says_what_it_holds(loaded, tmp_path):
    wb, _ = _xlsx(loaded, tmp_path, Filters(provinces=("32",)))
    ws = wb["Ringkasan"]
    assert ws["A1"].value == "Penghematan pengadaan elektronik: Jawa Barat, 2024–2025"
    values = _summary_values(ws)
    assert values["Provinsi"] == "Jawa Barat"
    assert values["Tahun anggaran"].startswith("Semua tahun")
    assert values["Cakupan kontrak"] == "4 dari 5 paket punya pagu dan nilai kontrak (80,00%)"
    assert isinstance(values["Dibuat"], datetime)
    total = queries.total(loaded, Filters(provinces=("32",))).as_json()
    assert _dec(values["Penghematan vs pagu"]) == Decimal(total["savings_vs_pagu"])
    assert round(values["Persentase vs pagu"], 4) == total["rate_vs_pagu"]
    assert "Penghematan vs HPS" in values and "Uang" in values
    assert ws["B" + str(_row_of(ws, "Jumlah pagu"))].number_format == ex.MONEY_FORMAT

    wb, _ = _xlsx(loaded, tmp_path)
    values = _summary_values(wb["Ringkasan"])
    assert values["Cakupan kontrak"] == "7 dari 8 paket punya pagu dan nilai kontrak (87,50%)"
    assert values["Paket dikeluarkan dari total (tidak wajar)"] == 1
    reason = next(k for k in values if k.strip().startswith("alasan:"))
    assert "salah ketik" in reason and values[reason] == 1

    wb, _ = _xlsx(loaded, tmp_path, lang="en")
    values = _summary_values(wb["Summary"])
    assert values["Contract coverage"] == "7 of 8 packages have a pagu and a contract value " \
                                          "(87.50%)"


def _row_of(ws, label) -> int:
    return next(row[0].row for row in ws.iter_rows() if row[0].value == label)


def test_include_flagged_counts_the_typo(loaded, tmp_path):
    f = Filters(include_flagged=True)
    wb, path = _xlsx(loaded, tmp_path, f)
    header, _, total = _table(wb["Per tahun"])
    headline = queries.total(loaded, f).as_json()
    assert _dec(_record(header, total)["Nilai kontrak"]) == Decimal(headline["kontrak"])
    assert Decimal(headline["kontrak"]) > Decimal("194978195000")
    assert ex.export_filename(loaded, f, "xlsx") == \
        "hemat-semua-wilayah-2024-2025-termasuk-tidak-wajar.xlsx"


def test_file_names_say_what_they_hold(loaded, tmp_path, monkeypatch):
    name = ex.export_filename
    assert name(loaded, Filters(provinces=("32",)), "xlsx") == "hemat-jawa-barat-2024-2025.xlsx"
    assert name(loaded, Filters(years=(2024,)), "xlsx") == "hemat-semua-wilayah-2024.xlsx"
    assert name(loaded, Filters(regencies=("32.04",), years=(2025,), kind="tender"),
                "xlsx") == "hemat-kabupaten-bandung-2025-tender.xlsx"
    assert name(loaded, Filters(years=(2021, 2023)), "csv") == "hemat-semua-wilayah-2021_2023-csv"
    monkeypatch.chdir(tmp_path)
    (path,) = ex.export(loaded, Filters(provinces=("35",)), "xlsx")
    assert path == tmp_path / "hemat-jawa-timur-2024-2025.xlsx" and path.is_file()
    paths = ex.export(loaded, Filters(provinces=("35",)), "json")
    assert {p.parent for p in paths} == {tmp_path / "hemat-jawa-timur-2024-2025-json"}


def test_file_names_in_english_say_it_in_english(loaded, tmp_path, monkeypatch):
    name = ex.export_filename
    assert name(loaded, Filters(years=(2024,)), "xlsx", "en") == "hemat-all-regions-2024.xlsx"
    assert name(loaded, Filters(provinces=("32",), include_flagged=True), "xlsx", "en") == \
        "hemat-jawa-barat-2024-2025-incl-flagged.xlsx"
    four = Filters(provinces=("11", "32", "35", "63"),
                   categories=("Pengadaan Barang", "Pekerjaan Konstruksi"))
    assert name(loaded, four, "xlsx", "en") == "hemat-4-regions-2024-2025-2-categories.xlsx"
    assert name(loaded, four, "xlsx") == "hemat-4-wilayah-2024-2025-2-jenis.xlsx"
    monkeypatch.chdir(tmp_path)
    (path,) = ex.export(loaded, Filters(years=(2025,)), "xlsx", lang="en")
    assert path == tmp_path / "hemat-all-regions-2025.xlsx" and path.is_file()


def test_an_in_memory_database_exports_from_one_connection():
    """Each thread of an in-memory SQLite engine has a database of its own: the work units
    must come from the connection that holds the data, not from a second, empty one."""
    from etl import schema
    from etl.db import engine_from_url

    engine = engine_from_url("sqlite://")
    schema.create_schema(engine)
    with engine.begin() as conn:
        conn.execute(schema.satker_cube.insert().values(
            year=2025, kind="tender", klpd_code="D107", satker_code="1.01", excluded=False,
            packages=1, counted=1, with_hps=1, pagu=1000, hps=900, kontrak=800,
            kontrak_with_hps=800))
    [unit] = ex.build_report(engine, ALL).by_satker
    assert (unit.extra["klpd_code"], unit.extra["satker_code"], unit.pagu) == \
        ("D107", "1.01", Decimal("1000.00"))


def test_download_workbook_for_the_dashboard(loaded, tmp_path):
    # The name comes from the workbook's own report: the same as export_filename gives.
    for f, lang, expected in (
            (Filters(years=(2021, 2023)), "id", "hemat-semua-wilayah-2021_2023.xlsx"),
            (Filters(provinces=("32",), include_flagged=True), "en",
             "hemat-jawa-barat-2024-2025-incl-flagged.xlsx")):
        assert ex.download_workbook(loaded, f, lang)[0] == \
            ex.export_filename(loaded, f, "xlsx", lang) == expected
    f = Filters(kind="non-tender")
    name, data = ex.download_workbook(loaded, f, "en")
    assert name == ex.export_filename(loaded, f, "xlsx", "en") == \
        "hemat-all-regions-2025-non-tender.xlsx"
    assert data[:2] == b"PK"
    path = tmp_path / "download.xlsx"
    path.write_bytes(data)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == SHEETS_EN
    header, data_rows, _ = _table(wb["Packages"])
    assert [r[1].value for r in data_rows] == ["N1"]


def test_dashboard_download_leaves_out_a_detail_too_large_to_wait_for(loaded, tmp_path):
    path = tmp_path / "big.xlsx"
    path.write_bytes(ex.download_workbook(loaded, Filters(), "id", detail_limit=3)[1])
    wb = openpyxl.load_workbook(path)
    assert "Paket" not in wb.sheetnames and "Paket ditandai" in wb.sheetnames
    lines = [[c.value for c in row] for row in wb["Ringkasan"].iter_rows()]
    note = next(r for r in lines if "Rincian paket" in r)
    assert "8 paket" in note[-1] and "hemat export" in note[-1]
    # More flagged packages than the limit: that sheet stays out too, and the summary says so.
    flagged = ex.build_report(loaded, Filters(), "id").flagged
    assert flagged >= 1
    path.write_bytes(ex.download_workbook(loaded, Filters(), "id", detail_limit=flagged - 1)[1])
    wb = openpyxl.load_workbook(path)
    assert "Paket" not in wb.sheetnames and "Paket ditandai" not in wb.sheetnames
    assert wb.sheetnames == SHEETS_ID[:6]
    lines = [[c.value for c in row] for row in wb["Ringkasan"].iter_rows()]
    note = next(r for r in lines if "Paket ditandai" in r)
    assert f"{flagged} paket" in note[-1] and "hemat export" in note[-1]


def test_progress_reaches_one(loaded, tmp_path):
    seen = []
    _xlsx(loaded, tmp_path, progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen) and all(0 <= x <= 1 for x in seen)


def test_long_detail_continues_on_another_sheet(loaded, tmp_path, monkeypatch):
    monkeypatch.setattr(ex, "MAX_SHEET_ROWS", 4)  # three data rows per sheet
    wb, _ = _xlsx(loaded, tmp_path)
    parts = [n for n in wb.sheetnames if n == "Paket" or n.startswith("Paket (")]
    assert parts == ["Paket", "Paket (2)", "Paket (3)"]
    codes = [r[1].value for n in parts for r in _table(wb[n])[1]]
    assert sorted(codes) == sorted([t["kd_tender"] for t in TENDERS] + ["N1"])


def _read_csv(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(raw.decode("utf-8-sig").splitlines()))


def test_csv_values_and_formula_guard(loaded, tmp_path):
    paths = ex.export(loaded, ALL, "csv", tmp_path / "csv")
    assert [p.name for p in paths] == ["ringkasan.csv", "per-provinsi.csv",
                                       "per-kabupaten-kota.csv", "per-tahun.csv",
                                       "metode-jenis.csv", "per-satuan-kerja.csv",
                                       "paket-ditandai.csv", "paket.csv"]
    rows = _read_csv(tmp_path / "csv" / "per-provinsi.csv")
    header, body = rows[0], rows[1:]
    expected = [s.as_json() for s in queries.summary(loaded, "province", ALL)]
    for row, want in zip(body, expected, strict=False):
        got = dict(zip(header, row, strict=True))
        assert got["Pagu"] == want["pagu"] and got["Penghematan vs HPS"] == want["savings_vs_hps"]
        assert got["% vs pagu"] == str(want["rate_vs_pagu"])
    assert body[-1][1] == "Jumlah"
    assert body[-1][header.index("Pagu")] == queries.total(loaded, ALL).as_json()["pagu"]

    rows = _read_csv(tmp_path / "csv" / "paket.csv")
    header, body = rows[0], rows[1:]
    by_code = {r[1]: dict(zip(header, r, strict=True)) for r in body}
    for code, name in EVIL.items():
        expected = name if code == "T7" else "'" + name  # "#" starts no formula
        assert by_code[code]["Nama paket"] == expected, code
    assert by_code["T1"]["Satker"] == "'" + SATKER_EVIL
    assert by_code["T2"]["Pemenang"] == "'" + WINNER_EVIL
    assert by_code["T1"]["Pagu"] == "1000000000.50"
    assert by_code["T5"]["Penghematan vs pagu"] == "-174978195000.00"  # a number, no apostrophe
    assert by_code["T6"]["Nilai kontrak"] == ""
    units = _read_csv(tmp_path / "csv" / "per-satuan-kerja.csv")
    assert [r[:4] for r in units[1:3]] == [["Dinas PUPR", "Kab. Bandung", "1.03.01", "D107"],
                                           ["'" + SATKER_EVIL, "Kab. Bandung", "1.01.01", "D107"]]

    summary = _read_csv(tmp_path / "csv" / "ringkasan.csv")
    values = {(r[0], r[1]): r[2] for r in summary[1:]}
    assert values[("Angka utama", "Penghematan vs pagu")] == \
        queries.total(loaded, ALL).as_json()["savings_vs_pagu"]
    assert values[("", "Judul")] == "Penghematan pengadaan elektronik: Semua wilayah, 2024–2025"


def test_region_notes_follow_the_language(loaded, tmp_path):
    path = tmp_path / "SPSE-TenderSelesaiNilai-2.json"
    path.write_text(json.dumps([_tender("T9", "Jalan Soreang", 2025, "Jawa Timur",
                                        "Bandung (Kab.)", 100, 90, 80)]), encoding="utf-8")
    assert load_paths(loaded, [path])[0].error is None
    notes = {}
    for lang, file, head in (("id", "paket.csv", "Catatan wilayah"),
                             ("en", "packages.csv", "Region note")):
        ex.export(loaded, ALL, "csv", tmp_path / lang, lang=lang)
        rows = _read_csv(tmp_path / lang / file)
        notes[lang] = next(r[rows[0].index(head)] for r in rows[1:] if r[1] == "T9")
    assert notes == {"id": "Kabupaten Bandung berada di Jawa Barat; berkas menyebut Jawa Timur",
                     "en": "Kabupaten Bandung is in Jawa Barat; the file gives Jawa Timur"}


def test_json_has_the_summary_keys_and_exact_money(loaded, tmp_path):
    ex.export(loaded, ALL, "json", tmp_path / "json", lang="en")
    folder = tmp_path / "json"
    for file, by in (("by-province.json", "province"), ("by-regency-city.json", "regency"),
                     ("by-year.json", "year"), ("by-work-unit.json", "satker")):
        rows = json.loads((folder / file).read_text(encoding="utf-8"))
        found = queries.satker_summary(loaded, ALL, limit=None) if by == "satker" \
            else queries.summary(loaded, by, ALL)
        expected = [s.as_json() for s in found]
        assert [{k: r[k] for k in want} for r, want in zip(rows, expected, strict=True)] == \
            expected
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    headline = queries.total(loaded, ALL).as_json()
    assert {k: summary["total"][k] for k in headline} == headline
    assert summary["coverage"]["with_contract"] == 7 and summary["coverage"]["excluded"] == 1
    assert summary["excluded_reasons"][0]["flag"] == "kontrak_sangat_tinggi"

    packages = json.loads((folder / "packages.json").read_text(encoding="utf-8"))
    by_code = {p["code"]: p for p in packages}
    assert len(packages) == 8
    assert by_code["T1"]["name"] == EVIL["T1"]  # JSON is data, not a spreadsheet
    assert by_code["T3"]["pagu"] == "1234567890123.45"
    assert by_code["T5"]["counted"] is False
    flagged = json.loads((folder / "flagged-packages.json").read_text(encoding="utf-8"))
    assert flagged[0]["code"] == "T5" and flagged[0]["reasons"][0]["excludes"] is True


def test_cli_export(loaded, db_url, tmp_path, capsys):
    from hemat.cli import main

    out = tmp_path / "cli"
    assert main(["export", "--db", db_url, "--format", "csv", "--output", str(out),
                 "--province", "35", "--year", "2025"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed[0] == str(out / "ringkasan.csv")
    rows = _read_csv(out / "paket.csv")
    assert sorted(r[1] for r in rows[1:]) == ["T5", "T7"]



@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_cli_export_where_it_cannot_write_says_so(loaded, db_url, tmp_path, capsys, fmt):
    from hemat.cli import main

    (tmp_path / "catatan.txt").write_text("bukan folder")
    out = tmp_path / "catatan.txt" / "ekspor"
    assert main(["export", "--db", db_url, "--format", fmt, "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"GAGAL: ekspor tidak dapat ditulis ke {out} ([Errno " in err
    assert str(tmp_path / "catatan.txt") in err.split("([Errno", 1)[1]  # what is in the way
    assert "Traceback" not in err


def test_a_workbook_that_cannot_be_saved_raises_the_os_error(tmp_path):
    """XlsxWriter wraps the error of opening the file; callers get the OSError itself."""
    with pytest.raises(FileNotFoundError):
        with ex._Book(tmp_path / "tidak-ada" / "x.xlsx", "x") as book:
            book.sheet("x", fit_width=True)


def test_a_block_that_fails_saves_no_workbook(tmp_path):
    path = tmp_path / "x.xlsx"
    with pytest.raises(KeyError):
        with ex._Book(path, "x") as book:
            book.sheet("x", fit_width=True)
            raise KeyError("a sheet's rows could not be read")
    assert not path.exists()


@pytest.mark.parametrize("fail", ["saving", "reading"])
def test_a_failed_workbook_leaves_no_temporary_files(loaded, tmp_path, monkeypatch, fail):
    """Rows wait in temporary files until the workbook is saved (a national detail sheet
    takes about 1.5 GB); a failure or an interrupted export removes them too."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    target = tmp_path / "tidak-ada" / "x.xlsx"
    if fail == "reading":
        def broken(*_, **__):
            yield {}
            raise KeyboardInterrupt
        monkeypatch.setattr(ex.queries, "packages_detail", broken)
        target = tmp_path / "x.xlsx"
    with pytest.raises(FileNotFoundError if fail == "saving" else KeyboardInterrupt):
        ex.write_xlsx(loaded, ex.build_report(loaded, ALL), target)
    assert list(scratch.iterdir()) == []
    assert not target.exists()  # an interrupted export leaves no half-written workbook

def test_cli_summary_by_work_unit(loaded, db_url, capsys):
    from hemat.cli import main

    assert main(["summary", "--db", db_url, "--by", "satker", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [u.as_json() for u in queries.satker_summary(loaded, ALL, limit=None)]
    assert [(r["group"], r["name"], r["buyer"]) for r in rows[:2]] == [
        ("D107:1.03.01", "Dinas PUPR", "Kab. Bandung"), ("D107:1.01.01", SATKER_EVIL,
                                                         "Kab. Bandung")]
    assert main(["summary", "--db", db_url, "--by", "satker", "--year", "2025"]) == 0
    table = capsys.readouterr().out
    assert "Tidak diketahui (Kab. Bandung)" in table and "Tidak diketahui (–)" in table
    assert "D107:1.03.01" not in table  # its packages are of 2024

    assert main(["summary", "--db", db_url, "--by", "satker", "--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert rows[1]["name"] == "'" + SATKER_EVIL  # no formula in a spreadsheet
    unknown = next(r for r in rows if r["group"] == "D107:")
    assert unknown["name"] == "" and unknown["buyer"] == "Kab. Bandung"
    assert unknown["savings_vs_pagu"] == "29499999.25"
    assert main(["summary", "--db", db_url, "--by", "satker", "--format", "csv",
                 "--include-flagged"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    # T5's typo is counted now: a negative amount stays a number, with no apostrophe
    assert next(r for r in rows if r["group"] == "D107:")["savings_vs_pagu"] == \
        "-174948695000.75"


def test_unknown_format_or_language(loaded, tmp_path):
    with pytest.raises(ValueError, match="format"):
        ex.export(loaded, ALL, "pdf", tmp_path)
    with pytest.raises(ValueError, match="language"):
        ex.export(loaded, ALL, "xlsx", tmp_path, lang="fr")


def _synthetic(n: int) -> list[dict]:
    """N tender results over four regencies and two years, with sen."""
    places = [("Jawa Barat", "Bandung (Kab.)"), ("Jawa Barat", "Bekasi (Kota)"),
              ("Jawa Timur", "Surabaya (Kota)"), ("Kalimantan Selatan", "Tabalong (Kab.)")]
    rows = []
    for i in range(n):
        provinsi, kabkota = places[i % len(places)]
        pagu = 100_000_000 + (i * 7919) % 900_000_000
        kontrak = None if i % 10 == 0 else round(pagu * 0.9 + (i % 100) / 100, 2)
        rows.append(_tender(f"S{i:06d}", f"Paket sintetis {i}", 2024 + i % 2, provinsi,
                            kabkota, pagu, pagu - 1_000_000, kontrak))
    return rows


def test_large_export_streams_every_row(engine, tmp_path):
    n = 20_000
    path = tmp_path / "SPSE-TenderSelesaiNilai.json"
    path.write_text(json.dumps(_synthetic(n)), encoding="utf-8")
    assert load_paths(engine, [path])[0].error is None
    seen = []
    (out,) = ex.export(engine, ALL, "xlsx", tmp_path / "big.xlsx", progress=seen.append)
    assert seen[-1] == 1.0 and len(seen) > 50

    wb = openpyxl.load_workbook(out, read_only=True)
    ws = wb["Paket"]
    header = next(ws.iter_rows(max_row=1, values_only=True))
    code_i, kontrak_i, counted_i = (header.index(h) for h in (
        "Kode paket", "Nilai kontrak", "Dihitung dalam total"))
    codes, kontrak = [], Decimal(0)
    for row in ws.iter_rows(min_row=2, values_only=True):
        codes.append(row[code_i])
        if row[counted_i] == "Ya":
            kontrak += _dec(row[kontrak_i])
    assert len(codes) == n and len(set(codes)) == n
    assert kontrak == Decimal(queries.total(engine, ALL).as_json()["kontrak"])
    wb.close()
