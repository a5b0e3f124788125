"""Load export files: read, clean, merge per package, resolve regions and flag, each file in
one transaction.

Each export states part of a package: the announcement its method and location, the result its
prices, the e-kontrak export its contract versions. package_sources keeps what each kind of
dataset last said about a package; packages holds their merge, results first, then
announcements, then contracts, so that the load order never matters. An empty cell never
erases a value, and an export taken earlier (by its export date) never overwrites a later one.
The merge and the flags are computed in SQL over the packages a file touched.
"""

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)

from . import quality, regions, schema
from .bulk import insert_frame
from .read import SUFFIXES, ReadError, read_export
from .rows import FIELDS, Cleaned, clean_table

DATASET_PRIORITY = ("result", "announcement", "contract")
REGION_COLUMNS = ("province_code", "regency_code", "region_evidence", "region_note")
EVIDENCE_RANK = {"columns": 3, "location": 2, "buyer": 1, "none": 0}
SOURCES = schema.sen_view(schema.package_sources)
PACKAGES = schema.sen_view(schema.packages)
CONTRACTS = schema.sen_view(schema.contracts)
KEYS = schema.load_keys


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
    """Load each file in its own transaction; a failed file is reported and skipped.

    progress(path, fraction) is called as each file advances. While one file is written, the
    next is read and cleaned on a second thread (pyarrow and the database release the GIL).
    """
    schema.create_schema(engine)
    resolver = make_resolver(engine)
    files = expand_paths(paths)
    results = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(prepare, files[0]) if files else None
        for i, path in enumerate(files):
            prepared = upcoming.result()
            upcoming = pool.submit(prepare, files[i + 1]) if i + 1 < len(files) else None
            report = (lambda fraction, path=path: progress(path, fraction)) if progress else None
            try:
                results.append(write_prepared(engine, prepared, resolver, report))
            except LoadError as exc:
                results.append(LoadResult(path, error=str(exc)))
    if any(r.error is None for r in results):
        refresh_statistics(engine)
    return results


