"""Sliding windows over a time series, for sequence models.

A window starting at row ``p`` holds ``sequence_length`` rows taken every ``sampling_rate`` rows:
``data[p], data[p + r], ..., data[p + (L - 1) r]``. Windows start every ``sequence_stride`` rows, from
``start_index`` up to the last start whose window still ends before ``end_index``; with targets, the
window starting at ``p`` is paired with ``targets[p]`` (so only ``len(targets)`` windows at most).
"""
import numpy as np

__all__ = ["timeseries_windows", "gather_windows"]


def timeseries_windows(num_rows, sequence_length, sequence_stride=1, sampling_rate=1, start_index=None,
                       end_index=None, num_targets=None):
    """The start rows (absolute indices into the data) of every window, as an int64 array."""
    for name, value in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride),
                        ("sampling_rate", sampling_rate)):
        if int(value) != value or value <= 0:
            raise ValueError(f"timeseries_windows: {name} must be a positive integer, got {value!r}")
    start = 0 if start_index is None else int(start_index)
    end = int(num_rows) if end_index is None else int(end_index)
    if not 0 <= start < max(int(num_rows), 1):
        raise ValueError(f"timeseries_windows: start_index must be in [0, {num_rows}), got {start_index!r}")
    if not start < end <= num_rows:
        raise ValueError(f"timeseries_windows: end_index must be in ({start}, {num_rows}], got {end_index!r}")
    count = end - start - (int(sequence_length) - 1) * int(sampling_rate)
    if num_targets is not None:
        count = min(count, int(num_targets) - start)
    return start + np.arange(0, max(count, 0), int(sequence_stride), dtype=np.int64)


def gather_windows(data, starts, sequence_length, sampling_rate=1):
    """``data`` cut into windows: shape ``(len(starts), sequence_length) + data.shape[1:]``."""
    data = np.asarray(data)
    offsets = np.arange(int(sequence_length), dtype=np.int64) * int(sampling_rate)
    return data[np.asarray(starts, dtype=np.int64)[:, None] + offsets[None, :]]
