"""Single-precision 2-D convolutions through oneDNN's convolution primitives: the optional fast path.

``shendu.ops.conv.Conv2d`` computes a convolution as im2col columns times the flattened kernel
(``W_col``, rows ordered (p, q, c)); that code is the reference and carries the formulas. With oneDNN
loaded (``shendu[fast]``, see :mod:`shendu._gemm`) an ungrouped float32 convolution runs as oneDNN's
own primitives instead, on the same memory: the input channels-last (N, H, W, C), ``W_col`` as a
(kH·kW·C, C_out) "hwio" matrix, the output channels-last. oneDNN's kernels (``brgconv``, ``jit`` on
AVX-512 machines) work on blocks of the image in cache, with no im2col buffer, and spread the data
movement over the OpenMP threads with the arithmetic (measured on a 2-core AMD EPYC, at one thread
and at two: the forward convolutions of a small ResNet 2.2–4x faster than im2col, the backward ones
1.2–2.4x). The sums run in another order than the product's, so results differ from the NumPy
path's in the last bits of float32, as two BLAS builds do.

The backward passes (∂L/∂x, ∂L/∂W and ∂L/∂b) run as oneDNN's backward primitives too. Their fast
kernels want the weights in a blocked layout of their own choosing, so W_col is reordered into it
before ∂L/∂x (and ∂L/∂W out of it after), a copy of the small weight tensor; in the plain layout
oneDNN would fall back to its own im2col and GEMM, slower than shendu's.

Primitives are cached per thread, keyed by the geometry, the memory strides and the thread count
(oneDNN fixes a primitive's thread count when it is created). A primitive whose implementation is
oneDNN's reference loop (a layout its fast kernels do not take) is not used: the caller runs the
NumPy path. A child forked after oneDNN loaded runs the NumPy path too (GNU libgomp is not
fork-safe). Every entry point returns None where it does not apply, with nothing written.
"""
import collections
import ctypes
import threading

import numpy as np

from . import _gemm

_F32 = np.dtype(np.float32)
_FWD_TRAINING, _CONV_AUTO = 64, 0x3                        # dnnl_forward_training, dnnl_convolution_auto
_SRC, _WEIGHTS, _BIAS, _DST = 1, 33, 41, 17                # DNNL_ARG_* (a reorder's FROM, TO: 1, 17)
_DIFF_SRC, _DIFF_WEIGHTS, _DIFF_BIAS, _DIFF_DST = 129, 161, 169, 145
_FORMAT_ANY = 1                                            # dnnl_format_tag_any: oneDNN picks the layout
_QUERY_WEIGHTS, _QUERY_DIFF_WEIGHTS = 131, 132             # dnnl_query_weights_md, dnnl_query_diff_weights_md
_QUERY_IMPL = 8                                            # dnnl_query_impl_info_str
CACHE_SIZE = 64
"""Primitives kept per thread (least recently used dropped first)."""

_API = None          # the loaded functions, or False: oneDNN absent
_local = threading.local()
_Dims = ctypes.c_int64 * 12


class _Arg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", ctypes.c_void_p)]


class _Api:
    """ctypes handles of the oneDNN calls used here, one CPU engine and, per thread, a stream."""

    def __init__(self, lib, gomp):
        vp, i32 = ctypes.c_void_p, ctypes.c_int
        self.lib, self.gomp = lib, gomp
        for name, args in (("dnnl_engine_create", [vp, i32, ctypes.c_size_t]),
                           ("dnnl_stream_create", [vp, vp, ctypes.c_uint]),
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
                            [vp, vp, i32] + [vp] * 10)):
            f = getattr(lib, name)
            f.argtypes, f.restype = args, i32
        query, size = lib.dnnl_primitive_desc_query_md, lib.dnnl_memory_desc_get_size
        query.argtypes, query.restype = [vp, i32, i32], vp
        size.argtypes, size.restype = [vp], ctypes.c_size_t
        gomp.omp_set_num_threads.argtypes, gomp.omp_set_num_threads.restype = [i32], None
        gomp.omp_get_max_threads.argtypes, gomp.omp_get_max_threads.restype = [], i32
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


def _check(status, what):
    if status != 0:
        raise RuntimeError(f"oneDNN convolution: {what} failed (status {status})")


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


def _dense_strides(shape):
    """Element strides of a C-contiguous array of ``shape``."""
    out, step = [], 1
    for d in reversed(shape):
        out.append(step)
        step *= max(d, 1)
    return tuple(reversed(out))


