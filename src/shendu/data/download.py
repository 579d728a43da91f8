"""``keras.utils.get_file``: a hash-checked download into a Keras-style cache (``~/.keras/datasets``).

* The file lands in ``<cache_dir>/<cache_subdir>/<fname>``; ``cache_dir`` defaults to ``$KERAS_HOME``
  or ``~/.keras`` (``/tmp/.keras`` when that cannot be written), ``cache_subdir`` to ``"datasets"``; an
  absolute ``cache_subdir`` is used as is.
* A file already in the cache is used without touching the network when it matches ``file_hash``
  (or when no hash is given), so a cached file works offline. A cached file with the wrong hash is
  downloaded again.
* Downloads stream to a temporary file in the same folder; the hash is checked before the rename, so a
  failed or corrupted download leaves nothing in the cache. ``origin`` may be ``http(s)://``,
  ``file://`` or a local path.
* ``extract=True`` (or the older ``untar=True``) unpacks tar (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz)
  and zip archives, refusing members that would land outside the target folder (absolute paths,
  ``..``, links, devices). Keras 3's rule for the folder: ``fname`` itself when it has no extension,
  else ``<name>_extracted``; the folder's path is returned, or the one folder inside it when the
  archive holds a single top-level folder (``aclImdb_v1.tar.gz`` gives ``…/aclImdb_v1_extracted/aclImdb``,
  so keras-io's ``os.path.join(os.path.dirname(path), "aclImdb")`` finds it).
  ``untar=True`` (tf.keras 2) extracts into
  the cache folder and returns ``<cache>/<fname>``.
"""
import hashlib
import os
import shutil
import tarfile
import zipfile
from urllib.parse import urlparse

from .._fileio import atomic_write

__all__ = ["get_file", "validate_file", "hash_file", "keras_home"]

_ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".tar", ".zip")


def keras_home():
    """``$KERAS_HOME`` or ``~/.keras``."""
    return os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))


def _hasher(algorithm, file_hash=None):
    algorithm = (algorithm or "auto").lower()
    if algorithm == "auto":
        algorithm = "md5" if file_hash is not None and len(file_hash) == 32 else "sha256"
    if algorithm not in ("md5", "sha256"):
        raise ValueError(f"get_file: hash_algorithm must be 'md5', 'sha256' or 'auto', got {algorithm!r}")
    return hashlib.new(algorithm)


