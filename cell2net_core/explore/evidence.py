"""The evidence behind one TF -> gene edge, as tables and figures: the gene's peaks along the
locus (peak attribution and accessibility per group), the TF's JASPAR motif (logo and sites),
and the edge's known status.

Every number comes from the core: peak attributions and their intervals from
:func:`~cell2net_core.peaks.peak_to_gene`, motif sites from :mod:`~cell2net_core.motifs`,
accessibility from the dataset's ``atac.layers["counts"]``.
"""

from __future__ import annotations

import logomaker
import mudata as md
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from ..data import gene_inputs, group_labels, peak_coordinates
from ..errors import Cell2NetInputError
from ..motifs import THRESHOLD, Motif
from .figures import CI_NOTE

__all__ = ["peak_positions", "peak_accessibility", "logo_matrix", "logo_figure", "peaks_figure"]


def peak_positions(mdata: md.MuData, gene: str) -> pd.DataFrame:
    """The gene's peaks in ``uns["peak_to_gene"]`` order: ``peak, distance`` (to the TSS, as stored),
    ``chr, start, end`` (:func:`~cell2net_core.data.peak_coordinates`; missing when unparsable).

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> peak_positions(random_dataset(n_metacells=4, n_peaks=2), "GENE0").columns.tolist()
    ['peak', 'distance', 'chr', 'start', 'end']
    """
    p2g = mdata.uns["peak_to_gene"]
    rows = p2g.loc[p2g["gene"].astype(str) == gene, ["peak", "distance"]].astype({"peak": str})
    if rows.empty:
        msg = f"gene {gene!r} has no peaks in uns['peak_to_gene']; pick a gene with linked peaks."
        raise Cell2NetInputError(msg)
    coords = peak_coordinates(mdata).reindex(rows["peak"])
    return rows.reset_index(drop=True).join(coords.reset_index(drop=True))


def peak_accessibility(mdata: md.MuData, gene: str, *, groupby: str = "cell_type_v2") -> pd.DataFrame:
    """Mean ATAC counts (``atac.layers["counts"]``) per metacell of each of the gene's peaks, per group.

    Returns
    -------
    Columns ``peak, <groupby>, mean_counts, n_metacells``.

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> acc = peak_accessibility(random_dataset(n_metacells=16, n_peaks=2), "GENE0")
    >>> acc.columns.tolist(), len(acc) == 2 * acc["cell_type_v2"].nunique()
    (['peak', 'cell_type_v2', 'mean_counts', 'n_metacells'], True)
    """
    inputs = gene_inputs(mdata, gene)
    labels = group_labels(mdata, groupby)
    frame = pd.DataFrame(inputs.peak_acc, columns=inputs.peaks).assign(**{groupby: labels})
    mean = frame.groupby(groupby, sort=True).mean()
    long = mean.reset_index().melt(id_vars=groupby, var_name="peak", value_name="mean_counts")
    long["n_metacells"] = long[groupby].map(frame[groupby].value_counts()).astype(int)
    long["peak"] = pd.Categorical(long["peak"], categories=inputs.peaks)
    long = long.sort_values([groupby, "peak"], kind="stable").astype({"peak": str})
    return long[["peak", groupby, "mean_counts", "n_metacells"]].reset_index(drop=True)


def logo_matrix(motif: Motif) -> pd.DataFrame:
    """The motif's information content per position and base (bits), from its JASPAR counts
    (``logomaker.transform_matrix``, counts -> information, pseudocount 0.2 per base as in the motif scan).

    Examples
    --------
    >>> m = Motif("X", "MA0000.1", np.array([[10.0, 0, 0, 0], [2.5, 2.5, 2.5, 2.5]]))
    >>> logo_matrix(m).sum(axis=1).round(1).tolist()
    [1.6, 0.0]
    """
    counts = pd.DataFrame(motif.counts, columns=list("ACGT"))
    return logomaker.transform_matrix(counts, from_type="counts", to_type="information", pseudocount=0.2)


def logo_figure(motif: Motif) -> Figure:
    """A sequence logo of the motif (logomaker; letter height = information in bits).

    Examples
    --------
    >>> fig = logo_figure(Motif("SPI1", "MA0080.7", np.eye(4)[[0, 2, 2, 0]] * 10))
    >>> fig.axes[0].get_ylabel()
    'information (bits)'
    """
    fig = Figure(figsize=(max(3.0, 0.45 * len(motif.counts)), 1.8))  # no pyplot: nothing global, no display
    ax = fig.add_subplot()
    logomaker.Logo(logo_matrix(motif), ax=ax, color_scheme="classic")
    ax.set_ylabel("information (bits)")
    ax.set_xlabel("position")
    ax.set_ylim(0, 2)
    ax.set_title(f"{motif.name} ({motif.matrix_id}, JASPAR 2024 CORE)", fontsize=10)
    fig.tight_layout()
    return fig


def _peak_labels(positions: pd.DataFrame) -> tuple[list[str], dict[str, str]]:
    """Peaks ordered by distance to the TSS, and the axis label of each ("12.3 kb<br>chr1-...")."""
    order = positions.sort_values("distance", kind="stable")["peak"].tolist()
    dist = dict(zip(positions["peak"], positions["distance"], strict=True))
    return order, {p: f"{float(dist[p]) / 1000:.1f} kb<br>{p}" for p in order}


