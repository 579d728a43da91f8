"""Run onnx's own operator test cases (``onnx.backend.test.case.node``) through shendu's importer.

Each case is a one-node model with inputs and the expected outputs computed by onnx's reference code.
A case is *runnable* when every op it uses is registered for its opset and its inputs and outputs are
plain tensors; ``run_case`` loads it with :func:`shendu.onnx.load`, feeds the inputs and compares every
output's shape, dtype and values (the case's own rtol/atol).
"""
import warnings

import numpy as np


def collect_cases():
    """Every node test case onnx ships (generated in memory, a few seconds)."""
    from onnx.backend.test.case.node import collect_testcases
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return collect_testcases(None)


def _opset(model):
    return next((i.version for i in model.opset_import if i.domain in ("", "ai.onnx")), 1)


def runnable(case):
    """Whether every op of ``case`` is registered and its data are plain tensors."""
    from ._ops import lookup
    model = case.model
    opset = max(_opset(model), 9)
    if any(n.domain not in ("", "ai.onnx") or lookup(n.op_type, opset) is None for n in model.graph.node):
        return False
    for inputs, outputs in case.data_sets or ():
        for v in list(inputs) + list(outputs):
            if not isinstance(v, np.ndarray) or v.dtype.kind not in "biuf":
                return False
    return bool(case.data_sets)


def run_case(case):
    """Run one case; None when it passes, else a one-line reason."""
    from ._import import load
    try:
        module = load(case.model)
    except Exception as exc:
        return f"load: {type(exc).__name__}: {exc}"[:300]
    for inputs, expected in case.data_sets:
        try:
            with np.errstate(all="ignore"):
                got = module(*inputs)
        except Exception as exc:
            return f"run: {type(exc).__name__}: {exc}"[:300]
        got = got if isinstance(got, tuple) else (got,)
        if len(got) < len(expected):
            return f"{len(got)} outputs, expected {len(expected)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            g = g.numpy()
            if g.shape != e.shape:
                return f"output {i}: shape {g.shape}, expected {e.shape}"
            if g.dtype != e.dtype:
                return f"output {i}: dtype {g.dtype}, expected {e.dtype}"
            try:
                np.testing.assert_allclose(g, e, rtol=case.rtol, atol=case.atol, equal_nan=True)
            except AssertionError:
                err = np.max(np.abs(g.astype(np.float64) - e.astype(np.float64))) if g.size else 0.0
                return f"output {i}: max abs error {err:.3g} (rtol {case.rtol}, atol {case.atol})"
    return None


def run_all(cases=None):
    """``(results, skipped)``: results maps each runnable case's name to None (pass) or its reason."""
    cases = collect_cases() if cases is None else cases
    results, skipped = {}, []
    for case in cases:
        if case.kind != "node" or not runnable(case):
            skipped.append(case.name)
            continue
        results[case.name] = run_case(case)
    return results, skipped
