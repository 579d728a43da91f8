"""Recurrent layers as ONNX's own RNN / LSTM / GRU operators (never unrolled, never a Loop).

ONNX keeps the gates in another order than PyTorch (and shendu): LSTM rows are i, o, f, c where shendu
has i, f, g, o; GRU rows are z, r, h where shendu has r, z, n (``linear_before_reset=1`` gives PyTorch's
``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``). Weights are packed per layer as
W [D, G·H, in], R [D, G·H, H], B [D, 2·G·H] (input bias then hidden bias), D = 2 when bidirectional.
The operators run time-major (``layout=0``); ``batch_first`` becomes Transposes around them. Nothing in
the graph fixes the batch size or the sequence length.
"""
import numpy as np

from ..nn import rnn as _nnrnn
from ..ops import rnn as _oprnn
from ._export_graph import Const, ExportError, Value

_GATES = {"LSTM": (4, [0, 3, 1, 2]), "GRU": (3, [1, 0, 2]), "RNN": (1, [0])}


def _permute(a, kind, H):
    g, order = _GATES[kind]
    blocks = [a[k * H:(k + 1) * H] for k in range(g)]
    return np.concatenate([blocks[k] for k in order], axis=0)


def _node(g, kind, x, W, R, B, h0, c0, H, direction, nonlinearity="tanh"):
    inputs = [x, W, R, B or "", "", h0 or ""]
    if kind == "LSTM":
        inputs.append(c0 or "")
    while inputs[-1] == "":
        inputs.pop()
    attrs = {"hidden_size": int(H), "direction": direction}
    if kind == "GRU":
        attrs["linear_before_reset"] = 1
    if kind == "RNN":
        D = 2 if direction == "bidirectional" else 1
        attrs["activations"] = ["Relu" if nonlinearity == "relu" else "Tanh"] * D
    return g.node(kind, inputs, n_out=3 if kind == "LSTM" else 2, **attrs)


def _pack(g, kind, H, w_ihs, w_hhs, b_ihs, b_hhs, name, dtype):
    W = np.stack([_permute(w, kind, H) for w in w_ihs]).astype(dtype)
    R = np.stack([_permute(w, kind, H) for w in w_hhs]).astype(dtype)
    Wn = g.initializer(W, f"{name}.weight_ih")
    Rn = g.initializer(R, f"{name}.weight_hh")
    Bn = None
    if b_ihs[0] is not None or b_hhs[0] is not None:
        def bias(b):
            return np.zeros(_GATES[kind][0] * H, dtype) if b is None else _permute(b, kind, H)
        B = np.stack([np.concatenate([bias(bi), bias(bh)]) for bi, bh in zip(b_ihs, b_hhs)]).astype(dtype)
        Bn = g.initializer(B, f"{name}.bias")
    return Wn, Rn, Bn


def _kind(mode):
    return "LSTM" if mode == "LSTM" else "GRU" if mode == "GRU" else "RNN"


