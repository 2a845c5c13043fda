"""Overview: what the app shows and where to start."""

import streamlit as st

from ui import source
from ui.widgets import PAGES

ctx = source.current()
st.title("Cell2Net Explorer")
st.markdown(
    f"Exploring **{ctx.label}**. Cell2Net trains one model per target gene; attributing a model "
    "to its transcription factors (TFs) gives, per cell type, how much each TF's expression "
    "drives the gene. Those TF -> gene links form the regulatory network shown here."
)
if ctx.problems:
    st.warning("Some inputs could not be used; the sidebar says which and why.")
c1, c2 = st.columns(2)
with c1:
    st.page_link(PAGES["attribution"], label="Gene attribution: attribute genes, TF bars and heatmaps",
                 icon=":material/bar_chart:")
    st.page_link(PAGES["network"], label="Network: filter, click a node, export to Cytoscape",
                 icon=":material/hub:")
with c2:
    st.page_link(PAGES["table"], label="Table: filter, sort and download the TF -> gene table",
                 icon=":material/table:")
    st.page_link(PAGES["compare"], label="Compare groups: TFs that differ between cell types",
                 icon=":material/compare_arrows:")
st.markdown(
    "**Your own data:** choose *My files* in the sidebar, or start the app with "
    "`streamlit run app.py -- --mdata mdata.h5mu --models model/ --results results/`. "
    "A results folder alone (e.g. a tutorial run's `tf_to_gene.csv`) is enough to browse."
)
