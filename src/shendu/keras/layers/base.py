"""The Keras ``Layer`` base class, symbolic tensors and ``Input``.

A Keras layer is an :class:`shendu.nn.Module` that

* builds itself from the first input shape it sees (``build(input_shape)``, batch axis included);
* can be called on real data (Tensors / arrays) or on symbolic :class:`KerasTensor` s from
  :func:`Input`, which records a graph node so ``Model(inputs, outputs)`` can run it later;
* reports its weights in Keras's layouts (``get_weights`` / ``set_weights``: a Dense kernel is
  (in, units) while the ``nn.Linear`` inside holds (units, in)); the conversion lives in each layer's
  :meth:`Layer._weight_specs`;
* starts in inference mode (``training=False``) as Keras layers do: ``fit`` switches it to training
  mode for the training steps only.
"""

import collections
import contextlib
import contextvars
import functools
import inspect
import threading

import numpy as np

import shendu as sd

from ...autograd import no_grad
from ...nn.module import Module, training_mode
from ...nn.parameter import Parameter
from ...tensor import Tensor
from .. import backend
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from ..variables import Assignable

__all__ = ["Layer", "KerasTensor", "Node", "InputLayer", "Input", "InputSpec", "WeightSpec", "Variable",
           "map_structure", "flatten_structure", "is_symbolic", "weight_budget",
           "Arg", "W", "Int", "Ints", "IntList", "REQUIRED", "Float", "Bool", "Choice", "DataFormat", "Plain",
           "Fixed", "Init", "Reg", "Con", "Act", "LayerArg", "weight_args", "channels_first"]


# ----- argument checks ----------------------------------------------------------------------------
def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _int_arg(layer, arg, value, minimum=None):
    """``value`` as an int; floats (``2.5``, also ``2.0`` or ``5e7`` from a config), bools and strings are
    refused, as Keras refuses them; the message names ``layer``."""
    bound = "" if minimum is None else " (positive)" if minimum == 1 else f" >= {minimum}"
    want = f"{_owner(layer)}: argument '{arg}' must be an integer{bound}, got"
    if not _is_int(value):
        raise ValueError(f"{want} {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{want} {int(value)}")
    return int(value)


def _int_tuple_arg(layer, arg, value, minimum=None, n=None):
    """A sequence of ints (of ``n`` of them, when given; then also one int, repeated) as a tuple."""
    if n is not None and _is_int(value):
        value = (value,) * n
    if not isinstance(value, (list, tuple)) or n is not None and len(value) != n:
        want = "a tuple of integers" if n is None else f"an integer or a tuple of {n} integers"
        raise ValueError(f"{_owner(layer)}: argument '{arg}' must be {want}, got {value!r}")
    return tuple(_int_arg(layer, arg, v, minimum) for v in value)


def _owner(layer):
    return f"{type(layer).__name__} '{layer.name}'"


def _shape_error(layer_name, name, want, got):
    return ValueError(f"Layer '{layer_name}': weight '{name}' has shape {tuple(want)}, but the value given "
                      f"has shape {tuple(got)}")


# ----- declared Keras arguments -------------------------------------------------------------------
_REQUIRED = REQUIRED = object()  # the default of an argument that must be given


class Arg:
    """One Keras constructor argument of a layer, declared once in the class's ``keras_args``.

    ``parse(layer, name, value)`` checks the value and gives what the layer stores (as ``attr``, by default
    the argument's name); ``save(stored)`` is what ``get_config`` writes; ``load(saved, custom_objects)``
    turns a config value back into something ``parse`` accepts (``from_config``). ``save=False`` keeps an
    argument out of the config.
    """

    __slots__ = ("default", "parse", "save", "load", "attr")

    def __init__(self, default=_REQUIRED, parse=None, save=None, load=None, attr=None, optional=False):
        """``optional``: ``None`` is also accepted (and stored as is)."""
        self.default, self.load, self.attr = default, load, attr
        self.parse = given = parse or (lambda layer, name, v: v)
        if optional:
            self.parse = lambda layer, name, v: None if v is None else given(layer, name, v)
        self.save = save if save is not None else (lambda v: v)


def Int(minimum=None, default=_REQUIRED, **kw):
    """An integer (``minimum=1``: positive); floats, bools and strings are refused."""
    return Arg(default, lambda layer, name, v: _int_arg(layer, name, v, minimum), **kw)


def Ints(minimum=1, default=_REQUIRED, n=None, **kw):
    """An int or ``n`` ints (``n`` defaults to the layer's ``_rank``), stored as a tuple, saved as a list."""
    def parse(layer, name, v):
        return _int_tuple_arg(layer, name, v, minimum, n or layer._rank)

    return Arg(default, parse, lambda v: None if v is None else list(v), **kw)


def IntList(minimum=None, default=_REQUIRED, **kw):
    """A tuple or list of integers of any length, stored as a tuple, saved as a list."""
    return Arg(default, lambda layer, name, v: _int_tuple_arg(layer, name, v, minimum), list, **kw)


def Float(default=_REQUIRED, low=None, high=None, **kw):
    """A number within [low, high] (bools refused), stored as a float."""
    def parse(layer, name, v):
        ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        if not ok or (low is not None and v < low) or (high is not None and v > high):
            bounds = f" in [{low}, {high}]" if high is not None else f" >= {low}" if low is not None else ""
            raise ValueError(f"{_owner(layer)}: argument '{name}' must be a number{bounds}, got {v!r}")
        return float(v)

    return Arg(default, parse, **kw)


def Bool(default, **kw):
    return Arg(default, lambda layer, name, v: bool(v), **kw)


def Choice(default, *choices, **kw):
    """One of ``choices`` (strings compared in lower case); ``None`` gives ``default``."""
    def parse(layer, name, v):
        value = default if v is None else str(v).lower()
        if value not in choices:
            raise ValueError(f"{_owner(layer)}: argument '{name}' must be one of {choices}, got {v!r}")
        return value

    return Arg(default, parse, **kw)


def DataFormat(**kw):
    return Choice("channels_last", "channels_last", "channels_first", **kw)


def Plain(default=None, **kw):
    """Stored and saved as given."""
    return Arg(default, **kw)


def Fixed(default, hint="", **kw):
    """An argument shendu accepts only at its default: anything else raises ``NotImplementedError``."""
    def parse(layer, name, v):
        if v != default and not (isinstance(default, tuple) and list(default) == v):
            raise NotImplementedError(f"{_owner(layer)}: {name}={v!r} is not supported{hint}")
        return v

    return Arg(default, parse, **kw)


