"""The array backend: the one module that names the array library.

Everything that does math on tensor data imports ``xp`` from here, so moving shendu to another
NumPy-compatible library (CuPy for GPUs) is a change to this module alone.
"""
from time import perf_counter as _perf_counter

import numpy

from . import _gemm

xp = numpy
"""The array module (NumPy). ``xp.matmul``, ``xp.exp``... are used throughout the library."""

ndarray = xp.ndarray


def to_numpy(a):
    """Return ``a`` as a host NumPy array (a no-op for NumPy; a device-to-host copy for CuPy)."""
    return numpy.asarray(a)


def asarray(a, dtype=None):
    """Return ``a`` as a backend array without copying when possible."""
    return xp.asarray(a, dtype=dtype)


def _keep_freed_memory():
    """Ask glibc's malloc to reuse freed array memory instead of handing it back to the OS.

    Training allocates and frees the same large arrays at every step. By default glibc serves
    arrays over 128 KiB with fresh ``mmap`` pages and unmaps them on free, so every step pays
    page faults to zero new memory again (half of a small CNN's step time). Raising the mmap
    threshold to 32 MiB and the trim threshold to 256 MiB keeps that memory in the process for
    reuse, as PyTorch's caching allocator does. Set ``SHENDU_MALLOC_TUNING=0`` to leave malloc
    alone. Elsewhere than glibc (macOS, Windows, musl) this does nothing.
    """
    import os
    import sys

    if os.environ.get("SHENDU_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)
                    and libc.mallopt(m_trim_threshold, 256 * 2**20))
    except (OSError, AttributeError):
        return False


MALLOC_TUNED = _keep_freed_memory()


