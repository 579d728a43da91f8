"""The array backend: the one module that names the array library.

Everything that does math on tensor data imports ``xp`` from here, so moving shendu to another
NumPy-compatible library (CuPy for GPUs) is a change to this module alone.
"""
import numpy

xp = numpy
"""The array module (NumPy). ``xp.matmul``, ``xp.exp``... are used throughout the library."""

ndarray = xp.ndarray


def to_numpy(a):
    """Return ``a`` as a host NumPy array (a no-op for NumPy; a device-to-host copy for CuPy)."""
    return numpy.asarray(a)


def asarray(a, dtype=None):
    """Return ``a`` as a backend array without copying when possible."""
    return xp.asarray(a, dtype=dtype)
