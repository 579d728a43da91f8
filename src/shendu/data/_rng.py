"""Where the data layer takes its randomness from.

Every random draw (shuffling, splitting, augmentation) uses, in order of preference: the
generator or integer seed the caller passed, else the library-wide generator
``shendu.random.generator()`` (so ``shendu.manual_seed(n)`` makes a run reproducible). The
library-wide generator is looked up at every draw, never cached, because ``manual_seed``
replaces it.
"""

import numpy as np

_fallback = None


def resolve_generator(generator=None):
    """Return a ``numpy.random.Generator`` for ``generator``.

    ``generator`` may be ``None`` (the library-wide generator), an ``int`` seed (a fresh
    generator seeded with it), a ``numpy.random.Generator`` (used as is) or a
    ``numpy.random.RandomState`` (used as is, it has the methods the data layer calls).
    """
    if generator is None:
        return global_generator()
    if isinstance(generator, (np.random.Generator, np.random.RandomState)):
        return generator
    if isinstance(getattr(generator, "numpy_generator", None), np.random.Generator):
        return generator.numpy_generator  # a shendu.Generator (torch.Generator)
    if isinstance(generator, (int, np.integer)):
        return np.random.default_rng(int(generator))
    raise TypeError(
        f"generator must be None, an int seed or a numpy.random.Generator, got {type(generator).__name__}"
    )


def global_generator():
    """The library-wide generator, ``shendu.random.generator()``.

    Falls back to one module-level generator only while ``shendu.random`` cannot be imported.
    """
    global _fallback
    try:
        from shendu.random import generator
    except ImportError:
        if _fallback is None:
            _fallback = np.random.default_rng()
        return _fallback
    return generator()


def draw_seed(generator=None):
    """Draw one 63-bit seed from ``generator`` (used to derive a per-epoch permutation)."""
    rng = resolve_generator(generator)
    if isinstance(rng, np.random.RandomState):
        return int(rng.randint(0, 2**31 - 1))
    return int(rng.integers(0, 2**63 - 1))
