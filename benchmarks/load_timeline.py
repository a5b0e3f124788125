"""Where one load's time goes: its phases, its slow statements, and how busy each process
was, window by window.

    .venv/bin/python benchmarks/load_timeline.py --size 1M --format json --db sqlite
    .venv/bin/python benchmarks/load_timeline.py --db postgresql --paths exports/

A load has two phases: the files phase (each file read, cleaned and written; the loading
process and its preparing process both busy) and the publish (packages merged, flagged,
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

TICK = os.sysconf("SC_CLK_TCK")


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
    p.add_argument("--window", type=float, default=5.0,
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


def timeline(url: str, exports: list[Path], args, title: str) -> None:
    from sqlalchemy import event

    from etl.db import engine_from_url
    from etl.load import load_paths

    engine = engine_from_url(url)
    statements, marks = [], {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        started = conn.info.pop("started", None)
        if started and time.perf_counter() - started >= args.threshold:
            statements.append((started, time.perf_counter(), statement))

    def progress(path, fraction) -> None:
        if path is None:  # every file is written: the publish begins
            marks.setdefault("publish", time.perf_counter())

    sampler = _Sampler(engine.dialect.name == "postgresql", args.window)
    start = sampler.start()
    results = load_paths(engine, exports, progress=progress)
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
    c.table(["until s", "loading process", "preparing process", "PostgreSQL (all processes)"],
            sampler.rows(start), f"Cores busy, per {args.window:g} s")


def _phases(start: float, publish: float | None, end: float) -> None:
    rows = [["files phase", f"{publish - start:.1f}"],
            ["publish, commit, statistics", f"{end - publish:.1f}"]] if publish else []
    c.table(["phase", "seconds"], rows + [["in all", f"{end - start:.1f}"]], "Phases")


def _short(statement: str, width: int = 110) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= width else text[:width - 1] + "…"


class _Sampler:
    """CPU seconds of this process, its children and (where asked) every PostgreSQL server
    process, read from /proc every WINDOW seconds in a thread."""

    def __init__(self, postgres: bool, window: float):
        self.postgres, self.window, self.samples = postgres, window, []
        # Each server process's last reading: one that has ended (an autovacuum worker, say)
        # keeps the CPU it used.
        self.server: dict[int, float] = {}
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
        me = os.getpid()
        # The children still running, and those that have ended and been waited for (the
        # preparing process, once the load has stopped its pool).
        ended = resource.getrusage(resource.RUSAGE_CHILDREN)
        children = sum(map(_cpu, _children(me))) + ended.ru_utime + ended.ru_stime
        self.samples.append((time.perf_counter(), _cpu(me), children, self._server()))

    def _server(self) -> float:
        if not self.postgres:
            return 0.0
        for pid in _postgres_pids():
            self.server[pid] = max(self.server.get(pid, 0.0), _cpu(pid))
        return sum(self.server.values())

    def rows(self, start: float) -> list[list]:
        out = []
        for before, after in zip(self.samples, self.samples[1:], strict=False):
            span = after[0] - before[0]
            busy = [max(0.0, a - b) / span for a, b in zip(after[1:], before[1:], strict=True)]
            out.append([f"{after[0] - start:.1f}", *(f"{x:.2f}" for x in busy[:2]),
                        f"{busy[2]:.2f}" if self.postgres else "-"])
        return out


def _cpu(pid: int) -> float:
    """User + system CPU seconds of PID (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


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
