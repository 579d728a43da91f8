"""File plumbing shared by every reader and writer in shendu (standard library only, imports nothing
else from shendu but :mod:`shendu.errors`, so every layer may use it).

* :func:`atomic_write` is THE atomic writer: the file is written to a temporary file next to the target
  (``.tmp-<pid>-<random>.<name>``), flushed to disk, then renamed over the target, so a reader never
  sees a half-written file and a failed write leaves any previous file untouched. A save also removes
  the temporary files that an earlier, killed save of the same target left behind (those of a process
  that no longer runs).
* :func:`max_read_bytes` is the read limit: no reader allocates or decompresses more than this many
  bytes for one file (default 8 GiB; ``SHENDU_MAX_READ_BYTES`` in the environment, or a reader's
  ``max_bytes=`` argument, changes it).
* :func:`open_zip` and :func:`read_zip_member` read a zip archive that is not trusted: a member is
  decompressed in chunks and never past what its compressed size can hold (stored members exactly their
  size, deflated ones at most ``max_ratio`` times it), whatever size it declares.
"""
import io
import os
import re
import secrets
import threading
import time

from .errors import FileFormatError

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "max_read_bytes", "check_read_size",
           "open_zip", "read_zip_member", "ZIP_MAX_RATIO", "GZIP_MAX_RATIO", "DEFAULT_MAX_READ_BYTES",
           "MAX_READ_BYTES_ENV"]

DEFAULT_MAX_READ_BYTES = 8 << 30
MAX_READ_BYTES_ENV = "SHENDU_MAX_READ_BYTES"
GZIP_MAX_RATIO = 1032  # deflate never expands data more than ~1032:1, so a larger claim is a lie
# A deflated zip member may inflate to at most this many times its compressed size (shendu writes its own
# members uncompressed; JSON, weights and arrays deflate far less than this).
ZIP_MAX_RATIO = 100
LEGACY_TEMP_AGE_S = 3600  # temporary files of older shendu versions (no process id): removed after 1 h

_IN_FLIGHT = set()  # temporary files this process is writing right now
_LOCK = threading.Lock()


def max_read_bytes(limit=None):
    """The most bytes a reader may allocate or decompress for one file: ``limit`` when given, else
    ``$SHENDU_MAX_READ_BYTES``, else 8 GiB."""
    if limit is not None:
        return int(limit)
    env = os.environ.get(MAX_READ_BYTES_ENV, "").strip()
    if not env:
        return DEFAULT_MAX_READ_BYTES
    try:
        value = int(env)
    except ValueError:
        raise ValueError(f"{MAX_READ_BYTES_ENV}={env!r} is not a whole number of bytes") from None
    if value <= 0:
        raise ValueError(f"{MAX_READ_BYTES_ENV}={env!r} must be a positive number of bytes")
    return value


def check_read_size(nbytes, source, what, limit=None, error=FileFormatError):
    """Raise ``error`` naming ``source`` when ``nbytes`` (what reading ``what`` needs) exceeds the limit."""
    cap = max_read_bytes(limit)
    if nbytes > cap:
        raise error(f"{source}: {what} needs {nbytes:,} bytes, more than the read limit of {cap:,} bytes; "
                    f"if the file is trusted, raise the limit with max_bytes= or {MAX_READ_BYTES_ENV}")


