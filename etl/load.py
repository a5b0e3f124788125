"""Load export files: read, clean, merge per package, resolve regions, flag, all per file in
one transaction.

Each export states part of a package: the announcement its method and location, the result its
prices, the e-kontrak export its contract versions. package_sources keeps what each kind of
dataset last said about a package; packages holds their merge, results first, then
announcements, then contracts, so that the load order never matters. An empty cell never
erases a value, and an export taken earlier (by its export date) never overwrites a later one.
"""

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, and_, delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from . import clean, quality, regions, schema
from .layouts import normalise_header
from .read import SUFFIXES, RawTable, ReadError, read_export

DATASET_PRIORITY = ("result", "announcement", "contract")
FIELDS = schema.FIELD_NAMES
CODE_FIELDS = ("code", "rup_code", "package_code", "klpd_code", "satker_code", "lpse_code",
               "winner_code", "version")
DATE_FIELDS = ("announced_on", "awarded_on", "signed_on")
MONEY_FIELDS = (*schema.MONEY_FIELDS, "contract_value")
CHUNK = 20_000
_TOTAL_ROW = r"^\s*(grand\s*total|sub\s*total|total|jumlah)\b"


class LoadError(Exception):
    """A file could not be loaded; nothing of it was written."""


@dataclass
class LoadResult:
    path: Path
    layout: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    packages_new: int = 0
    packages_updated: int = 0
    packages_unchanged: int = 0
    load_id: int | None = None
    error: str | None = None


@dataclass
class Cleaned:
    frame: pd.DataFrame
    rejects: list[dict] = field(default_factory=list)
    skipped: int = 0


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, and the export files inside folders (sorted, recursive)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix.lower() in SUFFIXES and f.is_file())
        else:
            out.append(p)
    return out


def load_paths(engine: Engine, paths, progress: Callable | None = None) -> list[LoadResult]:
    """Load each file in its own transaction; a failed file is reported and skipped."""
    schema.create_schema(engine)
    resolver = make_resolver(engine)
    results = []
    for path in expand_paths(paths):
        try:
            results.append(load_file(engine, path, resolver, progress))
        except LoadError as exc:
            results.append(LoadResult(path, error=str(exc)))
    return results


def make_resolver(engine: Engine) -> "regions.Resolver":
    """The region resolver with the shipped aliases and the users' own from the database."""
    with engine.connect() as conn:
        rows = conn.execute(select(schema.region_aliases)).mappings().all()
    return regions.Resolver(extra_aliases=[dict(r) for r in rows])


def store_aliases(engine: Engine, rows: list[dict]) -> None:
    """Replace the users' own region aliases (checked first: an unknown code raises)."""
    regions.Resolver(extra_aliases=rows)
    clean_rows = [{"alias": r["alias"].strip(), "code": r["code"].strip(),
                   "note": (r.get("note") or "").strip() or None} for r in rows if r.get("alias")]
    with engine.begin() as conn:
        conn.execute(delete(schema.region_aliases))
        if clean_rows:
            conn.execute(insert(schema.region_aliases), clean_rows)


def load_file(engine: Engine, path: Path, resolver=None, progress=None) -> LoadResult:
    """Load one export file in one transaction; raises LoadError and writes nothing on failure."""
    path = Path(path)
    try:
        raw = read_export(path)
        cleaned = clean_table(raw)
    except ReadError as exc:
        raise LoadError(str(exc)) from exc
    resolver = resolver or make_resolver(engine)
    result = LoadResult(path, raw.layout.name, rows_read=len(raw.frame),
                        rows_loaded=len(cleaned.frame), rows_rejected=len(cleaned.rejects),
                        rows_skipped=cleaned.skipped)
    try:
        with engine.begin() as conn:
            result.load_id = _start_load(conn, path, raw, result)
            _write_rejects(conn, result.load_id, cleaned.rejects)
            _merge(conn, raw.layout, cleaned.frame, result, resolver, progress)
            conn.execute(update(schema.loads).where(schema.loads.c.id == result.load_id).values(
                packages_new=result.packages_new, packages_updated=result.packages_updated,
                packages_unchanged=result.packages_unchanged, finished_at=datetime.now()))
    except LoadError:
        raise
    except Exception as exc:
        raise LoadError(f"{path}: gagal dimuat, basis data tidak diubah ({exc})") from exc
    return result


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _start_load(conn: Connection, path: Path, raw: RawTable, r: LoadResult) -> int:
    return conn.execute(insert(schema.loads).values(
        file_name=path.name, file_path=str(path.resolve()), sha256=_sha256(path),
        layout=raw.layout.name, rows_read=r.rows_read, rows_loaded=r.rows_loaded,
        rows_rejected=r.rows_rejected, rows_skipped=r.rows_skipped, started_at=datetime.now(),
    )).inserted_primary_key[0]


