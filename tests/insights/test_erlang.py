"""Erlang C (insights.erlang) against the textbook form, computed here independently with
factorials, and against the worked example contact-centre texts use: 100 calls in 30 minutes
(200 an hour) of 3 minutes each, 80 % answered within 20 seconds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.week_traffic import serve_fixed
from insights.erlang import agents_needed, erlang_b, erlang_c, service_level


def textbook_erlang_c(agents: int, load: float) -> float:
    """C(N, A) = (A^N/N! · N/(N-A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N-A))."""
    top = load**agents / math.factorial(agents) * agents / (agents - load)
    return top / (sum(load**k / math.factorial(k) for k in range(agents)) + top)


def textbook_erlang_b(agents: int, load: float) -> float:
    """B(N, A) = (A^N/N!) / Σ_{k≤N} A^k/k!."""
    return load**agents / math.factorial(agents) / sum(load**k / math.factorial(k) for k in range(agents + 1))


@pytest.mark.parametrize(
    ("agents", "load"), [(1, 0.5), (3, 2.0), (11, 10.0), (15, 10.0), (30, 24.7), (60, 55.0)]
)
def test_waiting_chance_matches_the_factorial_form(agents, load):
    assert erlang_c(agents, load) == pytest.approx(textbook_erlang_c(agents, load), rel=1e-9)
    assert erlang_b(agents, load) == pytest.approx(textbook_erlang_b(agents, load), rel=1e-9)


def test_one_agent_is_the_single_server_queue():
    # M/M/1: the chance of waiting is the utilisation, and P(wait > t) = rho·e^(-(1-rho)t/AHT).
    assert erlang_c(1, 0.75) == pytest.approx(0.75)
    assert service_level(1, 0.75, 4.0, 2.0) == pytest.approx(1 - 0.75 * math.exp(-0.25 * 2.0 / 4.0))


def test_the_worked_example_needs_fourteen_agents():
    load = 200 * 3 / 60
    assert load == 10

    assert erlang_c(11, load) == pytest.approx(0.682, abs=5e-4)
    assert service_level(13, load, 3, 20 / 60) == pytest.approx(0.796, abs=5e-4)
    assert service_level(14, load, 3, 20 / 60) == pytest.approx(0.888, abs=5e-4)
    assert (
        agents_needed(
            arrivals_per_hour=200, handle_minutes=3, target_minutes=20 / 60, service_level_wanted=0.8
        )
        == 14
    )


def test_agents_needed_is_the_smallest_count_reaching_the_level():
    for arrivals, handle, target, wanted in [(45, 7.5, 5, 0.9), (3, 12, 60, 0.8), (900, 4, 1, 0.95)]:
        load = arrivals * handle / 60
        needed = agents_needed(
            arrivals_per_hour=arrivals,
            handle_minutes=handle,
            target_minutes=target,
            service_level_wanted=wanted,
        )
        assert needed > load
        assert service_level(needed, load, handle, target) >= wanted
        below = needed - 1
        assert below <= load or service_level(below, load, handle, target) < wanted


def test_large_loads_stay_finite_where_factorials_overflow():
    with pytest.raises(OverflowError):
        textbook_erlang_c(2000, 1990.0)

    level = service_level(2000, 1990.0, 3, 0.5)
    needed = agents_needed(
        arrivals_per_hour=39800, handle_minutes=3, target_minutes=0.5, service_level_wanted=0.8
    )

    assert 0 < level < 1
    assert 1990 < needed < 2100


def test_too_few_agents_promise_nothing_and_no_traffic_needs_nobody():
    assert erlang_c(10, 10.0) == 1.0
    assert service_level(9, 10.0, 3, 60) == 0.0
    assert (
        agents_needed(arrivals_per_hour=0, handle_minutes=5, target_minutes=60, service_level_wanted=0.8) == 0
    )


@pytest.mark.parametrize(
    "inputs",
    [
        {"arrivals_per_hour": -1, "handle_minutes": 5, "target_minutes": 60, "service_level_wanted": 0.8},
        {"arrivals_per_hour": 10, "handle_minutes": 0, "target_minutes": 60, "service_level_wanted": 0.8},
        {"arrivals_per_hour": 10, "handle_minutes": 5, "target_minutes": 60, "service_level_wanted": 1.0},
    ],
)
def test_nonsense_inputs_are_refused(inputs):
    with pytest.raises(ValueError):
        agents_needed(**inputs)


def test_a_simulated_queue_with_erlangs_assumptions_meets_its_prediction():
    # Poisson arrivals and exponential handling, as Erlang C assumes, through the FIFO queue the
    # staffing check uses: the share waiting more than the target matches 1 - service level.
    rng = np.random.default_rng(7)
    arrivals_per_minute, handle, agents, target = 0.5, 6.0, 4, 2.0
    times = np.cumsum(rng.exponential(1 / arrivals_per_minute, size=200_000))
    waits = np.array(
        serve_fixed(list(zip(times, rng.exponential(handle, size=times.size), strict=True)), agents)
    )
    steady = waits[10_000:]

    assert (steady > 0).mean() == pytest.approx(erlang_c(agents, 3.0), abs=0.01)
    assert (steady <= target).mean() == pytest.approx(service_level(agents, 3.0, handle, target), abs=0.01)
