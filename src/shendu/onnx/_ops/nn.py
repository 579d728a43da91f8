"""Layers: Gemm, MatMul, Conv, ConvTranspose, MaxPool, AveragePool, Global pools, BatchNormalization,
LayerNormalization, InstanceNormalization.

Convolutions and pools run on shendu's 2-D Functions (a 1-D input is viewed as height 1). ONNX pads
may differ on the two sides of an axis, so they are passed as (begin, end) pairs, or, for pools,
applied before the window; ``auto_pad=SAME_UPPER`` puts the odd pad at the end, SAME_LOWER at the start:
  total = max((⌈in/s⌉ − 1)·s + d·(k − 1) + 1 − in, 0).
Gemm: Y = α·A'·B' + β·C with A' = Aᵀ if transA (B' likewise).
BatchNormalization (inference): Y = (X − mean)/√(var + ε)·scale + B per channel (axis 1).
LayerNormalization: normalise over axes ``axis`` … last: Y = (X − μ)/√(σ² + ε)·scale + B.
"""
import itertools

import numpy as np

from ... import ops
from ...ops import conv as _conv
from . import register
from ._common import any_tensor, arr, is_tensor, tensor


@register("MatMul", 1)
def _matmul(ctx, inputs, attrs):
    a, b = inputs
    if not any_tensor(a, b):
        return np.matmul(arr(a), arr(b))
    return ops.matmul(tensor(a), tensor(b))


@register("Gemm", 1)
def _gemm(ctx, inputs, attrs):
    a, b = tensor(inputs[0]), tensor(inputs[1])
    c = inputs[2] if len(inputs) > 2 else None
    if attrs.get("transA", 0):
        a = ops.transpose(a, (1, 0))
    if attrs.get("transB", 0):
        b = ops.transpose(b, (1, 0))
    y = ops.matmul(a, b)
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    if alpha != 1.0:
        y = ops.mul(y, alpha)
    if c is not None and beta != 0.0:
        c = tensor(c)
        y = ops.add(y, c if beta == 1.0 else ops.mul(c, beta))
    return y


# ----- geometry --------------------------------------------------------------------------------------
def _spatial(attrs, key, n, default):
    v = attrs.get(key)
    return list(v) if v else [default] * n


def _auto_pads(attrs, sizes, kernel, strides, dilations):
    """(begin, end) pads per spatial axis from ``auto_pad`` / ``pads``."""
    n = len(kernel)
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pairs = []
        for size, k, s, d in zip(sizes, kernel, strides, dilations):
            total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
            small = total // 2
            pairs.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
        return pairs
    if auto == "VALID":
        return [(0, 0)] * n
    pads = attrs.get("pads") or [0] * (2 * n)
    return [(pads[i], pads[i + n]) for i in range(n)]


def _as_2d(x, what):
    """(N, C, L) → (N, C, 1, L); (N, C, H, W) unchanged. Returns the Tensor and whether it was 1-D."""
    nd = arr(x).ndim
    if nd == 3:
        return ops.reshape(x, arr(x).shape[:2] + (1,) + arr(x).shape[2:]), True
    if nd == 4:
        return x, False
    raise NotImplementedError(f"{what}: only 1-D and 2-D spatial inputs are supported, got a {nd}-D input "
                              f"of shape {arr(x).shape}")


def _from_2d(y, was_1d):
    return ops.reshape(y, arr(y).shape[:2] + arr(y).shape[3:]) if was_1d else y


def _pair(values, was_1d, fill):
    return (fill,) + tuple(values) if was_1d else tuple(values)


@register("Conv", 1)
def _conv_op(ctx, inputs, attrs):
    x, w = tensor(inputs[0]), tensor(inputs[1])
    b = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    kernel = list(arr(w).shape[2:])
    n = len(kernel)
    strides, dilations = _spatial(attrs, "strides", n, 1), _spatial(attrs, "dilations", n, 1)
    pads = _auto_pads(attrs, arr(x).shape[2:], kernel, strides, dilations)
    if n not in (1, 2):
        return _conv_nd(x, w, b, strides, dilations, pads, attrs.get("group", 1))
    x2, one = _as_2d(x, "Conv")
    w2 = ops.reshape(w, arr(w).shape[:2] + (1,) + arr(w).shape[2:]) if one else w
    pads2 = (((0, 0),) if one else ()) + tuple(tuple(p) for p in pads)
    y = _conv.Conv2d.apply(x2, w2, None if b is None else tensor(b), stride=_pair(strides, one, 1),
                           padding=pads2, dilation=_pair(dilations, one, 1), groups=attrs.get("group", 1))
    return _from_2d(y, one)


