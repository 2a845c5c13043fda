"""Network: the filtered TF -> gene graph, click-to-focus, hub TFs and export."""

import numpy as np
import streamlit as st

from cell2net_core.explore import figures, network
from ui import cache, source, state
from ui.widgets import chart, clamp_state, export_buttons, guard, network_table

ctx = source.current()
st.title("TF -> gene network")
table = network_table(ctx)
group = network.check_table(table)
max_abs = float(np.nanmax(np.abs(table["mean_attr"].to_numpy()))) if len(table) else 1.0

with st.expander("Filters", expanded=True):
    c1, c2, c3 = st.columns(3)
    groups = c1.multiselect(f"{group}", sorted(table[group].astype(str).unique()), key=state.NET_GROUPS,
                            placeholder="all")
    genes = c2.multiselect("Target genes", sorted(table["gene"].unique()), key=state.NET_GENES, placeholder="all")
    tfs = c3.multiselect("TFs", sorted(table["tf"].unique()), key=state.NET_TFS, placeholder="all")
    c4, c5, c6 = st.columns(3)
    top_k = c4.number_input("Top-k TFs per gene and group (0 = all)", 0, 500, key=state.NET_TOP_K)
    clamp_state(state.NET_MIN_ABS, 0.0, max_abs)
    min_abs = c5.slider("|mean attribution| at least", 0.0, max_abs, key=state.NET_MIN_ABS,
                        step=max_abs / 200 or 0.01, format="%.4g")
    sign = c6.radio("Sign", list(network.SIGNS), horizontal=True, key=state.NET_SIGN,
                    format_func={"all": "all", "positive": "activation", "negative": "repression"}.get)

with guard():
    edges = network.filter_edges(
        table, cell_types=groups or None, genes=genes or None, tfs=tfs or None,
        top_k=int(top_k) or None, min_abs=float(min_abs), sign=sign,
    )
if edges.empty:
    st.warning("No edge passes these filters: widen the groups, genes, TFs, threshold or sign.")
    st.stop()
pairs = network.pair_edges(edges)
drawn, capped = network.cap_edges(pairs)
if capped:
    st.warning(
        f"The filter leaves {len(pairs):,} TF -> gene edges, more than a browser draws smoothly: "
        f"showing the {len(drawn):,} strongest by |mean attribution|. Narrow the filter to see the rest; "
        "the export below holds every filtered edge."
    )
pos = cache.layout(drawn)

# a click or lasso on the chart (stored by its key) sets the focus before the figure is built
selection = st.session_state.get(state.NET_CHART)
points = selection.get("selection", {}).get("points", []) if selection else []
picked = sorted({str(p["customdata"]) for p in points if isinstance(p.get("customdata"), str)})
if picked and picked != st.session_state.get(state.NET_LAST_SELECTION):
    st.session_state[state.NET_LAST_SELECTION] = picked
    st.session_state[state.NET_FOCUS] = [n for n in picked if n in pos]
nodes = sorted(pos)
st.session_state[state.NET_FOCUS] = [n for n in st.session_state[state.NET_FOCUS] if n in pos]
focus = st.multiselect("Focus on nodes (or click / lasso them in the graph)", nodes, key=state.NET_FOCUS)

left, right = st.columns([3, 1])
with left:
    fig = figures.network_figure(drawn, pos, focus=focus,
                               title=f"{len(drawn):,} edges, {len(pos):,} nodes (edges: strongest {group})")
    chart(fig, name="tf_gene_network", key=state.NET_CHART, on_select="rerun", selection_mode=("points", "lasso"))
with right:
    st.subheader("Hub TFs")
    hubs = network.hub_tfs(edges)
    by_degree, by_weight = st.tabs(["by out-degree", "by summed |mean|"])
    height = min(420, 35 * (len(hubs) + 1) + 3)
    by_degree.dataframe(hubs, hide_index=True, height=height)
    by_weight.dataframe(hubs.sort_values("sum_abs_attr", ascending=False), hide_index=True, height=height)

if focus:
    st.subheader(f"Edges of {', '.join(focus)}")
    st.dataframe(network.neighbourhood(edges, focus), hide_index=True)
st.subheader("Export the filtered network")
export_buttons(edges, page="network", name="tf_gene_network")
