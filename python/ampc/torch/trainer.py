"""ampc.torch.compile: an nn.Module's training step, exported, built by
amp-differentiate and compiled by ampc, driven with torch tensors."""
import collections
import os
import tempfile
import warnings

import numpy as np
import torch

from .. import compiler as _compiler
from .. import loader as _loader
from .. import openmp as _openmp
from .export import ExportError, export

# loss= -> amp-differentiate's loss and label options.
_LOSSES = {"cross_entropy": {"loss": "cross-entropy", "labels": "indices"},
           "nll": {"loss": "nll"},
           "mse": {"loss": "mse"}}


def _optimizer_options(optimizer):
    """amp-differentiate options from a torch.optim optimizer (or a dict
    {"type": "sgd"|"adam"|"adamw", "lr": ..., ...})."""
    if optimizer is None:
        return {"optimizer": "sgd", "lr": 0.01}
    if isinstance(optimizer, dict):
        spec = dict(optimizer)
        kind = spec.pop("type", "sgd")
        group = spec
    else:
        kinds = {torch.optim.SGD: "sgd", torch.optim.Adam: "adam", torch.optim.AdamW: "adamw"}
        kind = kinds.get(type(optimizer))
        if kind is None:
            raise ExportError("optimizer %s is not supported: SGD, Adam or AdamW"
                              % type(optimizer).__name__)
        groups = optimizer.param_groups
        keys = [k for k in groups[0] if k != "params"]
        if any(any(g.get(k) != groups[0].get(k) for k in keys) for g in groups[1:]):
            raise ExportError("optimizer param groups with different hyperparameters are not "
                              "supported: one group, or groups that agree")
        group = groups[0]
    options = {"optimizer": kind, "lr": float(group.get("lr", 0.01))}
    if group.get("maximize"):
        raise ExportError("maximize=True is not supported")
    if kind == "sgd":
        if group.get("dampening", 0):
            raise ExportError("SGD dampening is not supported by amp-differentiate")
        options["momentum"] = float(group.get("momentum", 0.0))
        options["nesterov"] = "true" if group.get("nesterov") else "false"
        options["weight-decay"] = float(group.get("weight_decay", 0.0))
    else:
        if group.get("amsgrad"):
            raise ExportError("amsgrad=True is not supported")
        betas = group.get("betas", (0.9, 0.999))
        options.update({"beta1": float(betas[0]), "beta2": float(betas[1]),
                        "eps": float(group.get("eps", 1e-8)),
                        "weight-decay": float(group.get("weight_decay", 0.0 if kind == "adam" else 0.01))})
    return options


def _numpy(value, dtype):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(value, dtype=dtype))


def _warn_split_pool():
    """Once per process: the thread pools are split (torch came first). Idle
    libomp threads then sleep at once instead of spinning for 200 ms, which
    takes most of the contention away (KMP_BLOCKTIME, unless already set;
    libomp reads it when it starts)."""
    if getattr(_warn_split_pool, "done", False):
        return
    _warn_split_pool.done = True
    os.environ.setdefault("KMP_BLOCKTIME", "0")
    warnings.warn(_openmp.split_pool_advice(), RuntimeWarning, stacklevel=3)


