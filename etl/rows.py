"""Raw cells of one export → cleaned rows, one per package (or contract version), plus the
rows that cannot be used, each with its reason (they go to the rejects table).

Dates come out as ISO text and money as whole sen (Int64), the forms the database stores.
"""

import json
from collections import Counter

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
# Only these fields' cells can make a row unusable (or two rows one package): cleaned first,
# they tell which rows' raw cells a reject may show, so that the other raw columns can go.
DECIDING = (*MONEY_FIELDS, "year", "code", "version", "kind")
# Columns are cleaned this many rows at a time: the intermediate copies of a slice are freed
# before the next, so a file of a million rows needs little more memory than its result.
SLICE_ROWS = 50_000
# The name take_columns gives the columns it takes out, which no export's column can have.
_TAKEN = object()
# The column that keeps tables cleaned together apart where rows are compared.
_TABLE = "__table__"


class Cleaned:
    def __init__(self, frame: pd.DataFrame, rejects: list[dict], skipped: int):
        self.frame, self.rejects, self.skipped = frame, rejects, skipped


class CleanedTogether:
    """Tables cleaned together: FRAME holds their good rows, table after table; TABLES says
    which table each row came from; REJECTS and SKIPPED are per table."""

    def __init__(self, frame: pd.DataFrame, tables: np.ndarray, rejects: list[list[dict]],
                 skipped: list[int]):
        self.frame, self.tables, self.rejects, self.skipped = frame, tables, rejects, skipped


def clean_table(raw: RawTable) -> Cleaned:
    """Raw cells → one cleaned row per package (or contract version), plus rejected rows."""
    together = clean_tables([raw])
    return Cleaned(together.frame, together.rejects[0], together.skipped[0])


def alike(raw: RawTable) -> tuple:
    """What tables must share to be cleaned together (the yearly files of one kind, say):
    their layout, the column each field is read from, and those columns' types. The order of
    the columns may differ (an export's changes from year to year), and so may the columns
    no field reads."""
    sources = _sources(raw.layout, raw.frame.columns)
    read = raw.frame.dtypes[list(dict.fromkeys(sources.values()))]
    return raw.layout.name, frozenset(sources.items()), frozenset(read.items())


def _sources(layout, names) -> dict[str, str]:
    """The column each of LAYOUT's fields is read from, of the columns NAMES."""
    columns = {normalise_header(c): c for c in names}
    sources = {f: layout.column_for(f, set(columns)) for f in layout.fields}
    return {f: columns[c] for f, c in sources.items() if c}


def clean_tables(raws: list[RawTable]) -> CleanedTogether:
    """Raw cells of ALIKE tables → one cleaned row per package (or contract version), plus
    rejected rows. Each table's rows, rejects and row numbers are the ones it gets cleaned
    alone; together, pandas' fixed cost per operation, most of a small file's cleaning, is
    paid once for all of them.

    Takes the raw cells (each raw.frame is left empty) and lets each raw column go once it is
    cleaned, but for the few rows a reject may have to show: a large file's raw and cleaned
    cells are never held whole at once."""
    layout, frames = raws[0].layout, [raw.frame for raw in raws]
    for raw in raws:
        raw.frame = raw.frame.iloc[:, :0]  # the row count stays
    sources = _sources(layout, frames[0].columns)
    used_columns = list(dict.fromkeys(sources.values()))
    # Each table's own: a total row is told by its first cells, in that table's column order.
    keep = ~np.concatenate([_blank_or_total(f, used_columns, sources.get("code")).to_numpy()
                            for f in frames])
    used, tables, row_numbers = _cells_together(raws, [f[used_columns] for f in frames])
    del frames
    skipped = per_table(tables[~keep], len(raws))
    if not keep.all():
        used, row_numbers, tables = used[keep], row_numbers[keep], tables[keep]
    cells = take_columns(used)
    problems: dict = {}
    lost: dict = {}
    out = pd.DataFrame(index=row_numbers.index)
    uses = Counter(sources.values())
    kept = None  # the rows whose raw cells are kept, known once the deciding fields are clean
    for name in sorted(sources, key=lambda f: f not in DECIDING):
        if kept is None and name not in DECIDING:
            kept = _may_be_rejected(out, layout, problems)
            cells.update({c: v.loc[kept] for c, v in cells.items() if not uses[c]})
        col = sources[name]
        parts = [_clean_column(name, cells[col].iloc[start:start + SLICE_ROWS], col, problems,
                               lost) for start in range(0, max(len(out), 1), SLICE_ROWS)]
        out[name] = parts[0] if len(parts) == 1 else pd.concat(parts)
        uses[col] -= 1
        if kept is not None and not uses[col]:
            cells[col] = cells[col].loc[kept]
    out, used = out[list(sources)], pd.DataFrame(cells)  # in the layout's order again
    if lost:
        out["precision_lost"] = pd.Series({i: " ".join(cols) for i, cols in lost.items()},
                                          dtype=object).reindex(out.index)
    _require(out, layout, problems)
    out = _finish(out, layout)
    bad = out.index.isin(list(problems))
    table_of = pd.Series(tables, index=out.index)
    rejects: list[list[dict]] = [[] for _ in raws]
    for i in out.index[bad]:
        rejects[table_of.at[i]].append({"row_number": int(row_numbers[i]),
                                     "raw": _raw_json(used.loc[i]),
                                     "reason": "; ".join(problems[i])})
    drop, repeats = _duplicates(out, bad, layout, used, row_numbers, table_of, rejects)
    skipped += per_table(table_of.loc[repeats].to_numpy(), len(raws))
    keep = ~bad & ~out.index.isin(drop)
    good = out if keep.all() else filtered(out, keep)
    return CleanedTogether(good.reset_index(drop=True), tables[keep], rejects,
                           skipped.tolist())


