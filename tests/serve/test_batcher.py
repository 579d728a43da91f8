"""The dynamic batcher on its own: samples counted, requests never split, the timer starts at the first
queued request, eager batching, a bad request never fails the others."""
import asyncio
import threading

import numpy as np
import pytest

from shendu.serve import BadRequest
from shendu.serve._batcher import Batcher, ModelRunError


class Recorder:
    """A stand-in model: doubles its input and records the batch sizes it ran."""

    name, version = "rec", "1"

    def __init__(self, fail_on=None):
        self.batches, self.fail_on, self.threads = [], fail_on, set()

    def run(self, arrays):
        self.threads.add(threading.get_ident())
        self.batches.append(arrays[0].shape[0])
        if self.fail_on is not None and np.any(arrays[0] == self.fail_on):
            raise ValueError(f"the value {self.fail_on} is not allowed")
        return [arrays[0] * 2]


def x(n, value=1.0, width=3):
    return [np.full((n, width), value, np.float32)]


async def _later(batcher, arrays, delay):
    await asyncio.sleep(delay)
    return await batcher.submit(arrays)


def run(coro):
    return asyncio.run(coro)


def test_counts_samples_not_requests_and_answers_each_its_own_rows():
    m = Recorder()
    b = Batcher(m, max_batch_size=8, max_delay_ms=300, eager=False)

    async def main():
        return await asyncio.gather(*[b.submit(x(3, value=i)) for i in range(4)])

    outs = run(main())
    b.stop()
    assert m.batches == [6, 6]  # 3 + 3 fit in 8, a third request of 3 would not
    for i, out in enumerate(outs):
        np.testing.assert_array_equal(out[0], np.full((3, 3), 2 * i, np.float32))


def test_a_request_larger_than_the_batch_runs_whole():
    m = Recorder()
    b = Batcher(m, max_batch_size=4, max_delay_ms=50, eager=False)

    async def main():
        return await asyncio.gather(b.submit(x(10)), b.submit(x(2)))

    big, small = run(main())
    b.stop()
    assert big[0].shape == (10, 3) and small[0].shape == (2, 3)
    assert sorted(m.batches) == [2, 10]


def test_timer_starts_at_the_first_queued_request():
    # delay 400 ms: A at 0 ms and B at 150 ms share a batch that runs at ~400 ms; C
    # (1200 ms) comes after it. A timer restarted by every arrival would have put all three together.
    m = Recorder()
    b = Batcher(m, max_batch_size=32, max_delay_ms=400, eager=False)

    async def main():
        return await asyncio.gather(_later(b, x(1), 0), _later(b, x(1), 0.15), _later(b, x(1), 1.2))

    run(main())
    b.stop()
    assert m.batches == [2, 1]


def test_full_batch_runs_before_the_timer():
    m = Recorder()
    b = Batcher(m, max_batch_size=4, max_delay_ms=60_000, eager=False)

    async def main():
        return await asyncio.wait_for(asyncio.gather(*[b.submit(x(1)) for _ in range(4)]), timeout=20)

    run(main())
    b.stop()
    assert m.batches == [4]


def test_eager_batching_never_waits_for_the_timer_when_nothing_else_is_coming():
    m = Recorder()
    b = Batcher(m, max_batch_size=32, max_delay_ms=60_000, eager=True)

    async def main():
        return await asyncio.wait_for(b.submit(x(2)), timeout=20)

    out = run(main())
    b.stop()
    assert out[0].shape == (2, 3) and m.batches == [2]


def test_eager_batching_waits_for_a_request_on_its_way():
    m = Recorder()
    b = Batcher(m, max_batch_size=32, max_delay_ms=2_000, eager=True)

    async def main():
        b.arriving()  # a second request has been accepted and is still being read

        async def second():
            await asyncio.sleep(0.1)
            return await b.submit(x(1), counted=True)

        return await asyncio.gather(b.submit(x(1)), second())

    run(main())
    b.stop()
    assert m.batches == [2]


def test_runs_in_its_own_thread_off_the_event_loop():
    m = Recorder()
    b = Batcher(m, max_batch_size=8, max_delay_ms=1)
    run(b.submit(x(1)))
    b.stop()
    assert m.threads and threading.get_ident() not in m.threads


def test_different_shapes_never_share_a_batch():
    m = Recorder()
    b = Batcher(m, max_batch_size=32, max_delay_ms=200, eager=False)

    async def main():
        return await asyncio.gather(b.submit(x(2, width=3)), b.submit(x(2, width=5)), b.submit(x(1, width=3)))

    a, c, d = run(main())
    b.stop()
    assert a[0].shape == (2, 3) and c[0].shape == (2, 5) and d[0].shape == (1, 3)
    assert sorted(m.batches) == [2, 3]


def test_one_bad_request_does_not_fail_the_others_in_its_batch():
    m = Recorder(fail_on=-1.0)
    b = Batcher(m, max_batch_size=32, max_delay_ms=200, eager=False)

    async def main():
        return await asyncio.gather(b.submit(x(2, 1.0)), b.submit(x(1, -1.0)), b.submit(x(1, 3.0)),
                                    return_exceptions=True)

    good, bad, good2 = run(main())
    b.stop()
    np.testing.assert_array_equal(good[0], np.full((2, 3), 2.0, np.float32))
    np.testing.assert_array_equal(good2[0], np.full((1, 3), 6.0, np.float32))
    assert isinstance(bad, ModelRunError) and "not allowed" in bad.message and bad.status == 400


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="max_batch_size"):
        Batcher(Recorder(), max_batch_size=0)
    with pytest.raises(ValueError, match="max_delay_ms"):
        Batcher(Recorder(), max_delay_ms=-1)


def test_stopped_batcher_answers_503_and_restarts():
    m = Recorder()
    b = Batcher(m, max_batch_size=8, max_delay_ms=1)
    run(b.submit(x(1)))
    b.stop()
    with pytest.raises(BadRequest) as err:
        run(b.submit(x(1)))
    assert err.value.status == 503 and "shutting down" in err.value.message
    b.start()
    assert run(b.submit(x(2)))[0].shape == (2, 3)
    b.stop()
