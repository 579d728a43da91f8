"""shendu.viz: every plot returns a Figure of the expected layout and writes a PNG; graphs as DOT."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import require, require_path
from shendu import viz

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _matplotlib():
    require("matplotlib")


def assert_png(path):
    assert os.path.getsize(path) > 1000
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    leftovers = [p for p in os.listdir(os.path.dirname(path)) if p.endswith(".tmp")]
    assert leftovers == []


def test_import_does_not_load_matplotlib():
    code = "import sys, shendu, shendu.viz, shendu.metrics; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plot_history_pairs_train_and_validation(tmp_path):
    class History:
        history = {"loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8],
                   "val_loss": [1.1, 0.8, 0.7], "val_accuracy": [0.45, 0.6, 0.7]}
        epoch = [0, 1, 2]

    fig = viz.plot_history(History(), path=tmp_path / "h.png")
    assert len(fig.axes) == 2
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2, 3]
    assert_png(tmp_path / "h.png")
    fig = viz.plot_history({"loss": [3, 2, 1], "acc": [0.1, 0.2, 0.3]}, metrics=["acc"])
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 1
    with pytest.raises(KeyError, match="no \\['mae'\\]"):
        viz.plot_history({"loss": [1.0]}, metrics=["mae"])


def test_plot_confusion_matrix_from_matrix_and_labels(tmp_path):
    cm = np.array([[5, 1, 0], [2, 3, 1], [0, 0, 7]])
    fig = viz.plot_confusion_matrix(cm, ["cat", "dog", "bird"], path=tmp_path / "cm.png")
    ax = fig.axes[0]
    assert len(fig.axes) == 2                       # heatmap + colorbar
    assert len(ax.images) == 1
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(v) for v in cm.ravel())
    assert_png(tmp_path / "cm.png")
    y_true, y_pred = [0, 1, 2, 2, 1], [0, 2, 2, 2, 1]
    fig = viz.plot_confusion_matrix((y_true, y_pred), ["a", "b", "c", "d"], normalize=True)
    assert fig.axes[0].images[0].get_array().shape == (4, 4)   # class "d" never seen still gets a row
    assert "1.00" in [t.get_text() for t in fig.axes[0].texts]
    with pytest.raises(ValueError, match="square"):
        viz.plot_confusion_matrix(np.ones((2, 3)))


def test_plot_roc_binary_and_multiclass(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 100)
    s = rng.random(100) + 0.5 * y
    fig = viz.plot_roc(y, s, path=tmp_path / "roc.png")
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "AUC = " in labels[0]
    assert_png(tmp_path / "roc.png")
    proba2 = np.c_[1 - s / 2, s / 2]
    assert len(viz.plot_roc(y, proba2).axes[0].lines) == 2
    k = 4
    yk = rng.integers(0, k, 200)
    logits = rng.normal(size=(200, k)) + np.eye(k)[yk]
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    fig = viz.plot_roc(yk, proba, class_names=["w", "x", "y", "z"])
    assert len(fig.axes[0].lines) == k + 1
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0].startswith("w (AUC = 0.")


def test_plot_images_marks_wrong_predictions(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.random((10, 1, 8, 8))             # NCHW
    labels = np.arange(10) % 3
    preds = labels.copy()
    preds[[2, 5]] = (preds[[2, 5]] + 1) % 3
    names = ["zero", "one", "two"]
    fig = viz.plot_images(images, labels, preds, class_names=names, ncols=5, path=tmp_path / "img.png")
    assert len(fig.axes) == 10
    assert all(len(ax.images) == 1 for ax in fig.axes)
    titles = [ax.title for ax in fig.axes]
    assert titles[2].get_text() == f"{names[preds[2]]} ({names[labels[2]]})"
    assert titles[2].get_color() == "red" and titles[0].get_color() == "black"
    assert titles[0].get_text() == names[labels[0]]
    assert_png(tmp_path / "img.png")
    probs = np.eye(3)[preds]
    fig = viz.plot_images(rng.random((4, 28, 28, 3)) * 255, labels[:4], probs[:4])
    assert len(fig.axes) == 4
    assert len(viz.plot_images(rng.random((6, 784))).axes) == 6


@pytest.mark.parametrize("shape, data_format, panels", [
    ((8, 3, 5, 5), "channels_first", 8),
    ((6, 1, 3, 3), "channels_first", 6),
    ((4, 2, 3, 3), "channels_first", 8),
    ((3, 3, 3, 16), "channels_last", 16),
])
def test_plot_filters(tmp_path, shape, data_format, panels):
    w = np.random.default_rng(2).normal(size=shape)
    fig = viz.plot_filters(w, data_format=data_format, path=tmp_path / "f.png")
    assert len(fig.axes) == panels
    assert_png(tmp_path / "f.png")


class Node:
    """A stand-in for a recorded op: the graph walk needs only ``inputs`` and ``attrs``."""

    def __init__(self, *inputs, **attrs):
        self.inputs, self.attrs = inputs, attrs


class MatMul(Node):
    pass


class Add(Node):
    pass


class Leaf:
    def __init__(self, shape, requires_grad=False, grad_fn=None, name=None):
        self.shape, self.requires_grad, self.grad_fn = shape, requires_grad, grad_fn
        if name:
            self.name = name


def test_graph_dot_on_stand_in_objects():
    x = Leaf((4, 3))
    w = Leaf((3, 2), requires_grad=True, name="fc.weight")
    h = Leaf((4, 2), grad_fn=MatMul(x, w))
    y = Leaf((4, 2), grad_fn=Add(h, h, alpha=1))
    dot = viz.graph_dot(y)
    assert dot.startswith("digraph")
    assert "MatMul" in dot and "Add" in dot and "alpha=1" in dot
    assert "fc.weight" in dot and "(3, 2)" in dot and "requires_grad" in dot
    assert dot.count("MatMul") == 1                 # a node reached twice is drawn once
    assert dot.count("->") == 5


def test_graph_dot_on_real_tensors():
    sd = require("shendu.tensor")
    import shendu

    x = shendu.tensor(np.ones((2, 3)), requires_grad=False)
    w = shendu.tensor(np.ones((3, 4)), requires_grad=True)
    b = shendu.tensor(np.zeros(4), requires_grad=True)
    y = (x @ w + b).relu().sum()
    assert isinstance(y, sd.Tensor)
    dot = viz.graph_dot(y, params={"weight": w, "bias": b})
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for op in (type(y.grad_fn).__name__, "weight", "bias", "(3, 4)", "(4,)"):
        assert op in dot
    ops = []
    fn = y.grad_fn
    while fn is not None:
        ops.append(type(fn).__name__)
        fn = next((i.grad_fn for i in fn.inputs if getattr(i, "grad_fn", None) is not None), None)
    assert all(op in dot for op in ops) and len(ops) >= 3


@pytest.mark.system
def test_graphviz_parses_graph_dot():
    import shendu

    x = shendu.tensor(np.ones((2, 3)), requires_grad=True)
    dot = viz.graph_dot((x * 2).relu().sum())
    dot_bin = require_path(shutil.which("dot") or "/usr/bin/dot", "graphviz dot")
    check = subprocess.run([dot_bin, "-Tcanon"], input=dot, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr      # Graphviz parses it


@pytest.mark.system
def test_render_graph_png(tmp_path):
    require_path(shutil.which("dot") or "/usr/bin/dot", "graphviz dot")
    x = Leaf((2, 2), requires_grad=True, name="x")
    y = Leaf((2, 2), grad_fn=Add(x, x))
    out = viz.render_graph(y, tmp_path / "graph.png")
    assert out == str(tmp_path / "graph.png")
    assert_png(tmp_path / "graph.png")


def test_render_graph_without_graphviz_writes_dot(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    y = Leaf((1,), grad_fn=Add(Leaf((1,)), Leaf((1,))))
    with pytest.warns(UserWarning, match="not installed"):
        out = viz.render_graph(y, tmp_path / "g.png")
    assert out.endswith("g.dot") and open(out).read().startswith("digraph")
    assert not (tmp_path / "g.png").exists()


def test_make_grid_lays_images_out_as_torchvision_does():
    x = np.random.default_rng(0).random((5, 1, 4, 3)).astype(np.float32)
    grid = viz.make_grid(x, nrow=2, padding=2, pad_value=0.5)
    # torchvision: 3 rows x 2 columns of (4+2) x (3+2) cells plus a leading pad; grey repeated to RGB
    assert grid.shape == (3, 3 * 6 + 2, 2 * 5 + 2)
    np.testing.assert_array_equal(grid[0, 2:6, 2:5], x[0, 0])
    np.testing.assert_array_equal(grid[2, 8:12, 7:10], x[3, 0])
    assert grid[0, 0, 0] == 0.5 and grid[1, -1, -1] == 0.5      # padding, and the unused last cell
    assert viz.make_grid(x[:1]).shape == (3, 4, 3)
    norm = viz.make_grid(x * 10 - 3, normalize=True, padding=0)
    assert norm.min() == 0.0 and norm.max() == 1.0


def test_save_image_writes_the_grid_as_png(tmp_path):
    pil = require("PIL.Image")
    import shendu as sd

    x = sd.rand(6, 3, 8, 8)
    path = viz.save_image(x, tmp_path / "grid.png", nrow=3)
    img = np.asarray(pil.open(path))
    assert img.shape == (2 * 10 + 2, 3 * 10 + 2, 3) and img.dtype == np.uint8
    np.testing.assert_array_equal(img[2:10, 2:10], np.clip(x.numpy()[0].transpose(1, 2, 0) * 255 + 0.5, 0, 255)
                                  .astype(np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]
