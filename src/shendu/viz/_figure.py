"""Figure creation and atomic saving. matplotlib is imported here, lazily, inside the functions."""
import os
import tempfile


def new_figure(figsize):
    """A matplotlib Figure drawn by the Agg (PNG) canvas.

    The figure is made without pyplot, so it works on a machine with no display, never changes the
    user's pyplot backend, and is not kept alive by pyplot's figure manager. In a notebook the returned
    Figure still shows itself as the cell's result.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("shendu.viz needs matplotlib: pip install 'shendu[viz]' (or pip install matplotlib)"
                          ) from exc
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def write_atomic(path, write):
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then rename it into place, so a
    crash never leaves a half-written file. Returns ``path`` as a string."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=suffix + ".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def save_figure(fig, path, dpi=100):
    """Save ``fig`` as a PNG at ``path`` atomically (nothing is written when ``path`` is None)."""
    if path is None:
        return None
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))
