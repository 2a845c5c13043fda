"""ui.context without Streamlit: paths checked and opened into a Context, failures as messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cell2net_core import data
from cell2net_core.errors import Cell2NetInputError
from ui.context import FILES_LABEL, NO_DATA, Context, Paths, build_context, failed, start_paths

ROOT = Path(__file__).resolve().parents[1]


def build(**paths) -> Context:
    return build_context(Paths(**{k: str(v) for k, v in paths.items()}), label=FILES_LABEL,
                         open_dataset=data.read_dataset)


def never_opened(path: str):
    raise AssertionError(f"opened {path!r}")


def test_no_streamlit_import():
    code = "import sys, ui.context; assert 'streamlit' not in sys.modules, 'streamlit imported'"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_empty_paths():
    ctx = build_context(Paths(), label="nothing", open_dataset=never_opened)
    assert ctx.label == "nothing" and ctx.problems == [NO_DATA]
    assert (ctx.mdata, ctx.mdata_path, ctx.models, ctx.results) == (None, None, None, None)
    assert not ctx.can_attribute


def test_missing_dataset_names_its_path(tmp_path):
    missing = tmp_path / "missing.h5mu"
    ctx = build(mdata=missing)
    [problem] = ctx.problems
    assert str(missing) in problem and "does not exist" in problem
    assert ctx.mdata is None and ctx.mdata_path is None


def test_opener_failure_is_a_problem(tmp_path):
    def bad(path: str):
        raise Cell2NetInputError(f"Cannot read {path!r}")

    ctx = build_context(Paths(mdata="x.h5mu", results=str(tmp_path)), label=FILES_LABEL, open_dataset=bad)
    assert ctx.problems == ["Cannot read 'x.h5mu'"]
    assert ctx.mdata is None and ctx.results == tmp_path


def test_existing_results_folder_alone(tmp_path):
    ctx = build_context(Paths(results=str(tmp_path)), label=FILES_LABEL, open_dataset=never_opened)
    assert ctx.results == tmp_path and ctx.problems == []
    assert ctx.mdata is None and ctx.models is None and not ctx.can_attribute


def test_missing_models_folder(tmp_path):
    nowhere = tmp_path / "nowhere"
    ctx = build(models=nowhere)
    assert ctx.models is None
    assert ctx.problems == [f"The model folder {str(nowhere)!r} does not exist or is not a folder."]
    assert not nowhere.exists()


def test_missing_results_folder_is_created_only_with_a_dataset(tiny, tmp_path):
    alone = build(results=tmp_path / "alone")
    assert alone.results is None and "results folder" in alone.problems[0]
    ctx = build(mdata=tiny["mdata"], results=tmp_path / "new" / "results")
    assert ctx.results == tmp_path / "new" / "results" and ctx.results.is_dir() and ctx.problems == []


def test_results_path_that_is_a_file(tmp_path):
    file = tmp_path / "tf_to_gene.csv"
    file.write_text("tf,gene\n")
    ctx = build(results=file)
    assert ctx.results is None
    assert ctx.problems == [f"The results folder {str(file)!r} does not exist or is not a folder."]


def test_tiny_dataset_can_attribute(tiny, tmp_path):
    ctx = build(mdata=tiny["mdata"], models=tiny["models"], results=tmp_path)
    assert ctx.problems == [] and ctx.can_attribute
    assert ctx.mdata.n_obs == 48 and ctx.mdata_path == Path(tiny["mdata"]).resolve()
    assert ctx.models == tiny["models"] and ctx.results == tmp_path


def test_failed_context():
    ctx = failed("the embedded demo", "no demo here")
    assert ctx.problems == ["no demo here"] and ctx.label == "the embedded demo"
    assert ctx.results is None and not ctx.can_attribute


@pytest.mark.parametrize(
    "argv,environ,expected",
    [
        (["--results", "out"], {}, Paths(results="out")),
        ([], {"C2N_MDATA": "m.h5mu", "C2N_MODELS": "model"}, Paths(mdata="m.h5mu", models="model")),
        (["--models", "cli", "--other", "x"], {"C2N_MODELS": "env"}, Paths(models="cli")),
    ],
)
def test_start_paths(argv, environ, expected):
    assert start_paths(argv, environ) == expected
