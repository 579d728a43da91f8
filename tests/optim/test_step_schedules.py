"""optim.lr_scheduler's closed-form step schedules (Keras's decay schedules) and ScheduleLR."""
import math

import numpy as np
import pytest

import shendu as sd
from shendu import optim
from shendu.optim import lr_scheduler as S

CASES = [
    (S.ExponentialDecay(0.1, 10, 0.5), lambda s: 0.1 * 0.5 ** (s / 10)),
    (S.ExponentialDecay(0.1, 10, 0.5, staircase=True), lambda s: 0.1 * 0.5 ** (s // 10)),
    (S.InverseTimeDecay(0.1, 10, 0.5), lambda s: 0.1 / (1 + 0.5 * s / 10)),
    (S.InverseTimeDecay(0.1, 10, 0.5, staircase=True), lambda s: 0.1 / (1 + 0.5 * (s // 10))),
    (S.PiecewiseConstantDecay([5, 15], [1.0, 0.5, 0.1]), lambda s: 1.0 if s <= 5 else 0.5 if s <= 15 else 0.1),
    (S.PolynomialDecay(0.1, 20, 0.01, power=2.0),
     lambda s: (0.1 - 0.01) * (1 - min(s, 20) / 20) ** 2 + 0.01),
    (S.PolynomialDecay(0.1, 20, 0.01, cycle=True),
     lambda s: (0.1 - 0.01) * (1 - s / (20 * max(1, math.ceil(s / 20)))) + 0.01),
    (S.CosineDecay(0.1, 20, alpha=0.1),
     lambda s: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 20) / 20)) + 0.1)),
    (S.CosineDecay(0.0, 20, warmup_target=0.1, warmup_steps=5),
     lambda s: 0.1 * s / 5 if s < 5 else 0.1 * 0.5 * (1 + math.cos(math.pi * min(s - 5, 20) / 20))),
]


@pytest.mark.parametrize("schedule,formula", CASES, ids=lambda c: repr(c)[:40] if isinstance(c, S.StepSchedule) else "")
def test_step_schedule_matches_its_formula_and_round_trips(schedule, formula):
    for step in (0, 1, 4, 5, 6, 10, 15, 19, 20, 21, 33, 45):
        assert schedule(step) == pytest.approx(formula(step), rel=1e-12, abs=1e-15)
    again = type(schedule).from_config(schedule.get_config())
    assert [again(s) for s in range(40)] == [schedule(s) for s in range(40)]


def test_cosine_decay_restarts_periods_grow_and_peaks_shrink():
    sched = S.CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5, alpha=0.0)
    assert sched(0) == pytest.approx(1.0)
    assert sched(5) == pytest.approx(0.5)          # half way through the first period
    assert sched(10) == pytest.approx(0.5)         # second period (20 steps) starts at m_mul
    assert sched(20) == pytest.approx(0.25)        # its middle: 0.5 * ½
    assert sched(30) == pytest.approx(0.25)        # third period (40 steps) starts at m_mul²
    even = S.CosineDecayRestarts(1.0, 10, t_mul=1.0, alpha=0.2)
    assert even(3) == pytest.approx(even(13)) == pytest.approx(0.8 * 0.5 * (1 + math.cos(0.3 * math.pi)) + 0.2)


def test_schedule_lr_drives_a_shendu_optimizer():
    w = sd.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    sched = S.ScheduleLR(opt, S.ExponentialDecay(0.1, 1, 0.5))
    lrs = []
    for _ in range(3):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.1, 0.05, 0.025])
    with pytest.raises(TypeError, match="ScheduleLR"):
        S.ScheduleLR(opt, 0.1)


def test_bad_schedule_arguments_raise():
    with pytest.raises(ValueError, match="PiecewiseConstantDecay"):
        S.PiecewiseConstantDecay([1, 2], [1.0])
    with pytest.raises(ValueError, match="decay_steps"):
        S.ExponentialDecay(0.1, 0, 0.5)


def test_keras_schedules_are_the_optim_ones_and_serialize_by_keras_name():
    from shendu.keras import optimizers

    assert optimizers.schedules.ExponentialDecay is S.ExponentialDecay
    sched = optimizers.schedules.CosineDecayRestarts(0.01, 100)
    opt = optimizers.Adam(learning_rate=sched)
    config = optimizers.serialize(opt)
    assert config["config"]["learning_rate"]["class_name"] == "CosineDecayRestarts"
    again = optimizers.deserialize(config)
    assert again.learning_rate == pytest.approx(0.01)
    assert optimizers.schedules.deserialize(optimizers.schedules.serialize(sched))(50) == sched(50)
