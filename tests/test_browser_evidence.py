"""Browser journey on the Edge evidence page: clicking a TF shows its JASPAR logo.

Headless chromium against ``streamlit run app.py`` on a tiny dataset whose TFs carry real names
(see ``tests/test_edge_evidence.named_dataset``). Fails, never skips, when chromium is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, launch_app
from tests.test_edge_evidence import named_dataset

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
TIMEOUT_MS = 60_000


def test_clicking_a_tf_shows_its_logo(tmp_path):
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (needed for this test).")
    paths = named_dataset(tmp_path)
    env = {**os.environ, "C2N_MDATA": str(paths["mdata"]), "C2N_MODELS": str(paths["models"]),
           "C2N_RESULTS": str(paths["results"]), "PYTHONPATH": str(ROOT)}
    with open(tmp_path / "streamlit.log", "w") as log:
        proc, url = launch_app(ROOT, env, log)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1800})
                page.set_default_timeout(TIMEOUT_MS)
                expect.set_options(timeout=TIMEOUT_MS)
                page.goto(url)
                page.wait_for_selector(IDLE)
                page.get_by_role("link", name="Edge evidence").first.click()
                page.wait_for_selector(IDLE)
                expect(page.get_by_role("heading", name="Edge evidence")).to_be_visible()
                tf_box = page.get_by_role("combobox").nth(1)  # gene, then TF
                tf_box.click()
                page.get_by_role("option", name="CEBPB", exact=True).click()
                expect(page.get_by_role("heading", name="Motif of CEBPB")).to_be_visible()
                expect(page.get_by_text("Logo of CEBPB: JASPAR")).to_be_visible()
                logo = page.locator("[data-testid='stImage'] img, [data-testid='stPyplot'] img").first
                expect(logo).to_be_visible()
                width = logo.evaluate("img => img.decode().then(() => img.naturalWidth)")  # waits for the load
                assert width > 100  # a drawn image, not a broken one
                assert page.locator("[data-testid='stException']").count() == 0
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=ARTIFACTS / "evidence_logo.png", full_page=True)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
