"""Post-training int8 quantization: fold BatchNorm, quantize weights per channel, calibrate activations.

The steps, for a Sequential model (``nn.Sequential`` or Keras ``Sequential``; see :func:`to_sequential`):

1. **Fold BatchNorm** into the conv (or Linear) before it. With s = γ/√(σ² + ε) per channel,
   BN(conv(x)) = conv'(x) where W'[c] = s[c]·W[c] and b'[c] = s[c]·(b[c] − μ[c]) + β[c].
2. **Weights, per-channel symmetric int8**: for output channel c, scale_w[c] = max|W'[c]| / 127 and
   q_w = clip(round(W'/scale_w), −127, 127). Real weights are W ≈ scale_w·q_w.
3. **Activations, per-tensor affine int8**: run the float model on a calibration set and record the
   input x of every Conv/Linear. From its range [lo, hi] (widened to hold 0):
   scale = (hi − lo)/255, zero_point = round(−128 − lo/scale), q_x = clip(round(x/scale) + zp, −128, 127).
   ``method="minmax"`` takes the smallest and largest values seen; ``method="percentile"`` takes the
   (100 − p)-th and p-th percentiles (``percentile=99.99``), ignoring rare outliers so the common
   values keep more resolution.
4. **Run**: y[c] = scale_x·scale_w[c]·Σ (q_x − zp)·q_w[c] + b'[c]. The sum of int8 products is exact
   in int32 (``accumulate="int32"``); ``accumulate="float32"`` (the default) computes the same sum
   with NumPy's float BLAS, exact while it stays below 2²⁴ (float32 rounding above) and faster in
   NumPy, which has no int8 matrix kernels. Either way the model *stores* int8; in NumPy it does
   not run faster than float32 (see benchmarks/RESULTS.md), it is smaller.

Layers between (ReLU, pooling, Flatten, Softmax) run in float32 on the dequantized values, which is
exactly what an ONNX QDQ graph (:func:`export_qdq`) asks a runtime to compute.
"""
import numpy as np

from .. import nn
from ..autograd import no_grad
from ..nn import functional as F
from ..nn.module import training_mode
from ..tensor import Tensor
from .lower import Permute, input_layout, to_sequential

__all__ = ["quantize", "fold_batchnorm", "QuantizedLinear", "QuantizedConv2d", "QuantizedSequential",
           "quantize_weight", "activation_qparams", "MinMaxObserver", "PercentileObserver",
           "save_quantized", "load_quantized"]

QMIN, QMAX = -128, 127


def _arr(t):
    return np.asarray(t.array if isinstance(t, Tensor) else t)


# ---- the arithmetic --------------------------------------------------------------------------------