class Trainer:
    """A compiled training step of `module`: step(x, y) with torch tensors
    (or numpy arrays) returns the loss as a tensor; state_dict() uses the
    module's own names. With a torch.optim optimizer given to compile(), its
    param_groups[0]["lr"] is read every step, so torch.optim.lr_scheduler
    schedules drive the compiled step."""

    def __init__(self, module, library, exported, optimizer):
        self.module = module
        self.library = library
        self.param_names = list(exported.params)
        self.buffer_names = list(exported.buffers)
        self.num_inputs = exported.num_inputs
        self.optimizer = optimizer if isinstance(optimizer, torch.optim.Optimizer) else None
        if _openmp.torch_came_first():
            _warn_split_pool()
        self.rng_name = getattr(exported, "rng", None)
        self.aliases = dict(getattr(exported, "aliases", {}))
        self.compiled = _loader.load(library)
        state = module.state_dict()
        # The random-number state starts from torch's generator, so that
        # torch.manual_seed before compile() makes the masks repeatable.
        seed = int(torch.randint(0, 2 ** 62, (1,)))
        buffers = [np.array([seed, 0], dtype=np.int64) if name == self.rng_name
                   else state[name].detach().cpu().numpy() for name in self.buffer_names]
        self.compiled.init_state([state[name].detach().cpu().numpy().astype(np.float32)
                                  for name in self.param_names], buffers=buffers)

    def manual_seed(self, seed):
        """Restarts the compiled step's random numbers (dropout masks) from
        `seed`, as torch.manual_seed does for torch's generator: the same
        seed gives the same masks step after step."""
        if self.rng_name is None:
            return
        index = self._state_index()[self.rng_name]
        self.compiled.state[index] = np.array([int(seed), 0], dtype=np.int64)

    def _state_index(self):
        return {spec["name"]: k for k, (_, spec) in enumerate(self.compiled.state_specs())
                if spec["role"] in ("param", "buffer")}

    @property
    def hyperparameters(self):
        return self.compiled.hyperparameters

    def step(self, *batch):
        """One training step on (inputs..., labels); returns the loss tensor."""
        if len(batch) != self.num_inputs + 1:
            raise TypeError("step() takes %d inputs and the labels, got %d arrays"
                            % (self.num_inputs, len(batch)))
        specs = [a for a in self.compiled.train_step.arguments if a.get("role") in ("input", "label")]
        arrays = [_numpy(value, np.int64 if spec["dtype"] == "int64" else np.float32)
                  for spec, value in zip(specs, batch)]
        extra = {}
        if self.optimizer is not None and "lr" in self.compiled.hyperparameters:
            extra["lr"] = float(self.optimizer.param_groups[0]["lr"])
        loss = torch.tensor(self.compiled.step(*arrays, **extra))
        if self.optimizer is not None and hasattr(self.optimizer, "_step_count"):
            # The compiled step is the optimizer's step: lr schedulers count
            # steps this way (and warn when they see none).
            self.optimizer._step_count += 1
        return loss

    def parameters(self):
        """The trained parameters and updated buffers by name, as tensors
        (copies); the random-number state, when there is one, under its own
        name (`rng_state`)."""
        values = {}
        for (_, spec), value in zip(self.compiled.state_specs(), self.compiled.state):
            if spec["role"] in ("param", "buffer"):
                values[spec["name"]] = torch.from_numpy(np.array(value, copy=True))
        return values

    def state_dict(self):
        """The module's state_dict with the trained parameters: what
        module.load_state_dict() takes."""
        state = collections.OrderedDict(
            (k, v.detach().clone()) for k, v in self.module.state_dict().items())
        state.update((k, v) for k, v in self.parameters().items() if k in state)
        # A tied parameter is trained once and listed under each of its names.
        for alias, name in self.aliases.items():
            if alias in state and name in state:
                state[alias] = state[name]
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Takes the parameters of a module state_dict (torch or numpy values).
        Data-parallel: collective (every rank calls it; a failure on one
        raises on all) and every rank ends with rank 0's state."""
        if self.compiled.data_parallel:
            return self.compiled._collectively(
                "load_state_dict", lambda: self._load_state_dict_here(state_dict, strict))
        self._load_state_dict_here(state_dict, strict)

    def _load_state_dict_here(self, state_dict, strict):
        missing = [name for name in self.param_names if name not in state_dict]
        if missing and strict:
            raise KeyError("state_dict has no entry '%s' (a parameter of the compiled step)" % missing[0])
        index = self._state_index()
        for name in self.param_names + self.buffer_names:
            if name not in state_dict:
                continue
            current = self.compiled.state[index[name]]
            value = _numpy(state_dict[name], current.dtype)
            if value.shape != current.shape:
                raise ValueError("state_dict entry '%s' has shape %s, the parameter is %s"
                                 % (name, tuple(value.shape), tuple(current.shape)))
            self.compiled.state[index[name]] = value
        if strict:
            unknown = [k for k in state_dict if k not in self.module.state_dict()]
            if unknown:
                raise KeyError("state_dict has the entry '%s', which the module does not have" % unknown[0])

    def profile(self, enabled=True):
        """Turns the step profiler on (or off): every kernel and oneDNN call
        of the compiled step is timed per call site; see profile_report().
        Returns the previous setting (ampc.Module.profile)."""
        return self.compiled.profile(enabled)

    def reset_profile(self):
        """Zeroes the step profiler's totals."""
        self.compiled.reset_profile()

    def profile_report(self, top=20, by="point"):
        """The step profiler's totals, costliest first, each with the model
        line and module path (`layer1.0.conv1`) it came from and whether it
        is part of the backward; by="source" groups them per model line,
        by="what" per kind of computation (ampc.Module.profile_report)."""
        return self.compiled.profile_report(top=top, by=by)

    def to_module(self):
        """Copies the trained parameters into the module."""
        self.module.load_state_dict(self.state_dict())
        return self.module


def compile(module, example_inputs, loss="cross_entropy", optimizer=None, precision="bf16",
            output=None, label_smoothing=0.0, keep_forward=False, **options):
    """Exports `module` (ampc.torch.export), builds its training step with
    `loss` ("cross_entropy" over class indices, with `label_smoothing` as
    torch's; "nll" over class indices, for models returning log-probabilities;
    or "mse") and the optimizer
    (a torch.optim.SGD/Adam/AdamW instance, or {"type": ..., "lr": ...}),
    compiles it with ampc.compile (`precision` and any further keyword,
    e.g. clip_grad_norm=1.0) and returns a Trainer. The library holds the
    training step only; `keep_forward=True` also compiles the forward
    (`trainer.compiled.functions["forward"]`, in training mode), which costs
    a second copy of the model's compile time and code."""
    if loss not in _LOSSES:
        raise ExportError("loss must be one of %s, got %r" % (sorted(_LOSSES), loss))
    train = dict(_LOSSES[loss])
    if label_smoothing:
        if loss != "cross_entropy":
            raise ExportError("label_smoothing applies to loss='cross_entropy'")
        train["label-smoothing"] = float(label_smoothing)
    train.update(_optimizer_options(optimizer))
    train["keep-forward"] = bool(keep_forward)
    exported = export(module, example_inputs)
    if not exported.params:
        raise ExportError("%s has no parameters to train" % type(module).__name__)
    train["params"] = ",".join(str(i) for i in exported.param_arguments)
    folder = tempfile.mkdtemp(prefix="ampc-torch-")
    source = os.path.join(folder, "model.mlir")
    with open(source, "w") as f:
        f.write(exported.text)
    if output is None:
        output = os.path.join(folder, "%s.%s.so" % (type(module).__name__, precision))
    library = _compiler.compile(source, output=output, precision=precision, train=train, **options)
    return Trainer(module, library, exported, optimizer)
