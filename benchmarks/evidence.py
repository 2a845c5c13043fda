"""Edge evidence (bootstrap interval and t-test of each group mean) per gene as metacells grow: a commit vs now.

Run from the repository root::

    python -m benchmarks.evidence [--metacells 1000 32000 100000] [--tfs 100] [--before 7cfe983]

For each size, ``stats.groups_evidence`` of one gene's attributions (``--tfs`` columns, 8
groups of equal size, as the demo's cell types) is timed for four genes in a row, in a fresh
process per version: the package of commit ``--before`` (default ``7cfe983``, before a large
group's bootstrap counts were kept as ``uint8``) and today's, two interleaved rounds, best of
each kept. The first gene draws the bootstrap's counts; the next ones reuse them while they
fit ``stats._COUNTS_BYTES``. Printed: seconds of gene 1 and the best of genes 2-4 per version,
their ratio, and whether the two versions give the same numbers (or how far apart they are,
relative to each column's largest).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.scaling import ROOT, checkout

#: One gene's evidence four times in a row; prints the seconds and saves the last numbers.
TIMED = """
import sys, time, numpy as np
from cell2net_core import stats
n, tfs, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
groups = np.array_split(np.random.default_rng(1).normal(size=(n, tfs)), 8)
seconds = []
for _ in range(4):
    start = time.perf_counter()
    ev = stats.groups_evidence(groups)
    seconds.append(time.perf_counter() - start)
np.save(out, np.stack([ev["ci_low"], ev["ci_high"], ev["p_value"]]))
print(" ".join(f"{s:.4f}" for s in seconds))
"""


def timed(src: Path, n: int, tfs: int, out: Path) -> tuple[float, float]:
    """Seconds of the first gene and the best of the next three, from the package in ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", TIMED, str(n), str(tfs), str(out)], cwd=src, env=env,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"evidence in {src} failed:\n{done.stderr[-2000:]}")
    seconds = [float(s) for s in done.stdout.split()]
    return seconds[0], min(seconds[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metacells", type=int, nargs="+", default=[1000, 32_000, 100_000])
    parser.add_argument("--tfs", type=int, default=100)
    parser.add_argument("--before", default="7cfe983", help="commit to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = checkout(args.before, Path(tmp) / "before")
        versions = {args.before: before, "now": ROOT} if before else {"now": ROOT}
        print(f"evidence of one gene, {args.tfs} TFs, 8 groups; seconds: gene 1 (draws) / best of genes 2-4")
        for n in args.metacells:
            best = {v: (float("inf"), float("inf")) for v in versions}
            for _ in range(args.rounds):
                for name, src in versions.items():
                    first, later = timed(src, n, args.tfs, Path(tmp) / f"{name}.npy")
                    best[name] = (min(best[name][0], first), min(best[name][1], later))
            line = "  ".join(f"{name} {f:.3f} / {s:.3f}" for name, (f, s) in best.items())
            if before:
                old, new = np.load(Path(tmp) / f"{args.before}.npy"), np.load(Path(tmp) / "now.npy")
                scale = np.nanmax(np.abs(old), axis=1, keepdims=True)
                gap = "same numbers" if np.array_equal(old, new, equal_nan=True) else (
                    f"apart by {np.nanmax(np.abs(new - old) / scale):.1e} of the largest")
                ratio = best[args.before][1] / best["now"][1]
                line += f"  (genes 2-4 x{ratio:.2f}; {gap})"
            print(f"  {n:7,d} metacells: {line}")


if __name__ == "__main__":
    main()
