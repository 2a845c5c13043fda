"""The results folder is byte-identical to a checked-in run (made before the core's layout changed).

``tests/fixtures/cell2net013/attribute_expected/`` holds what ``attribute`` wrote on the
cell2net 0.13 fixture: captum (20 steps, top 3 by |mean|), exact (defaults), and the exact
folder re-aggregated by another grouping column from its stored attributions. ``<GENE>.json``
is compared on every key of the expectation (run time and checkpoint mtime vary by run).
Byte-identity holds on this project's platform (the pinned torch 2.13.0 CPU build): on the GPU
machine's torch 2.11, the captum CSVs differ in the last digits of floats (seen, 2026-11-26).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cell2net_core.cli import main as cli_main

FIXTURE = Path(__file__).parent / "fixtures" / "cell2net013"
EXPECTED = FIXTURE / "attribute_expected"
RUNS = {
    "captum": ["--method", "captum", "--n-steps", "20", "--rank-by", "abs", "--n-tfs", "3"],
    "exact": ["--method", "exact"],
}


def _attribute(out: Path, *flags: str) -> None:
    argv = ["attribute", "--mdata", str(FIXTURE / "mdata.h5mu"), "--models", str(FIXTURE / "model")]
    assert cli_main([*argv, "--out", str(out), "--device", "cpu", *flags]) == 0


def _assert_same(out: Path, expected: Path) -> None:
    names = sorted(p.name for p in expected.iterdir())
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == names
    for name in names:
        got, want = out / name, expected / name
        if name.endswith(".json"):
            meta, ref = json.loads(got.read_text()), json.loads(want.read_text())
            assert {k: meta.get(k) for k in ref} == ref, name
        else:
            assert got.read_bytes() == want.read_bytes(), name


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("same")
    for name, flags in RUNS.items():
        _attribute(root / name, *flags)
    shutil.copytree(root / "exact", root / "regroup")
    _attribute(root / "regroup", "--method", "exact", "--groupby", "cell_type", "--n-tfs", "0")
    return {name: root / name for name in [*RUNS, "regroup"]}


@pytest.mark.parametrize("name", ["captum", "exact", "regroup"])
def test_results_folder_is_byte_identical(runs, name):
    _assert_same(runs[name], EXPECTED / name)
