"""A lock that hands a shared model over in arrival order and can say how many are ahead.

``threading.RLock`` wakes waiters in no promised order, so with five sessions generating on one
model the last to ask could go second, and no waiter can tell its place. Each waiter here takes
a ticket; the holder's release wakes the ticket at the head of the line.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable


class TurnLock:
    """Reentrant, first come first served; ``acquire(on_wait=…)`` reports the number ahead."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._line: list[int] = []
        self._tickets = itertools.count()

    def acquire(self, blocking: bool = True, timeout: float | None = None,
                on_wait: Callable[[int], None] | None = None) -> bool:
        me = threading.get_ident()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            if not blocking and (self._owner is not None or self._line):
                return False
            ticket = next(self._tickets)
            self._line.append(ticket)
            told = None
            try:
                while self._owner is not None or self._line[0] != ticket:
                    ahead = self._line.index(ticket) + (self._owner is not None)
                    if on_wait is not None and ahead != told:
                        on_wait(ahead)  # under the condition's lock: keep it quick (a progress message)
                        told = ahead
                    if deadline is None:
                        self._cond.wait()
                    elif not self._cond.wait(max(0.0, deadline - time.monotonic())) and time.monotonic() >= deadline:
                        return False
            finally:
                self._line.remove(ticket)
                self._cond.notify_all()  # the next ticket may now be at the head
            self._owner, self._depth = me, 1
            return True

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a TurnLock this thread does not hold")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()

    def waiting(self) -> int:
        with self._cond:
            return len(self._line)

    def __enter__(self) -> TurnLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
