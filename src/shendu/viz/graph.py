"""Graphs drawn with Graphviz: the computation graph behind a tensor, and any graph of boxes and arrows.

:func:`dot_source` writes the DOT text of boxes and arrows and :func:`render_dot` draws DOT text to a
file with Graphviz's ``dot`` program; :func:`graph_dot` / :func:`render_graph` use them for autograd
graphs and ``keras.utils.plot_model`` for a Keras model's layers.

Every tensor made by an operation remembers it in ``t.grad_fn``; that node keeps its input tensors in
``fn.inputs``. Walking back from the output along ``grad_fn -> inputs -> grad_fn ...`` visits every
operation that backward() will differentiate, down to the leaves (inputs and parameters).
"""
import os
import shutil
import subprocess
import warnings

import numpy as np

from ._figure import write_atomic

_OP_STYLE = 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"'
_PARAM_STYLE = 'shape=box, style=filled, fillcolor="#c9eac3"'
_CONST_STYLE = 'shape=box, style=filled, fillcolor="#eeeeee"'
_OUT_STYLE = 'shape=box, style=filled, fillcolor="#f9d7a6"'


def _quote(text):
    """A DOT string literal: backslashes and quotes escaped, newlines as \\n."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dims(t):
    shape = getattr(t, "shape", None)
    return tuple(np.shape(t) if shape is None else shape)


def _shape(t):
    shape = _dims(t)
    return "(" + ", ".join(str(int(d)) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _attr_text(attrs, limit=3):
    """Short ``key=value`` lines for simple attributes (numbers, strings, tuples of ints)."""
    lines = []
    for key, value in (attrs or {}).items():
        if isinstance(value, (bool, int, float, str, type(None))) or (
                isinstance(value, (tuple, list)) and len(value) <= 4
                and all(isinstance(v, (int, np.integer)) for v in value)):
            text = f"{key}={value}"
            lines.append(text if len(text) <= 24 else text[:21] + "...")
    return lines[:limit]


def graph_dot(tensor, params=None, show_attrs=True, rankdir="TB", name="shendu_graph"):
    """Graphviz DOT text for the graph that produced ``tensor``.

    Operations are blue boxes labelled ``type(fn).__name__`` (and their simple attributes); leaves are
    green when they require grad (parameters, named from ``params`` — a ``{name: tensor}`` dict such as
    ``dict(model.named_parameters())`` — or from the tensor's own ``.name``) and grey otherwise
    (inputs, constants); the output is orange. Edges carry data in the direction of the forward pass
    and are labelled with the shape of the tensor they carry.
    """
    param_names = {}
    if params is not None:
        items = params.items() if hasattr(params, "items") else params
        param_names = {id(t): str(n) for n, t in items}
    ids, nodes = {}, []

    def node_id(obj, new_line, style):
        key = id(obj)
        if key not in ids:
            ids[key] = f"n{len(ids)}"
            nodes.append((ids[key], new_line(), style))
        return ids[key]

    def leaf_label(t):
        title = param_names.get(id(t)) or getattr(t, "name", None)
        grad = bool(getattr(t, "requires_grad", False))
        if not title and _dims(t) == () and not hasattr(t, "requires_grad"):
            return f"const {np.asarray(t).item():.4g}"
        if not title:
            title = "leaf" if grad else ("input" if hasattr(t, "requires_grad") else "const")
        return f"{title}\n{_shape(t)}" + ("\nrequires_grad" if grad else "")

    def leaf_style(t):
        return _PARAM_STYLE if getattr(t, "requires_grad", False) else _CONST_STYLE

    def op_label(fn):
        parts = [type(fn).__name__]
        if show_attrs:
            parts += _attr_text(getattr(fn, "attrs", None))
        return "\n".join(parts)

    root_fn = getattr(tensor, "grad_fn", None)
    if root_fn is None:
        node_id(tensor, lambda: "output " + leaf_label(tensor), _OUT_STYLE)
        return dot_source(nodes, [], rankdir, name)

    out = node_id(tensor, lambda: f"output\n{_shape(tensor)}", _OUT_STYLE)
    edges = [(node_id(root_fn, lambda: op_label(root_fn), _OP_STYLE), out, _shape(tensor))]
    stack, seen = [root_fn], {id(root_fn)}
    while stack:                       # iterative walk: deep graphs (long RNNs) do not hit recursion limits
        fn = stack.pop()
        here = ids[id(fn)]
        for inp in getattr(fn, "inputs", ()) or ():
            if inp is None:
                continue
            parent = getattr(inp, "grad_fn", None)
            if parent is not None:
                src = node_id(parent, lambda p=parent: op_label(p), _OP_STYLE)
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append(parent)
            else:
                src = node_id(inp, lambda t=inp: leaf_label(t), leaf_style(inp))
            edges.append((src, here, _shape(inp)))
    return dot_source(nodes, edges, rankdir, name)


def dot_source(nodes, edges, rankdir="TB", name="shendu_graph", graph_attrs=""):
    """DOT text of a directed graph: ``nodes`` are ``(id, label, style)`` (style: DOT attributes such as
    ``shape=box``), ``edges`` are ``(from_id, to_id, label or None)``; ``graph_attrs`` go on the graph."""
    lines = [f"digraph {name} {{", f"  rankdir={rankdir};{' ' + graph_attrs if graph_attrs else ''}",
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=8];']
    lines += [f"  {i} [label={_quote(label)}, {style}];" for i, label, style in nodes]
    lines += [f"  {a} -> {b}" + ("" if label is None else f" [label={_quote(label)}]") + ";"
              for a, b, label in edges]
    return "\n".join(lines + ["}"]) + "\n"


def render_graph(tensor, path, params=None, format=None, **kwargs):
    """Draw the graph of ``tensor`` to ``path`` with Graphviz's ``dot`` command (see :func:`render_dot`).

    The output format comes from ``format`` or the file suffix (``.png``, ``.svg``, ``.pdf``; PNG when
    there is none). Without Graphviz installed, the DOT text is written next to it as ``<path>.dot``
    (render it later with ``dot -Tpng file.dot -o file.png``) and a warning says so. The file is written
    atomically. Returns the path written.
    """
    return render_dot(graph_dot(tensor, params=params, **kwargs), path, format, who="render_graph")


def _write_text(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def render_dot(text, path, format=None, who="render_dot", fallback=True):
    """Draw the DOT ``text`` to ``path`` (format from ``format`` or the suffix; ``.dot`` writes the text),
    atomically. Without Graphviz, ``fallback=True`` writes ``<path>.dot`` with a warning; else ImportError."""
    path = os.fspath(path)
    fmt = format or os.path.splitext(path)[1].lstrip(".").lower() or "png"
    dot = shutil.which("dot")
    if fmt == "dot" or (dot is None and fallback):
        dot_path = path if fmt == "dot" else os.path.splitext(path)[0] + ".dot"
        write_atomic(dot_path, lambda tmp: _write_text(tmp, text))
        if fmt != "dot":
            warnings.warn(f"{who}: Graphviz 'dot' is not installed, so wrote the DOT text to {dot_path} "
                          "instead of an image. Install graphviz (apt install graphviz) or render it "
                          f"elsewhere with: dot -Tpng {dot_path} -o {path}", UserWarning, stacklevel=3)
        return dot_path
    if dot is None:
        raise ImportError(f"{who}: Graphviz's `dot` program was not found, so {path} cannot be drawn "
                          "(apt install graphviz); a .dot file needs nothing else")

    def write_image(tmp):
        result = subprocess.run([dot, f"-T{fmt}", "-o", tmp], input=text.encode("utf-8"), capture_output=True)
        if result.returncode != 0:
            raise RuntimeError(f"{who}: dot -T{fmt} failed: {result.stderr.decode(errors='replace')}")

    return write_atomic(path, write_image)
