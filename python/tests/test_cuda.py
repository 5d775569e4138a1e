"""The CUDA back end from Python: compiled steps on the GPU against the CPU
back end and PyTorch-free references, graphs against plain calls, and the
digits MLP trained on the GPU. Skipped, with the reason, where no GPU is
present (CI); the no-GPU error path itself is tested everywhere.

Where ampc cannot run (a GPU machine without MLIR), the libraries come
prebuilt from $AMPC_GPU_ARTIFACTS (scripts/build-gpu-test-artifacts.sh)."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import EXAMPLE, ROOT
import ampc
from ampc import cuda

ARTIFACTS = os.environ.get("AMPC_GPU_ARTIFACTS")
HAS_GPU, GPU_REASON = cuda.gpu_available()
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason="no GPU: %s" % GPU_REASON)


# Forward functions and the amp-differentiate options that make them steps
# (scripts/build-gpu-test-artifacts.sh builds the same).
FORWARD_MLP = os.path.join(ROOT, "examples", "mlp_forward.mlir")
FORWARD_CONV = os.path.join(ROOT, "python", "tests", "inputs", "conv_forward.mlir")
TRAIN_OPTIONS = {FORWARD_MLP: "loss=cross-entropy params=1,2,3,4 lr=0.1",
                 FORWARD_CONV: "loss=mse params=1 lr=0.05"}


def library(source, target, precision, tmp_path_factory):
    """A compiled library: from $AMPC_GPU_ARTIFACTS when set, else built now."""
    stem = os.path.splitext(os.path.basename(source))[0]
    name = "%s.%s.%s.so" % (stem, target, precision)
    if ARTIFACTS:
        path = os.path.join(ARTIFACTS, name)
        if not os.path.exists(path):
            pytest.skip("%s not in $AMPC_GPU_ARTIFACTS" % name)
        return path
    out = tmp_path_factory.mktemp("cuda") / name
    return ampc.compile(source, output=str(out), target=target, precision=precision,
                        train=TRAIN_OPTIONS.get(source))


def example_params(seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((64, 128)) * 0.1).astype(np.float32),
            (rng.standard_normal(128) * 0.1).astype(np.float32),
            (rng.standard_normal((128, 10)) * 0.1).astype(np.float32),
            (rng.standard_normal(10) * 0.1).astype(np.float32)]


def example_batch(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((32, 64)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
    return x, y


def run_steps(path, steps, use_graphs=False):
    module = ampc.load(path, use_graphs=use_graphs)
    module.init_state(example_params())
    losses = [module.step(*example_batch(100 + i)) for i in range(steps)]
    return losses, module.params(), module


def test_loading_without_a_gpu_is_a_clear_error(tmp_path):
    if HAS_GPU:
        pytest.skip("a GPU is present: the no-GPU error path is not reachable")
    if not os.path.exists(os.path.join(ROOT, "build", "lib", "libampc_cuda_runtime.so")):
        pytest.skip("the CUDA runtime was not built")
    if not (shutil.which("ptxas") or os.access("/usr/local/cuda/bin/ptxas", os.X_OK)):
        pytest.skip("no CUDA toolkit (ptxas, libdevice) to build a loadable CUDA library")
    path = ampc.compile(EXAMPLE, output=str(tmp_path / "step.so"), target="cuda", precision="bf16")
    with pytest.raises(ampc.CudaError, match="ampc cuda runtime: "):
        ampc.load(path)


@needs_gpu
@pytest.mark.parametrize("precision,tolerance", [("fp32", 1e-5), ("bf16", 2e-2), ("fp16", 5e-3)])
def test_gpu_step_matches_cpu_backend(precision, tolerance, tmp_path_factory):
    """Every kernel class of the example step (casts, bias/ReLU elementwise,
    row/column/full reductions, softmax cross-entropy, transposes folded into
    GEMMs, cuBLASLt GEMMs, SGD, and for fp16 the loss-scaler check) against
    the CPU back end, over five steps."""
    cpu_losses, cpu_params, _ = run_steps(library(EXAMPLE, "cpu", precision, tmp_path_factory), 5)
    gpu_losses, gpu_params, _ = run_steps(library(EXAMPLE, "cuda", precision, tmp_path_factory), 5)
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=tolerance)
    for gpu, cpu_value in zip(gpu_params, cpu_params):
        error = np.linalg.norm(gpu - cpu_value) / np.linalg.norm(cpu_value)
        assert error < tolerance, "relative param error %.2e" % error


@needs_gpu
def test_graph_replay_equals_plain_calls(tmp_path_factory):
    path = library(EXAMPLE, "cuda", "fp16", tmp_path_factory)
    plain_losses, plain_params, _ = run_steps(path, 4)
    graph_losses, graph_params, module = run_steps(path, 4, use_graphs=True)
    assert plain_losses == graph_losses
    for a, b in zip(plain_params, graph_params):
        np.testing.assert_array_equal(a, b)
    assert module.scaler_state() is not None


@needs_gpu
def test_state_stays_on_device_and_checkpoints(tmp_path, tmp_path_factory):
    path = library(EXAMPLE, "cuda", "bf16", tmp_path_factory)
    _, params, module = run_steps(path, 2)
    assert all(isinstance(v, ampc.DeviceArray) for v in module.state)
    module.save(str(tmp_path / "ckpt.npz"))
    restored = ampc.load(path)
    restored.init_state(example_params(seed=7))
    restored.load_state(str(tmp_path / "ckpt.npz"))
    for a, b in zip(restored.params(), params):
        np.testing.assert_array_equal(a, b)
    x, y = example_batch(5)
    assert module.step(x, y) == restored.step(x, y)


@needs_gpu
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_in_place_state_keeps_one_buffer_set(precision, tmp_path_factory):
    """The compiler found the example step safe in place: the module keeps
    one state buffer set and one graph, and still matches the CPU back end
    (test_gpu_step_matches_cpu_backend checks the numbers of every step)."""
    path = library(EXAMPLE, "cuda", precision, tmp_path_factory)
    assert ampc.read_manifest(path)["functions"][0]["in_place_state"] is True
    _, _, module = run_steps(path, 3, use_graphs=True)
    assert module._spare is module.state
    assert len(module._graphs) == 1
    module.close()


@needs_gpu
def test_wrong_batch_shape_is_rejected(tmp_path_factory):
    module = ampc.load(library(EXAMPLE, "cuda", "bf16", tmp_path_factory))
    module.init_state(example_params())
    with pytest.raises(ValueError, match="shape"):
        module.step(np.zeros((16, 64), np.float32), np.zeros((16, 10), np.float32))


@needs_gpu
def test_digits_trains_on_the_gpu_like_on_the_cpu(tmp_path_factory):
    pytest.importorskip("sklearn", reason="python3-sklearn ships the digits data")
    sys.path.insert(0, os.path.join(ROOT, "examples", "digits"))
    import train_digits
    data = train_digits.load_data(seed=0)
    cpu = train_digits.train(library(train_digits.STEP, "cpu", "fp32", tmp_path_factory), data, epochs=8, seed=0)
    for precision in ("bf16", "fp16"):
        gpu = train_digits.train(library(train_digits.STEP, "cuda", precision, tmp_path_factory), data,
                                 epochs=8, seed=0)
        assert abs(gpu["test_accuracy"] - cpu["test_accuracy"]) <= 0.01, (precision, gpu, cpu)


@needs_gpu
@pytest.mark.skipif(shutil.which("ncu") is None, reason="Nsight Compute (ncu) not installed")
def test_gemms_run_on_tensor_cores(tmp_path_factory):
    """The GEMM path executes Hopper tensor-core (GMMA/HMMA) instructions,
    read from hardware counters by Nsight Compute."""
    path = library(EXAMPLE, "cuda", "bf16", tmp_path_factory)
    script = "import sys; sys.path.insert(0, %r); import ampc, test_cuda; test_cuda.run_steps(%r, 1)" % (
        os.path.join(ROOT, "python"), path)
    result = subprocess.run(
        ["ncu", "--csv", "--metrics",
         "sm__inst_executed_pipe_tensor_op_gmma.sum,sm__inst_executed_pipe_tensor_op_hmma.sum",
         sys.executable, "-c", script],
        capture_output=True, text=True, cwd=os.path.dirname(__file__), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    tensor_ops = 0
    for line in result.stdout.splitlines():
        fields = [f.strip('"') for f in line.split('","')]
        if len(fields) > 3 and "tensor_op" in line:
            try:
                tensor_ops += float(fields[-1].replace(",", ""))
            except ValueError:
                pass
    assert tensor_ops > 0, result.stdout[-3000:]


@needs_gpu
@pytest.mark.parametrize("precision,tolerance", [("fp32", 1e-5), ("bf16", 2e-2)])
def test_differentiated_steps_match_cpu_backend(precision, tolerance, tmp_path_factory):
    """Steps built by amp-differentiate on the GPU against the CPU back end
    over five steps: the MLP's (GEMM adjoints, closed-form cross-entropy
    adjoint) and a convolutional net's (filter adjoint, transposed
    convolution over the spread-out output adjoint, max-pool adjoint)."""
    rng = np.random.default_rng(7)
    conv_batches = [(rng.standard_normal((2, 9, 9, 3)).astype(np.float32),
                     rng.standard_normal((2, 2, 2, 8)).astype(np.float32)) for _ in range(5)]
    conv_params = [(0.2 * rng.standard_normal((3, 3, 3, 8))).astype(np.float32)]
    cases = [(FORWARD_MLP, example_params(), [example_batch(100 + i) for i in range(5)]),
             (FORWARD_CONV, conv_params, conv_batches)]
    for source, params, batches in cases:
        results = {}
        for target in ("cpu", "cuda"):
            module = ampc.load(library(source, target, precision, tmp_path_factory))
            module.init_state(params)
            losses = [module.step(*batch) for batch in batches]
            results[target] = (losses, module.params())
        (cpu_losses, cpu_params), (gpu_losses, gpu_params) = results["cpu"], results["cuda"]
        np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=tolerance, err_msg=source)
        for cpu, gpu in zip(cpu_params, gpu_params):
            scale = max(np.abs(cpu).max(), 1e-6)
            assert np.abs(gpu - cpu).max() <= tolerance * scale, (source, precision)
        assert cpu_losses[-1] < cpu_losses[0], (source, cpu_losses)
