"""Layers against PyTorch (outputs and every gradient), gradient checks, modes and clear errors."""
import math

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
import shendu.nn.functional as F
from shendu.errors import ShapeError


def _state(module_t):
    """A PyTorch module's state_dict as ``state.<name>`` entries, copied before training moves it."""
    return {f"state.{k}": v.detach().clone() for k, v in module_t.state_dict().items()}


def _loaded(module, ref):
    """Load the recorded ``state.<name>`` entries into a shendu module (the state_dict import path)."""
    module.load_state_dict({k[len("state."):]: v for k, v in ref.items() if k.startswith("state.")})
    return module


def _torch_step(torch, mod_t, x, g, grad_input=True, key=""):
    """Torch side of :func:`_check_step`: output, input gradient and every parameter gradient so far."""
    xt = torch.tensor(x.copy(), requires_grad=grad_input)
    yt = mod_t(xt)
    yt.backward(torch.tensor(g))
    out = {f"{key}y": yt.detach().clone(), f"{key}params": " ".join(n for n, _ in mod_t.named_parameters())}
    if grad_input:
        out[f"{key}x.grad"] = xt.grad.clone()
    out.update({f"{key}grad.{n}": p.grad.clone() for n, p in mod_t.named_parameters() if p.grad is not None})
    return out


def _check_step(ref, mod_s, x, g, rtol=1e-4, atol=1e-5, grad_input=True, key=""):
    """Run mod_s on x, back-propagate g, compare output and gradients with the recorded torch step."""
    xs = sd.Tensor(x.copy(), requires_grad=grad_input)
    ys = mod_s(xs)
    np.testing.assert_allclose(ys.numpy(), ref[f"{key}y"], rtol=rtol, atol=atol, err_msg=f"{key}output")
    ys.backward(sd.Tensor(g))
    if grad_input:
        np.testing.assert_allclose(xs.grad.numpy(), ref[f"{key}x.grad"], rtol=rtol, atol=atol,
                                   err_msg=f"{key}input gradient")
    names_t = ref[f"{key}params"].split()
    for name, p in mod_s.named_parameters():
        assert name in names_t, f"shendu parameter {name!r} is not among PyTorch's {names_t}"
        if f"{key}grad.{name}" not in ref:
            assert p.grad is None, name
            continue
        np.testing.assert_allclose(p.grad.numpy(), ref[f"{key}grad.{name}"], rtol=rtol, atol=atol,
                                   err_msg=f"{key}{name}")
    return ys


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(reference, rng, bias):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    g = rng.standard_normal((4, 3)).astype(np.float32)

    def torch_side(torch):
        mt = torch.nn.Linear(5, 3, bias=bias)
        xt = torch.tensor(x, requires_grad=True)
        yt = mt(xt)
        yt.backward(torch.tensor(g))
        out = {"y": yt, "x.grad": xt.grad}
        out.update({f"state.{k}": v for k, v in mt.state_dict().items()})
        out.update({f"grad.{k}": p.grad for k, p in mt.named_parameters()})
        return out

    ref = reference(torch_side)
    ms = nn.Linear(5, 3, bias=bias)
    ms.load_state_dict({k[6:]: v for k, v in ref.items() if k.startswith("state.")})
    xs = sd.Tensor(x, requires_grad=True)
    ys = ms(xs)
    ys.backward(sd.Tensor(g))
    np.testing.assert_allclose(ys.numpy(), ref["y"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xs.grad.numpy(), ref["x.grad"], rtol=1e-4, atol=1e-5)
    for name, p in ms.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), ref[f"grad.{name}"], rtol=1e-4, atol=1e-5, err_msg=name)


def test_linear_weights_copied_back_to_torch(reference, rng):
    ms = nn.Linear(6, 2)
    ms.weight.array[...] = rng.standard_normal((2, 6)).astype(np.float32)
    ms.bias.array[...] = rng.standard_normal(2).astype(np.float32)
    exported = {k: v.numpy().copy() for k, v in ms.state_dict().items()}
    x, g = rng.standard_normal((3, 6)).astype(np.float32), rng.standard_normal((3, 2)).astype(np.float32)

    def torch_side(torch):
        mt = torch.nn.Linear(6, 2)
        mt.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in exported.items()})
        return _torch_step(torch, mt, x, g)

    _check_step(reference(torch_side), ms, x, g)


