"""Read an export file into a frame of raw cells, below its real header row.

Spreadsheets from analysts carry title rows above the header; the header is the first row in
which a known layout's columns appear. Cells stay raw (text, numbers, dates): cleaning is
clean.py's job.
"""

import codecs
import csv
import io
import itertools
import json
import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.json as pajson

from . import layouts

HEADER_SEARCH_ROWS = 30
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
SUFFIXES = SPREADSHEET_SUFFIXES | {".csv", ".tsv", ".txt", ".json"}


class ReadError(Exception):
    """The file cannot be read as an export; the message says what was found and expected."""


@dataclass
class RawTable:
    frame: pd.DataFrame  # original column names; values raw
    layout: layouts.Layout
    header_row: int  # 1-based row number of the header, as a spreadsheet shows it
    sheet: str | None = None


def read_export(path: Path) -> RawTable:
    """Read PATH (XLSX/XLS/ODS, CSV/TSV, JSON array) and recognise its layout."""
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"{path}: berkas tidak ditemukan")
    if path.stat().st_size == 0:
        raise ReadError(f"{path}: berkas kosong (0 byte); unduh ulang ekspornya")
    suffix = path.suffix.lower()
    if suffix in SPREADSHEET_SUFFIXES:
        return _read_spreadsheet(path)
    if suffix == ".json":
        return _read_json(path)
    if suffix in {".csv", ".tsv", ".txt"}:
        return _read_csv(path)
    raise ReadError(
        f"{path}: jenis berkas '{suffix or '(tanpa akhiran)'}' tidak didukung; "
        f"yang didukung: {', '.join(sorted(SUFFIXES))}"
    )


def _unknown_layout(path: Path, columns, where: str = "") -> ReadError:
    found = ", ".join(str(c) for c in columns if str(c).strip()) or "(tidak ada)"
    return ReadError(
        f"{path}{where}: tata letak tidak dikenali. Kolom yang ditemukan: {found}. "
        f"Yang diharapkan, salah satu dari: {layouts.expected_text()}"
    )


def _find_header(rows: list[list]) -> tuple[int, layouts.Layout] | None:
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        layout = layouts.recognise(row)
        if layout:
            return i, layout
    return None


def _read_spreadsheet(path: Path) -> RawTable:
    return _read_typed_xlsx(path) or _read_spreadsheet_cells(path)


