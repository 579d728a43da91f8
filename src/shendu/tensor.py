"""The Tensor: an array plus what autograd needs (``requires_grad``, ``grad``, ``grad_fn``).

Methods speak both NumPy's and PyTorch's dialect where they differ: ``x.sum(axis=1)`` and
``x.sum(dim=1)``, ``keepdims``/``keepdim``, ``reshape``/``view``, ``x.size(0)``, ``x.to(...)``.
All math is delegated to :mod:`shendu.ops`, where every operation is a small ``Function``.
"""
import numbers

import numpy as np

from ._device import CPU, KNOWN_TYPES, check_device, device
from .backend import to_numpy, xp

float16 = np.float16
float32 = np.float32
float64 = np.float64
int8 = np.int8
int16 = np.int16
int32 = np.int32
int64 = np.int64
uint8 = np.uint8
bool_ = np.bool_

_default_float = np.dtype(np.float32)

_DTYPE_NAMES = {
    "float": np.float32, "float32": np.float32, "float64": np.float64, "double": np.float64,
    "float16": np.float16, "half": np.float16, "int": np.int32, "int32": np.int32,
    "int64": np.int64, "long": np.int64, "int16": np.int16, "int8": np.int8, "uint8": np.uint8,
    "bool": np.bool_,
}


def as_dtype(dtype):
    """Resolve ``dtype`` given as a NumPy dtype, a Python type or a name ("float64", "torch.float32")."""
    if dtype is None:
        return None
    if isinstance(dtype, str):
        name = dtype.rsplit(".", 1)[-1]
        if name not in _DTYPE_NAMES:
            raise TypeError(f"unknown dtype {dtype!r}; expected one of {sorted(_DTYPE_NAMES)}")
        return np.dtype(_DTYPE_NAMES[name])
    if dtype is float:
        return _default_float
    return np.dtype(dtype)


def get_default_dtype():
    return _default_float


def set_default_dtype(dtype):
    """Set the dtype that Python floats and float factories (``zeros``, ``randn``...) produce."""
    global _default_float
    _default_float = as_dtype(dtype)


def _to_array(data, dtype=None, copy=False):
    """Turn ``data`` into a backend array; Python floats become the default float dtype (float32)."""
    if isinstance(data, Tensor):
        data = data.array
    if isinstance(data, xp.ndarray):
        arr = data.astype(dtype) if dtype is not None and data.dtype != dtype else data
        return arr.copy() if copy and arr is data else arr
    arr = xp.asarray(data)
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.dtype == np.float64 and not isinstance(data, np.generic):
        arr = arr.astype(_default_float)
    elif arr.dtype.kind == "i" and not isinstance(data, np.generic):
        arr = arr.astype(np.int64)
    return arr