def test_bilinear_matches_torch(reference, rng):
    a, b = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)

    def torch_side(torch):
        mt = torch.nn.Bilinear(3, 4, 2)
        out = _state(mt)
        at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        yt = mt(at, bt)
        yt.sum().backward()
        out.update({"repr": repr(mt), "y": yt, "a.grad": at.grad, "b.grad": bt.grad,
                    "grad.weight": mt.weight.grad, "grad.bias": mt.bias.grad})
        return out

    ref = reference(torch_side)
    ms = _loaded(nn.Bilinear(3, 4, 2), ref)
    assert repr(ms) == ref["repr"]
    as_, bs = sd.Tensor(a, requires_grad=True), sd.Tensor(b, requires_grad=True)
    ys = ms(as_, bs)
    np.testing.assert_allclose(ys.numpy(), ref["y"], rtol=1e-4, atol=1e-5)
    ys.sum().backward()
    for s, name in [(as_, "a.grad"), (bs, "b.grad"), (ms.weight, "grad.weight"), (ms.bias, "grad.bias")]:
        np.testing.assert_allclose(s.grad.numpy(), ref[name], rtol=1e-4, atol=1e-5, err_msg=name)
    with pytest.raises(ShapeError, match="Bilinear"):
        ms(a, a)


def test_lazy_linear_infers_in_features_and_inits_like_linear(reference, rng):
    sd.manual_seed(3)
    lazy = nn.LazyLinear(4)
    assert "inferred" in repr(lazy) and lazy.num_parameters() == 0
    out = lazy(rng.standard_normal((2, 7)).astype(np.float32))
    assert out.shape == (2, 4) and lazy.weight.shape == (4, 7) and lazy.in_features == 7
    sd.manual_seed(3)
    linear = nn.Linear(7, 4)
    np.testing.assert_array_equal(lazy.weight.numpy(), linear.weight.numpy())
    np.testing.assert_array_equal(lazy.bias.numpy(), linear.bias.numpy())
    x, g = rng.standard_normal((3, 7)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)

    def torch_side(torch):
        mt = torch.nn.Linear(7, 4)
        out = _state(mt)
        out.update(_torch_step(torch, mt, x, g))
        return out

    ref = reference(torch_side)
    lazy2 = nn.Sequential(nn.LazyLinear(4))
    lazy2.load_state_dict({"0." + k[len("state."):]: v for k, v in ref.items() if k.startswith("state.")})
    _check_step(ref, lazy2[0], x, g)


def test_linear_errors_name_the_layer():
    layer = nn.Linear(4, 2)
    with pytest.raises(ShapeError, match=r"Linear\(in_features=4, out_features=2.*\(8, 3\).*\(\.\.\., 4\)"):
        layer(sd.randn(8, 3))
    with pytest.raises(TypeError, match=r"Linear\(in_features=4.*int64.*float32"):
        layer(sd.tensor([[1, 2, 3, 4]]))
    assert layer(np.ones((2, 4))).dtype == np.float32  # float64 NumPy input is cast to the layer's dtype


ACTIVATIONS = [("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.2}), ("ELU", {"alpha": 0.7}), ("GELU", {}),
               ("GELU", {"approximate": "tanh"}), ("Sigmoid", {}), ("Tanh", {}), ("Softmax", {"dim": 1}),
               ("LogSoftmax", {"dim": -1}), ("Softplus", {"beta": 2.0}), ("SiLU", {}), ("ReLU6", {}),
               ("Hardtanh", {"min_val": -0.5, "max_val": 0.5})]


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS, ids=[f"{n}{k or ''}" for n, k in ACTIVATIONS])
def test_activations_match_torch(reference, rng, name, kwargs):
    x = (rng.standard_normal((4, 6)) * 3).astype(np.float32)
    g = rng.standard_normal((4, 6)).astype(np.float32)

    def torch_side(torch):
        return _torch_step(torch, getattr(torch.nn, name)(**kwargs), x, g)

    _check_step(reference(torch_side), getattr(nn, name)(**kwargs), x, g)


FUNCTIONAL = [("relu", F.relu), ("gelu", F.gelu), ("silu", F.silu), ("sigmoid", F.sigmoid),
              ("softmax", lambda a: F.softmax(a, dim=1)), ("log_softmax", lambda a: F.log_softmax(a, dim=-1)),
              ("leaky_relu", lambda a: F.leaky_relu(a, 0.1)), ("elu", lambda a: F.elu(a)),
              ("softplus", lambda a: F.softplus(a))]
