"""Shared fixtures: a fresh database on SQLite and on PostgreSQL for every database test.

PostgreSQL (127.0.0.1:5432, user postgres, database test, or $HEMAT_TEST_PG_URL) and Chromium
may be missing on a laptop: those tests skip there, but fail in CI (CI=true).
"""

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from etl import schema

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
REAL_SAMPLES = Path(os.environ.get("REAL_SAMPLES", ROOT.parent / "shared" / "real-samples"))
PG_URL = os.environ.get("HEMAT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(condition: bool, what: str) -> None:
    """Skip when a real component is missing, except in CI where that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but missing", pytrace=False)
    pytest.skip(f"{what} not available")


def _pg_available() -> bool:
    try:
        with create_engine(PG_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


_PG = None


def pg_available() -> bool:
    global _PG
    if _PG is None:
        _PG = _pg_available()
    return _PG


def make_pg_url() -> tuple[str, str]:
    """A URL whose connections live in a fresh schema of their own (parallel-safe)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with create_engine(PG_URL, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    return f"{PG_URL}?options=-csearch_path%3D{name}", name


def drop_pg_schema(name: str) -> None:
    with create_engine(PG_URL, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A URL of an empty, initialised database: a SQLite file, or a PostgreSQL schema."""
    from etl.db import engine_from_url

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hemat.db'}"
        schema.create_schema(engine_from_url(url))
        yield url
        return
    need(pg_available(), "PostgreSQL at " + PG_URL)
    url, name = make_pg_url()
    engine = engine_from_url(url)
    schema.create_schema(engine)
    try:
        yield url
    finally:
        engine.dispose()
        drop_pg_schema(name)


@pytest.fixture
def engine(db_url):
    from etl.db import engine_from_url

    eng = engine_from_url(db_url)
    yield eng
    eng.dispose()


def chromium_paths() -> tuple[str | None, str | None]:
    return (shutil.which("chromium") or shutil.which("chromium-browser"),
            shutil.which("chromedriver"))