def _read_spreadsheet_cells(path: Path) -> RawTable:
    """Any spreadsheet, cell by cell: the header may lie below title rows and on any sheet,
    and a column may mix numbers, dates and text."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types per format
        raise ReadError(f"{path}: bukan lembar kerja yang bisa dibaca ({exc}); berkas mungkin "
                        "terpotong atau rusak, unduh ulang ekspornya") from exc
    first_rows = None
    for name in book.sheet_names:
        try:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise ReadError(f"{path}: lembar '{name}' rusak ({exc})") from exc
        found = _find_header(rows)
        if found:
            i, layout = found
            header = [str(c).strip() for c in rows[i]]
            frame = pd.DataFrame(rows[i + 1:], columns=_unique(header), dtype=object)
            return RawTable(frame, layout, i + 1, name)
        first_rows = first_rows or rows
    header = first_rows[0] if first_rows else []
    raise _unknown_layout(path, header, f" (lembar: {', '.join(book.sheet_names)})")


# Whole numbers as nullable Int64 (a missing cell would make them floats); the rest as
# pandas converts Arrow's (text as its Arrow-backed "str", what the CSV reader gives).
_TYPED_COLUMNS = {pa.int64(): pd.Int64Dtype()}.get


def _read_typed_xlsx(path: Path) -> RawTable | None:
    """The usual export, read by fastexcel into typed columns without a Python object per
    cell: an XLSX whose first sheet starts at A1 with a known layout's header and in which
    every column holds numbers, text or true/false alone, in every row. Cleaning such
    columns takes the paths CSV and JSON take. None for any other spreadsheet, which the
    cell-by-cell reader then reads (and explains, where it cannot)."""
    if path.suffix.lower() not in {".xlsx", ".xlsm"} or not _first_sheet_starts_at_a1(path):
        return None
    import fastexcel

    # fastexcel notes a column without values, read as empty text; the note is not for users.
    logging.getLogger("fastexcel").setLevel(logging.ERROR)
    try:
        reader = fastexcel.read_excel(str(path))
        # Every row decides a column's type, and a second type in it is an error: sampling
        # rows would make a text cell below the sample an empty number.
        sheet = reader.load_sheet(0, header_row=0, dtype_coercion="strict",
                                  schema_sample_rows=None)
        columns = sheet.selected_columns
        header = [c.name.strip() for c in columns]
        layout = layouts.recognise(header)
        if layout is None or not _as_written(header, columns) or \
                any(c.dtype not in _PLAIN_TYPES for c in columns):
            return None
        table = sheet.to_arrow()
    except Exception:  # fastexcel's own errors, a mixed column among them
        return None
    frame = table.rename_columns(header).to_pandas(types_mapper=_TYPED_COLUMNS,
                                                   self_destruct=True)
    return RawTable(frame, layout, 1, reader.sheet_names[0])


# Cells formatted as dates or times fastexcel reads otherwise than python-calamine: an
# amount past 9999-12-31 as empty, a time of day as a date in 1899. The exports hold dates
# as text; a sheet with date cells is read cell by cell.
_PLAIN_TYPES = {"float", "int", "string", "boolean"}


def _as_written(header: list[str], columns) -> bool:
    """Whether fastexcel named every column by its header cell, as the cell-by-cell reader
    does. A blank cell it names __UNNAMED__n and a repeated one name_1 (which could also be
    a real header: such a file is left to the other reader too)."""
    names = set(header)
    renamed = (re.fullmatch(r"(.+)_[0-9]+", n) for n in header)
    return (all(c.column_name_from == "looked_up" for c in columns)
            and _unique(header) == header and not any(m and m[1] in names for m in renamed))


# XML attributes may be quoted either way.
_RELATION = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_FIRST_SHEET_ID = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?\s(?:\w+:)?id=[\"']([^\"']+)[\"']")
# A cell element: its attributes, and what it holds where it is not empty (<c .../>).
_FIRST_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
# A value that is not empty: <v>…</v>, or inline text <is><t>…</t></is>. (An empty <v></v>
# is what an uncalculated formula leaves; calamine reads it as no value.)
_VALUE = re.compile(rb"<(?:\w+:)?(?:v|t)\b[^>/]*>[^<]")


def _attribute(element: bytes, name: bytes) -> bytes | None:
    found = re.search(rb"\s" + name + rb"=[\"']([^\"']*)[\"']", element)
    return found.group(1) if found else None


def _first_sheet_starts_at_a1(path: Path) -> bool:
    """Whether the first cell of the first sheet's XML is A1 holding a value. A reader that
    skips empty leading rows or columns (fastexcel does) then numbers rows as the sheet
    does, and a reject's row number is the one the analyst sees."""
    try:
        with zipfile.ZipFile(path) as book:
            sheet = _first_sheet_member(book)
            if sheet is None:
                return False
            with book.open(sheet) as f:
                head = f.read(1 << 16)
    except (OSError, zipfile.BadZipFile, KeyError):
        return False
    data = head.find(b"sheetData")
    cell = _FIRST_CELL.search(head, data) if data >= 0 else None
    if cell is None or not _VALUE.search(cell.group(2) or b""):  # none, or a style alone
        return False
    return _attribute(cell.group(1), b"r") == b"A1"


def _first_sheet_member(book: zipfile.ZipFile) -> str | None:
    """The zip member holding the workbook's first sheet, as workbook.xml lists them."""
    found = _FIRST_SHEET_ID.search(book.read("xl/workbook.xml"))
    if found is None:
        return None
    for relation in _RELATION.findall(book.read("xl/_rels/workbook.xml.rels")):
        if _attribute(relation, b"Id") == found.group(1):
            target = _attribute(relation, b"Target")
            if not target:
                return None
            name = target.decode()
            return name.lstrip("/") if name.startswith("/") else f"xl/{name}"
    return None


