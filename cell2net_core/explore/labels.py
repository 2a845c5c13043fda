"""Node labels that do not overlap: text widths from Arial's metrics, each label's box where plotly draws
it, and a greedy placement that gives each label the first of plotly's eight text positions around its
node where it overlaps no placed label, no marker and no obstacle.

All geometry is in pixels with y pointing up (the plot's direction); a box is ``(left, bottom, right, top)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LABEL_FONT", "POSITIONS", "text_width", "label_box", "outward_order", "place_labels", "set_aside",
           "RadialFit", "fit_radial"]

#: Labels are drawn in Arial (Liberation Sans and Helvetica have the same metrics), whose widths
#: :func:`text_width` knows, so that their boxes are known before the browser draws them.
LABEL_FONT = "Arial, 'Liberation Sans', Helvetica, sans-serif"
#: plotly's text positions around a marker (``middle center`` would cover it)
POSITIONS = ("top center", "bottom center", "middle right", "middle left",
             "top right", "top left", "bottom right", "bottom left")
#: advance widths in 1/1000 em of Arial / Helvetica (their AFM metrics); any other character counts as 0.72 em
_UPPER = (667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722,
          667, 944, 667, 667, 611)
_LOWER = (556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556,
          500, 722, 500, 500, 500)
_ARIAL = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", _UPPER, strict=True)) | dict(zip("abcdefghijklmnopqrstuvwxyz", _LOWER,
                                                                                 strict=True))
_ARIAL |= dict.fromkeys("0123456789", 556) | {"-": 333, ".": 278, "_": 556, " ": 278, "(": 333, ")": 333, "/": 278,
                                               ":": 278, "+": 584, ",": 278, "'": 191}
_BOLD = 1.1  # Arial Bold is at most ~10% wider than regular for letters and digits
_OTHER = 720
_MAX_SIZE = 2400  # px across: the largest concentric drawing
_LINE = 1.1  # a line of text is 1.1 em tall (plotly's text box, measured in chromium)


def text_width(text: str, *, size: float = 10, bold: bool = False) -> float:
    """Width in px of one line of ``text`` in Arial at ``size`` px (1 px added for rounding).

    Parameters
    ----------
    text
        The label.
    size
        Font size in px.
    bold
        Bold text (wider by up to 10%).

    Examples
    --------
    >>> round(text_width("GENE1000", size=10), 1)  # chromium draws 51.0 px
    51.6
    """
    em = sum(_ARIAL.get(c, _OTHER) for c in str(text)) / 1000
    return em * size * (_BOLD if bold else 1.0) + 1.0


def label_box(xy: Sequence[float], *, width: float, font: float, marker: float, where: str) -> np.ndarray:
    """The box ``(left, bottom, right, top)`` (px, y up) of a label at plotly's ``where`` position around
    a marker of ``marker`` px (plotly's size) centred at ``xy`` (px): plotly puts the text
    ``marker / 1.6 + 1`` px from the centre (``Drawing.textPointPosition``).

    Parameters
    ----------
    xy
        The marker's centre in px.
    width
        The text's width in px (:func:`text_width`).
    font
        Font size in px.
    marker
        The marker's size as plotly takes it (diameter in px).
    where
        One of :data:`POSITIONS`, e.g. ``"top center"``.

    Examples
    --------
    >>> label_box((0.0, 0.0), width=50.0, font=10, marker=10, where="top center").tolist()
    [-25.0, 7.75, 25.0, 18.75]
    """
    r = marker / 1.6 + 1
    v, h = where.split()
    low, high = {"top": (r + 0.05 * font, r + (0.05 + _LINE) * font),
                 "bottom": (-r - 0.95 * font, -r + 0.15 * font),
                 "middle": (-0.45 * font, 0.65 * font)}[v]
    left, right = {"right": (r, r + width), "left": (-r - width, -r), "center": (-width / 2, width / 2)}[h]
    return np.array([xy[0] + left, xy[1] + low, xy[0] + right, xy[1] + high], dtype=float)


def outward_order(xy: Sequence[float]) -> list[str]:
    """:data:`POSITIONS` ordered from the one pointing most directly away from the origin (a radial
    layout's centre) to the one pointing most towards it; at the origin, ``top center`` first.

    Parameters
    ----------
    xy
        A node's position relative to the centre.

    Examples
    --------
    >>> outward_order((1.0, 0.1))[:2], outward_order((0.0, -2.0))[0]
    (['middle right', 'top right'], 'bottom center')
    """
    r = float(np.hypot(*xy))
    if r < 1e-9:
        return list(POSITIONS)
    ux, uy = xy[0] / r, xy[1] / r
    step = {"left": -1.0, "center": 0.0, "right": 1.0, "bottom": -1.0, "middle": 0.0, "top": 1.0}

    def along(where: str) -> float:
        v, h = where.split()
        d = np.hypot(step[h], step[v])
        return (step[h] * ux + step[v] * uy) / d

    return sorted(POSITIONS, key=lambda w: -along(w))


def marker_boxes(xy: np.ndarray, markers: Sequence[float]) -> np.ndarray:
    """Boxes (left, bottom, right, top; px) the markers of plotly sizes ``markers`` reach around their centres
    ``xy`` (``(n, 2)``, or ``(v, n, 2)`` in ``v`` views): ``1.3 * size / 2`` every way, a diamond's reach, so
    a label clear of the box clears any symbol.

    Examples
    --------
    >>> marker_boxes(np.array([[10.0, 20.0]]), [10.0]).tolist()
    [[3.5, 13.5, 16.5, 26.5]]
    """
    xy = np.asarray(xy, dtype=float)
    reach = 1.3 * np.asarray(markers, dtype=float)[:, None] / 2
    return np.concatenate([xy - reach, xy + reach], axis=-1)


def _hits(box: np.ndarray, boxes: np.ndarray, pad: float) -> np.ndarray:
    """Which of ``boxes`` come closer than ``pad`` to ``box``."""
    return ((box[0] < boxes[:, 2] + pad) & (boxes[:, 0] < box[2] + pad)
            & (box[1] < boxes[:, 3] + pad) & (boxes[:, 1] < box[3] + pad))


def place_labels(xy: np.ndarray, widths: Sequence[float], markers: Sequence[float], *, font: float = 10,
                 prefer: Sequence[Sequence[str]] | None = None, obstacles: np.ndarray | None = None,
                 bounds: np.ndarray | None = None, pad: float = 2.0, give_up: bool = False,
                 avoid_markers: bool = True) -> list[str | None]:
    """Each node's label position, placed greedily in the nodes' order: the first position of its
    ``prefer`` list whose box overlaps no label placed before, no other node's marker and no
    obstacle, and lies inside ``bounds``; ``None`` where none is free (the label is not drawn).

    Parameters
    ----------
    xy
        ``(n, 2)`` node centres in px (y up), most important first; or ``(v, n, 2)``: the same nodes in
        ``v`` views (e.g. charts of different widths), where a position must be free in every view.
    widths
        Each label's width in px (:func:`text_width`).
    markers
        Each node's marker size in px (plotly's size); a marker's box is ``1.3 * size / 2`` around its
        centre (a diamond's reach), so labels clear any symbol.
    font
        Font size in px.
    prefer
        Per node, the positions to try in order; default :data:`POSITIONS`.
    obstacles
        ``(m, 4)`` boxes no label may touch (e.g. the centre's label), the same in every view.
    bounds
        ``(left, bottom, right, top)`` the labels must stay inside (the plot area), or ``(v, 4)`` per view.
    pad
        Least gap in px between a label and another label (half of it to a marker or obstacle).
    give_up
        Stop at the first label without room (the rest are ``None``): enough to know that a scale is too small.
    avoid_markers
        Keep labels off the other nodes' markers (``False``: only off each other, the obstacles and their own
        markers, for the few labels of a dense graph).

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [30.0, 0.0], [60.0, 0.0]])  # 40 px labels on nodes 30 px apart
    >>> place_labels(xy, [40.0, 40.0, 40.0], [8.0, 8.0, 8.0])
    ['top center', 'bottom center', 'top center']
    """
    views = np.asarray(xy, dtype=float).reshape(-1, len(widths), 2)
    size = np.asarray(markers, dtype=float)
    marks = marker_boxes(views, size)  # (v, n, 4)
    if not avoid_markers:  # each label still clears its own marker, by its position
        marks = np.full_like(marks, np.nan)  # comparisons with NaN are false: no marker is hit
    fixed = marks if obstacles is None else np.concatenate(
        [np.broadcast_to(np.asarray(obstacles, dtype=float).reshape(1, -1, 4), (len(views), len(obstacles), 4)),
         marks], axis=1)
    limits = None if bounds is None else np.broadcast_to(np.asarray(bounds, dtype=float), (len(views), 4))
    own = fixed.shape[1] - len(widths)  # node i's own marker is row own + i
    placed = np.empty((len(views), len(widths), 4))
    n_placed, out = 0, [None] * len(widths)
    for i, w in enumerate(widths):
        for cand in (prefer[i] if prefer is not None else POSITIONS):
            boxes = np.array([label_box(v[i], width=w, font=font, marker=size[i], where=cand) for v in views])
            if _fits(boxes, limits) and all(_clear(b, fixed[k], own + i, placed[k, :n_placed], pad)
                                            for k, b in enumerate(boxes)):
                out[i] = cand
                placed[:, n_placed] = boxes
                n_placed += 1
                break
        if out[i] is None and give_up:
            break
    return out


def _fits(boxes: np.ndarray, limits: np.ndarray | None) -> bool:
    """Whether each view's box lies inside that view's limits (``None``: no limits)."""
    return limits is None or bool(np.all((boxes[:, :2] >= limits[:, :2]) & (boxes[:, 2:] <= limits[:, 2:])))


def set_aside(xy: np.ndarray, widths: Sequence[float], taken: np.ndarray, *, font: float = 10,
              stretch: np.ndarray | None = None, bounds: np.ndarray | None = None,
              distances: Sequence[float] = (30, 45, 65, 90), pad: float = 2.0) -> list[tuple[float, float] | None]:
    """For labels that found no room beside their node: an offset (px) from the node to where the label is
    centred instead, joined to its node by a leader line; the nearest offset (8 directions, then 16, at each
    of ``distances``) whose box overlaps no box of ``taken`` nor a label set aside before; ``None`` if none.

    Parameters
    ----------
    xy
        ``(n, 2)`` or ``(v, n, 2)`` node centres in px (y up) in ``v`` views, as for :func:`place_labels`.
    widths
        Each label's width in px.
    taken
        ``(m, 4)`` or ``(v, m, 4)`` boxes (px) already taken: the placed labels, obstacles.
    font
        Font size in px.
    stretch
        ``(v, 2)``: how much longer an x and a y pixel of the first view are in each view (a wider chart
        stretches x), the offset being one place in the data; default all 1.
    bounds
        ``(left, bottom, right, top)`` per view (or one for all) the labels must stay inside.
    distances
        Distances (px, first view) from the node to the label's centre to try, nearest first.
    pad
        Least gap in px between two labels.

    Examples
    --------
    >>> taken = np.array([[-30.0, -10.0, 30.0, 30.0]])  # the space around the node is taken
    >>> set_aside(np.array([[0.0, 0.0]]), [40.0], taken)
    [(0.0, -30.0)]
    """
    views = np.asarray(xy, dtype=float).reshape(-1, len(widths), 2)
    grow = np.ones((len(views), 2)) if stretch is None else np.asarray(stretch, dtype=float).reshape(-1, 2)
    boxes = np.asarray(taken, dtype=float)
    boxes = boxes.reshape(len(views), -1, 4) if boxes.ndim == 3 else np.broadcast_to(
        boxes.reshape(1, -1, 4), (len(views), len(boxes.reshape(-1, 4)), 4))
    limits = None if bounds is None else np.broadcast_to(np.asarray(bounds, dtype=float), (len(views), 4))
    turns = [np.pi / 2 * k for k in (3, 1, 0, 2)] + [np.pi / 4 * k for k in (1, 3, 5, 7)]
    turns += [np.pi / 8 * k for k in range(1, 16, 2)]
    out: list[tuple[float, float] | None] = []
    for i, w in enumerate(widths):
        out.append(None)
        for d, a in ((d, a) for d in distances for a in turns):
            off = np.array([d * np.cos(a), d * np.sin(a)])
            cand = np.array([label_box(v[i] + off * g, width=w, font=font, marker=0, where="middle center")
                             for v, g in zip(views, grow, strict=True)])
            if _fits(cand, limits) and not any(_hits(c, b, pad).any() for c, b in zip(cand, boxes, strict=True)):
                out[-1] = (round(float(off[0]), 6) + 0.0, round(float(off[1]), 6) + 0.0)  # no -0.0
                boxes = np.concatenate([boxes, cand[:, None, :]], axis=1)
                break
    return out


def _clear(box: np.ndarray, fixed: np.ndarray, own: int, placed: np.ndarray, pad: float) -> bool:
    """Whether ``box`` keeps clear of the markers and obstacles (``fixed``, but row ``own``) and the placed labels."""
    near = _hits(box, fixed, pad / 2)
    near[own] = False  # the label's own marker: its position keeps it clear
    return not near.any() and not _hits(box, placed, pad).any()


@dataclass(frozen=True)
class RadialFit:
    """A concentric drawing's scale and label positions (:func:`fit_radial`).

    Attributes
    ----------
    scale
        Pixels per layout unit, the same along x and y.
    where
        Each node's plotly text position, ``None`` for a label left out (no free position).
    half
        Half the width and half the height in px of everything drawn (markers, labels, obstacles)
        around the centre.
    """

    scale: float
    where: list[str | None]
    half: tuple[float, float]


def _extent(xy: np.ndarray, widths: Sequence[float], markers: np.ndarray, where: list[str | None], font: float,
            obstacles: np.ndarray) -> tuple[float, float]:
    """Half width and half height (px) around the origin of the markers, placed labels and obstacles."""
    boxes = [label_box(p, width=w, font=font, marker=m, where=q)
             for p, w, m, q in zip(xy, widths, markers, where, strict=True) if q is not None]
    every = np.vstack([marker_boxes(xy, markers), obstacles.reshape(-1, 4), *boxes])
    return float(np.abs(every[:, [0, 2]]).max()), float(np.abs(every[:, [1, 3]]).max())


def fit_radial(xy: np.ndarray, widths: Sequence[float], markers: Sequence[float], *, font: float = 10,
               obstacles: Callable[[float], np.ndarray] | None = None, min_size: float = 560,
               max_size: float = 1000, keep_all: bool = True, outer: float | None = None,
               avoid_markers: bool = True, prefer: Sequence[Sequence[str]] | None = None) -> RadialFit:
    """The smallest scale at which every label of a concentric layout finds a free position (labels
    pointing away from the centre where they can, :func:`outward_order`), and those positions.

    The scale grows in steps of 15% from where the drawing is ``min_size`` px across, then is narrowed
    down by bisection. With ``keep_all``, it grows until every label is placed (up to 2,400 px across);
    otherwise up to ``max_size`` px, and labels without room there are left out (``None``).

    Parameters
    ----------
    xy
        ``(n, 2)`` node positions around the centre ``(0, 0)`` in layout units, most important first.
    widths, markers
        Each label's width and each marker's size in px.
    font
        Font size in px.
    obstacles
        Boxes (px, around the centre) no label may touch, for a scale: e.g. the centre's marker and label.
    min_size, max_size
        Least and (without ``keep_all``) most size in px of the drawing across.
    keep_all
        Grow until every label is placed.
    outer
        Radius (layout units) of the outermost node drawn, labelled or not; default the largest of ``xy``.
    avoid_markers
        Keep labels off the other nodes' markers (:func:`place_labels`).
    prefer
        Per node, the positions to try in order; default pointing away from the centre (:func:`outward_order`).

    Examples
    --------
    >>> ring = np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0, 2 * np.pi, 40, endpoint=False)])
    >>> fit = fit_radial(ring, [50.0] * 40, [10.0] * 40)
    >>> all(fit.where), round(fit.scale) > 150, fit_radial(ring, [50.0] * 40, [10.0] * 40, min_size=100,
    ...                                                   max_size=200, keep_all=False).where.count(None) > 0
    (True, True, True)
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    size = np.asarray(markers, dtype=float)
    prefer = [outward_order(p) for p in xy] if prefer is None else prefer
    reach = outer if outer is not None else float(np.hypot(xy[:, 0], xy[:, 1]).max()) if len(xy) else 1.0

    def attempt(scale: float, give_up: bool) -> tuple[list[str | None], tuple[float, float]]:
        obst = np.empty((0, 4)) if obstacles is None else np.asarray(obstacles(scale), dtype=float).reshape(-1, 4)
        where = place_labels(xy * scale, widths, size, font=font, prefer=prefer, obstacles=obst, give_up=give_up,
                             avoid_markers=avoid_markers)
        ring = reach * scale + 0.65 * size.max(initial=0)  # the outermost node, labelled or not
        return where, tuple(max(h, ring) for h in _extent(xy * scale, widths, size, where, font, obst))

    def scale_for(across: float, at: float, half: tuple[float, float]) -> float:
        """The scale at which the drawing is ``across`` px wide, from its ``half`` at scale ``at`` (rings grow,
        labels do not)."""
        return (across / 2 - max(half) + reach * at) / max(reach, 1e-9)

    cap = _MAX_SIZE if keep_all else max_size
    scale = max(min_size / 2 - max(widths, default=0) - size.max(initial=0), 10.0) / max(reach, 1e-9)
    low = None
    where, half = attempt(scale, give_up=True)
    while not all(where) and scale_for(cap, scale, half) > 1.01 * scale:
        low, scale = scale, min(scale * 1.15, scale_for(cap, scale, half))
        where, half = attempt(scale, give_up=True)
    for _ in range(3 if all(where) and low is not None else 0):  # narrow the last step down
        mid = (low + scale) / 2
        w_mid, h_mid = attempt(mid, give_up=True)
        if all(w_mid):
            scale, where, half = mid, w_mid, h_mid
        else:
            low = mid
    for _ in range(3):  # no scale up to the cap places every label: the cap's, with what fits there
        if all(where) and 2 * max(half) <= cap + 1:
            break
        where, half = attempt(scale, give_up=False)
        if 2 * max(half) > cap + 1:
            scale = scale_for(cap, scale, half)
    return RadialFit(scale=scale, where=where, half=half)
