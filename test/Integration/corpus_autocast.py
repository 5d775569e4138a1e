#!/usr/bin/env python3
"""Runs every model in the shared corpus through ingest + autocast + cleanup
(f16 and bf16) and checks the result: the pipeline succeeds, the output
re-parses and verifies, amp-check-precision accepts it (every matmul/conv
reads the compute type, every exp/log/sum reduction computes in f32), and
every model actually has low-precision matmul-like ops.

Usage: corpus_autocast.py AMP_OPT CORPUS_DIR
Prints one line per model and precision, then 'N passed, M failed'."""
import os
import re
import subprocess
import sys


def run(cmd, stdin=None):
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True)


def main():
    amp_opt, corpus = sys.argv[1], sys.argv[2]
    models = sorted(f for f in os.listdir(corpus) if f.endswith(".mlir"))
    if not models:
        print("no models in", corpus)
        return 1
    passed = failed = 0
    matmul_like = re.compile(r"linalg\.(matmul|batch_matmul|conv_\w+|depthwise_conv_\w+)\b.*ins\([^:]*: (tensor<[^>]*>)")
    for model in models:
        path = os.path.join(corpus, model)
        for precision in ("f16", "bf16"):
            problems = []
            result = run([amp_opt, path, "--amp-ingest",
                          "--amp-autocast=compute-type=" + precision,
                          "--amp-cast-cleanup",
                          "--amp-check-precision=compute-type=" + precision])
            if result.returncode != 0:
                problems.append("pipeline failed:\n" + result.stderr[-2000:])
            else:
                reparse = run([amp_opt, "--verify-each", "-o", os.devnull], stdin=result.stdout)
                if reparse.returncode != 0:
                    problems.append("output does not re-parse:\n" + reparse.stderr[-2000:])
                low = [m for m in matmul_like.finditer(result.stdout)
                       if m.group(2).endswith("x" + precision + ">")]
                if not low:
                    problems.append("no matmul-like op reads " + precision)
            status = "ok" if not problems else "FAIL"
            print("%-4s %-50s %s" % (status, model, precision))
            for p in problems:
                print("     " + p.replace("\n", "\n     "))
            if problems:
                failed += 1
            else:
                passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
