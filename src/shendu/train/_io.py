"""Atomic text writes for logs and reports."""
from ..serialization import atomic_write_bytes


def atomic_write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    atomic_write_bytes(path, [text.encode("utf-8")])
