#!/usr/bin/env python3
"""Runs a few steps of one ampc library (for profilers such as ncu):
  kernels.py LIBRARY WORKLOAD [STEPS]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

library, name = sys.argv[1], sys.argv[2]
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 2
spec = bench.workloads.WORKLOADS[name]
params = bench.init_params(spec["dims"])
x, y = bench.make_batch(spec["batch"], spec["dims"])
module = bench.load_ampc(library, params, graphs=False)
for _ in range(steps):
    print("loss", module.step(x, y))
