"""keras.utils.plot_model: the layer graph (drawn by shendu.viz.graph) as a .dot file and as PNG / SVG
(Graphviz's dot); model_to_dot as a pydot graph."""
import pytest

from conftest import require
from shendu import keras


def _functional():
    a = keras.Input((8,), name="a")
    b = keras.Input((4,), name="b")
    h = keras.layers.Dense(6, activation="relu", name="hidden")(a)
    merged = keras.layers.Concatenate(name="merge")([h, b])
    out = keras.layers.Dense(1, name="out")(merged)
    return keras.Model([a, b], out)


def test_model_to_dot_has_every_layer_and_edge():
    require("pydot")
    dot = keras.utils.model_to_dot(_functional(), show_shapes=True, show_layer_activations=True)
    labels = [n.get("label") for n in dot.get_nodes() if n.get("label")]
    text = " ".join(labels)
    for name in ("a (InputLayer)", "hidden (Dense)", "merge (Concatenate)", "out (Dense)", "(None, 10)", "relu"):
        assert name in text
    assert len(dot.get_edges()) == 4
    seq = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
    assert len(keras.utils.model_to_dot(seq).get_edges()) == 2


def test_plot_model_writes_dot_file_without_pydot(tmp_path):
    path = tmp_path / "model.dot"
    keras.utils.plot_model(_functional(), to_file=str(path), show_shapes=True)
    assert "digraph" in path.read_text() and "hidden" in path.read_text()


@pytest.mark.system
@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("svg", b"<?xml")])
def test_plot_model_draws_png_and_svg(tmp_path, ext, magic):
    path = tmp_path / f"model.{ext}"
    keras.utils.plot_model(_functional(), to_file=str(path), show_shapes=True, show_dtype=True, rankdir="LR")
    assert path.read_bytes().startswith(magic)


def test_plot_model_without_graphviz_names_what_is_missing(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ImportError, match="plot_model.*Graphviz"):
        keras.utils.plot_model(_functional(), to_file=str(tmp_path / "m.png"))
    assert not (tmp_path / "m.png").exists()
