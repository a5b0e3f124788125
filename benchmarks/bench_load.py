"""Load throughput: packages/s and rows/s of etl.load.load_paths from JSON, CSV and XLSX.

Every load runs in a fresh child process into an empty database, so its peak memory
(ru_maxrss of that child, from os.wait4) belongs to that load alone; the seconds are those
of load_paths, without the interpreter's start-up and imports. For XLSX the same run also
times python-calamine alone reading every sheet of the same files (the floor for reading a
spreadsheet) and hemat's reader (etl.read.read_export) alone.

Targets: 1M packages from CSV or JSON in < 60 s with a peak < 1 GB (all processes of
the load together); XLSX ≤ 1.5× calamine.

    python benchmarks/bench_load.py                       # 10k and 100k, both databases
    python benchmarks/bench_load.py --sizes 1M --formats csv,json --db sqlite
    python benchmarks/bench_load.py --sizes 1M --formats csv --db sqlite --profile 25
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common as c

FORMATS = ("json", "csv", "xlsx")
TARGET_SECONDS, TARGET_PEAK_MB, TARGET_XLSX = 60.0, 1024.0, 1.5


def main(argv=None) -> int:
    p = c.parser(__doc__.split("\n\n")[0])
    p.add_argument("--formats", default=",".join(FORMATS),
                   help="comma-separated subset of json,csv,xlsx (default: all)")
    p.add_argument("--xlsx-max", type=c.parse_sizes, default=[100_000],
                   help="largest size measured from XLSX (generating 1M XLSX takes long)")
    p.add_argument("--timeout", type=float, default=900,
                   help="seconds after which one load is stopped and reported as timeout")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="run each load under cProfile and print its top N cumulative entries")
    p.add_argument("--child", nargs=2, metavar=("WHAT", "EXPORTS"), help=argparse.SUPPRESS)
    p.add_argument("--url")
    args = p.parse_args(argv)
    if args.child:
        return child(args.child[0], Path(args.child[1]), args.url, args.profile)
    formats = [f for f in FORMATS if f in args.formats.split(",")]
    c.header("bench_load: load_paths throughput, one child process per load")
    loads, xlsx = [], []
    with c.workdir() as folder:
        for size in args.sizes:
            for fmt in formats:
                if fmt == "xlsx" and size > args.xlsx_max[0]:
                    print(f"# skipping xlsx at {size:,} (over --xlsx-max)", file=sys.stderr)
                    continue
                exports = generated(folder, size, fmt)
                runs = {db: [measure_load(db, folder, exports, args) for _ in range(args.repeat)]
                        for db in c.dbs(args.db)}
                loads += [load_row(size, fmt, db, r) for db, r in runs.items()]
                if fmt == "xlsx":
                    xlsx += xlsx_rows(size, exports, runs, args)
                _remove(exports)
    print_results(loads, xlsx, args)
    return 0


def generated(folder: Path, size: int, fmt: str) -> Path:
    start = time.perf_counter()
    print(f"# generating {size:,} packages as {fmt} ...", file=sys.stderr, flush=True)
    exports = c.generate(folder, size, fmt)
    print(f"# generated in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return exports


def _remove(folder: Path) -> None:
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()


# ---- the child: one measurement in a fresh process -------------------------------------------

def child(what: str, exports: Path, url: str | None, profile: int) -> int:
    """Measure WHAT (load, read or calamine) over EXPORTS and print one JSON line."""
    work = {"load": lambda: _child_load(url, exports), "read": lambda: _child_read(exports),
            "calamine": lambda: _child_calamine(exports)}[what]
    # Imported before the clock starts: start-up is not part of the figure.
    import python_calamine  # noqa: F401

    import etl.db  # noqa: F401
    import etl.load  # noqa: F401

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    out = work()
    end = time.perf_counter()
    out["seconds"] = end - start
    seen = out.pop("watch", None)
    if seen is not None:
        _visible_by(seen, end, out, start)
    if "publish" in out:
        out["files_phase"] = out.pop("publish") - start
    if profiler:
        profiler.disable()
        out["profile"] = _top(profiler, profile)
    print(json.dumps(out))
    return 0


def _process_tree(pid: int) -> list[int]:
    return [pid] + [p for child in c.child_pids(pid) for p in _process_tree(child)]


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:  # gone, or not Linux
        return 0


def _pss_kb(pid: int) -> int:
    """The process's proportional set size: each page it shares with others counted as its
    share (what the processes of one load hold together, without counting a page twice)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
    except (OSError, StopIteration):  # gone, or not Linux
        return 0


