"""shendu.distributions against torch.distributions: values and parameter gradients in float64,
gradient checks, sampling statistics, argument checks and KL divergences."""
import numpy as np
import pytest

import shendu as sd
import shendu.distributions as D

R = np.random.default_rng(0)
LOGITS = R.standard_normal((4, 3))
PROBS = R.random((4, 3)) + 0.1
P01 = R.random(5) * 0.8 + 0.1
LOC, SCALE = R.standard_normal(5), R.random(5) + 0.5
LOW = R.standard_normal(5)
HIGH = LOW + R.random(5) + 0.5

# name: (class name, parameters {keyword: array}, a value to score, extra constructor args)
CASES = {
    "normal": ("Normal", {"loc": LOC, "scale": SCALE}, R.standard_normal(5), ()),
    "uniform": ("Uniform", {"low": LOW, "high": HIGH}, LOW + 0.3 * (HIGH - LOW), ()),
    "bernoulli_probs": ("Bernoulli", {"probs": P01}, np.array([0.0, 1, 1, 0, 1]), ()),
    "bernoulli_logits": ("Bernoulli", {"logits": LOC}, np.array([1.0, 0, 1, 0, 0]), ()),
    "categorical_logits": ("Categorical", {"logits": LOGITS}, np.array([0, 2, 1, 2]), ()),
    "categorical_probs": ("Categorical", {"probs": PROBS}, np.array([1, 1, 0, 2]), ()),
    "onehot": ("OneHotCategorical", {"logits": LOGITS}, np.eye(3)[[2, 0, 0, 1]], ()),
}


def _build(module, cls, params, tensors):
    return getattr(module, cls)(**{k: tensors[k] for k in params})


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_and_gradients_match_torch(reference, case):
    cls, params, value, _ = CASES[case]
    stats = ("mean", "variance") if cls != "Categorical" else ()

    def run(module, make):
        tensors = {k: make(v) for k, v in params.items()}
        d = _build(module, cls, params, tensors)
        lp, h = d.log_prob(make_value(module, value)), d.entropy()
        out = {"log_prob": lp, "entropy": h}
        out.update({s: getattr(d, s) for s in stats})
        (lp.sum() + 0.5 * h.sum()).backward()
        out.update({f"grad.{k}": t.grad for k, t in tensors.items()})
        return out

    def make_value(module, v):
        if module is D:
            return sd.tensor(v)
        import torch
        return torch.tensor(v)

    def torch_side(torch):
        import torch.distributions as TD
        return run(TD, lambda v: torch.tensor(v, requires_grad=True))

    ref = reference(torch_side)
    ours = run(D, lambda v: sd.tensor(v, requires_grad=True))
    for key, got in ours.items():
        got = got.numpy() if hasattr(got, "numpy") else got
        np.testing.assert_allclose(got, ref[key], rtol=1e-10, atol=1e-12, err_msg=f"{case}: {key}")


@pytest.mark.parametrize("pair", ["normal", "categorical", "bernoulli", "uniform", "independent_normal", "onehot"])
def test_kl_divergence_matches_torch(reference, pair):
    p1 = {"normal": ("Normal", {"loc": LOC, "scale": SCALE}), "categorical": ("Categorical", {"logits": LOGITS}),
          "bernoulli": ("Bernoulli", {"probs": P01}), "uniform": ("Uniform", {"low": LOW, "high": HIGH}),
          "independent_normal": ("Normal", {"loc": LOC, "scale": SCALE}),
          "onehot": ("OneHotCategorical", {"logits": LOGITS})}[pair]
    p2_params = {k: (v[::-1].copy() if k != "high" else v[::-1] + 10) for k, v in p1[1].items()}
    if pair == "uniform":
        p2_params["low"] = LOW[::-1] - 10

    def run(module, make):
        a = {k: make(v) for k, v in p1[1].items()}
        b = {k: make(v) for k, v in p2_params.items()}
        p, q = getattr(module, p1[0])(**a), getattr(module, p1[0])(**b)
        if pair == "independent_normal":
            p, q = module.Independent(p, 1), module.Independent(q, 1)
        kl = module.kl_divergence(p, q)
        kl.sum().backward()
        out = {"kl": kl}
        out.update({f"grad.p.{k}": t.grad for k, t in a.items()})
        out.update({f"grad.q.{k}": t.grad for k, t in b.items()})
        return out

    def torch_side(torch):
        import torch.distributions as TD
        return run(TD, lambda v: torch.tensor(v, requires_grad=True))

    ref = reference(torch_side)
    ours = run(D, lambda v: sd.tensor(v, requires_grad=True))
    for key, got in ours.items():
        np.testing.assert_allclose(got.numpy(), ref[key], rtol=1e-10, atol=1e-12, err_msg=f"{pair}: {key}")


