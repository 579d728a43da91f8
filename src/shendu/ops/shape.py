"""Operations that move, copy or select elements without arithmetic.

Their backward routes each gradient element back to where its value came from.
"""
import numpy as np

from ..autograd import Function, sum_to, unbroadcast
from ..backend import xp
from ..errors import ShapeError


class Reshape(Function):
    """z = a viewed with a new shape;  dz/da reshapes the gradient back."""

    saves_inputs = ()
    views_input = True

    def forward(self, a, shape):
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ShapeError(f"Reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) "
                             f"into shape {tuple(shape)}") from None

    def backward(self, g):
        return g.reshape(self.shape)

    def backward_graph(self, g):
        return g.reshape(self.shape)


class Transpose(Function):
    """z = a with its axes permuted by ``axes``;  the gradient is permuted back by the inverse."""

    saves_inputs = ()
    views_input = True

    def forward(self, a, axes):
        nd = a.ndim
        inverse = [None] * nd  # inverse[axes[i]] = i
        if len(axes) == nd and all(-nd <= x < nd for x in axes):
            for i, x in enumerate(axes):
                inverse[x] = i
        if None in inverse or len(axes) != nd:
            raise ShapeError(f"Transpose: {tuple(axes)} is not a permutation of the {nd} axes of a "
                             f"tensor of shape {a.shape}")
        self.inverse = tuple(inverse)
        return a.transpose(axes)

    def backward(self, g):
        return g.transpose(self.inverse)

    def backward_graph(self, g):
        return Transpose.apply(g, axes=self.inverse)


class BroadcastTo(Function):
    """z = a repeated along broadcast axes;  dz/da sums the gradient over them."""

    saves_inputs = ()
    views_input = True

    def forward(self, a, shape):
        self.shape = a.shape
        try:
            return xp.broadcast_to(a, shape)
        except ValueError:
            raise ShapeError(f"BroadcastTo: cannot expand shape {a.shape} to {tuple(shape)}") from None

    def backward(self, g):
        return unbroadcast(g, self.shape)

    def backward_graph(self, g):
        return sum_to(g, self.shape)


class Tile(Function):
    """z = a tiled ``reps`` times per axis (PyTorch's ``repeat``);  dz/da sums the copies."""

    saves_inputs = ()

    def forward(self, a, reps):
        reps = (1,) * (a.ndim - len(reps)) + tuple(reps)
        self.orig = a.shape
        self.shape = (1,) * (len(reps) - a.ndim) + a.shape
        self.reps = reps
        return xp.tile(a, reps)

    def backward(self, g):
        split = []
        for r, n in zip(self.reps, self.shape):
            split += [r, n]
        return g.reshape(split).sum(axis=tuple(range(0, len(split), 2))).reshape(self.orig)

    def backward_graph(self, g):
        split = []
        for r, n in zip(self.reps, self.shape):
            split += [r, n]
        return g.reshape(tuple(split)).sum(axis=tuple(range(0, len(split), 2))).reshape(self.orig)


class Concatenate(Function):
    """z = [a₁, a₂, …] joined along ``axis``;  each aₖ gets its slice of the gradient."""

    saves_inputs = ()

    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        try:
            return xp.concatenate(arrays, axis=axis)
        except ValueError:
            raise ShapeError(f"Concatenate: shapes {[a.shape for a in arrays]} do not match outside axis "
                             f"{axis}") from None

    def backward(self, g):
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(xp.split(g, cuts, axis=self.axis))

    def backward_graph(self, g):
        return Split.apply(g, cuts=list(np.cumsum(self.sizes)[:-1]), axis=self.axis)


class Stack(Function):
    """z = [a₁, a₂, …] stacked on a new ``axis``;  each aₖ gets index k of the gradient."""

    saves_inputs = ()

    def forward(self, *arrays, axis=0):
        self.axis = axis
        try:
            return xp.stack(arrays, axis=axis)
        except ValueError:
            raise ShapeError(f"Stack: all shapes must be equal, got {[a.shape for a in arrays]}") from None

    def backward(self, g):
        return tuple(xp.moveaxis(g, self.axis, 0))

    def backward_graph(self, g):
        axis = self.axis % g.ndim
        return tuple(GetItem.apply(g, key=(slice(None),) * axis + (k,)) for k in range(g.shape[axis]))


class Split(Function):
    """(z₁, z₂, …) = a cut along ``axis`` at ``cuts``;  dz/da concatenates the pieces' gradients."""

    saves_inputs = ()
    views_input = True

    def forward(self, a, cuts, axis=0):
        self.axis = axis
        return tuple(xp.split(a, cuts, axis=axis))

    def backward(self, *grads):
        return xp.concatenate(grads, axis=self.axis)

    def backward_graph(self, *grads):
        return Concatenate.apply(*grads, axis=self.axis)


class Pad(Function):
    """z = a surrounded by ``value`` (``pad_width`` as in ``numpy.pad``);  dz/da crops the gradient."""

    saves_inputs = ()

    def forward(self, a, pad_width, value=0.0):
        self.crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, a.shape))
        return xp.pad(a, pad_width, mode="constant", constant_values=value)

    def backward(self, g):
        return g[self.crop]

    def backward_graph(self, g):
        return GetItem.apply(g, key=self.crop)


def _is_basic(key):
    """True when ``key`` uses only ints, slices, None and Ellipsis (so each element is picked once)."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, (int, np.integer, slice)) or k is None or k is Ellipsis for k in parts)


class GetItem(Function):
    """z = a[key];  dz/da scatters the gradient back, adding where an index repeats."""

    saves_inputs = ()
    views_input = True

    def forward(self, a, key):
        self.shape, self.dtype, self.key = a.shape, a.dtype, key
        try:
            return a[key]
        except IndexError as exc:
            raise IndexError(f"GetItem: {exc} (tensor shape {a.shape})") from None

    def backward(self, g):
        out = xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.key):
            out[self.key] = g
        else:
            xp.add.at(out, self.key, g)
        return out

    def backward_graph(self, g):
        return ScatterAdd.apply(g, shape=self.shape, key=self.key)


class ScatterAdd(Function):
    """z = zeros(shape) with z[key] += g (repeated indices add): the backward of ``a[key]``;
    dz/dg gathers: the gradient is g'[key]."""

    def forward(self, g, shape, key):
        self.key = key
        out = xp.zeros(shape, dtype=g.dtype)
        if _is_basic(key):
            out[key] = g
        else:
            xp.add.at(out, key, g)
        return out

    def backward(self, gg):
        return gg[self.key]

    def backward_graph(self, gg):
        return GetItem.apply(gg, key=self.key)


class Triangle(Function):
    """z = tril(a, k) (``upper=False``) or triu(a, k) over the last two axes: a mask;
    dz/da is the same mask, so the gradient keeps the kept triangle and is 0 elsewhere."""

    saves_inputs = ()

    def forward(self, a, diagonal=0, upper=False):
        self.diagonal, self.upper = diagonal, upper
        return self._mask(a)

    def _mask(self, a):
        return xp.triu(a, self.diagonal) if self.upper else xp.tril(a, self.diagonal)

    def backward(self, g):
        return self._mask(g)


    def backward_graph(self, g):
        return Triangle.apply(g, diagonal=self.diagonal, upper=self.upper)
