"""Indexing ops: GatherND, ScatterND, ScatterElements, TopK, CumSum, Trilu, Compress, ReverseSequence,
SpaceToDepth, DepthToSpace, EyeLike.

Indices are always constants (NumPy); the data stay Tensors, so gradients flow to the gathered or
scattered values (ScatterND/ScatterElements without a reduction write into a copy, differentiably).
"""
import numpy as np

from ... import ops
from . import register
from ._common import DTYPES, any_tensor, arr, is_tensor, tensor


def _nd_key(shape, indices, batch_dims):
    """The advanced-indexing key that picks data[b..., indices[b..., :]] for GatherND/ScatterND."""
    indices = arr(indices).astype(np.int64)
    q = indices.shape[-1]
    lead = indices.shape[:-1]
    key = []
    for j in range(batch_dims):
        shape_j = [1] * len(lead)
        shape_j[j] = lead[j]
        key.append(np.broadcast_to(np.arange(lead[j]).reshape(shape_j), lead))
    for i in range(q):
        idx = indices[..., i]
        key.append(np.where(idx < 0, idx + shape[batch_dims + i], idx))
    return tuple(key)


@register("GatherND", 11)
def _gather_nd(ctx, inputs, attrs):
    x, idx = inputs
    key = _nd_key(arr(x).shape, idx, attrs.get("batch_dims", 0))
    return ops.getitem(x, key) if is_tensor(x) else arr(x)[key]


_NP_REDUCE = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


@register("ScatterND", 11)
def _scatter_nd(ctx, inputs, attrs):
    x, idx, upd = inputs
    key = _nd_key(arr(x).shape, idx, 0)
    reduction = attrs.get("reduction", "none")
    if reduction == "none" and any_tensor(x, upd):
        out = ops.clone(tensor(x))
        out[key] = tensor(upd)
        return out
    out = arr(x).copy()
    if reduction == "none":
        out[key] = arr(upd)
    else:
        _NP_REDUCE[reduction].at(out, key, arr(upd))
    return out


@register("ScatterElements", 11)
def _scatter_elements(ctx, inputs, attrs):
    x, idx, upd = inputs
    shape = arr(x).shape
    axis = attrs.get("axis", 0) % len(shape)
    idx = arr(idx).astype(np.int64)
    idx = np.where(idx < 0, idx + shape[axis], idx)
    key = tuple(idx if a == axis else np.arange(idx.shape[a]).reshape([-1 if b == a else 1
                                                                        for b in range(idx.ndim)])
                for a in range(idx.ndim))
    key = tuple(np.broadcast_to(k, idx.shape) for k in key)
    reduction = attrs.get("reduction", "none")
    if reduction == "none" and any_tensor(x, upd):
        out = ops.clone(tensor(x))
        out[key] = tensor(upd)
        return out
    out = arr(x).copy()
    if reduction == "none":
        out[key] = arr(upd)
    else:
        _NP_REDUCE[reduction].at(out, key, arr(upd))
    return out


register("Scatter", 9, 10)(_scatter_elements)


@register("TopK", 10)
def _topk(ctx, inputs, attrs):
    x, k = inputs[0], int(arr(inputs[1]).reshape(-1)[0])
    v = arr(x)
    axis = attrs.get("axis", -1) % v.ndim
    largest = attrs.get("largest", 1)
    key = v.astype(np.float64) if v.dtype.kind == "u" else v
    order = np.argsort(-key if largest else key, axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis).astype(np.int64)
    values = ops.gather(x, axis, idx) if is_tensor(x) else np.take_along_axis(v, idx, axis=axis)
    return values, idx


@register("CumSum", 11)
def _cumsum(ctx, inputs, attrs):
    x = inputs[0]
    axis = int(arr(inputs[1]).reshape(-1)[0]) % arr(x).ndim
    t = tensor(x)
    if attrs.get("reverse", 0):
        t = ops.getitem(t, (slice(None),) * axis + (slice(None, None, -1),))
    out = t.cumsum(axis)
    if attrs.get("exclusive", 0):
        out = ops.sub(out, t)
    if attrs.get("reverse", 0):
        out = ops.getitem(out, (slice(None),) * axis + (slice(None, None, -1),))
    return out if is_tensor(x) else out.array.astype(arr(x).dtype)


@register("Trilu", 14)
def _trilu(ctx, inputs, attrs):
    x = inputs[0]
    k = int(arr(inputs[1]).reshape(-1)[0]) if len(inputs) > 1 and inputs[1] is not None else 0
    n, m = arr(x).shape[-2:]
    ones = np.ones((n, m), dtype=bool)
    mask = np.triu(ones, k) if attrs.get("upper", 1) else np.tril(ones, k)
    if not is_tensor(x):
        return np.where(mask, arr(x), np.zeros((), arr(x).dtype))
    return ops.where(mask, x, ops.mul(x, 0.0))


@register("Compress", 9)
def _compress(ctx, inputs, attrs):
    x, cond = inputs
    cond = arr(cond).astype(bool)
    axis = attrs.get("axis")
    if axis is None:
        flat = ops.reshape(x, (-1,)) if is_tensor(x) else arr(x).reshape(-1)
        x, axis = flat, 0
    axis %= arr(x).ndim
    keep = np.nonzero(cond[:arr(x).shape[axis]])[0]
    key = (slice(None),) * axis + (keep,)
    return ops.getitem(x, key) if is_tensor(x) else arr(x)[key]


