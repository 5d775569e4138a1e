"""PyTorch in: ampc.torch.export turns an nn.Module into ampc's input IR
(torch.fx), ampc.torch.compile builds and compiles its mixed-precision
training step and returns a trainer driven with torch tensors. torch is an
optional dependency of the ampc package: importing ampc.torch needs it.

Import ampc.torch before torch: it first puts ampc's OpenMP runtime in
place, so that PyTorch, oneDNN and the compiled steps share one thread pool
(ampc.openmp says why)."""
from ..openmp import share_thread_pool

share_thread_pool()

from .export import ExportError, export  # noqa: E402
from .trainer import Trainer, compile  # noqa: E402

__all__ = ["ExportError", "Trainer", "compile", "export"]
