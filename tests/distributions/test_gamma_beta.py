"""Gamma and Beta against torch.distributions: values and parameter gradients in float64, KL
divergences, gradient checks, sampling statistics and argument checks."""
import numpy as np
import pytest

import shendu as sd
import shendu.distributions as D

R = np.random.default_rng(3)
A, B = R.random(5) * 3 + 0.2, R.random(5) * 2 + 0.3
A2, B2 = R.random(5) * 3 + 0.2, R.random(5) * 2 + 0.3

CASES = {
    "gamma": ("Gamma", {"concentration": A, "rate": B}, R.random(5) * 4 + 0.05),
    "beta": ("Beta", {"concentration1": A, "concentration0": B}, R.random(5) * 0.9 + 0.05),
}


def _run(module, cls, params, value, make):
    """``make`` builds a parameter tensor that requires a gradient; values are built with ``make`` too."""
    tensors = {k: make(v) for k, v in params.items()}
    d = getattr(module, cls)(**tensors)
    lp, h = d.log_prob(make(value).detach()), d.entropy()
    out = {"log_prob": lp, "entropy": h, "mean": d.mean, "variance": d.variance}
    (lp.sum() + 0.5 * h.sum() + d.mean.sum() + d.variance.sum()).backward()
    out.update({f"grad.{k}": t.grad for k, t in tensors.items()})
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_and_gradients_match_torch(reference, case):
    cls, params, value = CASES[case]

    def torch_side(torch):
        import torch.distributions as TD
        return _run(TD, cls, params, value, lambda v: torch.tensor(v, requires_grad=True))

    ref = reference(torch_side)
    ours = _run(D, cls, params, value, lambda v: sd.tensor(v, requires_grad=True))
    for key, got in ours.items():
        # the entropy's gradient goes through trigamma, which PyTorch computes to about 1e-9
        np.testing.assert_allclose(got.numpy(), ref[key], rtol=1e-8 if "grad" in key else 1e-11,
                                   atol=1e-12, err_msg=f"{case}: {key}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_kl_divergence_matches_torch(reference, case):
    cls, params, _ = CASES[case]
    other = dict(zip(params, (A2, B2)))

    def run(module, make):
        a = {k: make(v) for k, v in params.items()}
        b = {k: make(v) for k, v in other.items()}
        kl = module.kl_divergence(getattr(module, cls)(**a), getattr(module, cls)(**b))
        kl.sum().backward()
        out = {"kl": kl}
        out.update({f"grad.p.{k}": t.grad for k, t in a.items()})
        out.update({f"grad.q.{k}": t.grad for k, t in b.items()})
        return out

    def torch_side(torch):
        import torch.distributions as TD
        return run(TD, lambda v: torch.tensor(v, requires_grad=True))

    ref = reference(torch_side)
    for key, got in run(D, lambda v: sd.tensor(v, requires_grad=True)).items():
        np.testing.assert_allclose(got.numpy(), ref[key], rtol=1e-8, atol=1e-12, err_msg=f"{case}: {key}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradcheck(case):
    cls, params, value = CASES[case]
    names = list(params)

    def f(*arrays):
        d = getattr(D, cls)(**dict(zip(names, arrays)))
        return d.log_prob(sd.tensor(value)).sum() + d.entropy().sum()

    assert sd.gradcheck(f, *[params[k] for k in names])


@pytest.mark.parametrize("make, mean, var", [
    (lambda: D.Gamma(2.5, 1.5), 2.5 / 1.5, 2.5 / 1.5 ** 2),
    (lambda: D.Beta(2.0, 5.0), 2 / 7, 10 / (49 * 8)),
])
def test_sample_statistics(make, mean, var):
    sd.manual_seed(1)
    d = make()
    x = d.sample((40000,)).numpy()
    assert x.dtype == np.float32 and not d.sample().requires_grad
    assert abs(x.mean() - mean) < 0.02 * max(mean, 1) and abs(x.var() - var) < 0.05 * var
    assert D.Gamma(sd.ones(2, 3), 1.0).sample((4,)).shape == (4, 2, 3)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="Gamma: concentration must be positive"):
        D.Gamma(-1.0, 1.0)
    with pytest.raises(ValueError, match="Gamma: rate must be positive"):
        D.Gamma(1.0, 0.0)
    with pytest.raises(ValueError, match="Beta: concentration0 must be positive"):
        D.Beta(1.0, -2.0)
    with pytest.raises(ValueError, match=r"Beta: value must lie in \(0, 1\)"):
        D.Beta(1.0, 2.0).log_prob(sd.tensor(1.5))
    with pytest.raises(ValueError, match="Gamma: value must be positive"):
        D.Gamma(1.0, 2.0).log_prob(sd.tensor(-1.0))
    with pytest.raises(NotImplementedError, match="rsample"):
        D.Gamma(1.0, 1.0).rsample()
