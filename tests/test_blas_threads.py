"""backend.matmul: the same numbers as np.matmul, one BLAS thread for small products, the user's limit kept."""
import numpy as np

from conftest import require
from shendu import backend


def test_matmul_equals_numpy_for_every_size():
    rng = np.random.default_rng(0)
    for m, k, n in [(1, 3, 2), (64, 128, 512), (300, 200, 100)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        np.testing.assert_allclose(backend.matmul(a, b), a @ b, rtol=1e-5, atol=1e-5)
    a = rng.standard_normal((3, 4, 5))
    b = rng.standard_normal((3, 5, 2))
    out = np.empty((3, 4, 2))
    backend.matmul(a, b, out=out)
    np.testing.assert_allclose(out, np.matmul(a, b))


def test_small_products_run_on_one_thread_and_the_ceiling_follows_the_user():
    threadpoolctl = require("threadpoolctl")
    p = backend.BLAS_THREADS
    a = np.ones((4, 4), np.float32)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        backend.matmul(a, a)
        if not p.enabled:
            return                                   # one-thread BLAS or not OpenBLAS: nothing to choose
        assert p.ctl.get_num_threads() == 1          # a tiny product: one thread
        big = np.ones((512, 512), np.float32)
        backend.matmul(big, big)
        assert p.ctl.get_num_threads() in (1, 2)
        assert p.max == 2
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        backend.matmul(np.ones((512, 512), np.float32), np.ones((512, 512), np.float32))
        assert p.max == 1 and p.ctl.get_num_threads() == 1   # the user's limit is the ceiling


def test_pick_prefers_the_cheaper_thread_count_and_explores():
    p = backend._BlasThreads()
    p.max, p.explore = 2, 4
    assert p.pick() == 2                              # unmeasured: try the full count first
    p.record(2, 1.0)
    assert p.pick() == 1                              # then one thread
    p.record(1, 5.0)                                  # one thread is slower: use 2, try 1 every 4th call
    picks = [p.pick() for _ in range(8)]
    assert picks.count(1) == 2 and picks.count(2) == 6


def test_openblas_workers_spin_briefly_and_the_products_stay_the_same():
    threadpoolctl = require("threadpoolctl")
    import os

    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 400))          # float64: NumPy's BLAS (float32 may go to oneDNN)
    b = rng.standard_normal((400, 200))
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        expected = a @ b
        got = backend.matmul(a, b)
        p = backend.BLAS_THREADS
        if p.napping:                                # OpenBLAS with 2+ threads: workers restarted, short spin
            assert p.ctl.dynlib.openblas_thread_timeout() == backend.OPENBLAS_SPIN
        assert "OPENBLAS_THREAD_TIMEOUT" not in os.environ   # the user's environment is left as it was
        np.testing.assert_array_equal(got, expected)   # on the user's 2 threads, also after a limit of 1
        np.testing.assert_array_equal(backend.matmul(a, b), expected)


class _FakeBlas:
    internal_api, threading_layer = "openblas", "pthreads"

    def __init__(self):
        self.calls = []
        self.dynlib = self

    def openblas_read_env(self):
        self.calls.append(("read", __import__("os").environ.get("OPENBLAS_THREAD_TIMEOUT")))

    def blas_thread_shutdown_(self):
        self.calls.append(("shutdown",))

    def set_num_threads(self, n):
        self.calls.append(("threads", n))


def test_spin_is_left_alone_when_the_user_chose_it(monkeypatch):
    monkeypatch.delenv("OPENBLAS_THREAD_TIMEOUT", raising=False)
    monkeypatch.delenv("SHENDU_BLAS_SPIN", raising=False)
    f = _FakeBlas()
    assert backend._shorten_openblas_spin(f, 2)
    assert f.calls == [("read", str(backend.OPENBLAS_SPIN)), ("shutdown",), ("threads", 2)]
    monkeypatch.setenv("SHENDU_BLAS_SPIN", "0")
    assert not backend._shorten_openblas_spin(_FakeBlas(), 2)
    monkeypatch.setenv("SHENDU_BLAS_SPIN", "12")
    f = _FakeBlas()
    assert backend._shorten_openblas_spin(f, 2) and f.calls[0] == ("read", "12")
    monkeypatch.delenv("SHENDU_BLAS_SPIN")
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "28")
    f = _FakeBlas()
    assert not backend._shorten_openblas_spin(f, 2) and f.calls == []
    monkeypatch.delenv("OPENBLAS_THREAD_TIMEOUT")
    f = _FakeBlas()
    f.internal_api = "mkl"
    assert not backend._shorten_openblas_spin(f, 2) and f.calls == []


def test_spin_is_left_alone_off_the_main_thread(monkeypatch):
    """Restarting OpenBLAS's workers while another thread may be inside a product is unsafe: only the
    main thread does it."""
    import threading

    monkeypatch.delenv("OPENBLAS_THREAD_TIMEOUT", raising=False)
    monkeypatch.delenv("SHENDU_BLAS_SPIN", raising=False)
    f, result = _FakeBlas(), []
    t = threading.Thread(target=lambda: result.append(backend._shorten_openblas_spin(f, 2)))
    t.start()
    t.join()
    assert result == [False] and f.calls == []


def test_numpys_blas_is_found_among_several():
    """A second OpenBLAS in the process (SciPy's wheels bring one, loaded by scipy.linalg, sklearn or
    numba) does not switch the thread policy off: the controller inside NumPy's package is NumPy's."""
    import os
    from types import SimpleNamespace

    here = os.path.dirname(np.__file__)
    numpy_lib = SimpleNamespace(filepath=here + ".libs/libscipy_openblas64_-x.so")
    scipy_lib = SimpleNamespace(filepath=os.path.join(os.path.dirname(here), "scipy.libs", "libscipy_openblas-y.so"))
    assert backend._numpy_blas([scipy_lib, numpy_lib]) == [numpy_lib]
    assert backend._numpy_blas([scipy_lib]) == [scipy_lib]
    other = SimpleNamespace(filepath="/usr/lib/libopenblas.so.0")
    assert len(backend._numpy_blas([scipy_lib, other])) == 2          # no way to tell: the policy stays off
    ctl = backend._BlasThreads()
    require("threadpoolctl")
    require("scipy")
    backend.matmul(np.ones((2, 2)), np.ones((2, 2)))
    if backend.BLAS_THREADS.ctl is not None:
        import scipy.linalg  # noqa: F401 - loads SciPy's own OpenBLAS next to NumPy's

        ctl._init()                                  # (enabled or not: it depends on the threads set now)
        assert ctl.ctl is not None and ctl.ctl.filepath == backend.BLAS_THREADS.ctl.filepath
