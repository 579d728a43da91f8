"""Embedding lookup: rows of a weight matrix picked by integer indices."""
from ..autograd import Function
from ..backend import xp
from ..errors import ShapeError


class Embedding(Function):
    """y[..., :] = W[idx[...], :] for W of shape (num_embeddings, embedding_dim).

    ∂L/∂W[r] = Σ of ∂L/∂y over the positions where idx == r (the row ``padding_idx``, if set, gets
    no gradient). The indices are not differentiable.
    """

    def forward(self, weight, indices, padding_idx=None):
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
        return weight[indices]

    def backward(self, g):
        gw = xp.zeros(self.shape, dtype=g.dtype)
        xp.add.at(gw, self.indices.reshape(-1), g.reshape(-1, self.shape[1]))
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw, None
