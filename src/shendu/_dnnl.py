"""oneDNN primitives through its C API: the machinery the optional fast paths share.

:mod:`shendu._dnnl_conv` (convolutions) and :mod:`shendu._dnnl_rnn` (LSTM layers) run oneDNN's own
primitives on memory shendu already holds, through ``ctypes`` on the library that ``shendu[fast]``
installs (see :mod:`shendu._gemm`). This module holds what they have in common: the loaded calls with
their C signatures (one table), memory descriptors, a primitive with its memory objects, the
per-thread cache of primitives and the reorders between layouts.

Primitives are cached per thread, keyed by what the caller says fixes them (geometry, strides) and
the thread count, which oneDNN fixes when a primitive is created. A thread's primitives are freed
with its cache when the thread ends. A child forked after oneDNN loaded does not use them (GNU
libgomp is not fork-safe): the callers then run their NumPy paths.
"""
import collections
import ctypes
import functools
import threading

import numpy as np

from . import _gemm

_F32 = np.dtype(np.float32)
_SRC, _DST = 1, 17                                         # DNNL_ARG_FROM, DNNL_ARG_TO of a reorder
_FORMAT_ANY = 1                                            # dnnl_format_tag_any: oneDNN picks the layout
_QUERY_IMPL = 8                                            # dnnl_query_impl_info_str
_QUERY_EXEC_ARG = 255                                      # dnnl_query_exec_arg_md, by DNNL_ARG_*
CACHE_SIZE = 64
"""Primitives kept per thread (least recently used dropped first)."""

_API = None          # the loaded functions, or False: oneDNN absent
_local = threading.local()
_Dims = ctypes.c_int64 * 12


class _Arg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", ctypes.c_void_p)]


class _Api:
    """ctypes handles of the oneDNN calls the fast paths use, one CPU engine and, per thread, a stream."""

    def __init__(self, lib, gomp):
        vp, i32, u32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint
        self.lib, self.gomp = lib, gomp
        for name, args in (("dnnl_engine_create", [vp, i32, ctypes.c_size_t]),
                           ("dnnl_stream_create", [vp, vp, u32]),
                           ("dnnl_memory_desc_create_with_strides", [vp, i32, vp, i32, vp]),
                           ("dnnl_memory_desc_destroy", [vp]),
                           ("dnnl_memory_create", [vp, vp, vp, vp]),
                           ("dnnl_memory_destroy", [vp]),
                           ("dnnl_memory_set_data_handle", [vp, vp]),
                           ("dnnl_primitive_desc_query", [vp, i32, i32, vp]),
                           ("dnnl_primitive_desc_destroy", [vp]),
                           ("dnnl_primitive_create", [vp, vp]),
                           ("dnnl_primitive_destroy", [vp]),
                           ("dnnl_primitive_execute", [vp, vp, i32, vp]),
                           ("dnnl_stream_wait", [vp]),
                           ("dnnl_memory_desc_create_with_tag", [vp, i32, vp, i32, i32]),
                           ("dnnl_reorder_primitive_desc_create", [vp, vp, vp, vp, vp, vp]),
                           # pd, engine, kinds; then descriptors, geometry, [hint], attr
                           ("dnnl_convolution_forward_primitive_desc_create", [vp, vp, i32, i32] + [vp] * 9),
                           ("dnnl_convolution_backward_data_primitive_desc_create", [vp, vp, i32] + [vp] * 9),
                           ("dnnl_convolution_backward_weights_primitive_desc_create",
                            [vp, vp, i32] + [vp] * 10),
                           # pd, engine, prop kind, direction; 11 descriptors, flags, attr
                           ("dnnl_lstm_forward_primitive_desc_create",
                            [vp, vp, i32, i32] + [vp] * 11 + [u32, vp]),
                           # the same and 11 gradient descriptors; flags, forward hint, attr
                           ("dnnl_lstm_backward_primitive_desc_create",
                            [vp, vp, i32, i32] + [vp] * 22 + [u32, vp, vp])):
            f = getattr(lib, name)
            f.argtypes, f.restype = args, i32
        query, size = lib.dnnl_primitive_desc_query_md, lib.dnnl_memory_desc_get_size
        query.argtypes, query.restype = [vp, i32, i32], vp
        size.argtypes, size.restype = [vp], ctypes.c_size_t
        gomp.omp_set_num_threads.argtypes, gomp.omp_set_num_threads.restype = [i32], None
        gomp.omp_get_max_threads.argtypes, gomp.omp_get_max_threads.restype = [], i32
        self.address = _addresser()
        self.execute = _executor(lib.dnnl_memory_set_data_handle, lib.dnnl_primitive_execute,
                                 lib.dnnl_stream_wait, gomp.omp_get_max_threads, gomp.omp_set_num_threads)
        self.engine = vp()
        _check(lib.dnnl_engine_create(ctypes.byref(self.engine), 1, 0), "engine")     # dnnl_cpu

    def stream(self):
        s = getattr(_local, "stream", None)
        if s is None:
            s = _local.stream = ctypes.c_void_p()
            _check(self.lib.dnnl_stream_create(ctypes.byref(s), self.engine, 1), "stream")
        return s


