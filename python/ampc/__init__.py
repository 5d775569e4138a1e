"""ampc from Python: compile FP32 training steps to mixed precision ahead of
time, load the shared library, and run steps on numpy arrays.

    import ampc
    lib = ampc.compile("examples/mlp_training_step.mlir", precision="fp16")
    mod = ampc.load(lib)
    mod.init_state(params=[w1, b1, w2, b2])
    loss = mod.step(x, onehot)
"""
from .compiler import CompileError, compile, find_ampc
from .runtime import Function, Module, load

__all__ = ["CompileError", "Function", "Module", "compile", "find_ampc", "load"]
