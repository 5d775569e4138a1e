"""End to end: the digits MLP trained from Python with steps compiled three
ways. fp16 (dynamic loss scaling) and bf16 must reach the FP32 test accuracy
within 1.0 percentage point, and their per-epoch training losses must track
FP32's within 5% relative."""
import os
import sys

import pytest

pytest.importorskip("sklearn", reason="python3-sklearn ships the digits data")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "digits"))
import train_digits  # noqa: E402


def test_mixed_precision_tracks_fp32(tmp_path):
    data = train_digits.load_data(seed=0)
    results = {}
    for precision in ("fp32", "fp16", "bf16"):
        library = train_digits.compile_step(str(tmp_path / (precision + ".so")), precision)
        results[precision] = train_digits.train(library, data, epochs=8, seed=0)
    reference = results["fp32"]
    assert reference["test_accuracy"] > 0.9
    for precision in ("fp16", "bf16"):
        r = results[precision]
        gap = abs(r["test_accuracy"] - reference["test_accuracy"])
        assert gap <= 0.01, "%s accuracy %.4f vs fp32 %.4f" % (precision, r["test_accuracy"],
                                                                reference["test_accuracy"])
        for epoch, (a, b) in enumerate(zip(r["loss_curve"], reference["loss_curve"])):
            assert abs(a - b) <= 0.05 * b, "%s epoch %d loss %.4f vs fp32 %.4f" % (precision, epoch, a, b)