def _executor(set_handle, execute, wait, get_threads, set_threads):
    """``run(threads, primitive, stream, memories, handles, n, args)``: point the ``n`` memory objects
    at their arrays, execute on ``threads`` OpenMP threads (the calling thread's count restored after)
    and wait; returns oneDNN's status. Compiled with numba when it imports (one call instead of the
    eight ctypes calls, about 6 µs, that a batch-1 convolution would otherwise pay), else plain Python."""
    def run(threads, primitive, stream, memories, handles, n, args):
        status = 0
        for i in range(n):
            status = set_handle(int(memories[i]), int(handles[i]))
            if status != 0:
                return status
        before = get_threads()
        if before != threads:
            set_threads(threads)
        status = execute(primitive, stream, n, args)
        if status == 0:
            status = wait(stream)
        if before != threads:
            set_threads(before)
        return status
    try:
        import numba

        return numba.njit("int32(int32, int64, int64, int64[:], int64[:], int64, int64)", nogil=True)(run)
    except Exception:  # noqa: BLE001 - numba absent or unable to compile the call: the Python one works
        return run


def _addresser():
    """``address(a)``: the address of array ``a``'s first element. Compiled with numba when it imports
    (0.2 µs against 1 µs for ``a.ctypes.data``, which builds a ctypes object each time: a batch-1
    convolution's four arrays paid 4 µs), cached on disk where numba can write; else ``a.ctypes.data``."""
    def address(a):
        return a.ctypes.data
    try:
        import numba
    except ImportError:
        return address
    try:
        return numba.njit(cache=True, nogil=True)(address)
    except RuntimeError:            # "cannot cache function ...: no locator available"
        return numba.njit(cache=False, nogil=True)(address)


def _check(status, what):
    if status != 0:
        raise RuntimeError(f"oneDNN: {what} failed (status {status})")


def _api():
    global _API
    if _API is None:
        _API = False
        path = _gemm._library_path()
        if path is not None and _gemm.load():
            try:
                _API = _Api(ctypes.CDLL(path), ctypes.CDLL("libgomp.so.1"))
            except (OSError, AttributeError, RuntimeError):
                _API = False
    return _API or None


def _md(api, dims, strides):
    """A float32 memory descriptor of logical ``dims`` laid out with element ``strides``."""
    m = ctypes.c_void_p()
    _check(api.lib.dnnl_memory_desc_create_with_strides(ctypes.byref(m), len(dims), _Dims(*dims), 3,
                                                        _Dims(*strides)), "memory descriptor")
    return m


def _any_md(api, dims):
    """A float32 descriptor whose layout the primitive chooses (its blocked weights)."""
    m = ctypes.c_void_p()
    _check(api.lib.dnnl_memory_desc_create_with_tag(ctypes.byref(m), len(dims), _Dims(*dims), 3, _FORMAT_ANY),
           "memory descriptor")
    return m


@functools.lru_cache(maxsize=1024)
def _dense_strides(shape):
    """Element strides of a C-contiguous array of ``shape`` (a tuple; remembered: every call asks)."""
    out, step = [], 1
    for d in reversed(shape):
        out.append(step)
        step *= max(d, 1)
    return tuple(reversed(out))


