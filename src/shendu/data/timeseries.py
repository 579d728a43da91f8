"""Sliding windows over a time series, for forecasting with any model.

For a series ``s_0 … s_{n-1}`` (shape ``(n,)`` or ``(n, features)``), window ``w``, horizon ``h`` and stride
``k``, sample ``i`` is

    x_i = s[i·k : i·k + w],      y_i = s[i·k + w : i·k + w + h]

(``y_i`` drops its length axis when ``h == 1``), so a model sees ``w`` past values and predicts
the next ``h``. ``targets=`` picks the feature columns that ``y`` holds. The windows are read through a
strided view and copied once into contiguous arrays (``copy=False`` keeps the views).
"""
import numpy as np


def timeseries_windows(series, window, horizon=1, stride=1, targets=None, copy=True):
    """``(x, y)`` arrays of sliding windows: ``x`` is ``(samples, window[, features])`` and ``y`` is
    ``(samples[, horizon][, targets])``.

    >>> x, y = timeseries_windows(np.arange(6.0), window=3)
    >>> x.tolist(), y.tolist()
    ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]], [3.0, 4.0, 5.0])
    """
    s = np.asarray(series)
    for name, value in (("window", window), ("horizon", horizon), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"timeseries_windows: {name} must be a positive integer, got {value!r}")
    if s.ndim not in (1, 2):
        raise ValueError(f"timeseries_windows: series must be (time,) or (time, features), "
                         f"got shape {s.shape}")
    n = (len(s) - window - horizon) // stride + 1
    if n < 1:
        raise ValueError(f"timeseries_windows: a series of length {len(s)} is shorter than window + horizon "
                         f"= {window + horizon}")
    view = np.lib.stride_tricks.sliding_window_view(s, window + horizon, axis=0)[::stride][:n]
    view = np.moveaxis(view, -1, 1)                       # (samples, window + horizon[, features])
    x, y = view[:, :window], view[:, window:]
    if targets is not None:
        if s.ndim == 1:
            raise ValueError("timeseries_windows: targets= needs a (time, features) series")
        y = y[..., targets]
    if horizon == 1:
        y = y[:, 0]
    return (np.ascontiguousarray(x), np.ascontiguousarray(y)) if copy else (x, y)