@register("ConvTranspose", 1)
def _conv_transpose(ctx, inputs, attrs):
    x, w = tensor(inputs[0]), tensor(inputs[1])
    b = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    kernel = list(arr(w).shape[2:])
    n = len(kernel)
    sizes = arr(x).shape[2:]
    strides, dilations = _spatial(attrs, "strides", n, 1), _spatial(attrs, "dilations", n, 1)
    out_pad = _spatial(attrs, "output_padding", n, 0)
    full = [(size - 1) * s + d * (k - 1) + 1 for size, s, d, k in zip(sizes, strides, dilations, kernel)]
    auto = attrs.get("auto_pad", "NOTSET")
    out_shape = attrs.get("output_shape")
    if out_shape or auto in ("SAME_UPPER", "SAME_LOWER"):
        out_shape = list(out_shape)[-n:] if out_shape else [size * s for size, s in zip(sizes, strides)]
        pads = []
        for f, op, o in zip(full, out_pad, out_shape):
            total = f + op - o
            half = total // 2
            if total < 0:            # a larger output than the kernel reaches: zeros at the end
                pads.append((0, total))
            else:
                pads.append((total - half, half) if auto == "SAME_LOWER" else (half, total - half))
    elif auto == "VALID":
        pads = [(0, 0)] * n
    else:
        p = attrs.get("pads") or [0] * (2 * n)
        pads = [(p[i], p[i + n]) for i in range(n)]
    if n in (1, 2):
        x2, one = _as_2d(x, "ConvTranspose")
        w2 = ops.reshape(w, arr(w).shape[:2] + (1,) + arr(w).shape[2:]) if one else w
        y = _conv.ConvTranspose2d.apply(x2, w2, None, stride=_pair(strides, one, 1), padding=(0, 0),
                                        output_padding=(0, 0), groups=attrs.get("group", 1),
                                        dilation=_pair(dilations, one, 1))
        y = _from_2d(y, one)
    else:
        y = _conv_transpose_nd(x, w, strides, dilations, attrs.get("group", 1))
    grow = [max(op - e, 0) for op, (_, e) in zip(out_pad, pads)]
    if any(grow):
        y = ops.pad(y, [(0, 0), (0, 0)] + [(0, g) for g in grow], value=0.0)
    key = (slice(None), slice(None)) + tuple(slice(bgn, f + op - end)
                                             for f, op, (bgn, end) in zip(full, out_pad, pads))
    y = ops.getitem(y, key)
    if b is not None:
        y = ops.add(y, ops.reshape(tensor(b), (1, -1) + (1,) * n))
    return y


# ----- any number of spatial axes: one slice of the input per kernel offset ----------------------------
def _offsets(kernel, strides, dilations, out):
    """(offset, key) for each kernel offset: key slices the padded input at i·s + offset·d, i < out."""
    for off in itertools.product(*[range(k) for k in kernel]):
        yield off, (slice(None), slice(None)) + tuple(
            slice(o * d, o * d + s * (m - 1) + 1, s) for o, d, s, m in zip(off, dilations, strides, out))


def _out_sizes(sizes, kernel, strides, dilations, pads):
    return [(n + b + e - d * (k - 1) - 1) // s + 1
            for n, k, s, d, (b, e) in zip(sizes, kernel, strides, dilations, pads)]