PADS = [((1, 2), "constant"), ((1, 0, 2, 1), "constant"), ((1, 2, 2, 1), "reflect"),
        ((2, 1, 1, 2), "replicate"), ((1, 1, 2, 0), "circular"), ((-1, 1), "constant")]


def _padded_shape(shape, pad):
    """The shape F.pad gives: pad is (left, right) pairs from the last dimension backwards."""
    out = list(shape)
    for i in range(len(pad) // 2):
        out[-1 - i] += pad[2 * i] + pad[2 * i + 1]
    return tuple(out)


def test_functional_activations_and_pad_match_torch(reference, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    grads = [rng.standard_normal(_padded_shape(x.shape, pad)) for pad, _ in PADS]

    def torch_side(torch):
        TF = torch.nn.functional
        theirs = {"relu": TF.relu, "gelu": TF.gelu, "silu": TF.silu, "sigmoid": torch.sigmoid,
                  "softmax": lambda a: TF.softmax(a, dim=1), "log_softmax": lambda a: TF.log_softmax(a, dim=-1),
                  "leaky_relu": lambda a: TF.leaky_relu(a, 0.1), "elu": TF.elu, "softplus": TF.softplus}
        out = {f"act.{name}": theirs[name](torch.tensor(x)) for name, _ in FUNCTIONAL}
        for i, ((pad, mode), g) in enumerate(zip(PADS, grads)):
            xt = torch.tensor(x, requires_grad=True)
            yt = TF.pad(xt, pad, mode=mode)
            yt.backward(torch.tensor(g))
            out.update({f"pad{i}.y": yt, f"pad{i}.x.grad": xt.grad})
        out["pad.value"] = TF.pad(torch.tensor(x), (1, 1), value=3.0)
        return out

    ref = reference(torch_side)
    for name, ours in FUNCTIONAL:
        np.testing.assert_allclose(ours(x).numpy(), ref[f"act.{name}"], rtol=1e-6, atol=1e-7, err_msg=name)
    for i, ((pad, mode), g) in enumerate(zip(PADS, grads)):
        xs = sd.Tensor(x.copy(), requires_grad=True)
        ys = F.pad(xs, pad, mode=mode)
        np.testing.assert_allclose(ys.numpy(), ref[f"pad{i}.y"], err_msg=f"{pad} {mode}")
        ys.backward(sd.Tensor(g))
        np.testing.assert_allclose(xs.grad.numpy(), ref[f"pad{i}.x.grad"], err_msg=f"{pad} {mode}")
    np.testing.assert_allclose(F.pad(x, (1, 1), value=3.0).numpy(), ref["pad.value"])


def test_one_hot(reference):
    t = np.array([[0, 2], [1, 3]])

    def torch_side(torch):
        return {"one_hot": torch.nn.functional.one_hot(torch.tensor(t))}

    ref = reference(torch_side)
    np.testing.assert_array_equal(F.one_hot(t).numpy(), ref["one_hot"])
    assert F.one_hot(t, num_classes=6).shape == (2, 2, 6) and F.one_hot(t).dtype == np.int64


# ----- dropout --------------------------------------------------------------------------------
def test_dropout_train_and_eval():
    sd.manual_seed(0)
    d = nn.Dropout(0.25)
    x = sd.ones(200, 500, requires_grad=True)
    y = d(x)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.75, rtol=1e-6)
    d.eval()
    assert d(x) is x or np.array_equal(d(x).numpy(), x.numpy())
    sd.manual_seed(5)
    a = nn.Dropout(0.5)(sd.ones(10, 10)).numpy()
    sd.manual_seed(5)
    b = nn.Dropout(0.5)(sd.ones(10, 10)).numpy()
    np.testing.assert_array_equal(a, b)
    assert np.all(nn.Dropout(1.0)(sd.ones(3, 3)).numpy() == 0)
    m = nn.Dropout2d(0.5)(sd.ones(4, 8, 3, 3)).numpy()
    assert np.all(m == m[:, :, :1, :1])
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


# ----- batch norm -----------------------------------------------------------------------------
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 4)), ("BatchNorm1d", (8, 4, 5)),
                                       ("BatchNorm2d", (6, 4, 3, 5))], ids=str)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_training_steps_and_eval_match_torch(reference, rng, cls, shape, momentum):
    steps = []
    for _ in range(3):
        steps.append(((rng.standard_normal(shape) * 2 + 1).astype(np.float32),
                      rng.standard_normal(shape).astype(np.float32)))
    x_eval, g_eval = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    buffers = ["running_mean", "running_var", "num_batches_tracked"]

    def torch_side(torch):
        mt = getattr(torch.nn, cls)(4, momentum=momentum)
        with torch.no_grad():
            mt.weight.uniform_(0.5, 1.5)
            mt.bias.uniform_(-0.5, 0.5)
        out = _state(mt)
        for i, (x, g) in enumerate(steps):
            out.update(_torch_step(torch, mt, x, g, key=f"train{i}."))
        out.update({f"trained.{name}": getattr(mt, name).clone() for name in buffers})
        mt.eval()
        out.update(_torch_step(torch, mt, x_eval, g_eval, key="eval."))
        out["eval.running_mean"] = mt.running_mean.clone()
        return out

    ref = reference(torch_side)
    ms = _loaded(getattr(nn, cls)(4, momentum=momentum), ref)
    for i, (x, g) in enumerate(steps):
        _check_step(ref, ms, x, g, key=f"train{i}.")
    for name in buffers:
        np.testing.assert_allclose(getattr(ms, name).numpy(), ref[f"trained.{name}"], rtol=1e-5, err_msg=name)
    assert ms.num_batches_tracked.item() == 3 and ms.num_batches_tracked.dtype == np.int64
    ms.eval()
    _check_step(ref, ms, x_eval, g_eval, key="eval.")
    np.testing.assert_allclose(ms.running_mean.numpy(), ref["eval.running_mean"], rtol=1e-5)


