"""Finding data files on disk, and downloading them safely.

Search order for every data set (first match wins):

1. the ``path=`` argument (the folder itself, then ``path/<name>``), or the file itself;
2. ``$SHENDU_DATA/<name>``;
3. ``~/.cache/shendu/<name>``;
4. system locations (e.g. ``/usr/share/datasets/fashion-mnist`` from Debian's
   dataset-fashion-mnist package, ``/usr/share/games/fortunes`` from fortunes / fortunes-zh).

Downloads (only with ``download=True``) go to ``$SHENDU_DATA/<name>`` when that variable is
set, else ``~/.cache/shendu/<name>``: each file is streamed to a temporary file in that
folder, its SHA-256 is checked, and only then is it renamed into place, so a failed or
corrupted download leaves nothing behind.
"""

import hashlib
import os
import pickle

from ..._fileio import atomic_write
from ...errors import FileFormatError

__all__ = [
    "DatasetNotFoundError",
    "DatasetFormatError",
    "UnsafePickleError",
    "data_home",
    "search_dirs",
    "download_file",
    "sha256_file",
]


class DatasetNotFoundError(FileNotFoundError):
    """No copy of a data set was found; the message lists where shendu looked and how to get it."""


class DatasetFormatError(FileFormatError):
    """A data file exists but is damaged (truncated, wrong magic number, wrong size); names the file."""


def data_home():
    """Where downloads are stored: ``$SHENDU_DATA`` if set, else ``~/.cache/shendu``."""
    env = os.environ.get("SHENDU_DATA")
    if env:
        return os.path.expanduser(env)
    return os.path.join(os.path.expanduser("~"), ".cache", "shendu")


def search_dirs(name, path=None, system=()):
    """The folders searched for data set ``name``, in order (see the module docstring)."""
    dirs = []
    if path is not None:
        path = os.path.expanduser(os.fspath(path))
        dirs += [path, os.path.join(path, name)]
    env = os.environ.get("SHENDU_DATA")
    if env:
        dirs.append(os.path.join(os.path.expanduser(env), name))
    dirs.append(os.path.join(os.path.expanduser("~"), ".cache", "shendu", name))
    dirs += list(system)
    seen, ordered = set(), []
    for d in dirs:
        if d not in seen:
            seen.add(d)
            ordered.append(d)
    return ordered


def not_found(what, looked, hint):
    """Build the :class:`DatasetNotFoundError` for ``what`` after searching ``looked``."""
    lines = "\n".join(f"  - {p}" for p in looked)
    return DatasetNotFoundError(f"{what} was not found. Looked in, in this order:\n{lines}\n{hint}")


def sha256_file(path, chunk=1 << 20):
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def download_file(url, dest, sha256, timeout=60, quiet=False):
    """Download ``url`` to ``dest`` atomically, refusing content whose SHA-256 differs from ``sha256``.

    The bytes go to a temporary file next to ``dest`` (shendu's atomic writer); the hash is checked;
    then the file is renamed into place. On any error the temporary file (and a folder this call
    created) is removed and the error is raised: nothing half-written stays in the cache.
    """
    import urllib.request  # imported here: it pulls in ssl/http, which plain loading never needs

    folder = os.path.dirname(os.path.abspath(dest))
    created, d = [], folder
    while not os.path.isdir(d):  # folders this call creates, deepest first, removed again on error
        created.append(d)
        d = os.path.dirname(d)

    def fetch(tmp):
        digest = hashlib.sha256()
        with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            if not quiet:
                print(f"shendu: downloading {url}")
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != sha256:
            raise DatasetFormatError(
                f"download of {url} has SHA-256 {digest.hexdigest()}, expected {sha256}; "
                "the file was not saved"
            )

    try:
        atomic_write(dest, fetch)
    except BaseException:
        for d in created:
            try:
                os.rmdir(d)
            except OSError:
                break
        raise
    return dest


class UnsafePickleError(pickle.UnpicklingError, DatasetFormatError):
    """A pickle asked for a Python object that a data file never needs (it could run code)."""
