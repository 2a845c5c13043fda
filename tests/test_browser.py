"""End-to-end journey in headless chromium against ``streamlit run app.py`` on a tiny dataset.

Runs in the default ``pytest -q`` (select or skip it with ``-m browser``); fails, never
skips, when chromium is missing. Screenshots go to ``tests/artifacts/browser/``.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

from cell2net_core.testing import tutorial_table
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, launch_app

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
TIMEOUT_MS = 60_000
# page coordinates of the first node (a trace whose points carry names in customdata)
FIRST_NODE_JS = """(gd) => {
  const fl = gd._fullLayout;
  const tr = gd._fullData.find(t => t.customdata && t.mode.includes('markers'));
  const box = gd.getBoundingClientRect();
  return {x: box.left + fl._size.l + fl.xaxis.l2p(tr.x[0]), y: box.top + fl._size.t + fl.yaxis.l2p(tr.y[0])};
}"""
# value-axis ranges of a bar chart's panels, as drawn
AXIS_RANGES_JS = """(gd) => Object.keys(gd._fullLayout).filter(k => /^xaxis\\d*$/.test(k))
  .map(k => gd._fullLayout[k].range.map(v => v.toFixed(6)).join(','))"""
# nodes of a network chart and the non-empty text labels drawn in the page for them (a regulon's
# centre is labelled by an annotation above its marker)
NODE_LABELS_JS = """(gd) => {
  const traces = gd._fullData.filter(t => t.customdata && t.mode && t.mode.includes('text'));
  const names = new Set(traces.flatMap(t => Array.from(t.customdata)));
  return {
    nodes: traces.reduce((n, t) => n + t.x.length, 0),
    labels: Array.from(gd.querySelectorAll('g.textpoint text')).filter(e => e.textContent.trim()).length
      + Array.from(gd.querySelectorAll('g.annotation text')).filter(e => names.has(e.textContent.trim())).length,
  };
}"""
TUTORIAL_ONLY = "GENE42"  # in the tutorial folder's tf_to_gene.csv, without a <GENE>.csv of its own


@pytest.fixture(scope="module")
def server(tiny, tmp_path_factory):
    results = tmp_path_factory.mktemp("browser_results")
    tutorial = tmp_path_factory.mktemp("tutorial_results")
    table = tutorial_table(n_genes=60, n_tfs=40)
    for gene in ("GENE0", "GENE1"):  # per-gene CSVs for a few genes only, as in the tutorial's folder
        table[table["gene"] == gene].to_csv(tutorial / f"{gene}.csv", index=False)
    table.to_csv(tutorial / "tf_to_gene.csv")  # then the consolidation, the tutorial's way: pandas' index
    env = {
        **os.environ,
        "C2N_MDATA": str(tiny["mdata"]),
        "C2N_MODELS": str(tiny["models"]),
        "C2N_RESULTS": str(results),
        "PYTHONPATH": str(ROOT),
    }
    log_path = tmp_path_factory.mktemp("log") / "streamlit.log"
    with open(log_path, "w") as log:
        proc, url = launch_app(ROOT, env, log)
        try:
            yield {"url": url, "results": results, "tutorial": tutorial, "log": log_path}
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def settle(page) -> None:
    """Wait until the app is connected and no script run is in progress."""
    page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)


def first_plot(page, js: str):
    """``js`` (a function of the plotly div) on the page's first chart once plotly has drawn it.

    A rerun may be redrawing the chart when it is first found (``_fullData`` not yet set), so
    this waits for the drawn chart instead of reading it at once.
    """
    check = ("() => { const gd = document.querySelector('.js-plotly-plot');"
             f" return gd && gd._fullData && gd._fullData.length ? ({js})(gd) : null; }}")  # fmt: skip
    return page.wait_for_function(check, timeout=30_000).json_value()


def no_errors(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, "a page shows a traceback"


def shot(page, name: str) -> None:
    """Full-page screenshot to the artifacts folder (README's are made by ``docs/screenshots.py``)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


# the browser has fetched Streamlit's plotly chart script
PLOTLY_LOADED_JS = "() => performance.getEntriesByType('resource').some(e => /PlotlyChart[.][^/]*[.]js$/.test(e.name))"


def test_browser_journey(server):
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (needed for this test).")

    url = server["url"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)

        page.goto(url)
        settle(page)
        expect(page.get_by_role("heading", name="Cell2Net Explorer")).to_be_visible()
        expect(page.get_by_text("Genes with checkpoints:")).to_be_visible()
        no_errors(page)
        shot(page, "overview")
        # no chart here, yet plotly.js loads in the browser's idle time (ui.widgets.preload_plotly)
        assert page.locator(".js-plotly-plot").count() == 0
        page.wait_for_function(PLOTLY_LOADED_JS, timeout=20_000)

        # attribute a gene and see its chart
        page.get_by_role("link", name="Gene attribution").first.click()
        expect(page.get_by_role("heading", name="Gene attribution")).to_be_visible()  # the new page, not the last one
        settle(page)
        picker = page.get_by_label("Genes (type to search)")
        picker.click()
        picker.fill("GENE0")
        page.get_by_role("option", name="GENE0 (model available)").click()
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Attribute 1 gene(s): GENE0").click()
        expect(page.get_by_text("Attributed GENE0")).to_be_visible()
        expect(page.locator(".js-plotly-plot").first).to_be_visible()
        expect(page.get_by_text("Top TFs of GENE0")).to_be_visible()
        assert (server["results"] / "GENE0.npy").is_file()
        settle(page)
        chip = page.locator("[data-testid='stMultiSelectTagsContainer'] [data-tag]").filter(has_text="GENE0").first
        expect(chip).to_contain_text("GENE0 (cached)")  # the chip's label refreshed after attributing
        ranges = first_plot(page, AXIS_RANGES_JS)
        assert len(ranges) > 1 and len(set(ranges)) == 1, ranges  # panels share one value axis
        no_errors(page)
        shot(page, "attribution")

        # filter the network, click a node, export
        page.get_by_role("link", name="Network").first.click()
        settle(page)
        expect(page.get_by_role("heading", name="gene network")).to_be_visible()
        page.get_by_text("activation", exact=True).first.click()
        settle(page)
        chart = page.locator(".js-plotly-plot").first
        expect(chart).to_be_visible()
        focus_heading = page.get_by_role("heading", name="Edges of")
        for _ in range(5):  # the chart may re-render under the pointer: click again until the focus shows
            try:
                xy = chart.evaluate(FIRST_NODE_JS)
                page.mouse.click(xy["x"], xy["y"])
                expect(focus_heading).to_be_visible(timeout=5_000)
                break
            except (AssertionError, PlaywrightError):
                shot(page, "network_click_retry")
        expect(focus_heading).to_be_visible()
        settle(page)
        no_errors(page)
        shot(page, "network")
        with page.expect_download() as dl:
            page.get_by_role("button", name=re.compile(r"^Download [\d,]+ edges")).click()
        path = ARTIFACTS / "network_export.csv"
        dl.value.save_as(path)
        exported = pd.read_csv(path)
        assert list(exported.columns)[:3] == ["source", "target", "interaction"]
        assert len(exported) > 0 and (exported["mean_attr"] > 0).all()  # the activation filter holds

        page.get_by_role("link", name="Table").first.click()
        settle(page)
        expect(page.get_by_text("Rows passing the filters")).to_be_visible()
        no_errors(page)
        shot(page, "table")
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download these").click()
        table = pd.read_csv(io.BytesIO(Path(dl.value.path()).read_bytes()))
        assert set(table["gene"]) == {"GENE0"}

        page.get_by_role("link", name="Compare groups").first.click()
        settle(page)
        expect(page.get_by_text("TF activity")).to_be_visible()
        no_errors(page)
        shot(page, "compare")
        tutorial_journey(page, server["tutorial"])
        (ARTIFACTS / "journey.json").write_text(json.dumps({"url": url, "exported_edges": len(exported)}))
        browser.close()


def type_path(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    expect(box).to_have_count(1, timeout=TIMEOUT_MS)  # a rerun can show the last run's widget beside the new one
    box.fill(value)
    box.press("Enter")
    settle(page)


def tutorial_journey(page, tutorial: Path) -> None:
    """A tutorial results folder alone: a gene only in tf_to_gene.csv, a regulon, a capped drawing, the dot plot."""
    type_path(page, "Dataset (.h5mu)", "")
    type_path(page, "Model folder (<GENE>.pt)", "")
    type_path(page, "Results folder", str(tutorial))
    page.get_by_role("link", name="Gene attribution").first.click()
    expect(page.get_by_role("heading", name="Gene attribution")).to_be_visible()  # the new page, not the last one
    settle(page)
    picker = page.get_by_label("Genes (type to search)")
    picker.click()
    picker.fill(TUTORIAL_ONLY)
    page.get_by_role("option", name=f"{TUTORIAL_ONLY} (cached)").click()
    page.keyboard.press("Escape")
    settle(page)
    page.get_by_role("tab", name=TUTORIAL_ONLY).click()
    expect(page.get_by_text(f"Top TFs of {TUTORIAL_ONLY}")).to_be_visible()
    settle(page)
    no_errors(page)

    page.get_by_role("link", name="Network").first.click()
    settle(page)
    page.get_by_text("Targets of a TF", exact=True).click()
    settle(page)
    expect(page.get_by_text("edges,", exact=False).first).to_be_visible()
    drawn = first_plot(page, NODE_LABELS_JS)
    assert drawn["nodes"] > 1 and drawn["labels"] == drawn["nodes"], drawn  # every node of the regulon labelled
    shot(page, "regulon")
    page.get_by_text("Overview: hub TFs", exact=False).first.click()
    settle(page)
    type_path(page, "Overview: hub TFs (0 = all)", "0")
    type_path(page, "Most edges drawn", "10")
    message = page.get_by_text(re.compile(r"Drawing the 10 strongest of [\d,]+ edges")).inner_text()
    total = re.search(r"downloads hold all ([\d,]+) edges", message).group(1)
    expect(page.get_by_role("button", name=re.compile(rf"^Download {total} edges"))).to_be_visible()
    no_errors(page)

    page.get_by_role("link", name="TF dot plot").first.click()
    settle(page)
    dots = page.locator(".js-plotly-plot").first
    expect(dots).to_be_visible()
    page.wait_for_function(  # waits out the network page's plot, which may linger for a moment after the click
        "() => { const gd = document.querySelector('.js-plotly-plot');"
        " return gd && gd._fullData && gd._fullData[0].mode.includes('markers') && gd._fullData[0].x.length > 0; }",
        timeout=30_000)
    no_errors(page)
    shot(page, "dotplot")


def test_server_warms_up_at_start(server):
    """``streamlit run app.py`` serves app.py as an ``st.App`` whose start-up opened the dataset and read the
    results folder in the background (:mod:`ui.warm`), and said so in the server log."""
    log = ""
    for _ in range(100):  # the journey above ran long after it; alone, give it up to 10 s
        log = server["log"].read_text()
        if "warm-up" in log:
            break
        time.sleep(0.1)
    assert "Cell2Net warm-up done in" in log and "stopped early" not in log, log[-2000:]
