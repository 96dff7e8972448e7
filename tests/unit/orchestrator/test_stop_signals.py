"""Stop signals before the supervisor's receiver: each one interrupts the
start, also inherited as ignored, also when Python swallowed its
KeyboardInterrupt, and inside trio.run it is delivered as Trio delivers a
Ctrl-C. Then the supervisor's `Interrupts`: until every container has
started a signal cancels the start; after, it stops the stack in order."""

import os
import signal
from collections.abc import AsyncIterator, Iterator
from typing import cast

import pytest
import trio

from orchestrator import stop_signals
from orchestrator.daemon import Interrupts
from orchestrator.supervisor import Stack


@pytest.fixture(autouse=True)
def dispositions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test's own record, and the handlers pytest had, back after it."""
    monkeypatch.setattr(stop_signals, "_received", [])
    saved = {signum: signal.getsignal(signum) for signum in stop_signals.STOP_SIGNALS}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", stop_signals.STOP_SIGNALS)
def test_a_signal_inherited_as_ignored_interrupts_once_taken(signum: int) -> None:
    signal.signal(signum, signal.SIG_IGN)  # as a script's `corral up &` starts it
    stop_signals.take()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signum)  # its handler runs before kill returns


class _RaisesInFinalizer:
    def __del__(self) -> None:
        signal.raise_signal(signal.SIGTERM)  # its KeyboardInterrupt is only printed


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_signal_whose_interrupt_python_swallowed_still_stops_the_start() -> None:
    stop_signals.take()
    _RaisesInFinalizer()  # collected at once
    with pytest.raises(KeyboardInterrupt), stop_signals.handed_to_trio():
        pytest.fail("the start went on")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_inside_trio_a_stop_signal_is_delivered_as_ctrl_c(signum: int) -> None:
    reached: list[str] = []

    async def start() -> None:
        signal.raise_signal(signum)
        reached.append("after the signal")
        await trio.lowlevel.checkpoint()
        reached.append("after a checkpoint")

    stop_signals.take()
    with pytest.raises(KeyboardInterrupt), stop_signals.handed_to_trio():
        trio.run(start, restrict_keyboard_interrupt_to_checkpoints=True)
    assert reached == ["after the signal"]
    assert signal.getsignal(signum) is signal.getsignal(signal.SIGINT)  # taken again


class _Stack:
    def __init__(self) -> None:
        self.stopping = False
        self.killed = 0

    def request_stop(self) -> None:
        self.stopping = True

    def kill_all(self) -> None:
        self.killed += 1


async def _watch(interrupts: Interrupts, count: int) -> None:
    async def signals() -> AsyncIterator[int]:
        for _ in range(count):
            yield signal.SIGINT

    await interrupts.watch(signals())


async def test_a_signal_while_the_containers_start_cancels_the_start() -> None:
    interrupts, stack = Interrupts(), _Stack()
    interrupts.stack = cast(Stack, stack)  # made, its containers starting
    await _watch(interrupts, 1)
    assert (interrupts.interrupted, interrupts.start.cancel_called) == (True, True)
    assert (stack.stopping, stack.killed) == (False, 0)
    await _watch(interrupts, 1)  # a second one kills what had started
    assert stack.killed == 1


async def test_once_up_a_signal_stops_the_stack_in_order_and_a_second_kills() -> None:
    interrupts, stack = Interrupts(), _Stack()
    interrupts.stack, interrupts.up = cast(Stack, stack), True
    await _watch(interrupts, 1)
    assert (interrupts.interrupted, interrupts.start.cancel_called) == (False, False)
    assert (stack.stopping, stack.killed) == (True, 0)
    await _watch(interrupts, 1)
    assert stack.killed == 1