def _conv_nd(x, w, b, strides, dilations, pads, group):
    """Y[n, m, i…] = b[m] + Σ_offsets X̃[n, group(m), i·s + offset·d] · W[m, :, offset]: one matrix product
    per kernel offset (and group), for any number of spatial axes."""
    nd = arr(x).ndim - 2
    kernel = arr(w).shape[2:]
    xp_ = ops.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads], value=0.0) if any(map(any, pads)) else x
    out = _out_sizes(arr(x).shape[2:], kernel, strides, dilations, pads)
    cg, mg = arr(x).shape[1] // group, arr(w).shape[0] // group
    channels_last = (0,) + tuple(range(2, 2 + nd)) + (1,)
    ys = []
    for g in range(group):
        xg = ops.getitem(xp_, (slice(None), slice(g * cg, (g + 1) * cg)))
        wg = ops.getitem(w, slice(g * mg, (g + 1) * mg))
        acc = None
        for off, key in _offsets(kernel, strides, dilations, out):
            xs = ops.transpose(ops.getitem(xg, key), channels_last)                  # (N, *out, cg)
            term = ops.matmul(xs, ops.transpose(ops.getitem(wg, (slice(None), slice(None)) + off), (1, 0)))
            acc = term if acc is None else ops.add(acc, term)
        ys.append(acc)
    y = ys[0] if group == 1 else ops.concatenate(ys, axis=-1)
    if b is not None:
        y = ops.add(y, tensor(b))
    return ops.transpose(y, (0, nd + 1) + tuple(range(1, nd + 1)))


