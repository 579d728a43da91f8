"""``Flatten`` and ``Unflatten``: reshape layers between convolutional and dense parts of a model."""
from ..errors import ShapeError
from .module import Module, as_input

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Merge dims ``start_dim`` … ``end_dim`` into one: (N, C, H, W) → (N, C·H·W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return as_input(x).flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: (N, C·H·W) → (N, C, H, W) for Unflatten(1, (C, H, W))."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        x = as_input(x)
        shape = x.shape
        d = self.dim % len(shape)
        sizes = list(self.unflattened_size)
        known = 1
        for s in sizes:
            if s != -1:
                known *= s
        if -1 in sizes:
            sizes[sizes.index(-1)] = shape[d] // known if known else 0
        total = 1
        for s in sizes:
            total *= s
        if total != shape[d]:
            raise ShapeError(f"Unflatten(dim={self.dim}, unflattened_size={self.unflattened_size}): "
                             f"got input "
                             f"of shape {tuple(shape)}; dim {self.dim} has size {shape[d]}, which is not "
                             f"{' x '.join(map(str, self.unflattened_size))}")
        return x.reshape(shape[:d] + tuple(sizes) + shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
