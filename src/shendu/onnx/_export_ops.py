"""ONNX forms of shendu's operations (one emitter per ``Function``).

An emitter ``emit(g, ins, attrs, outs)`` gets the graph ``g``, the operation's inputs (``Value`` for a
traced tensor or a weight, ``Const`` for anything else, ``None`` where absent), its keyword arguments
and, for each output, ``(shape in trace A, shape in trace B, dtype)``; it appends nodes and returns the
ONNX name of each output.
"""
import math

import numpy as np

from ..ops import activation as _act
from ..ops import arithmetic as _ar
from ..ops import conv as _conv
from ..ops import dropout as _drop
from ..ops import elementwise as _el
from ..ops import embedding as _emb
from ..ops import linalg as _la
from ..ops import norm as _norm
from ..ops import reduction as _red
from ..ops import shape as _sh
from ._export_graph import INT64_MAX, INT64_MIN, Const, ExportError, Value

EMITTERS = {}


def emits(*classes):
    def register(fn):
        for c in classes:
            EMITTERS[c] = fn
        return fn
    return register


def _out_dtype(outs):
    return outs[0][2]


# ----- elementwise ---------------------------------------------------------------------------------
def _binary(op):
    def emit(g, ins, attrs, outs):
        dt = _out_dtype(outs)
        return g.node(op, [g.name_of(ins[0], dt), g.name_of(ins[1], dt)])
    return emit


for _cls, _op in ((_ar.Add, "Add"), (_ar.Sub, "Sub"), (_ar.Mul, "Mul"), (_ar.Div, "Div"),
                  (_ar.Maximum, "Max"), (_ar.Minimum, "Min")):
    EMITTERS[_cls] = _binary(_op)


@emits(_ar.Pow)
def _pow(g, ins, attrs, outs):
    dt = _out_dtype(outs)
    b = ins[1]
    if isinstance(b, Const) and b.array.ndim == 0 and float(b.array) == 2.0:
        x = g.name_of(ins[0], dt)
        return g.node("Mul", [x, x])
    return g.node("Pow", [g.name_of(ins[0], dt), g.name_of(b, dt)])


def _unary(op, **fixed):
    def emit(g, ins, attrs, outs):
        return g.node(op, [g.name_of(ins[0], _out_dtype(outs))], **fixed)
    return emit


for _cls, _op in ((_ar.Neg, "Neg"), (_ar.Exp, "Exp"), (_ar.Log, "Log"), (_ar.Sqrt, "Sqrt"), (_ar.Abs, "Abs"),
                  (_ar.Sin, "Sin"), (_ar.Cos, "Cos"), (_ar.Clone, "Identity"), (_act.Sigmoid, "Sigmoid"),
                  (_act.Tanh, "Tanh"), (_act.ReLU, "Relu"), (_el.Erf, "Erf"), (_el.Asin, "Asin"),
                  (_el.Acos, "Acos"), (_el.Atan, "Atan")):
    EMITTERS[_cls] = _unary(_op)


def _scalar(g, value, dtype):
    return g.const(np.asarray(value, dtype=dtype))


@emits(_ar.Log1p)
def _log1p(g, ins, attrs, outs):
    dt = _out_dtype(outs)
    return g.node("Log", [g.node("Add", [g.name_of(ins[0], dt), _scalar(g, 1, dt)])])


@emits(_ar.Expm1)
def _expm1(g, ins, attrs, outs):
    dt = _out_dtype(outs)
    return g.node("Sub", [g.node("Exp", [g.name_of(ins[0], dt)]), _scalar(g, 1, dt)])


@emits(_ar.Clip)
def _clip(g, ins, attrs, outs):
    dt = _out_dtype(outs)
    lo, hi = attrs.get("lo"), attrs.get("hi")
    return g.node("Clip", [g.name_of(ins[0], dt), "" if lo is None else _scalar(g, lo, dt),
                           "" if hi is None else _scalar(g, hi, dt)])