def _child_load(url: str, exports: Path) -> dict:
    from etl.db import engine_from_url
    from etl.load import load_paths

    engine = engine_from_url(url)
    backends = _backends(engine)
    seen = _watch_packages(url)
    marks: dict = {}
    results = load_paths(engine, [exports], progress=c.publish_marker(marks))
    server = _server_cpu(backends)  # before the pool closes them
    engine.dispose()
    return {"rows": sum(r.rows_read for r in results), "files": len(results),
            "errors": [r.error for r in results if r.error], "server_cpu": server,
            "watch": seen, **marks}


def _visible_by(seen: dict, end: float, out: dict, start: float) -> None:
    """Set out["visible"]: when the watcher first saw a package, in seconds from START. A
    sighting within a poll's time after the load returned (at END) means the commit came
    before that return, which is then the figure."""
    deadline = time.perf_counter() + 1.0
    while "at" not in seen and "stop" not in seen and time.perf_counter() < deadline:
        time.sleep(0.02)
    seen["stop"] = True
    if "at" in seen:
        out["visible"] = min(seen["at"], end) - start


def _watch_packages(url: str) -> dict:
    """When a reader first sees a package, as the dashboard reads (a read-only connection of
    its own, polled every 0.1 s from a thread): the load's commit. Its "at" stays unset where
    the database held packages before the load (--url)."""
    import threading

    from sqlalchemy import text

    from etl.db import engine_from_url

    seen: dict = {}

    def watch() -> None:
        engine = engine_from_url(url, read_only=True)
        while "stop" not in seen:
            try:
                with engine.connect() as conn:
                    found = conn.execute(text("SELECT 1 FROM packages LIMIT 1")).first()
            except Exception:  # no database file or no table yet
                found = None
            else:
                if found and "empty" in seen:
                    seen["at"] = time.perf_counter()
                if found:
                    seen["stop"] = True
                    break
                seen["empty"] = True
            time.sleep(0.1)
        engine.dispose()

    threading.Thread(target=watch, daemon=True).start()
    return seen


def _backends(engine) -> set[int]:
    """The PostgreSQL server processes of ENGINE's connections, filled as they connect."""
    from sqlalchemy import event

    pids: set[int] = set()
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", lambda conn, _: pids.add(conn.info.backend_pid))
    return pids


def _server_cpu(pids: set[int]) -> float | None:
    """User + system CPU seconds of the server processes PIDS, read from /proc (the server
    runs on this machine); None without any, or where they cannot be read."""
    stats = [c.proc_stat(pid) for pid in pids]
    if not stats or None in stats:
        return None
    return sum(c.stat_seconds(fields, 11, 12) for fields in stats)


def _child_read(exports: Path) -> dict:
    from etl.read import read_export

    files = _spreadsheets(exports)
    return {"rows": sum(len(read_export(f).frame) for f in files), "files": len(files)}


def _child_calamine(exports: Path) -> dict:
    from python_calamine import CalamineWorkbook

    rows = 0
    files = _spreadsheets(exports)
    for f in files:
        book = CalamineWorkbook.from_path(str(f))
        for name in book.sheet_names:
            rows += len(book.get_sheet_by_name(name).to_python())
    return {"rows": rows, "files": len(files)}


def _spreadsheets(exports: Path) -> list[Path]:
    return sorted(exports.glob("*.xlsx"))


def _top(profiler, n: int) -> str:
    import io
    import pstats

    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(n)
    return text.getvalue()


# ---- the parent: run children, collect figures ----------------------------------------------

