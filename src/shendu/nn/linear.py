"""Affine layers: ``Identity``, ``Linear`` (y = x Wᵀ + b) and ``LazyLinear``."""
import math

from ..backend import xp
from ..errors import ShapeError
from ..ops.linalg import Linear as _LinearFn
from ..tensor import Tensor, as_dtype, get_default_dtype
from . import init
from .module import Module, as_input, match_float
from .parameter import Parameter

__all__ = ["Identity", "Linear", "LazyLinear", "Bilinear"]


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to remove a layer from a model)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """Fully connected layer: y = x Wᵀ + b.

    x: (…, in_features) → y: (…, out_features). ``weight`` is (out_features, in_features), ``bias``
    (out_features,). Both start as U(−1/√in_features, 1/√in_features), as in PyTorch.
    Gradients: ∂L/∂x = G W, ∂L/∂W = Gᵀ x, ∂L/∂b = Σ G.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dtype = as_dtype(dtype) or get_default_dtype()
        self.weight = Parameter(xp.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(xp.empty((self.out_features,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        w = self.weight
        if type(x) is not Tensor:
            x = as_input(x)
        if x.array.dtype != w.array.dtype:
            x = match_float(x, w.array.dtype, self)
        shape = x.array.shape
        if not shape or shape[-1] != self.in_features:
            raise ShapeError(f"{self._layer_name()}: got input of shape {tuple(shape)}, expected "
                             f"(..., {self.in_features}): the last dimension must equal in_features")
        return _LinearFn.apply(x, w, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class LazyLinear(Linear):
    """``Linear`` whose ``in_features`` is read from the first input (no shape arithmetic needed).

    At the first call (or when a state_dict is loaded) the weight is created and initialised
    exactly as ``Linear(in_features, out_features)`` would be; the module then behaves as a Linear.
    Create optimizers after the first forward pass (or after ``load_state_dict``).
    """

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        self.in_features = 0
        self.out_features = int(out_features)
        self._dtype = as_dtype(dtype) or get_default_dtype()
        self._use_bias = bool(bias)
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)

    def _materialize(self, in_features):
        self.in_features = int(in_features)
        self.weight = Parameter(xp.empty((self.out_features, self.in_features), dtype=self._dtype))
        if self._use_bias:
            self.bias = Parameter(xp.empty((self.out_features,), dtype=self._dtype))
        self.reset_parameters()

    def has_uninitialized_params(self):
        return self.weight is None

    def _materialize_from_state_dict(self, prefix, state_dict):
        if self.weight is None and prefix + "weight" in state_dict:
            self._materialize(state_dict[prefix + "weight"].shape[1])

    def forward(self, x):
        if self.weight is None:
            x = as_input(x)
            if x.ndim == 0:
                raise ShapeError(f"{type(self).__name__}: got a 0-d input; expected (..., in_features)")
            self._materialize(x.shape[-1])
        return Linear.forward(self, x)

    def extra_repr(self):
        if self.weight is None:
            return f"in_features=<inferred at first call>, out_features={self.out_features}"
        return super().extra_repr()


class Bilinear(Module):
    """y_k = x1ᵀ A_k x2 + b_k for each output k: x1 (…, in1), x2 (…, in2) → y (…, out).

    ``weight`` A is (out_features, in1_features, in2_features), ``bias`` (out_features,); both start as
    U(±1/√in1_features) as in PyTorch. Computed as (x1 · A reshaped to (in1, out·in2)) ⊙ x2, summed over in2.
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = int(in1_features), int(in2_features), \
            int(out_features)
        dtype = as_dtype(dtype) or get_default_dtype()
        shape = (self.out_features, self.in1_features, self.in2_features)
        self.weight = Parameter(xp.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(xp.empty((self.out_features,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x1, x2):
        x1, x2 = as_input(x1), as_input(x2)
        dtype = self.weight.array.dtype
        if x1.dtype != dtype:
            x1 = match_float(x1, dtype, self)
        if x2.dtype != dtype:
            x2 = match_float(x2, dtype, self)
        if x1.shape[-1:] != (self.in1_features,) or x2.shape[-1:] != (self.in2_features,) \
                or x1.shape[:-1] != x2.shape[:-1]:
            raise ShapeError(f"{self._layer_name()}: got inputs of shapes {tuple(x1.shape)} and "
                             f"{tuple(x2.shape)}, "
                             f"expected (..., {self.in1_features}) and (..., {self.in2_features})")
        out, in1, in2 = self.out_features, self.in1_features, self.in2_features
        a = self.weight.permute(1, 0, 2).reshape(in1, out * in2)
        t = (x1 @ a).reshape(x1.shape[:-1] + (out, in2))
        y = (t * x2.unsqueeze(-2)).sum(axis=-1)
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
