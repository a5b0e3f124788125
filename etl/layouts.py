"""Export layouts, recognised by column names (never by position).

A layout maps hemat's fields to the column names one kind of export uses. Column names are
compared after `normalise_header`, so `Kota/Kabupaten`, `kota_kabupaten` and `KOTA KABUPATEN`
are one name.
"""

import re
from dataclasses import dataclass, field


def normalise_header(name) -> str:
    """`Kota/Kabupaten` → `kota_kabupaten`; `No.NPWP` → `no_npwp`."""
    return re.sub(r"[^0-9a-z]+", "_", str(name or "").strip().lower()).strip("_")


@dataclass(frozen=True)
class Layout:
    name: str  # stable id, stored in loads.layout
    title: str  # what users read
    dataset: str  # result / announcement / contract
    kind: str | None  # tender / non-tender; None: a `kind` column decides per row
    required: frozenset[str]
    fields: dict[str, tuple[str, ...]]  # hemat field → candidate columns, first present wins
    forbidden: frozenset[str] = field(default_factory=frozenset)

    def matches(self, columns: set[str]) -> bool:
        return self.required <= columns and not (self.forbidden & columns)

    def column_for(self, name: str, columns: set[str]) -> str | None:
        return next((c for c in self.fields.get(name, ()) if c in columns), None)


def _isb_fields(code: str, status: str, announced: str, awarded: str) -> dict:
    return {
        "code": (code,),
        "rup_code": ("kd_rup", "kd_rup_paket"),
        "package_code": ("kd_paket", "kd_pkt_dce"),
        "name": ("nama_paket",),
        "year": ("tahun_anggaran",),
        "klpd_code": ("kd_klpd",),
        "klpd_name": ("nama_klpd",),
        "klpd_kind": ("jenis_klpd",),
        "satker_code": ("kd_satker_str", "kd_satker"),
        "satker_name": ("nama_satker",),
        "lpse_code": ("kd_lpse", "lpse_id"),
        "lpse_name": ("nama_lpse",),
        "method": ("mtd_pemilihan",),
        "category": ("jenis_pengadaan",),
        "funding": ("sumber_dana",),
        "status": (status,),
        "pagu": ("pagu",),
        "hps": ("hps",),
        "penawaran": ("nilai_penawaran",),
        "terkoreksi": ("nilai_terkoreksi",),
        "negosiasi": ("nilai_negosiasi",),
        "kontrak": ("nilai_kontrak",),
        "pdn_kontrak": ("nilai_pdn_kontrak",),
        "umk_kontrak": ("nilai_umk_kontrak",),
        "announced_on": (announced,),
        "awarded_on": (awarded,),
        "winner_name": ("nama_penyedia",),
        "winner_code": ("kd_penyedia",),
        "winner_npwp": ("npwp_penyedia",),
        "province_raw": ("provinsi",),
        "regency_raw": ("kabkota",),
        "location_raw": ("lokasi_pekerjaan",),
        # The day the export was taken: a newer export of a package wins over an older one.
        "snapshot": ("_event_date", "tgl_penarikan", "event_date"),
    }


_TENDER = _isb_fields("kd_tender", "status_tender", "tgl_pengumuman_tender",
                      "tgl_penetapan_pemenang")
_NONTENDER = _isb_fields("kd_nontender", "status_nontender", "tgl_pengumuman_nontender",
                         "tgl_selesai_nontender")
_CONTRACT = {
    **{k: v for k, v in _TENDER.items() if k not in ("kontrak", "pdn_kontrak", "umk_kontrak")},
    "version": ("versi_addendum",),
    "is_addendum": ("apakah_addendum",),
    "contract_value": ("nilai_kontrak",),
    "signed_on": ("tgl_kontrak", "tgl_kontrak_awal"),
    "contract_status": ("status_kontrak",),
    "contract_number": ("no_kontrak",),
    "change_reason": ("alasan_ubah_nilai_kontrak", "alasan_addendum"),
    "status": (),
}

LAYOUTS: tuple[Layout, ...] = (
    Layout("isb_tender_contract", "ISB/INAPROC TenderEkontrak-Kontrak", "contract", "tender",
           frozenset({"kd_tender", "nilai_kontrak", "versi_addendum"}), _CONTRACT),
    Layout("isb_tender_result", "ISB/INAPROC TenderSelesaiNilai", "result", "tender",
           frozenset({"kd_tender", "pagu", "nilai_kontrak"}), _TENDER,
           forbidden=frozenset({"versi_addendum"})),
    Layout("isb_tender_announcement", "ISB/INAPROC TenderPengumuman", "announcement", "tender",
           frozenset({"kd_tender", "nama_paket", "pagu", "hps"}), _TENDER,
           forbidden=frozenset({"nilai_kontrak", "versi_addendum"})),
    Layout("isb_nontender_result", "ISB/INAPROC NonTenderSelesai", "result", "non-tender",
           frozenset({"kd_nontender", "pagu", "nilai_kontrak"}), _NONTENDER),
    Layout("isb_nontender_announcement", "ISB/INAPROC NonTenderPengumuman", "announcement",
           "non-tender", frozenset({"kd_nontender", "nama_paket", "pagu"}), _NONTENDER,
           forbidden=frozenset({"nilai_kontrak"})),
    Layout("opentender", "opentender / SPSE (header manusiawi)", "result", "tender",
           frozenset({"kode_lelang", "nama_proyek", "pagu", "nilai_kontrak"}), {
               "code": ("kode_lelang",),
               "name": ("nama_proyek",),
               "year": ("tahun_anggaran",),
               "province_raw": ("provinsi",),
               "regency_raw": ("kota_kabupaten", "kabupaten_kota"),
               "lpse_name": ("lpse",),
               "satker_name": ("skpd", "satker"),
               "klpd_name": ("agen", "instansi"),
               "category": ("kategori", "jenis_pengadaan"),
               "funding": ("sumber_dana",),
               "method": ("metode_pemilihan",),
               "fast_tender": ("tender_cepat",),
               "pagu": ("pagu",),
               "hps": ("hps",),
               "penawaran": ("nilai_penawaran",),
               "kontrak": ("nilai_kontrak",),
               "announced_on": ("pengumuman",),
               "winner_name": ("nama_pemenang",),
               "winner_npwp": ("no_npwp", "npwp"),
           }),
    Layout("template", "Templat analis hemat", "result", None,
           frozenset({"kode_paket", "nama_paket", "pagu", "nilai_kontrak"}), {
               "code": ("kode_paket",),
               "kind": ("jenis", "jenis_paket"),
               "name": ("nama_paket",),
               "year": ("tahun_anggaran", "tahun"),
               "province_raw": ("provinsi",),
               "regency_raw": ("kabupaten_kota", "kota_kabupaten"),
               "klpd_name": ("instansi", "klpd"),
               "satker_name": ("satker", "skpd"),
               "method": ("metode_pemilihan", "metode"),
               "category": ("jenis_pengadaan",),
               "funding": ("sumber_dana",),
               "pagu": ("pagu",),
               "hps": ("hps",),
               "kontrak": ("nilai_kontrak",),
               "winner_name": ("pemenang", "nama_pemenang"),
               "location_raw": ("lokasi_pekerjaan",),
           }),
)


def recognise(columns) -> Layout | None:
    """The layout whose required columns are all present (most specific first)."""
    names = {normalise_header(c) for c in columns}
    return next((layout for layout in LAYOUTS if layout.matches(names)), None)


def expected_text() -> str:
    """The layouts and the columns each needs, for error messages."""
    return "; ".join(f"{lo.title} ({', '.join(sorted(lo.required))})" for lo in LAYOUTS)
