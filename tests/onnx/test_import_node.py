"""onnx's own operator test cases (onnx.backend.test.case.node) for every op shendu registers.

Each case is a one-node model whose expected outputs onnx computed with its reference code; every case
whose ops are all registered runs through shendu.onnx.load and must match (shape, dtype, values).
KNOWN_FAILURES lists the cases that do not, each with the reason; a known failure that starts passing
fails the test too, so the list stays true.
"""
import pytest

from conftest import require

_3D = "3-D (volumetric) convolution and pooling are not supported"
KNOWN_FAILURES = {
    "test_averagepool_2d_dilations": "AveragePool with dilations is not supported",
    "test_averagepool_3d_default": _3D,
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False": _3D,
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True": _3D,
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False": _3D,
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True": _3D,
    "test_averagepool_3d_dilations_small": _3D,
    "test_convtranspose_3d": _3D,
    "test_maxpool_3d_default": _3D,
    "test_maxpool_3d_dilations": _3D,
    "test_maxpool_3d_dilations_use_ref_impl": _3D,
    "test_maxpool_3d_dilations_use_ref_impl_large": _3D,
    "test_maxpool_with_argmax_2d_precomputed_pads": "MaxPool's Indices output is not supported",
    "test_maxpool_with_argmax_2d_precomputed_strides": "MaxPool's Indices output is not supported",
    "test_mod_float_edge_cases_fmod_0_float16": "Mod (fmod=0) of ±inf and by ±inf gives NaN, not onnx's limits",
    "test_mod_float_edge_cases_fmod_0_float32": "Mod (fmod=0) of ±inf and by ±inf gives NaN, not onnx's limits",
    "test_mod_float_edge_cases_fmod_0_float64": "Mod (fmod=0) of ±inf and by ±inf gives NaN, not onnx's limits",
}


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
    assert len(outcome) > 900
    passed = sum(why is None for why in outcome.values())
    assert passed >= len(outcome) - len(KNOWN_FAILURES)
    for op in ("conv", "lstm", "gru", "rnn", "softmax", "reduce_mean", "slice", "gather", "batchnorm",
               "layer_normalization"):
        assert any(name.startswith(f"test_{op}") and why is None for name, why in outcome.items()), op
