"""Convolution, transposed convolution, pooling and nearest-neighbour resizing.

Shapes follow PyTorch: images are (N, C, H, W), sequences (N, C, L). Every operation is one
:class:`~shendu.autograd.Function` whose forward and backward work on whole arrays.

How a convolution is computed here (im2col)
-------------------------------------------
A 2-D convolution (PyTorch's cross-correlation) with stride s, dilation d, zero padding and
``groups`` g is

    y[n, o, i, j] = b[o] + Σ_{c ∈ group(o)} Σ_{p<kH} Σ_{q<kW} w[o, c, p, q] · x̃[n, c, i·s + p·d, j·s + q·d]

where x̃ is the padded input, and each output size is

    H_out = ⌊(H + pad_top + pad_bottom − d·(k − 1) − 1) / s⌋ + 1.

The input is viewed channels-last, (N, H, W, C); a strided *view* (no copy) exposes every window as
(N, H_out, W_out, kH, kW, C); one copy turns it into the matrix of patches ("columns")
X_col (N·H_out·W_out, kH·kW·C) — each row one receptive field, with C contiguous — and the whole
convolution is one matrix product Y = X_col · W_colᵀ (one batched product over the groups).
The result is already channels-last; it is returned as an (N, C, H, W) view of that memory, so the
next convolution, ReLU or pooling reads it without another copy.

Backward (G the gradient of Y reshaped to (N·H_out·W_out, C_out)):

    ∂L/∂W_col = Gᵀ · X_col,     ∂L/∂b = Σ_{n,i,j} G,     ∂L/∂X_col = G · W_col,

and ∂L/∂x is ∂L/∂X_col folded back onto the image ("col2im"): every kernel offset (p, q) adds its
slice of the columns to the pixels it was read from — a loop over the kH·kW offsets, each one a
vectorised strided addition over all samples and pixels.

What is kept and what is rebuilt (memory): the forward pass keeps only the input (a view, no copy),
never its columns, which are kH·kW times larger. The columns are built a few samples at a time (a
chunk of ~2 MiB per BLAS thread, which also keeps each product in cache) from the chunk zero-padded on
the fly, in the forward pass and again for ∂L/∂W in the backward pass. For a stride-1 ungrouped
convolution whose output is about as large as its input, ∂L/∂x is computed without col2im as the
"full" correlation of G with the flipped kernel,

    ∂L/∂x[n, y, x, c] = Σ_{p,q,o} G[n, y + t − p·d, x + l − q·d, o] · w[o, c, p, q],

i.e. the same chunked im2col product applied to G zero-padded by d·(k − 1) − t before and
d·(k − 1) − b after (t, b the forward padding).
"""
import math
import numbers

from .. import _dnnl_conv
from ..autograd import Function, is_grad_enabled
from ..backend import blas_threads as _blas_threads
from ..backend import gemm as _gemm
from ..backend import matmul as _mm
from ..backend import matmul_into as _matmul_into
from ..backend import onednn as _onednn
from ..backend import onednn_threads as _onednn_threads
from ..backend import run_split as _run_split
from ..backend import xp
from ..errors import ShapeError
from ..tensor import Tensor
from .norm import compiled_kernels as _compiled_kernels
from .norm import sum_rows as _sum_rows

__all__ = [
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "interpolate", "upsample",
]


# ----- small helpers -------------------------------------------------------------------------------
def _ntuple(value, n, name, where):
    """An int or a sequence of n ints, as a tuple of n ints."""
    if isinstance(value, numbers.Integral):
        return (int(value),) * n
    try:
        out = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{where}: {name} must be an int or a tuple of {n} ints, got {value!r}") from None
    if len(out) == 1 and n > 1:
        out = out * n
    if len(out) != n:
        raise ValueError(f"{where}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return out


def _padding_pairs(padding, kernel, stride, dilation, where):
    """Resolve ``padding`` (int, tuple, 'valid', 'same') to ((before, after), ...) per spatial axis.

    'same' (stride 1 only) pads d·(k − 1) in total on each axis, the extra one after, as PyTorch does.
    """
    n = len(kernel)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * n
        if mode == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{where}: padding='same' needs stride 1 (got stride {stride}); "
                                 f"use an explicit padding with strided convolutions")
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ValueError(f"{where}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    pads = _ntuple(padding, n, "padding", where)
    if any(p < 0 for p in pads):
        raise ValueError(f"{where}: padding must be non-negative, got {padding!r}")
    return tuple((p, p) for p in pads)


def _out_size(size, k, s, pad_total, d):
    """⌊(size + pad_total − d·(k − 1) − 1) / s⌋ + 1."""
    return (size + pad_total - d * (k - 1) - 1) // s + 1


def _data(x):
    return x.array if isinstance(x, Tensor) else x


def _check_float(x, where):
    dtype = getattr(_data(x), "dtype", None)
    if dtype is not None and dtype.kind not in "fc":
        raise TypeError(f"{where}: expected a floating-point tensor, got dtype {dtype}; convert it first, "
                        f"e.g. x.float()")


def _check_input(x, ndim, where, layout):
    shape = tuple(_data(x).shape)
    if len(shape) != ndim:
        raise ShapeError(f"{where}: expected a {ndim}-D input {layout}, got shape {shape}")
    _check_float(x, where)


def _as_strided(a, shape, strides):
    if a.flags.c_contiguous:           # an ndarray over a's buffer: 0.3 µs against as_strided's 2.5 µs
        v = xp.ndarray(shape, a.dtype, buffer=a, strides=strides)
        v.flags.writeable = False      # overlapping windows: never written through
        return v
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides, writeable=False)


def _pad_cl(a, pads, value=0.0):
    """Channels-last (N, H, W, C) padded to (N, H + t + b, W + l + r, C); ``a`` itself without padding."""
    (t, b), (l, r) = pads
    if t == b == l == r == 0:
        return a
    n, h, w, c = a.shape
    out = xp.full((n, h + t + b, w + l + r, c), value, dtype=a.dtype)
    out[:, t:t + h, l:l + w, :] = a
    return out


def _windows(a, out_hw, kernel, stride, dilation):
    """Channels-last (N, Hp, Wp, C) → read-only view (N, H_out, W_out, kH, kW, C) of every window."""
    n, _, _, c = a.shape
    sn, sh, sw, sc = a.strides
    return _as_strided(a, (n, out_hw[0], out_hw[1], kernel[0], kernel[1], c),
                       (sn, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1], sc))


