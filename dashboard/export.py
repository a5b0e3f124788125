"""Exports for analysts: one Excel workbook, or CSV / JSON files, of what a filter selects.

Compute once, present many ways: every figure comes from dashboard.queries; this module only
lays the figures out. The same tables go to every format:

- xlsx: one workbook, a sheet per table, Rupiah formats on real numbers (Decimal, exact to the
  sen in the file), frozen headers, autofilter, a totals row under each summary table.
- csv: one UTF-8 file with BOM per table (Excel opens it right), money as decimal strings.
- json: one file per table; keys are stable (those of `hemat summary --format json`), money as
  decimal strings, so a program reads the same keys whatever the language.

Text from the data never becomes a formula: workbook cells holding text are written as
strings whatever they start with, and CSV cells starting with = + - @ tab or CR get a leading
apostrophe (OWASP, CSV injection). The package detail streams from the database to disk, so
a national export never sits in memory.
"""

import csv
import io
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

import xlsxwriter
import xlsxwriter.exceptions
from sqlalchemy import Engine
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from dashboard import i18n, queries
from dashboard.format import FORMULA_START, csv_text
from dashboard.queries import UNRESOLVED, Filters, SummaryRow
from etl import quality, regions

FORMATS = ("xlsx", "csv", "json")
LANGS = ("id", "en")
# Excel's last row is 1,048,576; a longer table continues on a second sheet.
MAX_SHEET_ROWS = 1_048_576

MONEY_FORMAT = '"Rp"#,##0.00'  # the separators follow the reader's locale; "Rp" does not
PCT_FORMAT = "0.00%"
INT_FORMAT = "#,##0"
YEAR_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"



