"""The compiled (numba) batch-norm and max-pooling kernels against the NumPy path they replace: same
outputs, running statistics and gradients (BatchNorm1d/2d, train and eval, inside convolution/pooling
stacks of several geometries; max pooling bit for bit, NaN included), the precision of the one-read
statistics, and NumPy alone still a complete install."""
import os
import subprocess
import sys

import numpy as np
import pytest

import shendu as sd
import shendu.backend as backend
import shendu.nn as nn
from conftest import count_kernel_calls, require
from shendu.ops import norm as ops_norm

# rtol, and atol relative to each array's largest value: sums over a batch (∂L/∂γ, ∂L/∂β, the
# statistics, and what backward computes from them) differ between the paths by the rounding of their
# summation order; in float32 both paths are ~1e-6 of the largest value away from float64 there
TOL = {"float32": (1e-6, 1e-5), "float64": (1e-12, 1e-12)}
KERNELS = ("bn_stats", "bn_apply", "bn_grad_sums", "bn_grad_input", "max_pool_forward", "max_pool_values",
           "max_pool_backward_tiled", "relu_backward", "relu_forward")


@pytest.fixture
def calls(monkeypatch):
    """Counts calls of each kernel (proves the compiled path ran); restores the switch afterwards."""
    require("numba")
    before = backend.compiled()
    backend.set_compiled(True)
    from shendu.ops import _compiled_conv
    yield count_kernel_calls(monkeypatch, _compiled_conv, KERNELS)
    backend.set_compiled(before)


def _run(make, x, dtype, compiled_on, train=True, steps=2):
    """Outputs, every gradient and the buffers after ``steps`` forward + backward passes."""
    backend.set_compiled(compiled_on)
    sd.manual_seed(0)
    m = make()
    if dtype == "float64":
        m = m.double()
    m.train(train)
    outs = []
    for s in range(steps):
        xt = sd.tensor(x * (1 + s), requires_grad=True)
        y = m(xt)
        (y * sd.tensor(np.linspace(-1, 1, y.numel()).reshape(y.shape).astype(dtype))).sum().backward()
        outs += [y.numpy().copy(), xt.grad.numpy().copy()]
    outs += [p.grad.numpy().copy() for p in m.parameters()]
    outs += [b.numpy().copy() for b in m.buffers()]
    return outs


def _compare(make, x, dtype, calls, train=True, expect=True):
    ref = _run(make, x, dtype, False, train)
    assert sum(calls.values()) == 0
    got = _run(make, x, dtype, True, train)
    assert (sum(calls.values()) > 0) == expect, calls
    assert len(ref) == len(got)
    for r, g in zip(ref, got):
        rtol, atol = TOL[dtype]
        np.testing.assert_allclose(g, r, rtol=rtol, atol=atol * max(1.0, np.abs(r).max()))


def _bn_cnn(stride=1, padding=1, dilation=1, groups=1, pool="max"):
    # no convolution bias before a BatchNorm: its gradient is 0 up to rounding (nothing to compare)
    def make():
        p = nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2)
        return nn.Sequential(nn.Conv2d(4, 8, 3, stride, padding, dilation, groups, bias=False), nn.BatchNorm2d(8),
                             nn.ReLU(), p, nn.Conv2d(8, 6, 1, bias=False), nn.BatchNorm2d(6, affine=False), nn.Flatten())
    return make


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("geom", [dict(), dict(stride=2), dict(padding=0, dilation=2), dict(groups=2),
                                  dict(stride=2, padding=2, pool="avg")])
def test_compiled_batchnorm2d_in_conv_stack_equals_numpy(calls, dtype, train, geom):
    x = np.random.default_rng(1).standard_normal((5, 4, 12, 12)).astype(dtype) * 2 + 1
    _compare(_bn_cnn(**geom), x, dtype, calls, train)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_compiled_batchnorm1d_equals_numpy(calls, dtype, train, affine):
    x = np.random.default_rng(2).standard_normal((37, 19)).astype(dtype) * 3 + 5

    def make():
        return nn.Sequential(nn.Linear(19, 23), nn.BatchNorm1d(23, affine=affine), nn.ReLU(), nn.Linear(23, 3))
    _compare(make, x, dtype, calls, train)


