"""The dashboard in a real Chromium, black-box: `hemat serve` on a free port over a SQLite file
loaded with the demo data. A person changes the year, clicks a province, sees its regencies,
switches to English, and a copied link shows the same view. The console stays free of errors
and no request leaves the machine. Screenshots go to test-artifacts/.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import ROOT, chromium_paths, need

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
DESKTOP, PHONE = (1366, 768), (390, 844)
WAIT = 30  # seconds; a first page load compiles plotly.js on a slow machine


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    """A SQLite file loaded with the committed demo data (data/demo)."""
    from etl.db import engine_from_url
    from etl.load import load_paths

    folder = ROOT / "data" / "demo"
    assert any(folder.glob("*.*")), "data/demo holds the demo exports"
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'demo.db'}"
    engine = engine_from_url(url)
    results = load_paths(engine, [folder])
    engine.dispose()
    assert results and not any(r.error for r in results)
    return url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_url):
    """The real `hemat serve`, stopped in finally."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hemat.cli", "serve", "--db", demo_url, "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        _wait_for(base, proc, log)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_for(base: str, proc, log) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail("hemat serve exited:\n" + log.read().decode(errors="replace"))
        try:
            with urllib.request.urlopen(base + "/", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail("hemat serve did not answer")


def _driver(size):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--window-size={size[0]},{size[1]}",
                f"--user-data-dir={tempfile.mkdtemp(prefix='hemat-chromium-')}"):
        options.add_argument(arg)
    if size == PHONE:  # a desktop window cannot be this narrow: emulate the phone's screen
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {
            "width": size[0], "height": size[1], "pixelRatio": 2, "touch": True}})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=options)


@pytest.fixture
def browser():
    need(all(chromium_paths()), "Chromium and chromedriver")
    drivers = []

    def make(size=DESKTOP):
        drivers.append(_driver(size))
        return drivers[-1]

    try:
        yield make
    finally:
        for d in drivers:
            d.quit()


# ---- What a person sees --------------------------------------------------------------------

def wait_until(driver, condition, what: str):
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    # Dash replaces elements as callbacks answer: an element found a moment ago may be gone.
    wait = WebDriverWait(driver, WAIT, poll_frequency=0.2,
                         ignored_exceptions=(StaleElementReferenceException,))
    try:
        return wait.until(lambda d: condition(d))
    except TimeoutException:
        shot(driver, "timeout")
        pytest.fail(f"waited for {what}; page says:\n{page_text(driver)[:3000]}")


def page_text(driver) -> str:
    return driver.execute_script("return document.body.innerText")


def chart_titles(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".chart-title")]


def wait_for_chart(driver, starts_with: str) -> str:
    """The title of the first chart whose title starts with STARTS_WITH, once it is drawn."""
    def drawn(d):
        titles = [t for t in chart_titles(d) if t.startswith(starts_with)]
        bars = d.execute_script(
            "return document.querySelectorAll('.chart-block .js-plotly-plot .point').length")
        return titles[0] if titles and bars and "Memuat" not in page_text(d) else False
    return wait_until(driver, drawn, f"a chart titled {starts_with!r}")


def card_values(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".card-value")]


def pick(driver, filter_name: str, option: str) -> None:
    """Choose OPTION in a filter dropdown, as a person does: open it, click the option."""
    from selenium.webdriver.common.by import By

    dom_id = json.dumps({"name": filter_name, "type": "filter"}, separators=(",", ":"))
    driver.execute_script("document.getElementById(arguments[0]).scrollIntoView()", dom_id)
    driver.execute_script("return document.getElementById(arguments[0])", dom_id).click()
    options = wait_until(driver, lambda d: [
        o for o in d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-content [role=option]")
        if o.text == option], f"option {option}")
    options[0].click()
    driver.execute_script("document.activeElement && document.activeElement.blur()")
    from selenium.webdriver.common.keys import Keys

    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)