def _conv_transpose_nd(x, w, strides, dilations, group):
    """The full transposed convolution (no pads, no bias) as a convolution of the stride-dilated input
    with the flipped kernel: spread X to X̂[i·s] = X[i], pad d·(k − 1) each side, correlate."""
    nd = arr(x).ndim - 2
    shape = arr(x).shape
    kernel = arr(w).shape[2:]
    spread = np.zeros(shape[:2] + tuple((n - 1) * s + 1 for n, s in zip(shape[2:], strides)), arr(x).dtype)
    z = ops.clone(tensor(spread))
    z[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in strides)] = x
    cin, mg = arr(w).shape[:2]
    wg = ops.reshape(w, (group, cin // group, mg) + tuple(kernel))
    wg = ops.transpose(wg, (0, 2, 1) + tuple(range(3, 3 + nd)))
    wf = ops.reshape(wg, (group * mg, cin // group) + tuple(kernel))
    wf = ops.getitem(wf, (slice(None), slice(None)) + (slice(None, None, -1),) * nd)
    pads = [(d * (k - 1), d * (k - 1)) for k, d in zip(kernel, dilations)]
    return _conv_nd(z, wf, None, [1] * nd, dilations, pads, group)


def _pool_nd(x, kind, kernel, strides, dilations, full_pads, pads, include, want_indices, storage_order):
    """Max or average pooling over any number of spatial axes (and AveragePool with dilations)."""
    sizes = arr(x).shape[2:]
    width = [(0, 0), (0, 0)] + [tuple(p) for p in full_pads]
    fill = -np.inf if kind == "MaxPool" else 0.0
    xp_ = ops.pad(x, width, value=fill) if any(map(any, full_pads)) else x
    out = _out_sizes(sizes, kernel, strides, dilations, full_pads)
    keys = [key for _, key in _offsets(kernel, strides, dilations, out)]
    stacked = ops.stack([ops.getitem(xp_, key) for key in keys], axis=0)
    if kind == "LpPool":
        return ops.sum(stacked, axis=0)
    if kind == "MaxPool":
        y = ops.max(stacked, axis=0)
        if not want_indices:
            return y
        shape = arr(x).shape
        flat = np.arange(arr(x).size, dtype=np.int64).reshape(shape)
        if storage_order:
            lead = np.arange(shape[0] * shape[1], dtype=np.int64).reshape(shape[:2] + (1,) * len(sizes))
            spatial = np.arange(int(np.prod(sizes)), dtype=np.int64).reshape(sizes[::-1]).T
            flat = lead * int(np.prod(sizes)) + spatial
        flat = np.pad(flat, width, constant_values=-1)
        where = np.argmax(arr(stacked), axis=0)[None]
        return y, np.take_along_axis(np.stack([flat[key] for key in keys]), where, axis=0)[0]
    mask = np.zeros((1, 1) + arr(xp_).shape[2:], dtype=arr(x).dtype)
    region = [(0, pb + n + pe) if include else (pb, pb + n)
              for n, (pb, _), (_, pe) in zip(sizes, full_pads, pads)]
    mask[(slice(None), slice(None)) + tuple(slice(a, b) for a, b in region)] = 1
    counts = np.sum(np.stack([mask[key] for key in keys]), axis=0)
    return ops.div(ops.sum(stacked, axis=0), counts)


def _pool_pads(attrs, sizes, kernel, strides, dilations, ceil_mode):
    """Begin pads and end pads (explicit end pad + what ceil_mode adds) and the explicit pads."""
    pads = _auto_pads(attrs, sizes, kernel, strides, dilations)
    total = []
    for size, k, s, d, (pb, pe) in zip(sizes, kernel, strides, dilations, pads):
        span = size + pb + pe - d * (k - 1) - 1
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= size + pb:
            out -= 1
        need = (out - 1) * s + d * (k - 1) + 1 - (size + pb)
        total.append((pb, max(need, 0)))
    return total, pads


def _pool(ctx, inputs, attrs, kind):
    x = tensor(inputs[0])
    n = arr(x).ndim - 2
    kernel = list(attrs["kernel_shape"])
    strides = _spatial(attrs, "strides", n, 1)
    dilations = _spatial(attrs, "dilations", n, 1)
    ceil_mode = bool(attrs.get("ceil_mode", 0))
    sizes = arr(x).shape[2:]
    full_pads, pads = _pool_pads(attrs, sizes, kernel, strides, dilations, ceil_mode)
    want_indices = ctx.n_outputs > 1 and kind == "MaxPool"
    if kind == "LpPool":
        p = attrs.get("p", 2)
        powered = ops.pow(ops.abs(x), p)
        total = _pool_nd(powered, kind, kernel, strides, dilations, full_pads, pads, 1, False, 0)
        return ops.pow(total, 1.0 / p)
    if n not in (1, 2) or want_indices or (kind == "AveragePool" and any(d != 1 for d in dilations)):
        return _pool_nd(x, kind, kernel, strides, dilations, full_pads, pads,
                        attrs.get("count_include_pad", 0), want_indices, attrs.get("storage_order", 0))
    x2, one = _as_2d(x, kind)
    width = [(0, 0), (0, 0)] + ([(0, 0)] if one else []) + [tuple(p) for p in full_pads]
    k2, s2, d2 = _pair(kernel, one, 1), _pair(strides, one, 1), _pair(dilations, one, 1)
    if kind == "MaxPool":
        xp_ = ops.pad(x2, width, value=-np.inf) if any(a or b for a, b in full_pads) else x2
        y = _conv.MaxPool2d.apply(xp_, kernel_size=k2, stride=s2, padding=(0, 0), dilation=d2)
        return _from_2d(y, one)
    xp_ = ops.pad(x2, width, value=0.0) if any(a or b for a, b in full_pads) else x2
    sums = _conv.AvgPool2d.apply(xp_, kernel_size=k2, stride=s2, padding=(0, 0), divisor_override=1)
    # divisor: window cells inside the input (count_include_pad=0) or inside input + explicit pads
    mask = np.zeros((1, 1) + arr(xp_).shape[2:], dtype=arr(x).dtype)
    include = attrs.get("count_include_pad", 0)
    region = [(0, 1)] if one else []
    for size, (pb, _), (_, pe) in zip(sizes, full_pads, pads):
        region.append((0, pb + size + pe) if include else (pb, pb + size))
    mask[(slice(None), slice(None)) + tuple(slice(a, b) for a, b in region)] = 1
    counts = _conv.AvgPool2d.apply(tensor(mask), kernel_size=k2, stride=s2, padding=(0, 0),
                                   divisor_override=1).array
    return _from_2d(ops.div(sums, counts), one)


@register("MaxPool", 1)
def _maxpool(ctx, inputs, attrs):
    out = _pool(ctx, inputs, attrs, "MaxPool")
    if isinstance(out, tuple):
        return out if is_tensor(inputs[0]) else (out[0].array, out[1])
    return out if is_tensor(inputs[0]) else out.array


@register("AveragePool", 1)
def _avgpool(ctx, inputs, attrs):
    out = _pool(ctx, inputs, attrs, "AveragePool")
    return out if is_tensor(inputs[0]) else out.array


@register("GlobalAveragePool", 1)
def _gap(ctx, inputs, attrs):
    x = tensor(inputs[0])
    return ops.mean(x, axis=tuple(range(2, arr(x).ndim)), keepdims=True)


@register("GlobalMaxPool", 1)
def _gmp(ctx, inputs, attrs):
    x = tensor(inputs[0])
    return ops.max(x, axis=tuple(range(2, arr(x).ndim)), keepdims=True)


def _channel(v, nd):
    return ops.reshape(tensor(v), (1, -1) + (1,) * (nd - 2))


@register("BatchNormalization", 1)
def _batchnorm(ctx, inputs, attrs):
    x, scale, bias, mean, var = inputs[:5]
    x = tensor(x)
    nd = arr(x).ndim
    eps = attrs.get("epsilon", 1e-5)
    training = attrs.get("training_mode", 0) if ctx.opset >= 14 else 0
    if training:
        axes = (0,) + tuple(range(2, nd))
        mu = ops.mean(x, axis=axes, keepdims=True)
        centred = ops.sub(x, mu)
        sigma2 = ops.mean(ops.mul(centred, centred), axis=axes, keepdims=True)
        y = ops.div(centred, ops.sqrt(ops.add(sigma2, eps)))
        y = ops.add(ops.mul(y, _channel(scale, nd)), _channel(bias, nd))
        m = attrs.get("momentum", 0.9)
        new_mean = arr(mean) * m + arr(mu).reshape(-1) * (1 - m)
        new_var = arr(var) * m + arr(sigma2).reshape(-1) * (1 - m)
        return (y, new_mean.astype(arr(mean).dtype), new_var.astype(arr(var).dtype))[:ctx.n_outputs]
    inv = ops.div(tensor(scale), ops.sqrt(ops.add(tensor(var), eps)))  # scale / √(var + ε)
    shift = ops.sub(tensor(bias), ops.mul(tensor(mean), inv))
    return ops.add(ops.mul(x, _channel(inv, nd)), _channel(shift, nd))


@register("LayerNormalization", 17)
def _layernorm(ctx, inputs, attrs):
    x = tensor(inputs[0])
    scale = inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    nd = arr(x).ndim
    axis = attrs.get("axis", -1) % nd
    eps = attrs.get("epsilon", 1e-5)
    axes = tuple(range(axis, nd))
    mu = ops.mean(x, axis=axes, keepdims=True)
    centred = ops.sub(x, mu)
    sigma2 = ops.mean(ops.mul(centred, centred), axis=axes, keepdims=True)
    inv_std = ops.div(1.0, ops.sqrt(ops.add(sigma2, eps)))
    y = ops.mul(ops.mul(centred, inv_std), tensor(scale))
    if bias is not None:
        y = ops.add(y, tensor(bias))
    if ctx.n_outputs == 1:
        return y
    return (y, mu, inv_std)[:ctx.n_outputs]


@register("InstanceNormalization", 6)
def _instancenorm(ctx, inputs, attrs):
    x, scale, bias = tensor(inputs[0]), inputs[1], inputs[2]
    nd = arr(x).ndim
    axes = tuple(range(2, nd))
    mu = ops.mean(x, axis=axes, keepdims=True)
    centred = ops.sub(x, mu)
    sigma2 = ops.mean(ops.mul(centred, centred), axis=axes, keepdims=True)
    y = ops.div(centred, ops.sqrt(ops.add(sigma2, attrs.get("epsilon", 1e-5))))
    return ops.add(ops.mul(y, _channel(scale, nd)), _channel(bias, nd))


@register("RMSNormalization", 23)
def _rmsnorm(ctx, inputs, attrs):
    """Y = X / √(mean(X², axes axis … last) + ε) · scale."""
    x, scale = tensor(inputs[0]), inputs[1]
    nd = arr(x).ndim
    axes = tuple(range(attrs.get("axis", -1) % nd, nd))
    ms = ops.mean(ops.mul(x, x), axis=axes, keepdims=True)
    return ops.mul(ops.div(x, ops.sqrt(ops.add(ms, attrs.get("epsilon", 1e-5)))), tensor(scale))


@register("LpNormalization", 1)
def _lpnorm(ctx, inputs, attrs):
    """Y = X / ‖X‖_p along ``axis`` (p = 1 or 2)."""
    x = tensor(inputs[0])
    axis = attrs.get("axis", -1)
    if attrs.get("p", 2) == 1:
        norm = ops.sum(ops.abs(x), axis=axis, keepdims=True)
    else:
        norm = ops.sqrt(ops.sum(ops.mul(x, x), axis=axis, keepdims=True))
    zero = arr(norm) == 0                  # an all-zero slice stays zero
    out = ops.div(x, ops.where(zero, ops.add(ops.mul(norm, 0.0), 1.0), norm))
    return out if is_tensor(inputs[0]) else out.array


@register("LpPool", 11)
def _lppool(ctx, inputs, attrs):
    """Y = (Σ_window |X|ᵖ)^{1/p} (zero padding)."""
    out = _pool(ctx, inputs, attrs, "LpPool")
    return out if is_tensor(inputs[0]) else out.array


@register("GlobalLpPool", 2)
def _glppool(ctx, inputs, attrs):
    x = tensor(inputs[0])
    p = attrs.get("p", 2)
    axes = tuple(range(2, arr(x).ndim))
    return ops.pow(ops.sum(ops.pow(ops.abs(x), p), axis=axes, keepdims=True), 1.0 / p)


@register("LRN", 1)
def _lrn(ctx, inputs, attrs):
    """Y = X / (bias + α/size · Σ_{c' near c} X²)^β over ``size`` neighbouring channels."""
    x = tensor(inputs[0])
    size = attrs["size"]
    alpha, beta, bias = attrs.get("alpha", 1e-4), attrs.get("beta", 0.75), attrs.get("bias", 1.0)
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    sq = ops.mul(x, x)
    nd = arr(x).ndim
    padded = ops.pad(sq, [(0, 0), (before, after)] + [(0, 0)] * (nd - 2), value=0.0)
    c = arr(x).shape[1]
    total = None
    for k in range(size):
        part = ops.getitem(padded, (slice(None), slice(k, k + c)))
        total = part if total is None else ops.add(total, part)
    return ops.div(x, ops.pow(ops.add(ops.mul(total, alpha / size), bias), beta))


@register("MeanVarianceNormalization", 9)
def _mvn(ctx, inputs, attrs):
    """Y = (X − E[X]) / √(E[(X − E[X])²]) over ``axes`` (default 0, 2, 3)."""
    x = tensor(inputs[0])
    axes = tuple(a % arr(x).ndim for a in attrs.get("axes", [0, 2, 3]))
    centred = ops.sub(x, ops.mean(x, axis=axes, keepdims=True))
    var = ops.mean(ops.mul(centred, centred), axis=axes, keepdims=True)
    return ops.div(centred, ops.add(ops.sqrt(var), 1e-9))


def _group_norm(ctx, inputs, attrs, per_channel):
    x, scale, bias = tensor(inputs[0]), inputs[1], inputs[2]
    g = attrs["num_groups"]
    shape = arr(x).shape
    n, c = shape[:2]
    grouped = ops.reshape(x, (n, g, -1))
    mu = ops.mean(grouped, axis=2, keepdims=True)
    centred = ops.sub(grouped, mu)
    var = ops.mean(ops.mul(centred, centred), axis=2, keepdims=True)
    y = ops.reshape(ops.div(centred, ops.sqrt(ops.add(var, attrs.get("epsilon", 1e-5)))), shape)
    nd = len(shape)
    if not per_channel:          # opset 18: one scale and bias per group
        scale = ops.reshape(ops.broadcast_to(ops.reshape(tensor(scale), (g, 1)), (g, c // g)), (c,))
        bias = ops.reshape(ops.broadcast_to(ops.reshape(tensor(bias), (g, 1)), (g, c // g)), (c,))
    return ops.add(ops.mul(y, _channel(scale, nd)), _channel(bias, nd))


@register("GroupNormalization", 18, 20)
def _groupnorm_18(ctx, inputs, attrs):
    return _group_norm(ctx, inputs, attrs, per_channel=False)


@register("GroupNormalization", 21)
def _groupnorm_21(ctx, inputs, attrs):
    """Y = (X − μ_g)/√(σ²_g + ε)·scale_c + bias_c, statistics over each group of channels."""
    return _group_norm(ctx, inputs, attrs, per_channel=True)
