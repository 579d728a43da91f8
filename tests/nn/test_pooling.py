"""Pooling and nearest resizing: parity with PyTorch (outputs, indices, gradients), gradient checks, layers."""
import numpy as np
import pytest

import shendu as sd
from shendu.errors import ShapeError
from shendu.nn import pooling as P
from shendu.ops import conv as C
from shendu.tensor import Tensor

RTOL, ATOL = 1e-5, 1e-6


def _upstream(shape, seed, dtype):
    """The upstream gradient both sides back-propagate through an output of this shape."""
    return np.random.default_rng(seed).standard_normal(tuple(shape)).astype(dtype)


def _torch_run(torch, fn_t, x, seed=0):
    """Torch side of :func:`_check`: the output (and indices) and the input gradient."""
    xt = torch.tensor(x, requires_grad=True)
    yt = fn_t(xt)
    out = {}
    if isinstance(yt, tuple):
        yt, out["indices"] = yt
    yt.backward(torch.tensor(_upstream(yt.shape, seed, x.dtype)))
    out.update({"y": yt, "x.grad": xt.grad})
    return out


def _check(ref, fn_sd, x, seed=0):
    """Run fn_sd on x and compare output, indices and input gradient with the recorded torch run."""
    xs = Tensor(x.copy(), requires_grad=True)
    y = fn_sd(xs)
    if "indices" in ref:
        y, idx = y
        np.testing.assert_array_equal(idx.numpy(), ref["indices"])
    np.testing.assert_allclose(y.numpy(), ref["y"], rtol=RTOL, atol=ATOL)
    y.backward(Tensor(_upstream(y.shape, seed, x.dtype)))
    np.testing.assert_allclose(xs.grad.numpy(), ref["x.grad"], rtol=RTOL, atol=ATOL)


def _run(reference, fn_sd, fn_t, x, seed=0):
    """Compare fn_sd(t) with fn_t(F, t), F being PyTorch's nn.functional, on x (live or recorded)."""
    def torch_side(torch):
        return _torch_run(torch, lambda t: fn_t(torch.nn.functional, t), x, seed)

    _check(reference(torch_side), fn_sd, x, seed)


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
def test_max_pool2d_matches_torch_with_indices(reference, kwargs, ties):
    x = _image(ties=ties)
    _run(reference, lambda t: C.max_pool2d(t, **kwargs), lambda F, t: F.max_pool2d(t, **kwargs), x)
    _run(reference, lambda t: C.max_pool2d(t, return_indices=True, **kwargs),
         lambda F, t: F.max_pool2d(t, return_indices=True, **kwargs), x)


@pytest.mark.parametrize("kwargs", POOL_CASES, ids=str)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_matches_torch(reference, kwargs, count_include_pad):
    _run(reference, lambda t: C.avg_pool2d(t, count_include_pad=count_include_pad, **kwargs),
         lambda F, t: F.avg_pool2d(t, count_include_pad=count_include_pad, **kwargs), _image())


def test_avg_pool2d_divisor_override(reference):
    _run(reference, lambda t: C.avg_pool2d(t, 3, 2, 1, divisor_override=4),
         lambda F, t: F.avg_pool2d(t, 3, 2, 1, divisor_override=4), _image())


def test_pool1d_matches_torch(reference):
    x = _image((2, 3, 11), ties=True)
    _run(reference, lambda t: C.max_pool1d(t, 3, 2, 1, ceil_mode=True),
         lambda F, t: F.max_pool1d(t, 3, 2, 1, ceil_mode=True), x)
    _run(reference, lambda t: C.max_pool1d(t, 2, return_indices=True),
         lambda F, t: F.max_pool1d(t, 2, return_indices=True), x)
    _run(reference, lambda t: C.avg_pool1d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
         lambda F, t: F.avg_pool1d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), x)


def test_max_pool_nan_propagates_like_torch(reference):
    x = _image()
    x[0, 0, 2, 3] = np.nan
    _run(reference, lambda t: C.max_pool2d(t, 2), lambda F, t: F.max_pool2d(t, 2), x)


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
def test_adaptive_pools_match_torch(reference, size):
    _run(reference, lambda t: C.adaptive_avg_pool2d(t, size), lambda F, t: F.adaptive_avg_pool2d(t, size), _image())
    _run(reference, lambda t: C.adaptive_max_pool2d(t, size), lambda F, t: F.adaptive_max_pool2d(t, size), _image())


def test_adaptive_avg_pool1d_matches_torch(reference):
    _run(reference, lambda t: C.adaptive_avg_pool1d(t, 4), lambda F, t: F.adaptive_avg_pool1d(t, 4), _image((2, 3, 11)))


