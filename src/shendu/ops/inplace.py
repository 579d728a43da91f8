"""Out-of-place forms of the writes behind ``x[key] = v``, ``index_add_``, ``scatter_`` and
``scatter_add_``. The Tensor's in-place methods run these and write the result back into the
tensor, so that a write into a tensor inside the graph is recorded like any other operation.
"""
import numpy as np

from ..autograd import Function, unbroadcast
from ..backend import xp


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


def _coords(index, dim):
    """Positions ``index`` points at along ``dim``: out[coords] is out[..., index[i, j], ...]."""
    coords = list(np.indices(index.shape, sparse=True))
    coords[dim] = index
    return tuple(coords)


class Scatter(Function):
    """z = a, then z[..., index[i], ...] = src[i] along ``dim`` (``add=True``: += src[i]);
    dz/da = 1 (0 where overwritten), dz/dsrc = g gathered at ``index``."""

    saves_inputs = ()

    def forward(self, a, index, src, dim, add=False):
        index = np.asarray(index)
        dim = dim % a.ndim
        self.coords, self.add, self.ssrc = _coords(index, dim), add, _shape(src)
        self.part = tuple(slice(0, n) for n in index.shape)
        part = src[self.part] if np.ndim(src) else src
        out = a.copy()
        if add:
            np.add.at(out, self.coords, part)
        else:
            out[self.coords] = part
        return out

    def backward(self, g):
        ga = None
        if self.needs_grad[0]:
            ga = g
            if not self.add:
                ga = g.copy()
                ga[self.coords] = 0
        gs = None
        if self.needs_grad[2]:
            gs = xp.zeros(self.ssrc, g.dtype)
            gs[self.part] = g[self.coords]
        return ga, None, gs


class IndexAdd(Function):
    """z = a, then z[..., index[i], ...] += alpha·src[..., i, ...] along ``dim``;
    dz/da = 1, dz/dsrc = alpha·g[..., index[i], ...]."""

    saves_inputs = ()

    def forward(self, a, index, src, dim, alpha=1):
        dim = dim % a.ndim
        self.key = (slice(None),) * dim + (np.asarray(index),)
        self.dim, self.alpha = dim, alpha
        out = a.copy()
        np.add.at(out, self.key, alpha * src if alpha != 1 else src)
        return out

    def backward(self, g):
        gs = g[self.key] * self.alpha if self.needs_grad[2] else None
        return g, None, gs