def _registry_kind(module, default=None, **kw):
    """An initializer, regularizer, constraint or activation: ``module.get`` it, save it serialized."""
    return Arg(default, lambda layer, name, v: module.get(v), module.serialize,
               lambda v, custom_objects: module.deserialize(v, custom_objects), **kw)


Init = functools.partial(_registry_kind, _initializers)
Reg = functools.partial(_registry_kind, _regularizers)
Con = functools.partial(_registry_kind, _constraints)


def Act(default=None, **kw):
    from .. import activations

    return _registry_kind(activations, default, **kw)


def LayerArg(**kw):
    """A Keras layer, saved as ``{"class_name", "config"}``."""
    def parse(layer, name, v):
        if not isinstance(v, Layer):
            raise ValueError(f"{type(layer).__name__}: argument '{name}' must be a Keras layer, got {v!r}")
        return v

    def load(v, custom_objects):
        from . import deserialize

        return deserialize(v, custom_objects) if isinstance(v, dict) else v

    save = lambda v: {"class_name": type(v).__name__, "config": v.get_config()}  # noqa: E731
    return Arg(_REQUIRED, parse, save, load, **kw)


def weight_args(activity=True, **families):
    """The Keras block ``<w>_initializer`` for each weight family, then ``<w>_regularizer`` s,
    ``activity_regularizer`` and ``<w>_constraint`` s:
    ``weight_args(kernel="glorot_uniform", bias="zeros")``."""
    out = {f"{w}_initializer": Init(init) for w, init in families.items()}
    out.update({f"{w}_regularizer": Reg() for w in families})
    if activity:
        out["activity_regularizer"] = Reg()
    out.update({f"{w}_constraint": Con() for w in families})
    return out


# ----- declared Keras weights ---------------------------------------------------------------------
class W:
    """One Keras weight of a layer, declared once in the class's ``keras_weights``.

    ``name``: the Keras name; ``path``: the nn tensor inside (dotted attributes, ``"linear.weight"``; a tuple
    of paths stacks several tensors on a new first Keras axis, as GRU's two biases);
    ``shape(layer, features)``: its Keras shape, where ``features`` is ``layer._features(input_shape)``;
    ``perm``: the axis order taking the nn layout to Keras's (followed by a reshape to the Keras shape;
    a callable of the layer, or None for the same layout); ``blocks``: the order of the equal gate blocks
    along the nn tensor's first axis in Keras (``(1, 0, 2)`` swaps the first two); ``args``: the argument
    family whose ``<args>_initializer``, ``_regularizer`` and ``_constraint`` apply (default ``name``);
    ``when``: the name of a boolean attribute that must be true for the weight to exist (``"use_bias"``);
    ``state``: non-trainable state such as moving averages.
    """

    __slots__ = ("name", "path", "shape", "perm", "blocks", "args", "when", "state")

    def __init__(self, name, path, shape, perm=None, blocks=None, args=None, when=None, state=False):
        self.name, self.path, self.shape, self.perm, self.blocks = name, path, shape, perm, blocks
        self.args, self.when, self.state = args or name, when, state

    def active(self, layer):
        return self.when is None or bool(getattr(layer, self.when))

    def tensor(self, layer, path=None):
        obj = layer
        for part in (path or self.path).split("."):
            obj = getattr(obj, part, None)
        return obj

    def spec(self, layer):
        """The :class:`WeightSpec` of this weight in ``layer`` (None when it does not exist)."""
        paths = self.path if isinstance(self.path, tuple) else (self.path,)
        tensors = [self.tensor(layer, p) for p in paths] if self.active(layer) else [None]
        if any(t is None for t in tensors):
            return None
        kw = dict(state=self.state, regularizer=getattr(layer, f"{self.args}_regularizer", None),
                  constraint=getattr(layer, f"{self.args}_constraint", None))
        if len(paths) > 1:
            shape = tuple(int(d) for d in self.shape(layer, layer._wfeat))
            parts = [(t,) + self.layout(layer, shape[1:], t.array.shape) for t in tensors]
            return _StackedSpec(self.name, parts, shape, **kw)
        shape = self.keras_shape(layer, tensors[0].array.shape)
        return WeightSpec(self.name, tensors[0], *self.layout(layer, shape, tensors[0].array.shape),
                          shape=shape, **kw)

    def _perm(self, layer, ndim):
        perm = self.perm(layer) if callable(self.perm) else self.perm
        return tuple(range(ndim)) if perm is None else tuple(perm)

    def keras_shape(self, layer, nn_shape):
        """The declared Keras shape; the nn shape in Keras's axis order when the tensor was resized since
        (channel pruning)."""
        moved = tuple(int(nn_shape[p]) for p in self._perm(layer, len(nn_shape)))
        declared = tuple(int(d) for d in self.shape(layer, layer._wfeat))
        return declared if int(np.prod(declared)) == int(np.prod(moved)) else moved

    def layout(self, layer, keras_shape, nn_shape):
        """(to_keras, from_keras) between the nn tensor's layout and Keras's."""
        perm = self._perm(layer, len(nn_shape))
        if perm == tuple(range(len(nn_shape))) and tuple(nn_shape) == keras_shape and self.blocks is None:
            return None, self._checked(layer, keras_shape, lambda a: a)
        inv, moved = tuple(np.argsort(perm)), tuple(nn_shape[p] for p in perm)
        blocks = self.blocks
        order, back = (None, None) if blocks is None else (list(blocks), list(np.argsort(blocks)))

        def reorder(a, blocks):
            return a if blocks is None else np.concatenate([np.split(a, len(blocks))[b] for b in blocks])

        def to_keras(a):
            return np.ascontiguousarray(np.transpose(reorder(a, order), perm)).reshape(keras_shape)

        def from_keras(k):
            return np.ascontiguousarray(reorder(np.transpose(np.reshape(k, moved), inv), back))

        return to_keras, self._checked(layer, keras_shape, from_keras)

    def _checked(self, layer, keras_shape, from_keras):
        def checked(k):
            if tuple(np.shape(k)) != keras_shape:
                raise _shape_error(layer.name, self.name, keras_shape, np.shape(k))
            return from_keras(k)

        return checked


