"""A small stand-in for the Dash renderer: it fires the dashboard's server-side callbacks with
the payloads a browser would POST to /_dash-update-component, in the browser's order.

It reads the callback map from /_dash-dependencies and the layout from /_dash-layout, keeps
the components each response renders, and fires a callback when one of its inputs changes or
appears (initial calls), resolving MATCH and ALL ids against the components on the page.
Clientside callbacks run in the browser and are skipped. Every POST is timed and recorded.

Transport is a function `send(method, path, body) -> (status, parsed JSON or None)`, so the
same page runs over Flask's test client (bench_callbacks) or real HTTP (load_test).
"""

import json
import random
import time
from dataclasses import dataclass, field

UPDATE = "/_dash-update-component"


def stringify_id(id_) -> str:
    """The id as Dash keys it: a string, or a dict as compact JSON with sorted keys."""
    if isinstance(id_, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(id_[k])}" for k in sorted(id_)) + "}"
    return id_


def _parse_id(text: str):
    return json.loads(text) if text.startswith("{") else text


def split_outputs(output: str) -> list[tuple[object, str]]:
    """'..a.b...c.d@hash..' → [(a, b), (c, d)] (allow_duplicate suffixes dropped)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for part in parts:
        pid, prop = part.rsplit(".", 1)
        out.append((_parse_id(pid), prop.split("@")[0]))
    return out


def _wildcard(id_) -> str | None:
    if not isinstance(id_, dict):
        return None
    for v in id_.values():
        if isinstance(v, list):
            return v[0]
    return None


def _matches(pattern: dict, id_) -> bool:
    if not isinstance(id_, dict) or set(id_) != set(pattern):
        return False
    return all(isinstance(v, list) or id_[k] == v for k, v in pattern.items())


@dataclass
class Callback:
    output: str
    outputs: list
    inputs: list  # [(id, prop)]
    state: list
    prevent_initial: bool
    name: str

    @property
    def multi(self) -> bool:
        return self.output.startswith("..")


@dataclass
class Record:
    label: str  # callback name, with the slot's name for MATCH callbacks
    seconds: float
    status: int
    path: str | None
    search: str | None


@dataclass
class Page:
    """One browser tab on the dashboard."""

    send: object
    callbacks: list
    records: list = field(default_factory=list)
    comps: dict = field(default_factory=dict)  # key → {"id", "props", "parent"}
    max_calls: int = 200
    # Callbacks (by name) not fired when their input is inserted, although the browser does:
    # the download is clicked on purpose instead (--downloads) and timed apart.
    skip_on_insert: set = field(default_factory=lambda: {"download"})

    # ---- building the component tree --------------------------------------------------------

    def open(self, path: str, search: str = "") -> None:
        """Load PATH?SEARCH as a fresh tab: the layout, then the initial callbacks."""
        self.comps = {}
        status, layout = self.send("GET", "/_dash-layout", None)
        self._check(status, "/_dash-layout")
        added = self._add(layout, None)
        url = self._url_key()
        props = self.comps[url]["props"]
        props.update(pathname=path, search=search, href=path + search, hash="")
        self._run(self._initial(added), [])

    def _url_key(self) -> str:
        for key, comp in self.comps.items():
            if comp.get("type") == "Location":
                return key
        raise RuntimeError("no dcc.Location in the layout")

    def _add(self, node, parent) -> list[str]:
        """Record the components under NODE; their keys, outermost first."""
        added = []
        if isinstance(node, list):
            for item in node:
                added += self._add(item, parent)
        elif isinstance(node, dict):
            if "props" in node and "type" in node:
                props = node["props"] or {}
                here = parent
                if props.get("id") is not None:
                    here = stringify_id(props["id"])
                    self.comps[here] = {"id": props["id"], "props": props, "parent": parent,
                                        "type": node["type"]}
                    added.append(here)
                for value in props.values():
                    if value is not props.get("id"):
                        added += self._add(value, here)
            else:
                for value in node.values():
                    added += self._add(value, parent)
        return added

    def _replace_children(self, key: str, children) -> list[str]:
        gone = [k for k in self.comps if self._under(k, key)]
        for k in gone:
            del self.comps[k]
        return self._add(children, key)

    def _under(self, key: str, ancestor: str) -> bool:
        parent = self.comps[key]["parent"]
        while parent is not None:
            if parent == ancestor:
                return True
            parent = self.comps.get(parent, {}).get("parent")
        return False

    # ---- what the user does -----------------------------------------------------------------

    def set_prop(self, id_, prop: str, value) -> None:
        """A user changes PROP of component ID (a filter, a click, a link)."""
        key = stringify_id(id_)
        if key not in self.comps:
            raise KeyError(f"component {key} is not on the page")
        self.comps[key]["props"][prop] = value
        self._run([], [(key, prop)])

    def navigate(self, href: str) -> None:
        """A dcc.Link click: the URL changes without a page load."""
        href, _, fragment = href.partition("#")
        path, _, query = href.partition("?")
        props = self.comps[self._url_key()]["props"]
        props.update(pathname=path, search=f"?{query}" if query else "", href=href,
                     hash=f"#{fragment}" if fragment else "")
        self._run([], [(self._url_key(), "pathname"), (self._url_key(), "search")])

    def find(self, type_: str) -> list:
        """The ids of pattern components {"type": TYPE, ...} on the page."""
        return [c["id"] for c in self.comps.values()
                if isinstance(c["id"], dict) and c["id"].get("type") == type_]

    def props(self, id_) -> dict:
        return self.comps[stringify_id(id_)]["props"]

    # ---- firing callbacks -------------------------------------------------------------------

    def _initial(self, added: list[str], inserted: bool = False) -> list:
        """Initial calls for callbacks whose inputs include a component just ADDED.

        As the renderer does, prevent_initial_call holds for the first layout, but a
        component INSERTED by a callback fires it unless all its outputs came in with it."""
        added = set(added)
        out = []
        for cb in self.callbacks:
            if cb.prevent_initial and (not inserted or cb.name in self.skip_on_insert):
                continue
            for binding in self._bindings(cb):
                if not any(k in added for k in self._input_keys(cb, binding)):
                    continue
                if cb.prevent_initial and self._outputs_within(cb, binding, added):
                    continue
                out.append((cb, binding, []))
        return out

    def _outputs_within(self, cb: Callback, binding: dict, added: set) -> bool:
        keys = [self._resolve(i, binding) for i, _ in cb.outputs]
        flat = [k for key in keys for k in (key if isinstance(key, list) else [key])]
        return all(k in added for k in flat)

    def _triggered(self, changed: list) -> list:
        out = []
        changed_set = set(changed)
        for cb in self.callbacks:
            for binding in self._bindings(cb):
                keys = self._input_props(cb, binding)
                hit = [f"{k}.{p}" for k, p in keys if (k, p) in changed_set]
                if hit:
                    out.append((cb, binding, hit))
        return out

    def _bindings(self, cb: Callback) -> list[dict]:
        """One binding per MATCH value present on the page ({} when the callback has none)."""
        for id_, _ in cb.inputs:
            if _wildcard(id_) == "MATCH":
                return [{k: c["id"][k] for k, v in id_.items() if isinstance(v, list)}
                        for c in self.comps.values() if _matches(id_, c["id"])]
        return [{}]

    def _resolve(self, id_, binding: dict):
        """Concrete key(s) for ID: a key, a list of keys (ALL), or None when absent."""
        kind = _wildcard(id_)
        if kind is None:
            key = stringify_id(id_)
            return key if key in self.comps else None
        pattern = {k: (binding.get(k, v) if isinstance(v, list) and v[0] == "MATCH" else v)
                   for k, v in id_.items()}
        found = [k for k, c in self.comps.items() if _matches(pattern, c["id"])]
        return found if kind == "ALL" else (found[0] if found else None)

    def _input_props(self, cb: Callback, binding: dict) -> list[tuple[str, str]]:
        out = []
        for id_, prop in cb.inputs:
            keys = self._resolve(id_, binding)
            for k in keys if isinstance(keys, list) else [keys] if keys else []:
                out.append((k, prop))
        return out

    def _input_keys(self, cb, binding) -> list[str]:
        return [k for k, _ in self._input_props(cb, binding)]

    def _payload(self, cb: Callback, binding: dict, changed: list) -> dict | None:
        def dep(id_, prop, with_value=True):
            keys = self._resolve(id_, binding)
            if keys is None:
                return None

            def one(k):
                item = {"id": self.comps[k]["id"], "property": prop}
                if with_value:
                    item["value"] = self.comps[k]["props"].get(prop)
                return item
            return [one(k) for k in keys] if isinstance(keys, list) else one(keys)

        inputs = [dep(i, p) for i, p in cb.inputs]
        state = [dep(i, p) for i, p in cb.state]
        outputs = [dep(i, p, False) for i, p in cb.outputs]
        if any(x is None for x in inputs + state + outputs):
            return None  # a component it needs is not on the page: the browser skips it too
        return {"output": cb.output, "outputs": outputs if cb.multi else outputs[0],
                "inputs": inputs, "state": state, "changedPropIds": changed}

    def _run(self, queue: list, changed: list) -> None:
        queue = _merge([], queue + self._triggered(changed))
        calls = 0
        while queue:
            cb, binding, hit = queue.pop(self._next(queue))
            body = self._payload(cb, binding, hit)
            if body is None:
                continue
            calls += 1
            if calls > self.max_calls:
                raise RuntimeError("callbacks keep firing each other (over max_calls)")
            # Like the renderer, a callback is not fired again by its own outputs.
            queue = _merge(queue, [q for q in self._call(cb, binding, body) if q[0] is not cb])

    def _next(self, queue: list) -> int:
        """The first callback none of whose inputs another queued callback will still set."""
        pending = {(stringify_id(i), p) for cb, _, _ in queue for i, p in cb.outputs}
        for n, (cb, binding, _) in enumerate(queue):
            if not set(self._input_props(cb, binding)) & pending:
                return n
        return 0

    def _call(self, cb: Callback, binding: dict, body: dict) -> list:
        url = self.comps[self._url_key()]["props"]
        start = time.perf_counter()
        status, data = self.send("POST", UPDATE, body)
        seconds = time.perf_counter() - start
        label = cb.name + (f"[{binding.get('name')}]" if binding.get("name") else "")
        self.records.append(Record(label, seconds, status, url.get("pathname"),
                                   url.get("search")))
        if status == 204 or not data:
            return []
        self._check(status, label)
        return self._apply(data.get("response", {}))

    def _apply(self, response: dict) -> list:
        added, changed = [], []
        for key, props in response.items():
            if key not in self.comps:
                continue
            for prop, value in props.items():
                self.comps[key]["props"][prop] = value
                changed.append((key, prop))
                if prop == "children":
                    added += self._replace_children(key, value)
        return self._initial(added, inserted=True) + self._triggered(changed)

    @staticmethod
    def _check(status: int, what: str) -> None:
        if status >= 400:
            raise RuntimeError(f"{what}: HTTP {status}")


def _merge(queue: list, new: list) -> list:
    """QUEUE plus NEW, a callback already waiting with the same binding merged into one call
    (the renderer does the same)."""
    for cb, binding, hit in new:
        for waiting in queue:
            if waiting[0] is cb and waiting[1] == binding:
                waiting[2].extend(h for h in hit if h not in waiting[2])
                break
        else:
            queue.append((cb, binding, list(hit)))
    return queue


def load_callbacks(send, names: dict | None = None) -> list[Callback]:
    """The server-side callbacks from /_dash-dependencies; NAMES maps output → function name."""
    status, deps = send("GET", "/_dash-dependencies", None)
    Page._check(status, "/_dash-dependencies")
    out = []
    for d in deps:
        if d.get("clientside_function"):
            continue
        inputs = [(_parse_id(i["id"]), i["property"]) for i in d["inputs"]]
        state = [(_parse_id(s["id"]), s["property"]) for s in d.get("state", [])]
        out.append(Callback(d["output"], split_outputs(d["output"]), inputs, state,
                            bool(d.get("prevent_initial_call")),
                            (names or {}).get(d["output"]) or _short(d["output"])))
    return out


def _short(output: str) -> str:
    return "+".join(f"{stringify_id(i) if not isinstance(i, dict) else i.get('type')}.{p}"
                    for i, p in split_outputs(output))


def callback_names(app) -> dict:
    """output → the callback function's name, from an app built in this process."""
    return {out: cb["callback"].__name__ for out, cb in app.callback_map.items()
            if cb.get("callback") is not None}


