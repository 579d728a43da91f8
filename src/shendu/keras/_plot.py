"""``keras.utils.plot_model`` / ``model_to_dot``: the model's layer graph, drawn by :mod:`shendu.viz.graph`.

PNG / SVG / PDF output needs Graphviz's ``dot`` program (``apt install graphviz``); a ``.dot`` file needs
nothing; ``model_to_dot`` returns a ``pydot.Dot`` and so needs pydot (``pip install shendu[plot]``).
"""
import os

from ..viz.graph import dot_source, render_dot
from ._summary import _shape_text

__all__ = ["model_to_dot", "plot_model"]

_STYLE = 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"'


def _graph(model):
    """(layers, edges): the layers in call order and (from_layer, to_layer) pairs."""
    if getattr(model, "_is_graph_network", False) and getattr(model, "_nodes", None) is not None:
        edges = [(t.node.layer, n.layer) for n in model._nodes for t in n.input_tensors if t.node is not None]
        return model.layers, edges
    first = getattr(model, "_input_tensors", None)
    layers = [first[0].node.layer] * bool(first) + list(model.layers)
    return layers, list(zip(layers[:-1], layers[1:]))


def _dot_text(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB", dpi=200,
              show_layer_activations=False, show_trainable=False, **_ignored):
    """DOT text with one box per layer (name and class, optionally output shape, dtype, activation and
    trainable flag) and an arrow for every tensor passed between layers."""
    layers, edges = _graph(model)
    nodes = []
    for layer in layers:
        cls = type(layer).__name__
        rows = [f"{layer.name} ({cls})" if show_layer_names else cls]
        act = getattr(layer, "activation", None)
        if show_layer_activations and act is not None:
            rows.append("activation: " + getattr(act, "__name__", type(act).__name__))
        if show_shapes:
            rows.append("output: " + _shape_text(getattr(layer, "_output_shape", None)))
        if show_dtype:
            rows.append(f"dtype: {getattr(layer, 'dtype', '?')}")
        if show_trainable:
            rows.append(f"trainable: {getattr(layer, 'trainable', True)}")
        nodes.append((f"l{id(layer)}", "\n".join(rows), _STYLE))
    return dot_source(nodes, [(f"l{id(a)}", f"l{id(b)}", None) for a, b in edges], rankdir, "model",
                      f'dpi={int(dpi)}; concentrate=true;')


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, **kwargs):
    """A ``pydot.Dot`` of the model's layer graph (the graph ``plot_model`` draws)."""
    try:
        import pydot
    except ImportError as exc:
        raise ImportError("model_to_dot needs pydot: pip install pydot (or shendu[plot]); plot_model "
                          "needs only Graphviz's `dot` program") from exc
    return pydot.graph_from_dot_data(_dot_text(**locals()))[0]


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """Draw the model to ``to_file``; the format comes from its extension (png, svg, pdf, jpg or dot).

    Returns the image for display in a notebook when IPython is present (else None)."""
    to_file = os.fspath(to_file)
    ext = os.path.splitext(to_file)[1].lower().lstrip(".") or "png"
    render_dot(_dot_text(**locals()), to_file, ext, who="plot_model", fallback=False)
    if ext in ("png", "jpg", "jpeg", "svg"):
        try:
            from IPython import display
        except ImportError:
            return None
        return display.SVG(filename=to_file) if ext == "svg" else display.Image(filename=to_file)
    return None