def emit_rnn_module(g, module, ins, outs):
    """nn.RNN / nn.LSTM / nn.GRU (and the Keras layers built on them): one ONNX op per layer."""
    kind = _kind(module.mode)
    nonlinearity = "relu" if module.mode == "RNN_RELU" else "tanh"
    H, L = module.hidden_size, module.num_layers
    D = 2 if module.bidirectional else 1
    x = ins[0]
    if not isinstance(x, Value):
        raise ExportError(f"{g.where}: the sequence input must be computed from the model's inputs")
    dtype = module.weight_ih_l0.array.dtype
    xn = g.name_of(x, dtype)
    unbatched = x.ndim == 2
    if unbatched:
        xn = g.node("Unsqueeze", [xn, g.ints([1])])
    elif module.batch_first:
        xn = g.node("Transpose", [xn], perm=[1, 0, 2])
    states = [s for s in ins[1:] if s is not None]
    h0 = c0 = None
    if states:
        h0 = g.name_of(states[0], dtype)
        if kind == "LSTM":
            if len(states) < 2:
                raise ExportError(f"{g.where}: an LSTM's initial state must be (h_0, c_0)")
            c0 = g.name_of(states[1], dtype)
        if unbatched:
            h0 = g.node("Unsqueeze", [h0, g.ints([1])])
            c0 = g.node("Unsqueeze", [c0, g.ints([1])]) if c0 else None
    hs, cs = [], []
    layer_in = xn
    direction = "bidirectional" if D == 2 else "forward"
    for layer in range(L):
        sfx = [f"_l{layer}"] + ([f"_l{layer}_reverse"] if D == 2 else [])

        def arr(prefix, s):
            p = getattr(module, prefix + s, None)
            return None if p is None else p.array
        W, R, B = _pack(g, kind, H, [arr("weight_ih", s) for s in sfx], [arr("weight_hh", s) for s in sfx],
                        [arr("bias_ih", s) for s in sfx], [arr("bias_hh", s) for s in sfx],
                        f"{g.scope}.l{layer}" if g.scope else f"l{layer}", dtype)

        def state(s, layer=layer):
            if s is None:
                return None
            return g.node("Slice", [s, g.ints([layer * D]), g.ints([(layer + 1) * D]), g.ints([0])])
        res = _node(g, kind, layer_in, W, R, B, state(h0), state(c0), H, direction, nonlinearity)
        Y = res[0]
        hs.append(res[1])
        if kind == "LSTM":
            cs.append(res[2])
        if D == 1:
            layer_in = g.node("Squeeze", [Y, g.ints([1])])
        else:
            t = g.node("Transpose", [Y], perm=[0, 2, 1, 3])
            layer_in = g.node("Reshape", [t, g.ints([0, 0, -1])])
    out = layer_in
    h_n = hs[0] if len(hs) == 1 else g.node("Concat", hs, axis=0)
    c_n = (cs[0] if len(cs) == 1 else g.node("Concat", cs, axis=0)) if kind == "LSTM" else None
    if unbatched:
        out = g.node("Squeeze", [out, g.ints([1])])
        h_n = g.node("Squeeze", [h_n, g.ints([1])])
        c_n = g.node("Squeeze", [c_n, g.ints([1])]) if c_n else None
    elif module.batch_first:
        out = g.node("Transpose", [out], perm=[1, 0, 2])
    names = [out, h_n] + ([c_n] if kind == "LSTM" else [])
    return names[:len(outs)]


MODULE_EMITTERS = {_nnrnn.RNNBase: emit_rnn_module} if hasattr(_nnrnn, "RNNBase") else {}


def _param_array(g, v, what):
    if isinstance(v, Const):
        return v.array
    if v is None:
        return None
    if v.param is None:
        raise ExportError(f"{g.where}: the recurrent {what} must be a weight of the model, not a computed "
                          "tensor")
    return v.param


def _layer_fn(kind):
    def emit(g, ins, attrs, outs):
        x = ins[0]
        n_state = 2 if kind == "LSTM" else 1
        states = ins[1:1 + n_state]
        w_ih, w_hh = ins[1 + n_state], ins[2 + n_state]
        rest = list(ins[3 + n_state:]) + [None, None]
        b_ih, b_hh = rest[0], rest[1]
        H = w_hh.shape[1]
        dtype = outs[0][2]
        W, R, B = _pack(g, kind, H, [_param_array(g, w_ih, "input weight")],
                        [_param_array(g, w_hh, "hidden weight")], [_param_array(g, b_ih, "bias")],
                        [_param_array(g, b_hh, "bias")], g.scope or kind.lower(), dtype)
        init = []
        for s in states:
            if isinstance(s, Const) and not np.any(s.array) and not np.any(s.array_b):
                init.append(None)  # zeros: ONNX's default initial state
            else:
                init.append(g.node("Unsqueeze", [g.name_of(s, dtype), g.ints([0])]))
        res = _node(g, kind, g.name_of(x, dtype), W, R, B, init[0], init[1] if kind == "LSTM" else None, H,
                    "reverse" if attrs.get("reverse") else "forward", attrs.get("nonlinearity", "tanh"))
        names = [g.node("Squeeze", [res[0], g.ints([1])]), g.node("Squeeze", [res[1], g.ints([0])])]
        if kind == "LSTM":
            names.append(g.node("Squeeze", [res[2], g.ints([0])]))
        return names
    return emit


LAYER_EMITTERS = {_oprnn.LSTMLayer: _layer_fn("LSTM"), _oprnn.GRULayer: _layer_fn("GRU"),
                  _oprnn.RNNLayer: _layer_fn("RNN")}
