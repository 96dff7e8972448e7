"""Read a container's log file as a user's tool would: lines of the Kubernetes
CRI log format (`<time> <stream> <P|F> <text>`), P pieces joined to the F
piece of the same stream that ends their line."""


def entries(text: str) -> list[tuple[str, str, str]]:
    """(stream, tag, text) of every line of the file, its timestamp dropped."""
    found = []
    for line in text.split("\n")[:-1]:
        _stamp, stream, tag, piece = line.split(" ", 3)
        assert tag in ("P", "F"), line
        found.append((stream, tag, piece))
    return found


def lines(text: str) -> list[tuple[str, str]]:
    """(stream, line) of each line the container printed, its pieces joined."""
    joined: list[tuple[str, str]] = []
    started: dict[str, list[str]] = {}
    for stream, tag, piece in entries(text):
        started.setdefault(stream, []).append(piece)
        if tag == "F":
            joined.append((stream, "".join(started.pop(stream))))
    return joined
