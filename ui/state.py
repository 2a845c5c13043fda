"""Every session-state key the app uses, in one place.

Widget keys hold the widget's value; the others hold objects the pages share.
"""

from __future__ import annotations

# data source (sidebar)
SOURCE_KIND = "source_kind"  # widget: "demo" or "paths"
MDATA_PATH = "source_mdata"  # widget: dataset .h5mu path
MODELS_PATH = "source_models"  # widget: model folder
RESULTS_PATH = "source_results"  # widget: results folder
CONTEXT = "context"  # ui.source.Context of the current run

# gene attribution page
GENES = "attr_genes"  # widget: selected genes
GROUPBY = "attr_groupby"  # widget: grouping column
METHOD = "attr_method"  # widget: "captum" or "exact"
N_STEPS = "attr_n_steps"  # widget
N_TFS = "attr_n_tfs"  # widget
RANK_BY = "attr_rank_by"  # widget: "mean" or "abs"
BAR_LAYOUT = "attr_bar_layout"  # widget: "panels" or "grouped"
JOB = "attr_job"  # ui.jobs.Job running or last run in this session

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

# table page
TAB_GENES = "tab_genes"
TAB_TFS = "tab_tfs"
TAB_GROUPS = "tab_groups"
TAB_MEAN = "tab_mean"
TAB_STD = "tab_std"
TAB_SIGN = "tab_sign"
TAB_SORT = "tab_sort"
TAB_ASCENDING = "tab_ascending"

# compare page
CMP_A = "cmp_a"
CMP_B = "cmp_b"
CMP_GENE = "cmp_gene"
CMP_TOP = "cmp_top"

# export widgets (one per page, prefix + "_fmt")
EXPORT_FMT = "export_fmt"
IMAGE_FMT = "image_fmt"  # widget (sidebar): "png" or "svg" for the charts' camera button
