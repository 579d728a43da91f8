"""Linear, bilinear, trilinear and bicubic resizing: one separable Function.

Each of these modes is separable: along every spatial axis, output position i is a fixed weighted
sum of input positions, y = A·x with A an (out, in) matrix built from PyTorch's source-index rule

    src(i) = i·(in − 1)/(out − 1)                      align_corners=True
    src(i) = (i + ½)·s − ½   (s = 1/scale_factor, or in/out)   align_corners=False

(clamped at 0 for the linear modes). Linear: weights 1 − λ and λ on ⌊src⌋ and ⌊src⌋ + 1 (the last
index repeats at the border), λ = src − ⌊src⌋. Cubic: Keys' kernel with a = −0.75 on
⌊src⌋ − 1 … ⌊src⌋ + 2, indices clamped to the border.
"""
import math

from ..autograd import Function
from ..backend import xp


def _cubic_weights(t, a=-0.75):
    """The 4 cubic-convolution weights for fractional offset t (PyTorch's upsample coefficients)."""
    def near(x):  # |x| ≤ 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]


def resize_matrix(n_in, n_out, mode, align_corners, scale):
    """The (n_out, n_in) matrix A of one axis (``scale``: 1/scale_factor when one was given, else None)."""
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        s = scale if scale is not None and scale > 0 else n_in / n_out
    A = xp.zeros((n_out, n_in), dtype=xp.float64)
    for i in range(n_out):
        src = s * i if align_corners else s * (i + 0.5) - 0.5
        if mode == "cubic":
            i0 = math.floor(src)
            for k, w in enumerate(_cubic_weights(src - i0)):
                A[i, min(max(i0 - 1 + k, 0), n_in - 1)] += w
        else:
            src = max(src, 0.0)
            i0 = int(src)
            i1 = i0 + 1 if i0 < n_in - 1 else i0
            lam = src - i0
            A[i, i0] += 1.0 - lam
            A[i, i1] += lam
    return A


class Resize(Function):
    """y = x ×₂ A₂ ×₃ A₃ … : each spatial axis d of (N, C, *spatial) multiplied by its matrix A_d.

    Backward: ∂L/∂x = ∂L/∂y ×₂ A₂ᵀ ×₃ A₃ᵀ … (the transposed matrices).
    """

    def forward(self, x, mats=()):
        self.mats = [m.astype(x.dtype, copy=False) for m in mats]
        return self._apply(x, self.mats, transpose=False)

    def backward(self, g):
        return self._apply(g, self.mats, transpose=True)

    @staticmethod
    def _apply(a, mats, transpose):
        nd = len(mats)
        for d, m in enumerate(mats):
            m = m.T if transpose else m
            axis = a.ndim - nd + d
            if axis == a.ndim - 1:
                a = a @ m.T
            elif axis == a.ndim - 2:
                a = m @ a
            else:
                a = xp.moveaxis(xp.tensordot(m, a, axes=([1], [axis])), 0, axis)
        return a
