"""Data parallelism under MPI (docs/distributed.md): 2 ranks with half the
batch each against one process with all of it, state identical on every
rank after every step, one skip decision, checkpoints, and the failures.

Each scenario runs python/tests/distributed_worker.py under mpirun (2 ranks,
--oversubscribe: this machine may have fewer cores) and reads the JSON line
rank 0 prints."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import ampc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
WORKER = os.path.join(HERE, "distributed_worker.py")
MPI_RUNTIME = os.path.join(ROOT, "build", "lib", "libampc_cpu_mpi.so")

pytestmark = [
    pytest.mark.skipif(shutil.which("mpirun") is None, reason="no mpirun (apt-get install openmpi-bin)"),
    pytest.mark.skipif(not os.path.exists(MPI_RUNTIME), reason="ampc was built without MPI"),
]
torch = pytest.importorskip("torch")


def mpi_env():
    env = dict(os.environ)
    # OpenMPI refuses root without these (CI runs as root); one thread per
    # rank keeps two ranks on a 2-core machine from fighting.
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1",
               PYTHONWARNINGS="ignore")
    return env


def run(*args, ranks=2, check=True, timeout=240, env=None):
    cmd = ["mpirun", "-np", str(ranks), "--oversubscribe", sys.executable, WORKER] + list(args)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env or mpi_env(),
                            timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail("mpirun failed (%d):\n%s\n%s" % (result.returncode, result.stdout[-3000:],
                                                     result.stderr[-3000:]))
    return result


def result_of(output):
    lines = [line for line in output.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, output.stdout + output.stderr
    return json.loads(lines[-1][len("RESULT "):])


# The two runs differ only in where the batch's per-sample gradient
# contributions are summed (two halves, then MPI adds them; against one
# reduction over the whole batch): f32 rounding of sums of 16 terms, a few
# ulp per step (1e-5 of the largest weight over 10 steps). In fp16/bf16 such
# a difference may flip the rounding of a low-precision weight copy (one
# fp16 ulp is 5e-4 relative), which the next forward carries: 2e-4.
TOLERANCE = {"fp32": 1e-5, "bf16": 2e-4, "fp16": 2e-4}


@pytest.mark.parametrize("model,precision,optimizer", [
    ("mlp", "fp32", "sgd"), ("mlp", "fp32", "adam"), ("mlp", "bf16", "adam"),
    ("mlp", "fp16", "sgd"), ("cnn", "fp32", "sgd"), ("cnn", "bf16", "sgd")])
def test_two_ranks_equal_one_rank_with_the_whole_batch(model, precision, optimizer):
    result = result_of(run("parity", "--model", model, "--precision", precision,
                           "--optimizer", optimizer))
    assert result["world"] == 2
    # Every piece of state (params, master weights, optimizer state, scale,
    # growth tracker) is bitwise the same on both ranks after every step.
    assert result["identical"] == [True] * 10
    tolerance = TOLERANCE[precision]
    for name, (difference, largest) in result["params"].items():
        assert difference <= tolerance * largest, (name, difference, largest)
    for mean_of_ranks, whole_batch in result["losses"]:
        assert mean_of_ranks == pytest.approx(whole_batch, rel=10 * tolerance)
    assert result["skipped"] == result["reference_skipped"]
    assert result["manifest"]["backend"] == "mpi"


def test_ranks_on_one_machine_split_its_cores():
    env = mpi_env()
    del env["OMP_NUM_THREADS"]
    result = result_of(run("threads", env=env))
    assert result["threads"] == max(1, result["cores"] // 2)


def test_one_bucket_per_gradient_gives_the_same_parameters():
    """Buckets of 10 bytes: every gradient (and the flag) its own MPI call,
    each packed alone; the same result as one bucket."""
    result = result_of(run("parity", "--precision", "fp16", "--bucket-cap-mb", "0.00001"))
    assert result["manifest"]["buckets_per_step"] == 5  # 4 gradients + found_inf
    assert result["identical"] == [True] * 10
    for name, (difference, largest) in result["params"].items():
        assert difference <= TOLERANCE["fp16"] * largest, name


def test_world_size_one_is_the_plain_step():
    result = result_of(run("parity", "--precision", "fp16", ranks=1))
    assert result["world"] == 1
    for name, (difference, _) in result["params"].items():
        assert difference == 0.0, name


def test_an_inf_on_one_rank_makes_every_rank_skip():
    events = result_of(run("inf"))["events"]
    assert all(event["identical"] for event in events)
    skipped = [event["skipped"] for event in events]
    assert skipped == [False, False, False, True, False, False]
    # Each rank backs off and resets the tracker as the single process does
    # with the inf in its whole batch.
    for event in events:
        assert [event["skipped"], event["scale"], event["tracker"]] == event["reference"]
    assert events[3]["scale"] == events[2]["scale"] / 2 and events[3]["tracker"] == 0


def test_accumulation_communicates_in_apply_only(tmp_path):
    result = result_of(run("accumulate", "--folder", str(tmp_path)))
    assert result["moved"] > 1e-3  # the step did train
    # The same arithmetic in the same order: accumulate + apply of one
    # micro-batch is the step (as without data parallelism).
    assert result["difference"] <= 1e-6 * result["largest"]


def test_batchnorm_statistics_are_averaged_over_ranks():
    result = result_of(run("buffers"))
    assert result["identical"]
    for name, difference in result["difference"].items():
        # fp32 means of 2 values vs torch's own statistics: rounding only,
        # far below how much the ranks' own statistics differ.
        assert difference <= 1e-6, name
        assert result["spread"][name] > 1e-4, name


def test_checkpoint_from_rank_0_resumes_on_every_rank(tmp_path):
    result = result_of(run("checkpoint", "--folder", str(tmp_path)))
    assert result["resumed_equals_straight"]
    # Rank 1's save() wrote nothing (and did not wait for rank 0).
    assert result["files"] == ["step3.npz"]


def test_a_load_that_fails_on_one_rank_raises_on_every_rank():
    output = run("bad_load", check=False)
    assert "RANK 1 raised: state_dict has no entry '0.weight'" in output.stdout, output.stdout
    assert "RANK 0 raised: rank 0: load_state_dict failed on another rank" in output.stdout
    assert output.returncode == 0


def test_different_libraries_on_the_ranks_are_refused_on_every_rank(tmp_path):
    output = run("mismatch", "--folder", str(tmp_path), check=False)
    for rank in (0, 1):
        assert ("RANK %d refused: rank %d: library" % (rank, rank)) in output.stdout, output.stdout
        assert "is not the library every rank loaded" in output.stdout
    assert "loaded" not in output.stdout.replace("every rank loaded", "")


@pytest.mark.parametrize("how,extra,says", [
    ("exception", [], "rank 1 fails on purpose"),
    ("kill", [], "exited on signal 9"),
    ("exit", [], "ampc: rank 1 is exiting, but other ranks did not reach the end within 5 s"),
    ("exception", ["--mpi4py-first"], "rank 1 fails on purpose")])
def test_a_failing_rank_ends_the_job_instead_of_hanging(how, extra, says):
    """An exception (MPI_Abort from the except hook, also when mpi4py
    started MPI), a killed rank (mpirun) and sys.exit on one rank (the exit
    barrier's timeout, 5 s here) all end the job."""
    env = dict(mpi_env(), AMPC_MPI_EXIT_TIMEOUT="5")
    if extra:
        pytest.importorskip("mpi4py")
    output = run("die", "--how", how, *extra, check=False, timeout=120, env=env)
    # mpirun's own banner about the abort is sometimes lost (OpenMPI 4.1's
    # show_help fails while ranks die): the exit status and the failing
    # rank's message are what count.
    assert output.returncode != 0
    assert "finished a step without rank 1" not in output.stdout
    assert says in output.stderr, output.stderr[-2000:]


def test_same_losses_as_torch_ddp_over_gloo():
    import socket
    with socket.socket() as probe:  # a free port for gloo's rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ["MASTER_PORT"] = str(port)
    try:
        losses = result_of(run("ddp"))["losses"]
    finally:
        del os.environ["MASTER_PORT"]
    assert len(losses) == 10
    # Same model, data, SGD with momentum, fp32: the same summation-order
    # tolerance as the parity test.
    for ours, theirs in losses:
        assert ours == pytest.approx(theirs, rel=1e-5)


def test_a_data_parallel_library_without_mpi_is_a_clear_error(tmp_path):
    library = ampc.compile(os.path.join(ROOT, "examples", "mlp_training_step.mlir"),
                           output=str(tmp_path / "dp.so"), precision="bf16", data_parallel="mpi")
    script = ("import sys; sys.path.insert(0, %r); import ampc\n"
              "try:\n    ampc.load(%r)\nexcept ampc.LibraryError as e:\n    print('REFUSED', e)\n"
              % (os.path.join(ROOT, "python"), library))
    env = dict(os.environ, AMPC_MPI_RUNTIME=str(tmp_path / "missing" / "libampc_cpu_mpi.so"))
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                            timeout=120)
    assert "REFUSED" in output.stdout, output.stdout + output.stderr
    assert "compiled for data parallelism (--data-parallel=mpi) and needs MPI" in output.stdout
    assert "libampc_cpu_mpi.so" in output.stdout


