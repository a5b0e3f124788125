"""Cleaning of every Rupiah, date and text form listed in DOMAIN.md."""

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from etl.clean import BadValue, clean_code, clean_text, money_series, parse_date, parse_money


@pytest.mark.parametrize("raw, sen, lost", [
    ("Rp 2.711.780.000,00", 271_178_000_000, False),
    ("Rp. 150.000.000.000,00", 15_000_000_000_000, False),
    ("2,711,780,000.00", 271_178_000_000, False),
    ("1.234.567", 123_456_700, False),
    ("1,8 M", 180_000_000_000, False),
    ("273,7 Jt", 27_370_000_000, False),
    ("2 Miliar", 200_000_000_000, False),
    ("1399818654.61", 139_981_865_461, False),
    (1399818654.61, 139_981_865_461, False),
    (5515570835.95, 551_557_083_595, False),
    (1500000000, 150_000_000_000, False),
    ("1,5", 150, False),
    ("1,08024E+11", 10_802_400_000_000, True),
    ("1.08024E+11", 10_802_400_000_000, True),
    ("(1.000,00)", -100_000, False),
])
def test_money_forms(raw, sen, lost):
    assert parse_money(raw) == (sen, lost)


@pytest.mark.parametrize("raw", [None, "", "null", "NULL", "-", "  ", "Nilai Kontrak belum dibuat",
                                 float("nan"), Decimal("NaN")])
def test_money_empty_forms(raw):
    assert parse_money(raw) == (None, False)


@pytest.mark.parametrize("raw, message", [
    (float("inf"), "bukan angka: inf"), (float("-inf"), "bukan angka: -inf"),
    (Decimal("Infinity"), "bukan angka: Infinity"),
    (Decimal("-Infinity"), "bukan angka: -Infinity"),
    (Decimal("1E+400"), "terlalu besar untuk nilai rupiah (Rp1.000 triliun atau lebih): 1E+400"),
    ("1,5E+400", "terlalu besar untuk nilai rupiah (Rp1.000 triliun atau lebih): 1.5E+400"),
])
def test_money_that_is_no_amount_says_why(raw, message):
    with pytest.raises(BadValue) as raised:
        parse_money(raw)
    assert str(raised.value) == message


@pytest.mark.parametrize("raw", ["abc", "12abc", "Rp xx", "1.2.3,4,5x"])
def test_money_garbage_raises(raw):
    with pytest.raises(BadValue):
        parse_money(raw)


def test_money_series_mixes_fast_and_slow_paths():
    s = pd.Series(["1399818654.61", "Rp 1.000,50", None, "garbage", "1,08024E+11", "10018467000"])
    sen, lost, error = money_series(s)
    assert sen.iloc[0] == 139_981_865_461
    assert sen.iloc[1] == 100_050
    assert pd.isna(sen.iloc[2]) and pd.isna(sen.iloc[3])
    assert error.iloc[3] and "garbage" in error.iloc[3]
    assert lost.tolist() == [False, False, False, False, True, False]
    assert sen.iloc[5] == 1_001_846_700_000


def test_money_series_takes_numbers_as_parse_money_does():
    # JSON and XLSX give numbers: a vectorised path for those with whole sen, parse_money
    # for the rest (more decimals, too large for a float's exact cents, not finite).
    floats = [1399818654.61, 1.005, 0.1, -2500.5, 1e13, 9_999_999_999_999.99, 123.456,
              float("nan"), float("inf"), 2.675, 1e-3, 5e15]
    ints = [0, 1, -7, 10018467000, 10**13, 99_999_999_999_999, -(2**63)]
    rng = np.random.default_rng(5)
    floats += list(np.round(rng.uniform(0, 1e12, 2000), 2)) + list(rng.uniform(0, 1e6, 500))
    nullable = [pd.Series(ints + [None], dtype=t) for t in ("Int64", "int64[pyarrow]")]
    nullable += [pd.Series(floats, dtype="Float64")]
    # What XLSX and Python's json give: numbers among empty cells and text. 2.675 is Rp2,675,
    # not the Indonesian thousands "2.675"; too large a number is a bad cell, not a failure.
    mixed = pd.Series(floats[:12] + ints + [10**30, -(10**17), True, None, "Rp 1.000,50", "2.675",
                                            "1e30", "x", 92_233_720_368_547_758, "", " - ", "null",
                                            "92.233.720.368.547.758,075", Decimal("2.675"),
                                            np.float32(2.675), np.int32(7), -(2**63)],
                      dtype=object)
    for cells in (pd.Series(floats, dtype="float64"), pd.Series(ints, dtype="int64"), *nullable,
                  mixed):
        sen, lost, error = money_series(cells)
        for i, cell in enumerate(cells):
            try:
                expected, expected_error = parse_money(cell)[0], None
            except BadValue as exc:
                expected, expected_error = None, str(exc)
            got = None if pd.isna(sen.iloc[i]) else int(sen.iloc[i])
            assert got == expected, cell
            assert (None if pd.isna(error.iloc[i]) else error.iloc[i]) == expected_error, cell
            assert not lost.iloc[i]


