"""Resize (opsets 10+) and Upsample (9): nearest, linear and cubic resampling of any axes.

Every mode is separable, so each resized axis is one matrix product with a constant (out, in)
interpolation matrix M built in NumPy: y = x ×_axis Mᵀ. The gradient is the transposed product.
An output coordinate x' maps back to the input coordinate x by ``coordinate_transformation_mode``:
  half_pixel: (x' + ½)/s − ½      asymmetric: x'/s      align_corners: x'·(in − 1)/(out − 1)
  pytorch_half_pixel: like half_pixel, 0 when out = 1    tf_crop_and_resize: from the roi
  half_pixel_symmetric: half_pixel shifted so the output stays centred on the input.
Linear weights are (1 − r, r) at ⌊x⌋, ⌊x⌋ + 1; cubic uses Keys' kernel with a = ``cubic_coeff_a``
on ⌊x⌋ − 1 … ⌊x⌋ + 2; taps beyond the edge read the edge (or drop out with ``exclude_outside``).
With ``antialias=1`` a downsampling filter is widened by 1/scale (its weights k(scale·(tap − x)),
normalised), so every input pixel contributes.
"""
import math

import numpy as np

from ... import ops
from . import register
from ._common import arr, is_tensor, tensor


def _source_coords(out_len, in_len, scale, mode, roi=None):
    xr = np.arange(out_len, dtype=np.float64)
    out_exact = scale * in_len       # onnx measures the resized length before rounding it
    if mode == "asymmetric":
        return xr / scale
    if mode == "align_corners":
        return xr * (in_len - 1) / (out_exact - 1) if out_exact > 1 else np.zeros(out_len)
    if mode == "pytorch_half_pixel":
        return (xr + 0.5) / scale - 0.5 if out_exact > 1 else np.zeros(out_len)
    if mode == "half_pixel_symmetric":
        adjustment = out_len / (scale * in_len)
        offset = in_len / 2 * (1 - adjustment)
        return offset + (xr + 0.5) / scale - 0.5
    if mode == "tf_crop_and_resize":
        start, end = roi
        if out_exact > 1:
            return start * (in_len - 1) + xr * (end - start) * (in_len - 1) / (out_exact - 1)
        return np.full(out_len, 0.5 * (start + end) * (in_len - 1))
    if mode == "half_pixel":
        return (xr + 0.5) / scale - 0.5
    raise NotImplementedError(f"Resize: coordinate_transformation_mode {mode!r} is not supported")


def _nearest(x, rule):
    if rule == "floor":
        return np.floor(x)
    if rule == "ceil":
        return np.ceil(x)
    frac = x - np.floor(x)
    if rule == "round_prefer_ceil":
        return np.where(frac == 0.5, np.ceil(x), np.round(x))
    return np.where(frac == 0.5, np.floor(x), np.round(x))   # round_prefer_floor


def _cubic_weights(r, a):
    def kern(t):
        t = np.abs(t)
        return np.where(t <= 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                        np.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, 0.0))
    return np.stack([kern(r + 1), kern(r), kern(1 - r), kern(2 - r)], axis=-1)


def _antialias_taps(x, scale, mode, a):
    """Taps and weights of a filter widened by 1/scale (downsampling with ``antialias=1``): the
    linear (triangle) or cubic kernel evaluated at scale·(tap − x), normalised to sum 1."""
    left = np.ceil(x) - 1                     # the tap left of x (x itself counts as right)
    r = x - left                              # in (0, 1]
    if mode == "linear":
        start = int(np.floor(-1 / scale) + 1)
        offsets = np.arange(start, start + 2 - 2 * start)
        w = np.clip(1 - np.abs((offsets[None, :] - r[:, None]) * scale), 0, 1)
    else:
        start = int(np.floor(-2 / scale) + 1)
        offsets = np.arange(start, 2 - start)
        t = np.abs((offsets[None, :] - r[:, None]) * scale)
        w = np.where(t <= 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                     np.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, 0.0))
    w = w / w.sum(axis=1, keepdims=True)
    return left.astype(int)[:, None] + offsets[None, :], w


