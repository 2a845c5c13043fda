"""CUDA vs CPU attributions, with TF32 allowed (cuDNN's default) and with ``full_precision``, side by side.

``python -m benchmarks.cuda_vs_cpu`` prints, per method, max |CUDA - CPU| / max |CPU attr|.
"""

from __future__ import annotations

import contextlib
from unittest import mock

import numpy as np
import torch

from cell2net_core import attribution
from cell2net_core.testing import random_model
from tests.test_cuda import random_inputs


def main() -> None:
    if not torch.cuda.is_available():
        print("no CUDA GPU: nothing to compare")
        return
    inputs = random_inputs(n=1000, n_peaks=40, n_tfs=100, seed=2)
    module = random_model(inputs, seed=1)
    print(f"{torch.cuda.get_device_name()}: gene of 40 peaks, {inputs.n_tfs} TFs, 1,000 metacells")
    for method in ("captum", "exact"):
        cpu = attribution.tf_attr(module.to("cpu"), inputs, method=method, device="cpu").attr
        scale = float(np.abs(cpu).max())
        for label, patch in (("TF32 allowed", True), ("full_precision", False)):
            torch.backends.cudnn.allow_tf32 = True
            ctx = mock.patch.object(attribution, "full_precision", contextlib.nullcontext) if patch else (
                contextlib.nullcontext())
            with ctx:
                cuda = attribution.tf_attr(module.to("cuda"), inputs, method=method, device="cuda").attr
            print(f"{method:7s} {label:15s} max|cuda-cpu|/max|attr| = {np.abs(cuda - cpu).max() / scale:.2e}")


if __name__ == "__main__":
    main()
