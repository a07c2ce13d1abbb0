"""One fake clock for every test that waits for a TOTP window or a retry."""

from __future__ import annotations

#: a 30-second TOTP window far from any edge case, and a time 12 s into it
WINDOW = 56_666_667
MID = WINDOW * 30 + 12.0


class FakeClock:
    """``clock()`` returns the time; ``clock.sleep(s)`` advances it and remembers the wait."""

    def __init__(self, t: float = MID) -> None:
        self.t = t
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "nobody sleeps a negative time"
        self.slept.append(seconds)
        self.t += seconds
