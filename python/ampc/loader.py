"""Opening a library ampc compiled: its manifest says which runtime runs it.

The only module that knows both runtimes; `runtime` (CPU) knows neither
`cuda` nor this one, and `cuda` builds on `runtime`, so imports go one way."""
from .cuda import CudaModule
from .runtime import Module, read_manifest


def load(path, use_graphs=False):
    """Loads a shared library compiled by ampc (with its manifest). Libraries
    for --target=cuda keep their state on the GPU; `use_graphs` replays each
    of their steps as a captured CUDA graph."""
    manifest = read_manifest(path)
    if manifest.get("target") == "cuda":
        return CudaModule(path, manifest, use_graphs=use_graphs)
    return Module(path, manifest)
