"""Convolutions through oneDNN's convolution primitives (``shendu._dnnl_conv``) against the NumPy
im2col path: the same outputs and gradients to float32 rounding over the geometries users write,
the primitives taken where they should be and declined (the NumPy path then runs) where not."""
import os
import threading

import numpy as np
import pytest

import shendu
from conftest import count_primitives, require_onednn
from shendu import _dnnl, _dnnl_conv, _gemm, backend

F = shendu.nn.functional

# stride, padding, dilation as conv2d takes them; (N, C, H, W), C_out, kernel
GEOMETRIES = [
    ((2, 16, 12, 12), 8, 3, dict(padding=1)),
    ((3, 8, 11, 11), 16, 3, dict(stride=2, padding=1)),                     # stride 2, odd size
    ((2, 3, 9, 9), 4, 3, dict(dilation=2)),
    ((2, 8, 10, 9), 8, 5, dict(padding=(2, 1), stride=(1, 2))),              # uneven everything
    ((1, 1, 28, 28), 32, 3, {}),                                            # one channel, batch 1
    ((5, 32, 7, 7), 64, 1, dict(stride=2)),                                 # 1x1 shortcut
]


@pytest.fixture
def runs(monkeypatch):
    """Counts executions of the primitives, by kind; restores the oneDNN switch afterwards."""
    require_onednn()
    before = backend.onednn()
    yield count_primitives(monkeypatch, _dnnl_conv, ("fwd", "bwd_data", "bwd_weights"))
    backend.set_onednn(before)


def _conv(onednn, x, w, b, seed=1, **kw):
    backend.set_onednn(onednn)
    xt = shendu.tensor(x, requires_grad=True)
    wt = shendu.tensor(w, requires_grad=True)
    bt = None if b is None else shendu.tensor(b, requires_grad=True)
    y = F.conv2d(xt, wt, bt, **kw)
    g = np.random.default_rng(seed).standard_normal(y.shape).astype(y.dtype)
    y.backward(shendu.tensor(g))
    return [y.numpy(), xt.grad.numpy(), wt.grad.numpy()] + ([] if b is None else [bt.grad.numpy()])


def _close(got, want):
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=[str(g[:3]) for g in GEOMETRIES])
@pytest.mark.parametrize("bias", [True, False])
def test_primitives_equal_the_numpy_path(runs, geometry, bias):
    shape, cout, k, kw = geometry
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal((cout, shape[1], k, k)) * 0.2).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32) if bias else None
    want = _conv(False, x, w, b, **kw)
    assert runs == {"fwd": 0, "bwd_data": 0, "bwd_weights": 0}          # oneDNN off: NumPy
    got = _conv(True, x, w, b, **kw)
    assert runs == {"fwd": 1, "bwd_data": 1, "bwd_weights": 1}
    _close(got, want)


def test_channels_last_input_and_a_broadcast_gradient(runs):
    """A channels-last view (a convolution's own output) is read in place, and a gradient with zero
    strides (from ``sum()``) is made dense first: both still run the primitives."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 9, 9, 8)).astype(np.float32).transpose(0, 3, 1, 2)
    w = rng.standard_normal((6, 8, 3, 3)).astype(np.float32)
    outs = []
    for on in (False, True):
        backend.set_onednn(on)
        xt, wt = shendu.from_numpy(x).requires_grad_(), shendu.tensor(w, requires_grad=True)
        y = F.conv2d(xt, wt, padding=1)
        y.sum().backward()
        outs.append([y.numpy(), xt.grad.numpy(), wt.grad.numpy()])
    assert runs == {"fwd": 1, "bwd_data": 1, "bwd_weights": 1}
    _close(outs[1], outs[0])


def test_conv1d_and_a_network_train_the_same(runs):
    """Conv1d goes through the same primitives; a small CNN trained with and without them ends at the
    same weights to float32 rounding."""
    rng = np.random.default_rng(3)
    x1 = rng.standard_normal((4, 6, 20)).astype(np.float32)
    w1 = rng.standard_normal((5, 6, 3)).astype(np.float32)
    outs = []
    for on in (False, True):
        backend.set_onednn(on)
        y = F.conv1d(shendu.tensor(x1), shendu.tensor(w1), stride=2, padding=1)
        outs.append(y.numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-5)

    nn = shendu.nn
    x = rng.standard_normal((16, 1, 12, 12)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    final = []
    for on in (False, True):
        backend.set_onednn(on)
        shendu.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2),
                              nn.ReLU(), nn.Flatten(), nn.Linear(8 * 5 * 5, 3))
        opt = shendu.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(5):
            opt.zero_grad()
            F.cross_entropy(model(shendu.tensor(x)), shendu.tensor(y)).backward()
            opt.step()
        final.append([p.numpy().copy() for p in model.parameters()])
    for a, b in zip(final[1], final[0]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    assert runs["fwd"] >= 10 and runs["bwd_weights"] >= 10


def test_declined_where_they_do_not_apply(runs, monkeypatch):
    """float64, grouped convolutions, a reference implementation and a forked child keep the NumPy path."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 8, 8))
    w = rng.standard_normal((4, 4, 3, 3))
    _conv(True, x, w, None)                                         # float64
    _conv(True, x.astype(np.float32), w[:, :2].astype(np.float32), None, groups=2)
    assert runs == {"fwd": 0, "bwd_data": 0, "bwd_weights": 0}

    want = _conv(False, x.astype(np.float32), w.astype(np.float32), None)
    monkeypatch.setattr(_dnnl._Primitive, "usable", property(lambda self: False))
    declined = _conv(True, x.astype(np.float32), w.astype(np.float32), None)
    _close(declined, want)
    assert runs == {"fwd": 0, "bwd_data": 0, "bwd_weights": 0}
    monkeypatch.undo()
    monkeypatch.setattr(_gemm, "_FORKED", True)
    assert _dnnl_conv.forward(np.ones((1, 5, 5, 2), np.float32), np.ones((18, 3), np.float32), None, (3, 3),
                              (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)), 1) is None


