"""Gene attribution: pick genes, attribute the missing ones, see their top TFs per group."""

import streamlit as st

from cell2net_core.aggregate import RANK_BY
from cell2net_core.explore import figures, network, quality
from cell2net_core.settings import METHODS, Settings
from ui import cache, jobs, source, state
from ui.widgets import chart, guard

MAX_SHOWN = 8
LOW_FIT = 0.3  # Pearson r below which a gene's model is flagged


def gene_tables(full, *, n_tfs: int, rank_by: str):
    """The bars' top-n rows and a note saying where the values come from."""
    if ctx.mdata is not None and network.holds_every_tf(full):
        top = full[network.with_rank(full, rank_by=rank_by)["rank"] <= n_tfs]
        return top, (f"From the gene's per-metacell attributions (.npy): every TF's mean over all metacells of each "
                     f"group; bars show the top {n_tfs} per group, the heatmap every group's value of those TFs.")
    return full, f"From the stored table: {network.describe_rows(full)}; grey cells are TFs outside a group's top list."
ctx = source.current()
st.title("Gene attribution")
if ctx.results is None:
    st.warning("This page needs a results folder (or the demo) to keep attributions: choose one in the sidebar.")
    st.stop()

with guard():
    cached = set(cache.result_genes(ctx.results))
    with_model, options = set(), sorted(cached)
    if ctx.mdata is not None:
        from cell2net_core import data  # loads mudata (~1 s cold): only with a dataset

        with_model = set(data.genes_with_models(ctx.mdata, ctx.models)) if ctx.can_attribute else set()
        options = sorted(set(data.genes_with_peaks(ctx.mdata)) | cached)
if not options:
    st.info("No genes: give a dataset with models to attribute genes, or a results folder that holds results.")
    st.stop()


def status(gene: str) -> str:
    """A gene's label in the picker."""
    if gene in cached:
        return f"{gene} (cached)"
    return f"{gene} ({'model available' if gene in with_model else 'no model'})"


if cached and state.GENES not in st.session_state:
    st.session_state[state.GENES] = sorted(cached)[:1]
# The browser keeps a chip's label from when it was picked; when a gene's status changed (e.g. it was just
# attributed), setting the value again makes Streamlit send the chips with their new labels.
drawn = st.session_state.get(state.GENE_LABELS, {})
if any(drawn.get(g, status(g)) != status(g) for g in st.session_state.get(state.GENES, [])):
    st.session_state[state.GENES] = [g for g in st.session_state[state.GENES] if g in options]
genes = st.multiselect(
    "Genes (type to search)", options, key=state.GENES, format_func=status,
    placeholder="e.g. MS4A1 (type to search)",
)
st.session_state[state.GENE_LABELS] = {g: status(g) for g in genes}

with st.expander("Settings", expanded=False):
    c1, c2, c3, c4, c5 = st.columns(5)
    if ctx.mdata is not None:
        columns = data.grouping_columns(ctx.mdata) or ["cell_type_v2"]
        groupby = c1.selectbox("Grouping column", columns, key=state.GROUPBY,
                               index=columns.index("cell_type_v2") if "cell_type_v2" in columns else 0)
    else:
        groupby = c1.selectbox("Grouping column", ["as stored"], disabled=True, key=state.GROUPBY)
    method = c2.selectbox("Method", list(METHODS), key=state.METHOD,
                          help="captum: Integrated Gradients as in the tutorial; exact: closed-form integral.")
    n_steps = c3.number_input("n_steps", 4, 1000, step=10, key=state.N_STEPS, disabled=method == "exact")
    n_tfs = c4.number_input("TFs per group", 1, 200, key=state.N_TFS)
    rank_by = c5.radio("Rank TFs by", list(RANK_BY), key=state.RANK_BY,
                       format_func={"mean": "mean (tutorial)", "abs": "|mean| (keeps repressors)"}.get)

job = st.session_state.get(state.JOB)
todo = [g for g in genes if g not in cached and g in with_model]
no_model = [g for g in genes if g not in cached and g not in with_model]
if no_model:
    why = "no dataset/models are loaded" if not ctx.can_attribute else "no checkpoint in the model folder"
    st.warning(f"Cannot attribute {', '.join(no_model)}: {why}.")
