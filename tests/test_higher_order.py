"""Higher-order gradients: ``create_graph=True``, second-order gradchecks, Hessians against PyTorch."""
import numpy as np
import pytest

import shendu as sd
from shendu import nn
from shendu.autograd import functional as AF
from shendu.autograd import grad


def _first_derivative(f, seed=1):
    """x ↦ ∂(Σ r ⊙ f(x))/∂x, computed with create_graph=True, so gradcheck checks its own derivative."""

    def df(*xs):
        with sd.enable_grad():
            out = f(*xs)
            r = np.random.default_rng(seed).standard_normal(out.shape)
            wrt = [x for x in xs if isinstance(x, sd.Tensor) and x.requires_grad]
            return grad((out * sd.Tensor(r)).sum(), wrt, create_graph=True, allow_unused=True,
                        materialize_grads=True)
    return df


def _rand(*shape, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed + len(shape)).uniform(low, high, shape)


POS = dict(low=0.5, high=2.0)
UNARY = {
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
    "log1p": lambda a: a.log1p(),
    "expm1": lambda a: a.expm1(),
    "sqrt": lambda a: a.sqrt(),
    "sin": lambda a: a.sin(),
    "cos": lambda a: a.cos(),
    "abs": lambda a: abs(a) * a,
    "neg_pow": lambda a: (-a) ** 3,
    "rpow": lambda a: 2.0 ** a,
    "clip": lambda a: a.clip(0.7, 1.5) * a,
    "sigmoid": lambda a: a.sigmoid(),
    "tanh": lambda a: a.tanh(),
    "relu": lambda a: a.relu() * a,
    "leaky_relu": lambda a: sd.ops.leaky_relu(a, 0.1) * a,
    "elu": lambda a: sd.ops.elu(a - 1.2, 0.7),
    "gelu": lambda a: sd.ops.gelu(a - 1.2),
    "gelu_tanh": lambda a: sd.ops.gelu(a - 1.2, approximate="tanh"),
    "softplus": lambda a: sd.ops.softplus(a - 1.2, beta=2.0),
    "softmax": lambda a: sd.softmax(a, axis=1),
    "log_softmax": lambda a: sd.log_softmax(a, axis=0),
    "sum": lambda a: a.sum(axis=1, keepdims=True) * a,
    "mean": lambda a: a.mean(axis=0) ** 2,
    "max": lambda a: a.max(axis=1) * a.sum(),
    "min": lambda a: sd.min(a, axis=0) * a.sum(),
    "var": lambda a: sd.ops.var(a, axis=1, ddof=1),
    "std": lambda a: sd.ops.std(a, axis=0),
    "logsumexp": lambda a: sd.logsumexp(a, axis=1),
    "reshape_transpose": lambda a: (a.reshape(4, 3).T * a.reshape(3, 4)) ** 2,
    "permute_broadcast": lambda a: a.permute(1, 0).broadcast_to((2, 4, 3)) ** 3,
    "tile": lambda a: a.repeat(2, 1) ** 2,
    "squeeze_unsqueeze": lambda a: a.unsqueeze(0).squeeze(0) ** 3,
    "cat_split": lambda a: sd.cat(sd.split(a * a, [1, 3], axis=1)[::-1], axis=1) * a,
    "stack": lambda a: sd.stack([a * a, a.exp()], axis=1),
    "pad_getitem": lambda a: sd.pad(a, ((1, 0), (0, 2))) ** 2 * 1.0 + (a[[0, 2, 0]] ** 3).sum(),
    "getitem_slice": lambda a: a[1:, ::2] ** 3,
    "tril": lambda a: sd.tril(a * a, diagonal=1),
    "cast": lambda a: (a.double() * a).to(sd.float64) ** 2,
    "clone_where": lambda a: sd.where(a.numpy() > 1.0, a.clone() ** 2, a ** 3),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_second_order_gradcheck_unary(name):
    assert sd.gradcheck(_first_derivative(UNARY[name]), _rand(3, 4, **POS), atol=1e-5, rtol=1e-3)


BINARY = {
    "add": lambda a, b: (a + b) ** 2,
    "sub": lambda a, b: (a - b) ** 3,
    "mul_broadcast": lambda a, b: a * b * a,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "maximum": lambda a, b: sd.maximum(a, b) * a * b,
    "minimum": lambda a, b: sd.minimum(a, b) * a * b,
    "matmul": lambda a, b: (a @ b.T) ** 2,
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_second_order_gradcheck_binary(name):
    b_shape = (1, 4) if name == "mul_broadcast" else (3, 4)
    assert sd.gradcheck(_first_derivative(BINARY[name]), _rand(3, 4, **POS), _rand(*b_shape, seed=5, **POS))


def test_second_order_gradcheck_matmul_vectors_and_batches():
    f = _first_derivative(lambda a, b, v: ((a @ b) @ v).tanh())
    assert sd.gradcheck(f, _rand(2, 3, 4), _rand(4, 5, seed=2), _rand(5, seed=3))


def test_second_order_gradcheck_linear():
    f = _first_derivative(lambda x, w, b: sd.ops.linear(x, w, b).tanh())
    assert sd.gradcheck(f, _rand(2, 3, 4), _rand(5, 4, seed=2), _rand(5, seed=3))


def test_third_derivative_of_a_power():
    x = sd.tensor(2.0, requires_grad=True, dtype=sd.float64)
    y = x ** 4
    (d1,) = grad(y, x, create_graph=True)
    (d2,) = grad(d1, x, create_graph=True)
    (d3,) = grad(d2, x)
    assert (d1.item(), d2.item(), d3.item()) == (32.0, 48.0, 48.0)


def test_backward_create_graph_fills_differentiable_grad():
    x = sd.tensor([1.0, 2.0], requires_grad=True, dtype=sd.float64)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    g = x.grad
    x.grad = None
    g.sum().backward()  # d/dx Σ 3x² = 6x
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_op_without_higher_order_support_names_itself():
    x = sd.tensor([[1.0, 2.0]], requires_grad=True)
    y = sd.ops.prod(x, axis=1)
    with pytest.raises(RuntimeError, match="create_graph: Prod does not support higher-order gradients yet"):
        grad(y.sum(), x, create_graph=True)


def test_create_graph_visits_only_what_leads_to_the_inputs():
    # the part of the graph in front of x_hat (Prod here) is not differentiated when asking for d/dx_hat
    z = sd.tensor([[1.0, 2.0]], requires_grad=True)
    x_hat = sd.ops.prod(z, axis=1, keepdims=True) * 1.0
    y = (x_hat ** 2).sum()
    (g,) = grad(y, x_hat, create_graph=True)
    np.testing.assert_allclose(g.numpy(), [[4.0]])


def _mlp_params(seed=0):
    rng = np.random.default_rng(seed)
    return {"w1": rng.standard_normal((5, 3)) * 0.5, "b1": rng.standard_normal(5) * 0.1,
            "w2": rng.standard_normal((2, 5)) * 0.5, "b2": rng.standard_normal(2) * 0.1,
            "x": rng.standard_normal((4, 3)), "y": rng.standard_normal((4, 2))}


def _mlp_loss(w1, b1, w2, b2, x, y, F):
    h = F.tanh(F.linear(x, w1, b1))
    return ((F.linear(h, w2, b2) - y) ** 2).mean()


def _hessian_shendu(p):
    import types
    F = types.SimpleNamespace(tanh=sd.tanh, linear=sd.ops.linear)
    x, y = sd.tensor(p["x"], dtype=sd.float64), sd.tensor(p["y"], dtype=sd.float64)
    params = tuple(sd.tensor(p[k], dtype=sd.float64) for k in ("w1", "b1", "w2", "b2"))
    return AF.hessian(lambda *ps: _mlp_loss(*ps, x, y, F), params)


def _hessian_torch(torch, p):
    import torch.nn.functional as F
    x, y = torch.tensor(p["x"]), torch.tensor(p["y"])
    params = tuple(torch.tensor(p[k]) for k in ("w1", "b1", "w2", "b2"))
    h = torch.autograd.functional.hessian(lambda *ps: _mlp_loss(*ps, x, y, F), params)
    return {f"h{i}{j}": h[i][j].numpy() for i in range(4) for j in range(4)}


def test_hessian_of_small_mlp_loss_matches_pytorch(reference):
    p = _mlp_params()
    ref = reference(lambda torch: _hessian_torch(torch, p))
    ours = _hessian_shendu(p)
    for i in range(4):
        for j in range(4):
            np.testing.assert_allclose(ours[i][j].numpy(), ref[f"h{i}{j}"].reshape(ours[i][j].shape),
                                       rtol=1e-7, atol=1e-10)


def test_hessian_is_symmetric_and_matches_finite_differences():
    p = _mlp_params(1)
    h = _hessian_shendu(p)
    w1 = h[0][0].numpy().reshape(15, 15)
    np.testing.assert_allclose(w1, w1.T, atol=1e-12)
    np.testing.assert_allclose(h[0][2].numpy().reshape(15, 10), h[2][0].numpy().reshape(10, 15).T, atol=1e-12)


def test_wgan_gp_gradient_penalty_trains():
    sd.manual_seed(0)
    rng = np.random.default_rng(0)
    critic = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = sd.optim.Adam(critic.parameters(), lr=1e-2)

    def penalty(real, fake):
        eps = sd.tensor(rng.uniform(size=(real.shape[0], 1)).astype(np.float32))
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (g,) = grad(critic(x_hat).sum(), x_hat, create_graph=True)
        return ((g.norm(dim=1) - 1) ** 2).mean()

    first = None
    for _ in range(60):
        real = sd.tensor(rng.normal(2.0, 0.3, (32, 2)).astype(np.float32))
        fake = sd.tensor(rng.normal(-1.0, 0.3, (32, 2)).astype(np.float32))
        gp = penalty(real, fake)
        loss = critic(fake).mean() - critic(real).mean() + 10 * gp
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = gp.item() if first is None else first
        wdist = (critic(real).mean() - critic(fake).mean()).item()
    assert wdist > 0.5                  # the critic separates real from fake ...
    assert penalty(real, fake).item() < 0.5 * max(first, 0.05) + 0.05   # ... with gradient norms near 1
    assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all() for p in critic.parameters())
