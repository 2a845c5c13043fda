#!/usr/bin/env bash
# GPU checks, run on a lent CUDA machine from the repository root (Python 3.12 with torch, numpy, pandas,
# scipy, h5py, networkx, tqdm and pytest, no registry): wheels of the rest come in .whl/ (see README,
# "GPU"): captum==0.9.0 mudata==0.3.10 anndata==0.12.19 pandas==2.3.3 array-api-compat donfig google-crc32c
# legacy-api-wrap natsort numcodecs scverse-misc session-info2 zarr msgspec typing-extensions packaging pytz
# tzdata matplotlib contourpy cycler fonttools kiwisolver pillow pyparsing python-dateutil six threadpoolctl.
# Runs the core tests with CUDA present (tests/test_cuda.py compares CUDA with the CPU), then prints the CUDA
# figures. App, demo and Ray tests are left out (no streamlit, plotly, pyjaspar or ray there).
set -u
pip install -q --no-deps --target /tmp/site .whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/site:$PWD
python - <<'PY'
import torch
print("torch", torch.__version__, "|", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA")
PY
python -m pytest -q -p no:cacheprovider -rs -o addopts="" tests/test_cuda.py tests/test_attribution.py \
    tests/test_model.py tests/test_perturb.py tests/test_peaks.py tests/test_stats.py tests/test_same_results.py \
    tests/test_store.py 2>&1 | tail -15
python -m benchmarks.cuda_vs_cpu 2>&1 | tail -15
python -m benchmarks.scaling --device cuda --quick 2>&1 | tail -25
