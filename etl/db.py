"""The one engine factory: every command and test receives an engine made here."""

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url

ENV_VAR = "HEMAT_DATABASE_URL"


def default_path() -> Path:
    """Where the embedded SQLite database lives when no URL is given."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "hemat" / "hemat.db"


def resolve_url(url: str | None = None) -> str:
    """The database URL: the argument, else $HEMAT_DATABASE_URL, else the embedded SQLite file."""
    url = url or os.environ.get(ENV_VAR)
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            # psycopg 3 is the driver we ship; plain URLs would ask for psycopg2.
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    path = default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (relative to the working directory, as SQLite opens it);
    None for another database or one in memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def engine_from_url(url: str | None = None, *, read_only: bool = False) -> Engine:
    """Create the engine for URL (see resolve_url).

    read_only opens SQLite with mode=ro, so the dashboard can never write; on PostgreSQL
    it sets the session default to read-only transactions.
    """
    url = resolve_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, read_only)
    if not read_only:
        return create_engine(url, pool_pre_ping=True)
    # Keep options the URL already carries (a test's search_path, say).
    parsed = make_url(url)
    options = " ".join(filter(None, [parsed.query.get("options"),
                                     "-c default_transaction_read_only=on"]))
    parsed = parsed.difference_update_query(["options"])
    return create_engine(parsed, connect_args={"options": options}, pool_pre_ping=True)


def _sqlite_engine(url: str, read_only: bool) -> Engine:
    path = sqlite_path(url)
    if read_only and path:
        engine = create_engine(
            f"sqlite:///file:{path.resolve()}?mode=ro&uri=true",
            connect_args={"check_same_thread": False},
        )
    else:
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        # WAL lets the dashboard read while a load writes; readers see the last commit.
        if not read_only:
            # A new database gets 16 KB pages (set before WAL, which fixes the size). A
            # national load writes each page twice (the WAL, then the checkpoint), and four
            # times fewer, larger pages take 57 s where 4 KB pages took 70 (a million CSV
            # packages); readers' slowest callbacks got faster too. Existing files keep theirs.
            cur.execute("PRAGMA page_size=16384")
            cur.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL still never corrupts; a power cut may lose the last commit.
            cur.execute("PRAGMA synchronous=NORMAL")
            # Up to two helper threads sort for CREATE INDEX: each wide package index of a
            # national load builds in 4.6-5.7 s instead of 6.9-7.6 (measured on 2 cores).
            cur.execute("PRAGMA threads=2")
        # Readers keep the hot index pages of a national database (128 MB). A load's lookups
        # walk the keys in order and miss into the system's file cache either way: 64 MB
        # loads a million packages as fast and keeps the load under its memory budget.
        cur.execute(f"PRAGMA cache_size={-131072 if read_only else -65536}")
        # Readers sort little and keep it in memory. A load's sorts (building indexes and cubes
        # over a million packages) spill to temporary files past the cache instead of growing
        # the process: the operating system's file cache still serves them.
        cur.execute(f"PRAGMA temp_store={'MEMORY' if read_only else 'DEFAULT'}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
        # The loader writes each file under a SAVEPOINT: SQLAlchemy must issue BEGIN itself,
        # as the sqlite3 module's own transaction handling would commit around savepoints.
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN")

    return engine


def describe(engine: Engine) -> str:
    """A human label for the database, without a password."""
    return engine.url.render_as_string(hide_password=True)
