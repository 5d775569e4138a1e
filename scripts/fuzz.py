#!/usr/bin/env python3
"""ampc's robustness suite: a mutation fuzzer over the lit inputs, the
examples and the model corpus.

Each execution takes a seed input (one `// -----` chunk of a test file, an
example, a corpus model), applies one to three mutations (element types,
shapes, op names, attribute values, affine maps, roles, deleted or
duplicated lines, truncation) and runs it through one of ampc's pipelines:
amp-opt with a pass pipeline, or the ampc compiler. A run is a finding when

  - the process dies of a signal, or prints an LLVM fatal error, a failed
    assertion, a stack dump or "PLEASE submit a bug report";
  - it runs past the time limit (a hang);
  - amp-opt exits 0 but what it printed does not parse and verify;
  - ampc fails but leaves an output file behind, or succeeds without a
    complete library + manifest pair.

Rejecting a mutant with a diagnostic and a non-zero exit is the expected
outcome for most of them. Findings are written, with their input and
command, to the output folder; the summary gives executions and findings
per kind and exits 1 if there are any.

  scripts/fuzz.py --build build --executions 300 --seed 1      # the short run (scripts/test.sh)
  scripts/fuzz.py --build build --executions 20000 --jobs 2    # the long run
"""
import argparse
import collections
import concurrent.futures
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# amp-opt pipelines: every pass family, on tensors and down to LLVM.
AMP_OPT_PIPELINES = [
    ["--amp-ingest"],
    ["--amp-autocast=compute-type=bf16", "--amp-cast-cleanup"],
    ["--amp-autocast=compute-type=f16 keep-io-types=false", "--amp-cast-cleanup",
     "--amp-check-precision"],
    ["--amp-verify-training-step"],
    ["--amp-pipeline=compute-type=f16"],
    ["--amp-pipeline=compute-type=bf16 loss-scaling=static persistent-copies=true grad-accumulation=true"],
    ["--amp-differentiate=loss=mse"],
    ["--amp-differentiate=loss=cross-entropy labels=indices optimizer=adamw"],
    ["--amp-differentiate=loss=none params=0"],
    ["--convert-amp-to-standard"],
    ["--amp-lower-to-cpu"],
    ["--amp-pipeline=compute-type=bf16", "--amp-lower-to-cpu"],
    ["--amp-lower-to-cuda"],
    ["--amp-gpu-split-reductions", "--amp-gpu-sink-scalars"],
]
# ampc: whole compiles (slower; a tenth of the executions).
AMPC_OPTIONS = [
    ["--precision=fp32"],
    ["--precision=bf16"],
    ["--precision=fp16", "--loss-scaling=dynamic"],
    ["--precision=bf16", "--train=loss=mse"],
    ["--precision=fp16", "--train=loss=cross-entropy"],
    ["--precision=bf16", "--emit=llvm"],
    ["--precision=bf16", "--target=cuda", "--emit=ptx"],
    ["--precision=fp32", "--cpu=x86-64-v3"],
]

CRASH_PATTERNS = [
    ("llvm-error", re.compile(r"LLVM ERROR")),
    ("assertion", re.compile(r"Assertion .* failed|assertion failed", re.I)),
    ("stack-dump", re.compile(r"Stack dump:|PLEASE submit a bug report")),
    ("unreachable", re.compile(r"UNREACHABLE executed")),
]

ELEMENT_TYPES = ["f32", "f16", "bf16", "f64", "i1", "i8", "i32", "i64", "index"]
OP_SWAPS = [
    ["linalg.matmul", "linalg.batch_matmul", "linalg.matvec", "linalg.dot"],
    ["arith.addf", "arith.subf", "arith.mulf", "arith.divf", "arith.maximumf", "arith.minimumf"],
    ["math.exp", "math.log", "math.tanh", "math.sqrt", "math.erf", "math.atan"],
    ["linalg.pooling_nhwc_max", "linalg.pooling_nhwc_sum", "linalg.pooling_nchw_max"],
    ["linalg.conv_2d_nhwc_hwcf", "linalg.conv_2d_nchw_fchw", "linalg.depthwise_conv_2d_nhwc_hwc"],
    ["tensor.expand_shape", "tensor.collapse_shape"],
    ["tensor.extract_slice", "tensor.insert_slice"],
    ["amp.sgd", "amp.adam", "amp.adamw"],
    ['"parallel"', '"reduction"'],
    ['"param"', '"input"', '"label"', '"optimizer_state"', '"scaler_state"', '"loss"', '"bogus"'],
    ["arith.extf", "arith.truncf"],
]