def run_child(what: str, exports: Path, args, url: str | None = None) -> dict:
    """Run one child; its JSON result plus peak_mb (ru_maxrss) and wall seconds."""
    cmd = [sys.executable, __file__, "--child", what, str(exports)]
    if url:
        cmd += ["--url", url]
    if args.profile and what == "load":
        cmd += ["--profile", str(args.profile)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=c.ROOT)
        status, usage, tree_kb, pss_kb = _wait(proc, args.timeout)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode(errors="replace")
    measured = {"wall": wall, "peak_mb": usage.ru_maxrss / 1024,
                "cpu": usage.ru_utime + usage.ru_stime, "tree_mb": tree_kb / 1024,
                "pss_mb": pss_kb / 1024}
    if status is None:
        return {"timeout": True, **measured}
    if status != 0 or not text.strip():
        raise RuntimeError(f"child {what} failed ({status}):\n{errors[-3000:]}")
    result = json.loads(text.strip().splitlines()[-1])
    return {**result, **measured}


def _wait(proc, timeout: float):
    """(exit status or None on timeout, rusage of the child, the peak of the memory the
    child and the processes it starts hold at once, twice). That peak is the largest sum of
    their RSS, read from /proc/PID/statm every 0.2 s from this process: an upper bound, since
    pages a fork still shares count in both; and the largest sum of their PSS, which counts
    a shared page once, read from /proc/PID/smaps_rollup at the same moments."""
    deadline, tree_kb, pss_kb, polls = time.monotonic() + timeout, 0, 0, 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage, tree_kb, pss_kb
        if time.monotonic() > deadline:
            os.kill(proc.pid, signal.SIGKILL)
            _, _, usage = os.wait4(proc.pid, 0)
            proc.returncode = -9
            return None, usage, tree_kb, pss_kb
        polls += 1
        if polls % 4 == 0:
            tree = _process_tree(proc.pid)
            tree_kb = max(tree_kb, sum(map(_rss_kb, tree)))
            pss_kb = max(pss_kb, sum(map(_pss_kb, tree)))
        time.sleep(0.05)


def measure_load(db: str, folder: Path, exports: Path, args) -> dict:
    with c.database(db, folder) as url:
        print(f"# load {exports.name} into {db} ...", file=sys.stderr, flush=True)
        result = run_child("load", exports, args, url)
    if result.get("errors"):
        raise RuntimeError(f"load reported errors: {result['errors'][:3]}")
    if "profile" in result:
        print(f"\ncProfile, load of {exports.name} into {db} (top cumulative):\n"
              f"{result.pop('profile')}")
    shown = "timeout" if result.get("timeout") else f"{result['seconds']:.1f} s"
    print(f"#   {shown}, peak {result['peak_mb']:.0f} MB, all processes at once "
          f"{result.get('tree_mb', 0):.0f} MB (PSS {result.get('pss_mb', 0):.0f} MB)",
          file=sys.stderr, flush=True)
    return result


def _seconds(runs: list[dict]) -> list[float]:
    return [r["seconds"] for r in runs if not r.get("timeout")]


def _median_text(runs: list[dict], key: str) -> str:
    values = [r[key] for r in runs if r.get(key) is not None]
    return c.sec(c.median(values)) if values else "-"


def _server_cpu_text(runs: list[dict]) -> str:
    values = [r["server_cpu"] for r in runs if r.get("server_cpu") is not None]
    return f"{c.median(values):.1f}" if values else "-"


def load_row(size: int, fmt: str, db: str, runs: list[dict]) -> list:
    secs = _seconds(runs)
    med, p95 = c.median(secs), c.percentile(secs, 95)
    rows = runs[0].get("rows", 0)
    peak = max(r["peak_mb"] for r in runs)
    together = max(r.get("tree_mb", 0) for r in runs)
    pss = max(r.get("pss_mb", 0) for r in runs)
    if not secs:
        return [c.size_label(size), fmt, db, "timeout", *["-"] * 9, f"{peak:.0f}",
                f"{together:.0f}", f"{pss:.0f}", "-", "-"]
    return [c.size_label(size), fmt, db, len(secs), f"{rows:,}", c.sec(med), c.sec(p95),
            _median_text(runs, "files_phase"), _median_text(runs, "visible"),
            f"{size / med:,.0f}", f"{rows / med:,.0f}",
            f"{c.median([r['cpu'] for r in runs]):.1f}",
            _server_cpu_text(runs), f"{peak:.0f}", f"{together:.0f}", f"{pss:.0f}",
            f"{med * 1_000_000 / size:.0f}",
            _verdict(size, fmt, med, max(peak, together))]


