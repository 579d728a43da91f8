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

MAX_BATCH = 512
"""A stacked product (3-D operand) is one oneDNN call per matrix up to this many matrices."""

_LIB = None          # ctypes handle of dnnl_sgemm once loaded; False: looked and not there
_SET_THREADS = None  # libgomp's omp_set_num_threads
_GET_THREADS = None  # libgomp's omp_get_max_threads
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


def load():
    """Load oneDNN (once); return whether its sgemm can be called."""
    global _LIB, _SET_THREADS, _GET_THREADS
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
        i64, f32, ptr = ctypes.c_int64, ctypes.c_float, ctypes.c_void_p
        f.argtypes = [ctypes.c_char, ctypes.c_char, i64, i64, i64, f32, ptr, i64, ptr, i64, f32, ptr, i64]
        f.restype = ctypes.c_int
        gomp.omp_set_num_threads.argtypes = [ctypes.c_int]
        gomp.omp_set_num_threads.restype = None
        gomp.omp_get_max_threads.argtypes = []
        gomp.omp_get_max_threads.restype = ctypes.c_int
        _LIB, _SET_THREADS, _GET_THREADS = f, gomp.omp_set_num_threads, gomp.omp_get_max_threads
    return bool(_LIB)


def _operand(a, rows, cols):
    """(trans, leading dimension) for a 2-D float32 view with a unit stride, else None."""
    s0, s1 = a.strides
    item = 4
    if (s1 == item or cols == 1) and s0 % item == 0 and s0 // item >= max(cols, 1):
        return b"N", s0 // item
    if (s0 == item or rows == 1) and s1 % item == 0 and s1 // item >= max(rows, 1):
        return b"T", s1 // item
    if rows == 1 and cols == 1:
        return b"N", 1
    return None


def _gemm2(a, b, out):
    """out = a @ b for 2-D float32 views; returns False (nothing written) when a layout does not fit."""
    m, k = a.shape
    n = b.shape[1]
    ta, tb = _operand(a, m, k), _operand(b, k, n)
    if ta is None or tb is None or out.strides[1] != 4 or out.strides[0] % 4 or out.strides[0] // 4 < n:
        return False
    status = _LIB(ta[0], tb[0], m, n, k, 1.0, a.ctypes.data, ta[1], b.ctypes.data, tb[1], 0.0,
                  out.ctypes.data, out.strides[0] // 4)
    if status != 0:
        raise RuntimeError(f"oneDNN sgemm failed (status {status}) on {a.shape} @ {b.shape}")
    return True


def gemm(a, b, out=None, threads=None):
    """``numpy.matmul(a, b, out=out)`` through oneDNN, or None (nothing done) where it does not apply:
    operands other than float32 of 2 or 3 dimensions, products under ``MIN_FLOPS``, an ``out`` that
    is not C-contiguous float32 of the result's shape, layouts without a unit stride. ``threads``:
    the OpenMP thread count for this call (None: the calling thread's setting), restored after it."""
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
    if 2.0 * batch * m * k * n < MIN_FLOPS or batch > MAX_BATCH:
        return None
    shape = (batch, m, n) if max(a.ndim, b.ndim) == 3 else (m, n)
    if out is None:
        out = np.empty(shape, dtype=_F32)
    elif out.shape != shape or out.dtype != _F32 or not out.flags.c_contiguous:
        return None
    before = _GET_THREADS() if threads is not None else threads
    if before != threads:
        _SET_THREADS(threads)
    try:
        if len(shape) == 2:
            return out if _gemm2(a, b, out) else None
        for i in range(batch):      # every matrix of a stack has the same strides: the first decides
            ai = a if a.ndim == 2 else a[i if a.shape[0] > 1 else 0]
            bi = b if b.ndim == 2 else b[i if b.shape[0] > 1 else 0]
            if not _gemm2(ai, bi, out[i]):
                return None
        return out
    finally:
        if before != threads:
            _SET_THREADS(before)    # the thread's OpenMP setting is shared with other libraries (PyTorch)

