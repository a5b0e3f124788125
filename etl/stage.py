"""Where a file's cleaned source rows wait until the loading transaction takes them.

One process writes a whole load in one transaction, so it must take every file's rows
itself. Handed to SQLite as Python values (executemany), 162k source rows of 44 columns cost
that process 3.5 s, of which SQLite's own insert is a tenth: the rest is making and binding
the values. So on SQLite the preparing process writes them with ADBC, which binds Arrow
columns in C (0.6-0.7 s), into a scratch database file; the loader ATTACHes it and copies the
rows with one INSERT ... SELECT (0.9 s). On PostgreSQL the loader copies the prepared frame
into a temporary table (COPY of CSV that Arrow writes, inside its transaction) and the same
SQL reads them from there.

The scratch files, in the load's temporary folder, hold a copy of the cleaned rows until the
load ends: about 1 GB of disk for a million packages (94 MB for 162k rows).

SQLite attaches at most ten databases, and one read inside a transaction stays attached until
the transaction ends. The files of a load therefore share at most BATCHES scratch files, and
the loader attaches each once all the files written into it are prepared.
"""

import math
from concurrent.futures import Future
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
        self.per_batch = max(1, math.ceil(files / BATCHES))
        self.attached: list[str] = []

    def target(self, i: int) -> tuple[str, str, str] | None:
        """Where the preparing process writes file I's rows: (scratch file, its name when
        attached, table); None on PostgreSQL, where they come in the prepared frame."""
        if not self.sqlite:
            return None
        batch = i // self.per_batch
        return str(self.folder / f"stage-{batch}.db"), f"stage_{batch}", f"f{i}"

    def wait(self, conn: Connection, i: int, futures: list[Future]) -> None:
        """Before the loader reads file I: on SQLite, at the first file of a batch, wait
        until every file of the batch is prepared and attach their scratch file."""
        if not self.sqlite or i % self.per_batch:
            return
        for future in futures[i:i + self.per_batch]:
            future.result()
        path, alias, _ = self.target(i)
        if Path(path).exists():  # no file of the batch had rows to stage
            conn.exec_driver_sql(f"ATTACH DATABASE ? AS {alias}", (path,))
            self.attached.append(alias)

    def rows(self, conn: Connection, staged: tuple[str, str] | None,
             frame: pd.DataFrame | None) -> Table | None:
        """The table holding a prepared file's source rows (None when it has none): on
        SQLite the scratch table STAGED (alias, table); on PostgreSQL FRAME copied into the
        temporary table."""
        if staged:
            return _rows_table(staged[1], staged[0])
        if frame is None or frame.empty:
            return None
        conn.execute(CreateTable(LOAD_ROWS, if_not_exists=True))
        conn.exec_driver_sql(f"TRUNCATE {LOAD_ROWS.name}")
        insert_frame(conn, LOAD_ROWS, frame[NAMES])
        return LOAD_ROWS

    def detach(self, conn: Connection) -> None:
        """Detach the scratch files (after the transaction: a database read within one
        cannot be detached before it ends)."""
        while self.attached:
            conn.exec_driver_sql(f"DETACH DATABASE {self.attached.pop()}")