def _t(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "id" else pair[1]


# ---------------------------------------------------------------------------------------------
# Table model: what to show, independent of the format.


@dataclass(frozen=True)
class Col:
    """One column: key in the row dicts, header in id and en, kind, width in characters."""

    key: str
    header: tuple[str, str]
    kind: str  # text, code, int, year, money, pct, date, bool
    width: float = 14
    get: Callable[[dict], object] | None = None  # derived value; default row[key]
    english: Callable[[str], str] | None = None  # an Indonesian text value in English

    def value(self, row: dict):
        return self.get(row) if self.get else row.get(self.key)


@dataclass
class Table:
    """A table of dict rows. rows() may stream; `size` is the row count, for progress."""

    key: str
    title: tuple[str, str]  # sheet name (<= 31 characters) and file name
    columns: list[Col]
    rows: Callable[[], Iterable[dict]]
    size: int = 0
    total: dict | None = None  # the totals row, computed by the query layer
    freeze: str = "A2"

    def sheet_name(self, lang: str) -> str:
        return _t(self.title, lang)

    def file_stem(self, lang: str) -> str:
        return slug(_t(self.title, lang))


def _money(key, header, width=24) -> Col:
    return Col(key, header, "money", width)


MEASURES = [
    Col("packages", ("Paket", "Packages"), "int", 10),
    Col("contracted", ("Paket dihitung", "Packages counted"), "int", 11),
    Col("excluded", ("Dikeluarkan (tidak wajar)", "Left out (implausible)"), "int", 13),
    _money("pagu", ("Pagu", "Pagu (budget ceiling)"), 28),
    _money("kontrak", ("Nilai kontrak", "Contract value"), 28),
    _money("savings_vs_pagu", ("Penghematan vs pagu", "Savings vs pagu"), 28),
    Col("rate_vs_pagu", ("% vs pagu", "% vs pagu"), "pct", 10),
    Col("hps_contracted", ("Paket dihitung ber-HPS", "Counted with HPS"), "int", 12),
    _money("hps", ("HPS", "HPS (owner's estimate)"), 28),
    _money("savings_vs_hps", ("Penghematan vs HPS", "Savings vs HPS"), 28),
    Col("rate_vs_hps", ("% vs HPS", "% vs HPS"), "pct", 10),
]

TOTAL_LABEL = ("Jumlah", "Total")


def _summary_row(s: SummaryRow) -> dict:
    """A SummaryRow as a dict: the keys of `hemat summary --format json` and a few more."""
    return {
        "group": s.group, "name": s.name, "packages": s.packages, "contracted": s.contracted,
        "pagu": s.pagu, "hps": s.hps, "kontrak": s.kontrak,
        "savings_vs_pagu": s.savings_vs_pagu, "savings_vs_hps": s.savings_vs_hps,
        "rate_vs_pagu": s.rate_vs_pagu, "rate_vs_hps": s.rate_vs_hps,
        "hps_contracted": s.hps_contracted, "excluded": s.excluded,
    }


def _total_row(report: "Report", label_key: str) -> dict:
    row = _summary_row(report.total)
    row.update(group=None, name=None)
    row[label_key] = _t(TOTAL_LABEL, report.lang)
    return row


def _province_of(code: str, names: dict[str, str]) -> str | None:
    return names.get(code[:2]) if code and code != UNRESOLVED else None


def summary_tables(report: "Report") -> list[Table]:
    """The five summary tables: by province, regency, year, method × category and work
    unit."""
    names = report.names
    regencies = [{**_summary_row(s), "province": _province_of(s.group, names)}
                 for s in report.by_regency]
    crossed = [{**_summary_row(s), "category": s.extra["then"],
                "category_name": s.extra["then_name"]} for s in report.by_method_category]
    code = Col("group", ("Kode", "Code"), "code", 8)
    units = [_unit_row(s) for s in report.by_satker]
    unknown = i18n.t("unknown", report.lang)
    return [
        Table("province", ("Per provinsi", "By province"),
              [code, Col("name", ("Provinsi", "Province"), "text", 30), *MEASURES],
              lambda: map(_summary_row, report.by_province), len(report.by_province),
              _total_row(report, "name"), freeze="C2"),
        Table("regency", ("Per kabupaten-kota", "By regency-city"),
              [code, Col("name", ("Kabupaten/kota", "Regency/city"), "text", 34),
               Col("province", ("Provinsi", "Province"), "text", 24), *MEASURES],
              lambda: regencies, len(regencies), _total_row(report, "name"), freeze="C2"),
        Table("year", ("Per tahun", "By year"),
              [Col("name", ("Tahun anggaran", "Budget year"), "year", 12), *MEASURES],
              lambda: map(_summary_row, report.by_year), len(report.by_year),
              _total_row(report, "name"), freeze="B2"),
        Table("method_category", ("Metode & jenis", "Method & category"),
              [Col("name", ("Metode pemilihan", "Method"), "text", 22),
               Col("category_name", ("Jenis pengadaan", "Category"), "text", 34), *MEASURES],
              lambda: crossed, len(crossed), _total_row(report, "name"), freeze="C2"),
        Table("satker", ("Per satuan kerja", "By work unit"),
              [Col("name", ("Satuan kerja", "Work unit"), "text", 40,
                   lambda row: row["name"] or unknown),  # JSON keeps None, as hemat summary
               Col("buyer", ("K/L/PD", "Buyer (K/L/PD)"), "text", 30),
               Col("satker_code", ("Kode satker", "Work unit code"), "code", 14),
               Col("klpd_code", ("Kode K/L/PD", "Buyer code"), "code", 10), *MEASURES],
              lambda: units, len(units), _total_row(report, "name"), freeze="C2"),
    ]


def _unit_row(s: SummaryRow) -> dict:
    """A work unit with the keys of `hemat summary --by satker --format json` and its codes."""
    return {**_summary_row(s), "buyer": s.extra["klpd"], "satker_code": s.extra["satker_code"],
            "klpd_code": s.extra["klpd_code"]}


def _reason_flags(row: dict) -> str:
    return ", ".join(r["flag"] for r in row["reasons"])


def _reason_texts(row: dict) -> str:
    return "; ".join(r["detail"] for r in row["reasons"])


IDENTITY = [
    Col("kind", ("Jenis", "Kind"), "text", 11),
    Col("code", ("Kode paket", "Package code"), "code", 14),
]
WHERE = [
    Col("province", ("Provinsi", "Province"), "text", 22),
    Col("regency", ("Kabupaten/kota", "Regency/city"), "text", 28),
]
BUYER = [
    Col("klpd_name", ("K/L/PD", "Buyer (K/L/PD)"), "text", 28),
    Col("satker_name", ("Satker", "Work unit (satker)"), "text", 30),
    Col("method", ("Metode pemilihan", "Method"), "text", 18),
    Col("category", ("Jenis pengadaan", "Category"), "text", 26),
]
YEAR = Col("year", ("Tahun anggaran", "Budget year"), "year", 9)
NAME = Col("name", ("Nama paket", "Package name"), "text", 60)
WINNER = Col("winner_name", ("Pemenang", "Winner"), "text", 30)

FLAGGED_COLUMNS = [
    *IDENTITY, YEAR, NAME, *WHERE, *BUYER,
    _money("pagu", ("Pagu", "Pagu")), _money("hps", ("HPS", "HPS")),
    _money("kontrak", ("Nilai kontrak", "Contract value")),
    Col("excluded", ("Dikeluarkan dari total", "Left out of totals"), "bool", 12),
    Col("flag_codes", ("Tanda", "Flags"), "code", 26, _reason_flags),
    Col("reason_text", ("Alasan", "Reasons"), "text", 70, _reason_texts,
        quality.details_in_english),
    WINNER,
]

DETAIL_COLUMNS = [
    *IDENTITY,
    Col("rup_code", ("Kode RUP", "RUP code"), "code", 12),
    YEAR, NAME, *BUYER,
    Col("funding", ("Sumber dana", "Funding"), "text", 11),
    Col("status", ("Status", "Status"), "text", 11),
    Col("province_code", ("Kode provinsi", "Province code"), "code", 9),
    WHERE[0],
    Col("regency_code", ("Kode kab/kota", "Regency code"), "code", 9),
    WHERE[1],
    _money("pagu", ("Pagu", "Pagu")), _money("hps", ("HPS", "HPS")),
    _money("penawaran", ("Nilai penawaran", "Winning bid")),
    _money("kontrak", ("Nilai kontrak", "Contract value")),
    _money("savings_vs_pagu", ("Penghematan vs pagu", "Savings vs pagu")),
    Col("rate_vs_pagu", ("% vs pagu", "% vs pagu"), "pct", 10),
    _money("savings_vs_hps", ("Penghematan vs HPS", "Savings vs HPS")),
    Col("rate_vs_hps", ("% vs HPS", "% vs HPS"), "pct", 10),
    Col("counted", ("Dihitung dalam total", "Counted in totals"), "bool", 11),
    Col("flags", ("Tanda", "Flags"), "code", 24),
    WINNER,
    Col("announced_on", ("Tanggal pengumuman", "Announced on"), "date", 12),
    Col("awarded_on", ("Tanggal penetapan pemenang", "Awarded on"), "date", 12),
    Col("region_note", ("Catatan wilayah", "Region note"), "text", 30,
        english=regions.note_in_english),
]


def package_tables(engine: Engine, report: "Report") -> list[Table]:
    """The flagged packages and the full package detail, both streamed from the database."""
    f = report.filters
    return [
        Table("flagged", ("Paket ditandai", "Flagged packages"), FLAGGED_COLUMNS,
              lambda: queries.flagged_packages(engine, f), report.flagged, freeze="C2"),
        Table("packages", ("Paket", "Packages"), DETAIL_COLUMNS,
              lambda: queries.packages_detail(engine, f), report.total.packages, freeze="C2"),
    ]


# ---------------------------------------------------------------------------------------------
# The report: every figure of the export, computed once.


@dataclass
class Report:
    filters: Filters
    lang: str
    names: dict[str, str]
    total: SummaryRow
    by_province: list[SummaryRow]
    by_regency: list[SummaryRow]
    by_year: list[SummaryRow]
    by_method_category: list[SummaryRow]
    by_satker: list[SummaryRow]
    reasons: list[dict]
    flagged: int
    generated_at: datetime = field(default_factory=lambda: datetime.now().replace(microsecond=0))

    @property
    def with_contract(self) -> int:
        """Packages that have both pagu and a contract value, counted in totals or not."""
        t = self.total
        return t.contracted if self.filters.include_flagged else t.contracted + t.excluded

    @property
    def data_years(self) -> list[int]:
        return [int(s.group) for s in self.by_year if s.group != UNRESOLVED]


def build_report(engine: Engine, filters: Filters, lang: str = "id") -> Report:
    """Run every summary query of an export once. The work-unit table, the longest (at a
    million packages 1.3-2.0 s of the report's 2.5-3.1 s on SQLite), runs on a second
    connection beside the others: the database works on both cores while Python waits for
    it. Not where a connection is bound to its thread (an in-memory SQLite database is a
    different, empty database in every thread)."""
    units = partial(queries.satker_summary, engine, filters, limit=None)
    if isinstance(engine.pool, (SingletonThreadPool, StaticPool)):
        return _report(engine, filters, lang, units)
    helper = ThreadPoolExecutor(max_workers=1)
    try:
        return _report(engine, filters, lang, helper.submit(units).result)
    finally:  # after a failure, do not wait for the work units
        helper.shutdown(wait=False, cancel_futures=True)


def _report(engine: Engine, filters: Filters, lang: str, units: Callable[[], list]) -> Report:
    """The report, its work units from UNITS, called once the other queries have run."""
    return Report(
        filters=filters, lang=lang, names=queries.region_names(engine),
        total=queries.total(engine, filters),
        by_province=queries.summary(engine, "province", filters),
        by_regency=queries.summary(engine, "regency", filters),
        by_year=queries.summary(engine, "year", filters),
        by_method_category=queries.summary_cross(engine, "method", "category", filters),
        reasons=queries.excluded_reasons(engine, filters),
        flagged=queries.flagged_count(engine, filters),
        by_satker=units(),
    )


# ---------------------------------------------------------------------------------------------
# Words: the filters, definitions and file names.


def slug(text: str) -> str:
    """'Kabupaten Bandung' → 'kabupaten-bandung' (ASCII, for file names)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _years_text(years, sep: str = "–") -> str:
    years = sorted(set(years))
    if not years:
        return ""
    if len(years) == 1:
        return str(years[0])
    if years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}{sep}{years[-1]}"
    return ", ".join(map(str, years))


def _region_words(f: Filters, names: dict[str, str], lang: str) -> str:
    codes = f.regencies or f.provinces
    if not codes:
        return _t(("Semua wilayah", "All regions"), lang)
    return ", ".join(names.get(c, c) for c in codes)


def _file_stem(f: Filters, names: dict[str, str], data_years: list[int],
               lang: str = "id") -> str:
    """hemat-jawa-barat-2023-2025, hemat-kabupaten-bandung-2025-tender, ...; in English
    hemat-all-regions-2025, ... (region names, methods and kinds are the data's own words)."""
    codes = f.regencies or f.provinces
    if len(codes) > 3:
        parts = [f"{len(codes)}-{_t(('wilayah', 'regions'), lang)}"]
    else:
        parts = [slug(names.get(c, c)) for c in codes] or [
            _t(("semua-wilayah", "all-regions"), lang)]
    years = sorted(set(f.years or data_years))
    if f.years and years != list(range(years[0], years[-1] + 1)):
        parts.append("_".join(map(str, years)))  # chosen years with gaps: name each
    elif years:
        parts.append(str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}")
    if f.kind:
        parts.append(f.kind)
    for values, what in ((f.methods, ("metode", "methods")),
                         (f.categories, ("jenis", "categories")),
                         (f.fundings, ("dana", "funding"))):
        if values:
            many = f"{len(values)}-{_t(what, lang)}"
            parts.append(slug(values[0]) if len(values) == 1 else many)
    if f.include_flagged:
        parts.append(_t(("termasuk-tidak-wajar", "incl-flagged"), lang))
    stem = "-".join(["hemat", *filter(None, parts)])
    return stem[:150].rstrip("-")


def export_filename(engine: Engine, filters: Filters, fmt: str, lang: str = "id") -> str:
    """The name an export gets: hemat-jawa-barat-2023-2025.xlsx; for csv/json a folder name,
    hemat-jawa-barat-2023-2025-csv. In English: hemat-all-regions-2025.xlsx, ..."""
    _check(fmt, lang)
    years = [] if filters.years else [
        int(s.group) for s in queries.summary(engine, "year", filters) if s.group != UNRESOLVED]
    stem = _file_stem(filters, queries.region_names(engine), years, lang)
    return f"{stem}.xlsx" if fmt == "xlsx" else f"{stem}-{fmt}"


def _report_stem(report: Report) -> str:
    return _file_stem(report.filters, report.names, report.data_years, report.lang)


def _title_years(report: Report) -> str:
    """The chosen years, or without a choice the span of years in the data."""
    if report.filters.years:
        return _years_text(report.filters.years)
    data = report.data_years
    return f"{data[0]}–{data[-1]}" if len(data) > 1 else _years_text(data)


def title(report: Report) -> str:
    lang, f = report.lang, report.filters
    years = _title_years(report)
    head = _t(("Penghematan pengadaan elektronik", "E-procurement savings"), lang)
    where_ = _region_words(f, report.names, lang)
    kind = f" ({f.kind})" if f.kind else ""
    return f"{head}: {where_}{', ' + years if years else ''}{kind}"


def _list_or_all(values, names: dict, lang: str, everything: tuple[str, str]) -> str:
    return ", ".join(names.get(v, v) for v in values) if values else _t(everything, lang)


def filter_lines(report: Report) -> list[tuple[str, str]]:
    """The filters written out in words, label → text."""
    f, lang, names = report.filters, report.lang, report.names
    data_years = _years_text(report.data_years)
    years = _years_text(f.years) if f.years else _t(("Semua tahun", "All years"), lang) + (
        f" ({_t(('ada di data', 'in the data'), lang)}: {data_years})" if data_years else "")
    kind = {None: ("Tender dan non-tender", "Tender and non-tender"),
            "tender": ("Tender", "Tender"), "non-tender": ("Non-tender", "Non-tender")}
    flagged = (("Ikut dihitung dalam total (--include-flagged)",
                "Included in totals (--include-flagged)") if f.include_flagged else
               ("Tidak dihitung dalam total (daftarnya di lembar Paket ditandai)",
                "Left out of totals (listed on the sheet Flagged packages)"))
    rows = [
        (("Provinsi", "Province"),
         _list_or_all(f.provinces, names, lang, ("Semua provinsi", "All provinces"))),
        (("Kabupaten/kota", "Regency/city"),
         _list_or_all(f.regencies, names, lang, ("Semua kabupaten/kota", "All"))),
        (("Tahun anggaran", "Budget year"), years),
        (("Jenis paket", "Package kind"), _t(kind.get(f.kind, (f.kind, f.kind)), lang)),
        (("Metode pemilihan", "Method"), _list_or_all(f.methods, {}, lang, ("Semua", "All"))),
        (("Jenis pengadaan", "Category"),
         _list_or_all(f.categories, {}, lang, ("Semua", "All"))),
        (("Sumber dana", "Funding"), _list_or_all(f.fundings, {}, lang, ("Semua", "All"))),
        (("Paket tidak wajar", "Implausible packages"), _t(flagged, lang)),
    ]
    return [(_t(label, lang), text) for label, text in rows]


DEFINITIONS = [
    (("Penghematan vs pagu", "Savings vs pagu"),
     ("Pagu − nilai kontrak, dijumlahkan atas paket yang dihitung. Dasar yang dipakai LKPP "
      "dan pemerintah daerah; dasar bawaan hemat.",
      "Pagu − contract value, summed over the counted packages. The basis LKPP and regional "
      "governments report; hemat's default.")),
    (("Penghematan vs HPS", "Savings vs HPS"),
     ("HPS − nilai kontrak, atas paket yang dihitung dan juga punya HPS. Dasar yang dipakai "
      "analis risiko (mis. ICW). Pagu non-tender kadang plafon rencana yang dipakai bersama "
      "beberapa paket; di sana HPS lebih aman.",
      "HPS − contract value, over the counted packages that also have an HPS. The basis of "
      "risk analysts (e.g. ICW). A non-tender pagu is sometimes a plan ceiling shared by "
      "several packages; HPS is the safer basis there.")),
    (("Paket yang dihitung", "Packages counted"),
     ("Hanya paket yang punya pagu dan nilai kontrak. Paket dengan nilai tidak wajar "
      "(mis. kontrak 10× HPS, salah ketik) ditampilkan tetapi tidak dihitung, kecuali diminta.",
      "Only packages with both a pagu and a contract value. Packages with implausible values "
      "(e.g. a contract 10× its HPS, a typo) are shown but not counted unless asked for.")),
    (("Persentase", "Percentages"),
     ("Penghematan ÷ pagu (atau ÷ HPS) dari paket yang sama.",
      "Savings ÷ pagu (or ÷ HPS) of the same packages.")),
    (("Tahun", "Year"),
     ("Tahun anggaran paket, bukan tanggal pengumuman.",
      "The package's budget year, not its announcement date.")),
    (("Wilayah", "Region"),
     ("Kode dan nama resmi Kemendagri. Paket yang lokasinya beberapa kabupaten/kota masuk ke "
      "provinsinya saja.",
      "Official Kemendagri codes and names. A package located in several regencies counts "
      "for its province only.")),
    (("Uang", "Money"),
     ("Rupiah, tepat sampai sen (angka, bukan teks).",
      "Rupiah, exact to the sen (numbers, not text).")),
]

FLAG_LABELS = {
    "kontrak_sangat_tinggi": ("Nilai kontrak jauh di atas HPS atau pagu (hampir pasti salah "
                              "ketik)", "Contract far above its HPS or pagu (almost certainly "
                              "a typo)"),
    "kontrak_sangat_rendah": ("Nilai kontrak jauh di bawah HPS (kemungkinan digit hilang)",
                              "Contract far below its HPS (a digit probably lost)"),
    "nilai_tidak_positif": ("Pagu, HPS atau nilai kontrak nol atau negatif",
                            "Pagu, HPS or contract value zero or negative"),
    "presisi_hilang": ("Angka dirusak Excel (digit hilang)",
                       "Number mangled by Excel (digits lost)"),
}

SHEET_NOTES = {
    "province": ("Penghematan per provinsi, dengan baris jumlah.",
                 "Savings by province, with a totals row."),
    "regency": ("Per kabupaten/kota; paket tanpa satu kabupaten/kota masuk ke provinsinya.",
                "By regency/city; packages without a single regency count for the province."),
    "year": ("Per tahun anggaran.", "By budget year."),
    "method_category": ("Per metode pemilihan dan jenis pengadaan.",
                        "By selection method and procurement category."),
    "satker": ("Per satuan kerja (satker) tiap K/L/PD, penghematan terbesar di atas. Satker "
               "berkode sama di pemerintah lain adalah satuan kerja lain.",
               "By work unit (satker) of each buyer (K/L/PD), largest savings first. A satker "
               "code of another government is another unit."),
    "flagged": ("Paket yang ditandai dan alasannya; yang tidak wajar di atas.",
                "Flagged packages and why; implausible ones first."),
    "packages": ("Semua paket pilihan ini: wilayah, nilai, penghematan, tanda.",
                 "Every package of this selection: region, values, savings, flags."),
}


def _int_text(n: int, lang: str) -> str:
    text = f"{n:,}"
    return text.replace(",", ".") if lang == "id" else text


def _pct_text(x: float | None, lang: str) -> str:
    if x is None:
        return "-"
    text = f"{x * 100:.2f}%"
    return text.replace(".", ",") if lang == "id" else text


def coverage_text(report: Report) -> str:
    """'68 dari 77 paket punya pagu dan nilai kontrak (88,31%)'."""
    lang, n, k = report.lang, report.total.packages, report.with_contract
    share = _pct_text(k / n if n else None, lang)
    if lang == "id":
        return (f"{_int_text(k, lang)} dari {_int_text(n, lang)} paket punya pagu dan nilai "
                f"kontrak ({share})")
    return f"{_int_text(k, lang)} of {_int_text(n, lang)} packages have a pagu and a contract " \
           f"value ({share})"


@dataclass(frozen=True)
class Item:
    """One line of the summary sheet: section, label, value and how to show the value."""

    section: str
    label: str
    value: object
    kind: str = "text"  # text, int, money, pct


def summary_items(report: Report, sheets: list[Table]) -> list[Item]:
    """The summary sheet, line by line: filters, headline figures, definitions, sheets."""
    lang, t = report.lang, report.total
    s_filters = _t(("Pilihan data", "Selection"), lang)
    s_figures = _t(("Angka utama", "Headline figures"), lang)
    s_defs = _t(("Definisi", "Definitions"), lang)
    s_sheets = _t(("Lembar", "Sheets"), lang)
    items = [Item(s_filters, label, text) for label, text in filter_lines(report)]
    left_out = (("Paket tidak wajar, ikut dihitung", "Implausible packages, counted")
                if report.filters.include_flagged else
                ("Paket dikeluarkan dari total (tidak wajar)", "Packages left out (implausible)"))
    figures = [
        (("Paket dipilih", "Packages selected"), t.packages, "int"),
        (("Cakupan kontrak", "Contract coverage"), coverage_text(report), "text"),
        (("Paket dihitung", "Packages counted"), t.contracted, "int"),
        (left_out, t.excluded, "int"),
    ]
    items += [Item(s_figures, _t(label, lang), value, kind) for label, value, kind in figures]
    for reason in report.reasons:
        label = FLAG_LABELS.get(reason["flag"], (reason["flag"], reason["flag"]))
        items.append(Item(s_figures, "  " + _t(("alasan: ", "reason: "), lang) + _t(label, lang),
                          reason["packages"], "int"))
    money = [
        (("Paket ditandai (lihat lembar Paket ditandai)", "Flagged packages (see sheet)"),
         report.flagged, "int"),
        (("Jumlah pagu", "Total pagu"), t.pagu, "money"),
        (("Jumlah nilai kontrak", "Total contract value"), t.kontrak, "money"),
        (("Penghematan vs pagu", "Savings vs pagu"), t.savings_vs_pagu, "money"),
        (("Persentase vs pagu", "Rate vs pagu"), t.rate_vs_pagu, "pct"),
        (("Paket dihitung ber-HPS", "Counted packages with HPS"), t.hps_contracted, "int"),
        (("Jumlah HPS", "Total HPS"), t.hps, "money"),
        (("Penghematan vs HPS", "Savings vs HPS"), t.savings_vs_hps, "money"),
        (("Persentase vs HPS", "Rate vs HPS"), t.rate_vs_hps, "pct"),
    ]
    items += [Item(s_figures, _t(label, lang), value, kind) for label, value, kind in money]
    items += [Item(s_defs, _t(label, lang), _t(text, lang)) for label, text in DEFINITIONS]
    items += [Item(s_sheets, table.sheet_name(lang), _t(SHEET_NOTES[table.key], lang))
              for table in sheets]
    return items


def summary_json(report: Report) -> dict:
    """The summary as one JSON object, keys stable across languages."""
    f = report.filters
    return {
        "title": title(report),
        "generated_at": report.generated_at.isoformat(),
        "filters": {
            "years": list(f.years), "kind": f.kind,
            "provinces": [{"code": c, "name": report.names.get(c)} for c in f.provinces],
            "regencies": [{"code": c, "name": report.names.get(c)} for c in f.regencies],
            "methods": list(f.methods), "categories": list(f.categories),
            "fundings": list(f.fundings), "include_flagged": f.include_flagged,
        },
        "filters_text": dict(filter_lines(report)),
        "coverage": {"packages": report.total.packages, "with_contract": report.with_contract,
                     "counted": report.total.contracted, "excluded": report.total.excluded,
                     "counted_with_hps": report.total.hps_contracted,
                     "flagged": report.flagged, "text": coverage_text(report)},
        "excluded_reasons": [
            {**r, "label": _t(FLAG_LABELS.get(r["flag"], (r["flag"],) * 2), report.lang)}
            for r in report.reasons],
        "total": _json_value({**report.total.as_json(), "hps_contracted":
                              report.total.hps_contracted, "excluded": report.total.excluded}),
        "definitions": {_t(label, report.lang): _t(text, report.lang)
                        for label, text in DEFINITIONS},
    }


# ---------------------------------------------------------------------------------------------
# Progress


class _Progress:
    """Reports fraction done to the caller's callback, at most every half per cent."""

    def __init__(self, callback: Callable[[float], None] | None, units: int):
        self.callback, self.units, self.done, self.last = callback, max(units, 1), 0, -1.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        fraction = min(self.done / self.units, 1.0) * 0.98  # the rest is saving the file
        if self.callback and fraction - self.last >= 0.005:
            self.last = fraction
            self.callback(fraction)

    def finish(self) -> None:
        if self.callback:
            self.callback(1.0)


def _units(tables: list[Table]) -> int:
    return sum(t.size for t in tables)


# ---------------------------------------------------------------------------------------------
# Excel

# What a worksheet cannot hold (XML 1.0 forbids these control characters), and the texts
# Excel turns into an error value when a person edits the cell.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")


def _clean_text(value) -> str:
    """Text as a worksheet accepts it: no control characters, at most 32,767 characters."""
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))[:32767]