def _verdict(size: int, fmt: str, seconds: float, peak_mb: float) -> str:
    if fmt == "xlsx" or size < 1_000_000:
        return "-"
    ok = seconds < TARGET_SECONDS and peak_mb < TARGET_PEAK_MB
    return "met" if ok else "MISSED"


def xlsx_rows(size: int, exports: Path, runs: dict, args) -> list[list]:
    """hemat's XLSX load and read against calamine alone, on the same files, same run."""
    cal = [run_child("calamine", exports, args) for _ in range(args.repeat)]
    read = [run_child("read", exports, args) for _ in range(args.repeat)]
    cal_s, read_s = c.median(_seconds(cal)), c.median(_seconds(read))
    out = []
    for db, loads in runs.items():
        load_s = c.median(_seconds(loads))
        verdict = "met" if load_s <= TARGET_XLSX * cal_s else "MISSED"
        out.append([c.size_label(size), db, c.sec(load_s),
                    c.sec(c.percentile(_seconds(loads), 95)), c.sec(read_s), c.sec(cal_s),
                    c.sec(c.percentile(_seconds(cal), 95)), c.ratio(load_s, cal_s),
                    c.ratio(read_s, cal_s), verdict])
    return out


def print_results(loads: list[list], xlsx: list[list], args) -> None:
    c.table(["size", "format", "db", "n", "rows", "median s", "p95 s", "files s", "visible s",
             "packages/s", "rows/s",
             "cpu s", "server cpu s", "peak MB (one process)", "peak MB (all at once)",
             "peak MB (all at once, PSS)", "s per 1M (linear)",
             "target 1M <60 s, <1 GB"], loads, "Load throughput (load_paths)")
    if xlsx:
        c.table(["size", "db", "load median s", "load p95 s", "read_export s",
                 "calamine s", "calamine p95 s", "load/calamine", "read/calamine",
                 "target load <=1.5x"], xlsx,
                "XLSX against python-calamine alone (same files, same run)")
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak MB (one process): ru_maxrss of each child from os.wait4, the largest of "
          f"the loading process and its cleaning process. Linux carries the high-water mark of "
          f"the process that starts a child into it, so no figure can be below this script's "
          f"own peak, {own:.0f} MB (the data is generated in a child process to keep it low).")
    print("peak MB (all at once): the largest sum of the RSS of the loading process and its "
          "cleaning process, sampled every 0.2 s (an upper bound: pages they still share "
          "after the fork count twice); the target applies to it.")
    print("peak MB (all at once, PSS): the largest sum of their proportional set sizes at the "
          "same moments, which counts each shared page once: the memory the load takes from "
          "the machine.")
    print("files s: when every file had been read, cleaned and written and the publish "
          "(merging, flagging, indexing and summing the packages once) began, median; the "
          "publish and the commit take from there to visible s.")
    print("visible s: when a reader polling every 0.1 s (a read-only connection in a thread "
          "of the loading process, as the dashboard reads) first saw a package, median: the "
          "load's commit, to within a poll; what follows it is the database's tidying (on "
          "SQLite the WAL checkpoint) and statistics.")
    print("cpu s: user + system CPU time of the child process (imports included; the "
          "database server's own CPU is not), steadier than seconds on a busy machine.")
    print("server cpu s: user + system CPU time of the PostgreSQL server processes that served "
          "the load's connections, read from /proc when the load ends (the helpers that build "
          "an index in parallel are not counted).")


if __name__ == "__main__":
    sys.exit(main())