@pytest.mark.parametrize("affine,track", [(False, True), (True, False), (False, False)])
def test_batchnorm_options_match_torch(reference, rng, affine, track):
    x = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    g_train, g_eval = (rng.standard_normal((4, 3, 2, 2)).astype(np.float32) for _ in range(2))

    def torch_side(torch):
        mt = torch.nn.BatchNorm2d(3, affine=affine, track_running_stats=track)
        out = {"state_keys": " ".join(mt.state_dict())}
        out.update(_torch_step(torch, mt, x, g_train, key="train."))
        mt.eval()
        out.update(_torch_step(torch, mt, x, g_eval, key="eval."))
        return out

    ref = reference(torch_side)
    ms = nn.BatchNorm2d(3, affine=affine, track_running_stats=track)
    assert list(ms.state_dict()) == ref["state_keys"].split()
    _check_step(ref, ms, x, g_train, key="train.")
    ms.eval()
    _check_step(ref, ms, x, g_eval, key="eval.")


def test_batchnorm_gradcheck(rng):
    for shape in [(5, 3), (4, 3, 2, 2)]:
        w, b = rng.random(3) + 0.5, rng.standard_normal(3)
        x = rng.standard_normal(shape)
        assert sd.gradcheck(lambda a, gw, gb: F.batch_norm(a, None, None, gw, gb, training=True), x, w, b)
        rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
        assert sd.gradcheck(lambda a, gw, gb, rm=rm, rv=rv: F.batch_norm(a, rm, rv, gw, gb, training=False),
                            x, w, b)
    bn = nn.BatchNorm1d(3).double()
    assert sd.gradcheck(lambda a: bn(a), rng.standard_normal((6, 3)))


