"""Pooling and nearest resizing: parity with PyTorch (outputs, indices, gradients), gradient checks, layers."""
import numpy as np
import pytest

import shendu as sd
from conftest import require
from shendu.errors import ShapeError
from shendu.nn import pooling as P
from shendu.ops import conv as C
from shendu.tensor import Tensor

RTOL, ATOL = 1e-5, 1e-6


def _run(torch, fn_sd, fn_t, x, seed=0):
    xs, xt = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = fn_sd(xs), fn_t(xt)
    if isinstance(yt, tuple):
        (y, idx), (yt, idxt) = y, yt
        np.testing.assert_array_equal(idx.numpy(), idxt.numpy())
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=RTOL, atol=ATOL)
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape)).astype(x.dtype)
    y.backward(Tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=RTOL, atol=ATOL)


def _image(shape=(2, 3, 9, 8), seed=0, ties=False):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return np.maximum(x, 0) if ties else x      # ReLU-like zeros make ties inside windows


POOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True),
    dict(kernel_size=2, stride=1),
    dict(kernel_size=4, stride=3, padding=2, ceil_mode=True),
]


@pytest.mark.parametrize("kwargs", POOL_CASES + [dict(kernel_size=2, stride=1, dilation=2),
                                                 dict(kernel_size=3, dilation=(2, 1), padding=1)], ids=str)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_matches_torch_with_indices(torch, kwargs, ties):
    F = torch.nn.functional
    x = _image(ties=ties)
    _run(torch, lambda t: C.max_pool2d(t, **kwargs), lambda t: F.max_pool2d(t, **kwargs), x)
    _run(torch, lambda t: C.max_pool2d(t, return_indices=True, **kwargs),
         lambda t: F.max_pool2d(t, return_indices=True, **kwargs), x)


@pytest.mark.parametrize("kwargs", POOL_CASES, ids=str)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_matches_torch(torch, kwargs, count_include_pad):
    F = torch.nn.functional
    _run(torch, lambda t: C.avg_pool2d(t, count_include_pad=count_include_pad, **kwargs),
         lambda t: F.avg_pool2d(t, count_include_pad=count_include_pad, **kwargs), _image())


def test_avg_pool2d_divisor_override(torch):
    F = torch.nn.functional
    _run(torch, lambda t: C.avg_pool2d(t, 3, 2, 1, divisor_override=4),
         lambda t: F.avg_pool2d(t, 3, 2, 1, divisor_override=4), _image())


def test_pool1d_matches_torch(torch):
    F = torch.nn.functional
    x = _image((2, 3, 11), ties=True)
    _run(torch, lambda t: C.max_pool1d(t, 3, 2, 1, ceil_mode=True), lambda t: F.max_pool1d(t, 3, 2, 1,
                                                                                             ceil_mode=True), x)
    _run(torch, lambda t: C.max_pool1d(t, 2, return_indices=True),
         lambda t: F.max_pool1d(t, 2, return_indices=True), x)
    _run(torch, lambda t: C.avg_pool1d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
         lambda t: F.avg_pool1d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), x)


def test_max_pool_nan_propagates_like_torch(torch):
    x = _image()
    x[0, 0, 2, 3] = np.nan
    F = torch.nn.functional
    _run(torch, lambda t: C.max_pool2d(t, 2), lambda t: F.max_pool2d(t, 2), x)


def test_pooling_channels_last_input_gives_same_values():
    x = _image(ties=True)
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    for f in (lambda t: C.max_pool2d(t, 3, 2, 1), lambda t: C.avg_pool2d(t, 2)):
        a, b = Tensor(x, requires_grad=True), Tensor(x_cl, requires_grad=True)
        ya, yb = f(a), f(b)
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
        ya.sum().backward()
        yb.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


@pytest.mark.parametrize("size", [1, (3, 4), (4, None), 5, (7, 3), (9, 8)], ids=str)
def test_adaptive_pools_match_torch(torch, size):
    F = torch.nn.functional
    _run(torch, lambda t: C.adaptive_avg_pool2d(t, size), lambda t: F.adaptive_avg_pool2d(t, size), _image())
    _run(torch, lambda t: C.adaptive_max_pool2d(t, size), lambda t: F.adaptive_max_pool2d(t, size), _image())


def test_adaptive_avg_pool1d_matches_torch(torch):
    F = torch.nn.functional
    _run(torch, lambda t: C.adaptive_avg_pool1d(t, 4), lambda t: F.adaptive_avg_pool1d(t, 4), _image((2, 3, 11)))


@pytest.mark.parametrize("kwargs", [dict(scale_factor=2), dict(scale_factor=3), dict(size=(13, 5)),
                                    dict(scale_factor=0.5), dict(scale_factor=1.7), dict(size=(4, 20)),
                                    dict(scale_factor=(2, 1.5))], ids=str)
def test_interpolate_nearest_matches_torch(torch, kwargs):
    F = torch.nn.functional
    _run(torch, lambda t: C.interpolate(t, **kwargs), lambda t: F.interpolate(t, **kwargs), _image())


def test_interpolate_1d_matches_torch(torch):
    F = torch.nn.functional
    _run(torch, lambda t: C.interpolate(t, scale_factor=2.5), lambda t: F.interpolate(t, scale_factor=2.5),
         _image((2, 3, 7)))


# ----- gradient checks in float64 ----------------------------------------------------------------------
def _x64(shape, seed):
    # distinct values, so that max pooling is differentiable at the check point
    return np.random.default_rng(seed).permutation(np.prod(shape)).reshape(shape) / 7.0


