"""A results folder in the tutorial's layout, written atomically and safe for concurrent sessions.

Per gene: ``<GENE>.npy`` (attributions, metacells x TFs), ``<GENE>.csv`` (TF -> gene
table) and ``<GENE>.json`` (TF order, metacell ids, how it was computed: what
re-aggregation needs). ``tf_to_gene.csv`` concatenates the tables the tutorial's way
(pandas' default index). A folder made by the tutorial itself (CSV files, perhaps only
``tf_to_gene.csv``) reads too.

Edge evidence (``ci_low, ci_high, p_value, q_value``, :mod:`~cell2net_core.stats`) follows
the tutorial's columns when the tables were built from ``.npy`` files. ``q_value`` is
Benjamini-Hochberg over the rows of the table it sits in: a ``<GENE>.csv`` over that gene's
rows, ``tf_to_gene.csv`` (and :meth:`ResultStore.table`) over all rows.

With ``attribute --peaks``: ``<GENE>.peaks.npy`` (metacells x peaks, ``peak_to_gene`` order),
``<GENE>.peaks.json`` (peak and metacell order, how it was computed) and ``peak_to_gene.csv``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .aggregate import group_column
from .errors import Cell2NetInputError
from .files import Staged, atomic_write, stage
from .stats import add_q_values

if TYPE_CHECKING:  # torch and captum load when attributions are read, not with the store
    from .attribution import Attribution
    from .peaks import PeakAttribution

__all__ = [
    "ResultStore",
    "GeneFiles",
    "gene_files",
    "atomic_write",
    "check_gene_name",
    "read_network_table",
    "CONSOLIDATED",
    "PEAK_TABLE",
]

CONSOLIDATED = "tf_to_gene.csv"
PEAK_TABLE = "peak_to_gene.csv"
PEAKS = ".peaks"  # <GENE>.peaks.npy / <GENE>.peaks.json: peak attributions, not a gene of their own
#: Gene names whose files would overwrite the folder's own files (compared case-insensitively).
RESERVED = frozenset({Path(CONSOLIDATED).stem, Path(PEAK_TABLE).stem, "known_agreement"})
MAX_NAME_BYTES = 200
_CONSOLIDATED_LOCK = ".consolidated"  # no gene name starts with a dot


def check_gene_name(gene: object, *, folder: str | os.PathLike = ".") -> str:
    """``gene`` if it can name files in a results folder; else :class:`Cell2NetInputError`.

    Refused: empty names, names starting with a dot, names holding ``/``, ``\\``, NUL or
    another control character, names over 200 bytes (UTF-8) and reserved names such as
    ``tf_to_gene`` (whose ``.csv`` would overwrite the consolidated table).

    Examples
    --------
    >>> check_gene_name("MS4A1")
    'MS4A1'
    >>> check_gene_name("../../escaped", folder="out")
    Traceback (most recent call last):
    ...
    cell2net_core.errors.Cell2NetInputError: gene name '../../escaped' cannot name a file in 'out': ...
    """
    why = None
    if not isinstance(gene, str) or not gene:
        why = "it is empty or not text"
    elif gene.startswith(".") or any(c in gene for c in "/\\") or any(ord(c) < 32 or ord(c) == 127 for c in gene):
        why = "it starts with a dot or holds a slash, a backslash or a control character (NUL, tab, newline, ...)"
    elif len(gene.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        why = f"it is longer than {MAX_NAME_BYTES} bytes"
    elif gene.casefold() in RESERVED:
        why = f"{CONSOLIDATED!r} is the folder's consolidated table"
    if why:
        msg = f"gene name {gene!r} cannot name a file in {str(folder)!r}: {why}; rename the gene in the dataset."
        raise Cell2NetInputError(msg)
    return gene


def read_network_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a TF -> gene CSV (ours or the tutorial's, whose first column is an unnamed index).

    Parameters
    ----------
    path
        ``tf_to_gene.csv`` or a ``<GENE>.csv``; columns ``tf, gene, <group>, mean_attr, std_attr``
        (``n_metacells`` is added, empty, when absent).

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.testing import random_table
    >>> path = f"{tempfile.mkdtemp()}/tf_to_gene.csv"
    >>> random_table(n_genes=2, top=3).to_csv(path)  # with pandas' index, as the tutorial writes it
    >>> read_network_table(path).columns.tolist()
    ['tf', 'gene', 'cell_type_v2', 'mean_attr', 'std_attr', 'n_metacells']
    """
    return _checked_table(Path(path), Path(path))


