"""Figure creation and atomic saving. matplotlib is imported here, lazily, inside the functions."""
from .._fileio import atomic_write


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
    crash never leaves a half-written file (shendu's one atomic writer). Returns ``path`` as a string."""
    return atomic_write(path, write)


def save_figure(fig, path, dpi=100):
    """Save ``fig`` as a PNG at ``path`` atomically (nothing is written when ``path`` is None)."""
    if path is None:
        return None
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))