@register("ReverseSequence", 10)
def _reverse_sequence(ctx, inputs, attrs):
    x, lens = inputs
    lens = arr(lens).astype(np.int64)
    time_axis, batch_axis = attrs.get("time_axis", 0), attrs.get("batch_axis", 1)
    shape = arr(x).shape
    T, B = shape[time_axis], shape[batch_axis]
    t = np.arange(T).reshape(-1, 1)
    src = np.where(t < lens, lens - 1 - t, t)               # (T, B): time index to read
    grids = list(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"))
    tb = src if time_axis < batch_axis else src.T
    expand = [slice(None) if a in (time_axis, batch_axis) else None for a in range(len(shape))]
    grids[time_axis] = np.broadcast_to(tb[tuple(expand)], shape)
    del B
    key = tuple(grids)
    return ops.getitem(x, key) if is_tensor(x) else arr(x)[key]


def _reshape(x, shape):
    return ops.reshape(x, shape) if is_tensor(x) else arr(x).reshape(shape)


def _transpose(x, perm):
    return ops.transpose(x, perm) if is_tensor(x) else np.transpose(arr(x), perm)


@register("SpaceToDepth", 1)
def _space_to_depth(ctx, inputs, attrs):
    x = inputs[0]
    b = attrs["blocksize"]
    n, c, h, w = arr(x).shape
    y = _reshape(x, (n, c, h // b, b, w // b, b))
    crd = attrs.get("mode", "DCR") == "CRD"
    y = _transpose(y, (0, 1, 3, 5, 2, 4) if crd else (0, 3, 5, 1, 2, 4))
    return _reshape(y, (n, c * b * b, h // b, w // b))


@register("DepthToSpace", 1)
def _depth_to_space(ctx, inputs, attrs):
    x = inputs[0]
    b = attrs["blocksize"]
    n, c, h, w = arr(x).shape
    if attrs.get("mode", "DCR") == "DCR":
        y = _transpose(_reshape(x, (n, b, b, c // (b * b), h, w)), (0, 3, 4, 1, 5, 2))
    else:
        y = _transpose(_reshape(x, (n, c // (b * b), b, b, h, w)), (0, 1, 4, 2, 5, 3))
    return _reshape(y, (n, c // (b * b), h * b, w * b))


@register("EyeLike", 9)
def _eye_like(ctx, inputs, attrs):
    v = arr(inputs[0])
    dtype = DTYPES[attrs["dtype"]] if "dtype" in attrs else v.dtype
    return np.eye(v.shape[0], v.shape[1], k=attrs.get("k", 0), dtype=dtype)


@register("CumProd", 26)
def _cumprod(ctx, inputs, attrs):
    x = inputs[0]
    axis = int(arr(inputs[1]).reshape(-1)[0]) % arr(x).ndim
    t = tensor(x)
    flip = (slice(None),) * axis + (slice(None, None, -1),)
    if attrs.get("reverse", 0):
        t = ops.getitem(t, flip)
    if attrs.get("exclusive", 0):        # shift by one: a leading 1, the last element dropped
        width = [(0, 0)] * arr(t).ndim
        width[axis] = (1, 0)
        t = ops.getitem(ops.pad(t, width, value=1.0), (slice(None),) * axis + (slice(0, -1),))
    out = t.cumprod(axis)
    if attrs.get("reverse", 0):
        out = ops.getitem(out, flip)
    return out if is_tensor(x) else out.array.astype(arr(x).dtype)


@register("Unique", 11)
def _unique(ctx, inputs, attrs):
    v = arr(inputs[0])
    axis = attrs.get("axis")
    values, first, inverse, counts = np.unique(v, return_index=True, return_inverse=True, return_counts=True,
                                               axis=axis)
    if not attrs.get("sorted", 1):       # order of first occurrence
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        values = np.take(values, order, axis=0 if axis is None else axis)
        first, counts, inverse = first[order], counts[order], rank[inverse.reshape(-1)]
    return (values, first.astype(np.int64), inverse.reshape(-1).astype(np.int64), counts.astype(np.int64))


@register("CenterCropPad", 18)
def _center_crop_pad(ctx, inputs, attrs):
    x, shape = inputs[0], [int(v) for v in arr(inputs[1]).reshape(-1)]
    nd = arr(x).ndim
    axes = [a % nd for a in (attrs.get("axes") or range(nd))]
    for a, size in zip(axes, shape):
        n = arr(x).shape[a]
        if size < n:
            start = (n - size) // 2
            x = ops.getitem(x, (slice(None),) * a + (slice(start, start + size),)) if is_tensor(x) else \
                arr(x)[(slice(None),) * a + (slice(start, start + size),)]
        elif size > n:
            before = (size - n) // 2
            width = [(0, 0)] * nd
            width[a] = (before, size - n - before)
            x = ops.pad(x, width, value=0.0) if is_tensor(x) else np.pad(arr(x), width)
    return x


@register("Det", 11)
def _det(ctx, inputs, attrs):
    return np.linalg.det(arr(inputs[0])).astype(arr(inputs[0]).dtype)