def test_money_series_keeps_each_cell_in_its_row():
    # Parts of a column are put together by position: a repeated label must not take another
    # row's value.
    sen, _, error = money_series(pd.Series([1.5, None, 2.675], index=[0, 0, 1], dtype="Float64"))
    assert sen.tolist() == [150, pd.NA, 268] and error.isna().all()


def test_national_sums_stay_exact():
    # 10^15 rupiah with sen: float64 cannot hold this, whole sen in int can.
    sen, _ = parse_money("999.999.999.999.999,99")
    assert sen == 99_999_999_999_999_999


@pytest.mark.parametrize("raw, expected", [
    ("2023-06-27T00:00:00Z", date(2023, 6, 27)),
    ("2024-07-02", date(2024, 7, 2)),
    ("2024-01-23 15:00:00", date(2024, 1, 23)),
    ("2023-06-27T00:00:00.000000Z", date(2023, 6, 27)),
    ("Jul 16, 2025, 12:00:00AM", date(2025, 7, 16)),
    ("27-06-2023", date(2023, 6, 27)),
    ("27/06/2023", date(2023, 6, 27)),
    ("27 Juni 2023", date(2023, 6, 27)),
    ("1 Agustus 2024", date(2024, 8, 1)),
    ("5 Mei 2022", date(2022, 5, 5)),
    ("31-02-2023", None),
    ("bukan tanggal", None),
    ("null", None),
])
def test_date_forms(raw, expected):
    assert parse_date(raw) == expected


def test_text_loses_html_and_extra_space():
    cleaned = clean_text("<b>Pembangunan</b>\n  Jalan &amp; Jembatan ")
    assert cleaned == "Pembangunan Jalan & Jembatan"
    assert clean_text("  ") is None


def test_text_columns_are_cleaned_as_clean_text_cleans_each_cell():
    """The vectorised path gives what clean_text gives, cell by cell: every empty form, any
    case, Unicode spaces, markup, numbers and missing values, at any index."""
    from etl.clean import STR, text_series

    cells = ["Pembangunan Jalan", "  Rehab  Gedung ", "null", "NULL", " None ", "-", "--", "—",
             "N/A", "#n/a", "Tidak Ada", "nan", "NaT", "", "   ", "\u00a0", "\u00a0Paket\u00a0",
             "Belanja <b>ATK</b>", "A &amp; B", "<br>", "x\u2003y", "tab\there", "baris\nbaru",
             "a\u3000b", "\x1cpemisah", "\u0085x", "İstanbul", "ΣΑΣ", "\u200btanpa lebar", 12345,
             12.5, None, np.nan, pd.NA]
    got = text_series(pd.Series(cells, index=range(100, 100 + len(cells)), dtype=object,
                                name="nama_paket"))
    assert got.dtype == STR and got.index.tolist() == list(range(100, 100 + len(cells)))
    assert got.name == "nama_paket"
    assert [None if pd.isna(v) else v for v in got] == [clean_text(c) for c in cells]
    # A no-value form with a run of spaces is empty too once its spaces are made one.
    assert text_series(pd.Series(["tidak  ada", "Tidak\u00a0ada "])).isna().all()


def test_codes_keep_64_bit_ids_exact():
    assert clean_code(10018467000) == "10018467000"
    assert clean_code(4333194.0) == "4333194"
    assert clean_code("4333194.0") == "4333194"
    assert clean_code(" D107 ") == "D107"


