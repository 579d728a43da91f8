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


def _keep_freed_memory():
    """Ask glibc's malloc to reuse freed array memory instead of handing it back to the OS.

    Training allocates and frees the same large arrays at every step. By default glibc serves
    arrays over 128 KiB with fresh ``mmap`` pages and unmaps them on free, so every step pays
    page faults to zero new memory again (half of a small CNN's step time). Raising the mmap
    threshold to 32 MiB and the trim threshold to 256 MiB keeps that memory in the process for
    reuse, as PyTorch's caching allocator does. Set ``SHENDU_MALLOC_TUNING=0`` to leave malloc
    alone. Elsewhere than glibc (macOS, Windows, musl) this does nothing.
    """
    import os
    import sys

    if os.environ.get("SHENDU_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)
                    and libc.mallopt(m_trim_threshold, 256 * 2**20))
    except (OSError, AttributeError):
        return False


MALLOC_TUNED = _keep_freed_memory()
