"""Cleaning of Indonesian number, date and text forms found in LKPP exports.

Each `parse_*` takes one raw cell; each `*_series` applies it to a pandas column, working on
distinct values once (exports repeat dates and names a lot) and taking a vectorised path
where the column is already numeric (JSON, XLSX).
"""

import html
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

EMPTY = {"", "null", "none", "nan", "nat", "-", "--", "—", "n/a", "#n/a", "tidak ada"}
# Text that means "no value yet" rather than a broken number.
NO_VALUE = re.compile(r"\bbelum\b|\btidak ada\b|\bkosong\b", re.I)

MULTIPLIERS = {
    "t": 10**12, "triliun": 10**12,
    "m": 10**9, "miliar": 10**9, "milyar": 10**9, "mlyr": 10**9,
    "jt": 10**6, "juta": 10**6,
    "rb": 10**3, "ribu": 10**3,
}
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_SUFFIX = re.compile(r"^(?P<num>[+-]?[\d.,]+)\s*(?P<unit>[a-z]+)\.?$")
_CURRENCY = re.compile(r"^(?:rp\.?|idr)\s*|\s*(?:rupiah)$", re.I)
_HTML_TAG = re.compile(r"<[^>]{0,200}>")
_SPACE = re.compile(r"\s+")


# pandas' own string dtype: Arrow-backed (vectorised in C++) when pyarrow is installed.
STR = "str"
# Patterns run on such columns are spelled for Arrow's RE2: with \s, \d or \b pandas falls
# back to Python's re, cell by cell. WHITESPACE is every character Python's \s matches.
WHITESPACE = (" \t\n\r\f\v\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
              "\u205f\u3000")
_ODD_SPACE = f"[{WHITESPACE}]{{2}}|[{WHITESPACE[1:]}]"  # a run of spaces, or not a plain one


class BadValue(ValueError):
    """A cell that cannot mean a value of its column; the row goes to rejects."""


