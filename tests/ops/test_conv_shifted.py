"""Stride-1 float32 convolutions as shifted oneDNN products (no im2col): the same outputs and
gradients as the im2col path to float32 rounding, taken only where it is meant to be. This path
runs where oneDNN's convolution primitives (``shendu._dnnl_conv``) decline a convolution, so the
primitives are switched off here."""
import numpy as np
import pytest

import shendu
from conftest import require_onednn
from shendu import backend
from shendu.ops import conv as C


@pytest.fixture
def counted(monkeypatch):
    """Calls of the shifted forward and weight gradient that produced a result."""
    require_onednn()
    seen = {"forward": 0, "weight": 0}
    fwd, wgt = C._conv_shifted, C._weight_grad_shifted

    def forward(*args):
        r = fwd(*args)
        seen["forward"] += r is not None
        return r

    def weight(*args):
        r = wgt(*args)
        seen["weight"] += r is not None
        return r
    monkeypatch.setattr(shendu._dnnl, "_api", lambda: None)           # the sgemm-product fallback
    monkeypatch.setattr(C, "_conv_shifted", forward)
    monkeypatch.setattr(C, "_weight_grad_shifted", weight)
    before = backend.onednn()
    yield seen
    backend.set_onednn(before)


def _step(x, w, b, onednn, **kw):
    backend.set_onednn(onednn)
    xt = shendu.tensor(x, requires_grad=True)
    wt = shendu.tensor(w, requires_grad=True)
    bt = None if b is None else shendu.tensor(b, requires_grad=True)
    y = shendu.nn.functional.conv2d(xt, wt, bt, **kw)
    (y * y).sum().backward()
    grads = [xt.grad.numpy().copy(), wt.grad.numpy().copy()] + ([] if b is None else [bt.grad.numpy().copy()])
    return [y.numpy().copy()] + grads


@pytest.mark.parametrize("cin,size,padding,dilation,bias", [
    (16, 28, 1, 1, False), (32, 28, 1, 1, True), (16, 28, 0, 1, True), (8, 48, 2, 2, False),
    (16, 28, "same", 1, True)])
def test_shifted_products_equal_the_im2col_path(counted, cin, size, padding, dilation, bias):
    rng = np.random.default_rng(cin + size)
    x = rng.standard_normal((3, cin, size, size)).astype(np.float32)
    w = (0.1 * rng.standard_normal((16, cin, 3, 3))).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32) if bias else None
    ref = _step(x, w, b, False, padding=padding, dilation=dilation)
    assert counted == {"forward": 0, "weight": 0}                 # oneDNN off: im2col
    got = _step(x, w, b, True, padding=padding, dilation=dilation)
    assert counted["forward"] >= 1 and counted["weight"] == 1     # forward (and ∂L/∂x), ∂L/∂W
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5 * np.abs(r).max())


@pytest.mark.parametrize("case", ["stride 2", "small image", "float64", "one channel"])
def test_other_convolutions_keep_im2col(counted, case):
    rng = np.random.default_rng(0)
    cin, size, kw, dtype = 16, 28, {"padding": 1}, np.float32
    if case == "stride 2":
        kw["stride"] = 2
    elif case == "small image":
        size = 7
    elif case == "float64":
        dtype = np.float64
    else:
        cin = 1
    x = rng.standard_normal((2, cin, size, size)).astype(dtype)
    w = rng.standard_normal((8, cin, 3, 3)).astype(dtype)
    _step(x, w, None, True, **kw)
    if case == "one channel":      # ∂L/∂x is a convolution of the 8-channel gradient: that one may be
        assert counted["weight"] == 0
        return
    assert counted == {"forward": 0, "weight": 0}
