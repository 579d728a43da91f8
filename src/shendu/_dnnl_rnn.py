"""Single-precision LSTM layers through oneDNN's LSTM primitive: the optional fast path.

``shendu.ops.rnn.LSTMLayer`` runs the recurrence as a Python loop over the time steps, one matrix
product and a few elementwise kernels a step; that code is the reference and carries the formulas.
With oneDNN loaded (``shendu[fast]``, see :mod:`shendu._gemm`) a float32 layer on a batch runs as
oneDNN's LSTM primitive instead: the whole sequence in one call forward and one call backward, with
the elementwise work of every step spread over the OpenMP threads with the products (measured on a
2-core AMD EPYC, T=28, N=64, I=28, H=128, two threads: forward and backward 3.3 ms against 5.0 ms for
the loop). The gates are PyTorch's, in PyTorch's order (i, f, g, o); the sums run in another order,
so results differ from the loop's in the last bits of float32, as two BLAS builds do.

Layouts: x (T, N, I) is oneDNN's "tnc" (another layout, such as a batch-first view, is copied to it:
oneDNN 3.2's backward gives NaN weight gradients for its "ntc"), h0 and c0 (N, H) are (1, 1, N, H)
"ldnc", the output (T, N, H) "tnc". PyTorch's W_ih (4H, I) and W_hh (4H, H) are oneDNN's weights
(1, 1, I, 4, H) and (1, 1, H, 4, H) seen with their own strides ("ldgoi"); the primitives want them
in a blocked layout of their own choosing, so they are reordered into it at each call (a copy of the
small weights), and the weight gradients out of it after. The primitive has one bias, b_ih + b_hh.

Forward in training keeps oneDNN's workspace (the gates and states of every step) for backward;
with recording off the inference primitive keeps nothing. oneDNN's backward adds the weight
gradients into its output buffers, so they are zeroed first.

Primitives are cached per thread (:mod:`shendu._dnnl`). Every entry point returns None where it
does not apply (oneDNN absent, another dtype, a forked child), with nothing written.
"""
import ctypes
import threading
import weakref

import numpy as np

from ._dnnl import (
    _F32,
    _any_md,
    _applies,
    _buffer_for,
    _check,
    _dense_strides,
    _destroying,
    _md,
    _Primitive,
    _primitive,
    _reorder,
)
from ._dnnl import _QUERY_EXEC_ARG as _EXEC_ARG

_FWD_TRAINING, _FWD_INFERENCE, _BACKWARD = 64, 96, 128        # dnnl_prop_kind_t
_LEFT2RIGHT, _RIGHT2LEFT = 1, 2                                # dnnl_rnn_direction_t (0 is "undef")
_SRC_LAYER, _SRC_ITER, _SRC_ITER_C = 1, 2, 3                   # DNNL_ARG_*
_WEIGHTS_LAYER, _WEIGHTS_ITER, _BIAS = 33, 34, 41
_DST_LAYER, _DST_ITER, _DST_ITER_C = 17, 18, 19
_WORKSPACE = 64
_DIFF = 128                                                    # DNNL_ARG_DIFF_x = DNNL_ARG_x + 128
_FORWARD_ARGS = (_SRC_LAYER, _SRC_ITER, _SRC_ITER_C, _WEIGHTS_LAYER, _WEIGHTS_ITER, _BIAS, _DST_LAYER,
                 _DST_ITER, _DST_ITER_C)


def _state_md(api, N, H):
    return _md(api, (1, 1, N, H), (N * H, N * H, H, 1))


def _plain_weights_md(api, n_in, H, strides):
    """(1, 1, in, 4, H) "ldigo" descriptor of PyTorch's (4H, in) weight matrix with element ``strides``."""
    r, c = strides
    return _md(api, (1, 1, n_in, 4, H), (4 * H * n_in, 4 * H * n_in, c, H * r, r))


