"""``Embedding``: a learned lookup table from integer ids to vectors."""
from ..backend import xp
from ..ops.embedding import Embedding as _EmbeddingFn
from ..ops.embedding import renorm_rows_
from ..tensor import Tensor, _to_array, as_dtype, get_default_dtype
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """out[..., :] = weight[ids[...], :] with ``weight`` of shape (num_embeddings, embedding_dim) ~ N(0, 1).

    ``padding_idx``: that row starts at zero and never receives a gradient (use it for padding tokens).
    ``max_norm``: before each lookup, every looked-up row whose ``norm_type``-norm exceeds it is scaled
    down in place to that norm (PyTorch's renormalisation, done without autograd).
    ``scale_grad_by_freq``: a row's gradient is divided by how often it occurs in the batch.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None,
                 dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for "
                                 f"{self.num_embeddings} embeddings")
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        if sparse:
            raise NotImplementedError("Embedding: sparse=True (sparse gradients) is not supported; the "
                                      "gradient is a dense array")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            dtype = as_dtype(dtype) or get_default_dtype()
            self.weight = Parameter(xp.empty((self.num_embeddings, self.embedding_dim), dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            w = _to_array(_weight)
            if w.shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {w.shape}, expected "
                                 f"{(self.num_embeddings, self.embedding_dim)}")
            self.weight = Parameter(w, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding holding a copy of the 2-D ``embeddings``; ``freeze=True`` keeps it fixed."""
        w = xp.array(_to_array(embeddings))
        if w.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {w.shape}")
        return cls(w.shape[0], w.shape[1], padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=w, _freeze=freeze)

    def forward(self, ids):
        idx = ids.numpy() if isinstance(ids, Tensor) else xp.asarray(ids)
        if idx.dtype.kind not in "iu":
            if idx.dtype.kind == "f" and idx.size and (idx == xp.round(idx)).all():
                raise TypeError(f"{self._layer_name()}: got {idx.dtype} ids; token ids must be integers "
                                "(convert them with x.long() or .astype('int64'))")
            raise TypeError(f"{self._layer_name()}: ids must be an integer tensor, got dtype {idx.dtype}")
        if self.max_norm is not None:
            renorm_rows_(self.weight.numpy(), idx, self.max_norm, self.norm_type)
        return _EmbeddingFn.apply(self.weight, idx, padding_idx=self.padding_idx,
                                  scale_grad_by_freq=self.scale_grad_by_freq)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        return s
