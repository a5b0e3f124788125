"""Plausibility flags: which packages look wrong, and which stay out of the savings totals.

Each rule is a SQL condition over a package's money columns (whole sen), so flags are
computed where the packages are, for a million of them at once. A rule with excludes=True marks
an implausible package: kept and shown, but left out of default totals. The others mark
unusual but possible packages, which stay in the totals.
"""

import os
import re
from dataclasses import dataclass, fields

from sqlalchemy import ColumnElement, String, Text, case, cast, false, func, literal, or_, true
from sqlalchemy.sql.expression import literal_column

from .clean import in_english


@dataclass(frozen=True)
class Thresholds:
    """Settings; each can be overridden by an environment variable HEMAT_<NAME upper-case>."""

    # Contract above this multiple of HPS (or pagu) is a typo, e.g. 10x or 1000x: excluded.
    implausible_high_ratio: float = 1.5
    # Contract below this fraction of HPS is a typo the other way (a digit lost): excluded.
    implausible_low_ratio: float = 0.1
    # Savings at or above these fractions are unusual (ICW: >= 20 % vs HPS is high risk;
    # ProZorro: >= 30 % below the estimate): flagged, kept in totals.
    unusual_savings_vs_hps: float = 0.20
    unusual_savings_vs_pagu: float = 0.30

    @classmethod
    def from_env(cls) -> "Thresholds":
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"HEMAT_{f.name.upper()}")
            if raw:
                values[f.name] = float(raw)
        return cls(**values)


@dataclass(frozen=True)
class Rule:
    flag: str
    excludes: bool
    condition: ColumnElement  # true or false, never NULL
    detail: ColumnElement  # the reason a person reads, in Bahasa Indonesia


def _holds(condition) -> ColumnElement:
    """A condition that is false where SQL would say NULL (a missing value)."""
    return case((condition, true()), else_=false())


def _only_if(guard, condition) -> ColumnElement:
    """_holds(CONDITION), evaluated only where GUARD holds."""
    return case((guard, _holds(condition)), else_=false())


def _text(value: str) -> ColumnElement:
    return literal(value, String)


def _decimal(expr, digits: int = 1) -> ColumnElement:
    """A number as Indonesians write it: 9,9 (numeric arithmetic in both databases)."""
    return func.replace(cast(func.round(expr, digits), Text), ".", ",")


def _ratio(a, b) -> ColumnElement:
    return a * literal_column("1.0") / func.nullif(b, 0)


def _pct(expr) -> ColumnElement:
    return _decimal(expr * literal_column("100.0")) + _text("%")


def rules(m, t: Thresholds | None = None) -> list[Rule]:
    """The flag rules over columns pagu, hps, kontrak (sen) and precision_lost of M."""
    t = t or Thresholds.from_env()
    pagu, hps, kontrak = m.pagu, m.hps, m.kontrak
    # A zero or negative base is its own flag; a ratio against it means nothing. In each
    # condition the test that holds for few packages comes first: SQLite stops an AND at its
    # first false part, and the merge of a national load tries every rule on every package.
    # (The order changes no result; PostgreSQL does not promise to keep it.)
    high_hps = _holds((kontrak > hps * t.implausible_high_ratio) & (hps > 0))
    high_pagu = _holds((kontrak > pagu * t.implausible_high_ratio) & (pagu > 0))
    high = or_(high_hps, high_pagu)
    low = _holds((kontrak < hps * t.implausible_low_ratio) & (kontrak > 0))
    nonpositive = _holds(or_(pagu <= 0, hps <= 0, kontrak <= 0))
    plausible = ~or_(high, low, nonpositive)
    # Savings are subtracted only between two positive amounts, checked in a CASE, whose
    # order PostgreSQL keeps: a difference past its bigint would fail the load (the amount
    # limit in clean.SEN_LIMIT keeps new rows far from that; older databases may not be).
    positive_hps, positive_pagu = (hps > 0) & (kontrak > 0), (pagu > 0) & (kontrak > 0)
    base = case((high_hps, _text("HPS")), else_=_text("pagu"))
    ratio = case((high_hps, _ratio(kontrak, hps)), else_=_ratio(kontrak, pagu))
    limit_hps, limit_pagu = (f"{x * 100:.0f}%" for x in
                             (t.unusual_savings_vs_hps, t.unusual_savings_vs_pagu))
    return [
        Rule("nilai_tidak_positif", True, nonpositive,
             _text("Pagu, HPS atau nilai kontrak nol atau negatif")),
        Rule("kontrak_sangat_tinggi", True, _holds(high),
             _text("Nilai kontrak ") + _decimal(ratio) + _text("× ") + base
             + _text(": hampir pasti salah ketik")),
        Rule("kontrak_sangat_rendah", True, low,
             _text("Nilai kontrak hanya ") + _pct(_ratio(kontrak, hps))
             + _text(" dari HPS: kemungkinan digit hilang")),
        Rule("presisi_hilang", True, _holds(m.precision_lost.isnot(None)),
             _text("Angka dirusak Excel (") + m.precision_lost
             + _text("): digit hilang, nilai tidak pasti")),
        # (Above a zero or negative HPS is the nonpositive flag, with no ratio to state.)
        Rule("kontrak_di_atas_hps", False, _holds(and_not((kontrak > hps) & (hps > 0), high)),
             _text("Nilai kontrak di atas HPS (") + _pct(_ratio(kontrak, hps))
             + _text(" dari HPS)")),
        Rule("hemat_tinggi_vs_hps", False,
             _only_if(positive_hps,
                      (hps - kontrak >= hps * t.unusual_savings_vs_hps) & plausible),
             _text("Penghematan ") + _pct(_ratio(hps - kontrak, hps))
             + _text(f" terhadap HPS (>= {limit_hps}): tidak biasa")),
        Rule("hemat_tinggi_vs_pagu", False,
             _only_if(positive_pagu,
                      (pagu - kontrak >= pagu * t.unusual_savings_vs_pagu) & plausible),
             _text("Penghematan ") + _pct(_ratio(pagu - kontrak, pagu))
             + _text(f" terhadap pagu (>= {limit_pagu}): tidak biasa")),
        Rule("tanpa_pagu", False, _holds(pagu.is_(None)), _text("Pagu tidak ada")),
        Rule("tanpa_hps", False, _holds(hps.is_(None)), _text("HPS tidak ada")),
        Rule("tanpa_kontrak", False, _holds(kontrak.is_(None)), _text("Belum ada nilai kontrak")),
    ]


