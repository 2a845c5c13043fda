"""Edge evidence: for one TF -> gene edge, its confidence, the gene's peaks, the TF's motif and known status."""

from pathlib import Path

import streamlit as st

from cell2net_core import data
from cell2net_core.explore import evidence, network
from cell2net_core.known import known_agreement, mark_known
from cell2net_core.settings import Settings
from ui import cache, jobs, source, state
from ui.widgets import chart, guard, network_table, table_columns

EDGE_COLUMNS = ["mean_attr", "std_attr", "ci_low", "ci_high", "p_value", "q_value", "motif_id", "motif_sites",
                "motif_peaks", "known", "n_metacells"]
PEAK_STEPS = 20  # integration steps of a peak attribution computed here (cell2net's default is 100)

ctx = source.current()
st.title("Edge evidence")
st.caption("Is a TF -> gene edge real, and why? Its confidence (bootstrap CI, t-test p, BH q), the gene's peaks "
           "(which drive it, where), the TF's JASPAR motif in those peaks, and whether a curated reference knows it.")
table = network_table(ctx)
group = network.check_table(table)
if ctx.mdata is None:
    st.warning("The Peaks view and motif evidence need the dataset (.h5mu): give it in the sidebar.")
    st.stop()

with guard():
    genes = sorted(set(table["gene"].astype(str)) & set(data.genes_with_peaks(ctx.mdata)))
if not genes:
    st.info("No gene of the table has linked peaks in this dataset.")
    st.stop()
c1, c2 = st.columns(2)
gene = c1.selectbox("Gene (type to search)", genes, key=state.EV_GENE)
rows = table[table["gene"].astype(str) == gene]
strength = rows.assign(_abs=rows["mean_attr"].abs()).groupby("tf")["_abs"].max().sort_values(ascending=False)
tf = c2.selectbox("TF (strongest first; type to search)", strength.index.astype(str).tolist(), key=state.EV_TF)

# ------------------------------------------------------------------ known regulation: the reference
beside = ctx.mdata_path.parent / "reference.csv" if ctx.mdata_path is not None else None
if state.EV_REFERENCE not in st.session_state:
    st.session_state[state.EV_REFERENCE] = str(beside) if beside is not None and beside.is_file() else ""
ref_path = st.sidebar.text_input("Reference (curated TF -> target CSV/TSV)", key=state.EV_REFERENCE,
                                 placeholder="/path/to/collectri.csv", help="Columns source, target (optional sign, "
                                 "weight); CollecTRI, DoRothEA or TRRUST exports. The demo's reference.csv by default.")
reference = None
if ref_path.strip():
    with guard(stop=False):
        reference = cache.reference(ref_path.strip())
if reference is not None:
    table = mark_known(table, reference)
    rows = table[table["gene"].astype(str) == gene]

# ------------------------------------------------------------------ (1) the edge
st.subheader(f"{tf} -> {gene}")
edge = rows[rows["tf"].astype(str) == tf]
shown_edge = edge[[group, *[c for c in EDGE_COLUMNS if c in edge.columns]]]
st.dataframe(shown_edge, hide_index=True, column_config=table_columns(shown_edge))
if "q_value" in edge.columns:
    st.caption("mean_attr: mean Integrated-Gradients attribution over the group's metacells; ci_low..ci_high: 95% "
               "percentile bootstrap interval of that mean (1,000 resamples of the metacells, seed 0); p_value: "
               "two-sided one-sample t-test of mean != 0 (scipy.stats.ttest_1samp); q_value: Benjamini-Hochberg "
               "over all rows of the table. Missing means not computable (e.g. one metacell), never 0.")
else:
    st.caption("No CI, p or q in this table (a tutorial table): re-attribute with this app or the CLI to add them.")

# ------------------------------------------------------------------ (2) the peaks
st.subheader("Peaks")
with guard():
    positions, accessibility = cache.locus(ctx.mdata_path, gene, groupby=group)
    motif, sites = cache.motif(ctx.mdata_path, gene, tf)
    summary = cache.peak_summary(ctx.results, gene, mdata_path=ctx.mdata_path, groupby=group)