# ---- what people do on the dashboard ---------------------------------------------------------


def visit(page: Page, href: str, rng: random.Random, downloads: bool = False) -> None:
    """Open HREF, change one filter, now and then open a chart's data table, page the
    package list or drill into a chart, and now and then reset the filters or download the
    workbook."""
    path, _, query = href.partition("?")
    page.open(path, f"?{query}" if query else "")
    change_filter(page, rng)
    if rng.random() < 0.3:
        open_chart_table(page, rng)
    if not next_page(page):
        drill(page)
    if rng.random() < 0.2 and page.find("filter"):
        _click(page, "reset-filters")
    if downloads:
        _click(page, "download-button")


def _click(page: Page, id_: str) -> None:
    if stringify_id(id_) in page.comps:
        page.set_prop(id_, "n_clicks", 1)


def change_filter(page: Page, rng: random.Random) -> bool:
    """Pick another value in one filter control, as a person does."""
    controls = page.find("filter")
    rng.shuffle(controls)
    for id_ in controls:
        props = page.props(id_)
        values = [o["value"] if isinstance(o, dict) else o for o in props.get("options") or []]
        if not values:
            continue
        choice = rng.choice(values)
        many = props.get("multi") or isinstance(props.get("value"), list)
        new = [choice] if many else choice
        if new != props.get("value"):
            page.set_prop(id_, "value", new)
            return True
    return False


