"""Every session-state key the app uses, in one place, and the widgets' default values.

Widget keys hold the widget's value; the others hold objects the pages share. A widget whose
key is in :data:`DEFAULTS` takes its value from the session state only (no ``value=``/``index=``
argument), so Streamlit never sees two defaults for it.
"""

from __future__ import annotations

import copy
from typing import Any

# data source (sidebar)
SOURCE_KIND = "source_kind"  # widget: "demo" or "paths"
MDATA_PATH = "source_mdata"  # widget: dataset .h5mu path
MODELS_PATH = "source_models"  # widget: model folder
RESULTS_PATH = "source_results"  # widget: results folder
CONTEXT = "context"  # ui.context.Context of the current run
IMAGE_FMT = "image_fmt"  # widget (sidebar): "png" or "svg" for the charts' camera button

# gene attribution page
GENES = "attr_genes"  # widget: selected genes
GENE_LABELS = "attr_gene_labels"  # the selected genes' picker labels as last drawn (to refresh stale chips)
GROUPBY = "attr_groupby"  # widget: grouping column
METHOD = "attr_method"  # widget: "captum" or "exact"
N_STEPS = "attr_n_steps"  # widget
N_TFS = "attr_n_tfs"  # widget
RANK_BY = "attr_rank_by"  # widget: "mean" or "abs"
BAR_LAYOUT = "attr_bar_layout"  # widget: "panels" or "grouped"
BAR_OWN_AXIS = "attr_bar_own_axis"  # widget: each panel its own value axis (opt-in)
BAR_SAME_ORDER = "attr_bar_same_order"  # widget: same TF order in every panel
BAR_STD = "attr_bar_std"  # widget: whiskers show std instead of the 95% bootstrap CI (opt-in)
JOB = "attr_job"  # ui.jobs.Job running or last run in this session
GENE_TAB = "attr_gene_tab"  # widget: the open gene tab (only its charts are built and sent)

# network page
NET_GROUPS = "net_groups"
NET_GENES = "net_genes"
NET_TFS = "net_tfs"
NET_TOP_K = "net_top_k"
NET_MIN_ABS = "net_min_abs"
NET_SIGN = "net_sign"
NET_FOCUS = "net_focus"  # widget: focused nodes (also set by clicking the chart)
NET_CHART = "net_chart"  # plotly chart selection state
NET_LAST_SELECTION = "net_last_selection"  # last chart selection turned into a focus
NET_VIEW = "net_view"  # widget: "overview", "targets", "regulators" or "hierarchy"
NET_CENTRE_TF = "net_centre_tf"  # widget: the TF whose targets are shown
NET_CENTRE_GENE = "net_centre_gene"  # widget: the gene whose regulators are shown
NET_HUBS = "net_hubs"  # widget: overview draws this many hub TFs (0 = all)
NET_TARGETS = "net_targets"  # widget: ... each with this many strongest targets (0 = all)
NET_MAX_DRAWN = "net_max_drawn"  # widget: most edges drawn
NET_FIT_ONLY = "net_fit_only"  # widget: only genes whose model fits (known Pearson r >= NET_MIN_R)
NET_MIN_R = "net_min_r"  # widget: smallest model Pearson r kept
NET_Q_ONLY = "net_q_only"  # widget: keep rows with q < 0.05 only
NET_MOTIF_ONLY = "net_motif_only"  # widget: keep rows with a JASPAR site of the TF in the gene's peaks
NET_KNOWN_ONLY = "net_known_only"  # widget: keep rows found in the reference
NET_EVERY_TF = "net_every_tf"  # widget: weights of genes with a <GENE>.npy from every TF, not the top-n table

# table page
TAB_GENES = "tab_genes"
TAB_TFS = "tab_tfs"
TAB_GROUPS = "tab_groups"
TAB_MEAN = "tab_mean"
TAB_STD = "tab_std"
TAB_SIGN = "tab_sign"
TAB_SORT = "tab_sort"
TAB_ASCENDING = "tab_ascending"
TAB_FIT_ONLY = "tab_fit_only"  # widget: only genes whose model fits (known Pearson r >= TAB_MIN_R)
TAB_MIN_R = "tab_min_r"  # widget: smallest model Pearson r kept
TABLE_DOWNLOAD_CSV = "table_download_csv"  # download button of the filtered rows
TAB_EVERY_TF_GENE = "tab_every_tf_gene"  # widget: gene whose every TF's group mean is shown (from <GENE>.npy)
TAB_EVERY_TF_CSV = "tab_every_tf_csv"  # download button of that gene's every-TF table
TAB_Q_ONLY = "tab_q_only"  # widget: keep rows with q < 0.05 only
TAB_MOTIF_ONLY = "tab_motif_only"  # widget: keep rows with motif support
TAB_KNOWN_ONLY = "tab_known_only"  # widget: keep rows found in the reference

