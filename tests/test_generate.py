"""The demo-data generator: deterministic, consistent across datasets, dirty where documented."""

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from lokal import wilayah
from python_calamine import CalamineWorkbook

from data.generate import REKAP_TITLE, generate

PACKAGES, SEED = 3000, 2026


def read_rows(path: Path) -> list[dict]:
    """Rows of a generated ISB/INAPROC file as dicts; `null` and empty cells become None."""
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    if path.suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as f:
            return [{k: (None if v in ("", "null") else v) for k, v in row.items()}
                    for row in csv.DictReader(f)]
    book = CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    return [{k: (None if v == "" else v) for k, v in zip(rows[0], row, strict=True)}
            for row in rows[1:]]


def money(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


def code(value) -> int:
    return int(float(value)) if isinstance(value, float) else int(value)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("demo")
    return {p.name: p for p in generate(out, packages=PACKAGES, seed=SEED)}


def dataset(demo: dict[str, Path], *stems: str) -> list[Path]:
    return sorted(p for name, p in demo.items() if any(name.startswith(s) for s in stems))


def rows_of(demo, year: int, *stems: str) -> list[dict]:
    paths = [p for p in dataset(demo, *stems) if str(year) in p.stem]
    assert len(paths) == 1, paths
    return read_rows(paths[0])


def test_every_dataset_year_and_format_is_written(demo):
    suffixes = {p.suffix for p in demo.values()}
    assert suffixes == {".json", ".csv", ".xlsx"}
    for stems in (("SPSE-TenderPengumuman", "pengumuman_"),
                  ("SPSE-TenderSelesaiNilai", "tender-selesai-nilai_"),
                  ("SPSE-TenderEkontrak-Kontrak", "tender-ekontrak-kontrak_"),
                  ("SPSE-NonTenderSelesai", "non-tender-selesai_")):
        paths = dataset(demo, *stems)
        assert len(paths) == 4
        assert {p.suffix for p in paths} == {".json", ".csv", ".xlsx"}
    assert "opentender-2023.csv" in demo and "rekap-analis.xlsx" in demo


def test_same_seed_gives_same_bytes(tmp_path):
    first = generate(tmp_path / "a", packages=800, seed=7)
    second = generate(tmp_path / "b", packages=800, seed=7)
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    seven = generate(tmp_path / "c", packages=800, seed=7, formats=("json",))
    eight = generate(tmp_path / "d", packages=800, seed=8, formats=("json",))
    assert seven[0].read_bytes() != eight[0].read_bytes()


def test_formats_restrict_the_output(tmp_path):
    paths = generate(tmp_path, packages=500, seed=1, formats=("json",))
    assert {p.suffix for p in paths} == {".json"}
    assert len(paths) == 16


def test_all_38_provinces_are_present(demo):
    expected = {p.name for p in wilayah.list_wilayah()}
    for stems in (("SPSE-TenderSelesaiNilai", "tender-selesai-nilai_"),
                  ("SPSE-NonTenderSelesai", "non-tender-selesai_")):
        found = {row["provinsi"] for p in dataset(demo, *stems) for row in read_rows(p)}
        assert expected <= found


def test_regencies_are_spelled_the_inaproc_way(demo):
    found = {row["kabkota"] for p in dataset(demo, "SPSE-NonTenderSelesai", "non-tender-selesai_")
             for row in read_rows(p)}
    assert all(k.endswith(("(Kab.)", "(Kota)")) for k in found)
    assert not any(k.startswith(("Kabupaten ", "Kota ")) for k in found)


def test_a_tender_keeps_its_pagu_hps_and_work_unit_across_datasets(demo):
    matched = 0
    for year in (2022, 2023, 2024, 2025):
        announced = {code(r["kd_tender"]): r
                     for r in rows_of(demo, year, "SPSE-TenderPengumuman", "pengumuman_")}
        results = rows_of(demo, year, "SPSE-TenderSelesaiNilai", "tender-selesai-nilai_")
        contracts = rows_of(demo, year, "SPSE-TenderEkontrak", "tender-ekontrak-kontrak_")
        result_codes = {code(r["kd_tender"]) for r in results}
        assert {code(r["kd_tender"]) for r in contracts} <= result_codes
        assert len(set(announced) - result_codes) > 0  # failed and running tenders
        for row in results:
            other = announced.get(code(row["kd_tender"]))
            if other is not None:
                assert money(row["pagu"]) == money(other["pagu"])
                assert money(row["hps"]) == money(other["hps"])
                # Results name the unit by the code the announcements give as kd_satker_str.
                assert row["kd_satker"] == other["kd_satker_str"]
                matched += 1
    assert matched > 500


def test_values_are_plausible(demo):
    for row in rows_of(demo, 2024, "SPSE-TenderPengumuman", "pengumuman_"):
        assert money(row["hps"]) <= money(row["pagu"])
        assert Decimal(50_000_000) <= money(row["pagu"]) <= Decimal(50_000_000_000)
    for row in rows_of(demo, 2022, "SPSE-NonTenderSelesai", "non-tender-selesai_"):
        assert money(row["hps"]) <= money(row["pagu"])
        if row["nilai_kontrak"] is not None:
            assert money(row["nilai_kontrak"]) <= money(row["hps"])


def test_amendments_stay_within_ten_percent(demo):
    for path in dataset(demo, "SPSE-TenderEkontrak", "tender-ekontrak-kontrak_"):
        first = {}
        for row in read_rows(path):
            if row["versi_addendum"] is not None and code(row["versi_addendum"]) == 0:
                first[code(row["kd_tender"])] = money(row["nilai_kontrak"])
        for row in read_rows(path):
            if row["versi_addendum"] is not None and code(row["versi_addendum"]) > 0:
                assert row["apakah_addendum"] == "Ya"
                assert money(row["nilai_kontrak"]) <= first[code(row["kd_tender"])] * Decimal(
                    "1.1")


def test_no_personal_data_columns(demo):
    personal = {"nip_ppk", "nama_ppk", "nip_pokja", "nama_pokja", "no_rek_bank",
                "nama_rek_bank", "nama_pemilik_rek_bank", "wakil_sah_penyedia"}
    for path in demo.values():
        if path.name.startswith(("opentender", "rekap")):
            continue
        assert not personal & set(read_rows(path)[0])


def test_contract_ten_times_its_hps(demo):
    rows = rows_of(demo, 2023, "SPSE-TenderSelesaiNilai", "tender-selesai-nilai_")
    typos = [r for r in rows if r["nilai_kontrak"] is not None
             and money(r["nilai_kontrak"]) > 5 * money(r["hps"])]
    assert len(typos) == 1


def test_contract_a_thousand_times_its_pagu(demo):
    rows = rows_of(demo, 2025, "SPSE-NonTenderSelesai", "non-tender-selesai_")
    typos = [r for r in rows if r["nilai_kontrak"] is not None
             and money(r["nilai_kontrak"]) > 500 * money(r["pagu"])]
    assert len(typos) == 1


def test_html_in_a_package_name(demo):
    rows = rows_of(demo, 2024, "SPSE-TenderPengumuman", "pengumuman_")
    assert [r for r in rows if r["nama_paket"].startswith("<b>Pembangunan</b> Jalan ")]


def test_rupiah_text_in_the_isb_csv(demo):
    path = demo["SPSE-TenderSelesaiNilai-2024.csv"]
    rows = read_rows(path)
    texts = [r["nilai_kontrak"] for r in rows if (r["nilai_kontrak"] or "").startswith("Rp ")]
    assert len(texts) == 1
    assert f'"{texts[0]}"' in path.read_text(encoding="utf-8")


def test_a_row_duplicated_exactly(demo):
    path = dataset(demo, "SPSE-NonTenderSelesai-2024", "non-tender-selesai_2024")[0]
    rows = read_rows(path)
    assert rows[0] == rows[1]
    assert len({code(r["kd_nontender"]) for r in rows}) == len(rows) - 1


def test_two_regencies_in_one_cell(demo):
    rows = rows_of(demo, 2023, "SPSE-NonTenderSelesai", "non-tender-selesai_")
    cells = [r for r in rows if r["kabkota"] == "Cirebon (Kota),Cirebon (Kab.)"]
    assert len(cells) == 1 and cells[0]["provinsi"] == "Jawa Barat"
    assert cells[0]["kd_klpd"] == "K34"


def test_nunukan_under_its_former_province(demo):
    rows = rows_of(demo, 2022, "SPSE-TenderSelesaiNilai", "tender-selesai-nilai_")
    cells = [r for r in rows if r["kabkota"] == "Nunukan (Kab.)"]
    assert any(r["provinsi"] == "Kalimantan Timur" for r in cells)


def test_opentender_sheet(demo):
    path = demo["opentender-2023.csv"]
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == PACKAGES // 50
    assert rows[0]["Kota/Kabupaten"] == "Nunukan (Kab.)"
    assert rows[0]["Provinsi"] == "Kalimantan Timur"
    assert rows[1]["Nilai_Kontrak"] == "Nilai Kontrak belum dibuat"
    assert rows[2]["Pagu"].startswith("Rp ") and rows[2]["Pagu"][-3] == ","
    assert "\n" in rows[0]["Peserta/Penawar"]
    isb = {code(r["kd_tender"]) for p in dataset(demo, "SPSE-TenderSelesaiNilai",
                                                 "tender-selesai-nilai_") for r in read_rows(p)}
    assert not isb & {int(r["Kode_Lelang"]) for r in rows}


def test_analyst_recap(demo):
    book = CalamineWorkbook.from_path(str(demo["rekap-analis.xlsx"]))
    rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    assert rows[0][0] == REKAP_TITLE
    assert not any(rows[1])
    assert rows[2][:3] == ["Kode Paket", "Jenis", "Nama Paket"]
    assert rows[-1][0] == "TOTAL"
    money_cells = [str(c) for row in rows[3:-1] for c in row[11:14]]
    assert "1,08024E+11" in money_cells
    assert any(c.endswith(" M") for c in money_cells)
    assert any(c.endswith(" Jt") for c in money_cells)
    assert any(c.count(".") >= 2 for c in money_cells)
    assert {row[1] for row in rows[3:-1]} <= {"Tender", "Non Tender"}
    assert 25 <= len(rows) - 4 <= 30


def test_a_larger_run_finishes(tmp_path):
    paths = generate(tmp_path, packages=20_000, seed=3, formats=("json", "csv"))
    rows = read_rows(next(p for p in paths if p.stem == "SPSE-NonTenderSelesai-2024"))
    assert len(rows) > 2000