def open_chart_table(page: Page, rng: random.Random) -> bool:
    """Open the data table under one of the charts (it is filled when opened)."""
    openers = page.find("chart-open")
    if openers:
        page.set_prop(rng.choice(openers), "n_clicks", 1)
    return bool(openers)


def next_page(page: Page) -> bool:
    """Follow the package list's link to its next page, when the view has one."""
    for comp in list(page.comps.values()):
        for href in _hrefs(comp["props"].get("children")):
            if "hal=2" in href:
                page.navigate(href)
                return True
    return False


def _hrefs(node):
    if isinstance(node, list):
        for item in node:
            yield from _hrefs(item)
    elif isinstance(node, dict):
        href = (node.get("props") or {}).get("href") if "props" in node else None
        if isinstance(href, str):
            yield href
        for value in node.values():
            yield from _hrefs(value)


def drill(page: Page) -> bool:
    """Click the first bar of a chart (its customdata holds the target link)."""
    for id_ in page.find("graph"):
        figure = page.props(id_).get("figure") or {}
        for trace in figure.get("data", []):
            custom = trace.get("customdata")
            if isinstance(custom, list) and custom and custom[0] and custom[0][0]:
                page.set_prop(id_, "clickData", {"points": [{"customdata": custom[0]}]})
                return True
    return False


