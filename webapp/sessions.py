"""What the server remembers of people logging in: the live sessions (:class:`Sessions`) and
the recent password attempts per client (:class:`Throttle`). Both live in memory only: a
restart ends every session and forgets every attempt. :mod:`webapp.access` uses them."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["Sessions", "Throttle"]


class Sessions:
    """The logged-in sessions, kept on the server: a session cookie is only worth something
    while its id is here. Logging out removes the id (a copy of the cookie taken before no
    longer works); an id not used for ``idle_timeout`` seconds expires; a restart forgets them
    all. At most ``MAX_SESSIONS`` are kept: the longest idle goes first."""

    MAX_SESSIONS = 1_000

    def __init__(self, idle_timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_timeout, self.clock = idle_timeout, clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self) -> str:
        sid = secrets.token_urlsafe(24)
        with self._lock:
            now = self.clock()
            for old in [k for k, t in self._last.items() if now - t > self.idle_timeout]:
                del self._last[old]
            while len(self._last) >= self.MAX_SESSIONS:
                del self._last[min(self._last, key=self._last.__getitem__)]
            self._last[sid] = now
        return sid

    def touch(self, sid: str) -> bool:
        """Whether ``sid`` is a live session; using it restarts its idle time."""
        with self._lock:
            now = self.clock()
            last = self._last.get(sid)
            if last is None:
                return False
            if now - last > self.idle_timeout:
                del self._last[sid]
                return False
            self._last[sid] = now
            return True

    def end(self, sid: str) -> None:
        with self._lock:
            self._last.pop(sid, None)


class Throttle:
    """Password checks per client: at most ``limit`` within ``window`` seconds.

    ``begin(who)`` is called before a password is checked: it returns how many seconds ``who``
    must wait (the password is then not checked at all), or 0 after counting the attempt, in
    one step under a lock, so that 30 guesses sent at once get no more than ``limit`` checks
    between them. ``passed(who)`` takes back the attempt of a right password: only wrong ones
    count. ``wait(who)`` reads the wait without counting. Old attempts are forgotten as they
    age, and the table of clients is pruned when it grows, so a flood cannot fill the memory."""

    MAX_CLIENTS = 10_000

    def __init__(self, limit: int = 5, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, who: str, now: float) -> deque[float]:
        times = self._attempts.get(who, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def _wait(self, times: deque[float], now: float) -> float:
        return 0.0 if len(times) < self.limit else times[0] + self.window - now

    def wait(self, who: str) -> float:
        with self._lock:
            now = self.clock()
            return self._wait(self._recent(who, now), now)

    def begin(self, who: str) -> float:
        with self._lock:
            now = self.clock()
            times = self._recent(who, now)
            wait = self._wait(times, now)
            if wait > 0:
                return wait
            if who not in self._attempts and len(self._attempts) >= self.MAX_CLIENTS:
                for key in [k for k in self._attempts if not self._recent(k, now)]:
                    del self._attempts[key]
            times.append(now)
            self._attempts[who] = times
            return 0.0

    def passed(self, who: str) -> None:
        with self._lock:
            times = self._attempts.get(who)
            if times:
                times.pop()
