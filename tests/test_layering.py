"""The layering of DESIGN.md, checked on the source: each part of shendu imports only the parts below it.

    cli ─► serve, onnx, compress, tune, rl, models, keras, tf ─► train ─► nn, optim, data, metrics, viz
    nn ─► ops ─► tensor (Tensor, autograd, creation, serialization, devices) ─► backend

The Keras skin holds no numerics: ``keras`` and ``tf`` reach the operations through ``nn`` /
``nn.functional`` and the public tensor API (the ``shendu`` facade: ``shendu.exp``, ``shendu.cat``...),
never through ``shendu.ops`` itself.
"""
import ast
import collections
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "shendu"

BASE = {"backend", "_gemm", "_dnnl", "_dnnl_conv", "_dnnl_rnn", "errors", "_fileio", "_device", "random",
        "__version__"}
TENSOR = BASE | {"tensor", "autograd", "autograd_functional", "creation", "gradcheck", "serialization", "cuda",
                 "accelerator", "backends", "tape"}
OPS = TENSOR | {"ops"}
TRAIN = OPS | {"nn", "optim", "distributions", "data", "metrics", "viz", "train"}
APPS = TRAIN | {"keras", "tf", "models", "rl", "onnx", "serve", "compress", "tune", "distributed", "utils"}
FACADE = "__init__"                          # names the shendu package itself exports (shendu.exp, ...)
SKIN = (APPS - {"ops"}) | {FACADE}           # keras and tf: no ops internals
ALLOWED = {
    **{name: TENSOR for name in TENSOR},
    "tensor": OPS,                           # Tensor's methods dispatch to ops (imported inside the methods)
    "ops": OPS,
    "nn": OPS, "optim": OPS, "distributions": OPS,
    "data": TENSOR,                          # batches come out as Tensors; nothing numeric from above
    "metrics": BASE,                         # NumPy only
    "viz": BASE | {"metrics"},
    "train": TRAIN,
    "utils": {"data"},                       # PyTorch's torch.utils.data path
    **{name: APPS | {FACADE} for name in ("models", "rl", "onnx", "serve", "compress", "tune", "distributed")},
    "keras": SKIN, "tf": SKIN,
}
TOP = {"__init__", "__main__", "cli"}        # the package facade and the command line may import anything


PARTS = {p.stem for p in SRC.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()} | BASE


def _from_package(names):
    """Parts named by ``from shendu import a, b``: a part itself, or the facade for an exported name."""
    return {a.name if a.name in PARTS else FACADE for a in names}


def _imports(path):
    """Top-level shendu parts that the module at ``path`` imports (FACADE: names of ``shendu`` itself)."""
    rel = path.relative_to(SRC)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ["shendu", *rel.parts[:-1]]
            base = base[: len(base) - (node.level - 1)]
            mod = base + (node.module.split(".") if node.module else [])
            found |= {mod[1]} if len(mod) > 1 else _from_package(node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "shendu":
            mod = node.module.split(".")
            found |= {mod[1]} if len(mod) > 1 else _from_package(node.names)
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("shendu.")}
            found |= {FACADE for a in node.names if a.name == "shendu"}
    return found


def test_every_part_imports_only_what_lies_below_it():
    violations = collections.defaultdict(list)
    for path in sorted(SRC.rglob("*.py")):
        part = path.relative_to(SRC).with_suffix("").parts[0]
        if part in TOP:
            continue
        assert part in ALLOWED, f"{path}: part {part!r} has no place in the layering; add it to ALLOWED"
        for dep in _imports(path) - {part}:
            if dep not in ALLOWED[part]:
                violations[str(path.relative_to(SRC))].append(dep)
    assert not violations, f"imports against the layering (module: parts it may not import): {dict(violations)}"



def test_the_keras_skin_imports_no_ops_internals():
    """keras and tf may use nn, nn.functional, train, optim, data, metrics and the public tensor API."""
    offenders = sorted(str(p.relative_to(SRC)) for part in ("keras", "tf") for p in (SRC / part).rglob("*.py")
                       if "ops" in _imports(p))
    assert not offenders, f"these modules import shendu.ops; route them through nn.functional or the " \
                          f"shendu facade: {offenders}"


def test_the_checker_sees_facade_and_ops_imports(tmp_path):
    probe = SRC / "keras" / "_layering_probe.py"
    assert not probe.exists()
    try:
        probe.write_text("import shendu\nfrom .. import ops\nfrom ... import exp\nfrom ..nn import functional\n",
                         encoding="utf-8")
        assert _imports(probe) == {FACADE, "ops", "nn"}
    finally:
        probe.unlink()
