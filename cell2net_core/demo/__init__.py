"""The embedded demo: a simulated PBMC-like dataset with planted regulators, trained models and results.

``build`` makes and finds the shared demo folder, ``simulate`` the dataset from the planted
``program`` and JASPAR motifs (``jaspar``), ``train`` and ``worker`` the models, ``evaluate``
scores stored attributions against the planted truth.
"""

from .build import DemoPaths, build_demo, default_demo_dir, demo_paths, ensure_demo, is_complete

__all__ = ["DemoPaths", "build_demo", "default_demo_dir", "demo_paths", "ensure_demo", "is_complete"]