def _matrix(out_len, in_len, scale, attrs, mode, roi):
    """The (out_len, in_len) interpolation matrix of one axis, and a mask of rows to extrapolate."""
    coord_mode = attrs.get("coordinate_transformation_mode", "half_pixel")
    x = _source_coords(out_len, in_len, scale, coord_mode, roi)
    m = np.zeros((out_len, in_len))
    rows = np.arange(out_len)
    if attrs.get("antialias", 0) and mode in ("linear", "cubic") and scale < 1:
        taps, w = _antialias_taps(x, scale, mode, attrs.get("cubic_coeff_a", -0.75))
        if attrs.get("exclude_outside", 0):
            w = np.where((taps >= 0) & (taps < in_len), w, 0.0)
            w = w / np.where(w.sum(axis=1, keepdims=True) == 0, 1.0, w.sum(axis=1, keepdims=True))
        taps = np.clip(taps, 0, in_len - 1)
        for j in range(taps.shape[1]):
            np.add.at(m, (rows, taps[:, j]), w[:, j])
    elif mode == "nearest":
        idx = np.clip(_nearest(x, attrs.get("nearest_mode", "round_prefer_floor")), 0, in_len - 1).astype(int)
        m[rows, idx] = 1.0
    elif mode == "linear":
        xc = np.clip(x, 0, in_len - 1)
        lo = np.floor(xc).astype(int)
        r = xc - lo
        hi = np.minimum(lo + 1, in_len - 1)
        np.add.at(m, (rows, lo), 1 - r)
        np.add.at(m, (rows, hi), r)
    elif mode == "cubic":
        lo = np.floor(x).astype(int)
        w = _cubic_weights(x - lo, attrs.get("cubic_coeff_a", -0.75))
        taps = lo[:, None] + np.arange(-1, 3)
        if attrs.get("exclude_outside", 0):
            w = np.where((taps >= 0) & (taps < in_len), w, 0.0)
            w = w / w.sum(axis=1, keepdims=True)
        taps = np.clip(taps, 0, in_len - 1)
        for j in range(4):
            np.add.at(m, (rows, taps[:, j]), w[:, j])
    else:
        raise NotImplementedError(f"Resize: mode {mode!r} is not supported")
    outside = None
    if coord_mode == "tf_crop_and_resize":
        outside = (x < 0) | (x > in_len - 1)
        m[outside] = 0.0
    return m, outside


def _resize(x, out_shape, scales, attrs, mode, rois):
    t = tensor(x)
    dtype = arr(t).dtype
    nd = arr(t).ndim
    for axis in range(nd):
        in_len, out_len = arr(t).shape[axis], out_shape[axis]
        if in_len == out_len and scales[axis] == 1.0 and rois[axis] in (None, (0.0, 1.0)):
            continue
        m, outside = _matrix(out_len, in_len, scales[axis], attrs, mode, rois[axis])
        moved = ops.transpose(t, tuple(a for a in range(nd) if a != axis) + (axis,))
        y = ops.matmul(moved, m.T.astype(dtype))
        if outside is not None and outside.any():
            y = ops.add(y, (outside * attrs.get("extrapolation_value", 0.0)).astype(dtype))
        inverse = list(range(nd - 1))
        inverse.insert(axis, nd - 1)
        t = ops.transpose(y, tuple(inverse))
    return t if is_tensor(x) else t.array


def _mode(attrs):
    return attrs.get("mode", "nearest")


def _opt(inputs, i):
    return inputs[i] if len(inputs) > i and inputs[i] is not None and arr(inputs[i]).size else None


@register("Resize", 11)
def _resize_op(ctx, inputs, attrs):
    x = inputs[0]
    shape = arr(x).shape
    nd = len(shape)
    if attrs.get("antialias", 0) and _mode(attrs) == "nearest":
        raise NotImplementedError("Resize: antialias=1 applies to linear and cubic modes only")
    axes = [a % nd for a in (attrs.get("axes") or range(nd))]
    roi_in, scales_in, sizes_in = _opt(inputs, 1), _opt(inputs, 2), _opt(inputs, 3)
    scales, out_shape, rois = [1.0] * nd, list(shape), [None] * nd
    if roi_in is not None:
        roi = arr(roi_in).astype(np.float64).reshape(-1)
        k = len(roi) // 2
        for i, a in enumerate(axes if k == len(axes) else range(nd)):
            rois[a] = (roi[i], roi[k + i])
    if scales_in is not None:
        for a, s in zip(axes, arr(scales_in).astype(np.float64).reshape(-1)):
            scales[a] = float(s)
            out_shape[a] = int(math.floor(shape[a] * s))
    elif sizes_in is not None:
        sizes = [int(v) for v in arr(sizes_in).reshape(-1)]
        policy = attrs.get("keep_aspect_ratio_policy", "stretch")
        ratios = [sizes[i] / shape[a] for i, a in enumerate(axes)]
        if policy != "stretch":
            common = min(ratios) if policy == "not_larger" else max(ratios)
            ratios = [common] * len(axes)
            sizes = [int(round(common * shape[a])) for a in axes]
        for i, a in enumerate(axes):
            scales[a], out_shape[a] = ratios[i], sizes[i]
    return _resize(x, out_shape, scales, attrs, _mode(attrs), rois)


def _legacy(ctx, inputs, attrs):
    """Upsample-9 / Resize-10: asymmetric coordinates, floor for nearest."""
    x = inputs[0]
    shape = arr(x).shape
    scales = [float(s) for s in arr(inputs[1]).reshape(-1)] if len(inputs) > 1 else list(attrs["scales"])
    out_shape = [int(math.floor(n * s)) for n, s in zip(shape, scales)]
    legacy = {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    mode = _mode(attrs)
    return _resize(x, out_shape, scales, legacy, "linear" if mode in ("linear", "bilinear") else mode,
                   [None] * len(shape))


register("Resize", 10, 10)(_legacy)
register("Upsample", 9, 9)(_legacy)
