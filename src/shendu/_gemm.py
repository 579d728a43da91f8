"""Single-precision matrix products through oneDNN's ``dnnl_sgemm``: the optional fast GEMM.

NumPy multiplies with the BLAS it was built with (OpenBLAS in the PyPI wheels), whose kernels are
chosen for a CPU family when it loads (or the family ``OPENBLAS_CORETYPE`` names). oneDNN, the
library PyTorch's CPU convolutions and recurrent layers run on, generates its GEMM kernels at run
time for the instructions the CPU in hand has, AVX-512 included. Measured on a 2-core AMD EPYC with
OpenBLAS on its AVX2 kernels: 210–250 GFLOP/s per core for the products of a CNN or an LSTM step
against NumPy's 110–125 (``benchmarks/bench_gemm.py``).

Installed with ``pip install 'shendu[fast]'`` (the ``onednn-cpu-gomp`` wheel, Linux x86-64) and
switched with ``shendu.backend.set_onednn`` / ``SHENDU_ONEDNN=0``. ``shendu.backend.matmul`` calls
:func:`gemm` for float32 products with at least ``MIN_FLOPS`` of work; everything else (float64,
integer and small products, operands without a unit stride) stays ``numpy.matmul``. The product is
the same C = A·B, summed in another order, so it differs from NumPy's in the last bits, as the
results of two BLAS builds do.

Threads: oneDNN runs on OpenMP: the ``libgomp.so.1`` the process has loaded (PyTorch's own copy when
torch was imported first). :func:`gemm` sets the calling thread's OpenMP thread count before each
product and restores it after, so ``backend.matmul``'s size policy and ``threadpool_limits`` on the BLAS
govern oneDNN too, and another library's OpenMP setting is left as it was.
"""
import ctypes
import os

import numpy as np

MIN_FLOPS = 2.0e5
"""Products below this (2·m·k·n) stay in NumPy: the call costs about as much as the arithmetic."""

GEMV_PARALLEL_BYTES = 1 << 20
"""One row times a matrix of at least this many bytes (a batch-1 layer of 512×512 and up) runs in
oneDNN when the caller asks for more than one thread: the product is bound by reading the matrix,
and two cores read it faster than one (measured on a 2-core AMD EPYC: a 784×512 layer 12.6 µs on
two threads against NumPy's one-thread gemv 19.6 µs; at 0.8 MB the two were even). Smaller
matrix-vector products stay in NumPy's gemv, which is faster for them than oneDNN's sgemm."""

MAX_BATCH = 512
"""A stack of more matrices than this stays in NumPy: oneDNN is called once per matrix of a stack,
and many small matrices (attention heads, say) are faster in NumPy's own batched loop."""

_LIB = None          # ctypes handle of dnnl_sgemm once loaded; False: looked and not there
_CALL = None         # the sgemm call with its thread count (see _caller)
_FORKED = False      # in a child forked after loading: one thread (libgomp's threads did not come along)
_F32 = np.dtype(np.float32)


def _library_path():
    """Where pip put libdnnl.so.3 (the ``onednn-cpu-gomp`` wheel installs it under ``sys.prefix/lib``)."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        dist = distribution("onednn-cpu-gomp")
    except (ImportError, PackageNotFoundError):
        return None
    for f in dist.files or ():
        if str(f).endswith("libdnnl.so.3"):
            path = os.path.abspath(dist.locate_file(f))
            return path if os.path.exists(path) else None
    return None


def _caller(sgemm, get_threads, set_threads):
    """``call(threads, ta, tb, m, n, k, a, lda, b, ldb, beta, out, ldc)``: out[i] = op(a[i])·op(b[i])
    + beta·out[i] (beta 0 or 1) for
    3-D stacks (a stack of one is repeated) on ``threads`` OpenMP threads (0: the calling thread's
    count), the thread's count restored afterwards; returns oneDNN's status (0: done). Compiled with
    numba when it imports (a call then costs about 1 µs against 4–6 µs through ctypes, as much as
    a recurrent step's product at batch 1–32), else plain ctypes."""
    def call(threads, ta, tb, m, n, k, a, lda, b, ldb, beta, out, ldc):
        before = get_threads() if threads > 0 else threads
        if before != threads:
            set_threads(threads)
        status = 0
        for i in range(out.shape[0]):
            ai = a[i if a.shape[0] > 1 else 0]
            bi = b[i if b.shape[0] > 1 else 0]
            status = sgemm(ta, tb, m, n, k, 1.0, ai.ctypes.data, lda, bi.ctypes.data, ldb, beta,
                           out[i].ctypes.data, ldc)
            if status != 0:
                break
        if before != threads:
            set_threads(before)
        return status
    try:
        import numba

        st = "float32[:, :, :]"
        sig = f"int32(int64, int8, int8, int64, int64, int64, {st}, int64, {st}, int64, float32, {st}, int64)"
        return numba.njit(sig, nogil=True)(call)   # any layout ('A' arrays); about 0.1 s to compile, once
    except Exception:  # noqa: BLE001 - numba absent or unable to compile the call: the ctypes one works
        return call


def load():
    """Load oneDNN (once); return whether its sgemm can be called."""
    global _LIB, _CALL
    if _LIB is None:
        _LIB = False
        path = _library_path()
        if path is None:
            return False
        try:
            lib = ctypes.CDLL(path)
            gomp = ctypes.CDLL("libgomp.so.1")       # the OpenMP runtime libdnnl.so.3 links to
        except OSError:
            return False
        f = lib.dnnl_sgemm
        i64, f32, ptr, char = ctypes.c_int64, ctypes.c_float, ctypes.c_void_p, ctypes.c_int8
        f.argtypes = [char, char, i64, i64, i64, f32, ptr, i64, ptr, i64, f32, ptr, i64]
        f.restype = ctypes.c_int
        gomp.omp_set_num_threads.argtypes = [ctypes.c_int]
        gomp.omp_set_num_threads.restype = None
        gomp.omp_get_max_threads.argtypes = []
        gomp.omp_get_max_threads.restype = ctypes.c_int
        parts = (f, gomp.omp_get_max_threads, gomp.omp_set_num_threads)
        _CALL = _caller(*parts)
        _LIB = f
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_one_thread_after_fork)
    return bool(_LIB)


