"""Who runs when: heavy jobs take turns, and interactive work goes first.

Two rules, both measured on a 2-core machine (bench/load.py, docs/ARCHITECTURE.md):

* **Heavy jobs take turns.** Training, maps, preprocessing and fine-tuning each want every core;
  two at once only split them and both finish later. At most ``slots`` heavy jobs run (1 on up
  to 4 cores); the others wait in arrival order, and the page shows their place in line.
* **Interactive work first.** While someone waits on the screen for a generation, a perplexity
  or an attention pass, running heavy jobs pause at their next checkpoint (the places where
  they already look for Cancel: an epoch, a chunk, an optimizer step) and go on when it ends.
  Decoding next to a Word2Vec job kept 9 % of its speed without this rule.

Jobs are classed by kind (``HEAVY``, ``INTERACTIVE``); anything else (loading a corpus, a model)
is light and just runs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

HEAVY = frozenset({"vectors", "map", "tokens", "finetune", "demo", "topics", "classify", "analysis"})
INTERACTIVE = frozenset({"generate", "perplexity", "attention", "compare"})


def default_slots(cores: int | None = None) -> int:
    """Heavy jobs at once: 1 up to 4 cores, then one more per 4 cores."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // 4)


class Scheduler:
    """The heavy-job queue and the interactive counter of this process."""

    def __init__(self, slots: int | None = None):
        self.slots = slots or default_slots()
        self._cond = threading.Condition()
        self._waiting: list[str] = []  # ids of heavy jobs in line, first = next
        self._running: list[str] = []
        self._interactive = 0
        self.enabled = os.environ.get("CORPUS_LAB_SCHEDULER", "1") != "0"  # "0": the before of bench/load.py

    # -- heavy jobs ---------------------------------------------------------------------------
    def wait_turn(self, job_id: str, cancelled: Callable[[], bool]) -> bool:
        """Block until ``job_id`` may run; False when it was cancelled while waiting."""
        with self._cond:
            self._waiting.append(job_id)
            try:
                while self.enabled and not (self._waiting[0] == job_id and len(self._running) < self.slots):
                    if cancelled():
                        return False
                    self._cond.wait(0.2)  # a timeout, because Cancel sets an event this condition does not see
                self._running.append(job_id)
                return True
            finally:
                self._waiting.remove(job_id)
                self._cond.notify_all()

    def done(self, job_id: str) -> None:
        with self._cond:
            if job_id in self._running:
                self._running.remove(job_id)
            self._cond.notify_all()

    def place(self, job_id: str) -> int | None:
        """1 for the next heavy job to run, 2 behind it…; None when not waiting."""
        with self._cond:
            return self._waiting.index(job_id) + 1 if job_id in self._waiting else None

    def running(self) -> list[str]:
        with self._cond:
            return list(self._running)

    # -- interactive work ---------------------------------------------------------------------
    @contextmanager
    def interactive(self) -> Iterator[None]:
        """Mark work someone is watching; heavy jobs pause at their checkpoints until it ends."""
        with self._cond:
            self._interactive += 1
        try:
            yield
        finally:
            with self._cond:
                self._interactive -= 1
                self._cond.notify_all()

    @property
    def busy(self) -> bool:
        return self._interactive > 0

    def pause_while_busy(self, cancelled: Callable[[], bool], on_pause: Callable[[], None] | None = None) -> float:
        """A heavy job's checkpoint: wait while interactive work runs; the seconds it waited."""
        if not self.enabled or not self._interactive:
            return 0.0
        start = time.perf_counter()
        if on_pause is not None:
            on_pause()
        with self._cond:
            while self._interactive and not cancelled():
                self._cond.wait(0.2)
        return time.perf_counter() - start


SCHEDULER = Scheduler()
