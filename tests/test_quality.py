"""Plausibility flags, thresholds, the quality report, and re-resolving with users' aliases."""

import copy
import itertools
import json
import re

import pytest
from sqlalchemy import select

from dashboard.queries import Filters, quality_report, total
from etl import db, schema
from etl.load import load_paths, refresh, store_aliases
from etl.quality import Thresholds, details_in_english, stored_rules
from hemat.cli import main as hemat
from tests.builders import RESULTS, write_csv, write_json
from tests.test_load import wipe


def flags_of(engine, tmp_path, pagu, hps, kontrak):
    """Load one tender with these values; its flags as {flag: (excludes, detail)}."""
    row = dict(RESULTS[0], pagu=pagu, hps=hps, nilai_kontrak=kontrak)
    [r] = load_paths(engine, [write_csv(tmp_path / "one.csv", [row])])
    assert r.error is None, r.error
    f = schema.package_flags
    with engine.connect() as conn:
        rows = conn.execute(select(f.c.flag, f.c.excludes, f.c.detail)).all()
    return {flag: (excludes, detail) for flag, excludes, detail in rows}


def test_plausible_package_has_no_flags(engine, tmp_path):
    assert flags_of(engine, tmp_path, 1000, 990, 950) == {}
    assert total(engine).contracted == 1


def test_contract_ten_times_hps_is_excluded_with_a_reason(engine, tmp_path):
    flags = flags_of(engine, tmp_path, 130_000_000, 128_488_000, 1_277_304_500)
    assert flags == {"kontrak_sangat_tinggi": (True, "Nilai kontrak 9,9× HPS: hampir pasti "
                                                     "salah ketik")}


def test_contract_thousand_times_pagu_is_excluded(engine, tmp_path):
    flags = flags_of(engine, tmp_path, 1_000_000, None, 1_000_000_000)
    assert flags == {"kontrak_sangat_tinggi": (True, "Nilai kontrak 1000,0× pagu: hampir pasti "
                                                     "salah ketik")}


def test_contract_far_below_hps_is_excluded(engine, tmp_path):
    flags = flags_of(engine, tmp_path, 1_000_000, 1_000_000, 50_000)
    assert flags["kontrak_sangat_rendah"] == (True, "Nilai kontrak hanya 5,0% dari HPS: "
                                                    "kemungkinan digit hilang")


def test_contract_above_hps_is_flagged_but_kept(engine, tmp_path):
    flags = flags_of(engine, tmp_path, 1000, 1000, 1050)
    assert flags == {"kontrak_di_atas_hps": (False, "Nilai kontrak di atas HPS (105,0% dari HPS)")}
    assert total(engine).contracted == 1


def test_unusual_savings_are_flagged_but_kept(engine, tmp_path):
    flags = flags_of(engine, tmp_path, 1000, 800, 600)
    assert flags == {
        "hemat_tinggi_vs_hps": (False, "Penghematan 25,0% terhadap HPS (>= 20%): tidak biasa"),
        "hemat_tinggi_vs_pagu": (False, "Penghematan 40,0% terhadap pagu (>= 30%): tidak biasa"),
    }


def test_a_few_packages_added_to_many_get_their_flags(engine, tmp_path):
    """A load of fewer packages than load.BULK_SHARE of those stored lists the flags of its
    own packages (found by their keys) and keeps the other packages' flags."""
    def tender(code, hps, kontrak):
        return dict(RESULTS[0], kd_tender=code, pagu=1000, hps=hps, nilai_kontrak=kontrak)

    many = [tender(900_000 + i, 1000, 1050 if i == 0 else 950) for i in range(12)]
    few = [tender(800_001, 1000, 40), tender(800_002, 990, 950)]
    for name, rows in (("many.csv", many), ("few.csv", few)):
        [r] = load_paths(engine, [write_csv(tmp_path / name, rows)])
        assert r.error is None, r.error
    f, p = schema.package_flags, schema.packages
    with engine.connect() as conn:
        listed = {(code, flag) for code, flag in conn.execute(select(f.c.code, f.c.flag))}
        named = {(code, flag) for code, flags in conn.execute(select(p.c.code, p.c.flags))
                 for flag in (flags or "").split(",") if flag}
    assert listed == named
    assert {code for code, _ in listed} == {"800001", "900000"}
    assert ("800001", "kontrak_sangat_rendah") in listed
    assert ("900000", "kontrak_di_atas_hps") in listed


def test_non_positive_and_lost_precision_are_excluded(engine, tmp_path):
    assert flags_of(engine, tmp_path, 0, 990, 950)["nilai_tidak_positif"][0] is True
    wipe(engine)
    flags = flags_of(engine, tmp_path, 1000, 990, "1,08024E+11")
    assert flags["presisi_hilang"] == (True, "Angka dirusak Excel (nilai_kontrak): digit hilang, "
                                             "nilai tidak pasti")
    assert total(engine).contracted == 0