def _unwrap_tensors(value):
    """``value`` with every Tensor inside (lists, tuples and dicts too) replaced by its NumPy array."""
    if isinstance(value, Tensor):
        return to_numpy(value.array)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap_tensors(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap_tensors(v) for k, v in value.items()}
    return value


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    ``Tensor(data, requires_grad=False)`` wraps an ndarray without copying it; use
    ``shendu.tensor(data)`` for a copy. Leaves that require grad receive ``.grad`` after
    ``backward()``.
    """

    __array_ufunc__ = None  # make ``ndarray op Tensor`` defer to the Tensor's reflected operator
    __array_priority__ = 1000
    __hash__ = object.__hash__
    _hooks = None  # gradient hooks of a leaf (see register_hook)

    def __init__(self, data, requires_grad=False, dtype=None):
        self.array = _to_array(data, as_dtype(dtype))
        self.grad = None
        self.grad_fn = None
        self._output_index = 0
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_op(cls, data, grad_fn, index):
        t = Tensor.__new__(Tensor)
        t.array = data if type(data) is xp.ndarray else xp.asarray(data)
        t.grad = None
        t.grad_fn = grad_fn
        t._output_index = index
        t.requires_grad = grad_fn is not None
        return t

    # ----- attributes -------------------------------------------------------------------------
    @property
    def data(self):
        """A tensor sharing this one's memory but cut from the graph (``requires_grad=False``), as
        PyTorch's ``.data``: ``p.data.add_(p.grad, alpha=-lr)`` updates ``p`` without being recorded.
        The NumPy array itself is ``t.numpy()`` (``t.array`` inside shendu)."""
        t = Tensor.__new__(Tensor)
        t.array = self.array
        t.grad = None
        t.grad_fn = None
        t._output_index = 0
        t.requires_grad = False
        return t

    @data.setter
    def data(self, value):
        """``p.data = other`` makes ``p`` hold ``other``'s array (shared, not copied); shape and dtype
        may change, as in PyTorch. An ndarray or anything array-like is accepted as well."""
        self.array = _to_array(value)

    @property
    def shape(self):
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self):
        return self.array.ndim

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self):
        return False

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def size(self, dim=None):
        """``x.size()`` is the shape; ``x.size(0)`` its first entry (PyTorch's meaning)."""
        return self.array.shape if dim is None else self.array.shape[dim]

    def numel(self):
        return int(self.array.size)

    def dim(self):
        return self.array.ndim

    def __len__(self):
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    # ----- conversion -------------------------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (shares memory on the CPU backend)."""
        return to_numpy(self.array)

    def __array__(self, dtype=None, copy=None):
        arr = to_numpy(self.array)
        return arr.astype(dtype, copy=False) if dtype is not None else arr

    def __array_function__(self, func, types, args, kwargs):
        """A NumPy function given Tensors (``np.squeeze(t)``, ``np.argmax(t)``) computes on their arrays and
        returns NumPy results, outside the graph, as it does for TensorFlow's eager tensors. A Tensor's own
        methods (``t.squeeze()``) stay on the graph."""
        return func(*_unwrap_tensors(args), **_unwrap_tensors(kwargs))

    def item(self):
        if self.array.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {tuple(self.shape)}")
        return self.array.item()

    def tolist(self):
        return self.array.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iub":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.array.size} elements is ambiguous; "
                               "use .any() or .all()")
        return bool(self.array.item())

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __format__(self, spec):
        """``f"{loss:.4f}"`` formats a one-element tensor's value, as PyTorch does."""
        if spec and self.array.size == 1:
            return format(self.item(), spec)
        return format(str(self), spec)

    def __repr__(self):
        body = np.array2string(to_numpy(self.array), separator=", ", prefix="tensor(")
        extra = ""
        if self.array.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.array.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{type(self.grad_fn).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def to(self, *args, **kwargs):
        """``x.to(dtype)``, ``x.to("cpu")``, ``x.to(other_tensor)``; devices other than the CPU raise."""
        dtype = parse_to_args(args, kwargs)
        return self if dtype is None else _ops().cast(self, dtype)

    def cpu(self):
        return self

    def type(self, dtype=None, non_blocking=False):
        """``x.type()``: PyTorch's tensor type name ('torch.FloatTensor', ...); ``x.type(dtype)``: converted
        to ``dtype`` (a dtype, or a type name such as 'torch.DoubleTensor')."""
        if dtype is None:
            return "torch." + _TENSOR_TYPES.get(self.dtype.name, self.dtype.name)
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            names = {v: k for k, v in _TENSOR_TYPES.items()}
            name = dtype.rsplit(".", 1)[-1]
            if name not in names:
                raise ValueError(f"Tensor.type: unknown tensor type {dtype!r}; expected one of "
                                 f"{sorted('torch.' + n for n in names)}")
            dtype = names[name]
        return self.to(dtype)

    def astype(self, dtype):
        return self.to(dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def is_floating_point(self):
        return self.dtype.kind == "f"

    # ----- autograd ---------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        ``create_graph=True`` records the backward pass, so the gradients can be differentiated
        again; ``inputs`` limits the accumulation to those tensors."""
        from .autograd import backward

        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def register_hook(self, hook):
        """``hook(grad)`` runs when this tensor's gradient is computed; a returned Tensor replaces it.
        Returns a handle: ``handle.remove()`` unregisters the hook."""
        from .autograd import register_hook

        return register_hook(self, hook)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.array.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """A tensor sharing this data (and its version counter) but cut from the graph."""
        t = Tensor(self.array)
        if self._vc is None:
            self._vc = [0]
        t._vc = self._vc
        return t

    def detach_(self):
        self.grad_fn = None
        self.requires_grad = False
        self._view_of_graph = False
        return self

    def clone(self):
        return _ops().clone(self)

    def retain_grad(self):
        """Keep the gradient of this non-leaf tensor in ``.grad`` after ``backward()``."""
        from .autograd import retain_grad

        retain_grad(self)

    @property
    def retains_grad(self):
        """True for a non-leaf tensor on which ``retain_grad()`` was called."""
        fn = self.grad_fn
        if fn is None or fn._out_hooks is None:
            return False
        return "retain" in fn._out_hooks.get(self._output_index, ())

    # ----- in-place operations (PyTorch's rules) --------------------------------------------
    # Each tensor's memory has a version counter (``[n]``, made on demand, shared with its views
    # and ``detach()``), bumped by every in-place change; a Function that keeps an array for
    # backward records the version and backward refuses a changed one. Inside the graph an
    # in-place op is recorded (computed out of place on a snapshot, then written back).
    _vc = None
    _view_of_graph = False

    @property
    def _version(self):
        """How many in-place changes this tensor's memory has seen (PyTorch's ``t._version``)."""
        return 0 if self._vc is None else self._vc[0]

    def _bump(self):
        vc = self._vc
        if vc is None:
            self._vc = [1]
        else:
            vc[0] += 1

    def _records(self, name, operands):
        """Whether an in-place ``name`` must be recorded; raises where PyTorch refuses it."""
        if not _grad_on():
            return False
        if not (self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in operands)):
            return False
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError(
                f"{name}: a leaf Variable that requires grad is being used in an in-place operation "
                f"(a tensor of shape {tuple(self.shape)}): it cannot be changed in place outside "
                "`with shendu.no_grad():`; update parameters there (or through p.data), or use the "
                "out-of-place form.")
        if self._view_of_graph:
            raise RuntimeError(
                f"{name}: this tensor (shape {tuple(self.shape)}) is a view of another tensor in the "
                "autograd graph, and changing a view in place is not recorded; clone() it first, or "
                "change the tensor it views.")
        return True

    def _inplace(self, name, f, *operands):
        """Run ``f`` (out of place, on tensors) and write its result into this tensor."""
        if self._records(name, operands):
            # f may keep its input for backward: give it a snapshot of the old value
            out = f(Tensor._from_op(self.array.copy(), self.grad_fn, self._output_index))
            self._write(name, out.array)
            self.grad_fn, self._output_index = out.grad_fn, out._output_index
            self.requires_grad = out.requires_grad
            return self
        out = f(self)
        return self._write(name, out.array if isinstance(out, Tensor) else out)

    def _write(self, name, arr, cast=False):
        shape = self.array.shape
        if getattr(arr, "shape", ()) != shape:
            try:
                ok = np.broadcast_shapes(np.shape(arr), shape) == shape
            except ValueError:
                ok = False
            if not ok:
                raise RuntimeError(f"{name}: the result has shape {tuple(np.shape(arr))}, which does not "
                                   f"fit this tensor's shape {tuple(shape)}; an in-place operation keeps "
                                   "the shape, so the other operand must broadcast to it")
        dtype = getattr(arr, "dtype", None)
        if not cast and dtype is not None and dtype != self.array.dtype and \
                not np.can_cast(dtype, self.array.dtype, "same_kind"):
            raise RuntimeError(f"{name}: result type {dtype} can't be cast to this tensor's dtype "
                               f"{self.array.dtype}")
        self.array[...] = arr
        self._bump()
        return self

    def _fill(self, name, values):
        """Overwrite every entry with ``values`` (a constant or an array); in the graph the old value
        gets a zero gradient."""
        if self._records(name, (values,)):
            return self._inplace(name, lambda s: _ops().where(np.zeros(s.shape, bool), s, values), values)
        return self._write(name, values.array if isinstance(values, Tensor) else values, cast=True)

    def zero_(self):
        return self._fill("zero_", 0)

    def fill_(self, value):
        return self._fill("fill_", value.item() if isinstance(value, Tensor) and not value.requires_grad
                          else value)

    def copy_(self, src, non_blocking=False):
        """Copy ``src``'s values (broadcast, cast to this tensor's dtype) into this tensor."""
        if isinstance(src, Tensor) and src.dtype != self.dtype and self._records("copy_", (src,)):
            src = src.to(self.dtype)
        return self._fill("copy_", src if isinstance(src, Tensor) else _to_array(src))

    def add_(self, other, alpha=1):
        return self._inplace("add_", lambda s: s + (other if alpha == 1 else other * alpha), other)

    def sub_(self, other, alpha=1):
        return self._inplace("sub_", lambda s: s - (other if alpha == 1 else other * alpha), other)

    def mul_(self, other):
        return self._inplace("mul_", lambda s: s * other, other)

    def div_(self, other):
        return self._inplace("div_", lambda s: s / other, other)

    def pow_(self, exponent):
        return self._inplace("pow_", lambda s: s ** exponent, exponent)

    def addcmul_(self, tensor1, tensor2, value=1):
        """self += value · tensor1 · tensor2."""
        return self._inplace("addcmul_", lambda s: s + value * (tensor1 * tensor2), tensor1, tensor2)

    def addcdiv_(self, tensor1, tensor2, value=1):
        """self += value · tensor1 / tensor2."""
        return self._inplace("addcdiv_", lambda s: s + value * (tensor1 / tensor2), tensor1, tensor2)

    def lerp_(self, end, weight):
        """self += weight · (end − self)."""
        return self._inplace("lerp_", lambda s: s + weight * (end - s), end, weight)

    def clamp_(self, min=None, max=None):  # noqa: A002
        return self._inplace("clamp_", lambda s: _ops().clip(s, min, max))

    clip_ = clamp_

    def neg_(self):
        return self._inplace("neg_", lambda s: -s)

    def abs_(self):
        return self._inplace("abs_", lambda s: _ops().abs(s))

    def exp_(self):
        return self._inplace("exp_", lambda s: _ops().exp(s))

    def log_(self):
        return self._inplace("log_", lambda s: _ops().log(s))

    def sqrt_(self):
        return self._inplace("sqrt_", lambda s: _ops().sqrt(s))

    def relu_(self):
        return self._inplace("relu_", lambda s: _ops().relu(s))

    def sigmoid_(self):
        return self._inplace("sigmoid_", lambda s: _ops().sigmoid(s))

    def tanh_(self):
        return self._inplace("tanh_", lambda s: _ops().tanh(s))

    def uniform_(self, a=0.0, b=1.0):
        from .random import generator

        return self._fill("uniform_", generator().uniform(a, b, self.shape))

    def normal_(self, mean=0.0, std=1.0):
        from .random import generator

        return self._fill("normal_", generator().normal(mean, std, self.shape))

    def bernoulli_(self, p=0.5):
        from .random import generator

        return self._fill("bernoulli_", generator().random(self.shape) < _to_array(p))

    def __setitem__(self, key, value):
        key = _index_key(key)
        if self._records("__setitem__", (value,)):
            from .ops.inplace import SetItem

            value = value.to(self.dtype) if isinstance(value, Tensor) and value.dtype != self.dtype else value
            return self._inplace("__setitem__", lambda s: SetItem.apply(s, _s(value), key=key), value)
        self.array[key] = value.array if isinstance(value, Tensor) else value
        self._bump()

    def _augmented(self, name, o, method, op):
        """``x op= o`` in place; on a view of a tensor in the graph (``x[0] += 1``) the memory is
        changed and the recorded result returned, so that Python's ``x[0] = result`` records it."""
        if self._view_of_graph and _grad_on():
            out = op(Tensor._from_op(self.array.copy(), self.grad_fn, self._output_index), o)
            self._write(name, out.array)
            return out
        return method(o)

    def __iadd__(self, o):
        return self._augmented("+=", o, self.add_, Tensor.__add__)

    def __isub__(self, o):
        return self._augmented("-=", o, self.sub_, Tensor.__sub__)

    def __imul__(self, o):
        return self._augmented("*=", o, self.mul_, Tensor.__mul__)

    def __itruediv__(self, o):
        return self._augmented("/=", o, self.div_, Tensor.__truediv__)

    # ----- operators --------------------------------------------------------------------------
    def __add__(self, o):
        return _ops().add(self, o)

    def __radd__(self, o):
        return _ops().add(o, self)

    def __sub__(self, o):
        return _ops().sub(self, o)

    def __rsub__(self, o):
        return _ops().sub(o, self)

    def __mul__(self, o):
        return _ops().mul(self, o)

    def __rmul__(self, o):
        return _ops().mul(o, self)

    def __truediv__(self, o):
        return _ops().div(self, o)

    def __rtruediv__(self, o):
        return _ops().div(o, self)

    def __pow__(self, o):
        return _ops().pow(self, o)

    def __rpow__(self, o):
        return _ops().pow(o, self)

    def __matmul__(self, o):
        return _ops().matmul(self, o)

    def __rmatmul__(self, o):
        return _ops().matmul(o, self)

    def __neg__(self):
        return _ops().neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops().abs(self)

    def _compare(self, o, f):
        return Tensor(f(self.array, o.array if isinstance(o, Tensor) else o))

    def __eq__(self, o):
        return self._compare(o, xp.equal)

    def __ne__(self, o):
        return self._compare(o, xp.not_equal)

    def __lt__(self, o):
        return self._compare(o, xp.less)

    def __le__(self, o):
        return self._compare(o, xp.less_equal)

    def __gt__(self, o):
        return self._compare(o, xp.greater)

    def __ge__(self, o):
        return self._compare(o, xp.greater_equal)

    def __and__(self, o):
        return self._compare(o, xp.logical_and if self.dtype == np.bool_ else xp.bitwise_and)

    def __or__(self, o):
        return self._compare(o, xp.logical_or if self.dtype == np.bool_ else xp.bitwise_or)

    def __invert__(self):
        return Tensor(xp.logical_not(self.array) if self.dtype == np.bool_ else xp.invert(self.array))

    def __getitem__(self, key):
        return _ops().getitem(self, key)

    def eq(self, o):
        return self == o

    def ne(self, o):
        return self != o

    def lt(self, o):
        return self < o

    def gt(self, o):
        return self > o

    def le(self, o):
        return self <= o

    def ge(self, o):
        return self >= o

    # ----- math methods (both dialects) -------------------------------------------------------
    def add(self, o, alpha=1):
        return _ops().add(self, o if alpha == 1 else _ops().mul(o, alpha))

    def sub(self, o, alpha=1):
        return _ops().sub(self, o if alpha == 1 else _ops().mul(o, alpha))

    def mul(self, o):
        return _ops().mul(self, o)

    def div(self, o):
        return _ops().div(self, o)

    def pow(self, o):
        return _ops().pow(self, o)

    def matmul(self, o):
        return _ops().matmul(self, o)

    def mm(self, o):
        return _ops().matmul(self, o)

    def dot(self, o):
        return _ops().matmul(self, o)

    def exp(self):
        return _ops().exp(self)

    def log(self):
        return _ops().log(self)

    def log1p(self):
        return _ops().log1p(self)

    def lgamma(self):
        return _ops().lgamma(self)

    def digamma(self):
        return _ops().digamma(self)

    def expm1(self):
        return _ops().expm1(self)

    def tril(self, diagonal=0):
        return _ops().tril(self, diagonal)

    def triu(self, diagonal=0):
        return _ops().triu(self, diagonal)

    def narrow(self, dim, start, length):
        return _ops().narrow(self, dim, start, length)

    def norm(self, p="fro", dim=None, keepdim=False):
        return _ops().lp_norm(self, p, dim, keepdim)

    def multinomial(self, num_samples, replacement=False, generator=None):
        from .creation import multinomial
        return multinomial(self, num_samples, replacement, generator)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A new tensor from ``data`` with this tensor's dtype (unless ``dtype`` is given)."""
        from .creation import tensor
        return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import zeros
        return zeros(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import ones
        return ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from .creation import full
        return full(size, fill_value, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def sqrt(self):
        return _ops().sqrt(self)

    def abs(self):
        return _ops().abs(self)

    def sin(self):
        return _ops().sin(self)

    def cos(self):
        return _ops().cos(self)

    def clip(self, min=None, max=None):  # noqa: A002
        return _ops().clip(self, min, max)

    clamp = clip

    def maximum(self, o):
        return _ops().maximum(self, o)

    def minimum(self, o):
        return _ops().minimum(self, o)

    def sigmoid(self):
        return _ops().sigmoid(self)

    def tanh(self):
        return _ops().tanh(self)

    def relu(self):
        return _ops().relu(self)

    def softmax(self, dim=-1, axis=None):
        return _ops().softmax(self, axis=_axis(axis, dim, -1))

    def log_softmax(self, dim=-1, axis=None):
        return _ops().log_softmax(self, axis=_axis(axis, dim, -1))

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=False, dtype=None):
        out = _ops().sum(self, axis=_axis(axis, dim), keepdims=keepdims or keepdim)
        return out if dtype is None else out.to(dtype)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        return _ops().mean(self, axis=_axis(axis, dim), keepdims=keepdims or keepdim)

    def _extreme(self, op, arg, axis, keepdims, dim, keepdim):
        if isinstance(axis, Tensor):  # torch.max(a, b) style
            return getattr(_ops(), "maximum" if op == "max" else "minimum")(self, axis)
        values = getattr(_ops(), op)(self, axis=_axis(axis, dim), keepdims=keepdims or keepdim)
        if dim is None:
            return values
        idx = arg(self.array, axis=dim)
        if keepdim:
            idx = xp.expand_dims(idx, dim)
        return MinMaxResult(values, Tensor(idx))

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        """``x.max(axis=1)`` gives values (NumPy); ``x.max(dim=1)`` gives (values, indices) (PyTorch)."""
        return self._extreme("max", xp.argmax, axis, keepdims, dim, keepdim)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        return self._extreme("min", xp.argmin, axis, keepdims, dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        return _ops().max(self, axis=dim, keepdims=keepdim)

    def amin(self, dim=None, keepdim=False):
        return _ops().min(self, axis=dim, keepdims=keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, axis=None, ddof=None, keepdims=False,
            correction=None):
        """Variance, as PyTorch: ``var(dim, unbiased, keepdim)``, ``var(unbiased)``, ``correction=``;
        the divisor is n − 1 unless ``unbiased=False``/``correction=``. With NumPy's ``axis=`` the
        default divisor is n (``ddof`` as NumPy)."""
        dim, ddof = _var_args(dim, unbiased, axis, ddof, correction)
        return _ops().var(self, axis=dim, ddof=ddof, keepdims=keepdims or keepdim)

    def std(self, dim=None, unbiased=None, keepdim=False, *, axis=None, ddof=None, keepdims=False,
            correction=None):
        """Standard deviation, with the signatures of :meth:`var`."""
        dim, ddof = _var_args(dim, unbiased, axis, ddof, correction)
        return _ops().std(self, axis=dim, ddof=ddof, keepdims=keepdims or keepdim)

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        return _ops().logsumexp(self, axis=_axis(axis, dim), keepdims=keepdims or keepdim)

    def prod(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        return _ops().prod(self, axis=_axis(axis, dim), keepdims=keepdims or keepdim)

    def argmax(self, axis=None, dim=None, keepdims=False, keepdim=False):
        return Tensor(xp.argmax(self.array, axis=_axis(axis, dim), keepdims=keepdims or keepdim))

    def argmin(self, axis=None, dim=None, keepdims=False, keepdim=False):
        return Tensor(xp.argmin(self.array, axis=_axis(axis, dim), keepdims=keepdims or keepdim))

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return Tensor(xp.all(self.numpy(), axis=_axis(axis, dim), keepdims=keepdim or keepdims))

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return Tensor(xp.any(self.numpy(), axis=_axis(axis, dim), keepdims=keepdim or keepdims))

    # ----- shape methods ----------------------------------------------------------------------
    def reshape(self, *shape):
        return _ops().reshape(self, _shape_args(shape))

    def view(self, *shape, dtype=None):
        """``x.view(2, -1)`` reshapes; ``x.view(dtype)`` reads the same bytes as another dtype (as
        PyTorch: the last dimension scales by the ratio of the item sizes; not differentiable)."""
        if dtype is None and len(shape) == 1 and not isinstance(shape[0], (tuple, list, numbers.Integral,
                                                                           Tensor)):
            dtype = shape[0]
        if dtype is not None:
            dtype = as_dtype(dtype)
            arr = self.numpy()
            if dtype.itemsize != arr.dtype.itemsize and arr.ndim == 0:
                raise RuntimeError(f"view({dtype}): a 0-d {arr.dtype} tensor cannot be viewed as a dtype "
                                   "of another size")
            return Tensor(arr.view(dtype))
        return _ops().reshape(self, _shape_args(shape))

    def view_as(self, other):
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim=0, end_dim=-1):
        return _ops().flatten(self, start_dim, end_dim)

    def transpose(self, *axes):
        """``x.transpose(0, 1)`` swaps two axes (PyTorch); ``x.transpose((1, 0, 2))`` permutes (NumPy)."""
        if not axes:
            return self.T
        if len(axes) == 2 and all(isinstance(a, numbers.Integral) for a in axes):
            perm = list(range(self.ndim))
            a, b = axes
            perm[a], perm[b] = perm[b], perm[a]
            return _ops().transpose(self, tuple(perm))
        return _ops().transpose(self, _shape_args(axes))

    def swapaxes(self, a, b):
        return self.transpose(a, b)

    def permute(self, *dims):
        return _ops().transpose(self, _shape_args(dims))

    def t(self):
        return self.T

    def squeeze(self, dim=None, axis=None):
        return _ops().squeeze(self, _axis(axis, dim))

    def unsqueeze(self, dim):
        return _ops().unsqueeze(self, dim)

    def expand(self, *sizes):
        sizes = _shape_args(sizes)
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        return _ops().broadcast_to(self, shape)

    def expand_as(self, other):
        return _ops().broadcast_to(self, other.shape)

    def broadcast_to(self, shape):
        return _ops().broadcast_to(self, tuple(shape))

    def repeat(self, *reps):
        return _ops().tile(self, _shape_args(reps))

    def split(self, split_size_or_sections, dim=0):
        return _ops().split(self, split_size_or_sections, axis=dim)

    def chunk(self, chunks, dim=0):
        return _ops().chunk(self, chunks, axis=dim)

    def contiguous(self):
        return self

    def masked_fill(self, mask, value):
        return _ops().where(mask, value, self)


    # ----- indexing, ordering, shape and comparison methods with PyTorch's signatures ----------
    def gather(self, dim, index, *, sparse_grad=False):
        return _ix().gather(self, dim, index)

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        return _ix().scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return self._inplace("scatter_", lambda s: _ix().scatter(s, dim, index, src, value=value,
                                                                  reduce=reduce), src)

    def scatter_add(self, dim, index, src):
        return _ix().scatter_add(self, dim, index, src)

    def scatter_add_(self, dim, index, src):
        return self._inplace("scatter_add_", lambda s: _ix().scatter_add(s, dim, index, src), src)

    def index_select(self, dim, index):
        return _ix().index_select(self, dim, index)

    def index_add(self, dim, index, source, *, alpha=1):
        return _ix().index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._inplace("index_add_", lambda s: _ix().index_add(s, dim, index, source, alpha=alpha),
                             source)

    def index_fill(self, dim, index, value):
        return _ix().index_fill(self, dim, index, value)

    def index_fill_(self, dim, index, value):
        return self._inplace("index_fill_", lambda s: _ix().index_fill(s, dim, index, value), value)

    def index_copy(self, dim, index, source):
        return _ix().index_copy(self, dim, index, source)

    def index_copy_(self, dim, index, source):
        return self._inplace("index_copy_", lambda s: _ix().index_copy(s, dim, index, source), source)

    def take(self, index):
        return _ix().take(self, index)

    def take_along_dim(self, indices, dim=None):
        return _ix().take_along_dim(self, indices, dim)

    def masked_select(self, mask):
        return _ix().masked_select(self, mask)

    def masked_fill_(self, mask, value):
        return self._inplace("masked_fill_", lambda s: _ix().masked_fill(s, mask, value), value)

    def masked_scatter(self, mask, source):
        return _ix().masked_scatter(self, mask, source)

    def masked_scatter_(self, mask, source):
        return self._inplace("masked_scatter_", lambda s: _ix().masked_scatter(s, mask, source), source)

    def nonzero(self, *, as_tuple=False):
        return _ix().nonzero(self, as_tuple=as_tuple)

    def argwhere(self):
        return _ix().argwhere(self)

    def where(self, condition, other):
        """``x.where(condition, y)``: x where condition is true, else y."""
        return _ops().where(condition, self, other)

    def select(self, dim, index):
        return _ix().select(self, dim, index)

    def sort(self, dim=-1, descending=False, stable=False):
        return _ix().sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _ix().argsort(self, dim, descending, stable)

    def msort(self):
        return _ix().msort(self)

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002
        return _ix().topk(self, k, dim, largest, sorted)

    def kthvalue(self, k, dim=-1, keepdim=False):
        return _ix().kthvalue(self, k, dim, keepdim)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
        return _ix().unique(self, sorted, return_inverse, return_counts, dim)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        return _ix().unique_consecutive(self, return_inverse, return_counts, dim)

    def cummax(self, dim):
        return _ix().cummax(self, dim)

    def cummin(self, dim):
        return _ix().cummin(self, dim)

    def cumsum(self, dim, *, dtype=None):
        return _ix().cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim, *, dtype=None):
        return _ix().cumprod(self, dim, dtype=dtype)

    def flip(self, *dims):
        return _ix().flip(self, _shape_args(dims))

    def fliplr(self):
        return _ix().fliplr(self)

    def flipud(self):
        return _ix().flipud(self)

    def roll(self, shifts, dims=None):
        return _ix().roll(self, shifts, dims)

    def rot90(self, k=1, dims=(0, 1)):
        return _ix().rot90(self, k, dims)

    def unbind(self, dim=0):
        return _ix().unbind(self, dim)

    def tensor_split(self, indices_or_sections, dim=0):
        return _ix().tensor_split(self, indices_or_sections, dim)

    def hsplit(self, indices_or_sections):
        return _ix().hsplit(self, indices_or_sections)

    def vsplit(self, indices_or_sections):
        return _ix().vsplit(self, indices_or_sections)

    def dsplit(self, indices_or_sections):
        return _ix().dsplit(self, indices_or_sections)

    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        return _ix().repeat_interleave(self, repeats, dim)

    def tile(self, *dims):
        return _ix().tile(self, _shape_args(dims))

    def movedim(self, source, destination):
        return _ix().movedim(self, source, destination)

    moveaxis = movedim

    def swapdims(self, dim0, dim1):
        return _ix().swapdims(self, dim0, dim1)

    def unflatten(self, dim, sizes):
        return _ix().unflatten(self, dim, sizes)

    def ravel(self):
        return _ix().ravel(self)

    def diag(self, diagonal=0):
        return _ix().diag(self, diagonal)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        return _ix().diagonal(self, offset, dim1, dim2)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        return _ix().diag_embed(self, offset, dim1, dim2)

    def diagflat(self, offset=0):
        return _ix().diagflat(self, offset)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        return _ix().diff(self, n, dim, prepend, append)

    def histc(self, bins=100, min=0, max=0):  # noqa: A002
        return _ix().histc(self, bins, min, max)

    def bincount(self, weights=None, minlength=0):
        return _ix().bincount(self, weights, minlength)

    def count_nonzero(self, dim=None):
        return _ix().count_nonzero(self, dim)

    def greater(self, o):
        return self > o

    def greater_equal(self, o):
        return self >= o

    def less(self, o):
        return self < o

    def less_equal(self, o):
        return self <= o

    def not_equal(self, o):
        return self != o

    def equal(self, o):
        return _ix().equal(self, o)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ix().isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ix().allclose(self, other, rtol, atol, equal_nan)

    def isnan(self):
        return _ix().isnan(self)

    def isinf(self):
        return _ix().isinf(self)

    def isfinite(self):
        return _ix().isfinite(self)

    def isposinf(self):
        return _ix().isposinf(self)

    def isneginf(self):
        return _ix().isneginf(self)

    def logical_and(self, o):
        return _ix().logical_and(self, o)

    def logical_or(self, o):
        return _ix().logical_or(self, o)

    def logical_xor(self, o):
        return _ix().logical_xor(self, o)

    def logical_not(self):
        return _ix().logical_not(self)

    def type_as(self, other):
        return self.to(other.dtype)


def parse_to_args(args, kwargs):
    """The dtype named by ``.to(...)``'s arguments (None if only a device is named).

    Accepts dtypes, dtype names, a tensor (its dtype), and the CPU device as a string or an object
    with ``.type == "cpu"``; other devices raise, since this backend runs on the CPU.
    """
    dtype = kwargs.get("dtype")
    for a in list(args) + [kwargs.get("device")]:
        if a is None:
            continue
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, (device, int)) or (isinstance(a, str) and a.split(":")[0] in KNOWN_TYPES):
            check_device(a)
        else:
            dtype = a
    return as_dtype(dtype)


