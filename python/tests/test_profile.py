"""The step profiler: per call site totals of a compiled step's kernels and
oneDNN calls (Module.profile / profile_report, AMPC_PROFILE=1)."""
import os
import subprocess
import sys
import time

import pytest

import ampc

from conftest import ROOT
from test_runtime import batch, init_params


def profiled_steps(mod, steps):
    mod.init_state(init_params())
    x, y = batch()
    mod.reset_profile()
    mod.profile(True)
    start = time.perf_counter()
    for _ in range(steps):
        mod.step(x, y)
    elapsed = time.perf_counter() - start
    mod.profile(False)
    return elapsed


def test_every_point_is_called_once_per_step(compiled):
    mod = ampc.load(compiled("bf16"))
    points = mod.manifest["profile_points"]
    assert points and all(p["function"] == "train_step" for p in points)
    elapsed = profiled_steps(mod, 3)
    report = mod.profile_report(top=0)
    assert len(report) == len(points)
    assert all(row["calls"] == 3 for row in report)
    # The timed points are inside the steps, so they add up to less than
    # the steps' wall time, and each takes some.
    assert 0 < report.total_seconds <= elapsed
    assert [r["seconds"] for r in report] == sorted((r["seconds"] for r in report), reverse=True)
    assert abs(sum(r["share"] for r in report) - 1) < 1e-9
    # The example (a hand-written step, no autodiff marks) runs its matmuls
    # and their gradients on oneDNN.
    assert sum(r["callee"] == "ampc_cpu_gemm" for r in report) >= 4
    assert any(r["what"].startswith("elementwise(") for r in report)
    table = str(report)
    assert "total ms" in table and "ampc_cpu_gemm" in table and "mlp_training_step.mlir:" in table


def test_grouped_reports_add_up(compiled):
    mod = ampc.load(compiled("bf16"))
    profiled_steps(mod, 2)
    by_point = mod.profile_report(top=0)
    for by in ("source", "what"):
        grouped = mod.profile_report(top=0, by=by)
        assert len(grouped) < len(by_point)
        assert sum(r["calls"] for r in grouped) == sum(r["calls"] for r in by_point)
        assert sum(r["sites"] for r in grouped) == len(by_point)
        assert grouped.total_seconds == pytest.approx(by_point.total_seconds)
    gemms = [r for r in mod.profile_report(top=0, by="what") if r["what"] == "ampc_cpu_gemm"]
    assert len(gemms) == 1 and gemms[0]["sites"] > 1 and gemms[0]["source"] is None
    assert gemms[0]["kinds"] == 1
    lines = mod.profile_report(top=0, by="source")
    mixed = [r for r in lines if r["what"] is None]
    assert mixed and all(1 < r["kinds"] <= r["sites"] for r in mixed)
    assert "%d kinds" % mixed[0]["kinds"] in str(lines)
    assert "sites" in str(mod.profile_report(by="what"))
    assert len(mod.profile_report(top=2)) == 2
    with pytest.raises(ValueError, match="by must be"):
        mod.profile_report(by="line")


def test_off_and_reset_record_nothing(compiled):
    mod = ampc.load(compiled("fp32"))
    profiled_steps(mod, 1)
    assert mod.profile_report()
    mod.reset_profile()
    assert len(mod.profile_report()) == 0
    assert mod.profile(False) is False
    mod.step(*batch())
    assert len(mod.profile_report()) == 0 and mod.profile_report().total_seconds == 0
    assert "total over the timed points" in str(mod.profile_report())


def test_environment_variable_prints_the_report_at_exit(compiled, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        "import sys; sys.path.insert(0, %r); sys.path.insert(0, %r)\n"
        "import ampc\nfrom test_runtime import batch, init_params\n"
        "mod = ampc.load(%r)\nmod.init_state(init_params())\nmod.step(*batch())\n"
        % (os.path.join(ROOT, "python"), os.path.join(ROOT, "python", "tests"), compiled("fp32")))
    env = dict(os.environ, AMPC_PROFILE="1")
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("ampc profile of") == 1 and "ampc_cpu_gemm" in result.stderr
    for off in ({}, {"AMPC_PROFILE": "0"}, {"AMPC_PROFILE": ""}):
        env = {k: v for k, v in os.environ.items() if k != "AMPC_PROFILE"}
        env.update(off)
        quiet = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
        assert quiet.returncode == 0 and "ampc profile" not in quiet.stderr, off


def test_a_library_without_points_profiles_nothing(tmp_path):
    """A function with no kernel or oneDNN call has no profile points; its
    library still has the profiler, which reports nothing (AMPC_PROFILE=1
    included)."""
    source = tmp_path / "identity.mlir"
    source.write_text("func.func @identity(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
                      "  return %x : tensor<4xf32>\n}\n")
    library = ampc.compile(str(source), output=str(tmp_path / "identity.so"), precision="fp32")
    mod = ampc.load(library)
    assert mod.manifest["profile_points"] == []
    assert mod.profile(True) is False
    assert len(mod.profile_report()) == 0 and mod.profile_report().total_seconds == 0
    mod.profile(False)
    script = "import sys; sys.path.insert(0, %r)\nimport ampc\nampc.load(%r)\n" % (
        os.path.join(ROOT, "python"), library)
    result = subprocess.run([sys.executable, "-c", script], env=dict(os.environ, AMPC_PROFILE="1"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "total over the timed points" in result.stderr
