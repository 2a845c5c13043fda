"""Start ``streamlit run app.py`` on a free local port and wait until it answers; chromium launch flags;
a standalone page drawing one plotly figure.

Shared by the browser tests, ``docs/screenshots.py`` and the browser benchmarks.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)  # polling interval, not a wait for the app
    raise TimeoutError(f"{url}/_stcore/health did not answer within {timeout} s")


def launch_app(root, env: dict[str, str], log) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run app.py`` headless on a free port; return the process and its URL once healthy."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(root / "app.py"), "--server.headless", "true"]
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
    except BaseException:
        proc.terminate()
        raise
    return proc, url


def plotly_js() -> Path:
    """The plotly.js bundled with the plotly Python package (nothing is downloaded)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def figure_page(fig, path: Path, *, width: int = 1000) -> str:
    """Write a page that draws ``fig`` (a plotly figure) ``width`` px wide into ``div#g``; return its URL.

    Once the page is loaded, ``window.drawn`` is the promise of ``Plotly.newPlot``.
    """
    path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<script src='{plotly_js().as_uri()}'></script></head>"
        f"<body style='margin:0'><div id='g' style='width:{width}px'></div><script>"
        f"const fig = {fig.to_json()}; window.drawn = Plotly.newPlot('g', fig.data, fig.layout);"
        "</script></body></html>"
    )
    return path.as_uri()