def hash_file(fpath, algorithm="sha256", chunk_size=65535):
    """Hex digest of a file (``'sha256'`` or ``'md5'``)."""
    h = _hasher(algorithm)
    with open(fpath, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            h.update(block)
    return h.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
    """True when the file's digest equals ``file_hash`` (md5 for 32 hex digits, else sha256)."""
    algorithm = _hasher(algorithm, file_hash).name
    return hash_file(fpath, algorithm, chunk_size) == str(file_hash).lower()


def _archive_suffix(name):
    lower = name.lower()
    return next((s for s in _ARCHIVE_SUFFIXES if lower.endswith(s)), "")


def _writable_cache(cache_dir):
    if cache_dir is not None:
        return os.path.expanduser(os.fspath(cache_dir))
    base = keras_home()
    try:
        os.makedirs(base, exist_ok=True)
        if os.access(base, os.W_OK):
            return base
    except OSError:
        pass
    return os.path.join("/tmp", ".keras")


def _fetch(origin, fpath, file_hash, hash_algorithm):
    import urllib.request  # imported here: plain use of the cache never needs http/ssl

    url = origin if urlparse(origin).scheme else "file://" + os.path.abspath(origin)

    def write(tmp):
        h = _hasher(hash_algorithm, file_hash)
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                h.update(block)
                out.write(block)
        if file_hash is not None and h.hexdigest() != str(file_hash).lower():
            raise ValueError(f"get_file: the file downloaded from {origin} has {h.name} {h.hexdigest()}, "
                             f"expected {file_hash}; it was not saved (the origin changed, or the hash is "
                             "wrong)")

    try:
        atomic_write(fpath, write)
    except ValueError:
        raise
    except Exception as exc:
        raise OSError(f"get_file: could not download {origin} to {fpath}: {exc}") from exc


def _inside(root, name):
    target = os.path.realpath(os.path.join(root, name))
    return target == root or target.startswith(root + os.sep)


def extract_archive(file_path, path=".", archive_format="auto"):
    """Unpack a tar or zip archive into ``path``; True when something was extracted.

    Members with absolute names, ``..`` components, links or device files are refused (ValueError):
    nothing is written outside ``path``.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    root = os.path.realpath(path)
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as tar:
                members = tar.getmembers()
                for m in members:
                    if not (m.isfile() or m.isdir()) or not _inside(root, m.name) or os.path.isabs(m.name):
                        raise ValueError(f"get_file: refusing to extract {m.name!r} from {file_path}: "
                                         "archive members must be plain files or folders inside the target "
                                         "folder")
                os.makedirs(root, exist_ok=True)
                tar.extractall(root, members=members, filter="data")
            return True
        if fmt == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as z:
                for info in z.infolist():
                    mode = info.external_attr >> 16
                    if os.path.isabs(info.filename) or not _inside(root, info.filename) or (mode & 0o170000
                                                                                            == 0o120000):
                        raise ValueError(f"get_file: refusing to extract {info.filename!r} from {file_path}: "
                                         "archive members must be plain files or folders inside the target "
                                         "folder")
                os.makedirs(root, exist_ok=True)
                z.extractall(root)
            return True
    return False


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None,
             force_download=False):
    """Path to ``fname`` in the cache, downloading it from ``origin`` first when it is missing, stale
    (wrong hash) or ``force_download`` is set. See the module docstring for the rules."""
    if origin is None:
        raise ValueError('get_file: please specify the "origin" argument (the URL or file:// path to fetch)')
    if fname is None:
        fname = os.path.basename(urlparse(origin).path) or os.path.basename(origin)
        if not fname:
            raise ValueError(f"get_file: cannot tell a file name from origin {origin!r}; pass fname=")
    fname = os.fspath(fname)
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    datadir = os.path.join(_writable_cache(cache_dir), cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    extract_dir = None
    if untar:
        stem = fname[:-len(_archive_suffix(fname))] if _archive_suffix(fname) else fname
        fpath = os.path.join(datadir, stem + (_archive_suffix(fname) or ".tar.gz"))
        extract_dir, target = datadir, os.path.join(datadir, stem)
    else:
        suffix = _archive_suffix(fname)
        if extract and not suffix and _archive_suffix(urlparse(origin).path):
            # Keras 3: an extension-less fname names the folder the archive unpacks into
            fpath = os.path.join(datadir, fname + _archive_suffix(urlparse(origin).path))
            extract_dir = target = os.path.join(datadir, fname)
        else:
            fpath = os.path.join(datadir, fname)
            if extract:
                stem = fname[:-len(suffix)] if suffix else fname
                extract_dir = target = os.path.join(datadir, stem + "_extracted")
        if not extract:
            target = fpath

    need = force_download or not os.path.exists(fpath)
    if not need and file_hash is not None and not validate_file(fpath, file_hash, hash_algorithm):
        need = True       # a stale or damaged copy: fetch it again
    if need:
        _fetch(origin, fpath, file_hash, hash_algorithm)
    if extract_dir is not None:
        if need or not os.path.exists(target):
            if extract_dir != datadir and os.path.isdir(extract_dir):
                shutil.rmtree(extract_dir)
            if not extract_archive(fpath, extract_dir, archive_format):
                raise ValueError(f"get_file: {fpath} is not a {archive_format} archive that can be extracted")
        if target != datadir and os.path.isdir(target):
            inside = os.listdir(target)
            if len(inside) == 1 and os.path.isdir(os.path.join(target, inside[0])):
                target = os.path.join(target, inside[0])   # an archive of one folder gives that folder
        return target
    return fpath