def _checked_table(source: Path | io.StringIO, path: Path | str) -> pd.DataFrame:
    """:func:`read_network_table` of ``source`` (a file or its text); messages name ``path``."""
    try:
        table = pd.read_csv(source)
    except Exception as e:  # pandas raises many types for a bad file
        msg = f"Cannot read {str(path)!r} as a CSV table: {type(e).__name__}: {e}"
        raise Cell2NetInputError(msg) from e
    table = table.drop(columns=[c for c in table.columns if str(c).startswith("Unnamed:")])
    missing = [c for c in ("tf", "gene", "mean_attr", "std_attr") if c not in table.columns]
    if missing:
        msg = f"{str(path)!r} lacks column(s) {missing}; expected tf, gene, <group>, mean_attr, std_attr."
        raise Cell2NetInputError(msg)
    try:
        group_column(table)
    except Cell2NetInputError as e:
        msg = f"{str(path)!r}: {e}"
        raise Cell2NetInputError(msg) from e
    if "n_metacells" not in table.columns:
        table["n_metacells"] = pd.NA
    for col in ("mean_attr", "std_attr"):
        if not pd.api.types.is_numeric_dtype(table[col]):
            msg = f"{str(path)!r}: column {col!r} is not numeric."
            raise Cell2NetInputError(msg)
    table["tf"] = table["tf"].astype(str)
    table["gene"] = table["gene"].astype(str)
    return table


def _read_tables(csvs: list[Path]) -> list[pd.DataFrame]:
    """:func:`read_network_table` of each file; files that share one header are parsed as one text.

    One ``read_csv`` over the joined rows instead of one per file (a folder of 200 genes: 0.25 ->
    0.035 s on the 2-core VM); where that fails or headers differ, each file is read alone, so a message
    names the bad file.
    """
    joined = _joined(csvs) if len(csvs) > 1 else None
    if joined is not None:  # each file's own index
        return [joined[2].set_axis(np.concatenate([np.arange(len(lines)) for lines in joined[1]]))]
    return [read_network_table(p) for p in csvs]


def _joined(csvs: list[Path]) -> tuple[str, list[list[str]], pd.DataFrame] | None:
    """The files' shared header, each file's lines after it, and all of them parsed as one table (with
    :func:`read_network_table`'s checks); ``None`` when the headers differ, the text does not parse, or a
    quoted line break makes lines and rows differ."""
    texts = [p.read_text(encoding="utf-8") for p in csvs]
    headers = {t.partition("\n")[0] for t in texts}
    if len(headers) != 1:
        return None
    header = headers.pop()
    bodies = [body.removesuffix("\n").split("\n") if body else [] for body in (t.partition("\n")[2] for t in texts)]
    try:
        table = _checked_table(io.StringIO(header + "\n" + "".join(f"{line}\n" for b in bodies for line in b)),
                               csvs[0].parent)  # fmt: skip
    except Cell2NetInputError:
        return None
    return (header, bodies, table) if len(table) == sum(map(len, bodies)) else None


def _spliced(csvs: list[Path]) -> str | None:
    """``tf_to_gene.csv``'s text made of the per-gene CSVs' own lines, with each file's row index in front and
    ``q_value`` recomputed over all rows (Benjamini-Hochberg); ``None`` unless the files share one plain header
    ending ``p_value,q_value`` and parse as one table (then pandas reads and writes the table instead).

    The same table as parsing the files and writing them again, with every number as the gene's own file
    has it: pandas' float parser rounds ~17-digit numbers to a neighbouring double now and then, so the
    text written again would differ in the last digits. Writing 16,000 rows: 0.19 -> 0.07 s.
    """
    joined = _joined(csvs)
    if joined is None:
        return None
    header, bodies, table = joined
    fields = header.split(",")
    plain = all(f and not f.startswith("Unnamed") and '"' not in f for f in fields)
    if not plain or fields[-2:] != ["p_value", "q_value"] or "n_metacells" not in fields:
        return None
    q = add_q_values(table[["p_value"]])["q_value"].to_numpy()
    q_text = ["" if x != x else repr(x) for x in q.tolist()]  # as pandas writes floats; a third faster than astype(str)
    lines = ((j, line) for body in bodies for j, line in enumerate(body))
    rows = (f"{j},{line.rsplit(',', 1)[0]},{qt}\n" for (j, line), qt in zip(lines, q_text, strict=True))
    return f",{header}\n" + "".join(rows)