def seed_inputs(corpus):
    """Every seed: (name, text). Lit files are split at `// -----`."""
    paths = []
    for top in ("test", "examples", os.path.join("python", "tests", "inputs")):
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
            paths += [os.path.join(folder, f) for f in sorted(files) if f.endswith(".mlir")]
    if corpus and os.path.isdir(corpus):
        paths += [os.path.join(corpus, f) for f in sorted(os.listdir(corpus)) if f.endswith(".mlir")]
    seeds = []
    for path in paths:
        text = open(path, errors="replace").read()
        # RUN lines would only be comments; strip them to keep mutants small.
        chunks = re.split(r"^// -----\s*$", text, flags=re.M)
        for i, chunk in enumerate(chunks):
            if chunk.strip():
                seeds.append(("%s#%d" % (os.path.relpath(path, ROOT), i), chunk))
    return seeds


def mutate(text, rng):
    """One random mutation of `text` (returns text and a description)."""
    kind = rng.choice(["type", "shape", "op", "number", "map", "delete", "duplicate",
                       "truncate", "swap-operands", "bytes"])
    if kind == "type":
        matches = list(re.finditer(r"\b(f32|f16|bf16|f64|i1|i8|i32|i64)\b", text))
        if matches:
            m = rng.choice(matches)
            new = rng.choice(ELEMENT_TYPES)
            return text[:m.start()] + new + text[m.end():], "type %s->%s" % (m.group(0), new)
    if kind == "shape":
        matches = list(re.finditer(r"(?<=[<x])(\d+)(?=x)", text))
        if matches:
            m = rng.choice(matches)
            new = str(rng.choice([0, 1, 2, 3, 7, 64, 1000, int(m.group(0)) + 1, "?"]))
            return text[:m.start()] + new + text[m.end():], "shape %s->%s" % (m.group(0), new)
    if kind == "op":
        group = rng.choice(OP_SWAPS)
        present = [name for name in group if name in text]
        if present:
            old = rng.choice(present)
            new = rng.choice([n for n in group if n != old] or [old])
            positions = [m.start() for m in re.finditer(re.escape(old), text)]
            at = rng.choice(positions)
            return text[:at] + new + text[at + len(old):], "op %s->%s" % (old, new)
    if kind == "number":
        matches = list(re.finditer(r"(?<![\w.%#])(-?\d+(\.\d+)?(e-?\d+)?)(?![\w])", text))
        if matches:
            m = rng.choice(matches)
            new = rng.choice(["0", "-1", "1", "2", "3", "65536", "1.5", "-0.0", "1e30", "9999999999"])
            return text[:m.start()] + new + text[m.end():], "number %s->%s" % (m.group(0), new)
    if kind == "map":
        matches = list(re.finditer(r"affine_map<\(([^)]*)\) -> \(([^)]*)\)>", text))
        if matches:
            m = rng.choice(matches)
            dims = [d.strip() for d in m.group(1).split(",") if d.strip()]
            results = [r.strip() for r in m.group(2).split(",") if r.strip()]
            choice = rng.randrange(4)
            if choice == 0 and len(results) > 1:
                rng.shuffle(results)
            elif choice == 1 and results:
                results[rng.randrange(len(results))] = rng.choice(dims + ["0", "1"]) if dims else "0"
            elif choice == 2 and dims:
                results.append(rng.choice(dims))
            elif results:
                results.pop(rng.randrange(len(results)))
            new = "affine_map<(%s) -> (%s)>" % (m.group(1), ", ".join(results))
            return text[:m.start()] + new + text[m.end():], "map"
    if kind in ("delete", "duplicate", "swap-operands"):
        lines = text.split("\n")
        if len(lines) > 2:
            i = rng.randrange(len(lines))
            if kind == "delete":
                del lines[i]
            elif kind == "duplicate":
                lines.insert(i, lines[i])
            else:
                m = re.search(r"ins\(([^:)]*),([^:)]*):", lines[i])
                if m:
                    lines[i] = lines[i][:m.start()] + "ins(%s,%s:" % (m.group(2).strip(), " " + m.group(1).strip()) + lines[i][m.end():]
            return "\n".join(lines), "%s line %d" % (kind, i + 1)
    if kind == "truncate" and text:
        at = rng.randrange(len(text))
        return text[:at], "truncate at %d" % at
    if kind == "bytes" and text:
        at = rng.randrange(len(text))
        junk = rng.choice(["\x00", "\xfc", "{", "}", "(", "%", "#", "\"", "\n", "^bb9:"])
        return text[:at] + junk + text[at:], "insert %r at %d" % (junk, at)
    return text, "none"


