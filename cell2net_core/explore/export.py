"""Export a (filtered) TF -> gene network: edge CSV/TSV, SIF, GraphML, Cytoscape JSON.

Every format carries one edge per TF, gene and group (cell type); the group is the
edge's ``interaction``. Names are kept distinct: CSV quotes a field as RFC 4180 says;
TSV and SIF, which have no quoting, write a backslash, tab, newline or other control
character as two backslashes, ``\\t``, ``\\n``, ``\\xHH``; GraphML escapes the characters
XML cannot hold (control characters other than tab and newline, and the backslash) the
same way; Cytoscape JSON escapes what JSON needs and writes a missing number as ``null``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import Cell2NetInputError
from ..files import atomic_write
from ..store import ResultStore
from .network import check_table, filter_edges, node_kinds

__all__ = ["FORMATS", "EDGE_COLUMNS", "edge_list", "export_network", "export_results", "file_stem", "write_network"]

FORMATS: dict[str, str] = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "sif": "text/plain",
    "graphml": "application/xml",
    "cyjs": "application/json",
}
EDGE_COLUMNS = ("source", "target", "interaction", "mean_attr", "std_attr", "n_metacells")
_TEXT_UNSAFE = re.compile(r"[\\\x00-\x1f\x7f]")  # TSV and SIF: no quoting, so escape these
_XML_UNSAFE = re.compile(r"[\\\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")  # illegal in XML 1.0 (+ CR, \\)
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape_char(match: re.Match[str]) -> str:
    c = match.group()
    return _ESCAPES.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}")


def _escape(value: object, unsafe: re.Pattern[str]) -> str:
    """Backslash escapes for the characters ``unsafe`` matches (one-to-one, so names stay distinct)."""
    return unsafe.sub(_escape_char, str(value))


def _escaped(el: pd.DataFrame, unsafe: re.Pattern[str]) -> pd.DataFrame:
    names = {c: el[c].map(lambda v: _escape(v, unsafe)) for c in ("source", "target", "interaction")}
    return el.assign(**names)


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
            "source": edges["tf"].astype(str),
            "target": edges["gene"].astype(str),
            "interaction": edges[group].astype(str),
            "mean_attr": edges["mean_attr"].astype(float),
            "std_attr": edges["std_attr"].astype(float),
            "n_metacells": pd.to_numeric(n, errors="coerce").astype("Int64"),
        }
    ).reset_index(drop=True)


Positions = dict[str, tuple[float, float]]
_SCALE = 1000.0  # layout units ([-1, 1]) to Cytoscape pixels; y grows downwards there


def _xy(node: str, positions: Positions | None) -> dict[str, float]:
    if not positions or node not in positions:
        return {}
    x, y = positions[node]
    return {"x": round(float(x) * _SCALE, 2), "y": round(-float(y) * _SCALE, 2)}


def _graphml(el: pd.DataFrame, positions: Positions | None) -> bytes:
    import networkx as nx  # only for GraphML: the app's first page starts without it

    g = nx.MultiDiGraph()
    kinds = node_kinds(el.rename(columns={"source": "tf", "target": "gene"}))
    for node, kind in sorted(kinds.items()):
        g.add_node(node, name=node, kind=kind, **_xy(node, positions))
    for row in el.itertuples(index=False):
        attrs = {"interaction": row.interaction, "mean_attr": float(row.mean_attr), "std_attr": float(row.std_attr)}
        if row.n_metacells is not pd.NA:
            attrs["n_metacells"] = int(row.n_metacells)
        g.add_edge(row.source, row.target, key=f"{row.source} ({row.interaction}) {row.target}", **attrs)
    buf = io.BytesIO()
    nx.write_graphml(g, buf, named_key_ids=True)
    return buf.getvalue()


def _cyjs(el: pd.DataFrame, positions: Positions | None) -> bytes:
    kinds = node_kinds(el.rename(columns={"source": "tf", "target": "gene"}))
    nodes = []
    for n, k in sorted(kinds.items()):
        xy = _xy(n, positions)
        nodes.append({"data": {"id": n, "name": n, "kind": k}, **({"position": xy} if xy else {})})
    edges = []
    for i, row in enumerate(el.itertuples(index=False)):
        data = {
            "id": f"e{i}",
            "source": row.source,
            "target": row.target,
            "name": f"{row.source} ({row.interaction}) {row.target}",
            "interaction": row.interaction,
            "mean_attr": _number(row.mean_attr),
            "std_attr": _number(row.std_attr),
            "n_metacells": None if row.n_metacells is pd.NA else int(row.n_metacells),
        }
        edges.append({"data": data})
    doc = {"data": {"name": "cell2net TF-gene network"}, "elements": {"nodes": nodes, "edges": edges}}
    return json.dumps(doc, indent=1, allow_nan=False).encode()


def _number(value: float) -> float | None:
    """JSON has no NaN or infinity: missing is ``null``."""
    return float(value) if math.isfinite(value) else None


def _sif(el: pd.DataFrame) -> bytes:
    """One line per TF and gene; ``activates`` or ``represses`` by the sign of its strongest group."""
    strongest = el.assign(_abs=el["mean_attr"].abs()).sort_values("_abs", ascending=False, kind="stable")
    order = el[["source", "target"]].drop_duplicates()
    sign = strongest.drop_duplicates(["source", "target"]).set_index(["source", "target"])["mean_attr"]
    verb = {True: "activates", False: "represses"}
    lines = [f"{s}\t{verb[bool(sign[(s, t)] >= 0)]}\t{t}\n" for s, t in order.itertuples(index=False)]
    return "".join(lines).encode()


def export_network(edges: pd.DataFrame, fmt: str, *, positions: Positions | None = None) -> bytes:
    """Serialise edges of a ``tf_to_gene`` table in one of :data:`FORMATS`.

    Parameters
    ----------
    edges
        Rows of a ``tf_to_gene`` table (e.g. from :func:`~cell2net_core.graph.filter_edges`).
    fmt
        ``"csv"`` and ``"tsv"`` (columns :data:`EDGE_COLUMNS`), ``"sif"`` (``TF<TAB>activates<TAB>GENE``
        or ``represses``, one line per TF and gene, the sign of its strongest group), ``"graphml"``
        (nodes with ``name``, ``kind`` and, when drawn, ``x``/``y``; one edge per group) or
        ``"cyjs"`` (Cytoscape JSON, ``{"elements": {"nodes", "edges"}}``, nodes with ``position``).
    positions
        Node positions of the layout shown (e.g. :func:`~cell2net_core.explore.network.layout`),
        written to GraphML and .cyjs as pixels (x right, y down); nodes without one get none.

    Returns
    -------
    The file's bytes (UTF-8).

    Examples
    --------
    >>> import pandas as pd
    >>> edges = pd.DataFrame({"tf": ["TF0"], "gene": ["GENE1"], "cell_type_v2": ["NK"],
    ...                       "mean_attr": [0.5], "std_attr": [0.1]})
    >>> export_network(edges, "sif").decode().splitlines()[0]
    'TF0\\tactivates\\tGENE1'
    """
    if fmt not in FORMATS:
        msg = f"Export format {fmt!r} is not one of {list(FORMATS)}."
        raise Cell2NetInputError(msg)
    el = edge_list(edges)
    if fmt == "csv":  # Python's csv quotes a field holding "\n" but not one holding a lone "\r": then quote all text
        has_cr = any(el[c].str.contains("\r", regex=False).any() for c in ("source", "target", "interaction"))
        quoting = csv.QUOTE_NONNUMERIC if has_cr else csv.QUOTE_MINIMAL
        return el.to_csv(index=False, lineterminator="\n", quoting=quoting).encode()
    if fmt == "tsv":  # no field holds a tab, newline or NUL once escaped, so nothing needs quoting
        text = _escaped(el, _TEXT_UNSAFE).to_csv(
            index=False, sep="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, quotechar="\x00"
        )
        return text.encode()
    if fmt == "sif":
        return _sif(_escaped(el, _TEXT_UNSAFE))
    if fmt == "graphml":
        escaped = {_escape(k, _XML_UNSAFE): xy for k, xy in (positions or {}).items()}
        return _graphml(_escaped(el, _XML_UNSAFE), escaped)
    return _cyjs(el, positions)


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


def file_stem(prefix: str, *, groups: list[str] | None = None, genes: list[str] | None = None,
              tfs: list[str] | None = None, top_k: int | None = None, sign: str = "all") -> str:
    """A file name (no suffix) that says which filter made the export.

    Examples
    --------
    >>> file_stem("network", groups=["Monocyte"], top_k=3)
    'network_Monocyte_top3'
    >>> file_stem("network", tfs=["SPI1"], genes=["A", "B", "C", "D"], sign="negative")
    'network_SPI1_4genes_repression'
    """
    def part(names: list[str] | None, what: str) -> list[str]:
        if not names:
            return []
        return ["+".join(names)] if len(names) <= 2 else [f"{len(names)}{what}"]

    bits = [prefix, *part(groups, "groups"), *part(tfs, "TFs"), *part(genes, "genes")]
    bits += [f"top{top_k}"] if top_k else []
    bits += [{"positive": "activation", "negative": "repression"}[sign]] if sign != "all" else []
    return "_".join(re.sub(r"[^A-Za-z0-9+.-]+", "-", b) for b in bits)


def export_results(
    results: str | os.PathLike,
    fmt: str,
    *,
    groupby: str | None = None,
    groups: Sequence[str] | None = None,
    genes: Sequence[str] | None = None,
    tfs: Sequence[str] | None = None,
    top_k: int | None = None,
    min_abs: float = 0.0,
    sign: str = "all",
) -> bytes:
    """A results folder's network, filtered as on the app's Network page, in one of :data:`FORMATS`.

    The same calls as the page's download button (the folder's whole table,
    :func:`~cell2net_core.explore.network.filter_edges`, :func:`export_network`), so the
    bytes are the same for the same filter.

    Parameters
    ----------
    results
        Results folder (ours or the tutorial's ``tf_to_gene.csv``).
    fmt
        ``"csv"``, ``"tsv"``, ``"sif"``, ``"graphml"`` or ``"cyjs"``.
    groupby
        The table's grouping column, to check (the table holds one; regrouping needs ``attribute``).
    groups, genes, tfs, top_k, min_abs, sign
        The page's filters; ``None`` keeps all.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.testing import random_table
    >>> folder = tempfile.mkdtemp()
    >>> random_table(n_genes=2, top=3, groups=("NK", "B cell")).to_csv(f"{folder}/tf_to_gene.csv")
    >>> export_results(folder, "sif", groups=["NK"], top_k=1).decode().count("\\n")
    2
    """
    table = ResultStore(results).table()
    group = check_table(table)
    if groupby is not None and groupby != group:
        msg = (
            f"The table in {str(results)!r} is grouped by {group!r}, not {groupby!r}: run attribute "
            f"with --groupby {groupby} (it regroups stored attributions without recomputing)."
        )
        raise Cell2NetInputError(msg)
    edges = filter_edges(table, cell_types=groups or None, genes=genes or None, tfs=tfs or None,
                         top_k=top_k or None, min_abs=min_abs, sign=sign)  # fmt: skip
    if edges.empty:
        msg = f"No edge of {str(results)!r} passes these filters: widen the groups, genes, TFs, threshold or sign."
        raise Cell2NetInputError(msg)
    return export_network(edges, fmt)
