"""Element-wise arithmetic and math. Each class is one operation: forward and its derivative.

Binary operations broadcast like NumPy; their backward sums the gradient back down to each
input's shape (:func:`shendu.autograd.unbroadcast`).
"""
import numpy as np

from ..autograd import Function, sum_to, unbroadcast
from ..backend import xp
from ..errors import ShapeError
from ..tensor import Tensor


def _shape(a):
    return getattr(a, "shape", ())


def _check_broadcast(name, a, b):
    sa, sb = _shape(a), _shape(b)
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        raise ShapeError(f"{name}: shapes {tuple(sa)} and {tuple(sb)} cannot be broadcast together "
                         "(trailing dimensions must be equal or 1)") from None


class Add(Function):
    """z = a + b;  dz/da = 1, dz/db = 1."""

    saves_inputs = ()
    keeps_inputs = False                   # backward needs only the shapes

    def forward(self, a, b):
        self.sa, self.sb = _shape(a), _shape(b)
        if self.sa != self.sb:
            _check_broadcast("Add", a, b)
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.sa), unbroadcast(g, self.sb)

    def backward_graph(self, g):
        return (sum_to(g, self.sa) if self.needs_grad[0] else None,
                sum_to(g, self.sb) if self.needs_grad[1] else None)


class Sub(Function):
    """z = a − b;  dz/da = 1, dz/db = −1."""

    saves_inputs = ()
    keeps_inputs = False                   # backward needs only the shapes

    def forward(self, a, b):
        self.sa, self.sb = _shape(a), _shape(b)
        if self.sa != self.sb:
            _check_broadcast("Sub", a, b)
        return a - b

    def backward(self, g):
        return unbroadcast(g, self.sa), unbroadcast(-g, self.sb)

    def backward_graph(self, g):
        return (sum_to(g, self.sa) if self.needs_grad[0] else None,
                sum_to(-g, self.sb) if self.needs_grad[1] else None)


class Mul(Function):
    """z = a · b;  dz/da = b, dz/db = a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        if _shape(a) != _shape(b):
            _check_broadcast("Mul", a, b)
        return a * b

    def backward(self, g):
        ga = unbroadcast(g * self.b, _shape(self.a)) if self.needs_grad[0] else None
        gb = unbroadcast(g * self.a, _shape(self.b)) if self.needs_grad[1] else None
        return ga, gb

    def backward_graph(self, g):
        a, b = self.inputs
        return (sum_to(g * b, _shape(self.a)) if self.needs_grad[0] else None,
                sum_to(g * a, _shape(self.b)) if self.needs_grad[1] else None)


class Div(Function):
    """z = a / b;  dz/da = 1/b, dz/db = −a/b²."""

    def forward(self, a, b):
        self.a, self.b = a, b
        if _shape(a) != _shape(b):
            _check_broadcast("Div", a, b)
        out = a / b
        if out.dtype == np.float64 and _dtype(a) != np.float64 and _dtype(b) != np.float64:
            out = out.astype(np.float32)  # integer / integer is float32, as in PyTorch
        return out

    def backward(self, g):
        ga = unbroadcast(g / self.b, _shape(self.a)) if self.needs_grad[0] else None
        gb = unbroadcast(-g * self.a / (self.b * self.b), _shape(self.b)) if self.needs_grad[1] else None
        return ga, gb

    def backward_graph(self, g):
        a, b = self.inputs
        return (sum_to(g / b, _shape(self.a)) if self.needs_grad[0] else None,
                sum_to(-g * a / (b * b), _shape(self.b)) if self.needs_grad[1] else None)


def _dtype(a):
    return getattr(a, "dtype", None)


class Neg(Function):
    """z = −a;  dz/da = −1."""

    saves_inputs = ()

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g

    def backward_graph(self, g):
        return -g


class Pow(Function):
    """z = a^b;  dz/da = b·a^(b−1), dz/db = a^b·ln a."""

    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, g):
        a, b = self.a, self.b
        ga = unbroadcast(g * b * a ** (b - 1), _shape(a)) if self.needs_grad[0] else None
        gb = None
        if len(self.needs_grad) > 1 and self.needs_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = unbroadcast(g * self.out * xp.log(a), _shape(b))
        return ga, gb

    def backward_graph(self, g):
        a, b = self.inputs
        ga = sum_to(g * b * a ** (b - 1), _shape(self.a)) if self.needs_grad[0] else None
        gb = None
        if len(self.needs_grad) > 1 and self.needs_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = sum_to(g * a ** b * (a.log() if isinstance(a, Tensor) else xp.log(a)), _shape(self.b))
        return ga, gb


class Exp(Function):
    """z = eᵃ;  dz/da = eᵃ = z."""

    saves_inputs = ()
    saves_output = True

    def forward(self, a):
        self.out = xp.exp(a)
        return self.out

    def backward(self, g):
        return g * self.out

    def backward_graph(self, g):
        return g * self.inputs[0].exp()


class Log1p(Function):
    """z = ln(1 + a), accurate for small a;  dz/da = 1/(1 + a)."""

    def forward(self, a):
        self.a = a
        return xp.log1p(a)

    def backward(self, g):
        return g / (1 + self.a)

    def backward_graph(self, g):
        return g / (1 + self.inputs[0])


class Expm1(Function):
    """z = eᵃ − 1, accurate for small a;  dz/da = eᵃ = z + 1."""

    def forward(self, a):
        self.z = xp.expm1(a)
        return self.z

    def backward(self, g):
        return g * (self.z + 1)

    def backward_graph(self, g):
        return g * self.inputs[0].exp()


class Log(Function):
    """z = ln a;  dz/da = 1/a."""

    def forward(self, a):
        self.a = a
        return xp.log(a)

    def backward(self, g):
        return g / self.a

    def backward_graph(self, g):
        return g / self.inputs[0]


class Sqrt(Function):
    """z = √a;  dz/da = 1/(2√a)."""

    saves_inputs = ()
    saves_output = True

    def forward(self, a):
        self.out = xp.sqrt(a)
        return self.out

    def backward(self, g):
        return g / (2 * self.out)

    def backward_graph(self, g):
        return g / (2 * self.inputs[0].sqrt())


class Abs(Function):
    """z = |a|;  dz/da = sign(a) (0 at a = 0)."""

    def forward(self, a):
        self.a = a
        return xp.abs(a)

    def backward(self, g):
        return g * xp.sign(self.a)

    def backward_graph(self, g):
        return g * xp.sign(self.a)


class Sin(Function):
    """z = sin a;  dz/da = cos a."""

    def forward(self, a):
        self.a = a
        return xp.sin(a)

    def backward(self, g):
        return g * xp.cos(self.a)

    def backward_graph(self, g):
        return g * self.inputs[0].cos()


class Cos(Function):
    """z = cos a;  dz/da = −sin a."""

    def forward(self, a):
        self.a = a
        return xp.cos(a)

    def backward(self, g):
        return -g * xp.sin(self.a)

    def backward_graph(self, g):
        return -g * self.inputs[0].sin()


class Clip(Function):
    """z = min(max(a, lo), hi);  dz/da = 1 where lo ≤ a ≤ hi, else 0."""

    def forward(self, a, lo=None, hi=None):
        self.mask = xp.ones(a.shape, dtype=bool)
        if lo is not None:
            self.mask &= a >= lo
        if hi is not None:
            self.mask &= a <= hi
        return xp.clip(a, lo, hi)

    def backward(self, g):
        return g * self.mask

    def backward_graph(self, g):
        return g * self.mask


class Maximum(Function):
    """z = max(a, b);  the gradient goes to the larger input, split equally on ties."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.maximum(a, b)

    def backward(self, g):
        share = xp.where(self.a > self.b, 1.0, xp.where(self.a == self.b, 0.5, 0.0)).astype(g.dtype)
        return unbroadcast(g * share, _shape(self.a)), unbroadcast(g * (1 - share), _shape(self.b))

    def backward_graph(self, g):
        share = xp.where(self.a > self.b, 1.0, xp.where(self.a == self.b, 0.5, 0.0)).astype(g.dtype)
        return sum_to(g * share, _shape(self.a)), sum_to(g * (1 - share), _shape(self.b))


