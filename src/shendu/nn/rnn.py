"""Recurrent layers with PyTorch's names, arguments, parameter layout and initialisation.

``RNN``, ``LSTM`` and ``GRU`` run whole sequences; ``RNNCell``, ``LSTMCell`` and ``GRUCell`` run one
step (for loops written by hand). The math of each cell, with its derivatives, is in
:mod:`shendu.ops.rnn`: every layer and direction is one Function over the whole sequence.

Shapes (L = sequence length, N = batch, D = 2 if bidirectional else 1, H = hidden_size):
input (L, N, input_size), or (N, L, input_size) with ``batch_first=True``, or (L, input_size)
unbatched; output (L, N, D·H) (batch first if asked), h_n and c_n always (D·num_layers, N, H).
"""
import math
import warnings

import numpy as np

from .. import ops
from .. import random as _random
from ..autograd import is_grad_enabled
from ..backend import xp
from ..errors import ShapeError
from ..ops.rnn import GRULayer, LSTMLayer, RNNLayer
from ..tensor import Tensor, as_dtype, get_default_dtype
from . import init
from .module import Module, as_input, match_float
from .parameter import Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _state_array(value):
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value))


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters, argument checks, the loop over layers and directions.

    Parameters of layer k (and ``..._reverse`` for the backward direction of a bidirectional layer):
    ``weight_ih_l{k}`` (G·H, input_size for k = 0, else D·H), ``weight_hh_l{k}`` (G·H, H),
    ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (G·H,), G = 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n).
    All start as U(−1/√H, 1/√H).
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if int(hidden_size) != hidden_size or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive integer, got {hidden_size!r}")
        if int(input_size) != input_size or input_size <= 0:
            raise ValueError(f"{name}: input_size must be a positive integer, got {input_size!r}")
        if int(num_layers) != num_layers or num_layers < 1:
            raise ValueError(f"{name}: num_layers must be an integer >= 1, got {num_layers!r}")
        if isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout!r}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size is not supported (got proj_size={proj_size})")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} acts between stacked layers, so it does nothing with "
                          f"num_layers=1", stacklevel=3)
        self.mode = mode
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.proj_size = 0
        dtype = as_dtype(dtype) or get_default_dtype()
        gh = _GATES[mode] * self.hidden_size
        directions = 2 if self.bidirectional else 1
        self._flat_weights_names = []
        for layer in range(self.num_layers):
            n_in = self.input_size if layer == 0 else directions * self.hidden_size
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gh, n_in)), ("weight_hh", (gh, self.hidden_size))]
                if self.bias:
                    shapes += [("bias_ih", (gh,)), ("bias_hh", (gh,))]
                for base, shape in shapes:
                    setattr(self, base + suffix, Parameter(xp.empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(base + suffix)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias ← U(−1/√H, 1/√H) (PyTorch's initialisation)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self):
        """Kept for PyTorch code that calls it: parameters here are always usable as they are."""

    @property
    def all_weights(self):
        """Per layer and direction: [weight_ih, weight_hh, bias_ih, bias_hh] (no biases if bias=False)."""
        per = 4 if self.bias else 2
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per]] for i in range(0, len(names), per)]

    # ----- checks -----------------------------------------------------------------------------
    def _check_input(self, x):
        if type(x) is not Tensor:
            x = as_input(x)
        w = self.weight_ih_l0
        if x.array.dtype != w.array.dtype:
            x = match_float(x, w.array.dtype, self)
        shape = tuple(x.shape)
        order = "(N, L, input_size)" if self.batch_first else "(L, N, input_size)"
        if x.ndim not in (2, 3):
            raise ShapeError(f"{self._layer_name()}: expected a 3-D input {order} or an unbatched 2-D "
                             f"input (L, input_size), got shape {shape}")
        if shape[-1] != self.input_size:
            raise ShapeError(f"{self._layer_name()}: input has {shape[-1]} features in its last dimension "
                             f"(shape {shape}), expected input_size={self.input_size}")
        return x

    def _check_state(self, h, expected, what):
        h = _state_array(h)
        if tuple(h.shape) != expected:
            raise ShapeError(f"{self._layer_name()}: {what} has shape {tuple(h.shape)}, expected {expected} "
                             f"(num_layers·num_directions, batch, hidden_size)")
        if h.dtype != self.weight_ih_l0.dtype:
            h = match_float(h, self.weight_ih_l0.dtype, self)
        return h

    # ----- forward ----------------------------------------------------------------------------
    def forward(self, input, hx=None):  # noqa: A002 (PyTorch's argument name)
        """Run the sequence; returns (output, h_n), or (output, (h_n, c_n)) for the LSTM."""
        x = self._check_input(input)
        # recording off: the layers run on the arrays (``_forward_arrays``), the same numbers
        fast = not is_grad_enabled() and not (self.training and self.dropout > 0 and self.num_layers > 1)
        unbatched = x.ndim == 2
        if unbatched:
            x = Tensor._from_op(x.array[:, None], None, 0) if fast else ops.unsqueeze(x, 1)
        elif self.batch_first:
            x = Tensor._from_op(x.array.transpose(1, 0, 2), None, 0) if fast else ops.swapaxes(x, 0, 1)
        N = x.shape[1]
        directions = 2 if self.bidirectional else 1
        H = self.hidden_size
        lstm = self.mode == "LSTM"
        expected = (directions * self.num_layers, N, H)
        h0 = c0 = None
        if hx is not None:
            if lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{self._layer_name()}: hx must be a tuple (h_0, c_0), got "
                                    f"{type(hx).__name__}")
                h0, c0 = hx
            else:
                h0 = hx
            shown = expected[::2] if unbatched else expected
            h0 = self._check_state(h0, shown, "h_0" if lstm else "hx")
            if lstm:
                c0 = self._check_state(c0, shown, "c_0")
            if unbatched:
                h0 = ops.unsqueeze(h0, 1)
                c0 = ops.unsqueeze(c0, 1) if lstm else None
        zeros = xp.zeros((N, H), dtype=self.weight_ih_l0.dtype)
        if fast:
            return self._forward_arrays(x, h0, c0, zeros, unbatched)

        layer_input = x
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                idx = layer * directions + direction
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                h_init = zeros if h0 is None else h0[idx]
                weights = (getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix),
                           getattr(self, "bias_ih" + suffix, None), getattr(self, "bias_hh" + suffix, None))
                reverse = direction == 1
                if lstm:
                    c_init = zeros if c0 is None else c0[idx]
                    out, h, c = LSTMLayer.apply(layer_input, h_init, c_init, *weights, reverse=reverse)
                    c_n.append(c)
                elif self.mode == "GRU":
                    out, h = GRULayer.apply(layer_input, h_init, *weights, reverse=reverse)
                else:
                    nonlinearity = "relu" if self.mode == "RNN_RELU" else "tanh"
                    out, h = RNNLayer.apply(layer_input, h_init, *weights, nonlinearity=nonlinearity,
                                            reverse=reverse)
                outputs.append(out)
                h_n.append(h)
            layer_input = outputs[0] if directions == 1 else ops.cat(outputs, axis=2)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                layer_input = self._dropout(layer_input)

        output = layer_input
        if len(h_n) == 1:                 # one layer, one direction: a view, no copy (h, c own their memory)
            h_n = ops.unsqueeze(h_n[0], 0)
            c_n = ops.unsqueeze(c_n[0], 0) if lstm else None
        else:
            h_n = ops.stack(h_n, axis=0)
            c_n = ops.stack(c_n, axis=0) if lstm else None
        if unbatched:
            output = ops.squeeze(output, 1)
            h_n = ops.squeeze(h_n, 1)
            c_n = ops.squeeze(c_n, 1) if lstm else None
        elif self.batch_first:
            output = ops.swapaxes(output, 0, 1)
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def _forward_arrays(self, x, h0, c0, zeros, unbatched):
        """``forward`` with recording off: the same layer Functions and the same numbers, called on the
        arrays directly (nothing to record, so no graph nodes, views or version bookkeeping per call)."""
        directions = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        h0 = None if h0 is None else h0.array
        c0 = None if c0 is None else c0.array
        layer_input = x.array
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                idx = layer * directions + direction
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                h_init = zeros if h0 is None else h0[idx]
                weights = [getattr(self, n + suffix).array for n in _WEIGHT_NAMES[:4 if self.bias else 2]]
                weights += [None] * (4 - len(weights))
                reverse = direction == 1
                if lstm:
                    c_init = zeros if c0 is None else c0[idx]
                    out, h, c = LSTMLayer().forward(layer_input, h_init, c_init, *weights, reverse=reverse)
                    c_n.append(c)
                elif self.mode == "GRU":
                    out, h = GRULayer().forward(layer_input, h_init, *weights, reverse=reverse)
                else:
                    nonlinearity = "relu" if self.mode == "RNN_RELU" else "tanh"
                    out, h = RNNLayer().forward(layer_input, h_init, *weights, nonlinearity=nonlinearity,
                                                reverse=reverse)
                outputs.append(out)
                h_n.append(h)
            layer_input = outputs[0] if directions == 1 else xp.concatenate(outputs, axis=2)
        output = layer_input
        if len(h_n) == 1:
            h_n = h_n[0][None]
            c_n = c_n[0][None] if lstm else None
        else:
            h_n = xp.stack(h_n, axis=0)
            c_n = xp.stack(c_n, axis=0) if lstm else None
        if unbatched:
            output, h_n = output[:, 0], h_n[:, 0]
            c_n = c_n[:, 0] if lstm else None
        elif self.batch_first:
            output = output.transpose(1, 0, 2)
        output, h_n = Tensor._from_op(output, None, 0), Tensor._from_op(h_n, None, 0)
        if lstm:
            return output, (h_n, Tensor._from_op(c_n, None, 0))
        return output, h_n

    def _dropout(self, x):
        """Dropout between layers: zero each element with probability p, scale the rest by 1/(1−p)."""
        p = self.dropout
        if p >= 1:
            return x * 0.0
        keep = _random.generator().random(x.shape) >= p
        return x * Tensor((keep / (1 - p)).astype(x.dtype))

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = φ(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh), φ = tanh (default) or relu.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``; ``forward(input, hx=None)`` → (output, h_n).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if nonlinearity not in modes:
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(modes[nonlinearity], input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory, PyTorch's gate order i, f, g, o:

    i = σ(W_ii x + b_ii + W_hi h + b_hi), f = σ(W_if x + b_if + W_hf h + b_hf),
    g = tanh(W_ig x + b_ig + W_hg h + b_hg), o = σ(W_io x + b_io + W_ho h + b_ho),
    c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t).

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False)``; ``forward(input, (h_0, c_0)=None)`` → (output, (h_n, c_n)).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit, PyTorch's gate order r, z, n:

    r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}.

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False)``; ``forward(input, hx=None)`` → (output, h_n).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