def test_numeric_code_columns_become_text_as_clean_code_writes_them():
    """Whole numbers within int64 as digits (-2^63 included), others as Python writes the
    float: never a wrapped int64."""
    from etl.clean import code_series

    values = [4333194.0, np.nan, 10018467000.0, -5.0, -(2.0**63), 1.5, 1e19, np.inf]
    got = code_series(pd.Series(values)).tolist()
    assert pd.isna(got.pop(1))
    assert got[:4] == ["4333194", "10018467000", "-5", "-9223372036854775808"]
    assert got[4:] == ["1.5", "1e+19", "inf"]


def test_cleaning_in_slices_gives_what_one_pass_gives(tmp_path, monkeypatch):
    """Long files are cleaned rows.SLICE_ROWS at a time; where the slices end changes nothing."""
    from etl import rows as rows_module
    from etl.read import read_export

    from .builders import RESULTS, write_csv

    mangled = dict(RESULTS[1], pagu="1,08024E+11")  # Excel's damage: precision lost
    garbage = dict(RESULTS[2], pagu="seribu rupiah")
    twin = dict(RESULTS[0], nilai_kontrak=1111111111)  # one code, two contract values
    blank = {k: None for k in RESULTS[0]}
    path = write_csv(tmp_path / "campur.csv",
                     [RESULTS[0], mangled, blank, garbage, mangled, twin, RESULTS[2]])

    def cleaned(slice_rows):
        monkeypatch.setattr(rows_module, "SLICE_ROWS", slice_rows)
        return rows_module.clean_table(read_export(path))

    whole, sliced = cleaned(1000), cleaned(2)
    pd.testing.assert_frame_equal(sliced.frame, whole.frame)
    assert sliced.rejects == whole.rejects and sliced.skipped == whole.skipped == 2
    assert whole.frame["code"].tolist() == ["10011868000", "2518338"]
    assert whole.frame["precision_lost"].tolist()[0] == "pagu"
    assert whole.frame["pagu"].tolist() == [10_802_400_000_000, 702_854_400_000]
    assert [r["row_number"] for r in whole.rejects] == [5, 2, 7]


def test_json_decoded_in_batches_cleans_as_one_pass(tmp_path, monkeypatch):
    """A JSON array is decoded read.JSON_BATCH objects at a time; an API dump wrapped in an
    object ({"data": [...]}) is decoded whole. Both give the same cleaned rows."""
    import json

    from etl import read
    from etl.rows import clean_table

    from .builders import RESULTS

    rows = [dict(r) for r in RESULTS]
    del rows[2]["nama_penyedia"]  # a key the last batch lacks
    pretty = tmp_path / "pretty.json"
    pretty.write_text("\ufeff " + json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"data": rows}), encoding="utf-8")
    monkeypatch.setattr(read, "JSON_BATCH", 2)
    monkeypatch.setattr(read, "JSON_BLOCK", 100)  # values run across blocks
    batched, whole = (clean_table(read.read_export(p)) for p in (pretty, wrapped))
    values = [c.frame.astype(object).where(c.frame.notna(), None) for c in (batched, whole)]
    pd.testing.assert_frame_equal(*values)  # the same cells, missing or not, in any dtype
    assert batched.frame["code"].tolist() == ["10018467000", "10011868000", "2518338"]
    assert batched.frame["kontrak"].tolist()[:2] == [126_996_350_415, 92_169_294_000]
    assert batched.frame["winner_name"].isna().tolist() == [False, False, True]


def test_json_with_text_after_the_array_is_refused(tmp_path):
    from etl.read import ReadError, read_export

    path = tmp_path / "dua.json"
    path.write_text('[{"kd_tender": 1}] [{"kd_tender": 2}]', encoding="utf-8")
    with pytest.raises(ReadError, match="dua.json: bukan JSON yang valid"):
        read_export(path)


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 23])
def test_json_blocks_cut_anywhere_give_the_values_json_gives(block, monkeypatch):
    """Cuts inside strings holding '},', nested objects and escapes never lose or alter a value."""
    import io
    import json

    from etl import read

    values = [{"kd_tender": i, "lokasi": {"kab": "Banjar", "titik": [1, {"x": "}, {"}]},
               "nama": f'Paket "}},{i}" \\ ü', "pagu": i * 1.5} for i in range(40)]
    values[7] = {"kd_tender": 7}
    text = json.dumps(values, ensure_ascii=False, indent=1 if block == 64 else None)
    monkeypatch.setattr(read, "JSON_BLOCK", block)
    f = io.StringIO(text)
    head = f.read(block)
    got = list(read._json_array(f, head, head.index("[") + 1))
    assert got == values