def is_empty(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and value.strip().lower() in EMPTY


# No package costs Rp1.000 triliun (the whole national budget is a few thousand): from there
# on, a cell is no rupiah amount but a reject. The database keeps sen as BIGINT, and under
# this limit the difference of two amounts, and the sum of any 92 of them, stay within it:
# SQLite's sum() fails its statement on an overflow, so two cells of Rp50.000 triliun in one
# cube row failed a whole load.
SEN_LIMIT = 10**17


def _to_sen(amount: Decimal | int) -> int:
    if isinstance(amount, int):
        sen = amount * 100
    elif amount.is_finite() and abs(amount) < Decimal(SEN_LIMIT) / 100:  # Decimal's digits
        sen = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    else:
        sen = SEN_LIMIT
    if abs(sen) >= SEN_LIMIT:  # (after rounding, which can reach it)
        raise BadValue(f"terlalu besar untuk nilai rupiah (Rp1.000 triliun atau lebih): {amount}")
    return sen


def parse_money(value) -> tuple[int | None, bool]:
    """Rupiah in any form seen in exports → (whole sen, precision_lost).

    Accepts numbers, `Rp 2.711.780.000,00`, `2,711,780,000.00`, `1.234.567`, `1,8 M`,
    `273,7 Jt`, `1,08024E+11` (Excel lost digits: precision_lost=True), and empty forms
    (`null`, `-`, `Nilai Kontrak belum dibuat`) as None. Raises BadValue for anything else.
    """
    if is_empty(value):
        return None, False
    if isinstance(value, bool):
        raise BadValue(f"bukan angka: {value!r}")
    if isinstance(value, (int, np.integer)):
        return _to_sen(int(value)), False
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise BadValue(f"bukan angka: {float(value)!r}")  # "inf", not "np.float64(inf)"
        return _to_sen(Decimal(repr(float(value)))), False
    if isinstance(value, Decimal):
        if value.is_nan():  # missing, as a float NaN
            return None, False
        if value.is_infinite():
            raise BadValue(f"bukan angka: {value}")
        return _to_sen(value), False
    return _parse_money_text(str(value))


def _parse_money_text(text: str) -> tuple[int | None, bool]:
    s = _CURRENCY.sub("", _SPACE.sub(" ", text.strip().replace("\xa0", " "))).strip()
    if not s or s.lower() in EMPTY or NO_VALUE.search(s):
        return None, False
    negative = s.startswith("(") and s.endswith(")")
    s = s.strip("()").replace(" ", "") if negative else s
    if _SCIENTIFIC.match(s.replace(" ", "")):
        return _to_sen(Decimal(s.replace(",", "."))), True
    m = _SUFFIX.match(s.lower().replace(" ", "")) or _SUFFIX.match(s.lower())
    factor = 1
    if m and m.group("unit") in MULTIPLIERS:
        s, factor = m.group("num"), MULTIPLIERS[m.group("unit")]
    amount = _plain_number(s, text) * factor
    return _to_sen(-amount if negative else amount), False


def _plain_number(s: str, original: str) -> Decimal:
    """Digits with Indonesian or English separators → Decimal."""
    s = s.replace(" ", "")
    if not re.fullmatch(r"[+-]?[\d.,]*\d[\d.,]*", s):
        raise BadValue(f"bukan nilai rupiah: {original!r}")
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        decimal_sep = "." if s.rfind(".") > s.rfind(",") else ","
    elif dots + commas == 0:
        decimal_sep = None
    else:
        sep = "." if dots else ","
        # One separator followed by exactly three digits is a thousands separator: rupiah
        # never carry three decimals ("1.234" and "1,234" are both one thousand ...).
        tail = s.rsplit(sep, 1)[1]
        decimal_sep = sep if (dots + commas == 1 and len(tail) != 3) else None
    thousands = {".", ","} - {decimal_sep}
    for t in thousands:
        s = s.replace(t, "")
    if decimal_sep:
        s = s.replace(decimal_sep, ".")
    try:
        return Decimal(s)
    except InvalidOperation as exc:
        raise BadValue(f"bukan nilai rupiah: {original!r}") from exc


MONTHS = {
    "jan": 1, "januari": 1, "january": 1, "feb": 2, "februari": 2, "february": 2, "peb": 2,
    "mar": 3, "maret": 3, "march": 3, "apr": 4, "april": 4, "mei": 5, "may": 5,
    "jun": 6, "juni": 6, "june": 6, "jul": 7, "juli": 7, "july": 7,
    "agu": 8, "agt": 8, "ags": 8, "agustus": 8, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "okt": 10, "oktober": 10, "oct": 10, "october": 10,
    "nov": 11, "nopember": 11, "november": 11, "des": 12, "desember": 12, "dec": 12,
    "december": 12,
}
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[t ].*)?$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:\s.*)?$")
_D_MONTH_Y = re.compile(r"^(\d{1,2})\s+([a-z]+)\.?\s+(\d{4})(?:\s.*)?$")
_MONTH_D_Y = re.compile(r"^([a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})(?:,?\s.*)?$")


def parse_date(value) -> date | None:
    """A date in any form seen in exports, or None when empty or not a date.

    `2023-06-27T00:00:00Z`, `2024-01-23 15:00:00`, `Jul 16, 2025, 12:00:00AM`, `27-06-2023`,
    `27/06/2023`, `27 Juni 2023`, and date cells read from XLSX.
    """
    if is_empty(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    s = _SPACE.sub(" ", str(value).strip().lower())
    for pattern, order in ((_ISO, "ymd"), (_DMY, "dmy"), (_D_MONTH_Y, "dMy"), (_MONTH_D_Y, "Mdy")):
        m = pattern.match(s)
        if m:
            return _build_date(m.groups(), order)
    return None


def _build_date(parts, order: str) -> date | None:
    values = dict(zip(order, parts, strict=True))
    month = values.get("m") or MONTHS.get(values.get("M", ""))
    try:
        return date(int(values["y"]), int(month), int(values["d"]))
    except (TypeError, ValueError):
        return None


def clean_text(value) -> str | None:
    """Text without HTML fragments, entities or repeated whitespace; None when empty."""
    if is_empty(value):
        return None
    s = str(value)
    if "<" in s or "&" in s:
        s = html.unescape(_HTML_TAG.sub(" ", s))
    s = _SPACE.sub(" ", s).strip()
    return s or None


def clean_code(value) -> str | None:
    """An LKPP identifier as text: `4333194.0` → `4333194`, `10018467000` stays exact."""
    if is_empty(value):
        return None
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value) or value != int(value):
            raise BadValue(f"kode tidak valid: {value!r}")
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    s = _SPACE.sub(" ", str(value)).strip()
    if re.fullmatch(r"\d+\.0+", s):
        s = s.split(".")[0]
    return s or None


