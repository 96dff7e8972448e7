"""A container's lines when their log file or terminal cannot be written."""

import errno
import io
import subprocess
import sys
from pathlib import Path

from orchestrator.logs import ContainerLog
from tests.log_file import entries


class FailingStream(io.StringIO):
    """A terminal whose writes fail with `code` while `failing` is set."""

    def __init__(self, code: int) -> None:
        super().__init__()
        self.code = code
        self.failing = True

    def write(self, text: str) -> int:
        if self.failing:
            raise OSError(self.code, "failing on purpose")
        return super().write(text)


class FailingFile(io.BytesIO):
    """An unbuffered file, as LogSink opens one, on a disk that is full
    while `full` is set: what cannot be written is not kept."""

    def __init__(self) -> None:
        super().__init__()
        self.full = True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def test_a_full_disk_drops_lines_until_there_is_room_again() -> None:
    file = FailingFile()
    console = io.StringIO()
    log = ContainerLog("demo-web-1", file, console, 10)
    log.write_line("stdout", "lost")
    log.write_line("stdout", "lost too")
    file.full = False
    log.write_line("stderr", "kept")
    assert entries(file.getvalue().decode()) == [("stderr", "F", "kept")]
    assert console.getvalue().splitlines() == [
        "demo-web-1 | lost",
        "demo-web-1 | lost too",
        "demo-web-1 | kept",
    ]


FILE_SIZE_LIMIT = """
import resource, signal, sys
from pathlib import Path
from orchestrator.logs import LogSink

path = Path(sys.argv[1])
log = LogSink(None, 10).open("demo-web-1", path)
log.write_line("stdout", "first")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size, hard))
log.write_line("stdout", "dropped: the disk is full")
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
log.write_line("stdout", "third")
"""


def test_a_line_dropped_on_a_full_disk_does_not_come_back_later(tmp_path: Path) -> None:
    # A file size limit stands in for a full disk: a buffered file would keep
    # the line it could not write and write it with the next one.
    path = tmp_path / "demo-web-1.log"
    subprocess.run([sys.executable, "-c", FILE_SIZE_LIMIT, str(path)], check=True, timeout=60)
    assert entries(path.read_text()) == [("stdout", "F", "first"), ("stdout", "F", "third")]


def test_a_log_file_on_a_full_device_does_not_raise() -> None:
    with open("/dev/full", "ab", buffering=0) as full:
        log = ContainerLog("demo-web-1", full, None, 10)
        log.write_line("stdout", "nowhere to go")


def test_a_terminal_that_went_away_is_not_written_again() -> None:
    console = FailingStream(errno.EPIPE)
    file = io.BytesIO()
    log = ContainerLog("demo-web-1", file, console, 10)
    log.write_line("stdout", "first")
    console.failing = False
    log.write_line("stdout", "second")
    assert console.getvalue() == ""
    assert entries(file.getvalue().decode()) == [
        ("stdout", "F", "first"),
        ("stdout", "F", "second"),
    ]
