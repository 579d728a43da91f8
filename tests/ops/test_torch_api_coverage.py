"""Coverage of PyTorch's API: every name listed in ``tests/ops/torch_api/*.txt`` exists in shendu.

A list holds one name a line (``#`` starts a comment): ``torch.NAME`` is looked up on ``shendu``,
``Tensor.NAME`` on ``shendu.Tensor``, ``F.NAME`` / ``nn.functional.NAME`` on ``shendu.nn.functional``.
``missing.txt`` in the same folder lists the names not implemented yet: the test fails on a listed
name that is neither there nor declared missing, and on a name declared missing that now exists
(so the file only ever shrinks). Run with ``-s`` to see the coverage per list.
"""
from pathlib import Path

import shendu as sd

FOLDER = Path(__file__).parent / "torch_api"
MISSING = "missing.txt"


def _read(path):
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


def _lists(folder):
    return {p.name: _read(p) for p in sorted(folder.glob("*.txt")) if p.name != MISSING}


def _target(name):
    """(object the name is looked up on, attribute name) for a listed name."""
    prefixes = (("torch.nn.functional.", "F"), ("nn.functional.", "F"), ("F.", "F"),
                ("torch.Tensor.", "Tensor"), ("Tensor.", "Tensor"), ("torch.", "torch"))
    match = next(((p, o) for p, o in prefixes if name.startswith(p)), None)
    if match is None:
        raise AssertionError(f"{name!r}: a listed name starts with torch., Tensor., F. or nn.functional.")
    rest, owner = name[len(match[0]):], match[1]
    if owner == "F":
        import shendu.nn.functional as obj
    elif owner == "Tensor":
        obj = sd.Tensor
    else:
        obj = sd
    for part in rest.split(".")[:-1]:  # torch.linalg.norm and the like
        obj = getattr(obj, part, None)
        if obj is None:
            return None, rest
    return obj, rest.rsplit(".", 1)[-1]


def _exists(name):
    obj, attr = _target(name)
    return obj is not None and hasattr(obj, attr)


def _problems(folder, report=print):
    """What is wrong with the lists in ``folder`` (an empty list when every name checks out)."""
    lists = _lists(folder)
    if not lists:
        return [f"no name lists in {folder}"]
    missing = set(_read(folder / MISSING)) if (folder / MISSING).exists() else set()
    listed = set()
    problems = []
    for file, names in lists.items():
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"{file}: listed twice: {dupes}")
        have = {n for n in names if _exists(n)}
        listed.update(names)
        report(f"{file}: {len(have)} of {len(set(names))} names implemented "
               f"({100 * len(have) / max(1, len(set(names))):.0f}%)")
        for n in names:
            if n in missing and n in have:
                problems.append(f"{file}: {n} is declared in {MISSING} but exists now: remove it from {MISSING}")
            elif n not in missing and n not in have:
                problems.append(f"{file}: {n} does not exist in shendu (implement it, or declare it in {MISSING})")
    for n in sorted(missing - listed):
        problems.append(f"{MISSING}: {n} is in no list of {folder.name}/")
    return problems


def test_every_listed_name_exists_or_is_declared_missing():
    problems = _problems(FOLDER, report=lambda line: print("\n" + line))
    assert not problems, "\n".join(problems)


def test_the_check_catches_absent_names_and_stale_declarations(tmp_path):
    (tmp_path / "a.txt").write_text("# comment\ntorch.gather  # used\nTensor.no_such_method\n"
                                    "F.one_hot\ntorch.no_such_function\n")
    (tmp_path / MISSING).write_text("torch.no_such_function\ntorch.gather\ntorch.unlisted\n")
    problems = "\n".join(_problems(tmp_path, report=lambda line: None))
    assert "Tensor.no_such_method does not exist" in problems
    assert "torch.gather is declared in missing.txt but exists now" in problems
    assert "torch.unlisted is in no list" in problems
    assert "no_such_function" not in problems and "one_hot" not in problems