def click_first_bar(driver, graph_name: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    dom_id = json.dumps({"name": graph_name, "type": "graph"}, separators=(",", ":"))
    graph = driver.execute_script("return document.getElementById(arguments[0])", dom_id)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", graph)
    bar = graph.find_elements(By.CSS_SELECTOR, ".bars .point path")[0]
    ActionChains(driver).move_to_element(bar).pause(0.3).click().perform()


def open_chart_table(driver, name: str) -> list[tuple[str, str]]:
    """Open chart NAME's data table from the keyboard, as its readers do; (text, link) of
    each row once the table has been filled."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def dom_id(part):
        return json.dumps({"name": name, "type": f"chart-{part}"}, separators=(",", ":"))
    def element(d, part):
        return d.execute_script("return document.getElementById(arguments[0])", dom_id(part))
    opener = element(driver, "open")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", opener)
    opener.send_keys(Keys.ENTER)

    def rows(d):
        found = element(d, "table").find_elements(By.CSS_SELECTOR, "tbody tr")
        return [(r.text, r.find_element(By.CSS_SELECTOR, "th a").get_attribute("href"))
                for r in found]
    return wait_until(driver, rows, f"the data table of the {name} chart")


def chart_ticks(driver, name: str) -> list[str]:
    """The labels under chart NAME's bars, as plotly drew them (name and value)."""
    dom_id = json.dumps({"name": name, "type": "graph"}, separators=(",", ":"))
    return driver.execute_script(
        "const g = document.getElementById(arguments[0]).querySelector('.js-plotly-plot');"
        "return g._fullLayout.yaxis.ticktext;", dom_id)


def shot(driver, name: str) -> Path:
    """A screenshot of the whole page, as tall as its content; the window is restored after."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = min(max(driver.execute_script(
        "return document.documentElement.scrollHeight"), 600), 8000)
    phone = driver.execute_script("return window.innerWidth") == PHONE[0]
    size = driver.get_window_size()
    if phone:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": PHONE[0], "height": height, "deviceScaleFactor": 2, "mobile": True})
    else:
        driver.set_window_size(size["width"], height)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    if phone:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True})
    else:
        driver.set_window_size(size["width"], size["height"])
    return path


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def network(driver) -> list[dict]:
    """The DevTools network events since the last call (reading the log empties it)."""
    return [json.loads(e["message"])["message"] for e in driver.get_log("performance")]


def off_machine_requests(driver, events: list[dict] | None = None) -> list[str]:
    events = network(driver) if events is None else events
    urls = [m["params"]["request"]["url"] for m in events
            if m["method"] == "Network.requestWillBeSent"]
    assert any(u.startswith("http://127.0.0.1") for u in urls), "no request seen"
    # chrome://, data: and blob: URLs are the browser's own and never touch the network.
    return [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss", "ftp")
            and urlparse(u).hostname not in ("127.0.0.1", "localhost")]


# ---- The walk ------------------------------------------------------------------------------

def check_download(driver, demo_url: str, folder: Path) -> None:
    """"Unduh Excel" saves the workbook of the view: its figures are the database's."""
    import io

    from openpyxl import load_workbook
    from selenium.webdriver.common.by import By

    from dashboard.queries import Filters, total
    from etl.db import engine_from_url

    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(folder)})
    driver.find_element(By.ID, "download-button").click()
    files = wait_until(driver, lambda d: list(folder.glob("*.xlsx")), "the downloaded workbook")
    code = urlparse(driver.current_url).path.rsplit("/", 1)[1]
    assert files[0].name.startswith("hemat-") and files[0].name.endswith("-2024.xlsx")
    sheet = load_workbook(io.BytesIO(files[0].read_bytes()))["Ringkasan"]
    rows = {}  # the first row of each label: the figures come before their definitions
    for row in sheet.iter_rows(values_only=True):
        if row and row[0] and row[0] not in rows:
            rows[row[0]] = row[1]
    engine = engine_from_url(demo_url, read_only=True)
    expected = total(engine, Filters(provinces=(code,), years=(2024,)))
    engine.dispose()
    assert Decimal(str(rows["Penghematan vs pagu"])) == expected.savings_vs_pagu
    assert rows["Tahun anggaran"] == "2024"


def page_and_work_unit(driver) -> None:
    """The package list pages and narrows to a work unit; the charts above stay as they are."""
    from selenium.webdriver.common.by import By

    graph = driver.find_element(By.CSS_SELECTOR, ".chart-block .js-plotly-plot")
    shown = wait_until(driver, lambda d: [line for line in page_text(d).split("\n")
                                          if line.startswith("Menampilkan 1–")],
                       "the package count")[0]
    total = int(shown.rsplit(" dari ", 1)[1].split()[0].replace(".", ""))
    if total > 25:
        driver.find_element(By.LINK_TEXT, "Berikutnya ›").click()
        wait_until(driver, lambda d: "hal=2" in d.current_url and
                   f"Menampilkan 26–{min(50, total)} dari" in page_text(d), "page 2")
    link = driver.find_element(By.CSS_SELECTOR, "table.data tbody th a[href*='satker=']")
    name = link.text
    buyer = link.find_element(By.XPATH, "./ancestor::tr/td[1]").text
    link.click()
    wait_until(driver, lambda d: f"Paket {name} ({buyer}), 2024" in page_text(d),
               "the work unit's list")
    assert "hal=" not in driver.current_url and "satker=" in driver.current_url
    assert graph.is_displayed()  # the same element: the view was not drawn again
    driver.find_element(By.LINK_TEXT, "Semua satker").click()
    wait_until(driver, lambda d: "Daftar paket, 2024" in page_text(d), "the whole list again")


