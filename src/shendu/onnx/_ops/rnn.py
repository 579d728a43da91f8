"""Recurrent ops: RNN, GRU and LSTM in ONNX's layout and gate orders.

ONNX stacks the gates of W [D, G·H, I], R [D, G·H, H] and B [D, 2·G·H] (= [Wb, Rb]) as
  LSTM: i, o, f, c      GRU: z, r, h      RNN: one block,
while shendu's fused layers (PyTorch's order) expect LSTM i, f, g, o and GRU r, z, n: rows are
permuted with a differentiable index, so gradients reach W, R and B. Y is [T, D, N, H] (layout=0) or
[N, T, D, H] (layout=1); Y_h, Y_c are [D, N, H] (layout=1: [N, D, H]).

With the default activations, no clip, no peepholes, full-length sequences and (GRU)
linear_before_reset=1 the fused layers run; anything else (sequence_lens, custom activations, clip,
input_forget, peepholes, GRU linear_before_reset=0) runs a step-by-step loop of shendu ops:
  LSTM: i = f(Xᵢ + Hᵢ + Pᵢ⊙c), f' = f(X_f + H_f + P_f⊙c), c̃ = g(X_c + H_c), C = f'⊙c + i⊙c̃,
        o = f(X_o + H_o + P_o⊙C), H = o⊙h(C)
  GRU:  z = f(X_z + H_z), r = f(X_r + H_r),
        h̃ = g(X_h + (r⊙H)R_hᵀ + Rb_h)   (linear_before_reset=0)   or   g(X_h + r⊙(H R_hᵀ + Rb_h)),
        H = (1 − z)⊙h̃ + z⊙H
  RNN:  H = f(X W ᵀ + H Rᵀ + Wb + Rb)
"""
import numpy as np

from ... import ops
from ...ops import rnn as _rnn
from . import register
from ._common import arr, tensor

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_DEFAULT_ACTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}
# where each block of shendu's fused layer comes from in ONNX's stacking
_TO_FUSED = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2], "RNN": [0]}


def _activation(name, alpha, beta):
    name_l = name.lower()
    if name_l == "sigmoid":
        return ops.sigmoid
    if name_l == "tanh":
        return ops.tanh
    if name_l == "relu":
        return ops.relu
    if name_l == "affine":
        return lambda x: ops.add(ops.mul(x, alpha), beta)
    if name_l == "leakyrelu":
        return lambda x: ops.leaky_relu(x, alpha)
    if name_l == "thresholdedrelu":
        return lambda x: ops.where(arr(x) > alpha, x, ops.mul(x, 0.0))
    if name_l == "scaledtanh":
        return lambda x: ops.mul(ops.tanh(ops.mul(x, beta)), alpha)
    if name_l == "hardsigmoid":
        return lambda x: ops.clip(ops.add(ops.mul(x, alpha), beta), 0.0, 1.0)
    if name_l == "elu":
        return lambda x: ops.elu(x, alpha)
    if name_l == "softsign":
        return lambda x: ops.div(x, ops.add(ops.abs(x), 1.0))
    if name_l == "softplus":
        return lambda x: ops.log1p(ops.exp(x))
    raise NotImplementedError(f"recurrent activation {name!r} is not supported")


_ALPHA = {"affine": 1.0, "leakyrelu": 0.01, "thresholdedrelu": 1.0, "scaledtanh": 1.0, "hardsigmoid": 0.2,
          "elu": 1.0}
_BETA = {"affine": 0.0, "scaledtanh": 1.0, "hardsigmoid": 0.5}


def _activations(kind, attrs, num_dirs):
    names = attrs.get("activations") or _DEFAULT_ACTS[kind] * num_dirs
    if len(names) == len(_DEFAULT_ACTS[kind]) and num_dirs == 2:
        names = names * 2
    alphas = list(attrs.get("activation_alpha") or [])
    betas = list(attrs.get("activation_beta") or [])
    out = []
    for name in names:
        key = name.lower()
        alpha = alphas.pop(0) if key in _ALPHA and alphas else _ALPHA.get(key, 0.0)
        beta = betas.pop(0) if key in _BETA and betas else _BETA.get(key, 0.0)
        out.append(_activation(name, alpha, beta))
    per = len(_DEFAULT_ACTS[kind])
    return [out[d * per:(d + 1) * per] for d in range(num_dirs)], names