def channels_first(x, axis, fn):
    """``fn`` (an NCHW-style computation) applied to ``x`` with ``axis`` moved to position 1; the result's
    axis 1 is moved back to ``axis``."""
    axis %= x.ndim
    if axis == 1:
        return fn(x)
    order = (0, axis) + tuple(i for i in range(1, x.ndim) if i != axis)
    made = x.__dict__.get("_channels_first")  # x is the last layer's result moved back: take it as it was
    same = made is not None and made[0] == order and made[2] is x.grad_fn and made[3] is x.array
    y = fn(made[1] if same else sd.permute(x, order))
    out = sd.permute(y, tuple(order.index(i) for i in range(x.ndim)))
    out._channels_first = (order, y, out.grad_fn, out.array)  # unchanged since (no in-place op): reusable
    return out


# ----- building from a model file: weights must exist in the file before they are allocated -----
_WEIGHT_BUDGET = contextvars.ContextVar("shendu_keras_weight_budget", default=None)


class _WeightBudget:
    """The weight shapes a model file holds. While a model is rebuilt from the file, each layer takes the
    shapes it is about to create from here BEFORE it allocates them, so a config that asks for more or
    bigger weights than the file stores is refused without building anything large."""

    def __init__(self, source, shapes, error):
        self.source, self.error = source, error
        self.left = collections.Counter(tuple(shape) for shape in shapes)

    def take(self, layer, wanted):
        for name, shape in wanted:
            shape = tuple(int(d) for d in shape)
            if self.left.get(shape, 0) <= 0:
                n = int(np.prod(shape, dtype=np.float64))
                stored = sorted(self.left, key=lambda s: -self.left[s])[:6]
                raise self.error(
                    f"{self.source}: layer '{layer.name}' ({type(layer).__name__}) would create the weight "
                    f"'{name}' of shape {shape} ({n:,} values), but the file stores no weight of that shape "
                    f"(shapes left in the file: {stored}): the config does not match the stored weights")
            self.left[shape] -= 1


@contextlib.contextmanager
def weight_budget(source, shapes, error=ValueError):
    """Within the block, built-in layers check each weight they build against ``shapes`` (those stored
    in the file ``source``) before allocating it, and raise ``error`` naming the file and the layer."""
    token = _WEIGHT_BUDGET.set(_WeightBudget(source, shapes, error))
    try:
        yield
    finally:
        _WEIGHT_BUDGET.reset(token)


# ----- nested structures ------------------------------------------------------------------------
def map_structure(fn, obj):
    """Apply ``fn`` to every leaf of nested lists / tuples / dicts."""
    if isinstance(obj, (list, tuple)):
        return type(obj)(map_structure(fn, o) for o in obj)
    if isinstance(obj, dict):
        return {k: map_structure(fn, v) for k, v in obj.items()}
    return fn(obj)


def flatten_structure(obj):
    leaves = []
    map_structure(leaves.append, obj)
    return leaves


def is_symbolic(obj):
    if isinstance(obj, Tensor):  # the eager call's usual argument: nothing to walk
        return False
    return any(isinstance(t, KerasTensor) for t in flatten_structure(obj))


def _is_shape(obj):
    return isinstance(obj, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in obj)


@functools.cache
def _np_dtype(name):
    """``np.dtype(name)``, looked up once per name (a layer's dtype is checked on every call)."""
    return np.dtype(name)


def _in_dtype(x, dtype):
    """A floating-point Tensor input cast to the layer's dtype (other inputs as they are)."""
    if isinstance(x, Tensor):
        have = x.dtype
        if have.kind == "f" and have != _np_dtype(dtype):
            return x.to(dtype)
    return x


_EagerPlan = collections.namedtuple("_EagerPlan", "direct training mask own_mask")
_EAGER_PLANS = {}


def _eager_plan(cls):
    """What an eager call ``layer(tensor)`` of a ``cls`` layer needs, found once per class: whether it
    may go straight to ``call`` (the class keeps Layer's ``forward``, or one marked
    ``layer_forward_for_one_input`` as Model's is, and Layer's input conversion), whether
    ``call`` takes ``training`` / ``mask``, and whether the class computes its own output mask."""
    names, var_kw, _ = _call_params(cls.call)
    layer_forward = cls.forward is Layer.forward or getattr(cls.forward, "layer_forward_for_one_input", False)
    plan = _EagerPlan(direct=layer_forward and cls._convert_inputs is Layer._convert_inputs,
                      training="training" in names or var_kw, mask="mask" in names,
                      own_mask=cls.compute_mask is not Layer.compute_mask)
    _EAGER_PLANS[cls] = plan
    return plan


def call_terms(layer):
    """The loss terms ``layer``'s last call in this thread added (``add_loss``, activity regularizers);
    an empty tuple when there are none, without creating the thread's list."""
    store = layer.__dict__.get("_losses_by_thread")
    return getattr(store, "terms", ()) if store is not None else ()


def _shape_of(value):
    return tuple(int(d) for d in value.shape)


def _dtype_name(dtype):
    """A dtype's name; Keras's "string" (text inputs such as TextVectorization's) is kept as is."""
    if dtype in ("string", "str", str):
        return "string"
    return str(np.dtype(dtype))


# ----- symbolic tensors -------------------------------------------------------------------------
class KerasTensor:
    """A placeholder with a shape (``None`` for the batch axis) that records how it was made.

    ``_keras_history`` is (layer, node_index, tensor_index), as in Keras.
    """

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = _dtype_name(dtype) if dtype is not None else "float32"
        self.node, self.index, self.name = node, index, name

    ndim = property(lambda self: len(self.shape))

    @property
    def _keras_history(self):
        layer = self.node.layer if self.node is not None else None
        node_index = layer._inbound_nodes.index(self.node) if layer is not None else 0
        return layer, node_index, self.index

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __len__(self):
        raise TypeError("a symbolic KerasTensor has no length: it stands for data that comes later")

    def __bool__(self):
        raise TypeError("a symbolic KerasTensor has no truth value; use Keras layers to combine tensors")

    # Arithmetic on symbolic tensors builds layers, as in Keras: a merge layer for two symbolic tensors,
    # a Lambda for a constant.
    def _binary(self, other, merge, fn):
        if isinstance(other, KerasTensor) and merge is not None:
            from . import merge as merges

            return getattr(merges, merge)()([self, other])
        return _lambda(lambda x: fn(x, other))(self)

    __add__ = __radd__ = lambda self, o: self._binary(o, "Add", lambda x, c: x + c)  # noqa: E731
    __sub__ = lambda self, o: self._binary(o, "Subtract", lambda x, c: x - c)  # noqa: E731
    __rsub__ = lambda self, o: self._binary(o, None, lambda x, c: c - x)  # noqa: E731
    __mul__ = __rmul__ = lambda self, o: self._binary(o, "Multiply", lambda x, c: x * c)  # noqa: E731
    __truediv__ = lambda self, o: self._binary(o, None, lambda x, c: x / c)  # noqa: E731
    __neg__ = lambda self: _lambda(lambda x: -x)(self)  # noqa: E731
    __getitem__ = lambda self, key: _lambda(lambda x: x[key])(self)  # noqa: E731


