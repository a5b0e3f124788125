"""Every text the dashboard shows, in Bahasa Indonesia (default) and English.

One dict per language with the same keys (a test checks). `t(key, lang, **values)` formats.
"""

LANGS = ("id", "en")
DEFAULT_LANG = "id"

ID = {
    # Frame
    "app_title": "Penghematan Pengadaan Elektronik",
    "app_subtitle": "Berapa yang dihemat pemerintah lewat LPSE/SPSE: pagu atau HPS dibanding "
                    "nilai kontrak.",
    "doc_title": "hemat · Penghematan Pengadaan",
    "skip_link": "Lewati ke isi",
    "noscript": "Dasbor ini memerlukan JavaScript. Aktifkan JavaScript di peramban Anda.",
    "lang_nav": "Pilih bahasa",
    "filters_title": "Filter",
    "year_from": "Tahun anggaran dari",
    "year_to": "sampai",
    "year_any": "Semua tahun",
    "kind": "Jenis paket",
    "kind_all": "Semua",
    "kind_tender": "Tender",
    "kind_nontender": "Non-tender",
    "method": "Metode pemilihan",
    "method_all": "Semua metode",
    "category": "Jenis pengadaan",
    "category_all": "Semua jenis",
    "funding": "Sumber dana",
    "funding_all": "Semua sumber dana",
    "basis": "Dasar penghematan",
    "basis_pagu": "Pagu − nilai kontrak",
    "basis_hps": "HPS − nilai kontrak",
    "flagged": "Ikutkan paket yang ditandai tidak wajar",
    "reset": "Hapus semua filter",
    "download": "Unduh Excel",
    "download_hint": "Unduh angka tampilan ini (dengan filter yang dipilih) sebagai berkas Excel.",
    "download_unavailable": "Unduhan Excel belum tersedia di versi ini.",
    "download_failed": "Unduhan gagal. Coba lagi sebentar lagi.",
    "dd_select_all": "Pilih semua",
    "dd_deselect_all": "Batalkan semua",
    "dd_selected_count": "{num_selected} dipilih",
    "dd_search": "Cari",
    "dd_clear_search": "Hapus pencarian",
    "dd_clear_selection": "Hapus pilihan",
    "dd_no_options": "Tidak ada pilihan",
    # Groups and labels of data values
    "cat_barang": "Barang",
    "cat_konstruksi": "Konstruksi",
    "cat_konsultansi": "Konsultansi",
    "cat_jasa_lainnya": "Jasa Lainnya",
    "cat_unresolved": "Jenis tidak diketahui",
    "no_year": "Tanpa tahun",
    "unknown": "Tidak diketahui",
    "no_single_regency": "{province} (tanpa satu kabupaten/kota)",
    # Breadcrumb and headings
    "crumb_label": "Anda di sini",
    "crumb_home": "Indonesia",
    "view_overview": "Seluruh Indonesia",
    "view_year": "Tahun anggaran {year}",
    "heading_period": "{place}, tahun anggaran {period}",
    # Headline cards
    "cards_label": "Angka utama",
    "card_savings": "Penghematan",
    "card_rate_pagu": "{rate} dari pagu",
    "card_rate_hps": "{rate} dari HPS",
    "card_pagu": "Total pagu",
    "card_hps": "Total HPS",
    "card_kontrak": "Total nilai kontrak",
    "card_counted_note": "paket yang dihitung",
    "card_packages": "Paket yang dihitung",
    "coverage": "{n} dari {total} paket punya kontrak",
    "coverage_hps": "{n} dari {total} paket punya HPS dan kontrak",
    "excluded_note": "{n} paket tidak wajar dikeluarkan",
    "included_note": "{n} paket yang ditandai tidak wajar ikut dihitung",
    # Charts
    "chart_province": "{measure} per provinsi, {period} ({unit})",
    "chart_regency": "{measure} per kabupaten/kota di {place}, {period} ({unit})",
    "chart_year": "{measure} per tahun anggaran, {period} ({unit})",
    "chart_method": "{measure} per metode pemilihan, {period} ({unit})",
    "chart_category": "{measure} per jenis pengadaan, {period} ({unit})",
    "axis_savings": "Penghematan ({unit})",
    "measure_pagu": "Penghematan",
    "measure_hps": "Penghematan terhadap HPS",
    "axis_year": "Tahun anggaran",
    "hover_savings": "Penghematan",
    "hover_rate": "Persentase",
    "hover_pagu": "Pagu",
    "hover_hps": "HPS",
    "hover_kontrak": "Nilai kontrak",
    "hover_contracted": "Paket dihitung",
    "chart_hint_click": "Klik batang, atau tautan di tabel di bawahnya, untuk melihat rinciannya.",
    "chart_table": "Tabel data grafik ini",
    "chart_empty": "Tidak ada penghematan yang bisa dihitung untuk grafik ini dengan pilihan "
                   "sekarang.",
    "unplaced_note": "{n} paket tanpa provinsi yang dikenali tidak tampil di grafik ini, tetapi "
                     "tetap dihitung dalam total.",
    "negative_note": "Batang merah: nilai kontrak melebihi {basis} (penghematan negatif).",
    # Tables
    "col_name": "Nama paket",
    "col_code": "Kode",
    "col_year": "Tahun",
    "col_pagu": "Pagu",
    "col_hps": "HPS",
    "col_kontrak": "Nilai kontrak",
    "col_savings": "Penghematan",
    "col_rate": "Persentase",
    "col_flags": "Tanda",
    "col_satker": "Satuan kerja (satker)",
    "col_klpd": "Instansi (K/L/PD)",
    "col_contracted": "Dihitung",
    "col_group": "Kelompok",
    "packages_title": "Daftar paket, {period}",
    "packages_title_satker": "Paket {satker} ({klpd}), {period}",
    "packages_count": "Menampilkan {first}–{last} dari {total} paket.",
    "packages_none": "Tidak ada paket untuk pilihan ini.",
    "page_nav": "Halaman daftar paket",
    "prev": "‹ Sebelumnya",
    "next": "Berikutnya ›",
    "sort_label": "Urutkan:",
    "sort_hemat": "penghematan terbesar",
    "sort_pagu": "pagu terbesar",
    "sort_kontrak": "nilai kontrak terbesar",
    "sort_tahun": "tahun terbaru",
    "sort_nama": "nama paket (A–Z)",
    "satker_title": "15 satuan kerja dengan penghematan terbesar, {period}",
    "satker_none": "Tidak ada satuan kerja untuk pilihan ini.",
    "satker_all": "Semua satker",
    "excluded_mark": "dikeluarkan dari total",
    "no_contract": "belum ada kontrak",
    "none_counted": "tidak ada paket yang dihitung di baris ini",
    # Flags (codes from etl.quality.FLAGS)
    "flag_kontrak_sangat_tinggi": "Kontrak jauh di atas HPS/pagu (salah ketik)",
    "flag_kontrak_sangat_rendah": "Kontrak jauh di bawah HPS (digit hilang)",
    "flag_nilai_tidak_positif": "Nilai nol atau negatif",
    "flag_presisi_hilang": "Angka dirusak Excel (digit hilang)",
    "flag_kontrak_di_atas_hps": "Kontrak di atas HPS",
    "flag_hemat_tinggi_vs_hps": "Penghematan terhadap HPS tinggi, tidak biasa",
    "flag_hemat_tinggi_vs_pagu": "Penghematan terhadap pagu tinggi, tidak biasa",
    "flag_tanpa_pagu": "Pagu tidak ada",
    "flag_tanpa_hps": "HPS tidak ada",
    "flag_tanpa_kontrak": "Belum ada nilai kontrak",
    # Definitions
    "def_title": "Cara membaca angka ini",
    "def_savings_pagu": "Penghematan = pagu − nilai kontrak. Pagu adalah batas anggaran paket "
                        "(dari rencana umum pengadaan); nilai kontrak adalah nilai yang "
                        "disepakati dengan penyedia. Ini cara LKPP dan pemerintah daerah "
                        "melaporkan efisiensi.",
    "def_savings_hps": "Penghematan terhadap HPS = HPS − nilai kontrak. HPS (Harga Perkiraan "
                       "Sendiri) adalah perkiraan harga oleh pemilik pekerjaan; analis risiko "
                       "memakai dasar ini.",
    "def_basis_now": "Dasar yang dipakai sekarang: {basis}.",
    "def_counted": "Hanya paket yang punya pagu dan nilai kontrak yang dihitung: {n} dari "
                   "{total} paket untuk pilihan ini.",
    "def_counted_hps": "Dengan dasar HPS, hanya paket yang punya HPS dan nilai kontrak yang "
                       "dihitung: {n} dari {total} paket untuk pilihan ini.",
    "def_year": "Paket dikelompokkan menurut tahun anggaran, bukan tanggal pengumuman.",
    "def_nontender": "Pada non-tender, pagu kadang batas satu rencana yang dibagi beberapa "
                     "paket, sehingga penghematan terhadap pagu bisa tampak besar; di sana HPS "
                     "adalah dasar yang lebih aman.",
    "def_excluded": "{n} paket berkontrak ditandai tidak wajar (misalnya nilai kontrak 10× HPS "
                    "karena salah ketik) dan dikeluarkan dari total. Centang “Ikutkan paket "
                    "yang ditandai tidak wajar” untuk ikut menghitungnya.",
    "def_excluded_none": "Tidak ada paket berkontrak yang ditandai tidak wajar untuk pilihan ini.",
    "def_included": "{n} paket yang ditandai tidak wajar ikut dihitung karena Anda memilihnya.",
    "def_reasons": "Alasan (satu paket bisa punya lebih dari satu alasan):",
    "def_source": "Sumber: ekspor data terbuka LKPP (SPSE/LPSE) yang dimuat ke basis data hemat.",
    # Messages
    "loading": "Memuat…",
    "empty_db_title": "Belum ada data",
    "empty_db": "Basis data ini belum berisi paket. Muat ekspor LPSE dengan perintah "
                "“hemat load BERKAS” (atau “hemat demo” untuk data contoh), lalu muat ulang "
                "halaman ini. Jika data sedang dimuat, tunggu sampai selesai.",
    "no_match_title": "Tidak ada paket untuk pilihan ini",
    "no_match": "Ubah filter di atas, atau hapus semuanya.",
    "no_contracted": "Ada {total} paket, tetapi belum ada yang punya pagu dan nilai kontrak, "
                     "jadi penghematan belum bisa dihitung.",
    "db_error_title": "Basis data belum siap",
    "db_error": "Basis data tidak dapat dibaca saat ini: mungkin sedang dimuat atau belum "
                "dibuat. Tunggu sebentar, lalu muat ulang halaman. Jika masalah berlanjut, "
                "muat data dengan “hemat load BERKAS”.",
    "slot_error": "Bagian ini tidak dapat ditampilkan saat ini. Muat ulang halaman sebentar lagi.",
    "not_found_title": "Halaman tidak ditemukan",
    "not_found": "Alamat ini tidak dikenal.",
    "back_home": "Kembali ke ringkasan seluruh Indonesia",
}

