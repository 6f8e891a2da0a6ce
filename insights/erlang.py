"""Erlang C, the standard contact-centre model: how many agents answer a share of mentions
within a target wait, given how much work arrives.

Inputs: ``load`` A in Erlangs = arrivals per hour x mean handling time in hours (the agents kept
busy on average), ``agents`` N, the mean handling time (AHT) and the target wait t. With Poisson
arrivals, exponential handling and first-come-first-served agents, when N > A:

- the chance a mention waits at all is C(N, A) = N·B / (N - A·(1 - B)), B the Erlang B blocking
  probability, from the recursion B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1)): stable for any
  A, where the textbook form's A^N / N! overflows beyond a few hundred;
- the service level, P(wait ≤ t) = 1 - C(N, A) · e^(-(N - A)·t / AHT).

With N ≤ A the queue grows without end: nobody is promised anything (service level 0)."""

from __future__ import annotations

import math


def erlang_b(agents: int, load: float) -> float:
    """Erlang B: the chance every one of ``agents`` is busy, ``load`` Erlangs offered."""
    if agents < 0 or load < 0:
        raise ValueError("agents and load must not be negative")
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = load * blocking / (n + load * blocking)
    return blocking


def erlang_c(agents: int, load: float) -> float:
    """The chance a mention waits at all (every agent busy when it arrives); 1 when N ≤ A."""
    if agents <= load:
        return 1.0
    return _waiting_chance(agents, load, erlang_b(agents, load))


def _waiting_chance(agents: int, load: float, blocking: float) -> float:
    return agents * blocking / (agents - load * (1 - blocking))


def service_level(agents: int, load: float, handle_minutes: float, target_minutes: float) -> float:
    """P(wait ≤ target) with ``agents`` at ``load`` Erlangs; 0 when N ≤ A (the queue never empties)."""
    if load == 0:
        return 1.0
    if agents <= load:
        return 0.0
    return _level(agents, load, erlang_c(agents, load), handle_minutes, target_minutes)


def _level(agents: int, load: float, waiting: float, handle_minutes: float, target_minutes: float) -> float:
    return 1 - waiting * math.exp(-(agents - load) * target_minutes / handle_minutes)


def agents_needed(
    *, arrivals_per_hour: float, handle_minutes: float, target_minutes: float, service_level_wanted: float
) -> int:
    """The fewest agents (N > A) answering ``service_level_wanted`` of mentions (0 < share < 1)
    within ``target_minutes``; 0 when nothing arrives."""
    if arrivals_per_hour < 0 or handle_minutes <= 0 or target_minutes < 0:
        raise ValueError("arrivals must not be negative, handling time must be positive")
    if not 0 < service_level_wanted < 1:
        raise ValueError("the service level is a share between 0 and 1, both excluded")
    load = arrivals_per_hour * handle_minutes / 60
    if load == 0:
        return 0
    agents = math.floor(load) + 1
    blocking = erlang_b(agents, load)  # then carried forward one agent at a time
    while True:
        waiting = _waiting_chance(agents, load, blocking)
        if _level(agents, load, waiting, handle_minutes, target_minutes) >= service_level_wanted:
            return agents
        agents += 1
        blocking = load * blocking / (agents + load * blocking)