def test_listed_flags_are_those_each_package_names(engine, tmp_path):
    """package_flags lists a package's flags from the rows whose flags column names one: the
    two must say the same of every package, whichever rules hold."""
    values = [(1000, 990, 950), (1000, 800, 600), (1000, 1000, 1050), (0, 990, 950),
              (1_000_000, 1_000_000, 50_000), (130, 128, 1277), (1000, None, 100),
              (1000, 990, None), (1000, 990, "1,08024E+11")]
    rows = [dict(RESULTS[0], kd_tender=str(9000 + i), pagu=pagu, hps=hps, nilai_kontrak=k)
            for i, (pagu, hps, k) in enumerate(values)]
    [r] = load_paths(engine, [write_csv(tmp_path / "many.csv", rows)])
    assert r.error is None, r.error
    every = {"hemat_tinggi_vs_hps", "hemat_tinggi_vs_pagu", "kontrak_di_atas_hps",
             "nilai_tidak_positif", "kontrak_sangat_rendah", "kontrak_sangat_tinggi",
             "presisi_hilang"}
    assert every == {r.flag for r in stored_rules(schema.packages.c)}
    named, listed = _flags_both_ways(engine)
    assert listed == named and set().union(*named.values()) == every
    refresh(engine)  # the same again, every package merged and flagged anew
    assert _flags_both_ways(engine) == (named, listed)


def _flags_both_ways(engine) -> tuple[dict, dict]:
    """Each package's flags as its flags column names them, and as package_flags lists them."""
    p, f = schema.packages, schema.package_flags
    with engine.connect() as conn:
        named = {code: set(flags.split(",")) if flags else set()
                 for code, flags in conn.execute(select(p.c.code, p.c.flags))}
        listed = {code: set() for code in named}
        for code, flag in conn.execute(select(f.c.code, f.c.flag)):
            listed[code].add(flag)
    return named, listed


