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

    saves_inputs = ()
    keeps_inputs = False

    def forward(self, x, p=0.5, channel_dims=0):
        shape = x.shape if channel_dims == 0 else x.shape[:x.ndim - channel_dims] + (1,) * channel_dims
        # the mask is kept as booleans (a quarter of a float32 mask) and the scale as one number
        self.scale = x.dtype.type(0 if p >= 1 else 1 / (1 - p))
        if p >= 1:
            self.mask = xp.zeros(shape, dtype=bool)
        else:
            rdtype = x.dtype if x.dtype in (xp.float32, xp.float64) else xp.float64
            keep = generator().random(shape, dtype=rdtype)
            self.mask = keep >= p
        out = xp.multiply(x, self.mask, dtype=x.dtype)
        out *= self.scale
        return out

    def backward(self, g):
        gx = xp.multiply(g, self.mask, dtype=g.dtype)
        gx *= self.scale
        return gx
