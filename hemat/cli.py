"""The `hemat` command: thin argument parsing over etl (write side) and dashboard (read side).

Messages are in Bahasa Indonesia, the language of hemat's users.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

from etl import db, schema


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="URL",
        help=f"basis data (bawaan: ${db.ENV_VAR}, atau berkas SQLite {db.default_path()})")


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--year", type=int, action="append", default=[],
                        help="tahun anggaran (boleh diulang)")
    parser.add_argument("--kind", choices=["tender", "non-tender"], help="jenis paket")
    parser.add_argument("--province", action="append", default=[],
                        help="kode provinsi Kemendagri, mis. 32 (boleh diulang)")
    parser.add_argument("--regency", action="append", default=[],
                        help="kode kabupaten/kota Kemendagri, mis. 32.04 (boleh diulang)")
    parser.add_argument("--method", action="append", default=[],
                        help="metode pemilihan, mis. 'Tender' (boleh diulang)")
    parser.add_argument("--category", action="append", default=[],
                        help="jenis pengadaan, mis. 'Pekerjaan Konstruksi' (boleh diulang)")
    parser.add_argument("--funding", action="append", default=[],
                        help="sumber dana, mis. APBD (boleh diulang)")
    parser.add_argument("--include-flagged", action="store_true",
                        help="ikutkan paket yang ditandai tidak wajar dalam total")


def _filters(args):
    from dashboard.queries import Filters

    return Filters(years=tuple(args.year), kind=args.kind, provinces=tuple(args.province),
                   regencies=tuple(args.regency), methods=tuple(args.method),
                   categories=tuple(args.category), fundings=tuple(args.funding),
                   include_flagged=args.include_flagged)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hemat", description="Analitik penghematan pengadaan elektronik (LPSE/SPSE).")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("load", help="muat berkas ekspor (XLSX, CSV, JSON) atau folder")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    _add_db(p)

    p = sub.add_parser("summary", help="ringkasan penghematan per tahun, provinsi, kab/kota, "
                                       "satuan kerja, ...")
    p.add_argument("--by", choices=["year", "province", "regency", "method", "category",
                                    "kind", "funding", "satker"], default="year",
                   help="satker: satuan kerja tiap K/L/PD, penghematan terbesar di atas")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    _add_filters(p)
    _add_db(p)

    p = sub.add_parser("quality", help="laporan mutu data: cakupan, wilayah, tanda, penolakan")
    p.add_argument("--format", choices=["table", "json"], default="table")
    _add_db(p)

    p = sub.add_parser("refresh", help="tentukan ulang wilayah dan tanda semua paket")
    p.add_argument("--aliases", type=Path, metavar="CSV",
                   help="CSV alias wilayah Anda sendiri (kolom alias,code,note)")
    _add_db(p)

    p = sub.add_parser("export", help="ekspor ringkasan ke Excel, CSV atau JSON")
    p.add_argument("--format", choices=["xlsx", "csv", "json"], default="xlsx")
    p.add_argument("--output", type=Path, metavar="PATH",
                   help="berkas (xlsx) atau folder (csv/json); bawaan: nama sesuai isinya")
    p.add_argument("--lang", choices=["id", "en"], default="id", help="bahasa judul kolom")
    _add_filters(p)
    _add_db(p)

    p = sub.add_parser("serve", help="jalankan dasbor di peramban")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050)
    _add_db(p)

    p = sub.add_parser("demo", help="muat data demo ke basis data bawaan lalu jalankan dasbor")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050)
    p.add_argument("--no-serve", action="store_true", help="hanya muat data demo")
    _add_db(p)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    handler = globals()[f"cmd_{args.command}"]
    try:
        return handler(args) or 0
    except KeyboardInterrupt:
        return 130
    except schema.OutdatedSchema as exc:
        print(f"GAGAL: {exc}", file=sys.stderr)
        return 2


def _engine(args, read_only=False):
    return db.engine_from_url(args.db, read_only=read_only)


def _named_engine(args):
    """An engine on the database ARGS name, named on stderr (which database a command
    changed is the first thing to check)."""
    engine = _engine(args)
    print(f"Basis data: {db.describe(engine)}", file=sys.stderr)
    return engine


def _ensure_db(args):
    """An engine on an initialised database (created empty when missing), named on stderr."""
    engine = _named_engine(args)
    schema.create_schema(engine)
    return engine


def cmd_load(args) -> int:
    from etl.load import expand_paths, load_paths

    engine = _named_engine(args)
    files = expand_paths(args.paths)
    if not files:
        print("Tidak ada berkas ekspor di jalur yang diberikan.", file=sys.stderr)
        return 2
    bar = _Progress(files)
    results = load_paths(engine, files, progress=bar.update)
    bar.done()
    _print_load_table(results)
    failed = [r for r in results if r.error]
    for r in failed:
        print(f"GAGAL: {r.error}", file=sys.stderr)
    return 1 if failed else 0


class _Progress:
    """A one-line progress bar on stderr per file (a plain line per file off a terminal)."""

    def __init__(self, files):
        self.files = [Path(f) for f in files]
        self.tty = sys.stderr.isatty()
        self.current = None

    def update(self, path, fraction: float) -> None:
        if path is None:  # every file is written: the packages are merged, flagged, counted
            self.done()
            print("Menggabungkan, menandai dan merangkum paket ...", file=sys.stderr, flush=True)
            self.tty = False
            return
        if path != self.current:
            self.current = path
            n = self.files.index(Path(path)) + 1 if Path(path) in self.files else 0
            self.label = f"[{n}/{len(self.files)}] {Path(path).name}"
            if not self.tty:
                print(f"{self.label} ...", file=sys.stderr, flush=True)
        if self.tty:
            filled = int(fraction * 30)
            print(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}",
                  file=sys.stderr, end="", flush=True)

    def done(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def _print_load_table(results) -> None:
    headers = ["berkas", "tata letak", "baris", "dimuat", "ditolak", "dilewati", "paket baru",
               "diperbarui", "tetap"]
    rows = [[r.path.name, r.layout or "GAGAL", r.rows_read, r.rows_loaded, r.rows_rejected,
             r.rows_skipped, r.packages_new, r.packages_updated, r.packages_unchanged]
            for r in results]
    _print_table(headers, rows)


def _print_table(headers, rows, out=None) -> None:
    out = out or sys.stdout
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    right = [all(_numeric(r[i]) for r in cells) and bool(cells) for i in range(len(headers))]
    for row in [headers, ["-" * w for w in widths], *cells]:
        print("  ".join(c.rjust(w) if rt else c.ljust(w)
                        for c, w, rt in zip(row, widths, right, strict=True)), file=out)


def _numeric(text: str) -> bool:
    return text.replace(".", "").replace(",", "").replace("-", "").replace("%", "").isdigit()


def rupiah(value) -> str:
    """1234567.5 → '1.234.567,50' (Indonesian separators)."""
    text = f"{value:,.2f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def cmd_summary(args) -> int:
    from dashboard.queries import satker_summary, summary

    engine = _ensure_db(args)
    rows = satker_summary(engine, _filters(args), limit=None) if args.by == "satker" \
        else summary(engine, args.by, _filters(args))
    data = [r.as_json() for r in rows]
    if args.format == "json":
        print(json.dumps(data, ensure_ascii=False, indent=2))
    elif args.format == "csv":
        from dashboard.format import csv_text  # names from the data never become formulas

        writer = csv.DictWriter(sys.stdout, fieldnames=list(data[0]) if data else ["group"])
        writer.writeheader()
        texts = ("group", "name", "buyer")  # money is text too: "-1500.00" stays as it is
        writer.writerows({k: csv_text(v) if k in texts and v else v for k, v in row.items()}
                         for row in data)
    else:
        _print_summary_table(rows)
    return 0


def _print_summary_table(rows) -> None:
    if not rows:
        print("Belum ada paket untuk pilihan ini. Muat ekspor dengan: hemat load BERKAS")
        return
    headers = ["kelompok", "nama", "paket", "berkontrak", "pagu", "kontrak", "hemat vs pagu",
               "%", "hemat vs HPS", "%"]
    table = [[r.group, _summary_name(r), r.packages, r.contracted, rupiah(r.pagu),
              rupiah(r.kontrak), rupiah(r.savings_vs_pagu), _pct(r.rate_vs_pagu),
              rupiah(r.savings_vs_hps), _pct(r.rate_vs_hps)] for r in rows]
    _print_table(headers, table)
    print("\nPenghematan = pagu − nilai kontrak (atau HPS − nilai kontrak), hanya paket yang "
          "punya pagu dan nilai kontrak; paket yang ditandai tidak wajar tidak dihitung "
          "(lihat: hemat quality).")


def _summary_name(r) -> str:
    """A work unit with its buyer (satker names repeat across governments), as the
    dashboard's work-unit table names it."""
    from dashboard.i18n import t

    if "klpd" not in r.extra:
        return r.name
    return f"{r.name or t('unknown')} ({r.extra['klpd'] or '–'})"