def _elements(w):
    return tuple(s // 4 for s in w.strides)


class _Descriptors:
    """The memory descriptors of one LSTM geometry (sequences and states dense, the weights with the
    given element strides), made once per primitive and destroyed with it."""

    def __init__(self, api, T, N, n_in, H, wl_strides, wi_strides):
        self.src = _md(api, (T, N, n_in), _dense_strides((T, N, n_in)))
        self.src_iter, self.src_iter_c = _state_md(api, N, H), _state_md(api, N, H)
        self.dst = _md(api, (T, N, H), _dense_strides((T, N, H)))
        self.dst_iter, self.dst_iter_c = _state_md(api, N, H), _state_md(api, N, H)
        self.bias = _md(api, (1, 1, 4, H), _dense_strides((1, 1, 4, H)))
        self.wl_any, self.wi_any = _any_md(api, (1, 1, n_in, 4, H)), _any_md(api, (1, 1, H, 4, H))
        self.wl_plain = _plain_weights_md(api, n_in, H, wl_strides)
        self.wi_plain = _plain_weights_md(api, H, H, wi_strides)

    def forward_args(self):
        """The descriptors in the order of the forward call (peephole and projection weights absent)."""
        return (self.src, self.src_iter, self.src_iter_c, self.wl_any, self.wi_any, None, None, self.bias,
                self.dst, self.dst_iter, self.dst_iter_c)

    def io(self):
        """The descriptors of the forward arguments, in ``_FORWARD_ARGS`` order, less the weights."""
        return (self.src, self.src_iter, self.src_iter_c, self.bias, self.dst, self.dst_iter, self.dst_iter_c)

    def all(self):
        return [self.src, self.src_iter, self.src_iter_c, self.dst, self.dst_iter, self.dst_iter_c, self.bias,
                self.wl_any, self.wi_any, self.wl_plain, self.wi_plain]


def _forward_pd(api, d, prop, direction):
    pd = ctypes.c_void_p()
    create = api.lib.dnnl_lstm_forward_primitive_desc_create
    _check(create(ctypes.byref(pd), api.engine, prop, direction, *d.forward_args(), 0, None),
           "LSTM forward descriptor")
    return pd


def _query(api, pd, arg):
    return api.lib.dnnl_primitive_desc_query_md(pd, _EXEC_ARG, arg)


_pool = threading.local()
WORKSPACES = 2
"""Workspace buffers kept per thread for reuse (a training loop needs one: each step's is free again
once its backward has run and the graph has let it go)."""


def _workspace(nbytes):
    """A float32 array of at least ``nbytes`` for a forward pass's workspace: a view on a buffer of
    this thread's pool whose last view is gone (the pool keeps a weak reference to each view it
    hands out), or a new buffer, which replaces the smallest free one when the pool is full. A
    training loop then reuses the same memory every step instead of asking the system for it again."""
    n = nbytes // 4 + 1
    pool = getattr(_pool, "entries", None)
    if pool is None:
        pool = _pool.entries = []                 # [buffer, weak reference to its view in use or None]
    free = [e for e in pool if e[1] is None or e[1]() is None]
    for e in free:
        if e[0].size >= n:
            view = e[0][:n]
            e[1] = weakref.ref(view)
            return view
    buf = np.empty(n, dtype=_F32)
    view = buf[:n]
    if len(pool) < WORKSPACES:
        pool.append([buf, weakref.ref(view)])
    elif free:
        smallest = min(free, key=lambda e: e[0].size)
        smallest[:] = [buf, weakref.ref(view)]
    return view


def _key(kind, shape, w_ih, w_hh, H, reverse, threads):
    return (kind, shape, _elements(w_ih), _elements(w_hh), H, reverse, threads)


def _weights_reordered(api, main, pd, d):
    """``main`` with the reorders of W_ih, W_hh into the layouts ``pd`` chose and buffers for them."""
    blocked = (_query(api, pd, _WEIGHTS_LAYER), _query(api, pd, _WEIGHTS_ITER))
    main.parts = [_reorder(api, d.wl_plain, blocked[0], []), _reorder(api, d.wi_plain, blocked[1], [])]
    main.blocked = [_buffer_for(api, m) for m in blocked]
    return main


def forward(x, h0, c0, w_ih, w_hh, bias, reverse, training, threads):
    """(y (T, N, H), h_n (N, H), c_n (N, H), workspace) of an LSTM layer, or None. ``x`` (T, N, I)
    float32 (copied when not C-contiguous), ``h0``, ``c0`` (N, H),
    ``w_ih`` (4H, I), ``w_hh`` (4H, H) in PyTorch's gate order, ``bias`` (4H,) = b_ih + b_hh.
    ``training``: keep the workspace for :func:`backward` (else it is None)."""
    if not _applies(x, h0, c0, w_ih, w_hh, bias) or 0 in x.shape or w_hh.size == 0:
        return None                     # an empty sequence or batch: oneDNN refuses it, the loop does not
    T, N, n_in = x.shape
    H = w_hh.shape[1]
    x, h0, c0, bias = (np.ascontiguousarray(a) for a in (x, h0, c0, bias))
    key = _key("lstm_fwd" if training else "lstm_inf", x.shape, w_ih, w_hh, H, reverse, threads)

    def make(api):
        d = _Descriptors(api, T, N, n_in, H, _elements(w_ih), _elements(w_hh))

        def build():
            pd = _forward_pd(api, d, _FWD_TRAINING if training else _FWD_INFERENCE,
                             _RIGHT2LEFT if reverse else _LEFT2RIGHT)
            wl, wi = _query(api, pd, _WEIGHTS_LAYER), _query(api, pd, _WEIGHTS_ITER)
            src, s_it, s_itc, b, dst, d_it, d_itc = d.io()
            mds, args = [src, s_it, s_itc, wl, wi, b, dst, d_it, d_itc], list(_FORWARD_ARGS)
            if training:
                mds.append(_query(api, pd, _WORKSPACE))
                args.append(_WORKSPACE)
            main = _Primitive(api, pd, mds, args, owned=d.all(), reference_ok=True)
            main.workspace_md = mds[-1] if training else None
            return _weights_reordered(api, main, pd, d)

        return _destroying(api, d.all(), build)

    p = _primitive(key, make)
    if p is None:
        return None
    y = np.empty((T, N, H), dtype=_F32)
    hn, cn = np.empty((N, H), dtype=_F32), np.empty((N, H), dtype=_F32)
    ws = _workspace(p.api.lib.dnnl_memory_desc_get_size(p.workspace_md)) if training else None
    wl, wi = p.blocked
    p.parts[0].run([w_ih, wl], threads)
    p.parts[1].run([w_hh, wi], threads)
    p.run([x, h0, c0, wl, wi, bias, y, hn, cn] + ([ws] if training else []), threads)
    return y, hn, cn, ws


def backward(x, h0, c0, w_ih, w_hh, bias, reverse, y, hn, cn, ws, d_out, d_hn, d_cn, threads):
    """(dx, dh0, dc0, dW_ih, dW_hh, db) of the layer :func:`forward` ran (in training, on the same
    arguments; ``ws`` its workspace) from the gradients reaching its outputs, or None. ``db`` is the
    gradient of b_ih and of b_hh alike; ``dW_ih``, ``dW_hh`` come in PyTorch's (4H, in) layout."""
    if not _applies(x, d_out, d_hn, d_cn) or 0 in x.shape or w_hh.size == 0:
        return None
    T, N, n_in = x.shape
    H = w_hh.shape[1]
    x, h0, c0, bias = (np.ascontiguousarray(a) for a in (x, h0, c0, bias))
    d_out, d_hn, d_cn = (np.ascontiguousarray(a) for a in (d_out, d_hn, d_cn))
    key = _key("lstm_bwd", x.shape, w_ih, w_hh, H, reverse, threads)
    direction = _RIGHT2LEFT if reverse else _LEFT2RIGHT

    def make(api):
        d = _Descriptors(api, T, N, n_in, H, _elements(w_ih), _elements(w_hh))
        g = _Descriptors(api, T, N, n_in, H, (n_in, 1), (H, 1))      # the gradients: dense

        def build():
            hint = _forward_pd(api, d, _FWD_TRAINING, direction)
            pd = ctypes.c_void_p()
            try:
                _check(api.lib.dnnl_lstm_backward_primitive_desc_create(
                    ctypes.byref(pd), api.engine, _BACKWARD, direction, *d.forward_args(),
                    g.src, g.src_iter, g.src_iter_c, g.wl_any, g.wi_any, None, None, g.bias,
                    g.dst, g.dst_iter, g.dst_iter_c, 0, hint, None), "LSTM backward descriptor")
            finally:
                api.lib.dnnl_primitive_desc_destroy(hint)
            src, s_it, s_itc, b, dst, d_it, d_itc = d.io()
            wl, wi, ws_md = (_query(api, pd, a) for a in (_WEIGHTS_LAYER, _WEIGHTS_ITER, _WORKSPACE))
            dwl, dwi = _query(api, pd, _DIFF + _WEIGHTS_LAYER), _query(api, pd, _DIFF + _WEIGHTS_ITER)
            mds = [src, s_it, s_itc, wl, wi, b, dst, d_it, d_itc, ws_md,
                   g.src, g.src_iter, g.src_iter_c, dwl, dwi, g.bias, g.dst, g.dst_iter, g.dst_iter_c]
            args = list(_FORWARD_ARGS) + [_WORKSPACE] + [_DIFF + a for a in _FORWARD_ARGS]
            main = _Primitive(api, pd, mds, args, owned=d.all() + g.all(), reference_ok=True)
            _weights_reordered(api, main, pd, d)
            main.parts += [_reorder(api, dwl, g.wl_plain, []), _reorder(api, dwi, g.wi_plain, [])]
            main.diff_blocked = [_buffer_for(api, dwl), _buffer_for(api, dwi)]
            return main

        return _destroying(api, d.all() + g.all(), build)

    p = _primitive(key, make)
    if p is None:
        return None
    wl, wi = p.blocked
    dwl, dwi = p.diff_blocked
    dwl.fill(0.0)                               # the primitive adds into its weight gradients
    dwi.fill(0.0)
    dx = np.empty((T, N, n_in), dtype=_F32)
    dh0, dc0 = np.empty((N, H), dtype=_F32), np.empty((N, H), dtype=_F32)
    dw_ih, dw_hh = np.empty((4 * H, n_in), dtype=_F32), np.empty((4 * H, H), dtype=_F32)
    db = np.zeros(4 * H, dtype=_F32)
    p.parts[0].run([w_ih, wl], threads)
    p.parts[1].run([w_hh, wi], threads)
    p.run([x, h0, c0, wl, wi, bias, y, hn, cn, ws, dx, dh0, dc0, dwl, dwi, db, d_out, d_hn, d_cn], threads)
    p.parts[2].run([dwl, dw_ih], threads)
    p.parts[3].run([dwi, dw_hh], threads)
    return dx, dh0, dc0, dw_ih, dw_hh, db
