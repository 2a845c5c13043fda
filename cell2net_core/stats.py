"""Edge confidence: bootstrap interval of a group mean, a test of mean != 0, Benjamini-Hochberg q.

A TF -> gene row is the mean attribution over one group's metacells. For each row:

- ``ci_low``, ``ci_high``: the 95% percentile bootstrap interval of that mean,
  :data:`N_BOOT` resamples of the group's metacells with replacement, seeded
  (:data:`SEED`), vectorised (one count matrix of resampled metacells per group, one matrix product);
- ``p_value``: two-sided one-sample t-test of mean != 0 (``scipy.stats.ttest_1samp``'s statistic,
  Student's t tail from ``scipy.special.stdtr``, all columns of a group at once).
  The t-test tests the mean, the number the row reports and the bootstrap brackets; a
  Wilcoxon signed-rank test would test a median-like location and must drop exact zeros,
  which are common here (a TF that is not expressed in a metacell gets exactly 0).
  NaN when it cannot be computed (one metacell, or every value equal);
- ``q_value``: Benjamini-Hochberg (``scipy.stats.false_discovery_control``) over all rows
  of the table that have a p-value, computed by :func:`add_q_values` on the whole table.

Metacells are the unit of resampling: the interval says how consistently the model
attributes across a group's metacells, not how an effect replicates across donors.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

__all__ = [
    "EVIDENCE_COLUMNS",
    "N_BOOT",
    "SEED",
    "CONFIDENCE",
    "mean_evidence",
    "groups_evidence",
    "bh_q",
    "add_q_values",
]

EVIDENCE_COLUMNS = ("ci_low", "ci_high", "p_value", "q_value")
N_BOOT = 1000
SEED = 0
CONFIDENCE = 0.95

_BLAS: dict = {"controller": None, "users": 0, "limit": None}
_BLAS_LOCK = threading.Lock()


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread meanwhile (``threadpoolctl``), restored when the last user leaves.

    The bootstrap's matrix product is small (resamples x metacells x TFs): a multi-threaded BLAS
    spends more time waking its threads than computing (40x on a loaded 2-core machine), and its
    last bits depend on the machine's core count; on one thread they do not. Counted, so genes in
    threads of one process neither restore the setting under each other nor leave it changed.
    """
    with _BLAS_LOCK:
        if _BLAS["users"] == 0:
            _BLAS["controller"] = _BLAS["controller"] or ThreadpoolController()
            _BLAS["limit"] = _BLAS["controller"].limit(limits=1, user_api="blas")
        _BLAS["users"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS["users"] -= 1
            if _BLAS["users"] == 0:
                _BLAS["limit"].restore_original_limits()


def mean_evidence(
    rows: np.ndarray,
    *,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
    rng: np.random.Generator | int = SEED,
) -> dict[str, np.ndarray]:
    """Bootstrap interval and t-test p-value of the column means of ``rows`` ``(n, k)``.

    The interval is ``mean + percentiles`` of the bootstrap deviations of the mean, so
    ``ci_low <= mean <= ci_high`` holds whenever the deviations straddle zero, which they
    do for any sample of more than one distinct value at 95%.

    Parameters
    ----------
    rows
        ``(n_metacells, n_columns)`` values of one group.
    n_boot
        Bootstrap resamples (at least 1,000 recommended).
    confidence
        Coverage of the interval.
    rng
        A generator or a seed; the same seed gives the same interval.

    Returns
    -------
    ``{"ci_low", "ci_high", "p_value"}``, each ``(n_columns,)`` float64.

    Examples
    --------
    >>> rows = np.array([[1.0, 0.0], [2.0, 0.1], [3.0, -0.1], [2.0, 0.0]])
    >>> ev = mean_evidence(rows, rng=0)
    >>> bool(ev["ci_low"][0] > 0), bool(ev["ci_low"][1] <= 0 <= ev["ci_high"][1])
    (True, True)
    >>> round(float(ev["p_value"][0]), 4)  # scipy.stats.ttest_1samp(rows[:, 0], 0)
    0.0163
    """
    rows = np.asarray(rows, dtype=np.float64)
    return groups_evidence([rows], n_boot=n_boot, confidence=confidence, rng=rng)


def groups_evidence(
    groups: Sequence[np.ndarray],
    *,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
    rng: np.random.Generator | int = SEED,
) -> dict[str, np.ndarray]:
    """:func:`mean_evidence` of each group's rows, one after the other from ``rng``, concatenated.

    The same numbers as calling :func:`mean_evidence` per group with one generator, in a
    fraction of the time: one percentile and one t-test call for all groups' columns.

    Parameters
    ----------
    groups
        Each ``(n_metacells, n_columns)`` values of one group (float64).
    n_boot, confidence, rng
        As in :func:`mean_evidence`.

    Returns
    -------
    ``{"ci_low", "ci_high", "p_value"}``, each of the groups' column counts summed.

    Examples
    --------
    >>> rows = np.array([[1.0, 0.0], [2.0, 0.1], [3.0, -0.1], [2.0, 0.0]])
    >>> both = groups_evidence([rows, rows[:2]], rng=0)
    >>> one = mean_evidence(rows, rng=np.random.default_rng(0))
    >>> bool((both["ci_low"][:2] == one["ci_low"]).all()), both["p_value"].shape
    (True, (4,))
    """
    rng = np.random.default_rng(rng)
    means = [g.mean(axis=0) if len(g) else np.full(g.shape[1], np.nan) for g in groups]  # no warning when empty
    deviations = []
    with _one_blas_thread():
        for rows, mean in zip(groups, means, strict=True):
            n = len(rows)
            if n == 0:
                deviations.append(np.full((rows.shape[1], n_boot), np.nan))
                continue
            counts = _resample_counts(rng, n, n_boot)  # (n, n_boot): each resample a column
            deviations.append(_weighted_sums(rows - mean, counts) / n)  # bootstrap mean minus the sample mean
    mean = np.concatenate(means) if means else np.zeros(0)
    deviation = np.concatenate(deviations) if deviations else np.zeros((0, n_boot))
    low, high = np.full(len(mean), np.nan), np.full(len(mean), np.nan)
    drawn = np.isfinite(deviation[:, 0]) if n_boot else np.zeros(len(mean), dtype=bool)
    if drawn.any():
        tail = (1.0 - confidence) / 2 * 100
        low[drawn], high[drawn] = np.percentile(deviation[drawn], [tail, 100 - tail], axis=1)
    return {"ci_low": mean + low, "ci_high": mean + high, "p_value": _ttest(groups)}


_COUNTS: OrderedDict[tuple, tuple[np.ndarray, dict]] = OrderedDict()
_COUNTS_LOCK = threading.Lock()
_COUNTS_BYTES = 256 * 2**20  # most bytes of count matrices kept
_BLOCK_BYTES = 64 * 2**20  # most float64 counts in one step of the bootstrap's product


def _resample_counts(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """``(n, n_boot)``: how often each of ``n`` rows is drawn in each resample (with replacement).

    One row per metacell, contiguous: the bootstrap's product then streams each resample's counts
    in memory order and yields each column's resampled means as one contiguous row (3.3 -> 2.6 ms
    for 8 groups of 125 metacells x 10 TFs than with ``(n_boot, n)``; the same numbers to the bit).
    float64 while that is at most :data:`_BLOCK_BYTES` (the product's own type); larger groups
    keep the smallest unsigned integer type that holds them (``uint8``: an eighth of the memory),
    which :func:`_weighted_sums` converts a block of resamples at a time.

    The draws depend only on the generator's state, ``n`` and ``n_boot``; every gene of a
    results folder resamples the same groups from the same seed, so the matrices are kept
    (up to :data:`_COUNTS_BYTES`, least recently used first out: 100,000 metacells' in ``uint8``
    take 100 MB) and the generator is moved on to the state the draws would leave: the same
    numbers as drawing again, without drawing.
    """
    state = rng.bit_generator.state
    key = (n, n_boot, repr(state))
    with _COUNTS_LOCK:
        hit = _COUNTS.get(key)
        if hit is not None:
            _COUNTS.move_to_end(key)
    if hit is not None:
        rng.bit_generator.state = hit[1]
        return hit[0]
    draws = rng.integers(0, n, size=(n_boot, n))  # each resample: n metacells drawn with replacement
    draws += (np.arange(n_boot) * n)[:, None]
    counts = np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n)
    small = n * n_boot * 8 <= _BLOCK_BYTES
    counts = np.ascontiguousarray(counts.T, dtype=np.float64 if small else np.min_scalar_type(counts.max()))
    counts.flags.writeable = False  # shared between genes (and threads)
    if counts.nbytes <= _COUNTS_BYTES:
        with _COUNTS_LOCK:
            _COUNTS[key] = (counts, rng.bit_generator.state)
            while sum(c.nbytes for c, _ in _COUNTS.values()) > _COUNTS_BYTES:
                _COUNTS.popitem(last=False)
    return counts


def _weighted_sums(rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``rows.T @ counts`` ``(k, n_boot)`` in float64 (BLAS), integer counts converted a block of resamples at a time.

    The float64 copy of a large group's counts is never made whole (800 MB at 100,000 metacells):
    blocks of as even a width as multiples of 64 resamples allow, at most :data:`_BLOCK_BYTES`
    each. A column's sum may differ from one whole product's in its last bits (BLAS can pick
    another kernel for a narrower product; tested within 1e-12 of the largest), but the blocks
    depend only on the group's size and ``n_boot``, so every run stores the same numbers.

    Examples
    --------
    >>> rows, counts = np.arange(6.0).reshape(3, 2), np.array([[1, 0], [2, 1], [0, 2]], dtype=np.uint8)
    >>> _weighted_sums(rows, counts).tolist()
    [[4.0, 10.0], [7.0, 13.0]]
    """
    n, n_boot = counts.shape
    if counts.dtype == np.float64:
        return rows.T @ counts
    blocks = -(-n * n_boot * 8 // _BLOCK_BYTES)
    width = min(n_boot, -(-n_boot // blocks // 64) * 64)  # few, even blocks: BLAS packs ``rows`` once per block
    block, out = np.empty((n, width)), np.empty((rows.shape[1], n_boot))  # one block's memory, paged in once
    for start in range(0, n_boot, width):
        part = counts[:, start : start + width]
        np.copyto(block[:, : part.shape[1]], part)
        np.matmul(rows.T, block[:, : part.shape[1]], out=out[:, start : start + part.shape[1]])
    return out


def _ttest(groups: Sequence[np.ndarray]) -> np.ndarray:
    """Two-sided one-sample t-test of mean != 0 per column of each group, concatenated; NaN for n < 2 or
    constant columns.

    ``scipy.stats.ttest_1samp``'s statistic and Student's t tail (``scipy.special.stdtr``), on all
    columns of all groups in one call without its per-call checks (the same p-values to 1e-12, tested).
    """
    if not groups:
        return np.zeros(0)
    from scipy import special  # scipy takes a while to import: only when a test runs

    t, df, undefined = [], [], []
    with np.errstate(all="ignore"):
        for rows in groups:
            n = len(rows)
            t.append(rows.mean(axis=0) / np.sqrt(rows.var(axis=0, ddof=1) / n) if n >= 2 else np.zeros(rows.shape[1]))
            df.append(np.full(rows.shape[1], max(n - 1, 1)))
            undefined.append(np.ptp(rows, axis=0) == 0 if n >= 2 else np.ones(rows.shape[1], dtype=bool))
        p = 2.0 * special.stdtr(np.concatenate(df), -np.abs(np.concatenate(t)))
    return np.where(np.concatenate(undefined), np.nan, p)


def bh_q(p_values: np.ndarray | pd.Series) -> np.ndarray:
    """Benjamini-Hochberg q-values over the finite p-values; NaN stays NaN.

    Parameters
    ----------
    p_values
        p-values, NaN where there is none.

    Examples
    --------
    >>> bh_q(np.array([0.01, 0.04, np.nan, 0.03])).round(3).tolist()
    [0.03, 0.04, nan, 0.04]
    """
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        from scipy import stats as sps

        q[ok] = sps.false_discovery_control(p[ok], method="bh")
    return q


def add_q_values(table: pd.DataFrame) -> pd.DataFrame:
    """The table with ``q_value`` recomputed over all of its rows (after ``p_value``).

    A table without ``p_value`` (the tutorial's) is returned unchanged.

    Parameters
    ----------
    table
        A TF -> gene or peak -> gene table.

    Examples
    --------
    >>> t = pd.DataFrame({"tf": ["A", "B"], "p_value": [0.01, 0.04]})
    >>> add_q_values(t)["q_value"].tolist()
    [0.02, 0.04]
    """
    if "p_value" not in table.columns:
        return table
    out = table.copy()
    q = bh_q(out["p_value"].to_numpy())
    if "q_value" in out.columns:
        out["q_value"] = q
    else:
        out.insert(out.columns.get_loc("p_value") + 1, "q_value", q)
    return out
