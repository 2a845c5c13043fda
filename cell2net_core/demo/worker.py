"""Worker process of the demo build: train some genes, one line ``done GENE`` per gene on stdout.

Run as ``python -m cell2net_core.demo.worker MDATA MODEL_DIR EPOCHS LR GENE:SEED ...``.
A plain subprocess (not multiprocessing) so that it works whatever the parent's
``__main__`` is (a notebook, Streamlit, stdin).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch


def main(argv: list[str]) -> int:
    """Train the genes named on the command line and save their checkpoints."""
    from ..data import read_dataset
    from ..model import save_checkpoint
    from .train import train

    torch.set_num_threads(1)
    mdata_path, model_dir, epochs, lr, *jobs = argv
    mdata = read_dataset(mdata_path)
    for job in jobs:
        gene, seed = job.rsplit(":", 1)
        r = train(mdata, gene, max_epochs=int(epochs), lr=float(lr), seed=int(seed), device="cpu")
        save_checkpoint(r.module, Path(model_dir) / f"{gene}.pt", history=r.history, results=r.results)
        print(f"done {gene} {r.best_epoch} {r.best_valid_corr:.4f} {r.seconds:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