class _BlasThreads:
    """Threads per matrix product, chosen by its size and by what the machine gives right now.

    A small product (a recurrent step, a batch-1 layer) finishes before a second BLAS thread has
    woken up, so products under ``parallel_flops`` (2·m·k·n, default 8·10⁶; half that for float32
    products in oneDNN, see ``_parallel_flops``) run on one thread. For
    larger ones more threads are faster on a quiet machine, but on a busy one (more runnable threads
    than cores) every parallel call waits for a descheduled worker: measured on a loaded 2-core box, a
    1 ms convolution step took 100–1400 ms with 2 threads. So each large product is timed, and the
    cost per flop is tracked (moving average) for 1 thread and for the full count; the cheaper one is
    used, and the other is tried again every ``explore`` large calls so a change of load is noticed.
    The full count is the number of BLAS threads when shendu first multiplied (or that the user set
    since, e.g. with ``threadpoolctl.threadpool_limits``). ``SHENDU_BLAS_PARALLEL_MFLOP`` sets the
    threshold in MFLOP; ``SHENDU_BLAS_PARALLEL_MFLOP=0`` turns the policy off (BLAS decides alone).

    The timing is opt-in (``SHENDU_BLAS_ADAPTIVE=1``): the thread count can change a product's float
    rounding, so a choice that depends on the machine's load would make a seeded run unrepeatable. By
    default the choice depends on the product's size alone: one thread below the threshold, the full
    count above it.
    """

    def __init__(self):
        self.ready = False
        self.enabled = True
        self.ctl = None
        self.max = 1
        self.current = None
        self.parallel_flops = 8e6
        self.explore = 32
        self.calls = 0
        self.cost = {}
        self.adaptive = False
        self.napping = False

    def _init(self):
        import os

        self.ready = True
        self.adaptive = os.environ.get("SHENDU_BLAS_ADAPTIVE", "0") not in ("", "0")
        mflop = float(os.environ.get("SHENDU_BLAS_PARALLEL_MFLOP", "8"))
        self.parallel_flops = mflop * 1e6
        if mflop <= 0:
            self.enabled = False
            return
        try:
            from threadpoolctl import ThreadpoolController

            ctls = _numpy_blas(ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:  # noqa: BLE001 - threadpoolctl absent or unable to read the BLAS: no policy
            ctls = []
        if len(ctls) != 1:
            self.enabled = False
            return
        self.ctl = ctls[0]
        self.max = self.current = int(self.ctl.num_threads)
        if self.max <= 1:
            self.enabled = False
            return
        self.napping = _shorten_openblas_spin(self.ctl, self.max)

    def set(self, want=None):
        """Use ``want`` BLAS threads (None: the full count) and return that number."""
        now = self.ctl.get_num_threads()
        if now != self.current:          # changed from outside (threadpool_limits): that is the new ceiling
            self.max = now
            self.cost = {}
            if want is not None and want > 1:
                want = now
        if want is None:
            want = self.max
        if want != now:
            self.ctl.set_num_threads(want)
        self.current = want
        return want

    def pick(self):
        """Threads for a large product: the cheaper of 1 and ``max`` so far, the other now and then."""
        self.calls += 1
        c1, cm = self.cost.get(1), self.cost.get(self.max)
        if cm is None:
            return self.max
        if c1 is None:
            return 1
        best, other = (1, self.max) if c1 < cm else (self.max, 1)
        return other if self.calls % self.explore == 0 else best

    def record(self, threads, seconds_per_flop):
        old = self.cost.get(threads)
        self.cost[threads] = seconds_per_flop if old is None else 0.7 * old + 0.3 * seconds_per_flop


BLAS_THREADS = _BlasThreads()


def _numpy_blas(controllers):
    """The BLAS controllers of NumPy's own BLAS among those loaded in the process. SciPy's wheels bring
    a second OpenBLAS (loaded by ``import scipy.linalg``, ``sklearn``, numba, ...); when there are
    several, the one inside NumPy's package (``numpy.libs`` of a wheel, ``numpy/.libs``) is NumPy's.
    More than one left (no way to tell): all of them, and the caller runs without a policy."""
    if len(controllers) <= 1:
        return list(controllers)
    import os

    here = os.path.dirname(os.path.abspath(xp.__file__))
    mine = [c for c in controllers if os.path.dirname(os.path.abspath(getattr(c, "filepath", "")))
            in (here + ".libs", os.path.join(here, ".libs"))]
    return mine if len(mine) == 1 else list(controllers)


OPENBLAS_SPIN = 16
"""log2 of the CPU cycles an idle OpenBLAS worker spins before it sleeps (OpenBLAS's default: 28)."""


def _shorten_openblas_spin(ctl, threads):
    """Make OpenBLAS's idle worker threads sleep after about 2**16 cycles (tens of µs) instead of 2**28.

    After each parallel product OpenBLAS keeps its workers spinning for 2**28 cycles (≈ 0.1 s) in
    case another product follows. Between a network's products run the elementwise passes, the
    pooling and batch-norm kernels and the Python of the graph, on the calling thread, often for
    longer than that: the spinning workers then hold every other core (measured on a 2-core machine:
    twice the CPU time, and a small ResNet's epoch 1.9–3.3 s from run to run against 2.1 s at 2**16
    cycles, a BatchNorm CNN's 2.8–4.2 s against 2.8–2.9 s; 2**20 is as fast on a quiet machine but
    spins 1.8x the wall time, 2**4 pays for the wake-ups: 2.1 s, 2.9 s).
    OpenBLAS reads the spin from ``OPENBLAS_THREAD_TIMEOUT`` when it starts its threads, so this sets
    it, has OpenBLAS read it and restarts the thread pool (as OpenBLAS does itself around a fork).
    Nothing is changed when the user set ``OPENBLAS_THREAD_TIMEOUT``, for another BLAS, or when
    ``SHENDU_BLAS_SPIN=0``; ``SHENDU_BLAS_SPIN=n`` spins 2**n cycles (OpenBLAS clamps n to 4–30).
    Only the main thread restarts the pool (another thread could be inside a product at that moment),
    so a process whose first product runs in a worker thread keeps OpenBLAS's spin.
    Returns whether the spin was changed."""
    import os
    import threading

    spin = os.environ.get("SHENDU_BLAS_SPIN", str(OPENBLAS_SPIN)).strip()
    if (spin in ("", "0") or "OPENBLAS_THREAD_TIMEOUT" in os.environ
            or threading.current_thread() is not threading.main_thread()
            or getattr(ctl, "internal_api", None) != "openblas"
            or getattr(ctl, "threading_layer", "pthreads") != "pthreads"):
        return False
    lib = getattr(ctl, "dynlib", None)
    try:
        read_env, shutdown = lib.openblas_read_env, lib.blas_thread_shutdown_
    except AttributeError:
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = spin
    try:
        read_env()
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]       # read once; children get the user's environment
    shutdown()                                          # the workers restart with the short spin
    ctl.set_num_threads(threads)
    return True


def blas_threads():
    """Threads the BLAS uses for a large product under the policy (1 when it cannot tell)."""
    p = BLAS_THREADS
    if not p.ready:
        p._init()
    return max(1, p.max)


def matmul(a, b, out=None):
    """``xp.matmul(a, b)`` on a number of threads fit for its size (see :class:`_BlasThreads`), in
    oneDNN where it applies (float32, see :func:`set_onednn`), else in NumPy's BLAS."""
    p = BLAS_THREADS
    if not p.ready:
        p._init()
    flops = 2.0 * a.size * (b.shape[-1] if b.ndim > 1 else 1)
    if not p.enabled or flops < _parallel_flops(p, a) or not p.adaptive:
        threads = _threads_for(p, a, flops)
        if threads == 1 and a.ndim == 2 and a.shape[0] == 1 and b.ndim == 2 and p.max > 1:
            threads = p.max             # one row times a large matrix: oneDNN on every thread (_gemm)
        return gemm(a, b, out, threads)
    threads = p.set(p.pick())
    t0 = _perf_counter()
    r = gemm(a, b, out, threads)
    p.record(threads, (_perf_counter() - t0) / flops)
    return r