def _unique(names: list[str]) -> list[str]:
    """Blank or repeated header cells get a suffix so that no column is lost."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        n = n or "kolom"
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


def _read_json(path: Path) -> RawTable:
    frame = _json_frame_arrow(path)
    if frame is None:  # not the plain one-line array Arrow reads: the general reader decides
        frame = _json_frame_general(path)
    layout = layouts.recognise(frame.columns)
    if layout is None:
        raise _unknown_layout(path, frame.columns)
    return RawTable(frame, layout, 1)


def _json_frame_general(path: Path) -> pd.DataFrame:
    try:
        try:
            with open(path, encoding="utf-8-sig") as f:
                return _json_frame(f, path)
        except UnicodeDecodeError:  # UTF-16 or -32, which json detects itself
            return _json_frame_whole(json.loads(path.read_bytes()), path)
    except ValueError as exc:
        raise ReadError(f"{path}: bukan JSON yang valid ({exc})") from exc


ARROW_JSON_BLOCK = 1 << 23  # bytes per Arrow read: larger blocks hold more memory, no faster
# Arrow's own threads parse faster alone, but each holds memory of its own (the largest demo
# file's cleaning peaked 76 MB higher), and in a load both cores are busy cleaning already.
_ONE_THREAD = pajson.ReadOptions(use_threads=False)
# Between two objects of the array: "}", a comma, "{", with JSON's spaces around the comma.
_JSON_NEXT_OBJECT = re.compile(rb"\}[ \t\n\r]*,[ \t\n\r]*\{")


def _json_frame_arrow(path: Path) -> pd.DataFrame | None:
    """The array of objects in PATH read by Arrow's JSON reader (twice as fast as Python's
    json, and no dict per package), or None where it cannot be read so. Arrow takes objects
    one after another, not an array: each "}, {" between them becomes a line break. Where
    such a "}, {" lies inside a string or a nested value, Arrow refuses the broken string or
    value; the general reader then reads the file, as it does any file that Arrow would read
    otherwise than Python's json (a column holding both numbers and text, say). Two objects
    with no comma between them pass here where Python's json refuses them; no cell is lost."""
    try:
        tables, columns = [], pa.schema([])
        for lines in _json_lines(path):
            table = _arrow_lines(lines, columns)
            if any(pa.types.is_nested(t) for t in table.schema.types):
                return None  # lists and dicts, which Arrow gives as its own
            # Every column so far, in the file's order. A column holding text in one block and
            # numbers in a later one fails in _arrow_lines, where its type is given; numbers
            # first and text later fails here.
            columns = pa.unify_schemas([columns, table.schema], promote_options="permissive")
            tables.append(table)
        table = pa.concat_tables(tables, promote_options="permissive").select(columns.names)
        del tables
    except (pa.ArrowException, ValueError):
        return None
    if not table.num_rows:
        return None  # an empty array
    return table.to_pandas(self_destruct=True)


def _json_lines(path: Path):
    """PATH's array in blocks of whole objects, a line break between two objects; nothing
    where PATH does not start as an array does. Raises ValueError where it does not end so."""
    with open(path, "rb") as f:
        head = f.read(max(ARROW_JSON_BLOCK, 4096))  # a BOM and "[" are in it, whole
        text = head.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\n\r")
        if not text.startswith(b"["):
            return
        text = text[1:].lstrip(b" \t\n\r")
        for block in iter(lambda: f.read(ARROW_JSON_BLOCK), b""):
            text = _JSON_NEXT_OBJECT.sub(b"}\n{", text + block)
            cut = text.rfind(b"}\n{") + 2  # the last object may go on in the next block
            if cut > 1:
                yield text[:cut]
                text = text[cut:]
    text = _JSON_NEXT_OBJECT.sub(b"}\n{", text).rstrip(b" \t\n\r")
    if not text.endswith(b"]"):
        raise ValueError("not an array of objects")
    yield text[:-1].rstrip(b" \t\n\r") + b"\n"


