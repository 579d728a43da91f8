"""Element-wise math, reductions and linear algebra with PyTorch's names and signatures.

Most functions here are compositions of differentiable operations (their gradients, and gradients
of gradients, follow). The classes below are the operations that need their own derivative:

- ``asin``/``acos``/``atan``: d asin = 1/√(1−a²), d acos = −1/√(1−a²), d atan = 1/(1+a²).
- ``atan2(a, b)`` = the angle of (b, a): ∂/∂a = b/(a²+b²), ∂/∂b = −a/(a²+b²).
- ``erf`` = 2/√π ∫₀ᵃ e^(−t²) dt: d erf = 2/√π e^(−a²); ``erfinv``: d erfinv = √π/2 e^(erfinv(a)²).
- ``floor``/``ceil``/``round``/``trunc``/``sign``/``floor_divide``: piecewise constant, gradient 0.
- ``fmod(a, b)`` = a − trunc(a/b)·b and ``remainder(a, b)`` = a − floor(a/b)·b: ∂/∂a = 1, ∂/∂b = −trunc(a/b)
  (resp. −floor(a/b)).
- ``nan_to_num``: the gradient passes where a is finite, 0 elsewhere.
- ``logcumsumexp`` zᵢ = log Σ_{j≤i} e^(aⱼ): ∂zᵢ/∂aⱼ = e^(aⱼ − zᵢ) for j ≤ i.
- ``einsum``: the gradient of operand k is einsum of the output gradient with the other operands.
"""
import math

import numpy as np

from ..autograd import Function, sum_to, unbroadcast
from ..backend import xp
from ..tensor import Tensor

_erf = np.vectorize(math.erf, otypes=[np.float64])


def erf_array(a):
    """erf of an array, exact to the last place (Python's ``math.erf`` element by element)."""
    a = np.asarray(a)
    return _erf(a).astype(a.dtype if a.dtype.kind == "f" else np.float32, copy=False)


def erfinv_array(y):
    """The inverse of erf on (−1, 1): Giles' approximation polished by two Newton steps; ±inf at ±1."""
    y = np.asarray(y)
    dtype = y.dtype if y.dtype.kind == "f" else np.float32
    y64 = y.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1.0 - y64) * (1.0 + y64))
        small = w < 5.0
        ws, wl = w - 2.5, np.sqrt(w) - 3.0
        ps = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941):
            ps = c + ps * ws
        pl = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682):
            pl = c + pl * wl
        x = np.where(small, ps, pl) * y64
        for _ in range(2):
            x = x - (_erf(x) - y64) / (2 / math.sqrt(math.pi) * np.exp(-x * x))
        x = np.where(y64 == 1, np.inf, np.where(y64 == -1, -np.inf, x))
        x = np.where(np.abs(y64) > 1, np.nan, x)
    return x.astype(dtype, copy=False)


class _Unary(Function):
    """z = f(a); the derivative is :meth:`grad` written with Tensor operations (so it works for
    both ``backward`` and ``create_graph=True``)."""

    def forward(self, a):
        self.a = a
        return self.f(a)

    def backward(self, g):
        return g * self.grad(Tensor(self.a)).numpy()

    def backward_graph(self, g):
        return g * self.grad(self.inputs[0])


class Asin(_Unary):
    """z = asin a;  dz/da = 1/√(1−a²)."""
    f = staticmethod(xp.arcsin)

    @staticmethod
    def grad(a):
        return (1 - a * a).rsqrt()


class Acos(_Unary):
    """z = acos a;  dz/da = −1/√(1−a²)."""
    f = staticmethod(xp.arccos)

    @staticmethod
    def grad(a):
        return -(1 - a * a).rsqrt()


class Atan(_Unary):
    """z = atan a;  dz/da = 1/(1+a²)."""
    f = staticmethod(xp.arctan)

    @staticmethod
    def grad(a):
        return 1 / (1 + a * a)