def crash_kind(returncode, output):
    if returncode < 0:
        return "signal-%d" % -returncode
    if returncode >= 128 + 1 and returncode <= 128 + 64:
        return "signal-%d" % (returncode - 128)
    for kind, pattern in CRASH_PATTERNS:
        if pattern.search(output):
            return kind
    return None


STACK_FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ (.*)$", re.M)


def crash_frame(output):
    """The stack frame the signal hit: the one after the signal trampoline
    (libc's frame that follows LLVM's signal handlers)."""
    frames = STACK_FRAME.findall(output)
    for i, frame in enumerate(frames[:-1]):
        if "libc.so" in frame and i > 0 and "llvm::sys::" in " ".join(frames[:i]):
            return frames[i + 1]
    return None


def upstream_parser_crash(amp_opt, path, timeout):
    """Whether parsing alone (no ampc pass) already crashes, in upstream MLIR
    code: the known parser bugs of Debian's MLIR 22 (a float in a
    permutation=, a non-string iterator type, array<index: ...>, ...), which
    docs/robustness.md lists and which are not ampc's to fix. An ampc op's
    generated parser may be on the stack (it parses its attribute
    dictionary through MLIR's), as long as the crash itself is MLIR's."""
    code, _, err, hung = run([amp_opt, path, "-o", os.devnull], timeout)
    if hung or crash_kind(code, err) is None:
        return False
    frame = crash_frame(err)
    crashed_in_mlir = (frame is not None and "ampc::" not in frame and "libMLIR" in frame
                       and "mlir::detail::Parser::" in err)
    return "ampc::" not in err or crashed_in_mlir


def run(cmd, timeout):
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
        return result.returncode, result.stdout, result.stderr, False
    except subprocess.TimeoutExpired as error:
        return None, error.stdout or "", error.stderr or "", True


