"""The circuit breaker: closed → open → half-open → closed, one trial at a time."""

from services.gateway.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from tests.fakes import FakeClock


def test_it_opens_after_the_threshold_of_consecutive_failures():
    breaker = CircuitBreaker(threshold=3, reset_after=10, clock=FakeClock(1000.0))
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state == OPEN and not breaker.allow()


def test_a_success_resets_the_count():
    breaker = CircuitBreaker(threshold=2, clock=FakeClock(1000.0))
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == CLOSED


def test_after_the_reset_time_one_trial_goes_out_and_closes_it_on_success():
    clock = FakeClock(1000.0)
    breaker = CircuitBreaker(threshold=1, reset_after=10, clock=clock)
    breaker.record_failure()
    clock.advance(10)
    assert breaker.state == HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # a second caller waits for the trial
    breaker.record_success()
    assert breaker.state == CLOSED and breaker.allow()


def test_a_failed_trial_opens_it_again_for_a_full_period():
    clock = FakeClock(1000.0)
    breaker = CircuitBreaker(threshold=5, reset_after=10, clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.advance(10)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == OPEN
    clock.advance(9)
    assert not breaker.allow()
    assert breaker.retry_after() >= 1


def test_an_abandoned_trial_lets_the_next_caller_try():
    clock = FakeClock(1000.0)
    breaker = CircuitBreaker(threshold=1, reset_after=1, clock=clock)
    breaker.record_failure()
    clock.advance(1)
    assert breaker.allow()
    breaker.release_trial()
    assert breaker.allow()
