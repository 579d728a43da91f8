"""``keras.utils.plot_model`` / ``model_to_dot``: the model's layer graph drawn with Graphviz.

Needs the ``plot`` extra (``pip install shendu[plot]``: pydot) and, for PNG / SVG / PDF output, Graphviz's
``dot`` program (``apt install graphviz``). A ``.dot`` file needs pydot alone.
"""
import os

__all__ = ["model_to_dot", "plot_model"]


def _pydot():
    try:
        import pydot
    except ImportError as exc:
        raise ImportError("plot_model needs pydot: pip install pydot (or shendu[plot]), and Graphviz's `dot` "
                          "program for images (apt install graphviz)") from exc
    return pydot


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _escape(text):
    for ch in "{}<>|":
        text = text.replace(ch, "\\" + ch)
    return text


def _graph(model):
    """(layers, edges): the layers in call order and (from_layer, to_layer) pairs."""
    if getattr(model, "_is_graph_network", False) and getattr(model, "_nodes", None) is not None:
        layers, edges = [], []
        for t in model._input_tensors:
            layers.append(t.node.layer)
        for node in model._nodes:
            if node.layer not in layers:
                layers.append(node.layer)
            for t in node.input_tensors:
                if t.node is not None:
                    edges.append((t.node.layer, node.layer))
        return layers, edges
    layers = list(model.layers)
    first = getattr(model, "_input_tensors", None)
    if first:
        layers = [first[0].node.layer] + layers
    return layers, list(zip(layers[:-1], layers[1:]))


def _output_shape(layer):
    for attr in ("_output_shape",):
        shape = getattr(layer, attr, None)
        if shape is not None:
            return list(shape) if isinstance(shape, list) else tuple(shape)
    return None


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, **kwargs):
    """A ``pydot.Dot`` graph with one box per layer (name and class, optionally output shape, dtype,
    activation and trainable flag) and an arrow for every tensor passed between layers."""
    pydot = _pydot()
    dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, dpi=str(dpi), concentrate="true")
    dot.set_node_defaults(shape="record", fontname="Helvetica")
    layers, edges = _graph(model)
    for layer in layers:
        cls = type(layer).__name__
        title = f"{layer.name} ({cls})" if show_layer_names else cls
        rows = [title]
        if show_layer_activations and getattr(layer, "activation", None) is not None:
            act = layer.activation
            rows.append("activation: " + getattr(act, "__name__", type(act).__name__))
        if show_shapes:
            rows.append("output: " + _shape_text(_output_shape(layer)))
        if show_dtype:
            rows.append(f"dtype: {getattr(layer, 'dtype', '?')}")
        if show_trainable:
            rows.append(f"trainable: {getattr(layer, 'trainable', True)}")
        label = "{" + "|".join(_escape(r) for r in rows) + "}"
        dot.add_node(pydot.Node(str(id(layer)), label=label))
    for a, b in edges:
        dot.add_edge(pydot.Edge(str(id(a)), str(id(b))))
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """Draw the model to ``to_file``; the format comes from its extension (png, svg, pdf, jpg or dot).

    Returns the image for display in a notebook when IPython is present (else None)."""
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir, expand_nested=expand_nested,
                       dpi=dpi, show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    to_file = os.fspath(to_file)
    ext = os.path.splitext(to_file)[1].lower().lstrip(".") or "png"
    if ext == "dot":
        dot.write_raw(to_file)
    else:
        try:
            dot.write(to_file, format=ext)
        except FileNotFoundError as exc:
            raise ImportError(f"plot_model: Graphviz's `dot` program was not found, so {to_file} cannot be "
                              "drawn (apt install graphviz); a .dot file needs pydot alone") from exc
    if ext in ("png", "jpg", "jpeg", "svg"):
        try:
            from IPython import display
        except ImportError:
            return None
        return display.SVG(filename=to_file) if ext == "svg" else display.Image(filename=to_file)
    return None