# ----- cells -------------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """One step of a recurrent layer: parameters ``weight_ih`` (G·H, input_size), ``weight_hh`` (G·H, H),
    ``bias_ih``, ``bias_hh`` (G·H,), all U(−1/√H, 1/√H). Input (N, input_size) or unbatched (input_size,).
    """

    _gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if int(hidden_size) != hidden_size or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive integer, got {hidden_size!r}")
        if int(input_size) != input_size or input_size <= 0:
            raise ValueError(f"{name}: input_size must be a positive integer, got {input_size!r}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.bias = bool(bias)
        dtype = as_dtype(dtype) or get_default_dtype()
        gh = self._gates * self.hidden_size
        self.weight_ih = Parameter(xp.empty((gh, self.input_size), dtype=dtype))
        self.weight_hh = Parameter(xp.empty((gh, self.hidden_size), dtype=dtype))
        if self.bias:
            self.bias_ih = Parameter(xp.empty((gh,), dtype=dtype))
            self.bias_hh = Parameter(xp.empty((gh,), dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _prepare(self, input, states):
        """Input as (1, N, in) for the one-step layer Function; states as (N, H) (zeros if None)."""
        x = input if type(input) is Tensor else as_input(input)
        w = self.weight_ih
        if x.array.dtype != w.array.dtype:
            x = match_float(x, w.array.dtype, self)
        shape = tuple(x.shape)
        if x.ndim not in (1, 2):
            raise ShapeError(f"{self._layer_name()}: expected input (N, input_size) or unbatched "
                             f"(input_size,), got shape {shape}")
        if shape[-1] != self.input_size:
            raise ShapeError(f"{self._layer_name()}: input has {shape[-1]} features in its last dimension "
                             f"(shape {shape}), expected input_size={self.input_size}")
        unbatched = x.ndim == 1
        x = ops.reshape(x, (1, 1, shape[0])) if unbatched else ops.unsqueeze(x, 0)
        N = x.shape[1]
        expected = (self.hidden_size,) if unbatched else (N, self.hidden_size)
        out = []
        for what, h in states:
            if h is None:
                out.append(xp.zeros((N, self.hidden_size), dtype=w.dtype))
                continue
            h = _state_array(h)
            if tuple(h.shape) != expected:
                raise ShapeError(f"{self._layer_name()}: {what} has shape {tuple(h.shape)}, expected "
                                 f"{expected}")
            if h.dtype != w.dtype:
                h = match_float(h, w.dtype, self)
            out.append(ops.reshape(h, (1, self.hidden_size)) if unbatched else h)
        return x, out, unbatched

    def _finish(self, h, unbatched):
        return ops.reshape(h, (self.hidden_size,)) if unbatched else h

    def _weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s


class RNNCell(RNNCellBase):
    """h' = φ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), φ = tanh or relu. ``forward(input, hx=None)`` → h'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def forward(self, input, hx=None):  # noqa: A002
        x, (h,), unbatched = self._prepare(input, [("hx", hx)])
        _, h = RNNLayer.apply(x, h, *self._weights(), nonlinearity=self.nonlinearity)
        return self._finish(h, unbatched)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o): c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c').

    ``forward(input, (h, c)=None)`` → (h', c').
    """

    _gates = 4

    def forward(self, input, hx=None):  # noqa: A002
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{self._layer_name()}: hx must be a tuple (h, c), got {type(hx).__name__}")
        h0, c0 = (None, None) if hx is None else hx
        x, (h, c), unbatched = self._prepare(input, [("h", h0), ("c", c0)])
        _, h, c = LSTMLayer.apply(x, h, c, *self._weights())
        return self._finish(h, unbatched), self._finish(c, unbatched)


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n): n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.

    ``forward(input, hx=None)`` → h'.
    """

    _gates = 3

    def forward(self, input, hx=None):  # noqa: A002
        x, (h,), unbatched = self._prepare(input, [("hx", hx)])
        _, h = GRULayer.apply(x, h, *self._weights())
        return self._finish(h, unbatched)