def parse_year(value) -> int | None:
    """A budget year 2000–2100, or None when empty; BadValue for anything else."""
    if is_empty(value):
        return None
    try:
        year = int(float(str(value).strip()))
    except ValueError as exc:
        raise BadValue(f"tahun anggaran tidak valid: {value!r}") from exc
    if not 2000 <= year <= 2100:
        raise BadValue(f"tahun anggaran di luar rentang: {value!r}")
    return year


def map_distinct(series: pd.Series, func) -> pd.Series:
    """Apply func once per distinct non-empty value (exports repeat names and dates a lot)."""
    values = series.astype(object)
    present = values.notna()
    out = pd.Series(None, index=series.index, dtype=object)
    if present.any():
        keys = values[present].map(_hashable)
        table = {u: func(u) for u in pd.unique(keys)}
        out[present] = keys.map(table.__getitem__)
    return out


def _hashable(value):
    """Nested JSON values (lists, objects) become text so that they can be looked up."""
    return repr(value) if isinstance(value, (list, dict)) else value


def text_series(series: pd.Series) -> pd.Series:
    """clean_text over a column, vectorised (package names are mostly distinct)."""
    text = series.astype(STR)
    # Most cells have neither markup nor a run of spaces: one regex over the column finds the
    # few that do, and only those are looked at again.
    odd = _contains(text, f"[<&]|{_ODD_SPACE}")
    if odd.any():
        text[odd] = _unusual_text(text[odd])
    return _missing_if_empty(pc.utf8_trim_whitespace(_cells(text)), text)


_EMPTY_CELLS = pa.array(sorted(EMPTY), pa.large_string())


def _missing_if_empty(cells: pa.ChunkedArray, like: pd.Series) -> pd.Series:
    """Trimmed CELLS as a text column with LIKE's index and name, each empty form ("null",
    "-", … in any case) missing. Arrow's kernels on the column itself, the ones .str.lower()
    and .isin() run, without pandas' fixed cost around each call (a small file's text column
    in half the time). It stays Arrow-backed (missing = NaN): a third of the memory of
    Python strings."""
    empty = pc.or_kleene(pc.is_null(cells), pc.is_in(pc.utf8_lower(cells),
                                                     value_set=_EMPTY_CELLS.cast(cells.type)))
    return pd.Series(pd.array(pc.if_else(empty, None, cells), dtype=STR), index=like.index,
                     name=like.name)


def _cells(text: pd.Series) -> pa.ChunkedArray:
    """An Arrow-backed text column's own Arrow data (no copy)."""
    cells = pa.array(text.array)
    return cells if isinstance(cells, pa.ChunkedArray) else pa.chunked_array([cells])


def _contains(text: pd.Series, pattern: str) -> pd.Series:
    """Which cells of an Arrow-backed text column PATTERN (spelled for RE2) matches."""
    found = pc.match_substring_regex(_cells(text), pattern).fill_null(False)
    return pd.Series(found.to_numpy(), index=text.index, dtype=bool, name=text.name)


def _unusual_text(text: pd.Series) -> pd.Series:
    """Cells with markup (cleaned one by one) or odd spaces (made single plain spaces)."""
    markup = _contains(text, r"[<&]")
    if markup.any():
        text[markup] = text[markup].map(clean_text)
    spaced = _contains(text, _ODD_SPACE)
    if spaced.any():
        text[spaced] = text[spaced].str.replace(_SPACE, " ", regex=True)
    return text


