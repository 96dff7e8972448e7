"""Images on this host: references, the content-addressed store, registry pulls,
archives.

The names below are imported on first use, so that `import runtime.images.X`
loads only X and what it needs: a warm pull is measured in milliseconds, and
commands that merely read references stay fast.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runtime.images.config import Healthcheck, ImageConfig
    from runtime.images.reference import Reference, normalize_reference, parse_reference
    from runtime.images.store import Image, ImageStore, ImageSummary

_HOMES = {
    "Healthcheck": "config",
    "ImageConfig": "config",
    "Reference": "reference",
    "normalize_reference": "reference",
    "parse_reference": "reference",
    "Image": "store",
    "ImageStore": "store",
    "ImageSummary": "store",
}

__all__ = [
    "Healthcheck",
    "Image",
    "ImageConfig",
    "ImageStore",
    "ImageSummary",
    "Reference",
    "normalize_reference",
    "parse_reference",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
