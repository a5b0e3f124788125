"""Where one load's time goes: its phases, its slow statements, and how busy each process
was, window by window.

    .venv/bin/python benchmarks/load_timeline.py --size 1M --format json --db sqlite
    .venv/bin/python benchmarks/load_timeline.py --db postgresql --paths exports/

A load has two phases: the files phase (each file read and cleaned by the preparing process
while the loading process writes the one before) and the publish (packages merged, flagged,
indexed and summed into the cubes once, then the commit and the statistics). The statements
come from SQLAlchemy's cursor events on the load's own engine (PostgreSQL's COPY is not one
of them); the CPU from /proc (Linux only) and, for a process that has ended, getrusage.
"""

import argparse
import os
import resource
import sys
import threading
import time
from pathlib import Path

import common as c


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=lambda text: c.parse_sizes(text)[0], default=100_000,
                   help="packages of demo data; 10k and 1M work (default 100k)")
    p.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both",
                   help="database(s) to load into, each fresh (default both)")
    p.add_argument("--format", choices=("csv", "json", "xlsx"), default="csv",
                   help="format of the demo exports (default csv)")
    p.add_argument("--paths", nargs="+", type=Path, help="load these exports instead of demo data")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="list statements that took at least this many seconds (default 0.5)")
    p.add_argument("--window", type=_positive, default=5.0,
                   help="seconds per line of the CPU table (default 5)")
    args = p.parse_args()
    c.header("load_timeline: one load's phases, slow statements and CPU")
    with c.workdir() as folder:
        size = args.size
        exports = args.paths or [c.generate(folder, size, args.format)]
        for db in c.dbs(args.db):
            with c.database(db, folder) as url:
                label = "given exports" if args.paths else f"{c.size_label(size)} {args.format}"
                timeline(url, exports, args, f"{label} into {db}")
    return 0


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def timeline(url: str, exports: list[Path], args, title: str) -> None:
    from etl.db import engine_from_url
    from etl.load import load_paths

    engine = engine_from_url(url)
    statements, marks = _slow_statements(engine, args.threshold), {}
    sampler = _Sampler(engine.dialect.name == "postgresql", args.window)
    start = sampler.start()
    results = load_paths(engine, exports, progress=c.publish_marker(marks))
    end = time.perf_counter()
    sampler.stop()
    engine.dispose()
    failed = [r.error for r in results if r.error]
    print(f"\n== {title}: {end - start:.1f} s, {len(results)} files"
          + (f", {len(failed)} failed: {failed[0]}" if failed else ""))
    _phases(start, marks.get("publish"), end)
    c.table(["start s", "end s", "seconds", "statement"],
            [[f"{s - start:.1f}", f"{e - start:.1f}", f"{e - s:.1f}", _short(text)]
             for s, e, text in sorted(statements)],
            f"Statements of at least {args.threshold} s")
    c.table(["until s", "loading process", "preparing process",
             "PostgreSQL server (all its processes, any client's)"],
            sampler.rows(start), f"Cores busy, per {args.window:g} s")


def _slow_statements(engine, threshold: float) -> list[tuple[float, float, str]]:
    """A list that fills with (start, end, text) of each statement ENGINE runs that takes
    THRESHOLD seconds or more."""
    from sqlalchemy import event

    found = []

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        started = conn.info.pop("started", None)
        if started and time.perf_counter() - started >= threshold:
            found.append((started, time.perf_counter(), statement))

    return found


def _phases(start: float, publish: float | None, end: float) -> None:
    rows = [["files phase", f"{publish - start:.2f}"],
            ["publish, commit, statistics", f"{end - publish:.2f}"]] if publish else []
    c.table(["phase", "seconds"], rows + [["in all", f"{end - start:.2f}"]], "Phases")


def _short(statement: str, width: int = 110) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= width else text[:width - 1] + "…"


class _Sampler:
    """CPU seconds of this process, its children and (where asked) the PostgreSQL server
    on this machine, read every WINDOW seconds in a thread."""

    def __init__(self, postgres: bool, window: float):
        self.postgres, self.window, self.samples = postgres, window, []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> float:
        self._sample()
        self.thread.start()
        return self.samples[0][0]

    def stop(self) -> None:
        self.done.set()
        self.thread.join()
        self._sample()

    def _run(self) -> None:
        while not self.done.wait(self.window):
            self._sample()

    def _sample(self) -> None:
        server = _server_cpu() if self.postgres else None
        self.samples.append((time.perf_counter(), _cpu(os.getpid()), _children_cpu(), server))

    def rows(self, start: float) -> list[list]:
        out = []
        for before, after in zip(self.samples, self.samples[1:], strict=False):
            span = after[0] - before[0]
            busy = [f"{max(0.0, a - b) / span:.2f}" if a is not None and b is not None
                    else "-" for a, b in zip(after[1:], before[1:], strict=True)]
            out.append([f"{after[0] - start:.1f}", *busy])
        return out


def _children_cpu() -> float:
    """CPU seconds of this process's children: those running, from /proc, and those that
    have ended and been waited for (the preparing process, once the load stops its pool).
    Read again where one was waited for in between, which would count it in neither."""
    while True:
        ended = resource.getrusage(resource.RUSAGE_CHILDREN)
        running = sum(map(_cpu, c.child_pids(os.getpid())))
        if resource.getrusage(resource.RUSAGE_CHILDREN) == ended:
            return running + ended.ru_utime + ended.ru_stime


def _server_cpu() -> float | None:
    """CPU seconds of the PostgreSQL server on this machine, every client's work included:
    its processes running, and through the postmaster's own count of the children it has
    waited for, those that have ended (parallel index builders, autovacuum workers). None
    where no server runs here."""
    pids = _postgres_pids()
    stats = {pid: c.proc_stat(pid) for pid in pids}
    postmasters = [pid for pid, fields in stats.items() if fields and int(fields[1]) not in stats]
    if not postmasters:
        return None
    running = sum(c.stat_seconds(fields, 11, 12) for fields in stats.values() if fields)
    return running + sum(c.stat_seconds(stats[pid], 13, 14) for pid in postmasters)


def _cpu(pid: int) -> float:
    """User + system CPU seconds of PID (0 once it has gone)."""
    fields = c.proc_stat(pid)
    return c.stat_seconds(fields, 11, 12) if fields else 0.0


def _postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "postgres":
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


if __name__ == "__main__":
    sys.exit(main())
