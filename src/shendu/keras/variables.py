"""``keras.Variable`` (and ``tf.Variable``): a weight of your own, outside any layer.

It is a :class:`shendu.nn.Parameter` (so a Tensor everywhere a tensor is taken: ops, arithmetic,
``GradientTape``, ``optimizer.apply_gradients``) with Keras's ``assign`` / ``assign_add`` /
``assign_sub``, ``value``, ``numpy()`` and ``trainable``.
"""

import numpy as np

from ..nn.parameter import Parameter
from . import backend, initializers

__all__ = ["Variable", "Assignable"]


class Assignable:
    """``assign_add`` / ``assign_sub`` from a class's ``assign`` and ``numpy`` (here and for the weights of
    Keras layers)."""

    def assign_add(self, delta):
        return self.assign(self.numpy() + np.asarray(getattr(delta, "array", delta)))

    def assign_sub(self, delta):
        return self.assign(self.numpy() - np.asarray(getattr(delta, "array", delta)))


class Variable(Assignable, Parameter):
    """``Variable(initializer, shape=None, dtype=None, trainable=True, name=None)``.

    ``initializer``: a value (number, list, array, Tensor) or a Keras initializer (a name such as
    ``"glorot_uniform"`` or an object), which then needs ``shape``.
    """

    def __init__(self, initializer=None, shape=None, dtype=None, trainable=True, name=None, **kwargs):
        if initializer is None:
            initializer = kwargs.pop("initial_value", None)
        for ignored in ("autocast", "aggregation", "synchronization"):
            kwargs.pop(ignored, None)
        if kwargs:
            raise TypeError(f"Variable: unexpected keyword argument(s) {sorted(kwargs)}")
        if isinstance(initializer, str) or (callable(initializer) and not hasattr(initializer, "__array__")):
            if shape is None:
                raise ValueError("Variable: an initializer needs shape=")
            shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
            dt = np.dtype(dtype or backend.floatx())
            value = np.asarray(initializers.get(initializer)(shape, dtype=dt), dtype=dt)
        else:
            value = np.array(getattr(initializer, "array", initializer), copy=True)
            if dtype is not None:
                value = value.astype(np.dtype(str(dtype)))
            elif value.dtype.kind == "f":
                value = value.astype(np.dtype(backend.floatx()))
            if shape is not None and tuple(value.shape) != tuple(shape):
                value = np.broadcast_to(value, tuple(shape)).copy()
        super().__init__(value, requires_grad=bool(trainable) and value.dtype.kind == "f")
        self._trainable = bool(trainable)
        self.name = name or "variable"

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        self.requires_grad = self._trainable and self.array.dtype.kind == "f"

    @property
    def value(self):
        return self

    @property
    def path(self):
        return self.name

    def assign(self, value):
        """Overwrite the contents in place (no gradient flows through an assignment)."""
        v = np.asarray(getattr(value, "array", value), dtype=self.array.dtype)
        self.array[...] = np.broadcast_to(v, self.array.shape)
        return self

    def __repr__(self):
        return f"<Variable path={self.name}, shape={tuple(self.shape)}, dtype={self.dtype}>"