class MinMaxResult(tuple):
    """``(values, indices)`` as returned by ``x.max(dim=...)``, like PyTorch's named tuple."""

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _axis(axis, dim, default=None):
    if axis is not None and dim is not None:
        raise TypeError("give either axis= (NumPy) or dim= (PyTorch), not both")
    out = axis if axis is not None else dim
    if isinstance(out, list):
        out = tuple(out)
    return default if out is None else out


_TENSOR_TYPES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                 "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
                 "uint8": "ByteTensor", "bool": "BoolTensor"}


def _var_args(dim, unbiased, axis, ddof, correction):
    """(axes, ddof) of var/std from PyTorch's or NumPy's arguments."""
    if isinstance(dim, bool):  # x.var(False): torch's var(unbiased)
        dim, unbiased = None, dim
    numpy_style = axis is not None
    dim = _axis(axis, dim)
    if ddof is not None:
        return dim, ddof
    if correction is not None:
        return dim, correction
    if unbiased is not None:
        return dim, 1 if unbiased else 0
    return dim, 0 if numpy_style else 1


def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    if len(shape) == 1 and isinstance(shape[0], Tensor):
        return tuple(int(s) for s in shape[0].array)
    for s in shape:
        if type(s) is not int:
            return tuple(int(s) for s in shape)
    return shape                                  # already a tuple of Python ints


