"""Attribution runs in a background thread, so the page stays live and can stop between genes."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cell2net_core.errors import Cell2NetInputError
from cell2net_core.settings import Settings
from cell2net_core.store import ResultStore

if TYPE_CHECKING:  # the pipeline (torch, captum) loads when a job starts, not with the page
    import mudata as md

    from cell2net_core.pipeline import GeneResult


@dataclass
class Job:
    """One ``attribute_genes`` call: its progress, outcome and stop flag (no Streamlit inside)."""

    genes: list[str]
    index: int = 0
    gene: str = ""
    fraction: float = 0.0
    overall: float = 0.0
    done: bool = False
    error: str | None = None
    results: list[GeneResult] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    started: float = field(default_factory=time.monotonic)

    def progress(self, index: int, n_genes: int, gene: str, fraction: float) -> None:
        """``attribute_genes`` progress callback."""
        self.index, self.gene, self.fraction = index, gene, fraction
        done = index if fraction >= 1.0 and index > 0 else index + fraction
        self.overall = max(self.overall, min(done / max(n_genes, 1), 1.0))

    def eta(self) -> str:
        """Time left, extrapolated from the time so far and the overall fraction done.

        Examples
        --------
        >>> Job(genes=["A"]).eta()
        'estimating time left'
        """
        elapsed = time.monotonic() - self.started
        if self.overall <= 0.02 or elapsed < 1.0:
            return "estimating time left"
        left = elapsed * (1 - self.overall) / self.overall
        return f"about {left / 60:.0f} min left" if left >= 90 else f"about {left:.0f} s left"

    def stopped_early(self) -> bool:
        """Whether a stop request left genes undone."""
        return self.stop.is_set() and len(self.results) < len(self.genes)


def start(mdata: md.MuData, genes: list[str], *, model_dir: Path, out_dir: Path, settings: Settings) -> Job:
    """Start attributing ``genes`` with ``settings`` in a daemon thread."""
    from cell2net_core.pipeline import attribute_genes

    job = Job(genes=list(genes))

    def work() -> None:
        try:
            job.results = attribute_genes(
                mdata, job.genes, model_dir=model_dir, out_dir=out_dir,
                settings=settings, progress=job.progress, should_stop=job.stop.is_set,
            )
        except Cell2NetInputError as e:
            job.error = str(e)
        except Exception as e:  # shown as a message, never as a traceback
            job.error = f"Attribution failed: {type(e).__name__}: {e}"
        finally:
            job.done = True

    job.thread = threading.Thread(target=work, name="cell2net-attribution", daemon=True)
    job.thread.start()
    return job


def start_peaks(mdata: md.MuData, gene: str, *, model_dir: Path, out_dir: Path, settings: Settings) -> Job:
    """Compute one gene's peak attributions (``<GENE>.peaks.npy``) in a daemon thread, then rewrite
    ``peak_to_gene.csv``; the same :class:`Job` fields report progress and the outcome."""
    from cell2net_core.pipeline import GeneResult, attribute_gene_peaks, peak_table

    job = Job(genes=[gene])

    def work() -> None:
        store = ResultStore(out_dir)
        try:
            with store.lock(gene):
                attribute_gene_peaks(mdata, gene, model_dir=model_dir, store=store, settings=settings,
                                     progress=lambda done, total: job.progress(0, 1, gene, done / max(total, 1)))
            store.write_peak_table(peak_table(store, mdata, groupby=settings.groupby))
            job.results = [GeneResult(gene, "computed")]
        except Cell2NetInputError as e:
            job.error = str(e)
        except Exception as e:  # shown as a message, never as a traceback
            job.error = f"Peak attribution failed: {type(e).__name__}: {e}"
        finally:
            job.progress(1, 1, gene, 1.0)
            job.done = True

    job.thread = threading.Thread(target=work, name="cell2net-peaks", daemon=True)
    job.thread.start()
    return job