def quantize_weight(w):
    """(q int8, scale float32[C]): symmetric per-output-channel int8 of ``w`` (axis 0 = channels)."""
    w = np.asarray(w, dtype=np.float32)
    amax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    shape = (-1,) + (1,) * (w.ndim - 1)
    q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def activation_qparams(lo, hi):
    """(scale, zero_point) of affine int8 for values in [lo, hi] (the range is widened to hold 0)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / (QMAX - QMIN)
    if scale <= 0 or not np.isfinite(scale):
        scale = 1.0
    zp = int(np.clip(np.round(QMIN - lo / scale), QMIN, QMAX))
    return np.float32(scale), zp


def quantize_activation(x, scale, zero_point):
    """q = clip(round(x/scale) + zero_point, −128, 127) as int8 (round half to even, as ONNX)."""
    return np.clip(np.round(x / scale) + zero_point, QMIN, QMAX).astype(np.int8)


class MinMaxObserver:
    """Records the smallest and largest value seen."""

    def __init__(self):
        self.lo, self.hi = np.inf, -np.inf

    def update(self, x):
        if x.size:
            self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))

    def range(self):
        return (self.lo, self.hi) if self.lo <= self.hi else (0.0, 0.0)


class PercentileObserver(MinMaxObserver):
    """Keeps a sample of the values (up to ``per_batch`` per batch) and cuts at the given percentile."""

    def __init__(self, percentile=99.99, per_batch=65536, seed=0):
        super().__init__()
        if not 50.0 < float(percentile) <= 100.0:
            raise ValueError(f"PercentileObserver: percentile must be in (50, 100], got {percentile}")
        self.percentile, self.per_batch = float(percentile), int(per_batch)
        self.samples, self.rng = [], np.random.default_rng(seed)

    def update(self, x):
        flat = np.asarray(x, dtype=np.float32).reshape(-1)
        if flat.size > self.per_batch:
            flat = flat[self.rng.choice(flat.size, self.per_batch, replace=False)]
        self.samples.append(flat)

    def range(self):
        if not self.samples:
            return 0.0, 0.0
        values = np.concatenate(self.samples)
        return (float(np.percentile(values, 100.0 - self.percentile)),
                float(np.percentile(values, self.percentile)))


# ---- layers ----------------------------------------------------------------------------------------

class _Quantized(nn.Module):
    """Shared buffers: int8 weights + per-channel scales, float bias, input scale and zero point."""

    _weight_buffers = ("weight_int8", "bias")

    def _setup(self, weight, bias, in_scale, in_zero_point, accumulate):
        if accumulate not in ("float32", "int32"):
            raise ValueError(f"{type(self).__name__}: accumulate must be 'float32' or 'int32', "
                             f"got {accumulate!r}")
        q, scale = quantize_weight(weight)
        self.register_buffer("weight_int8", Tensor(q))
        self.register_buffer("weight_scale", Tensor(scale))
        b = np.zeros(q.shape[0], np.float32) if bias is None else np.asarray(bias, np.float32)
        self.register_buffer("bias", Tensor(b))
        self.register_buffer("input_scale", Tensor(np.array([in_scale], np.float32)))
        self.register_buffer("input_zero_point", Tensor(np.array([in_zero_point], np.int8)))
        self.accumulate = accumulate

    def _centered_input(self, x):
        x = _arr(x).astype(np.float32, copy=False)
        q = quantize_activation(x, self.input_scale.array[0], int(self.input_zero_point.array[0]))
        zp = int(self.input_zero_point.array[0])
        if self.accumulate == "int32":
            return q.astype(np.int32) - zp
        return q.astype(np.float32) - np.float32(zp)

    def _weights(self):
        q = self.weight_int8.array
        return q.astype(np.int32) if self.accumulate == "int32" else q.astype(np.float32)

    def _rescale(self, acc, channel_axis):
        mult = (self.input_scale.array[0] * self.weight_scale.array).astype(np.float32)
        shape = [1] * acc.ndim
        shape[channel_axis] = -1
        y = acc.astype(np.float32) * mult.reshape(shape) + self.bias.array.reshape(shape)
        return Tensor(y)

    def dequantized_weight(self):
        """scale_w · q_w as float32: the weights this layer really computes with."""
        q = self.weight_int8.array.astype(np.float32)
        return q * self.weight_scale.array.reshape((-1,) + (1,) * (q.ndim - 1))


class QuantizedLinear(_Quantized):
    """y = scale_x·scale_w ⊙ ((q_x − zp) q_wᵀ) + b with int8 q_w (out, in) and per-output scales."""

    def __init__(self, linear, in_scale=1.0, in_zero_point=0, accumulate="float32", weight=None, bias=None):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        w = _arr(linear.weight) if weight is None else weight
        b = (None if linear.bias is None else _arr(linear.bias)) if bias is None else bias
        self._setup(w, b, in_scale, in_zero_point, accumulate)

    def forward(self, x):
        xc = self._centered_input(x)
        if xc.shape[-1] != self.in_features:
            raise ValueError(f"QuantizedLinear: got input of shape {xc.shape}, expected (..., "
                             f"{self.in_features})")
        return self._rescale(xc @ self._weights().T, -1)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


def _conv_int(x, w, stride, padding, dilation):
    """Integer conv2d by im2col: x (N, C, H, W) int32, w (O, C, kh, kw) int32 -> (N, O, Ho, Wo) int32."""
    (ph, pw), (sh, sw), (dh, dw) = padding, stride, dilation
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    o, c, kh, kw = w.shape
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    win = np.lib.stride_tricks.sliding_window_view(x, (eh, ew), axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw]                   # (N, C, Ho, Wo, kh, kw)
    acc = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))   # (N, Ho, Wo, O)
    return acc.transpose(0, 3, 1, 2)


class QuantizedConv2d(_Quantized):
    """conv2d with int8 weights (per-output-channel scales) on an int8-quantized input."""

    def __init__(self, conv, in_scale=1.0, in_zero_point=0, accumulate="float32", weight=None, bias=None):
        super().__init__()
        if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            if not (conv.padding == "valid" and conv.groups == 1):
                raise ValueError(f"QuantizedConv2d: {conv!r}: only groups=1, zero padding given as "
                                 "numbers (or 'valid') are supported")
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.kernel_size, self.stride, self.dilation = conv.kernel_size, conv.stride, conv.dilation
        self.padding = (0, 0) if conv.padding == "valid" else tuple(conv.padding)
        w = _arr(conv.weight) if weight is None else weight
        b = (None if conv.bias is None else _arr(conv.bias)) if bias is None else bias
        self._setup(w, b, in_scale, in_zero_point, accumulate)

    def forward(self, x):
        xc = self._centered_input(x)
        if xc.ndim != 4 or xc.shape[1] != self.in_channels:
            raise ValueError(f"QuantizedConv2d: got input of shape {xc.shape}, expected (N, "
                             f"{self.in_channels}, H, W)")
        if self.accumulate == "int32":
            acc = _conv_int(xc, self._weights(), self.stride, self.padding, self.dilation)
        else:
            acc = F.conv2d(Tensor(xc), Tensor(self._weights()), None, self.stride, self.padding,
                           self.dilation).array
        return self._rescale(acc, 1)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, int8")


class QuantizedSequential(nn.Sequential):
    """The quantized model: int8 Conv/Linear layers and float glue, run in evaluation mode.

    ``input_layout`` is 'NHWC' when the model came from a Keras model (it takes channels-last
    images, as the Keras model did). ``predict(x)`` returns a NumPy array, batch by batch.
    """

    input_layout = "NCHW"
    calibration = ""

    def forward(self, x):
        with no_grad(), training_mode(False):
            return super().forward(x)

    def predict(self, x, batch_size=256):
        x = np.asarray(x, dtype=np.float32)
        outs = [_arr(self(Tensor(x[i:i + batch_size]))) for i in range(0, len(x), batch_size)]
        return np.concatenate(outs) if outs else np.zeros((0,), np.float32)


# ---- the procedure ---------------------------------------------------------------------------------

def fold_batchnorm(model):
    """A flat nn.Sequential equal to ``model`` in evaluation mode with every BatchNorm that follows a
    Conv2d/Linear folded into it (new tensors; ``model`` is unchanged). Dropout layers are dropped."""
    seq = list(to_sequential(model).children())
    out, i = [], 0
    while i < len(seq):
        m = seq[i]
        if isinstance(m, nn.Dropout):
            i += 1
            continue
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            w = _arr(m.weight).astype(np.float32).copy()
            b = np.zeros(w.shape[0], np.float32) if m.bias is None else _arr(m.bias).astype(np.float32).copy()
            nxt = seq[i + 1] if i + 1 < len(seq) else None
            if isinstance(nxt, (nn.BatchNorm1d, nn.BatchNorm2d)) and nxt.track_running_stats:
                gamma = _arr(nxt.weight) if nxt.weight is not None else np.ones_like(b)
                beta = _arr(nxt.bias) if nxt.bias is not None else np.zeros_like(b)
                s = gamma / np.sqrt(_arr(nxt.running_var) + nxt.eps)
                w = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
                b = (b - _arr(nxt.running_mean)) * s + beta
                i += 1
            if isinstance(m, nn.Linear):
                new = nn.Linear(m.in_features, m.out_features)
            else:
                new = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation,
                                m.groups)
            new.weight.array[...] = w
            new.bias.array[...] = b
            out.append(new)
        else:
            out.append(m)
        i += 1
    return nn.Sequential(*out)


def _batches(calibration, batch_size, layout):
    if isinstance(calibration, Tensor):
        calibration = calibration.array
    if isinstance(calibration, np.ndarray):
        if len(calibration) == 0:
            raise ValueError("quantize: the calibration set is empty")
        for i in range(0, len(calibration), batch_size):
            yield calibration[i:i + batch_size].astype(np.float32)
        return
    n = 0
    for item in calibration:  # a DataLoader or any iterable of batches / (x, y) pairs
        x = item[0] if isinstance(item, (tuple, list)) else item
        n += 1
        yield _arr(x).astype(np.float32)
    if n == 0:
        raise ValueError("quantize: the calibration set is empty")


def quantize(model, calibration, method="minmax", percentile=99.99, batch_size=256, accumulate="float32",
             observer=None):
    """Post-training int8 quantization of ``model`` calibrated on ``calibration``.

    ``calibration``: an array of inputs (as the model takes them), or an iterable of batches or of
    (inputs, targets) pairs — a few hundred to a few thousand typical inputs. ``method``:
    "minmax" or "percentile". Returns a :class:`QuantizedSequential`; ``model`` is unchanged.
    """
    if method not in ("minmax", "percentile"):
        raise ValueError(f"quantize: method must be 'minmax' or 'percentile', got {method!r}")
    folded = fold_batchnorm(model)
    layers = list(folded.children())
    targets = [i for i, m in enumerate(layers) if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not targets:
        raise ValueError("quantize: the model has no Conv2d or Linear layer to quantize")

    def make():
        if observer is not None:
            return observer()
        return MinMaxObserver() if method == "minmax" else PercentileObserver(percentile)

    observers = {i: make() for i in targets}
    with no_grad(), training_mode(False):
        for xb in _batches(calibration, batch_size, input_layout(folded)):
            h = Tensor(xb)
            for i, m in enumerate(layers):
                if i in observers:
                    observers[i].update(_arr(h))
                h = m(h)
    out = []
    for i, m in enumerate(layers):
        if i in observers:
            scale, zp = activation_qparams(*observers[i].range())
            cls = QuantizedLinear if isinstance(m, nn.Linear) else QuantizedConv2d
            out.append(cls(m, scale, zp, accumulate))
        else:
            out.append(m)
    q = QuantizedSequential(*out)
    q.input_layout = "NHWC" if isinstance(layers[0], Permute) and layers[0].dims == (0, 3, 1, 2) else "NCHW"
    q.calibration = method if method == "minmax" else f"percentile {percentile:g}"
    return q


# ---- the int8 file ---------------------------------------------------------------------------------
# A plain safetensors file: the tensors "<i>.weight_int8" (I8), "<i>.weight_scale", "<i>.bias",
# "<i>.input_scale" (F32), "<i>.input_zero_point" (I8) of every quantized layer i, and in the metadata
# "shendu.compress" = "int8", "format" = "1", "input_layout", "calibration" and "layers": a JSON list
# with one {"type": ..., options} per layer. Any runtime can read it; no code is imported to load it.
_QKEYS = ("weight_int8", "weight_scale", "bias", "input_scale", "input_zero_point")


def _spec(m):
    """The JSON description of one layer of a QuantizedSequential, or None if it has none."""
    if isinstance(m, QuantizedConv2d):
        return {"type": "QuantizedConv2d", "in_channels": m.in_channels, "out_channels": m.out_channels,
                "kernel_size": list(m.kernel_size), "stride": list(m.stride), "padding": list(m.padding),
                "dilation": list(m.dilation), "accumulate": m.accumulate}
    if isinstance(m, QuantizedLinear):
        return {"type": "QuantizedLinear", "in_features": m.in_features, "out_features": m.out_features,
                "accumulate": m.accumulate}
    if isinstance(m, Permute):
        return {"type": "Permute", "dims": list(m.dims)}
    if type(m) in (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Identity):
        return {"type": type(m).__name__}
    if type(m) in (nn.Softmax, nn.LogSoftmax):
        return {"type": type(m).__name__, "dim": m.dim}
    if type(m) is nn.Flatten:
        return {"type": "Flatten", "start_dim": m.start_dim, "end_dim": m.end_dim}
    if type(m) in (nn.MaxPool2d, nn.AvgPool2d) and not getattr(m, "ceil_mode", False):
        if type(m) is nn.MaxPool2d and m.dilation not in (1, (1, 1)):
            return None
        return {"type": type(m).__name__, "kernel_size": m.kernel_size, "stride": m.stride,
                "padding": m.padding}
    return None


def _tuple(v):
    return tuple(v) if isinstance(v, list) else v


def _build(spec, tensors, i, source):
    kind = spec.get("type")
    if kind in ("QuantizedConv2d", "QuantizedLinear"):
        cls = QuantizedConv2d if kind == "QuantizedConv2d" else QuantizedLinear
        m = cls.__new__(cls)
        nn.Module.__init__(m)
        for key in _QKEYS:
            if f"{i}.{key}" not in tensors:
                raise ValueError(f"{source}: layer {i} ({kind}) has no tensor {i}.{key}")
            m.register_buffer(key, tensors[f"{i}.{key}"])
        m.accumulate = spec.get("accumulate", "float32")
        if kind == "QuantizedConv2d":
            m.in_channels, m.out_channels = spec["in_channels"], spec["out_channels"]
            for key in ("kernel_size", "stride", "padding", "dilation"):
                setattr(m, key, tuple(spec[key]))
        else:
            m.in_features, m.out_features = spec["in_features"], spec["out_features"]
        return m
    simple = {"ReLU": nn.ReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "Identity": nn.Identity}
    if kind in simple:
        return simple[kind]()
    if kind in ("Softmax", "LogSoftmax"):
        return getattr(nn, kind)(dim=spec.get("dim"))
    if kind == "Flatten":
        return nn.Flatten(spec["start_dim"], spec["end_dim"])
    if kind == "Permute":
        return Permute(spec["dims"])
    if kind in ("MaxPool2d", "AvgPool2d"):
        return getattr(nn, kind)(_tuple(spec["kernel_size"]), _tuple(spec["stride"]), _tuple(spec["padding"]))
    raise ValueError(f"{source}: layer {i} has unknown type {kind!r}")


def save_quantized(qmodel, path, metadata=None):
    """Write ``qmodel`` to a safetensors file: int8 weights, float32 scales and biases, and the layer
    list as JSON in the metadata (about a quarter of the float32 file). A model with a layer that has
    no such description (a float BatchNorm left standing alone, say) is saved with ``shendu.save``."""
    import json

    from ..serialization import save

    if not isinstance(qmodel, QuantizedSequential):
        raise TypeError(f"save_quantized: expected a QuantizedSequential (from quantize), got "
                        f"{type(qmodel).__name__}")
    meta = {"shendu.compress": "int8"}
    meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
    specs = [_spec(m) for m in qmodel.children()]
    if any(sp is None for sp in specs):
        save(qmodel, path, metadata=meta)
        return
    tensors = {f"{i}.{key}": m._buffers[key].array for i, m in enumerate(qmodel.children())
               if isinstance(m, _Quantized) for key in _QKEYS}
    meta.update({"format": "1", "layers": json.dumps(specs, separators=(",", ":")),
                 "input_layout": qmodel.input_layout, "calibration": qmodel.calibration})
    save(tensors, path, metadata=meta)


def load_quantized(path):
    """Read a file written by :func:`save_quantized` back as a runnable :class:`QuantizedSequential`."""
    import json

    from ..serialization import load

    tensors, meta = load(path, return_metadata=True)
    meta = meta or {}
    source = str(path)
    if meta.get("shendu.compress") != "int8":
        raise ValueError(f"{source}: not a quantized model (no shendu.compress=int8 in its metadata; write "
                         "one with shendu quantize or compress.save_quantized)")
    if "layers" not in meta:  # saved as an object (a layer without a JSON description)
        model = load(path)
        if not isinstance(model, QuantizedSequential):
            raise ValueError(f"{source}: holds a {type(model).__name__}, not a quantized model")
        return model
    try:
        specs = json.loads(meta["layers"])
    except ValueError as exc:
        raise ValueError(f"{source}: the layer list in the metadata is not JSON ({exc})") from None
    model = QuantizedSequential(*[_build(sp, tensors, i, source) for i, sp in enumerate(specs)])
    model.input_layout = meta.get("input_layout", "NCHW")
    model.calibration = meta.get("calibration", "")
    return model