@emits(_ar.Where)
def _where(g, ins, attrs, outs):
    dt = _out_dtype(outs)
    return g.node("Where", [g.name_of(ins[0], np.bool_), g.name_of(ins[1], dt), g.name_of(ins[2], dt)])


@emits(_ar.Cast)
def _cast(g, ins, attrs, outs):
    return g.cast(g.name_of(ins[0]), attrs["dtype"])


@emits(_drop.Dropout)
def _dropout(g, ins, attrs, outs):
    return g.node("Identity", [g.name_of(ins[0])])


_STEPS = {"floor": "Floor", "ceil": "Ceil", "sign": "Sign", "rint": "Round", "round": "Round"}


@emits(_el.Step)
def _step(g, ins, attrs, outs):
    fn = attrs.get("fn")
    op = _STEPS.get(getattr(fn, "__name__", ""))
    if op is None:
        raise ExportError(f"{g.where}: the step function {getattr(fn, '__name__', fn)!r} has no ONNX form")
    return g.node(op, [g.name_of(ins[0])])


# ----- activations ---------------------------------------------------------------------------------
@emits(_act.LeakyReLU)
def _leaky(g, ins, attrs, outs):
    return g.node("LeakyRelu", [g.name_of(ins[0])], alpha=float(attrs.get("negative_slope", 0.01)))


@emits(_act.ELU)
def _elu(g, ins, attrs, outs):
    return g.node("Elu", [g.name_of(ins[0])], alpha=float(attrs.get("alpha", 1.0)))


def _phi(g, x, dt):
    """Φ(x) = ½·(1 + erf(x/√2)), the standard normal CDF."""
    e = g.node("Erf", [g.node("Mul", [x, _scalar(g, 1 / math.sqrt(2), dt)])])
    return g.node("Mul", [g.node("Add", [e, _scalar(g, 1, dt)]), _scalar(g, 0.5, dt)])


@emits(_act.NormalCdf)
def _normal_cdf(g, ins, attrs, outs):
    dt = _out_dtype(outs)
    return _phi(g, g.name_of(ins[0], dt), dt)


@emits(_act.GELU)
def _gelu(g, ins, attrs, outs):
    dt = _out_dtype(outs)
    x = g.name_of(ins[0], dt)
    if attrs.get("approximate", "none") == "tanh":  # ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
        x3 = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [x3, _scalar(g, 0.044715, dt)])])
        t = g.node("Tanh", [g.node("Mul", [inner, _scalar(g, math.sqrt(2 / math.pi), dt)])])
        half = g.node("Mul", [x, _scalar(g, 0.5, dt)])
        return g.node("Mul", [half, g.node("Add", [t, _scalar(g, 1, dt)])])
    return g.node("Mul", [x, _phi(g, x, dt)])


@emits(_act.Softplus)
def _softplus(g, ins, attrs, outs):
    dt = _out_dtype(outs)
    x = g.name_of(ins[0], dt)
    beta, threshold = float(attrs.get("beta", 1.0)), float(attrs.get("threshold", 20.0))
    bx = x if beta == 1.0 else g.node("Mul", [x, _scalar(g, beta, dt)])
    sp = g.node("Softplus", [bx])
    if beta != 1.0:
        sp = g.node("Div", [sp, _scalar(g, beta, dt)])
    # above the threshold shendu returns x itself, as PyTorch does
    big = g.node("Greater", [bx, _scalar(g, threshold, dt)])
    return g.node("Where", [big, x, sp])


@emits(_act.Softmax)
def _softmax(g, ins, attrs, outs):
    return g.node("Softmax", [g.name_of(ins[0])], axis=int(attrs.get("axis", -1)))


@emits(_act.LogSoftmax)
def _log_softmax(g, ins, attrs, outs):
    return g.node("LogSoftmax", [g.name_of(ins[0])], axis=int(attrs.get("axis", -1)))


