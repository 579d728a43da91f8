"""Every ```python block in README.md and docs/*.md runs as written.

The blocks of one file run in order in one shared namespace, so a later block may use what an
earlier one defined, as a reader following the page would. A block written as an interactive
session (``>>>`` lines) runs as a doctest: the printed results must match what the page shows.
A block is left out only when the
markdown marks it, on the line just above its fence, with an HTML comment ``<!-- skip: reason -->``
saying what it needs that a test machine lacks.
"""
import contextlib
import doctest
import io
import re
from pathlib import Path

import pytest

from conftest import _import, _strict

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(?:<!--\s*skip:(?P<skip>.*?)-->\s*\n)?^```python[^\n]*\n(?P<code>.*?)^```",
                    re.MULTILINE | re.DOTALL)


def python_blocks(text):
    """``(line number, code, skip reason or None)`` for each ```python block of a markdown text."""
    return [(text.count("\n", 0, m.start("code")) + 1, m.group("code"),
             m.group("skip").strip() if m.group("skip") else None) for m in _BLOCK.finditer(text)]


def test_the_block_finder_reads_fences_and_skip_marks():
    text = "intro\n```python\na = 1\n```\n<!-- skip: needs a GPU -->\n```python\nb = 2\n```\n```bash\nls\n```\n"
    assert python_blocks(text) == [(3, "a = 1\n", None), (7, "b = 2\n", "needs a GPU")]


def _mark_blank_lines(session):
    """Blank lines inside a printed result become ``<BLANKLINE>``, which doctest needs and a reader
    need not see: a blank line followed by more output (not by ``>>>`` or the end) belongs to it."""
    lines = session.splitlines()
    for i, line in enumerate(lines):
        if line.strip() or i == 0:
            continue
        rest = [ln for ln in lines[i + 1:] if ln.strip()]
        if rest and not rest[0].lstrip().startswith(">>>"):
            lines[i] = "<BLANKLINE>"
    return "\n".join(lines) + "\n"


def run_block(code, namespace, name):
    """Run one block in ``namespace``; a ``>>>`` session is checked as a doctest."""
    if code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(_mark_blank_lines(code), {}, name, name, 0)
        test.globs = namespace                 # get_doctest copies; the page's blocks share one namespace
        out = io.StringIO()
        runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
        result = runner.run(test, out=out.write, clear_globs=False)
        if result.failed:
            raise AssertionError(out.getvalue())
        return
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, name, "exec"), namespace)     # noqa: S102 - running the documentation is the test


def test_interactive_blocks_check_their_output():
    ns = {}
    run_block(">>> a = 2\n>>> a + 1\n3\n", ns, "ok")
    assert ns["a"] == 2
    with pytest.raises(AssertionError, match="Expected"):
        run_block(">>> 1 + 1\n3\n", ns, "wrong")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)               # files the examples write land in a temporary folder
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__doc_" + page.stem}
    for line, code, skip in python_blocks(page.read_text()):
        if skip is not None and not (skip == "needs PyTorch" and _torch_at_hand()):
            continue
        try:
            run_block(code, namespace, f"{page.relative_to(ROOT)}:{line}")
        except Exception as exc:
            raise AssertionError(f"{page.relative_to(ROOT)}, the python block at line {line} fails: "
                                 f"{type(exc).__name__}: {exc}") from exc


def _torch_at_hand():
    """Blocks marked ``needs PyTorch`` run where torch is installed (always in CI, where it must be)."""
    try:
        _import("torch")
        return True
    except ImportError:
        if _strict("SHENDU_REQUIRE_TORCH"):
            pytest.fail("a documentation block needs PyTorch (SHENDU_REQUIRE_TORCH is set) but it is not installed")
        return False
