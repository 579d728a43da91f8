"""Helpers the op modules share: telling Tensors from constants and converting between them."""
import numpy as np

from ...tensor import Tensor

# TensorProto data types -> NumPy dtypes (the ones shendu can hold)
DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
          9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}


class Context:
    """What an op implementation may need besides its inputs: the opset, the node and the mode."""

    __slots__ = ("opset", "op_type", "name", "n_outputs", "training", "env")

    def __init__(self, opset, op_type, name, n_outputs, training=False):
        self.opset, self.op_type, self.name, self.n_outputs, self.training = (
            opset, op_type, name, n_outputs, training)
        self.env = None     # the values in scope (If/Loop/Scan bodies read outer names from it)


def is_tensor(x):
    return isinstance(x, Tensor)


def arr(x):
    """The NumPy array behind ``x`` (a Tensor's array is shared, not copied)."""
    return x.array if isinstance(x, Tensor) else np.asarray(x)


def tensor(x):
    """``x`` as a Tensor (a constant array becomes a Tensor that needs no gradient)."""
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def any_tensor(*xs):
    return any(isinstance(x, Tensor) for x in xs)


def ints(x):
    """An input holding integers (shape, axes, pads ...) as a list of Python ints."""
    return [int(v) for v in np.asarray(arr(x)).reshape(-1)]


def dtype_of(x):
    return arr(x).dtype


def float_result(x):
    """Float results that came from Tensors stay Tensors; integer and boolean ones become arrays."""
    if isinstance(x, Tensor) and x.array.dtype.kind not in "fc":
        return x.array
    return x


def norm_axes(axes, ndim):
    return tuple(sorted(a + ndim if a < 0 else a for a in axes))
