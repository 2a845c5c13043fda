"""Compare groups: TFs whose attribution differs between groups (missing never 0); tests from metacells."""

import streamlit as st

from cell2net_core.explore import compare, figures, network
from ui import cache, source, state
from ui.widgets import chart, guard, network_table, table_columns

ALL = "All genes"
ctx = source.current()
st.title("Compare groups")
table = network_table(ctx)
group = network.check_table(table)
groups = sorted(table[group].astype(str).unique())
if len(groups) < 2:
    st.warning(f"The table has a single {group} ({groups[0] if groups else 'none'}): nothing to compare.")
    st.stop()

c1, c2, c3, c4 = st.columns(4)
a = c1.multiselect(f"Group A ({group})", groups, default=groups[:1], key=state.CMP_A)
b = c2.multiselect(f"Group B ({group})", groups, default=groups[1:2], key=state.CMP_B)
gene = c3.selectbox("Gene", [ALL, *sorted(table["gene"].unique())], key=state.CMP_GENE)
top = c4.number_input("TFs shown", 5, 200, key=state.CMP_TOP)
if not a or not b:
    st.warning("Choose at least one group on each side.")
    st.stop()
label_a, label_b = " + ".join(a), " + ".join(b)
with guard():
    diff = compare.compare_groups(table, a, b, gene=None if gene == ALL else gene)
    activity = compare.tf_activity(table, genes=None if gene == ALL else [gene])
miss_a, miss_b = compare.missing_counts(diff)
st.caption(
    f"From the table ({cache.table_note(ctx.results)[0]}): {len(diff):,} TFs; {miss_a:,} missing in {label_a} and "
    f"{miss_b:,} missing in {label_b} (outside those groups' top lists), left out of the difference. "
    "A difference averages over the genes where both sides hold the TF."
)

left, right = st.columns(2)
with left:
    chart(figures.compare_bars(diff, label_a, label_b, top=int(top)), name="compare_groups", key=state.CMP_BARS)
    st.dataframe(diff.head(int(top)).rename(columns={"attr_a": label_a, "attr_b": label_b}), hide_index=True)
with right:
    scaled = st.toggle("Row-scaled (each TF divided by its largest |value|)", key=state.CMP_SCALED)
    shown = compare.row_scaled(activity) if scaled else activity
    chart(figures.activity_heatmap(shown, top=int(top), scaled=scaled), name="tf_activity", key=state.CMP_ACTIVITY)

st.subheader("Statistics from per-metacell attributions")
has_npy = gene != ALL and ctx.mdata is not None and cache.has_attributions(ctx.results, gene)
if not has_npy:
    st.info("No statistics are possible here: a top-n table holds one mean per gene and group, not the "
            "per-metacell values a test needs. Choose one gene whose <GENE>.npy is stored, with its dataset.")
    st.stop()
with guard():
    from cell2net_core import data  # loads mudata: only with a dataset

    attribution = cache.attributions(ctx.results, gene, mdata_path=ctx.mdata_path)
    labels = data.group_labels(ctx.mdata, group)[ctx.mdata.obs_names.get_indexer(attribution.obs_names)]
    tests = compare.metacell_tests(attribution.attr, labels, a, b, tfs=attribution.tfs)
st.caption(f"Per TF: {label_a} vs {label_b} over metacells of {gene}, two-sided Mann-Whitney U test; "
           "q = Benjamini-Hochberg over TFs.")
st.dataframe(tests, hide_index=True, height=300, column_config=table_columns(tests))
tf = st.selectbox("TF", tests["tf"].tolist(), key=state.CMP_TF)
column = attribution.tfs.index(tf)
chart(figures.tf_violin(attribution.attr[:, column], labels, tf=tf, gene=gene, groups=[*a, *b]),
      name=f"{gene}_{tf}_violin", key=state.CMP_VIOLIN)