def _pid_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _stale_temps(folder, name, started):
    """Temporary files of earlier writes of ``folder/name`` that no running write owns."""
    ours = re.compile(r"\.tmp-(\d+)-[0-9a-f]{8}\." + re.escape(name) + r"\Z")
    legacy = re.compile(r"(\.tmp-[a-z0-9_]{8}" + re.escape(name) + r"|\." + re.escape(name)
                        + r"\.[a-z0-9_]{8}(\.[^.]*)?\.(tmp|part))\Z")
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    stale = []
    for entry in entries:
        m = ours.match(entry)
        if m is None and legacy.match(entry) is None:
            continue
        full = os.path.join(folder, entry)
        try:
            mtime = os.stat(full).st_mtime
        except OSError:
            continue
        if mtime >= started:
            continue
        if m is not None:
            pid = int(m.group(1))
            with _LOCK:
                busy = full in _IN_FLIGHT
            if busy or (os.name != "posix" and started - mtime < 86400) or (
                    os.name == "posix" and pid != os.getpid() and _pid_alive(pid)):
                continue
        elif started - mtime < LEGACY_TEMP_AGE_S:
            continue
        stale.append(full)
    return stale


def _fsync(path, directory=False):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def atomic_write(path, write):
    """Call ``write(tmp_path)`` to fill a new temporary file next to ``path``, then rename it over ``path``.

    The temporary file is created with the usual permissions (0666 less the umask), flushed to disk before
    the rename, and removed if ``write`` raises (the error is re-raised; any previous ``path`` stays as it
    was). Stale temporary files of ``path`` left by a killed earlier write are removed first. Returns
    ``path`` as a string.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    os.makedirs(folder, exist_ok=True)
    started = time.time()
    for old in _stale_temps(folder, name, started):
        try:
            os.unlink(old)
        except OSError:
            pass
    while True:
        tmp = os.path.join(folder, f".tmp-{os.getpid()}-{secrets.token_hex(4)}.{name}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        break
    with _LOCK:
        _IN_FLIGHT.add(tmp)
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(folder, directory=True)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        with _LOCK:
            _IN_FLIGHT.discard(tmp)
    return path


def atomic_write_bytes(path, chunks):
    """Write the byte strings ``chunks`` to ``path`` atomically (see :func:`atomic_write`)."""

    def write(tmp):
        with open(tmp, "wb") as f:
            for c in chunks:
                f.write(c)

    return atomic_write(path, write)


def atomic_write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write_bytes(path, [text.encode("utf-8")])


def open_zip(data, source, error=FileFormatError, what="a zip archive"):
    """A ``zipfile.ZipFile`` on ``data`` (bytes or a path); ``error`` naming ``source`` when it is none."""
    import zipfile

    try:
        return zipfile.ZipFile(io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data)
    except (zipfile.BadZipFile, EOFError, NotImplementedError) as exc:  # NotImplementedError: a zip version
        raise error(f"{source!r} is not {what} (not a zip archive, or the file is truncated: {exc})"
                    ) from None


def read_zip_member(zf, name, source, error=FileFormatError, max_ratio=ZIP_MAX_RATIO, chunk=1 << 20):
    """The bytes of member ``name`` of ``zf``, decompressed in chunks and never beyond what its compressed
    size allows (see the module docstring): a zip bomb or a forged size raises ``error`` naming ``source``."""
    import zipfile

    try:
        info = zf.getinfo(name)
    except KeyError:
        raise error(f"{source!r} has no {name}: the file is not complete") from None
    limit = info.compress_size if info.compress_type == zipfile.ZIP_STORED else (
        info.compress_size * max_ratio + 4096)  # a little room for tiny members
    if info.file_size > limit:
        raise error(f"{source!r}: its member {name} declares {info.file_size:,} bytes from "
                    f"{info.compress_size:,} compressed bytes, more than the {limit:,} bytes such a member "
                    f"can hold (at most {max_ratio}x compression): refusing to decompress it")
    limit = min(limit, info.file_size)
    out = bytearray()
    try:
        with zf.open(info) as f:
            while piece := f.read(min(chunk, limit + 1 - len(out))):
                out += piece
                if len(out) > limit:
                    raise error(f"{source!r}: its member {name} inflates beyond the {limit:,} bytes it "
                                "declares: refusing to decompress it further")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        if isinstance(exc, error):
            raise
        raise error(f"{source!r} is damaged or truncated ({name}: {exc})") from None
    return bytes(out)