class Erf(_Unary):
    """z = erf a;  dz/da = 2/√π · e^(−a²)."""
    f = staticmethod(erf_array)

    @staticmethod
    def grad(a):
        return (2 / math.sqrt(math.pi)) * (-(a * a)).exp()


class Erfinv(_Unary):
    """z = erfinv a;  dz/da = √π/2 · e^(z²)."""
    f = staticmethod(erfinv_array)

    @staticmethod
    def grad(a):
        z = Erfinv.apply(a)
        return (math.sqrt(math.pi) / 2) * (z * z).exp()


class Step(Function):
    """A piecewise-constant function (floor, ceil, round, trunc, sign): z = f(a);  dz/da = 0."""

    def forward(self, a, fn=None):
        self.shape, self.dtype = a.shape, a.dtype
        return fn(a)

    def backward(self, g):
        return xp.zeros(self.shape, g.dtype)

    def backward_graph(self, g):
        return g * 0


class Atan2(Function):
    """z = atan2(a, b);  dz/da = b/(a²+b²), dz/db = −a/(a²+b²)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.arctan2(a, b)

    def backward(self, g):
        r = self.a * self.a + self.b * self.b
        return (unbroadcast(g * self.b / r, np.shape(self.a)) if self.needs_grad[0] else None,
                unbroadcast(-g * self.a / r, np.shape(self.b)) if self.needs_grad[1] else None)

    def backward_graph(self, g):
        a, b = self.inputs
        r = a * a + b * b
        return (sum_to(g * b / r, np.shape(self.a)) if self.needs_grad[0] else None,
                sum_to(-g * a / r, np.shape(self.b)) if self.needs_grad[1] else None)


class Mod(Function):
    """fmod: z = a − trunc(a/b)·b;  remainder: z = a − floor(a/b)·b.
    dz/da = 1, dz/db = −trunc(a/b) (fmod) or −floor(a/b) (remainder)."""

    def forward(self, a, b, floor=True):
        self.sa, self.sb = np.shape(a), np.shape(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = a / b
            self.q = xp.floor(q) if floor else xp.trunc(q)
        return xp.remainder(a, b) if floor else xp.fmod(a, b)

    def backward(self, g):
        return (unbroadcast(g, self.sa) if self.needs_grad[0] else None,
                unbroadcast(-g * self.q, self.sb) if self.needs_grad[1] else None)

    def backward_graph(self, g):
        return (sum_to(g, self.sa) if self.needs_grad[0] else None,
                sum_to(-g * Tensor(self.q), self.sb) if self.needs_grad[1] else None)


class NanToNum(Function):
    """z = a where finite; nan → ``nan``, +inf → ``posinf``, −inf → ``neginf``;
    dz/da = 1 where a is finite, else 0."""

    def forward(self, a, nan=0.0, posinf=None, neginf=None):
        self.finite = xp.isfinite(a)
        return xp.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        return g * self.finite

    def backward_graph(self, g):
        return g * Tensor(self.finite.astype(g.dtype))


class LogCumSumExp(Function):
    """zᵢ = log Σ_{j≤i} e^(aⱼ) along ``axis``;  ∂L/∂aⱼ = Σ_{i≥j} gᵢ e^(aⱼ − zᵢ)."""

    def forward(self, a, axis=0):
        self.a, self.axis = a, axis
        m = xp.max(a, axis=axis, keepdims=True) if a.size else 0
        m = xp.where(xp.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            self.out = xp.log(xp.cumsum(xp.exp(a - m), axis=axis)) + m
        return self.out

    def backward(self, g):
        ax = self.axis
        with np.errstate(invalid="ignore", over="ignore"):
            rev = xp.flip(xp.cumsum(xp.flip(g * xp.exp(-self.out), ax), axis=ax), ax)
            return rev * xp.exp(self.a)


def _einsum_parse(eq, shapes):
    eq = eq.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs = eq
        letters = lhs.replace(",", "").replace("...", "")
        once = sorted(c for c in set(letters) if letters.count(c) == 1)
        out = ("..." if "..." in lhs else "") + "".join(once)
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: equation {eq!r} names {len(ins)} operands, got {len(shapes)}")
    # spell out "..." with capital letters so the backward can rearrange freely
    nell = max((len(s) - len(t.replace("...", "")) for t, s in zip(ins, shapes) if "..." in t), default=0)
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in eq][:nell]
    fill = lambda t, n: t.replace("...", "".join(free[nell - n:]))  # noqa: E731
    ins = [fill(t, len(s) - len(t.replace("...", ""))) if "..." in t else t for t, s in zip(ins, shapes)]
    out = fill(out, nell)
    return ins, out


class Einsum(Function):
    """z = einsum(eq, a₀, a₁, …);  ∂L/∂aₖ = einsum(g and the other operands → aₖ's indices), broadcast
    back over indices of aₖ that appear nowhere else (and onto a diagonal where aₖ repeats an index)."""

    def forward(self, *ops, equation=""):
        self.ops = ops
        self.ins, self.out = _einsum_parse(equation, [o.shape for o in ops])
        return xp.einsum(f"{','.join(self.ins)}->{self.out}", *ops)

    def _grad(self, k, g, ops, einsum, bcast):
        sub, shape = self.ins[k], self.ops[k].shape
        if len(set(sub)) != len(sub):
            raise NotImplementedError(f"einsum: the gradient of an operand with a repeated index ({sub!r}) "
                                      "is not supported")
        others = [(s, o) for i, (s, o) in enumerate(zip(self.ins, ops)) if i != k]
        avail = set(self.out).union(*[set(s) for s, _ in others])
        target = "".join(c for c in sub if c in avail)
        eq = ",".join([self.out] + [s for s, _ in others]) + "->" + target
        res = einsum(eq, g, *[o for _, o in others])
        if target != sub:  # indices of this operand alone: the gradient is constant along them
            res = bcast(res.reshape(tuple(n if c in avail else 1 for c, n in zip(sub, shape))), shape)
        return res

    def backward(self, *gs):
        g = gs[0]
        bcast = lambda r, shape: xp.broadcast_to(r, shape)  # noqa: E731
        return tuple(self._grad(k, g, self.ops, xp.einsum, bcast) if self.needs_grad[k] else None
                     for k in range(len(self.ops)))

    def backward_graph(self, g):
        from . import einsum as ein

        bcast = lambda r, shape: r.broadcast_to(shape)  # noqa: E731
        return tuple(self._grad(k, g, self.inputs, ein, bcast) if self.needs_grad[k] else None
                     for k in range(len(self.ops)))


# ----- functions with PyTorch's names and signatures ---------------------------------------------
def _o():
    from .. import ops

    return ops


def _t(x, like=None):
    if isinstance(x, Tensor):
        return x
    dtype = like.dtype if isinstance(like, Tensor) and like.dtype.kind == "f" else None
    return Tensor(np.asarray(x, dtype=dtype))


def _step(fn, a):
    return Step.apply(_t(a), fn=fn)


def tan(input):  # noqa: A002
    """tan a = sin a / cos a."""
    return _o().sin(input) / _o().cos(input)


def asin(input):  # noqa: A002
    return Asin.apply(input)


def acos(input):  # noqa: A002
    return Acos.apply(input)


def atan(input):  # noqa: A002
    return Atan.apply(input)


def sinh(input):  # noqa: A002
    """sinh a = (eᵃ − e⁻ᵃ)/2 (as expm1 for accuracy near 0)."""
    return (_o().expm1(input) - _o().expm1(-input)) / 2


def cosh(input):  # noqa: A002
    """cosh a = (eᵃ + e⁻ᵃ)/2."""
    return (_o().exp(input) + _o().exp(-input)) / 2


def asinh(input):  # noqa: A002
    """asinh a = sign(a)·log(|a| + √(a²+1)) (odd, so accurate for negative a)."""
    a = _o().abs(input)
    return sign(input) * _o().log1p(a + a * a / (1 + _o().sqrt(a * a + 1)))


def acosh(input):  # noqa: A002
    """acosh a = log(a + √(a²−1))."""
    return _o().log(input + _o().sqrt(input * input - 1))


def atanh(input):  # noqa: A002
    """atanh a = ½·(log1p(a) − log1p(−a))."""
    return (_o().log1p(input) - _o().log1p(-input)) / 2


def exp2(input):  # noqa: A002
    """2ᵃ = e^(a·ln 2)."""
    return _o().exp(_t(input) * math.log(2.0))


def log2(input):  # noqa: A002
    return _o().log(input) / math.log(2.0)


def log10(input):  # noqa: A002
    return _o().log(input) / math.log(10.0)


def erf(input):  # noqa: A002
    return Erf.apply(input)


def erfc(input):  # noqa: A002
    """erfc a = 1 − erf a."""
    return 1 - Erf.apply(input)


def erfinv(input):  # noqa: A002
    return Erfinv.apply(input)


def sign(input):  # noqa: A002
    return _step(xp.sign, input)


sgn = sign


def floor(input):  # noqa: A002
    return _step(xp.floor, input)


def ceil(input):  # noqa: A002
    return _step(xp.ceil, input)


def round(input, decimals=0):  # noqa: A001, A002
    """Round half to even (as PyTorch), to ``decimals`` places."""
    return _step(lambda a: xp.round(a, decimals), input)


def trunc(input):  # noqa: A002
    return _step(xp.trunc, input)


fix = trunc


def frac(input):  # noqa: A002
    """a − trunc(a) (the sign of a kept)."""
    return input - trunc(input)


def reciprocal(input):  # noqa: A002
    return 1 / _t(input)


def rsqrt(input):  # noqa: A002
    return 1 / _o().sqrt(input)


def square(input):  # noqa: A002
    return input * input


def positive(input):  # noqa: A002
    return input


def negative(input):  # noqa: A002
    return -input


def clamp_min(input, min):  # noqa: A002
    return _o().clip(input, min=min)


def clamp_max(input, max):  # noqa: A002
    return _o().clip(input, max=max)


def logit(input, eps=None):  # noqa: A002
    """log(p / (1 − p)), with p clamped to [eps, 1 − eps] when ``eps`` is given."""
    p = input if eps is None else _o().clip(input, eps, 1 - eps)
    return _o().log(p) - _o().log1p(-p)


def xlogy(input, other):  # noqa: A002
    """x·log y, and 0 where x = 0 (also when y = 0)."""
    x, y = _t(input, other), _t(other, input)
    zero = x.numpy() == 0
    safe_y = _o().where(zero, 1.0, y) if zero.any() else y
    return _o().where(zero, 0.0, x * _o().log(safe_y))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):  # noqa: A002
    """nan → ``nan``; ±inf → ``posinf``/``neginf`` (the dtype's largest/smallest value by default)."""
    return NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)


def lerp(input, end, weight):  # noqa: A002
    """input + weight·(end − input)."""
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, *, value=1):  # noqa: A002
    """input + value·tensor1·tensor2."""
    return input + value * (tensor1 * tensor2)


