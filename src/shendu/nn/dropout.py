"""``Dropout`` and ``Dropout2d`` layers (active in training mode only)."""
from . import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]


class Dropout(Module):
    """During training, zero each element with probability ``p`` and scale the rest by 1/(1 − p);
    in eval mode, return the input unchanged. The mask comes from ``shendu.random.generator()``."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability p must be between 0 and 1, got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Channel dropout for (N, C, H, W): each whole feature map is kept or zeroed."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training)


class Dropout1d(Dropout2d):
    """Channel dropout for (N, C, L)."""