def _json_cases():
    import json

    from .builders import RESULTS

    plain = [dict(r) for r in RESULTS]
    # The longer cases need several blocks: the first read takes 4,096 bytes.
    dated = [dict(r, tgl_kontrak=None) for r in RESULTS * 3] + \
        [dict(r, tgl_kontrak="2025-03-04 10:00:00") for r in RESULTS]  # text, not a timestamp
    braces = [dict(r, nama_paket=f"Paket {i}}}, {{ lanjutan") for i, r in enumerate(RESULTS)]
    mixed = [dict(r, pagu=1500000000) for r in RESULTS * 3] + \
        [dict(r, pagu=p) for r, p in zip(RESULTS, [1500000000, "Rp 1.500.000", None],
                                         strict=True)]
    nested = [dict(r, lokasi={"kab": "Banjar", "titik": [1, 2]}) for r in RESULTS]
    # Later blocks are parsed with the types of the blocks before: whole numbers meet a
    # fraction, and a column empty so far gets values.
    many = [dict(r) for r in RESULTS * 4]
    fraction = [dict(r, pagu=1500000000 + i) for i, r in enumerate(many)]
    fraction[-1]["pagu"] = 1234567890.25
    filled = [dict(r, hps=None, kd_rup=None) for r in many]
    filled[-1].update(hps=950000000.5, kd_rup="RUP-9")
    numbered = [dict(r, kd_rup_paket="RUP-1") for r in many]
    numbered[-1]["kd_rup_paket"] = 1234  # a number where the blocks before held text
    return {  # name: (text, whether Arrow reads it itself)
        "plain": (json.dumps(plain), True),
        "spaced": ("\ufeff[ \n" + json.dumps(plain)[1:-1].replace("}, {", "} ,\n\t{") + " ]\n",
                   True),
        "dated": (json.dumps(dated), True),
        "braces_in_text": (json.dumps(braces), False),
        "numbers_and_text": (json.dumps(mixed, ensure_ascii=False), False),
        "nested": (json.dumps(nested), False),
        "pretty": (json.dumps(plain, indent=2), True),
        "fraction_later": (json.dumps(fraction), True),
        "filled_later": (json.dumps(filled), True),
        "text_then_numbers": (json.dumps(numbered), False),
    }


@pytest.mark.parametrize("block", [1, 97, 1 << 23])
@pytest.mark.parametrize("case", list(_json_cases()))
def test_json_read_by_arrow_gives_the_cells_python_json_gives(case, block, tmp_path, monkeypatch):
    """A one-line array of objects is read by Arrow, a block of lines at a time; anything it
    would read otherwise than Python's json (text with "}, {" in it, a column of numbers and
    text, nested values, dates) goes to the general reader."""
    from etl import read

    text, by_arrow = _json_cases()[case]
    path = tmp_path / "SPSE-TenderSelesaiNilai.json"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(read, "ARROW_JSON_BLOCK", block)
    general = read._json_frame_general(path)
    arrow = read._json_frame_arrow(path)
    assert (arrow is not None) == by_arrow
    if by_arrow and block == 1 << 23:  # one Arrow read: the very same frame
        pd.testing.assert_frame_equal(arrow, general)
    got = read.read_export(path).frame
    pd.testing.assert_frame_equal(*(f.astype(object).where(f.notna(), None)
                                    for f in (got, general)))  # the same cells, any dtype
    if case == "dated":
        assert got["tgl_kontrak"].tolist()[-1] == "2025-03-04 10:00:00"
    if case == "fraction_later":
        assert got["pagu"].tolist() == [1500000000 + i for i in range(11)] + [1234567890.25]
    if case == "filled_later":
        assert got["hps"].tolist()[-1] == 950000000.5 and got["kd_rup"].tolist()[-1] == "RUP-9"


def test_json_blocks_after_the_first_are_parsed_with_the_types_known(tmp_path, monkeypatch):
    """Arrow is given the types of the blocks before instead of guessing them again; the
    block where a column of whole numbers meets a fraction is read again, its value exact."""
    import pyarrow as pa

    from etl import read

    text, _ = _json_cases()["fraction_later"]
    path = tmp_path / "SPSE-TenderSelesaiNilai.json"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(read, "ARROW_JSON_BLOCK", 97)
    given, parse = [], read.pajson.read_json

    def spy(source, parse_options, read_options):
        given.append(parse_options.explicit_schema)
        return parse(source, parse_options=parse_options, read_options=read_options)

    monkeypatch.setattr(read.pajson, "read_json", spy)
    frame = read._json_frame_arrow(path)
    pagu = [g.field("pagu").type if g is not None and "pagu" in g.names else None
            for g in given]
    assert pagu[0] is None and pa.int64() in pagu  # guessed once, then given
    assert pagu[-2:] == [pa.int64(), None]  # the fraction's block, read again
    assert frame["pagu"].tolist()[-2:] == [1500000010, 1234567890.25]


