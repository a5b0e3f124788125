"""What every benchmark shares: options, databases, demo data, statistics and tables.

Each script builds its own data in a temporary folder (removed at the end) with the seeded
demo-data generator, loads it through etl.load.load_paths, and measures the public
functions, so the figures follow whatever the code is when they run.
"""

import argparse
import contextlib
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # data/generate.py is not an installed package

PG_URL = os.environ.get("HEMAT_BENCH_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DBS = ("sqlite", "postgresql")
SEED = 1


# ---- options ---------------------------------------------------------------------------------

def parse_sizes(text: str) -> list[int]:
    """'10000,100k,1M' → [10000, 100000, 1000000]."""
    sizes = []
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        factor = {"k": 1_000, "m": 1_000_000}.get(part[-1], 1)
        sizes.append(int(float(part.rstrip("km")) * factor))
    return sizes


def parser(description: str, sizes: str = "10000,100000", repeat: int = 1,
           db: str = "both") -> argparse.ArgumentParser:
    """The options every script takes: --sizes, --db, --repeat."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--sizes", type=parse_sizes, default=parse_sizes(sizes),
                   help=f"package counts, comma-separated; 10k and 1M work (default {sizes})")
    p.add_argument("--db", choices=("sqlite", "postgresql", "both"), default=db,
                   help=f"database(s) to measure (default {db})")
    p.add_argument("--repeat", type=int, default=repeat,
                   help=f"measurements per case (default {repeat})")
    return p


def dbs(choice: str) -> list[str]:
    return list(DBS) if choice == "both" else [choice]


# ---- databases -------------------------------------------------------------------------------

@contextlib.contextmanager
def database(kind: str, folder: Path):
    """The URL of an empty database: a SQLite file in FOLDER, or a fresh PostgreSQL schema
    (dropped on exit, as tests/conftest.py make_pg_url does)."""
    if kind == "sqlite":
        path = Path(folder) / f"hemat-{uuid.uuid4().hex[:8]}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    from sqlalchemy import create_engine, text

    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def workdir(prefix: str = "hemat-bench-"):
    """A temporary folder for generated exports and SQLite files, removed on exit."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def generate(folder: Path, packages: int, fmt: str) -> Path:
    """The demo exports for PACKAGES packages in one format (seeded: identical packages
    whatever the format), written once per folder.

    The generator runs in a child process: at 1M packages it holds about 1 GB, and a process
    started later from this one would inherit that peak in its ru_maxrss (Linux keeps the
    high-water mark across fork and exec)."""
    out = Path(folder) / f"{fmt}-{packages}"
    if not out.is_dir():
        subprocess.run([sys.executable, str(ROOT / "data" / "generate.py"), "--out", str(out),
                        "--packages", str(packages), "--seed", str(SEED), "--formats", fmt],
                       check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return out


def load(url: str, exports: Path) -> float:
    """Load EXPORTS into URL with load_paths; the seconds it took. Raises on a failed file."""
    from etl.db import engine_from_url
    from etl.load import load_paths

    engine = engine_from_url(url)
    try:
        start = time.perf_counter()
        results = load_paths(engine, [exports])
        seconds = time.perf_counter() - start
    finally:
        engine.dispose()
    failed = [r.error for r in results if r.error]
    if failed:
        raise RuntimeError(f"load failed: {failed[0]}")
    return seconds


@contextlib.contextmanager
def loaded(kind: str, packages: int, folder: Path, fmt: str = "csv"):
    """A database of KIND holding PACKAGES demo packages; yields (url, load seconds)."""
    exports = generate(folder, packages, fmt)
    with database(kind, folder) as url:
        print(f"# loading {packages:,} packages ({fmt}) into {kind} ...", file=sys.stderr,
              flush=True)
        seconds = load(url, exports)
        print(f"# loaded in {seconds:.1f} s", file=sys.stderr, flush=True)
        yield url, seconds


def publish_marker(marks: dict):
    """A progress callback for load_paths that notes in MARKS["publish"] when the publish
    began: load_paths calls it with no path once every file is written."""
    def progress(path, fraction) -> None:
        if path is None:
            marks.setdefault("publish", time.perf_counter())
    return progress


# ---- processes (Linux's /proc) -----------------------------------------------------------------

def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name (the state first), or None
    where PID has gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def stat_seconds(fields: list[str], *at: int) -> float:
    """The clock ticks at positions AT of proc_stat's FIELDS, in seconds (11 and 12: the
    process's user and system time; 13 and 14: those of its children it has waited for)."""
    return sum(int(fields[i]) for i in at) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """PID's child processes, or [] where PID has gone."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


# ---- statistics and tables -------------------------------------------------------------------

def percentile(values, q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of VALUES; NaN when empty."""
    data = sorted(values)
    if not data:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(data)))
    return data[rank - 1]


def median(values) -> float:
    data = sorted(values)
    if not data:
        return math.nan
    mid = len(data) // 2
    return data[mid] if len(data) % 2 else (data[mid - 1] + data[mid]) / 2


def ms(seconds: float) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.1f}"


def sec(seconds: float) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{seconds:.2f}"


def ratio(a: float, b: float) -> str:
    if a is None or b is None or math.isnan(a) or math.isnan(b) or not b:
        return "-"
    return f"{a / b:.2f}x"


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def table(headers: list[str], rows: list[list], title: str | None = None) -> None:
    """Print ROWS under HEADERS as a plain, aligned text table (numbers right-aligned)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]

    def line(values):
        return "  ".join(v.rjust(w) if _numeric(v) else v.ljust(w)
                         for v, w in zip(values, widths, strict=True)).rstrip()

    if title:
        print(f"\n{title}")
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))
    sys.stdout.flush()


def _numeric(text: str) -> bool:
    """Whether TEXT reads as a figure (right-aligned): 12.5, 1,234, 3.1x, 45%, -."""
    try:
        float(text.rstrip("x%").replace(",", ""))
        return True
    except ValueError:
        return text == "-"


def machine() -> str:
    """One line naming when and where the figures were taken."""
    load1, load5, _ = os.getloadavg()
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=5).stdout.strip()
    except OSError:
        commit = "?"
    dirty = _dirty()
    return (f"# {datetime.now():%Y-%m-%d %H:%M}  {os.cpu_count()} cores  "
            f"load avg {load1:.2f}/{load5:.2f}  Python {platform.python_version()}  "
            f"commit {commit}{' (+ uncommitted changes)' if dirty else ''}\n"
            f"# {' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}")


def _dirty() -> bool:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                              "etl", "dashboard", "hemat"],
                             capture_output=True, text=True, timeout=5).stdout
    except OSError:
        return False
    return bool(out.strip())


def header(title: str) -> None:
    """Print the title and the machine line; a SIGTERM from now on still cleans up."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"{title}\n{machine()}", flush=True)
