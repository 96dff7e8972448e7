"""A container's lines when their log file or terminal cannot be written."""

import errno
import io

from orchestrator.logs import ContainerLog


class FailingStream(io.StringIO):
    """A text stream whose writes fail with `code` while `failing` is set."""

    def __init__(self, code: int) -> None:
        super().__init__()
        self.code = code
        self.failing = True

    def write(self, text: str) -> int:
        if self.failing:
            raise OSError(self.code, "failing on purpose")
        return super().write(text)


def test_a_full_disk_drops_lines_until_there_is_room_again() -> None:
    file = FailingStream(errno.ENOSPC)
    console = io.StringIO()
    log = ContainerLog("demo-web-1", file, console, 10)
    log.write_line("stdout", "lost")
    log.write_line("stdout", "lost too")
    file.failing = False
    log.write_line("stderr", "kept")
    assert file.getvalue().endswith(" stderr kept\n")
    assert "lost" not in file.getvalue()
    assert console.getvalue().splitlines() == [
        "demo-web-1 | lost",
        "demo-web-1 | lost too",
        "demo-web-1 | kept",
    ]


def test_a_terminal_that_went_away_is_not_written_again() -> None:
    console = FailingStream(errno.EPIPE)
    file = io.StringIO()
    log = ContainerLog("demo-web-1", file, console, 10)
    log.write_line("stdout", "first")
    console.failing = False
    log.write_line("stdout", "second")
    assert console.getvalue() == ""
    assert [line.split(" ", 1)[1] for line in file.getvalue().splitlines()] == [
        "stdout first",
        "stdout second",
    ]