def execute(job):
    """One mutant through one tool; returns (tool, finding kind or None, details)."""
    index, seed_name, text, mutations, tool, options, build, timeout, workdir = job
    scratch = tempfile.mkdtemp(prefix="m%d-" % index, dir=workdir)
    try:
        path = os.path.join(scratch, "input.mlir")
        with open(path, "w", errors="replace") as f:
            f.write(text)
        amp_opt = os.path.join(build, "bin", "amp-opt")
        def failure_kind(code, err, hung):
            """A hang or crash, told apart from the known upstream parser crashes."""
            if hung:
                return "hang"
            kind = crash_kind(code, err)
            if kind and upstream_parser_crash(amp_opt, path, timeout):
                return "known-upstream-parser-crash"
            return kind

        if tool == "amp-opt":
            cmd = [amp_opt, path] + options
            code, out, err, hung = run(cmd, timeout)
            kind = failure_kind(code, err, hung)
            if kind:
                return tool, kind, cmd
            if code == 0:
                # What it printed must be valid IR.
                check = subprocess.run([amp_opt, "--verify-each", "-o", os.devnull], input=out,
                                       capture_output=True, text=True, errors="replace", timeout=timeout)
                if check.returncode != 0:
                    return tool, "invalid-ir-on-success", cmd
            return tool, "accepted" if code == 0 else None, cmd
        output = os.path.join(scratch, "out.so")
        emit_text = any(o.startswith("--emit=") for o in options)
        if emit_text:
            output = os.path.join(scratch, "out.txt")
        cmd = [os.path.join(build, "bin", "ampc"), path, "-o", output] + options
        code, out, err, hung = run(cmd, timeout * 4)
        kind = failure_kind(code, err, hung)
        if kind:
            return tool, kind, cmd
        files = sorted(os.listdir(scratch))
        leftovers = [f for f in files if f != "input.mlir"]
        if code != 0 and leftovers:
            return tool, "partial-output:" + ",".join(leftovers), cmd
        if code == 0 and not emit_text:
            manifest = output + ".json"
            if not (os.path.exists(output) and os.path.exists(manifest)):
                return tool, "missing-output", cmd
            try:
                json.load(open(manifest))
            except ValueError:
                return tool, "bad-manifest", cmd
        return tool, "accepted" if code == 0 else None, cmd
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--corpus", default=os.environ.get(
        "AMPC_CORPUS_DIR", os.path.join(ROOT, "..", "shared", "corpus")))
    parser.add_argument("--executions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per amp-opt run (ampc: 4x)")
    parser.add_argument("--ampc-share", type=float, default=0.1, help="fraction of executions through ampc")
    parser.add_argument("--findings", default=os.path.join(tempfile.gettempdir(), "ampc-fuzz-findings"))
    args = parser.parse_args()

    seeds = seed_inputs(args.corpus)
    if not seeds:
        print("fuzz: no seed inputs", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    workdir = tempfile.mkdtemp(prefix="ampc-fuzz-")
    jobs = []
    for index in range(args.executions):
        name, text = rng.choice(seeds)
        mutations = []
        for _ in range(rng.randint(1, 3)):
            text, what = mutate(text, rng)
            mutations.append(what)
        if rng.random() < args.ampc_share:
            tool, options = "ampc", rng.choice(AMPC_OPTIONS)
        else:
            tool, options = "amp-opt", rng.choice(AMP_OPT_PIPELINES)
        jobs.append((index, name, text, mutations, tool, options, args.build, args.timeout, workdir))

    start = time.time()
    counts = collections.Counter()
    accepted = collections.Counter()
    known = collections.Counter()
    findings = collections.defaultdict(list)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for job, (tool, kind, cmd) in zip(jobs, pool.map(execute, jobs)):
            counts[tool] += 1
            if kind == "accepted":
                accepted[tool] += 1
            elif kind == "known-upstream-parser-crash":
                known[tool] += 1
            elif kind:
                findings[(tool, kind)].append((job, cmd))
    elapsed = time.time() - start
    shutil.rmtree(workdir, ignore_errors=True)

    print("fuzz: %d executions (%s) from %d seeds in %.0f s, seed %d" % (
        sum(counts.values()), ", ".join("%s %d, %d accepted" % (tool, n, accepted[tool])
                                        for tool, n in sorted(counts.items())),
        len(seeds), elapsed, args.seed))
    if known:
        print("fuzz: %d mutants hit the known upstream parser crashes (docs/robustness.md), "
              "not counted as findings" % sum(known.values()))
    if not findings:
        print("fuzz: no findings")
        return 0
    os.makedirs(args.findings, exist_ok=True)
    for (tool, kind), cases in sorted(findings.items()):
        print("fuzz: FINDING %s %s: %d case(s)" % (tool, kind, len(cases)))
        for job, cmd in cases[:5]:
            index, name, text, mutations = job[:4]
            digest = hashlib.sha1(text.encode(errors="replace")).hexdigest()[:10]
            path = os.path.join(args.findings, "%s-%s-%s.mlir" % (tool, kind.replace(":", "_").replace(",", "_"), digest))
            with open(path, "w", errors="replace") as f:
                f.write("// seed %s; mutations: %s\n// command: %s\n" % (name, "; ".join(mutations), " ".join(cmd[2:] if tool == "amp-opt" else cmd[3:])))
                f.write(text)
            print("      %s  (%s from %s)" % (path, "; ".join(mutations), name))
    return 1


if __name__ == "__main__":
    sys.exit(main())