def _index_key(key):
    if isinstance(key, Tensor):
        return key.array
    if isinstance(key, tuple):
        return tuple(k.array if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, list):
        return xp.asarray(key)
    return key


def _s(x):
    return x.item() if isinstance(x, np.generic) else x


def _grad_on():
    from .autograd import is_grad_enabled

    return is_grad_enabled()


_OPS = None


def _ops():
    global _OPS
    if _OPS is None:
        from . import ops

        _OPS = ops
    return _OPS


def _ix():
    from .ops import indexing

    return indexing


# ----- element-wise math, reductions and linear algebra with PyTorch's names (ops/elementwise.py) -----
def _method(name):
    def method(self, *args, **kwargs):
        return getattr(_ops(), name)(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``shendu.{name}(self, ...)``."
    return method


for _name in ("acos acosh addbmm addcdiv addcmul addmm addmv addr aminmax arccos arccosh arcsin arcsinh "
              "arctan arctan2 arctanh asin asinh atan atan2 atanh baddbmm ceil clamp_max clamp_min cosh "
              "cross det dist erf erfc erfinv exp2 fix floor floor_divide fmod frac ger hypot inner kron "
              "lerp log2 log10 logcumsumexp logit median mode mv nan_to_num nanmean nanmedian nansum neg "
              "negative outer positive quantile reciprocal remainder round rsqrt sgn sign sinh square tan "
              "trace true_divide trunc vdot xlogy").split():
    setattr(Tensor, _name, _method(_name))
del _name


def _bernoulli(self, p=None, *, generator=None):
    from .creation import bernoulli

    return bernoulli(self, p, generator)


Tensor.bernoulli = _bernoulli
