"""One OpenMP thread pool for ampc's CPU libraries and PyTorch.

ampc's CPU libraries run their parallel loops on LLVM's OpenMP runtime
(libomp) and call oneDNN, whose Debian build is threaded with OpenMP too.
In a process without PyTorch, oneDNN's OpenMP calls bind to the libomp
that ampc's runtime brings, and everything shares one pool. Debian's
PyTorch links GNU libgomp and the same oneDNN: imported first, it binds
oneDNN to libgomp. A step then runs on two pools, each spinning on the
cores while the other works (a ResNet-18 bf16 step here: 64 ms on one pool,
281 ms on two with torch at 2 threads).

share_thread_pool() loads ampc's CPU runtime, and with it libomp, into the
global symbol namespace before torch is imported, so that torch and oneDNN
bind their OpenMP calls to libomp as well (libomp implements libgomp's
interface; running PyTorch on it is what Intel's tuning guide does with
LD_PRELOAD). torch.set_num_threads() then sets the threads of both."""
import ctypes
import os
import sys

from .compiler import find_ampc

_state = {"shared": None, "torch_first": False}


def runtime_library():
    """ampc's CPU runtime library next to the ampc binary, or None."""
    try:
        ampc = find_ampc()
    except FileNotFoundError:
        return None
    path = os.path.join(os.path.dirname(ampc), "..", "lib", "libampc_cpu_runtime.so")
    return os.path.abspath(path) if os.path.exists(path) else None


def share_thread_pool():
    """Makes torch, oneDNN and ampc's libraries share libomp's pool; call it
    before torch is imported. Returns whether the pool is shared: False when
    torch was imported first (or ampc's runtime was not found)."""
    if _state["shared"] is None:
        shared = False
        path = runtime_library()
        # With ampc's runtime (or libomp) preloaded, torch bound to libomp
        # whatever the import order.
        preloaded = any(name in os.environ.get("LD_PRELOAD", "")
                        for name in ("libampc_cpu_runtime", "libomp"))
        _state["torch_first"] = "torch" in sys.modules and not preloaded
        if not _state["torch_first"] and path is not None:
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                shared = True
            except OSError:
                shared = False
        _state["shared"] = shared
    return _state["shared"]


def torch_came_first():
    """Whether torch was imported before share_thread_pool() first ran
    (and neither ampc's runtime nor libomp is preloaded): the pools are split."""
    share_thread_pool()
    return _state["torch_first"]


def split_pool_advice():
    """What to do when torch was imported before ampc.torch."""
    return ("torch was imported before ampc.torch, so oneDNN runs on GNU libgomp's threads "
            "and ampc's loops on LLVM libomp's: two thread pools contend for the cores and "
            "steps run up to several times slower. Import ampc.torch before torch (or start "
            "Python with LD_PRELOAD=%s)" % (runtime_library() or "libomp.so.5"))