def test_money_series_agrees_with_parse_money_on_every_form():
    # The vectorised paths must give what parse_money gives one cell at a time.
    cells = ["Rp 1.980.113.000,00", "Rp1.000", "Rp. 12.345", "9.709,9", "1.234", "1,234",
             "Rp 776,75", "Rp 999.999.999.999.999,99", "Rp 1.234,567", "RP 1.000", "-Rp 5.000",
             "(Rp 1.000)", "Rp -", "1,8 M", "12,5", "1.5", "10018467000", "abc", None,
             "Rp 1.000.000.000.000.000", " Rp 3.000,5 "]
    sen, lost, error = money_series(pd.Series(cells, dtype="str"))
    for i, cell in enumerate(cells):
        try:
            expected, expected_lost, expected_error = *parse_money(cell), None
        except BadValue as exc:
            expected, expected_lost, expected_error = None, False, str(exc)
        got = None if pd.isna(sen.iloc[i]) else int(sen.iloc[i])
        assert (got, bool(lost.iloc[i])) == (expected, expected_lost), cell
        assert (None if pd.isna(error.iloc[i]) else error.iloc[i]) == expected_error, cell
    assert sen.iloc[7] == 99_999_999_999_999_999


def _xlsx_rows(count=3):
    """RESULTS with one empty column and a thousand-row tail, the dates as text (as the
    exports hold them)."""
    from .builders import RESULTS

    tail = [dict(RESULTS[1], kd_tender=20_000_000 + i, nama_paket=f"Paket {i}")
            for i in range(count)]
    return [dict(r, catatan=None) for r in RESULTS + tail]


def _both_readers(path):
    from etl import read
    from etl.rows import clean_table

    typed = read._read_typed_xlsx(path)
    cells = read._read_spreadsheet_cells(path)
    dtypes = typed.frame.dtypes.to_dict() if typed else None  # cleaning empties the frame
    return dtypes, cells, (clean_table(typed) if typed else None), clean_table(cells)


def test_typed_xlsx_reader_cleans_to_what_the_cell_reader_gives(tmp_path):
    """The usual export takes the typed reader (columns of numbers and text, no Python
    object per cell); every cleaned value, reject and row number is the cell reader's."""
    from .builders import write_xlsx

    rows = _xlsx_rows(1200)
    rows[3]["pagu"] = 1e30  # a reject: its row number and raw cells must agree too
    rows[4]["kd_tender"] = rows[5]["kd_tender"]  # one code, two names: both rejected
    rows.insert(10, {k: None for k in rows[0]})  # a blank row, skipped
    path = write_xlsx(tmp_path / "hasil.xlsx", rows)
    dtypes, cells, fast, slow = _both_readers(path)
    assert dtypes is not None, "the typed reader declined a plain export"
    assert dtypes["pagu"] == dtypes["kd_tender"] == np.float64
    assert dtypes["nama_paket"] == dtypes["tgl_pengumuman_tender"] == "str"
    assert cells.header_row == 1
    values = [c.frame.astype(object).where(c.frame.notna(), None) for c in (fast, slow)]
    pd.testing.assert_frame_equal(*values)  # the same cells, missing or not, in any dtype
    assert fast.skipped == slow.skipped == 1
    assert [(r["row_number"], r["reason"], r["raw"]) for r in fast.rejects] == \
        [(r["row_number"], r["reason"], r["raw"]) for r in slow.rejects]
    assert [r["row_number"] for r in fast.rejects] == [5, 6, 7]
    assert fast.frame["code"].tolist()[:2] == ["10018467000", "10011868000"]
    assert fast.frame["hps"].tolist()[:2] == [149_932_118_761, 99_999_533_478]


@pytest.mark.parametrize("case", ["title_rows", "empty_leading_rows", "empty_leading_column",
                                  "text_below_a_thousand_numbers", "blank_header_cell",
                                  "repeated_header_cell", "styled_empty_a1",
                                  "uncalculated_formula_in_a1", "date_cells",
                                  "money_formatted_as_date", "layout_on_second_sheet"])
