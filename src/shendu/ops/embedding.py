"""Embedding lookup: rows of a weight matrix picked by integer indices."""
from ..autograd import Function
from ..backend import xp
from ..errors import ShapeError


class Embedding(Function):
    """y[..., :] = W[idx[...], :] for W of shape (num_embeddings, embedding_dim).

    ∂L/∂W[r] = Σ of ∂L/∂y over the positions where idx == r (the row ``padding_idx``, if set, gets
    no gradient); with ``scale_grad_by_freq`` that sum is divided by the number of such positions.
    The indices are not differentiable.
    """

    def forward(self, weight, indices, padding_idx=None, scale_grad_by_freq=False):
        if indices.dtype.kind not in "iu":
            raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype} "
                            "(convert them with x.long())")
        n = weight.shape[0]
        if indices.size and (indices.min() < -n or indices.max() >= n):
            bad = indices[(indices < -n) | (indices >= n)].flat[0]
            raise IndexError(f"embedding: index {int(bad)} is out of range for {n} embeddings "
                             f"(valid 0..{n - 1})")
        if weight.ndim != 2:
            raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), "
                             f"got {weight.shape}")
        self.shape, self.indices, self.padding_idx = weight.shape, indices, padding_idx
        self.scale_grad_by_freq = scale_grad_by_freq
        return weight[indices]

    def backward(self, g):
        gw = xp.zeros(self.shape, dtype=g.dtype)
        flat = self.indices.reshape(-1) % self.shape[0]
        xp.add.at(gw, flat, g.reshape(-1, self.shape[1]))
        if self.scale_grad_by_freq:
            counts = xp.bincount(flat, minlength=self.shape[0])
            gw /= xp.maximum(counts, 1)[:, None].astype(gw.dtype)
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw, None


def renorm_rows_(weight, indices, max_norm, norm_type=2.0):
    """In place, without autograd: each row r of ``weight`` named in ``indices`` whose p-norm exceeds
    ``max_norm`` is scaled by max_norm/(‖W[r]‖ₚ + 1e-7) (PyTorch's ``embedding_renorm_``)."""
    rows = xp.unique(indices.reshape(-1) % weight.shape[0])
    norms = xp.linalg.norm(weight[rows].astype(xp.float64), ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(weight.dtype)
        weight[rows[big]] *= scale[:, None]
