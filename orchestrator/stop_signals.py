"""The signals that stop `corral up`, from the command's first line on.

SIGINT (Ctrl-C), SIGTERM (`kill`) and SIGHUP (a closed terminal) stop a
stack; the supervisor reads them with one Trio signal receiver (`daemon`).
Before that receiver exists (the CLI loading, the Compose files read,
images pulled, the project's lock taken), each must interrupt the command
as Ctrl-C does, also when the command was started with them ignored, as a
shell script's `corral up &` is (the receiver overrides an inherited
SIG_IGN too, as Go's signal.Notify does for Docker Compose).

`take` makes each one raise KeyboardInterrupt, and records it: Python only
prints a KeyboardInterrupt raised in a finalizer or a weakref callback (the
import machinery runs some), and `handed_to_trio` raises it again for such
a one before the stack is made. Inside `trio.run` SIGINT is Python's own
handler, which Trio takes over, and SIGTERM and SIGHUP are passed on to
it, so that Trio delivers each as it delivers a Ctrl-C.

The record is module state because what it records, a process's signal
dispositions, is process-wide. This module imports nothing heavy: it runs
before every other of Corral's.
"""

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that stop the stack: Ctrl-C, `kill`, and a closed terminal."""

_received: list[int] = []
"""The stop signals `_interrupt` took, in order."""


def take() -> None:
    """Make every stop signal interrupt this process as Ctrl-C does."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def check() -> None:
    """KeyboardInterrupt if a stop signal was taken (its own may have been lost)."""
    if _received:
        raise KeyboardInterrupt


@contextmanager
def handed_to_trio() -> Iterator[None]:
    """Around a `trio.run` (with restrict_keyboard_interrupt_to_checkpoints):
    the stop signals as Trio handles a Ctrl-C, and KeyboardInterrupt at once
    for one taken before. Does nothing unless they were taken."""
    if signal.getsignal(signal.SIGINT) is not _interrupt:
        yield
        return
    check()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in STOP_SIGNALS[1:]:
        signal.signal(signum, _as_ctrl_c)
    try:
        yield
    finally:
        take()


def _as_ctrl_c(signum: int, frame: FrameType | None) -> None:
    signal.raise_signal(signal.SIGINT)
