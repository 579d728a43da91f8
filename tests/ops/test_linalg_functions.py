"""cholesky, solve_triangular and logdet: values and gradients against PyTorch in float64, gradient
checks and errors."""
import numpy as np
import pytest

import shendu as sd

R = np.random.default_rng(11)
_M = R.standard_normal((2, 3, 3))
SPD = np.ascontiguousarray(_M @ _M.transpose(0, 2, 1) + 2 * np.eye(3))
LOW = np.ascontiguousarray(np.linalg.cholesky(SPD))
UP = np.ascontiguousarray(LOW.transpose(0, 2, 1))
RHS = R.standard_normal((2, 3, 2))
RHS_T = np.ascontiguousarray(RHS.transpose(0, 2, 1))

CASES = {
    # PyTorch reads only the lower triangle of the input; symmetrising keeps the gradients comparable
    "cholesky": (lambda m, a, b: m.linalg.cholesky(0.5 * (a + a.transpose(-1, -2))), SPD, None),
    "cholesky_upper": (lambda m, a, b: m.linalg.cholesky(0.5 * (a + a.transpose(-1, -2)), upper=True), SPD, None),
    "logdet": (lambda m, a, b: m.logdet(a), SPD, None),
    "solve_lower": (lambda m, a, b: m.linalg.solve_triangular(a.tril(), b, upper=False), LOW, RHS),
    "solve_upper": (lambda m, a, b: m.linalg.solve_triangular(a.triu(), b, upper=True), UP, RHS),
    "solve_right": (lambda m, a, b: m.linalg.solve_triangular(a.triu(), b, upper=True, left=False), UP, RHS_T),
    "solve_unit": (lambda m, a, b: m.linalg.solve_triangular(a.tril(), b, upper=False, unitriangular=True),
                   LOW, RHS),
    "solve_broadcast": (lambda m, a, b: m.linalg.solve_triangular(a[0].tril(), b, upper=False), LOW, RHS),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_in_float64(reference, name):
    fn, a, b = CASES[name]

    def run(module):
        x = module.tensor(a, requires_grad=True)
        y_in = module.tensor(b, requires_grad=True) if b is not None else None
        y = fn(module, x, y_in)
        g = np.random.default_rng(sum(map(ord, name))).standard_normal(tuple(y.shape))
        y.backward(module.tensor(g))
        out = {"y": y, "grad.a": x.grad}
        if y_in is not None:
            out["grad.b"] = y_in.grad
        return out

    ref = reference(lambda torch: run(torch))
    for key, got in run(sd).items():
        np.testing.assert_allclose(got.numpy(), ref[key], rtol=1e-10, atol=1e-12, err_msg=f"{name}: {key}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    fn, a, b = CASES[name]
    if b is None:
        assert sd.gradcheck(lambda x: fn(sd, x, None), a)
    else:
        assert sd.gradcheck(lambda x, y: fn(sd, x, y), a, b)


def test_errors_name_the_operation_and_shapes():
    with pytest.raises(ValueError, match="cholesky: the input is not positive-definite"):
        sd.linalg.cholesky(sd.tensor(-np.eye(2)))
    with pytest.raises(sd.ShapeError, match=r"cholesky: expected square matrices .* \(2, 3\)"):
        sd.linalg.cholesky(sd.zeros(2, 3))
    with pytest.raises(sd.ShapeError, match=r"solve_triangular: B must be"):
        sd.linalg.solve_triangular(sd.eye(3), sd.zeros(2, 1), upper=False)
    assert np.isnan(sd.logdet(sd.tensor(np.diag([-1.0, 2.0]))).item())
