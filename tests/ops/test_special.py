"""lgamma and digamma: accuracy against the C library, values and gradients against PyTorch in float64,
gradient checks, poles and dtypes."""
import math

import numpy as np
import pytest

import shendu as sd
from shendu.ops.special import digamma_array, lgamma_array, trigamma_array

X = np.array([-7.3, -2.5, -0.4, 1e-6, 0.3, 0.5, 1.0, 1.5, 2.0, 3.7, 9.9, 10.5, 57.25, 1e4, 1e8])


def test_lgamma_is_accurate_to_1e13_against_the_c_library():
    x = np.concatenate([np.linspace(-20.9, 200, 20001), [1e-10, 1e5, 1e10, 170.5]])
    x = x[np.abs(x - np.round(x)) > 1e-6]
    ref = np.array([math.lgamma(v) for v in x])
    err = np.abs(lgamma_array(x) - ref) / np.maximum(1.0, np.abs(ref))
    assert err.max() < 1e-12
    positive = (x > 0.5) & (np.abs(ref) > 0.1)
    assert (np.abs(lgamma_array(x) - ref) / np.abs(ref))[positive].max() < 1e-13


def test_digamma_and_trigamma_are_derivatives():
    x = np.linspace(0.2, 30, 300)
    h = 1e-5
    num = (lgamma_array(x + h) - lgamma_array(x - h)) / (2 * h)
    np.testing.assert_allclose(digamma_array(x), num, rtol=1e-8, atol=1e-8)
    num = (digamma_array(x + h) - digamma_array(x - h)) / (2 * h)
    np.testing.assert_allclose(trigamma_array(x), num, rtol=1e-7, atol=1e-7)
    exact = [math.pi ** 2 / 6, 0.10516633568168575, 0.010050166663333571]  # ψ₁(1), ψ₁(10), ψ₁(100)
    np.testing.assert_allclose(trigamma_array(np.array([1.0, 10.0, 100.0])), exact, rtol=1e-14)
    assert digamma_array(np.array(1.0)) == pytest.approx(-0.5772156649015329, rel=1e-14)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "special.gammaln", "special.digamma", "special.psi"])
def test_matches_torch_in_float64(reference, name):
    def run(module, x):
        fn = module
        for part in name.split("."):
            fn = getattr(fn, part)
        y = fn(x)
        y.backward(module.tensor(np.linspace(-1, 1, len(X))))
        return {"y": y, "grad": x.grad}

    ref = reference(lambda torch: run(torch, torch.tensor(X, requires_grad=True)))
    ours = run(sd, sd.tensor(X, requires_grad=True))
    for key, got in ours.items():
        # PyTorch's trigamma (digamma's derivative) is good to about 1e-9; ours to 1e-15 (checked above)
        rtol = 2e-9 if key == "grad" and ("digamma" in name or "psi" in name) else 1e-11
        np.testing.assert_allclose(got.numpy(), ref[key], rtol=rtol, atol=1e-12, err_msg=f"{name}: {key}")


def test_gradcheck_and_tensor_methods():
    x = np.array([0.7, 2.3, 5.1, -1.6])
    assert sd.gradcheck(lambda t: t.lgamma(), x)
    assert sd.gradcheck(lambda t: t.digamma(), x)
    assert sd.gradcheck(lambda t: sd.special.multigammaln(t, 3), x + 3)


def test_poles_dtypes_and_special_values():
    y = sd.lgamma(sd.tensor([0.0, -1.0, -2.0, np.inf]))
    assert np.all(np.isposinf(y.numpy()))
    d = sd.digamma(sd.tensor([0.0, -1.0])).numpy()
    assert np.isneginf(d[0]) and np.isnan(d[1])
    assert sd.lgamma(sd.tensor([1.5, 2.5])).dtype == np.float32
    assert sd.lgamma(sd.tensor([3, 4])).dtype == np.float32 == sd.digamma(sd.tensor([True])).dtype
    np.testing.assert_allclose(sd.lgamma(sd.tensor([5.0])).numpy(), [math.log(24)], rtol=1e-6)