_COMPARE = {"greater": "Greater", "less": "Less", "equal": "Equal", "greater_equal": "GreaterOrEqual",
            "less_equal": "LessOrEqual"}


def emit_compare(g, fname, ins, outs):
    a, b = ins
    dt = np.result_type(a.dtype, b.dtype)
    if fname == "not_equal":
        return g.node("Not", [g.node("Equal", [g.name_of(a, dt), g.name_of(b, dt)])])
    if fname not in _COMPARE:
        raise ExportError(f"{g.where}: the comparison {fname!r} has no ONNX form")
    return g.node(_COMPARE[fname], [g.name_of(a, dt), g.name_of(b, dt)])


# ----- linear algebra ------------------------------------------------------------------------------
@emits(_la.MatMul)
def _matmul(g, ins, attrs, outs):
    dt = _out_dtype(outs)
    return g.node("MatMul", [g.name_of(ins[0], dt), g.name_of(ins[1], dt)])


@emits(_la.Linear)
def _linear(g, ins, attrs, outs):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    dt = _out_dtype(outs)
    if x.ndim == 2:
        names = [g.name_of(x, dt), g.name_of(w, dt)] + ([g.name_of(b, dt)] if b is not None else [])
        return g.node("Gemm", names, transB=1)
    wt = g.node("Transpose", [g.name_of(w, dt)], perm=[1, 0])
    y = g.node("MatMul", [g.name_of(x, dt), wt])
    return y if b is None else g.node("Add", [y, g.name_of(b, dt)])


# ----- convolution and pooling ---------------------------------------------------------------------
def _conv_pads(padding):
    lo = [int(p[0]) if isinstance(p, (tuple, list)) else int(p) for p in padding]
    hi = [int(p[1]) if isinstance(p, (tuple, list)) else int(p) for p in padding]
    return lo + hi


@emits(_conv.Conv2d, _conv.Conv1d)
def _conv_nd(g, ins, attrs, outs):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    nd = w.ndim - 2
    dt = _out_dtype(outs)
    names = [g.name_of(x, dt), g.name_of(w, dt)] + ([g.name_of(b, dt)] if b is not None else [])
    return g.node("Conv", names, kernel_shape=list(w.shape[2:]),
                  strides=[int(s) for s in attrs.get("stride", (1,) * nd)],
                  pads=_conv_pads(attrs.get("padding", ((0, 0),) * nd)),
                  dilations=[int(d) for d in attrs.get("dilation", (1,) * nd)],
                  group=int(attrs.get("groups", 1)))


@emits(_conv.ConvTranspose2d, _conv.ConvTranspose1d)
def _conv_transpose(g, ins, attrs, outs):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    nd = w.ndim - 2
    dt = _out_dtype(outs)
    names = [g.name_of(x, dt), g.name_of(w, dt)] + ([g.name_of(b, dt)] if b is not None else [])
    pads = [int(p) for p in attrs.get("padding", (0,) * nd)]
    return g.node("ConvTranspose", names, kernel_shape=list(w.shape[2:]),
                  strides=[int(s) for s in attrs.get("stride", (1,) * nd)], pads=pads + pads,
                  output_padding=[int(p) for p in attrs.get("output_padding", (0,) * nd)],
                  dilations=[int(d) for d in attrs.get("dilation", (1,) * nd)],
                  group=int(attrs.get("groups", 1)))


def _pool_common(attrs, nd):
    k = [int(v) for v in attrs.get("kernel_size", (2,) * nd)]
    s = [int(v) for v in attrs.get("stride", k)]
    p = [int(v) for v in attrs.get("padding", (0,) * nd)]
    return dict(kernel_shape=k, strides=s, pads=p + p, ceil_mode=int(bool(attrs.get("ceil_mode", False))))