def _pct(x) -> str:
    return "-" if x is None else f"{x * 100:.2f}%".replace(".", ",")


def cmd_quality(args) -> int:
    from dashboard.queries import quality_report

    report = quality_report(_ensure_db(args))
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        return 0
    for section in report.values():
        print(f"\n== {section['title']}")
        rows = section["rows"]
        if not rows:
            print("(tidak ada)")
            continue
        _print_table(list(rows[0]), [list(r.values()) for r in rows])
    return 0


def cmd_refresh(args) -> int:
    from etl.load import refresh
    from etl.regions import AliasError, read_alias_file

    engine = _named_engine(args)
    try:  # refresh checks the aliases before it touches the database
        n = refresh(engine, read_alias_file(args.aliases) if args.aliases else None)
    except (OSError, AliasError) as exc:
        print(f"GAGAL: {exc}", file=sys.stderr)
        return 2
    print(f"{n} paket ditentukan ulang wilayah dan tandanya.")
    return 0


def cmd_export(args) -> int:
    from dashboard.export import export

    engine = _ensure_db(args)
    bar = _Progress(["ekspor"])
    try:
        paths = export(engine, _filters(args), args.format, args.output, args.lang,
                       lambda fraction: bar.update("ekspor", fraction))
    except OSError as exc:
        bar.done()
        where = args.output or Path.cwd()
        print(f"GAGAL: ekspor tidak dapat ditulis ke {where} ({exc})",
              file=sys.stderr)
        return 1
    bar.done()
    for path in paths:
        print(path)
    return 0


def cmd_serve(args) -> int:
    from dashboard.app import run

    engine = _ensure_db(args)
    engine.dispose()
    run(args.db, args.host, args.port)
    return 0


DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"


def cmd_demo(args) -> int:
    from etl.load import load_paths

    if not DEMO_DIR.is_dir():
        print(f"GAGAL: folder data demo tidak ada: {DEMO_DIR}", file=sys.stderr)
        return 2
    engine = _engine(args)
    print(f"Memuat data demo dari {DEMO_DIR} ke {db.describe(engine)} ...", file=sys.stderr)
    results = load_paths(engine, [DEMO_DIR])
    _print_load_table(results)
    if args.no_serve:
        return 0
    engine.dispose()
    from dashboard.app import run

    run(args.db, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
