"""``Embedding``: a learned lookup table from integer ids to vectors."""
from ..backend import xp
from ..ops.embedding import Embedding as _EmbeddingFn
from ..tensor import Tensor, _to_array, as_dtype, get_default_dtype
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """out[..., :] = weight[ids[...], :] with ``weight`` of shape (num_embeddings, embedding_dim) ~ N(0, 1).

    ``padding_idx``: that row starts at zero and never receives a gradient (use it for padding tokens).
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
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: max_norm, scale_grad_by_freq and sparse are not supported")
        self.max_norm = None
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
        return cls(w.shape[0], w.shape[1], padding_idx=padding_idx, _weight=w, _freeze=freeze)

    def forward(self, ids):
        idx = ids.array if isinstance(ids, Tensor) else xp.asarray(ids)
        if idx.dtype.kind not in "iu":
            if idx.dtype.kind == "f" and idx.size and (idx == xp.round(idx)).all():
                raise TypeError(f"{self._layer_name()}: got {idx.dtype} ids; token ids must be integers "
                                "(convert them with x.long() or .astype('int64'))")
            raise TypeError(f"{self._layer_name()}: ids must be an integer tensor, got dtype {idx.dtype}")
        return _EmbeddingFn.apply(self.weight, idx, padding_idx=self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
