"""Network: one filtered edge set drawn (overview of hubs, regulons, TF -> TF hierarchy), counted and exported."""

import streamlit as st

from cell2net_core.explore import export, figures, network
from ui import cache, source, state
from ui.widgets import chart, evidence_toggles, export_buttons, fit_filter, guard, network_table

VIEWS = {
    "overview": "Overview: hub TFs and their strongest targets",
    "targets": "Targets of a TF",
    "regulators": "Regulators of a gene",
    "hierarchy": "TF -> TF hierarchy (regulators above the TFs they drive)",
}
DEFAULT_LAYOUT = {"overview": "wheel", "targets": "concentric", "regulators": "concentric", "hierarchy": "hierarchy"}

ctx = source.current()
st.title("TF -> gene network")
table = network_table(ctx)
group = network.check_table(table)
every_genes: list[str] = []
if ctx.mdata is not None and group in ctx.mdata.obs.columns and cache.attributed_genes(ctx.results):
    if st.toggle("Every TF of genes with a stored <GENE>.npy, not only each group's top TFs", key=state.NET_EVERY_TF,
                 help="Each TF's mean attribution over all metacells of each group, from the per-metacell file."):
        with guard(stop=False):
            table, every_genes, problems = cache.every_tf_table(ctx.results, mdata_path=ctx.mdata_path,
                                                                groupby=group)
            for problem in problems[:3]:
                st.warning(f"Kept the stored top TFs of {problem}")
all_tfs, all_genes = sorted(table["tf"].unique()), sorted(table["gene"].unique())

view = st.radio("View", list(VIEWS), key=state.NET_VIEW, format_func=VIEWS.get, horizontal=True)
centre = None
if view == "targets":
    centre = st.selectbox("TF (type to search)", all_tfs, key=state.NET_CENTRE_TF)
elif view == "regulators":
    centre = st.selectbox("Target gene (type to search)", all_genes, key=state.NET_CENTRE_GENE)

with st.expander("Filters", expanded=True):
    c1, c2, c3 = st.columns(3)
    groups = c1.multiselect(f"{group}", sorted(table[group].astype(str).unique()), key=state.NET_GROUPS,
                            placeholder="all (e.g. NK)")
    genes = c2.multiselect("Target genes", all_genes, key=state.NET_GENES, placeholder="all (e.g. MS4A1)",
                           disabled=view == "regulators")
    tfs = c3.multiselect("TFs", all_tfs, key=state.NET_TFS, placeholder="all (e.g. SPI1)", disabled=view == "targets")
    c4, c5, c6 = st.columns(3)
    top_k = c4.number_input("Top-k TFs per gene and group (0 = all)", 0, 500, key=state.NET_TOP_K)
    min_abs = c5.number_input("|mean attribution| at least (type a value)", min_value=0.0, key=state.NET_MIN_ABS,
                              format="%.4g", step=0.01)
    sign = c6.radio("Sign", list(network.SIGNS), horizontal=True, key=state.NET_SIGN,
                    format_func={"all": "all", "positive": "activation", "negative": "repression"}.get)
    c7, c8, c9 = st.columns(3)
    n_hubs = c7.number_input("Overview: hub TFs (0 = all)", 0, 1000, key=state.NET_HUBS, disabled=view != "overview",
                             help="The TFs with the largest summed |mean attribution| over the filtered edges.")
    n_targets = c8.number_input("Overview: strongest targets per hub (0 = all)", 0, 5000, key=state.NET_TARGETS,
                                disabled=view != "overview")
    max_drawn = c9.number_input("Most edges drawn", 10, 5000, step=100, key=state.NET_MAX_DRAWN)
    fitted = fit_filter(ctx, table, only_key=state.NET_FIT_ONLY, min_r_key=state.NET_MIN_R)
    evidence = evidence_toggles(table, (state.NET_Q_ONLY, state.NET_MOTIF_ONLY, state.NET_KNOWN_ONLY))
if every_genes:
    rows_note = network.describe_rows(table, every_genes=every_genes)
    quantiles = tuple(table["mean_attr"].abs().quantile([0.5, 0.9, 0.99]))
