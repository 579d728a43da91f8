"""The NumPy functions a standalone export copies into its generated ``.py`` file.

Every function here uses NumPy alone (and the standard library), never shendu: ``shendu.onnx.to_numpy``
copies the source of the ones a graph needs, and their helpers (``NEEDS``), into the file it writes.
Each docstring states the ONNX operator's formula; layouts are ONNX's (NCHW, recurrent ``[T, N, C]``).
"""
import json
import math
import struct

import numpy as np

# ---- reading the weights ----------------------------------------------------------------------------

def load_weights(path):
    """Read a safetensors file: {name: array}. Checked before anything is allocated.

    Format: 8-byte little-endian header length N, N bytes of JSON
    ``{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}``,
    then the raw little-endian bytes; offsets count from the end of the header. The tensors must lie end
    to end, each exactly shape x itemsize bytes long, the last ending where the file ends.
    """
    dtypes = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
              "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
    with open(path, "rb") as f:
        blob = f.read()

    def bad(why):
        return ValueError(f"{path}: not a valid weights file: {why}")

    if len(blob) < 8:
        raise bad(f"{len(blob)} bytes, too short for the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > min(100_000_000, len(blob) - 8):
        raise bad(f"the header claims {n} bytes but the file has {len(blob) - 8} after the length")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"the header is not UTF-8 JSON ({exc})") from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")
    header.pop("__metadata__", None)
    data = memoryview(blob)[8 + n:]
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict) or info.get("dtype") not in dtypes:
            raise bad(f"tensor {name!r} has no known dtype")
        shape, offsets = info.get("shape"), info.get("data_offsets")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise bad(f"tensor {name!r} has a bad shape {shape!r}")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and o >= 0 for o in offsets) or offsets[0] > offsets[1]):
            raise bad(f"tensor {name!r} has bad data_offsets {offsets!r}")
        dtype = np.dtype(dtypes[info["dtype"]])
        if offsets[1] - offsets[0] != math.prod(shape) * dtype.itemsize:
            raise bad(f"tensor {name!r} spans {offsets[1] - offsets[0]} bytes, its shape {shape} needs "
                      f"{math.prod(shape) * dtype.itemsize}")
        entries.append((offsets[0], offsets[1], name, dtype, shape))
    entries.sort()
    end = 0
    for begin, stop, name, _, _ in entries:
        if begin != end:
            raise bad(f"tensor {name!r} starts at byte {begin}, expected {end} (a gap or an overlap)")
        end = stop
    if end != len(data):
        raise bad(f"the tensors end at byte {end} but the data has {len(data)} bytes")
    return {name: np.frombuffer(data[begin:stop], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
            for begin, stop, name, dtype, shape in entries}


# ---- dense algebra ------------------------------------------------------------------------------------

def gemm(a, b, c=None, alpha=1.0, beta=1.0, trans_a=0, trans_b=0):
    """General matrix multiply: Y = alpha * A' @ B' + beta * C (A' = A.T if trans_a, B' = B.T if trans_b)."""
    a = a.T if trans_a else a
    b = b.T if trans_b else b
    y = a @ b
    if alpha != 1.0:
        y = y * np.asarray(alpha, dtype=y.dtype)
    if c is not None:
        y = y + (c if beta == 1.0 else c * np.asarray(beta, dtype=c.dtype))
    return y


def matmul(a, b):
    """Matrix product with NumPy's broadcasting rules (batched over leading axes): Y = A @ B."""
    return np.matmul(a, b)


def _pads(in_shape, kernel, strides, dilations, pads, auto_pad):
    """The explicit [begin..., end...] padding of each spatial axis (auto_pad SAME_UPPER/LOWER, VALID)."""
    nd = len(kernel)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * (2 * nd)
        for i in range(nd):
            out = -(-in_shape[i] // strides[i])  # ceil(in / stride)
            total = max((out - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - in_shape[i], 0)
            small, big = total // 2, total - total // 2
            pads[i], pads[i + nd] = (small, big) if auto_pad == "SAME_UPPER" else (big, small)
        return pads
    if auto_pad == "VALID" or pads is None:
        return [0] * (2 * nd)
    return list(pads)


def conv(x, w, b=None, kernel_shape=None, strides=None, pads=None, dilations=None, group=1,
         auto_pad="NOTSET"):
    """N-d convolution (cross-correlation) in NC<spatial> layout, with groups:

    y[n, g*O/G + o, p] = b[o] + sum_{c, k} x_pad[n, g*C/G + c, p * stride + k * dilation] * w[g*O/G + o, c, k]
    Output size per axis: floor((in + pad_begin + pad_end - dilation * (k - 1) - 1) / stride) + 1.
    """
    nd = x.ndim - 2
    kernel = tuple(w.shape[2:])
    strides = tuple(strides or (1,) * nd)
    dilations = tuple(dilations or (1,) * nd)
    pads = _pads(x.shape[2:], kernel, strides, dilations, pads, auto_pad)
    x = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[i + nd]) for i in range(nd)])
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilations))
    # windows[n, c, p..., k...] = x[n, c, p + k]: every input patch, without copying
    windows = np.lib.stride_tricks.sliding_window_view(x, span, axis=tuple(range(2, 2 + nd)))
    windows = windows[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in strides)
                      + tuple(slice(None, None, d) for d in dilations)]
    n, c = x.shape[:2]
    o = w.shape[0]
    windows = windows.reshape((n, group, c // group) + windows.shape[2:])
    wg = w.reshape((group, o // group) + w.shape[1:])
    if group == 1:  # one tensor contraction over (channel, kernel taps): y[n, p..., o], then NC<spatial>
        y = np.tensordot(windows[:, 0], wg[0], axes=([1] + list(range(2 + nd, 2 + 2 * nd)),
                                                     list(range(1, 2 + nd))))
        y = np.ascontiguousarray(np.moveaxis(y, -1, 1))
    else:
        out_axes, k_axes = "pqr"[:nd], "uvw"[:nd]
        y = np.einsum(f"ngc{out_axes}{k_axes},goc{k_axes}->ngo{out_axes}", windows, wg, optimize=True)
        y = y.reshape((n, o) + y.shape[3:])
    if b is not None:
        y = y + b.reshape((1, o) + (1,) * nd)
    return y


def conv_transpose(x, w, b=None, kernel_shape=None, strides=None, pads=None, dilations=None, group=1,
                   output_padding=None, auto_pad="NOTSET", output_shape=None):
    """N-d transposed convolution; w is [C_in, C_out/G, k...]. Each input pixel scatters a weighted kernel:

    y_full[n, o, p * stride + k * dilation] += x[n, c, p] * w[c, o, k]; then pad_begin/pad_end are cut off.
    Output size: (in - 1) * stride - pad_begin - pad_end + dilation * (k - 1) + output_padding + 1.
    """
    nd = x.ndim - 2
    kernel = tuple(w.shape[2:])
    strides = tuple(strides or (1,) * nd)
    dilations = tuple(dilations or (1,) * nd)
    output_padding = tuple(output_padding or (0,) * nd)
    pads = list(pads or (0,) * (2 * nd)) if auto_pad == "NOTSET" else [0] * (2 * nd)
    if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        # the padding follows from the wanted size (SAME: in * stride); SAME_UPPER puts any odd one last
        want = list(output_shape)[-nd:] if output_shape is not None else [
            x.shape[2 + i] * strides[i] for i in range(nd)]
        for i in range(nd):
            span = (kernel[i] - 1) * dilations[i] + 1
            total = strides[i] * (x.shape[2 + i] - 1) + output_padding[i] + span - want[i]
            small, big = total // 2, total - total // 2
            pads[i], pads[i + nd] = (big, small) if auto_pad == "SAME_LOWER" else (small, big)
            if total < 0:  # a wanted size above the natural one: zeros are added at the end
                pads[i], pads[i + nd] = 0, total
    n, c = x.shape[:2]
    og = w.shape[1]
    full = [(x.shape[2 + i] - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 + output_padding[i]
            for i in range(nd)]
    y = np.zeros((n, group, og) + tuple(full), dtype=x.dtype)
    xg = x.reshape((n, group, c // group) + x.shape[2:])
    wg = w.reshape((group, c // group, og) + kernel)
    for k in np.ndindex(*kernel):
        # contribution of kernel tap k: [n, g, o, p...]
        part = np.einsum("ngc...,gco->ngo...", xg, wg[(slice(None),) * 3 + k])
        where = tuple(slice(k[i] * dilations[i], k[i] * dilations[i] + (x.shape[2 + i] - 1) * strides[i] + 1,
                            strides[i]) for i in range(nd))
        y[(slice(None),) * 3 + where] += part
    y = y.reshape((n, group * og) + tuple(full))
    if min(pads) < 0:
        y = np.pad(y, [(0, 0), (0, 0)] + [(max(-pads[i], 0), max(-pads[i + nd], 0)) for i in range(nd)])
        full = list(y.shape[2:])
        pads = [max(p, 0) for p in pads]
    y = y[(slice(None), slice(None)) + tuple(slice(pads[i], full[i] - pads[i + nd]) for i in range(nd))]
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * nd)
    return y


# ---- pooling ------------------------------------------------------------------------------------------

def _pool(x, kernel, strides, pads, dilations, ceil_mode, fill, combine):
    """Combine (np.maximum or np.add) the kernel's taps over every window of x padded with ``fill``.

    Tap k of window p reads x_pad[p * stride + k * dilation]: for each tap, one strided slice of the
    padded input covers all windows at once. ceil_mode pads the end for a last partial window (which
    must start inside the input or its begin padding). Returns the result and the end widths ceil_mode
    added, per axis.
    """
    nd = len(kernel)
    extra, out = [], []
    for i in range(nd):
        size = x.shape[2 + i] + pads[i] + pads[i + nd]
        span = dilations[i] * (kernel[i] - 1) + 1
        if ceil_mode:
            n = -(-(size - span) // strides[i]) + 1
            if (n - 1) * strides[i] >= x.shape[2 + i] + pads[i]:
                n -= 1
        else:
            n = (size - span) // strides[i] + 1
        out.append(n)
        extra.append(max((n - 1) * strides[i] + span - size, 0))
    widths = [(0, 0), (0, 0)] + [(pads[i], pads[i + nd] + extra[i]) for i in range(nd)]
    xp = np.pad(x, widths, constant_values=fill)
    y = None
    for k in np.ndindex(*kernel):
        tap = xp[(slice(None), slice(None)) + tuple(
            slice(k[i] * dilations[i], k[i] * dilations[i] + (out[i] - 1) * strides[i] + 1, strides[i])
            for i in range(nd))]
        y = tap.copy() if y is None else combine(y, tap, out=y)
    return y, extra


def max_pool(x, kernel_shape, strides=None, pads=None, dilations=None, ceil_mode=0, auto_pad="NOTSET",
             storage_order=0):
    """Max pooling: y[n, c, p] = max_k x_pad[n, c, p * stride + k * dilation] (padding counts as -inf)."""
    nd = len(kernel_shape)
    strides = tuple(strides or (1,) * nd)
    dilations = tuple(dilations or (1,) * nd)
    pads = _pads(x.shape[2:], kernel_shape, strides, dilations, pads, auto_pad)
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    return _pool(x, kernel_shape, strides, pads, dilations, ceil_mode, low, np.maximum)[0]


def average_pool(x, kernel_shape, strides=None, pads=None, ceil_mode=0, count_include_pad=0,
                 auto_pad="NOTSET", dilations=None):
    """Average pooling: y[n, c, p] = sum_k x_pad[n, c, p * stride + k] / count, where count is the kernel size
    (count_include_pad=1) or the number of real input pixels under the window (0); the extra end region
    that ceil_mode adds is never counted."""
    nd = len(kernel_shape)
    strides = tuple(strides or (1,) * nd)
    dilations = tuple(dilations or (1,) * nd)
    pads = _pads(x.shape[2:], kernel_shape, strides, dilations, pads, auto_pad)
    total, extra = _pool(x, kernel_shape, strides, pads, dilations, ceil_mode, 0, np.add)
    # the count: pool a map that is 1 where a pixel counts
    ones = np.ones((1, 1) + x.shape[2:], dtype=x.dtype)
    if count_include_pad:
        widths = [(0, 0), (0, 0)] + [(pads[i], pads[i + nd]) for i in range(nd)]
        ones = np.pad(ones, widths, constant_values=1)
        counted, _ = _pool(ones, kernel_shape, strides, [0] * nd + extra, dilations, 0, 0, np.add)
    else:
        counted, _ = _pool(ones, kernel_shape, strides, pads, dilations, ceil_mode, 0, np.add)
    return total / counted


def global_average_pool(x):
    """Mean over every spatial axis, kept as size 1: y[n, c, 1, ...] = mean_p x[n, c, p]."""
    return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)


def global_max_pool(x):
    """Max over every spatial axis, kept as size 1."""
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)


# ---- normalization ------------------------------------------------------------------------------------

def batch_normalization(x, scale, bias, mean, var, epsilon=1e-5, momentum=0.9, training_mode=0):
    """Inference batch norm over axis 1: y = (x - mean) / sqrt(var + epsilon) * scale + bias."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = (scale / np.sqrt(var + np.asarray(epsilon, dtype=var.dtype))).reshape(shape)
    return (x - mean.reshape(shape)) * inv + bias.reshape(shape)


def layer_normalization(x, scale, bias=None, axis=-1, epsilon=1e-5, stash_type=1):
    """Normalise over the axes from ``axis`` on: y = (x - mean) / sqrt(var + epsilon) * scale + bias.

    Returns y, the mean and 1 / sqrt(var + epsilon) (both kept with size-1 normalised axes)."""
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    inv_std = 1 / np.sqrt(var + np.asarray(epsilon, dtype=x.dtype))
    y = (x - mean) * inv_std * scale
    return (y + bias if bias is not None else y), mean, inv_std


# ---- activations --------------------------------------------------------------------------------------

def relu(x):
    """max(x, 0)."""
    return np.maximum(x, np.zeros((), dtype=x.dtype))


def sigmoid(x):
    """1 / (1 + exp(-x)), computed as (1 + tanh(x / 2)) / 2, which never overflows."""
    return (np.tanh(x * np.asarray(0.5, dtype=x.dtype)) + 1) * np.asarray(0.5, dtype=x.dtype)


def tanh(x):
    """(exp(x) - exp(-x)) / (exp(x) + exp(-x))."""
    return np.tanh(x)


def leaky_relu(x, alpha=0.01):
    """x if x >= 0 else alpha * x."""
    return np.where(x >= 0, x, x * np.asarray(alpha, dtype=x.dtype))


def elu(x, alpha=1.0):
    """x if x >= 0 else alpha * (exp(x) - 1)."""
    return np.where(x >= 0, x, np.expm1(np.minimum(x, 0)) * np.asarray(alpha, dtype=x.dtype))


def celu(x, alpha=1.0):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    a = np.asarray(alpha, dtype=x.dtype)
    return np.maximum(x, 0) + np.minimum(np.expm1(np.minimum(x, 0) / a) * a, 0)


def selu(x, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    """gamma * (x if x > 0 else alpha * (exp(x) - 1))."""
    neg = np.expm1(np.minimum(x, 0)) * np.asarray(alpha, dtype=x.dtype)
    return np.where(x > 0, x, neg) * np.asarray(gamma, dtype=x.dtype)


def softplus(x):
    """log(1 + exp(x)), computed as logaddexp(0, x)."""
    return np.logaddexp(np.zeros((), dtype=x.dtype), x)


def softsign(x):
    """x / (1 + |x|)."""
    return x / (1 + np.abs(x))


def hard_sigmoid(x, alpha=0.2, beta=0.5):
    """max(0, min(1, alpha * x + beta))."""
    return np.clip(x * np.asarray(alpha, dtype=x.dtype) + np.asarray(beta, dtype=x.dtype), 0, 1)


def hard_swish(x):
    """x * hard_sigmoid(x) with alpha 1/6, beta 1/2."""
    return x * hard_sigmoid(x, 1 / 6, 0.5)


def thresholded_relu(x, alpha=1.0):
    """x if x > alpha else 0."""
    return np.where(x > alpha, x, np.zeros((), dtype=x.dtype))


def prelu(x, slope):
    """x if x >= 0 else slope * x (slope broadcasts against x)."""
    return np.where(x >= 0, x, x * slope)


def erf(x):
    """The error function erf(x) = 2 / sqrt(pi) * integral_0^x exp(-t^2) dt (exact, one element at a time)."""
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype)


def gelu(x, approximate="none"):
    """x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2));
    approximate='tanh': x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))."""
    half = np.asarray(0.5, dtype=x.dtype)
    if approximate == "tanh":
        cubic = x + np.asarray(0.044715, dtype=x.dtype) * x ** 3
        inner = np.asarray(math.sqrt(2 / math.pi), dtype=x.dtype) * cubic
        return half * x * (1 + np.tanh(inner))
    return half * x * (1 + erf(x / np.asarray(math.sqrt(2), dtype=x.dtype)))


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    return x * sigmoid(x)


def mish(x):
    """x * tanh(softplus(x))."""
    return x * np.tanh(np.logaddexp(np.zeros((), dtype=x.dtype), x))


def clip(x, low=None, high=None):
    """min(max(x, low), high); a missing bound does not clip."""
    if low is not None:
        x = np.maximum(x, low)
    if high is not None:
        x = np.minimum(x, high)
    return x


def softmax(x, axis=-1):
    """exp(x - max) / sum(exp(x - max)) along ``axis`` (subtracting the max keeps exp from overflowing)."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """x - max - log(sum(exp(x - max))) along ``axis``."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_2d(x, axis=1):
    """Opset < 13 Softmax: x is seen as a matrix [prod(shape[:axis]), prod(shape[axis:])], softmax per row."""
    flat = x.reshape((int(np.prod(x.shape[:axis % x.ndim])), -1))
    return softmax(flat, axis=1).reshape(x.shape)


def log_softmax_2d(x, axis=1):
    """Opset < 13 LogSoftmax, on the same matrix view as softmax_2d."""
    flat = x.reshape((int(np.prod(x.shape[:axis % x.ndim])), -1))
    return log_softmax(flat, axis=1).reshape(x.shape)


# ---- element-wise arithmetic --------------------------------------------------------------------------

def div(a, b):
    """a / b; integer tensors divide with truncation toward zero, as ONNX requires."""
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return (np.abs(a) // np.abs(b) * np.sign(a) * np.sign(b)).astype(np.result_type(a, b))
    return a / b


def mod(a, b, fmod=0):
    """Remainder: fmod=1 takes the sign of a (C fmod); fmod=0 the sign of b (Python %)."""
    return np.fmod(a, b) if fmod else np.mod(a, b)


def power(a, b):
    """a ** b, the result in a's dtype."""
    return np.power(a, b).astype(a.dtype)


def variadic(fn, *xs):
    """Sum / Max / Min / Mean of any number of broadcast tensors: fold fn over them."""
    y = xs[0]
    for x in xs[1:]:
        y = fn(y, x)
    return y


# ---- shapes and indexing ------------------------------------------------------------------------------

def flatten(x, axis=1):
    """A matrix view: [prod(shape[:axis]), prod(shape[axis:])]."""
    axis = axis % x.ndim if x.ndim else 0
    return x.reshape((int(np.prod(x.shape[:axis])), -1) if x.ndim else (1, 1))


def reshape(x, shape, allowzero=0):
    """x with a new shape; -1 is inferred, and 0 copies the input's size on that axis (unless allowzero)."""
    shape = [int(s) for s in shape]
    if not allowzero:
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def transpose(x, perm=None):
    """Permute the axes (reverse them when perm is not given)."""
    return np.transpose(x, perm)


def concat(*xs, axis):
    """Join the tensors along ``axis``."""
    return np.concatenate(xs, axis=axis)


def split(x, sizes=None, axis=0, num_outputs=None):
    """Cut x along ``axis`` into pieces of the given sizes (or num_outputs equal pieces, the last smaller)."""
    if sizes is None:
        step = -(-x.shape[axis] // num_outputs)
        sizes = [min(step, x.shape[axis] - i * step) for i in range(num_outputs)]
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


def gather(x, indices, axis=0):
    """y = x.take(indices, axis): every index picks a slice of x (negative indices count from the end)."""
    return np.take(x, indices.astype(np.int64), axis=axis)


def gather_elements(x, indices, axis=0):
    """y[i][j][k] = x[i][indices[i][j][k]][k] (for axis 1): np.take_along_axis."""
    return np.take_along_axis(x, np.where(indices < 0, indices + x.shape[axis], indices), axis=axis)


def shape(x, start=0, end=None):
    """The shape of x as an int64 vector (the axes start..end)."""
    return np.array(x.shape[start:end], dtype=np.int64)


def size(x):
    """The number of elements of x, an int64 scalar."""
    return np.array(x.size, dtype=np.int64)


def slice_(x, starts, ends, axes=None, steps=None):
    """x[starts:ends:steps] on the given axes (Python's slice rules clamp out-of-range bounds)."""
    index = [slice(None)] * x.ndim
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    for start, stop, axis, step in zip(starts, ends, axes, steps):
        index[int(axis)] = slice(int(start), int(stop), int(step))
    return x[tuple(index)]


def squeeze(x, axes=None):
    """Remove the given size-1 axes (every size-1 axis when none are given)."""
    if axes is None:
        return np.squeeze(x)
    return np.squeeze(x, axis=tuple(int(a) for a in axes))


def unsqueeze(x, axes):
    """Insert size-1 axes at the given positions of the output."""
    rank = x.ndim + len(axes)
    return np.expand_dims(x, tuple(sorted(int(a) % rank for a in axes)))


def expand(x, shape):
    """Broadcast x against ``shape`` (both ways, as NumPy broadcasting does)."""
    return np.broadcast_to(x, np.broadcast_shapes(x.shape, tuple(int(s) for s in shape))).copy()


def tile(x, repeats):
    """Repeat x repeats[i] times along axis i."""
    return np.tile(x, tuple(int(r) for r in repeats))


def constant_of_shape(shape, value):
    """A tensor of the given shape filled with ``value`` (a one-element array; its dtype is the output's)."""
    return np.full(tuple(int(s) for s in shape), value.reshape(()), dtype=value.dtype)


def range_(start, limit, delta):
    """[start, start + delta, ...) up to limit, in start's dtype."""
    return np.arange(start, limit, delta).astype(np.asarray(start).dtype)


def pad(x, pads, value=None, axes=None, mode="constant"):
    """Pad every axis (or the given axes) by pads[i] before and pads[i + n] after (constant/reflect/edge)."""
    axes = range(x.ndim) if axes is None else [int(a) % x.ndim for a in axes]
    n = len(axes)
    widths = [(0, 0)] * x.ndim
    for i, axis in enumerate(axes):
        widths[axis] = (int(pads[i]), int(pads[i + n]))
    if mode == "constant":
        return np.pad(x, widths, constant_values=0 if value is None else value.reshape(()))
    return np.pad(x, widths, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode])


def dropout(x, ratio=None, training_mode=None):
    """Inference dropout keeps every value: y = x, and the mask (when asked for) is all true."""
    if training_mode is not None and bool(np.asarray(training_mode)):
        raise ValueError("Dropout in training mode is random; the standalone code runs inference only")
    return x, np.ones(x.shape, dtype=bool)


def where(cond, a, b):
    """a where cond is true, else b."""
    return np.where(cond, a, b)


def reduce(fn, x, axes=None, keepdims=1, noop_with_empty_axes=0):
    """Reduce x with fn (np.sum, np.mean, np.max, ...) over ``axes`` (every axis when none are given)."""
    if axes is None or len(axes) == 0:
        if noop_with_empty_axes:
            return x
        axes = None
    else:
        axes = tuple(int(a) for a in axes)
    if x.size == 0 and fn in (np.max, np.min, np.amax, np.amin):  # an empty max is -inf, an empty min +inf
        shape = np.sum(np.zeros(x.shape), axis=axes, keepdims=bool(keepdims)).shape
        if x.dtype.kind == "b":
            return np.full(shape, fn is np.min or fn is np.amin)
        info = np.finfo(x.dtype) if x.dtype.kind == "f" else np.iinfo(x.dtype)
        low, high = (-np.inf, np.inf) if x.dtype.kind == "f" else (info.min, info.max)
        return np.full(shape, low if fn in (np.max, np.amax) else high, dtype=x.dtype)
    return fn(x, axis=axes, keepdims=bool(keepdims))


def arg_reduce(fn, x, axis=0, keepdims=1, select_last_index=0):
    """Index of the max / min along ``axis`` (int64); select_last_index picks the last of equal values."""
    if select_last_index:
        flipped = np.flip(x, axis=axis)
        y = x.shape[axis] - 1 - fn(flipped, axis=axis)
    else:
        y = fn(x, axis=axis)
    y = y.astype(np.int64)
    return np.expand_dims(y, axis) if keepdims else y


def cumsum(x, axis, exclusive=0, reverse=0):
    """Running sum along ``axis`` (exclusive: shifted by one; reverse: from the end)."""
    axis = int(axis)
    if reverse:
        x = np.flip(x, axis)
    y = np.cumsum(x, axis=axis, dtype=x.dtype)
    if exclusive:
        y = y - x
    return np.flip(y, axis) if reverse else y


# ---- recurrent layers ---------------------------------------------------------------------------------

def _rnn_activation(name):
    """The activations ONNX recurrent ops name: Sigmoid, Tanh, Relu."""
    return {"Sigmoid": sigmoid, "Tanh": np.tanh, "Relu": lambda v: np.maximum(v, 0)}[name]


def _flip_within(x, lens):
    """Reverse each sequence x[:lens[b], b] in time, leaving the padding after it in place."""
    t = np.arange(x.shape[0])[:, None]
    idx = np.where(t < lens[None, :], lens[None, :] - 1 - t, t)
    return x[idx, np.arange(x.shape[1])[None, :]]


def _scan(x, lens, reverse, step, state):
    """Run ``step(x_t, *state) -> new state`` (hidden state first) over time, for one direction.

    x is [T, N, ...]. A sequence whose length ``lens[b]`` has been reached keeps its state; its outputs are 0.
    Returns Y [T, N, H] and the final state.
    """
    steps, n = x.shape[:2]
    lens = np.full(n, steps) if lens is None else lens.astype(np.int64)
    if reverse:
        x = _flip_within(x, lens)
    ys = []
    for t in range(steps):
        new = step(x[t], *state)
        alive = (t < lens)[:, None]
        state = tuple(np.where(alive, a, b) for a, b in zip(new, state))
        ys.append(np.where(alive, new[0], np.zeros((), dtype=new[0].dtype)))
    y = np.stack(ys) if ys else np.zeros((0, n, state[0].shape[-1]), dtype=x.dtype)
    return (_flip_within(y, lens) if reverse else y), state


def lstm(x, w, r, b=None, sequence_lens=None, initial_h=None, initial_c=None, p=None, hidden_size=None,
         direction="forward", layout=0, activations=None, clip=None, input_forget=0):
    """ONNX LSTM. x [T, N, C] (layout 1: [N, T, C]); gates stacked i, o, f, c in w [D, 4H, C],
    r [D, 4H, H], b [D, 8H] (input biases, then recurrent biases), peepholes p [D, 3H] (i, o, f):

        i = f(x W_i + h R_i + p_i * c + b_i)      f_ = f(x W_f + h R_f + p_f * c + b_f)
        g = g(x W_c + h R_c + b_c)                c' = f_ * c + i * g
        o = f(x W_o + h R_o + p_o * c' + b_o)     h' = o * h(c')
    with f = sigmoid, g = h = tanh by default. Returns Y [T, D, N, H], Y_h [D, N, H], Y_c [D, N, H].
    """
    if layout:
        x = x.transpose(1, 0, 2)
        initial_h = None if initial_h is None else initial_h.transpose(1, 0, 2)
        initial_c = None if initial_c is None else initial_c.transpose(1, 0, 2)
    dirs = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}[direction]
    hs = hidden_size or r.shape[-1]
    n = x.shape[1]
    acts = activations or ["Sigmoid", "Tanh", "Tanh"] * len(dirs)
    ys, last_h, last_c = [], [], []
    for d, reverse in enumerate(dirs):
        f, g, h = (_rnn_activation(a) for a in acts[3 * d:3 * d + 3])
        wd, rd = w[d].T, r[d].T
        bias = np.zeros(4 * hs, dtype=x.dtype) if b is None else b[d, :4 * hs] + b[d, 4 * hs:]
        pi, po, pf = (np.zeros(hs, dtype=x.dtype),) * 3 if p is None else np.split(p[d], 3)
        xw = x @ wd + bias  # the input part of every gate, for every step at once

        def step(xw_t, h_prev, c_prev, rd=rd, f=f, g=g, h=h, pi=pi, po=po, pf=pf):
            z = xw_t + h_prev @ rd
            if clip is not None:
                z = np.clip(z, -clip, clip)
            zi, zo, zf, zc = np.split(z, 4, axis=-1)
            i_gate, f_gate = f(zi + pi * c_prev), f(zf + pf * c_prev)
            c_new = f_gate * c_prev + i_gate * g(zc)
            o_gate = f(zo + po * c_new)
            return o_gate * h(c_new), c_new

        h0 = np.zeros((n, hs), dtype=x.dtype) if initial_h is None else initial_h[d]
        c0 = np.zeros((n, hs), dtype=x.dtype) if initial_c is None else initial_c[d]
        y, (hn, cn) = _scan(xw, sequence_lens, reverse, step, (h0, c0))
        ys.append(y)
        last_h.append(hn)
        last_c.append(cn)
    y, yh, yc = np.stack(ys, axis=1), np.stack(last_h), np.stack(last_c)
    if layout:
        return y.transpose(2, 0, 1, 3), yh.transpose(1, 0, 2), yc.transpose(1, 0, 2)
    return y, yh, yc


def gru(x, w, r, b=None, sequence_lens=None, initial_h=None, hidden_size=None, direction="forward", layout=0,
        activations=None, clip=None, linear_before_reset=0):
    """ONNX GRU. Gates stacked z, r, h in w [D, 3H, C], r [D, 3H, H], b [D, 6H]:

        z = f(x W_z + h R_z + b_z)      r_ = f(x W_r + h R_r + b_r)
        n = g(x W_h + r_ * (h R_h + Rb_h) + Wb_h)     (linear_before_reset=1, PyTorch's GRU)
        n = g(x W_h + (r_ * h) R_h + Rb_h + Wb_h)     (linear_before_reset=0)
        h' = (1 - z) * n + z * h
    with f = sigmoid, g = tanh by default. Returns Y [T, D, N, H] and Y_h [D, N, H].
    """
    if layout:
        x = x.transpose(1, 0, 2)
        initial_h = None if initial_h is None else initial_h.transpose(1, 0, 2)
    dirs = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}[direction]
    hs = hidden_size or r.shape[-1]
    n = x.shape[1]
    acts = activations or ["Sigmoid", "Tanh"] * len(dirs)
    ys, last_h = [], []
    for d, reverse in enumerate(dirs):
        f, g = (_rnn_activation(a) for a in acts[2 * d:2 * d + 2])
        wb = np.zeros(3 * hs, dtype=x.dtype) if b is None else b[d, :3 * hs]
        rb = np.zeros(3 * hs, dtype=x.dtype) if b is None else b[d, 3 * hs:]
        xw = x @ w[d].T + wb
        rz_r, rh = r[d][:2 * hs].T, r[d][2 * hs:].T

        def step(xw_t, h_prev, rz_r=rz_r, rh=rh, rb=rb, f=f, g=g):
            xz, xr, xh = np.split(xw_t, 3, axis=-1)
            hz, hr = np.split(h_prev @ rz_r + rb[:2 * hs], 2, axis=-1)
            pre_z, pre_r = xz + hz, xr + hr
            if clip is not None:
                pre_z, pre_r = np.clip(pre_z, -clip, clip), np.clip(pre_r, -clip, clip)
            z, reset = f(pre_z), f(pre_r)
            if linear_before_reset:
                pre_n = xh + reset * (h_prev @ rh + rb[2 * hs:])
            else:
                pre_n = xh + (reset * h_prev) @ rh + rb[2 * hs:]
            if clip is not None:
                pre_n = np.clip(pre_n, -clip, clip)
            return ((1 - z) * g(pre_n) + z * h_prev,)

        h0 = np.zeros((n, hs), dtype=x.dtype) if initial_h is None else initial_h[d]
        y, (hn,) = _scan(xw, sequence_lens, reverse, step, (h0,))
        ys.append(y)
        last_h.append(hn)
    y, yh = np.stack(ys, axis=1), np.stack(last_h)
    if layout:
        return y.transpose(2, 0, 1, 3), yh.transpose(1, 0, 2)
    return y, yh


def rnn(x, w, r, b=None, sequence_lens=None, initial_h=None, hidden_size=None, direction="forward", layout=0,
        activations=None, clip=None):
    """ONNX RNN (Elman): h' = f(x W^T + h R^T + Wb + Rb), f = tanh by default.
    w [D, H, C], r [D, H, H], b [D, 2H]. Returns Y [T, D, N, H] and Y_h [D, N, H]."""
    if layout:
        x = x.transpose(1, 0, 2)
        initial_h = None if initial_h is None else initial_h.transpose(1, 0, 2)
    dirs = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}[direction]
    hs = hidden_size or r.shape[-1]
    n = x.shape[1]
    acts = activations or ["Tanh"] * len(dirs)
    ys, last_h = [], []
    for d, reverse in enumerate(dirs):
        f = _rnn_activation(acts[d])
        bias = np.zeros(hs, dtype=x.dtype) if b is None else b[d, :hs] + b[d, hs:]
        xw = x @ w[d].T + bias
        rd = r[d].T

        def step(xw_t, h_prev, rd=rd, f=f):
            z = xw_t + h_prev @ rd
            return (f(np.clip(z, -clip, clip) if clip is not None else z),)

        h0 = np.zeros((n, hs), dtype=x.dtype) if initial_h is None else initial_h[d]
        y, (hn,) = _scan(xw, sequence_lens, reverse, step, (h0,))
        ys.append(y)
        last_h.append(hn)
    y, yh = np.stack(ys, axis=1), np.stack(last_h)
    if layout:
        return y.transpose(2, 0, 1, 3), yh.transpose(1, 0, 2)
    return y, yh