def _threads_for(p, a, flops):
    """The thread count of a product of ``flops`` under the size policy (without the adaptive timing),
    set on NumPy's BLAS; None when there is no policy (oneDNN then keeps the thread's OpenMP count)."""
    if not p.enabled:
        return p.max if p.ctl is not None else None
    if flops < _parallel_flops(p, a):
        if p.current != 1 or p.ctl.get_num_threads() != 1:
            p.set(1)
        return 1
    return p.set()                       # the full count, also when the user just raised it


def onednn_threads(flops):
    """The OpenMP thread count for a oneDNN primitive of ``flops`` (a convolution, an LSTM layer): one
    below the size from which the policy runs a float32 product on every thread, else the full
    count; the BLAS's full count without a policy. NumPy's BLAS keeps the count it has: setting it to
    suit each primitive switched OpenBLAS between one thread and two around a batch-1 CNN's
    convolutions, twice a call (its predict 3% slower, measured interleaved on a 2-core EPYC)."""
    p = BLAS_THREADS
    if not p.ready:
        p._init()
    if not p.enabled:
        return max(1, p.max)
    return 1 if flops < _parallel_flops(p, _F32_PROBE) else max(1, p.max)


_F32_PROBE = xp.empty(0, dtype=xp.float32)


def current_threads():
    """The thread count the last ``matmul`` chose (None: no policy), for the later products of a
    loop whose first product ``matmul`` sized."""
    p = BLAS_THREADS
    return p.current if p.enabled else (p.max if p.ctl is not None else None)


def _parallel_flops(p, a):
    """The size from which a product runs on more than one thread: half the BLAS threshold for a
    float32 product in oneDNN, whose OpenMP workers take up the next product sooner than OpenBLAS's
    (measured, 2 threads: a GRU epoch, 6.3 MFLOP a step, 0.58 to 0.45 of PyTorch's time; batch-32 LSTM
    predict, 4.2 MFLOP a step, 1.09 to 0.91 ms; products of 8+ MFLOP unchanged)."""
    if a.dtype == xp.float32 and _ONEDNN is not False and onednn():
        return 0.5 * p.parallel_flops
    return p.parallel_flops


def gemm(a, b, out=None, threads=None):
    """``xp.matmul(a, b, out=out)`` without the thread policy: through oneDNN on ``threads`` OpenMP
    threads (None: the calling thread's current count) where it applies, else NumPy's BLAS as it is
    set. For the products after the first of a loop (which ``matmul`` sized) and for the jobs of
    :func:`run_split` (``threads=1``)."""
    if _ONEDNN is not False and onednn():
        r = _gemm.gemm(a, b, out, threads)
        if r is not None:
            return r
    return xp.matmul(a, b, out=out)


def matmul_into(a, b, out, accumulate=False):
    """out = a @ b, or out += a @ b with ``accumulate``, for 2-D float32 arrays through oneDNN, on
    the thread count ``matmul`` would use for the product. Returns False (nothing written) when
    oneDNN is off or does not take these arrays; the caller then computes it another way."""
    if not onednn():
        return False
    p = BLAS_THREADS
    if not p.ready:
        p._init()
    return _gemm.gemm_into(a, b, out, accumulate, _threads_for(p, a, 2.0 * a.size * b.shape[1]))


_ONEDNN = None       # None: not decided yet (on when oneDNN loads, unless SHENDU_ONEDNN=0)


def set_onednn(on=True):
    """Multiply float32 matrices with oneDNN's sgemm (on) or NumPy's BLAS alone (off).

    oneDNN (``pip install 'shendu[fast]'``) generates its kernels for the instructions of the CPU at
    hand (see ``shendu._gemm``); on a CPU whose AVX-512 units NumPy's OpenBLAS does not use it is
    about twice as fast. The results equal NumPy's up to float32 rounding (another summation order).
    The default is on when the library loads, off otherwise; ``SHENDU_ONEDNN=0`` in the environment
    makes it off. ``set_onednn(True)`` without the library raises ImportError. Returns the previous
    setting (a bool)."""
    global _ONEDNN
    before = onednn()
    if on and not _gemm.load():
        raise ImportError("shendu's oneDNN matrix products need the library: pip install 'shendu[fast]' "
                          "(Linux x86-64)")
    _ONEDNN = bool(on)
    return before


