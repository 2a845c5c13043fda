"""Compare groups: TFs whose attribution differs most between two groups; TF activity heatmap."""

import streamlit as st

from cell2net_core.explore import compare, figures, network
from ui import source, state
from ui.widgets import chart, guard, network_table

ALL = "All genes (summed)"
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
    activity_fig = figures.activity_heatmap(activity, top=int(top))
left, right = st.columns(2)
with left:
    chart(figures.compare_bars(diff, label_a, label_b, top=int(top)), name="compare_groups", key=state.CMP_BARS)
    st.dataframe(diff.head(int(top)).rename(columns={"attr_a": label_a, "attr_b": label_b}), hide_index=True)
with right:
    chart(activity_fig, name="tf_activity", key=state.CMP_ACTIVITY)
