"""The out-of-place form of ``x[key] = v``: the Tensor runs it and writes the result back into
the tensor, so that an item assignment inside the graph is recorded like any other operation.
"""

from ..autograd import Function, unbroadcast


def _shape(a):
    return getattr(a, "shape", ())


class SetItem(Function):
    """z = a with z[key] = v;  dz/da = 1 outside ``key`` (0 inside), dz/dv = 1 at ``key``
    (summed over the positions ``v`` was broadcast to)."""

    saves_inputs = ()

    def forward(self, a, v, key):
        self.key, self.sv = key, _shape(v)
        out = a.copy()
        out[key] = v
        return out

    def backward(self, g):
        ga = None
        if self.needs_grad[0]:
            ga = g.copy()
            ga[self.key] = 0
        gv = unbroadcast(g[self.key], self.sv) if self.needs_grad[1] else None
        return ga, gv