def test_thresholds_are_settings(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("HEMAT_UNUSUAL_SAVINGS_VS_HPS", "0.5")
    assert Thresholds.from_env().unusual_savings_vs_hps == 0.5
    assert "hemat_tinggi_vs_hps" not in flags_of(engine, tmp_path, 1000, 800, 600)


def test_excluded_packages_leave_totals_and_come_back_on_request(engine, tmp_path):
    rows = copy.deepcopy(RESULTS)
    rows[1]["nilai_kontrak"] = rows[1]["hps"] * 10
    load_paths(engine, [write_json(tmp_path / "r.json", rows)])
    default = total(engine)
    everything = total(engine, Filters(include_flagged=True))
    assert (default.contracted, default.excluded, everything.contracted) == (1, 1, 2)
    assert str(default.kontrak) == "1269963504.15"
    report = quality_report(engine)
    [excluded] = report["excluded"]["rows"]
    assert excluded["kode"] == "10011868000" and "HPS" in excluded["alasan"]


def test_changed_threshold_takes_effect_on_refresh(engine, tmp_path, monkeypatch):
    rows = copy.deepcopy(RESULTS)
    rows[1]["nilai_kontrak"] = rows[1]["hps"] * 1.3
    load_paths(engine, [write_json(tmp_path / "r.json", rows)])
    assert total(engine).contracted == 2
    monkeypatch.setenv("HEMAT_IMPLAUSIBLE_HIGH_RATIO", "1.2")
    refresh(engine)
    assert total(engine).contracted == 1


def test_user_alias_resolves_after_refresh_without_reloading(engine, tmp_path):
    row = dict(RESULTS[0], kabkota="Kab Bdg", provinsi=None, nama_klpd="Pemda Contoh",
               jenis_klpd=None)
    load_paths(engine, [write_json(tmp_path / "r.json", [row])])
    p = schema.packages
    query = select(p.c.province_code, p.c.regency_code, p.c.region_evidence)
    with engine.connect() as conn:
        assert conn.execute(query).one() == (None, None, "none")
    store_aliases(engine, [{"alias": "Kab Bdg", "code": "32.04", "note": "singkatan"}])
    refresh(engine)
    with engine.connect() as conn:
        assert conn.execute(query).one() == ("32", "32.04", "columns")
        loads = conn.execute(select(schema.loads.c.id)).all()
    assert len(loads) == 1


def test_refresh_with_aliases_that_fails_keeps_the_old_aliases(engine, tmp_path, monkeypatch):
    row = dict(RESULTS[0], kabkota="Kab Bdg", provinsi=None, nama_klpd="Pemda Contoh",
               jenis_klpd=None)
    load_paths(engine, [write_json(tmp_path / "r.json", [row])])
    old = [{"alias": "Kab Bdg", "code": "32.17", "note": "lama"}]
    store_aliases(engine, old)
    refresh(engine)
    p, a = schema.packages, schema.region_aliases
    query = select(p.c.regency_code)
    new = [{"alias": "Kab Bdg", "code": "32.04", "note": " baru "}]

    def broken(*args):
        raise RuntimeError("disk penuh")

    monkeypatch.setattr("etl.load._swap_in", broken)
    with pytest.raises(RuntimeError, match="disk penuh"):
        refresh(engine, new)
    with engine.connect() as conn:
        assert conn.execute(query).scalar_one() == "32.17"
        assert conn.execute(select(a.c.code, a.c.note)).all() == [("32.17", "lama")]
    monkeypatch.undo()
    assert refresh(engine, new) == 1
    with engine.connect() as conn:
        assert conn.execute(query).scalar_one() == "32.04"
        assert conn.execute(select(a.c.code, a.c.note)).all() == [("32.04", "baru")]


def test_unknown_alias_code_is_refused(engine):
    with pytest.raises(ValueError, match="99.99"):
        store_aliases(engine, [{"alias": "Entah", "code": "99.99"}])


def test_cli_refresh_and_quality(db_url, tmp_path, capsys):
    hemat(["load", str(write_json(tmp_path / "r.json", RESULTS)), "--db", db_url])
    aliases = tmp_path / "alias.csv"
    aliases.write_text("alias,code,note\nKab Bdg,32.04,singkatan\n", encoding="utf-8")
    assert hemat(["refresh", "--aliases", str(aliases), "--db", db_url]) == 0
    capsys.readouterr()
    assert hemat(["quality", "--format", "json", "--db", db_url]) == 0
    report = json.loads(capsys.readouterr().out)
    [corrected] = report["corrected"]["rows"]
    assert corrected["kode"] == "65.03" and "Kalimantan Utara" in corrected["catatan"]
    assert [r["tahun"] for r in report["coverage_year"]["rows"]] == [2018, 2025]
    bad = tmp_path / "rusak.csv"
    bad.write_text("nama,kode\nx,1\n", encoding="utf-8")
    assert hemat(["refresh", "--aliases", str(bad), "--db", db_url]) == 2
    assert "alias,code" in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [
    ("alias,code,note\nKab Bdg\n", "alias pengguna:2: alias 'Kab Bdg' tanpa kode wilayah"),
    ("alias,code,note\nKab Bdg, ,x\n", "alias pengguna:2: alias 'Kab Bdg' tanpa kode wilayah"),
    ("alias,code\nKab Bdg,32.04\n Kab Bdg ,32.17\n",
     "alias pengguna:3: alias 'Kab Bdg' disebut dua kali"),
    ("alias,code\nKab Bdg,32.04\nEntah,99.99\n", "alias pengguna:3: kode wilayah '99.99'"),
])
def test_cli_refresh_refuses_bad_aliases_and_changes_nothing(db_url, tmp_path, capsys, text,
                                                             message):
    hemat(["load", str(write_json(tmp_path / "r.json", RESULTS)), "--db", db_url])
    good = tmp_path / "alias.csv"
    good.write_text("alias,code,note\nKab Bdg,32.17,lama\n", encoding="utf-8")
    assert hemat(["refresh", "--aliases", str(good), "--db", db_url]) == 0
    bad = tmp_path / "rusak.csv"
    bad.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert hemat(["refresh", "--aliases", str(bad), "--db", db_url]) == 2
    assert message in capsys.readouterr().err
    engine = db.engine_from_url(db_url)
    with engine.connect() as conn:
        a = schema.region_aliases
        assert conn.execute(select(a.c.alias, a.c.code, a.c.note)).all() == [
            ("Kab Bdg", "32.17", "lama")]
    engine.dispose()


def test_cli_refresh_that_fails_keeps_the_old_aliases(db_url, tmp_path, monkeypatch):
    hemat(["load", str(write_json(tmp_path / "r.json", RESULTS)), "--db", db_url])
    old, new = tmp_path / "lama.csv", tmp_path / "baru.csv"
    old.write_text("alias,code,note\nKab Bdg,32.17,lama\n", encoding="utf-8")
    new.write_text("alias,code,note\nKab Bdg,32.04,baru\n", encoding="utf-8")
    assert hemat(["refresh", "--aliases", str(old), "--db", db_url]) == 0

    def broken(*args):
        raise RuntimeError("disk penuh")

    monkeypatch.setattr("etl.load._swap_in", broken)
    with pytest.raises(RuntimeError, match="disk penuh"):
        hemat(["refresh", "--aliases", str(new), "--db", db_url])
    engine = db.engine_from_url(db_url)
    with engine.connect() as conn:
        a = schema.region_aliases
        assert conn.execute(select(a.c.code, a.c.note)).all() == [("32.17", "lama")]
    engine.dispose()


