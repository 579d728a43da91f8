"""Shape and data-movement ops: Reshape, Transpose, Flatten, Concat, Split, Slice, Gather, Squeeze,
Unsqueeze, Expand, Tile, Pad, Shape, Size, Cast, Constant, ConstantOfShape, Range, Identity, Dropout.

Each keeps a Tensor a Tensor (so gradients flow through indexing and reshaping) and computes on
constants in NumPy. Axes and shapes moved from attributes to inputs at opset 13 (Squeeze, Unsqueeze,
Split), 10 (Slice), 11 (Pad) and 5 (Reshape); each meaning has its own registry entry.
"""
import numpy as np

from ... import ops
from . import register
from ._common import DTYPES, any_tensor, arr, dtype_of, ints, is_tensor, norm_axes, tensor


def _reshape_to(x, shape):
    return ops.reshape(x, shape) if is_tensor(x) else arr(x).reshape(shape)


@register("Reshape", 5)
def _reshape(ctx, inputs, attrs):
    x, shape = inputs[0], ints(inputs[1])
    in_shape = arr(x).shape
    if not attrs.get("allowzero", 0):
        shape = [in_shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return _reshape_to(x, tuple(shape))


@register("Transpose", 1)
def _transpose(ctx, inputs, attrs):
    x = inputs[0]
    nd = arr(x).ndim
    perm = attrs.get("perm") or list(reversed(range(nd)))
    return ops.transpose(x, tuple(perm)) if is_tensor(x) else np.transpose(arr(x), perm)


@register("Flatten", 1)
def _flatten(ctx, inputs, attrs):
    x = inputs[0]
    shape = arr(x).shape
    axis = attrs.get("axis", 1)
    axis = axis + len(shape) if axis < 0 else axis
    rows = int(np.prod(shape[:axis], dtype=np.int64))
    return _reshape_to(x, (rows, int(np.prod(shape[axis:], dtype=np.int64))))


@register("Concat", 1)
def _concat(ctx, inputs, attrs):
    vals = [v for v in inputs if v is not None]
    axis = attrs.get("axis", 1 if ctx.opset < 4 else 0)
    if not any_tensor(*vals):
        return np.concatenate([arr(v) for v in vals], axis=axis)
    vals = [v for v in vals if arr(v).size or arr(v).ndim > 1] or vals
    return ops.concatenate([tensor(v) for v in vals], axis=axis)


def _split_sizes(ctx, inputs, attrs, length):
    if ctx.opset < 13:
        split = attrs.get("split")
    else:
        split = ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else None
    if split:
        return list(split)
    n = attrs.get("num_outputs", ctx.n_outputs)
    size = -(-length // n)
    return [min(size, length - i * size) for i in range(n)]


@register("Split", 1)
def _split(ctx, inputs, attrs):
    x = inputs[0]
    axis = attrs.get("axis", 0)
    length = arr(x).shape[axis]
    sizes = _split_sizes(ctx, inputs, attrs, length)
    bounds = np.cumsum([0] + sizes)
    outs = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        key = (slice(None),) * (axis % arr(x).ndim) + (slice(int(a), int(b)),)
        outs.append(ops.getitem(x, key) if is_tensor(x) else arr(x)[key])
    return tuple(outs)


def _slice_key(shape, starts, ends, axes, steps):
    key = [slice(None)] * len(shape)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = axis + len(shape) if axis < 0 else axis
        dim = shape[axis]
        if start < 0:
            start += dim
        if end < 0:
            end += dim
        if step > 0:
            start, end = min(max(start, 0), dim), min(max(end, 0), dim)
            key[axis] = slice(start, end, step)
        else:
            start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
            key[axis] = slice(start, end if end >= 0 else None, step)
    return tuple(key)


def _apply_key(x, key):
    return ops.getitem(x, key) if is_tensor(x) else arr(x)[key]


@register("Slice", 1, 9)
def _slice_attr(ctx, inputs, attrs):
    x = inputs[0]
    starts, ends = attrs["starts"], attrs["ends"]
    axes = attrs.get("axes") or list(range(len(starts)))
    return _apply_key(x, _slice_key(arr(x).shape, starts, ends, axes, [1] * len(starts)))


@register("Slice", 10)
def _slice(ctx, inputs, attrs):
    x = inputs[0]
    starts, ends = ints(inputs[1]), ints(inputs[2])
    axes = ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else list(range(len(starts)))
    steps = ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    return _apply_key(x, _slice_key(arr(x).shape, starts, ends, axes, steps))


@register("Gather", 1)
def _gather(ctx, inputs, attrs):
    x, idx = inputs
    shape = arr(x).shape
    axis = attrs.get("axis", 0) % len(shape)
    idx = arr(idx).astype(np.int64)
    idx = np.where(idx < 0, idx + shape[axis], idx)
    if not is_tensor(x):
        return np.take(arr(x), idx, axis=axis)
    return ops.getitem(x, (slice(None),) * axis + (idx,))


@register("GatherElements", 11)
def _gather_elements(ctx, inputs, attrs):
    x, idx = inputs
    shape = arr(x).shape
    axis = attrs.get("axis", 0) % len(shape)
    idx = arr(idx).astype(np.int64)
    idx = np.where(idx < 0, idx + shape[axis], idx)
    if not is_tensor(x):
        return np.take_along_axis(arr(x), idx, axis=axis)
    return ops.gather(x, axis, idx)


def _squeeze(x, axes):
    shape = arr(x).shape
    if axes is None:
        axes = [i for i, s in enumerate(shape) if s == 1]
    axes = norm_axes(axes, len(shape))
    return _reshape_to(x, tuple(s for i, s in enumerate(shape) if i not in axes))


def _unsqueeze(x, axes):
    shape = list(arr(x).shape)
    out_nd = len(shape) + len(axes)
    for a in norm_axes(axes, out_nd):
        shape.insert(a, 1)
    return _reshape_to(x, tuple(shape))


@register("Squeeze", 1, 12)
def _squeeze_attr(ctx, inputs, attrs):
    return _squeeze(inputs[0], attrs.get("axes"))


@register("Squeeze", 13)
def _squeeze_input(ctx, inputs, attrs):
    axes = ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else None
    return _squeeze(inputs[0], axes)


@register("Unsqueeze", 1, 12)
def _unsqueeze_attr(ctx, inputs, attrs):
    return _unsqueeze(inputs[0], attrs["axes"])


@register("Unsqueeze", 13)
def _unsqueeze_input(ctx, inputs, attrs):
    return _unsqueeze(inputs[0], ints(inputs[1]))


@register("Expand", 8)
def _expand(ctx, inputs, attrs):
    x, shape = inputs[0], ints(inputs[1])
    out = np.broadcast_shapes(arr(x).shape, tuple(shape))
    return ops.broadcast_to(x, out) if is_tensor(x) else np.broadcast_to(arr(x), out).copy()


@register("Tile", 6)
def _tile(ctx, inputs, attrs):
    x, reps = inputs[0], ints(inputs[1])
    return ops.tile(x, reps) if is_tensor(x) else np.tile(arr(x), reps)


def _pad_index(n, before, after, mode):
    """Source indices of a reflect/edge/wrap pad of length n (an index array the Tensor gathers)."""
    idx = np.arange(n)
    idx = idx[max(-before, 0):n - max(-after, 0)]
    np_mode = {"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode]
    return np.pad(idx, (max(before, 0), max(after, 0)), mode=np_mode)


def _pad(x, pads, mode, value):
    nd = arr(x).ndim
    before, after = pads[:nd], pads[nd:]
    if mode == "constant":
        crop = tuple(slice(max(-b, 0), arr(x).shape[i] - max(-a, 0))
                     for i, (b, a) in enumerate(zip(before, after)))
        x = _apply_key(x, crop)
        width = [(max(b, 0), max(a, 0)) for b, a in zip(before, after)]
        if not is_tensor(x):
            return np.pad(arr(x), width, mode="constant", constant_values=value)
        return ops.pad(x, width, value=float(value))
    if not is_tensor(x):
        width = [(b, a) for b, a in zip(before, after)]
        return np.pad(arr(x), width, mode=mode)
    for axis in range(nd):
        if before[axis] or after[axis]:
            idx = _pad_index(arr(x).shape[axis], before[axis], after[axis], mode)
            x = ops.getitem(x, (slice(None),) * axis + (idx,))
    return x


@register("Pad", 1, 10)
def _pad_attr(ctx, inputs, attrs):
    mode = attrs.get("mode", "constant")
    return _pad(inputs[0], list(attrs.get("pads") or attrs.get("paddings")), mode, attrs.get("value", 0.0))


@register("Pad", 11)
def _pad_input(ctx, inputs, attrs):
    x = inputs[0]
    nd = arr(x).ndim
    pads = ints(inputs[1])
    value = arr(inputs[2]).item() if len(inputs) > 2 and inputs[2] is not None and arr(inputs[2]).size else 0
    if len(inputs) > 3 and inputs[3] is not None:
        axes = [a % nd for a in ints(inputs[3])]
        full = [0] * (2 * nd)
        for i, a in enumerate(axes):
            full[a], full[nd + a] = pads[i], pads[len(axes) + i]
        pads = full
    return _pad(x, pads, attrs.get("mode", "constant"), value)


@register("Shape", 1)
def _shape(ctx, inputs, attrs):
    shape = np.array(arr(inputs[0]).shape, dtype=np.int64)
    nd = len(shape)
    start, end = attrs.get("start", 0), attrs.get("end", nd)
    start = min(max(start + nd if start < 0 else start, 0), nd)
    end = min(max(end + nd if end < 0 else end, 0), nd)
    return shape[start:end]


@register("Size", 1)
def _size(ctx, inputs, attrs):
    return np.array(arr(inputs[0]).size, dtype=np.int64)


def _cast(x, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and is_tensor(x):
        return x if x.dtype == dtype else ops.cast(x, dtype)
    v = arr(x)
    if dtype.kind in "iu" and v.dtype.kind == "f":
        v = np.trunc(np.nan_to_num(v))
    return v.astype(dtype)


@register("Cast", 1)
def _cast_op(ctx, inputs, attrs):
    to = attrs["to"]
    if to not in DTYPES:
        raise NotImplementedError(f"Cast to ONNX data type {to} is not supported")
    return _cast(inputs[0], DTYPES[to])


@register("CastLike", 15)
def _cast_like(ctx, inputs, attrs):
    return _cast(inputs[0], dtype_of(inputs[1]))


@register("Constant", 1)
def _constant(ctx, inputs, attrs):
    for key in ("value", "value_float", "value_int"):
        if key in attrs:
            v = attrs[key]
            return np.asarray(v, dtype=np.float32 if key == "value_float" else None) if key != "value" else v
    if "value_floats" in attrs:
        return np.asarray(attrs["value_floats"], dtype=np.float32)
    if "value_ints" in attrs:
        return np.asarray(attrs["value_ints"], dtype=np.int64)
    raise NotImplementedError(f"Constant with attributes {sorted(attrs)} is not supported")


@register("ConstantOfShape", 9)
def _constant_of_shape(ctx, inputs, attrs):
    value = attrs.get("value")
    value = np.zeros(1, np.float32) if value is None else value
    return np.full(tuple(ints(inputs[0])), value.reshape(-1)[0], dtype=value.dtype)


@register("Range", 11)
def _range(ctx, inputs, attrs):
    start, limit, delta = (arr(v) for v in inputs)
    return np.arange(start.item(), limit.item(), delta.item()).astype(start.dtype)


@register("Identity", 1)
def _identity(ctx, inputs, attrs):
    return inputs[0]


@register("Dropout", 1)
def _dropout(ctx, inputs, attrs):
    """Inference: the input unchanged (and an all-true mask); the graph's training_mode is not honoured."""
    x = inputs[0]
    if ctx.n_outputs > 1:
        return x, np.ones(arr(x).shape, dtype=bool)
    return x


@register("OneHot", 9)
def _one_hot(ctx, inputs, attrs):
    idx, depth, values = arr(inputs[0]), int(arr(inputs[1]).reshape(-1)[0]), arr(inputs[2])
    axis = attrs.get("axis", -1)
    idx = np.where(idx < 0, idx + depth, idx)
    hot = (np.expand_dims(idx, -1) == np.arange(depth))
    out = np.where(hot, values[1], values[0])
    return np.moveaxis(out, -1, axis if axis >= 0 else axis + out.ndim)


@register("NonZero", 9)
def _nonzero(ctx, inputs, attrs):
    return np.array(np.nonzero(arr(inputs[0])), dtype=np.int64)


@register("ArgMax", 1)
def _argmax(ctx, inputs, attrs):
    return _arg(np.argmax, inputs[0], attrs)


@register("ArgMin", 1)
def _argmin(ctx, inputs, attrs):
    return _arg(np.argmin, inputs[0], attrs)


def _arg(fn, x, attrs):
    v = arr(x)
    axis = attrs.get("axis", 0) % v.ndim
    if attrs.get("select_last_index", 0):
        n = v.shape[axis]
        out = n - 1 - fn(np.flip(v, axis), axis=axis)
    else:
        out = fn(v, axis=axis)
    out = out.astype(np.int64)
    return np.expand_dims(out, axis) if attrs.get("keepdims", 1) else out
