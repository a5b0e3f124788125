"""The one query layer: every savings figure (dashboard, `hemat summary`, exports, notebooks)
comes from here, aggregated in SQL.

Savings are pagu − nilai kontrak (or HPS − nilai kontrak) over the packages that have both
values ("contracted"); packages flagged implausible are left out unless asked for.
"""

from dataclasses import dataclass, field, replace
from decimal import Decimal

from sqlalchemy import Engine, and_, case, func, literal, select, tuple_, type_coerce

from etl import schema

p = schema.packages
c = schema.savings_cube  # pre-aggregated by the loader: what charts and totals read
pc = schema.province_cube  # the same without regencies: what national views read
r = schema.regions
SEN = Decimal("0.01")
GROUPS = ("year", "province", "regency", "method", "category", "kind", "funding")


@dataclass(frozen=True)
class Filters:
    """What to count. Empty tuples mean everything."""

    years: tuple[int, ...] = ()
    kind: str | None = None  # "tender" / "non-tender"
    provinces: tuple[str, ...] = ()  # Kemendagri codes, "32"
    regencies: tuple[str, ...] = ()  # "32.04"
    methods: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    fundings: tuple[str, ...] = ()
    include_flagged: bool = False

    def with_(self, **changes) -> "Filters":
        return replace(self, **changes)


@dataclass
class SummaryRow:
    group: str
    name: str
    packages: int
    contracted: int
    pagu: Decimal
    hps: Decimal
    kontrak: Decimal
    savings_vs_pagu: Decimal
    savings_vs_hps: Decimal
    hps_contracted: int = 0  # contracted packages that also have an HPS
    excluded: int = 0  # contracted packages left out as implausible
    extra: dict = field(default_factory=dict)

    @property
    def rate_vs_pagu(self) -> float | None:
        return _rate(self.savings_vs_pagu, self.pagu)

    @property
    def rate_vs_hps(self) -> float | None:
        return _rate(self.savings_vs_hps, self.hps)

    def as_json(self) -> dict:
        """The stable interface of `hemat summary --format json`."""
        return {
            "group": self.group, "name": self.name, "packages": self.packages,
            "contracted": self.contracted, "pagu": _money(self.pagu), "hps": _money(self.hps),
            "kontrak": _money(self.kontrak), "savings_vs_pagu": _money(self.savings_vs_pagu),
            "savings_vs_hps": _money(self.savings_vs_hps),
            "rate_vs_pagu": _round(self.rate_vs_pagu), "rate_vs_hps": _round(self.rate_vs_hps),
            **({"buyer": self.extra["klpd"]} if "klpd" in self.extra else {}),
        }


def _rate(part: Decimal, whole: Decimal) -> float | None:
    return float(part / whole) if whole else None


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _money(x: Decimal) -> str:
    return str(Decimal(x).quantize(SEN))


def where(f: Filters, t=p):
    """The SQL condition for F over packages, or over the savings cube (parameterised)."""
    conds = []
    if f.years:
        conds.append(t.c.year.in_(f.years))
    if f.kind:
        conds.append(t.c.kind == f.kind)
    if f.provinces:
        conds.append(t.c.province_code.in_(f.provinces))
    if f.regencies:
        conds.append(t.c.regency_code.in_(f.regencies))
    if f.methods:
        conds.append(t.c.method.in_(f.methods))
    if f.categories:
        conds.append(t.c.category.in_(f.categories))
    if f.fundings:
        conds.append(t.c.funding.in_(f.fundings))
    return and_(literal(True), *conds)