# The details above as English readers get them (an export in English): each Indonesian
# form, its parts named, and the English form; numbers written 9,9 become 9.9.
_ENGLISH_DETAILS = [(re.compile(pattern), english) for pattern, english in (
    (r"Pagu, HPS atau nilai kontrak nol atau negatif",
     "Pagu, HPS or contract value zero or negative"),
    (r"Nilai kontrak (?P<n>\S+)× (?P<base>HPS|pagu): hampir pasti salah ketik",
     "Contract value {n}× {base}: almost certainly a typo"),
    (r"Nilai kontrak hanya (?P<n>\S+%) dari HPS: kemungkinan digit hilang",
     "Contract value only {n} of HPS: digits probably lost"),
    (r"Angka dirusak Excel \((?P<columns>.*)\): digit hilang, nilai tidak pasti",
     "Number damaged by Excel ({columns}): digits lost, value uncertain"),
    (r"Nilai kontrak di atas HPS \((?P<n>\S+%) dari HPS\)",
     "Contract value above HPS ({n} of HPS)"),
    (r"Penghematan (?P<n>\S+%) terhadap (?P<base>HPS|pagu) \(>= (?P<limit>\S+%)\): tidak biasa",
     "Savings of {n} against {base} (>= {limit}): unusual"),
    (r"Pagu tidak ada", "No pagu"),
    (r"HPS tidak ada", "No HPS"),
    (r"Belum ada nilai kontrak", "No contract value yet"),
)]


# Where the next of several joined details starts (not at a "; " inside a column's name):
# at the words each detail above begins with.
_NEXT_DETAIL = re.compile("; (?=" + "|".join(
    re.escape(re.match(r"[^\\(]*", p.pattern).group()) for p, _ in _ENGLISH_DETAILS) + ")")


def details_in_english(text: str) -> str:
    """Flag details as stored (Indonesian, several joined by "; ") in English; a text that is
    no detail of these rules stays as it is."""
    return "; ".join(map(_detail_in_english, _NEXT_DETAIL.split(text)))


def _detail_in_english(detail: str) -> str:
    return in_english(detail, _ENGLISH_DETAILS, _numbers_with_points) or detail


def _numbers_with_points(parts: dict) -> dict:
    return {**parts, "n": parts["n"].replace(",", ".")} if "n" in parts else parts


def stored_rules(m, t: Thresholds | None = None) -> list[Rule]:
    """The rules whose flags are stored in package_flags (missing values are counted from
    packages directly)."""
    return [r for r in rules(m, t) if not r.flag.startswith("tanpa_")]


def and_not(condition, unless) -> ColumnElement:
    return condition & ~unless


def excluded(all_rules: list[Rule]) -> ColumnElement:
    """True where any excluding rule holds."""
    return _holds(or_(*(r.condition for r in all_rules if r.excludes)))


def flag_names(all_rules: list[Rule]) -> ColumnElement:
    """'kontrak_sangat_tinggi,hemat_tinggi_vs_hps' or NULL (missing values are not listed)."""
    parts = [case((r.condition, _text(r.flag + ",")), else_=_text(""))
             for r in all_rules if not r.flag.startswith("tanpa_")]
    joined = parts[0]
    for p in parts[1:]:
        joined = joined + p
    return func.nullif(func.rtrim(joined, ","), "")
