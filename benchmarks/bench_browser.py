"""Time until the overview page has rendered in headless Chromium, over `hemat serve`.

`hemat serve` runs as a child process on a free port of 127.0.0.1. For each page load a
script injected before the page's own (CDP Page.addScriptToEvaluateOnNewDocument) watches
the DOM and notes performance.now(), i.e. milliseconds since navigation start, when the
headline cards (.card-value, rendered by the render_view callback) all show numbers, and
when every chart slot has drawn its bars; WebDriverWait polls for those notes. The first
load (empty cache) is reported apart from the others (cache warm, as for a returning user).

    python benchmarks/bench_browser.py                    # 10k and 100k, both dbs, 10 loads
    python benchmarks/bench_browser.py --sizes 1M --db postgresql --repeat 5
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import common as c

WAIT = 60  # seconds for one page to render, at most

WATCH = r"""
(function () {
  const marks = window.__hemat = {};
  function check() {
    const now = performance.now();
    if (!marks.cards) {
      const cards = Array.from(document.querySelectorAll('.card-value'));
      if (cards.length && cards.every(e => /\d/.test(e.textContent))) marks.cards = now;
    }
    if (marks.cards && !marks.charts) {
      const slots = Array.from(document.querySelectorAll('[id]'))
        .filter(e => e.id.includes('"type":"chart"'));
      if (slots.length && slots.every(s => s.querySelector('.js-plotly-plot .point, .empty')))
        marks.charts = now;
    }
  }
  new MutationObserver(check).observe(document, {subtree: true, childList: true,
                                                 characterData: true});
})();
"""


def main(argv=None) -> int:
    p = c.parser(__doc__.split("\n\n")[0], repeat=10)
    p.add_argument("--path", default="/", help="page to load (default: the overview, /)")
    p.add_argument("--url", help="measure this existing database instead of demo data")
    args = p.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium or not shutil.which("chromedriver"):
        print("needs chromium and chromedriver: apt-get install -y chromium chromium-driver")
        return 2
    c.header("bench_browser: overview page in headless Chromium over `hemat serve`")
    rows = []
    if args.url:
        rows.append(measure(args.url, "given", "url", args, chromium))
    else:
        with c.workdir() as folder:
            for size in args.sizes:
                for db in c.dbs(args.db):
                    with c.loaded(db, size, folder) as (url, _):
                        rows.append(measure(url, c.size_label(size), db, args, chromium))
    c.table(["size", "db", "loads", "first cards ms", "cards median ms", "cards p95 ms",
             "charts median ms", "charts p95 ms", "last callback answer median ms",
             "DOM ready median ms", "cards/DOM ready", "callback requests"],
            rows, f"Page {args.path}: navigation start → headline cards with numbers, "
                  f"→ all charts drawn (first load apart, cache empty)")
    return 0


def measure(url: str, size: str, db: str, args, chromium: str) -> list:
    with serve(url) as base, c.workdir("hemat-bench-chromium-") as profile:
        driver = make_driver(chromium, profile)
        try:
            loads = [page_load(driver, base + args.path) for _ in range(args.repeat + 1)]
        finally:
            driver.quit()
    first, rest = loads[0], loads[1:]
    cards = [x["cards"] for x in rest]
    charts = [x["charts"] for x in rest if x["charts"]]
    dom = [x["dom"] for x in rest]
    answered = [x["answered"] for x in rest]
    return [size, db, len(rest), f"{first['cards']:.0f}", f"{c.median(cards):.0f}",
            f"{c.percentile(cards, 95):.0f}",
            f"{c.median(charts):.0f}" if charts else "-",
            f"{c.percentile(charts, 95):.0f}" if charts else "-",
            f"{c.median(answered):.0f}", f"{c.median(dom):.0f}",
            c.ratio(c.median(cards), c.median(dom)), max(x["callbacks"] for x in loads)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class serve:
    """`hemat serve --db URL` on a free port of 127.0.0.1, stopped on exit."""

    def __init__(self, url: str):
        self.url = url

    def __enter__(self) -> str:
        port = _free_port()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hemat.cli", "serve", "--db", self.url, "--host",
             "127.0.0.1", "--port", str(port)],
            cwd=c.ROOT, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        base = f"http://127.0.0.1:{port}"
        self._wait(base)
        return base

    def _wait(self, base: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError("hemat serve exited:\n" + self.log.read().decode())
            try:
                with urllib.request.urlopen(base + "/", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("hemat serve did not answer within 60 s")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def make_driver(chromium: str, profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1366,768",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    return driver


def page_load(driver, url: str) -> dict:
    """Milliseconds from navigation start to cards, to charts, and to DOMContentLoaded."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")
    driver.get(url)
    wait = WebDriverWait(driver, WAIT, poll_frequency=0.05)
    cards = wait.until(lambda d: d.execute_script("return window.__hemat.cards"))
    try:
        charts = wait.until(lambda d: d.execute_script("return window.__hemat.charts"))
    except Exception:  # a view without charts (an empty database) still has its cards
        charts = None
    dom = driver.execute_script(
        "return performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    # When the last callback answer arrived: what is left after it is the browser's drawing.
    answers = driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('_dash-update-component')).map(e => e.responseEnd)")
    return {"cards": cards, "charts": charts, "dom": dom, "answered": max(answers, default=0),
            "callbacks": len(answers)}


if __name__ == "__main__":
    sys.exit(main())
