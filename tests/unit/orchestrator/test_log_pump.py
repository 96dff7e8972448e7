"""A container's output through the pump: lines, and lines too long to hold
cut into 16 KiB pieces tagged P (partial) and F (full), as Docker cuts them."""

import io
import os
from collections.abc import Iterable

import pytest
import trio

from orchestrator.logs import PIECE, ContainerLog, LineSplitter, Piece, pump
from tests.log_file import entries

NAME = "demo-web-1"
PREFIX = f"{NAME} | "


async def pumped(data: bytes) -> tuple[list[tuple[str, str, str]], list[str]]:
    """`data` written to a pipe and closed, pumped to EOF: the log file's
    (stream, tag, text) entries and the terminal's lines."""
    file, console = io.BytesIO(), io.StringIO()
    log = ContainerLog(NAME, file, console, len(NAME))
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pump, read_end, "stdout", log)
            async with trio.lowlevel.FdStream(write_end) as pipe:
                await pipe.send_all(data)
    return entries(file.getvalue().decode()), console.getvalue().split("\n")[:-1]


def split(chunks: Iterable[bytes]) -> list[Piece]:
    splitter = LineSplitter()
    pieces = [piece for chunk in chunks for piece in splitter.feed(chunk)]
    last = splitter.end()
    return pieces if last is None else [*pieces, last]


def joined(pieces: list[Piece]) -> list[bytes]:
    """The lines the pieces make, each ended by a full piece."""
    found, started = [], b""
    for piece in pieces:
        started += piece[0]
        if not piece[1]:
            found.append(started)
            started = b""
    assert started == b"", "partial pieces with no full piece after them"
    return found


async def test_a_40_mb_line_arrives_as_16_kib_pieces_marked_partial_then_one_full() -> None:
    pattern = bytes(range(ord("a"), ord("z") + 1))  # 26 letters: no piece is like its neighbour
    line = (pattern * (40 * 1024 * 1024 // len(pattern) + 1))[: 40 * 1024 * 1024]
    logged, console = await pumped(line)
    assert [(stream, tag, len(text)) for stream, tag, text in logged] == [
        ("stdout", "P", PIECE)
    ] * 2559 + [("stdout", "F", PIECE)]
    assert "".join(text for _, _, text in logged) == line.decode()
    assert console == [f"{PREFIX}{text}" for _, _, text in logged]


def test_the_splitter_holds_at_most_one_piece_of_a_line_that_has_not_ended() -> None:
    splitter = LineSplitter()
    given = written = 0
    for _ in range(200):
        chunk = b"x" * 65536
        given += len(chunk)
        written += sum(len(piece[0]) for piece in splitter.feed(chunk))
        assert given - written <= PIECE
    last = splitter.end()
    assert last is not None
    assert (written + len(last[0]), last[1]) == (given, False)


LINES = [b"first", b"", b"a line of some length", b"x" * (PIECE - 1), b"y" * (PIECE + 1), b"z"]
DATA = b"\n".join(LINES) + b"\n"


def test_lines_split_across_two_chunks_anywhere_are_rejoined_exactly() -> None:
    for cut in range(len(DATA) + 1):
        pieces = split([DATA[:cut], DATA[cut:]])
        assert joined(pieces) == LINES, cut
        assert [len(piece[0]) for piece in pieces if piece[1]] == [PIECE], cut


SHORT = b"one\ntwo words\n\nthree\n"


def test_lines_split_across_three_chunks_anywhere_are_rejoined_exactly() -> None:
    for first in range(len(SHORT) + 1):
        for second in range(first, len(SHORT) + 1):
            chunks = [SHORT[:first], SHORT[first:second], SHORT[second:]]
            assert split(chunks) == [
                (b"one", False), (b"two words", False), (b"", False),
                (b"three", False),
            ], chunks  # fmt: skip


def test_a_line_of_exactly_16_kib_is_one_full_piece() -> None:
    assert split([b"x" * PIECE + b"\n"]) == [(b"x" * PIECE, False)]
    assert split([b"x" * PIECE]) == [(b"x" * PIECE, False)]


async def test_a_last_line_without_a_newline_is_kept() -> None:
    logged, console = await pumped(b"one\nlast words")
    assert logged == [("stdout", "F", "one"), ("stdout", "F", "last words")]
    assert console == [f"{PREFIX}one", f"{PREFIX}last words"]


async def test_a_long_last_line_without_a_newline_is_kept_in_pieces() -> None:
    logged, _ = await pumped(b"x" * (2 * PIECE + 5))
    assert [(tag, len(text)) for _, tag, text in logged] == [("P", PIECE), ("P", PIECE), ("F", 5)]


@pytest.mark.parametrize(
    ("character", "before_cut"),
    [(c, before) for c in ("é", "€", "😀") for before in range(1, len(c.encode()))],
)
async def test_a_character_cut_at_16_kib_goes_whole_into_the_next_piece(
    character: str, before_cut: int
) -> None:
    """`before_cut` of the character's bytes would fall before the cut."""
    line = "x" * (PIECE - before_cut) + character + "y" * 10
    logged, console = await pumped(line.encode() + b"\n")
    assert logged == [
        ("stdout", "P", "x" * (PIECE - before_cut)),
        ("stdout", "F", character + "y" * 10),
    ]
    assert console == [f"{PREFIX}{'x' * (PIECE - before_cut)}", f"{PREFIX}{character}{'y' * 10}"]


async def test_a_character_that_ends_at_16_kib_stays_in_the_first_piece() -> None:
    line = "x" * (PIECE - 3) + "€" + "y"
    logged, _ = await pumped(line.encode())
    assert logged == [("stdout", "P", "x" * (PIECE - 3) + "€"), ("stdout", "F", "y")]


def test_bytes_that_are_not_utf8_are_cut_at_16_kib() -> None:
    pieces = split([b"\x80" * (PIECE + 10)])
    assert [(len(piece[0]), piece[1]) for piece in pieces] == [(PIECE, True), (10, False)]
