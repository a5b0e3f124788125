"""Where a file's cleaned source rows wait until the loading transaction takes them.

One process writes a whole load in one transaction, so it must take every file's rows
itself. Handed to SQLite as Python values (executemany), 162k source rows of 44 columns cost
that process 3.5 s, of which SQLite's own insert is a tenth: the rest is making and binding
the values. So on SQLite the preparing process writes them with ADBC, which binds Arrow
columns in C (0.6-0.7 s), into a scratch database file; the loader ATTACHes it and copies the
rows with one INSERT ... SELECT (0.9 s). On PostgreSQL the loader copies the prepared frame
into a temporary table (COPY of CSV that Arrow writes, inside its transaction) and the same
SQL reads them from there; a file whose dataset states none of its packages yet is copied
straight into package_sources instead (load._write_all_new).

The scratch files, in the load's temporary folder, hold a copy of the cleaned rows until the
load ends: about 1 GB of disk for a million packages (94 MB for 162k rows).

SQLite attaches at most ten databases, and one read inside a transaction stays attached until
the transaction ends. The files of a load therefore share at most BATCHES scratch files, and
the loader attaches each once all the files written into it are prepared. The files that the
loader prepares itself, while it would otherwise wait, share one more scratch file: they are
the last files of the load (see load._Work.prepare_while_waiting), so that file is complete when
the loader reaches the first of them.
"""

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
from sqlalchemy import Column, Connection, Integer, MetaData, Table
from sqlalchemy.schema import CreateTable

from . import schema
from .bulk import insert_frame

BATCHES = 8
COLUMNS = [c for c in schema.sen_view(schema.package_sources).columns if c.name != "load_id"]
NAMES = [c.name for c in COLUMNS]
# Whole numbers (money in sen, year, rank) as int64; everything else, dates too, as text.
ARROW_SCHEMA = pa.schema([(c.name, pa.int64() if isinstance(c.type, Integer)
                           else pa.large_string()) for c in COLUMNS])


def _rows_table(name: str, schema_name: str | None = None, **kw) -> Table:
    return Table(name, MetaData(), *(Column(c.name, c.type) for c in COLUMNS),
                 schema=schema_name, **kw)


# PostgreSQL: one file's rows at a time, for the length of the load's transaction.
LOAD_ROWS = _rows_table("load_rows", prefixes=["TEMPORARY"])


def write_scratch(frame: pd.DataFrame, path: str, table: str) -> None:
    """Write FRAME's source rows into TABLE of the scratch database PATH (in the preparing
    process). The file lives only for the load: nothing is synced to disk. It keeps its
    rollback journal, so that a write that fails leaves the other files' tables intact."""
    import adbc_driver_sqlite.dbapi as adbc  # only the preparing process needs it

    data = pa.Table.from_pandas(frame[NAMES], schema=ARROW_SCHEMA, preserve_index=False)
    with adbc.connect(path, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("BEGIN")
        cur.adbc_ingest(table, data, mode="create")
        cur.execute("COMMIT")


class Stage:
    """The scratch places of one load's files, and what the loader has attached of them."""

    def __init__(self, dialect: str, folder: str, files: int):
        self.sqlite = dialect == "sqlite"
        self.folder = Path(folder)
        self.files = files
        per_batch = max(1, math.ceil(files / BATCHES))
        self.batch = [i // per_batch for i in range(files)]
        self.attached: list[str] = []
        self.own: set[int] = set()  # the files the loader prepares itself
        # Whether the load began on a database without package sources (load_paths sets it).
        self.first_load = False

    def target(self, i: int) -> tuple[str, str, str] | None:
        """Where the preparing process writes file I's rows: (scratch file, its name when
        attached, table); None on PostgreSQL, where they come in the prepared frame."""
        if not self.sqlite:
            return None
        batch = self.batch[i]
        return str(self.folder / f"stage-{batch}.db"), f"stage_{batch}", f"f{i}"

    def own_target(self, i: int) -> tuple[str, str, str] | None:
        """Where the loader writes the rows of file I when it prepares that file itself;
        None on PostgreSQL."""
        self.own.add(i)
        return (str(self.folder / "own.db"), "own", f"f{i}") if self.sqlite else None

    def _starts_batch(self, i: int) -> bool:
        return i == 0 or self.batch[i - 1] != self.batch[i]

    def needed(self, i: int) -> range:
        """The files whose preparing wait() waits for before the loader reads file I."""
        if not self.sqlite or not self._starts_batch(i):
            return range(i, i + 1)
        return range(i, i + self.batch.count(self.batch[i]))

    def wait(self, conn: Connection, i: int, prepared: Callable[[int], object]) -> None:
        """Before the loader reads file I: on SQLite, at the first file of a batch, wait
        until every file of the batch is PREPARED (it waits for the file it is given) and
        attach their scratch file."""
        if self.sqlite and i in self.own and "own" not in self.attached:
            self._attach(conn, str(self.folder / "own.db"), "own")
        if not self.sqlite or not self._starts_batch(i):
            return
        for k in self.needed(i):
            prepared(k)
        self._attach(conn, *self.target(i)[:2])

    def _attach(self, conn: Connection, path: str, alias: str) -> None:
        if Path(path).exists():  # not when none of the batch's files had rows to stage
            conn.exec_driver_sql(f"ATTACH DATABASE ? AS {alias}", (path,))
            self.attached.append(alias)

    def rows(self, staged: tuple[str, str]) -> Table:
        """The scratch table STAGED (alias, table) holding a prepared file's source rows."""
        return _rows_table(staged[1], staged[0])

    def copy(self, conn: Connection, frame: pd.DataFrame) -> Table:
        """FRAME's source rows copied into the load's temporary table: on PostgreSQL, where
        the rows come in the prepared frame (on SQLite they are always staged)."""
        conn.execute(CreateTable(LOAD_ROWS, if_not_exists=True))
        conn.exec_driver_sql(f"TRUNCATE {LOAD_ROWS.name}")
        insert_frame(conn, LOAD_ROWS, frame[NAMES])
        return LOAD_ROWS

    def detach(self, conn: Connection) -> None:
        """Detach the scratch files (after the transaction: a database read within one
        cannot be detached before it ends)."""
        while self.attached:
            conn.exec_driver_sql(f"DETACH DATABASE {self.attached.pop()}")
