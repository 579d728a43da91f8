"""Errors raised by shendu, worded for the person reading them."""


class ShapeError(ValueError):
    """A shape does not fit an operation or layer; the message names both shapes."""


class FileFormatError(ValueError):
    """A file exists but cannot be read: damaged, truncated, not in the expected format, or asking for
    more memory than the file can hold or the read limit allows. The message names the file.

    Every file reader in shendu (safetensors, ``.keras`` archives, IDX, CIFAR batches, CSV tables, word
    vectors) raises a subclass of this error; it is a ``ValueError``, so ``except ValueError`` catches it.
    """
