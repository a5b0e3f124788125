"""Raw cells of one export → cleaned rows, one per package (or contract version), plus the
rows that cannot be used, each with its reason (they go to the rejects table).

Dates come out as ISO text and money as whole sen (Int64), the forms the database stores.
"""

import json

import numpy as np
import pandas as pd

from . import clean, schema
from .layouts import normalise_header
from .read import RawTable

FIELDS = schema.FIELD_NAMES
CODE_FIELDS = ("code", "rup_code", "package_code", "klpd_code", "satker_code", "lpse_code",
               "winner_code", "version")
DATE_FIELDS = ("announced_on", "awarded_on", "signed_on", "snapshot")
MONEY_FIELDS = (*schema.MONEY_FIELDS, "contract_value")
# In RE2's terms (see clean.WHITESPACE): "total" or "jumlah" as the first word.
_TOTAL_ROW = (r"^[ \t]*(?:grand[ \t]*total|sub[ \t]*total|total|jumlah)"
              r"(?:[^0-9A-Za-z_]|\Z)")


class Cleaned:
    def __init__(self, frame: pd.DataFrame, rejects: list[dict], skipped: int):
        self.frame, self.rejects, self.skipped = frame, rejects, skipped



def clean_table(raw: RawTable) -> Cleaned:
    """Raw cells → one cleaned row per package (or contract version), plus rejected rows."""
    layout, frame = raw.layout, raw.frame
    columns = {normalise_header(c): c for c in frame.columns}
    sources = {f: layout.column_for(f, set(columns)) for f in layout.fields}
    sources = {f: columns[c] for f, c in sources.items() if c}
    first = raw.header_row + 1
    row_numbers = pd.Series(np.arange(first, first + len(frame)), index=frame.index)
    used = frame[list(dict.fromkeys(sources.values()))]
    keep = ~_blank_or_total(used, frame, sources.get("code"))
    skipped = int((~keep).sum())
    used, row_numbers = used[keep], row_numbers[keep]
    out = pd.DataFrame(index=used.index)
    problems: dict = {}
    for name, col in sources.items():
        out[name] = _clean_column(name, used[col], col, problems, out)
    _require(out, layout, problems)
    out = _finish(out, layout)
    bad = out.index.isin(list(problems))
    rejects = [
        {"row_number": int(row_numbers[i]), "raw": _raw_json(used.loc[i]),
         "reason": "; ".join(problems[i])}
        for i in out.index[bad]
    ]
    good = out[~bad]
    good, dup_rejects, dup_skipped = _dedupe(good, layout, used, row_numbers)
    return Cleaned(good.reset_index(drop=True), rejects + dup_rejects, skipped + dup_skipped)


def _empty(series: pd.Series) -> pd.Series:
    text = series.astype(clean.STR).str.strip().str.lower()
    return (series.isna() | text.isin(clean.EMPTY)).fillna(True).astype(bool)


def _blank_or_total(used: pd.DataFrame, frame: pd.DataFrame, code_col: str | None) -> pd.Series:
    """Rows with nothing in them, and the TOTAL / JUMLAH rows analysts add at the bottom."""
    # Only a row without a real code can be blank or a total row: look closer at those alone.
    if code_col:
        code = frame[code_col]
        said_total = code.astype(clean.STR).str.contains(_TOTAL_ROW, case=False, regex=True)
        candidates = _empty(code) | said_total.fillna(False).astype(bool)
    else:
        candidates = pd.Series(True, index=frame.index)
    if not candidates.any():
        return candidates
    rest = used[candidates]
    blank = pd.concat([_empty(rest[c]) for c in rest.columns], axis=1).all(axis=1)
    text = frame[candidates].astype(str).agg(" ".join, axis=1)
    total = text.str.contains(_TOTAL_ROW, case=False, regex=True)
    return (blank | total).reindex(frame.index, fill_value=False)


def _note(problems: dict, index, message) -> None:
    for i in index:
        problems.setdefault(i, []).append(message if isinstance(message, str) else message[i])


def _clean_column(name: str, series: pd.Series, col: str, problems: dict, out) -> pd.Series:
    if name in MONEY_FIELDS:
        sen, lost, error = clean.money_series(series)
        bad = error.notna()
        _note(problems, error.index[bad], (f"kolom {col}: " + error[bad]).to_dict())
        if lost.any():
            lost_cols = out.get("precision_lost", pd.Series("", index=series.index))
            out["precision_lost"] = lost_cols.where(~lost, (lost_cols + " " + col).str.strip())
        return sen
    if name in DATE_FIELDS:
        return _dates(series)
    if name in CODE_FIELDS:
        return clean.code_series(series)
    if name == "year":
        years = _years(series)
        bad = years.map(lambda v: isinstance(v, str))
        _note(problems, years.index[bad], (f"kolom {col}: " + years[bad].astype(str)).to_dict())
        return years.where(~bad, None)
    return clean.text_series(series)