def test_gradcheck_max_pools():
    x = _x64((2, 2, 7, 6), 0)
    assert sd.gradcheck(lambda t: C.max_pool2d(t, 3, 2, 1, ceil_mode=True), x)
    assert sd.gradcheck(lambda t: C.max_pool2d(t, 2, 1, dilation=2), x)       # overlapping windows
    assert sd.gradcheck(lambda t: C.adaptive_max_pool2d(t, (3, 4)), x)
    assert sd.gradcheck(lambda t: C.max_pool1d(t, 3, 2), _x64((2, 2, 9), 1))


def test_gradcheck_avg_pools_and_resize():
    x = np.random.default_rng(2).standard_normal((2, 2, 7, 6))
    assert sd.gradcheck(lambda t: C.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), x)
    assert sd.gradcheck(lambda t: C.adaptive_avg_pool2d(t, (3, 4)), x)
    assert sd.gradcheck(lambda t: C.interpolate(t, scale_factor=1.5), x)
    assert sd.gradcheck(lambda t: C.interpolate(t, size=(3, 4)), x)


# ----- layers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, shape", [
    (lambda nn: nn.MaxPool2d(2), (2, 3, 8, 8)),
    (lambda nn: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 9, 8)),
    (lambda nn: nn.MaxPool1d(3, 2), (2, 3, 9)),
    (lambda nn: nn.AvgPool2d(2), (2, 3, 8, 8)),
    (lambda nn: nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 9, 8)),
    (lambda nn: nn.AvgPool1d(3, 2, 1), (2, 3, 9)),
    (lambda nn: nn.AdaptiveAvgPool2d((1, 1)), (2, 3, 9, 8)),
    (lambda nn: nn.AdaptiveAvgPool2d((4, None)), (2, 3, 9, 8)),
    (lambda nn: nn.AdaptiveAvgPool1d(4), (2, 3, 9)),
    (lambda nn: nn.AdaptiveMaxPool2d(3), (2, 3, 9, 8)),
    (lambda nn: nn.Upsample(scale_factor=2), (2, 3, 4, 5)),
    (lambda nn: nn.Upsample(size=(7, 3)), (2, 3, 4, 5)),
    (lambda nn: nn.UpsamplingNearest2d(scale_factor=3), (2, 3, 4, 5)),
    (lambda nn: nn.MaxPool2d(2), (3, 8, 8)),                  # unbatched
], ids=lambda v: "" if callable(v) else str(v))
def test_layers_match_torch_modules(torch, make, shape):
    layer, tl = make(P), make(torch.nn)
    assert repr(layer) == repr(tl)
    _run(torch, layer, tl, _image(shape, ties=True))


def test_max_pool_layer_return_indices(torch):
    _run(torch, P.MaxPool2d(2, return_indices=True), torch.nn.MaxPool2d(2, return_indices=True), _image())


def test_pool_errors_name_the_layer():
    with pytest.raises(ShapeError, match=r"MaxPool2d\(kernel_size=2.*got input of shape \(8,\)"):
        P.MaxPool2d(2)(np.zeros(8, np.float32))
    with pytest.raises(TypeError, match=r"AvgPool2d\(kernel_size=2.*int64"):
        P.AvgPool2d(2)(np.zeros((1, 1, 4, 4), np.int64))
    with pytest.raises(ShapeError, match="smaller than the window"):
        P.MaxPool2d(5)(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match="at most half the kernel"):
        C.max_pool2d(Tensor(np.zeros((1, 1, 6, 6), np.float32)), 2, padding=2)
    with pytest.raises(NotImplementedError, match="mode='nearest'"):
        P.Upsample(scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        C.interpolate(Tensor(np.zeros((1, 1, 4, 4), np.float32)))


def test_cnn_block_trains_end_to_end_like_torch(torch):
    """Conv → ReLU → MaxPool → Conv → ReLU → MaxPool → Linear: same loss and gradients as PyTorch."""
    require("torch")
    from shendu.nn import conv as nnc

    tn = torch.nn
    torch.manual_seed(0)
    tmodel = [tn.Conv2d(1, 4, 3), tn.MaxPool2d(2), tn.Conv2d(4, 6, 3, padding=1), tn.MaxPool2d(2)]
    layers = [nnc.Conv2d(1, 4, 3), P.MaxPool2d(2), nnc.Conv2d(4, 6, 3, padding=1), P.MaxPool2d(2)]
    for a, b in zip(layers, tmodel):
        if hasattr(b, "weight"):
            a.weight.data[...] = b.weight.detach().numpy()
            a.bias.data[...] = b.bias.detach().numpy()
    x = np.random.default_rng(3).standard_normal((4, 1, 12, 12)).astype(np.float32)
    h, ht = Tensor(x), torch.tensor(x)
    for a, b in zip(layers, tmodel):
        h, ht = a(h), b(ht)
        if hasattr(b, "weight"):
            h, ht = sd.relu(h), torch.relu(ht)
    loss, losst = (h * h).mean(), (ht * ht).mean()
    loss.backward()
    losst.backward()
    np.testing.assert_allclose(loss.item(), losst.item(), rtol=1e-5)
    for a, b in zip(layers, tmodel):
        if hasattr(b, "weight"):
            np.testing.assert_allclose(a.weight.grad.numpy(), b.weight.grad.numpy(), rtol=1e-4, atol=1e-6)
