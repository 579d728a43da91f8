"""Layers that combine a list of tensors: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot."""

import operator

import shendu as sd

from ...nn.functional import normalize
from .base import Arg, Bool, Int, Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add",
    "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


def _broadcast_shape(shapes, name):
    out = []
    for dims in zip(*[s[::-1] for s in shapes]):
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"{name}: inputs with shapes {shapes} cannot be combined")
        out.append(known.pop() if known else (None if None in dims else 1))
    longest = max(shapes, key=len)
    return tuple(longest[: len(longest) - len(out)]) + tuple(out[::-1])


class _Merge(Layer):
    _exactly = None  # the number of inputs, when fixed

    def _check(self, inputs):
        n = self._exactly
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2 or n is not None and len(inputs) != n:
            want = "at least 2" if n is None else f"exactly {n}"
            raise ValueError(f"{type(self).__name__} '{self.name}' should be called on a list of {want} "
                             f"inputs, got {type(inputs).__name__}")

    def build(self, input_shape):
        self._check(input_shape)

    def call(self, inputs):
        self._check(inputs)
        out = inputs[0]
        for x in inputs[1:]:
            out = self._combine(out, x)
        return self._finish(out, len(inputs))

    def _finish(self, out, n):
        return out

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return _broadcast_shape([tuple(s) for s in input_shape], f"{type(self).__name__} '{self.name}'")


def _elementwise(name, combine, doc):
    return type(name, (_Merge,), {"_combine": staticmethod(combine), "__doc__": doc, "__module__": __name__})


Add = _elementwise("Add", operator.add,
                   "Element-wise sum of the inputs (a residual connection: ``Add()([x, shortcut])``).")
Multiply = _elementwise("Multiply", operator.mul, "Element-wise product of the inputs.")
Maximum = _elementwise("Maximum", sd.maximum, "Element-wise maximum of the inputs.")
Minimum = _elementwise("Minimum", sd.minimum, "Element-wise minimum of the inputs.")


class Subtract(_Merge):
    """inputs[0] − inputs[1] (exactly two inputs)."""

    _exactly, _combine = 2, staticmethod(operator.sub)


class Average(_Merge):
    """Element-wise mean of the inputs."""

    _combine = staticmethod(operator.add)

    def _finish(self, out, n):
        return out * (1.0 / n)


class Concatenate(_Merge):
    """Join the inputs along ``axis`` (default the last)."""

    keras_args = dict(axis=Int(default=-1))

    def call(self, inputs):
        self._check(inputs)
        return sd.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        shapes = [tuple(s) for s in input_shape]
        nd = len(shapes[0])
        if any(len(s) != nd for s in shapes):
            raise ValueError(f"Concatenate '{self.name}': inputs must have the same rank, got shapes "
                             f"{shapes}")
        out = []
        for i, dims in enumerate(zip(*shapes)):
            known = {d for d in dims if d is not None}
            if i == self.axis % nd:
                out.append(None if None in dims else sum(dims))
            elif len(known) > 1:
                raise ValueError(f"Concatenate '{self.name}' requires inputs with matching shapes except "
                                 f"for the concatenation axis; got shapes {shapes}")
            else:
                out.append(known.pop() if known else None)
        return tuple(out)


def _feature_axis(layer, name, axes):
    if not isinstance(axes, int) or axes not in (-1, 1):
        raise NotImplementedError("Dot: only axes=-1 (the feature axis of 2-D inputs) is supported")
    return axes


class Dot(_Merge):
    """Dot product of two (batch, n) tensors along ``axes`` (-> (batch, 1)); ``normalize`` uses cosines."""

    keras_args = dict(axes=Arg(-1, _feature_axis), normalize=Bool(False))

    def call(self, inputs):
        a, b = inputs
        if self.normalize:  # Keras's l2_normalize: v / √max(Σv², 1e-12)
            a, b = normalize(a, dim=-1, eps=1e-6), normalize(b, dim=-1, eps=1e-6)
        return (a * b).sum(axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)


def _functional(cls):
    def fn(inputs, **kwargs):
        return cls(**kwargs)(inputs)

    fn.__name__ = cls.__name__.lower()
    fn.__doc__ = f"``{cls.__name__}(**kwargs)(inputs)``."
    return fn


add, subtract, multiply, average, maximum, minimum, concatenate, dot = map(
    _functional, (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot))