def _rows(H, blocks):
    return np.concatenate([np.arange(b * H, (b + 1) * H) for b in blocks])


def _recurrent(kind, ctx, inputs, attrs):
    inputs = list(inputs) + [None] * (8 - len(inputs))
    x, w, r, b, seq_lens, h0, c0, peep = inputs[:8]
    layout = attrs.get("layout", 0)
    x = tensor(x)
    if layout:
        x = ops.transpose(x, (1, 0, 2))
    T, N, _ = arr(x).shape
    H = attrs.get("hidden_size") or arr(r).shape[-1]
    G = _GATES[kind]
    direction = attrs.get("direction", "forward")
    D = 2 if direction == "bidirectional" else 1
    w, r = tensor(w), tensor(r)
    b = tensor(b) if b is not None else None
    if h0 is not None:
        h0 = tensor(h0)
        if layout:
            h0 = ops.transpose(h0, (1, 0, 2))
    if c0 is not None:
        c0 = tensor(c0)
        if layout:
            c0 = ops.transpose(c0, (1, 0, 2))
    lens = None if seq_lens is None else arr(seq_lens).astype(np.int64)
    acts, names = _activations(kind, attrs, D)
    default_acts = [n.lower() for n in names] == [n.lower() for n in _DEFAULT_ACTS[kind] * D] or \
        (kind == "RNN" and all(n.lower() in ("tanh", "relu") for n in names) and len(set(names)) == 1)
    fused = (default_acts and attrs.get("clip") is None and not attrs.get("input_forget", 0)
             and (peep is None or not arr(peep).any()) and (lens is None or (lens == T).all())
             and (kind != "GRU" or attrs.get("linear_before_reset", 0)))
    ys, hs, cs = [], [], []
    for d in range(D):
        reverse = direction == "reverse" or d == 1
        wd, rd = ops.getitem(w, d), ops.getitem(r, d)
        wb = rb = None
        if b is not None:
            bd = ops.getitem(b, d)
            wb, rb = ops.getitem(bd, slice(0, G * H)), ops.getitem(bd, slice(G * H, 2 * G * H))
        hd = ops.getitem(h0, d) if h0 is not None else tensor(np.zeros((N, H), arr(x).dtype))
        cd = ops.getitem(c0, d) if c0 is not None else tensor(np.zeros((N, H), arr(x).dtype))
        if fused:
            perm = _rows(H, _TO_FUSED[kind])
            wf, rf = ops.getitem(wd, perm), ops.getitem(rd, perm)
            bf = (ops.getitem(wb, perm), ops.getitem(rb, perm)) if wb is not None else (None, None)
            if kind == "LSTM":
                y, h, c = _rnn.LSTMLayer.apply(x, hd, cd, wf, rf, *bf, reverse=reverse)
                cs.append(c)
            elif kind == "GRU":
                y, h = _rnn.GRULayer.apply(x, hd, wf, rf, *bf, reverse=reverse)
            else:
                y, h = _rnn.RNNLayer.apply(x, hd, wf, rf, *bf, nonlinearity=names[0].lower(), reverse=reverse)
        else:
            pd = ops.getitem(tensor(peep), d) if peep is not None else None
            y, h, c = _loop(kind, x, wd, rd, wb, rb, hd, cd, pd, lens, acts[d], reverse, H, attrs)
            cs.append(c)
        ys.append(y)
        hs.append(h)
    y = ops.stack(ys, axis=1)                       # [T, D, N, H]
    y_h = ops.stack(hs, axis=0)                     # [D, N, H]
    y_c = ops.stack(cs, axis=0) if kind == "LSTM" else None
    if layout:
        y = ops.transpose(y, (2, 0, 1, 3))
        y_h = ops.transpose(y_h, (1, 0, 2))
        y_c = ops.transpose(y_c, (1, 0, 2)) if y_c is not None else None
    outs = (y, y_h) + ((y_c,) if kind == "LSTM" else ())
    return outs[:ctx.n_outputs] if ctx.n_outputs > 1 else outs[0]


