"""Atomic text writes for logs and reports (the one atomic writer lives in :mod:`shendu._fileio`)."""
from .._fileio import atomic_write_text

__all__ = ["atomic_write_text"]
