"""PyTorch in: ampc.torch.export turns an nn.Module into ampc's input IR
(torch.fx), ampc.torch.compile builds and compiles its mixed-precision
training step and returns a trainer driven with torch tensors. torch is an
optional dependency of the ampc package: importing ampc.torch needs it."""
from .export import ExportError, export
from .trainer import Trainer, compile

__all__ = ["ExportError", "Trainer", "compile", "export"]