def _attribution_traces(summary: pd.DataFrame, groupby: str, label: dict[str, str]) -> list[go.Bar]:
    traces = []
    for g, part in summary.groupby(groupby, sort=True, observed=True):
        mean = part["mean_attr"].to_numpy(dtype=float)
        up, down = part["ci_high"].to_numpy(dtype=float) - mean, mean - part["ci_low"].to_numpy(dtype=float)
        hover = [f"<b>{p}</b> in {g}<br>mean peak attribution: {m:.4g}<br>{CI_NOTE}: [{lo:.3g}, {hi:.3g}]"
                 f"<br>p (one-sample t-test, mean != 0): {pv:.3g}<br>q (Benjamini-Hochberg): {q:.3g}"
                 for p, m, lo, hi, pv, q in zip(part["peak"], mean, part["ci_low"], part["ci_high"], part["p_value"],
                                                part["q_value"], strict=True)]
        traces.append(go.Bar(
            x=[label[p] for p in part["peak"]], y=mean, name=str(g), legendgroup=str(g), hovertext=hover,
            hoverinfo="text", error_y={"type": "data", "symmetric": False, "thickness": 1,
                                       "array": [None if np.isnan(v) else v for v in up],
                                       "arrayminus": [None if np.isnan(v) else v for v in down]},
        ))
    return traces


def peaks_figure(
    positions: pd.DataFrame,
    accessibility: pd.DataFrame,
    *,
    gene: str,
    summary: pd.DataFrame | None = None,
    sites: pd.DataFrame | None = None,
    tf: str | None = None,
    groupby: str = "cell_type_v2",
) -> go.Figure:
    """The Peaks view: the gene's peaks along the locus (ordered by distance to the TSS), with
    (top) mean peak attribution per group and its 95% CI, (middle) mean accessibility per group,
    (bottom) the TF's motif sites per peak. A part without data says so instead of drawing zeros.

    Parameters
    ----------
    positions
        :func:`peak_positions`.
    accessibility
        :func:`peak_accessibility`.
    gene
        The gene.
    summary
        :func:`~cell2net_core.peaks.peak_to_gene` rows of the gene, or ``None`` (not computed).
    sites, tf
        :func:`~cell2net_core.motifs.site_table` of the TF's motif, or ``None``.
    groupby
        The group column of ``summary`` and ``accessibility``.

    Examples
    --------
    >>> from cell2net_core.testing import random_dataset
    >>> mdata = random_dataset(n_metacells=16, n_peaks=3)
    >>> fig = peaks_figure(peak_positions(mdata, "GENE0"), peak_accessibility(mdata, "GENE0"), gene="GENE0")
    >>> "not computed" in fig.layout.annotations[0].text
    True
    """
    order, label = _peak_labels(positions)
    titles = (
        f"Peak attribution of {gene} per {groupby} (bars: mean IG attribution to peak accessibility; "
        "whiskers: 95% bootstrap CI)" if summary is not None else
        f"Peak attribution of {gene}: not computed (use the button above)",
        f"Accessibility: mean ATAC counts per metacell per {groupby}",
        f"{tf} motif sites per peak (relative score >= {THRESHOLD})" if tf else "Motif sites: choose a TF",
    )
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, subplot_titles=titles, vertical_spacing=0.09,
                        row_heights=[0.45, 0.35, 0.2])
    for trace in _attribution_traces(summary, groupby, label) if summary is not None else []:
        fig.add_trace(trace, row=1, col=1)
    for g, part in accessibility.groupby(groupby, sort=True, observed=True):
        fig.add_trace(go.Bar(x=[label[p] for p in part["peak"]], y=part["mean_counts"], name=str(g),
                             legendgroup=str(g), showlegend=summary is None, hovertemplate=(
                                 f"{g}<br>%{{x}}<br>mean counts: %{{y:.3g}}<extra></extra>")), row=2, col=1)
    if sites is not None:
        counts = sites.groupby("peak").size().reindex(order)
        hover = [f"{p}: {'no site' if pd.isna(n) else f'{int(n)} site(s)'}" for p, n in counts.items()]
        fig.add_trace(go.Bar(x=[label[p] for p in order], y=counts.fillna(0).to_numpy(), name=f"{tf} sites",
                             marker_color="#2c3e50", hovertext=hover, hoverinfo="text"), row=3, col=1)
    fig.update_xaxes(categoryorder="array", categoryarray=[label[p] for p in order])
    fig.update_xaxes(title_text="peaks along the locus, by distance to the TSS (uns['peak_to_gene'])", row=3, col=1)
    fig.update_yaxes(title_text="mean attr", row=1, col=1)
    fig.update_yaxes(title_text="mean counts", row=2, col=1)
    fig.update_yaxes(title_text="sites", row=3, col=1)
    fig.update_layout(barmode="group", height=760, margin={"l": 10, "r": 10, "t": 60, "b": 10},
                      legend={"title": groupby})
    return fig
