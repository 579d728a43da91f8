"""The layering of DESIGN.md, checked on the source: each part of shendu imports only the parts below it.

    cli ─► serve, onnx, compress, tune, rl, models, keras, tf ─► train ─► nn, optim, data, metrics, viz
    nn ─► ops ─► tensor (Tensor, autograd, creation, serialization, devices) ─► backend
"""
import ast
import collections
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "shendu"

BASE = {"backend", "errors", "_fileio", "_device", "random", "__version__"}
TENSOR = BASE | {"tensor", "autograd", "autograd_functional", "creation", "gradcheck", "serialization", "cuda",
                 "accelerator", "backends", "tape"}
OPS = TENSOR | {"ops"}
TRAIN = OPS | {"nn", "optim", "distributions", "data", "metrics", "viz", "train"}
APPS = TRAIN | {"keras", "tf", "models", "rl", "onnx", "serve", "compress", "tune", "distributed", "utils"}
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
    **{name: APPS for name in ("keras", "tf", "models", "rl", "onnx", "serve", "compress", "tune", "distributed")},
}
TOP = {"__init__", "__main__", "cli"}        # the package facade and the command line may import anything


def _imports(path):
    """Top-level shendu parts that the module at ``path`` imports."""
    rel = path.relative_to(SRC)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ["shendu", *rel.parts[:-1]]
            base = base[: len(base) - (node.level - 1)]
            mod = base + (node.module.split(".") if node.module else [])
            found |= {mod[1]} if len(mod) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "shendu":
            mod = node.module.split(".")
            found |= {mod[1]} if len(mod) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("shendu.")}
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