_ISO_PREFIX = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"


def _dates(series: pd.Series) -> pd.Series:
    """ISO dates; cells that start with one (ISB's usual form) skip the general parser."""
    text = series.astype(clean.STR)
    iso = text.str.contains(_ISO_PREFIX, regex=True).fillna(False).astype(bool)
    out = pd.Series(None, index=series.index, dtype=object)
    if iso.any():
        days = pd.to_datetime(text[iso].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        out[iso] = days.dt.strftime("%Y-%m-%d").astype(object).where(days.notna(), None)
    rest = ~iso & series.notna()
    if rest.any():
        out[rest] = clean.map_distinct(series[rest], _iso_date)
    return out


def _iso_date(value) -> str | None:
    day = clean.parse_date(value)
    return day.isoformat() if day else None


def _safe_year(value):
    try:
        return clean.parse_year(value)
    except clean.BadValue as exc:
        return str(exc)


def _years(series: pd.Series) -> pd.Series:
    """Budget years; the reason text where a cell is not one (plain years take a fast path)."""
    numbers = pd.to_numeric(series, errors="coerce")
    plain = numbers.between(2000, 2100) & (numbers % 1 == 0)
    out = pd.Series(None, index=series.index, dtype=object)
    out[plain] = numbers[plain].astype(int)
    rest = ~plain & series.notna()
    if rest.any():
        out[rest] = clean.map_distinct(series[rest], _safe_year)
    return out


KIND_WORDS = {"tender": "tender", "seleksi": "tender", "lelang": "tender",
              "non tender": "non-tender", "nontender": "non-tender", "non-tender": "non-tender"}


def _require(out: pd.DataFrame, layout, problems: dict) -> None:
    """Rows without a code (or, in the analysts' template, a kind) cannot be merged."""
    missing = out["code"].isna()
    _note(problems, out.index[missing], "kode paket kosong")
    if layout.kind is None:
        kinds = _column(out, "kind").map(
            lambda v: KIND_WORDS.get(str(v).strip().lower()) if v is not None else None)
        _note(problems, out.index[kinds.isna()],
              "kolom Jenis harus 'Tender' atau 'Non Tender'")
        out["kind"] = kinds


def _finish(out: pd.DataFrame, layout) -> pd.DataFrame:
    """Fill hemat's fields that the layout lacks and derive the few it states differently."""
    if layout.kind is not None:
        out["kind"] = layout.kind
    if "fast_tender" in out:
        fast = out.pop("fast_tender").fillna("").str.lower().isin(["ya", "yes", "true", "1"])
        out["method"] = _column(out, "method").where(
            lambda m: m.notna(), np.where(fast, "Tender Cepat", "Tender"))
    out["snapshot"] = _column(out, "snapshot").fillna("")
    for name in FIELDS:
        if name not in out:
            out[name] = pd.Series(pd.NA, index=out.index, dtype="Int64") \
                if name in schema.MONEY_FIELDS else None
    out["precision_lost"] = _column(out, "precision_lost").replace("", None)
    out["year"] = pd.to_numeric(out["year"], errors="coerce").astype("Int64")
    return out


def _column(out: pd.DataFrame, name: str) -> pd.Series:
    return out[name] if name in out else pd.Series(None, index=out.index, dtype=object)


def _key(layout) -> list[str]:
    return ["kind", "code", "version"] if layout.dataset == "contract" else ["kind", "code"]


def _dedupe(good: pd.DataFrame, layout, used, row_numbers) -> tuple[pd.DataFrame, list, int]:
    """Exact repeats of a row are dropped; one code with conflicting values is rejected."""
    key = _key(layout)
    if layout.dataset == "contract":
        good = good.assign(version=good["version"].fillna(""))
    compare = [c for c in good.columns if c not in key]
    dup = good.duplicated(key, keep=False)
    if not dup.any():
        return good, [], 0
    repeats = good[dup].astype(str).duplicated(keep="first")
    skipped = int(repeats.sum())
    good = good.drop(index=good[dup].index[repeats])
    dup = good.duplicated(key, keep=False)
    rejects = []
    for _, group in good[dup].groupby(key, dropna=False):
        differing = [c for c in compare if group[c].astype(str).nunique() > 1]
        rows = ", ".join(str(int(row_numbers[i])) for i in group.index)
        reason = (f"kode {group['code'].iat[0]} muncul di baris {rows} dengan nilai berbeda "
                  f"({', '.join(differing)}); tidak jelas mana yang benar")
        rejects += [{"row_number": int(row_numbers[i]), "raw": _raw_json(used.loc[i]),
                     "reason": reason} for i in group.index]
    return good[~dup], rejects, skipped


def _raw_json(row: pd.Series) -> str:
    values = {str(k): (None if clean.is_empty(v) else str(v)) for k, v in row.items()}
    return json.dumps(values, ensure_ascii=False)
