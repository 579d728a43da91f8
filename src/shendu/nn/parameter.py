"""``Parameter``: a tensor that a :class:`~shendu.nn.Module` owns and an optimizer updates."""
import numpy as np

from ..tensor import Tensor, _to_array, get_default_dtype


class Parameter(Tensor):
    """A leaf tensor that requires a gradient and registers itself when assigned to a Module.

    ``Parameter(data, requires_grad=True)`` shares memory with ``data`` when it is already an
    ndarray or a Tensor; Python lists and floats become the default float dtype (float32).
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=get_default_dtype())
        arr = _to_array(data)
        self.array = arr
        self.grad = None
        self.grad_fn = None
        self._output_index = 0
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module (``nn.Buffer`` in PyTorch)."""

    def __init__(self, data, persistent=True):
        super().__init__(data)
        self.persistent = persistent
