"""ampc from Python: compile FP32 training steps to mixed precision ahead of
time, load the shared library, and run steps on numpy arrays.

    import ampc
    lib = ampc.compile("examples/mlp_training_step.mlir", precision="fp16")
    mod = ampc.load(lib)
    mod.init_state(params=[w1, b1, w2, b2])
    loss = mod.step(x, onehot)
"""
from .compiler import CompileError, compile, find_ampc
from .runtime import Function, LibraryError, Module, read_manifest, bf16_to_f32, f32_to_bf16
from .cuda import CudaError, CudaModule, DeviceArray
from .loader import load

__all__ = ["CompileError", "CudaError", "CudaModule", "DeviceArray", "Function", "LibraryError", "Module",
           "bf16_to_f32", "compile", "f32_to_bf16", "find_ampc", "load", "read_manifest"]
