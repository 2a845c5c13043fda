"""Perturb: knock out or over-express TFs and see the predicted change of their targets per group."""

import streamlit as st

from cell2net_core import data
from cell2net_core.explore import network, perturbation
from ui import cache, source, state
from ui.widgets import chart, guard

ctx = source.current()
st.title("In-silico TF perturbation")
st.info(
    "**What this is:** each target's own trained model predicts its expression again with the TF's "
    "expression input set to 0 (knock-out) or multiplied (over-expression) in the chosen metacells: the "
    "direct effect through the models, plus, with more than one round, the change passed on through "
    "targets that are themselves TFs. **What it is not:** a simulation of cell-state transitions. Peaks' "
    "accessibility and the covariates stay as measured, and a gene that does not list the TF as a "
    "candidate cannot respond to it directly.",
    icon=":material/info:",
)
if ctx.mdata is None or ctx.models is None:
    st.warning("This page needs a dataset and a model folder (or the demo): choose them in the sidebar.")
    st.stop()

with guard():
    options = cache.perturb_options(ctx.mdata_path, ctx.models)
columns = data.grouping_columns(ctx.mdata) or ["cell_type_v2"]
c1, c2, c3 = st.columns([3, 2, 1])
tfs = c1.multiselect("TFs to perturb (each on its own)", options, key=state.PRT_TFS, placeholder="Choose TFs",
                     help="TFs that at least one gene with a model lists as a candidate.")
mode = c2.radio("Perturbation", ["ko", "oe"], key=state.PRT_MODE, horizontal=True,
                format_func={"ko": "knock-out (expression 0)", "oe": "over-expression (x factor)"}.get)
factor = c3.number_input("Factor", 0.0, 100.0, step=0.5, key=state.PRT_FACTOR, disabled=mode == "ko")
c4, c5, c6 = st.columns([1, 3, 1])
groupby = c4.selectbox("Grouping column", columns, key=state.PRT_GROUPBY,
                       index=columns.index("cell_type_v2") if "cell_type_v2" in columns else 0)
with guard():
    labels = sorted(set(data.group_labels(ctx.mdata, groupby)))
st.session_state[state.PRT_GROUPS] = [g for g in st.session_state[state.PRT_GROUPS] if g in labels]
groups = c5.multiselect(f"Metacells perturbed ({groupby})", labels, key=state.PRT_GROUPS, placeholder="all")
rounds = c6.number_input("Rounds", 1, 5, key=state.PRT_ROUNDS,
                         help="1: direct effects. More: targets that are TFs pass their predicted change on.")
if not tfs:
    st.info("Choose one or more TFs to perturb.")
    st.stop()

with guard():
    res = cache.perturbation(ctx.mdata_path, ctx.models, tfs, mode=mode, factor=factor, groupby=groupby,
                             groups=groups, rounds=int(rounds))
for note in res.warnings:
    st.warning(note, icon=":material/warning:")
for gene, why in res.failed.items():
    st.error(f"{gene} left out: {why}")
table = res.table
if table.empty:
    st.warning("No gene with a model could be predicted for these TFs.")
    st.stop()
what = "knock-out" if mode == "ko" else f"over-expression x{factor:g}"
st.caption(
    f"{what.capitalize()} in {', '.join(groups) or 'every group'}; {table['gene'].nunique()} genes predicted "
    f"(those the TFs can reach in {int(rounds)} round(s); every other gene is unchanged by construction). "
    "mean_before / mean_after: mean predicted expression (the model's Poisson rate, counts) over the group's "
    "metacells; log2fc = log2(mean_after / mean_before)."
)

c7, c8 = st.columns(2)
shown_tf = c7.selectbox("TF shown", tfs, key=state.PRT_SHOW_TF)
with guard():
    chart(perturbation.change_bars(table, tf=shown_tf, groupby=groupby), name=f"perturb_{shown_tf}_{mode}",
          key=state.PRT_BARS)
net_group = c8.selectbox(f"Network coloured by log2FC in ({groupby})", sorted(table[groupby].unique()),
                         key=state.PRT_NET_GROUP)
with guard():
    edges = perturbation.change_edges(table, tf=shown_tf, group=net_group, groupby=groupby)
if edges.empty:
    st.caption(f"No gene moved in {net_group}: nothing to draw in the network.")
else:
    last = perturbation.pick(table, tf=shown_tf)
    here = last[last[groupby] == net_group]
    fig = perturbation.change_network(
        edges, network.layout(edges), tf=shown_tf, changes=dict(zip(here["gene"], here["log2fc"], strict=True)),
        title=f"Genes moved by {what} of {shown_tf} in {net_group} (colour: predicted log2FC)",
    )
    chart(fig, name=f"perturb_network_{shown_tf}", key=state.PRT_NET)

st.subheader("Table")
moved = table[table["log2fc"] != 0]
st.caption(f"{len(moved):,} of {len(table):,} rows moved; rows with log2fc exactly 0 are in the download.")
st.dataframe(moved.sort_values("log2fc", key=abs, ascending=False), hide_index=True, height=360)
st.download_button(
    f"Download all {len(table):,} rows (CSV)", table.to_csv(index=False), file_name=f"perturb_{mode}.csv",
    mime="text/csv", key=state.PRT_DOWNLOAD, icon=":material/download:",
)
