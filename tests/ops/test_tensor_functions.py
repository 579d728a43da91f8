"""Tensor functions PyTorch programs call (log1p, expm1, tril/triu, narrow, norm, new_*, multinomial):
values and gradients against PyTorch in float64, gradient checks, and sampling statistics."""
import numpy as np
import pytest

import shendu as sd

R = np.random.default_rng(7)
A = R.standard_normal((3, 4))
POS = R.random((3, 4)) + 0.1

# name: (function of a tensor module and a tensor, the input)
CASES = {
    "log1p": (lambda m, x: x.log1p(), POS),
    "expm1": (lambda m, x: x.expm1(), A),
    "tril": (lambda m, x: x.tril(), A),
    "tril_k1": (lambda m, x: m.tril(x, 1), A),
    "triu_km1": (lambda m, x: m.triu(x, -1), A),
    "narrow": (lambda m, x: x.narrow(1, 1, 2), A),
    "narrow_neg_dim": (lambda m, x: m.narrow(x, -2, 0, 2), A),
    "norm": (lambda m, x: x.norm(), A),
    "norm_dim": (lambda m, x: x.norm(dim=1), A),
    "norm_p1_keepdim": (lambda m, x: x.norm(p=1, dim=0, keepdim=True), A),
    "norm_p3": (lambda m, x: x.norm(p=3, dim=1), A),
    "norm_inf": (lambda m, x: x.norm(p=float("inf"), dim=1), A),
    "mm": (lambda m, x: m.mm(x, x.T), A),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_in_float64(reference, name):
    fn, a = CASES[name]
    g_seed = sum(map(ord, name))

    def run(module, x):
        y = fn(module, x)
        g = np.random.default_rng(g_seed).standard_normal(tuple(y.shape))
        y.backward(module.tensor(g))
        return {"y": y, "grad": x.grad}

    def torch_side(torch):
        return run(torch, torch.tensor(a, requires_grad=True))

    ref = reference(torch_side)
    ours = run(sd, sd.tensor(a, requires_grad=True))
    np.testing.assert_allclose(ours["y"].numpy().reshape(ref["y"].shape), ref["y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours["grad"].numpy(), ref["grad"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["log1p", "expm1", "tril_k1", "triu_km1", "narrow", "norm_dim", "norm_p3"])
def test_gradcheck(name):
    fn, a = CASES[name]
    assert sd.gradcheck(lambda x: fn(sd, x), a)


def test_new_factories_keep_dtype():
    x = sd.zeros(2, dtype=sd.float64)
    assert x.new_zeros(2, 3).dtype == np.float64 and x.new_zeros((2, 3)).shape == (2, 3)
    assert x.new_ones(3).numpy().tolist() == [1.0, 1.0, 1.0]
    assert x.new_full((2,), 7).dtype == np.float64 and x.new_full((2,), 7).numpy().tolist() == [7.0, 7.0]
    assert x.new_tensor([1, 2]).dtype == np.float64 and x.new_empty(4).shape == (4,)
    assert x.new_zeros(2, dtype=sd.int64).dtype == np.int64


def test_multinomial_draws_in_proportion():
    sd.manual_seed(0)
    w = sd.tensor([0.1, 0.2, 0.7])
    x = sd.multinomial(w, 20000, replacement=True).numpy()
    np.testing.assert_allclose(np.bincount(x, minlength=3) / len(x), [0.1, 0.2, 0.7], atol=0.015)
    rows = sd.tensor([[1.0, 0.0, 1.0, 2.0], [0.0, 0.0, 5.0, 1.0]])
    draws = rows.multinomial(2)
    assert draws.shape == (2, 2) and draws.dtype == np.int64
    for row, d in zip(rows.numpy(), draws.numpy()):
        assert len(set(d)) == 2 and all(row[i] > 0 for i in d)
    first = np.array([sd.multinomial(sd.tensor([1.0, 3.0]), 1).item() for _ in range(4000)])
    assert abs(first.mean() - 0.75) < 0.03          # without replacement, the first draw is still ∝ w
    with pytest.raises(ValueError, match="without replacement"):
        sd.multinomial(sd.tensor([1.0, 0.0]), 2)
    with pytest.raises(ValueError, match="non-negative"):
        sd.multinomial(sd.tensor([1.0, -1.0]), 1)
