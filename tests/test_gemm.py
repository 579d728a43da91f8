"""The oneDNN matrix product (``shendu[fast]``): NumPy's numbers to float32 rounding for every layout
it takes, NumPy's own call for what it does not take, and a switch that turns it off."""
import numpy as np
import pytest

from conftest import require, require_onednn
from shendu import _gemm, backend

RTOL, ATOL = 2e-5, 2e-5


@pytest.fixture
def onednn():
    """oneDNN on for the test (skip, or fail under SHENDU_REQUIRE_OPTIONAL, without the library)."""
    require_onednn()
    before = backend.set_onednn(True)
    yield
    backend.set_onednn(before)


def _calls(monkeypatch):
    seen = []
    real = _gemm._stacked

    def counting(*args):
        done = real(*args)
        seen.append(done)
        return done
    monkeypatch.setattr(_gemm, "_stacked", counting)
    return seen


def _pair(rng, m, k, n):
    return (rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32))


def test_products_equal_numpy_in_every_layout(onednn, monkeypatch):
    seen = _calls(monkeypatch)
    rng = np.random.default_rng(0)
    a, b = _pair(rng, 96, 80, 70)
    big = rng.standard_normal((200, 300)).astype(np.float32)
    cases = [
        (a, b),                                   # both row-major
        (np.ascontiguousarray(a.T).T, b),         # a transposed in memory
        (a, np.ascontiguousarray(b.T).T),         # b transposed in memory
        (big[10:106, 5:85], big[20:100, 100:170]),  # views with a leading dimension > their width
        (big[:80, :96].T, big[100:180, :70]),
    ]
    for x, y in cases:
        np.testing.assert_allclose(backend.matmul(x, y), x @ y, rtol=RTOL, atol=ATOL)
    assert seen == [True] * len(cases)


def test_out_argument_and_stacks(onednn, monkeypatch):
    seen = _calls(monkeypatch)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 64, 48)).astype(np.float32)
    w = rng.standard_normal((48, 32)).astype(np.float32)
    out = np.empty((4, 64, 32), np.float32)
    r = backend.matmul(a, w, out=out)
    assert r is out
    np.testing.assert_allclose(out, a @ w, rtol=RTOL, atol=ATOL)
    b = rng.standard_normal((4, 48, 32)).astype(np.float32)
    np.testing.assert_allclose(backend.matmul(a, b), a @ b, rtol=RTOL, atol=ATOL)     # stack @ stack
    np.testing.assert_allclose(backend.matmul(w.T, a.transpose(0, 2, 1)), w.T @ a.transpose(0, 2, 1),
                               rtol=RTOL, atol=ATOL)                                  # matrix @ stack
    np.testing.assert_allclose(backend.matmul(a[:1], b), a[:1] @ b, rtol=RTOL, atol=ATOL)  # broadcast
    assert seen and all(seen)


def test_what_onednn_does_not_take_goes_to_numpy(onednn, monkeypatch):
    seen = _calls(monkeypatch)
    rng = np.random.default_rng(2)
    a, b = _pair(rng, 64, 64, 64)
    np.testing.assert_array_equal(backend.matmul(a.astype(np.float64), b.astype(np.float64)),
                                  a.astype(np.float64) @ b.astype(np.float64))     # float64
    np.testing.assert_array_equal(backend.matmul(a[:2, :3], b[:3, :4]), a[:2, :3] @ b[:3, :4])  # tiny
    np.testing.assert_array_equal(backend.matmul(a, b[:, 0]), a @ b[:, 0])           # a vector
    strided = rng.standard_normal((128, 128)).astype(np.float32)[::2, ::2]           # no unit stride
    np.testing.assert_array_equal(backend.matmul(strided, b), np.matmul(strided, b))
    out = np.empty((64, 64), np.float32)[:, ::1].T                                   # an out not C-ordered
    backend.matmul(a, b, out=out)
    np.testing.assert_array_equal(out, np.matmul(a, b, out=np.empty((64, 64), np.float32).T))
    assert not any(seen)


