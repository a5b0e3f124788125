"""What the address bar says: which view, which filters, which language.

The URL is the whole state of the dashboard, so a copied link reproduces the view:
`/provinsi/32?tahun=2023-2025&jenis=tender&dasar=hps&lang=en`.

Views: `/` (Indonesia), `/provinsi/<kode>` (a province), `/kabkota/<kode>` (a regency or
city), `/tahun/<tahun>` (a budget year). Pages are plain modules with a `layout` function
rather than dash.register_page: the page registry and global callbacks of Dash are
process-wide, and create_app must be able to build several apps (one per database).
"""

import re
import time
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlencode

from dashboard import queries as q
from dashboard.i18n import DEFAULT_LANG, LANGS

PATHS = {"province": "/provinsi/", "regency": "/kabkota/", "year": "/tahun/"}
CODE_PATTERNS = {"province": r"\d{2}", "regency": r"\d{2}\.\d{2}", "year": r"\d{4}"}
KINDS = ("tender", "non-tender")


@dataclass(frozen=True)
class ViewState:
    view: str = "overview"  # overview / province / regency / year / notfound
    code: str | None = None  # "32", "32.04" or "2024"
    lang: str = DEFAULT_LANG
    year_from: int | None = None
    year_to: int | None = None
    kind: str | None = None
    methods: tuple[str, ...] = ()
    cat_groups: tuple[str, ...] = ()
    fundings: tuple[str, ...] = ()
    basis: str = "pagu"
    flagged: bool = False
    satker: str | None = None
    page: int = 1
    sort: str = "hemat"

    @classmethod
    def from_url(cls, pathname: str | None, search: str | None) -> "ViewState":
        view, code = _route(pathname or "/")
        args = parse_qs((search or "").lstrip("?"))

        def one(key):
            values = args.get(key)
            return values[0].strip() if values and values[0].strip() else None

        year_from, year_to = _years(one("tahun"))
        return cls(
            view=view, code=code,
            lang=one("lang") if one("lang") in LANGS else DEFAULT_LANG,
            year_from=year_from, year_to=year_to,
            kind=one("jenis") if one("jenis") in KINDS else None,
            methods=tuple(args.get("metode", ())),
            cat_groups=tuple(g for g in args.get("kategori", ()) if g in q.CATEGORY_GROUPS),
            fundings=tuple(args.get("dana", ())),
            basis="hps" if one("dasar") == "hps" else "pagu",
            flagged=one("tanda") == "1",
            satker=one("satker"),
            page=max(1, int(one("hal"))) if (one("hal") or "").isdigit() else 1,
            sort=one("urut") if one("urut") in q.PACKAGE_SORTS else "hemat",
        )

    def with_(self, **changes) -> "ViewState":
        return replace(self, **changes)

    @property
    def path(self) -> str:
        return PATHS[self.view] + self.code if self.view in PATHS else "/"

    @property
    def search(self) -> str:
        """The query string for this state; defaults are left out, so links stay short."""
        pairs = []
        if self.year_from or self.year_to:
            a, b = self.year_from or self.year_to, self.year_to or self.year_from
            pairs.append(("tahun", str(a) if a == b else f"{min(a, b)}-{max(a, b)}"))
        if self.kind:
            pairs.append(("jenis", self.kind))
        pairs += [("metode", m) for m in self.methods]
        pairs += [("kategori", g) for g in self.cat_groups]
        pairs += [("dana", d) for d in self.fundings]
        if self.basis == "hps":
            pairs.append(("dasar", "hps"))
        if self.flagged:
            pairs.append(("tanda", "1"))
        if self.satker:
            pairs.append(("satker", self.satker))
        if self.sort != "hemat":
            pairs.append(("urut", self.sort))
        if self.page > 1:
            pairs.append(("hal", str(self.page)))
        if self.lang != DEFAULT_LANG:
            pairs.append(("lang", self.lang))
        return "?" + urlencode(pairs) if pairs else ""

    def href(self, **changes) -> str:
        state = self.with_(**changes) if changes else self
        return state.path + state.search

    def drill(self, view: str, code: str | None) -> "ViewState":
        """The state of another view with the same filters (page-level choices reset).

        A year view's year becomes the year filter of the view it leads to, and the year
        filter gives way to the year of a year view.
        """
        years = {}
        if self.view == "year" and view != "year":
            years = {"year_from": int(self.code), "year_to": int(self.code)}
        elif view == "year":
            years = {"year_from": None, "year_to": None}
        return self.with_(view=view, code=code, satker=None, page=1, sort="hemat", **years)

    def filters(self, options: dict) -> q.Filters:
        """The query filters of this state; OPTIONS (filter_options) resolve years and groups."""
        years = ()
        if self.view == "year":
            years = (int(self.code),)
        elif self.year_from or self.year_to:
            lo, hi = sorted((self.year_from or self.year_to, self.year_to or self.year_from))
            years = tuple(y for y in options["years"] if lo <= y <= hi) or (lo,)
        categories = ()
        if self.cat_groups:
            # A group with no matching category must select nothing, not everything: the
            # group keys never equal a real category, so they stand in.
            categories = tuple(c for c in options["categories"]
                               if q.category_group(c) in self.cat_groups) or self.cat_groups
        return q.Filters(
            years=years, kind=self.kind,
            provinces=(self.code,) if self.view == "province" else (),
            regencies=(self.code,) if self.view == "regency" else (),
            methods=self.methods, categories=categories, fundings=self.fundings,
            include_flagged=self.flagged)


def _route(pathname: str) -> tuple[str, str | None]:
    path = "/" + pathname.strip("/")
    if path == "/":
        return "overview", None
    for view, prefix in PATHS.items():
        if path.startswith(prefix):
            code = path[len(prefix):]
            if re.fullmatch(CODE_PATTERNS[view], code):
                return view, code
    return "notfound", None


def _years(text: str | None) -> tuple[int | None, int | None]:
    found = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", text or "")
    if not found:
        return None, None
    a = int(found.group(1))
    b = int(found.group(2)) if found.group(2) else a
    return min(a, b), max(a, b)


_OPTIONS: dict = {}
OPTIONS_TTL = 30.0  # seconds between checks whether a load has finished since


def options(engine) -> dict:
    """filter_options, cached until a new load finishes (checked at most every 30 s)."""
    now = time.monotonic()
    cached = _OPTIONS.get(engine)
    if cached and now - cached["checked"] < OPTIONS_TTL:
        return cached["options"]
    version = q.data_version(engine)
    if not cached or cached["version"] != version:
        cached = {"version": version, "options": q.filter_options(engine)}
    cached["checked"] = now
    _OPTIONS[engine] = cached
    return cached["options"]
