"""Reductions over one or several axes (``axis`` None, an int or a tuple; ``keepdims``).

The backward of a reduction re-inserts the reduced axes and broadcasts the gradient back over them.
"""
from ..autograd import Function
from ..backend import xp


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim if ndim else 0 for a in axis))


def _expand(g, axes, keepdims):
    """Give ``g`` back the reduced axes (size 1) so it broadcasts against the input."""
    return g if keepdims else xp.expand_dims(g, axes) if axes else g


def _expand_t(g, axes, keepdims):
    """The Tensor form of :func:`_expand` (differentiable)."""
    if keepdims or not axes:
        return g
    shape = list(g.shape)
    for a in axes:
        shape.insert(a, 1)
    return g.reshape(tuple(shape))


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):
    """z = Σᵢ aᵢ over ``axis``;  dz/daᵢ = 1."""

    saves_inputs = ()

    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = a.shape, _axes(axis, a.ndim), keepdims
        return a.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        return xp.broadcast_to(_expand(g, self.axes, self.keepdims), self.shape)

    def backward_graph(self, g):
        return _expand_t(g, self.axes, self.keepdims).broadcast_to(self.shape)


class Mean(Function):
    """z = (1/n) Σᵢ aᵢ over ``axis``;  dz/daᵢ = 1/n."""

    saves_inputs = ()

    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = a.shape, _axes(axis, a.ndim), keepdims
        return a.mean(axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        n = _count(self.shape, self.axes)
        return xp.broadcast_to(_expand(g, self.axes, self.keepdims) / n, self.shape)

    def backward_graph(self, g):
        n = _count(self.shape, self.axes)
        return (_expand_t(g, self.axes, self.keepdims) / n).broadcast_to(self.shape)


class Prod(Function):
    """z = Πᵢ aᵢ over ``axis``;  dz/daᵢ = Π_{j≠i} aⱼ (computed by cumulative products, zeros allowed)."""

    def forward(self, a, axis=None, keepdims=False):
        self.a, self.axes, self.keepdims = a, _axes(axis, a.ndim), keepdims
        return a.prod(axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        a, axes = self.a, self.axes
        rest = [i for i in range(a.ndim) if i not in axes]
        moved = a.transpose(rest + list(axes)).reshape([a.shape[i] for i in rest] + [-1])
        left = xp.cumprod(xp.concatenate([xp.ones_like(moved[..., :1]), moved[..., :-1]], -1), -1)
        right = xp.flip(xp.cumprod(xp.concatenate(
            [xp.ones_like(moved[..., :1]), xp.flip(moved, -1)[..., :-1]], -1), -1), -1)
        others = (left * right).reshape([a.shape[i] for i in rest] + [a.shape[i] for i in axes])
        inv = xp.argsort(rest + list(axes))
        return _expand(g, axes, self.keepdims) * others.transpose(inv)


class _Extreme(Function):
    def forward(self, a, axis=None, keepdims=False):
        self.a, self.axes, self.keepdims = a, _axes(axis, a.ndim), keepdims
        self.out = self.reduce(a, axis=self.axes, keepdims=True)
        return self.out if keepdims else self.out.reshape(
            [n for i, n in enumerate(a.shape) if i not in self.axes])

    def backward(self, g):
        mask = (self.a == self.out).astype(g.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return _expand(g, self.axes, self.keepdims) * mask

    def backward_graph(self, g):
        mask = (self.a == self.out).astype(g.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return _expand_t(g, self.axes, self.keepdims) * mask


class Max(_Extreme):
    """z = max over ``axis``;  dz/daᵢ = 1 at the maximum (shared equally between ties), else 0."""

    reduce = staticmethod(xp.max)


class Min(_Extreme):
    """z = min over ``axis``;  dz/daᵢ = 1 at the minimum (shared equally between ties), else 0."""

    reduce = staticmethod(xp.min)


class Var(Function):
    """z = Σᵢ (aᵢ − ā)² / (n − ddof);  dz/daᵢ = 2 (aᵢ − ā) / (n − ddof)."""

    saves_inputs = ()

    def forward(self, a, axis=None, ddof=0, keepdims=False):
        self.axes, self.keepdims = _axes(axis, a.ndim), keepdims
        self.centered = a - a.mean(axis=self.axes, keepdims=True)
        self.denom = _count(a.shape, self.axes) - ddof
        return (self.centered ** 2).sum(axis=self.axes, keepdims=keepdims) / self.denom

    def backward(self, g):
        return _expand(g, self.axes, self.keepdims) * (2 / self.denom) * self.centered

    def backward_graph(self, g):
        a = self.inputs[0]
        centered = a - a.mean(axis=self.axes, keepdims=True)
        return _expand_t(g, self.axes, self.keepdims) * (2 / self.denom) * centered


class Std(Function):
    """z = √var(a);  dz/daᵢ = (aᵢ − ā) / ((n − ddof) · z)."""

    saves_inputs = ()

    def forward(self, a, axis=None, ddof=0, keepdims=False):
        self.axes, self.keepdims = _axes(axis, a.ndim), keepdims
        self.centered = a - a.mean(axis=self.axes, keepdims=True)
        self.denom = _count(a.shape, self.axes) - ddof
        self.out = xp.sqrt((self.centered ** 2).sum(axis=self.axes, keepdims=True) / self.denom)
        return self.out if keepdims else xp.squeeze(self.out, self.axes)

    def backward(self, g):
        return _expand(g, self.axes, self.keepdims) * self.centered / (self.denom * self.out)

    def backward_graph(self, g):
        a = self.inputs[0]
        centered = a - a.mean(axis=self.axes, keepdims=True)
        std = ((centered * centered).sum(axis=self.axes, keepdims=True) / self.denom).sqrt()
        return _expand_t(g, self.axes, self.keepdims) * centered / (self.denom * std)


class LogSumExp(Function):
    """z = log Σᵢ exp(aᵢ) = m + log Σᵢ exp(aᵢ − m) with m = max a (no overflow);  dz/daᵢ = softmax(a)ᵢ."""

    def forward(self, a, axis=None, keepdims=False):
        self.a, self.axes, self.keepdims = a, _axes(axis, a.ndim), keepdims
        m = a.max(axis=self.axes, keepdims=True)
        self.out = m + xp.log(xp.exp(a - m).sum(axis=self.axes, keepdims=True))
        return self.out if keepdims else xp.squeeze(self.out, self.axes)

    def backward(self, g):
        return _expand(g, self.axes, self.keepdims) * xp.exp(self.a - self.out)


    def backward_graph(self, g):
        a = self.inputs[0]
        lse = LogSumExp.apply(a, axis=self.axes, keepdims=True)
        return _expand_t(g, self.axes, self.keepdims) * (a - lse).exp()
