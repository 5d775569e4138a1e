"""Shared by the numerics tests: lower amp + upstream IR to LLVM with the
upstream CPU recipe (naive loops: correct, not fast), run it with mlir-runner,
and read what printMemref* printed."""
import re
import subprocess
import sys

import numpy as np

LOWERING = [
    "--convert-amp-to-standard", "--convert-elementwise-to-linalg",
    "--one-shot-bufferize=bufferize-function-boundaries", "--convert-linalg-to-loops",
    # bf16 <-> f32 conversions as integer ops: no libgcc routine needed.
    "--arith-expand=include-bf16=true",
    "--expand-strided-metadata", "--lower-affine", "--convert-scf-to-cf",
    "--convert-math-to-llvm", "--convert-math-to-libm", "--convert-arith-to-llvm",
    "--finalize-memref-to-llvm", "--convert-func-to-llvm", "--convert-cf-to-llvm",
    "--reconcile-unrealized-casts",
]


def run(cmd, stdin=""):
    """Runs a command; exits with its stderr when it fails."""
    result = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("command failed: %s\n%s" % (" ".join(cmd[:3]), result.stderr[-3000:]))
    return result.stdout


def splice(module_text, extra):
    """Adds top-level ops (e.g. a main function) inside a printed module."""
    start = module_text.index("module {")
    return (module_text[:start] + module_text[start + len("module {"):module_text.rindex("}")]
            + extra)


def execute(amp_opt, runner, lib_dir, module_text):
    """Lowers and runs `main`; returns one array of numbers per printMemref call."""
    lowered = run([amp_opt, "-"] + LOWERING, module_text)
    out = run([runner, "-e", "main", "-entry-point-result=void",
               "-shared-libs=%s/libmlir_runner_utils.so,%s/libmlir_c_runner_utils.so" % (lib_dir, lib_dir)],
              lowered)
    values = []
    for block in out.split("Unranked Memref base@")[1:]:
        numbers = re.findall(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|inf|nan)", block.split("data =", 1)[1])
        values.append(np.array([float(n) for n in numbers], dtype=np.float64))
    return values


def bits_to_f32(values):
    """Float32 values from the int32 bit patterns printMemrefI32 printed."""
    return np.asarray(values).astype(np.int64).astype(np.uint32).view(np.float32)


def printed_copy(name, value, tensor_type, element, printer):
    """MLIR lines printing a copy of `value` (a value that also feeds later
    ops cannot be cast to unranked in place by bufferization)."""
    return ["  %se = tensor.empty() : %s" % (name, tensor_type),
            "  %sc = linalg.copy ins(%s : %s) outs(%se : %s) -> %s" % (name, value, tensor_type, name, tensor_type, tensor_type),
            "  %su = tensor.cast %sc : %s to tensor<*x%s>" % (name, name, tensor_type, element),
            "  call @printMemref%s(%su) : (tensor<*x%s>) -> ()" % (printer, name, element)]
