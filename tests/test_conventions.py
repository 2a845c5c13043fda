"""House conventions, checked on the code itself: the public face, imports and function length."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import cell2net_core

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    p for folder in ("cell2net_core", "ui", "app_pages") for p in (ROOT / folder).rglob("*.py")
) + [ROOT / "app.py"]
MAX_CODE_LINES = 60
PUBLIC = [name for name in cell2net_core.__all__ if not inspect.ismodule(getattr(cell2net_core, name))]


def test_public_face_lists_the_main_verbs():
    verbs = {"read_dataset", "validate_dataset", "gene_inputs", "load_checkpoint", "save_checkpoint", "tf_attr",
             "tf_to_gene", "attribute_genes", "ResultStore", "Cell2NetInputError", "Settings"}  # fmt: skip
    assert verbs <= set(cell2net_core.__all__)
    assert all(hasattr(cell2net_core, name) for name in cell2net_core.__all__)


def _signature(obj) -> inspect.Signature | None:
    if inspect.isclass(obj) and issubclass(obj, Exception):
        return None
    return inspect.signature(obj)


@pytest.mark.parametrize("name", PUBLIC)
def test_data_first_options_keyword_only(name):
    sig = _signature(getattr(cell2net_core, name))
    if sig is None:
        return
    positional = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for p in positional:
        assert p.default is p.empty, f"{name}: option {p.name!r} must be keyword-only"
        assert "bool" not in str(p.annotation), f"{name}: {p.name!r} is a positional boolean"
    assert len(positional) <= 2, f"{name}: at most two data arguments before the options, got {positional}"


@pytest.mark.parametrize("name", PUBLIC)
def test_numpydoc_with_an_example(name):
    obj = getattr(cell2net_core, name)
    doc = inspect.getdoc(obj) or ""
    assert "Examples\n--------\n>>> " in doc, f"{name}: no Examples section with a >>> line"
    sig = _signature(obj)
    if sig is not None and sig.parameters:
        assert "Parameters\n----------" in doc or "Attributes\n----------" in doc, f"{name}: no Parameters section"
    assert "doctest: +SKIP" not in doc, f"{name}: its example is skipped"


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            yield node.module or "", [a.name for a in node.names], node.level
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, [], 0


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_names_imported_from_another_module(path):
    for module, names, _ in _imports(ast.parse(path.read_text())):
        ours = module.startswith(("cell2net_core", "ui")) or not module or module[0] == "."
        parts = [p for p in module.split(".") if p]
        assert not any(p.startswith("_") for p in parts) or not ours, f"{path.name} imports private module {module}"
        private = [n for n in names if n.startswith("_")]
        assert not (ours and private), f"{path.name} imports private name(s) {private} from {module}"


def test_core_never_imports_streamlit_or_the_app():
    for path in (ROOT / "cell2net_core").rglob("*.py"):
        for module, _, level in _imports(ast.parse(path.read_text())):
            top = module.split(".")[0]
            assert level or top not in {"streamlit", "ui", "app_pages", "app"}, f"{path.name} imports {module}"


def _code_lines(func: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> int:
    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # the docstring
    if not body:
        return 0
    text = lines[body[0].lineno - 1 : func.end_lineno]
    return sum(1 for line in text if line.strip() and not line.strip().startswith("#"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_functions_are_short(path):
    source = path.read_text()
    lines = source.splitlines()
    long = {
        node.name: n
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (n := _code_lines(node, lines)) > MAX_CODE_LINES
    }
    assert not long, f"{path.name}: functions over {MAX_CODE_LINES} lines of code: {long}"


def test_browsing_a_results_folder_loads_no_heavy_library():
    """What a results folder alone needs (the app's shared modules, the store, the table views) imports
    without torch, captum, scipy.stats, mudata, matplotlib or networkx: together they took seconds on a cold start."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import cell2net_core, ui.cache, ui.jobs, ui.source, ui.widgets\n"
        "from cell2net_core import settings, store\n"
        "from cell2net_core.explore import compare, export, figures, network, quality\n"
        "heavy = ('torch', 'captum', 'scipy.stats', 'mudata', 'anndata', 'matplotlib', 'logomaker', 'networkx')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == []
    lazy = "import cell2net_core as c; import cell2net_core.perturb; print(c.perturb.__name__, c.testing.__name__)"
    ok = subprocess.run([sys.executable, "-c", lazy], cwd=ROOT, capture_output=True, text=True, check=True)
    assert ok.stdout.split() == ["perturb", "cell2net_core.testing"]  # the lazy public face still resolves