def scenarios(engine, n: int, rng: random.Random) -> list[str]:
    """N dashboard links over varied filters: views (Indonesia, a province, a regency, a
    year), years, kind, method, category group, funding, basis, flagged, language."""
    from dashboard import queries as q
    from dashboard.pages import ViewState, options

    opts = options(engine)
    provinces = [r.group for r in q.summary(engine, "province") if r.group != q.UNRESOLVED]
    regencies = [r.group for r in q.summary(engine, "regency") if "." in r.group]
    groups = sorted({q.category_group(c) for c in opts["categories"]} - {q.UNRESOLVED})
    out = []
    for i in range(n):
        view = ("overview", "province", "regency", "year")[i % 4]
        code = {"province": _pick(rng, provinces), "regency": _pick(rng, regencies),
                "year": str(_pick(rng, opts["years"]))}.get(view)
        if view != "overview" and code in (None, "None"):
            view, code = "overview", None
        years = sorted(rng.sample(opts["years"], min(2, len(opts["years"])))) \
            if rng.random() < 0.5 and view != "year" else []
        state = ViewState(
            view=view, code=code, lang=rng.choice(("id", "id", "en")),
            year_from=years[0] if years else None, year_to=years[-1] if years else None,
            kind=rng.choice((None, None, "tender", "non-tender")),
            methods=_some(rng, opts["methods"], 0.3), cat_groups=_some(rng, groups, 0.3),
            fundings=_some(rng, opts["fundings"], 0.25), basis=rng.choice(("pagu", "hps")),
            flagged=rng.random() < 0.2)
        out.append(state.href())
    return out


def _pick(rng: random.Random, values):
    return rng.choice(values) if values else None


def _some(rng: random.Random, values, p: float) -> tuple:
    return (rng.choice(values),) if values and rng.random() < p else ()
