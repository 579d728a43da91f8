"""Convolutions split over the samples, one BLAS thread per share (backend.run_split), against the
one-thread path: the same outputs, and gradients equal to float32 rounding (the weight gradient's
per-share partial sums are added in another order). With oneDNN's products (shendu[fast]) nothing is
split: its own threads share each product."""
import numpy as np
import pytest

import shendu
from conftest import require, require_onednn
from shendu import backend
from shendu.ops import conv as C


@pytest.fixture(autouse=True)
def numpy_blas():
    """The split is for NumPy's BLAS: oneDNN off in these tests, as it was afterwards."""
    before = backend.set_onednn(False)
    yield
    backend.set_onednn(before)


def _step(threads, seed, stride, padding, bias):
    threadpoolctl = require("threadpoolctl")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 32, 28, 28)).astype(np.float32)
    w = (0.1 * rng.standard_normal((48, 32, 3, 3))).astype(np.float32)
    b = rng.standard_normal(48).astype(np.float32) if bias else None
    with threadpoolctl.threadpool_limits(threads, user_api="blas"):
        xt = shendu.tensor(x, requires_grad=True)
        wt = shendu.tensor(w, requires_grad=True)
        bt = None if b is None else shendu.tensor(b, requires_grad=True)
        y = shendu.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding)
        (y * y).sum().backward()
        return y.numpy().copy(), xt.grad.numpy().copy(), wt.grad.numpy().copy()


@pytest.mark.parametrize("stride,padding,bias", [(1, 1, False), (1, 0, True), (2, 1, False)])
def test_split_convolution_equals_the_one_thread_path(monkeypatch, stride, padding, bias):
    calls = []
    real = C._run_split

    def counting(n, job, flops):
        r = real(n, job, flops)
        calls.append(r is not None)
        return r

    monkeypatch.setattr(C, "_run_split", counting)
    # a fresh policy per thread count: one that set 1 thread itself cannot tell a user's limit of 1
    monkeypatch.setattr(backend, "BLAS_THREADS", backend._BlasThreads())
    y1, gx1, gw1 = _step(1, 0, stride, padding, bias)
    assert not any(calls)                                    # one thread: nothing split
    calls.clear()
    monkeypatch.setattr(backend, "BLAS_THREADS", backend._BlasThreads())
    y2, gx2, gw2 = _step(2, 0, stride, padding, bias)
    if backend.BLAS_THREADS.enabled:
        assert any(calls)                                    # two threads: the large products split
    np.testing.assert_allclose(y2, y1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx2, gx1, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw2, gw1, rtol=1e-4, atol=1e-3)


def test_run_split_keeps_order_and_raises_the_workers_error(monkeypatch):
    threadpoolctl = require("threadpoolctl")
    monkeypatch.setattr(backend, "BLAS_THREADS", backend._BlasThreads())
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert backend.run_split(1, lambda s: s, 1e12) is None        # one sample: nothing to split
        assert backend.run_split(8, lambda s: s, 1.0) is None         # too little work
        parts = backend.run_split(9, lambda s: (s.start, s.stop), 1e12)
        if parts is None:                                             # no thread policy (another BLAS)
            return
        assert parts[0][0] == 0 and parts[-1][1] == 9
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))

        def fail(s):
            if s.start > 0:
                raise ValueError("share")
            return s

        with pytest.raises(ValueError, match="share"):
            backend.run_split(4, fail, 1e12)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        monkeypatch.setattr(backend, "BLAS_THREADS", backend._BlasThreads())
        assert backend.run_split(9, lambda s: s, 1e12) is None        # the user's one thread


def test_a_forked_child_runs_split_work_on_a_pool_of_its_own(monkeypatch):
    threadpoolctl = require("threadpoolctl")
    import os

    if not hasattr(os, "fork"):
        return
    monkeypatch.setattr(backend, "BLAS_THREADS", backend._BlasThreads())
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        if backend.run_split(4, lambda s: s.start, 1e12) is None:
            return                                           # no thread policy here: nothing to check
        pid = os.fork()
        if pid == 0:                                         # the child: the parent's pool threads are gone
            ok = backend.run_split(4, lambda s: s.start, 1e12) == [0, 2]
            os._exit(0 if ok else 1)
        import time

        deadline = time.monotonic() + 30
        done, status = 0, 0
        while not done and time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            time.sleep(0.01)
        if not done:                                         # hung on the parent's dead pool
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    assert done and os.WEXITSTATUS(status) == 0


def test_nothing_is_split_with_onednn(monkeypatch):
    threadpoolctl = require("threadpoolctl")
    require_onednn()
    monkeypatch.setattr(backend, "BLAS_THREADS", backend._BlasThreads())
    backend.set_onednn(True)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert backend.run_split(9, lambda s: s, 1e12) is None