def refresh_statistics(engine: Engine) -> None:
    """Let the database plan with the new data: without it PostgreSQL reads a fresh table's
    rows instead of its covering indexes (the visibility map is empty until a VACUUM)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in (schema.packages, *schema.CUBES):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table.name}")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA optimize")


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


@dataclass
class Prepared:
    """A file read and cleaned, not yet written; or the reason it cannot be read."""

    path: Path
    layout: object = None
    cleaned: Cleaned | None = None
    rows_read: int = 0
    error: str | None = None


def prepare(path: Path) -> Prepared:
    """Read and clean one file (touches no database)."""
    path = Path(path)
    try:
        raw = read_export(path)
        return Prepared(path, raw.layout, clean_table(raw), len(raw.frame))
    except ReadError as exc:
        return Prepared(path, error=str(exc))
    except Exception as exc:  # a reader's own failure on a damaged file
        return Prepared(path, error=f"{path}: tidak dapat dibaca ({exc})")


def load_file(engine: Engine, path: Path, resolver=None, progress=None) -> LoadResult:
    """Load one export file in one transaction; raises LoadError and writes nothing on failure."""
    return write_prepared(engine, prepare(path), resolver or make_resolver(engine), progress)


def write_prepared(engine: Engine, prepared: Prepared, resolver, progress=None) -> LoadResult:
    """Write a prepared file in one transaction; LoadError (and nothing written) on failure."""
    if prepared.error:
        raise LoadError(prepared.error)
    path, cleaned, layout = prepared.path, prepared.cleaned, prepared.layout
    result = LoadResult(path, layout.name, rows_read=prepared.rows_read,
                        rows_loaded=len(cleaned.frame), rows_rejected=len(cleaned.rejects),
                        rows_skipped=cleaned.skipped)
    _report = progress or (lambda fraction: None)
    try:
        with engine.begin() as conn:
            result.load_id = _start_load(conn, path, layout.name, result)
            _write_rejects(conn, result.load_id, cleaned.rejects)
            _report(0.2)
            _merge(conn, layout, cleaned.frame, result, resolver, _report)
            conn.execute(update(schema.loads).where(schema.loads.c.id == result.load_id).values(
                packages_new=result.packages_new, packages_updated=result.packages_updated,
                packages_unchanged=result.packages_unchanged, finished_at=datetime.now()))
            _report(1.0)
    except Exception as exc:
        raise LoadError(f"{path}: gagal dimuat, basis data tidak diubah ({exc})") from exc
    return result


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _start_load(conn: Connection, path: Path, layout: str, r: LoadResult) -> int:
    return conn.execute(insert(schema.loads).values(
        file_name=path.name, file_path=str(path.resolve()), sha256=_sha256(path), layout=layout,
        rows_read=r.rows_read, rows_loaded=r.rows_loaded, rows_rejected=r.rows_rejected,
        rows_skipped=r.rows_skipped, started_at=datetime.now(),
    )).inserted_primary_key[0]


def _write_rejects(conn: Connection, load_id: int, rejects: list[dict]) -> None:
    frame = pd.DataFrame(rejects, columns=["row_number", "raw", "reason"])
    insert_frame(conn, schema.rejects, frame.assign(load_id=load_id))


# ---------------------------------------------------------------- sources


def _merge(conn: Connection, layout, frame: pd.DataFrame, result: LoadResult, resolver,
           report) -> None:
    if frame.empty:
        return
    if layout.dataset == "contract":
        _write_contracts(conn, frame, result.load_id)
        frame = (frame.assign(_v=pd.to_numeric(frame["version"], errors="coerce"))
                 .sort_values("_v", kind="stable").drop_duplicates(["kind", "code"], keep="last"))
    frame = frame[["kind", "code", "snapshot", *FIELDS]].assign(dataset=layout.dataset)
    frame["row_hash"] = _row_hashes(frame)
    frame.attrs["load_id"] = result.load_id
    old = _existing_sources(conn, frame, layout.dataset)
    merged = frame.merge(old, on=["kind", "code"], how="left")
    older = (merged["snapshot"] != "") & (merged["snapshot_old"].fillna("") > merged["snapshot"])
    same = (merged["row_hash"] == merged["row_hash_old"]).to_numpy()
    changed = frame[~same & ~older.to_numpy()]
    result.packages_unchanged = len(frame) - len(changed)
    if changed.empty:
        return
    _write_keys(conn, result.load_id, changed[["kind", "code"]])
    replaced = merged["row_hash_old"].notna().to_numpy()[~same & ~older.to_numpy()]
    rows = _with_old_values(conn, changed, replaced, result.load_id, layout.dataset)
    rows = pd.concat([rows, resolver.resolve_frame(rows)], axis=1)
    rows["region_rank"] = _region_rank(rows)
    report(0.5)
    conn.execute(delete(SOURCES).where(_keyed(SOURCES, result.load_id),
                                       SOURCES.c.dataset == layout.dataset))
    insert_frame(conn, SOURCES, rows.assign(load_id=result.load_id))
    report(0.7)
    before = _count_keyed(conn, PACKAGES, result.load_id)
    rebuild_packages(conn, result.load_id)
    result.packages_new = len(changed) - before
    result.packages_updated = before
    conn.execute(delete(KEYS).where(KEYS.c.load_id == result.load_id))


def _row_hashes(frame: pd.DataFrame) -> pd.Series:
    """A fingerprint of what a row states, to tell a changed package from a repeated one."""
    hashed = pd.util.hash_pandas_object(frame[list(FIELDS)], index=False)
    return hashed.map("{:016x}".format)


def _existing_sources(conn: Connection, frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """What this dataset already says of the file's packages (looked up by key, not by
    reading every stored row: the file's keys go to load_keys under the negated load id)."""
    load_id = -int(frame.attrs["load_id"])
    _write_keys(conn, load_id, frame[["kind", "code"]])
    s = SOURCES.c
    rows = conn.execute(select(s.kind, s.code, s.snapshot, s.row_hash).where(
        s.dataset == dataset, _keyed(SOURCES, load_id))).all()
    conn.execute(delete(KEYS).where(KEYS.c.load_id == load_id))
    # Plain tuples: pandas probes SQLAlchemy rows attribute by attribute, a million times.
    return pd.DataFrame(list(map(tuple, rows)),
                        columns=["kind", "code", "snapshot_old", "row_hash_old"])


def _with_old_values(conn, changed: pd.DataFrame, replaced, load_id: int, dataset: str):
    """CHANGED with each empty cell filled from what the same dataset said before."""
    changed = changed.reset_index(drop=True)
    if not replaced.any():
        return changed
    query = select(SOURCES.c.kind, SOURCES.c.code, *(SOURCES.c[f] for f in FIELDS)).where(
        _keyed(SOURCES, load_id), SOURCES.c.dataset == dataset)
    old = pd.DataFrame.from_records(conn.execute(query).all(), coerce_float=False,
                                    columns=["kind", "code", *FIELDS])
    old = _stored_forms(old).set_index(["kind", "code"])
    new = changed.set_index(["kind", "code"])
    filled = new[list(FIELDS)].astype(object).combine_first(old.astype(object))
    new[list(FIELDS)] = filled.loc[new.index, list(FIELDS)]
    return _stored_forms(new.reset_index())


