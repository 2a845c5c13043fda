"""The demo's planted regulatory program: PBMC cell types, lineage TFs, marker genes.

Targets are real PBMC markers; each is driven by lineage TFs known from the literature
(e.g. PAX5/EBF1 in B cells, SPI1/CEBP in monocytes, TBX21/EOMES in NK and effector
T cells, TCF7/LEF1 in naive T cells, IRF4/IRF8 in cDC, TCF4/SPIB in pDC) and a few
are held down by repressors (PRDM1 in effector T cells, BACH2 in naive and memory T
cells, NFIL3 in monocytes). Every TF name is in JASPAR 2024 CORE vertebrates.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CELL_TYPES", "COARSE", "SHARES", "TF_PROFILES", "TARGETS", "Target"]

CELL_TYPES = ("B cell", "Effector T", "Memory T", "Monocyte", "NK", "Naive T", "cDC", "pDC")
COARSE = {
    "B cell": "B",
    "Effector T": "T",
    "Memory T": "T",
    "Naive T": "T",
    "NK": "NK",
    "Monocyte": "Myeloid",
    "cDC": "Myeloid",
    "pDC": "pDC",
}
# share of metacells per type (PBMC-like, small types kept large enough to learn from)
SHARES = {
    "B cell": 0.13,
    "Effector T": 0.11,
    "Memory T": 0.14,
    "Monocyte": 0.22,
    "NK": 0.11,
    "Naive T": 0.17,
    "cDC": 0.06,
    "pDC": 0.06,
}

# expression of each planted TF per cell type, relative to its full level (1.0)
TF_PROFILES: dict[str, dict[str, float]] = {
    "PAX5": {"B cell": 1.0},
    "EBF1": {"B cell": 1.0},
    "POU2F2": {"B cell": 1.0, "Monocyte": 0.3},
    "SPIB": {"B cell": 0.6, "pDC": 1.0},
    "SPI1": {"Monocyte": 1.0, "cDC": 0.8, "B cell": 0.3},
    "CEBPA": {"Monocyte": 0.8, "cDC": 0.7},
    "CEBPB": {"Monocyte": 1.0, "cDC": 0.3},
    "CEBPD": {"Monocyte": 1.0},
    "KLF4": {"Monocyte": 1.0},
    "MAFB": {"Monocyte": 1.0},
    "TBX21": {"NK": 1.0, "Effector T": 0.8, "Memory T": 0.3},
    "EOMES": {"NK": 0.8, "Effector T": 1.0, "Memory T": 0.3},
    "RUNX3": {"NK": 1.0, "Effector T": 1.0, "Memory T": 0.5},
    "TCF7": {"Naive T": 1.0, "Memory T": 0.8, "Effector T": 0.6},
    "LEF1": {"Naive T": 1.0, "Memory T": 0.5, "Effector T": 0.3},
    "GATA3": {"Memory T": 1.0, "Naive T": 0.6, "Effector T": 0.4},
    "KLF2": {"Naive T": 1.0, "Memory T": 0.7, "Effector T": 0.4, "B cell": 0.3},
    "IRF4": {"cDC": 1.0, "B cell": 0.3},
    "IRF8": {"pDC": 1.0, "cDC": 0.8, "Monocyte": 0.6},
    "TCF4": {"pDC": 1.0, "B cell": 0.2},
    "RUNX2": {"pDC": 1.0},
    "PRDM1": {"Effector T": 1.0, "NK": 0.5},
    "BACH2": {"Naive T": 1.0, "Memory T": 0.8, "B cell": 0.5},
    "NFIL3": {"Monocyte": 1.0, "NK": 0.4},
}


@dataclass(frozen=True)
class Target:
    """A marker gene, its activators, repressors and decoys (motif in its peaks, no effect)."""

    gene: str
    activators: tuple[str, ...]
    repressors: tuple[str, ...] = ()
    decoys: tuple[str, ...] = ()


# ordered so that any prefix covers the lineages evenly
TARGETS: tuple[Target, ...] = (
    Target("MS4A1", ("PAX5", "EBF1"), decoys=("SPIB", "CEBPB")),
    Target("CD14", ("SPI1", "CEBPB"), decoys=("KLF4", "TBX21")),
    Target("NKG7", ("TBX21", "RUNX3"), decoys=("GATA3",)),
    Target("CCR7", ("TCF7", "LEF1"), ("PRDM1",), decoys=("KLF2",)),
    Target("FCER1A", ("IRF4", "SPI1"), ("NFIL3",), decoys=("CEBPD",)),
    Target("LILRA4", ("TCF4", "IRF8"), decoys=("SPIB",)),
    Target("CD79A", ("EBF1", "POU2F2"), decoys=("PAX5",)),
    Target("LYZ", ("SPI1", "CEBPA"), decoys=("MAFB",)),
    Target("GNLY", ("TBX21", "EOMES"), decoys=("RUNX3",)),
    Target("IL7R", ("GATA3", "TCF7"), decoys=("LEF1",)),
    Target("CD1C", ("IRF4", "IRF8"), ("NFIL3",), decoys=("SPI1",)),
    Target("IL3RA", ("TCF4", "RUNX2"), decoys=("IRF8",)),
    Target("CD79B", ("PAX5", "SPIB"), decoys=("EBF1",)),
    Target("S100A8", ("CEBPB", "CEBPD"), decoys=("SPI1",)),
    Target("KLRD1", ("EOMES", "RUNX3"), decoys=("TBX21",)),
    Target("SELL", ("KLF2", "LEF1"), ("PRDM1",), decoys=("TCF7",)),
    Target("CLEC10A", ("IRF4", "CEBPA"), ("NFIL3",), decoys=("IRF8",)),
    Target("CLEC4C", ("TCF4", "SPIB"), decoys=("RUNX2",)),
    Target("BANK1", ("PAX5", "POU2F2"), decoys=("IRF4",)),
    Target("S100A9", ("CEBPD", "KLF4"), decoys=("CEBPA",)),
    Target("PRF1", ("TBX21", "EOMES"), decoys=("PRDM1",)),
    Target("GZMK", ("EOMES", "RUNX3"), ("BACH2",), decoys=("TBX21",)),
    Target("GZMB", ("RUNX3", "TBX21"), decoys=("EOMES",)),
    Target("CD8A", ("RUNX3",), decoys=("GATA3",)),
    Target("FCN1", ("SPI1", "KLF4"), decoys=("CEBPB",)),
    Target("CD19", ("PAX5", "EBF1"), decoys=("POU2F2",)),
    Target("CD27", ("TCF7",), decoys=("GATA3",)),
    Target("CCL5", ("TBX21", "RUNX3"), decoys=("EOMES",)),
    Target("VCAN", ("CEBPB", "KLF4"), decoys=("MAFB",)),
    Target("CD3E", ("TCF7", "GATA3"), decoys=("RUNX3",)),
    Target("BLK", ("PAX5", "EBF1"), decoys=("SPIB",)),
    Target("CSF1R", ("SPI1", "MAFB"), decoys=("CEBPA",)),
    Target("GZMH", ("TBX21", "EOMES"), decoys=("RUNX3",)),
    Target("LTB", ("LEF1", "KLF2"), decoys=("TCF7",)),
    Target("CD68", ("SPI1", "MAFB"), decoys=("KLF4",)),
    Target("KLRF1", ("EOMES", "TBX21"), decoys=("NFIL3",)),
    Target("TCL1A", ("POU2F2", "EBF1"), decoys=("PAX5",)),
    Target("FCGR3A", ("TBX21",), decoys=("RUNX3",)),
    Target("MAL", ("LEF1", "GATA3"), decoys=("TCF7",)),
    Target("PLD4", ("IRF8", "RUNX2"), decoys=("TCF4",)),
    Target("S1PR1", ("KLF2",), decoys=("LEF1",)),
    Target("CST3", ("SPI1", "IRF8"), decoys=("CEBPA",)),
)

#: TFs commonly expressed in blood immune cells (ETS, AP-1, IRF, STAT, NF-kB, KLF, nuclear
#: receptors ...): the demo's TFs beyond the planted ones come from here first, so that hubs
#: and decoys look like a PBMC dataset's, not like developmental regulators.
BLOOD_TFS = tuple(
    """
    ATF1 ATF2 ATF3 ATF4 ATF6 ATF7 ARNT BACH1 BACH2 BATF BATF3 BCL6 BCL11A BCL11B BHLHE40 BHLHE41
    CEBPA CEBPB CEBPD CEBPE CEBPG CREB1 CREB3 CREB3L2 CREM CTCF CUX1 E2F1 E2F4 E2F6 EBF1 EGR1 EGR2
    EGR3 ELF1 ELF2 ELF4 ELK1 ELK3 ELK4 EOMES ERG ESRRA ETS1 ETS2 ETV3 ETV6 FLI1 FOS FOSL1 FOSL2 FOXO1
    FOXO3 FOXP1 FOXP3 GABPA GATA1 GATA2 GATA3 GFI1 GFI1B HES1 HIF1A HLF HMBOX1 IKZF1 IKZF2 IKZF3 IRF1
    IRF2 IRF3 IRF4 IRF5 IRF7 IRF8 IRF9 JUN JUNB JUND KLF2 KLF3 KLF4 KLF6 KLF9 KLF10 KLF12 KLF13 KLF16
    LEF1 MAF MAFB MAFF MAFK MAX MAZ MEF2A MEF2C MEF2D MEIS1 MITF MLX MNT MXI1 MYB MYC NFATC1 NFATC2
    NFATC3 NFE2 NFE2L2 NFIA NFIC NFIL3 NFIX NFKB1 NFKB2 NFYA NFYB NR1H3 NR2C2 NR2F6 NR3C1 NR4A1 NR4A2
    NRF1 PAX5 PBX3 PLAG1 POU2F1 POU2F2 PPARG PRDM1 RARA RBPJ REL RELA RELB RORA RORC RUNX1 RUNX2 RUNX3
    RXRA SMAD3 SNAI3 SOX4 SOX13 SP1 SP3 SP4 SPI1 SPIB SPIC SREBF1 SREBF2 STAT1 STAT3 STAT4 STAT5A
    STAT5B STAT6 TBX21 TCF3 TCF4 TCF7 TCF7L2 TCF12 TFDP1 TFE3 TFEB TFEC TGIF1 THAP11 USF1 USF2 VDR
    XBP1 YY1 ZBTB14 ZBTB33 ZBTB7A ZEB1 ZNF143 ZNF148 ZNF263 ZNF281 ZNF384
    """.split()
)