def _measures(f: Filters):
    counted = and_(p.c.pagu.isnot(None), p.c.kontrak.isnot(None))
    contracted = counted if f.include_flagged else and_(counted, p.c.excluded.is_(False))
    with_hps = and_(contracted, p.c.hps.isnot(None))
    zero = literal(0, schema.Money)
    return [
        func.count().label("packages"),
        func.sum(case((contracted, 1), else_=0)).label("contracted"),
        func.coalesce(func.sum(case((contracted, p.c.pagu))), zero).label("pagu"),
        func.coalesce(func.sum(case((with_hps, p.c.hps))), zero).label("hps"),
        func.coalesce(func.sum(case((contracted, p.c.kontrak))), zero).label("kontrak"),
        func.coalesce(func.sum(case((with_hps, p.c.kontrak))), zero).label("kontrak_with_hps"),
        func.sum(case((with_hps, 1), else_=0)).label("hps_contracted"),
        func.sum(case((and_(counted, p.c.excluded.is_(True)), 1), else_=0)).label("excluded"),
    ]


def _cube_measures(f: Filters, cube):
    """_measures over the savings cube: the same figures from pre-aggregated rows."""
    kept = cube.c.excluded.is_(False) if not f.include_flagged else literal(True)
    zero = literal(0, schema.Money)

    def kept_sum(col, else_=None):
        return func.sum(case((kept, col), else_=else_))

    return [
        func.coalesce(func.sum(cube.c.packages), 0).label("packages"),
        kept_sum(cube.c.counted, 0).label("contracted"),
        func.coalesce(kept_sum(cube.c.pagu), zero).label("pagu"),
        func.coalesce(kept_sum(cube.c.hps), zero).label("hps"),
        func.coalesce(kept_sum(cube.c.kontrak), zero).label("kontrak"),
        func.coalesce(kept_sum(cube.c.kontrak_with_hps), zero).label("kontrak_with_hps"),
        kept_sum(cube.c.with_hps, 0).label("hps_contracted"),
        func.sum(case((cube.c.excluded.is_(True), cube.c.counted), else_=0)).label("excluded"),
    ]


def _group_columns(by: str, t=p):
    if by == "year":
        return [t.c.year]
    if by == "province":
        return [t.c.province_code]
    if by == "regency":
        return [t.c.regency_code, t.c.province_code]
    return [getattr(t.c, by)]


def cube_for(f: Filters, *groupings: str):
    """The smallest savings cube that can answer F grouped by GROUPINGS."""
    return c if f.regencies or "regency" in groupings else pc


def _source(f: Filters, from_packages: bool, *groupings: str):
    """(table, measures) to aggregate: a cube, or packages themselves for a recount."""
    if from_packages:
        return p, _measures(f)
    cube = cube_for(f, *groupings)
    return cube, _cube_measures(f, cube)


def summary(engine: Engine, by: str, f: Filters = Filters(), *,
            from_packages: bool = False) -> list[SummaryRow]:
    """One row per group (year, province, regency, method, category, kind or funding).

    Reads the savings cube; from_packages=True recounts from the packages (slow at national
    scale; tests use it to check the cube).
    """
    if by not in GROUPS:
        raise ValueError(f"unknown grouping {by!r}; use one of {', '.join(GROUPS)}")
    t, measures = _source(f, from_packages, by)
    cols = _group_columns(by, t)
    query = select(*cols, *measures).where(where(f, t)).group_by(*cols)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        names = _region_names(conn) if by in ("province", "regency") else {}
    out = [_row(by, row, names) for row in rows]
    return sorted(out, key=lambda s: _sort_key(by, s))


def total(engine: Engine, f: Filters = Filters(), *, from_packages: bool = False) -> SummaryRow:
    """The headline: one row over everything F selects."""
    t, measures = _source(f, from_packages)
    with engine.connect() as conn:
        row = conn.execute(select(*measures).where(where(f, t))).mappings().one()
    return _row("all", {**row, "group": "all"}, {})


def _region_names(conn) -> dict[str, str]:
    return dict(conn.execute(select(r.c.code, r.c.name)).all())


def _row(by: str, row, names: dict) -> SummaryRow:
    group, name = _label(by, row, names)
    zero = Decimal("0.00")
    pagu, hps, kontrak = (row[k] or zero for k in ("pagu", "hps", "kontrak"))
    kontrak_with_hps = row["kontrak_with_hps"] or zero
    return SummaryRow(
        group=group, name=name, packages=int(row["packages"]),
        contracted=int(row["contracted"] or 0), pagu=pagu, hps=hps, kontrak=kontrak,
        savings_vs_pagu=pagu - kontrak, savings_vs_hps=hps - kontrak_with_hps,
        hps_contracted=int(row["hps_contracted"] or 0), excluded=int(row["excluded"] or 0),
    )


