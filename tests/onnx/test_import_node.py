"""onnx's own operator test cases (onnx.backend.test.case.node) for every op shendu registers.

Each case is a one-node model whose expected outputs onnx computed with its reference code; every case
whose ops are all registered runs through shendu.onnx.load and must match (shape, dtype, values).
KNOWN_FAILURES lists the cases that do not, each with the reason; a known failure that starts passing
fails the test too, so the list stays true.
"""
import pytest

from conftest import require

# name -> why it fails; empty today (every runnable case passes with onnx 1.23)
KNOWN_FAILURES = {}


@pytest.fixture(scope="module")
def results():
    require("onnx")
    from shendu.onnx._node_tests import run_all
    return run_all()


def test_every_runnable_node_case_passes_but_the_known_failures(results):
    outcome, _ = results
    failed = {name: why for name, why in outcome.items() if why is not None}
    unexpected = {name: why for name, why in failed.items() if name not in KNOWN_FAILURES}
    assert not unexpected, "\n".join(f"{k}: {v}" for k, v in sorted(unexpected.items()))
    fixed = sorted(name for name in KNOWN_FAILURES if outcome.get(name, "not run") is None)
    assert not fixed, f"these known failures now pass; remove them from KNOWN_FAILURES: {fixed}"


def test_node_cases_cover_the_registered_ops(results):
    outcome, _ = results
    assert len(outcome) > 1000
    passed = sum(why is None for why in outcome.values())
    assert passed >= len(outcome) - len(KNOWN_FAILURES)
    for op in ("conv", "lstm", "gru", "rnn", "softmax", "reduce_mean", "slice", "gather", "batchnorm",
               "layer_normalization", "resize_downsample_sizes_linear_antialias", "attention", "convtranspose_3d", "maxpool_with_argmax"):
        assert any(name.startswith(f"test_{op}") and why is None for name, why in outcome.items()), op