def _bool_text(value, lang: str) -> str | None:
    if value is None:
        return None
    return _t(("Ya", "Yes"), lang) if value else _t(("Tidak", "No"), lang)


class _Exact(Decimal):
    """A Decimal that XlsxWriter writes with all its digits: it formats numbers to 16
    significant digits, which would drop the last sen of sums from Rp100 triliun up."""

    def __format__(self, spec: str) -> str:
        return Decimal.__format__(self, "f")


LINE = "#808080"
HEADER_FILL, TOTAL_FILL = "#DDEBF7", "#F2F2F2"
FONT = "Calibri"  # named, so LibreOffice does not fall back to a serif font
NUMBER_FORMATS = {"money": MONEY_FORMAT, "pct": PCT_FORMAT, "int": INT_FORMAT,
                  "year": YEAR_FORMAT, "date": DATE_FORMAT}


class _Book:
    """An XlsxWriter workbook in constant-memory mode (each row goes to disk once the next
    one starts, so a national detail never sits in memory), with its formats made once."""

    def __init__(self, target, title_text: str):
        # Its rows wait in files of a folder of its own until the block's end zips them:
        # removed whatever happens (XlsxWriter removes them only after a successful close).
        self.folder = tempfile.TemporaryDirectory(prefix="hemat-xlsx-")
        self.wb = xlsxwriter.Workbook(
            str(target) if isinstance(target, Path) else target,
            {"constant_memory": True, "tmpdir": self.folder.name,
             "use_zip64": True})  # a national detail sheet may pass 4 GB of XML
        self.wb.set_properties({"title": title_text, "author": "hemat"})
        self.formats: dict = {}

    def __enter__(self) -> "_Book":
        return self

    def __exit__(self, failed, *_) -> None:
        """Save the workbook when the block ends without an error; a block that fails
        leaves an unfinished workbook unsaved."""
        try:
            if failed is None:
                self._save()
        finally:
            self.folder.cleanup()

    def format(self, **props):
        """The workbook's format with PROPS (font FONT unless given), made on first use."""
        key = tuple(sorted(props.items()))
        if key not in self.formats:
            self.formats[key] = self.wb.add_format({"font_name": FONT, **props})
        return self.formats[key]

    def sheet(self, name: str, fit_width: bool):
        """A new worksheet, landscape A4; narrow tables fit one page's width."""
        ws = self.wb.add_worksheet(name)
        ws.set_landscape()
        ws.set_paper(9)
        if fit_width:
            ws.fit_to_pages(1, 0)
        return ws

    def _save(self) -> None:
        try:
            self.wb.close()
        except xlsxwriter.exceptions.FileCreateError as exc:  # as any other file's OSError
            raise exc.args[0] from None


