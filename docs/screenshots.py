"""Screenshots of every page on the embedded demo, for the README.

Run from the repository root (builds the demo first if needed)::

    python -m docs.screenshots [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from cell2net_core.demo.build import ensure_demo
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, launch_app

ROOT = Path(__file__).resolve().parents[1]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def pick(page, label: str, text: str, option: str) -> None:
    """Type into the multiselect whose label is ``label`` and choose ``option``."""
    box = page.get_by_label(label).first
    box.click()
    box.fill(text)
    page.get_by_role("option", name=option).first.click()
    page.keyboard.press("Escape")
    page.wait_for_selector(IDLE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    ensure_demo(progress=lambda f, msg: print(f"[{f:4.0%}] {msg}", file=sys.stderr))
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile("w") as log:
        proc, url = launch_app(ROOT, env, log)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(120_000)
                expect.set_options(timeout=120_000)
                page.goto(url)
                page.wait_for_selector(IDLE)
                expect(page.get_by_text("Genes with checkpoints:")).to_be_visible()
                page.screenshot(path=args.out / "overview.png", full_page=True)

                page.get_by_role("link", name="Gene attribution").first.click()
                page.wait_for_selector(IDLE)
                pick(page, "Genes (type to search)", "MS4A1", "MS4A1 (cached)")
                expect(page.locator(".js-plotly-plot").first).to_be_visible()
                page.wait_for_selector(IDLE)
                page.screenshot(path=args.out / "attribution.png", full_page=True)

                page.get_by_role("link", name="Network").first.click()
                page.wait_for_selector(IDLE)
                pick(page, "Focus on nodes (or click / lasso them in the graph)", "PAX5", "PAX5")
                expect(page.get_by_role("heading", name="Edges of")).to_be_visible()
                page.screenshot(path=args.out / "network.png", full_page=True)

                page.get_by_role("link", name="Table").first.click()
                expect(page.get_by_text("Rows shown")).to_be_visible()
                page.wait_for_selector(IDLE)
                page.screenshot(path=args.out / "table.png", full_page=True)

                page.get_by_role("link", name="Compare groups").first.click()
                expect(page.get_by_text("TF activity")).to_be_visible()
                expect(page.locator(".js-plotly-plot").first).to_be_visible()
                page.wait_for_selector(IDLE)
                page.screenshot(path=args.out / "compare.png", full_page=True)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
