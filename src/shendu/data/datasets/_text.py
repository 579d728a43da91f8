"""Text corpora from the Debian fortune packages.

A fortune file is a list of entries separated by lines holding a single ``%``. In fortunes-zh,
the Tang (``tang300``) and Song (``song100``) poem files colour their first two lines with ANSI
escape codes::

    ESC[32m《静夜思》ESC[m          (Song: ESC[32m题目:《塞上》ESC[m)
    ESC[33m作者：李白ESC[m          (Song: ESC[33m作者:柳开（９４６－９９９）ESC[m)
    床前明月光，疑是地上霜。
    ...

:func:`parse_poems` removes the codes and returns records; :func:`fortunes` reads the English
fortune cookie files (Debian packages fortunes-min and fortunes), one label per file.
"""

import os
import re

import numpy as np

from ._files import DatasetFormatError, not_found, search_dirs

__all__ = ["tang_poems", "song_poems", "fortunes", "parse_poems", "parse_fortune_file", "FORTUNE_DIRS"]

FORTUNE_DIRS = [
    "/usr/share/games/fortunes",
    "/usr/share/fortunes",
    "/usr/games/fortunes",
    "/usr/local/share/games/fortunes",
    "/opt/homebrew/share/games/fortunes",
]
_CHINESE_FILES = {"chinese", "tang300", "song100"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_OVERSTRIKE = re.compile(r".\x08")
_SEPARATOR = re.compile(r"^%[ \t\r]*$", re.M)
_TITLE_PREFIX = re.compile(r"^(题目|題目)\s*[:：]\s*")
_AUTHOR_PREFIX = re.compile(r"^(作者)\s*[:：]\s*")


def clean_text(text):
    """Remove ANSI colour codes and backspace overstriking (``_\\bx`` underlines) from ``text``."""
    text = _ANSI.sub("", text)
    while "\x08" in text:
        stripped = _OVERSTRIKE.sub("", text)
        if stripped == text:
            stripped = text.replace("\x08", "")
        text = stripped
    return text


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(f"{path}: not UTF-8 text ({exc})") from None


def split_entries(text):
    """The entries of a fortune file: text between ``%`` lines, with empty ones dropped."""
    return [e for e in _SEPARATOR.split(text) if e.strip()]


def _title(line):
    line = _TITLE_PREFIX.sub("", line.strip())
    m = re.match(r"^《(.*?)》(.*)$", line)
    return (m.group(1) + m.group(2).strip()) if m else line


def parse_poems(path):
    """Parse a fortunes-zh poem file into records ``{"title", "author", "body", "note"}``.

    ``body`` is the poem's lines joined by "\\n"; ``note`` is what follows the author's name
    in parentheses (the Song file gives life dates), else "". Escape codes are removed. A
    missing author line, an entry shorter than three lines or a file with no entry raises
    :class:`DatasetFormatError` naming the file and the entry.
    """
    path = os.fspath(path)
    text = _read(path)
    if "\x00" in text:
        raise DatasetFormatError(f"{path}: binary data in a poem file (is it the .dat index?)")
    poems = []
    for k, entry in enumerate(split_entries(text), 1):
        lines = [ln.strip() for ln in clean_text(entry).strip("\n").split("\n")]
        lines = [ln for ln in lines if ln]
        if len(lines) < 3:
            raise DatasetFormatError(
                f"{path}: entry {k} is truncated: expected a title line, an author line "
                f"and the poem, got {len(lines)} line(s): {lines!r}"
            )
        if not _AUTHOR_PREFIX.match(lines[1]):
            raise DatasetFormatError(
                f"{path}: entry {k}: the second line should name the author ('作者：...'), got {lines[1]!r}"
            )
        author = _AUTHOR_PREFIX.sub("", lines[1])
        note = ""
        m = re.match(r"^(.*?)\s*[（(](.*)[）)]\s*$", author)
        if m:
            author, note = m.group(1), m.group(2)
        poems.append(
            {"title": _title(lines[0]), "author": author.strip(), "body": "\n".join(lines[2:]), "note": note}
        )
    if not poems:
        raise DatasetFormatError(f"{path}: no poems found (expected entries separated by '%' lines)")
    return poems


def _find_file(name, path, what):
    if path is not None and os.path.isfile(os.fspath(path)):
        return os.fspath(path)
    looked = search_dirs("fortunes", path, FORTUNE_DIRS)
    for folder in looked:
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return p
    raise not_found(
        f"{what} (file {name})",
        looked,
        "Get it with: sudo apt-get install fortunes-zh   (Debian/Ubuntu), or pass path= to the file",
    )


def tang_poems(path=None):
    """The 313 entries of 唐诗三百首 (Three Hundred Tang Poems) from Debian's fortunes-zh.

    Returns a list of dicts ``{"title", "author", "body", "note"}`` (see :func:`parse_poems`),
    read from ``path`` (file or folder), ``$SHENDU_DATA/fortunes``, ``~/.cache/shendu/fortunes``
    or ``/usr/share/games/fortunes/tang300`` (``apt-get install fortunes-zh``).

    >>> poems = tang_poems(); poems[0]["title"], poems[0]["author"]
    ('感遇・其一', '张九龄')
    """
    return parse_poems(_find_file("tang300", path, "The Tang poems"))


def song_poems(path=None):
    """The Song dynasty poems (宋诗一百首, 95 entries) of fortunes-zh; same records as :func:`tang_poems`.

    ``note`` holds the poet's life dates as printed (full-width digits).
    """
    return parse_poems(_find_file("song100", path, "The Song poems"))


def parse_fortune_file(path):
    """The entries of one fortune file as clean strings (escape codes and overstriking removed)."""
    path = os.fspath(path)
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    return [clean_text(e).strip("\n").rstrip() for e in split_entries(text)]


def _categories_in(folder):
    if not os.path.isdir(folder):
        return []
    names = []
    for name in sorted(os.listdir(folder)):
        p = os.path.join(folder, name)
        if (
            not name.endswith((".dat", ".u8"))
            and name not in _CHINESE_FILES
            and os.path.isfile(p)
            and not os.path.islink(p)
            and os.path.isfile(p + ".dat")
        ):
            names.append(name)
    return names


def fortunes(categories=None, path=None):
    """English fortune cookies labelled by their file, for text classification.

    Returns ``(texts, labels, categories)``: a list of strings, an int64 array with
    ``texts[i]`` belonging to ``categories[labels[i]]``, and the sorted list of category (file)
    names. ``categories`` restricts and orders the files (e.g. ``["science", "politics"]``).
    Files come from ``path``, ``$SHENDU_DATA/fortunes``, ``~/.cache/shendu/fortunes`` or
    ``/usr/share/games/fortunes`` (``apt-get install fortunes``): every file with a ``.dat``
    index, except the Chinese ones.
    """
    looked = search_dirs("fortunes", path, FORTUNE_DIRS)
    for folder in looked:
        available = _categories_in(folder)
        if not available:
            continue
        if categories is None:
            chosen = available
        else:
            chosen = list(categories)
            missing = [c for c in chosen if c not in available]
            if missing:
                raise ValueError(
                    f"fortunes: unknown categories {missing} in {folder}; available: {available}"
                )
        texts, labels = [], []
        for label, name in enumerate(chosen):
            entries = [e for e in parse_fortune_file(os.path.join(folder, name)) if e.strip()]
            texts.extend(entries)
            labels.extend([label] * len(entries))
        return texts, np.asarray(labels, dtype=np.int64), chosen
    raise not_found(
        "English fortune files",
        looked,
        "Get them with: sudo apt-get install fortunes   (or fortunes-min for a smaller set)",
    )
