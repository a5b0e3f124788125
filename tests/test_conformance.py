"""The figures of ../shared/real-samples/README.md, reproduced from the real LKPP exports.

The samples are not part of hemat; CI always has them (a missing folder fails there).
"""

from collections import Counter

import pytest
from sqlalchemy import select

from dashboard.queries import Filters, summary
from etl import schema
from etl.load import load_paths
from tests.conftest import REAL_SAMPLES, need
from tests.test_load import assert_cube_matches_packages

K = REAL_SAMPLES / "inaproc-kemnaker-2023"
B = REAL_SAMPLES / "isb-kab-bandung-2025"
OT = REAL_SAMPLES / "opentender-scrape-2018"


@pytest.fixture(autouse=True)
def _samples():
    need(REAL_SAMPLES.is_dir(), f"real samples at {REAL_SAMPLES}")


def year_row(engine, kind, year):
    rows = [r.as_json() for r in summary(engine, "year", Filters(kind=kind))]
    return next(r for r in rows if r["group"] == str(year))


def expect(row, **want):
    assert {k: row[k] for k in want} == {k: v for k, v in want.items()}


def loaded_ok(results):
    assert [r.error for r in results] == [None] * len(results)
    return results


def test_kemnaker_results_alone(engine):
    loaded_ok(load_paths(engine, [K / "tender-selesai-nilai_2023.xlsx"]))
    row = year_row(engine, "tender", 2023)
    expect(row, packages=145, contracted=143, pagu="468189583000.00", hps="450425497467.41",
           kontrak="415855955724.19", savings_vs_pagu="52333627275.81",
           savings_vs_hps="34569541743.22", rate_vs_pagu=0.1118, rate_vs_hps=0.0767)
    regencies = summary(engine, "regency")
    assert sum(r.packages for r in regencies if len(r.group) == 5) == 145
    assert len({r.group for r in summary(engine, "province")}) == 30
    codes = {r.group for r in regencies}
    assert {"73.10", "31.75", "13.73", "72.12"} <= codes


def test_kemnaker_all_files_any_order_twice(engine):
    files = [K / "non-tender-selesai_2023.xlsx", K / "tender-ekontrak-kontrak_2023.xlsx",
             K / "pengumuman_2023.xlsx", K / "tender-selesai-nilai_2023.xlsx"]
    loaded_ok(load_paths(engine, files))
    second = loaded_ok(load_paths(engine, files))
    assert [r.packages_new + r.packages_updated for r in second] == [0, 0, 0, 0]
    expect(year_row(engine, "tender", 2023), packages=184, contracted=143,
           pagu="468189583000.00", hps="450425497467.41", kontrak="415855955724.19")
    expect(year_row(engine, "non-tender", 2023), packages=58, contracted=56,
           pagu="4035415000.00", kontrak="3997165057.47")
    p, s = schema.packages, schema.package_sources
    with engine.connect() as conn:
        with_method = conn.execute(select(p.c.code).join(s, (s.c.kind == p.c.kind) & (
            s.c.code == p.c.code) & (s.c.dataset == "result")).where(
            p.c.kind == "tender", p.c.method.isnot(None), p.c.category.isnot(None))).all()
        multi = conn.execute(select(p.c.province_code, p.c.regency_code).where(
            p.c.kind == "non-tender", p.c.regency_raw.contains(","))).all()
    assert len(with_method) == 124  # results that find their announcement
    assert_cube_matches_packages(engine)
    assert multi == [("32", None)] * 6


def test_bandung_json_then_csv_and_announcements(engine):
    loaded_ok(load_paths(engine, [B / "SPSE-TenderSelesaiNilai.json"]))
    expect(year_row(engine, "tender", 2025), packages=77, contracted=68,
           pagu="135252658536.00", hps="127817505347.88", kontrak="119985991252.55",
           rate_vs_pagu=0.1129)
    loaded_ok(load_paths(engine, [B / "tender-selesai-nilai.csv"]))
    expect(year_row(engine, "tender", 2025), packages=78, contracted=70,
           pagu="136471487336.00", kontrak="121072745492.55")
    loaded_ok(load_paths(engine, [B / "SPSE-TenderPengumuman.json"]))
    expect(year_row(engine, "tender", 2025), packages=93, contracted=70,
           pagu="136471487336.00", kontrak="121072745492.55")
    p = schema.packages
    with engine.connect() as conn:
        methods = Counter(conn.execute(select(p.c.method).where(p.c.kind == "tender"))
                          .scalars())
        joined = conn.execute(select(p.c.code).where(
            p.c.kind == "tender", p.c.kontrak.isnot(None), p.c.method.is_(None))).all()
    assert methods == {"Tender": 56, "Seleksi": 36, None: 1}
    assert_cube_matches_packages(engine)
    assert joined == []


def test_bandung_non_tender_typo_is_flagged_and_left_out(engine):
    loaded_ok(load_paths(engine, [B / "SPSE-TenderSelesaiNilai.json",
                                  B / "SPSE-NonTenderSelesai.json"]))
    expect(year_row(engine, "non-tender", 2025), packages=1868, contracted=1027,
           pagu="103580766787.00", hps="100768226178.72", kontrak="100224117257.24")
    f = schema.package_flags
    with engine.connect() as conn:
        excluded = conn.execute(select(f.c.code, f.c.flag, f.c.detail).where(
            f.c.excludes.is_(True))).all()
    assert [(c, fl) for c, fl, _ in excluded] == [("10080687000", "kontrak_sangat_tinggi")]
    assert "HPS" in excluded[0][2]
    assert {r.group for r in summary(engine, "regency")} == {"32.04"}
    with_flagged = [r.as_json() for r in summary(
        engine, "year", Filters(kind="non-tender", include_flagged=True))]
    assert with_flagged[0]["contracted"] == 1028


def test_opentender_scrape_and_kalimantan_utara(engine):
    loaded_ok(load_paths(engine, [OT / "data_tender.csv"]))
    expect(year_row(engine, "tender", 2018), packages=9, contracted=9,
           pagu="242877465000.00", hps="242589386502.69", kontrak="241355324702.54")
    regencies = {r.group for r in summary(engine, "regency")}
    assert {"65.03", "65.02"} <= regencies
    provinces = {r.group: r.packages for r in summary(engine, "province")}
    assert provinces["65"] == 2
