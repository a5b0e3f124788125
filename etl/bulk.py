"""Bulk writes from pandas frames: COPY on PostgreSQL, executemany on SQLite.

SQLAlchemy's per-row parameter processing costs more than the database's own work at a
million rows, so the loader hands the rows to the driver itself. Values must already be in
their stored form: money as whole sen, dates as ISO text or date objects.
"""

import io
import itertools

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection, Table

CHUNK = 10_000  # rows per executemany (SQLite)
COPY_ROWS = 100_000  # rows per block of CSV (PostgreSQL)
# PostgreSQL's COPY reads CSV: each value that is not missing in quotes, so that an empty
# text stays empty text and only an unquoted empty field is NULL.
_CSV = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")


def python_values(series: pd.Series) -> list:
    """A column as Python scalars with None for every kind of missing value."""
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        # Arrow strings and Int64: converted in one pass in C, a third faster.
        return pa.array(series, from_pandas=True).to_pylist()
    values = series.astype(object)
    return values.where(values.notna(), None).tolist()


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame, **constants) -> int:
    """Append FRAME's rows (its columns named as TABLE's), with CONSTANTS as further columns
    of every row, inside the open transaction."""
    if frame.empty:
        return 0
    columns = [*frame.columns, *constants]
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(
                f"COPY {quote(table.name)} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
            for start in range(0, len(frame), COPY_ROWS):
                copy.write(_csv(frame.iloc[start:start + COPY_ROWS], constants))
        return len(frame)
    marks = ", ".join("?" for _ in columns)
    for start in range(0, len(frame), CHUNK):
        part = frame.iloc[start:start + CHUNK]
        values = [python_values(part[c]) for c in frame.columns]
        values += [itertools.repeat(v, len(part)) for v in constants.values()]
        cur = raw.cursor()
        cur.executemany(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})",
                        list(zip(*values, strict=True)))
        cur.close()
    return len(frame)


def _csv(part: pd.DataFrame, constants: dict) -> bytes:
    """PART's rows (and the CONSTANTS) as CSV, written by Arrow in C++: no Python value per
    cell, which is what made COPY of a million rows slow."""
    arrays = [pa.array(python_values(part[c])) if part[c].dtype == object
              else pa.array(part[c], from_pandas=True) for c in part.columns]
    arrays += [pa.array([v] * len(part)) for v in constants.values()]
    data = pa.Table.from_arrays(arrays, names=[*part.columns, *constants])
    out = io.BytesIO()
    pacsv.write_csv(data, out, _CSV)
    return out.getvalue()