def test_year_province_language_and_copied_link(server, demo_url, browser, tmp_path):
    driver = browser(DESKTOP)
    driver.get(server + "/")
    title = wait_for_chart(driver, "Penghematan per provinsi")
    assert title.endswith("(Rp miliar)") and "2022–2025" in title
    assert "Seluruh Indonesia" in page_text(driver)
    national = card_values(driver)
    assert national[0].startswith("Rp") and "miliar" in national[0]
    shot(driver, "desktop-overview")

    # The chart's data table, filled when opened: the same provinces in the same order, with
    # the same savings, each a link to its province.
    rows = open_chart_table(driver, "province")
    ticks = [tick.replace("<b>", "").replace("</b>", "").split("<br>")
             for tick in chart_ticks(driver, "province")]
    assert len(rows) == len(ticks) >= 30
    for (text, href), (label, value) in zip(rows, ticks, strict=True):
        assert text.startswith(f"{label} {value.split(' (')[0]} "), (text, label, value)
        assert "/provinsi/" in href
    shot(driver, "desktop-overview-table")

    # The year: 2024 to 2024. The URL follows, and so do the titles and the cards.
    pick(driver, "year-from", "2024")
    pick(driver, "year-to", "2024")
    wait_until(driver, lambda d: "tahun=2024" in d.current_url, "the year in the URL")
    title = wait_for_chart(driver, "Penghematan per provinsi, 2024")
    assert title.startswith("Penghematan per provinsi, 2024 (Rp")
    wait_until(driver, lambda d: card_values(d) and card_values(d) != national, "2024 figures")

    # A province: its regencies and its work units.
    click_first_bar(driver, "province")
    wait_until(driver, lambda d: "/provinsi/" in d.current_url, "the province URL")
    assert "tahun=2024" in driver.current_url
    title = wait_for_chart(driver, "Penghematan per kabupaten/kota di ")
    province = title.removeprefix("Penghematan per kabupaten/kota di ").split(",")[0]
    crumbs = driver.execute_script(
        "return document.querySelector('nav.breadcrumb').innerText")
    assert crumbs.split("\n")[0] == "Indonesia" and province in crumbs
    wait_until(driver, lambda d: "Daftar paket, 2024" in page_text(d), "the package list")
    province_cards = card_values(driver)
    shot(driver, "desktop-province")
    check_download(driver, demo_url, tmp_path)
    page_and_work_unit(driver)

    # English: every text switches, the figures stay.
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "lang-en").click()
    wait_until(driver, lambda d: "lang=en" in d.current_url, "lang=en in the URL")
    title = wait_for_chart(driver, "Savings by regency/city in ")
    assert title == f"Savings by regency/city in {province}, 2024 (Rp {_unit_en(title)})"
    wait_until(driver, lambda d: "Budget year from" in page_text(d), "English filters")
    text = page_text(driver)
    for indonesian in ("Penghematan", "Tahun anggaran", "Daftar paket", "Hapus semua filter"):
        assert indonesian not in text, indonesian
    english_cards = card_values(driver)
    assert _same_numbers(province_cards, english_cards), (province_cards, english_cards)

    # The copied link, opened fresh, shows the same view.
    link = driver.current_url
    other = browser(DESKTOP)
    other.get(link)
    assert wait_for_chart(other, "Savings by regency/city in ") == title
    wait_until(other, lambda d: card_values(d) == english_cards, "the same figures")
    assert other.execute_script("return document.documentElement.lang") == "en"
    shot(other, "desktop-copied-link-en")

    for d in (driver, other):
        assert console_errors(d) == []
        assert off_machine_requests(d) == []


def _unit_en(title: str) -> str:
    return title.rsplit("(Rp ", 1)[1].rstrip(")")


def _same_numbers(ids: list[str], ens: list[str]) -> bool:
    """Card values in Indonesian and English: the same numbers with swapped separators."""
    words = {"miliar": "billion", "juta": "million", "triliun": "trillion"}
    converted = []
    for value in ids:
        v = value.replace(".", "\0").replace(",", ".").replace("\0", ",")
        for id_word, en_word in words.items():
            v = v.replace(id_word, en_word)
        converted.append(v)
    return converted == ens


def download_statuses(events: list[dict]) -> list[int]:
    """HTTP status of each call of the Excel download callback: 204 means nothing was built."""
    calls = {m["params"]["requestId"] for m in events
             if m["method"] == "Network.requestWillBeSent"
             and "download-button" in (m["params"]["request"].get("postData") or "")}
    return [m["params"]["response"]["status"] for m in events
            if m["method"] == "Network.responseReceived" and m["params"]["requestId"] in calls]


def test_phone_and_empty_filter(server, browser):
    driver = browser(PHONE)
    driver.get(server + "/provinsi/32?tahun=2023-2025")
    title = wait_for_chart(driver, "Penghematan per kabupaten/kota di Jawa Barat, 2023–2025")
    assert title.endswith(")")
    assert driver.execute_script("return window.innerWidth") == PHONE[0]
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0], "nothing sticks out sideways on a phone"
    shot(driver, "phone-province")
    driver.get(server + "/?tahun=2031")
    wait_until(driver, lambda d: "Tidak ada paket untuk pilihan ini" in page_text(d),
               "the no-match message")
    shot(driver, "phone-no-match")
    assert "tahun=2031" in driver.current_url  # the link was not rewritten
    assert "Tidak ada paket untuk pilihan ini" in page_text(driver)
    driver.get(server + "/?lang=en")
    wait_for_chart(driver, "Savings by province")
    shot(driver, "phone-overview-en")
    assert console_errors(driver) == []
    events = network(driver)
    assert off_machine_requests(driver, events) == []
    # Opening pages never builds an Excel workbook: only a click on "Unduh Excel" does.
    assert set(download_statuses(events)) <= {204}
