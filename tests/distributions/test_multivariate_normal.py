"""MultivariateNormal against torch.distributions: values and gradients in float64 for each
parameterisation, KL, rsample, sampling statistics, gradient checks and argument checks."""
import numpy as np
import pytest

import shendu as sd
import shendu.distributions as D

R = np.random.default_rng(5)
_M = R.standard_normal((2, 3, 3))
COV = np.ascontiguousarray(_M @ _M.transpose(0, 2, 1) + np.eye(3))
_N = R.standard_normal((3, 3))
COV2 = _N @ _N.T + 0.5 * np.eye(3)
LOC, LOC2 = R.standard_normal(3), R.standard_normal((2, 3))
X = R.standard_normal((4, 2, 3))
MATRIX = {"covariance_matrix": COV, "precision_matrix": COV, "scale_tril": np.linalg.cholesky(COV)}


def _sym(m, a):
    return 0.5 * (a + a.transpose(-1, -2))


@pytest.mark.parametrize("kind", sorted(MATRIX))
def test_values_and_gradients_match_torch(reference, kind):
    def run(module, TD):
        loc = module.tensor(LOC, requires_grad=True)
        mat = module.tensor(MATRIX[kind], requires_grad=True)
        arg = mat.tril() if kind == "scale_tril" else _sym(module, mat)
        d = TD.MultivariateNormal(loc, **{kind: arg})
        lp, h = d.log_prob(module.tensor(X)), d.entropy()
        out = {"log_prob": lp, "entropy": h, "mean": d.mean, "variance": d.variance,
               "covariance": d.covariance_matrix, "precision": d.precision_matrix}
        (lp.sum() + h.sum() + d.variance.sum()).backward()
        out.update({"grad.loc": loc.grad, "grad.matrix": mat.grad})
        return out

    def torch_side(torch):
        import torch.distributions as TD
        return run(torch, TD)

    ref = reference(torch_side)
    for key, got in run(sd, D).items():
        np.testing.assert_allclose(got.numpy(), ref[key], rtol=1e-9, atol=1e-11, err_msg=f"{kind}: {key}")


def test_kl_divergence_matches_torch(reference):
    def run(module, TD):
        a = [module.tensor(v, requires_grad=True) for v in (LOC, COV, LOC2, COV2)]
        p = TD.MultivariateNormal(a[0], covariance_matrix=_sym(module, a[1]))
        q = TD.MultivariateNormal(a[2], covariance_matrix=_sym(module, a[3]))
        kl = TD.kl_divergence(p, q)
        kl.sum().backward()
        return {"kl": kl, **{f"grad.{i}": t.grad for i, t in enumerate(a)}}

    def torch_side(torch):
        import torch.distributions as TD
        return run(torch, TD)

    ref = reference(torch_side)
    for key, got in run(sd, D).items():
        np.testing.assert_allclose(got.numpy(), ref[key], rtol=1e-9, atol=1e-11, err_msg=key)


def test_gradcheck_log_prob_and_entropy():
    def f(loc, cov):
        d = D.MultivariateNormal(loc, covariance_matrix=0.5 * (cov + cov.transpose(-1, -2)))
        return d.log_prob(sd.tensor(X)).sum() + d.entropy().sum()

    assert sd.gradcheck(f, LOC, COV)


def test_rsample_and_sample_statistics():
    loc = sd.tensor(LOC, requires_grad=True)
    d = D.MultivariateNormal(loc, covariance_matrix=sd.tensor(COV2))
    sd.manual_seed(0)
    x = d.rsample((2,))
    assert x.shape == (2, 3) and x.requires_grad
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), np.full(3, 2.0))
    sd.manual_seed(3)
    draws = d.sample((40000,)).numpy()
    assert not d.sample().requires_grad and d.batch_shape == () and d.event_shape == (3,)
    np.testing.assert_allclose(draws.mean(0), LOC, atol=0.05)
    np.testing.assert_allclose(np.cov(draws.T), COV2, atol=0.1 * np.abs(COV2).max())
    batched = D.MultivariateNormal(sd.tensor(LOC2), scale_tril=sd.tensor(np.linalg.cholesky(COV)))
    assert batched.batch_shape == (2,) and batched.sample((5,)).shape == (5, 2, 3)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="exactly one of covariance_matrix"):
        D.MultivariateNormal(sd.zeros(2))
    with pytest.raises(ValueError, match="covariance_matrix must be symmetric positive-definite"):
        D.MultivariateNormal(sd.zeros(2), covariance_matrix=sd.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="scale_tril must be lower triangular"):
        D.MultivariateNormal(sd.zeros(2), scale_tril=sd.tensor([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(sd.ShapeError, match="loc has k = 2"):
        D.MultivariateNormal(sd.zeros(2), covariance_matrix=sd.eye(3))
    with pytest.raises(sd.ShapeError, match="event size 2"):
        D.MultivariateNormal(sd.zeros(2), covariance_matrix=sd.eye(2)).log_prob(sd.zeros(3))
