"""Table: the whole TF -> gene table with filters, sorting and download of what is shown."""

import numpy as np
import streamlit as st

from cell2net_core.explore import export, network
from ui import cache, source, state
from ui.widgets import (
    clamp_state,
    csv_payload,
    evidence_toggles,
    export_buttons,
    fit_filter,
    guard,
    network_table,
    table_columns,
)

SHOWN_ROWS = 2_000  # rows sent to the grid (8 MB of Arrow for 154,160 rows); the download holds every row
ctx = source.current()
st.title("TF -> gene table")
network_table(ctx)  # says what is missing (and stops) when there is no table
table = cache.ranked_table(ctx.results)
group = network.check_table(table)


def bounds(column: str) -> tuple[float, float]:
    """Rounded-out range of a numeric column, for a slider."""
    values = table[column].to_numpy(dtype=float)
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)


with st.expander("Filters", expanded=True):
    c1, c2, c3 = st.columns(3)
    genes = c1.multiselect("Target genes", sorted(table["gene"].unique()), key=state.TAB_GENES,
                       placeholder="all (e.g. MS4A1)")
    tfs = c2.multiselect("TFs", sorted(table["tf"].unique()), key=state.TAB_TFS, placeholder="all (e.g. SPI1)")
    groups = c3.multiselect(group, sorted(table[group].astype(str).unique()), key=state.TAB_GROUPS,
                            placeholder="all (e.g. NK)")
    c4, c5, c6 = st.columns(3)
    mean_lo, mean_hi = bounds("mean_attr")
    clamp_state(state.TAB_MEAN, mean_lo, mean_hi)
    mean_range = c4.slider("mean_attr range", mean_lo, mean_hi, (mean_lo, mean_hi), key=state.TAB_MEAN,
                           step=(mean_hi - mean_lo) / 1000, format="%.4g")
    std_lo, std_hi = bounds("std_attr")
    clamp_state(state.TAB_STD, std_lo, std_hi)
    std_range = c5.slider("std_attr range", std_lo, std_hi, (std_lo, std_hi), key=state.TAB_STD,
                          step=(std_hi - std_lo) / 1000, format="%.4g")
    sign = c6.radio("Sign", list(network.SIGNS), horizontal=True, key=state.TAB_SIGN,
                    format_func={"all": "all", "positive": "activation", "negative": "repression"}.get)
    evidence = evidence_toggles(table, (state.TAB_Q_ONLY, state.TAB_MOTIF_ONLY, state.TAB_KNOWN_ONLY))
    c7, c8 = st.columns(2)
    sort_by = c7.selectbox("Sort by", list(table.columns), key=state.TAB_SORT)
    ascending = c8.toggle("Ascending", key=state.TAB_ASCENDING)
    fitted = fit_filter(ctx, table, only_key=state.TAB_FIT_ONLY, min_r_key=state.TAB_MIN_R)

with guard():
    shown = network.filter_edges(
        fitted, cell_types=groups or None, genes=genes or None, tfs=tfs or None, sign=sign,
        mean_range=None if mean_range == (mean_lo, mean_hi) else mean_range,
        std_range=None if std_range == (std_lo, std_hi) else std_range, **evidence,
    )
shown = shown.sort_values(sort_by, ascending=ascending, kind="stable").reset_index(drop=True)
st.metric("Rows passing the filters", f"{len(shown):,} of {len(table):,}")
st.caption(f"The table: {cache.table_note(ctx.results)[0]}; rank = the TF's place within its "
           f"gene and {group} by mean attribution (1 = largest).")
if shown.empty:
    st.warning("No row passes these filters: widen the genes, TFs, groups, ranges or sign.")
    st.stop()
if len(shown) > SHOWN_ROWS:
    order = "ascending" if ascending else "descending"
    st.caption(f"Showing the first {SHOWN_ROWS:,} of these {len(shown):,} rows (sorted by {sort_by}, {order}); "
               f"the download below holds all {len(shown):,}.")
st.dataframe(shown.head(SHOWN_ROWS), hide_index=True, height=480, column_config=table_columns(shown))
st.download_button(
    f"Download these {len(shown):,} rows (CSV)", csv_payload(shown), file_name="tf_to_gene_filtered.csv",
    mime="text/csv", key=state.TABLE_DOWNLOAD_CSV, icon=":material/download:",
)
st.subheader("Export as a network")
stem = export.file_stem("table", groups=groups, genes=genes, tfs=tfs, sign=sign)
export_buttons(shown, page="table", name=stem)


st.subheader("Every TF of one gene, from its per-metacell attributions")
attributed = cache.attributed_genes(ctx.results)
if ctx.mdata is None or group not in ctx.mdata.obs.columns or not attributed:
    st.caption("The table above holds only each group's top TFs. Every TF's group mean needs a stored "
               f"<GENE>.npy and the dataset (with its {group!r} column): "
               + ("no gene has a .npy here." if not attributed else "load the dataset in the sidebar."))
    st.stop()
gene = st.selectbox(f"Gene ({len(attributed):,} with a stored .npy)", attributed, key=state.TAB_EVERY_TF_GENE)
with guard():
    every = network.with_rank(cache.gene_table(ctx.results, gene, mdata_path=ctx.mdata_path, groupby=group,
                                               n_tfs=None, rank_by="mean"))
st.caption(f"From {gene}.npy: every one of the gene's {every['tf'].nunique():,} TFs, its mean and std of the "
           f"Integrated-Gradients attribution over all metacells of each {group} (n_metacells), not only the top "
           f"TFs stored in the table above; {len(every):,} rows, rank 1 = largest mean in its group.")
st.dataframe(every, hide_index=True, height=360, column_config=table_columns(every))
st.download_button(f"Download {gene}'s {len(every):,} rows (CSV)", every.to_csv(index=False),
                   file_name=f"{gene}_every_tf_by_{group}.csv", mime="text/csv", key=state.TAB_EVERY_TF_CSV,
                   icon=":material/download:")