@pytest.mark.parametrize("case", ["normal", "bernoulli_logits", "categorical_logits", "uniform"])
def test_log_prob_and_entropy_gradcheck(case):
    cls, params, value, _ = CASES[case]
    names = list(params)

    def f(*arrays):
        d = getattr(D, cls)(**dict(zip(names, arrays)))
        return d.log_prob(sd.tensor(value)).sum() + d.entropy().sum()

    assert sd.gradcheck(f, *[params[k] for k in names])


def test_rsample_is_differentiable_and_sample_is_not():
    loc, scale = sd.tensor(LOC, requires_grad=True), sd.tensor(SCALE, requires_grad=True)
    d = D.Normal(loc, scale)
    sd.manual_seed(0)
    x = d.rsample((3,))
    assert x.shape == (3, 5) and x.requires_grad
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), np.full(5, 3.0))
    sd.manual_seed(0)
    eps = (x.detach().numpy() - LOC) / SCALE
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0), rtol=1e-10)
    assert not d.sample((2,)).requires_grad and d.sample().shape == (5,)
    assert D.Normal(0.0, 1.0).sample().dtype == np.float32


@pytest.mark.parametrize("make, mean, var", [
    (lambda: D.Normal(1.5, 2.0), 1.5, 4.0),
    (lambda: D.Uniform(-1.0, 3.0), 1.0, 16 / 12),
    (lambda: D.Bernoulli(0.3), 0.3, 0.21),
])
def test_sample_statistics(make, mean, var):
    sd.manual_seed(1)
    x = make().sample((40000,)).numpy()
    assert abs(x.mean() - mean) < 0.03 and abs(x.var() - var) < 0.05 * max(var, 1)


def test_categorical_samples_follow_probs_and_shapes():
    sd.manual_seed(2)
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]])
    d = D.Categorical(probs=sd.tensor(probs))
    x = d.sample((30000,)).numpy()
    assert x.shape == (30000, 2) and x.dtype == np.int64
    for row in range(2):
        np.testing.assert_allclose(np.bincount(x[:, row], minlength=3) / len(x), probs[row], atol=0.01)
    assert d.enumerate_support().shape == (3, 2)
    one_hot = D.OneHotCategorical(probs=sd.tensor(probs)).sample((4,))
    assert one_hot.shape == (4, 2, 3) and np.all(one_hot.numpy().sum(-1) == 1)
    ind = D.Independent(D.Normal(sd.zeros(4, 3), sd.ones(4, 3)), 1)
    assert ind.batch_shape == (4,) and ind.event_shape == (3,) and ind.log_prob(sd.zeros(4, 3)).shape == (4,)


def test_log_prob_broadcasts_over_a_sample_shape():
    d = D.Categorical(logits=sd.tensor(LOGITS))
    lp = d.log_prob(sd.tensor(np.array([[0, 1, 2, 0], [2, 2, 2, 2]])))
    assert lp.shape == (2, 4)
    expected = LOGITS - np.log(np.exp(LOGITS).sum(-1, keepdims=True))
    np.testing.assert_allclose(lp.numpy()[1], expected[:, 2], rtol=1e-12)


def test_arguments_are_checked_as_pytorch_checks_them():
    with pytest.raises(ValueError, match="Normal: scale must be positive"):
        D.Normal(0.0, -1.0)
    with pytest.raises(ValueError, match="exactly one of probs or logits"):
        D.Categorical()
    with pytest.raises(ValueError, match="Bernoulli: probs must lie in"):
        D.Bernoulli(1.5)
    with pytest.raises(ValueError, match=r"value must lie in \[0, 3\)"):
        D.Categorical(logits=sd.tensor(LOGITS)).log_prob(sd.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="Uniform: value must lie"):
        D.Uniform(0.0, 1.0).log_prob(sd.tensor(2.0))
    assert D.Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0
    with pytest.raises(NotImplementedError, match="Normal and Categorical"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Categorical(logits=sd.tensor(LOGITS)))


def test_policy_gradient_step_moves_probability_to_the_rewarded_action():
    import shendu.nn as nn
    import shendu.optim as optim

    sd.manual_seed(0)
    policy = nn.Linear(2, 3)
    opt = optim.Adam(policy.parameters(), lr=0.05)
    obs = sd.tensor(np.ones((16, 2), np.float32))
    for _ in range(50):
        pi = D.Categorical(logits=policy(obs))
        action = pi.sample()
        reward = sd.tensor((action.numpy() == 1).astype(np.float32))
        loss = -(pi.log_prob(action) * reward).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert D.Categorical(logits=policy(obs)).probs.numpy()[0, 1] > 0.9