UNRESOLVED = "unresolved"


def _label(by: str, row, names: dict) -> tuple[str, str]:
    if by == "all":
        return "all", "Semua paket"
    if by == "year":
        year = row["year"]
        return (str(year), str(year)) if year is not None else (UNRESOLVED, "Tanpa tahun")
    if by == "province":
        code = row["province_code"]
        return (code, names.get(code, code)) if code else (UNRESOLVED, "Wilayah tidak dikenali")
    if by == "regency":
        code, prov = row["regency_code"], row["province_code"]
        if code:
            return code, names.get(code, code)
        if prov:
            return prov, f"{names.get(prov, prov)} (tanpa satu kabupaten/kota)"
        return UNRESOLVED, "Wilayah tidak dikenali"
    value = row[by]
    return (value, value) if value else (UNRESOLVED, "Tidak diketahui")


def _sort_key(by: str, s: SummaryRow):
    if by in ("year", "province", "regency"):
        return (s.group == UNRESOLVED, s.group)
    return (-s.savings_vs_pagu, s.group)


def _coverage_cols():
    contracted = and_(p.c.pagu.isnot(None), p.c.kontrak.isnot(None))
    return [
        func.count().label("paket"),
        func.sum(case((contracted, 1), else_=0)).label("berkontrak"),
        func.sum(case((p.c.excluded.is_(True), 1), else_=0)).label("tidak_wajar"),
        func.sum(case((p.c.regency_code.isnot(None), 1), else_=0)).label("ada_kabkota"),
        func.sum(case((p.c.province_code.isnot(None), 1), else_=0)).label("ada_provinsi"),
    ]


def quality_report(engine: Engine, limit: int = 200) -> dict:
    """Coverage, unresolved regions, flags and rejected rows, as plain rows per section."""
    lo, rj, fl = schema.loads, schema.rejects, schema.package_flags
    with engine.connect() as conn:
        def rows(query):
            return [dict(m) for m in conn.execute(query).mappings().all()]

        return {
            "coverage_year": {"title": "Cakupan per tahun anggaran", "rows": rows(
                select(p.c.year.label("tahun"), p.c.kind.label("jenis"), *_coverage_cols())
                .group_by(p.c.year, p.c.kind).order_by(p.c.year, p.c.kind))},
            "loads": {"title": "Riwayat muat (per berkas)", "rows": rows(
                select(lo.c.id, lo.c.file_name.label("berkas"), lo.c.layout.label("tata_letak"),
                       lo.c.rows_read.label("baris"), lo.c.rows_loaded.label("dimuat"),
                       lo.c.rows_rejected.label("ditolak"), lo.c.packages_new.label("baru"),
                       lo.c.packages_updated.label("diperbarui"),
                       lo.c.finished_at.label("selesai")).order_by(lo.c.id))},
            "unresolved": {"title": "Paket tanpa kabupaten/kota tunggal (teks asli dan alasan)",
                           "rows": rows(
                select(p.c.province_raw.label("provinsi_asli"),
                       p.c.regency_raw.label("kabkota_asli"),
                       p.c.klpd_name.label("instansi"), p.c.region_note.label("alasan"),
                       func.count().label("paket"))
                .where(p.c.regency_code.is_(None))
                .group_by(p.c.province_raw, p.c.regency_raw, p.c.klpd_name, p.c.region_note)
                .order_by(func.count().desc()).limit(limit))},
            "corrected": {"title": "Wilayah yang dikoreksi (kabupaten/kota menentukan provinsi)",
                          "rows": rows(
                select(p.c.province_raw.label("provinsi_asli"),
                       p.c.regency_raw.label("kabkota_asli"), p.c.regency_code.label("kode"),
                       p.c.region_note.label("catatan"), func.count().label("paket"))
                .where(p.c.regency_code.isnot(None), p.c.region_note.isnot(None))
                .group_by(p.c.province_raw, p.c.regency_raw, p.c.regency_code, p.c.region_note)
                .order_by(func.count().desc()).limit(limit))},
            "flags": {"title": "Paket yang ditandai, per alasan", "rows": rows(
                select(fl.c.flag.label("tanda"), fl.c.excludes.label("keluar_dari_total"),
                       func.count().label("paket"))
                .where(~fl.c.flag.startswith("tanpa_"))
                .group_by(fl.c.flag, fl.c.excludes).order_by(fl.c.flag))},
            "excluded": {"title": "Paket yang dikeluarkan dari total (tidak wajar)", "rows": rows(
                select(p.c.kind.label("jenis"), p.c.code.label("kode"),
                       p.c.year.label("tahun"), p.c.name.label("nama_paket"),
                       fl.c.detail.label("alasan"))
                .join(fl, and_(fl.c.kind == p.c.kind, fl.c.code == p.c.code))
                .where(fl.c.excludes.is_(True)).order_by(p.c.kind, p.c.code).limit(limit))},
            "rejects": {"title": "Baris yang ditolak", "rows": rows(
                select(lo.c.file_name.label("berkas"), rj.c.row_number.label("baris"),
                       rj.c.reason.label("alasan"))
                .join(lo, lo.c.id == rj.c.load_id).order_by(rj.c.load_id, rj.c.row_number)
                .limit(limit))},
        }