def code_series(series: pd.Series) -> pd.Series:
    """clean_code over a column, vectorised: `4333194.0` → `4333194`, text kept as text."""
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):  # NaN and inf are not whole: no warning
            whole = (values % 1 == 0) & (values >= -(2.0**63)) & (values < 2.0**63)
        # Whole numbers become text in Arrow, without a Python string per cell.
        digits = pa.array(np.where(whole, values, 0).astype(np.int64), mask=~whole)
        out = pd.Series(digits.cast(pa.string()), index=series.index, dtype=STR)
        fraction = ~whole & ~np.isnan(values)
        if fraction.any():
            out[fraction] = series[fraction].astype(str)
        return out
    text = series.astype(STR).str.strip().str.replace(r"^([0-9]+)\.0+\Z", r"\1", regex=True)
    return _missing_if_empty(_cells(text), text)


_PLAIN = r"-?[0-9]{1,13}(?:\.[0-9]{1,2})?"
# What SPSE's own CSV pages and opentender show: "Rp 1.980.113.000,00", up to 15 digits of rupiah.
_RUPIAH = r"(?:Rp\.? ?)?([0-9]{1,3}(?:\.[0-9]{3}){0,4})(?:,([0-9]{1,2}))?"


def money_series(series: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """parse_money over a column → (sen as Int64, precision_lost, error text or None).

    Numbers (what JSON and XLSX hold), plain numbers in text (ISB CSVs) and Indonesian-
    formatted rupiah take vectorised paths; other text goes through parse_money one cell at
    a time.
    """
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype) and series.dtype.kind in "iuf":
        # Nullable numbers (Int64, Float64, Arrow's): the cells present as NumPy numbers,
        # which cannot hold a missing int; as text, 2.675 would read as Indonesian thousands.
        present = series.notna().to_numpy(dtype=bool)
        return _joined(series.index, [(present, money_series(series[present].astype(
            series.dtype.numpy_dtype)))])
    if series.dtype == object and len(series):
        # XLSX and Python's json give numbers among empty cells and text: each kind of cell
        # takes its own path.
        return _joined(series.index, [(where, read(cells))
                                      for where, cells, read in _by_kind(series)])
    sen, lost, error = _no_sen(series.index)
    if series.dtype.kind in "if":
        # The rest are numbers too (more decimals, too large, not finite): read as text,
        # 1.005 would look like Indonesian thousands.
        rest = ~_number_sen(series, sen) & series.notna()
    else:
        rest = _text_sen(series, sen)
    _each_sen(series[rest], sen, lost, error)
    return sen, lost, error


def _no_sen(index: pd.Index) -> tuple[pd.Series, pd.Series, pd.Series]:
    """money_series' results before any cell is read: no sen, nothing lost, no error."""
    return (pd.Series(pd.NA, index=index, dtype="Int64"), pd.Series(False, index=index),
            pd.Series(None, index=index, dtype=object))


def _by_kind(series: pd.Series) -> list[tuple[np.ndarray, pd.Series, Callable]]:
    """An object column's cells by kind, where they are and how each kind is read: floats,
    and ints within ±2^62, as NumPy numbers; text and missing cells as text; anything else
    (bool, Decimal, another kind of number) cell by cell."""
    kinds = series.map(type)
    floats = kinds.isin((float, np.float64)).to_numpy(dtype=bool)
    ints = kinds.isin((int, np.int64)).to_numpy(dtype=bool, copy=True)
    if ints.any():
        ints[ints] = series[ints].map(lambda v: -(2**62) < v < 2**62).to_numpy(dtype=bool)
    text = kinds.isin((str, type(None))).to_numpy(dtype=bool)
    other = ~(floats | ints | text)
    return [(where, series[where].astype(dtype), read) for where, dtype, read in (
        (floats, "float64", money_series), (ints, "int64", money_series),
        (text, STR, money_series), (other, object, _cell_by_cell)) if where.any()]


