"""Plausibility flags: which packages look wrong, and which stay out of the savings totals.

Flags are computed per merged package from its money columns (in whole sen). A flag with
`excludes=True` marks an implausible package: it is kept and shown, but left out of default
totals. The others mark unusual but possible packages: they stay in the totals.
"""

import os
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd


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


# code → (excludes from totals, text a person reads); {…} are filled per package.
FLAGS = {
    "kontrak_sangat_tinggi": (True, "Nilai kontrak {ratio}× {base}: hampir pasti salah ketik"),
    "kontrak_sangat_rendah": (True, "Nilai kontrak hanya {pct} dari HPS: kemungkinan digit hilang"),
    "nilai_tidak_positif": (True, "Pagu, HPS atau nilai kontrak nol atau negatif"),
    "presisi_hilang": (True, "Angka dirusak Excel ({columns}): digit hilang, nilai tidak pasti"),
    "kontrak_di_atas_hps": (False, "Nilai kontrak di atas HPS ({pct} dari HPS)"),
    "hemat_tinggi_vs_hps": (False, "Penghematan {pct} terhadap HPS (>= {limit}): tidak biasa"),
    "hemat_tinggi_vs_pagu": (False, "Penghematan {pct} terhadap pagu (>= {limit}): tidak biasa"),
    "tanpa_pagu": (False, "Pagu tidak ada"),
    "tanpa_hps": (False, "HPS tidak ada"),
    "tanpa_kontrak": (False, "Belum ada nilai kontrak"),
}


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%".replace(".", ",")


def compute_flags(frame: pd.DataFrame, t: Thresholds | None = None) -> pd.DataFrame:
    """One row per (package, flag): columns kind, code, flag, excludes, detail.

    FRAME has kind, code, pagu, hps, kontrak (whole sen, nullable) and precision_lost.
    """
    t = t or Thresholds.from_env()
    pagu, hps, kontrak = (_floats(frame[c]) for c in ("pagu", "hps", "kontrak"))
    lost = frame["precision_lost"].fillna("").astype(str).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        vs_hps, vs_pagu = kontrak / hps, kontrak / pagu
    nonpositive = (pagu <= 0) | (hps <= 0) | (kontrak <= 0)
    high = (vs_hps > t.implausible_high_ratio) | (vs_pagu > t.implausible_high_ratio)
    low = vs_hps < t.implausible_low_ratio
    plausible = ~(high | low | nonpositive)
    high_base_hps = np.nan_to_num(vs_hps) >= np.nan_to_num(vs_pagu)
    masks = {
        "nilai_tidak_positif": (nonpositive, lambda i: {}),
        "kontrak_sangat_tinggi": (high, lambda i: {
            "ratio": _num(vs_hps[i] if high_base_hps[i] else vs_pagu[i]),
            "base": "HPS" if high_base_hps[i] else "pagu"}),
        "kontrak_sangat_rendah": (low, lambda i: {"pct": _pct(vs_hps[i])}),
        "presisi_hilang": (lost != "", lambda i: {"columns": lost[i]}),
        "kontrak_di_atas_hps": ((vs_hps > 1) & ~high, lambda i: {"pct": _pct(vs_hps[i])}),
        "hemat_tinggi_vs_hps": (plausible & (1 - vs_hps >= t.unusual_savings_vs_hps),
                                lambda i: {"pct": _pct(1 - vs_hps[i]),
                                           "limit": _pct(t.unusual_savings_vs_hps)}),
        "hemat_tinggi_vs_pagu": (plausible & (1 - vs_pagu >= t.unusual_savings_vs_pagu),
                                 lambda i: {"pct": _pct(1 - vs_pagu[i]),
                                            "limit": _pct(t.unusual_savings_vs_pagu)}),
        "tanpa_pagu": (np.isnan(pagu), lambda i: {}),
        "tanpa_hps": (np.isnan(hps), lambda i: {}),
        "tanpa_kontrak": (np.isnan(kontrak), lambda i: {}),
    }
    parts = [_flag_rows(frame, flag, mask, args) for flag, (mask, args) in masks.items()]
    return pd.concat(parts, ignore_index=True)


def _flag_rows(frame: pd.DataFrame, flag: str, mask: np.ndarray, args) -> pd.DataFrame:
    idx = np.flatnonzero(mask)
    excludes, template = FLAGS[flag]
    if "{" in template:
        details = [template.format(**args(i)) for i in idx]
    else:
        details = [template] * len(idx)
    return pd.DataFrame({
        "kind": frame["kind"].to_numpy()[idx], "code": frame["code"].to_numpy()[idx],
        "flag": flag, "excludes": excludes, "detail": details,
    })


def _floats(series: pd.Series) -> np.ndarray:
    return series.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _num(x: float) -> str:
    return f"{x:,.1f}".replace(",", " ").replace(".", ",")