@emits(_conv.MaxPool2d, _conv.MaxPool1d)
def _max_pool(g, ins, attrs, outs):
    if attrs.get("return_indices"):
        raise ExportError(f"{g.where}: max pooling with return_indices=True has no ONNX form here")
    nd = ins[0].ndim - 2
    d = [int(v) for v in attrs.get("dilation", (1,) * nd)]
    return g.node("MaxPool", [g.name_of(ins[0])], dilations=d, **_pool_common(attrs, nd))


@emits(_conv.AvgPool2d, _conv.AvgPool1d)
def _avg_pool(g, ins, attrs, outs):
    if attrs.get("divisor_override") is not None:
        raise ExportError(f"{g.where}: average pooling with divisor_override has no ONNX form")
    nd = ins[0].ndim - 2
    common = _pool_common(attrs, nd)
    count_pad = int(bool(attrs.get("count_include_pad", True))) if any(common["pads"]) else 0
    return g.node("AveragePool", [g.name_of(ins[0])], count_include_pad=count_pad, **common)


def _adaptive(global_op, op):
    def emit(g, ins, attrs, outs):
        x = ins[0]
        size = tuple(int(s) for s in attrs.get("output_size", (1, 1)))
        if all(s == 1 for s in size):
            return g.node(global_op, [g.name_of(x)])
        spatial, spatial_b = x.shape[2:], x.shape_b[2:]
        if spatial != spatial_b or any(n % s for n, s in zip(spatial, size)):
            raise ExportError(f"{g.where}: adaptive pooling from {tuple(spatial)} to {size} is exported only "
                              "when the output size divides a fixed input size (or is 1, global pooling)")
        k = [n // s for n, s in zip(spatial, size)]
        return g.node(op, [g.name_of(x)], kernel_shape=k, strides=k)
    return emit


EMITTERS[_conv.AdaptiveAvgPool2d] = _adaptive("GlobalAveragePool", "AveragePool")
EMITTERS[_conv.AdaptiveMaxPool2d] = _adaptive("GlobalMaxPool", "MaxPool")


# ----- normalisation and embedding -----------------------------------------------------------------
@emits(_norm.BatchNorm)
def _batch_norm(g, ins, attrs, outs):
    x = ins[0]
    w = ins[1] if len(ins) > 1 else None
    b = ins[2] if len(ins) > 2 else None
    mean, var = attrs.get("running_mean"), attrs.get("running_var")
    if attrs.get("training", True) or mean is None or var is None:
        raise ExportError(f"{g.where}: batch normalisation runs with batch statistics (training mode); "
                          "export uses the running statistics, call model.eval() or use track_running_stats")
    dt = _out_dtype(outs)
    C = x.shape[1]
    scale = g.name_of(w, dt) if w is not None else g.const(np.ones(C, dt))
    bias = g.name_of(b, dt) if b is not None else g.const(np.zeros(C, dt))
    names = [g.name_of(x, dt), scale, bias, g.name_of(mean, dt), g.name_of(var, dt)]
    return g.node("BatchNormalization", names, epsilon=float(attrs.get("eps", 1e-5)))


@emits(_norm.LayerNorm)
def _layer_norm(g, ins, attrs, outs):
    x = ins[0]
    w = ins[1] if len(ins) > 1 else None
    b = ins[2] if len(ins) > 2 else None
    k = int(attrs.get("normalized_ndim", 1))
    eps = float(attrs.get("eps", 1e-5))
    dt = _out_dtype(outs)
    shape = x.shape[x.ndim - k:]
    scale = g.name_of(w, dt) if w is not None else g.const(np.ones(shape, dt))
    bias = g.name_of(b, dt) if b is not None else g.const(np.zeros(shape, dt))
    if g.opset >= 17:
        return g.node("LayerNormalization", [g.name_of(x, dt), scale, bias], axis=-k, epsilon=eps)
    axes = list(range(-k, 0))
    xn = g.name_of(x, dt)
    mean = _reduce(g, "ReduceMean", xn, axes, True)
    d = g.node("Sub", [xn, mean])
    var = _reduce(g, "ReduceMean", g.node("Mul", [d, d]), axes, True)
    y = g.node("Div", [d, g.node("Sqrt", [g.node("Add", [var, _scalar(g, eps, dt)])])])
    return g.node("Add", [g.node("Mul", [y, scale]), bias])


@emits(_norm.GroupNorm)
def _group_norm(g, ins, attrs, outs):
    x = ins[0]
    w = ins[1] if len(ins) > 1 else None
    b = ins[2] if len(ins) > 2 else None
    G, eps, dt = int(attrs.get("num_groups", 1)), float(attrs.get("eps", 1e-5)), _out_dtype(outs)
    xn = g.name_of(x, dt)
    grouped = g.node("Reshape", [xn, g.ints([0, G, -1])])
    mean = _reduce(g, "ReduceMean", grouped, [2], True)
    d = g.node("Sub", [grouped, mean])
    var = _reduce(g, "ReduceMean", g.node("Mul", [d, d]), [2], True)
    y = g.node("Div", [d, g.node("Sqrt", [g.node("Add", [var, _scalar(g, eps, dt)])])])
    y = g.node("Reshape", [y, g.shape_of(x)])
    bshape = [x.shape[1]] + [1] * (x.ndim - 2)
    if w is not None:
        y = g.node("Mul", [y, g.node("Reshape", [g.name_of(w, dt), g.ints(bshape)])])
    if b is not None:
        y = g.node("Add", [y, g.node("Reshape", [g.name_of(b, dt), g.ints(bshape)])])
    return y


@emits(_emb.Embedding)
def _embedding(g, ins, attrs, outs):
    w, idx = ins[0], ins[1]
    return g.node("Gather", [g.name_of(w), g.name_of(idx, np.int64)], axis=0)


# ----- reductions ----------------------------------------------------------------------------------
def _reduce(g, op, x, axes, keepdims):
    keep = int(bool(keepdims))
    if axes is None:
        return g.node(op, [x], keepdims=keep)
    axes = [int(a) for a in axes]
    if op == "ReduceSum" or g.opset >= 18:
        return g.node(op, [x, g.ints(axes)], keepdims=keep)
    return g.node(op, [x], axes=axes, keepdims=keep)


def _axes_attr(attrs, ndim):
    axis = attrs.get("axis")
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return [int(a) % max(ndim, 1) for a in axes]


def _reduction(op):
    def emit(g, ins, attrs, outs):
        x = ins[0]
        return _reduce(g, op, g.name_of(x), _axes_attr(attrs, x.ndim), attrs.get("keepdims", False))
    return emit


for _cls, _op in ((_red.Sum, "ReduceSum"), (_red.Mean, "ReduceMean"), (_red.Prod, "ReduceProd"),
                  (_red.Max, "ReduceMax"), (_red.Min, "ReduceMin"), (_red.LogSumExp, "ReduceLogSumExp")):
    EMITTERS[_cls] = _reduction(_op)


def _variance(g, ins, attrs, outs):
    x = ins[0]
    dt = _out_dtype(outs)
    axes = _axes_attr(attrs, x.ndim)
    ddof = int(attrs.get("ddof", 0))
    xn = g.name_of(x, dt)
    mean = _reduce(g, "ReduceMean", xn, axes, True)
    d = g.node("Sub", [xn, mean])
    var = _reduce(g, "ReduceMean", g.node("Mul", [d, d]), axes, attrs.get("keepdims", False))
    if ddof:
        dims = range(x.ndim) if axes is None else axes
        if any(x.dynamic(a) for a in dims):
            raise ExportError(f"{g.where}: a variance with ddof={ddof} over a dynamic axis is not exported")
        n = int(np.prod([x.shape[a] for a in dims]))
        var = g.node("Mul", [var, _scalar(g, n / (n - ddof), dt)])
    return var


@emits(_red.Var)
def _var(g, ins, attrs, outs):
    return _variance(g, ins, attrs, outs)


@emits(_red.Std)
def _std(g, ins, attrs, outs):
    return g.node("Sqrt", [_variance(g, ins, attrs, outs)])


# ----- shape operations ----------------------------------------------------------------------------
@emits(_sh.Reshape)
def _reshape(g, ins, attrs, outs):
    x = ins[0]
    out_a, out_b = outs[0][0], outs[0][1]
    return g.node("Reshape", [g.name_of(x), reshape_target(g, x, out_a, out_b)])


def reshape_target(g, x, out_a, out_b):
    """The Reshape target for ``x`` → ``out_a`` (``out_b`` in trace B): static entries as they are,
    dynamic ones copied (0) from the same axis of ``x``, found as a size of a traced value, or -1."""
    if tuple(x.shape) == tuple(x.shape_b):
        if tuple(out_a) != tuple(out_b):
            raise ExportError(f"{g.where}: a reshape to {tuple(out_a)} changes with the dynamic axes but its "
                              "input does not")
        return g.ints(out_a)
    entries = []  # ("lit", n) | ("copy",) | ("unknown", a, b)
    for i, (a, b) in enumerate(zip(out_a, out_b)):
        if a == b:
            entries.append(("lit", a))
        elif i < x.ndim and x.shape[i] == a and x.shape_b[i] == b:
            entries.append(("copy",))
        else:
            entries.append(("unknown", a, b))
    unknown = [i for i, e in enumerate(entries) if e[0] == "unknown"]
    zero_lit = any(e == ("lit", 0) for e in entries)
    if len(unknown) <= 1 and not zero_lit:
        return g.ints([e[1] if e[0] == "lit" else 0 if e[0] == "copy" else -1 for e in entries])
    # several entries change: compute them from Shape() of traced values (the free one becomes -1)
    pieces = []
    free = unknown[-1]
    for i, e in enumerate(entries):
        if e[0] == "lit":
            pieces.append(("lit", e[1]))
        elif e[0] == "copy":
            pieces.append(("dyn", g.dim(out_a[i], out_b[i], prefer=x)))
        else:
            d = g.dim(e[1], e[2], prefer=x)
            if d is None and i != free:
                raise ExportError(f"{g.where}: cannot express the reshape target {tuple(out_a)} of an input "
                                  f"of shape {tuple(x.shape)} for every batch size / sequence length")
            pieces.append(("dyn", d) if d is not None else ("lit", -1))
    names, static = [], []
    for kind, v in pieces:
        if kind == "lit":
            static.append(v)
        else:
            if static:
                names.append(g.ints(static))
                static = []
            names.append(v)
    if static:
        names.append(g.ints(static))
    return names[0] if len(names) == 1 else g.node("Concat", names, axis=0)


@emits(_sh.Transpose)
def _transpose(g, ins, attrs, outs):
    x = ins[0]
    perm = [int(a) % x.ndim for a in attrs["axes"]]
    return g.node("Transpose", [g.name_of(x)], perm=perm)


@emits(_sh.BroadcastTo)
def _broadcast(g, ins, attrs, outs):
    shape = g.shape_tensor(outs[0][0], outs[0][1], prefer=ins[0] if isinstance(ins[0], Value) else None)
    return g.node("Expand", [g.name_of(ins[0]), shape])


@emits(_sh.Tile)
def _tile(g, ins, attrs, outs):
    x = ins[0]
    reps = tuple(int(r) for r in attrs["reps"])
    if len(reps) > x.ndim:
        raise ExportError(f"{g.where}: tiling with more repetitions than axes is not exported")
    reps = (1,) * (x.ndim - len(reps)) + reps
    return g.node("Tile", [g.name_of(x), g.ints(reps)])


@emits(_sh.Concatenate)
def _concat(g, ins, attrs, outs):
    dt = _out_dtype(outs)
    return g.node("Concat", [g.name_of(x, dt) for x in ins], axis=int(attrs.get("axis", 0)))


@emits(_sh.Stack)
def _stack(g, ins, attrs, outs):
    dt = _out_dtype(outs)
    axis = int(attrs.get("axis", 0)) % len(outs[0][0])
    parts = [g.node("Unsqueeze", [g.name_of(x, dt), g.ints([axis])]) for x in ins]
    return g.node("Concat", parts, axis=axis)


@emits(_sh.Split)
def _split(g, ins, attrs, outs):
    x = ins[0]
    axis = int(attrs.get("axis", 0)) % x.ndim
    if x.dynamic(axis):
        raise ExportError(f"{g.where}: splitting along a dynamic axis is not exported")
    sizes = [o[0][axis] for o in outs]
    return g.node("Split", [g.name_of(x), g.ints(sizes)], n_out=len(outs), axis=axis)


@emits(_sh.Pad)
def _pad(g, ins, attrs, outs):
    x = ins[0]
    pw = [(int(lo), int(hi)) for lo, hi in attrs["pad_width"]]
    pads = [p[0] for p in pw] + [p[1] for p in pw]
    value = _scalar(g, attrs.get("value", 0.0), x.dtype)
    return g.node("Pad", [g.name_of(x), g.ints(pads), value], mode="constant")


@emits(_sh.GetItem)
def _getitem(g, ins, attrs, outs):
    x = ins[0]
    key = attrs["key"]
    parts = list(key) if isinstance(key, tuple) else [key]
    if any(p is Ellipsis for p in parts):
        i = parts.index(Ellipsis)
        used = sum(1 for p in parts if p is not None and p is not Ellipsis)
        parts[i:i + 1] = [slice(None)] * (x.ndim - used)
    starts, ends, axes, steps, squeeze, unsqueeze, gathers = [], [], [], [], [], [], []
    axis, out_pos = 0, 0
    for p in parts:
        if p is None:
            unsqueeze.append(out_pos)
            out_pos += 1
            continue
        if isinstance(p, (bool, np.bool_)):
            raise ExportError(f"{g.where}: indexing with a boolean is not exported")
        if isinstance(p, (int, np.integer)):
            i = int(p)
            starts.append(i)
            ends.append(INT64_MAX if i == -1 else i + 1)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        elif isinstance(p, slice):
            if p != slice(None):
                step = 1 if p.step is None else int(p.step)
                start = p.start if p.start is not None else (0 if step > 0 else -1)
                stop = p.stop if p.stop is not None else (INT64_MAX if step > 0 else INT64_MIN)
                starts.append(int(start))
                ends.append(int(stop))
                axes.append(axis)
                steps.append(step)
            out_pos += 1
        else:
            arr = np.asarray(p)
            if arr.dtype == bool or arr.ndim != 1 or gathers:
                raise ExportError(f"{g.where}: indexing with {arr.dtype} arrays of shape {arr.shape} (more "
                                  "than one integer index array, or a boolean mask) is not exported")
            gathers.append((axis, arr.astype(np.int64)))
            out_pos += 1
        axis += 1
    y = g.name_of(x)
    if starts:
        y = g.node("Slice", [y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    for ax, idx in gathers:
        y = g.node("Gather", [y, g.const(idx)], axis=ax)
    if squeeze:
        y = g.node("Squeeze", [y, g.ints(squeeze)])
    if unsqueeze:
        y = g.node("Unsqueeze", [y, g.ints(unsqueeze)])
    if y == g.name_of(x):
        y = g.node("Identity", [y])
    return y


@emits(_sh.Triangle)
def _triangle(g, ins, attrs, outs):
    k = g.const(np.asarray(int(attrs.get("diagonal", 0)), np.int64))
    return g.node("Trilu", [g.name_of(ins[0]), k], upper=int(bool(attrs.get("upper", False))))
