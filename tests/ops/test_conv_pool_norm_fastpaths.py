"""The fast paths of convolution, max pooling, BatchNorm and ReLU against their general forms.

Each fast path is exact algebra (or the same comparisons) on the same numbers, so float64 results
agree to rounding with the general path: max pooling's gradient into a buffer that is not zeroed
first (ties go to the first maximum, NaN to the last NaN) and its no_grad forward without argmax,
BatchNorm on channels-last memory against the same input laid out channels-first, the bias inside
the convolution product and the one-channel columns against an explicit correlation.
"""
import numpy as np
import pytest

import shendu as sd
from shendu.nn import functional as F
from shendu.ops import conv as C


def _t(a, requires_grad=False):
    """A tensor over ``a`` itself (its memory order kept; ``sd.tensor`` would copy to C order)."""
    t = sd.Tensor(a)
    return t.requires_grad_() if requires_grad else t


def _channels_last(a):
    """The same values as ``a`` (N, C, H, W) in channels-last memory (a transposed view)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _pool_grads(x, g, **kw):
    t = _t(x, True)
    y = F.max_pool2d(t, **kw)
    y.backward(sd.tensor(g))
    return y.numpy(), t.grad.numpy()


def _general_pool_grad(x, g, kernel, stride):
    """∂L/∂x through the argmax loop (return_indices takes it) with the flat indices checked too."""
    t = _t(x, True)
    y, idx = F.max_pool2d(t, kernel, stride, return_indices=True)
    y.backward(sd.tensor(g))
    return y.numpy(), t.grad.numpy()


@pytest.mark.parametrize("hw", [(6, 8), (7, 5), (2, 2)])
@pytest.mark.parametrize("layout", ["first", "last"])
def test_max_pool_2x2_gradient_goes_to_the_first_maximum(hw, layout):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (2, 3) + hw).astype(np.float64)        # many ties inside windows
    if layout == "last":
        x = _channels_last(x)
    out = (2, 3, hw[0] // 2, hw[1] // 2)
    g = rng.standard_normal(out)
    y1, g1 = _pool_grads(x, g, kernel_size=2)
    y2, g2 = _general_pool_grad(x, g, 2, 2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)
    # each window sends its gradient to exactly one cell: the first maximum in row-major order
    for n, c, i, j in np.ndindex(*out):
        win = x[n, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].reshape(-1)
        first = int(np.argmax(win))
        got = g1[n, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].reshape(-1)
        want = np.zeros(4)
        want[first] = g[n, c, i, j]
        np.testing.assert_array_equal(got, want)


def test_max_pool_2x2_nan_goes_to_the_last_nan_and_no_grad_matches():
    x = np.array([[[[1.0, np.nan, 3.0, 0.0],
                    [np.nan, 2.0, 1.0, 5.0]]]])
    g = np.array([[[[10.0, 20.0]]]])
    y, gx = _pool_grads(x, g, kernel_size=2)
    assert np.isnan(y[0, 0, 0, 0]) and y[0, 0, 0, 1] == 5.0
    np.testing.assert_array_equal(gx, [[[[0, 0, 0, 0], [10.0, 0, 0, 20.0]]]])
    with sd.no_grad():
        y0 = F.max_pool2d(_t(x), 2).numpy()
    np.testing.assert_array_equal(np.isnan(y0), np.isnan(y))
    np.testing.assert_array_equal(y0[~np.isnan(y0)], y[~np.isnan(y)])


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(2, 3), stride=1), dict(kernel_size=2, ceil_mode=True)])
def test_max_pool_no_grad_matches_recorded_forward(kw):
    x = _channels_last(np.random.default_rng(1).standard_normal((2, 4, 7, 9)))
    want, _ = _pool_grads(x, np.ones(F.max_pool2d(_t(x), **kw).shape), **kw)
    with sd.no_grad():
        got = F.max_pool2d(_t(x), **kw)
    np.testing.assert_array_equal(got.numpy(), want)


def _bn(x, training, weight=True, bias=True):
    c = x.shape[1]
    rng = np.random.default_rng(3)
    w = sd.tensor(rng.standard_normal(c) + 1, requires_grad=True) if weight else None
    b = sd.tensor(rng.standard_normal(c), requires_grad=True) if bias else None
    rm, rv = rng.standard_normal(c), rng.random(c) + 0.5
    t = _t(x, True)
    y = F.batch_norm(t, rm, rv, w, b, training=training, momentum=0.1, eps=1e-5)
    g = np.random.default_rng(4).standard_normal(y.shape)
    (y * sd.tensor(g)).sum().backward()
    grads = [t.grad.numpy()] + [p.grad.numpy() for p in (w, b) if p is not None]
    return y.numpy(), grads, rm, rv


@pytest.mark.parametrize("shape", [(5, 3, 4, 6), (64, 2, 3, 3), (7, 40), (3, 5, 11)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_channels_last_matches_channels_first(shape, training, affine):
    x = np.random.default_rng(2).standard_normal(shape) * 3 + 5
    order = (0,) + tuple(range(2, len(shape))) + (1,)
    inverse = tuple(np.argsort(order))
    xl = np.ascontiguousarray(x.transpose(order)).transpose(inverse)   # channels innermost
    xf = np.ascontiguousarray(x)                                       # channels-first
    if len(shape) == 2:
        xf = np.asfortranarray(x)                                      # (N, C) with N innermost
    yl, gl, rml, rvl = _bn(xl, training, affine, affine)
    yf, gf, rmf, rvf = _bn(xf, training, affine, affine)
    np.testing.assert_allclose(yl, yf, rtol=1e-12, atol=1e-12)
    for a, b in zip(gl, gf):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(rml, rmf, rtol=1e-12)
    np.testing.assert_allclose(rvl, rvf, rtol=1e-12)
    # the output keeps the input's memory order (a convolution after it reads it without a copy)
    assert yl.transpose(order).flags.c_contiguous


def test_batch_norm_channels_last_output_stays_channels_last():
    x = _channels_last(np.random.default_rng(0).standard_normal((4, 8, 5, 5)).astype(np.float32))
    bn = sd.nn.BatchNorm2d(8)
    y = bn(_t(x))
    assert y.numpy().transpose(0, 2, 3, 1).flags.c_contiguous
    bn.eval()
    with sd.no_grad():
        y = bn(_t(x))
    assert y.numpy().transpose(0, 2, 3, 1).flags.c_contiguous


def test_batch_norm_gradcheck_channels_last():
    # the channels-last copy is made inside the checked function (gradcheck perturbs C-ordered inputs):
    # an identity 1x1 convolution returns its input in channels-last memory
    x = np.random.default_rng(0).standard_normal((3, 2, 3, 4))
    eye = sd.Tensor(np.eye(2)[:, :, None, None])

    def f(a, ww, bb):
        cl = F.conv2d(a, eye)
        assert cl.numpy().transpose(0, 2, 3, 1).flags.c_contiguous
        return F.batch_norm(cl, None, None, ww, bb, training=True)

    assert sd.gradcheck(f, x, np.array([1.5, -0.5]), np.array([0.1, 0.2]))


def _correlate(x, w, b, pad):
    """Direct 2-D cross-correlation, stride 1, in float64."""
    xp_ = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, ww = xp_.shape
    o, _, kh, kw = w.shape
    ho, wo = h - kh + 1, ww - kw + 1
    y = np.zeros((n, o, ho, wo))
    for p in range(kh):
        for q in range(kw):
            y += np.einsum("nchw,oc->nohw", xp_[:, :, p:p + ho, q:q + wo], w[:, :, p, q])
    return y + (0 if b is None else b[None, :, None, None])


@pytest.mark.parametrize("cin", [1, 3])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("pad", [0, 1])
def test_conv_bias_in_product_and_one_channel_columns(cin, bias, pad):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, cin, 7, 6))
    w = rng.standard_normal((4, cin, 3, 3))
    b = rng.standard_normal(4) if bias else None
    want = _correlate(x, w, b, pad)
    xt, wt = _t(x, True), sd.tensor(w, requires_grad=True)
    bt = sd.tensor(b, requires_grad=True) if bias else None
    y = F.conv2d(xt, wt, bt, padding=pad)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-12)
    with sd.no_grad():
        np.testing.assert_allclose(F.conv2d(sd.tensor(x), sd.tensor(w), None if b is None else sd.tensor(b),
                                            padding=pad).numpy(), want, rtol=1e-12, atol=1e-12)
    args = (xt, wt) + ((bt,) if bias else ())
    assert sd.gradcheck(lambda *a: F.conv2d(*a, padding=pad), *args)


def test_conv_with_many_chunks_matches_one_chunk(monkeypatch):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((9, 2, 6, 6))
    w = rng.standard_normal((3, 2, 3, 3))
    b = rng.standard_normal(3)
    want = _correlate(x, w, b, 1)
    monkeypatch.setattr(C, "_CHUNK_BYTES", 1)                  # one sample per chunk
    xt, wt = _t(x, True), sd.tensor(w, requires_grad=True)
    y = F.conv2d(xt, wt, sd.tensor(b), padding=1)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-12)
    assert sd.gradcheck(lambda a, ww: F.conv2d(a, ww, padding=1), xt, wt)


def test_conv_checks_still_run_for_new_shapes_and_layer_attributes():
    conv = sd.nn.Conv2d(2, 3, 3)
    x = sd.randn(1, 2, 8, 8)
    assert conv(x).shape == (1, 3, 6, 6)
    with pytest.raises(sd.errors.ShapeError, match="Conv2d"):
        conv(sd.randn(1, 2, 2, 2))                              # smaller than the kernel
    conv.stride = (2, 2)
    assert conv(x).shape == (1, 3, 3, 3)
    conv.padding = (1, 1)
    assert conv(x).shape == (1, 3, 4, 4)


def test_relu_of_minus_infinity_and_nan():
    x = sd.tensor(np.array([-np.inf, -1.0, 0.0, 2.0, np.inf, np.nan]), requires_grad=True)
    y = F.relu(x)
    np.testing.assert_array_equal(y.numpy()[:5], [0, 0, 0, 2, np.inf])
    assert np.isnan(y.numpy()[5])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0, 1, 1, 0])
    with sd.no_grad():
        y0 = F.relu(sd.tensor(np.array([-np.inf, 3.0, np.nan])))
    np.testing.assert_array_equal(y0.numpy()[:2], [0, 3])
    assert np.isnan(y0.numpy()[2])
