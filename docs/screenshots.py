"""Screenshots of every page on the embedded demo, and two at the tutorial's full scale, for the README.

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

from benchmarks.app_paint import tutorial_folder
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


def chart_in_view(page) -> None:
    """Scroll the page's first chart to the top of the view (Streamlit scrolls inside its main
    pane, so a full-page screenshot only holds what is in view)."""
    page.locator(".js-plotly-plot").first.evaluate(
        "e => { e.scrollIntoView({block: 'start'}); let p = e.parentElement;"
        " while (p && p.scrollHeight <= p.clientHeight) p = p.parentElement; if (p) p.scrollBy(0, -90); }"
    )  # the chart's title clear of Streamlit's header
    page.wait_for_timeout(300)


def demo_pages(page, url: str, out: Path) -> None:
    """Every page on the embedded demo."""
    page.goto(url)
    page.wait_for_selector(IDLE)
    expect(page.get_by_text("Genes with checkpoints:")).to_be_visible()
    page.screenshot(path=out / "overview.png", full_page=True)

    page.get_by_role("link", name="Gene attribution").first.click()
    page.wait_for_selector(IDLE)
    pick(page, "Genes (type to search)", "MS4A1", "MS4A1 (cached)")
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    page.wait_for_selector(IDLE)
    page.screenshot(path=out / "attribution.png", full_page=True)

    page.get_by_role("link", name="Network").first.click()
    page.wait_for_selector(IDLE)
    page.get_by_text("Targets of a TF", exact=True).click()
    page.wait_for_selector(IDLE)
    pick(page, "TF (type to search)", "PAX5", "PAX5")
    pick(page, "Search and highlight nodes (or click / lasso them in the graph)", "PAX5", "PAX5")
    expect(page.get_by_role("heading", name="Edges of")).to_be_visible()
    chart_in_view(page)
    page.screenshot(path=out / "network.png", full_page=True)

    page.get_by_role("link", name="Table").first.click()
    expect(page.get_by_text("Rows passing the filters")).to_be_visible()
    page.wait_for_selector(IDLE)
    page.screenshot(path=out / "table.png", full_page=True)

    page.get_by_role("link", name="TF dot plot").first.click()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    page.wait_for_selector(IDLE)
    page.screenshot(path=out / "dotplot.png", full_page=True)

    page.get_by_role("link", name="Compare groups").first.click()
    expect(page.get_by_text("TF activity")).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    page.wait_for_selector(IDLE)
    page.screenshot(path=out / "compare.png", full_page=True)

    page.get_by_role("link", name="Edge evidence").first.click()
    expect(page.get_by_role("heading", name="Edge evidence")).to_be_visible()
    page.wait_for_selector(IDLE)
    pick(page, "Gene (type to search)", "MS4A1", "MS4A1")
    pick(page, "TF (strongest first; type to search)", "PAX5", "PAX5")
    expect(page.get_by_role("heading", name="Motif of PAX5")).to_be_visible()
    page.wait_for_selector(IDLE)
    page.screenshot(path=out / "evidence.png", full_page=True)

    page.get_by_role("link", name="Perturb").first.click()
    page.wait_for_selector(IDLE)
    page.get_by_role("combobox").first.click()  # the TF picker (its label also names a help button)
    page.keyboard.type("PAX5")
    page.get_by_role("option", name="PAX5", exact=True).first.click()
    page.keyboard.press("Escape")
    page.wait_for_selector(IDLE)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    page.wait_for_selector(IDLE)
    page.screenshot(path=out / "perturb.png", full_page=True)


def tutorial_pages(page, url: str, out: Path) -> None:
    """The network overview and the dot plot on a tutorial-sized tf_to_gene.csv (154,160 rows) alone."""
    page.goto(f"{url}/network")
    page.wait_for_selector(IDLE)
    expect(page.get_by_text("Hub TFs", exact=True)).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    page.wait_for_selector(IDLE)
    chart_in_view(page)
    page.screenshot(path=out / "tutorial_network.png", full_page=True)
    page.goto(f"{url}/dotplot")
    page.wait_for_selector(IDLE)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    page.wait_for_selector(IDLE)
    page.screenshot(path=out / "tutorial_dotplot.png", full_page=True)


def shoot(env: dict[str, str], pages, out: Path) -> None:
    """Start the app with ``env`` and run ``pages(page, url, out)`` in headless chromium."""
    with tempfile.TemporaryFile("w") as log:
        proc, url = launch_app(ROOT, env, log)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(120_000)
                expect.set_options(timeout=120_000)
                pages(page, url, out)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    ensure_demo(progress=lambda f, msg: print(f"[{f:4.0%}] {msg}", file=sys.stderr))
    args.out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("C2N_MDATA", "C2N_MODELS", "C2N_RESULTS")}
    env["PYTHONPATH"] = str(ROOT)
    shoot(env, demo_pages, args.out)
    with tempfile.TemporaryDirectory() as tmp:
        folder = tutorial_folder(Path(tmp), n_genes=1927)
        shoot({**env, "C2N_RESULTS": str(folder)}, tutorial_pages, args.out)


if __name__ == "__main__":
    main()
