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

Primitives are cached per thread (:mod:`shendu._dnnl`), keyed by the geometry, the memory strides
and the thread count. A primitive whose implementation is oneDNN's reference loop (a layout its fast
kernels do not take) is not used: the caller runs the NumPy path, as it does in a child forked after
oneDNN loaded. Every entry point returns None where it does not apply, with nothing written.
"""
import ctypes

import numpy as np

from ._dnnl import (
    _F32,
    _any_md,
    _applies,
    _buffer_for,
    _check,
    _dense_like,
    _destroying,
    _Dims,
    _elements,
    _md,
    _Primitive,
    _primitive,
    _reorder,
)

_FWD_TRAINING, _CONV_AUTO = 64, 0x3                        # dnnl_forward_training, dnnl_convolution_auto
_SRC, _WEIGHTS, _BIAS, _DST = 1, 33, 41, 17                # DNNL_ARG_*
_DIFF_SRC, _DIFF_WEIGHTS, _DIFF_BIAS, _DIFF_DST = 129, 161, 169, 145
_QUERY_WEIGHTS, _QUERY_DIFF_WEIGHTS = 131, 132             # dnnl_query_weights_md, dnnl_query_diff_weights_md

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


def _with_blocked_weights(api, main, reorder, md):
    """``main`` carrying the reorder of its weights and a buffer for them in the layout ``md``."""
    main.parts = [reorder]
    main.blocked = _buffer_for(api, md)
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