def _elements(a):
    """Element strides; those of a C-contiguous array as its shape gives them (NumPy's strides of a
    length-1 axis are arbitrary, and oneDNN's fast kernels want them dense)."""
    return _dense_strides(a.shape) if a.flags.c_contiguous else tuple(s // 4 for s in a.strides)


class _Primitive:
    """One oneDNN primitive with its memory objects (data handles set per call)."""

    def __init__(self, api, pd, mds, args, owned=None, reference_ok=False):
        """``mds``: one descriptor per argument (``args``: DNNL_ARG_* tags); ``owned``: the descriptors
        this object destroys with it (default all of ``mds``; those queried from ``pd`` belong to it).
        ``reference_ok``: usable even when oneDNN names its implementation "ref" (its RNN primitives,
        whose products run in its GEMM kernels, carry that name)."""
        self.api, self.pd, self.args, self.reference_ok = api, pd, args, reference_ok
        self.mds = list(mds if owned is None else owned)
        info = ctypes.c_char_p()
        api.lib.dnnl_primitive_desc_query(pd, _QUERY_IMPL, 0, ctypes.byref(info))
        self.impl = (info.value or b"").decode()
        self.prim = ctypes.c_void_p()
        _check(api.lib.dnnl_primitive_create(ctypes.byref(self.prim), pd), "primitive")
        self.mems = []
        for md in mds:
            m = ctypes.c_void_p()
            _check(api.lib.dnnl_memory_create(ctypes.byref(m), md, api.engine, None), "memory")
            self.mems.append(m)
        self.exec_args = (_Arg * len(args))(*(_Arg(tag, m) for tag, m in zip(args, self.mems)))
        self.mem_ptrs = np.array([m.value for m in self.mems], dtype=np.int64)
        self.handles = np.zeros(len(self.mems), dtype=np.int64)   # this thread's: its cache is its own

    @property
    def usable(self):
        """False for oneDNN's reference loops (a layout its fast kernels do not take): slower than the
        NumPy path, which the caller then runs."""
        return self.reference_ok or not self.impl.startswith("ref")

    def run(self, arrays, threads):
        """Execute on ``arrays`` (one per argument, in order) on ``threads`` OpenMP threads."""
        handles, address = self.handles, self.api.address
        for i, a in enumerate(arrays):
            handles[i] = address(a)
        status = self.api.execute(threads, self.prim.value, self.api.stream().value, self.mem_ptrs, handles,
                                  len(arrays), ctypes.addressof(self.exec_args))
        _check(status, f"{self.impl} execution")

    def destroy(self):
        lib = self.api.lib
        for extra in getattr(self, "parts", ()):
            extra.destroy()
        for m in self.mems:
            lib.dnnl_memory_destroy(m)
        lib.dnnl_primitive_destroy(self.prim)
        lib.dnnl_primitive_desc_destroy(self.pd)
        for md in self.mds:
            lib.dnnl_memory_desc_destroy(md)


class _Cache(collections.OrderedDict):
    """A thread's primitives (key -> _Primitive or None), least recently used first. They are freed
    with it: when the thread ends, its thread-local cache goes, and the oneDNN objects with it."""

    def __del__(self):
        for p in self.values():
            if p is not None:
                try:
                    p.destroy()
                except Exception:  # noqa: BLE001,S110 - at interpreter exit the library may be gone
                    pass


def _cache():
    c = getattr(_local, "cache", None)
    if c is None:
        c = _local.cache = _Cache()
    return c


def _primitive(key, make):
    """The cached primitive for ``key`` (made by ``make(api)`` on a miss), or None: not usable."""
    cache = _cache()
    p = cache.get(key)
    if p is None:
        api = _api()
        if api is None:
            return None
        gomp = api.gomp
        before = gomp.omp_get_max_threads()
        gomp.omp_set_num_threads(key[-1])           # oneDNN sizes its work for the threads it sees now
        try:
            p = make(api)
        except RuntimeError:                        # a geometry oneDNN refuses: the NumPy path
            p = None
        finally:
            gomp.omp_set_num_threads(before)
        cache[key] = p
        while len(cache) > CACHE_SIZE:
            _, old = cache.popitem(last=False)
            if old is not None:
                old.destroy()
    else:
        cache.move_to_end(key)
    return p if p is not None and p.usable else None


def _applies(*arrays):
    # float32 at a 4-byte aligned address with every stride a multiple of 4: NumPy's "aligned" flag
    return (not _gemm._FORKED and all(a.dtype == _F32 and a.flags.aligned for a in arrays)
            and _api() is not None)


def _dense_like(shape):
    """A stand-in with the strides of a C-contiguous float32 array of ``shape`` (descriptors only)."""
    strides = tuple(4 * s for s in _dense_strides(shape))
    return np.lib.stride_tricks.as_strided(np.empty(1, _F32), shape, strides)


def _destroying(api, mds, build):
    """``build()``, destroying the descriptors ``mds`` if it raises."""
    try:
        return build()
    except Exception:
        for md in mds:
            api.lib.dnnl_memory_desc_destroy(md)
        raise


def _buffer_for(api, md):
    """A float32 array large enough for memory of descriptor ``md`` (a layout oneDNN chose)."""
    return np.empty(api.lib.dnnl_memory_desc_get_size(md) // 4 + 1, dtype=_F32)


def _reorder(api, src_md, dst_md, owned):
    pd = ctypes.c_void_p()
    create = api.lib.dnnl_reorder_primitive_desc_create
    _check(create(ctypes.byref(pd), src_md, api.engine, dst_md, api.engine, None), "weights reorder")
    return _Primitive(api, pd, [src_md, dst_md], [_SRC, _DST], owned=owned)
