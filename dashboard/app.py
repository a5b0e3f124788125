"""The dashboard: `create_app(db_url)` builds it, `run(...)` serves it (hemat serve / demo).

For gunicorn: `HEMAT_DATABASE_URL=... gunicorn dashboard.app:server`. `server` is built on
first access, so importing this module never opens a database.
"""

import gc
import itertools
import os
import threading
from pathlib import Path

import dash
from flask import request

from etl.db import engine_from_url, resolve_url, sqlite_path

from .i18n import t
from .pages import frame

ASSETS = Path(__file__).resolve().parent / "assets"
# Callback answers after which what the app holds for good is set aside from garbage
# collection: about three pages, by when their answers have filled the app's caches
# (SQLAlchemy's compiled statements, region names).
WARM_CALLBACKS = 50
# A new server reads its SQLite database file once, in the background, where the file takes
# up to this share of the memory it may use: the first visitors' clicks then find it in the
# system's file cache. With a national database (1.86 GB) out of the cache, the package list
# answered at p95 72-164 ms (46 ms cached) and the summary workbook took up to 3.7 s; after
# `hemat serve`, the whole file was cached within 4 s.
WARM_SHARE = 0.25
# Where Linux states the memory limit of the server's control group (a container's, say).
CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")

# Everything is served by the app itself (no CDN, no web fonts), gzipped: government
# networks are often slow or offline. <html lang> follows the language switch (see frame.register).
INDEX = """<!DOCTYPE html>
<html lang="id">
<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}</head>
<body>
<noscript><p class="noscript">""" + t("noscript", "id") + " / " + t("noscript", "en") + """</p>
</noscript>
{%app_entry%}
<footer>{%config%}{%scripts%}{%renderer%}</footer>
</body>
</html>"""


def create_app(db_url: str | None = None) -> dash.Dash:
    """The Dash app over the database at DB_URL (or $HEMAT_DATABASE_URL), opened read-only."""
    url = resolve_url(db_url)
    engine = engine_from_url(url, read_only=True)
    app = dash.Dash(
        __name__, assets_folder=str(ASSETS), serve_locally=True, compress=True,
        title=t("doc_title", "id"),
        update_title=None, suppress_callback_exceptions=True, index_string=INDEX,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"},
                   {"name": "description", "content": t("app_subtitle", "id")}],
    )
    app.layout = frame.make_layout
    frame.register(app, engine)
    _freeze_when_warm(app.server)
    _read_ahead(url)
    return app


def _read_ahead(url: str) -> threading.Thread | None:
    """Start reading the SQLite database file at URL into the system's file cache (see
    WARM_SHARE); the thread, or None for PostgreSQL, a database in memory, one not there,
    one too large, or where the memory is not known (Windows)."""
    path = sqlite_path(url)
    memory = _usable_memory()
    try:
        if path is None or memory is None or path.stat().st_size > WARM_SHARE * memory:
            return None
    except OSError:  # not created yet
        return None
    thread = threading.Thread(target=_read_through, args=(path,), daemon=True,
                              name="hemat-read-ahead")
    thread.start()
    return thread


def _usable_memory() -> int | None:
    """The machine's memory, or its control group's limit where lower; None unknown."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows)
        return None
    try:
        limit = CGROUP_LIMIT.read_text().strip()
    except OSError:
        return memory
    return min(memory, int(limit)) if limit.isdigit() else memory  # "max": no limit


def _read_through(path: Path) -> None:
    """Read PATH to its end and keep nothing: the system keeps its pages. One buffer,
    filled again and again, without Python's own buffering on top."""
    buffer = bytearray(1 << 20)
    try:
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buffer):
                pass
    except OSError:  # gone meanwhile: nothing to warm
        pass


def _freeze_when_warm(server) -> None:
    """Once the app has answered WARM_CALLBACKS callbacks, move every object alive (the
    modules, the layout: about 100,000 objects) out of the cyclic
    garbage collector's reach. Each full collection would otherwise scan them all again: a
    pause of 40-125 ms at random in some callback (measured at 1M packages). Done after that
    answer has been sent, once per process (each gunicorn worker has its own). What requests
    running at that moment hold is frozen too and never freed: a bounded amount, once."""
    answered = itertools.count(1)

    @server.after_request
    def _count(response):
        if request.path.endswith("/_dash-update-component") and \
                next(answered) == WARM_CALLBACKS:
            response.call_on_close(_freeze)
        return response


def _freeze() -> None:
    gc.collect()  # the garbage of the first pages is not kept for good
    gc.freeze()


def run(db_url: str | None = None, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the dashboard until Ctrl+C, after printing the address to open."""
    app = create_app(db_url)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    print(f"Dasbor: http://{shown}:{port}/  (hentikan dengan Ctrl+C)", flush=True)
    app.run(host=host, port=port, debug=False)


_app = None


def __getattr__(name: str):
    """`server` (for gunicorn) is made on first access, not at import."""
    global _app
    if name == "server":
        if _app is None:
            _app = create_app()
        return _app.server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
