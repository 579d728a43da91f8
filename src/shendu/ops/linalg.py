"""Matrix products, Cholesky factors, triangular solves and log-determinants."""
from ..autograd import Function, sum_to, unbroadcast
from ..backend import matmul as _mm
from ..backend import xp
from ..errors import ShapeError
from ..tensor import Tensor


class MatMul(Function):
    """Z = A @ B (batched, with NumPy's rules for 1-D operands);  ∂L/∂A = G Bᵀ, ∂L/∂B = Aᵀ G."""

    def forward(self, a, b):
        self.a, self.b = a, b
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError("MatMul: both operands need at least one dimension; use * for scalars")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ShapeError(f"MatMul: inner dimensions differ: {a.shape} @ {b.shape} "
                             f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
        return _mm(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        batch = xp.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if self.needs_grad[0]:
            ga = unbroadcast(_mm(g, xp.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if self.needs_grad[1]:
            gb = unbroadcast(_mm(xp.swapaxes(a2, -1, -2), g), b2.shape).reshape(b.shape)
        return ga, gb

    def backward_graph(self, g):
        a, b = self.inputs
        sa, sb = tuple(a.shape), tuple(b.shape)
        a2 = a.reshape((1,) + sa) if len(sa) == 1 else a
        b2 = b.reshape(sb + (1,)) if len(sb) == 1 else b
        batch = xp.broadcast_shapes(tuple(a2.shape[:-2]), tuple(b2.shape[:-2]))
        g = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if self.needs_grad[0]:
            ga = sum_to(MatMul.apply(g, b2.swapaxes(-1, -2)), a2.shape).reshape(sa)
        if self.needs_grad[1]:
            gb = sum_to(MatMul.apply(a2.swapaxes(-1, -2), g), b2.shape).reshape(sb)
        return ga, gb


class Linear(Function):
    """y = x Wᵀ + b (x: (…, in), W: (out, in), b: (out,));  ∂L/∂x = G W, ∂L/∂W = Gᵀ x, ∂L/∂b = Σ G."""

    def forward(self, x, weight, bias=None):
        if x.shape[-1] != weight.shape[1]:
            raise ShapeError(f"Linear: input has {x.shape[-1]} features (shape {x.shape}) but the "
                             f"weight expects {weight.shape[1]} (weight shape {weight.shape})")
        self.x, self.weight = x, weight
        out = _mm(x, weight.T)
        if bias is not None:
            out += bias
        return out

    def backward(self, g):
        x, w = self.x, self.weight
        gx = _mm(g, w) if self.needs_grad[0] else None
        g2 = g.reshape(-1, g.shape[-1])
        gw = _mm(g2.T, x.reshape(-1, x.shape[-1])) if self.needs_grad[1] else None
        gb = g2.sum(axis=0) if len(self.needs_grad) > 2 and self.needs_grad[2] else None
        return gx, gw, gb


    def backward_graph(self, g):
        x, w = self.inputs[0], self.inputs[1]
        gx = MatMul.apply(g, w) if self.needs_grad[0] else None
        g2 = g.reshape(-1, g.shape[-1])
        gw = MatMul.apply(g2.T, x.reshape(-1, x.shape[-1])) if self.needs_grad[1] else None
        gb = g2.sum(axis=0) if len(self.needs_grad) > 2 and self.needs_grad[2] else None
        return gx, gw, gb


def _t(x):
    return xp.swapaxes(x, -1, -2)


class Cholesky(Function):
    """L = cholesky(A), A = L Lᵀ symmetric positive definite (batched; A's lower triangle is read).

    Backward (Murray 2016): with Φ(X) = the lower triangle of X with its diagonal halved,
    S = L⁻ᵀ Φ(Lᵀ Ḡ) L⁻¹ and ∂L/∂A = ½ (S + Sᵀ).
    """

    def forward(self, a):
        if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
            raise ShapeError(f"cholesky: expected square matrices (…, n, n), got shape {a.shape}")
        try:
            self.low = xp.linalg.cholesky(a)
        except xp.linalg.LinAlgError:
            raise ValueError("cholesky: the input is not positive-definite") from None
        return self.low

    def backward(self, g):
        low = self.low
        phi = xp.tril(_mm(_t(low), g))
        n = low.shape[-1]
        phi[..., xp.arange(n), xp.arange(n)] *= 0.5
        inv = xp.linalg.inv(low)
        s = _mm(_mm(_t(inv), phi), inv)
        return 0.5 * (s + _t(s))


class SolveTriangular(Function):
    """X = A⁻¹ B for triangular A (``upper`` says which triangle is read; the other is ignored).

    ∂L/∂B = A⁻ᵀ G;  ∂L/∂A = −(A⁻ᵀ G) Xᵀ, kept to A's triangle.
    """

    def forward(self, a, b, upper=False):
        if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
            raise ShapeError(f"solve_triangular: A must be square matrices (…, n, n), got shape {a.shape}")
        if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
            raise ShapeError(f"solve_triangular: B must be (…, {a.shape[-1]}, k) to match A {a.shape}, "
                             f"got shape {b.shape}")
        self.upper = upper
        self.tri = xp.triu(a) if upper else xp.tril(a)
        batch = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        self.sa, self.sb = a.shape, b.shape
        tri = xp.broadcast_to(self.tri, batch + a.shape[-2:])
        self.x = xp.linalg.solve(tri, xp.broadcast_to(b, batch + b.shape[-2:]))
        self.tri_b = tri
        return self.x

    def backward(self, g):
        gb = xp.linalg.solve(_t(self.tri_b), g)
        ga = None
        if self.needs_grad[0]:
            ga = -_mm(gb, _t(self.x))
            ga = unbroadcast(xp.triu(ga) if self.upper else xp.tril(ga), self.sa)
        return ga, unbroadcast(gb, self.sb) if self.needs_grad[1] else None


class LogDet(Function):
    """z = ln det A (NaN where det A < 0, −∞ where it is 0, as ``torch.logdet``);  ∂z/∂A = A⁻ᵀ."""

    def forward(self, a):
        if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
            raise ShapeError(f"logdet: expected square matrices (…, n, n), got shape {a.shape}")
        self.a = a
        sign, logabs = xp.linalg.slogdet(a)
        return xp.where(sign < 0, xp.nan, logabs).astype(a.dtype)

    def backward(self, g):
        return g[..., None, None] * _t(xp.linalg.inv(self.a))


# ----- the functions (``torch.linalg`` names; ``shendu.linalg`` is this module) ----------------------
def _ops():
    from .. import ops

    return ops


def cholesky(a, upper=False):
    """The Cholesky factor L (A = L Lᵀ) of symmetric positive-definite matrices; Lᵀ with ``upper``."""
    low = Cholesky.apply(a)
    return _ops().swapaxes(low, -1, -2) if upper else low


def solve_triangular(a, b, *, upper, left=True, unitriangular=False):
    """X with A X = B (``left``) or X A = B, A triangular (``torch.linalg.solve_triangular``)."""
    ops = _ops()
    swapaxes = ops.swapaxes
    if unitriangular:
        n = a.shape[-1]
        eye = Tensor(xp.eye(n, dtype=a.dtype))
        a = (ops.triu(a, 1) if upper else ops.tril(a, -1)) + eye
    if not left:  # X A = B  ⇔  Aᵀ Xᵀ = Bᵀ
        return swapaxes(SolveTriangular.apply(swapaxes(a, -1, -2), swapaxes(b, -1, -2),
                                                  upper=not upper), -1, -2)
    return SolveTriangular.apply(a, b, upper=upper)


def logdet(a):
    """ln det A of square matrices (NaN for a negative determinant), as ``torch.logdet``."""
    return LogDet.apply(a)


# torch.linalg's norms (compositions, in elementwise.py)
from .elementwise import linalg_norm as norm  # noqa: E402, F401
from .elementwise import matrix_norm, vector_norm  # noqa: E402, F401


def cross(input, other, dim=-1):  # noqa: A002
    """``torch.linalg.cross``: the cross product along ``dim`` (the last by default)."""
    from .elementwise import cross as _cross

    return _cross(input, other, dim)


class Inv(Function):
    """Z = A⁻¹ (batched);  ∂L/∂A = −Zᵀ G Zᵀ."""

    def forward(self, a):
        if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
            raise ShapeError(f"linalg.inv: expected square matrices (..., n, n), got shape {a.shape}")
        self.out = xp.linalg.inv(a)
        return self.out

    def backward(self, g):
        zt = xp.swapaxes(self.out, -1, -2)
        return -(zt @ g @ zt)

    def backward_graph(self, g):
        zt = Inv.apply(self.inputs[0]).mT
        return -(zt @ g @ zt)


class Det(Function):
    """z = det A (batched);  ∂L/∂A = g · z · A⁻ᵀ."""

    def forward(self, a):
        if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
            raise ShapeError(f"linalg.det: expected square matrices (..., n, n), got shape {a.shape}")
        self.a, self.out = a, xp.linalg.det(a)
        return self.out

    def backward(self, g):
        return (g * self.out)[..., None, None] * xp.swapaxes(xp.linalg.inv(self.a), -1, -2)

    def backward_graph(self, g):
        a = self.inputs[0]
        z = Det.apply(a)
        return (g * z).unsqueeze(-1).unsqueeze(-1) * Inv.apply(a).mT


def inv(A):
    """``torch.linalg.inv``: the inverse of each square matrix."""
    return Inv.apply(A)


def det(A):
    """``torch.linalg.det`` / ``torch.det``: the determinant of each square matrix."""
    return Det.apply(A)


def solve(A, B, *, left=True):
    """``torch.linalg.solve``: X with A X = B (B a vector (n,) or matrices (..., n, k));
    ``left=False``: X A = B."""
    if not left:
        return B @ Inv.apply(A)
    return Inv.apply(A) @ B
