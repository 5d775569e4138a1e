"""ampc.torch.export: an nn.Module's forward as ampc's input IR.

The module is traced at the ATen level (capture.py: make_fx with real
shapes, functionalized) and each ATen op is written as the aten-dialect op
of the same name with the model's source line as its location
(importer.py); `ampc` lowers them to linalg (convert-aten-to-linalg).
Parameters are arguments named by their state_dict keys (`amp.name`);
buffers the forward updates (BatchNorm statistics) and the random-number
state of dropout are arguments and results with role `buffer`. What is not
covered is an ExportError naming the op, the module path and the model
line, never a silently different graph."""
import torch
import torch.nn as nn

from .capture import capture
from .errors import ExportError
from .importer import Importer

__all__ = ["ExportError", "Exported", "export"]


class Exported:
    """What export() made: `text` (the MLIR module), the state_dict names of
    the `params` and `buffers` the function takes (argument order, after the
    `num_inputs` inputs), `param_arguments` (the params' argument numbers,
    amp-differentiate's params=), `rng`, the name of the random-number
    state buffer (None when the forward draws no random numbers), and
    `aliases`, the other state_dict names of tied parameters."""

    def __init__(self, text, params, buffers, num_inputs, param_arguments, rng=None, aliases=None):
        self.text, self.params, self.buffers, self.num_inputs = text, params, buffers, num_inputs
        self.param_arguments = param_arguments
        self.rng = rng
        # Other state_dict names of tied parameters: alias -> traced name.
        self.aliases = dict(aliases or {})

    def __str__(self):
        return self.text


def _check_modules(module):
    """Module settings whose forward reads tensor values in Python, named
    before tracing fails on them."""
    for name, sub in module.named_modules():
        if (isinstance(sub, nn.modules.batchnorm._BatchNorm) and sub.training
                and sub.track_running_stats and sub.momentum is None):
            raise ExportError("module '%s' (%s): momentum=None (a cumulative moving average over "
                              "num_batches_tracked) is not supported; give a momentum"
                              % (name, type(sub).__name__))


def export(module, example_inputs, name="forward"):
    """The forward of `module` on inputs shaped like `example_inputs` (a
    tensor or a tuple of tensors), as MLIR: one `func.func @<name>` taking
    the inputs, then every parameter it reads (state_dict names in
    `amp.name`), then the buffers it updates (role `buffer`, returned
    updated after the output). Returns an Exported."""
    if not isinstance(module, nn.Module):
        raise ExportError("export takes an nn.Module, got %s" % type(module).__name__)
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    for i, x in enumerate(example_inputs):
        if not isinstance(x, torch.Tensor):
            raise ExportError("example input %d is %s; pass tensors" % (i, type(x).__name__))
    _check_modules(module)
    captured = capture(module, example_inputs)
    importer = Importer(captured, name)
    text = importer.run()
    params = list(importer.params)
    param_arguments = [len(example_inputs) + i for i in range(len(params))]
    return Exported(text, params, list(importer.buffers), len(example_inputs), param_arguments,
                    importer.rng_name if importer.rng is not None else None, captured.aliases)