def onednn():
    """Whether float32 products go through oneDNN (see :func:`set_onednn`)."""
    global _ONEDNN
    if _ONEDNN is None:
        import os

        wanted = os.environ.get("SHENDU_ONEDNN", "1").strip().lower() not in ("0", "false", "off", "no")
        _ONEDNN = wanted and _gemm.load()
    return _ONEDNN


_POOL = None         # the worker threads of run_split, started on its first use


def run_split(n, job, flops):
    """Run ``job(part)`` for contiguous slices ``part`` of ``range(n)``, one per BLAS thread, at the
    same time, each on ONE BLAS thread; return their results in order, or None (nothing run) when
    the policy allows one thread only, ``n`` < 2 or the work (``flops``) is under 4·``parallel_flops``
    (32 MFLOP: below that, e.g. a first convolution of one input channel, handing half the work to
    another thread costs more than it saves).

    A convolution's im2col columns are built on the calling thread between its products, so with
    OpenBLAS's own threads one core copies while the other waits (measured: the copies take a
    quarter of a small ResNet's epoch, and get slower with twice the rows per product). Splitting
    the samples instead runs the copies and the products of each half side by side. A job must not
    call ``matmul`` (the thread count is global; it calls ``gemm(..., threads=1)``) nor ``run_split``.

    With oneDNN on (:func:`set_onednn`) nothing is split: its OpenMP threads parallelise each
    product, and a second pool of threads beside them loses to them on the cores (measured, small
    ResNet, 2 threads, 2000 images: 1.31–1.43 s an epoch split, 0.99–1.01 s not split).
    """
    global _POOL
    p = BLAS_THREADS
    if not p.ready:
        p._init()
    if not p.enabled or n < 2 or flops < 4 * p.parallel_flops or onednn():
        return None
    p.set(1)                                   # also notices a limit the user set since
    parts = min(p.max, n)
    if parts < 2:
        return None
    if _POOL is None or _POOL._max_workers < parts - 1:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(parts - 1, thread_name_prefix="shendu-split")
        _forget_pool_in_children()
    cut = [n * i // parts for i in range(parts + 1)]
    slices = [slice(cut[i], cut[i + 1]) for i in range(parts)]
    futures = [_POOL.submit(job, sl) for sl in slices[1:]]
    try:
        first = job(slices[0])
    finally:
        rest = [f.result() for f in futures]
    return [first] + rest


def _forget_pool_in_children():
    """A forked child has the pool object but not its threads: it starts a pool of its own."""
    import os

    global _FORK_HOOK
    if not _FORK_HOOK and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_drop_pool)
        _FORK_HOOK = True


def _drop_pool():
    global _POOL
    _POOL = None


_FORK_HOOK = False


_COMPILED = None     # None: not decided yet (on unless SHENDU_COMPILED=0); True/False: set by the user


def set_compiled(on=True):
    """Use the compiled (numba) kernels where shendu has them (on) or the NumPy code alone (off).

    The compiled kernels (``pip install 'shendu[fast]'``) fuse the elementwise work of a recurrent
    step (LSTM, GRU) into one pass; they compute the same numbers as the NumPy code, which stays the
    reference. The default is on when numba imports, off otherwise, silently; ``SHENDU_COMPILED=0``
    in the environment makes the default off. ``set_compiled(True)`` without numba raises
    ImportError. Returns the previous setting (a bool).
    """
    global _COMPILED
    before = compiled()
    if on:
        import importlib

        try:
            importlib.import_module("numba")
        except ImportError as exc:
            raise ImportError("shendu's compiled kernels need numba: pip install 'shendu[fast]'") from exc
    _COMPILED = bool(on)
    return before


_COMPILED_MODULES = {}     # module name -> the imported kernels module, or False when it cannot be imported


def compiled_module(name):
    """The compiled kernels module ``name`` (``"shendu.ops._compiled"``, ...), or None for the NumPy
    code: switched off (:func:`set_compiled`) or numba missing. Imported on the first call that may use
    it, so ``import shendu`` never imports numba; a failed import is remembered."""
    if not compiled():
        return None
    module = _COMPILED_MODULES.get(name)
    if module is None:
        import importlib

        try:
            module = importlib.import_module(name)
        except ImportError:
            module = False
        _COMPILED_MODULES[name] = module
    return module or None


def compiled():
    """Whether the compiled kernels are wanted (see :func:`set_compiled`). Even when True, a part
    without a kernel for the case at hand (another dtype, numba failing to import) runs NumPy code."""
    global _COMPILED
    if _COMPILED is None:
        import os

        _COMPILED = os.environ.get("SHENDU_COMPILED", "1").strip().lower() not in ("0", "false", "off", "no")
    return _COMPILED