# Package-level reads for exports and notebooks. They stream: a national database holds
# hundreds of thousands of packages, so rows come from the database in chunks of `chunk`.

DETAIL_CHUNK = 5_000


def region_names(engine: Engine) -> dict[str, str]:
    """Kemendagri code → official name, for provinces ("32") and regencies ("32.04")."""
    with engine.connect() as conn:
        return _region_names(conn)


def summary_cross(engine: Engine, by: str, then: str, f: Filters = Filters()) -> list[SummaryRow]:
    """One row per pair of groups, e.g. method × category.

    The row's group/name are BY's; THEN's code and name are in .extra["then"] and
    .extra["then_name"]. Sorted by BY's name, then by THEN's name.
    """
    if by not in GROUPS or then not in GROUPS or by == then:
        raise ValueError(f"need two different groupings of {', '.join(GROUPS)}")
    cube = cube_for(f, by, then)
    cols = list(dict.fromkeys([*_group_columns(by, cube), *_group_columns(then, cube)]))
    query = select(*cols, *_cube_measures(f, cube)).where(where(f, cube)).group_by(*cols)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        names = _region_names(conn) if {by, then} & {"province", "regency"} else {}
    out = []
    for row in rows:
        s = _row(by, row, names)
        s.extra["then"], s.extra["then_name"] = _label(then, row, names)
        out.append(s)
    return sorted(out, key=lambda s: (s.group == UNRESOLVED, s.name,
                                      s.extra["then"] == UNRESOLVED, s.extra["then_name"]))


def excluded_reasons(engine: Engine, f: Filters = Filters(), *,
                     from_packages: bool = False) -> list[dict]:
    """Why contracted packages were left out of the totals: rows of flag, packages.

    Counts the packages that total(f).excluded counts; a package with two excluding flags is
    counted under each. Read from the flag cube; from_packages recounts (for tests).
    """
    if from_packages:
        fl = schema.package_flags
        counted = and_(p.c.pagu.isnot(None), p.c.kontrak.isnot(None), p.c.excluded.is_(True))
        flag, count = fl.c.flag, func.count()
        query = (select(flag, count.label("packages"))
                 .join(fl, and_(fl.c.kind == p.c.kind, fl.c.code == p.c.code))
                 .where(where(f), counted, fl.c.excludes.is_(True)))
    else:
        fc = schema.flag_cube
        flag, count = fc.c.flag, func.sum(fc.c.packages)
        query = select(flag, count.label("packages")).where(where(f, fc))
    query = query.group_by(flag).order_by(count.desc(), flag)
    with engine.connect() as conn:
        return [{"flag": row.flag, "packages": int(row.packages)}
                for row in conn.execute(query).all()]