def _loop(kind, x, w, r, wb, rb, h, c, peep, lens, acts, reverse, H, attrs):
    T = arr(x).shape[0]
    clip = attrs.get("clip")
    xw = ops.matmul(x, ops.transpose(w, (1, 0)))    # [T, N, G·H]
    if wb is not None:
        xw = ops.add(xw, wb)
    rt = ops.transpose(r, (1, 0))

    def block(v, i):
        return ops.getitem(v, (Ellipsis, slice(i * H, (i + 1) * H)))

    def clipped(v):
        return ops.clip(v, -clip, clip) if clip is not None else v

    outs = [None] * T
    steps = range(T - 1, -1, -1) if reverse else range(T)
    for t in steps:
        xt = ops.getitem(xw, t)
        if kind == "GRU":
            f, g = acts
            rz = ops.matmul(h, ops.getitem(rt, (slice(None), slice(0, 2 * H))))
            if rb is not None:
                rz = ops.add(rz, ops.getitem(rb, slice(0, 2 * H)))
            z = f(clipped(ops.add(block(xt, 0), block(rz, 0))))
            rg = f(clipped(ops.add(block(xt, 1), block(rz, 1))))
            rh = ops.getitem(rt, (slice(None), slice(2 * H, 3 * H)))
            rbh = ops.getitem(rb, slice(2 * H, 3 * H)) if rb is not None else 0.0
            if attrs.get("linear_before_reset", 0):
                hh = ops.mul(rg, ops.add(ops.matmul(h, rh), rbh))
            else:
                hh = ops.add(ops.matmul(ops.mul(rg, h), rh), rbh)
            cand = g(clipped(ops.add(block(xt, 2), hh)))
            new_h = ops.add(ops.mul(ops.sub(1.0, z), cand), ops.mul(z, h))
            new_c = c
        elif kind == "LSTM":
            f, g, hact = acts
            a = ops.add(xt, ops.matmul(h, rt))
            if rb is not None:
                a = ops.add(a, rb)
            ai, ao, af, ac = (block(a, k) for k in range(4))
            if peep is not None:
                ai = ops.add(ai, ops.mul(ops.getitem(peep, slice(0, H)), c))
                af = ops.add(af, ops.mul(ops.getitem(peep, slice(2 * H, 3 * H)), c))
            i = f(clipped(ai))
            fg = ops.sub(1.0, i) if attrs.get("input_forget", 0) else f(clipped(af))
            new_c = ops.add(ops.mul(fg, c), ops.mul(i, g(clipped(ac))))
            if peep is not None:
                ao = ops.add(ao, ops.mul(ops.getitem(peep, slice(H, 2 * H)), new_c))
            o = f(clipped(ao))
            new_h = ops.mul(o, hact(new_c))
        else:
            a = ops.add(xt, ops.matmul(h, rt))
            if rb is not None:
                a = ops.add(a, rb)
            new_h = acts[0](clipped(a))
            new_c = c
        if lens is not None:
            valid = (t < lens).reshape(-1, 1)
            new_h = ops.where(valid, new_h, h)
            new_c = ops.where(valid, new_c, c)
            outs[t] = ops.where(valid, new_h, ops.mul(new_h, 0.0))
        else:
            outs[t] = new_h
        h, c = new_h, new_c
    return ops.stack(outs, axis=0), h, c


for _kind in ("LSTM", "GRU", "RNN"):
    register(_kind, 7)(lambda ctx, inputs, attrs, _k=_kind: _recurrent(_k, ctx, inputs, attrs))