def _number_format(kind: str) -> dict:
    """The format property of a KIND's number format; none for text."""
    return {"num_format": NUMBER_FORMATS[kind]} if kind in NUMBER_FORMATS else {}


def _column_format(book: _Book, col: Col, total: bool):
    """A column's cell format: its number format; text and codes with a quote prefix, which
    keeps the cell text when a person edits it in Excel (no formula on Enter)."""
    props = _number_format(col.kind)
    if col.kind in ("text", "code"):
        props["quote_prefix"] = True
    if total:
        props.update(bold=True, bg_color=TOTAL_FILL, pattern=1, top=1, top_color=LINE)
    return book.format(**props)


# Kinds whose cells need no format: written plain unless the text is risky.
PLAIN_KINDS = ("text", "code", "bool", "year")


class _Sheet:
    """A streaming table sheet: a wrapped bold header, frozen panes, an autofilter, and one
    format per column made once."""

    def __init__(self, book: _Book, name: str, columns: list[Col], lang: str, freeze: str):
        self.ws = book.sheet(name, fit_width=len(columns) <= 16)
        self.columns, self.lang, self.rows = columns, lang, 0
        for i, col in enumerate(columns):
            self.ws.set_column(i, i, col.width)
        self.ws.freeze_panes(freeze)
        self.ws.repeat_rows(0)
        self.data_formats = [_column_format(book, col, total=False) for col in columns]
        self.total_formats = [_column_format(book, col, total=True) for col in columns]
        self.plain = [col.kind in PLAIN_KINDS for col in columns]
        self._header(book)

    def _header(self, book: _Book) -> None:
        self.ws.set_row(0, 45)  # three lines of a wrapped header
        for i, col in enumerate(self.columns):
            numeric = col.kind in ("int", "money", "pct")
            fmt = book.format(bold=True, bg_color=HEADER_FILL, pattern=1, text_wrap=True,
                              valign="vcenter", align="right" if numeric else "left",
                              bottom=1, bottom_color=LINE)
            self.ws.write_string(0, i, _t(col.header, self.lang), fmt)

    def append(self, row: dict, total: bool = False) -> None:
        r = self.rows + 1
        formats = self.total_formats if total else self.data_formats
        for i, col in enumerate(self.columns):
            value = _prepared(col, col.value(row), self.lang)
            if total:  # styled even when empty: the row's fill runs across
                _write(self.ws, r, i, value, formats[i])
            elif value is not None:
                plain = self.plain[i] and not _risky(value)
                _write(self.ws, r, i, value, None if plain else formats[i])
        if not total:
            self.rows += 1

    def close_filter(self) -> None:
        self.ws.autofilter(0, 0, self.rows, len(self.columns) - 1)