def _region_columns():
    rp, rk = r.alias("rp"), r.alias("rk")
    cols = [rp.c.name.label("province"), rk.c.name.label("regency")]
    joined = (p.outerjoin(rp, rp.c.code == p.c.province_code)
              .outerjoin(rk, rk.c.code == p.c.regency_code))
    return cols, joined


PACKAGE_COLUMNS = ("kind", "code", "rup_code", "year", "name", "klpd_name", "satker_name",
                   "method", "category", "funding", "status", "province_code", "regency_code",
                   "pagu", "hps", "penawaran", "kontrak", "winner_name", "announced_on",
                   "awarded_on", "excluded", "flags", "region_note")


def package_count(engine: Engine, f: Filters = Filters()) -> int:
    """How many packages F selects (all of them, contracted or not)."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(p).where(where(f))).scalar_one()


def packages_detail(engine: Engine, f: Filters = Filters(), chunk: int = DETAIL_CHUNK):
    """Every package F selects, as dicts, streamed from the database CHUNK rows at a time.

    Each dict has PACKAGE_COLUMNS, the region names (province, regency), and per package
    savings_vs_pagu / savings_vs_hps (Decimal or None), rate_vs_pagu / rate_vs_hps and
    `counted`: whether the package is in total(f). Ordered by year, region, kind, code.
    """
    regions_, joined = _region_columns()
    query = (select(*(p.c[c] for c in PACKAGE_COLUMNS), *regions_).select_from(joined)
             .where(where(f))
             .order_by(p.c.year.nulls_last(), p.c.province_code.nulls_last(),
                       p.c.regency_code.nulls_last(), p.c.kind, p.c.code))
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk).execute(query)
        for part in result.mappings().partitions():
            for row in part:
                yield _with_savings(dict(row), f)


def _with_savings(row: dict, f: Filters) -> dict:
    pagu, hps, kontrak = row["pagu"], row["hps"], row["kontrak"]
    contracted = pagu is not None and kontrak is not None
    vs_pagu = pagu - kontrak if contracted else None
    vs_hps = hps - kontrak if hps is not None and kontrak is not None else None
    row.update(
        savings_vs_pagu=vs_pagu, rate_vs_pagu=_rate(vs_pagu, pagu) if contracted else None,
        savings_vs_hps=vs_hps, rate_vs_hps=_rate(vs_hps, hps) if vs_hps is not None else None,
        counted=contracted and (f.include_flagged or not row["excluded"]),
    )
    return row


def flagged_count(engine: Engine, f: Filters = Filters()) -> int:
    """How many packages F selects carry at least one flag (missing values aside)."""
    query = select(func.count()).select_from(p).where(where(f), _is_flagged())
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def _is_flagged():
    return and_(p.c.flags.isnot(None), p.c.flags != "")


def flagged_packages(engine: Engine, f: Filters = Filters(), chunk: int = DETAIL_CHUNK):
    """The flagged packages F selects, streamed: excluded ones first, then by kind and code.

    Each dict has the package's identity, region names and money columns, `excluded`, and
    `reasons`: a list of dicts flag, excludes, detail from package_flags. Flags about missing
    values (tanpa_*) are coverage, not anomalies, and are left out.
    """
    fl = schema.package_flags
    regions_, joined = _region_columns()
    cols = ("kind", "code", "year", "name", "klpd_name", "satker_name", "method", "category",
            "pagu", "hps", "kontrak", "excluded", "winner_name")
    query = (select(*(p.c[c] for c in cols), *regions_,
                    fl.c.flag, fl.c.excludes, fl.c.detail)
             .select_from(joined.join(fl, and_(fl.c.kind == p.c.kind, fl.c.code == p.c.code)))
             .where(where(f), _is_flagged(), ~fl.c.flag.startswith("tanpa_"))
             .order_by(p.c.excluded.desc(), p.c.kind, p.c.code, fl.c.excludes.desc(), fl.c.flag))
    current = None
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk).execute(query)
        for part in result.mappings().partitions():
            for row in part:
                key = (row["kind"], row["code"])
                if current is None or (current["kind"], current["code"]) != key:
                    if current is not None:
                        yield current
                    current = {k: row[k] for k in (*cols, "province", "regency")}
                    current["reasons"] = []
                current["reasons"].append({"flag": row["flag"], "excludes": bool(row["excludes"]),
                                           "detail": row["detail"]})
    if current is not None:
        yield current


# ---- Dashboard drill-down queries (read side; same measures and filters as summary) ----------

CATEGORY_GROUPS = ("barang", "konstruksi", "konsultansi", "jasa_lainnya")
PACKAGE_SORTS = ("hemat", "pagu", "kontrak", "tahun", "nama")


def category_group(category: str | None) -> str:
    """jenis_pengadaan → barang / konstruksi / konsultansi / jasa_lainnya (UNRESOLVED if unknown).

    Consultancy is checked first: "Jasa Konsultansi Badan Usaha Konstruksi" is consultancy.
    """
    text = (category or "").lower()
    for needle, group in (("konsultansi", "konsultansi"), ("konstruksi", "konstruksi"),
                          ("barang", "barang"), ("jasa lain", "jasa_lainnya")):
        if needle in text:
            return group
    return UNRESOLVED


def summary_by_category_group(engine: Engine, f: Filters = Filters()) -> list[SummaryRow]:
    """summary(by="category") merged into the four category groups, largest savings first.

    The SQL groups by the few raw category values; merging those rows here keeps one
    definition of the grouping (category_group) for charts and for the filter.
    """
    merged: dict[str, SummaryRow] = {}
    for row in summary(engine, "category", f):
        key = category_group(row.name if row.group != UNRESOLVED else None)
        merged[key] = _add_rows(merged.get(key), row, key)
    return sorted(merged.values(), key=lambda s: (s.group == UNRESOLVED, -s.savings_vs_pagu))


def _add_rows(acc: SummaryRow | None, row: SummaryRow, key: str) -> SummaryRow:
    if acc is None:
        return replace(row, group=key, name=key, extra={})
    sums = {k: getattr(acc, k) + getattr(row, k) for k in (
        "packages", "contracted", "pagu", "hps", "kontrak", "savings_vs_pagu", "savings_vs_hps",
        "hps_contracted", "excluded")}
    return replace(acc, **sums)


def headline(engine: Engine, f: Filters = Filters()) -> SummaryRow:
    """total() plus the budget years F spans (extra["year_min"], extra["year_max"])."""
    cube = cube_for(f)
    query = select(*_cube_measures(f, cube), func.min(cube.c.year).label("year_min"),
                   func.max(cube.c.year).label("year_max")).where(where(f, cube))
    with engine.connect() as conn:
        row = conn.execute(query).mappings().one()
    out = _row("all", {**row, "group": "all"}, {})
    out.extra = {"year_min": row["year_min"], "year_max": row["year_max"]}
    return out


def satker_summary(engine: Engine, f: Filters = Filters(), basis: str = "pagu",
                   limit: int | None = 50, *, from_packages: bool = False) -> list[SummaryRow]:
    """Work units (satker) with the largest savings vs BASIS first (LIMIT of them, or all);
    extra holds the buyer's name ("klpd") and the unit's two codes.

    A unit is a KLPD's satker, its group the key work_unit gives. Read from the work-unit
    cube (from_packages recounts, for tests). The ranked units are named in the same
    statement, from one of their packages (two index probes a unit), so that an export of
    thousands of units does not ask once per unit; only units missing a code, one per
    buyer at most, are named one by one. Ties are ordered by the codes' bytes on both
    databases (PostgreSQL's collation could order dotted codes otherwise)."""
    t = p if from_packages else schema.satker_cube
    measures = _measures(f) if from_packages else _cube_measures(f, t)
    unit = (t.c.klpd_code, t.c.satker_code)
    grouped = select(*unit, *measures).where(where(f, t)).group_by(*unit)
    bytewise = engine.dialect.name == "postgresql"
    if limit is not None:  # all units are ordered once, outside
        grouped = grouped.order_by(*_unit_order(grouped.selected_columns, basis, bytewise))
    u = grouped.limit(limit).subquery("u").c
    named = select(*u, *(_first_of_unit(u.klpd_code, u.satker_code, col).label(col.name)
                         for col in (p.c.satker_name, p.c.klpd_name)))
    with engine.connect() as conn:
        rows = conn.execute(named.order_by(*_unit_order(u, basis, bytewise))).mappings().all()
        partial = _satker_names(conn, [(r["klpd_code"], r["satker_code"]) for r in rows
                                       if r["klpd_code"] is None or r["satker_code"] is None])
    out = []
    for row in rows:
        klpd, code = row["klpd_code"], row["satker_code"]
        s = _row("satker", {**row, "satker": work_unit(klpd, code)}, {})
        s.name, buyer = partial.get((klpd, code), (row["satker_name"], row["klpd_name"]))
        s.name = s.name or code  # None without a code: the table says unknown
        s.extra = {"klpd": buyer, "klpd_code": klpd, "satker_code": code}
        out.append(s)
    return out


def _unit_order(c, basis: str, bytewise: bool) -> list:
    """Largest savings vs BASIS first, then by unit; units without a counted package (on
    HPS: none with one) last, as they have no savings to rank. C: the ranked units'
    columns."""
    base = c.hps - c.kontrak_with_hps if basis == "hps" else c.pagu - c.kontrak
    counted = c.hps_contracted if basis == "hps" else c.contracted
    codes = [col.collate("C") if bytewise else col for col in (c.klpd_code, c.satker_code)]
    return [case((counted > 0, 0), else_=1), base.desc(), *(col.nulls_last() for col in codes)]


def _first_of_unit(klpd, code, col):
    """COL of the first package (in the unit index's order) of the unit with both codes
    KLPD and CODE (columns or values); NULL where either is missing. The work-unit table and
    a unit's package list name it with this same statement."""
    return (select(col).where(p.c.klpd_code == klpd, p.c.satker_code == code)
            .limit(1).scalar_subquery())


def work_unit(klpd_code: str | None, satker_code: str | None) -> str:
    """The key of a work unit in links: "D107:1.03.2.15.1.04.03.0000", the first colon
    between the codes; in the KLPD code a colon is written %3A and a % as %25 (codes seen so
    far hold neither). A missing code is left empty: "D107:" is a buyer's packages without a
    satker code, so that the table's unknown units lead to their packages too."""
    klpd = (klpd_code or "").replace("%", "%25").replace(":", "%3A")
    return f"{klpd}:{satker_code or ''}"


def _parse_unit(key: str) -> tuple[str | None, str | None] | None:
    """work_unit's (klpd_code, satker_code) again, the KLPD code unescaped; None for a key
    without a colon (a link of hemat versions that keyed units by satker code alone)."""
    klpd, colon, code = key.partition(":")
    klpd = klpd.replace("%3A", ":").replace("%25", "%")
    return (klpd or None, code or None) if colon else None


def _unit_match(klpd: str | None, code: str | None) -> list:
    """The conditions for the packages of the work unit (KLPD, CODE); None is a missing code,
    as the cube's GROUP BY has it."""
    return [p.c.klpd_code == klpd if klpd else p.c.klpd_code.is_(None),
            p.c.satker_code == code if code else p.c.satker_code.is_(None)]


def _unit_condition(key: str):
    """The packages of the work unit KEY; an older link's code in every KLPD that has it."""
    unit = _parse_unit(key)
    return p.c.satker_code == key if unit is None else and_(*_unit_match(*unit))


def _satker_names(conn, units: list) -> dict:
    """(klpd_code, satker_code) → (satker name, buyer name) for a few units, each named from
    one of its packages. Packages without a satker code are one unit per buyer that only the
    buyer names; without either code, nothing does."""
    names = {}
    for klpd, code in units:
        if klpd is None and code is None:
            continue
        if klpd is not None and code is not None:  # as satker_summary names it
            query = select(*(_first_of_unit(literal(klpd), literal(code), col)
                             for col in (p.c.satker_name, p.c.klpd_name)))
        else:
            name = p.c.satker_name if code is not None else literal(None)
            query = select(name, p.c.klpd_name).where(*_unit_match(klpd, code)).limit(1)
        names[klpd, code] = conn.execute(query).one_or_none()
    return {unit: tuple(row) for unit, row in names.items() if row is not None}


def unit_names(engine: Engine, key: str) -> tuple[str | None, str | None]:
    """(satker name, buyer name) of the work unit KEY as the work-unit table names it; an
    older link's code names no single buyer."""
    unit = _parse_unit(key)
    with engine.connect() as conn:
        if unit is None:
            name = conn.execute(select(p.c.satker_name).where(_unit_condition(key))
                                .limit(1)).scalar()
            return name, None
        return _satker_names(conn, [unit]).get(unit, (None, None))


def _savings_expr(base):
    return type_coerce(base - p.c.kontrak, schema.Money)


def packages_page(engine: Engine, f: Filters = Filters(), *, satker: str | None = None,
                  sort: str = "hemat", basis: str = "pagu", offset: int = 0,
                  limit: int = 25) -> tuple[list[dict], int]:
    """One page of packages (every package F selects, flagged ones too, or those of the work
    unit SATKER, a work_unit key) and how many there are.

    Without a work unit the count comes from the savings cube, so a page over a whole
    national year does not count a quarter of a million rows; the page itself is a top-N
    sort that the database does without sorting every row.
    """
    savings = _savings_expr(p.c.hps if basis == "hps" else p.c.pagu)
    # Within a year, the newest first means the largest savings first.
    order = {"hemat": [savings.desc()], "pagu": [p.c.pagu.desc()],
             "kontrak": [p.c.kontrak.desc()], "tahun": [p.c.year.desc(), savings.desc()],
             "nama": [p.c.name.asc()]}[sort if sort in PACKAGE_SORTS else "hemat"]
    cond = where(f) if satker is None else and_(where(f), _unit_condition(satker))
    ordering = (*(o.nulls_last() for o in order), p.c.kind, p.c.code)
    # The page's keys first (from an index where one covers the filter), then its rows.
    page = select(p.c.kind, p.c.code).where(cond).order_by(*ordering).offset(offset).limit(limit)
    query = (select(p.c.kind, p.c.code, p.c.name, p.c.year, p.c.pagu, p.c.hps, p.c.kontrak,
                    savings.label("savings"), p.c.excluded, p.c.flags)
             .where(tuple_(p.c.kind, p.c.code).in_(page)).order_by(*ordering))
    with engine.connect() as conn:
        rows = [dict(m) for m in conn.execute(query).mappings().all()]
        if satker is None:
            cube = cube_for(f)
            count = conn.execute(select(func.coalesce(func.sum(cube.c.packages), 0))
                                 .where(where(f, cube))).scalar()
        else:
            count = conn.execute(select(func.count()).select_from(p).where(cond)).scalar()
    return rows, int(count)


def filter_options(engine: Engine) -> dict:
    """The values the filters offer: years, methods, categories, fundings (sorted).

    Read from the savings cube, which holds every combination of them in few rows.
    """
    with engine.connect() as conn:
        def distinct(col):
            rows = conn.execute(select(col).where(col.isnot(None)).distinct()).scalars()
            return sorted(rows)

        return {"years": distinct(pc.c.year), "methods": distinct(pc.c.method),
                "categories": distinct(pc.c.category), "fundings": distinct(pc.c.funding)}


def data_version(engine: Engine):
    """Changes whenever a load finishes: the key for caching filter_options."""
    lo = schema.loads
    with engine.connect() as conn:
        return conn.execute(select(func.max(lo.c.id), func.max(lo.c.finished_at))).one()