def test_batchnorm_is_one_function_and_errors():
    bn = nn.BatchNorm2d(4)
    y = bn(sd.randn(2, 4, 3, 3, requires_grad=True))
    assert type(y.grad_fn).__name__ == "BatchNorm"
    with pytest.raises(ShapeError, match=r"BatchNorm2d\(4.*\(2, 3, 3, 3\).*\(N, 4, H, W\)"):
        bn(sd.randn(2, 3, 3, 3))
    with pytest.raises(ShapeError, match="BatchNorm1d"):
        nn.BatchNorm1d(4)(sd.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(4)(sd.randn(1, 4))


# ----- layer norm -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape,normalized", [((4, 6), 6), ((2, 3, 4, 5), (4, 5))], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_matches_torch(reference, rng, shape, normalized, affine):
    x = rng.standard_normal(shape).astype(np.float32) * 3
    g = rng.standard_normal(shape).astype(np.float32)

    def torch_side(torch):
        mt = torch.nn.LayerNorm(normalized, elementwise_affine=affine)
        if affine:
            with torch.no_grad():
                mt.weight.uniform_(0.5, 1.5)
                mt.bias.uniform_(-0.5, 0.5)
        out = _state(mt)
        out.update(_torch_step(torch, mt, x, g))
        return out

    ref = reference(torch_side)
    ms = _loaded(nn.LayerNorm(normalized, elementwise_affine=affine), ref)
    ys = _check_step(ref, ms, x, g)
    assert type(ys.grad_fn).__name__ == "LayerNorm"


def test_layernorm_gradcheck_and_errors(rng):
    w, b = rng.random((3, 4)) + 0.5, rng.standard_normal((3, 4))
    assert sd.gradcheck(lambda a, gw, gb: F.layer_norm(a, (3, 4), gw, gb), rng.standard_normal((2, 3, 4)), w, b)
    with pytest.raises(ShapeError, match=r"LayerNorm\(\(8,\).*\(2, 5\).*\(\*, 8\)"):
        nn.LayerNorm(8)(sd.randn(2, 5))


# ----- embedding ------------------------------------------------------------------------------
def test_embedding_matches_torch_with_padding(reference, rng):
    ids = np.array([[0, 3, 3, 9], [1, 0, 2, 3]])
    g = rng.standard_normal((2, 4, 4)).astype(np.float32)

    def torch_side(torch):
        mt = torch.nn.Embedding(10, 4, padding_idx=0)
        out = _state(mt)
        yt = mt(torch.tensor(ids))
        yt.backward(torch.tensor(g))
        out.update({"y": yt, "grad.weight": mt.weight.grad})
        return out

    ref = reference(torch_side)
    ms = _loaded(nn.Embedding(10, 4, padding_idx=0), ref)
    ys = ms(ids)
    np.testing.assert_allclose(ys.numpy(), ref["y"])
    ys.backward(sd.Tensor(g))
    np.testing.assert_allclose(ms.weight.grad.numpy(), ref["grad.weight"], rtol=1e-6, atol=1e-7)
    assert np.all(ms.weight.grad.numpy()[0] == 0)
    fresh = nn.Embedding(5, 3, padding_idx=2)
    assert np.all(fresh.weight.numpy()[2] == 0)
    assert abs(nn.Embedding(1000, 50).weight.numpy().std() - 1) < 0.02  # N(0, 1) like PyTorch


def test_embedding_from_pretrained_and_errors(rng):
    w = rng.standard_normal((6, 3)).astype(np.float32)
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad and e(np.array([5])).shape == (1, 3)
    np.testing.assert_array_equal(e(np.array([1, 4])).numpy(), w[[1, 4]])
    e2 = nn.Embedding.from_pretrained(sd.tensor(w), freeze=False, padding_idx=1)
    e2(np.array([1, 2, 2])).sum().backward()
    np.testing.assert_array_equal(e2.weight.grad.numpy()[:3, 0], [0.0, 0.0, 2.0])
    with pytest.raises(TypeError, match="integers"):
        e(np.array([1.0, 2.0]))
    with pytest.raises(IndexError, match="out of range for 6"):
        e(np.array([6]))
    assert sd.gradcheck(lambda weight: F.embedding(np.array([[0, 2], [2, 1]]), weight), rng.standard_normal((3, 2)))


# ----- reshaping layers and containers in use ------------------------------------------------------
def test_flatten_unflatten(reference):
    def torch_side(torch):
        return {"flatten2.shape": np.array(torch.nn.Flatten(2)(torch.zeros(2, 3, 4, 5)).shape)}

    ref = reference(torch_side)
    x = sd.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(2)(x).shape == tuple(ref["flatten2.shape"])
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    assert nn.Unflatten(1, (-1, 4, 5))(nn.Flatten()(x)).shape == (2, 3, 4, 5)
    with pytest.raises(ShapeError, match="Unflatten"):
        nn.Unflatten(1, (7, 9))(nn.Flatten()(x))
    assert nn.Identity(54, unused=1)(x) is x


def test_mlp_with_every_layer_matches_torch(reference, rng):
    def build(m):
        return m.Sequential(m.Linear(6, 8), m.LayerNorm(8), m.GELU(), m.Linear(8, 8), m.BatchNorm1d(8),
                            m.Tanh(), m.Dropout(0.0), m.Linear(8, 3))
    x, g = rng.standard_normal((5, 6)).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)

    def torch_side(torch):
        mt = build(torch.nn)
        out = _state(mt)
        out.update(_torch_step(torch, mt, x, g))
        out["num_parameters"] = np.array([sum(p.numel() for p in mt.parameters())])
        return out

    ref = reference(torch_side)
    ms = _loaded(build(nn), ref)
    _check_step(ref, ms, x, g)
    assert math.isclose(ms.num_parameters(), int(ref["num_parameters"][0]))