else:
    rows_note, quantiles = cache.table_note(ctx.results)
st.caption(f"The table: {rows_note}. |mean| quantiles 50/90/99%: " + ", ".join(f"{q:.3g}" for q in quantiles))
st.caption(network.describe_weights(table, every_genes=every_genes))

with guard():
    edges = network.filter_edges(
        fitted, cell_types=groups or None, sign=sign, top_k=int(top_k) or None, min_abs=float(min_abs),
        genes=[centre] if view == "regulators" else genes or None,
        tfs=[centre] if view == "targets" else tfs or None, **evidence,
    )
    if view == "overview":
        edges = network.limit_hubs(edges, n_hubs=int(n_hubs) or None, n_targets=int(n_targets) or None)
    elif view == "hierarchy":
        edges = network.tf_tf_pairs(edges, tfs=all_tfs)
if edges.empty:
    st.warning("No edge passes these filters: widen the groups, genes, TFs, threshold or sign.")
    st.stop()
net = network.network_view(edges, max_edges=int(max_drawn))
(st.warning if net.capped else st.caption)(net.message())
layout_key = state.net_layout_key(view)
st.session_state.setdefault(layout_key, DEFAULT_LAYOUT[view])
kind = st.radio("Layout", list(network.LAYOUTS), key=layout_key, horizontal=True)
pos = cache.layout(net.drawn, kind, centre)

# a click or lasso on the chart (stored by its key) sets the focus before the figure is built
selection = st.session_state.get(state.NET_CHART)
points = selection.get("selection", {}).get("points", []) if selection else []
picked = sorted({str(p["customdata"]) for p in points if isinstance(p.get("customdata"), str)})
if picked and picked != st.session_state.get(state.NET_LAST_SELECTION):
    st.session_state[state.NET_LAST_SELECTION] = picked
    st.session_state[state.NET_FOCUS] = [n for n in picked if n in pos]
st.session_state[state.NET_FOCUS] = [n for n in st.session_state[state.NET_FOCUS] if n in pos]
focus = st.multiselect("Search and highlight nodes (or click / lasso them in the graph)", sorted(pos),
                       key=state.NET_FOCUS, placeholder="e.g. a TF or gene name")

# concentric and wheel layouts are drawn to scale (circles stay circles), their labels placed for a chart of a
# stated width: the whole page's width, the hub table below
to_scale = kind in network.DRAWN_TO_SCALE
left, right = (st.container(), st.container()) if to_scale else st.columns([3, 1])
with left:
    what = VIEWS[view].split(":")[0] + (f": {centre}" if centre else "")
    title = f"{len(net.drawn):,} edges, {len(pos):,} nodes ({what})"
    fig = figures.network_figure(net.drawn, pos, focus=focus, title=title,
                                 labels="radial" if to_scale else "above")
    chart(fig, name="tf_gene_network", key=state.NET_CHART, on_select="rerun", selection_mode=("points", "lasso"))
with right:
    st.subheader("Hub TFs")
    st.caption(f"Of the {len(net.pairs):,} edges above: out-degree = distinct target genes; "
               f"n_edges = rows (edge x {group}).")
    by_degree, by_weight = st.tabs(["by out-degree", "by summed |mean|"])
    height = min(420, 35 * (len(net.hubs) + 1) + 3)
    by_degree.dataframe(net.hubs, hide_index=True, height=height)
    by_weight.dataframe(net.hubs.sort_values("sum_abs_attr", ascending=False), hide_index=True, height=height)

if focus:
    st.subheader(f"Edges of {', '.join(focus)}")
    st.dataframe(network.with_rank(network.neighbourhood(net.rows, focus)), hide_index=True)
st.subheader("Export the filtered network")
stem = export.file_stem(
    "network", groups=groups, top_k=int(top_k) or None, sign=sign,
    genes=[centre] if view == "regulators" else genes, tfs=[centre] if view == "targets" else tfs,
)
export_buttons(net.rows, page="network", name=stem, positions=pos)
