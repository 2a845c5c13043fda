"""The results folder matches a checked-in run (made before the core's layout changed).

``tests/fixtures/cell2net013/attribute_expected/`` holds what ``attribute`` wrote on the
cell2net 0.13 fixture: captum (20 steps, top 3 by |mean|), exact (defaults), and the exact
folder re-aggregated by another grouping column from its stored attributions. ``<GENE>.json``
is compared on every key of the expectation (run time and checkpoint mtime vary by run).
Until 2026-11-26 the folders were byte-identical on this project's platform (the pinned torch 2.13.0
CPU build). Then the peak embedding began to merge each peak's sequence once (``model.split_merge``),
which moved the exact method's numbers by float32 rounding (at most 2.3e-7 of the largest
attribution, 2.8e-6 on p- and q-values; the captum ones did not move), and p-values began to come
from ``scipy.special.stdtr`` directly (last bit, 4.6e-16). Numbers are therefore compared within
:data:`RTOL` of each column's largest value; names, groups, TF order, counts and ``.json`` keys
exactly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cell2net_core.cli import main as cli_main

FIXTURE = Path(__file__).parent / "fixtures" / "cell2net013"
EXPECTED = FIXTURE / "attribute_expected"
RTOL = 1e-6  # of a column's largest |value|; p- and q-values, in [0, 1], within 10 x RTOL
RUNS = {
    "captum": ["--method", "captum", "--n-steps", "20", "--rank-by", "abs", "--n-tfs", "3"],
    "exact": ["--method", "exact"],
}


def _attribute(out: Path, *flags: str) -> None:
    argv = ["attribute", "--mdata", str(FIXTURE / "mdata.h5mu"), "--models", str(FIXTURE / "model")]
    assert cli_main([*argv, "--out", str(out), "--device", "cpu", *flags]) == 0


def _assert_close_numbers(got: Path, want: Path) -> None:
    """Numbers within RTOL of the column's largest value, all else identical."""
    if want.suffix == ".npy":
        a, b = np.load(got), np.load(want)
        np.testing.assert_allclose(a, b, rtol=0, atol=RTOL * np.abs(b).max(), err_msg=want.name)
        return
    a, b = pd.read_csv(got), pd.read_csv(want)
    assert list(a.columns) == list(b.columns), want.name
    for col in b.columns:
        if b[col].dtype.kind != "f":
            assert a[col].equals(b[col]), (want.name, col)
            continue
        scale = 10.0 if col in ("p_value", "q_value") else np.nanmax(np.abs(b[col]))
        np.testing.assert_allclose(a[col], b[col], rtol=0, atol=RTOL * scale, err_msg=f"{want.name}: {col}")


def _assert_same(out: Path, expected: Path) -> None:
    names = sorted(p.name for p in expected.iterdir())
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == names
    for name in names:
        got, want = out / name, expected / name
        if name.endswith(".json"):
            meta, ref = json.loads(got.read_text()), json.loads(want.read_text())
            floats = {k for k, v in ref.items() if isinstance(v, float)}  # max_relative_gap: |gap| / |f(x) - f(0)|,
            assert {k: meta.get(k) for k in ref if k not in floats} == {k: ref[k] for k in ref if k not in floats}
            for k in floats:
                assert meta[k] == pytest.approx(ref[k], rel=100 * RTOL, abs=1e-9), (name, k)  # a small divisor
        else:
            _assert_close_numbers(got, want)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("same")
    for name, flags in RUNS.items():
        _attribute(root / name, *flags)
    shutil.copytree(root / "exact", root / "regroup")
    _attribute(root / "regroup", "--method", "exact", "--groupby", "cell_type", "--n-tfs", "0")
    return {name: root / name for name in [*RUNS, "regroup"]}


@pytest.mark.parametrize("name", ["captum", "exact", "regroup"])
def test_results_folder_matches_checked_in_run(runs, name):
    _assert_same(runs[name], EXPECTED / name)
