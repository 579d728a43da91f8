"""Sliding windows over a time series, for forecasting with any model.

For a series ``s_0 … s_{n-1}`` (shape ``(n,)`` or ``(n, features)``), window ``w``, horizon ``h`` and stride
``k``, sample ``i`` is

    x_i = s[i·k : i·k + w],      y_i = s[i·k + w : i·k + w + h]

(``y_i`` drops its length axis when ``h == 1``), so a model sees ``w`` past values and predicts
the next ``h``. ``targets=`` picks the feature columns that ``y`` holds. The windows are read through a
strided view and copied once into contiguous arrays (``copy=False`` keeps the views).

Keras's ``timeseries_dataset_from_array`` cuts windows by a different rule, with its own targets array:
the window starting at row ``p`` holds ``sequence_length`` rows taken every ``sampling_rate`` rows,
``data[p], data[p + r], ..., data[p + (L - 1) r]``, and is paired with ``targets[p]``. Windows start
every ``sequence_stride`` rows from ``start_index``, up to the last start whose window still ends
before ``end_index`` (and at most ``len(targets)`` of them): :func:`window_starts` gives those starts
and :func:`gather_windows` the windows.
"""
import numpy as np

__all__ = ["timeseries_windows", "window_starts", "gather_windows"]


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


def window_starts(num_rows, sequence_length, sequence_stride=1, sampling_rate=1, start_index=None,
                       end_index=None, num_targets=None):
    """The start rows (absolute indices into the data) of every window, as an int64 array."""
    for name, value in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride),
                        ("sampling_rate", sampling_rate)):
        if int(value) != value or value <= 0:
            raise ValueError(f"window_starts: {name} must be a positive integer, got {value!r}")
    start = 0 if start_index is None else int(start_index)
    end = int(num_rows) if end_index is None else int(end_index)
    if not 0 <= start < max(int(num_rows), 1):
        raise ValueError(f"window_starts: start_index must be in [0, {num_rows}), got {start_index!r}")
    if not start < end <= num_rows:
        raise ValueError(f"window_starts: end_index must be in ({start}, {num_rows}], got {end_index!r}")
    count = end - start - (int(sequence_length) - 1) * int(sampling_rate)
    if num_targets is not None:
        count = min(count, int(num_targets) - start)
    return start + np.arange(0, max(count, 0), int(sequence_stride), dtype=np.int64)


def gather_windows(data, starts, sequence_length, sampling_rate=1):
    """``data`` cut into windows: shape ``(len(starts), sequence_length) + data.shape[1:]``."""
    data = np.asarray(data)
    offsets = np.arange(int(sequence_length), dtype=np.int64) * int(sampling_rate)
    return data[np.asarray(starts, dtype=np.int64)[:, None] + offsets[None, :]]
