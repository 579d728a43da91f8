"""Matrix products."""
from ..autograd import Function, sum_to, unbroadcast
from ..backend import xp
from ..errors import ShapeError


class MatMul(Function):
    """Z = A @ B (batched, with NumPy's rules for 1-D operands);  ∂L/∂A = G Bᵀ, ∂L/∂B = Aᵀ G."""

    def forward(self, a, b):
        self.a, self.b = a, b
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError("MatMul: both operands need at least one dimension; use * for scalars")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ShapeError(f"MatMul: inner dimensions differ: {a.shape} @ {b.shape} "
                             f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
        return xp.matmul(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        batch = xp.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if self.needs_grad[0]:
            ga = unbroadcast(xp.matmul(g, xp.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if self.needs_grad[1]:
            gb = unbroadcast(xp.matmul(xp.swapaxes(a2, -1, -2), g), b2.shape).reshape(b.shape)
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
        out = xp.matmul(x, weight.T)
        if bias is not None:
            out += bias
        return out

    def backward(self, g):
        x, w = self.x, self.weight
        gx = xp.matmul(g, w) if self.needs_grad[0] else None
        g2 = g.reshape(-1, g.shape[-1])
        gw = xp.matmul(g2.T, x.reshape(-1, x.shape[-1])) if self.needs_grad[1] else None
        gb = g2.sum(axis=0) if len(self.needs_grad) > 2 and self.needs_grad[2] else None
        return gx, gw, gb


    def backward_graph(self, g):
        x, w = self.inputs[0], self.inputs[1]
        gx = MatMul.apply(g, w) if self.needs_grad[0] else None
        g2 = g.reshape(-1, g.shape[-1])
        gw = MatMul.apply(g2.T, x.reshape(-1, x.shape[-1])) if self.needs_grad[1] else None
        gb = g2.sum(axis=0) if len(self.needs_grad) > 2 and self.needs_grad[2] else None
        return gx, gw, gb