def _risky(value) -> bool:
    """Text that Excel would turn into a formula or an error when a person edits the cell."""
    return isinstance(value, str) and (value.startswith(FORMULA_START) or value in ERROR_CODES)


def _prepared(col: Col, value, lang: str):
    """VALUE as the column's kind shows it: Ya/Tidak, a year as a number, clean text."""
    if value is None:
        return None
    value = _in_language(col, value, lang)
    if col.kind == "bool":
        return _bool_text(value, lang)
    if col.kind == "year" and isinstance(value, str) and value.isdigit():
        return int(value)
    return _clean_text(value) if isinstance(value, str) else value


def _write(ws, row: int, col: int, value, fmt) -> None:
    """Write VALUE by its type; text is always a string, never a formula or an error."""
    if value is None:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, str):
        ws.write_string(row, col, value, fmt)
    elif isinstance(value, Decimal):
        ws.write_number(row, col, _Exact(value), fmt)
    elif isinstance(value, (date, datetime)):
        ws.write_datetime(row, col, value, fmt)
    else:
        ws.write_number(row, col, value, fmt)


def _table_sheets(book: _Book, table: Table, lang: str, progress: _Progress) -> None:
    base = table.sheet_name(lang)
    sheet = _Sheet(book, base, table.columns, lang, table.freeze)
    part = 1
    for row in table.rows():
        if sheet.rows >= MAX_SHEET_ROWS - 1:
            sheet.close_filter()
            part += 1
            sheet = _Sheet(book, f"{base[:26]} ({part})", table.columns, lang, table.freeze)
        sheet.append(row)
        progress.advance()
    sheet.close_filter()
    if table.total is not None:
        sheet.append(table.total, total=True)