def _lambda(fn):
    from .core import Lambda

    return Lambda(fn)


class Node:
    """One call of a layer on symbolic tensors: the arguments (with KerasTensors in them) and outputs."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs
        self.input_tensors = [t for t in flatten_structure((args, kwargs)) if isinstance(t, KerasTensor)]
        self.output_tensors = flatten_structure(outputs)
        for i, t in enumerate(self.output_tensors):
            t.node, t.index = self, i
            t.name = layer.name

    @property
    def parent_nodes(self):
        return [t.node for t in self.input_tensors if t.node is not None]

    def run(self, values):
        """Call the layer with each KerasTensor replaced by its value from ``values`` (id -> value)."""
        sub = lambda o: values[id(o)] if isinstance(o, KerasTensor) else o  # noqa: E731
        return self.layer(*map_structure(sub, self.args), **map_structure(sub, self.kwargs))


class InputSpec:
    """Accepted for Keras code that declares ``self.input_spec = InputSpec(ndim=...)``; checks ndim."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None):
        self.dtype, self.shape, self.name = dtype, shape, name
        self.ndim = len(shape) if shape is not None else ndim
        self.max_ndim, self.min_ndim, self.axes = max_ndim, min_ndim, axes or {}


class WeightSpec:
    """How one Keras weight maps onto a tensor of the nn module inside the layer.

    ``to_keras(array) -> array`` and ``from_keras(array) -> array`` convert layouts (identity by default).
    ``state=True`` marks non-trainable state (moving averages) that no optimizer touches.
    """

    __slots__ = ("name", "tensor", "to_keras", "from_keras", "state", "regularizer", "constraint", "_shape")

    def __init__(self, name, tensor, to_keras=None, from_keras=None, state=False, regularizer=None,
                 constraint=None, shape=None):
        self.name, self.tensor, self.state, self._shape = name, tensor, state, shape
        self.to_keras, self.from_keras = to_keras or (lambda a: a), from_keras or (lambda a: a)
        self.regularizer, self.constraint = regularizer, constraint

    def constrain(self):
        """Replace the weight by ``constraint(weight)`` in Keras's layout (Keras optimizers, after a step)."""
        new = self.constraint(Tensor(self.get()))
        self.set(np.asarray(getattr(new, "array", new)), self.name)

    def get(self):
        return np.array(self.to_keras(self.tensor.array), copy=True)

    def view(self):
        return _keras_view(self.tensor, self.to_keras)

    def set(self, value, layer_name="layer"):
        value = np.asarray(value)
        arr = self.from_keras(value)
        if tuple(arr.shape) != tuple(self.tensor.array.shape):
            raise _shape_error(layer_name, self.name, self.to_keras(self.tensor.array).shape, value.shape)
        self.tensor.array[...] = arr.astype(self.tensor.array.dtype, copy=False)

    @property
    def shape(self):
        return self._shape if self._shape is not None else tuple(self.to_keras(self.tensor.array).shape)

    def tensors(self):
        """The nn tensors that hold this weight (one, or one per stacked slice)."""
        return (self.tensor,)

    def grad_to_keras(self, grads):
        """The Keras-layout gradient from the gradients of ``tensors()``, in their order."""
        return self.to_keras(grads[0])

    def grad_from_keras(self, grad):
        """A Keras-layout gradient split into the gradients of ``tensors()``."""
        return (self.from_keras(grad),)


class _StackedSpec(WeightSpec):
    """A Keras weight held as several nn tensors stacked on its first axis: ``parts`` are
    (tensor, to_keras, from_keras) for each slice."""

    __slots__ = ("parts",)

    def __init__(self, name, parts, shape, **kw):
        super().__init__(name, parts[0][0], shape=shape, **kw)
        self.parts = parts

    def get(self):
        return np.stack([(to or (lambda a: a))(t.array) for t, to, _ in self.parts])

    def view(self):
        return sd.stack([_keras_view(t, to or (lambda a: a)) for t, to, _ in self.parts])

    def set(self, value, layer_name="layer"):
        value = np.asarray(value)
        if value.shape != self.shape:
            raise _shape_error(layer_name, self.name, self.shape, value.shape)
        for (t, _, from_keras), v in zip(self.parts, value):
            t.array[...] = from_keras(v).astype(t.array.dtype, copy=False)

    def tensors(self):
        return tuple(t for t, _, _ in self.parts)

    def grad_to_keras(self, grads):
        return np.stack([(to or (lambda a: a))(g) for (_, to, _), g in zip(self.parts, grads)])

    def grad_from_keras(self, grad):
        return tuple(from_keras(g) for (_, _, from_keras), g in zip(self.parts, grad))


class Variable(Assignable):
    """A Keras-style view of one weight: ``.name``, ``.shape``, ``.trainable``, ``.numpy()``,
    ``.assign()``; arithmetic and indexing use it as a Tensor in Keras layout."""

    def __init__(self, layer, spec):
        self._layer, self._spec = layer, spec

    name = property(lambda self: self._spec.name)
    path = property(lambda self: f"{self._layer.name}/{self._spec.name}")
    shape = property(lambda self: self._spec.shape)
    dtype = property(lambda self: str(self._spec.tensor.array.dtype))
    trainable = property(lambda self: (not self._spec.state) and bool(self._spec.tensor.requires_grad))
    value = property(lambda self: self.numpy())

    def numpy(self):
        return self._spec.get()

    def assign(self, value):
        self._spec.set(np.asarray(getattr(value, "array", value)), self._layer.name)
        return self

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    # ----- use as a tensor (in Keras layout, differentiably) -------------------------------------------
    def _tape_source(self):
        """The tensors this variable views and the map of their gradients into Keras layout."""
        return self._spec.tensors(), self._spec.grad_to_keras

    def _from_keras(self, array):
        return self._spec.grad_from_keras(array)

    def as_tensor(self):
        """The weight as a Tensor in Keras layout, connected to the model's parameter."""
        return self._spec.view()

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.as_tensor(), name)

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"


