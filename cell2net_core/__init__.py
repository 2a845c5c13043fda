"""Cell2Net Explorer core: read cell2net datasets and checkpoints, attribute TFs, build networks.

The attribution path, one module per step (data flows one way)::

    data         read_dataset, validate_dataset, gene_inputs      dataset -> one gene's inputs
    model        load_checkpoint, save_checkpoint, predict        cell2net's checkpoints
    attribution  tf_attr                                          inputs -> per-metacell attributions
    aggregate    tf_to_gene, regroup                              attributions -> TF -> gene table
    store        ResultStore, read_network_table                  the results folder
    pipeline     attribute_genes                                  the resumable loop over genes
    settings     Settings                                         what defines one computation
    perturb      perturb                                          in-silico TF knock-out / over-expression

``explore`` builds networks, comparisons, figures and exports from the tables; ``demo`` makes
the embedded demo; ``testing`` makes random data for tests; ``cli`` is ``python -m cell2net_core``.

Examples
--------
>>> import cell2net_core as c2n
>>> mdata = c2n.testing.random_dataset(n_metacells=16)
>>> inputs = c2n.gene_inputs(mdata, "GENE0")
>>> attribution = c2n.tf_attr(c2n.testing.random_model(inputs), inputs, method="exact", device="cpu")
>>> c2n.regroup(attribution, mdata, n_tfs=2).columns.tolist()
['tf', 'gene', 'cell_type_v2', 'mean_attr', 'std_attr', 'n_metacells']
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

#: Where each public name lives. The names are imported on first use (PEP 562), so ``import
#: cell2net_core`` or one light submodule (``store``, ``explore.network``) does not pull in torch,
#: captum or scipy: a results-only app page starts without them.
_HOME = {
    "testing": None,
    "regroup": "aggregate", "tf_to_gene": "aggregate",
    "Attribution": "attribution", "tf_attr": "attribution",
    "GeneInputs": "data", "gene_inputs": "data", "gene_tfs": "data", "group_labels": "data",
    "read_dataset": "data", "validate_dataset": "data",
    "Cell2NetInputError": "errors",
    "load_checkpoint": "model", "predict": "model", "save_checkpoint": "model",
    "perturb": "perturb",
    "GeneResult": "pipeline", "attribute_gene": "pipeline", "attribute_genes": "pipeline",
    "Settings": "settings",
    "ResultStore": "store", "read_network_table": "store",
}  # fmt: skip

if TYPE_CHECKING:
    from . import testing
    from .aggregate import regroup, tf_to_gene
    from .attribution import Attribution, tf_attr
    from .data import GeneInputs, gene_inputs, gene_tfs, group_labels, read_dataset, validate_dataset
    from .errors import Cell2NetInputError
    from .model import load_checkpoint, predict, save_checkpoint
    from .perturb import perturb
    from .pipeline import GeneResult, attribute_gene, attribute_genes
    from .settings import Settings
    from .store import ResultStore, read_network_table


def __getattr__(name: str):
    if name not in _HOME:
        msg = f"module 'cell2net_core' has no attribute {name!r}"
        raise AttributeError(msg)
    home = _HOME[name]
    value = importlib.import_module(f".{home or name}", __name__)
    value = value if home is None else getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """Keeps a public function named like its module (``perturb``) when Python binds the submodule."""

    def __setattr__(self, name: str, value: object) -> None:
        if _HOME.get(name) == name and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "Attribution",
    "Cell2NetInputError",
    "GeneInputs",
    "GeneResult",
    "ResultStore",
    "Settings",
    "attribute_gene",
    "attribute_genes",
    "gene_inputs",
    "gene_tfs",
    "group_labels",
    "load_checkpoint",
    "perturb",
    "predict",
    "read_dataset",
    "read_network_table",
    "regroup",
    "save_checkpoint",
    "testing",
    "tf_attr",
    "tf_to_gene",
    "validate_dataset",
]
