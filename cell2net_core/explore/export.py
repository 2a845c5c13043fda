"""Export a (filtered) TF -> gene network: edge CSV/TSV, SIF, GraphML, Cytoscape JSON.

Every format carries one edge per TF, gene and group (cell type); the group is the
edge's ``interaction``. Names are cleaned of tabs, newlines and quotes so that no
field needs quoting.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import networkx as nx
import pandas as pd

from ..errors import Cell2NetInputError
from ..files import atomic_write
from .network import check_table, node_kinds

__all__ = ["FORMATS", "EDGE_COLUMNS", "edge_list", "export_network", "write_network"]

FORMATS: dict[str, str] = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "sif": "text/plain",
    "graphml": "application/xml",
    "cyjs": "application/json",
}
EDGE_COLUMNS = ("source", "target", "interaction", "mean_attr", "std_attr", "n_metacells")
_BAD = re.compile(r"[\t\r\n\"']+")


def _clean(value: object) -> str:
    return _BAD.sub(" ", str(value)).strip()


def edge_list(edges: pd.DataFrame) -> pd.DataFrame:
    """The edges as ``source, target, interaction, mean_attr, std_attr, n_metacells``.

    ``n_metacells`` is empty (NaN) where the table has none (tutorial files).

    Examples
    --------
    >>> from cell2net_core.testing import random_table
    >>> edge_list(random_table(n_genes=1, top=2)).columns.tolist()
    ['source', 'target', 'interaction', 'mean_attr', 'std_attr', 'n_metacells']
    """
    group = check_table(edges)
    n = edges["n_metacells"] if "n_metacells" in edges.columns else pd.Series(float("nan"), index=edges.index)
    return pd.DataFrame(
        {
            "source": edges["tf"].map(_clean),
            "target": edges["gene"].map(_clean),
            "interaction": edges[group].map(_clean),
            "mean_attr": edges["mean_attr"].astype(float),
            "std_attr": edges["std_attr"].astype(float),
            "n_metacells": pd.to_numeric(n, errors="coerce").astype("Int64"),
        }
    ).reset_index(drop=True)


def _graphml(el: pd.DataFrame) -> bytes:
    g = nx.MultiDiGraph()
    kinds = node_kinds(el.rename(columns={"source": "tf", "target": "gene"}))
    for node, kind in sorted(kinds.items()):
        g.add_node(node, name=node, kind=kind)
    for row in el.itertuples(index=False):
        attrs = {"interaction": row.interaction, "mean_attr": float(row.mean_attr), "std_attr": float(row.std_attr)}
        if row.n_metacells is not pd.NA:
            attrs["n_metacells"] = int(row.n_metacells)
        g.add_edge(row.source, row.target, key=f"{row.source} ({row.interaction}) {row.target}", **attrs)
    buf = io.BytesIO()
    nx.write_graphml(g, buf, named_key_ids=True)
    return buf.getvalue()


def _cyjs(el: pd.DataFrame) -> bytes:
    kinds = node_kinds(el.rename(columns={"source": "tf", "target": "gene"}))
    nodes = [{"data": {"id": n, "name": n, "kind": k}} for n, k in sorted(kinds.items())]
    edges = []
    for i, row in enumerate(el.itertuples(index=False)):
        data = {
            "id": f"e{i}",
            "source": row.source,
            "target": row.target,
            "name": f"{row.source} ({row.interaction}) {row.target}",
            "interaction": row.interaction,
            "mean_attr": float(row.mean_attr),
            "std_attr": float(row.std_attr),
            "n_metacells": None if row.n_metacells is pd.NA else int(row.n_metacells),
        }
        edges.append({"data": data})
    doc = {"data": {"name": "cell2net TF-gene network"}, "elements": {"nodes": nodes, "edges": edges}}
    return json.dumps(doc, indent=1).encode()


def export_network(edges: pd.DataFrame, fmt: str) -> bytes:
    """Serialise edges of a ``tf_to_gene`` table in one of :data:`FORMATS`.

    Parameters
    ----------
    edges
        Rows of a ``tf_to_gene`` table (e.g. from :func:`~cell2net_core.graph.filter_edges`).
    fmt
        ``"csv"`` and ``"tsv"`` (columns :data:`EDGE_COLUMNS`), ``"sif"`` (``TF<TAB>pd<TAB>GENE``,
        one line per TF and gene), ``"graphml"`` (nodes with ``name`` and ``kind``, one edge
        per group) or ``"cyjs"`` (Cytoscape JSON, ``{"elements": {"nodes", "edges"}}``).

    Returns
    -------
    The file's bytes (UTF-8).

    Examples
    --------
    >>> import pandas as pd
    >>> edges = pd.DataFrame({"tf": ["TF0"], "gene": ["GENE1"], "cell_type_v2": ["NK"],
    ...                       "mean_attr": [0.5], "std_attr": [0.1]})
    >>> export_network(edges, "sif").decode().splitlines()[0]
    'TF0\\tpd\\tGENE1'
    """
    if fmt not in FORMATS:
        msg = f"Export format {fmt!r} is not one of {list(FORMATS)}."
        raise Cell2NetInputError(msg)
    el = edge_list(edges)
    if fmt in ("csv", "tsv"):
        return el.to_csv(index=False, sep="," if fmt == "csv" else "\t", lineterminator="\n").encode()
    if fmt == "sif":
        pairs = el[["source", "target"]].drop_duplicates()
        return "".join(f"{s}\tpd\t{t}\n" for s, t in pairs.itertuples(index=False)).encode()
    if fmt == "graphml":
        return _graphml(el)
    return _cyjs(el)


def write_network(edges: pd.DataFrame, path: str | os.PathLike, *, fmt: str | None = None) -> Path:
    """Write :func:`export_network` output to ``path`` atomically (temporary file, then rename).

    ``fmt`` defaults to the file's suffix (``.csv``, ``.tsv``, ``.sif``, ``.graphml``, ``.cyjs``).

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.testing import random_table
    >>> write_network(random_table(n_genes=1, top=2), f"{tempfile.mkdtemp()}/network.graphml").suffix
    '.graphml'
    """
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".").lower()
    return atomic_write(path, export_network(edges, fmt))
