"""Tensor factories. Sizes are given as ``zeros(2, 3)`` or ``zeros((2, 3))``; floats default to float32."""
import numpy as np

from ._device import check_device
from .backend import xp
from .random import generator
from .tensor import Tensor, _shape_args, _to_array, as_dtype, get_default_dtype


def _make(array, requires_grad, device=None):
    check_device(device, "a new tensor")
    return Tensor(array, requires_grad=requires_grad)


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (a list, an array, a number or a tensor)."""
    return _make(_to_array(data, as_dtype(dtype), copy=True), requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory with an ndarray when no conversion is needed."""
    check_device(device, "a new tensor")
    return data if isinstance(data, Tensor) and dtype is None else Tensor(_to_array(data, as_dtype(dtype)))


def from_numpy(array):
    """A tensor sharing memory with the ndarray ``array``."""
    return as_tensor(array)


def _float(dtype):
    return as_dtype(dtype) or get_default_dtype()


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _make(xp.zeros(_shape_args(size), _float(dtype)), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _make(xp.ones(_shape_args(size), _float(dtype)), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None and isinstance(fill_value, (int, np.integer)) and not isinstance(fill_value, bool):
        dtype = np.int64
    return _make(xp.full(_shape_args((size,)), fill_value, _float(dtype)), requires_grad, device)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform samples on [0, 1) from the library generator (see ``manual_seed``)."""
    return _make(_rng(generator).random(_shape_args(size)).astype(_float(dtype)), requires_grad, device)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal samples from the library generator."""
    samples = _rng(generator).standard_normal(_shape_args(size))
    return _make(samples.astype(_float(dtype)), requires_grad, device)


def randint(*args, size=None, dtype=None, device=None, requires_grad=False, generator=None, **kwargs):
    """Integers uniform on [low, high): ``randint(high, size)`` or ``randint(low, high, size)`` (PyTorch).

    ``low``/``high`` may also be given by keyword; ``size`` is a tuple (or an int).
    """
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    low, high = kwargs.pop("low", None), kwargs.pop("high", None)
    if kwargs:
        raise TypeError(f"randint() got unexpected keyword arguments {sorted(kwargs)}")
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        low, high = (0, args[0]) if high is None else (args[0], high)
    elif len(args) > 2:
        raise TypeError("randint() takes randint(high, size) or randint(low, high, size)")
    if high is None:
        raise TypeError("randint() needs high: randint(high, size) or randint(low, high, size)")
    low = 0 if low is None else low
    values = _rng(generator).integers(low, high, _shape_args(((size if size is not None else ()),)))
    return _make(values.astype(as_dtype(dtype) or np.int64), requires_grad, device)


def randperm(n, dtype=None, device=None, requires_grad=False, generator=None):
    return _make(_rng(generator).permutation(n).astype(as_dtype(dtype) or np.int64), requires_grad, device)


def _rng(gen):
    """The generator a random factory draws from: ``generator=`` if given, else the library's."""
    if gen is None:
        return generator()
    return getattr(gen, "numpy_generator", gen)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    floats = any(isinstance(v, float) for v in (start, end, step))
    default = get_default_dtype() if floats else np.int64
    return _make(xp.arange(start, end, step).astype(as_dtype(dtype) or default), requires_grad, device)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    return _make(xp.linspace(start, end, steps).astype(_float(dtype)), requires_grad, device)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _make(xp.eye(n, m, dtype=_float(dtype)), requires_grad, device)


def _like(t, dtype):
    return as_dtype(dtype) or t.dtype


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    return _make(xp.zeros(t.shape, _like(t, dtype)), requires_grad, device)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    return _make(xp.ones(t.shape, _like(t, dtype)), requires_grad, device)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return _make(xp.full(t.shape, fill_value, _like(t, dtype)), requires_grad, device)


def rand_like(t, dtype=None, device=None, requires_grad=False):
    return rand(t.shape, dtype=_like(t, dtype), device=device, requires_grad=requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False):
    return randn(t.shape, dtype=_like(t, dtype), device=device, requires_grad=requires_grad)


def multinomial(input, num_samples, replacement=False, generator=None):  # noqa: A002  (PyTorch's name)
    """Indices drawn from each row of the non-negative weights ``input`` (1-D or 2-D), like torch.multinomial.

    With replacement, each draw is an inverse-CDF lookup; without, the rows' ``num_samples`` largest
    keys u^(1/w) (u ~ U(0, 1)) are taken, which draws without replacement in proportion to w.
    """
    w = np.asarray(input.array if isinstance(input, Tensor) else input, dtype=np.float64)
    if w.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-D or 2-D, got shape {w.shape}")
    rows = w.reshape(-1, w.shape[-1])
    if np.any(rows < 0) or not np.all(np.isfinite(rows)) or np.any(rows.sum(-1) <= 0):
        raise ValueError("multinomial: weights must be finite, non-negative, with a positive sum per row")
    if not replacement and num_samples > (rows > 0).sum(-1).min():
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from "
                         f"{int((rows > 0).sum(-1).min())} non-zero weights")
    rng = _rng(generator)
    if replacement:
        cdf = np.cumsum(rows, -1)
        u = rng.random((len(rows), num_samples)) * cdf[:, -1:]
        out = np.minimum((u[..., None] >= cdf[:, None, :]).sum(-1), rows.shape[-1] - 1)
    else:
        with np.errstate(divide="ignore"):
            keys = np.log(rng.random(rows.shape)) / rows      # log u / w: larger is likelier
        out = np.argsort(-keys, axis=-1, kind="stable")[:, :num_samples]
    return Tensor(out.reshape(w.shape[:-1] + (num_samples,)).astype(np.int64))


# ----- more factories and samplers with PyTorch's signatures ---------------------------------------
def empty_like(t, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor shaped like ``t`` (here: zeros)."""
    return zeros_like(t, dtype=dtype, device=device, requires_grad=requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    """``steps`` values base^s for s evenly spaced from ``start`` to ``end``."""
    return _make(xp.logspace(start, end, steps, base=base).astype(_float(dtype)), requires_grad, device)


def randint_like(t, low=0, high=None, dtype=None, device=None, requires_grad=False):
    """``randint_like(t, high)`` or ``randint_like(t, low, high)``: integers on [low, high), shaped like t."""
    if high is None:
        low, high = 0, low
    values = _rng(None).integers(low, high, t.shape)
    return _make(values.astype(_like(t, dtype)), requires_grad, device)


def bernoulli(input, p=None, generator=None):  # noqa: A002
    """0/1 samples with probability ``input`` (or the number ``p``) of a 1, in ``input``'s dtype."""
    probs = input.numpy() if p is None else np.full(input.shape, p)
    if ((probs < 0) | (probs > 1)).any():
        raise ValueError("bernoulli: probabilities must lie in [0, 1]")
    draws = _rng(generator).random(input.shape) < probs
    return Tensor(draws.astype(input.dtype if input.dtype.kind == "f" else get_default_dtype()))


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Normal samples, with PyTorch's signatures: ``normal(mean_tensor, std_tensor)``,
    ``normal(mean_tensor, std=1.0)``, ``normal(mean=0.0, std_tensor)`` (shape of the tensors,
    broadcast) and ``normal(mean, std, size)`` (numbers and a size)."""
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if tensors:
        if size is not None:
            raise TypeError("normal: give size only with a number mean and std")
        m = mean.numpy() if isinstance(mean, Tensor) else mean
        s = std.numpy() if isinstance(std, Tensor) else std
        if (np.asarray(s) < 0).any():
            raise ValueError("normal: std must be non-negative")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        out_dtype = np.result_type(*[t.dtype for t in tensors])
        out_dtype = out_dtype if out_dtype.kind == "f" else get_default_dtype()
        draws = m + s * _rng(generator).standard_normal(shape)
        return _make(draws.astype(as_dtype(dtype) or out_dtype), requires_grad, device)
    if size is None:
        raise TypeError("normal(mean, std, size): size is needed when mean and std are numbers")
    draws = mean + std * _rng(generator).standard_normal(_shape_args((size,)))
    return _make(draws.astype(_float(dtype)), requires_grad, device)


def poisson(input, generator=None):  # noqa: A002
    """Poisson samples with rates ``input``, in ``input``'s dtype."""
    return Tensor(_rng(generator).poisson(input.numpy()).astype(input.dtype))


def _legacy_constructor(name, dtype):
    def make(*args):
        """``torch.{name}(2, 3)``: a zero-filled tensor of that size; ``torch.{name}([1, 2])``: the data."""
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            return tensor(args[0], dtype=dtype)
        return zeros(*args, dtype=dtype)
    make.__name__ = make.__qualname__ = name
    make.__doc__ = make.__doc__.format(name=name)
    return make


FloatTensor = _legacy_constructor("FloatTensor", np.float32)
DoubleTensor = _legacy_constructor("DoubleTensor", np.float64)
LongTensor = _legacy_constructor("LongTensor", np.int64)
IntTensor = _legacy_constructor("IntTensor", np.int32)
BoolTensor = _legacy_constructor("BoolTensor", np.bool_)
