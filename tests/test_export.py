"""Every export format reads back (pandas, networkx, json) with the same edges."""

from __future__ import annotations

import csv
import io
import json

import networkx as nx
import pandas as pd
import pytest

from cell2net_core.errors import Cell2NetInputError
from cell2net_core.explore import export
from cell2net_core.store import read_network_table


def edges() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tf": ["SPI1", "SPI1", "PAX5", 'B"AD\tTF'],
            "gene": ["CD14", "CD14", "MS4A1", "LINE\nGENE"],
            "cell_type_v2": ["Monocyte", "cDC", "B cell", "NK"],
            "mean_attr": [0.5, -0.25, 1.5, 0.125],
            "std_attr": [0.1, 0.2, 0.3, 0.4],
            "n_metacells": [120, 30, 80, 5],
        }
    )


def expected(*, escaped: bool = False) -> set[tuple]:
    """The edges; names as written (CSV, GraphML, JSON) or backslash-escaped (TSV, SIF: no quoting)."""
    odd_tf, odd_gene = ('B"AD\\tTF', "LINE\\nGENE") if escaped else ('B"AD\tTF', "LINE\nGENE")
    return {
        ("SPI1", "CD14", "Monocyte", 0.5), ("SPI1", "CD14", "cDC", -0.25),
        ("PAX5", "MS4A1", "B cell", 1.5), (odd_tf, odd_gene, "NK", 0.125),
    }


@pytest.mark.parametrize("fmt,sep", [("csv", ","), ("tsv", "\t")])
def test_edge_lists_read_back(fmt, sep):
    quoting = csv.QUOTE_MINIMAL if fmt == "csv" else csv.QUOTE_NONE
    back = pd.read_csv(io.BytesIO(export.export_network(edges(), fmt)), sep=sep, quoting=quoting)
    assert tuple(back.columns) == export.EDGE_COLUMNS
    got = set(back[["source", "target", "interaction", "mean_attr"]].itertuples(index=False, name=None))
    assert got == expected(escaped=fmt == "tsv")
    assert back["n_metacells"].tolist() == [120, 30, 80, 5]


def test_tsv_and_sif_lines_have_a_fixed_number_of_fields():
    for fmt in ("tsv", "sif"):
        lines = export.export_network(edges(), fmt).decode().split("\n")[:-1]
        assert {len(line.split("\t")) for line in lines} == {6 if fmt == "tsv" else 3}


def test_sif_one_line_per_tf_and_gene_with_its_sign():
    lines = export.export_network(edges(), "sif").decode().splitlines()
    assert lines == ["SPI1\tactivates\tCD14", "PAX5\tactivates\tMS4A1", 'B"AD\\tTF\tactivates\tLINE\\nGENE']
    repressed = edges().assign(mean_attr=[0.25, -0.5, 1.5, 0.125])  # SPI1 -> CD14 strongest in cDC, negative
    assert export.export_network(repressed, "sif").decode().splitlines()[0] == "SPI1\trepresses\tCD14"


def test_graphml_and_cyjs_carry_the_layout_shown():
    pos = {"SPI1": (0.5, -0.25), "CD14": (-1.0, 1.0)}
    g = nx.read_graphml(io.BytesIO(export.export_network(edges(), "graphml", positions=pos)))
    assert (g.nodes["SPI1"]["x"], g.nodes["SPI1"]["y"]) == (500.0, 250.0)
    assert "x" not in g.nodes["PAX5"]  # not drawn: no position
    doc = json.loads(export.export_network(edges(), "cyjs", positions=pos))
    placed = {n["data"]["id"]: n.get("position") for n in doc["elements"]["nodes"]}
    assert placed["CD14"] == {"x": -1000.0, "y": -1000.0} and placed["PAX5"] is None


def test_file_stem_names_the_filter():
    assert export.file_stem("network", groups=["Monocyte"], top_k=3) == "network_Monocyte_top3"
    assert export.file_stem("table") == "table"


def test_graphml_reads_back_with_name_and_kind():
    g = nx.read_graphml(io.BytesIO(export.export_network(edges(), "graphml")))
    assert isinstance(g, nx.MultiDiGraph)
    got = {(u, v, d["interaction"], d["mean_attr"]) for u, v, d in g.edges(data=True)}
    assert got == expected()
    assert g.nodes["SPI1"] == {"name": "SPI1", "kind": "TF"}
    assert g.nodes["CD14"]["kind"] == "gene"
    assert all(d["n_metacells"] in (120, 30, 80, 5) for _, _, d in g.edges(data=True))


def test_cytoscape_json_grouped_elements():
    doc = json.loads(export.export_network(edges(), "cyjs"))
    nodes = {n["data"]["id"]: n["data"] for n in doc["elements"]["nodes"]}
    assert nodes["PAX5"]["kind"] == "TF" and nodes["MS4A1"]["name"] == "MS4A1"
    got = {(e["data"]["source"], e["data"]["target"], e["data"]["interaction"], e["data"]["mean_attr"])
           for e in doc["elements"]["edges"]}
    assert got == expected()
    assert all(e["data"]["source"] in nodes and e["data"]["target"] in nodes for e in doc["elements"]["edges"])


def test_tutorial_table_without_n_metacells(tmp_path):
    path = tmp_path / "tf_to_gene.csv"
    edges().drop(columns="n_metacells").to_csv(path)  # pandas' default index, as the tutorial writes
    table = read_network_table(path)
    back = pd.read_csv(io.BytesIO(export.export_network(table, "csv")))
    assert back["n_metacells"].isna().all() and len(back) == 4
    doc = json.loads(export.export_network(table, "cyjs"))
    assert all(e["data"]["n_metacells"] is None for e in doc["elements"]["edges"])
    g = nx.read_graphml(io.BytesIO(export.export_network(table, "graphml")))
    assert g.number_of_edges() == 4


def test_write_network_is_atomic_and_infers_format(tmp_path):
    path = export.write_network(edges(), tmp_path / "net.sif")
    assert path.read_text().startswith("SPI1\tactivates\tCD14")
    assert [p.name for p in tmp_path.iterdir()] == ["net.sif"]
    with pytest.raises(Cell2NetInputError, match="xlsx"):
        export.write_network(edges(), tmp_path / "net.xlsx")
    assert [p.name for p in tmp_path.iterdir()] == ["net.sif"]
