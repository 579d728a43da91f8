"""One seedable source of randomness for the whole library.

``shendu.manual_seed(n)`` re-creates the generator, so every random draw that follows (parameter
initialisation, dropout masks, data shuffling, augmentation) is reproducible.
"""
import numpy as np

_generator = np.random.default_rng()
_seed = None


def manual_seed(seed):
    """Seed every random draw in shendu (and NumPy's legacy global state, which tutorials use)."""
    global _generator, _seed
    _seed = int(seed)
    _generator = np.random.default_rng(_seed)
    np.random.seed(_seed % (2**32))
    return _generator


def generator():
    """The library-wide ``numpy.random.Generator``."""
    return _generator


def initial_seed():
    """The seed given to the last ``manual_seed`` call, or None."""
    return _seed


class Generator:
    """``torch.Generator``: a random source of its own, for code that passes ``generator=``.

    ``g = shendu.Generator().manual_seed(42)`` then ``randn(3, generator=g)``,
    ``randperm(10, generator=g)``, ``random_split(ds, [0.8, 0.2], generator=g)`` or
    ``DataLoader(..., generator=g)`` draw from it and leave the library's generator alone.
    The draws come from a ``numpy.random.Generator`` (``g.numpy_generator``), so they are not
    PyTorch's numbers, but the same seed gives the same numbers every run.
    """

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self.numpy_generator = np.random.default_rng(self._seed)

    def manual_seed(self, seed):
        self._seed = int(seed)
        self.numpy_generator = np.random.default_rng(self._seed)
        return self

    def seed(self):
        """Re-seed from fresh entropy and return the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The generator's state as a JSON-able dict (``set_state`` puts it back)."""
        return self.numpy_generator.bit_generator.state

    def set_state(self, state):
        self.numpy_generator.bit_generator.state = state
        return self
