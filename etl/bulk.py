"""Bulk writes from pandas frames: COPY on PostgreSQL, executemany on SQLite.

SQLAlchemy's per-row parameter processing costs more than the database's own work at a
million rows, so the loader hands plain tuples to the driver. Values must already be in their
stored form: money as whole sen, dates as ISO text or date objects.
"""

import pandas as pd
from sqlalchemy import Connection, Table

CHUNK = 10_000


def python_values(series: pd.Series) -> list:
    """A column as Python scalars with None for every kind of missing value."""
    values = series.astype(object)
    return values.where(values.notna(), None).tolist()


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Append FRAME's rows (its columns named as TABLE's) inside the open transaction."""
    if frame.empty:
        return 0
    columns = list(frame.columns)
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    raw = conn.connection.dbapi_connection
    for start in range(0, len(frame), CHUNK):
        part = frame.iloc[start:start + CHUNK]
        rows = list(zip(*(python_values(part[c]) for c in columns), strict=True))
        if conn.dialect.name == "postgresql":
            with raw.cursor() as cur, cur.copy(
                    f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cur = raw.cursor()
            cur.executemany(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})", rows)
            cur.close()
    return len(frame)