def _im2col(a, out_hw, kernel, stride, dilation, groups):
    """Channels-last padded input → columns (G, N·H_out·W_out, kH·kW·C/G), one copy."""
    n, c = a.shape[0], a.shape[3]
    win = _windows(a, out_hw, kernel, stride, dilation)
    m = n * out_hw[0] * out_hw[1]
    if groups == 1:
        return win.reshape(1, m, kernel[0] * kernel[1] * c)
    win = win.reshape(win.shape[:5] + (groups, c // groups))
    return win.transpose(5, 0, 1, 2, 3, 4, 6).reshape(groups, m, kernel[0] * kernel[1] * (c // groups))


def _col2im(cols, padded_shape, out_hw, kernel, stride, dilation, groups):
    """Adjoint of :func:`_im2col`: add each column entry back onto the pixel it was read from.

    ``cols`` (G, N·H_out·W_out, kH·kW·C/G) → channels-last (N, Hp, Wp, C). One strided addition per
    kernel offset (p, q):  x̃[:, i·s + p·d, j·s + q·d, :] += cols[..., p, q, :] for all i, j at once.
    """
    n, hp, wp, c = padded_shape
    ho, wo = out_hw
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    cg = c // groups
    d = cols.reshape(groups, n, ho, wo, kh, kw, cg)
    out = xp.zeros((n, hp, wp, groups, cg), dtype=cols.dtype)
    for p in range(kh):
        rows = slice(p * dh, p * dh + sh * (ho - 1) + 1, sh)
        for q in range(kw):
            colsl = slice(q * dw, q * dw + sw * (wo - 1) + 1, sw)
            part = d[:, :, :, :, p, q, :]
            out[:, rows, colsl] += part[0][:, :, :, None, :] if groups == 1 else part.transpose(1, 2, 3, 0, 4)
    return out.reshape(n, hp, wp, c)


def _fold_offsets(parts, padded_shape, out_hw, kernel, stride, dilation, out=None):
    """col2im for one group with the columns laid out per offset: ``parts`` (kH·kW, N·H_out·W_out, C),
    added into ``out`` (zeros of ``padded_shape`` if not given).

    Each offset's slice has C contiguous values per row, so every strided addition reads memory in order.
    """
    n, hp, wp, c = padded_shape
    ho, wo = out_hw
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    if out is None:
        out = xp.zeros(padded_shape, dtype=parts.dtype)
    for p in range(kh):
        rows = slice(p * dh, p * dh + sh * (ho - 1) + 1, sh)
        for q in range(kw):
            colsl = slice(q * dw, q * dw + sw * (wo - 1) + 1, sw)
            out[:, rows, colsl] += parts[p * kw + q].reshape(n, ho, wo, c)
    return out


def _input_grad_stride1(g, weight, padding, dilation, hw):
    """∂L/∂x of a stride-1, ungrouped convolution from G channels-last (N, H_out, W_out, C_out).

    ∂L/∂x[n, y, x, c] = Σ_{p,q,o} G[n, y + t − p·d, x + l − q·d, o] · w[o, c, p, q]: a convolution
    (no padding, dilation d) of G zero-padded by d·(k − 1) − t before and d·(k − 1) − b after
    (cropped where that is negative) with the kernel flipped in p, q and transposed in (o, c).
    Returns channels-last (N, H, W, C), contiguous.
    """
    cout, c, kh, kw = weight.shape
    (dh, dw), (h, w) = dilation, hw
    n, ho, wo, _ = g.shape
    (t, b), (l, r) = padding
    before = (dh * (kh - 1) - t, dw * (kw - 1) - l)
    after = (dh * (kh - 1) - b, dw * (kw - 1) - r)
    top, left = max(0, -before[0]), max(0, -before[1])                 # crop rows/cols of G first
    g = g[:, top:ho - max(0, -after[0]), left:wo - max(0, -after[1]), :]
    pads = ((max(0, before[0]), max(0, after[0])), (max(0, before[1]), max(0, after[1])))
    # rows ordered (p', q', o) with p' = kH − 1 − p: the flipped kernel as (kH·kW·C_out, C)
    wflip = weight[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(kh * kw * cout, c)
    return _conv_nhwc(g, wflip, (h, w), (kh, kw), (1, 1), dilation, pads)


# im2col columns are built for a few samples at a time: the columns of a whole batch are kH·kW
# times the input (tens of MiB per layer); a chunk of about this size per BLAS thread stays in cache
# for its product (one thread, 50176 x 288 · 288 x 32: 72 GFLOP/s whole, 99 in 2048-row chunks)
# while keeping the number of (multi-threaded) product calls low
_CHUNK_BYTES = 2 * 2**20


def _sample_chunks(n, rows_per_sample, k, itemsize, threads=None):
    threads = _blas_threads() if threads is None else threads
    per = max(1, _CHUNK_BYTES * threads // max(1, rows_per_sample * k * itemsize))
    return [slice(a, min(n, a + per)) for a in range(0, n, per)]


def _chunk_columns(a, pads, out_hw, kernel, stride, dilation, ones=False, threads=None):
    """Yield (samples, X_col) for chunks of the ungrouped channels-last ``a`` (N, H, W, C) padded by
    ``pads``: X_col (n·H_out·W_out, kH·kW·C), or, for one input channel, its transpose
    (kH·kW, n·H_out·W_out) (each row then a run of W_out contiguous values to copy instead of single
    floats: 5x faster for a first layer). Every chunk's columns are copied into one buffer. With
    ``ones`` X_col has one more column of ones (so X_col·[W_col; b] adds the bias in the product).
    Chunks are sized for ``threads`` BLAS threads per product (default: the policy's count)."""
    n, _, _, c = a.shape
    ho, wo = out_hw
    kh, kw = kernel
    kwin = kh * kw * c
    k = kwin + 1 if ones else kwin
    rows = ho * wo
    (t, b), (l, r) = pads
    buf = padded = None
    for sl in _sample_chunks(n, rows, k, a.itemsize, threads):
        cnt = sl.stop - sl.start
        if t == b == l == r == 0:
            part = a[sl]
        else:                                  # one zero-bordered buffer; only its interior is rewritten
            if padded is None:
                padded = xp.zeros((cnt, a.shape[1] + t + b, a.shape[2] + l + r, c), dtype=a.dtype)
            part = padded[:cnt]
            part[:, t:t + a.shape[1], l:l + a.shape[2]] = a[sl]
        m = cnt * rows
        if buf is None:
            buf = xp.empty(m * k, dtype=a.dtype)
        win = _windows(part, out_hw, kernel, stride, dilation)           # (n, H_out, W_out, kH, kW, C)
        if c == 1:
            cols = buf[:m * k].reshape(k, m)
            cols[:kwin].reshape(kh, kw, -1, ho, wo)[...] = win[..., 0].transpose(3, 4, 0, 1, 2)
            if ones:
                cols[kwin] = 1
            yield sl, cols.T
        else:
            cols = buf[:m * k].reshape(m, k)
            cols[:, :kwin].reshape(win.shape)[...] = win
            if ones:
                cols[:, kwin] = 1
            yield sl, cols


def _shifted_applies(a, wcol, out_hw, stride, pads):
    """Whether ``_conv_shifted`` takes this convolution: oneDNN on, float32, stride 1, 8+ input
    channels, and an output at least 20×20 that covers 85%+ of the padded input (measured: 16 or 32
    channels at 28×28, 25–40% faster than im2col; at 14×14 and 7×7 the dropped rows cost more)."""
    (t, b), (l, r) = pads
    ho, wo = out_hw
    padded = (a.shape[1] + t + b) * (a.shape[2] + l + r)
    return (stride == (1, 1) and a.shape[3] >= 8 and ho * wo >= 400 and padded <= 1.2 * ho * wo
            and a.dtype == wcol.dtype == xp.float32 and _onednn())


def _shifted_rows(a, kernel, dilation, pads):
    """The padded input of ``_conv_shifted`` as one (N·H_p·W_p, C) matrix, with (H_p, W_p), the
    number m of result rows the products compute, and the start row of each kernel offset's input
    block (p·d_h·W_p + q·d_w, in (p, q) order)."""
    n, h, w, c = a.shape
    (kh, kw), (dh, dw) = kernel, dilation
    (t, b), (l, r) = pads
    hp, wp = h + t + b, w + l + r
    if t or b or l or r:
        padded = xp.zeros((n, hp, wp, c), dtype=a.dtype)
        padded[:, t:t + h, l:l + w] = a
    else:
        padded = xp.ascontiguousarray(a)
    rows = n * hp * wp
    m = rows - (kh - 1) * dh * wp - (kw - 1) * dw
    offsets = [p * dh * wp + q * dw for p in range(kh) for q in range(kw)]
    return padded.reshape(rows, c), (hp, wp), m, offsets


def _conv_shifted(a, wcol, out_hw, kernel, dilation, pads, ones):
    """A stride-1 convolution without im2col: Y = Σ_{p,q} X̃_{p,q} · W_{p,q}, one product per kernel
    offset (p, q) of the padded input shifted by (p·d_h, q·d_w) with that offset's (C, C_out) block
    of W_col, accumulated in place by oneDNN.

    The padded input (N, H_p, W_p, C) is one (N·H_p·W_p, C) matrix. Output (n, i, j) is computed at
    row r = (n·H_p + i)·W_p + j of an (N·H_p·W_p, C_out) result, and its input at offset (p, q) is row
    r + p·d_h·W_p + q·d_w: every offset's input is one contiguous block of rows. Rows with
    i ≥ H_out or j ≥ W_out are computed as well and dropped at the end (the extra work is
    H_p·W_p / (H_out·W_out) − 1, hence ``_shifted_applies``). With ``ones`` the last row of ``wcol``
    is the bias, the result's starting value. Returns (N, H_out, W_out, C_out), or None when oneDNN
    declined a product (nothing to undo: the caller runs im2col)."""
    n, c = a.shape[0], a.shape[3]
    src, (hp, wp), m, offsets = _shifted_rows(a, kernel, dilation, pads)
    y = xp.empty((src.shape[0], wcol.shape[1]), dtype=a.dtype)
    acc = bool(ones)
    if ones:
        y[:m] = wcol[len(offsets) * c]
    for i, off in enumerate(offsets):
        if not _matmul_into(src[off:off + m], wcol[i * c:(i + 1) * c], y[:m], accumulate=acc):
            return None
        acc = True
    ho, wo = out_hw
    return xp.ascontiguousarray(y.reshape(n, hp, wp, -1)[:, :ho, :wo])


def _weight_grad_shifted(a, gm, out_hw, kernel, dilation, pads):
    """∂L/∂W_col of a stride-1 convolution without im2col, in the row layout of ``_conv_shifted``:
    the block of offset (p, q) is X̃_{p,q}ᵀ · G̃ (C, C_out), where G̃ is the output gradient ``gm``
    (N·H_out·W_out, C_out) placed at its rows of the (N·H_p·W_p, C_out) layout, zeros in the dropped
    rows. Returns (kH·kW·C, C_out), or None when oneDNN declined a product."""
    n, c = a.shape[0], a.shape[3]
    ho, wo = out_hw
    src, (hp, wp), m, offsets = _shifted_rows(a, kernel, dilation, pads)
    g = xp.zeros((n, hp, wp, gm.shape[1]), dtype=gm.dtype)
    g[:, :ho, :wo] = gm.reshape(n, ho, wo, -1)
    g = g.reshape(src.shape[0], -1)[:m]
    dwcol = xp.empty((len(offsets) * c, gm.shape[1]), dtype=gm.dtype)
    for i, off in enumerate(offsets):
        if not _matmul_into(src[off:off + m].T, g, dwcol[i * c:(i + 1) * c]):
            return None
    return dwcol


def _conv_nhwc(a, wcol, out_hw, kernel, stride, dilation, pads=((0, 0), (0, 0)), ones=False):
    """Ungrouped convolution of channels-last ``a`` (N, H, W, C) with W_col (kH·kW·C, C_out).

    Y = X_col · W_col, with X_col built chunk by chunk over the samples from the chunk zero-padded by
    ``pads`` (so no padded copy of the whole input is made or kept). With ``ones`` the last row of
    ``wcol`` is a bias, multiplied by a column of ones in X_col (a broadcast addition afterwards is a
    full extra pass over Y, and NumPy's slow one for a per-channel vector). Returns (N, H_out, W_out, C_out).
    At 2+ BLAS threads a large one splits its samples over threads (``backend.run_split``), each share
    building its own columns and multiplying on one BLAS thread; the weight gradient below too.
    """
    if _shifted_applies(a, wcol, out_hw, stride, pads):
        y = _conv_shifted(a, wcol, out_hw, kernel, dilation, pads, ones)
        if y is not None:
            return y
    n = a.shape[0]
    ho, wo = out_hw
    cout = wcol.shape[1]
    y = xp.empty((n, ho, wo, cout), dtype=xp.result_type(a.dtype, wcol.dtype))

    def part(samples):                    # a share of the samples, side by side with the others
        ys = y[samples]
        for sl, cols in _chunk_columns(a[samples], pads, out_hw, kernel, stride, dilation, ones=ones,
                                       threads=1):
            _gemm(cols, wcol, out=ys[sl].reshape(-1, cout), threads=1)

    if _run_split(n, part, 2.0 * y.size * wcol.shape[0]) is None:
        for sl, cols in _chunk_columns(a, pads, out_hw, kernel, stride, dilation, ones=ones):
            _mm(cols, wcol, out=y[sl].reshape(-1, cout))
    return y


def _gemm1(a, b):
    return _gemm(a, b, threads=1)


def _weight_grad_nhwc(a, gm, out_hw, kernel, stride, dilation, pads):
    """∂L/∂W_col = X_colᵀ · G (kH·kW·C, C_out) for an ungrouped convolution, X_col rebuilt in chunks
    from channels-last ``a`` (N, H, W, C) padded by ``pads``."""
    if _shifted_applies(a, gm, out_hw, stride, pads):
        dw = _weight_grad_shifted(a, gm, out_hw, kernel, dilation, pads)
        if dw is not None:
            return dw
    rows = out_hw[0] * out_hw[1]

    def total(a, gm, mm, threads=None):
        dw = None
        for sl, cols in _chunk_columns(a, pads, out_hw, kernel, stride, dilation, threads=threads):
            part = mm(cols.T, gm[sl.start * rows:sl.stop * rows])
            dw = part if dw is None else xp.add(dw, part, out=dw)
        if dw is None:                    # an empty batch: no sample moves the kernel
            dw = xp.zeros((kernel[0] * kernel[1] * a.shape[3], gm.shape[1]), dtype=gm.dtype)
        return dw

    def share(s):                         # a share of the samples, side by side with the others
        return total(a[s], gm[s.start * rows:s.stop * rows], _gemm1, threads=1)

    parts = _run_split(a.shape[0], share, 2.0 * gm.size * kernel[0] * kernel[1] * a.shape[3])
    if parts is None:
        return total(a, gm, _mm)
    dw = parts[0]
    for p in parts[1:]:
        dw += p
    return dw


def _nchw(a):
    """Channels-last (N, H, W, C) memory seen as (N, C, H, W) (a view, no copy)."""
    return a.transpose(0, 3, 1, 2)


def _group_matrix(g_nhwc, groups):
    """(N, H, W, C) → (G, N·H·W, C/G)."""
    c = g_nhwc.shape[3]
    m = g_nhwc.size // c
    if groups == 1:
        return g_nhwc.reshape(1, m, c)
    return g_nhwc.reshape(m, groups, c // groups).transpose(1, 0, 2)


def _ungroup(y, shape_nhw):
    """(G, M, C/G) → channels-last (N, H, W, C)."""
    g, m, cg = y.shape
    if g == 1:
        return y.reshape(shape_nhw + (cg,))
    return y.transpose(1, 0, 2).reshape(shape_nhw + (g * cg,))


# ----- convolution -------------------------------------------------------------------------------
class Conv2d(Function):
    """y = conv2d(x, w) + b, x (N, C_in, H, W), w (C_out, C_in/groups, kH, kW), b (C_out,) or None.

    y[n,o,i,j] = b[o] + Σ_{c,p,q} w[o,c,p,q] · x̃[n, g(o)·C_in/G + c, i·s_h + p·d_h, j·s_w + q·d_w],
    H_out = ⌊(H + pad_h − d_h(kH − 1) − 1)/s_h⌋ + 1 (same for W). Computed as one (batched over groups)
    matrix product of the im2col patches with the flattened kernel; see the module docstring.

    Derivatives: ∂L/∂w = Gᵀ·X_col, ∂L/∂b = Σ_{n,i,j} ∂L/∂y, ∂L/∂x = col2im(G·W_col).
    ``padding`` is ((top, bottom), (left, right)); ``stride`` and ``dilation`` are pairs.
    """

    def forward(self, x, weight, bias=None, stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1),
                groups=1):
        n, c, h, w = x.shape
        cout, cg, kh, kw = weight.shape
        ho = _out_size(h, kh, stride[0], sum(padding[0]), dilation[0])
        wo = _out_size(w, kw, stride[1], sum(padding[1]), dilation[1])
        a = x.transpose(0, 2, 3, 1)                                           # channels-last view
        og = cout // groups
        # W_col (G, K, C_out/G) with K ordered (p, q, c) like the columns
        if groups == 1:
            # [W_col; b] written in one buffer (the bias row only with a bias), W_col a view of it
            k = kh * kw * cg
            wb = xp.empty((k + (bias is not None), cout), dtype=weight.dtype)
            wb[:k].reshape(kh, kw, cg, cout)[...] = weight.transpose(2, 3, 1, 0)
            if bias is not None:
                wb[k] = bias
            wcol = wb[None, :k]
            y, a = _dnnl_forward(a, wb, bias is not None, (ho, wo), (kh, kw), stride, dilation, padding)
            if y is None:
                y = _conv_nhwc(a, wb, (ho, wo), (kh, kw), stride, dilation, padding, ones=bias is not None)
        else:
            wcol = weight.reshape(groups, og, cg, kh, kw).transpose(0, 3, 4, 2, 1)
            wcol = wcol.reshape(groups, kh * kw * cg, og)
            cols = _im2col(_pad_cl(a, padding), (ho, wo), (kh, kw), stride, dilation, groups)   # (G, M, K)
            y = _ungroup(_mm(cols, wcol), (n, ho, wo))
            if bias is not None:
                y += bias
        # keep the input itself (no copy), not its padded copy or its kH·kW-times larger columns:
        # backward rebuilds the columns from it, chunk by chunk
        self.x_cl, self.wcol, self.weight, self.groups = a, wcol, weight, groups
        padded_shape = (n, h + sum(padding[0]), w + sum(padding[1]), c)
        self.geom = (padded_shape, (ho, wo), (kh, kw), stride, dilation, padding, (h, w), weight.shape)
        return _nchw(y)

    def backward(self, g):
        padded_shape, out_hw, kernel, stride, dilation, padding, (h, w), wshape = self.geom
        groups = self.groups
        gm = _group_matrix(g.transpose(0, 2, 3, 1), groups)                       # (G, M, C_out/G)
        gx = gw = gb = None
        if groups == 1:
            gx, gw, gb = self._backward_onednn(g.transpose(0, 2, 3, 1))
        if gx is not None or not self.needs_grad[0]:
            dx = None                                       # done by oneDNN, or not asked for
        elif groups == 1 and stride == (1, 1) and h * w <= 1.25 * out_hw[0] * out_hw[1]:
            # stride 1, output about as large as the input ('same'-like padding): ∂L/∂x is the "full"
            # correlation of G with the flipped kernel, one im2col of the padded gradient and one
            # product; no col2im (its kH·kW strided additions with C-long runs cost as much as the
            # product when C is small). An unpadded convolution of a small image would multiply
            # (H·W)/(H_out·W_out) times more here, so it keeps the fold.
            gx = _nchw(_input_grad_stride1(g.transpose(0, 2, 3, 1), self.weight, padding, dilation, (h, w)))
        elif groups == 1:
            # ∂L/∂X_col = G·W_colᵀ as one 2-D product (M, C_out)·(C_out, kH·kW·C): a wide, BLAS-friendly
            # shape (a batch of kH·kW narrow products broadcast over G runs outside BLAS, 10x slower)
            # A few samples at a time (as the columns are built): each chunk's ∂L/∂X_col is folded while
            # it is still in cache, and the product writes a cache-sized block
            kh, kw = kernel
            n, c = padded_shape[0], padded_shape[3]
            rows = out_hw[0] * out_hw[1]
            wt = xp.ascontiguousarray(self.wcol[0].T)
            dx = xp.zeros(padded_shape, dtype=xp.result_type(g.dtype, wt.dtype))
            for sl in _sample_chunks(n, rows, kh * kw * c, dx.itemsize):
                dcols = _mm(gm[0][sl.start * rows:sl.stop * rows], wt)               # (m, kH·kW·C)
                parts = dcols.reshape(dcols.shape[0], kh * kw, -1).transpose(1, 0, 2)  # (kH·kW, m, C)
                _fold_offsets(parts, (sl.stop - sl.start,) + padded_shape[1:], out_hw, kernel, stride,
                              dilation, out=dx[sl])
        else:
            dcols = _mm(gm, self.wcol.transpose(0, 2, 1))                  # (G, M, K)
            dx = _col2im(dcols, padded_shape, out_hw, kernel, stride, dilation, groups)
        if self.needs_grad[0] and gx is None:
            (t, _), (l, _) = padding
            gx = _nchw(dx[:, t:t + h, l:l + w, :])
        if self.needs_grad[1] and gw is None:
            cout, cg, kh, kw = wshape
            if groups == 1:
                dw = _weight_grad_nhwc(self.x_cl, gm[0], out_hw, kernel, stride, dilation, padding)[None]
            else:
                cols = _im2col(_pad_cl(self.x_cl, padding), out_hw, kernel, stride, dilation, groups)
                dw = _mm(cols.transpose(0, 2, 1), gm)                      # (G, K, C_out/G)
                del cols
            gw = dw.reshape(groups, kh, kw, cg, cout // groups).transpose(0, 4, 3, 1, 2).reshape(wshape)
        if len(self.needs_grad) > 2 and self.needs_grad[2] and gb is None:
            if groups == 1 and gm[0].flags.c_contiguous:
                gb = _sum_rows(gm[0])                                            # Σ over n, i, j
            else:
                gb = gm.sum(axis=1).reshape(-1)
        return gx, gw, gb



    def _backward_onednn(self, g_cl):
        """(∂L/∂x, ∂L/∂w, ∂L/∂b) of an ungrouped float32 convolution by oneDNN's backward primitives
        (``shendu._dnnl_conv``) from the channels-last output gradient; None for each one they did
        not compute (oneDNN off or absent, another dtype, a geometry it declines)."""
        padded_shape, out_hw, kernel, stride, dilation, padding, (h, w), wshape = self.geom
        if not _onednn() or g_cl.dtype != xp.float32 or self.x_cl.dtype != xp.float32:
            return None, None, None
        need = tuple(self.needs_grad) + (False,) * 3
        cout, cg, kh, kw = wshape
        threads = _onednn_threads(2.0 * g_cl.size * kh * kw * cg)
        if not g_cl.flags.c_contiguous:            # a flattened layer's (N, C, H, W) gradient, say
            g_cl = xp.ascontiguousarray(g_cl)
        gx = gw = gb = None
        if need[0]:
            n, c = padded_shape[0], padded_shape[3]
            dx = _dnnl_conv.input_grad(g_cl, self.wcol[0], (n, h, w, c), kernel, stride, dilation, padding,
                                       threads)
            gx = None if dx is None else _nchw(dx)
        if need[1]:
            r = _dnnl_conv.weight_grad(self.x_cl, g_cl, kernel, stride, dilation, padding, need[2], threads)
            if r is not None:
                gw = r[0].reshape(kh, kw, cg, cout).transpose(3, 2, 0, 1)
                gb = r[1]
        return gx, gw, gb


def _dnnl_forward(a, wb, has_bias, out_hw, kernel, stride, dilation, padding):
    """(y, the input it read) for an ungrouped float32 convolution of channels-last ``a`` with
    [W_col; b] by oneDNN's primitive (``shendu._dnnl_conv``); y None where it does not apply (oneDNN off
    or absent, another dtype, a geometry it declines). An input not dense channels-last (an NCHW
    array) is copied to channels-last first: oneDNN's fast kernels read that layout, and backward
    reuses the copy."""
    if not _onednn() or a.dtype != xp.float32 or wb.dtype != xp.float32:
        return None, a
    dense = a if a.flags.c_contiguous else xp.ascontiguousarray(a)
    k = wb.shape[0] - has_bias
    flops = 2.0 * a.shape[0] * out_hw[0] * out_hw[1] * k * wb.shape[1]
    y = _dnnl_conv.forward(dense, wb[:k], wb[k] if has_bias else None, out_hw, kernel, stride, dilation,
                           padding, _onednn_threads(flops))
    return (y, dense) if y is not None else (None, a)


class Conv1d(Conv2d):
    """y = conv1d(x, w) + b, x (N, C_in, L), w (C_out, C_in/groups, k): a Conv2d with H = 1.

    y[n,o,i] = b[o] + Σ_{c,p} w[o,c,p] · x̃[n, c, i·s + p·d],  L_out = ⌊(L + pad − d(k − 1) − 1)/s⌋ + 1;
    derivatives as for :class:`Conv2d`.
    """

    def forward(self, x, weight, bias=None, stride=(1,), padding=((0, 0),), dilation=(1,), groups=1):
        y = super().forward(x[:, :, None, :], weight[:, :, None, :], bias, (1,) + tuple(stride),
                            ((0, 0),) + tuple(padding), (1,) + tuple(dilation), groups)
        return y[:, :, 0, :]

    def backward(self, g):
        gx, gw, gb = super().backward(g[:, :, None, :])
        return (None if gx is None else gx[:, :, 0, :]), (None if gw is None else gw[:, :, 0, :]), gb


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, w) + b, x (N, C_in, H, W), w (C_in, C_out/groups, kH, kW).

    The adjoint of Conv2d with respect to its input: every input pixel scatters w-weighted copies
    of itself onto the output,
        ỹ[n, o, i·s + p·d, j·s + q·d] += Σ_c x[n,c,i,j] · w[c,o,p,q],   y = ỹ cropped by ``padding``,
    H_out = (H − 1)·s − 2·pad + d·(kH − 1) + output_padding + 1. Computed as one matrix product
    X (N·H·W, C_in) · W_col (C_in, kH·kW·C_out) followed by col2im.

    Derivatives: ∂L/∂x = im2col(G̃)·W_colᵀ (a plain convolution of the gradient), ∂L/∂w = Xᵀ·im2col(G̃),
    ∂L/∂b = Σ ∂L/∂y, where G̃ is ∂L/∂y padded back to ỹ's size.
    """

    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0),
                groups=1, dilation=(1, 1)):
        n, cin, h, w = x.shape
        _, og, kh, kw = weight.shape
        cig = cin // groups
        hf = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0]
        wf = (w - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]
        ho, wo = hf - 2 * padding[0], wf - 2 * padding[1]
        if ho <= 0 or wo <= 0:
            raise ShapeError(f"ConvTranspose2d: the output would be {ho}x{wo} for input {h}x{w} "
                             f"(padding {padding} is too large)")
        xm = _group_matrix(x.transpose(0, 2, 3, 1), groups)                       # (G, M, C_in/G)
        wcol = weight.reshape(groups, cig, og, kh, kw).transpose(0, 1, 3, 4, 2).reshape(groups, cig, -1)
        cols = _mm(xm, wcol)                                                 # (G, M, kH·kW·og)
        full = _col2im(cols, (n, hf, wf, og * groups), (h, w), (kh, kw), stride, dilation, groups)
        y = full[:, padding[0]:padding[0] + ho, padding[1]:padding[1] + wo, :]
        if bias is not None:
            y += bias
        self.xm, self.wcol, self.groups = xm, wcol, groups
        self.geom = ((n, hf, wf, og * groups), (h, w), (kh, kw), stride, dilation, padding, weight.shape)
        return _nchw(y)

    def backward(self, g):
        full_shape, in_hw, kernel, stride, dilation, padding, wshape = self.geom
        n, hf, wf, cout = full_shape
        gfull = xp.zeros(full_shape, dtype=g.dtype)
        ho, wo = g.shape[2], g.shape[3]
        gfull[:, padding[0]:padding[0] + ho, padding[1]:padding[1] + wo, :] = g.transpose(0, 2, 3, 1)
        cols = _im2col(gfull, in_hw, kernel, stride, dilation, self.groups)       # (G, M, K)
        gx = gw = gb = None
        if self.needs_grad[0]:
            gx = _nchw(_ungroup(_mm(cols, self.wcol.transpose(0, 2, 1)), (n,) + tuple(in_hw)))
        if self.needs_grad[1]:
            cin, og, kh, kw = wshape
            dw = _mm(self.xm.transpose(0, 2, 1), cols)                      # (G, C_in/G, K)
            gw = dw.reshape(self.groups, cin // self.groups, kh, kw, og).transpose(0, 1, 4, 2, 3)
            gw = gw.reshape(wshape)
        if len(self.needs_grad) > 2 and self.needs_grad[2]:
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb


class ConvTranspose1d(ConvTranspose2d):
    """conv_transpose1d: a ConvTranspose2d with H = 1; L_out = (L − 1)s − 2·pad + d(k − 1) + out_pad + 1."""

    def forward(self, x, weight, bias=None, stride=(1,), padding=(0,), output_padding=(0,), groups=1,
                dilation=(1,)):
        y = super().forward(x[:, :, None, :], weight[:, :, None, :], bias, (1,) + tuple(stride),
                            (0,) + tuple(padding), (0,) + tuple(output_padding), groups,
                            (1,) + tuple(dilation))
        return y[:, :, 0, :]

    def backward(self, g):
        gx, gw, gb = super().backward(g[:, :, None, :])
        return (None if gx is None else gx[:, :, 0, :]), (None if gw is None else gw[:, :, 0, :]), gb


def _conv_args(x, weight, bias, nd, stride, padding, dilation, groups, where):
    layout = "(N, C, H, W)" if nd == 2 else "(N, C, L)"
    _check_input(x, nd + 2, where, layout)
    _check_float(weight, where)
    wshape = tuple(_data(weight).shape)
    if len(wshape) != nd + 2:
        raise ShapeError(f"{where}: weight must be {nd + 2}-D, got shape {wshape}")
    stride = _ntuple(stride, nd, "stride", where)
    dilation = _ntuple(dilation, nd, "dilation", where)
    if any(s < 1 for s in stride) or any(d < 1 for d in dilation):
        raise ValueError(f"{where}: stride and dilation must be positive, got {stride} and {dilation}")
    kernel = wshape[2:]
    pads = _padding_pairs(padding, kernel, stride, dilation, where)
    return stride, pads, dilation, kernel


def _check_conv_shapes(xshape, wshape, bias, groups, kernel, stride, pads, dilation, where):
    c = xshape[1]
    if groups < 1 or c % groups or wshape[0] % groups:
        raise ShapeError(f"{where}: groups={groups} must divide both the input channels ({c}) and the "
                         f"output channels ({wshape[0]})")
    if wshape[1] * groups != c:
        raise ShapeError(f"{where}: got input of shape {tuple(xshape)} with {c} channels, but the weight "
                         f"{tuple(wshape)} with groups={groups} expects {wshape[1] * groups} channels")
    if bias is not None and tuple(_data(bias).shape) != (wshape[0],):
        raise ShapeError(f"{where}: bias must have shape ({wshape[0]},), got {tuple(_data(bias).shape)}")
    spatial = xshape[2:]
    for size, k, (a, b), d in zip(spatial, kernel, pads, dilation):
        if size + a + b < d * (k - 1) + 1:
            padded = tuple(n + a + b for n, (a, b) in zip(spatial, pads))
            raise ShapeError(f"{where}: input of spatial size {tuple(spatial)} (padded: {padded}) is "
                             f"smaller than the kernel {tuple(kernel)} (dilation {dilation}); use a "
                             f"larger input, more padding or a smaller kernel")


# argument sets already checked → their resolved (stride, padding pairs, dilation): a layer called
# again with inputs of the same shape skips the checks (a few µs of Python per call at batch 1)
_CHECKED = {}


def _conv(x, weight, bias, stride, padding, dilation, groups, nd, where):
    """Check the arguments of a convolution and apply it. ``where`` names the caller in errors; it
    may be a callable that returns the name (only called when a check has to run)."""
    xa, wa = _data(x), _data(weight)
    try:
        key = (nd, xa.shape, xa.dtype, wa.shape, wa.dtype, None if bias is None else _data(bias).shape,
               stride, padding, dilation, groups)
        resolved = _CHECKED.get(key)
    except (TypeError, AttributeError):          # unhashable arguments or array-likes: check every time
        key = resolved = None
    if resolved is None:
        where = where() if callable(where) else where
        stride, pads, dilation, kernel = _conv_args(x, weight, bias, nd, stride, padding, dilation, groups,
                                                    where)
        _check_conv_shapes(xa.shape, wa.shape, bias, groups, kernel, stride, pads, dilation, where)
        resolved = (stride, pads, dilation)
        if key is not None:
            if len(_CHECKED) > 1024:
                _CHECKED.clear()
            _CHECKED[key] = resolved
    stride, pads, dilation = resolved
    fn = Conv2d if nd == 2 else Conv1d
    return fn.apply(x, weight, bias, stride=stride, padding=pads, dilation=dilation, groups=groups)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution over (N, C_in, H, W) with weight (C_out, C_in/groups, kH, kW); see :class:`Conv2d`.

    ``padding`` is an int, a pair, 'valid' (no padding) or 'same' (output as large as the input,
    stride 1 only). H_out = ⌊(H + 2·pad − dilation·(kH − 1) − 1)/stride⌋ + 1.
    """
    return _conv(x, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over (N, C_in, L) with weight (C_out, C_in/groups, k); see :class:`Conv1d`.

    L_out = ⌊(L + 2·pad − dilation·(k − 1) − 1)/stride⌋ + 1; ``padding`` may be 'same' or 'valid'.
    """
    return _conv(x, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def _conv_transpose_args(x, weight, bias, nd, stride, padding, output_padding, groups, dilation, where):
    layout = "(N, C, H, W)" if nd == 2 else "(N, C, L)"
    _check_input(x, nd + 2, where, layout)
    _check_float(weight, where)
    xshape, wshape = tuple(_data(x).shape), tuple(_data(weight).shape)
    if len(wshape) != nd + 2:
        raise ShapeError(f"{where}: weight must be {nd + 2}-D (in, out/groups, k...), got shape {wshape}")
    stride = _ntuple(stride, nd, "stride", where)
    dilation = _ntuple(dilation, nd, "dilation", where)
    if isinstance(padding, str):
        raise ValueError(f"{where}: padding must be an int or a tuple (no 'same'/'valid'), got {padding!r}")
    padding = _ntuple(padding, nd, "padding", where)
    output_padding = _ntuple(output_padding, nd, "output_padding", where)
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= max(s, d):
            raise ValueError(f"{where}: output_padding {output_padding} must be smaller than stride "
                             f"{stride} or dilation {dilation}")
    if groups < 1 or xshape[1] % groups or wshape[0] != xshape[1]:
        raise ShapeError(f"{where}: got input of shape {xshape} with {xshape[1]} channels, but the weight "
                         f"{wshape} expects {wshape[0]} (divisible by groups={groups})")
    if bias is not None and tuple(_data(bias).shape) != (wshape[1] * groups,):
        raise ShapeError(f"{where}: bias must have shape ({wshape[1] * groups},), "
                         f"got {tuple(_data(bias).shape)}")
    return stride, padding, output_padding, dilation


def _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation, nd, where):
    stride, padding, output_padding, dilation = _conv_transpose_args(
        x, weight, bias, nd, stride, padding, output_padding, groups, dilation, where)
    fn = ConvTranspose2d if nd == 2 else ConvTranspose1d
    return fn.apply(x, weight, bias, stride=stride, padding=padding, output_padding=output_padding,
                    groups=groups, dilation=dilation)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 2-D convolution, weight (C_in, C_out/groups, kH, kW); see :class:`ConvTranspose2d`.

    H_out = (H − 1)·stride − 2·padding + dilation·(kH − 1) + output_padding + 1.
    """
    return _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 1-D convolution, weight (C_in, C_out/groups, k); see :class:`ConvTranspose1d`."""
    return _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


# ----- pooling -----------------------------------------------------------------------------------
_GEOMETRY = {}


def _pool_geometry(hw, kernel, stride, padding, dilation, ceil_mode, where):
    """Output size and the extra (bottom, right) padding that makes the last window fit.

    H_out = ⌊ or ⌈ (H + 2p − d(k − 1) − 1)/s ⌉ + 1; with ceil_mode the last window must still start
    inside the input or its left padding (PyTorch's rule), else it is dropped. Remembered per argument
    set (a layer asks the same question at every call).
    """
    key = (hw, kernel, stride, padding, dilation, ceil_mode)
    got = _GEOMETRY.get(key)
    if got is None:
        got = _pool_geometry_of(hw, kernel, stride, padding, dilation, ceil_mode, where)
        if len(_GEOMETRY) > 1024:
            _GEOMETRY.clear()
        _GEOMETRY[key] = got
    return got


def _pool_geometry_of(hw, kernel, stride, padding, dilation, ceil_mode, where):
    out, extra = [], []
    for size, k, s, p, d in zip(hw, kernel, stride, padding, dilation):
        if p * 2 > k:
            raise ValueError(f"{where}: padding {padding} must be at most half the kernel size {kernel}")
        span = size + 2 * p - d * (k - 1) - 1
        if span < 0:
            raise ShapeError(f"{where}: input of spatial size {tuple(hw)} (padding {padding}) is smaller "
                             f"than the window {tuple(kernel)} with dilation {dilation}")
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= size + p:
            o -= 1
        out.append(o)
        extra.append(max(0, (o - 1) * s + d * (k - 1) + 1 - (size + 2 * p)))
    return tuple(out), tuple(extra)


def _pad_nchw(x, padding, extra, value):
    """Pad the spatial axes of (N, C, H, W) by ``padding`` on both sides plus ``extra`` after."""
    (ph, pw), (eh, ew) = padding, extra
    if ph == pw == eh == ew == 0:
        return x
    n, c, h, w = x.shape
    # full_like keeps x's memory order (channels-last stays channels-last)
    out = xp.full_like(x, value, shape=(n, c, h + 2 * ph + eh, w + 2 * pw + ew))
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def _same_layout(g, like):
    """``g`` laid out in memory with the axis order of ``like``: copied once when the orders differ.

    A gradient arriving channels-first (from a flatten) against channels-last saved arrays would
    make every elementwise step of the backward pass read across strides (measured 8x slower).
    """
    order = _axis_order(like)
    if _axis_order(g) == order:
        return g
    out = xp.empty(tuple(g.shape[i] for i in order), dtype=g.dtype).transpose(xp.argsort(order))
    out[...] = g
    return out


def _axis_order(a):
    return tuple(sorted(range(a.ndim), key=lambda i: -abs(a.strides[i]) if a.shape[i] > 1 else 0))


def _offset_views(a, out_hw, kernel, stride, dilation):
    """For each kernel offset (p, q): the (N, C, H_out, W_out) strided slice a[:, :, i·s + p·d, j·s + q·d]."""
    for p in range(kernel[0]):
        rows = slice(p * dilation[0], p * dilation[0] + stride[0] * (out_hw[0] - 1) + 1, stride[0])
        for q in range(kernel[1]):
            cols = slice(q * dilation[1], q * dilation[1] + stride[1] * (out_hw[1] - 1) + 1, stride[1])
            yield p * kernel[1] + q, (slice(None), slice(None), rows, cols)


class MaxPool2d(Function):
    """y[n,c,i,j] = max_{p,q} x̃[n, c, i·s + p·d, j·s + q·d] (x̃ padded with −∞; NaN propagates).

    The derivative is 1 at the window's first maximum (row-major order, as PyTorch picks) and 0
    elsewhere: ∂L/∂x receives each ∂L/∂y at its argmax (summed where windows overlap). With
    ``return_indices`` a second output gives each argmax as a flat index h·W + w into the input.
    Outputs and gradients keep the input's memory order (channels-last stays channels-last).
    """

    def forward(self, x, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1),
                ceil_mode=False, return_indices=False):
        h, w = x.shape[2:]
        out_hw, extra = _pool_geometry((h, w), kernel_size, stride, padding, dilation, ceil_mode,
                                       "max_pool2d")
        xpad = _pad_nchw(x, padding, extra, -xp.inf)
        training = return_indices or is_grad_enabled()
        windows = kernel_size[0] * kernel_size[1]
        dense_cl = xpad is x and x.transpose(0, 2, 3, 1).flags.c_contiguous      # unpadded channels-last
        k = _compiled_kernels(x.dtype) if windows < 128 and dense_cl else None
        if k is not None and not training:
            # inference, compiled: the maxima alone in one read of channels-last x (batch 1: 3 µs
            # against 13 µs for the NumPy maxima of the shifted views; batch 32: 110 against 160 µs)
            n, c = x.shape[:2]
            best = xp.empty((n,) + out_hw + (c,), dtype=x.dtype)
            k.max_pool_values(x.transpose(0, 2, 3, 1), best, *kernel_size, *stride, *dilation)
            return _nchw(best)
        views = list(_offset_views(xpad, out_hw, kernel_size, stride, dilation))
        if k is not None:
            # compiled: one read of channels-last x for the maxima and their offsets
            n, c = x.shape[:2]
            best = xp.empty((n,) + out_hw + (c,), dtype=x.dtype)
            arg = xp.empty(best.shape, dtype=xp.int8)
            k.max_pool_forward(x.transpose(0, 2, 3, 1), best, arg, *kernel_size, *stride, *dilation)
            best, arg = _nchw(best), _nchw(arg)
        elif not training:
            # inference: the maximum alone (NaN propagates), no argmax bookkeeping
            if len(views) == 1:
                return xpad[views[0][1]].copy(order="K")
            best = xp.maximum(xpad[views[0][1]], xpad[views[1][1]])
            for _, idx in views[2:]:
                xp.maximum(best, xpad[idx], out=best)
            return best
        else:
            best = xpad[views[0][1]].copy(order="K")
            arg = xp.zeros_like(best, dtype=xp.int8 if len(views) < 128 else xp.int32)
            for k, idx in views[1:]:
                v = xpad[idx]
                # strict >: the first maximum of a window wins. Offsets come in increasing order, so
                # "arg = k where v > best" is arg = max(arg, k·[v > best]) (a fast dense update).
                xp.maximum(arg, xp.multiply(v > best, k, dtype=arg.dtype), out=arg)
                xp.maximum(best, v, out=best)          # NaN propagates, as in PyTorch
            nan = xp.isnan(best)
            if nan.any():                              # route NaN outputs to (the last) NaN input
                for k, idx in views:
                    xp.copyto(arg, k, where=nan & xp.isnan(xpad[idx]))
        self.arg, self.xpad = arg, xpad           # xpad: the gradient's shape and memory order
        self.geom = (x.shape, out_hw, kernel_size, stride, dilation, padding)
        if not return_indices:
            return best
        kw = kernel_size[1]
        i = xp.arange(out_hw[0]).reshape(-1, 1)
        j = xp.arange(out_hw[1])
        arg = arg.astype(xp.int64)
        row = i * stride[0] - padding[0] + (arg // kw) * dilation[0]
        col = j * stride[1] - padding[1] + (arg % kw) * dilation[1]
        return best, row * w + col

    def backward(self, g, *_):
        xshape, out_hw, kernel, stride, dilation, padding = self.geom
        g = _same_layout(g, self.arg)
        disjoint = all(s >= (k - 1) * d + 1 for s, k, d in zip(stride, kernel, dilation))
        tiled = disjoint and tuple(kernel) == tuple(stride) and tuple(dilation) == (1, 1)
        k = _compiled_kernels(g.dtype) if tiled and tuple(padding) == (0, 0) else None
        if k is not None and self.arg.dtype == xp.int8 and self.xpad.shape == tuple(xshape):
            gl, al = g.transpose(0, 2, 3, 1), self.arg.transpose(0, 2, 3, 1)
            gx = xp.empty_like(self.xpad, dtype=g.dtype)
            gxl = gx.transpose(0, 2, 3, 1)
            if gl.flags.c_contiguous and al.flags.c_contiguous and gxl.flags.c_contiguous:
                # compiled: one read of g and the offsets, one write of ∂L/∂x (channels-last)
                k.max_pool_backward_tiled(gl, al, gxl, *kernel)
                return gx
        if tiled:
            # the windows tile the input: every cell they cover is written below, only the uncovered
            # last rows/columns need zeros
            gx = xp.empty_like(self.xpad, dtype=g.dtype)
            gx[:, :, out_hw[0] * stride[0]:, :] = 0
            gx[:, :, :, out_hw[1] * stride[1]:] = 0
        else:
            gx = xp.zeros_like(self.xpad, dtype=g.dtype)
        for k, idx in _offset_views(gx, out_hw, kernel, stride, dilation):
            if disjoint:                           # each input cell is in one window at most
                xp.multiply(g, self.arg == k, out=gx[idx])
            else:
                gx[idx] += g * (self.arg == k)
        h, w = xshape[2:]
        return gx[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]


class AvgPool2d(Function):
    """y[n,c,i,j] = (1/D_ij) Σ_{p,q} x̃[n, c, i·s + p, j·s + q] (x̃ zero-padded).

    D_ij counts the window's cells inside the padded input (``count_include_pad=True``) or inside the
    input itself (False), or is ``divisor_override``. Derivative: ∂L/∂x̃ at each window cell += ∂L/∂y / D.
    """

    def forward(self, x, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=False,
                count_include_pad=True, divisor_override=None):
        n, c, h, w = x.shape
        one = (1, 1)
        out_hw, extra = _pool_geometry((h, w), kernel_size, stride, padding, one, ceil_mode, "avg_pool2d")
        xpad = _pad_nchw(x, padding, extra, 0.0)
        total = None
        for _, idx in _offset_views(xpad, out_hw, kernel_size, stride, one):
            total = xpad[idx].copy(order="K") if total is None else xp.add(total, xpad[idx], out=total)
        if divisor_override:
            div = xp.asarray(float(divisor_override), dtype=x.dtype)
        else:
            # count the window cells that lie in the padded input (or the input alone) with the same sums
            ph, pw = padding
            mask = xp.zeros((1, 1) + xpad.shape[2:], dtype=x.dtype)
            if count_include_pad:
                mask[:, :, :h + 2 * ph, :w + 2 * pw] = 1
            else:
                mask[:, :, ph:ph + h, pw:pw + w] = 1
            div = sum(mask[idx] for _, idx in _offset_views(mask, out_hw, kernel_size, stride, one))
        self.div, self.template = div, x          # template: the gradient's memory order
        self.geom = (x.shape, xpad.shape, out_hw, kernel_size, stride, padding)
        total /= div
        return total

    def backward(self, g):
        xshape, pshape, out_hw, kernel, stride, padding = self.geom
        gd = _same_layout(g, self.template) / self.div
        gx = xp.zeros_like(self.template, dtype=g.dtype, shape=pshape)
        for _, idx in _offset_views(gx, out_hw, kernel, stride, (1, 1)):
            gx[idx] += gd
        h, w = xshape[2:]
        return gx[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]


class MaxPool1d(MaxPool2d):
    """max_pool1d over (N, C, L): a MaxPool2d with a 1-row window; same derivative (to the argmax)."""

    def forward(self, x, kernel_size=(2,), stride=(2,), padding=(0,), dilation=(1,), ceil_mode=False,
                return_indices=False):
        out = super().forward(x[:, :, None, :], (1,) + tuple(kernel_size), (1,) + tuple(stride),
                              (0,) + tuple(padding), (1,) + tuple(dilation), ceil_mode, return_indices)
        if return_indices:
            return out[0][:, :, 0, :], out[1][:, :, 0, :]
        return out[:, :, 0, :]

    def backward(self, g, *_):
        return super().backward(g[:, :, None, :])[:, :, 0, :]


class AvgPool1d(AvgPool2d):
    """avg_pool1d over (N, C, L): an AvgPool2d with a 1-row window."""

    def forward(self, x, kernel_size=(2,), stride=(2,), padding=(0,), ceil_mode=False,
                count_include_pad=True):
        return super().forward(x[:, :, None, :], (1,) + tuple(kernel_size), (1,) + tuple(stride),
                               (0,) + tuple(padding), ceil_mode, count_include_pad)[:, :, 0, :]

    def backward(self, g):
        return super().backward(g[:, :, None, :])[:, :, 0, :]


def _pool_args(x, nd, kernel_size, stride, padding, dilation, where):
    layout = "(N, C, H, W)" if nd == 2 else "(N, C, L)"
    _check_input(x, nd + 2, where, layout)
    kernel = _ntuple(kernel_size, nd, "kernel_size", where)
    stride = kernel if stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0) \
        else _ntuple(stride, nd, "stride", where)
    padding = _ntuple(padding, nd, "padding", where)
    dilation = _ntuple(dilation, nd, "dilation", where)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"{where}: kernel_size, stride and dilation must be positive and padding "
                         f"non-negative, got {kernel}, {stride}, {dilation}, {padding}")
    return kernel, stride, padding, dilation


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd, where):
    xa = _data(x)
    try:
        key = ("max", nd, xa.ndim, xa.dtype, kernel_size, stride, padding, dilation)
        resolved = _CHECKED.get(key)
    except (TypeError, AttributeError):
        key = resolved = None
    if resolved is None:
        resolved = _pool_args(x, nd, kernel_size, stride, padding, dilation,
                              where() if callable(where) else where)
        if key is not None:
            if len(_CHECKED) > 1024:
                _CHECKED.clear()
            _CHECKED[key] = resolved
    k, s, p, d = resolved
    fn = MaxPool2d if nd == 2 else MaxPool1d
    return fn.apply(x, kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=bool(ceil_mode),
                    return_indices=bool(return_indices))


def _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, nd, where):
    k, s, p, _ = _pool_args(x, nd, kernel_size, stride, padding, 1, where)
    extra = {"divisor_override": divisor_override} if nd == 2 else {}
    fn = AvgPool2d if nd == 2 else AvgPool1d
    return fn.apply(x, kernel_size=k, stride=s, padding=p, ceil_mode=bool(ceil_mode),
                    count_include_pad=bool(count_include_pad), **extra)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over k×k windows of (N, C, H, W); stride defaults to the kernel size. See :class:`MaxPool2d`.

    H_out = ⌊(H + 2·padding − dilation·(k − 1) − 1)/stride⌋ + 1 (⌈·⌉ with ``ceil_mode``).
    """
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows of (N, C, L); see :class:`MaxPool1d`."""
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d")


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over k×k windows of (N, C, H, W); see :class:`AvgPool2d` for the divisor."""
    return _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2,
                     "avg_pool2d")


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of (N, C, L); see :class:`AvgPool1d`."""
    return _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1, "avg_pool1d")


# ----- adaptive pooling ---------------------------------------------------------------------------
def _adaptive_matrix(size, out, dtype):
    """A (out, size) averaging matrix: row i is 1/len on bins [⌊i·size/out⌋, ⌈(i+1)·size/out⌉)."""
    i = xp.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    cols = xp.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2d(Function):
    """y[n,c,i,j] = mean of x[n, c, bin_i, bin_j], bin_i = [⌊iH/H_out⌋, ⌈(i+1)H/H_out⌉) (PyTorch's bins).

    Written as y = A_h · x · A_wᵀ with averaging matrices A (see :func:`_adaptive_matrix`);
    ∂L/∂x = A_hᵀ · ∂L/∂y · A_w.
    """

    def forward(self, x, output_size=(1, 1)):
        h, w = x.shape[2:]
        self.ah = _adaptive_matrix(h, output_size[0], x.dtype)
        self.aw = _adaptive_matrix(w, output_size[1], x.dtype)
        if output_size == (1, 1):
            return x.mean(axis=(2, 3), keepdims=True)
        return _mm(_mm(self.ah, x), self.aw.T)

    def backward(self, g):
        return _mm(_mm(self.ah.T, g), self.aw)


class AdaptiveMaxPool2d(Function):
    """y[n,c,i,j] = max of x[n, c, bin_i, bin_j] (bins as in AdaptiveAvgPool2d); gradient to the argmax.

    Bins have at most two distinct sizes, so each output is the max over a fixed number of offsets
    from the bin start (clipped to the bin's end); the loop runs over those offsets, not pixels.
    """

    def forward(self, x, output_size=(1, 1)):
        h, w = x.shape[2:]
        oh, ow = output_size
        hs, he = (xp.arange(oh) * h) // oh, -((-(xp.arange(oh) + 1) * h) // oh)
        ws, we = (xp.arange(ow) * w) // ow, -((-(xp.arange(ow) + 1) * w) // ow)
        best = None
        for p in range(int((he - hs).max())):
            rows = xp.minimum(hs + p, he - 1)
            for q in range(int((we - ws).max())):
                cols = xp.minimum(ws + q, we - 1)
                v = x[:, :, rows[:, None], cols[None, :]]
                flat = rows[:, None] * w + cols[None, :]
                if best is None:
                    best, arg = v.copy(), xp.broadcast_to(flat, v.shape).copy()
                    continue
                better = (v > best) | (xp.isnan(v) & ~xp.isnan(best))
                xp.copyto(best, v, where=better)
                xp.copyto(arg, xp.broadcast_to(flat, v.shape), where=better)
        self.arg, self.shape = arg, x.shape
        return best

    def backward(self, g):
        n, c, h, w = self.shape
        gx = xp.zeros((n * c, h * w), dtype=g.dtype)
        rows = xp.arange(n * c)[:, None]
        xp.add.at(gx, (rows, self.arg.reshape(n * c, -1)), g.reshape(n * c, -1))
        return gx.reshape(self.shape)


def _adaptive_size(x, output_size, nd, where):
    spatial = _data(x).shape[2:]
    size = (output_size,) * nd if isinstance(output_size, numbers.Integral) or output_size is None \
        else tuple(output_size)
    if len(size) != nd:
        raise ValueError(f"{where}: output_size must be an int or a tuple of {nd}, got {output_size!r}")
    size = tuple(int(s) if s is not None else int(d) for s, d in zip(size, spatial))
    if min(size) < 1:
        raise ValueError(f"{where}: output_size must be positive, got {output_size!r}")
    return size


def adaptive_avg_pool2d(x, output_size):
    """Average (N, C, H, W) down to ``output_size`` (int or pair; None keeps that axis); see the Function."""
    _check_input(x, 4, "adaptive_avg_pool2d", "(N, C, H, W)")
    return AdaptiveAvgPool2d.apply(x, output_size=_adaptive_size(x, output_size, 2, "adaptive_avg_pool2d"))


def adaptive_avg_pool1d(x, output_size):
    """Average (N, C, L) down to ``output_size`` positions (PyTorch's bins)."""
    _check_input(x, 3, "adaptive_avg_pool1d", "(N, C, L)")
    size = _adaptive_size(x, output_size, 1, "adaptive_avg_pool1d")
    from . import reshape

    n, c, length = _data(x).shape
    y = AdaptiveAvgPool2d.apply(reshape(x, (n, c, 1, length)), output_size=(1,) + size)
    return reshape(y, (n, c, size[0]))


def adaptive_max_pool2d(x, output_size):
    """Max of (N, C, H, W) over PyTorch's adaptive bins; see :class:`AdaptiveMaxPool2d`."""
    _check_input(x, 4, "adaptive_max_pool2d", "(N, C, H, W)")
    return AdaptiveMaxPool2d.apply(x, output_size=_adaptive_size(x, output_size, 2, "adaptive_max_pool2d"))


# ----- resizing -----------------------------------------------------------------------------------
class UpsampleNearest(Function):
    """y[..., i, j] = x[..., src_h(i), src_w(j)], src(i) = min(⌊i·scale⌋, size − 1) per spatial axis.

    ``scale`` is in/out (or 1/scale_factor when one was given, as PyTorch does). The derivative adds
    each ∂L/∂y entry to the source it was copied from: a segment sum (``add.reduceat``) per axis.
    """

    def forward(self, x, index=()):
        self.index, self.shape = index, x.shape
        y = x
        for axis, ind in enumerate(index, start=2):
            y = xp.take(y, ind, axis=axis)
        return y

    def backward(self, g):
        for axis in range(len(self.index) + 1, 1, -1):
            ind = self.index[axis - 2]
            size = self.shape[axis]
            # ind is non-decreasing: sum each run of equal sources, then place the runs
            starts = xp.flatnonzero(xp.r_[True, ind[1:] != ind[:-1]])
            sums = xp.add.reduceat(g, starts, axis=axis)
            shape = list(g.shape)
            shape[axis] = size
            out = xp.zeros(shape, dtype=g.dtype)
            where = [slice(None)] * g.ndim
            where[axis] = ind[starts]
            out[tuple(where)] = sums
            g = out
        return g


_RESIZE_MODES = {"linear": (1, "linear"), "bilinear": (2, "linear"), "trilinear": (3, "linear"),
                 "bicubic": (2, "cubic")}


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial axes of (N, C, L), (N, C, H, W) or (N, C, D, H, W), PyTorch's rules.

    Give ``size`` (output size) or ``scale_factor`` (output = ⌊input · factor⌋). ``mode``:
    "nearest" (output pixel i copies input pixel min(⌊i·r⌋, size − 1), r = 1/scale_factor or
    in/out), "linear" (3-D), "bilinear" / "bicubic" (4-D), "trilinear" (5-D); ``align_corners``
    (for the interpolating modes, default False) maps the corner pixels onto each other. See
    :mod:`shendu.ops.resample` for the interpolation weights.
    """
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not available in shendu")
    shape = tuple(_data(x).shape)
    if mode == "nearest":
        if len(shape) not in (3, 4):
            raise ShapeError(f"interpolate: mode='nearest' expects a 3-D (N, C, L) or 4-D (N, C, H, W) "
                             f"input, got shape {shape}")
        if align_corners is not None:
            raise ValueError("interpolate: align_corners applies only to the linear, bilinear, bicubic and "
                             "trilinear modes")
    elif mode in _RESIZE_MODES:
        need = _RESIZE_MODES[mode][0] + 2
        if len(shape) != need:
            raise ShapeError(f"interpolate: got a {len(shape)}-D input of shape {shape}, but mode={mode!r} "
                             f"needs a {need}-D input")
    else:
        raise ValueError(f"interpolate: mode must be one of 'nearest', 'linear', 'bilinear', 'bicubic', "
                         f"'trilinear', got {mode!r}")
    nd = len(shape) - 2
    spatial = shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        out = _ntuple(size, nd, "size", "interpolate")
        scales = [None] * nd
    else:
        factors = (float(scale_factor),) * nd if isinstance(scale_factor, numbers.Real) \
            else tuple(float(f) for f in scale_factor)
        if len(factors) != nd:
            raise ValueError(f"interpolate: scale_factor must be a number or a tuple of {nd}")
        out = tuple(int(math.floor(i * f)) for i, f in zip(spatial, factors))
        scales = [None if recompute_scale_factor else 1.0 / f for f in factors]
    if min(out) < 1:
        raise ValueError(f"interpolate: the output size {out} must be positive")
    if mode != "nearest":
        from .resample import Resize, resize_matrix

        kind = _RESIZE_MODES[mode][1]
        mats = tuple(resize_matrix(i, o, kind, bool(align_corners), s)
                     for i, o, s in zip(spatial, out, scales))
        return Resize.apply(x, mats=mats)
    ratios = [i / o if s is None else s for i, o, s in zip(spatial, out, scales)]
    index = tuple(xp.minimum(xp.floor(xp.arange(o, dtype=xp.float32) * xp.float32(r)).astype(xp.int64), i - 1)
                  for o, r, i in zip(out, ratios, spatial))
    return UpsampleNearest.apply(x, index=index)


def upsample(x, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Alias of :func:`interpolate` (PyTorch's older name)."""
    return interpolate(x, size, scale_factor, mode, align_corners)
