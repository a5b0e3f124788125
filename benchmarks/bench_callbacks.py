"""Server-side latency of every dashboard callback, through Dash's own HTTP route.

The real app (dashboard.app.create_app) answers POSTs to /_dash-update-component from
Flask's test client; dashsim.Page sends what the browser sends, in the browser's order,
for a seeded series of visits over varied filters (views, years, kind, province, regency,
method, category, funding, basis, flagged packages, language): open a link, change a filter,
page the package list or click a bar, now and then reset or download. The query functions
each callback uses are then timed alone on the same filters: the ratio callback/query is
what Dash, the figures and the layout add.

Target: p95 < 150 ms per callback (the Excel download: < 5 s, as bench_export).

    python benchmarks/bench_callbacks.py                          # 10k and 100k, both dbs
    python benchmarks/bench_callbacks.py --sizes 1M --db postgresql --visits 20
    python benchmarks/bench_callbacks.py --url postgresql://... # an existing database
"""

import random
import sys
from collections import defaultdict

import common as c
import dashsim

TARGET_MS, DOWNLOAD_TARGET_MS = 150.0, 5000.0
GROUPS = ("year", "province", "regency", "method", "category", "kind", "funding")


def main(argv=None) -> int:
    p = c.parser(__doc__.split("\n\n")[0])
    p.add_argument("--visits", type=int, default=24,
                   help="visits per size and database (each fires 20-50 callbacks)")
    p.add_argument("--downloads", type=int, default=2,
                   help="visits that also click the Excel download")
    p.add_argument("--url", help="measure this existing database instead of demo data")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    c.header("bench_callbacks: server-side callback latency (POST /_dash-update-component)")
    if args.url:
        measure(args.url, "given", "url", args)
        return 0
    with c.workdir() as folder:
        for size in args.sizes:
            for db in c.dbs(args.db):
                with c.loaded(db, size, folder) as (url, _):
                    measure(url, c.size_label(size), db, args)
    return 0


def measure(url: str, size: str, db: str, args) -> None:
    from etl.db import engine_from_url

    records = drive(url, args)
    engine = engine_from_url(url, read_only=True)
    try:
        baseline = query_times(engine, records)
        grouped = summary_times(engine, records)
    finally:
        engine.dispose()
    report(records, baseline, size, db)
    c.table(["size", "db", "query", "n", "median ms", "p95 ms", "max ms"],
            [[size, db, name, len(t), c.ms(c.median(t)), c.ms(c.percentile(t, 95)),
              c.ms(max(t))] for name, t in grouped.items()],
            f"Query functions alone on the same filters ({size}, {db})")


def drive(url: str, args) -> list:
    """Every callback POST of the visits, timed (after one warm-up visit)."""
    from dashboard.app import create_app
    from etl.db import engine_from_url

    app = create_app(url)
    client = app.server.test_client()

    def send(method, path, body):
        r = client.get(path) if method == "GET" else client.post(path, json=body)
        answer = r.status_code, (r.get_json(silent=True) if r.data else None)
        r.close()  # as a server does once the answer is sent (the app acts on it)
        return answer

    page = dashsim.Page(send, dashsim.load_callbacks(send, dashsim.callback_names(app)))
    rng = random.Random(args.seed)
    engine = engine_from_url(url, read_only=True)
    links = dashsim.scenarios(engine, args.visits * args.repeat, rng)
    engine.dispose()
    dashsim.visit(page, "/", rng)
    page.records.clear()
    for i, href in enumerate(links):
        dashsim.visit(page, href, rng, downloads=i < args.downloads)
    print(f"# {len(links)} visits, {len(page.records)} callback requests", file=sys.stderr)
    return page.records


# ---- the same queries, alone -----------------------------------------------------------------

def _queries(engine, label: str, state, f):
    """The query call(s) the callback LABEL makes for STATE, or None when it makes none."""
    from dashboard import queries as q

    name = label.partition("[")[2].rstrip("]")
    if label == "render_view":
        return lambda: q.headline(engine, f)
    if label.startswith("fill_chart"):
        if name == "category":
            return lambda: q.summary_by_category_group(engine, f)
        return lambda: q.summary(engine, name, f)
    if label == "fill_table[satker]":
        return lambda: q.satker_summary(engine, f, basis=state.basis, limit=15)
    if label == "fill_table[packages]":
        return lambda: q.packages_page(engine, f, satker=state.satker, sort=state.sort,
                                       basis=state.basis, offset=(state.page - 1) * 25,
                                       limit=25)
    if label == "fill_table[reasons]":
        return lambda: q.excluded_reasons(engine, f)
    return None


def query_times(engine, records: list) -> dict[str, list[float]]:
    """Seconds of the query functions alone, per callback label, on the callbacks' filters."""
    import time

    from dashboard.pages import ViewState, options

    opts = options(engine)
    out = defaultdict(list)
    for r in records:
        if r.status != 200:
            continue
        state = ViewState.from_url(r.path, r.search)
        call = _queries(engine, r.label, state, state.filters(opts))
        if call is None:
            continue
        start = time.perf_counter()
        try:
            call()
        except Exception as exc:  # the query layer is changing under us: say so, go on
            print(f"# baseline {r.label} failed: {exc}", file=sys.stderr)
            continue
        out[r.label].append(time.perf_counter() - start)
    return out


def summary_times(engine, records: list) -> dict[str, list[float]]:
    """dashboard.queries.total and summary(by) for each grouping, on the visits' filters."""
    import time

    from dashboard import queries as q
    from dashboard.pages import ViewState, options

    opts = options(engine)
    filters = list(dict.fromkeys(ViewState.from_url(r.path, r.search).filters(opts)
                                 for r in records if r.label == "render_view"))
    out = defaultdict(list)
    for f in filters:
        for name, call in [("total", lambda f=f: q.total(engine, f)),
                           *((f"summary({by})", lambda f=f, by=by: q.summary(engine, by, f))
                             for by in GROUPS)]:
            start = time.perf_counter()
            call()
            out[name].append(time.perf_counter() - start)
    return out


def report(records: list, baseline: dict, size: str, db: str) -> None:
    by_label = defaultdict(list)
    skipped = defaultdict(int)
    errors = defaultdict(int)
    for r in records:
        if r.status == 200:
            by_label[r.label].append(r.seconds)
        elif r.status == 204:
            skipped[r.label] += 1
        else:
            errors[r.label] += 1
    rows = []
    for label in sorted(set(by_label) | set(skipped) | set(errors)):
        t = by_label.get(label, [])
        base = baseline.get(label, [])
        target = DOWNLOAD_TARGET_MS if label == "download" else TARGET_MS
        p95 = c.percentile(t, 95)
        verdict = "-" if not t else "met" if p95 * 1000 < target else "MISSED"
        rows.append([size, db, label, len(t), skipped[label], errors[label],
                     c.ms(c.median(t)), c.ms(p95), c.ms(max(t) if t else None),
                     c.ms(c.median(base)) if base else "-",
                     c.ratio(c.median(t), c.median(base)) if base else "-",
                     f"<{target:.0f}", verdict])
    c.table(["size", "db", "callback", "n", "204", "errors", "median ms", "p95 ms", "max ms",
             "query median ms", "callback/query", "target p95 ms", "verdict"], rows,
            f"Callbacks over HTTP ({size}, {db}; 204 = PreventUpdate, not in the figures)")


if __name__ == "__main__":
    sys.exit(main())
