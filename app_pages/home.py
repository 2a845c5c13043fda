"""Overview: what the app shows and where to start."""

import pandas as pd
import streamlit as st

from cell2net_core.explore import quality
from ui import cache, source
from ui.widgets import PAGES, guard

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
    st.page_link(PAGES["dotplot"], label="TF dot plot: TF x cell type, click a TF for its targets",
                 icon=":material/scatter_plot:")
st.markdown(
    "**Your own data:** choose *My files* in the sidebar, or start the app with "
    "`streamlit run app.py -- --mdata mdata.h5mu --models model/ --results results/`. "
    "A results folder alone (e.g. a tutorial run's `tf_to_gene.csv`) is enough to browse."
)

if ctx.models is not None:
    st.subheader("Models that fit worst")
    with guard(stop=False):
        fits = cache.model_quality(ctx.models, mdata_path=ctx.mdata_path)
        worst = quality.worst_genes(fits, n=10)
        n_known = int(fits["pearson_r"].notna().sum())
        st.caption(
            f"Pearson r and R^2 of predicted vs observed expression (log1p counts) over metacells, per gene: from "
            f"the checkpoint's stored results (validation metacells) when present, else computed on all metacells "
            f"of the dataset. Known for {n_known:,} of {len(fits):,} checkpoints; attributions of a model that "
            "predicts nothing are noise."
        )
        if worst.empty:
            st.info("No model's fit is known: the checkpoints hold no results and no dataset is loaded.")
        else:
            shown = worst[["gene", "pearson_r", "r2", "n_metacells", "metacells", "valid_spearman", "source"]].copy()
            shown["valid_spearman"] = ["-" if pd.isna(v) else f"{v:.3f}" for v in shown["valid_spearman"]]
            st.dataframe(shown, hide_index=True, column_config={
                "pearson_r": st.column_config.NumberColumn("Pearson r", format="%.3f"),
                "r2": st.column_config.NumberColumn("R^2", format="%.3f"),
                "valid_spearman": st.column_config.TextColumn(
                    "valid Spearman (history)", help="cell2net's best validation Spearman correlation; - = not stored"),
            })
