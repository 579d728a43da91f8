"""Layer wrappers: Bidirectional (a forward and a backward copy of an RNN) and TimeDistributed."""

import operator

import shendu as sd

from .base import REQUIRED, Arg, Layer, LayerArg, Plain, _is_shape
from .recurrent import _RNN

__all__ = ["Bidirectional", "TimeDistributed"]


_MERGES = {"concat": lambda f, b: sd.concatenate([f, b], axis=-1), "sum": operator.add, "mul": operator.mul,
           "ave": lambda f, b: (f + b) * 0.5, None: lambda f, b: [f, b]}


def _clone_layer(layer, **changes):
    config = layer.get_config()
    config.update(changes)
    config.pop("batch_input_shape", None)
    return type(layer).from_config(config)


class Bidirectional(Layer):
    """Runs ``layer`` forwards and a copy of it backwards over time and merges the two outputs.

    ``merge_mode``: 'concat' (default), 'sum', 'mul', 'ave' or None (a list of both). With
    ``return_sequences`` the backward output is flipped back so step t of both lines up.
    Weights: the forward layer's, then the backward layer's.
    """

    keras_args = dict(layer=Arg(REQUIRED, save=dict, load=LayerArg().load, attr="_inner_config"),
                      merge_mode=Plain("concat"))

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if merge_mode not in _MERGES:
            raise ValueError("Bidirectional: merge_mode must be 'concat', 'sum', 'mul', 'ave' or None, got "
                             f"{merge_mode!r}")
        if not isinstance(layer, Layer) or not hasattr(layer, "return_sequences"):
            raise ValueError(f"Bidirectional needs a recurrent layer (LSTM, GRU, SimpleRNN), got {layer!r}")
        if "input_shape" not in kwargs and layer._batch_input_shape is not None:
            kwargs["batch_input_shape"] = layer._batch_input_shape
        super().__init__(weights=weights, **kwargs)
        self.forward_layer = _clone_layer(layer, name="forward_" + layer.name)
        self.backward_layer = backward_layer if backward_layer is not None else _clone_layer(
            layer, name="backward_" + layer.name, go_backwards=not layer.go_backwards)
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        self._inner_config = {"class_name": type(layer).__name__, "config": layer.get_config()}

    def build(self, input_shape):
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)

    def call(self, inputs, initial_state=None, training=None):
        fs = bs = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fs, bs = initial_state[:half], initial_state[half:]
        yf = self.forward_layer(inputs, initial_state=fs, training=training)
        yb = self.backward_layer(inputs, initial_state=bs, training=training)
        states = []
        if self.return_state:
            (yf, *states_f), (yb, *states_b) = yf, yb
            states = states_f + states_b
        if self.return_sequences:
            yb = yb[:, ::-1]
        y = _MERGES[self.merge_mode](yf, yb)
        if self.return_state:
            return (y if isinstance(y, list) else [y]) + states
        return y

    compute_mask = _RNN.compute_mask  # the mask goes on with the sequences

    def compute_output_shape(self, input_shape):
        f = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            f, states = f[0], list(f[1:])
        mode = self.merge_mode
        y = tuple(f[:-1]) + (f[-1] * 2,) if mode == "concat" else [f, f] if mode is None else f
        if self.return_state:
            return (y if isinstance(y, list) else [y]) + states + states
        return y


class TimeDistributed(Layer):
    """Applies ``layer`` to every time step: (batch, steps, ...) -> (batch, steps, ...out)."""

    keras_args = dict(layer=LayerArg())

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"TimeDistributed '{self.name}': the input needs at least 3 axes "
                             f"(batch, steps, ...), got {input_shape}")
        self.layer._maybe_build((None,) + tuple(input_shape[2:]))

    def call(self, inputs, training=None):
        n, t = inputs.shape[0], inputs.shape[1]
        flat = sd.reshape(inputs, (n * t,) + tuple(inputs.shape[2:]))
        y = self.layer(flat, training=training)
        return sd.reshape(y, (n, t) + tuple(y.shape[1:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        if not _is_shape(inner):
            raise NotImplementedError("TimeDistributed: layers with several outputs are not supported")
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])
