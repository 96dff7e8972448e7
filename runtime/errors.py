"""Errors raised by the runtime package.

    ContainerRuntimeError      base of every error below
     ├── ImageNotFound         a reference that is not in the image store
     ├── ImageError            an archive or stored image that cannot be used
     ├── MountError            an overlay, bind or other mount that failed
     └── EngineError           the OCI runtime binary refused an operation;
                               carries the runtime's own reason
"""


class ContainerRuntimeError(Exception):
    """Base of the runtime package's errors."""


class ImageNotFound(ContainerRuntimeError):
    """The store holds no image under this reference."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"image {reference!r} is not in the image store")
        self.reference = reference


class ImageError(ContainerRuntimeError):
    """An archive or a stored image is malformed, unreadable or unsafe."""


class MountError(ContainerRuntimeError):
    """A mount or unmount failed; the message names the target and errno."""


class EngineError(ContainerRuntimeError):
    """The OCI runtime binary failed; `reason` is what it said."""

    def __init__(self, operation: str, container_id: str, reason: str) -> None:
        super().__init__(f"{operation} of container {container_id!r} failed: {reason}")
        self.operation = operation
        self.container_id = container_id
        self.reason = reason