def _as_tensor_op(op):
    return lambda self, *args: getattr(self.as_tensor(), op)(*args)


for _op in ("__getitem__", "__neg__", "__matmul__", "__rmatmul__", "__add__", "__radd__", "__sub__",
            "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__"):
    setattr(Variable, _op, _as_tensor_op(_op))

_CALL_ARGS = {}


def _call_params(fn):
    """(the parameter names, whether it takes ``**kwargs``, the first parameter's name or None) of a layer's
    ``call`` (cached per function)."""
    key = getattr(fn, "__func__", fn)
    if key not in _CALL_ARGS:
        try:
            params = inspect.signature(fn).parameters
            var_kw = any(p.kind == p.VAR_KEYWORD for p in params.values())
            _CALL_ARGS[key] = (set(params), var_kw, next(iter(params), None))
        except (TypeError, ValueError):
            _CALL_ARGS[key] = (set(), True, None)
    return _CALL_ARGS[key]


# ----- the Layer base -----------------------------------------------------------------------------
class Layer(Module):
    """Base class of every Keras layer.

    Subclasses set up their configuration in ``__init__``, create weights in ``build(input_shape)``
    (with :meth:`add_weight`, or by creating nn modules) and compute in ``call(inputs)``.

    Built-in layers instead declare their Keras arguments once (``keras_args``: name -> :class:`Arg`, in
    Keras's positional order) and their weights once (``keras_weights``: :class:`W` s). From these the base
    makes ``__init__`` (checks naming the layer and the argument, then ``_setup()`` for checks that span
    arguments), ``get_config`` / ``from_config``, the weight specs, the planned weight shapes and the
    initialisation of the nn tensors in Keras's shapes; ``build`` only creates the nn modules.
    """

    keras_args = {}
    keras_weights = ()

    _BASE_KWARGS = ("trainable", "name", "dtype", "input_shape", "input_dim", "batch_input_shape",
                    "batch_size", "weights", "activity_regularizer", "autocast", "dynamic", "input_length")

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None, input_dim=None,
                 batch_input_shape=None, batch_size=None, weights=None, activity_regularizer=None, **kwargs):
        super().__init__()
        kwargs.pop("autocast", None), kwargs.pop("dynamic", None)
        if kwargs:
            known = sorted(set(type(self).keras_args) | set(self._BASE_KWARGS))
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}; "
                            f"it takes {', '.join(known)}")
        self.__dict__["training"] = False
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a string, got {name!r}")
        self.name = name or backend.unique_name(backend.snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.built = False
        self._inbound_nodes, self._call_losses, self._extra_specs = [], [], []
        self._initial_weights = weights
        self.activity_regularizer = _regularizers.get(activity_regularizer)
        self.dtype = backend.floatx() if dtype is None or isinstance(dtype, dict) else _dtype_name(dtype)
        self.input_spec = self._build_input_shape = self._output_shape = self._batch_input_shape = None
        input_shape = (int(input_dim),) if input_shape is None and input_dim is not None else input_shape
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            one = (input_shape,) if _is_int(input_shape) else tuple(input_shape)
            self._batch_input_shape = (batch_size,) + one

    # ----- building -----------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (batch axis first). Default: none."""
        self.built = True

    def _setup(self):
        """Checks and derived attributes after the declared arguments are stored (override it)."""

    def _declared_init(self, *args, **kwargs):
        """The ``__init__`` of a layer declaring ``keras_args``: positional arguments in declared order."""
        decl = type(self).keras_args
        names = list(decl)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} positional arguments "
                            f"({', '.join(names)}), got {len(args)}")
        given = dict(zip(names, args))
        for n in names:
            if n in kwargs:
                if n in given:
                    raise TypeError(f"{type(self).__name__} got two values for argument '{n}'")
                given[n] = kwargs.pop(n)
        Layer.__init__(self, **kwargs)
        for n, a in decl.items():
            value = given.get(n, a.default)
            if value is _REQUIRED:
                raise TypeError(f"{_owner(self)}: missing the required argument '{n}'")
            setattr(self, a.attr or n, a.parse(self, n, value))
        self._setup()

    def __init_subclass__(cls, **kwargs):
        """Every ``build`` (also one a user calls directly) ends with the bookkeeping of a built layer;
        a class declaring ``keras_args`` without writing ``__init__`` gets the declared one."""
        super().__init_subclass__(**kwargs)
        if "keras_args" in cls.__dict__ and "__init__" not in cls.__dict__:
            cls.__init__ = Layer._declared_init
        if "build" in cls.__dict__:
            user_build = cls.__dict__["build"]

            @functools.wraps(user_build)
            def build(self, input_shape=None, *args, **kw):
                depth = self.__dict__.get("_build_depth", 0)
                budget = _WEIGHT_BUDGET.get() if depth == 0 and not self.__dict__.get("_finished") else None
                planned = None if budget is None else self._planned_weights(input_shape)
                if planned is not None:
                    budget.take(self, planned)
                self.__dict__["_build_depth"] = depth + 1
                try:
                    out = user_build(self, input_shape, *args, **kw)
                finally:
                    self.__dict__["_build_depth"] = depth
                if depth == 0 and not self.__dict__.get("_finished"):
                    self._init_declared(input_shape)
                if budget is not None and planned is None:  # layers that cannot tell beforehand
                    budget.take(self, [(spec.name, spec.shape) for spec in self._weight_specs()])
                if depth == 0:
                    self._finish_build(input_shape)
                return out

            cls.build = build

    def _planned_weights(self, input_shape):
        """[(name, Keras shape)] of the weights ``build(input_shape)`` will create, computed without
        creating them; None when the layer cannot tell (the default). Layers declaring ``keras_weights``
        can tell, so a model file is checked against its stored weights before anything is allocated."""
        try:
            features = self._features(input_shape) if self.keras_weights else None
        except (TypeError, IndexError, ValueError, ZeroDivisionError):
            features = None
        if features is not None:
            return [(w.name, tuple(w.shape(self, features))) for w in self.keras_weights if w.active(self)]

    _feature_name = "last axis"  # how _known_features names the axis of _feature_axis in its message

    def _feature_axis(self, ndim):
        """The input axis that holds the features (default the last)."""
        return -1

    def _features(self, input_shape):
        """What the declared weight shapes depend on (default: the size of the input's feature axis)."""
        c = input_shape[self._feature_axis(len(input_shape))]
        return None if c is None else int(c)

    def _known_features(self, input_shape):
        """The size of the feature axis, which ``build`` needs to know."""
        c = self._features(input_shape)
        if c is None:
            raise ValueError(f"{_owner(self)}: the {self._feature_name} of the input must be known, got "
                             f"shape {input_shape}")
        return c

    def _initializer(self, w):
        """The Keras initializer of the declared weight ``w`` (override to adjust one)."""
        return getattr(self, f"{w.args}_initializer", None)

    def _init_declared(self, input_shape, *names):
        """Draw every declared weight (or only those ``names``, which a ``build`` may initialise early to
        keep the random stream of its modules) from its Keras initializer in Keras's shape; freeze the nn
        tensors of weights the arguments switched off (a ``scale=False`` gamma)."""
        if not self.keras_weights:
            return
        self._wfeat = self._features(input_shape)
        done = self.__dict__.setdefault("_initialized", set())
        for w in self.keras_weights:
            spec, init = w.spec(self), self._initializer(w)
            wanted = spec is not None and spec.name not in done and (not names or spec.name in names)
            if wanted and init is not None:
                spec.set(np.asarray(init(spec.shape, dtype=spec.tensor.array.dtype)), self.name)
                done.add(spec.name)
            elif not names and not w.active(self) and isinstance(w.path, str):
                tensor = w.tensor(self)
                if isinstance(tensor, Parameter):
                    tensor.requires_grad = False

    def _finish_build(self, input_shape):
        first = not self.__dict__.get("_finished", False)
        self.built = True
        self.__dict__["_finished"] = True
        if self._build_input_shape is None:
            listed = isinstance(input_shape, list)
            self._build_input_shape = _tuple_shape(input_shape) if listed else input_shape
        if first:
            self.train(self.training)  # modules made in build() follow the layer's mode
            self._apply_trainable()
            for spec in self._weight_specs():  # Keras optimizers project these weights after each step
                if spec.constraint is not None:
                    spec.tensor._keras_constraint = spec.constrain
            if self._initial_weights is not None:
                weights, self._initial_weights = self._initial_weights, None
                self.set_weights(weights)

    def _maybe_build(self, input_shape):
        if self.built:
            return
        self.build(input_shape)
        if not self.__dict__.get("_finished", False):
            self._finish_build(input_shape)

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (default: run the layer on zeros and read the shape)."""
        dummy = _map_shapes(lambda s: Tensor(np.zeros(tuple(1 if d is None else d for d in s),
                                                      dtype=self._input_dtype())), input_shape)
        kwargs = {"training": False} if "training" in _call_params(self.call)[0] else {}
        with training_mode(False), no_grad():
            out = self.call(dummy, **kwargs)
        return map_structure(lambda t: (None,) + _shape_of(t)[1:], out)

    def _same_shape(self, input_shape):
        """``compute_output_shape`` of the layers whose output has the input's shape."""
        return input_shape

    def _input_dtype(self):
        return "float32"

    def compute_output_dtype(self, input_dtype):
        return self.dtype

    # ----- calling ------------------------------------------------------------------------------
    def call(self, inputs, *args, **kwargs):
        """The computation (override it). The default passes the input through."""
        return inputs

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and type(args[0]) is Tensor and self._output_shape is not None:
            plan = _EAGER_PLANS.get(type(self)) or _eager_plan(type(self))
            if plan.direct and self.built and not (self._forward_pre_hooks or self._forward_hooks
                                                   or self._backward_hooks):
                return self._eager_call(args[0], plan)
        if not args and kwargs and "inputs" not in kwargs:  # layer(logits=x, ...): the first argument by name
            first = _call_params(self.call)[2]
            if first in kwargs:
                args = (kwargs.pop(first),)
        if args and is_symbolic(args[0]) or kwargs and is_symbolic(kwargs):
            return self._symbolic_call(args, kwargs)
        return Module.__call__(self, *args, **kwargs)

    def forward(self, inputs, *args, **kwargs):
        in_mask = kwargs.get("mask")
        if in_mask is None:
            in_mask = getattr(inputs, "_keras_mask", None)  # set by Embedding(mask_zero=True), Masking...
        inputs = self._convert_inputs(inputs)
        if not self.built:
            self._check_input_rank(inputs)
            self._maybe_build(map_structure(lambda t: (None,) + _shape_of(t)[1:], inputs))
        names, var_kw, _ = _call_params(self.call)
        training = kwargs.get("training")
        if "training" not in names and not var_kw:
            kwargs.pop("training", None)
        elif kwargs.get("training") is None:
            kwargs["training"] = self.training
            training = None
        if "mask" not in names and not var_kw:
            kwargs.pop("mask", None)
        elif in_mask is not None and kwargs.get("mask") is None and "mask" in names:
            kwargs["mask"] = in_mask
        switch = training is not None and bool(training) != self.training
        return self._run_call(inputs, args, kwargs, in_mask, bool(training) if switch else None)

    def _eager_call(self, x, plan):
        """``forward`` for the usual eager call ``layer(tensor)`` of a built layer: the same steps with
        what they ask of the layer's class looked up once per class (a call is made on every batch)."""
        in_mask = getattr(x, "_keras_mask", None)
        kwargs = {"training": self.training} if plan.training else {}
        if in_mask is not None and plan.mask:
            kwargs["mask"] = in_mask
        return self._run_call(_in_dtype(x, self.dtype), (), kwargs, in_mask, None, plan.own_mask)

    def _run_call(self, inputs, args, kwargs, in_mask, mode, own_mask=True):
        """``call`` with this call's loss terms and metrics started afresh (in training ``mode`` when it
        is not None), then the activity regularizer's term and the output mask."""
        if call_terms(self):  # an empty list is reused as it is
            self._call_losses = []
        if self.__dict__.get("_call_metrics"):
            self.__dict__["_call_metrics"] = []
        if mode is not None:
            with training_mode(mode):
                out = self.call(inputs, *args, **kwargs)
        else:
            out = self.call(inputs, *args, **kwargs)
        if self.activity_regularizer is not None:
            first = flatten_structure(out)[0]
            self._call_losses.append(self.activity_regularizer(first) / max(1, first.shape[0]))
        if self._output_shape is None:
            self._output_shape = map_structure(lambda t: (None,) + _shape_of(t)[1:] if hasattr(t, "shape")
                                               else None, out)
        if in_mask is not None or own_mask:
            out_mask = self.compute_mask(inputs, in_mask)
            if out_mask is not None and isinstance(out, Tensor):
                out._keras_mask = out_mask
        return out

    supports_masking = False  # True: the layer keeps the time axis and hands the mask on (Dense, Dropout...)

    def compute_mask(self, inputs, mask=None):
        """The mask of this layer's output (Keras semantics): by default the input mask passes through
        layers that support masking and stops at the others."""
        return mask if self.supports_masking else None

    def _convert_inputs(self, inputs):
        if isinstance(inputs, Tensor):
            return _in_dtype(inputs, self.dtype)
        return map_structure(lambda x: _in_dtype(x if isinstance(x, (KerasTensor, Tensor))
                                                 else Tensor(np.asarray(x)), self.dtype), inputs)

    def _check_input_rank(self, inputs):
        spec = self.input_spec
        if spec is None or not isinstance(inputs, (Tensor, KerasTensor)):
            return
        nd = len(inputs.shape)
        if spec.ndim is not None and nd != spec.ndim or spec.min_ndim is not None and nd < spec.min_ndim:
            want = spec.ndim if spec.ndim is not None else f"at least {spec.min_ndim}"
            raise ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) is incompatible with "
                             f"the layer: expected ndim={want}, found ndim={nd}. Full shape received: "
                             f"{tuple(inputs.shape)}")

    def _symbolic_call(self, args, kwargs):
        inputs = args[0] if args else kwargs.get("inputs")
        self._check_input_rank(inputs)
        in_shape = map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else _shape_of(t), inputs)
        self._maybe_build(in_shape)
        out_shape = self.compute_output_shape(in_shape)
        first = flatten_structure(inputs)[0]
        out_dtype = self.compute_output_dtype(first.dtype if isinstance(first, KerasTensor) else "float32")
        outputs = _map_shapes(lambda s: KerasTensor(s, out_dtype), out_shape)
        self._inbound_nodes.append(Node(self, args, kwargs, outputs))
        if self._output_shape is None:
            self._output_shape = out_shape
        return outputs

    # ----- trainable ------------------------------------------------------------------------------
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        self._apply_trainable()
        for child in self._sublayers():
            child.trainable = value

    def _apply_trainable(self):
        if not self.__dict__.get("built", False):
            return
        for spec in self._weight_specs():
            if not spec.state and isinstance(spec.tensor, Parameter):
                spec.tensor.requires_grad = self._trainable

    def _sublayers(self):
        return [m for m in self._modules.values() if isinstance(m, Layer)]

    # ----- weights ----------------------------------------------------------------------------------
    def add_weight(self, *args, name=None, shape=None, dtype=None, initializer=None, regularizer=None,
                   trainable=True, constraint=None, **kwargs):
        """Create a weight of Keras-layout ``shape`` (accepts Keras 2's ``add_weight(name, shape, ...)`` and
        Keras 3's ``add_weight(shape, initializer, ...)`` argument orders)."""
        if args and isinstance(args[0], str):
            name, args = args[0], args[1:]
        shape, initializer = (args + (shape, initializer)[len(args):])[:2]
        shape = () if shape is None else ((shape,) if isinstance(shape, (int, np.integer)) else tuple(shape))
        dtype = np.dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.kind == "f" and len(shape) >= 2 else "zeros"
        value = np.asarray(_initializers.get(initializer)(shape or (1,), dtype=dtype), dtype=dtype)
        value = value.reshape(shape)
        base = name or "variable"
        attr, n = base, 1
        while attr in self.__dict__ or attr in self._parameters:
            attr, n = f"{base}_{n}", n + 1
        param = Parameter(value, requires_grad=bool(trainable) and self._trainable)
        setattr(self, attr, param)
        spec = WeightSpec(attr, param, state=not trainable, regularizer=_regularizers.get(regularizer),
                          constraint=_constraints.get(constraint))
        self._extra_specs.append(spec)
        if spec.constraint is not None:
            param._keras_constraint = spec.constrain
        return param

    def _weight_specs(self):
        """The Keras weights of this layer (not of sublayers), in Keras's order: the declared ones, then
        the ``add_weight`` ones; for custom layers also Parameters assigned directly, then the
        parameters and buffers of plain ``nn`` modules held as attributes."""
        if self.keras_weights:
            declared = (w.spec(self) for w in self.keras_weights)
            return [spec for spec in declared if spec is not None] + self._extra_specs
        specs = list(self._extra_specs)
        seen = {id(s.tensor) for s in specs}
        found = [(n, p, False) for n, p in self._parameters.items() if p is not None]
        for name, m in self._modules.items():
            if m is not None and not isinstance(m, Layer):
                found += [(n, p, False) for n, p in m.named_parameters(prefix=name)]
                found += [(n, b, True) for n, b in m.named_buffers(prefix=name) if b.array.dtype.kind == "f"]
        for name, t, state in found:
            if id(t) not in seen:
                seen.add(id(t))
                specs.append(WeightSpec(name, t, state=state))
        return specs

    def _all_specs(self):
        specs = [(self, s) for s in self._weight_specs()]
        for child in self._sublayers():
            specs.extend(child._all_specs())
        return specs

    weights = variables = property(lambda self: [Variable(layer, s) for layer, s in self._all_specs()])
    trainable_weights = trainable_variables = property(lambda self: [v for v in self.weights if v.trainable])
    non_trainable_weights = non_trainable_variables = property(
        lambda self: [v for v in self.weights if not v.trainable])

    def get_weights(self):
        """The weights as NumPy arrays in Keras's layouts and order."""
        return [s.get() for _, s in self._all_specs()]

    def set_weights(self, weights):
        """Set every weight from a list of arrays in Keras's layouts (as ``get_weights`` returns them)."""
        specs = self._all_specs()
        weights = list(weights)
        if len(weights) != len(specs):
            names = [s.name for _, s in specs]
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects {len(specs)} weights "
                             f"{names}, but set_weights received {len(weights)}")
        shapes = [(layer, s, np.asarray(w)) for (layer, s), w in zip(specs, weights)]
        for layer, s, w in shapes:  # check every shape before changing anything
            if tuple(w.shape) != s.shape:
                raise _shape_error(layer.name, s.name, s.shape, w.shape)
        for layer, s, w in shapes:
            s.set(w, layer.name)

    def count_params(self):
        """Number of scalar weights (Keras counts trainable and non-trainable ones)."""
        if not self.built:
            raise ValueError(f"You tried to call count_params on layer '{self.name}', but the layer isn't "
                             "built. Build it first by calling it on data or giving an input shape.")
        return int(sum(int(np.prod(s.shape)) for _, s in self._all_specs()))

    # ----- losses -------------------------------------------------------------------------------------
    def _loss_store(self):
        """Terms added during this thread's last call (per thread, so a predict running beside a
        fit of the same model cannot drop or add terms to the fit's loss)."""
        store = self.__dict__.get("_losses_by_thread") or self.__dict__.setdefault("_losses_by_thread",
                                                                                  threading.local())
        if not hasattr(store, "terms"):
            store.terms = []
        return store

    # ``call_terms(layer)`` reads the same list without creating this thread's (an empty tuple then)
    _call_losses = property(lambda self: self._loss_store().terms,
                            lambda self, terms: setattr(self._loss_store(), "terms", terms))

    def add_metric(self, value, name=None, aggregation=None):
        """tf.keras 2: show ``value`` (computed in ``call``) in the training logs; see ``_custom``."""
        from .._custom import add_metric

        add_metric(self, value, name, aggregation)

    def add_loss(self, value):
        """Add a term to the training loss (computed in ``call``; reset every call)."""
        self._call_losses.append(value)

    @property
    def losses(self):
        """Weight penalties (regularizers) and terms added by ``add_loss`` in the last call."""
        out, layers = [], list(self._walk_layers())
        penalized = self.built and any(layer._has_weight_regularizer() for layer in layers)
        for _, spec in self._all_specs() if penalized else ():  # no weight walk when nothing is penalized
            if spec.regularizer is not None:
                # Keras's L1/L2 sum over entries, so any layout of one tensor gives the same penalty
                plain = type(spec.regularizer) in (_regularizers.L1, _regularizers.L2, _regularizers.L1L2)
                plain = plain and not isinstance(spec, _StackedSpec)
                out.append(spec.regularizer(spec.tensor if plain else spec.view()))
        for layer in layers:
            out.extend(layer._call_losses)
        return out

    def _has_weight_regularizer(self):
        """Whether this layer (not its sublayers) penalizes a weight: a ``<w>_regularizer`` argument or an
        ``add_weight(regularizer=...)``."""
        d = self.__dict__
        names = d.get("_regularizer_names")
        if names is None:  # the <w>_regularizer attributes, found once
            names = d["_regularizer_names"] = tuple(
                k for k in d if k.endswith("_regularizer") and k != "activity_regularizer")
        return any(d.get(k) is not None for k in names) \
            or any(s.regularizer is not None for s in d.get("_extra_specs", ()))

    def _walk_layers(self):
        return (m for m in self.modules() if isinstance(m, Layer))  # modules() gives each one once

    # ----- shapes and config ------------------------------------------------------------------------
    def _called(self, what, value):
        if value is None or value == []:
            raise AttributeError(f"The layer '{self.name}' has never been called and thus has no defined "
                                 f"{what}." if "shape" in what else f"Layer '{self.name}' has no symbolic "
                                 f"{what}: it was never called on Input(...)")
        return value

    output_shape = property(lambda self: self._called("output shape", self._output_shape))
    input_shape = property(lambda self: self._called("input shape", self._build_input_shape))
    output = property(lambda self: self._called("output", self._inbound_nodes)[0].outputs)

    @property
    def input(self):
        ins = self._called("input", self._inbound_nodes)[0].input_tensors
        return ins[0] if len(ins) == 1 else ins

    def get_config(self):
        """The constructor arguments that recreate this layer (``type(layer).from_config(config)``)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        for n, a in self.keras_args.items():
            if a.save is not False:
                config[n] = a.save(getattr(self, a.attr or n))
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for n, a in cls.keras_args.items():
            if a.load is not None and n in config:
                config[n] = a.load(config[n], custom_objects)
        return cls(**config)

    def get_build_config(self):
        return {"input_shape": _jsonable_shape(self._build_input_shape)} if self.built else None

    def build_from_config(self, config):
        if config and config.get("input_shape") is not None:
            self._maybe_build(_tuple_shape(config["input_shape"]))

    def extra_repr(self):
        return f"name={self.name!r}"

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _map_shapes(fn, shapes):
    """``fn`` applied to every shape (a tuple of dims) in nested lists / tuples / dicts of shapes."""
    if _is_shape(shapes):
        return fn(shapes)
    if isinstance(shapes, dict):
        return {k: _map_shapes(fn, v) for k, v in shapes.items()}
    return type(shapes)(_map_shapes(fn, s) for s in shapes)


def _jsonable_shape(shape):
    return None if shape is None else _map_shapes(lambda s: [None if d is None else int(d) for d in s], shape)


def _tuple_shape(shape):
    if shape is None:
        return None
    if all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape)
    return [_tuple_shape(s) for s in shape]


def _keras_view(t, to_keras):
    """``t`` as a Tensor in Keras layout, differentiably (for user regularizers that care)."""
    probe = np.arange(t.array.size).reshape(t.array.shape)
    mapped = to_keras(probe)
    if mapped.shape == probe.shape and np.array_equal(mapped, probe):
        return t
    return t.reshape(-1)[mapped.reshape(-1)].reshape(mapped.shape) if mapped.ndim == probe.ndim else t


# ----- Input --------------------------------------------------------------------------------------
class InputLayer(Layer):
    """The layer behind :func:`Input`: it has no weights and passes data through."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, input_tensor=None, sparse=False,
                 name=None, batch_input_shape=None, batch_shape=None, **kwargs):
        batch_input_shape = batch_shape if batch_shape is not None else batch_input_shape
        if batch_input_shape is None and input_shape is None:
            raise ValueError("Input() / InputLayer needs shape= (the shape of one sample, without the batch "
                             "axis) or batch_shape=")
        name = name or backend.unique_name("input_layer")
        super().__init__(name=name, dtype=dtype, input_shape=input_shape, batch_size=batch_size,
                         batch_input_shape=batch_input_shape, **kwargs)
        self.built = True
        self._build_input_shape = self._output_shape = self._batch_input_shape
        self._input_tensor = KerasTensor(self._batch_input_shape, "float32" if dtype is None else self.dtype)
        self._inbound_nodes.append(Node(self, (), {}, self._input_tensor))

    def get_config(self):
        return {"batch_input_shape": list(self._batch_input_shape), "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_size=None, name=None, dtype=None, sparse=None, tensor=None, batch_shape=None,
          **kwargs):
    """A symbolic input: ``inputs = Input(shape=(64,))`` has shape (None, 64)."""
    return InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                      batch_shape=batch_shape)._input_tensor