if todo and (job is None or job.done):
    if st.button(f"Attribute {len(todo)} gene(s): {', '.join(todo)}", type="primary", icon=":material/play_arrow:"):
        st.session_state[state.JOB] = jobs.start(
            ctx.mdata, todo, model_dir=ctx.models, out_dir=ctx.results,
            settings=Settings(method=method, n_steps=int(n_steps), groupby=groupby, n_tfs=int(n_tfs), rank_by=rank_by),
        )
        st.rerun()


@st.fragment(run_every=0.5)
def show_progress() -> None:
    """Progress of the running job; reruns the page once it is done."""
    job = st.session_state.get(state.JOB)
    if job is None:
        return
    if job.done:
        st.rerun(scope="app")
    st.progress(job.overall, text=f"Overall: {job.index} of {len(job.genes)} genes done; {job.eta()}")
    st.progress(min(job.fraction, 1.0), text=f"Gene {job.gene or '...'}")
    if st.button("Stop after this gene", icon=":material/stop:", disabled=job.stop.is_set()):
        job.stop.set()


if job is not None and not job.done:
    show_progress()
elif job is not None:
    for r in job.results:
        if r.status == "failed":
            st.error(f"{r.gene}: {r.error}")
    if job.error:
        st.error(job.error)
    done = [r.gene for r in job.results if r.status != "failed"]
    if done:
        st.success(f"Attributed {', '.join(done)}; results saved to {str(ctx.results)!r}.")
    if job.stopped_early():
        st.info(f"Stopped: {len(job.genes) - len(job.results)} gene(s) not attributed.")

shown = [g for g in genes if g in cached]
if not shown:
    st.info("Choose genes with cached results, or attribute genes with a model, to see their TFs.")
    st.stop()
if len(shown) > MAX_SHOWN:
    st.caption(f"Showing the first {MAX_SHOWN} of {len(shown)} genes.")
c1, c2, c3 = st.columns(3)
grouped = c1.radio("Bar layout", ["panels", "grouped"], horizontal=True, key=state.BAR_LAYOUT,
                   format_func={"panels": "one panel per group", "grouped": "TF x group dot plot"}.get)
own_axis = c2.toggle("Each panel its own value axis", key=state.BAR_OWN_AXIS, disabled=grouped == "grouped",
                     help="Off: one shared axis, so a weak group's bars look weak.")
same_order = c3.toggle("Same TF order in every panel", key=state.BAR_SAME_ORDER, disabled=grouped == "grouped")
std_whiskers = c3.toggle("Whiskers: std instead of the 95% CI", key=state.BAR_STD, disabled=grouped == "grouped",
                         help="Default: 95% bootstrap interval of the mean (1,000 resamples of the group's metacells).")
with guard(stop=False):
    fits = cache.model_quality(ctx.models, mdata_path=ctx.mdata_path)


def show_fit(gene: str) -> None:
    """The gene's model fit beside its charts; a warning when it predicts little."""
    line = quality.describe_quality(fits, gene)
    row = fits[fits["gene"] == gene]
    r = float(row["pearson_r"].iloc[0]) if len(row) else float("nan")
    if r < LOW_FIT:
        st.warning(f"{line}: the model predicts this gene poorly, so its attributions are mostly noise.")
    else:
        st.caption(line)


# Only the open gene tab's charts, and its heatmap only once opened, are built and sent: the first paint
# draws one chart, not two per gene.
tabs = st.tabs(shown[:MAX_SHOWN], on_change="rerun", key=state.GENE_TAB)
for gene, tab in zip(shown, tabs, strict=False):
    if not tab.open:
        continue
    with tab, guard(stop=False):
        show_fit(gene)
        full = cache.gene_table(
            ctx.results, gene, mdata_path=ctx.mdata_path, groupby=groupby, n_tfs=None, rank_by=rank_by
        )
        top, source_note = gene_tables(full, n_tfs=int(n_tfs), rank_by=rank_by)
        st.caption(source_note)
        bars = figures.tf_bars(top, gene, grouped=grouped == "grouped", shared_axis=not own_axis,
                               same_order=same_order, whiskers="std" if std_whiskers else "ci")
        chart(bars, name=f"{gene}_tf_bars", key=state.tf_bars_key(gene))
        heat_box = st.expander("Heatmap: every group's value of these TFs (grey: outside that group's top list)",
                               on_change="rerun", key=state.tf_heatmap_open_key(gene))  # fmt: skip
        if heat_box.open:
            heat = full[full["tf"].isin(set(top["tf"]))]
            with heat_box:
                chart(figures.tf_heatmap(heat, gene), name=f"{gene}_tf_heatmap", key=state.tf_heatmap_key(gene))
