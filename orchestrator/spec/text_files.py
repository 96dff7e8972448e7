"""Reading the text files a project is made of: Compose files and env files."""

from pathlib import Path


class NotText(Exception):
    """The file is not UTF-8 text; `line` and `column` (counted in bytes) are
    where the first bad byte is."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


def read_text(path: Path) -> str:
    """The file's text; OSError when it cannot be read, NotText when it is
    not UTF-8, as Compose requires."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise NotText(
            line, column, f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded"
        ) from None
