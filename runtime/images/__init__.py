"""Images on this host: references, the content-addressed store, archive import."""

from runtime.images.reference import normalize_reference
from runtime.images.store import Image, ImageConfig, ImageStore, ImageSummary

__all__ = [
    "Image",
    "ImageConfig",
    "ImageStore",
    "ImageSummary",
    "normalize_reference",
]
