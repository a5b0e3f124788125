"""Load test of the documented deployment: gunicorn with several workers over PostgreSQL.

Starts `gunicorn -w 4 -b 127.0.0.1:PORT dashboard.app:server` (HEMAT_DATABASE_URL set to a
fresh schema holding the demo data), then this process plays USERS people at once, each in
its own thread with its own keep-alive connection to 127.0.0.1 (never any other address):
load a page (GET /, /_dash-layout, /_dash-dependencies) and fire the callbacks the browser
would fire (dashsim), change a filter, page the package list or click a bar, again and
again until --seconds have passed. Reports throughput, latency and errors (must be 0), over
all requests and per request kind. The Excel download is left out (bench_export times it).

    python benchmarks/load_test.py                         # 100k packages, 20 users, 60 s
    python benchmarks/load_test.py --sizes 10k --users 5 --seconds 20 --workers 2
"""

import http.client
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict

import common as c
import dashsim

HOST = "127.0.0.1"  # loopback only: the load never leaves the machine


class Stop(Exception):
    """The test's time is up."""


def main(argv=None) -> int:
    p = c.parser(__doc__.split("\n\n")[0], sizes="100000", db="postgresql")
    p.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    p.add_argument("--seconds", type=float, default=60, help="length of the test (default 60)")
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    p.add_argument("--url", help="test over this existing database instead of demo data")
    args = p.parse_args(argv)
    c.header(f"load_test: gunicorn -w {args.workers}, {args.users} users for "
             f"{args.seconds:.0f} s over {HOST}")
    if args.url:
        run(args.url, "given", "url", args)
        return 0
    with c.workdir() as folder:
        for size in args.sizes:
            for db in c.dbs(args.db):
                for _ in range(args.repeat):
                    with c.loaded(db, size, folder) as (url, _):
                        run(url, c.size_label(size), db, args)
    return 0


def run(url: str, size: str, db: str, args) -> None:
    from dashboard.app import create_app
    from etl.db import engine_from_url

    engine = engine_from_url(url, read_only=True)
    links = dashsim.scenarios(engine, 200, random.Random(1))
    engine.dispose()
    names = dashsim.callback_names(create_app(url))  # no query (a SQLite file is read ahead)
    with gunicorn(url, args.workers) as (port, log):
        requests, pages = hammer(port, links, names, args)
        server_errors = _tracebacks(log)
    report(requests, pages, size, db, args, server_errors)


# ---- the server ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class gunicorn:
    """gunicorn serving dashboard.app:server over URL on a free loopback port."""

    def __init__(self, url: str, workers: int):
        self.url, self.workers = url, workers

    def __enter__(self):
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="hemat-gunicorn-", suffix=".log")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b",
             f"{HOST}:{self.port}", "--timeout", "120", "dashboard.app:server"],
            cwd=c.ROOT, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "HEMAT_DATABASE_URL": self.url})
        self._wait()
        return self.port, self.log.name

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + open(self.log.name).read()[-3000:])
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def _tracebacks(log: str) -> int:
    with open(log, errors="replace") as f:
        return f.read().count("Traceback (most recent call last)")


# ---- the users -------------------------------------------------------------------------------

class Client:
    """One user's keep-alive HTTP connection; every request timed into RECORDS."""

    def __init__(self, port: int, deadline: float, records: list):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=120)
        self.deadline, self.records = deadline, records

    def send(self, method: str, path: str, body):
        if time.monotonic() > self.deadline:
            raise Stop
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        start = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.records.append((f"{method} {path}", time.perf_counter() - start, 0))
            raise
        self.records.append((f"{method} {path}", time.perf_counter() - start, resp.status))
        is_json = "json" in (resp.getheader("Content-Type") or "")
        return resp.status, (json.loads(raw) if raw and is_json else None)


def user(port: int, links: list, names: dict, seed: int, deadline: float, out: dict) -> None:
    """Visit links until DEADLINE; count the visits that failed."""
    rng = random.Random(seed)
    client = Client(port, deadline, out["requests"])
    callbacks = None
    while time.monotonic() < deadline:
        try:
            client.send("GET", "/", None)
            reply = client.send("GET", "/_dash-dependencies", None)
            callbacks = callbacks or dashsim.load_callbacks(lambda *_, r=reply: r, names)
            page = dashsim.Page(client.send, callbacks)
            try:
                dashsim.visit(page, rng.choice(links), rng)
            finally:
                out["pages"].extend(page.records)
        except Stop:
            break
        except Exception as exc:  # counted, reported, and the user goes on
            out["failures"].append(repr(exc))


def hammer(port: int, links: list, names: dict, args):
    out = {"requests": [], "pages": [], "failures": []}
    deadline = time.monotonic() + args.seconds
    threads = [threading.Thread(target=user, args=(port, links, names, i, deadline, out))
               for i in range(args.users)]
    start, cpu = time.perf_counter(), _cpu()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["elapsed"] = time.perf_counter() - start
    out["client_cpu"] = (_cpu() - cpu) / out["elapsed"]
    return out, out["pages"]


def _cpu() -> float:
    """CPU seconds of this process: the load generator shares the machine with the server."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(out: dict, pages: list, size: str, db: str, args, server_errors: int) -> None:
    requests = out["requests"]
    times = [s for _, s, _ in requests]
    errors = sum(1 for _, _, status in requests if status == 0 or status >= 400)
    c.table(["size", "db", "workers", "users", "seconds", "requests", "req/s", "median ms",
             "p95 ms", "max ms", "errors", "failed visits", "server tracebacks",
             "client CPU (cores)"],
            [[size, db, args.workers, args.users, f"{out['elapsed']:.0f}", len(requests),
              f"{len(requests) / out['elapsed']:.1f}", c.ms(c.median(times)),
              c.ms(c.percentile(times, 95)), c.ms(max(times) if times else None), errors,
              len(out["failures"]), server_errors, f"{out['client_cpu']:.2f}"]],
            f"Load test ({size}, {db}): all requests")
    kinds = defaultdict(list)
    for r in pages:
        kinds[f"POST {r.label}"].append(r.seconds)
    for name, seconds, _ in requests:
        if name.startswith("GET"):
            kinds[name].append(seconds)
    c.table(["request", "n", "median ms", "p95 ms", "max ms"],
            [[k, len(t), c.ms(c.median(t)), c.ms(c.percentile(t, 95)), c.ms(max(t))]
             for k, t in sorted(kinds.items())], "Per request kind (callbacks by name)")
    for failure in sorted(set(out["failures"]))[:5]:
        print(f"failed visit: {failure}")


if __name__ == "__main__":
    sys.exit(main())
