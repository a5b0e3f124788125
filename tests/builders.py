"""Small export files written by the tests themselves, in each layout hemat reads."""

import csv
import json
from pathlib import Path

from openpyxl import Workbook

# Three tenders in Jawa Barat / Kalimantan Utara, the way the ISB results dataset states them.
RESULTS = [
    {"kd_tender": 10018467000, "kd_paket": 10018054000, "kd_rup_paket": "56759579",
     "nama_paket": "Rehabilitasi Jalan Soreang", "tahun_anggaran": 2025, "kd_klpd": "D107",
     "nama_klpd": "Kab. Bandung", "jenis_klpd": "KABUPATEN", "kd_satker": "1.03.2.15",
     "nama_satker": "DINAS PEKERJAAN UMUM", "kd_lpse": 93, "pagu": 1500000000,
     "hps": 1499321187.61, "nilai_penawaran": 1269963504.15, "nilai_terkoreksi": 1269963504.15,
     "nilai_negosiasi": 1269963504.15, "nilai_kontrak": 1269963504.15,
     "tgl_pengumuman_tender": "2025-03-18", "tgl_penetapan_pemenang": "2025-04-11",
     "kd_penyedia": 5997014, "nama_penyedia": "CV. CONTOH NUGRAHA",
     "npwp_penyedia": "01.000.000.0-000.000", "provinsi": "Jawa Barat",
     "kabkota": "Bandung (Kab.)", "_event_date": "2025-10-03"},
    {"kd_tender": 10011868000, "kd_paket": 10011637000, "kd_rup_paket": "55965678",
     "nama_paket": "Penyusunan RDTR Paseh", "tahun_anggaran": 2025, "kd_klpd": "D107",
     "nama_klpd": "Kab. Bandung", "jenis_klpd": "KABUPATEN", "kd_satker": "1.03.2.15",
     "nama_satker": "DINAS PEKERJAAN UMUM", "kd_lpse": 93, "pagu": 1000000000,
     "hps": 999995334.78, "nilai_penawaran": 921803940, "nilai_terkoreksi": 921803940,
     "nilai_negosiasi": 921692940, "nilai_kontrak": 921692940,
     "tgl_pengumuman_tender": "2025-02-11", "tgl_penetapan_pemenang": "2025-04-09",
     "kd_penyedia": 23954014, "nama_penyedia": "PT. CONTOH REKA",
     "npwp_penyedia": "01.000.000.1-000.000", "provinsi": "Jawa Barat",
     "kabkota": "Bandung (Kab.)", "_event_date": "2025-10-03"},
    {"kd_tender": 2518338, "kd_paket": 2518000, "kd_rup_paket": "1234",
     "nama_paket": "Subsidi Ongkos Angkut Udara", "tahun_anggaran": 2018, "kd_klpd": "D250",
     "nama_klpd": "Kab. Nunukan", "jenis_klpd": "KABUPATEN", "kd_satker": "99",
     "nama_satker": "DINAS PERHUBUNGAN", "kd_lpse": 250, "pagu": 7028544000,
     "hps": 6916203912.06, "nilai_penawaran": 6873535045.84, "nilai_terkoreksi": None,
     "nilai_negosiasi": None, "nilai_kontrak": None,
     "tgl_pengumuman_tender": "2018-04-30", "tgl_penetapan_pemenang": None,
     "kd_penyedia": None, "nama_penyedia": None, "npwp_penyedia": None,
     "provinsi": "Kalimantan Timur", "kabkota": "Nunukan (Kab.)", "_event_date": "2025-10-03"},
]


def write_json(path: Path, rows) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def write_csv(path: Path, rows, delimiter=",", encoding="utf-8", null="null") -> Path:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding=encoding) as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(columns)
        for r in rows:
            w.writerow([null if r.get(c) is None else r.get(c) for c in columns])
    return path


def write_xlsx(path: Path, rows, title_rows=(), total_row=None) -> Path:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    for t in title_rows:
        ws.append(list(t))
    ws.append(columns)
    for r in rows:
        ws.append([r.get(c) for c in columns])
    if total_row:
        ws.append(list(total_row))
    wb.save(path)
    return path


def write_ods(path: Path, rows) -> Path:
    """An OpenDocument spreadsheet (LibreOffice's own format), written by odfpy: numbers as
    float cells, a missing value as a cell with nothing in it."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    def cell(value):
        if value is None:
            return TableCell()
        if isinstance(value, int | float):
            return TableCell(valuetype="float", value=value)
        made = TableCell(valuetype="string")
        made.addElement(P(text=str(value)))
        return made

    columns = list(dict.fromkeys(k for r in rows for k in r))
    doc = OpenDocumentSpreadsheet()
    sheet = Table(name="Data")
    for values in [columns, *([r.get(c) for c in columns] for r in rows)]:
        row = TableRow()
        for value in values:
            row.addElement(cell(value))
        sheet.addElement(row)
    doc.spreadsheet.addElement(sheet)
    doc.save(str(path))
    return path


def write_xls(path: Path, rows) -> Path:
    """An Excel 97-2003 workbook (BIFF8), as older SPSE versions offer, written by xlwt."""
    import xlwt

    columns = list(dict.fromkeys(k for r in rows for k in r))
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Data")
    for j, name in enumerate(columns):
        sheet.write(0, j, name)
    for i, r in enumerate(rows, start=1):
        for j, name in enumerate(columns):
            if r.get(name) is not None:
                sheet.write(i, j, r[name])
    book.save(str(path))
    return path


def rupiah_text(value) -> str | None:
    """1269963504.15 → 'Rp 1.269.963.504,15' as opentender shows money."""
    if value is None:
        return None
    text = f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"Rp {text}"


def as_opentender(rows):
    """The same tenders as opentender.net's human-header scrape states them."""
    return [{
        "Nama_Proyek": r["nama_paket"], "Provinsi": r["provinsi"],
        "Kota/Kabupaten": r["kabkota"], "LPSE": "LPSE Contoh", "SKPD": r["nama_satker"],
        "Kode_Lelang": r["kd_tender"], "Tahun_Anggaran": r["tahun_anggaran"],
        "Kategori": "Pekerjaan Konstruksi", "Sumber_Dana": "APBD",
        "Pagu": rupiah_text(r["pagu"]), "HPS": rupiah_text(r["hps"]),
        "Nilai_Penawaran": rupiah_text(r["nilai_penawaran"]),
        "Nilai_Kontrak": rupiah_text(r["nilai_kontrak"]) or "-",
        "Nama_Pemenang": r["nama_penyedia"] or "-",
    } for r in rows]


def as_template(rows):
    """The same tenders in hemat's template for analysts' own sheets."""
    return [{
        "Kode Paket": str(r["kd_tender"]), "Jenis": "Tender", "Nama Paket": r["nama_paket"],
        "Tahun Anggaran": r["tahun_anggaran"], "Provinsi": r["provinsi"],
        "Kabupaten/Kota": r["kabkota"], "Instansi": r["nama_klpd"],
        "Satker": r["nama_satker"], "Pagu": r["pagu"], "HPS": r["hps"],
        "Nilai Kontrak": r["nilai_kontrak"],
    } for r in rows]