def test_every_flag_detail_reads_in_english(engine, tmp_path):
    # Each rule's detail as the database writes it (numbers formatted in SQL, on both
    # databases), and its English form for exports in English.
    english = {}
    for values in [(130_000_000, 128_488_000, 1_277_304_500), (1_000_000, None, 1_000_000_000),
                   (1_000_000, 1_000_000, 50_000), (1000, 1000, 1050), (1000, 800, 600),
                   (0, 1000, 500), (None, None, None), ("1,08024E+11", 10**11, 9 * 10**10)]:
        wipe(engine)
        for flag, (_, detail) in flags_of(engine, tmp_path, *values).items():
            english.setdefault(flag, set()).add(details_in_english(detail))
    assert set(english) == {rule.flag for rule in stored_rules(schema.packages.c)}
    assert english["kontrak_sangat_tinggi"] == {
        "Contract value 9.9× HPS: almost certainly a typo",
        "Contract value 1000.0× pagu: almost certainly a typo"}
    assert english["kontrak_sangat_rendah"] == {
        "Contract value only 5.0% of HPS: digits probably lost"}
    assert english["kontrak_di_atas_hps"] == {"Contract value above HPS (105.0% of HPS)"}
    assert english["hemat_tinggi_vs_hps"] == {"Savings of 25.0% against HPS (>= 20%): unusual"}
    assert english["presisi_hilang"] == {
        "Number damaged by Excel (pagu): digits lost, value uncertain"}
    indonesian = re.compile(r"\b(nilai|dari|terhadap|tidak|hanya|penghematan|belum|angka|atau|"
                            r"ada)\b", re.I)
    assert not [d for ds in english.values() for d in ds if indonesian.search(d)], english
    # Several details of one package, as exports join them (with the missing-value flags that
    # are computed when read); other text stays as it is.
    assert details_in_english("HPS tidak ada; Pagu tidak ada; Belum ada nilai kontrak") == \
        "No HPS; No pagu; No contract value yet"
    assert details_in_english("alasan lain") == "alasan lain"
    assert details_in_english("Angka dirusak Excel (Nilai; HPS): digit hilang, nilai tidak "
                              "pasti; HPS tidak ada") == (
        "Number damaged by Excel (Nilai; HPS): digits lost, value uncertain; No HPS")


def test_zero_negative_and_missing_values_never_fail_a_load(engine, tmp_path):
    # Every combination of a missing, negative, zero and ordinary pagu, HPS and contract value:
    # each package loads, and each flag it gets has a detail (an HPS of zero under a contract
    # once left a detail NULL, and the whole load failed).
    values = (None, -5, 0, 1000, 1200)
    rows = [dict(RESULTS[0], kd_tender=10_000 + i, pagu=pagu, hps=hps, nilai_kontrak=kontrak)
            for i, (pagu, hps, kontrak) in enumerate(itertools.product(values, repeat=3))]
    [r] = load_paths(engine, [write_csv(tmp_path / "tepi.csv", rows)])
    assert (r.error, r.rows_loaded) == (None, 125)
    f = schema.package_flags
    with engine.connect() as conn:
        details = conn.execute(select(f.c.flag, f.c.detail)).all()
    assert {flag for flag, _ in details} >= {"nilai_tidak_positif", "kontrak_di_atas_hps"}
    assert all(detail for _, detail in details)
    assert all(details_in_english(d) != d for _, d in details)


def test_amounts_no_package_has_are_rejects_not_a_failed_load(engine, tmp_path):
    # Rp1.000 triliun or more is a reject. Two such packages in one cube row once failed the
    # whole load on SQLite (integer overflow in sum()); just under it, sums and differences
    # stay within BIGINT on both databases.
    top = 10**15 - 1  # rupiah
    rows = [dict(RESULTS[0], kd_tender=20_000 + i, pagu=top, hps=top, nilai_kontrak=-top)
            for i in range(2)]
    rows += [dict(RESULTS[0], kd_tender=20_002 + i, pagu=5 * 10**16) for i in range(2)]
    [r] = load_paths(engine, [write_csv(tmp_path / "besar.csv", rows)])
    assert (r.error, r.rows_loaded, r.rows_rejected) == (None, 2, 2)
    with engine.connect() as conn:
        reasons = conn.execute(select(schema.rejects.c.reason)).scalars().all()
        f = schema.package_flags
        flags = conn.execute(select(f.c.code, f.c.flag)).all()
    assert all("kolom pagu" in x and "Rp1.000 triliun" in x for x in reasons)
    assert sorted(flags) == [("20000", "nilai_tidak_positif"), ("20001", "nilai_tidak_positif")]
    assert total(engine, Filters(include_flagged=True)).pagu == 2 * top