def _cell_by_cell(series: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    sen, lost, error = _no_sen(series.index)
    _each_sen(series, sen, lost, error)
    return sen, lost, error


def _joined(index: pd.Index, parts) -> tuple[pd.Series, pd.Series, pd.Series]:
    """money_series' results for PARTS of a column, (where, results) each, put together by
    position."""
    sen, lost, error = _no_sen(index)
    for where, (part_sen, part_lost, part_error) in parts:
        at = np.flatnonzero(where)
        sen.iloc[at] = part_sen.array
        lost.iloc[at] = part_lost.to_numpy(dtype=bool)
        error.iloc[at] = part_error.to_numpy(dtype=object)
    return sen, lost, error


def _number_sen(series: pd.Series, sen: pd.Series) -> np.ndarray:
    """Set SEN where a number column holds whole sen (at most two decimals, under 10^13
    rupiah, as the plain text path takes them); returns where it did."""
    values = series.to_numpy()
    if series.dtype.kind == "i":
        done = (values > -(10**13)) & (values < 10**13)  # np.abs(-2**63) stays negative
        cents = values * 100
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            cents = np.rint(values * 100)
            # Exactly what a number of at most two decimals reads back as.
            done = np.isfinite(values) & (np.abs(values) < 1e13) & (cents / 100 == values)
    if done.any():
        sen[done] = cents[done].astype(np.int64)
    return done


def _text_sen(series: pd.Series, sen: pd.Series) -> pd.Series:
    """Set SEN where a cell is a plain number or Indonesian rupiah in text; returns where
    the cell is neither (nor empty)."""
    if pd.api.types.is_bool_dtype(series):
        series = series.astype(object)
    text = series.astype(STR).str.strip()
    plain = text.str.fullmatch(_PLAIN).fillna(False).astype(bool)
    if plain.any():
        values = text[plain].astype("float64").to_numpy()  # Arrow's parser, in C++
        sen[plain.index[plain]] = np.rint(values * 100).astype(np.int64)
    rupiah = ~plain & text.str.fullmatch(_RUPIAH).fillna(False).astype(bool)
    if rupiah.any():
        # Whole sen from the digits themselves: exact at any size, no float in between.
        parts = text[rupiah].str.extract(f"^{_RUPIAH}$")
        digits = parts[0].str.replace(".", "", regex=False) + parts[1].fillna("").str.pad(
            2, side="right", fillchar="0")
        sen[rupiah.index[rupiah]] = digits.astype("int64").to_numpy()
    # Empty cells ("" from a spreadsheet, "-", "null") need no parse_money of their own.
    blank = text.str.lower().isin(EMPTY).fillna(False).astype(bool)
    return ~plain & ~rupiah & ~blank & series.notna()


def _each_sen(series: pd.Series, sen: pd.Series, lost: pd.Series, error: pd.Series) -> None:
    """parse_money cell by cell, into SEN, LOST and ERROR."""
    done, values, imprecise = [], [], []
    for i, value in series.items():
        try:
            value_sen, value_lost = parse_money(value)
        except BadValue as exc:
            error[i] = str(exc)
            continue
        done.append(i)
        values.append(value_sen)
        imprecise.append(value_lost)
    if done:  # one assignment: setting cells one by one costs more than parsing them
        sen[done] = pd.array(values, dtype="Int64")
        lost[done] = imprecise


def in_english(text: str, forms: list, adjust: Callable[[dict], dict | None] | None = None,
               ) -> str | None:
    """TEXT (one of hemat's own Indonesian messages) in English: the first of FORMS, pairs of
    (pattern with named parts, English form), that TEXT matches whole, its parts passed
    through ADJUST (which may refuse them with None); None where no form takes TEXT."""
    for pattern, english in forms:
        found = pattern.fullmatch(text)
        if found:
            parts = adjust(found.groupdict()) if adjust else found.groupdict()
            if parts is not None:
                return english.format(**parts)
    return None
