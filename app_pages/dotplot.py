"""TF x cell-type dot plot: colour = mean attribution, size = the TF's own expression; a click opens its regulon."""

import streamlit as st

from cell2net_core.explore import compare, figures, network
from ui import cache, source, state
from ui.widgets import PAGES, chart, guard, network_table

ctx = source.current()
st.title("TF x cell-type dot plot")
table = network_table(ctx)
group = network.check_table(table)
c1, c2, c3 = st.columns([2, 1, 1])
genes = c1.multiselect("Genes", sorted(table["gene"].unique()), key=state.DOT_GENES, placeholder="all (e.g. MS4A1)")
top = c2.number_input("TFs shown (strongest)", 5, 300, key=state.DOT_TOP)
scaled = c3.toggle("Row-scaled", key=state.DOT_SCALED, help="Each TF divided by its largest |value| over groups.")
with guard():
    activity = compare.tf_activity(table, genes=genes or None)
    keep = activity.abs().mean(axis=1).sort_values(ascending=False, kind="stable").index[: int(top)]
    colour = activity.loc[keep]
    colour = compare.cluster_order(compare.row_scaled(colour) if scaled else colour)
    size, size_title = None, "|mean attr|"
    if ctx.mdata is not None and group in ctx.mdata.obs.columns:
        size = compare.tf_expression(ctx.mdata, list(colour.index), groupby=group)
        size_title = "fraction of metacells expressing the TF"
st.caption(
    "Colour: mean attribution over the genes where the TF is in a group's top list"
    f"{' (row-scaled)' if scaled else ''}; "
    f"size: {size_title}{'' if size is not None else ' (no dataset loaded)'}; grey x: in no gene's top list of "
    f"that group. Rows and columns clustered (average linkage). Table: {cache.table_note(ctx.results)[0]}."
)
fig = figures.dot_plot(colour, size=size, size_title=size_title, scaled=scaled, missing="in no gene's top list",
                       title=f"{len(colour)} TFs x {colour.shape[1]} {group} groups")
event = chart(fig, name="tf_dot_plot", key=state.DOT_CHART, on_select="rerun", selection_mode="points")
points = (event or {}).get("selection", {}).get("points", []) if event else []
picked = [p["customdata"] for p in points if isinstance(p.get("customdata"), str)]
if picked:
    st.session_state[state.NET_VIEW] = "targets"
    st.session_state[state.NET_CENTRE_TF] = picked[0]
    st.switch_page(PAGES["network"])
st.caption("Click a TF's dot to open its targets on the Network page.")