def _cells_together(raws: list[RawTable], frames: list[pd.DataFrame]) -> tuple:
    """The raw cells FRAMES of RAWS (the same columns in each) in one frame, which table
    each row came from, and each row's number as a spreadsheet shows it."""
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    lengths = [len(f) for f in frames]
    tables = np.repeat(np.arange(len(frames)), lengths)
    numbers = np.concatenate([np.arange(raw.header_row + 1, raw.header_row + 1 + n)
                              for raw, n in zip(raws, lengths, strict=True)])
    return frame, tables, pd.Series(numbers, index=frame.index)


def per_table(tables: np.ndarray, count: int) -> np.ndarray:
    """How many of the rows (given by their TABLES) each of COUNT tables has."""
    return np.bincount(tables, minlength=count)


def _may_be_rejected(out: pd.DataFrame, layout, problems: dict) -> pd.Index:
    """The rows that a reject may show, once the DECIDING fields are cleaned: a bad cell, no
    code, no valid kind (the analysts' template), or a code stated more than once."""
    code = _column(out, "code")
    maybe = code.isna() | code.duplicated(keep=False) | out.index.isin(list(problems))
    if layout.kind is None:
        maybe |= _kinds(out).isna()
    return out.index[maybe.to_numpy(dtype=bool)]


def take_columns(frame: pd.DataFrame, columns: list[str] | None = None) -> dict:
    """FRAME's COLUMNS (by default all of them) as Series, taken out of FRAME in one step:
    each is freed once its new holder lets it go. Popping them one by one rebuilds FRAME's
    blocks every time, 0.2 s of the 1.6 s a load of 10k packages' XLSX files takes to clean."""
    columns = list(frame.columns) if columns is None else list(columns)
    taken = {col: frame[col] for col in columns}
    # Named alike, they go in one deletion (the frame is the caller's: no copy can stand in).
    chosen = frame.columns.isin(columns)
    if chosen.any():
        frame.columns = [_TAKEN if c else name
                         for c, name in zip(chosen, frame.columns, strict=True)]
        del frame[_TAKEN]
    return taken