def _pool_run(x, kw, compiled_on):
    backend.set_compiled(compiled_on)
    xt = sd.tensor(x, requires_grad=True)
    y = xt.permute(0, 3, 1, 2)                      # channels-last memory, as after a convolution
    out = nn.functional.max_pool2d(y, **kw)
    if kw.get("return_indices"):
        out, idx = out
    else:
        idx = None
    w = np.random.default_rng(7).standard_normal(out.shape).astype(x.dtype)
    (out * sd.tensor(w)).sum().backward()
    res = [out.numpy().copy(), xt.grad.numpy().copy()]
    return res + ([idx.numpy().copy()] if idx is not None else [])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw, fwd, bwd", [
    (dict(kernel_size=2), 1, 1),
    (dict(kernel_size=3), 1, 1),                               # 13 = 4·3 + 1: an uncovered last row
    (dict(kernel_size=3, stride=2), 1, 0),                     # overlapping windows: NumPy backward
    (dict(kernel_size=2, stride=3, dilation=2), 1, 0),
    (dict(kernel_size=(2, 3), stride=(2, 3), return_indices=True), 1, 1),
    (dict(kernel_size=2, padding=1), 0, 0),                    # padded: NumPy code
    (dict(kernel_size=2, ceil_mode=True), 0, 0),               # 13 → 7 windows: padded, NumPy code
])
def test_compiled_max_pool_equals_numpy(calls, dtype, kw, fwd, bwd):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 13, 13, 5)).astype(dtype)
    x[0, 1, 1, 2] = x[0, 1, 0, 2] = x[0, 0, 0, 2]             # ties: the first maximum wins
    x[1, 4, 5, 3] = np.nan                                     # NaN propagates to its window
    x[1, 5, 4, 3] = np.nan
    ref = _pool_run(x, kw, False)
    assert sum(calls.values()) == 0
    got = _pool_run(x, kw, True)
    assert (calls["max_pool_forward"], calls["max_pool_backward_tiled"]) == (fwd, bwd), calls
    for r, g in zip(ref, got):
        np.testing.assert_array_equal(g, r)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw, compiled", [
    (dict(kernel_size=2), 1),
    (dict(kernel_size=3), 1),
    (dict(kernel_size=3, stride=2), 1),                        # overlapping windows
    (dict(kernel_size=2, stride=3, dilation=2), 1),
    (dict(kernel_size=(2, 3), stride=(1, 2)), 1),
    (dict(kernel_size=2, padding=1), 0),                       # padded: NumPy code
    (dict(kernel_size=2, ceil_mode=True), 0),
])
def test_compiled_max_pool_inference_equals_numpy(calls, dtype, kw, compiled):
    """Under no_grad the maxima alone come from one compiled pass over channels-last input: the
    NumPy path's values bit for bit, NaN and -0.0 included; an NCHW input and padding keep the NumPy
    code."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 13, 13, 5)).astype(dtype)
    x[1, 4, 5, 3] = np.nan
    x[0, 2, 2, 1] = -0.0
    out = {}
    for on in (False, True):
        backend.set_compiled(on)
        with sd.no_grad():
            out[on] = nn.functional.max_pool2d(sd.tensor(x).permute(0, 3, 1, 2), **kw)
            nchw = nn.functional.max_pool2d(sd.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2))), **kw)
        np.testing.assert_array_equal(nchw.numpy(), out[on].numpy())
    assert calls["max_pool_values"] == compiled and calls["max_pool_forward"] == 0
    np.testing.assert_array_equal(out[True].numpy(), out[False].numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_relu_backward_equals_numpy_bit_for_bit(calls, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6, 5, 5)).astype(dtype)
    g = rng.standard_normal((4, 6, 5, 5)).astype(dtype)
    g.flat[:3] = [np.nan, np.inf, -np.inf]                # NaN and ∞ reach ∂L/∂x as in g·[y > 0]
    x.flat[:3] = [-1.0, 1.0, -1.0]
    got = []
    for on in (False, True):
        backend.set_compiled(on)
        for cl in (False, True):                          # NCHW and a channels-last layout
            xt = sd.tensor(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), requires_grad=True) if cl \
                else sd.tensor(x, requires_grad=True)
            gt = sd.tensor(np.ascontiguousarray(g.transpose(0, 2, 3, 1))) if cl else sd.tensor(g)
            sd.nn.functional.relu(xt).backward(gt)
            got.append(xt.grad.numpy().copy())
    assert calls["relu_backward"] == 2
    np.testing.assert_array_equal(got[2], got[0])
    np.testing.assert_array_equal(got[3], got[1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_relu_forward_equals_numpy_bit_for_bit(calls, dtype):
    """max(x, 0) by the kernel equals NumPy's: NaN through, −0.0 to +0.0, ±∞; dense C order and a
    channels-last view run the kernel, a strided slice and a small array keep the NumPy code."""
    from shendu.ops.activation import _relu_array

    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 8, 9, 9)).astype(dtype)
    x.flat[:7] = [np.nan, -0.0, 0.0, np.inf, -np.inf, -1.0, 2.0]
    cases = [x, np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),  # kernel
             x[:, :, ::2], x[:1, :1]]                                                 # NumPy
    for a in cases:
        got = sd.nn.functional.relu(sd.from_numpy(a)).numpy()
        want = _relu_array(a)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    assert calls["relu_forward"] == 2


def test_nchw_input_keeps_numpy_path(calls):
    """A contiguous (N, C, H, W) input (channels not innermost) runs the NumPy code, same numbers."""
    x = np.random.default_rng(3).standard_normal((4, 3, 5, 5)).astype("float32")
    _compare(lambda: nn.BatchNorm2d(3), x, "float32", calls, expect=False)


def test_statistics_as_precise_as_two_pass(calls):
    """Mean far from 0 (μ = 50, σ = 0.5): the one-read shifted float64 sums are no worse than the NumPy
    path's two passes in float32, measured against float64."""
    rng = np.random.default_rng(4)
    xl = (rng.standard_normal((64, 14, 14, 16)) * 0.5 + 50).astype(np.float32)    # channels-last memory
    x = xl.transpose(0, 3, 1, 2)
    g = rng.standard_normal(x.shape).astype(np.float32)
    x64 = x.astype(np.float64)
    mu = x64.mean(axis=(0, 2, 3), keepdims=True)
    sig = np.sqrt(x64.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    y64 = (x64 - mu) / sig
    g64 = g.astype(np.float64)
    gx64 = (g64 - g64.mean(axis=(0, 2, 3), keepdims=True)
            - y64 * (g64 * y64).mean(axis=(0, 2, 3), keepdims=True)) / sig
    err = {}
    for on in (False, True):
        backend.set_compiled(on)
        f = ops_norm.BatchNorm()
        f.needs_grad = (True,)
        y = f.forward(x, training=True)
        gx, _, _ = f.backward(g)
        err[on] = (np.abs(y - y64).max(), np.abs(gx - gx64).max() / np.abs(gx64).max())
    assert calls["bn_stats"] == 1 and calls["bn_grad_input"] == 1
    for i in range(2):
        assert err[True][i] <= max(1.5 * err[False][i], 2e-6), err
    assert err[True][0] < 1e-4 and err[True][1] < 1e-4, err


def test_numpy_alone_is_complete():
    """With numba unimportable, BatchNorm runs the NumPy code even with the switch on."""
    code = ("import sys; sys.modules['numba'] = None\n"
            "import numpy as np, shendu as sd, shendu.nn as nn\n"
            "from shendu.ops import norm\n"
            "m = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4))\n"
            "x = sd.tensor(np.ones((2, 2, 6, 6), np.float32), requires_grad=True)\n"
            "m(x).sum().backward()\n"
            "assert norm.compiled_kernels(np.float32) is None\n"
            "print('ok')\n")
    env = dict(os.environ, SHENDU_COMPILED="1",
               PYTHONPATH=os.pathsep.join([os.path.join(os.path.dirname(__file__), "..", "..", "src"),
                                           os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr
