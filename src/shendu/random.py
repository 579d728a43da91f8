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