def _arrow_lines(lines: bytes, known: pa.Schema) -> pa.Table:
    """LINES as a table. KNOWN: the columns of the blocks before and their types, given to
    Arrow so that it parses instead of guessing them (a quarter of its time per block; about
    7% of reading a national JSON set). A block whose values do not fit them (a fraction in
    a column of whole numbers so far) is parsed again with only the text columns given.
    Columns holding text stay text: Arrow would take text that looks like a date for a
    timestamp, which Python's json does not."""
    given = pa.schema([f for f in known if not pa.types.is_null(f.type)])
    names = None
    while True:
        options = pajson.ParseOptions(explicit_schema=given, unexpected_field_behavior="infer",
                                      newlines_in_values=True)
        try:
            table = pajson.read_json(pa.BufferReader(lines), parse_options=options,
                                     read_options=_ONE_THREAD)
        except pa.ArrowInvalid:
            texts = pa.schema([f for f in given if pa.types.is_string(f.type)])
            if given.equals(texts):
                raise
            given = texts
            continue
        names = names or table.column_names  # Arrow puts the given columns first
        dated = [f.name for f in table.schema if pa.types.is_temporal(f.type)]
        if not dated:
            return table.select(names)
        given = pa.schema(list(given) + [pa.field(name, pa.string()) for name in dated])


JSON_BATCH = 20_000  # objects per frame
JSON_BLOCK = 1 << 23  # characters read at a time
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
# After a value: a comma and the space before the next value (group 1), or the closing ].
_JSON_AFTER = re.compile(r"[ \t\n\r]*(?:(,)[ \t\n\r]*|\])")


def _json_frame(f, path: Path) -> pd.DataFrame:
    """The array of objects in the text file F as a frame, read a block and decoded a batch
    of objects at a time: a national export decoded whole holds its text and a Python dict
    per package, several times the file's size."""
    head = f.read(JSON_BLOCK)
    start = _JSON_SPACE.match(head).end()
    if not head.startswith("[", start):  # not an array: an API dump wrapping one, decoded whole
        return _json_frame_whole(json.loads(head + f.read()), path)
    records = _json_array(f, head, start + 1)
    frames = []
    for batch in iter(lambda: list(itertools.islice(records, JSON_BATCH)), []):
        if not all(isinstance(r, dict) for r in batch):
            raise ReadError(f"{path}: JSON harus berupa larik objek (satu objek per paket)")
        frames.append(pd.DataFrame.from_records(batch))
    if not frames:
        raise ReadError(f"{path}: JSON berisi larik kosong, tidak ada paket")
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _json_array(f, text: str, i: int):
    """Each value of the top-level array whose first value starts at or after I in TEXT, the
    first block read from F. Raises ValueError where the JSON is broken."""
    decoder, more = json.JSONDecoder(), bool(text)
    first, failed_cut = True, -1
    while True:
        i = _JSON_SPACE.match(text, i).end()
        if first and text.startswith("]", i):  # an empty array
            i += 1
            break
        # Most of a block in one call: the values up to its last "},". A cut inside a string
        # leaves that string unterminated, so the prefix parses only at a real boundary.
        # (Once a cut fails, inside a nested object, the rest of the block goes value by
        # value: trying the same cut again for each value would cost a block per value.)
        cut = text.rfind("},", i)
        if cut > i and cut != failed_cut:
            try:
                values = json.loads("[" + text[i:cut + 1] + "]")
            except ValueError:
                failed_cut = cut
            else:
                yield from values
                i, first = cut + 2, False
                continue
        try:
            value, end = decoder.raw_decode(text, i)
            after = _JSON_AFTER.match(text, end)
            if after is None and more:  # the value or what follows it runs into the next block
                raise json.JSONDecodeError("", text, end)
        except json.JSONDecodeError:
            if not more:
                raise ValueError(_json_broken(text, i)) from None
            block = f.read(JSON_BLOCK)
            text, i, more, failed_cut = text[i:] + block, 0, bool(block), -1
            continue
        if after is None:
            raise ValueError(_json_broken(text, end))
        yield value
        i, first = after.end(), False
        if not after.group(1):
            break
    if (text[i:] + f.read()).strip(" \t\n\r"):
        raise ValueError("teks lain setelah larik")


