"""What the Python runtime refuses, with a message naming the file: libraries
that were truncated or replaced, manifests that were edited or belong to
another build, libraries compiled for ISA extensions this CPU lacks, and
broken checkpoints. None of these may crash the process."""
import json
import os
import pickle
import shutil

import numpy as np
import pytest

import ampc
from ampc import LibraryError

from conftest import EXAMPLE


@pytest.fixture
def library(compiled, tmp_path):
    """A private copy of the fp16 example step and its manifest."""
    source = compiled("fp16")
    path = str(tmp_path / "step.so")
    shutil.copy(source, path)
    shutil.copy(source + ".json", path + ".json")
    return path


def edit_manifest(path, edit):
    manifest = json.load(open(path + ".json"))
    edit(manifest)
    json.dump(manifest, open(path + ".json", "w"))


def test_truncated_library_is_refused_before_dlopen(library):
    size = os.path.getsize(library)
    with open(library, "r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(LibraryError, match=r"step.so is \d+ bytes, its manifest says \d+: it was truncated"):
        ampc.load(library)


def test_library_with_other_bytes_is_refused(library):
    with open(library, "r+b") as f:
        f.seek(200)
        byte = f.read(1)
        f.seek(200)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(LibraryError, match="does not have the SHA-256 its manifest records"):
        ampc.load(library)


def test_manifest_of_another_precision_is_refused(compiled, library):
    shutil.copy(compiled("fp32") + ".json", library + ".json")
    with pytest.raises(LibraryError):
        ampc.load(library)


@pytest.mark.parametrize("edit,where", [
    (lambda m: m["functions"][0]["arguments"].pop(), r"manifest.functions\[0\].arguments \(length 8"),
    (lambda m: m["functions"][0]["results"][0].update(shape=[1]), r"manifest.functions\[0\].results\[0\].shape"),
    (lambda m: m["functions"][0]["arguments"][0].update(shape=[16, 64]), r"manifest.functions\[0\].arguments\[0\].shape\[0\]"),
    (lambda m: m.update(precision="fp32"), r"manifest.precision"),
])
def test_edited_manifest_is_refused(library, edit, where):
    edit_manifest(library, edit)
    with pytest.raises(LibraryError, match="does not match the library it sits next to .first difference at " + where):
        ampc.load(library)


@pytest.mark.parametrize("text,match", [
    ("{", "is not readable JSON"),
    ("[]", "not a JSON object"),
    ('{"format": "ampc-manifest-1"}', "no 'functions' list"),
    ('{"format": "other"}', "format is 'other'"),
    ('{"format": "ampc-manifest-1", "functions": [{"name": "f", "symbol": "s", "arguments": [{"shape": [2]}], "results": []}]}',
     r"functions\[0\].arguments\[0\] has no known 'dtype'"),
])
def test_malformed_manifest_is_refused(library, text, match):
    open(library + ".json", "w").write(text)
    with pytest.raises(LibraryError, match=match):
        ampc.load(library)


def test_library_for_missing_isa_extensions_is_refused(tmp_path):
    """Compiled for an extension this CPU lacks, the library is refused with
    the extension's name and a portable --cpu to recompile with."""
    import ctypes
    probe = ampc.load(ampc.compile(EXAMPLE, output=str(tmp_path / "probe.so"), precision="fp32"))
    check = probe._library.ampc_cpu_missing_feature
    check.restype, check.argtypes = ctypes.c_char_p, [ctypes.c_char_p]
    absent = [f for f in ("avx512fp16", "avx512bf16", "avx512f", "avxvnni", "avx2")
              if check(f.encode()) is not None]
    if not absent:
        pytest.skip("this CPU has every extension the test could ask for")
    library = ampc.compile(EXAMPLE, output=str(tmp_path / "foreign.so"), precision="fp32")
    os.remove(library)
    os.remove(library + ".json")
    from ampc.compiler import find_ampc
    import subprocess
    subprocess.run([find_ampc(), EXAMPLE, "-o", library, "--precision=fp32",
                    "--cpu=x86-64", "--cpu-features=+" + absent[0]], check=True, capture_output=True)
    manifest = json.load(open(library + ".json"))
    assert absent[0] in manifest["cpu"]["features"]
    with pytest.raises(LibraryError, match="with ISA extension '%s', which this CPU .* --cpu=x86-64-v3" % absent[0]):
        ampc.load(library)


def test_portable_library_records_only_the_baseline(tmp_path):
    library = ampc.compile(EXAMPLE, output=str(tmp_path / "portable.so"), precision="bf16")
    from ampc.compiler import find_ampc
    import subprocess
    subprocess.run([find_ampc(), EXAMPLE, "-o", library, "--precision=bf16", "--cpu=x86-64"],
                   check=True, capture_output=True)
    manifest = json.load(open(library + ".json"))
    assert manifest["cpu"]["name"] == "x86-64"
    assert set(manifest["cpu"]["features"]) <= {"cx16", "sahf", "sse3", "ssse3"}, manifest["cpu"]
    mod = ampc.load(library)
    rng = np.random.default_rng(0)
    mod.init_state([(rng.standard_normal(s) / 8).astype(np.float32) for s in [(64, 128), (128,), (128, 10), (10,)]])
    x = rng.standard_normal((32, 64)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
    assert np.isfinite(mod.step(x, y))


@pytest.fixture
def module(compiled):
    mod = ampc.load(compiled("fp32"))
    rng = np.random.default_rng(0)
    mod.init_state([(rng.standard_normal(s) / 8).astype(np.float32) for s in [(64, 128), (128,), (128, 10), (10,)]])
    return mod


def test_broken_checkpoints_are_named(module, tmp_path):
    good = str(tmp_path / "good.npz")
    module.save(good)
    raw = open(good, "rb").read()
    cases = {
        "random.npz": (os.urandom(300), "is not an .npz archive"),
        "truncated.npz": (raw[: len(raw) // 2], "is not an .npz archive"),
        "pickled.npz": (pickle.dumps({"state_0": 1}), "is not an .npz archive"),
    }
    for name, (data, match) in cases.items():
        path = str(tmp_path / name)
        open(path, "wb").write(data)
        with pytest.raises(LibraryError, match=name + " " + match):
            module.load_state(path)
    single = str(tmp_path / "single.npy")
    np.save(single, np.zeros(3))
    with pytest.raises(LibraryError, match="holds one array"):
        module.load_state(single)
    fewer = str(tmp_path / "fewer.npz")
    np.savez(fewer, state_0=module.state[0])
    with pytest.raises(LibraryError, match=r"fewer.npz \(positional, from an older ampc\) holds 1 state arrays, the step takes 4"):
        module.load_state(fewer)
    gap = str(tmp_path / "gap.npz")
    np.savez(gap, **{"state_%d" % i: v for i, v in enumerate(module.state) if i != 2}, state_9=module.state[2])
    with pytest.raises(LibraryError, match="gap.npz has no array 'state_2'"):
        module.load_state(gap)
    wrong = str(tmp_path / "wrong.npz")
    np.savez(wrong, **{"state_%d" % i: v.astype(np.float64) for i, v in enumerate(module.state)})
    with pytest.raises(LibraryError, match="wrong.npz does not fit this step: .*dtype float32"):
        module.load_state(wrong)
    with pytest.raises(FileNotFoundError):
        module.load_state(str(tmp_path / "absent.npz"))