def test_cache_is_per_thread_bounded_and_keyed_by_threads(monkeypatch):
    require_onednn()
    before = backend.onednn()
    backend.set_onednn(True)
    try:
        x = np.ones((2, 5, 5, 4), np.float32)
        w = np.ones((36, 3), np.float32)
        args = ((3, 3), (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)))
        y1 = _dnnl_conv.forward(x, w, None, *args, 1)
        y2 = _dnnl_conv.forward(x, w, None, *args, 2)
        np.testing.assert_array_equal(y1, np.full((2, 3, 3, 3), 36.0, np.float32))
        np.testing.assert_array_equal(y2, y1)
        keys = [k for k in _dnnl._cache() if k[0] == "fwd" and k[1] == x.shape]
        assert {k[-1] for k in keys} >= {1, 2}                       # one primitive per thread count

        seen = {}

        def other():
            seen["y"] = _dnnl_conv.forward(x, w, None, *args, 1)
            seen["cache"] = _dnnl._cache()
        t = threading.Thread(target=other)
        t.start()
        t.join()
        np.testing.assert_array_equal(seen["y"], y1)
        assert seen["cache"] is not _dnnl._cache()
        freed = []
        monkeypatch.setattr(_dnnl._Primitive, "destroy", lambda self: freed.append(self.impl))
        del seen["cache"]                                           # the thread is gone: its primitives too
        assert freed
        monkeypatch.undo()

        monkeypatch.setattr(_dnnl, "CACHE_SIZE", 2)
        for size in (6, 7, 8, 9):
            _dnnl_conv.forward(np.ones((1, size, size, 4), np.float32), w, None, (size - 2, size - 2), *args[1:], 1)
        assert len(_dnnl._cache()) <= 2
    finally:
        backend.set_onednn(before)


def test_forked_child_runs_the_numpy_path():
    """After oneDNN has run in the parent, a forked child's convolution takes the NumPy path (GNU
    libgomp is not fork-safe) and gives the same numbers."""
    require_onednn()
    backend.set_onednn(True)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 9, 9)).astype(np.float32)
    w = rng.standard_normal((3, 4, 3, 3)).astype(np.float32)
    want = F.conv2d(shendu.tensor(x), shendu.tensor(w)).numpy()
    r, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:                                                    # the child
        try:
            ok = _dnnl_conv.forward(np.ascontiguousarray(x.transpose(0, 2, 3, 1)),
                                    np.ones((36, 3), np.float32), None, (7, 7), (3, 3), (1, 1), (1, 1),
                                    ((0, 0), (0, 0)), 1) is None
            got = F.conv2d(shendu.tensor(x), shendu.tensor(w)).numpy()
            ok = ok and np.allclose(got, want, rtol=1e-5, atol=1e-5)
            os.write(wfd, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(wfd)
    answer = os.read(r, 1)
    os.waitpid(pid, 0)
    assert answer == b"1"


@pytest.mark.parametrize("onednn", [False, True])
def test_an_empty_batch_gives_empty_outputs_and_zero_kernel_gradients(runs, onednn):
    """As in PyTorch: a batch of no samples convolves to no samples, and nothing moves the kernel."""
    backend.set_onednn(onednn)
    for conv, shape in [(shendu.nn.Conv2d(1, 2, 3), (0, 1, 8, 8)), (shendu.nn.Conv1d(2, 3, 3), (0, 2, 9))]:
        x = shendu.tensor(np.zeros(shape, np.float32), requires_grad=True)
        y = conv(x)
        y.sum().backward()
        assert y.shape[0] == 0 and x.grad.shape == shape
        np.testing.assert_array_equal(conv.weight.grad.numpy(), 0.0)
        np.testing.assert_array_equal(conv.bias.grad.numpy(), 0.0)


def test_array_addresses_handed_to_onednn_are_those_numpy_gives():
    """The primitives read and write arrays at the addresses the loaded library's ``address`` helper
    gives: the first element's, for contiguous arrays, views with an offset, transposed and strided
    views alike."""
    require_onednn()
    a = np.arange(2 * 5 * 6 * 3, dtype=np.float32).reshape(2, 5, 6, 3)
    views = [a, a[1], a[:, 2:], a.transpose(0, 3, 1, 2), a[..., 1], a[:, ::2, 1:], a.reshape(-1)[7:],
             np.empty((0, 4), np.float32), np.zeros(3, np.uint8), np.zeros((2, 2), np.float64)]
    address = _dnnl._api().address
    for v in views:
        assert address(v) == v.ctypes.data