LABEL_WIDTH, VALUE_WIDTH = 46, 80


class _SummarySheet:
    """The key/value summary sheet. Rows get explicit heights: neither Excel nor LibreOffice
    always grows wrapped rows when it opens a file."""

    def __init__(self, book: _Book, name: str):
        self.book = book
        self.ws = book.sheet(name, fit_width=True)
        self.ws.set_column(0, 0, LABEL_WIDTH)
        self.ws.set_column(1, 1, VALUE_WIDTH)
        self.label = book.format(text_wrap=True, valign="top")
        self.row = -1

    def line(self, lines: int = 1) -> int:
        """Start a row LINES lines high; its index."""
        self.row += 1
        if lines > 1:
            self.ws.set_row(self.row, 15 * lines)
        return self.row

    def heading(self, text: str, size: int) -> None:
        row = self.line(lines=2 if size > 12 else 1)
        # Not wrapped: a long title runs on over column B.
        fmt = self.book.format(bold=True, size=size, valign="vcenter")
        self.ws.write_string(row, 0, _clean_text(text), fmt)

    def item(self, label: str, value, kind: str) -> None:
        lines = max(_lines(label, LABEL_WIDTH), _lines(value, VALUE_WIDTH) if kind == "text"
                    else 1)
        row = self.line(lines=lines)
        self.ws.write_string(row, 0, _clean_text(label), self.label)
        fmt = self.book.format(text_wrap=True, valign="top", align="left",
                               **_number_format(kind))
        _write(self.ws, row, 1, _prepared(Col("value", ("", ""), kind), value, "id"), fmt)


