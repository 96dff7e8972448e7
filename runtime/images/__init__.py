"""Images on this host: references, the content-addressed store, registry pulls,
archives. The registry client (and httpx) is imported only by
`runtime.images.pull`, so commands that merely resolve images stay fast."""

from runtime.images.config import Healthcheck, ImageConfig
from runtime.images.reference import Reference, normalize_reference, parse_reference
from runtime.images.store import Image, ImageStore, ImageSummary

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
