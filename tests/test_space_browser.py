"""The Gradio Space in a real browser: Debian Chromium driven by Playwright against the test Hub.

The app runs as ``python space_app/app.py`` in a subprocess on 127.0.0.1 (it inherits the test
Hub's ``HF_ENDPOINT``); screenshots go to ``test-artifacts/``. Chromium is never downloaded:
Playwright drives ``/usr/bin/chromium`` (``make system-deps`` installs it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ports import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SAMPLES = 4


@dataclass(frozen=True)
class Space:
    url: str
    work_dir: Path


@pytest.fixture(scope="module")
def space(test_hub, tmp_path_factory):
    """The app serving on a free port of 127.0.0.1, scans writing under ``work_dir``; stopped after the module."""
    work_dir = tmp_path_factory.mktemp("space")
    log_path = work_dir.parent / "space.log"
    port = free_port()
    command = [
        sys.executable,
        str(ROOT / "space_app" / "app.py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--work-dir",
        str(work_dir),
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_answering(process, url, log_path, timeout_s=120)
        yield Space(url, work_dir)
    finally:
        process.kill()  # a test server with nothing to flush
        process.wait()


def _wait_until_answering(process: subprocess.Popen, url: str, log_path: Path, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited with code {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(f"the app did not answer at {url} within {timeout_s} s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open_page(browser: Browser, space: Space, model_id: str) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(space.url)
    page.locator("#model-id textarea").fill(model_id)
    return page


def _run(page: Page, samples: int = SAMPLES, *, prefix: str = "", button: str = "Run audit") -> None:
    """Fill the annotator, samples and steps of the form whose element ids start ``prefix`` (leaving the model id
    checks it) and press ``button``."""
    page.locator(f"#{prefix}annotator-id textarea").fill("tiny/clip")
    page.locator(f"#{prefix}samples-count input[type=number]").fill(str(samples))
    page.locator(f"#{prefix}steps input[type=number]").fill("2")
    page.locator(f"#{prefix}steps input[type=number]").press("Tab")
    page.get_by_role("button", name=button).click()


def _start_scan(browser: Browser, space: Space, model_id: str) -> Page:
    page = _open_page(browser, space, model_id)
    _run(page)
    return page


@pytest.fixture(scope="module")
def scanned_page(space, browser):
    """A page on which tiny/ddpm was scanned with the CLIP preset ``gender`` on tiny/clip."""
    page = _start_scan(browser, space, "tiny/ddpm")
    expect(page.locator("#estimates")).to_contain_text("classify_and_count", timeout=90_000)
    expect(page.locator("#samples img")).to_have_count(SAMPLES)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "space-scan.png"), full_page=True)
    yield page
    page.close()


def test_scan_shows_the_estimate_samples_and_downloadable_reports(scanned_page, test_hub):
    table = scanned_page.locator("#estimates").inner_text()
    for value in ("gender", "female", "male", "unconditional"):
        assert value in table
    assert re.search(r"\b0\.\d+\b", table), table  # an interval bound
    expect(scanned_page.locator("#verdict")).to_contain_text(f"tiny/ddpm @ {test_hub.sha('ddpm')}")
    widths = scanned_page.locator("#samples img").evaluate_all("images => images.map(image => image.naturalWidth)")
    assert len(widths) == SAMPLES and all(width > 0 for width in widths)
    expect(scanned_page.locator("#charts img")).to_have_count(1)
    html_link = scanned_page.locator("#reports a[download='report.html']")
    response = scanned_page.request.get(html_link.get_attribute("href"))
    assert response.ok and "hubaudit report" in response.text()


def test_unknown_model_shows_a_one_line_error_not_a_traceback(space, browser):
    page = _start_scan(browser, space, "tiny/no-such-model")
    message = "repository not found: 'tiny/no-such-model'"
    expect(page.get_by_test_id("toast-body").filter(has_text=message)).to_be_visible(timeout=60_000)
    expect(page.locator("#model-info")).to_contain_text(
        f"Cannot scan this model: {message}"
    )  # the check, on leaving the field
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "space-error.png"))
    assert "Traceback" not in page.locator("body").inner_text()
    assert "tiny/ddpm" not in page.locator("#verdict").inner_text()  # no earlier result beside the error
    page.close()


def test_text_to_image_model_gets_a_prompt_field_and_its_samples_are_drawn_for_the_prompt(space, browser, test_hub):
    page = _open_page(browser, space, "tiny/stable-diffusion")
    expect(page.locator("#prompts")).to_be_hidden()
    page.get_by_role("button", name="Check model").click()
    expect(page.locator("#model-info")).to_contain_text("text-to-image", timeout=60_000)
    expect(page.locator("#classes")).to_be_hidden()
    expect(page.locator("#guidance")).to_be_visible()
    page.locator("#prompts textarea").fill("a photo of a face")
    _run(page, samples=2)
    expect(page.locator("#samples img")).to_have_count(2, timeout=120_000)
    expect(page.locator("#estimates")).to_contain_text("a photo of a face")
    expect(page.locator("#verdict")).to_contain_text(f"tiny/stable-diffusion @ {test_hub.sha('stable-diffusion')}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "space-text-to-image.png"), full_page=True)
    assert "Traceback" not in page.locator("body").inner_text()
    page.close()


def test_html_report_of_a_scan_opens_with_its_images_and_charts(scanned_page, space, browser):
    (report,) = (
        path.with_name("report.html")
        for path in space.work_dir.glob("scan-*/report.json")
        if json.loads(path.read_text())["model"]["reference"] == "tiny/ddpm"
    )
    page = browser.new_page()
    page.goto(report.as_uri())
    widths = page.locator("img").evaluate_all("images => images.map(image => image.complete ? image.naturalWidth : 0)")
    page.screenshot(path=str(ARTIFACTS / "report-html.png"), full_page=True)
    page.close()
    assert len(widths) == SAMPLES + 1 and all(width > 0 for width in widths), widths  # samples + the gender chart
    assert max(widths) > 200  # the chart


def test_html_report_of_the_demo_model_opens_with_its_samples_and_estimate_chart(browser, tmp_path):
    import hubaudit
    from hubaudit.demo_models import MNIST_ZEROS30

    annotator = MNIST_ZEROS30.parent / "mnist-zero-annotator"
    hubaudit.scan(
        str(MNIST_ZEROS30),
        n=12,
        batch_size=12,
        steps=10,
        scheduler="ddim",
        progress=False,
        out_dir=tmp_path,
        attributes=[f"is_zero=aux:{annotator}"],
    )
    page = browser.new_page()
    page.goto((tmp_path / "report.html").as_uri())
    widths = page.locator("img").evaluate_all("images => images.map(image => image.complete ? image.naturalWidth : 0)")
    text = page.locator("body").inner_text()
    page.screenshot(path=str(ARTIFACTS / "demo-report-html.png"), full_page=True)
    page.close()
    assert len(widths) == 8 + 1 and all(width > 0 for width in widths), widths  # 8 samples shown + the is_zero chart
    assert "is_zero" in text and "corrected" in text


def test_samples_of_a_scan_are_labelled_with_value_buttons_and_give_a_prediction_powered_estimate(scanned_page):
    page = scanned_page
    page.get_by_role("tab", name="Label samples").click()
    progress = page.locator("#label-progress")
    expect(progress).to_contain_text("0 of 3 labelled (gender, unconditional)")  # 4 samples: one stays unlabelled
    expect(page.locator("#label-image img")).to_be_visible()
    expect(page.locator("#label-value-0")).to_have_text("female")
    expect(page.locator("#label-value-1")).to_have_text("male")
    expect(page.locator("#label-value-2")).to_be_hidden()
    for button, labelled in [("#label-value-1", 1), ("#label-value-0", 2)]:
        page.locator(button).click()
        expect(progress).to_contain_text(f"{labelled} of 3 labelled", timeout=30_000)
    page.get_by_role("button", name="Undo").click()
    expect(progress).to_contain_text("1 of 3 labelled", timeout=30_000)
    page.locator("#label-value-0").click()
    expect(progress).to_contain_text("2 of 3 labelled", timeout=30_000)
    page.get_by_role("button", name="Re-estimate with my labels").click()
    expect(page.locator("#gold-summary")).to_contain_text("Re-estimated with 2 gold labels", timeout=90_000)
    table = page.locator("#gold-estimates")
    for text in ("female", "male", "classify_and_count"):
        expect(table).to_contain_text(text)
    assert re.search(r"\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", table.inner_text())  # the PPI interval
    page.screenshot(path=str(ARTIFACTS / "space-labelling.png"), full_page=True)
    page.get_by_role("tab", name="Scan").click()
    expect(page.locator("#estimates")).to_contain_text("ppi")  # the scan's primary estimate is now prediction-powered
    assert "Traceback" not in page.locator("body").inner_text()


def test_fairness_tab_maps_classes_to_labels_and_shows_the_heat_map(space, browser, test_hub):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(space.url)
    page.get_by_role("tab", name="Fairness").click()
    expect(page.locator("#fair-class-map")).to_be_hidden()
    page.locator("#fair-model-id textarea").fill("tiny/ddpm-class-conditional")
    page.locator("#fair-model-id textarea").press("Tab")
    expect(page.locator("#fair-model-info")).to_contain_text("map up to 8 of its classes", timeout=60_000)
    expect(page.locator("#fair-label-prompts")).to_be_hidden()
    page.locator("#fair-class-map textarea").fill("0=0,1=0,2=1")
    _run(page, prefix="fair-", button="Run fairness audit")
    expect(page.locator("#fair-heatmap img")).to_have_count(1, timeout=120_000)
    width = page.locator("#fair-heatmap img").evaluate("image => image.complete ? image.naturalWidth : 0")
    assert width > 200, width  # the S x Y heat map, drawn
    expect(page.locator("#fair-verdict")).to_contain_text(
        f"tiny/ddpm-class-conditional @ {test_hub.sha('ddpm-class-conditional')}"
    )
    expect(page.locator("#fair-verdict")).to_contain_text("Y (label) read off: 0 -> 0; 1 -> 0; 2 -> 1")
    figures = page.locator("#fair-figures")
    for text in ("P(label=1 | gender=female)", "demographic-parity gap", "not available"):
        expect(figures).to_contain_text(text)
    expect(page.locator("#fair-reports a[download='report.html']")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "space-fairness.png"), full_page=True)
    assert "Traceback" not in page.locator("body").inner_text()
    page.close()