def _stored_forms(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as ISO text and money as Int64, whichever way the driver returned them."""
    for f in FIELDS:
        if f in ("announced_on", "awarded_on"):
            frame[f] = frame[f].map(lambda d: d.isoformat() if isinstance(d, date) else d)
        elif f in schema.MONEY_FIELDS or f == "year":
            frame[f] = pd.array(frame[f].tolist(), dtype="Int64")
    return frame


def _region_rank(rows: pd.DataFrame) -> pd.Series:
    """Which source's region a merge prefers: a regency over a province, then the evidence."""
    return (rows["regency_code"].notna() * 10 + rows["province_code"].notna() * 5
            + rows["region_evidence"].map(EVIDENCE_RANK).fillna(0)).astype(int)


def _write_contracts(conn: Connection, frame: pd.DataFrame, load_id: int) -> None:
    data = pd.DataFrame({
        "kind": frame["kind"], "code": frame["code"], "version": frame["version"].fillna(""),
        "load_id": load_id,
        "is_addendum": frame["is_addendum"].map(
            lambda v: None if pd.isna(v) else str(v).strip().lower() in ("ya", "yes", "true")),
        "kontrak": frame["contract_value"], "signed_on": frame.get("signed_on"),
        "status": frame.get("contract_status"), "contract_number": frame.get("contract_number"),
        "change_reason": frame.get("change_reason"),
    })
    keys = data[["kind", "code"]].drop_duplicates()
    _write_keys(conn, load_id, keys)
    # A newer export replaces the versions it states and keeps the others.
    conn.execute(delete(CONTRACTS).where(_keyed(CONTRACTS, load_id), CONTRACTS.c.version.in_(
        data["version"].unique().tolist())))
    insert_frame(conn, CONTRACTS, data)
    conn.execute(delete(KEYS).where(KEYS.c.load_id == load_id))


def _write_keys(conn: Connection, load_id: int, keys: pd.DataFrame) -> None:
    insert_frame(conn, KEYS, keys.drop_duplicates().assign(load_id=load_id))


def _keyed(table, load_id: int):
    """TABLE's rows for the packages in load_keys. A row-value IN lets SQLite probe the
    table's primary key per listed package instead of scanning the whole table."""
    k = KEYS.c
    return tuple_(table.c.kind, table.c.code).in_(
        select(k.kind, k.code).where(k.load_id == load_id))


def _count_keyed(conn: Connection, table, load_id: int) -> int:
    return conn.execute(select(func.count()).select_from(table).where(
        _keyed(table, load_id))).scalar()


# ---------------------------------------------------------------- packages


def merged_select(load_id: int):
    """One row per package listed in load_keys: each field from the first dataset (in
    DATASET_PRIORITY) that states it, the region from the source with the best evidence."""
    k = KEYS.alias("k")
    src = {d: SOURCES.alias(d[0]) for d in DATASET_PRIORITY}
    joined = k
    for d, s in src.items():
        joined = joined.outerjoin(s, and_(s.c.kind == k.c.kind, s.c.code == k.c.code,
                                          s.c.dataset == d))
    fields = [func.coalesce(*(s.c[f] for s in src.values())).label(f) for f in FIELDS]
    rank = {d: func.coalesce(s.c.region_rank, -1) for d, s in src.items()}
    r, a, c = (rank[d] for d in DATASET_PRIORITY)
    best = case((and_(r >= a, r >= c), literal("r")), (a >= c, literal("a")), else_=literal("c"))
    inner = select(k.c.kind, k.c.code, *fields, best.label("best"),
                   *(s.c[col].label(f"{d[0]}_{col}") for d, s in src.items()
                     for col in REGION_COLUMNS)).select_from(joined).where(k.c.load_id == load_id)
    m = inner.subquery("m")
    region = [case(*((m.c.best == d[0], m.c[f"{d[0]}_{col}"]) for d in DATASET_PRIORITY))
              .label(col) for col in REGION_COLUMNS]
    return select(m.c.kind, m.c.code, *(m.c[f] for f in FIELDS), *region)


def rebuild_packages(conn: Connection, load_id: int) -> None:
    """Re-merge, re-flag and replace the packages listed in load_keys for LOAD_ID, and bring
    the savings cube up to date for the budget years and kinds they were and are in."""
    years_before = _years_kinds(conn, load_id)
    _replace_packages(conn, load_id)
    refresh_cube(conn, years_before | _years_kinds(conn, load_id))


def _replace_packages(conn: Connection, load_id: int) -> None:
    for table in (PACKAGES, schema.package_flags):
        conn.execute(delete(table).where(_keyed(table, load_id)))
    merged = merged_select(load_id).add_columns(literal(False).label("excluded"),
                                                literal(load_id).label("updated_load_id"))
    conn.execute(insert(PACKAGES).from_select([c.name for c in merged.selected_columns], merged))
    # Flags read the stored row: plain columns are cheaper than the merge's COALESCEs.
    p = PACKAGES.alias("p")
    keyed = _keyed(p, load_id)
    for rule in quality.rules(p.c):
        if rule.flag.startswith("tanpa_"):
            continue  # missing values are counted from packages directly
        conn.execute(insert(schema.package_flags).from_select(
            ["kind", "code", "flag", "excludes", "detail"],
            select(p.c.kind, p.c.code, literal(rule.flag), literal(rule.excludes),
                   rule.detail).where(keyed, rule.condition)))
    f = schema.package_flags
    flagged = exists().where(f.c.kind == PACKAGES.c.kind, f.c.code == PACKAGES.c.code)
    rules = quality.rules(PACKAGES.c)
    conn.execute(update(PACKAGES).where(_keyed(PACKAGES, load_id), flagged).values(
        excluded=quality.excluded(rules), flags=quality.flag_names(rules)))


def _years_kinds(conn: Connection, load_id: int) -> set[tuple]:
    p = PACKAGES.c
    return set(conn.execute(select(p.year, p.kind).where(_keyed(PACKAGES, load_id))
                            .distinct()).all())


def refresh_cube(conn: Connection, years_kinds: set[tuple]) -> None:
    """Recompute the savings cubes' rows of these (budget year, kind) pairs from packages."""
    p = PACKAGES.c
    counted = and_(p.pagu.isnot(None), p.kontrak.isnot(None))
    with_hps = and_(counted, p.hps.isnot(None))
    measures = [func.count(), func.sum(case((counted, 1), else_=0)),
                func.sum(case((with_hps, 1), else_=0)), func.sum(case((counted, p.pagu))),
                func.sum(case((with_hps, p.hps))), func.sum(case((counted, p.kontrak))),
                func.sum(case((with_hps, p.kontrak)))]
    for table in schema.CUBES:
        cube = schema.sen_view(table)
        dims = [c.name for c in table.columns if c.name not in schema.CUBE_MEASURES]
        body = select(*(p[d] for d in dims), *measures)
        for year, kind in years_kinds:
            same_year = cube.c.year.is_(None) if year is None else cube.c.year == year
            conn.execute(delete(cube).where(same_year, cube.c.kind == kind))
            in_pair = and_(p.year.is_(None) if year is None else p.year == year, p.kind == kind)
            conn.execute(insert(cube).from_select(
                [*dims, *schema.CUBE_MEASURES],
                body.where(in_pair).group_by(*(p[d] for d in dims))))


def refresh(engine: Engine) -> int:
    """Re-resolve regions and re-flag every package (after new aliases or thresholds)."""
    schema.create_schema(engine)
    resolver = make_resolver(engine)
    with engine.begin() as conn:
        _reresolve_sources(conn, resolver)
        conn.execute(delete(KEYS).where(KEYS.c.load_id == 0))
        conn.execute(insert(KEYS).from_select(
            ["load_id", "kind", "code"],
            select(literal(0), PACKAGES.c.kind, PACKAGES.c.code)))
        rebuild_packages(conn, 0)
        for cube in schema.CUBES:
            conn.execute(delete(cube))
        refresh_cube(conn, _years_kinds(conn, 0))
        count = _count_keyed(conn, PACKAGES, 0)
        conn.execute(delete(KEYS).where(KEYS.c.load_id == 0))
    return count


def _reresolve_sources(conn: Connection, resolver) -> None:
    cols = ["kind", "code", "dataset", *regions.FRAME_COLUMNS]
    s = SOURCES.c
    frame = pd.DataFrame(conn.execute(select(*(s[c] for c in cols))).all(), columns=cols)
    if frame.empty:
        return
    frame = pd.concat([frame, resolver.resolve_frame(frame)], axis=1)
    frame["region_rank"] = _region_rank(frame)
    stmt = update(SOURCES).where(
        s.kind == bindparam("k"), s.code == bindparam("c"), s.dataset == bindparam("d")).values(
        {col: bindparam(f"new_{col}") for col in (*REGION_COLUMNS, "region_rank")})
    out = frame.rename(columns={"kind": "k", "code": "c", "dataset": "d",
                                **{c: f"new_{c}" for c in (*REGION_COLUMNS, "region_rank")}})
    params = out[["k", "c", "d", *(f"new_{c}" for c in (*REGION_COLUMNS, "region_rank"))]]
    records = params.astype(object).where(params.notna(), None).to_dict("records")
    for start in range(0, len(records), 50_000):
        conn.execute(stmt, records[start:start + 50_000])