def test_typed_xlsx_reader_leaves_other_spreadsheets_to_the_cell_reader(tmp_path, case):
    """Where the typed reader would number rows differently, turn a late text cell into an
    empty number, read a date cell otherwise, or miss the header, it declines, and the cell
    reader reads the file."""
    from datetime import datetime

    from openpyxl import load_workbook
    from openpyxl.styles import Font

    from .builders import write_xlsx

    rows = _xlsx_rows(1200)
    if case == "text_below_a_thousand_numbers":
        rows[-1]["pagu"] = "Rp 1.000.000,00"
    if case == "date_cells":
        for r in rows:
            r["tgl_pengumuman_tender"] = datetime.fromisoformat(r["tgl_pengumuman_tender"])
    titled = case in ("title_rows", "uncalculated_formula_in_a1")
    path = write_xlsx(tmp_path / "lain.xlsx", rows, title_rows=[["Rekap 2025"]] if titled else ())
    book = load_workbook(path)
    sheet = book.active
    if case == "empty_leading_rows":
        sheet.insert_rows(1, 2)
    elif case == "empty_leading_column":
        sheet.insert_cols(1)
    elif case == "blank_header_cell":
        sheet.cell(2, sheet.max_column + 1).value = "catatan tanpa judul kolom"
    elif case == "repeated_header_cell":
        sheet.cell(1, sheet.max_column + 1).value = "nama_paket"
        sheet.cell(2, sheet.max_column).value = "nama kedua"
    elif case == "styled_empty_a1":  # the data from B1, A1 an empty cell with a style
        sheet.insert_cols(1)
        sheet["A1"].font = Font(bold=True)
    elif case == "uncalculated_formula_in_a1":  # openpyxl leaves its value empty: <v></v>
        sheet["A1"] = '="Rekap " & 2025'
    elif case == "money_formatted_as_date":  # Rp1,5 miliar is a date in the year 6006
        pagu = [c.value for c in sheet[1]].index("pagu") + 1
        for (cell,) in sheet.iter_rows(min_row=2, min_col=pagu, max_col=pagu):
            cell.number_format = "yyyy-mm-dd"
    elif case == "layout_on_second_sheet":
        notes = book.create_sheet("Catatan", 0)
        notes["A1"] = "Sumber: LPSE"
    book.save(path)
    dtypes, cells, _, slow = _both_readers(path)
    assert dtypes is None
    assert len(slow.frame) == len(rows)
    expected_header = {"title_rows": 2, "uncalculated_formula_in_a1": 2,
                       "empty_leading_rows": 3}.get(case, 1)
    assert cells.header_row == expected_header
    if case == "text_below_a_thousand_numbers":
        assert slow.frame["pagu"].iloc[-1] == 100_000_000
    assert slow.frame["pagu"].iloc[0] == 150_000_000_000
    assert slow.frame["announced_on"].iloc[0] == "2025-03-18"


def test_take_columns_empties_the_frame_of_what_it_takes_and_keeps_the_rest():
    from etl.rows import filtered, take_columns

    frame = pd.DataFrame({"code": pd.array(["7", "8", None], dtype="string[pyarrow]"),
                          "year": [2024.0, 2025.0, np.nan],
                          "pagu": pd.array([1, None, 3], dtype="Int64"), "name": ["a", "b", "c"]})
    taken = take_columns(frame, ["pagu", "code"])
    assert list(taken) == ["pagu", "code"]
    assert taken["code"].fillna("-").tolist() == ["7", "8", "-"]
    assert taken["pagu"].fillna(0).tolist() == [1, 0, 3] and str(taken["pagu"].dtype) == "Int64"
    # The caller's frame no longer holds them: their memory goes with the Series.
    assert list(frame.columns) == ["year", "name"] and frame["name"].tolist() == ["a", "b", "c"]

    kept = filtered(frame, np.array([True, False, True]))
    assert kept.index.tolist() == [0, 2] and list(kept.columns) == ["year", "name"]
    assert kept["name"].tolist() == ["a", "c"] and kept["year"].tolist()[0] == 2024.0
    assert frame.columns.empty
    assert take_columns(frame) == {}
    assert filtered(frame, np.array([True, False, True])).shape == (2, 0)
