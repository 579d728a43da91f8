"""Losses: values and gradients against PyTorch, numerical gradient checks, Keras's formulas."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
import shendu.nn.functional as F
from shendu.errors import ShapeError

REDUCTIONS = ["mean", "sum", "none"]


def _torch_kw(torch, kw):
    """The keyword arguments for PyTorch: array-valued ones (weight, pos_weight) as tensors."""
    return {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}


def _check(reference, rng, ours, torch_loss, inputs, compare=None, rtol=1e-6, atol=1e-8):
    """Compare a shendu loss with PyTorch's, back-propagate the same random upstream gradient, compare
    input gradients.

    ``inputs`` maps names to arrays; each becomes a tensor that requires grad, passed by name to
    ``ours(**tensors)`` and ``torch_loss(torch, **tensors)``. ``compare`` names the inputs whose gradients
    are compared (all of them by default).
    """
    compare = list(inputs) if compare is None else list(compare)
    xs = {k: sd.Tensor(np.array(v), requires_grad=True) for k, v in inputs.items()}
    ls = ours(**xs)
    g = rng.standard_normal(tuple(ls.shape)).astype(ls.dtype)

    def torch_side(torch):
        xt = {k: torch.tensor(np.array(v), requires_grad=True) for k, v in inputs.items()}
        lt = torch_loss(torch, **xt)
        lt.backward(torch.tensor(g))
        # the shape goes separately: the recording keeps a 0-d loss as shape (1,)
        return {"loss": lt, "loss.shape": np.array(lt.shape, dtype=np.int64),
                **{f"grad.{k}": xt[k].grad for k in compare}}

    ref = reference(torch_side)
    shape = tuple(int(n) for n in ref["loss.shape"])
    assert tuple(ls.shape) == shape, f"loss shape {tuple(ls.shape)}, PyTorch's {shape}"
    np.testing.assert_allclose(ls.numpy(), ref["loss"].reshape(shape), rtol=rtol, atol=atol)
    ls.backward(sd.Tensor(g))
    for k in compare:
        np.testing.assert_allclose(xs[k].grad.numpy(), ref[f"grad.{k}"], rtol=rtol, atol=atol, err_msg=k)


# ----- cross-entropy ---------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 5), (3, 5, 4, 2), (5,)])
@pytest.mark.parametrize("opts", [{}, {"weight": True}, {"label_smoothing": 0.2},
                                  {"weight": True, "label_smoothing": 0.1, "ignore_index": 2}])
def test_cross_entropy_index_targets_match_torch(reference, rng, shape, reduction, opts):
    x = rng.standard_normal(shape)
    t = rng.integers(0, 5, shape[:1] + shape[2:] if len(shape) > 1 else ())
    if t.ndim:
        t.flat[0] = 2
    w = rng.random(5) + 0.5
    kw = dict(opts)
    if opts.get("weight"):
        kw["weight"] = w

    def torch_loss(torch, x):
        return torch.nn.CrossEntropyLoss(reduction=reduction, **_torch_kw(torch, kw))(x, torch.tensor(t))

    _check(reference, rng, lambda x: nn.CrossEntropyLoss(reduction=reduction, **kw)(x, t), torch_loss, {"x": x})


@pytest.mark.parametrize("opts", [{}, {"weight": True}, {"label_smoothing": 0.3}])
@pytest.mark.parametrize("shape", [(6, 4), (2, 4, 3)])
def test_cross_entropy_probability_targets_match_torch(reference, rng, shape, opts):
    x = rng.standard_normal(shape)
    p = rng.random(shape)
    p /= p.sum(axis=1, keepdims=True)
    w = rng.random(4) + 0.5
    kw = dict(opts)
    if opts.get("weight"):
        kw["weight"] = w

    def torch_loss(torch, x, p):
        return torch.nn.functional.cross_entropy(x, p, **_torch_kw(torch, kw))

    _check(reference, rng, lambda x, p: F.cross_entropy(x, p, **kw), torch_loss, {"x": x, "p": p})


def test_cross_entropy_float32_and_is_one_fused_function(reference, rng):
    x = rng.standard_normal((32, 10)).astype(np.float32)
    t = rng.integers(0, 10, 32)

    def ours(x):
        loss = F.cross_entropy(x, sd.tensor(t))
        assert loss.dtype == np.float32
        assert type(loss.grad_fn).__name__ == "CrossEntropy"
        assert loss.grad_fn.inputs[0] is x
        return loss

    def torch_loss(torch, x):
        return torch.nn.functional.cross_entropy(x, torch.tensor(t))

    _check(reference, rng, ours, torch_loss, {"x": x}, rtol=1e-5, atol=1e-6)


def test_cross_entropy_stable_for_huge_logits():
    x = sd.tensor([[1000.0, -1000.0, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, [1])
    loss.backward()
    assert np.isfinite(loss.item()) and abs(loss.item() - 2000.0) < 1e-3
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, -1.0, 0.0]], atol=1e-6)


def test_cross_entropy_clear_errors():
    x = sd.randn(4, 3)
    with pytest.raises(IndexError, match="out of bounds for 3 classes"):
        F.cross_entropy(x, [0, 1, 3, 0])
    with pytest.raises(TypeError, match="integers"):
        F.cross_entropy(x, np.array([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(ShapeError, match="expected \\(4,\\)"):
        F.cross_entropy(x, [0, 1])
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, [0, 1, 2, 0], reduction="avg")


def test_cross_entropy_gradcheck(rng):
    t = rng.integers(0, 4, 5)
    w = rng.random(4) + 0.5
    x = rng.standard_normal((5, 4))
    p = rng.random((5, 4))
    for kw in [{}, {"weight": w, "label_smoothing": 0.2}, {"ignore_index": int(t[0]), "reduction": "sum"}]:
        assert sd.gradcheck(lambda a, kw=kw: F.cross_entropy(a, t, **kw), x)
    assert sd.gradcheck(lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), x, p)
    x4 = rng.standard_normal((2, 3, 2, 2))
    t4 = rng.integers(0, 3, (2, 2, 2))
    assert sd.gradcheck(lambda a: F.cross_entropy(a, t4, reduction="none"), x4)


# ----- NLL, BCE, regression, KL ----------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_matches_torch(reference, rng, reduction):
    x = rng.standard_normal((7, 4, 3))
    t = rng.integers(0, 4, (7, 3))
    t[0, 0] = 1
    w = rng.random(4) + 0.2

    def torch_loss(torch, x):
        return torch.nn.NLLLoss(weight=torch.tensor(w), ignore_index=1, reduction=reduction)(x, torch.tensor(t))

    _check(reference, rng, lambda x: nn.NLLLoss(weight=w, ignore_index=1, reduction=reduction)(x, t),
           torch_loss, {"x": x})
    assert sd.gradcheck(lambda a: F.nll_loss(a, t, weight=w, reduction=reduction), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_matches_torch(reference, rng, reduction):
    p = rng.random((6, 3)) * 0.98 + 0.01
    p[0, 0], p[0, 1] = 0.0, 1.0  # clamped logs: finite
    y = (rng.random((6, 3)) > 0.5).astype(float)
    y[0, 0], y[0, 1] = 1.0, 0.0
    w = rng.random(3) + 0.5

    def torch_loss(torch, p):
        return torch.nn.BCELoss(weight=torch.tensor(w), reduction=reduction)(p, torch.tensor(y))

    _check(reference, rng, lambda p: nn.BCELoss(weight=w, reduction=reduction)(p, y), torch_loss, {"p": p})


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_torch(reference, rng, reduction):
    x = rng.standard_normal((6, 3)) * 5
    x[0, 0], x[0, 1] = 500.0, -500.0
    y = rng.random((6, 3))
    w, pw = rng.random(3) + 0.5, rng.random(3) + 0.5

    def torch_loss(torch, x, y):
        return torch.nn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(pw),
                                          reduction=reduction)(x, y)

    _check(reference, rng, lambda x, y: nn.BCEWithLogitsLoss(weight=w, pos_weight=pw, reduction=reduction)(x, y),
           torch_loss, {"x": x, "y": y})


@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_match_torch(reference, rng, name, reduction):
    x, y = rng.standard_normal((5, 4)) * 2, rng.standard_normal((5, 4))
    kwargs = {"SmoothL1Loss": {"beta": 0.7}, "HuberLoss": {"delta": 1.5}}.get(name, {})

    def torch_loss(torch, x, y):
        return getattr(torch.nn, name)(reduction=reduction, **kwargs)(x, y)

    _check(reference, rng, lambda x, y: getattr(nn, name)(reduction=reduction, **kwargs)(x, y), torch_loss,
           {"x": x, "y": y})


@pytest.mark.filterwarnings("ignore:reduction")
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reference, rng, reduction, log_target):
    x = np.log(rng.dirichlet(np.ones(4), 5))
    y = rng.dirichlet(np.ones(4), 5)
    y[0, 0] = 0.0
    if log_target:
        y = np.log(y + 0.1)

    def torch_loss(torch, x, y):
        return torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, y)

    # at y = 0 the target gradient log y + 1 − x is −∞ (PyTorch gives nan); compare it only for log targets
    _check(reference, rng, lambda x, y: nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, y),
           torch_loss, {"x": x, "y": y}, compare=["x"] + ["y"] * log_target)


def test_loss_gradchecks(rng):
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    p = rng.random((4, 3)) * 0.8 + 0.1
    b = (rng.random((4, 3)) > 0.5).astype(float)
    assert sd.gradcheck(lambda a, c: F.mse_loss(a, c), x, y)
    assert sd.gradcheck(lambda a, c: F.l1_loss(a, c, reduction="sum"), x, y)
    assert sd.gradcheck(lambda a, c: F.smooth_l1_loss(a, c, beta=0.5), x, y)
    assert sd.gradcheck(lambda a, c: F.huber_loss(a, c, delta=0.8, reduction="none"), x, y)
    assert sd.gradcheck(lambda a: F.binary_cross_entropy(a, b, weight=np.array([1.0, 2.0, 0.5])), p)
    assert sd.gradcheck(lambda a, c: F.binary_cross_entropy_with_logits(a, c, pos_weight=np.array([2.0, 1.0, 3.0])),
                        x, p)
    q = np.log(rng.dirichlet(np.ones(3), 4))
    assert sd.gradcheck(lambda a, c: F.kl_div(a, c, reduction="batchmean"), q, p)
    assert sd.gradcheck(lambda a, c: F.kl_div(a, c, reduction="sum", log_target=True), q, np.log(p))


def test_shape_mismatch_warnings_and_errors():
    with pytest.warns(UserWarning, match="broadcast"):
        F.mse_loss(sd.randn(4, 1), sd.randn(4))
    with pytest.raises(ShapeError, match="target shape"):
        F.binary_cross_entropy_with_logits(sd.randn(4, 1), sd.rand(4))
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        F.binary_cross_entropy(sd.tensor([0.5, 1.5]), sd.tensor([0.0, 1.0]))


def test_loss_accepts_numpy_and_keeps_float32(rng):
    x = rng.standard_normal((3, 2)).astype(np.float32)
    out = nn.MSELoss()(x, rng.standard_normal((3, 2)))
    assert out.dtype == np.float32 and out.shape == ()


# ----- Keras-named losses ---------------------------------------------------------------------
def _keras_cce(y, p):
    p = p / p.sum(-1, keepdims=True)
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(y * np.log(p)).sum(-1)


def test_keras_categorical_crossentropy(rng):
    p = rng.dirichlet(np.ones(4), 6).astype(np.float32)
    p[0] = [1.0, 0.0, 0.0, 0.0]
    y = np.eye(4)[rng.integers(0, 4, 6)]
    y[0] = [0, 1, 0, 0]
    np.testing.assert_allclose(F.categorical_crossentropy(y, p).item(), _keras_cce(y, p).mean(), rtol=1e-5)
    np.testing.assert_allclose(F.categorical_crossentropy(y, p, reduction="none").numpy(), _keras_cce(y, p),
                               rtol=1e-5)
    assert abs(F.categorical_crossentropy(y, p).item() - np.mean(_keras_cce(y, p))) < 1e-5
    logits = rng.standard_normal((6, 4))
    sm = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    want = -(y * np.log(sm)).sum(-1).mean()
    np.testing.assert_allclose(F.categorical_crossentropy(y, logits, from_logits=True).item(), want, rtol=1e-6)
    # a one-hot prediction that is wrong costs -log(1e-7), Keras's cap
    np.testing.assert_allclose(F.categorical_crossentropy(y[:1], p[:1]).item(), -np.log(1e-7), rtol=1e-5)


def test_keras_sparse_categorical_crossentropy(rng):
    p = rng.dirichlet(np.ones(5), 8)
    t = rng.integers(0, 5, 8)
    want = _keras_cce(np.eye(5)[t], p).mean()
    np.testing.assert_allclose(F.sparse_categorical_crossentropy(t, p).item(), want, rtol=1e-6)
    np.testing.assert_allclose(F.sparse_categorical_crossentropy(t[:, None], p).item(), want, rtol=1e-6)
    logits = rng.standard_normal((8, 5))
    np.testing.assert_allclose(F.sparse_categorical_crossentropy(t, logits, from_logits=True).item(),
                               F.cross_entropy(logits, t).item(), rtol=1e-6)
    x = sd.Tensor(rng.standard_normal((8, 5)), requires_grad=True)
    F.sparse_categorical_crossentropy(t, F.softmax(x, dim=-1)).backward()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()


def test_keras_binary_crossentropy(rng):
    p = rng.random((6, 1))
    p[0, 0] = 1.0
    y = (rng.random(6) > 0.5).astype(float)
    y[0] = 0.0
    pc = np.clip(p[:, 0], 1e-7, 1 - 1e-7)
    want = -(y * np.log(pc) + (1 - y) * np.log(1 - pc)).mean()
    np.testing.assert_allclose(F.binary_crossentropy(y, p).item(), want, rtol=1e-6)
    logits = rng.standard_normal((6, 1))
    s = 1 / (1 + np.exp(-logits[:, 0]))
    want = -(y * np.log(s) + (1 - y) * np.log(1 - s)).mean()
    np.testing.assert_allclose(F.binary_crossentropy(y, logits, from_logits=True).item(), want, rtol=1e-6)


def test_cross_entropy_ignore_index_none_ignores_no_class():
    """``ignore_index=None`` (what Keras's fused sparse cross-entropy passes): the default's loss and
    gradient for labels in range, and -100 is then a label out of range, not an ignored one."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4)).astype(np.float32)
    t = np.array([0, 3, 1, 2, 2, 0])
    a, b = sd.tensor(z, requires_grad=True), sd.tensor(z, requires_grad=True)
    la, lb = F.cross_entropy(a, t), F.cross_entropy(b, t, ignore_index=None)
    la.backward()
    lb.backward()
    np.testing.assert_array_equal(la.numpy(), lb.numpy())
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(sd.tensor(z), np.array([0, -100, 1, 2, 2, 0]), ignore_index=None)
