"""What a pull reports of each layer as it goes, to a callback that may be called
from several threads at once."""

from collections.abc import Callable
from enum import Enum
from typing import NamedTuple


class LayerStatus(Enum):
    WAITING = "waiting"
    DOWNLOADING = "downloading"
    EXTRACTING = "extracting"
    DONE = "pull complete"
    PRESENT = "already exists"


class LayerProgress(NamedTuple):  # half a dataclass's cost to define, on every pull's path
    digest: str  # of the layer blob
    size: int
    done: int  # bytes downloaded so far
    status: LayerStatus


Progress = Callable[[LayerProgress], None]


def ignore(event: LayerProgress) -> None:
    """The Progress of a caller that shows none."""