def _write_rejects(conn: Connection, load_id: int, rejects: list[dict]) -> None:
    rows = [{"load_id": load_id, **r} for r in rejects]
    for chunk in _chunks(rows):
        conn.execute(insert(schema.rejects), chunk)


# ---------------------------------------------------------------- cleaning


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


def _blank_or_total(used: pd.DataFrame, frame: pd.DataFrame, code_col: str | None) -> pd.Series:
    """Rows with nothing in them, and the TOTAL / JUMLAH rows analysts add at the bottom."""
    blank = used.map(clean.is_empty).all(axis=1)
    if code_col is None or not len(frame):
        return blank
    no_code = frame[code_col].map(clean.is_empty)
    text = frame.astype(str).agg(" ".join, axis=1) if no_code.any() else None
    total = no_code & text.str.contains(_TOTAL_ROW, case=False, regex=True) if text is not None \
        else pd.Series(False, index=frame.index)
    return blank | total


def _note(problems: dict, index, message) -> None:
    for i in index:
        problems.setdefault(i, []).append(message if isinstance(message, str) else message[i])


def _clean_column(name: str, series: pd.Series, col: str, problems: dict, out) -> pd.Series:
    if name in MONEY_FIELDS:
        sen, lost, error = clean.money_series(series)
        bad = error.notna()
        _note(problems, error.index[bad], (f"kolom {col}: " + error[bad]).to_dict())
        lost_cols = out.get("precision_lost", pd.Series("", index=series.index))
        out["precision_lost"] = lost_cols.where(~lost, lost_cols.str.cat([col] * len(lost),
                                                                         sep=" ").str.strip())
        return sen
    if name in DATE_FIELDS or name == "snapshot":
        return clean.map_distinct(series, clean.parse_date)
    if name in CODE_FIELDS:
        return clean.map_distinct(series, _safe_code)
    if name == "year":
        years = clean.map_distinct(series, _safe_year)
        bad = years.map(lambda v: isinstance(v, str))
        _note(problems, years.index[bad], (f"kolom {col}: " + years[bad].astype(str)).to_dict())
        return years.where(~bad, None)
    return clean.map_distinct(series, clean.clean_text)


def _safe_code(value):
    try:
        return clean.clean_code(value)
    except clean.BadValue:
        return clean.clean_text(value)


def _safe_year(value):
    try:
        return clean.parse_year(value)
    except clean.BadValue as exc:
        return str(exc)


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
    out["snapshot"] = _column(out, "snapshot").map(
        lambda d: d.isoformat() if hasattr(d, "isoformat") else "")
    for name in FIELDS:
        if name not in out:
            out[name] = pd.Series(pd.NA, index=out.index, dtype="Int64") \
                if name in schema.MONEY_FIELDS else None
    out["precision_lost"] = out["precision_lost"].replace("", None)
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


# ---------------------------------------------------------------- merging


