# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "AMPC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "corpus_autocast.py", "mlp_step_numerics.py", "optimizers_numerics.py", "loss_scaling_numerics.py", "underflow_numerics.py", "grad_accumulation_numerics.py", "cpu_runner.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ampc_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.ampc_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(["amp-opt", "ampc"], [config.ampc_tools_dir])


# Real model IR exported by other projects, read in place (never copied).
corpus = os.environ.get(
    "AMPC_CORPUS_DIR",
    os.path.join(config.ampc_src_root, "..", "shared", "corpus"))
corpus = os.path.abspath(corpus)
if os.path.isdir(corpus) and any(f.endswith(".mlir") for f in os.listdir(corpus)):
    config.available_features.add("corpus")
    config.substitutions.append(("%corpus", corpus))
else:
    lit_config.note("no model corpus at %s: corpus tests are unsupported" % corpus)

# CPU execution through upstream lowering + mlir-runner, checked against numpy.
config.substitutions.append(("%mlir_runner", os.path.join(config.llvm_tools_dir, "mlir-runner")))
config.substitutions.append(("%llvm_lib_dir", os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")))
config.substitutions.append(("%ampc_src", config.ampc_src_root))
import subprocess, sys
# ampc.torch's importer, run with Debian's python3 and torch when present.
config.substitutions.append(("%ampc_python", "env PYTHONPATH=%s %s" % (
    os.path.join(config.ampc_src_root, "python"), sys.executable)))
if subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0:
    config.available_features.add("torch")
else:
    lit_config.note("torch not importable by %s: importer tests are unsupported" % sys.executable)
if subprocess.run([sys.executable, "-c", "import numpy"], capture_output=True).returncode == 0:
    config.available_features.add("numpy")
else:
    lit_config.note("numpy not importable by %s: numerics tests are unsupported" % sys.executable)

# ptxas (CUDA toolkit) checks emitted PTX where it is installed.
import shutil
ptxas = shutil.which("ptxas") or ("/usr/local/cuda/bin/ptxas" if os.access("/usr/local/cuda/bin/ptxas", os.X_OK) else None)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
else:
    lit_config.note("ptxas not found: emitted PTX is FileChecked but not assembled")
# The toolkit in its default place (found by ampc with nothing on PATH).
if os.path.exists("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc") and os.access("/usr/local/cuda/bin/ptxas", os.X_OK):
    config.available_features.add("default_cuda_toolkit")

# The ampc CUDA runtime (built when the CUDA toolkit was found): CUDA shared
# libraries link against it.
if os.path.exists(os.path.join(config.ampc_obj_root, "lib", "libampc_cuda_runtime.so")):
    config.available_features.add("cuda_runtime")
else:
    lit_config.note("the ampc CUDA runtime was not built: CUDA shared-library tests are unsupported")

# ampc's MPI runtime (built when MPI was found): data-parallel libraries
# link against it and libmpi.
if os.path.exists(os.path.join(config.ampc_obj_root, "lib", "libampc_cpu_mpi.so")):
    config.available_features.add("mpi")
else:
    lit_config.note("ampc's MPI runtime was not built: data-parallel library tests are unsupported")
