"""shendu.train.summary: FLOPs of nn modules, timing and the box table, without Keras."""
import numpy as np

import shendu as sd
from shendu import nn
from shendu.train.summary import box_table, flops, forward_backward_time, module_flops, readable_memory_size


def test_flops_of_a_plain_nn_model_add_up_per_module():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
    x = sd.tensor(np.zeros((2, 3, 8, 8), "float32"))
    out, count = flops(lambda: model(x), model)
    conv = 2 * 4 * 36 * (2 * 9 * 3 + 1)
    dense = 2 * (2 * 144 * 5 + 5)
    assert tuple(out.shape) == (2, 5) and count == conv + dense
    assert module_flops(nn.ReLU(), (x,), x) is None
    assert flops(lambda: nn.ReLU()(x), nn.ReLU())[1] is None


def test_recurrent_flops_and_timing():
    lstm = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
    x = sd.tensor(np.zeros((2, 5, 3), "float32"))
    _, count = flops(lambda: lstm(x), lstm)
    assert count == 2 * 5 * 2 * (2 * 4 * 4 * (3 + 4) + 8 * 4 * 4)
    lin = nn.Linear(3, 2)
    fwd, bwd = forward_backward_time(lambda: lin(sd.tensor(np.ones((4, 3), "float32"))), runs=2)
    assert fwd > 0 and bwd >= 0 and lin.weight.grad is not None


def test_box_table_and_sizes():
    lines = box_table(["a", "b"], [["x", "1"], ["long words wrap here", "22"]], [8, 6], ["left", "right"])
    assert lines[0] == "┏" + "━" * 8 + "┳" + "━" * 6 + "┓" and lines[-1].startswith("└")
    assert "│ x      │    1 │" in lines and any("wrap" in line for line in lines)
    assert readable_memory_size(220200) == "215.04 KB" and readable_memory_size(80) == "80.00 B"
