"""The CPU back end's library route (--cpu-gemm=onednn: matmuls and
convolutions through ampc's oneDNN runtime) against the generated
reference (--cpu-gemm=native), and the libraries' CPU targeting and
threads. Every library built here is dlopened and run."""
import ctypes
import os

import numpy as np
import pytest

import ampc
from test_differentiate import RULES, random_arguments

# The gradient rules whose forward has a matmul or a convolution: their
# steps hold every form amp-cpu-library-gemm takes (transposed and batched
# GEMMs, forward / backward-data / backward-weights convolutions, strided,
# dilated, depthwise, NHWC and NCHW).
LIBRARY_RULES = sorted(r for r in RULES if "matmul" in r or "conv" in r)



def build(text, tmp_path, params, precision="fp32", **options):
    stem = "lib%d" % len(list(tmp_path.glob("lib*.mlir")))
    path = tmp_path / (stem + ".mlir")
    path.write_text(text)
    train = {"loss": "mse", "params": ",".join(map(str, params)), "lr": 0.5}
    library = ampc.compile(str(path), output=str(tmp_path / (stem + ".so")), precision=precision,
                           train=train, **options)
    return ampc.load(library)


def runtime_calls(module):
    stats = (ctypes.c_int64 * 5)()
    module._library.ampc_cpu_stats(stats)
    return stats[0]


@pytest.mark.parametrize("rule", LIBRARY_RULES)
def test_library_route_equals_generated_reference(rule, tmp_path):
    text, params, _ = RULES[rule]
    onednn = build(text, tmp_path, params)
    native = build(text, tmp_path, params, cpu_gemm="native")
    rng = np.random.default_rng(7)
    args = random_arguments(rng, onednn.train_step.arguments)
    before = runtime_calls(onednn)
    got = onednn.train_step(*args)
    assert runtime_calls(onednn) > before, "the step made no oneDNN call"
    want = native.train_step(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_low_precision_library_route_tracks_the_reference(precision, tmp_path):
    """Whatever the CPU has (AMX, AVX512-BF16/FP16, neither: converted f32
    kernels), a mixed-precision step through oneDNN stays within rounding of
    the generated one, which widens to f32 and accumulates in f32 too."""
    text, params, _ = RULES["conv_2d_nchw_fchw_dilated"]
    # (No loss scaling: the step's arguments stay the rule's.)
    onednn = build(text, tmp_path, params, precision=precision, loss_scaling="none")
    native = build(text, tmp_path, params, precision=precision, loss_scaling="none",
                   cpu_gemm="native")
    rng = np.random.default_rng(3)
    args = random_arguments(rng, onednn.train_step.arguments)
    for g, w in zip(onednn.train_step(*args), native.train_step(*args)):
        np.testing.assert_allclose(g, w, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("cpu", ["x86-64", "x86-64-v3"])
def test_portable_cpu_targets(cpu, tmp_path):
    """A library for a baseline CPU (no AVX-512, bf16 converted with integer
    ops) computes what the native one does, and records that CPU."""
    text, params, _ = RULES["matmul"]
    portable = build(text, tmp_path, params, precision="bf16", cpu=cpu)
    native = build(text, tmp_path, params, precision="bf16")
    assert portable.manifest["cpu"]["name"] == cpu
    assert "avx512f" not in portable.manifest["cpu"]["features"]
    rng = np.random.default_rng(5)
    args = random_arguments(rng, native.train_step.arguments)
    for g, w in zip(portable.train_step(*args), native.train_step(*args)):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)


def test_threads(tmp_path):
    text, params, _ = RULES["batch_matmul"]
    module = build(text, tmp_path, params, threads=1)
    assert module.threads() == 1  # the library's constructor set it
    rng = np.random.default_rng(1)
    args = random_arguments(rng, module.train_step.arguments)
    one = module.train_step(*args)
    module.set_threads(0)
    assert module.threads() == os.cpu_count() or module.threads() >= 1
    for a, b in zip(one, module.train_step(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError):
        module.set_threads(-1)


def test_native_library_needs_no_runtime(tmp_path):
    """--cpu-gemm=native on a small step: nothing to call in the runtime, so
    the library does not link it (and says so when asked for threads)."""
    text, params, _ = RULES["matmul"]
    module = build(text, tmp_path, params, cpu_gemm="native")
    with pytest.raises(ampc.LibraryError, match="does not link ampc's CPU runtime"):
        module.set_threads(1)
