import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

import ampc  # noqa: E402
from ampc.openmp import share_thread_pool  # noqa: E402

# Before any test module imports torch: torch, oneDNN and the compiled steps
# then share one OpenMP pool, as they do for a user who imports ampc.torch
# first.
share_thread_pool()

EXAMPLE = os.path.join(ROOT, "examples", "mlp_training_step.mlir")


@pytest.fixture(scope="session")
def compiled(tmp_path_factory):
    """The example step compiled once per precision."""
    out = tmp_path_factory.mktemp("libs")
    cache = {}

    def get(precision, **kwargs):
        key = (precision, tuple(sorted(kwargs.items())))
        if key not in cache:
            name = "step-%s-%d.so" % (precision, len(cache))
            cache[key] = ampc.compile(EXAMPLE, output=str(out / name), precision=precision, **kwargs)
        return cache[key]
    return get