# compare page
CMP_A = "cmp_a"
CMP_B = "cmp_b"
CMP_GENE = "cmp_gene"
CMP_TOP = "cmp_top"
CMP_BARS = "cmp_bars"  # chart: group A minus group B
CMP_ACTIVITY = "cmp_activity"  # chart: TF activity heatmap
CMP_SCALED = "cmp_scaled"  # widget: row-scale the activity heatmap
CMP_VIOLIN = "cmp_violin"  # chart: one TF's per-metacell attribution per group
CMP_TF = "cmp_tf"  # widget: TF whose per-metacell attributions are drawn as violins

# dot plot page
DOT_GENES = "dot_genes"
DOT_TOP = "dot_top"
DOT_SCALED = "dot_scaled"
DOT_CHART = "dot_chart"  # chart: clicking a dot opens the TF's regulon

# edge evidence page
EV_GENE = "ev_gene"  # widget: the gene whose evidence is shown
EV_TF = "ev_tf"  # widget: the TF of the edge
EV_REFERENCE = "ev_reference"  # widget: path of a curated reference CSV/TSV (typed)
EV_JOB = "ev_job"  # ui.jobs.Job computing one gene's peak attributions
EV_PEAKS_CHART = "ev_peaks_chart"  # chart: the Peaks view

# perturb page
PRT_TFS = "prt_tfs"  # widget: TFs to perturb
PRT_MODE = "prt_mode"  # widget: "ko" or "oe"
PRT_FACTOR = "prt_factor"  # widget: over-expression factor
PRT_GROUPBY = "prt_groupby"  # widget: grouping column
PRT_GROUPS = "prt_groups"  # widget: groups perturbed (empty: all)
PRT_ROUNDS = "prt_rounds"  # widget: propagation rounds
PRT_SHOW_TF = "prt_show_tf"  # widget: which perturbed TF the charts show
PRT_NET_GROUP = "prt_net_group"  # widget: group whose log2FC colours the network
PRT_BARS = "prt_bars"  # chart: log2FC bars
PRT_NET = "prt_net"  # chart: network coloured by log2FC
PRT_DOWNLOAD = "prt_download"  # download button of the perturbation table

# export widgets (one pair per page, see export_key and export_download_key)
EXPORT_FMT = "export_fmt"

#: Default value of every widget whose default does not depend on the data. Widgets whose
#: default does (genes, grouping column, slider ranges, compared groups) compute it on the page.
DEFAULTS: dict[str, Any] = {
    IMAGE_FMT: "png",
    METHOD: "captum",
    N_STEPS: 100,
    N_TFS: 10,
    RANK_BY: "mean",
    BAR_LAYOUT: "panels",
    BAR_OWN_AXIS: False,
    BAR_SAME_ORDER: False,
    BAR_STD: False,
    NET_TOP_K: 3,
    NET_MIN_ABS: 0.0,
    NET_SIGN: "all",
    NET_FOCUS: [],
    NET_VIEW: "overview",
    NET_HUBS: 10,
    NET_TARGETS: 15,
    NET_MAX_DRAWN: 2000,
    NET_FIT_ONLY: False,
    NET_MIN_R: 0.3,
    NET_Q_ONLY: False,
    NET_MOTIF_ONLY: False,
    NET_KNOWN_ONLY: False,
    NET_EVERY_TF: True,
    TAB_Q_ONLY: False,
    TAB_MOTIF_ONLY: False,
    TAB_KNOWN_ONLY: False,
    TAB_SIGN: "all",
    TAB_SORT: "mean_attr",
    TAB_ASCENDING: False,
    TAB_FIT_ONLY: False,
    TAB_MIN_R: 0.3,
    CMP_TOP: 20,
    CMP_SCALED: True,
    DOT_TOP: 40,
    DOT_SCALED: False,
    PRT_TFS: [],
    PRT_MODE: "ko",
    PRT_FACTOR: 2.0,
    PRT_GROUPS: [],
    PRT_ROUNDS: 1,
}


def init_state() -> None:
    """Set every key of :data:`DEFAULTS` that the session state lacks to (a copy of) its default.

    Idempotent: a value already there (chosen by the user or set by a page) is kept.
    """
    import streamlit as st

    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = copy.copy(value)


def export_key(page: str) -> str:
    """Key of a page's export-format selectbox.

    Examples
    --------
    >>> export_key("network")
    'network_export_fmt'
    """
    return f"{page}_{EXPORT_FMT}"


def export_download_key(page: str) -> str:
    """Key of a page's export download button.

    Examples
    --------
    >>> export_download_key("table")
    'table_download'
    """
    return f"{page}_download"


def tf_bars_key(gene: str) -> str:
    """Key of a gene's TF bar chart on the attribution page."""
    return f"bars_{gene}"


def tf_heatmap_key(gene: str) -> str:
    """Key of a gene's TF heatmap on the attribution page."""
    return f"heat_{gene}"


def tf_heatmap_open_key(gene: str) -> str:
    """Key of the expander holding a gene's TF heatmap (drawn only while open)."""
    return f"heat_open_{gene}"


def net_layout_key(view: str) -> str:
    """Key of the network page's layout choice for one view (each view keeps its own).

    Examples
    --------
    >>> net_layout_key("targets")
    'net_layout_targets'
    """
    return f"net_layout_{view}"
