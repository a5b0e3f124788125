"""Numbers as Indonesians read them: `Rp107,3 miliar`, `11,2%`, `Rp107.312.455.000,00`.

English swaps the separators and the unit words: `Rp107.3 billion`, `11.2%`. Text for a CSV
cell keeps a spreadsheet from reading it as a formula.
"""

from decimal import ROUND_HALF_UP, Decimal

# (size, Indonesian word, English word), largest first.
UNITS = (
    (Decimal(10) ** 12, "triliun", "trillion"),
    (Decimal(10) ** 9, "miliar", "billion"),
    (Decimal(10) ** 6, "juta", "million"),
)
ONE_DECIMAL = Decimal("0.1")
# Characters that make Excel or LibreOffice read a CSV cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """OWASP: a leading apostrophe keeps a spreadsheet from reading the cell as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _separators(text: str, lang: str) -> str:
    """Python's `1,234.5` → Indonesian `1.234,5` (English keeps it)."""
    if lang == "en":
        return text
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def _sign(value: Decimal) -> str:
    return "-" if value < 0 else ""


def rupiah_full(value, lang: str = "id") -> str:
    """Exact to the sen: `Rp107.312.455.000,00` (en: `Rp107,312,455,000.00`)."""
    if value is None:
        return "–"
    value = Decimal(value)
    return f"{_sign(value)}Rp{_separators(f'{abs(value):,.2f}', lang)}"


def rupiah_short(value, lang: str = "id") -> str:
    """Rounded to one decimal of the largest fitting unit: `Rp107,3 miliar`, `Rp850,5 juta`.

    Below a million the whole rupiah is shown: `Rp850.000`.
    """
    if value is None:
        return "–"
    value = Decimal(value)
    size = abs(value)
    for i, (unit, word_id, word_en) in enumerate(UNITS):
        scaled = (size / unit).quantize(ONE_DECIMAL, ROUND_HALF_UP)
        if scaled >= 1:
            if scaled >= 1000 and i > 0:  # 999,96 miliar rounds to 1.000,0 miliar: 1,0 triliun
                unit, word_id, word_en = UNITS[i - 1]
                scaled = (size / unit).quantize(ONE_DECIMAL, ROUND_HALF_UP)
            word = word_en if lang == "en" else word_id
            return f"{_sign(value)}Rp{_separators(f'{scaled:,.1f}', lang)} {word}"
    whole = size.quantize(Decimal(1), ROUND_HALF_UP)
    return f"{_sign(value)}Rp{_separators(f'{whole:,.0f}', lang)}"


def percent(rate, lang: str = "id", digits: int = 1) -> str:
    """A fraction as a percentage: 0.1118 → `11,2%` (en: `11.2%`); None → `–`."""
    if rate is None:
        return "–"
    return _separators(f"{rate * 100:,.{digits}f}%", lang)


def integer(n, lang: str = "id") -> str:
    """A count with thousands separators: 1162 → `1.162` (en: `1,162`)."""
    return _separators(f"{int(n or 0):,d}", lang)


def chart_unit(values) -> tuple[Decimal, int]:
    """The divisor and UNITS index (-1: plain rupiah) that suit a chart's largest value."""
    largest = max((abs(Decimal(v)) for v in values), default=Decimal(0))
    for i, (unit, _, _) in enumerate(UNITS):
        if largest >= unit:
            return unit, i
    return Decimal(1), -1


def unit_word(index: int, lang: str = "id") -> str:
    """`Rp miliar` for UNITS index 1 (en: `Rp billion`); plain `Rp` for -1."""
    if index < 0:
        return "Rp"
    _, word_id, word_en = UNITS[index]
    return f"Rp {word_en if lang == 'en' else word_id}"


def year_span(year_min, year_max, lang: str = "id") -> str:
    """`2023–2025`, `2024`, or the words for 'all years' when there is none."""
    if year_min is None or year_max is None:
        return "semua tahun" if lang != "en" else "all years"
    return str(year_min) if year_min == year_max else f"{year_min}–{year_max}"
