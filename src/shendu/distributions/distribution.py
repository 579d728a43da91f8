"""The base class: shapes, sampling shapes, and argument checks shared by every distribution."""
import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor, get_default_dtype


def as_param(value, name, dtype=None):
    """A distribution parameter as a float Tensor (kept as given when it already is one, for gradients)."""
    if isinstance(value, Tensor):
        return value if value.dtype.kind == "f" else value.to(np.float32)
    arr = np.asarray(value)
    if arr.dtype.kind != "f" or not isinstance(value, (np.ndarray, np.generic)):
        arr = arr.astype(dtype or get_default_dtype())  # Python numbers and lists: the default float dtype
    return Tensor(arr)


def as_value(value, like):
    """A value to score (``log_prob``) as a Tensor of ``like``'s dtype."""
    if isinstance(value, Tensor):
        return value
    return Tensor(np.asarray(value, dtype=like.dtype))


def shape_of(sample_shape):
    if isinstance(sample_shape, int):
        return (sample_shape,)
    return tuple(int(s) for s in sample_shape)


class Distribution:
    """A family of distributions, batched over ``batch_shape``, each over events of ``event_shape``."""

    has_rsample = False

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self.batch_shape, self.event_shape = tuple(batch_shape), tuple(event_shape)
        self._validate = True if validate_args is None else bool(validate_args)

    def _check(self, ok, message):
        if self._validate and not ok:
            raise ValueError(f"{type(self).__name__}: {message}")

    def _extended_shape(self, sample_shape=()):
        return shape_of(sample_shape) + self.batch_shape + self.event_shape

    def sample(self, sample_shape=()):
        """A draw of shape ``sample_shape + batch_shape + event_shape``, outside the graph."""
        with no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sample (rsample)")

    def sample_n(self, n):
        return self.sample((n,))

    def log_prob(self, value):
        raise NotImplementedError(f"{type(self).__name__}.log_prob")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__}.entropy")

    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__}.mean")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__}.variance")

    @property
    def stddev(self):
        return self.variance.sqrt()

    def perplexity(self):
        return self.entropy().exp()

    def __repr__(self):
        params = ", ".join(f"{k}: {tuple(getattr(self, k).shape)}" for k in self._params)
        return f"{type(self).__name__}({params})"

    _params = ()