job = st.session_state.get(state.EV_JOB)
if summary is None:
    can = ctx.can_attribute and (Path(ctx.models) / f"{gene}.pt").is_file()
    st.info(f"No peak attributions of {gene} are stored ({gene}.peaks.npy)."
            + ("" if can else " Computing them needs the gene's checkpoint in the model folder."))
    if can and (job is None or job.done) and st.button(
            f"Compute peak attributions of {gene} ({PEAK_STEPS} integration steps)", icon=":material/play_arrow:"):
        st.session_state[state.EV_JOB] = jobs.start_peaks(
            ctx.mdata, gene, model_dir=ctx.models, out_dir=ctx.results,
            settings=Settings(n_steps=PEAK_STEPS, groupby=group, device="auto"))
        st.rerun()


@st.fragment(run_every=0.5)
def peak_progress() -> None:
    """Progress of the running peak attribution; reruns the page once it is done."""
    job = st.session_state.get(state.EV_JOB)
    if job is not None and job.done:
        st.rerun(scope="app")
    if job is not None:
        st.progress(min(job.fraction, 1.0), text=f"Peak attributions of {job.gene or '...'}; {job.eta()}")


if job is not None and not job.done:
    peak_progress()
elif job is not None and job.error:
    st.error(job.error)
fig = evidence.peaks_figure(positions, accessibility, gene=gene, summary=summary, sites=sites,
                            tf=tf if motif is not None else None, groupby=group)
chart(fig, name=f"{gene}_peaks", key=state.EV_PEAKS_CHART)
if summary is not None:
    st.caption("Peak attribution: Integrated Gradients of the predicted log expression w.r.t. each peak's "
               "accessibility (baseline 0, other inputs fixed, as cell2net's peak_attr), mean over the group's "
               "metacells; CI: 95% bootstrap of the mean; hover for p (one-sample t-test) and q (Benjamini-Hochberg "
               "over this gene's peak rows). Accessibility: mean ATAC counts per metacell (atac.layers['counts']).")

# ------------------------------------------------------------------ (3) the motif
st.subheader(f"Motif of {tf}")
if motif is None:
    st.info(f"JASPAR 2024 CORE (vertebrates) has no matrix named {tf} (nor a dimer holding it): no motif evidence.")
else:
    left, right = st.columns([2, 3])
    with left:
        st.pyplot(evidence.logo_figure(motif), clear_figure=False)
        st.caption(f"Logo of {tf}: JASPAR {motif.matrix_id} ({motif.name}), the TF's matrix scoring best in "
                   f"{gene}'s peaks; letter height = information (bits).")
    with right:
        st.markdown(f"**{len(sites)} site(s)** of {motif.matrix_id} in {gene}'s {len(positions)} linked peaks "
                    "(relative score >= 0.8 on either strand, TFBSTools' default)")
        if len(sites):
            st.dataframe(sites, hide_index=True, height=min(300, 35 * (len(sites) + 1) + 3))

# ------------------------------------------------------------------ (4) known regulation
st.subheader("Known regulation")
if reference is None:
    st.info("No reference loaded: type the path of a curated TF -> target CSV/TSV in the sidebar.")
else:
    known = bool(edge["known"].any()) if len(edge) else False
    st.markdown(f"**{tf} -> {gene}** is {'**in**' if known else '**not in**'} the reference "
                f"({len(reference):,} edges, {ref_path.strip()!r}).")
    with guard(stop=False):
        agreement = known_agreement(table, reference)
        st.dataframe(agreement, hide_index=True, column_config=table_columns(agreement))
        st.caption("Per group: precision_at_k = share of the top k edges by |mean_attr| that the reference holds; "
                   "baseline = that share when the same k TFs get targets drawn at random from the table's genes "
                   "(1,000 seeded draws); enrichment = precision / baseline; p_value = hypergeometric test "
                   "(scipy.stats.hypergeom) of at least that many known among k drawn from the group's rows.")
