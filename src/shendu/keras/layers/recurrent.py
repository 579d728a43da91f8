"""Recurrent layers with Keras's weights: SimpleRNN, LSTM, GRU (batch, steps, features) in.

Each wraps a one-layer ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU(batch_first=True)``. Keras layouts:

* LSTM: kernel (in, 4u), recurrent_kernel (u, 4u), bias (4u,), gates i, f, c, o — PyTorch's i, f, g, o
  in the same order, transposed. Keras has ONE bias: the nn module's ``bias_hh`` stays zero and frozen.
* GRU (reset_after=True): kernel (in, 3u), recurrent_kernel (u, 3u), bias (2, 3u) = [input bias,
  recurrent bias], gates z, r, h — PyTorch holds r, z, n, so the first two blocks swap.
* SimpleRNN: kernel (in, u), recurrent_kernel (u, u), bias (u,) (``bias_hh`` frozen at zero).

Keras's initialisation: glorot_uniform kernels, orthogonal recurrent kernels, zero biases, and the
LSTM forget gate's bias at 1 (``unit_forget_bias``).
"""

import numpy as np

import shendu as sd

from ... import nn
from ...tensor import Tensor
from .. import activations as _activations
from .base import Act, Bool, Fixed, Float, InputSpec, Int, Layer, Plain, W, _is_shape, _owner, weight_args

__all__ = ["SimpleRNN", "LSTM", "GRU"]

_NO_STATE = "; pass initial_state= instead"


def _args(gated, **more):
    head = dict(units=Int(1), activation=Act("tanh"))
    if gated:
        head["recurrent_activation"] = Act("sigmoid")
    return dict(head, use_bias=Bool(True), **more,
                **weight_args(kernel="glorot_uniform", recurrent="orthogonal", bias="zeros"),
                dropout=Float(0.0, low=0, high=1, attr="dropout_rate"),
                recurrent_dropout=Float(0.0, low=0, high=1),
                return_sequences=Bool(False), return_state=Bool(False), go_backwards=Bool(False),
                stateful=Fixed(False, _NO_STATE), unroll=Bool(False), time_major=Fixed(False, "; inputs are "
                "(batch, steps, ...)", save=False), seed=Plain(save=False), implementation=Plain(save=False),
                use_cudnn=Plain("auto", save=False))


def _weights(gru=False):
    blocks = (1, 0, 2) if gru else None  # PyTorch r, z, n -> Keras z, r, h
    g = lambda s: s._gates * s.units  # noqa: E731
    return (W("kernel", "rnn.weight_ih_l0", lambda s, c: (c, g(s)), perm=(1, 0), blocks=blocks),
            W("recurrent_kernel", "rnn.weight_hh_l0", lambda s, c: (s.units, g(s)), perm=(1, 0),
              blocks=blocks, args="recurrent"),
            W("bias", ("rnn.bias_ih_l0", "rnn.bias_hh_l0") if gru else "rnn.bias_ih_l0",
              (lambda s, c: (2, g(s))) if gru else (lambda s, c: (g(s),)), blocks=blocks, when="use_bias"))


class _RNN(Layer):
    _module, _gates = nn.RNN, 1
    supports_masking = True
    _feature_name = "feature axis"

    def _setup(self):
        act = _activations.serialize(self.activation)
        allowed = ("tanh", "relu") if self._module is nn.RNN else ("tanh",)
        if act not in allowed:
            raise NotImplementedError(f"{type(self).__name__}: activation={act!r} is not supported; use "
                                      f"one of {allowed}")
        if self._module is not nn.RNN and _activations.serialize(self.recurrent_activation) != "sigmoid":
            raise NotImplementedError(f"{type(self).__name__}: recurrent_activation must be 'sigmoid'")
        if self.recurrent_dropout >= 1.0:
            raise ValueError(f"{_owner(self)}: recurrent_dropout must be in [0, 1), got "
                             f"{self.recurrent_dropout}")
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        extra = {"nonlinearity": _activations.serialize(self.activation)} if self._module is nn.RNN else {}
        self.rnn = self._module(self._known_features(input_shape), self.units, bias=self.use_bias,
                                batch_first=True, **extra)
        if self.use_bias and self._module is not nn.GRU:  # Keras has a single bias
            self.rnn.bias_hh_l0.array[...] = 0
            self.rnn.bias_hh_l0.requires_grad = False

    def call(self, inputs, initial_state=None, training=None, mask=None):
        x = inputs
        if self.go_backwards:
            x = x[:, ::-1]
            if mask is not None:
                m = np.asarray(getattr(mask, "array", mask)).astype(bool)
                mask = m[:, ::-1] if m.ndim == 2 else m
        hx = None
        lstm = self._module is nn.LSTM
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            states = [sd.unsqueeze(s if isinstance(s, Tensor) else Tensor(np.asarray(s, dtype=x.dtype)), 0)
                      for s in states]
            if len(states) != 1 + lstm:
                raise ValueError(f"{_owner(self)}: initial_state needs {1 + lstm} tensor(s) of shape (batch, "
                                 f"{self.units}), got {len(states)}")
            hx = tuple(states) if lstm else states[0]
        out, state = nn.masked_rnn(self.rnn, x, hx, mask, dropout=self.dropout_rate,
                                   recurrent_dropout=self.recurrent_dropout, training=bool(training))
        states = [sd.squeeze(s, 0) for s in (state if lstm else (state,))]
        y = out if self.return_sequences else states[0]
        return [y] + states if self.return_state else y

    def compute_mask(self, inputs, mask=None):
        return mask if (mask is not None and self.return_sequences) else None

    def compute_output_shape(self, input_shape):
        if not _is_shape(input_shape):  # called with [inputs, *initial_state]
            input_shape = input_shape[0]
        batch, steps = input_shape[0], input_shape[1]
        y = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [y] + [(batch, self.units)] * (1 + (self._module is nn.LSTM))
        return y


class SimpleRNN(_RNN):
    """Fully connected RNN: h_t = activation(x_t·kernel + h_{t−1}·recurrent_kernel + bias)."""

    keras_args = dict(_args(False), recurrent_activation=Plain(save=False))
    keras_weights = _weights()


class LSTM(_RNN):
    """Long short-term memory (Keras gates i, f, c, o; ``unit_forget_bias=True`` starts f's bias at 1)."""

    _module, _gates = nn.LSTM, 4
    keras_args = _args(True, unit_forget_bias=Bool(True))
    keras_weights = _weights()

    def _initializer(self, w):
        init, u = super()._initializer(w), self.units
        if w.name != "bias" or not self.unit_forget_bias:
            return init
        return lambda shape, dtype=None: np.concatenate([init((u,), dtype), np.ones(u, dtype or "float32"),
                                                         init((2 * u,), dtype)])


class GRU(_RNN):
    """Gated recurrent unit with ``reset_after=True`` (Keras 2/3's default; two biases, as in PyTorch)."""

    _module, _gates = nn.GRU, 3
    keras_args = _args(True, reset_after=Fixed(True, ": shendu's GRU applies the reset gate after the "
                                               "recurrent product (reset_after=True, Keras's default)"))
    keras_weights = _weights(gru=True)