EN = {
    # Frame
    "app_title": "E-procurement Savings",
    "app_subtitle": "How much governments save through LPSE/SPSE: pagu or HPS compared with "
                    "the contract value.",
    "doc_title": "hemat · Procurement Savings",
    "skip_link": "Skip to content",
    "noscript": "This dashboard needs JavaScript. Please enable JavaScript in your browser.",
    "lang_nav": "Choose language",
    "filters_title": "Filters",
    "year_from": "Budget year from",
    "year_to": "to",
    "year_any": "All years",
    "kind": "Package type",
    "kind_all": "All",
    "kind_tender": "Tender",
    "kind_nontender": "Non-tender",
    "method": "Procurement method",
    "method_all": "All methods",
    "category": "Procurement category",
    "category_all": "All categories",
    "funding": "Funding source",
    "funding_all": "All funding sources",
    "basis": "Savings basis",
    "basis_pagu": "Pagu − contract value",
    "basis_hps": "HPS − contract value",
    "flagged": "Include packages flagged as implausible",
    "reset": "Clear all filters",
    "download": "Download Excel",
    "download_hint": "Download the figures of this view (with the chosen filters) as an Excel "
                     "file.",
    "download_unavailable": "Excel download is not available in this version yet.",
    "download_failed": "The download failed. Please try again in a moment.",
    "dd_select_all": "Select all",
    "dd_deselect_all": "Deselect all",
    "dd_selected_count": "{num_selected} selected",
    "dd_search": "Search",
    "dd_clear_search": "Clear search",
    "dd_clear_selection": "Clear selection",
    "dd_no_options": "No options found",
    # Groups and labels of data values
    "cat_barang": "Goods",
    "cat_konstruksi": "Construction",
    "cat_konsultansi": "Consultancy",
    "cat_jasa_lainnya": "Other services",
    "cat_unresolved": "Unknown category",
    "no_year": "No year",
    "unknown": "Unknown",
    "no_single_regency": "{province} (no single regency/city)",
    # Breadcrumb and headings
    "crumb_label": "You are here",
    "crumb_home": "Indonesia",
    "view_overview": "All of Indonesia",
    "view_year": "Budget year {year}",
    "heading_period": "{place}, budget years {period}",
    # Headline cards
    "cards_label": "Key figures",
    "card_savings": "Savings",
    "card_rate_pagu": "{rate} of pagu",
    "card_rate_hps": "{rate} of HPS",
    "card_pagu": "Total pagu",
    "card_hps": "Total HPS",
    "card_kontrak": "Total contract value",
    "card_counted_note": "counted packages",
    "card_packages": "Packages counted",
    "coverage": "{n} of {total} packages have a contract",
    "coverage_hps": "{n} of {total} packages have an HPS and a contract",
    "excluded_note": "{n} implausible package(s) left out",
    "included_note": "{n} packages flagged as implausible are counted",
    # Charts
    "chart_province": "{measure} by province, {period} ({unit})",
    "chart_regency": "{measure} by regency/city in {place}, {period} ({unit})",
    "chart_year": "{measure} by budget year, {period} ({unit})",
    "chart_method": "{measure} by procurement method, {period} ({unit})",
    "chart_category": "{measure} by procurement category, {period} ({unit})",
    "axis_savings": "Savings ({unit})",
    "measure_pagu": "Savings",
    "measure_hps": "Savings against HPS",
    "axis_year": "Budget year",
    "hover_savings": "Savings",
    "hover_rate": "Share",
    "hover_pagu": "Pagu",
    "hover_hps": "HPS",
    "hover_kontrak": "Contract value",
    "hover_contracted": "Packages counted",
    "chart_hint_click": "Click a bar, or a link in the table below it, to see its details.",
    "chart_table": "Data table of this chart",
    "chart_empty": "No savings can be computed for this chart with the current choices.",
    "unplaced_note": "{n} packages without a recognised province are not in this chart, but "
                     "they are counted in the totals.",
    "negative_note": "Red bars: the contract value exceeds the {basis} (negative savings).",
    # Tables
    "col_name": "Package name",
    "col_code": "Code",
    "col_year": "Year",
    "col_pagu": "Pagu",
    "col_hps": "HPS",
    "col_kontrak": "Contract value",
    "col_savings": "Savings",
    "col_rate": "Share",
    "col_flags": "Flags",
    "col_satker": "Work unit (satker)",
    "col_klpd": "Buyer (K/L/PD)",
    "col_contracted": "Counted",
    "col_group": "Group",
    "packages_title": "Packages, {period}",
    "packages_title_satker": "Packages of {satker} ({klpd}), {period}",
    "packages_count": "Showing {first}–{last} of {total} packages.",
    "packages_none": "No packages for these choices.",
    "page_nav": "Package list pages",
    "prev": "‹ Previous",
    "next": "Next ›",
    "sort_label": "Sort by:",
    "sort_hemat": "largest savings",
    "sort_pagu": "largest pagu",
    "sort_kontrak": "largest contract value",
    "sort_tahun": "latest year",
    "sort_nama": "package name (A–Z)",
    "satker_title": "The 15 work units with the largest savings, {period}",
    "satker_none": "No work units for these choices.",
    "satker_all": "All work units",
    "excluded_mark": "left out of totals",
    "no_contract": "no contract yet",
    "none_counted": "no package counted in this row",
    # Flags
    "flag_kontrak_sangat_tinggi": "Contract far above HPS/pagu (typo)",
    "flag_kontrak_sangat_rendah": "Contract far below HPS (digit lost)",
    "flag_nilai_tidak_positif": "Zero or negative value",
    "flag_presisi_hilang": "Number damaged by Excel (digits lost)",
    "flag_kontrak_di_atas_hps": "Contract above HPS",
    "flag_hemat_tinggi_vs_hps": "Unusually high savings against HPS",
    "flag_hemat_tinggi_vs_pagu": "Unusually high savings against pagu",
    "flag_tanpa_pagu": "No pagu",
    "flag_tanpa_hps": "No HPS",
    "flag_tanpa_kontrak": "No contract value yet",
    # Definitions
    "def_title": "How to read these figures",
    "def_savings_pagu": "Savings = pagu − contract value. Pagu is the package's budget ceiling "
                        "(from the procurement plan); the contract value is what was agreed "
                        "with the supplier. LKPP and regional governments report efficiency "
                        "this way.",
    "def_savings_hps": "Savings against HPS = HPS − contract value. HPS (Harga Perkiraan "
                       "Sendiri) is the owner's price estimate; risk analysts use this basis.",
    "def_basis_now": "Basis used now: {basis}.",
    "def_counted": "Only packages with both a pagu and a contract value count: {n} of {total} "
                   "packages for these choices.",
    "def_counted_hps": "On the HPS basis only packages with an HPS and a contract value count: "
                       "{n} of {total} packages for these choices.",
    "def_year": "Packages are grouped by budget year, not by announcement date.",
    "def_nontender": "For non-tender packages the pagu is sometimes the ceiling of a whole plan "
                     "shared by several packages, so savings against pagu can look large; HPS "
                     "is the safer basis there.",
    "def_excluded": "{n} contracted packages are flagged as implausible (for example a "
                    "contract 10× its HPS through a typo) and left out of the totals. Tick "
                    "“Include packages flagged as implausible” to count them.",
    "def_excluded_none": "No contracted package is flagged as implausible for these choices.",
    "def_included": "{n} packages flagged as implausible are counted because you chose so.",
    "def_reasons": "Reasons (one package can have more than one):",
    "def_source": "Source: LKPP open-data exports (SPSE/LPSE) loaded into the hemat database.",
    # Messages
    "loading": "Loading…",
    "empty_db_title": "No data yet",
    "empty_db": "This database holds no packages yet. Load LPSE exports with the command "
                "“hemat load FILE” (or “hemat demo” for sample data), then reload this page. "
                "If data is being loaded, wait until it is done.",
    "no_match_title": "No packages for these choices",
    "no_match": "Change the filters above, or clear them all.",
    "no_contracted": "There are {total} packages, but none has both a pagu and a contract "
                     "value yet, so savings cannot be computed.",
    "db_error_title": "The database is not ready",
    "db_error": "The database cannot be read right now: it may be loading or not created yet. "
                "Wait a moment, then reload the page. If this persists, load data with "
                "“hemat load FILE”.",
    "slot_error": "This part cannot be shown right now. Reload the page in a moment.",
    "not_found_title": "Page not found",
    "not_found": "This address is not known.",
    "back_home": "Back to the summary of all Indonesia",
}

TEXTS = {"id": ID, "en": EN}


def lang_or_default(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: str | None = None, **values) -> str:
    """The text KEY in LANG (Indonesian when LANG is unknown), with {values} filled in."""
    text = TEXTS[lang_or_default(lang)][key]
    return text.format(**values) if values else text


def dropdown_labels(lang: str) -> dict:
    """The texts inside dcc.Dropdown (Dash shows English ones otherwise)."""
    keys = ("select_all", "deselect_all", "selected_count", "search", "clear_search",
            "clear_selection")
    labels = {k: t(f"dd_{k}", lang) for k in keys}
    labels["no_options_found"] = t("dd_no_options", lang)
    return labels