@pytest.mark.parametrize("kwargs", [dict(scale_factor=2), dict(scale_factor=3), dict(size=(13, 5)),
                                    dict(scale_factor=0.5), dict(scale_factor=1.7), dict(size=(4, 20)),
                                    dict(scale_factor=(2, 1.5))], ids=str)
def test_interpolate_nearest_matches_torch(reference, kwargs):
    _run(reference, lambda t: C.interpolate(t, **kwargs), lambda F, t: F.interpolate(t, **kwargs), _image())


def test_interpolate_1d_matches_torch(reference):
    _run(reference, lambda t: C.interpolate(t, scale_factor=2.5), lambda F, t: F.interpolate(t, scale_factor=2.5),
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
], ids=lambda v: repr(v(P)) if callable(v) else str(v))
def test_layers_match_torch_modules(reference, make, shape):
    x = _image(shape, ties=True)

    def torch_side(torch):
        tl = make(torch.nn)
        out = _torch_run(torch, tl, x)
        out["repr"] = repr(tl)
        return out

    ref = reference(torch_side)
    layer = make(P)
    assert repr(layer) == ref["repr"]
    _check(ref, layer, x)


def test_max_pool_layer_return_indices(reference):
    x = _image()

    def torch_side(torch):
        return _torch_run(torch, torch.nn.MaxPool2d(2, return_indices=True), x)

    _check(reference(torch_side), P.MaxPool2d(2, return_indices=True), x)


def test_pool_errors_name_the_layer():
    with pytest.raises(ShapeError, match=r"MaxPool2d\(kernel_size=2.*got input of shape \(8,\)"):
        P.MaxPool2d(2)(np.zeros(8, np.float32))
    with pytest.raises(TypeError, match=r"AvgPool2d\(kernel_size=2.*int64"):
        P.AvgPool2d(2)(np.zeros((1, 1, 4, 4), np.int64))
    with pytest.raises(ShapeError, match="smaller than the window"):
        P.MaxPool2d(5)(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match="at most half the kernel"):
        C.max_pool2d(Tensor(np.zeros((1, 1, 6, 6), np.float32)), 2, padding=2)
    with pytest.raises(ValueError, match="mode must be one of"):
        P.Upsample(scale_factor=2, mode="area")
    with pytest.raises(ShapeError, match=r"mode='bilinear' expects \(N, C, H, W\)"):
        P.Upsample(scale_factor=2, mode="bilinear")(np.zeros((1, 1, 4), np.float32))
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        C.interpolate(Tensor(np.zeros((1, 1, 4, 4), np.float32)))


def test_cnn_block_trains_end_to_end_like_torch(reference):
    """Conv → ReLU → MaxPool → Conv → ReLU → MaxPool → Linear: same loss and gradients as PyTorch."""
    from shendu.nn import conv as nnc

    x = np.random.default_rng(3).standard_normal((4, 1, 12, 12)).astype(np.float32)

    def torch_side(torch):
        tn = torch.nn
        tmodel = [tn.Conv2d(1, 4, 3), tn.MaxPool2d(2), tn.Conv2d(4, 6, 3, padding=1), tn.MaxPool2d(2)]
        out = {f"state.{i}.{k}": v.detach().clone() for i, b in enumerate(tmodel) for k, v in b.state_dict().items()}
        ht = torch.tensor(x)
        for b in tmodel:
            ht = b(ht)
            if hasattr(b, "weight"):
                ht = torch.relu(ht)
        losst = (ht * ht).mean()
        losst.backward()
        out["loss"] = losst
        out.update({f"grad.{i}.weight": b.weight.grad for i, b in enumerate(tmodel) if hasattr(b, "weight")})
        return out

    ref = reference(torch_side)
    layers = [nnc.Conv2d(1, 4, 3), P.MaxPool2d(2), nnc.Conv2d(4, 6, 3, padding=1), P.MaxPool2d(2)]
    convs = [i for i in range(len(layers)) if f"state.{i}.weight" in ref]
    assert convs == [0, 2]
    for i in convs:
        layers[i].weight.array[...] = ref[f"state.{i}.weight"]
        layers[i].bias.array[...] = ref[f"state.{i}.bias"]
    h = Tensor(x)
    for i, a in enumerate(layers):
        h = a(h)
        if i in convs:
            h = sd.relu(h)
    loss = (h * h).mean()
    loss.backward()
    np.testing.assert_allclose(loss.item(), ref["loss"].item(), rtol=1e-5)
    for i in convs:
        np.testing.assert_allclose(layers[i].weight.grad.numpy(), ref[f"grad.{i}.weight"], rtol=1e-4, atol=1e-6)