def _elements(a):
    """Element strides; those of a C-contiguous array as its shape gives them (NumPy's strides of a
    length-1 axis are arbitrary, and oneDNN's fast kernels want them dense)."""
    return _dense_strides(a.shape) if a.flags.c_contiguous else tuple(s // 4 for s in a.strides)


def _nchw_md(api, a):
    """(N, C, H, W) descriptor of a channels-last array (N, H, W, C) as it lies in memory."""
    n, h, w, c = a.shape
    s = _elements(a)
    return _md(api, (n, c, h, w), (s[0], s[3], s[1], s[2]))


def _weights_md(api, cout, c, kernel, wcol):
    """(C_out, C, kH, kW) descriptor of W_col (kH·kW·C, C_out) with rows (p, q, c)."""
    kh, kw = kernel
    r = wcol.strides[0] // 4
    return _md(api, (cout, c, kh, kw), (wcol.strides[1] // 4, r, kw * c * r, c * r))


class _Primitive:
    """One oneDNN primitive with its memory objects (data handles set per call)."""

    def __init__(self, api, pd, mds, args, owned=None):
        """``mds``: one descriptor per argument (``args``: DNNL_ARG_* tags); ``owned``: the descriptors
        this object destroys with it (default all of ``mds``; those queried from ``pd`` belong to it)."""
        self.api, self.pd, self.args = api, pd, args
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

    @property
    def usable(self):
        return not self.impl.startswith("ref")

    def run(self, arrays, threads):
        """Execute on ``arrays`` (one per argument, in order) on ``threads`` OpenMP threads."""
        handles = np.array([a.ctypes.data for a in arrays], dtype=np.int64)
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
    return (not _gemm._FORKED and all(a.dtype == _F32 and all(s % 4 == 0 for s in a.strides) for a in arrays)
            and _api() is not None)


def _geometry(stride, dilation, padding):
    (t, b), (l, r) = padding
    return (_Dims(*stride), _Dims(dilation[0] - 1, dilation[1] - 1), _Dims(t, l), _Dims(b, r))


def _forward_pd(api, a, wcol, has_bias, out_shape, kernel, stride, dilation, padding):
    """The forward primitive descriptor and its memory descriptors (src, weights, [bias], dst)."""
    n, ho, wo, cout = out_shape
    src = _nchw_md(api, a)
    wei = _weights_md(api, cout, a.shape[3], kernel, wcol)
    bias = _md(api, (cout,), (1,)) if has_bias else None
    dst = _md(api, (n, cout, ho, wo), (ho * wo * cout, 1, wo * cout, cout))
    pd = ctypes.c_void_p()
    _check(api.lib.dnnl_convolution_forward_primitive_desc_create(
        ctypes.byref(pd), api.engine, _FWD_TRAINING, _CONV_AUTO, src, wei, bias, dst,
        *_geometry(stride, dilation, padding), None), "forward descriptor")
    return pd, [m for m in (src, wei, bias, dst) if m is not None]


def forward(a, wcol, bias, out_hw, kernel, stride, dilation, padding, threads):
    """y = conv(a, W_col) (+ bias) as channels-last (N, H_out, W_out, C_out), or None. ``a``:
    (N, H, W, C) float32 (any strides), ``wcol``: (kH·kW·C, C_out) with a unit column stride,
    ``bias``: (C_out,) contiguous or None; ``padding`` ((top, bottom), (left, right))."""
    if not _applies(a, wcol, *(() if bias is None else (bias,))) or wcol.strides[1] != 4:
        return None
    out_shape = (a.shape[0],) + tuple(out_hw) + (wcol.shape[1],)
    key = ("fwd", a.shape, _elements(a), wcol.shape, wcol.strides, bias is not None, kernel, stride, dilation,
           padding, threads)

    def make(api):
        pd, mds = _forward_pd(api, a, wcol, bias is not None, out_shape, kernel, stride, dilation, padding)
        return _Primitive(api, pd, mds, [_SRC, _WEIGHTS] + ([_BIAS] if bias is not None else []) + [_DST])

    p = _primitive(key, make)
    if p is None:
        return None
    y = np.empty(out_shape, dtype=_F32)
    p.run([a, wcol] + ([bias] if bias is not None else []) + [y], threads)
    return y


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


def _backward_pd(api, create, fwd_args, what):
    """A backward primitive descriptor from ``create(pd_out, hint)``, with the forward descriptor
    oneDNN wants as a hint made from ``fwd_args`` (src, weights, bias, dst, geometry) and dropped."""
    fwd = ctypes.c_void_p()
    create_fwd = api.lib.dnnl_convolution_forward_primitive_desc_create
    _check(create_fwd(ctypes.byref(fwd), api.engine, _FWD_TRAINING, _CONV_AUTO, *fwd_args, None),
           "forward hint")
    pd = ctypes.c_void_p()
    try:
        _check(create(ctypes.byref(pd), fwd), what)
    finally:
        api.lib.dnnl_primitive_desc_destroy(fwd)
    return pd


def _reorder(api, src_md, dst_md, owned):
    pd = ctypes.c_void_p()
    create = api.lib.dnnl_reorder_primitive_desc_create
    _check(create(ctypes.byref(pd), src_md, api.engine, dst_md, api.engine, None), "weights reorder")
    return _Primitive(api, pd, [src_md, dst_md], [_SRC, _DST], owned=owned)


def _with_blocked_weights(api, main, reorder, md):
    """``main`` carrying the reorder of its weights and a buffer for them in the layout ``md``."""
    main.parts = [reorder]
    main.blocked = np.empty(api.lib.dnnl_memory_desc_get_size(md) // 4 + 1, dtype=_F32)
    return main


def input_grad(g, wcol, in_shape, kernel, stride, dilation, padding, threads):
    """∂L/∂x (N, H, W, C) channels-last from the output gradient ``g`` (N, H_out, W_out, C_out, any
    strides) and W_col, or None. The weights are reordered to the primitive's blocked layout first
    (a small copy); in W_col's plain layout oneDNN would run its own im2col and GEMM."""
    if not _applies(g, wcol) or wcol.strides[1] != 4:
        return None
    key = ("bwd_data", g.shape, _elements(g), wcol.shape, wcol.strides, in_shape, kernel, stride, dilation,
           padding, threads)
    cout, c = g.shape[3], in_shape[3]

    def make(api):
        geo = _geometry(stride, dilation, padding)
        src, dst = _nchw_md(api, _dense_like(in_shape)), _nchw_md(api, g)
        wany, plain = _any_md(api, (cout, c) + tuple(kernel)), _weights_md(api, cout, c, kernel, wcol)

        def build():
            create = api.lib.dnnl_convolution_backward_data_primitive_desc_create
            def call(out, hint):
                return create(out, api.engine, _CONV_AUTO, src, wany, dst, *geo, hint, None)

            pd = _backward_pd(api, call, (src, wany, None, dst) + geo, "backward-data descriptor")
            blocked = api.lib.dnnl_primitive_desc_query_md(pd, _QUERY_WEIGHTS, 0)
            main = _Primitive(api, pd, [dst, blocked, src], [_DIFF_DST, _WEIGHTS, _DIFF_SRC],
                              owned=[dst, wany, src])
            return _with_blocked_weights(api, main, _reorder(api, plain, blocked, [plain]), blocked)

        return _destroying(api, [src, dst, wany, plain], build)

    p = _primitive(key, make)
    if p is None:
        return None
    dx = np.empty(in_shape, dtype=_F32)
    p.parts[0].run([wcol, p.blocked], threads)
    p.run([g, p.blocked, dx], threads)
    return dx


def weight_grad(a, g, kernel, stride, dilation, padding, with_bias, threads):
    """(∂L/∂W_col (kH·kW·C, C_out), ∂L/∂b (C_out,) or None) from the input ``a`` (N, H, W, C) and the
    output gradient ``g`` (N, H_out, W_out, C_out), any strides; or None. The primitive writes its
    blocked layout, reordered into W_col's after."""
    if not _applies(a, g):
        return None
    key = ("bwd_weights", a.shape, _elements(a), g.shape, _elements(g), with_bias, kernel, stride, dilation,
           padding, threads)
    cout, c = g.shape[3], a.shape[3]
    dw_shape = (kernel[0] * kernel[1] * c, cout)

    def make(api):
        geo = _geometry(stride, dilation, padding)
        src, dst = _nchw_md(api, a), _nchw_md(api, g)
        wany = _any_md(api, (cout, c) + tuple(kernel))
        plain = _weights_md(api, cout, c, kernel, _dense_like(dw_shape))
        bias = _md(api, (cout,), (1,)) if with_bias else None
        mds = [src, dst, wany, plain] + ([bias] if with_bias else [])

        def build():
            create = api.lib.dnnl_convolution_backward_weights_primitive_desc_create
            def call(out, hint):
                return create(out, api.engine, _CONV_AUTO, src, wany, bias, dst, *geo, hint, None)

            pd = _backward_pd(api, call, (src, wany, bias, dst) + geo, "backward-weights descriptor")
            blocked = api.lib.dnnl_primitive_desc_query_md(pd, _QUERY_DIFF_WEIGHTS, 0)
            main = _Primitive(api, pd, [src, dst, blocked] + ([bias] if with_bias else []),
                              [_SRC, _DIFF_DST, _DIFF_WEIGHTS] + ([_DIFF_BIAS] if with_bias else []),
                              owned=[m for m in mds if m is not plain])
            return _with_blocked_weights(api, main, _reorder(api, blocked, plain, [plain]), blocked)

        return _destroying(api, mds, build)

    p = _primitive(key, make)
    if p is None:
        return None
    dw = np.empty(dw_shape, dtype=_F32)
    db = np.empty(cout, dtype=_F32) if with_bias else None
    p.run([a, g, p.blocked] + ([db] if with_bias else []), threads)
    p.parts[0].run([p.blocked, dw], threads)
    return dw, db
