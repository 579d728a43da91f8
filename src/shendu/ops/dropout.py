"""Dropout: zero each element with probability p and scale the survivors by 1/(1 − p)."""
from ..autograd import Function
from ..backend import xp
from ..random import generator


class Dropout(Function):
    """y = x·m / (1 − p) with m ~ Bernoulli(1 − p) drawn from ``shendu.random.generator()``
    (inverted dropout: the expected value of y is x, so nothing changes at evaluation time).
    ∂L/∂x = ∂L/∂y · m / (1 − p). ``channel_dims`` > 0 drops whole channels (Dropout2d): one mask
    value per (N, C), shared over the trailing ``channel_dims`` axes.
    """

    def forward(self, x, p=0.5, channel_dims=0):
        shape = x.shape if channel_dims == 0 else x.shape[:x.ndim - channel_dims] + (1,) * channel_dims
        if p >= 1:
            self.mask = xp.zeros(shape, dtype=x.dtype)
            return x * self.mask
        keep = generator().random(shape, dtype=x.dtype if x.dtype in (xp.float32, xp.float64) else xp.float64)
        self.mask = (keep >= p).astype(x.dtype) * x.dtype.type(1 / (1 - p))
        return x * self.mask

    def backward(self, g):
        return g * self.mask
