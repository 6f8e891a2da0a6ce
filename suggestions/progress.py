"""Reporting how far a rebuild got: the engine names each step as it starts and counts what it
has done, and a reporter shows it (the terminal) or records it (a rebuild request's row).

A rebuild takes a reporter or None; with None it reports nothing and costs nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from django.db import DatabaseError

logger = logging.getLogger(__name__)

# A request's row is written at most this often while a step counts (each step's start is
# written at once: there are only a few).
REQUEST_WRITE_SECONDS = 1.0
# A build nobody watches but in its log counts there this often.
LOG_COUNT_SECONDS = 5.0


class Progress(Protocol):
    def step(self, name: str, total: int | None = None) -> None:
        """Start step ``name`` (ending the one before), of ``total`` items when it counts."""

    def advance(self, count: int = 1) -> None:
        """``count`` more items of the current step done."""

    def finish(self) -> None:
        """End the last step."""


class Output(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


class StepTimer:
    """Times each step and keeps its count; the reporters below build on it."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.current: str | None = None
        self.done = 0
        self.total: int | None = None
        self.steps: list[dict[str, Any]] = []
        self._started = 0.0

    def step(self, name: str, total: int | None = None) -> None:
        self._end()
        self.current, self.done, self.total, self._started = name, 0, total, self._clock()
        self.started(name, total)

    def advance(self, count: int = 1) -> None:
        self.done += count
        self.advanced(count)

    def finish(self) -> None:
        self._end()
        self.current = None

    def _end(self) -> None:
        if self.current is None:
            return
        seconds = self._clock() - self._started
        self.steps.append({"name": self.current, "seconds": round(seconds, 2), "done": self.done})
        self.ended(self.current, seconds)

    def started(self, name: str, total: int | None) -> None:
        """Hook: a step has started."""

    def advanced(self, count: int) -> None:
        """Hook: the current step counted ``count`` more."""

    def ended(self, name: str, seconds: float) -> None:
        """Hook: step ``name`` took ``seconds``."""


class TerminalProgress(StepTimer):
    """Prints each step as it starts and how long it took to ``out``, with a bar on standard error
    for the steps that count (none when ``bar`` is False: only the lines)."""

    def __init__(self, out: Output, *, bar: bool = True) -> None:
        super().__init__()
        self._out = out
        self._bar_enabled = bar
        self._bar: Any = None

    def started(self, name: str, total: int | None) -> None:
        self._out.write(f"{name}...\n")
        self._out.flush()
        if self._bar_enabled and total:
            from tqdm import tqdm

            self._bar = tqdm(total=total, leave=False)

    def advanced(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def ended(self, name: str, seconds: float) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        counted = f", {self.done} of {self.total}" if self.total else f", {self.done}" if self.done else ""
        self._out.write(f"  {name}: {seconds:.1f} s{counted}\n")
        self._out.flush()


class LogProgress(StepTimer):
    """Logs each step as it starts and how long it took, and the count at most every ``every``
    seconds: a build run by a worker, or in-process by a library import (``make setup``)."""

    def __init__(self, *, every: float = LOG_COUNT_SECONDS) -> None:
        super().__init__()
        self._every = every
        self._logged = 0.0

    def started(self, name: str, total: int | None) -> None:
        self._logged = time.monotonic()
        logger.info("Index build: %s...", name)

    def advanced(self, count: int) -> None:
        if self.total and time.monotonic() - self._logged >= self._every:
            self._logged = time.monotonic()
            logger.info("Index build: %s: %s of %s", self.current, self.done, self.total)

    def ended(self, name: str, seconds: float) -> None:
        logger.info("Index build: %s: %.1f s", name, seconds)


class RequestProgress(StepTimer):
    """Records the progress on an IndexRebuildRequest row for the admin and the API: every step's
    start and end, and counts at most every REQUEST_WRITE_SECONDS."""

    def __init__(self, request_id: int, *, every: float = REQUEST_WRITE_SECONDS) -> None:
        super().__init__()
        self._request_id = request_id
        self._every = every
        self._written = 0.0

    def state(self) -> dict[str, Any]:
        return {"step": self.current, "done": self.done, "total": self.total, "steps": list(self.steps)}

    def started(self, name: str, total: int | None) -> None:
        self._write()

    def advanced(self, count: int) -> None:
        if time.monotonic() - self._written >= self._every:
            self._write()

    def finish(self) -> None:
        super().finish()
        self._write()

    def _write(self) -> None:
        from suggestions.models import IndexRebuildRequest

        self._written = time.monotonic()
        try:
            IndexRebuildRequest.objects.filter(pk=self._request_id).update(progress=self.state())
        except DatabaseError:  # progress is shown, not needed: the rebuild goes on
            logger.warning("Could not record the progress of rebuild %s", self._request_id, exc_info=True)


class _Silent:
    """The reporter of a rebuild nobody watches."""

    def step(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


SILENT: Progress = _Silent()


def progress_describe(state: Mapping[str, Any]) -> str:
    """One line for a person: the step running and its count, else the steps taken and their times."""
    if state.get("step"):
        done, total = state.get("done", 0), state.get("total")
        return state["step"] + (f": {done} of {total}" if total else f": {done}" if done else "")
    return ", ".join(f"{step['name']} {step['seconds']:.1f} s" for step in state.get("steps") or []) or "—"