def addcdiv(input, tensor1, tensor2, *, value=1):  # noqa: A002
    """input + value·tensor1/tensor2."""
    return input + value * (tensor1 / tensor2)


def hypot(input, other):  # noqa: A002
    """√(a² + b²)."""
    return _o().sqrt(input * input + other * other)


def atan2(input, other):  # noqa: A002
    return Atan2.apply(input, other)


arctan2 = atan2


def fmod(input, other):  # noqa: A002
    """The remainder of a/b with the sign of a (C's fmod)."""
    return Mod.apply(input, other, floor=False)


def remainder(input, other):  # noqa: A002
    """The remainder of a/b with the sign of b (Python's %)."""
    return Mod.apply(input, other, floor=True)


def floor_divide(input, other):  # noqa: A002
    """floor(a / b) (gradient 0, as PyTorch)."""
    return Step.apply(_t(input), fn=lambda a: xp.floor_divide(a, other.numpy() if isinstance(other, Tensor)
                                                                else other))


def true_divide(input, other):  # noqa: A002
    return _o().div(input, other)


# ----- reductions ----------------------------------------------------------------------------
def _red(name):
    def fn(input, *args, **kwargs):  # noqa: A002
        return getattr(_t(input), name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"``input.{name}(...)``: see :meth:`shendu.Tensor.{name}` (PyTorch's signatures)."
    return fn


sum = _red("sum")  # noqa: A001
mean = _red("mean")
prod = _red("prod")
std = _red("std")
var = _red("var")
logsumexp = _red("logsumexp")


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """(std, mean) over ``dim``, as two tensors."""
    return (input.std(dim, unbiased, keepdim, correction=correction),
            input.mean(dim=_dims(dim), keepdim=keepdim))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """(var, mean) over ``dim``, as two tensors."""
    return (input.var(dim, unbiased, keepdim, correction=correction),
            input.mean(dim=_dims(dim), keepdim=keepdim))


def _dims(dim):
    return tuple(dim) if isinstance(dim, list) else dim


def amax(input, dim=(), keepdim=False):  # noqa: A002
    """The maximum over ``dim`` (all dimensions when empty); the gradient is shared among ties."""
    return _o().max(input, axis=_dims(dim) if dim != () else None, keepdims=keepdim)


def amin(input, dim=(), keepdim=False):  # noqa: A002
    return _o().min(input, axis=_dims(dim) if dim != () else None, keepdims=keepdim)


def aminmax(input, *, dim=None, keepdim=False):  # noqa: A002
    """(min, max) over ``dim`` (all dimensions by default), as a named pair."""
    from collections import namedtuple

    pair = namedtuple("aminmax", ["min", "max"])
    dims = () if dim is None else dim
    return pair(amin(input, dims, keepdim), amax(input, dims, keepdim))


def median(input, dim=None, keepdim=False):  # noqa: A002
    """The lower median: of all entries (a value) or along ``dim`` ((values, indices))."""
    from .indexing import kthvalue

    if dim is None:
        flat = input.reshape(-1)
        return kthvalue(flat, (flat.shape[0] + 1) // 2, 0).values
    n = input.shape[dim] if input.ndim else 1
    return kthvalue(input, (n + 1) // 2, dim, keepdim)


def nanmedian(input, dim=None, keepdim=False):  # noqa: A002
    """The lower median of the non-nan entries (no nan in ``input``: as :func:`median`)."""
    if np.isnan(input.numpy()).any():
        raise NotImplementedError("nanmedian: inputs holding nan are not supported yet; use median")
    return median(input, dim, keepdim)


def mode(input, dim=-1, keepdim=False):  # noqa: A002
    """(values, indices): the most frequent value along ``dim`` (the smallest among equally frequent ones)
    and the index of its last occurrence."""
    from .indexing import Gather, MinMaxResult

    a = input.numpy()
    d = dim % a.ndim if a.ndim else 0
    moved = np.moveaxis(a, d, -1) if a.ndim else a.reshape(1)
    rows = moved.reshape(-1, moved.shape[-1])
    idx = np.empty(rows.shape[0], np.int64)
    for r, row in enumerate(rows):
        vals, counts = np.unique(row, return_counts=True)
        v = vals[np.argmax(counts)]
        idx[r] = np.flatnonzero(row == v)[-1]
    idx = idx.reshape(moved.shape[:-1])
    if a.ndim == 0:
        return MinMaxResult(_o().clone(input), Tensor(np.zeros((), np.int64)))
    gidx = np.expand_dims(idx, d)
    values = Gather.apply(input, gidx, dim=d)
    if not keepdim:
        values, gidx = values.squeeze(d), idx
    return MinMaxResult(values, Tensor(gidx))


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    """The q-th quantiles (q a number or a 1-D tensor in [0, 1]) of all entries or along ``dim``;
    ``interpolation``: linear, lower, higher, nearest or midpoint (as PyTorch). A tensor q becomes
    the first dimension of the result."""
    from .indexing import sort

    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else dim % input.ndim
    n = x.shape[d]
    qs = np.atleast_1d(q.numpy() if isinstance(q, Tensor) else np.asarray(q, dtype=np.float64))
    if ((qs < 0) | (qs > 1)).any():
        raise ValueError(f"quantile: q must lie in [0, 1], got {qs.tolist()}")
    s = sort(x, d).values
    pos = qs * (n - 1)
    lo, hi = np.floor(pos).astype(np.int64), np.ceil(pos).astype(np.int64)
    if interpolation == "lower":
        hi, frac_ = lo, np.zeros_like(pos)
    elif interpolation == "higher":
        lo, frac_ = hi, np.zeros_like(pos)
    elif interpolation == "nearest":
        lo = hi = np.round(pos).astype(np.int64)
        frac_ = np.zeros_like(pos)
    elif interpolation == "midpoint":
        frac_ = np.where(hi > lo, 0.5, 0.0)
    elif interpolation == "linear":
        frac_ = pos - lo
    else:
        raise ValueError(f"quantile: interpolation {interpolation!r} is not one of linear, lower, higher, "
                         "nearest, midpoint")
    outs = []
    for a, b, f in zip(lo, hi, frac_):
        va, vb = s.narrow(d, int(a), 1), s.narrow(d, int(b), 1)
        v = va + (vb - va) * float(f) if f else va
        if dim is None:
            v = v.reshape(()) if not keepdim else v.reshape((1,) * input.ndim)
        elif not keepdim:
            v = v.squeeze(d)
        outs.append(v)
    if isinstance(q, Tensor) and q.ndim or isinstance(q, (list, tuple, np.ndarray)):
        return _o().stack(outs, 0)
    return outs[0]


def nansum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """The sum with nan entries counted as 0."""
    nan = np.isnan(input.numpy())
    x = _o().where(nan, 0.0, input) if nan.any() else input
    return x.sum(dim=_dims(dim), keepdim=keepdim, dtype=dtype)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """The mean of the non-nan entries."""
    nan = np.isnan(input.numpy())
    count = Tensor((~nan).sum(axis=_dims(dim), keepdims=keepdim).astype(input.dtype))
    return nansum(input, dim, keepdim, dtype=dtype) / count


def logcumsumexp(input, dim):  # noqa: A002
    return LogCumSumExp.apply(input, axis=dim % input.ndim if input.ndim else 0)


# ----- linear algebra --------------------------------------------------------------------------
def einsum(equation, *operands):
    """Einstein summation, as ``torch.einsum`` (operands also as one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return Einsum.apply(*operands, equation=equation)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002
    """β·input + α·(mat1 @ mat2)."""
    return _scaled(input, beta) + _scaled(_o().matmul(mat1, mat2), alpha)


def _scaled(x, s):
    return x if s == 1 else x * s


def addmv(input, mat, vec, *, beta=1, alpha=1):  # noqa: A002
    return _scaled(input, beta) + _scaled(_o().matmul(mat, vec), alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    return _scaled(input, beta) + _scaled(_o().matmul(batch1, batch2), alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """β·input + α·Σᵦ batch1[b] @ batch2[b]."""
    return _scaled(input, beta) + _scaled(_o().matmul(batch1, batch2).sum(axis=0), alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):  # noqa: A002
    return _scaled(input, beta) + _scaled(outer(vec1, vec2), alpha)


def mv(input, vec):  # noqa: A002
    return _o().matmul(input, vec)


def dot(input, other):  # noqa: A002
    return (input * other).sum()


vdot = dot  # real tensors: conj(a)·b = a·b


def inner(input, other):  # noqa: A002
    """Σ over the last dimension of both."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, ([input.ndim - 1], [other.ndim - 1]))


def outer(input, vec2):  # noqa: A002
    return input.reshape((-1, 1)) * vec2.reshape((1, -1))


ger = outer


def cross(input, other, dim=None):  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (the first dimension of size 3 when omitted)."""
    a, b = _o().broadcast_tensors(input, other)
    if dim is None:
        dim = next(i for i, s in enumerate(a.shape) if s == 3)
    d = dim % a.ndim
    c = [lambda t, i=i: t.narrow(d, i, 1) for i in range(3)]
    parts = [c[1](a) * c[2](b) - c[2](a) * c[1](b), c[2](a) * c[0](b) - c[0](a) * c[2](b),
             c[0](a) * c[1](b) - c[1](a) * c[0](b)]
    return _o().cat(parts, d)


def kron(input, other):  # noqa: A002
    """The Kronecker product: out[i·m + k, …] = a[i, …]·b[k, …]."""
    nd = builtins_max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.ndim) + tuple(other.shape))
    a2 = a.reshape(tuple(x for s in a.shape for x in (s, 1)))
    b2 = b.reshape(tuple(x for s in b.shape for x in (1, s)))
    return (a2 * b2).reshape(tuple(sa * sb for sa, sb in zip(a.shape, b.shape)))


def builtins_max(*a):
    import builtins

    return builtins.max(*a)


def tensordot(a, b, dims=2):
    """Σ over dims of a and b: ``dims`` an int (the last n of a with the first n of b) or two lists."""
    if isinstance(dims, int):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([dims[0]] if isinstance(dims[0], int) else list(dims[0]),
                  [dims[1]] if isinstance(dims[1], int) else list(dims[1]))
    da, db = [x % a.ndim for x in da], [x % b.ndim for x in db]
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(da, db):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in da] + [c for j, c in enumerate(sb) if j not in db]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def trace(input):  # noqa: A002
    """The sum of the main diagonal of a matrix."""
    n = builtins_min(input.shape)
    idx = Tensor(np.arange(n, dtype=np.int64).reshape(n, 1))
    from .indexing import Gather

    return Gather.apply(input.narrow(0, 0, n), idx.numpy(), dim=1).sum()


def builtins_min(a):
    import builtins

    return builtins.min(a)


def dist(input, other, p=2):  # noqa: A002
    """‖input − other‖_p over all entries."""
    return _o().lp_norm(input - other, p)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """Pairwise p-norm distances between the rows of x1 (…, P, M) and x2 (…, R, M): (…, P, R)."""
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return vector_norm(diff, p, dim=-1)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """‖x‖_ord over ``dim`` (all entries flattened by default), as ``torch.linalg.vector_norm``."""
    if dtype is not None:
        x = x.to(dtype)
    if isinstance(ord, str):
        raise ValueError(f"vector_norm: ord must be a number, got {ord!r} (use matrix_norm for 'fro'/'nuc')")
    return _o().lp_norm(x, ord, _dims(dim), keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """‖A‖ over the two dimensions ``dim``: 'fro' (√Σa²), 1/−1 (max/min column sum of |a|),
    inf/−inf (max/min row sum of |a|), as ``torch.linalg.matrix_norm`` ('nuc' and 2 are not supported)."""
    if dtype is not None:
        A = A.to(dtype)
    r, c = (d % A.ndim for d in dim)
    if ord == "fro":
        return _o().sqrt((A * A).sum(dim=(r, c), keepdim=keepdim))
    inf = float("inf")
    if ord in (1, -1, inf, -inf):
        inner_, outer_ = (r, c) if ord in (1, -1) else (c, r)
        s = _o().abs(A).sum(dim=inner_, keepdim=True)
        red = amax if ord in (1, inf) else amin
        out = red(s, outer_, keepdim=True)
        return out if keepdim else out.squeeze((r, c))
    raise ValueError(f"matrix_norm: ord {ord!r} is not supported (use 'fro', 1, -1, inf or -inf)")


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.norm``: a vector norm when ``dim`` is an int or A is 1-D (ord=None: 2), a matrix
    norm when ``dim`` is a pair or A is 2-D (ord=None: 'fro'); ord=None and no dim: the 2-norm of all
    entries."""
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if isinstance(dim, int) or (dim is None and A.ndim == 1):
        return vector_norm(A, ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