class Minimum(Function):
    """z = min(a, b);  the gradient goes to the smaller input, split equally on ties."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.minimum(a, b)

    def backward(self, g):
        share = xp.where(self.a < self.b, 1.0, xp.where(self.a == self.b, 0.5, 0.0)).astype(g.dtype)
        return unbroadcast(g * share, _shape(self.a)), unbroadcast(g * (1 - share), _shape(self.b))

    def backward_graph(self, g):
        share = xp.where(self.a < self.b, 1.0, xp.where(self.a == self.b, 0.5, 0.0)).astype(g.dtype)
        return sum_to(g * share, _shape(self.a)), sum_to(g * (1 - share), _shape(self.b))


class Where(Function):
    """z = a where cond else b;  dz/da = cond, dz/db = not cond (cond is not differentiable)."""

    def forward(self, cond, a, b):
        self.cond = cond.astype(bool) if hasattr(cond, "astype") else cond
        self.sa, self.sb = _shape(a), _shape(b)
        return xp.where(self.cond, a, b)

    def backward(self, g):
        zero = xp.zeros((), g.dtype)
        return None, unbroadcast(xp.where(self.cond, g, zero), self.sa), \
            unbroadcast(xp.where(self.cond, zero, g), self.sb)

    def backward_graph(self, g):
        zero = xp.zeros((), g.dtype)
        return None, sum_to(Where.apply(self.cond, g, zero), self.sa), \
            sum_to(Where.apply(self.cond, zero, g), self.sb)


class Cast(Function):
    """z = a converted to ``dtype``;  dz/da = 1 (the gradient is cast back)."""

    saves_inputs = ()

    def forward(self, a, dtype):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.dtype) if self.dtype.kind == "f" else None

    def backward_graph(self, g):
        return g.to(self.dtype) if self.dtype.kind == "f" else None


class Clone(Function):
    """z = a (a copy);  dz/da = 1."""

    saves_inputs = ()

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g


    def backward_graph(self, g):
        return g