def _merge(conn: Connection, layout, frame: pd.DataFrame, result: LoadResult, resolver,
           progress) -> None:
    if frame.empty:
        return
    if layout.dataset == "contract":
        _write_contracts(conn, frame, result.load_id)
        frame = (frame.assign(_v=pd.to_numeric(frame["version"], errors="coerce"))
                 .sort_values("_v").drop_duplicates(["kind", "code"], keep="last"))
    frame = frame.assign(dataset=layout.dataset, row_hash=_row_hashes(frame))
    existing = _existing_sources(conn, frame, layout.dataset)
    merged = frame.merge(existing, on=["kind", "code"], how="left", suffixes=("", "_old"))
    older = (merged["snapshot"] != "") & (merged["snapshot_old"].fillna("") > merged["snapshot"])
    same = merged["row_hash"] == merged["row_hash_old"]
    changed = merged[~same & ~older]
    result.packages_unchanged = int((same | older).sum())
    if changed.empty:
        return
    _upsert_sources(conn, changed[frame.columns], result.load_id, progress)
    _write_keys(conn, result.load_id, changed[["kind", "code"]])
    before = _count_existing_packages(conn, result.load_id)
    rebuild_packages(conn, result.load_id, resolver)
    result.packages_new = len(changed) - before
    result.packages_updated = before
    conn.execute(delete(schema.load_keys).where(schema.load_keys.c.load_id == result.load_id))


def _row_hashes(frame: pd.DataFrame) -> pd.Series:
    values = frame[list(FIELDS)].astype(str)
    hashed = pd.util.hash_pandas_object(values, index=False)
    return hashed.map(lambda h: f"{h:016x}")


def _existing_sources(conn: Connection, frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    s = schema.package_sources
    kinds = list(frame["kind"].unique())
    rows = conn.execute(select(s.c.kind, s.c.code, s.c.snapshot, s.c.row_hash).where(
        s.c.dataset == dataset, s.c.kind.in_(kinds))).all()
    old = pd.DataFrame(rows, columns=["kind", "code", "snapshot_old", "row_hash_old"])
    return old[old["code"].isin(frame["code"])]


def _records(frame: pd.DataFrame) -> list[dict]:
    obj = frame.astype(object)
    return obj.where(obj.notna(), None).to_dict("records")


def _chunks(rows: list, size: int = CHUNK):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def _insert_for(conn: Connection):
    return sqlite_insert if conn.dialect.name == "sqlite" else pg_insert


def _upsert_sources(conn, frame: pd.DataFrame, load_id: int, progress) -> None:
    table = schema.sen_view(schema.package_sources)
    stmt = _insert_for(conn)(table)
    keep = {c: func.coalesce(stmt.excluded[c], table.c[c]) for c in FIELDS}
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind", "code", "dataset"],
        set_={**keep, "load_id": stmt.excluded.load_id, "row_hash": stmt.excluded.row_hash,
              "snapshot": func.coalesce(func.nullif(stmt.excluded.snapshot, ""),
                                        table.c.snapshot)})
    cols = ["kind", "code", "dataset", "snapshot", "row_hash", *FIELDS]
    rows = _records(frame[cols].assign(load_id=load_id))
    for n, chunk in enumerate(_chunks(rows)):
        conn.execute(stmt, chunk)
        if progress:
            progress(min(1.0, (n + 1) * CHUNK / len(rows)))


def _write_contracts(conn: Connection, frame: pd.DataFrame, load_id: int) -> None:
    table = schema.sen_view(schema.contracts)
    data = pd.DataFrame({
        "kind": frame["kind"], "code": frame["code"], "version": frame["version"].fillna(""),
        "load_id": load_id,
        "is_addendum": frame["is_addendum"].map(
            lambda v: None if v is None else str(v).strip().lower() in ("ya", "yes", "true")),
        "kontrak": frame["contract_value"], "signed_on": frame.get("signed_on"),
        "status": frame.get("contract_status"), "contract_number": frame.get("contract_number"),
        "change_reason": frame.get("change_reason"),
    })
    stmt = _insert_for(conn)(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind", "code", "version"],
        set_={c: stmt.excluded[c] for c in data.columns if c not in ("kind", "code", "version")})
    for chunk in _chunks(_records(data)):
        conn.execute(stmt, chunk)


def _write_keys(conn: Connection, load_id: int, keys: pd.DataFrame) -> None:
    rows = _records(keys.drop_duplicates().assign(load_id=load_id))
    for chunk in _chunks(rows):
        conn.execute(insert(schema.load_keys), chunk)