def _json_broken(text: str, i: int) -> str:
    """Why the array cannot be read from position I of TEXT, the file's last block."""
    if not text.rstrip(" \t\n\r").endswith("]"):  # an array always ends so
        return "berkas berhenti sebelum larik ditutup; berkas terpotong, unduh ulang ekspornya"
    return f"tidak terbaca di sekitar {text[i:i + 40]!r}; periksa atau unduh ulang ekspornya"


def _json_frame_whole(data, path: Path) -> pd.DataFrame:
    if isinstance(data, dict):
        # Some API dumps wrap the array: {"data": [...]}.
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ReadError(f"{path}: JSON harus berupa larik objek (satu objek per paket)")
    if not data:
        raise ReadError(f"{path}: JSON berisi larik kosong, tidak ada paket")
    return pd.DataFrame.from_records(data)


def _decode(raw: bytes, path: Path, partial: bool = False) -> str:
    """Text in UTF-8 (with or without BOM) or cp1252; PARTIAL: RAW may end mid-character."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding, errors="strict")
        except UnicodeDecodeError as exc:
            if partial and encoding == "utf-8-sig" and exc.start >= len(raw) - 3:
                return raw[:exc.start].decode(encoding)
            continue
    raise ReadError(f"{path}: pengodean teks tidak dikenali (bukan UTF-8 atau cp1252)")


def _read_csv(path: Path) -> RawTable:
    with open(path, "rb") as f:
        text = _decode(f.read(65536 * 4), path, partial=True)
    if not text.strip():
        raise ReadError(f"{path}: berkas hanya berisi baris kosong")
    sample = text[:65536]
    delimiter = _delimiter(sample)
    head = list(csv.reader(io.StringIO(sample), delimiter=delimiter))
    found = _find_header(head)
    if not found:
        raise _unknown_layout(path, head[0] if head else [], f" (pemisah '{delimiter}')")
    i, layout = found
    options = dict(sep=delimiter, skiprows=_physical_lines(sample, delimiter, i), dtype=str,
                   keep_default_na=False, na_values=["", "null", "NULL"])
    try:
        frame = _parse_csv(path, options)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ReadError(f"{path}: CSV rusak: {_csv_problem(exc)}") from exc
    return RawTable(frame, layout, i + 1)


def _csv_problem(exc: Exception) -> str:
    """What pandas' parser found wrong, in the user's words, with what to do: its C engine's
    line and row numbers count the file's physical lines (from 1) and rows (from 0)."""
    text = str(exc)
    fix = "Perbaiki baris itu, atau unduh ulang ekspornya"
    if found := re.search(r"EOF inside string starting at row (\d+)", text):
        return (f'tanda kutip (") yang dibuka di baris {int(found[1]) + 1} tidak pernah '
                f"ditutup. {fix}")
    if found := re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text):
        expected, line, saw = found.groups()
        return f"baris {line} berisi {saw} kolom, padahal header berisi {expected}. {fix}"
    return f"{text}. Periksa berkasnya, atau unduh ulang ekspornya"


def _parse_csv(path: Path, options: dict) -> pd.DataFrame:
    """UTF-8 through pyarrow's multi-threaded reader, which reads the file itself (and skips
    a byte-order mark) instead of holding a copy of it; anything else through pandas' own."""
    if not _is_utf8(path):
        return pd.read_csv(io.StringIO(_decode(path.read_bytes(), path)), **options)
    try:
        return pd.read_csv(path, engine="pyarrow", **options)
    except Exception:  # pyarrow refuses some ragged files that pandas' parser reads
        return pd.read_csv(path, encoding="utf-8-sig", **options)


def _is_utf8(path: Path, block: int = 1 << 20) -> bool:
    """Whether the file at PATH is valid UTF-8, read a block at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(block), b""):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        return max(",;\t|", key=first.count)


def _physical_lines(sample: str, delimiter: str, records: int) -> int:
    """Lines taken by the first RECORDS csv records (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
    for _ in range(records):
        next(reader)
    return reader.line_num