def test_the_switch_and_the_thread_count(onednn):
    rng = np.random.default_rng(3)
    a, b = _pair(rng, 256, 256, 256)
    assert backend.set_onednn(False) is True and backend.onednn() is False
    np.testing.assert_array_equal(backend.matmul(a, b), np.matmul(a, b))             # NumPy's own call
    backend.set_onednn(True)
    one = backend.gemm(a, b, threads=1)
    two = backend.gemm(a, b, threads=2)
    np.testing.assert_allclose(one, a @ b, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(two, a @ b, rtol=RTOL, atol=ATOL)


def test_set_onednn_without_the_library_says_how_to_install(monkeypatch):
    monkeypatch.setattr(_gemm, "_LIB", False)
    before = backend._ONEDNN
    try:
        with pytest.raises(ImportError, match="shendu\\[fast\\]"):
            backend.set_onednn(True)
        backend.set_onednn(False)
        assert backend.onednn() is False
    finally:
        backend._ONEDNN = before


def test_a_model_trains_to_the_same_numbers_either_way(onednn):
    import shendu as sd

    def run():
        sd.manual_seed(0)
        model = sd.nn.Sequential(sd.nn.Conv2d(1, 8, 3), sd.nn.ReLU(), sd.nn.Flatten(),
                                 sd.nn.Linear(8 * 10 * 10, 10))
        opt = sd.optim.SGD(model.parameters(), lr=0.1)
        x = sd.from_numpy(np.random.default_rng(4).standard_normal((16, 1, 12, 12)).astype(np.float32))
        y = sd.from_numpy(np.arange(16) % 10)
        for _ in range(3):
            opt.zero_grad()
            loss = sd.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        return loss.item(), model[0].weight.detach().numpy()

    backend.set_onednn(False)
    ref = run()
    backend.set_onednn(True)
    got = run()
    assert got[0] == pytest.approx(ref[0], rel=1e-5)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-4, atol=1e-5)


def test_a_forked_child_multiplies_on_one_thread(onednn):
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        return                                           # no fork on this platform: nothing to guard
    rng = np.random.default_rng(5)
    a, b = _pair(rng, 256, 256, 256)
    backend.gemm(a, b, threads=2)                        # the parent's OpenMP team exists
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_child_product, (a, b)).get(timeout=60)
    assert got[1] is True                                # the child knows it was forked
    np.testing.assert_allclose(got[0], a @ b, rtol=RTOL, atol=1e-4)   # sums of 256 products


def _child_product(a, b):
    return backend.gemm(a, b, threads=2), _gemm._FORKED


def test_onednn_products_go_parallel_from_half_the_blas_threshold(onednn, monkeypatch):
    threadpoolctl = require("threadpoolctl")
    monkeypatch.setattr(backend, "BLAS_THREADS", backend._BlasThreads())
    rng = np.random.default_rng(6)
    a, b = _pair(rng, 128, 160, 128)                     # 5.2 MFLOP: under 8, over 4
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        p = backend.BLAS_THREADS
        backend.matmul(a.astype(np.float64), b.astype(np.float64))
        if not p.enabled:
            return                                       # a one-thread BLAS: nothing to choose
        assert p.current == 1                            # NumPy's BLAS: one thread
        backend.matmul(a, b)
        assert p.current == 2                            # oneDNN: both


def test_one_row_times_a_large_matrix_runs_on_every_thread(onednn, monkeypatch):
    """A batch-1 layer of 1 MB and more (one row times the weights) is bound by reading the matrix:
    it runs in oneDNN on every thread; smaller ones, and a matrix times a column, stay in NumPy's
    gemv. NumPy's BLAS keeps its one thread for them either way."""
    threadpoolctl = require("threadpoolctl")
    monkeypatch.setattr(backend, "BLAS_THREADS", backend._BlasThreads())
    threads = []
    real = _gemm._stacked

    def counting(a, b, out, n_threads, *rest):
        threads.append(n_threads)
        return real(a, b, out, n_threads, *rest)
    monkeypatch.setattr(_gemm, "_stacked", counting)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 784)).astype(np.float32)
    w = rng.standard_normal((512, 784)).astype(np.float32)               # 1.6 MB, read transposed
    small = rng.standard_normal((128, 784)).astype(np.float32)           # 0.4 MB
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        p = backend.BLAS_THREADS
        backend.matmul(x.astype(np.float64), w.T.astype(np.float64))
        if not p.enabled:
            return                                                       # a one-thread BLAS
        np.testing.assert_allclose(backend.matmul(x, w.T), x @ w.T, rtol=RTOL, atol=1e-4)
        assert threads == [2] and p.current == 1
        np.testing.assert_allclose(backend.matmul(x, small.T), x @ small.T, rtol=RTOL, atol=1e-4)
        np.testing.assert_allclose(backend.matmul(w, x[0]), w @ x[0], rtol=RTOL, atol=1e-4)
        assert threads == [2]                                            # both stayed in NumPy
        assert _gemm.gemm(x, w.T, threads=1) is None                     # one thread: NumPy's gemv
