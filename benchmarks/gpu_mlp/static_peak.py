#!/usr/bin/env python3
"""Peak bytes of a step's live temporaries in host program order, read from
`--mlir-print-ir-after=PASS` dumps of the CUDA lowering: top-level
`memref.alloc`s of static shape count from their allocation to their
`memref.dealloc`. On the GPU allocations and frees are stream-ordered, so
this is the step's peak of temporaries (in plain launches) without a GPU.

  ampc STEP.mlir --precision=bf16 --emit=mlir -o step.mlir
  amp-opt step.mlir --amp-lower-to-cuda \\
      --mlir-print-ir-after=amp-gpu-in-place-state \\
      --mlir-print-ir-after=amp-free-after-last-use -o /dev/null 2> dumps.mlir
  static_peak.py dumps.mlir"""
import re
import sys

BYTES = {"f64": 8, "f32": 4, "bf16": 2, "f16": 2, "i64": 8, "i32": 4, "i8": 1, "i1": 1, "index": 8}
ALLOC = re.compile(r'(%\w+) = memref\.alloc\(\)(?: \{[^}]*\})? : memref<((?:\d+x)*)(\w+)>')
DEALLOC = re.compile(r'memref\.dealloc (%\w+)')


def peaks(body):
    live, peak, total = {}, 0, 0
    for line in body.splitlines():
        alloc = ALLOC.search(line)
        if alloc:
            count = 1
            for dim in alloc.group(2).split("x")[:-1]:
                count *= int(dim)
            size = count * BYTES.get(alloc.group(3), 4)
            live[alloc.group(1)] = size
            total += size
            peak = max(peak, sum(live.values()))
            continue
        dealloc = DEALLOC.search(line)
        if dealloc:
            live.pop(dealloc.group(1), None)
    return peak, total


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    text = open(sys.argv[1]).read()
    parts = re.split(r"// -----// IR Dump After (\S+)", text)[1:]
    for name, body in zip(parts[0::2], parts[1::2]):
        if "memref.alloc" not in body:
            continue
        peak, total = peaks(body)
        print("after %-24s peak live temporaries %6.0f MiB (all temporaries %6.0f MiB)"
              % (name, peak / 2**20, total / 2**20))


if __name__ == "__main__":
    main()