@dataclass(frozen=True)
class GeneFiles:
    """One gene's result files as :meth:`ResultStore.save` writes them: ``(suffix, content)`` in write order."""

    gene: str
    contents: tuple[tuple[str, bytes | str], ...]


def gene_files(attribution: Attribution, table: pd.DataFrame, *, meta: dict[str, Any] | None = None) -> GeneFiles:
    """The ``.npy``, ``.json`` and ``.csv`` of one gene, rendered (no file touched): where the gene is computed,
    so whoever writes them (the Ray driver) only writes.

    Examples
    --------
    >>> from cell2net_core.testing import random_attribution, random_dataset
    >>> files = gene_files(random_attribution(random_dataset(n_metacells=8), "GENE0"), pd.DataFrame({"tf": ["A"]}))
    >>> files.gene, [suffix for suffix, _ in files.contents], files.contents[2][1]
    ('GENE0', ['.npy', '.json', '.csv'], 'tf\\nA\\n')
    """
    info = {
        "gene": attribution.gene,
        "tfs": attribution.tfs,
        "obs_names": attribution.obs_names,
        "method": attribution.method,
        "n_steps": attribution.n_steps,
        "max_relative_gap": attribution.max_relative_gap(),
        **(meta or {}),
    }
    buf = io.BytesIO()
    np.save(buf, attribution.attr.astype(np.float32))
    text = table.to_csv(index=False)
    info["table_sha256"] = _sha256(text)  # with ``meta``'s ``table_made_with``: ResultStore.current_table
    return GeneFiles(info["gene"], ((".npy", buf.getvalue()), (".json", json.dumps(info)), (".csv", text)))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ResultStore:
    """A results folder: one gene's attributions and table per file set, plus the consolidated table.

    Parameters
    ----------
    path
        The folder; created on the first write.

    Examples
    --------
    >>> import tempfile
    >>> from cell2net_core.aggregate import regroup
    >>> from cell2net_core.testing import random_attribution, random_dataset
    >>> mdata = random_dataset(n_metacells=16)
    >>> attribution = random_attribution(mdata, "GENE1")
    >>> store = ResultStore(tempfile.mkdtemp())
    >>> store.save(attribution, regroup(attribution, mdata))
    >>> store.genes(), store.load("GENE1").attr.shape == attribution.attr.shape
    (['GENE1'], True)
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r})"

    def _file(self, gene: str, suffix: str) -> Path:
        return self.path / f"{check_gene_name(gene, folder=self.path)}{suffix}"

    def genes(self, *, table: pd.DataFrame | None = None) -> list[str]:
        """Genes with results: per-gene CSV or NPY files and every gene of ``tf_to_gene.csv``.

        Parameters
        ----------
        table
            This folder's :meth:`table`, already read: its genes are used instead of reading
            ``tf_to_gene.csv`` again (a tutorial's holds 154,160 rows).

        Examples
        --------
        >>> import tempfile
        >>> from cell2net_core.testing import random_table
        >>> store = ResultStore(tempfile.mkdtemp())
        >>> random_table(n_genes=2, top=3).to_csv(store.path / "tf_to_gene.csv")
        >>> store.genes(), store.genes(table=store.table()) == store.genes()
        (['GENE0', 'GENE1'], True)
        """
        if not self.path.is_dir():
            return []
        npys = {p.stem for p in self.path.glob("*.npy") if not p.stem.endswith(PEAKS)}
        found = {p.stem for p in self._gene_csvs()} | npys
        if table is not None:
            found |= set(table["gene"].astype(str).unique())
        elif (self.path / CONSOLIDATED).is_file():
            found |= set(read_network_table(self.path / CONSOLIDATED)["gene"].unique())
        return sorted(found)

    def attributed_genes(self) -> list[str]:
        """Genes whose per-metacell attributions are stored (``<GENE>.npy``), sorted.

        Examples
        --------
        >>> import tempfile
        >>> ResultStore(tempfile.mkdtemp()).attributed_genes()
        []
        """
        return sorted(p.stem for p in self.path.glob("*.npy")) if self.path.is_dir() else []

    def has(self, gene: str) -> bool:
        """Whether the gene's per-metacell attributions are stored (``<GENE>.npy``)."""
        return self._file(gene, ".npy").is_file()

    def meta(self, gene: str) -> dict[str, Any]:
        """How the gene was computed (``<GENE>.json``); empty for a tutorial's results."""
        path = self._file(gene, ".json")
        if not path.is_file():
            return {}
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            msg = f"Cannot read {str(path)!r} as JSON: {e}; delete it to recompute gene {gene!r}."
            raise Cell2NetInputError(msg) from e
        lists = ("tfs", "obs_names", "covariates")
        if not isinstance(info, dict) or any(not isinstance(info.get(k, []), list) for k in lists):
            msg = (
                f"{str(path)!r} holds {type(info).__name__} {str(info)[:60]!r}; expected an object with lists "
                f"{', '.join(lists)} (what this program writes): delete it to recompute gene {gene!r}."
            )
            raise Cell2NetInputError(msg)
        return info

    def save(self, attribution: Attribution, table: pd.DataFrame, *, meta: dict[str, Any] | None = None) -> None:
        """Store one gene: ``.npy``, ``.json`` then ``.csv``, each atomically."""
        self.stage(attribution, table, meta=meta).commit()

    def stage(self, attribution: Attribution, table: pd.DataFrame, *, meta: dict[str, Any] | None = None) -> Staged:
        """:meth:`save`'s files written to temporary names; its :meth:`~cell2net_core.files.Staged.commit` puts
        them in place (as :meth:`save` does), e.g. in a writer thread while the next gene computes."""
        return self.stage_files(gene_files(attribution, table, meta=meta))

    def stage_files(self, files: GeneFiles) -> Staged:
        """:meth:`stage` of files rendered elsewhere (:func:`gene_files`, e.g. in a Ray worker)."""
        return stage([(self._file(files.gene, suffix), content) for suffix, content in files.contents])

    def save_table(
        self, gene: str, table: pd.DataFrame, *, made_with: dict[str, Any] | None = None, meta: dict | None = None
    ) -> None:
        """Write ``<GENE>.csv`` (tutorial layout, no index), atomically; then, given ``made_with`` and when the
        gene has our ``.json`` (``meta``, read when not given), record there what the table was made with and
        its hash (for :meth:`current_table`).

        The ``.json`` is written second, so a run killed between the two leaves a hash that does not
        match the new CSV: the table is then made again, never taken for what it is not. Without
        ``made_with`` the record is left as it is: its hash no longer matches either.
        """
        text = table.to_csv(index=False)
        atomic_write(self._file(gene, ".csv"), text)
        info = self.meta(gene) if meta is None else meta
        if info and made_with is not None:
            record = {"table_made_with": made_with, "table_sha256": _sha256(text)}
            atomic_write(self._file(gene, ".json"), json.dumps(info | record))

    def current_table(
        self, gene: str, made_with: dict[str, Any] | None, *, meta: dict | None = None
    ) -> pd.DataFrame | None:
        """The gene's stored table if its ``.json`` (``meta``, read when not given) says it was made with
        ``made_with`` and the CSV is the one it describes (same SHA-256); else ``None`` (the table must be
        made again from the attributions).

        ``made_with`` ``None`` (a table that depends on more than its settings) is never current.
        """
        info = self.meta(gene) if meta is None else meta
        path = self._file(gene, ".csv")
        if made_with is None or info.get("table_made_with") != made_with or not path.is_file():
            return None
        text = path.read_bytes().decode(errors="replace")  # as written: read_text would translate line ends
        return _checked_table(io.StringIO(text), path) if _sha256(text) == info.get("table_sha256") else None

    def load(self, gene: str, *, tfs: list[str] | None = None, obs_names: list[str] | None = None) -> Attribution:
        """The gene's stored attributions.

        For a tutorial's ``<GENE>.npy`` (no ``.json``) give ``tfs`` and ``obs_names``
        (from :func:`~cell2net_core.data.gene_tfs` and the dataset).
        """
        path = self._file(gene, ".npy")
        if not path.is_file():
            msg = f"No stored attributions for gene {gene!r}: {str(path)!r} does not exist."
            raise Cell2NetInputError(msg)
        try:
            attr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            msg = f"Cannot read {str(path)!r} as a numpy array: {e}"
            raise Cell2NetInputError(msg) from e
        info = self.meta(gene)
        tfs = info.get("tfs", tfs)
        obs_names = info.get("obs_names", obs_names)
        if tfs is None or obs_names is None:
            msg = f"{str(path)!r} has no {gene}.json with its TF order; open it with its dataset."
            raise Cell2NetInputError(msg)
        if attr.shape != (len(obs_names), len(tfs)):
            msg = (
                f"{str(path)!r} holds an array of shape {attr.shape}; expected "
                f"({len(obs_names)} metacells, {len(tfs)} TFs) for gene {gene!r}."
            )
            raise Cell2NetInputError(msg)
        from .attribution import Attribution

        nan = np.full(len(attr), np.nan)
        return Attribution(
            gene=gene,
            attr=attr,
            gap=nan,
            delta=nan,
            tfs=list(tfs),
            obs_names=list(obs_names),
            method=info.get("method", "unknown"),
            n_steps=info.get("n_steps"),
        )

    def save_peaks(self, attribution: PeakAttribution, *, meta: dict[str, Any] | None = None) -> None:
        """Store one gene's peak attributions: ``<GENE>.peaks.npy`` then ``<GENE>.peaks.json``."""
        info = {
            "gene": attribution.gene,
            "peaks": attribution.peaks,
            "obs_names": attribution.obs_names,
            "n_steps": attribution.n_steps,
            **(meta or {}),
        }
        buf = io.BytesIO()
        np.save(buf, attribution.attr.astype(np.float32))
        atomic_write(self._file(attribution.gene, f"{PEAKS}.npy"), buf.getvalue())
        atomic_write(self._file(attribution.gene, f"{PEAKS}.json"), json.dumps(info))

    def peak_genes(self) -> list[str]:
        """Genes with stored peak attributions (``<GENE>.peaks.npy`` and its ``.json``)."""
        if not self.path.is_dir():
            return []
        stems = [p.name[: -len(f"{PEAKS}.npy")] for p in self.path.glob(f"*{PEAKS}.npy")]
        return sorted(g for g in stems if self._file(g, f"{PEAKS}.json").is_file())

    def peaks_meta(self, gene: str) -> dict[str, Any]:
        """How the gene's peak attributions were computed; empty when there are none."""
        path = self._file(gene, f"{PEAKS}.json")
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as e:
            msg = f"Cannot read {str(path)!r} as JSON: {e}; delete it to recompute gene {gene!r}'s peaks."
            raise Cell2NetInputError(msg) from e

    def load_peaks(self, gene: str) -> PeakAttribution:
        """The gene's stored peak attributions."""
        path, info = self._file(gene, f"{PEAKS}.npy"), self.peaks_meta(gene)
        try:
            attr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            msg = f"Cannot read {str(path)!r} as a numpy array: {e}; recompute with attribute --peaks --force."
            raise Cell2NetInputError(msg) from e
        peaks, obs_names = info.get("peaks", []), info.get("obs_names", [])
        if attr.shape != (len(obs_names), len(peaks)):
            msg = f"{str(path)!r} holds shape {attr.shape}; its .json names {len(obs_names)} x {len(peaks)}."
            raise Cell2NetInputError(msg)
        from .peaks import PeakAttribution

        nan = np.full(len(attr), np.nan)
        return PeakAttribution(gene=gene, attr=attr, gap=nan, peaks=peaks, obs_names=obs_names,
                               n_steps=info.get("n_steps", 0))  # fmt: skip

    def write_peak_table(self, table: pd.DataFrame) -> Path:
        """Write ``peak_to_gene.csv`` (no index), q recomputed over all its rows."""
        with self.lock(PEAK_TABLE):
            return atomic_write(self.path / PEAK_TABLE, add_q_values(table).to_csv(index=False))

    def peak_table(self) -> pd.DataFrame | None:
        """``peak_to_gene.csv``, or ``None`` when peaks were not attributed."""
        path = self.path / PEAK_TABLE
        if not path.is_file():
            return None
        try:
            return pd.read_csv(path)
        except Exception as e:  # pandas raises many types for a bad file
            msg = f"Cannot read {str(path)!r} as a CSV table: {type(e).__name__}: {e}"
            raise Cell2NetInputError(msg) from e

    def gene_table(self, gene: str) -> pd.DataFrame:
        """The gene's TF -> gene table (``<GENE>.csv``, else its rows of ``tf_to_gene.csv``)."""
        path = self._file(gene, ".csv")
        if path.is_file():
            return read_network_table(path)
        consolidated = self.path / CONSOLIDATED
        table = read_network_table(consolidated) if consolidated.is_file() else self.table()
        rows = table[table["gene"] == gene].reset_index(drop=True)
        if rows.empty:
            msg = f"No results for gene {gene!r} in {str(self.path)!r}."
            raise Cell2NetInputError(msg)
        return rows

    def _gene_csvs(self) -> list[Path]:
        """Per-gene tables: CSV files other than ``tf_to_gene.csv`` whose header starts ``tf,gene,``."""
        out = []
        for p in sorted(self.path.glob("*.csv")):
            if p.name != CONSOLIDATED:
                with open(p, encoding="utf-8", errors="replace") as fh:
                    if fh.readline().startswith("tf,gene,"):
                        out.append(p)
        return out

    def table(self) -> pd.DataFrame:
        """The whole TF -> gene table.

        ``tf_to_gene.csv`` when it is at least as new as every per-gene CSV, else the
        per-gene CSVs concatenated.
        """
        if not self.path.is_dir():
            msg = f"Results folder {str(self.path)!r} does not exist."
            raise Cell2NetInputError(msg)
        consolidated = self.path / CONSOLIDATED
        csvs = self._gene_csvs()
        newest = max((p.stat().st_mtime for p in csvs), default=-1.0)
        if consolidated.is_file() and consolidated.stat().st_mtime >= newest:
            return read_network_table(consolidated)
        if not csvs:
            msg = f"Results folder {str(self.path)!r} holds no {CONSOLIDATED} and no <GENE>.csv file."
            raise Cell2NetInputError(msg)
        return self._concat(csvs).reset_index(drop=True)

    def _concat(self, csvs: list[Path]) -> pd.DataFrame:
        """Per-gene CSVs, after the rows of ``tf_to_gene.csv`` whose gene has no CSV (a tutorial's, kept)."""
        tables = _read_tables(csvs)
        consolidated = self.path / CONSOLIDATED
        if consolidated.is_file():
            old = read_network_table(consolidated)
            kept = old[~old["gene"].isin({p.stem for p in csvs})]
            if len(kept):
                tables.insert(0, kept)
        groups = {group_column(t) for t in tables}
        if len(groups) > 1:
            msg = (
                f"Tables in {str(self.path)!r} use different grouping columns {sorted(map(str, groups))} "
                f"({CONSOLIDATED} keeps genes that have no <GENE>.csv); attribute with the same --groupby, "
                "or into another results folder."
            )
            raise Cell2NetInputError(msg)
        return add_q_values(pd.concat(tables))

    def write_consolidated(self) -> Path:
        """Rewrite ``tf_to_gene.csv`` from the per-gene CSVs (index as the tutorial writes it), q over all rows.

        Rows of genes that have no ``<GENE>.csv`` (a tutorial's table) are kept, first.
        """
        with self.lock(_CONSOLIDATED_LOCK):
            csvs = self._gene_csvs()
            if not csvs:
                msg = f"Results folder {str(self.path)!r} holds no <GENE>.csv to consolidate."
                raise Cell2NetInputError(msg)
            text = _spliced(csvs) if not self._keeps_rows(csvs) else None
            return atomic_write(self.path / CONSOLIDATED, text if text is not None else self._concat(csvs).to_csv())

    def _keeps_rows(self, csvs: list[Path]) -> bool:
        """Whether ``tf_to_gene.csv`` holds rows of a gene that has no ``<GENE>.csv`` (or cannot be read to tell)."""
        consolidated = self.path / CONSOLIDATED
        if not consolidated.is_file():
            return False
        try:
            genes = pd.read_csv(consolidated, usecols=["gene"], dtype=str)["gene"]
        except Exception:  # pandas raises many types for a bad file: _concat names the problem
            return True
        return not set(genes).issubset({p.stem for p in csvs})

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold an exclusive lock on ``name`` (a gene, checked as a file name) across processes and threads."""
        if name != _CONSOLIDATED_LOCK:
            check_gene_name(name, folder=self.path)
        locks = self.path / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{name}.lock", "a") as fh:  # never truncates
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
