from hypothesis import given, settings
from hypothesis import strategies as st

from tokenyard.providers.breaker import Breaker, BreakerBoard, BreakerState, allow, record
from tokenyard.providers.routing_config import BreakerConfig

CONFIG = BreakerConfig(
    window_s=10, failure_rate=0.5, min_calls=4, consecutive_failures=3, open_s=5, half_open_probes=1
)
T = "openai:gpt-4o"


def test_opens_after_consecutive_failures_and_skips_while_open():
    board = BreakerBoard(CONFIG)
    for t in (0.0, 0.1, 0.2):
        assert board.allow(T, t)
        board.record(T, t, code="provider_server_error")
    assert board.state(T) is BreakerState.open
    assert not board.allow(T, 0.3)
    assert not board.allow(T, 5.1)  # opened at 0.2; open_s = 5


def test_opens_on_failure_rate_once_min_calls_reached():
    board = BreakerBoard(CONFIG.model_copy(update={"consecutive_failures": 100}))
    outcomes = [None, "provider_timeout", None, "provider_timeout"]
    for i, code in enumerate(outcomes):
        board.record(T, float(i), code=code)
    assert board.state(T) is BreakerState.open


def test_below_min_calls_a_high_rate_does_not_open():
    board = BreakerBoard(CONFIG.model_copy(update={"consecutive_failures": 100}))
    board.record(T, 0.0, code="provider_timeout")
    board.record(T, 0.1, code="provider_timeout")
    assert board.state(T) is BreakerState.closed


def test_old_failures_leave_the_window():
    board = BreakerBoard(CONFIG.model_copy(update={"consecutive_failures": 100}))
    board.record(T, 0.0, code="provider_timeout")
    board.record(T, 0.5, code="provider_timeout")
    board.record(T, 0.9, code="provider_timeout")
    for t in (20.0, 20.1, 20.2):
        board.record(T, t, code=None)
    board.record(T, 20.3, code="provider_timeout")  # 1 of 4 in the window
    assert board.state(T) is BreakerState.closed
    assert board.snapshot(20.3)[T].calls_in_window == 4


def test_request_specific_errors_do_not_count():
    board = BreakerBoard(CONFIG)
    for i in range(10):
        board.record(T, float(i) / 10, code="provider_bad_request")
        board.record(T, float(i) / 10, code="context_length_exceeded")
    assert board.state(T) is BreakerState.closed
    assert board.snapshot(1.0)[T].failures_in_window == 0


def test_half_open_admits_one_probe_then_closes_on_success():
    board = BreakerBoard(CONFIG)
    for t in (0.0, 0.1, 0.2):
        board.record(T, t, code="provider_overloaded")
    assert board.allow(T, 5.2)  # the probe
    assert board.state(T) is BreakerState.half_open
    assert not board.allow(T, 5.3)  # one probe at a time
    board.record(T, 5.4, code=None)
    assert board.state(T) is BreakerState.closed
    assert board.allow(T, 5.5)


def test_failed_probe_reopens_for_a_full_period():
    board = BreakerBoard(CONFIG)
    for t in (0.0, 0.1, 0.2):
        board.record(T, t, code="provider_overloaded")
    assert board.allow(T, 6.0)
    board.record(T, 6.5, code="provider_timeout")
    assert board.state(T) is BreakerState.open
    assert not board.allow(T, 11.4)
    assert board.allow(T, 11.5)


def test_a_lost_probe_stops_blocking_after_open_s():
    board = BreakerBoard(CONFIG)
    for t in (0.0, 0.1, 0.2):
        board.record(T, t, code="provider_overloaded")
    assert board.allow(T, 6.0)  # this probe never reports back
    assert not board.allow(T, 10.9)
    assert board.allow(T, 11.0)


def test_retry_after_hold_skips_the_target_until_then_capped():
    board = BreakerBoard(CONFIG.model_copy(update={"max_hold_s": 30}))
    board.hold(T, now=100.0, retry_after=7.0)
    assert not board.allow(T, 106.9)
    assert board.allow(T, 107.0)
    board.hold(T, now=200.0, retry_after=3600.0)
    assert not board.allow(T, 229.9)
    assert board.allow(T, 230.0)
    assert board.snapshot(231.0)[T].held_until is None


def test_snapshot_names_every_target_seen():
    board = BreakerBoard(CONFIG)
    board.record("a:x", 0.0, code=None)
    for t in (0.0, 0.1, 0.2):
        board.record("b:y", t, code="provider_timeout")
    snap = board.snapshot(1.0)
    assert list(snap) == ["a:x", "b:y"]
    assert snap["a:x"].state is BreakerState.closed
    assert snap["b:y"].state is BreakerState.open and snap["b:y"].opened_at == 0.2


events = st.lists(
    st.tuples(
        st.sampled_from(["allow", "ok", "fail"]),
        st.floats(0, 3, allow_nan=False),
    ),
    max_size=80,
)


@settings(max_examples=300)
@given(events=events)
def test_breaker_state_machine_invariants(events):
    """Properties: an open breaker never admits before open_s; half-open never admits
    more probes than configured; opening needs a failure; closed always admits."""
    breaker, now = Breaker(), 0.0
    for kind, step in events:
        now += step
        before = breaker
        if kind == "allow":
            breaker, allowed = allow(before, now, CONFIG)
            if before.state is BreakerState.closed and before.held_until is None:
                assert allowed
            if before.state is BreakerState.open and now < before.opened_at + CONFIG.open_s:
                assert not allowed and breaker == before
            if breaker.state is BreakerState.half_open:
                assert breaker.probes_in_flight <= CONFIG.half_open_probes
        else:
            breaker = record(before, now, CONFIG, failed=kind == "fail")
            if breaker.state is BreakerState.open and before.state is not BreakerState.open:
                assert kind == "fail"
                assert breaker.opened_at == now
            if kind == "ok" and before.state is BreakerState.closed:
                assert breaker.state is BreakerState.closed and breaker.consecutive_failures == 0
        calls = sum(b.calls for b in breaker.buckets)
        assert 0 <= sum(b.failures for b in breaker.buckets) <= calls
        assert len(breaker.buckets) <= 10
