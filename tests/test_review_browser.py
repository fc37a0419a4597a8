"""The review page in a real browser: headless Chromium from Debian's
``chromium`` and ``chromium-driver`` packages, driven by selenium (nothing
is downloaded: the browser and its driver are named by path).

Skips, saying why, where either is missing; ``.ci/run`` installs both. With
``NOISYSKL_REVIEW_SCREENSHOT=<file.png>`` the test saves its screenshot
there (docs/_static/review_page.png was taken so). With
``NOISYSKL_REQUIRE_BROWSER=1`` (as ``.ci/run`` sets) a missing browser is an
error, not a skip.
"""

import importlib.util
import os
import shutil
import time

import numpy as np
import pytest

from noisyskl import NoisyNeuralNetClassifier, read_review

from .image_files import ImageFiles, write_image_folder

BROWSER = os.environ.get("NOISYSKL_CHROMIUM") or shutil.which("chromium")
DRIVER = os.environ.get("NOISYSKL_CHROMEDRIVER") or shutil.which("chromedriver")
MISSING = ("selenium is not installed (pip install -e '.[test]')"
           if importlib.util.find_spec("selenium") is None else
           None if BROWSER and DRIVER else "no Chromium here: apt-get install chromium "
           "chromium-driver (or set NOISYSKL_CHROMIUM and NOISYSKL_CHROMEDRIVER)")
if MISSING and os.environ.get("NOISYSKL_REQUIRE_BROWSER"):  # (CI: .ci/run sets it)
    raise RuntimeError(f"NOISYSKL_REQUIRE_BROWSER is set but {MISSING}")
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(tmp_path / "downloads"),
        "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def wait_for(find, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = find()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_review_in_a_browser_and_back_into_training(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    files = ImageFiles(write_image_folder(tmp_path / "files", n_per_class=20, size=24))
    clf = NoisyNeuralNetClassifier(max_epochs=5, warm_up=1, verbose=0, random_state=0,
                                   lr=0.01)
    clf.fit(files)
    page = clf.export_review(tmp_path / "review.html", files, max_rows=30,
                             title="Review of the flagged files")
    browser.get(page.as_uri())
    text = lambda id_: browser.find_element(By.ID, id_).text  # noqa: E731
    assert text("progress") == "0 of 30 rows decided"
    assert text("page") == "of 2 (30 rows)"
    number = browser.find_element(By.ID, "page-number")
    assert number.get_attribute("value") == "1"
    cards = browser.find_elements(By.CSS_SELECTOR, ".card")
    assert len(cards) == 25 and cards[0].find_element(By.TAG_NAME, "img").get_attribute(
        "src").startswith("data:image/png;base64,")
    rows = [int(c.get_attribute("data-row")) for c in cards]
    # the classes show as the Dataset's names (its classes list), not their indices
    given = clf.find_label_issues().given_label.to_numpy()
    assert cards[0].find_element(By.CSS_SELECTOR, "dd.given").text == files.classes[
        given[rows[0]]]
    body = browser.find_element(By.TAG_NAME, "body")
    # by keyboard: the given label, the suggested one, unsure (each moves on)
    for key in "gsu":
        body.send_keys(key)
    assert text("progress") == "3 of 30 rows decided"
    # by mouse: another class from the menu
    other = cards[3]
    other.find_element(By.CSS_SELECTOR, 'input[value="other"]').click()
    Select(other.find_element(By.TAG_NAME, "select")).select_by_visible_text("red")  # 2
    assert text("progress") == "4 of 30 rows decided"
    if os.environ.get("NOISYSKL_REVIEW_SCREENSHOT"):
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(os.environ["NOISYSKL_REVIEW_SCREENSHOT"])
    # a reload loses nothing
    browser.refresh()
    assert text("progress") == "4 of 30 rows decided"
    cards = browser.find_elements(By.CSS_SELECTOR, ".card")
    assert cards[0].get_attribute("data-decision") == "given"
    assert cards[2].get_attribute("data-decision") == "unsure"
    # a key decides the row that has the focus (here by a click on its card)
    cards[6].click()
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("s")
    assert cards[6].get_attribute("data-decision") == "suggested"
    assert text("progress") == "5 of 30 rows decided"
    # N turns the page, F finds the next undecided row (from page 2, back on page 1)
    body.send_keys("n")
    assert browser.find_element(By.ID, "page-number").get_attribute("value") == "2"
    assert len(browser.find_elements(By.CSS_SELECTOR, ".card")) == 5
    body.send_keys("p")
    body.send_keys("f")  # rows 0-3 are decided: the fifth card
    assert browser.find_element(By.CSS_SELECTOR, ".card.current").get_attribute(
        "data-row") == str(rows[4])
    # the filter by given class shows that class's rows only
    Select(browser.find_element(By.ID, "filter-given")).select_by_visible_text("green")  # 1
    shown = [int(c.get_attribute("data-row"))
             for c in browser.find_elements(By.CSS_SELECTOR, ".card")]
    assert shown and all(given[r] == 1 for r in shown)
    assert set(shown) >= {r for r in rows if given[r] == 1}
    # the CSV downloads, reads back and trains
    browser.find_element(By.ID, "download").click()
    csv = wait_for(lambda: [p for p in (tmp_path / "downloads").glob("review.csv")])[0]
    wait_for(lambda: csv.stat().st_size > 0 and csv.read_text().count("\n") == 6)
    lines = csv.read_text().splitlines()
    assert lines[0] == "row,path,given_label,decision,label,index"
    decided = {int(line.split(",")[0]): line.split(",")[3] for line in lines[1:]}
    assert decided == {rows[0]: "given", rows[1]: "suggested", rows[2]: "unsure",
                       rows[3]: "other", rows[6]: "suggested"}
    reviewed = read_review(csv, files, classes=clf.classes_)
    assert reviewed.trusted.sum() == 4 and np.asarray(reviewed)[rows[3]] == 2
    clf.fit(files, reviewed)
    report = clf.find_label_issues()
    assert list(np.flatnonzero(report.trusted)) == sorted([rows[0], rows[1], rows[3], rows[6]])
    assert report.in_training[report.trusted].all()  # (never held out)
    assert report.given_label[rows[3]] == 2 and not report.is_label_issue[report.trusted].any()
