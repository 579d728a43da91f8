"""MultivariateNormal, parameterised by its Cholesky factor as PyTorch's is."""
import math

import numpy as np

from .. import ops
from ..errors import ShapeError
from ..random import generator
from ..tensor import Tensor
from .distribution import Distribution, as_param, as_value

_LOG_2PI = math.log(2 * math.pi)


def _diag(m):
    """The diagonals of a batch of square matrices, differentiably: Σ_j (M ⊙ I)_ij."""
    return (m * Tensor(np.eye(m.shape[-1], dtype=m.dtype))).sum(axis=-1)


def _mahalanobis_sq(low, x):
    """|L⁻¹ x|² over the last axis, L lower triangular (…, k, k), x (…, k)."""
    shape = np.broadcast_shapes(low.shape[:-2], x.shape[:-1])
    k = low.shape[-1]
    low = ops.broadcast_to(low, shape + (k, k)) if low.shape[:-2] != shape else low
    x = ops.broadcast_to(x, shape + (k,)) if x.shape[:-1] != shape else x
    z = ops.linalg.solve_triangular(low, ops.unsqueeze(x, -1), upper=False)
    return (z ** 2).sum(axis=(-2, -1))


class MultivariateNormal(Distribution):
    """N(μ = loc, Σ), given by ``covariance_matrix`` Σ, ``precision_matrix`` Σ⁻¹ or ``scale_tril`` L
    (Σ = L Lᵀ, L lower triangular with a positive diagonal); event_shape (k,).

    log p(x) = −½ (k ln 2π + |L⁻¹(x − μ)|²) − Σᵢ ln Lᵢᵢ;   H = ½ k (1 + ln 2π) + Σᵢ ln Lᵢᵢ;
    rsample: x = μ + L ε with ε ~ N(0, I).  A precision matrix P = Lₚ Lₚᵀ gives Σ = Lₚ⁻ᵀ Lₚ⁻¹.
    """

    has_rsample = True
    _params = ("loc", "scale_tril")

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError("MultivariateNormal: give exactly one of covariance_matrix, precision_matrix "
                             "or scale_tril")
        loc = as_param(loc, "loc")
        if loc.ndim < 1:
            raise ValueError("MultivariateNormal: loc must be at least one-dimensional")
        matrix = as_param(next(m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None),
                          "matrix")
        name = ("covariance_matrix", "precision_matrix", "scale_tril")[given.index(True)]
        if matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2]:
            raise ShapeError(f"MultivariateNormal: {name} must be square matrices (…, k, k), "
                             f"got shape {tuple(matrix.shape)}")
        k = loc.shape[-1]
        if matrix.shape[-1] != k:
            raise ShapeError(f"MultivariateNormal: loc has k = {k} (shape {tuple(loc.shape)}) but {name} is "
                             f"{matrix.shape[-1]} x {matrix.shape[-1]}")
        batch = np.broadcast_shapes(loc.shape[:-1], matrix.shape[:-2])
        super().__init__(batch, (k,), validate_args)
        m = matrix.numpy()
        if name == "scale_tril":
            self._check(np.all(np.diagonal(m, axis1=-2, axis2=-1) > 0) and np.all(np.triu(m, 1) == 0),
                        "scale_tril must be lower triangular with a positive diagonal")
            self.scale_tril = matrix
        else:
            self._check(np.allclose(m, np.swapaxes(m, -1, -2)) and np.all(np.linalg.eigvalsh(m) > 0),
                        f"{name} must be symmetric positive-definite")
            if name == "covariance_matrix":
                self.scale_tril = ops.linalg.cholesky(matrix)
            else:
                lp = ops.linalg.cholesky(matrix)
                eye = Tensor(np.broadcast_to(np.eye(k, dtype=lp.dtype), lp.shape).copy())
                inv = ops.linalg.solve_triangular(lp, eye, upper=False)          # Lₚ⁻¹
                self.scale_tril = ops.linalg.cholesky(ops.matmul(ops.swapaxes(inv, -1, -2), inv))
        self.loc = loc if loc.shape[:-1] == batch else ops.broadcast_to(loc, batch + (k,))

    @property
    def covariance_matrix(self):
        low = self.scale_tril
        return ops.matmul(low, ops.swapaxes(low, -1, -2))

    @property
    def precision_matrix(self):
        low = self.scale_tril
        k = low.shape[-1]
        inv = ops.linalg.solve_triangular(low, Tensor(np.broadcast_to(np.eye(k, dtype=low.dtype),
                                                                      low.shape).copy()), upper=False)
        return ops.matmul(ops.swapaxes(inv, -1, -2), inv)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        var = (self.scale_tril ** 2).sum(axis=-1)
        shape = self.batch_shape + self.event_shape
        return var if var.shape == shape else ops.broadcast_to(var, shape)

    def _half_log_det(self):
        return _diag(self.scale_tril).log().sum(axis=-1)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = Tensor(generator().standard_normal(shape).astype(self.loc.dtype))
        return self.loc + ops.matmul(self.scale_tril, ops.unsqueeze(eps, -1))[..., 0]

    def log_prob(self, value):
        value = as_value(value, self.loc)
        k = self.event_shape[0]
        if value.ndim < 1 or value.shape[-1] != k:
            raise ShapeError(f"MultivariateNormal: values must end in the event size {k}, "
                             f"got shape {tuple(value.shape)}")
        m = _mahalanobis_sq(self.scale_tril, value - self.loc)
        return -0.5 * (k * _LOG_2PI + m) - self._half_log_det()

    def entropy(self):
        k = self.event_shape[0]
        h = 0.5 * k * (1.0 + _LOG_2PI) + self._half_log_det()
        return h if h.shape == self.batch_shape else ops.broadcast_to(h, self.batch_shape)