def test_shard_splits_evenly_or_refuses():
    import numpy as np
    from ampc import distributed
    batch = np.arange(12).reshape(6, 2)
    assert distributed.shard(batch, rank=1, world_size=3).tolist() == [[4, 5], [6, 7]]
    with pytest.raises(ValueError, match="does not split evenly"):
        distributed.shard(batch, rank=0, world_size=4)


def test_the_digits_example_trains_on_two_ranks(tmp_path):
    """examples/distributed: 5 epochs on 2 ranks reach the accuracy the
    one-process digits example reaches (93.6% after 5 epochs, 97.2% after
    20; a split step that diverged or averaged wrongly stays far below)."""
    script = os.path.join(ROOT, "examples", "distributed", "train_digits_ddp.py")
    cmd = ["mpirun", "-np", "2", "--oversubscribe", sys.executable, script, "--epochs", "5",
           "--checkpoint", str(tmp_path / "digits.npz")]
    output = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(), timeout=300)
    assert output.returncode == 0, output.stdout + output.stderr
    accuracy = [line for line in output.stdout.splitlines() if line.startswith("test accuracy")]
    assert accuracy and float(accuracy[0].split()[-1].rstrip("%")) >= 90.0, output.stdout
    assert "params bitwise identical on all 2 rank(s): yes" in output.stdout
    assert sorted(os.listdir(tmp_path)) == ["digits.npz"]
