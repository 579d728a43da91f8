"""``tf.strings``: element-wise string functions on arrays of text (NumPy object or str arrays).

Text in shendu is a NumPy array of Python ``str`` (``bytes`` are decoded as UTF-8); each function maps
every element and keeps the array's shape, as TensorFlow's string tensors do.
"""
import re as _re

import numpy as _np

__all__ = ["lower", "upper", "strip", "regex_replace", "regex_full_match", "length", "join", "split",
           "substr", "as_string", "to_number"]


def _text(value):
    if hasattr(value, "numpy") and not isinstance(value, _np.ndarray):
        value = value.numpy()
    a = _np.asarray(value, dtype=object)
    if not a.size:
        return a
    return _np.vectorize(lambda s: s.decode("utf-8") if isinstance(s, bytes) else str(s), otypes=[object])(a)


def _map(fn, value):
    a = _text(value)
    out = _np.vectorize(fn, otypes=[object])(a) if a.size else a
    return out if out.ndim else out.item()


def lower(input, encoding=""):  # noqa: A002
    return _map(str.lower, input)


def upper(input, encoding=""):  # noqa: A002
    return _map(str.upper, input)


def strip(input):  # noqa: A002
    return _map(str.strip, input)


def regex_replace(input, pattern, rewrite, replace_global=True):  # noqa: A002
    """Replace matches of ``pattern`` (RE2 syntax; Python's ``re`` here) with ``rewrite`` (``\\1`` groups)."""
    rx = _re.compile(pattern)
    count = 0 if replace_global else 1
    return _map(lambda s: rx.sub(rewrite, s, count=count), input)


def regex_full_match(input, pattern):  # noqa: A002
    rx = _re.compile(pattern)
    a = _text(input)
    return _np.vectorize(lambda s: rx.fullmatch(s) is not None, otypes=[bool])(a)


def length(input, unit="BYTE"):  # noqa: A002
    """Length of each string: UTF-8 bytes (``unit="BYTE"``, TensorFlow's default) or characters."""
    a = _text(input)
    fn = (lambda s: len(s.encode("utf-8"))) if unit == "BYTE" else len
    return _np.vectorize(fn, otypes=[_np.int32])(a)


def join(inputs, separator=""):
    parts = [_text(p) for p in inputs]
    return _np.vectorize(lambda *xs: separator.join(xs), otypes=[object])(*parts)


def split(input, sep=None, maxsplit=-1):  # noqa: A002
    """A list (ragged rows) of the pieces of each string."""
    a = _text(input)
    return [s.split(sep, maxsplit) for s in a.ravel()] if a.ndim else a.item().split(sep, maxsplit)


def substr(input, pos, len, unit="BYTE"):  # noqa: A002
    return _map(lambda s: s[pos:pos + len], input)


def as_string(input, precision=-1):  # noqa: A002
    a = _np.asarray(input.numpy() if hasattr(input, "numpy") else input)
    fmt = (lambda v: f"{v:.{precision}f}") if precision >= 0 else str
    return _np.vectorize(fmt, otypes=[object])(a)


def to_number(string_tensor, out_type=_np.float32):
    return _np.vectorize(float, otypes=[_np.float64])(_text(string_tensor)).astype(out_type)