def _keyed(table, load_id: int):
    k = schema.load_keys.c
    return exists().where(k.load_id == load_id, k.kind == table.c.kind, k.code == table.c.code)


def _count_existing_packages(conn: Connection, load_id: int) -> int:
    p = schema.packages
    return conn.execute(select(func.count()).select_from(p).where(_keyed(p, load_id))).scalar()


def rebuild_packages(conn: Connection, load_id: int, resolver) -> None:
    """Re-merge the packages listed in load_keys for LOAD_ID from all their sources."""
    s = schema.sen_view(schema.package_sources)
    k = schema.load_keys
    query = select(s).join(k, and_(k.c.kind == s.c.kind, k.c.code == s.c.code)).where(
        k.c.load_id == load_id)
    for table in (schema.packages, schema.package_flags):
        conn.execute(delete(table).where(_keyed(table, load_id)))
    for chunk in _read_chunks(conn, query):
        write_packages(conn, merge_sources(chunk), resolver, load_id)


def _read_chunks(conn: Connection, query, size: int = 200_000):
    """Frames of about SIZE source rows, never splitting one package's rows across two."""
    s = query.selected_columns
    result = conn.execute(query.order_by(s.kind, s.code).execution_options(yield_per=size))
    columns = list(result.keys())
    carry = pd.DataFrame(columns=columns)
    while rows := result.fetchmany(size):
        frame = pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)
        frame = pd.concat([carry, frame], ignore_index=True) if len(carry) else frame
        last = (frame["kind"] == frame["kind"].iat[-1]) & (frame["code"] == frame["code"].iat[-1])
        carry = frame[last]
        if (~last).any():
            yield frame[~last]
    if len(carry):
        yield carry


def merge_sources(sources: pd.DataFrame) -> pd.DataFrame:
    """One row per package: each field from the first dataset in DATASET_PRIORITY stating it."""
    sources = sources.astype({f: object for f in FIELDS})
    merged = None
    for dataset in DATASET_PRIORITY:
        part = sources[sources["dataset"] == dataset].set_index(["kind", "code"])[list(FIELDS)]
        merged = part if merged is None else merged.combine_first(part)
    merged = merged.reset_index()
    for m in schema.MONEY_FIELDS:
        merged[m] = merged[m].astype("Int64")
    merged["year"] = merged["year"].astype("Int64")
    return merged


def write_packages(conn: Connection, merged: pd.DataFrame, resolver, load_id) -> None:
    """Resolve regions, flag, and write MERGED into packages and package_flags."""
    place = resolver.resolve_frame(merged)
    flags = quality.compute_flags(merged)
    by_package = flags.groupby(["kind", "code"])
    excluded = by_package["excludes"].any().rename("excluded")
    shown = flags[~flags["flag"].str.startswith("tanpa_")]
    names = shown.groupby(["kind", "code"])["flag"].agg(",".join).rename("flags")
    out = pd.concat([merged, place], axis=1)
    out = out.join(excluded, on=["kind", "code"]).join(names, on=["kind", "code"])
    out["excluded"] = out["excluded"].fillna(False).astype(bool)
    out["updated_load_id"] = load_id
    p = schema.sen_view(schema.packages)
    for chunk in _chunks(_records(out[[c.name for c in p.columns]])):
        conn.execute(insert(p), chunk)
    for chunk in _chunks(_records(flags)):
        conn.execute(insert(schema.package_flags), chunk)


def refresh(engine: Engine) -> int:
    """Re-resolve regions and re-flag every package (after new aliases or thresholds)."""
    schema.create_schema(engine)
    resolver = make_resolver(engine)
    with engine.begin() as conn:
        p = schema.packages
        count = conn.execute(select(func.count()).select_from(p)).scalar()
        conn.execute(delete(schema.load_keys).where(schema.load_keys.c.load_id == 0))
        conn.execute(insert(schema.load_keys).from_select(
            ["load_id", "kind", "code"], select(0, p.c.kind, p.c.code)))
        rebuild_packages(conn, 0, resolver)
        conn.execute(delete(schema.load_keys).where(schema.load_keys.c.load_id == 0))
    return count
