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
