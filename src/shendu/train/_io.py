"""Atomic text writes for logs and reports."""
import os

from ..serialization import atomic_write_bytes


def atomic_write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename, so a reader never sees
    a half-written file. The file gets the usual permissions (0666 less the umask), not the
    temporary file's private 0600."""
    atomic_write_bytes(path, [text.encode("utf-8")])
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