def filtered(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """FRAME's rows where KEEP, made a column at a time and emptying FRAME: each old column
    is freed as its copy is made, where frame[keep] would hold two copies of everything."""
    index, cells = frame.index[keep], take_columns(frame)
    return pd.DataFrame({col: cells.pop(col).array[keep] for col in list(cells)}, index=index,
                        copy=False)


def _empty(series: pd.Series) -> pd.Series:
    text = series.astype(clean.STR).str.strip().str.lower()
    return (series.isna() | text.isin(clean.EMPTY)).fillna(True).astype(bool)


def _blank_or_total(frame: pd.DataFrame, used: list[str], code_col: str | None) -> pd.Series:
    """Rows with nothing in the USED columns, and the TOTAL / JUMLAH rows analysts add at
    the bottom."""
    # Only a row without a real code can be blank or a total row: look closer at those alone.
    if code_col and pd.api.types.is_numeric_dtype(frame[code_col]):
        candidates = frame[code_col].isna()  # a number says neither "total" nor "-"
    elif code_col:
        code = frame[code_col]
        said_total = code.astype(clean.STR).str.contains(_TOTAL_ROW, case=False, regex=True)
        candidates = _empty(code) | said_total.fillna(False).astype(bool)
    else:
        candidates = pd.Series(True, index=frame.index)
    if not candidates.any():
        return candidates
    rest = frame.loc[candidates, used]
    blank = pd.concat([_empty(rest[c]) for c in rest.columns], axis=1).all(axis=1)
    cells = frame[candidates].astype(object)
    # (astype(str) alone keeps a missing cell missing, which join cannot take)
    text = cells.where(cells.notna(), "").astype(str).agg(" ".join, axis=1)
    total = text.str.contains(_TOTAL_ROW, case=False, regex=True)
    return (blank | total).reindex(frame.index, fill_value=False)


def _note(problems: dict, index, message) -> None:
    for i in index:
        problems.setdefault(i, []).append(message if isinstance(message, str) else message[i])


def _clean_column(name: str, series: pd.Series, col: str, problems: dict,
                  lost: dict) -> pd.Series:
    """One column (or a slice of it) cleaned; its bad cells noted in PROBLEMS and money
    cells that lost precision in LOST, both by row."""
    if name in MONEY_FIELDS:
        sen, imprecise, error = clean.money_series(series)
        bad = error.notna()
        _note(problems, error.index[bad], (f"kolom {col}: " + error[bad]).to_dict())
        _note(lost, imprecise.index[imprecise.to_numpy(dtype=bool)], col)
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
    out = pd.Series(pd.NA, index=series.index, dtype=clean.STR)
    if iso.any():
        # An ISO prefix that is a real day is already the stored form: kept as it is.
        day = text[iso].str.slice(0, 10)
        valid = pd.to_datetime(day, format="%Y-%m-%d", errors="coerce").notna()
        out[iso] = day.where(valid)
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
        kinds = _kinds(out)
        _note(problems, out.index[kinds.isna()],
              "kolom Jenis harus 'Tender' atau 'Non Tender'")
        out["kind"] = kinds


def _kinds(out: pd.DataFrame) -> pd.Series:
    return _column(out, "kind").map(
        lambda v: KIND_WORDS.get(str(v).strip().lower()) if isinstance(v, str) else None)


def _finish(out: pd.DataFrame, layout) -> pd.DataFrame:
    """Fill hemat's fields that the layout lacks and derive the few it states differently."""
    if layout.kind is not None:
        out["kind"] = layout.kind
    if "fast_tender" in out:
        fast = out.pop("fast_tender").fillna("").str.lower().isin(["ya", "yes", "true", "1"])
        out["method"] = _column(out, "method").where(
            lambda m: m.notna(), np.where(fast, "Tender Cepat", "Tender"))
    out["snapshot"] = _column(out, "snapshot").fillna("")
    if layout.dataset == "contract":  # a contract without an addendum number is version ""
        out["version"] = _column(out, "version").fillna("")
    # Added together: a column set on a frame costs a fixed 0.2 ms, and a layout lacks twenty.
    absent = {name: pd.Series(pd.NA if name in schema.MONEY_FIELDS else None, index=out.index,
                              dtype="Int64" if name in schema.MONEY_FIELDS else object)
              for name in FIELDS if name not in out}
    out = pd.concat([out, pd.DataFrame(absent, index=out.index)], axis=1) if absent else out
    out["precision_lost"] = _column(out, "precision_lost").replace("", None)
    out["year"] = pd.to_numeric(out["year"], errors="coerce").astype("Int64")
    return out


def _column(out: pd.DataFrame, name: str) -> pd.Series:
    return out[name] if name in out else pd.Series(None, index=out.index, dtype=object)


def _key(layout) -> list[str]:
    return ["kind", "code", "version"] if layout.dataset == "contract" else ["kind", "code"]


def _duplicates(out: pd.DataFrame, bad, layout, used, row_numbers, table_of: pd.Series,
                rejects: list[list[dict]]) -> tuple[list, list]:
    """Rows to drop among the good ones (not BAD): exact repeats of a row within its table
    are dropped, and one code with conflicting values in one table is rejected (added to
    REJECTS). Returns (the rows to drop, the repeats among them)."""
    key = [*_key(layout), _TABLE]
    compare = [c for c in out.columns if c not in key]
    keys = out.loc[~bad, key[:-1]].assign(**{_TABLE: table_of[~bad]})
    dups = out.loc[keys.index[keys.duplicated(keep=False)]]
    if dups.empty:
        return [], []
    dups = dups.assign(**{_TABLE: table_of.loc[dups.index]})
    repeats = dups.astype(str).duplicated(keep="first").to_numpy()
    rest = dups[~repeats]
    conflicting = rest[rest.duplicated(key, keep=False)]
    for (*_, table), group in conflicting.groupby(key, dropna=False):
        differing = [c for c in compare if group[c].astype(str).nunique() > 1]
        rows = ", ".join(str(int(row_numbers[i])) for i in group.index)
        reason = (f"kode {group['code'].iat[0]} muncul di baris {rows} dengan nilai berbeda "
                  f"({', '.join(differing)}); tidak jelas mana yang benar")
        rejects[table] += [{"row_number": int(row_numbers[i]), "raw": _raw_json(used.loc[i]),
                            "reason": reason} for i in group.index]
    repeated = list(dups.index[repeats])
    return repeated + list(conflicting.index), repeated


def _raw_json(row: pd.Series) -> str:
    values = {str(k): (None if clean.is_empty(v) else str(v)) for k, v in row.items()}
    return json.dumps(values, ensure_ascii=False)