def _lines(text, width: float) -> int:
    """Lines a wrapped text takes in a column WIDTH characters wide (a generous estimate)."""
    return max(1, -(-len(str(text)) // int(width * 1.1)))


def _summary_sheet(book: _Book, report: Report, items: list[Item]) -> None:
    lang = report.lang
    sheet = _SummarySheet(book, _t(("Ringkasan", "Summary"), lang))
    sheet.heading(title(report), 14)
    row = sheet.line()
    sheet.ws.write_string(row, 0, _t(("Dibuat", "Generated"), lang), sheet.label)
    sheet.ws.write_datetime(row, 1, report.generated_at,
                            book.format(num_format=DATETIME_FORMAT, align="left"))
    sheet.item(_t(("Versi hemat", "hemat version"), lang), _version(), "text")
    section = None
    for item in items:
        if item.section != section:
            section = item.section
            sheet.line()
            sheet.heading(section, 12)
        sheet.item(item.label, item.value, item.kind)


def _version() -> str:
    from hemat import __version__

    return __version__


# The dashboard's download builds the workbook while the browser waits: past this many
# packages it leaves the detail sheet (and past as many flagged ones, the flagged sheet) out
# and says how to get them (hemat export streams them).
DOWNLOAD_DETAIL_LIMIT = 10_000
NO_DETAIL = (("Rincian paket", "Package detail"),
             ("Tidak disertakan: {n} paket terlalu banyak untuk unduhan dasbor. Jalankan "
              "`hemat export --format xlsx` dengan filter yang sama untuk rincian lengkap.",
              "Left out: {n} packages are too many for a dashboard download. Run "
              "`hemat export --format xlsx` with the same filters for the full detail."))


def write_xlsx(engine: Engine, report: Report, target, progress=None,
               detail_limit: int | None = None) -> None:
    """Write the workbook to TARGET (a path or a binary file object), streaming the detail.

    With DETAIL_LIMIT, a selection of more packages gets no package-detail sheet (a line on
    the summary sheet says so)."""
    tables = [*summary_tables(report), *package_tables(engine, report)]
    items_extra = []
    too_big = [t for t in tables if t.key in ("flagged", "packages")
               and detail_limit is not None and t.size > detail_limit]
    for t in too_big:
        tables.remove(t)
        what = NO_DETAIL[0] if t.key == "packages" else t.title
        items_extra.append(Item(_t(("Lembar", "Sheets"), report.lang), _t(what, report.lang),
                                _t(NO_DETAIL[1], report.lang).format(
                                    n=_int_text(t.size, report.lang))))
    tracker = _Progress(progress, _units(tables))
    with _Book(target, title(report)) as book:
        _summary_sheet(book, report, summary_items(report, tables) + items_extra)
        for table in tables:
            _table_sheets(book, table, report.lang, tracker)
    tracker.finish()


def download_workbook(engine: Engine, filters: Filters, lang: str = "id",
                      detail_limit: int | None = DOWNLOAD_DETAIL_LIMIT) -> tuple[str, bytes]:
    """The dashboard's download button: (file name, workbook bytes) for FILTERS, both from
    one report (naming it apart would run the year summary and read the region names
    again)."""
    _check("xlsx", lang)
    buffer = io.BytesIO()
    report = build_report(engine, filters, lang)
    write_xlsx(engine, report, buffer, detail_limit=detail_limit)
    return f"{_report_stem(report)}.xlsx", buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# CSV and JSON


def _in_language(col: Col, value, lang: str):
    return col.english(value) if lang == "en" and col.english and isinstance(value, str) \
        else value


def _csv_value(col: Col, value, lang: str) -> str:
    if value is None:
        return ""
    value = _in_language(col, value, lang)
    if col.kind == "bool":
        return _bool_text(value, lang)
    if isinstance(value, Decimal):
        return str(value.quantize(queries.SEN))
    if isinstance(value, float):
        return str(round(value, 4))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return csv_text(value)
    return str(value)


def _write_csv_table(path: Path, table: Table, lang: str, progress: _Progress) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([_t(c.header, lang) for c in table.columns])
        for row in table.rows():
            writer.writerow([_csv_value(c, c.value(row), lang) for c in table.columns])
            progress.advance()
        if table.total is not None:
            writer.writerow([_csv_value(c, c.value(table.total), lang) for c in table.columns])


def _write_csv_summary(path: Path, report: Report, items: list[Item]) -> None:
    lang = report.lang
    header = [_t(("Bagian", "Section"), lang), _t(("Keterangan", "Item"), lang),
              _t(("Nilai", "Value"), lang)]
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerow(["", _t(("Judul", "Title"), lang), csv_text(title(report))])
        writer.writerow(["", _t(("Dibuat", "Generated"), lang), report.generated_at.isoformat()])
        for item in items:
            col = Col("value", ("", ""), item.kind)
            writer.writerow([csv_text(item.section), csv_text(item.label),
                             _csv_value(col, item.value, lang)])


def _json_value(value):
    if isinstance(value, Decimal):
        return str(value.quantize(queries.SEN))
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _write_json_table(path: Path, table: Table, progress: _Progress) -> None:
    """A JSON array written row by row, so that the detail never sits in memory."""
    with open(path, "w", encoding="utf-8") as out:
        out.write("[")
        for i, row in enumerate(table.rows()):
            out.write(",\n " if i else "\n ")
            out.write(json.dumps(_json_value(row), ensure_ascii=False))
            progress.advance()
        out.write("\n]\n")


def _write_folder(engine: Engine, report: Report, fmt: str, folder: Path,
                  progress) -> list[Path]:
    tables = [*summary_tables(report), *package_tables(engine, report)]
    tracker = _Progress(progress, _units(tables))
    lang = report.lang
    first = folder / f"{slug(_t(('Ringkasan', 'Summary'), lang))}.{fmt}"
    if fmt == "csv":
        _write_csv_summary(first, report, summary_items(report, tables))
    else:
        first.write_text(json.dumps(summary_json(report), ensure_ascii=False, indent=2) + "\n",
                         encoding="utf-8")
    paths = [first]
    for table in tables:
        path = folder / f"{table.file_stem(lang)}.{fmt}"
        if fmt == "csv":
            _write_csv_table(path, table, lang, tracker)
        else:
            _write_json_table(path, table, tracker)
        paths.append(path)
    tracker.finish()
    return paths


# ---------------------------------------------------------------------------------------------
# Entry point


def _check(fmt: str, lang: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")


def export(engine: Engine, filters: Filters, fmt: str, output=None, lang: str = "id",
           progress: Callable[[float], None] | None = None) -> list[Path]:
    """Write the export of FILTERS as FMT and return the files written.

    xlsx: one workbook at OUTPUT (a file, or a folder to put it in). csv/json: one file per
    table in the folder OUTPUT. Without OUTPUT the name says what the export holds
    (export_filename) and it goes in the current directory. PROGRESS(fraction) is called as
    rows are written.
    """
    _check(fmt, lang)
    report = build_report(engine, filters, lang)
    stem = _report_stem(report)
    if fmt == "xlsx":
        path = Path(output) if output else Path.cwd() / f"{stem}.xlsx"
        if path.is_dir():
            path = path / f"{stem}.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        try:
            write_xlsx(engine, report, partial, progress)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return [path]
    folder = Path(output) if output else Path.cwd() / f"{stem}-{fmt}"
    folder.mkdir(parents=True, exist_ok=True)
    return _write_folder(engine, report, fmt, folder, progress)