def _one_thread_after_fork():
    """A forked child has libgomp's state but not its worker threads, and a parallel region there
    can hang (GNU libgomp is not fork-safe): the child's products run on its one thread."""
    global _FORKED
    _FORKED = True


_N, _T = ord("N"), ord("T")


def _operand(a, rows, cols):
    """(trans, leading dimension) for a 2-D float32 view with a unit stride, else None."""
    s0, s1 = a.strides
    item = 4
    if (s1 == item or cols == 1) and s0 % item == 0 and s0 // item >= max(cols, 1):
        return _N, s0 // item
    if (s0 == item or rows == 1) and s1 % item == 0 and s1 // item >= max(rows, 1):
        return _T, s1 // item
    if rows == 1 and cols == 1:
        return _N, 1
    return None


def _stacked(a, b, out, threads, beta=0.0):
    """out[i] = a[i] @ b[i] for 3-D float32 stacks (``a`` or ``b`` a stack of one: repeated);
    returns False (nothing written) when a layout does not fit. Every matrix of a stack has the
    same strides, so the first decides."""
    m, k = a.shape[1:]
    n = b.shape[2]
    ta, tb = _operand(a[0], m, k), _operand(b[0], k, n)
    if ta is None or tb is None or out.strides[2] != 4 or out.strides[1] % 4 or out.strides[1] // 4 < n:
        return False
    try:
        status = _CALL(threads, ta[0], tb[0], m, n, k, a, ta[1], b, tb[1], np.float32(beta), out,
                       out.strides[1] // 4)
    except TypeError:               # the compiled call takes writable arrays only: a read-only one
        return False
    if status != 0:
        raise RuntimeError(f"oneDNN sgemm failed (status {status}) on {a.shape} @ {b.shape}")
    return True


def gemm(a, b, out=None, threads=None):
    """``numpy.matmul(a, b, out=out)`` through oneDNN, or None (nothing done) where it does not apply:
    operands other than float32 of 2 or 3 dimensions, products under ``MIN_FLOPS``, matrix-vector
    products (except one row times a matrix of ``GEMV_PARALLEL_BYTES`` or more on several threads),
    an ``out`` that is not C-contiguous float32 of the result's shape, layouts without a unit stride.
    ``threads``: the OpenMP thread count for this call (None: the calling thread's setting), restored
    after it."""
    if (a.dtype != _F32 or b.dtype != _F32 or not 2 <= a.ndim <= 3 or not 2 <= b.ndim <= 3
            or not _LIB and not load()):
        return None
    m, k = a.shape[-2:]
    k2, n = b.shape[-2:]
    if k != k2:
        return None
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0]):
        return None
    batch = max(a.shape[0] if a.ndim == 3 else 1, b.shape[0] if b.ndim == 3 else 1)
    if 2.0 * batch * m * k * n < MIN_FLOPS or batch > MAX_BATCH or n == 1 or m == 1 and not (
            batch == 1 and threads is not None and threads > 1 and 4 * k * n >= GEMV_PARALLEL_BYTES):
        return None                 # a matrix-vector product: NumPy's BLAS gemv is faster
    shape = (batch, m, n) if max(a.ndim, b.ndim) == 3 else (m, n)
    if out is None:
        out = np.empty(shape, dtype=_F32)
    elif out.shape != shape or out.dtype != _F32 or not out.flags.c_contiguous:
        return None
    a3 = a if a.ndim == 3 else a[None]
    b3 = b if b.ndim == 3 else b[None]
    out3 = out if out.ndim == 3 else out[None]
    threads = 1 if _FORKED else 0 if threads is None else threads
    return out if _stacked(a3, b3, out3, threads) else None


def gemm_into(a, b, out, accumulate=False, threads=None):
    """out = a @ b, or out += a @ b with ``accumulate``, for 2-D float32 views with a unit stride
    (``out``: unit stride along its rows; not C-contiguous as a whole is fine), on ``threads``
    OpenMP threads (None: the calling thread's count). Returns whether it ran (False: oneDNN absent
    or a layout it does not take; nothing written)."""
    if (a.dtype != _F32 or b.dtype != _F32 or out.dtype != _F32 or a.ndim != 2 or b.ndim != 2
            or out.shape != (a.shape[0], b.shape[1]) or a.shape[1] != b.shape[0]
            or not _LIB and not load()):
        return False
    threads = 1 if _FORKED else 0 if threads is None else threads
    return _stacked(a[None], b[None], out[None], threads, 1.0 if accumulate else 0.0)
