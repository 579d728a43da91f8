"""ONNX's own operator test cases (``onnx.backend.test.case.node``) run through the standalone export.

Every case whose graph uses only operators the generator writes is turned into a NumPy file and run on
the case's inputs; its outputs must equal the expected ones (the case's own tolerances, and the same
dtype). The cases that fail are refusals by design, named below: Cast to types NumPy has no dtype for,
training-mode BatchNorm/Dropout, MaxPool's argmax output, and sequence/optional values.
"""
import collections
import re
import tempfile
import warnings

import numpy as np
import pytest

from conftest import require

EXPECTED_REFUSALS = re.compile(
    r"test_cast.*(FLOAT8|FLOAT4|INT4|UINT4|INT2|UINT2|BFLOAT16|bf16)"       # no NumPy dtype
    r"|test_attention_.*bf16"
    r"|test_(batchnorm_.*|training_dropout.*)training_mode|test_training_dropout"  # training mode
    r"|test_maxpool_with_argmax"                                            # the Indices output
    r"|test_identity_(sequence|opt)")                                       # sequence / optional values


def _arrays(values):
    from onnx import TensorProto, numpy_helper

    return [numpy_helper.to_array(v) if isinstance(v, TensorProto) else v for v in values]


@pytest.mark.slow  # about 40 s: the whole onnx node suite
def test_onnx_node_test_cases_pass(capsys):
    require("onnx")
    from onnx.backend.test.case.node import collect_testcases

    import shendu.onnx as so
    from shendu.onnx._numpy import SUPPORTED_OPS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    counts, unexpected = collections.Counter(), []
    for case in cases:
        nodes = case.model.graph.node
        if any(n.op_type not in SUPPORTED_OPS or n.domain not in ("", "ai.onnx") for n in nodes):
            continue
        counts["tried"] += 1
        try:
            with tempfile.TemporaryDirectory() as folder, np.errstate(all="ignore"):
                result = so.to_numpy(case.model, None, folder, name="m")
                module = result.load()
                weights = module.load_weights(result.weights_path)
                for inputs, outputs in case.data_sets:
                    inputs, outputs = _arrays(inputs), _arrays(outputs)
                    got = module.run(weights, *inputs)
                    got = got if isinstance(got, tuple) else (got,)
                    for g, w in zip(got, outputs):
                        g = np.asarray(g)
                        assert g.dtype == w.dtype, f"dtype {g.dtype}, expected {w.dtype}"
                        np.testing.assert_allclose(g, w, rtol=case.rtol or 1e-3, atol=case.atol or 1e-7)
            counts["passed"] += 1
        except Exception as exc:  # noqa: BLE001 - every failure is collected and checked below
            counts["failed"] += 1
            if not EXPECTED_REFUSALS.search(case.name):
                unexpected.append(f"{case.name}: {type(exc).__name__}: {str(exc)[:200]}")
    with capsys.disabled():
        print(f"\nonnx node test cases through the standalone export: {counts['passed']} passed of "
              f"{counts['tried']} tried ({counts['failed']} refused by design)")
    assert not unexpected, "\n".join(unexpected)
    assert counts["passed"] >= 900
