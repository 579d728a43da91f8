import numpy as np
import pytest

from shendu.data import timeseries_windows


def test_windows_and_next_value():
    x, y = timeseries_windows(np.arange(10.0), window=4)
    assert x.shape == (6, 4) and y.shape == (6,)
    np.testing.assert_array_equal(x[2], [2, 3, 4, 5])
    assert y[2] == 6


def test_horizon_stride_and_features():
    s = np.arange(40.0).reshape(20, 2)
    x, y = timeseries_windows(s, window=5, horizon=3, stride=2, targets=[1])
    assert x.shape == (7, 5, 2) and y.shape == (7, 3, 1)
    np.testing.assert_array_equal(x[1, :, 0], s[2:7, 0])
    np.testing.assert_array_equal(y[1, :, 0], s[7:10, 1])
    assert x.flags["C_CONTIGUOUS"]


def test_last_window_ends_at_the_series_end():
    x, y = timeseries_windows(np.arange(7), window=3, horizon=2, stride=2)
    assert x[-1].tolist() == [2, 3, 4] and y[-1].tolist() == [5, 6]


@pytest.mark.parametrize("kw,msg", [({"window": 0}, "window"), ({"window": 2.5}, "window"),
                                    ({"window": 9}, "shorter"), ({"window": 2, "targets": [0]}, "targets")])
def test_bad_arguments_are_named(kw, msg):
    with pytest.raises(ValueError, match=msg):
        timeseries_windows(np.arange(8.0), **kw)
