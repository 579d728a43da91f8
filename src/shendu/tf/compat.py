"""``tf.compat``: the text helpers tf.keras programs call (``tf.compat.as_bytes(b"JFIF")``...)."""
import os as _os

__all__ = ["as_bytes", "as_text", "as_str", "as_str_any", "path_to_str"]


def as_bytes(bytes_or_text, encoding="utf-8"):
    """``bytes`` as they are, ``str`` encoded (UTF-8 by default); anything else is a ``TypeError``."""
    if isinstance(bytes_or_text, (bytes, bytearray)):
        return bytes(bytes_or_text)
    if isinstance(bytes_or_text, str):
        return bytes_or_text.encode(encoding)
    raise TypeError(f"tf.compat.as_bytes: expected bytes or str, got {type(bytes_or_text).__name__}")


def as_text(bytes_or_text, encoding="utf-8"):
    """``str`` as it is, ``bytes`` decoded (UTF-8 by default); anything else is a ``TypeError``."""
    if isinstance(bytes_or_text, str):
        return bytes_or_text
    if isinstance(bytes_or_text, (bytes, bytearray)):
        return bytes(bytes_or_text).decode(encoding)
    raise TypeError(f"tf.compat.as_text: expected bytes or str, got {type(bytes_or_text).__name__}")


as_str = as_text


def as_str_any(value, encoding="utf-8"):
    """Bytes decoded, anything else through ``str()``."""
    return as_text(value, encoding) if isinstance(value, (bytes, bytearray)) else str(value)


def path_to_str(path):
    """A path-like object as a ``str`` (other values unchanged)."""
    return _os.fspath(path) if isinstance(path, _os.PathLike) else path
