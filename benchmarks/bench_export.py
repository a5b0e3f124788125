"""Time of the Excel exports of everything (no filter).

Two workbooks: the summary workbook, which the dashboard's "Unduh Excel" builds
(dashboard.export.download_workbook: every summary sheet; past 10,000 packages, or as many flagged
ones, the package sheets are left out with a note), and the full export,
dashboard.export.export(engine, Filters(), "xlsx", ...), which adds the flagged packages and
the detail of every package. Beside them, in the same run, the parts are timed alone:
build_report (every summary query of the export) and reading the package detail from
dashboard.queries.packages_detail without writing it. What is left is XlsxWriter writing.

Target: the summary workbook < 5 s. Also printed: the full export's time, file size and that
of its package-detail sheet(s).

    python benchmarks/bench_export.py                      # 10k and 100k, both databases
    python benchmarks/bench_export.py --sizes 1M --db sqlite --repeat 1
"""

import re
import sys
import time
import zipfile
from pathlib import Path

import common as c

TARGET_SECONDS = 5.0
DETAIL_SHEETS = re.compile(r"^(paket|packages)( \(?\d+\)?)?$", re.IGNORECASE)


def main(argv=None) -> int:
    args = c.parser(__doc__.split("\n\n")[0], repeat=3).parse_args(argv)
    c.header("bench_export: Excel of everything (no filter): summary workbook and full export")
    rows = []
    with c.workdir() as folder:
        for size in args.sizes:
            for db in c.dbs(args.db):
                with c.loaded(db, size, folder) as (url, _):
                    rows.append(measure(url, c.size_label(size), db, folder, args.repeat))
    c.table(["size", "db", "n", "summary workbook median s", "p95 s", "target <5 s",
             "full export median s", "p95 s", "build_report s", "packages_detail s",
             "writing s (rest)", "export/queries", "file MB", "detail rows", "detail MB (zip)",
             "detail MB (xml)"], rows,
            "Excel of everything (lang id): the summary workbook and the full export")
    print("\nexport/queries: the export's median over build_report + packages_detail "
          "(the database's share); detail = the package-detail sheet(s) inside the file.")
    return 0


def measure(url: str, size: str, db: str, folder: Path, repeat: int) -> list:
    from dashboard import export, queries
    from dashboard.queries import Filters
    from etl.db import engine_from_url

    engine = engine_from_url(url, read_only=True)
    path = folder / "export.xlsx"
    try:
        summary_runs = [_timed(lambda: export.download_workbook(engine, Filters(), "id"))
                        for _ in range(repeat)]
        print(f"# summary workbook {size} {db}: {c.median(summary_runs):.2f} s",
              file=sys.stderr, flush=True)
        runs = []
        for _ in range(repeat):
            path.unlink(missing_ok=True)
            start = time.perf_counter()
            export.export(engine, Filters(), "xlsx", path, "id", None)
            runs.append(time.perf_counter() - start)
            print(f"# export {size} {db}: {runs[-1]:.2f} s", file=sys.stderr, flush=True)
        report_s = _timed(lambda: export.build_report(engine, Filters(), "id"))
        detail_s = _timed(lambda: sum(1 for _ in queries.packages_detail(engine, Filters())))
    finally:
        engine.dispose()
    med = c.median(runs)
    detail = detail_size(path)
    file_mb = path.stat().st_size / 1e6
    path.unlink()
    summary = c.median(summary_runs)
    return [size, db, len(runs), c.sec(summary), c.sec(c.percentile(summary_runs, 95)),
            "met" if summary < TARGET_SECONDS else "MISSED", c.sec(med),
            c.sec(c.percentile(runs, 95)), c.sec(report_s), c.sec(detail_s),
            c.sec(med - report_s - detail_s), c.ratio(med, report_s + detail_s),
            f"{file_mb:.1f}", f"{detail['rows']:,}", f"{detail['zip'] / 1e6:.1f}",
            f"{detail['xml'] / 1e6:.1f}"]


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def detail_size(path: Path) -> dict:
    """Rows and bytes of the package-detail sheet(s): compressed in the file and as XML."""
    out = {"rows": 0, "zip": 0, "xml": 0}
    with zipfile.ZipFile(path) as z:
        for name in _detail_members(z):
            info = z.getinfo(name)
            out["zip"] += info.compress_size
            out["xml"] += info.file_size
            out["rows"] += _rows(z, name) - 1  # the header row
    return out


def _detail_members(z: zipfile.ZipFile) -> list[str]:
    """Worksheet parts of the sheets named like the package detail (XlsxWriter writes sheet N
    of the workbook as xl/worksheets/sheetN.xml)."""
    names = re.findall(rb'<sheet [^>]*name="([^"]+)"', z.read("xl/workbook.xml"))
    return [f"xl/worksheets/sheet{i}.xml" for i, n in enumerate(names, 1)
            if DETAIL_SHEETS.match(n.decode())]


def _rows(z: zipfile.ZipFile, name: str) -> int:
    count, tail = 0, b""
    with z.open(name) as f:
        while block := f.read(1 << 22):
            data = tail + block
            count += data.count(b"<row ")
            tail = data[-4:]
    return count


if __name__ == "__main__":
    sys.exit(main())
