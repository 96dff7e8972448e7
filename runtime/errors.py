"""Errors raised by the runtime package.

ContainerRuntimeError      base of every error below
 ├── ImageNotFound         a reference that is not in the image store
 ├── ImageError            an archive or stored image that cannot be used
 │    └── BlobCorrupt      content whose digest is not the one it claims
 ├── RegistryError         a registry that cannot be reached or refused a request
 │    ├── AuthenticationError  the registry wants credentials, or refused them
 │    └── ManifestUnknown  the registry has no such repository, tag or digest
 ├── MountError            an overlay, bind or other mount that failed
 ├── SeccompError          a seccomp profile that is missing, unreadable or invalid
 └── EngineError           the OCI runtime binary refused an operation;
                           carries the runtime's own reason
"""

from pathlib import Path


class ContainerRuntimeError(Exception):
    """Base of the runtime package's errors."""


class ImageNotFound(ContainerRuntimeError):
    """The store holds no image under this reference."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"image {reference!r} is not in the image store")
        self.reference = reference


class ImageError(ContainerRuntimeError):
    """An archive or a stored image is malformed, unreadable or unsafe."""


class BlobCorrupt(ImageError):
    """Downloaded or archived content does not hash to its digest; nothing was stored."""

    def __init__(self, digest: str, where: str) -> None:
        super().__init__(f"blob {digest} from {where} is corrupt: its content does not match")
        self.digest = digest


class RegistryError(ContainerRuntimeError):
    """A registry could not be reached, or answered a request with an error.

    The message names the registry and, where one is involved, the reference.
    """


class AuthenticationError(RegistryError):
    """The registry asked for credentials that Corral lacks, or refused those it sent."""


class ManifestUnknown(RegistryError):
    """The registry has no such repository, tag or digest (HTTP 404)."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"image {reference!r} was not found in its registry")
        self.reference = reference


class MountError(ContainerRuntimeError):
    """A mount or unmount failed; the message names the target and errno."""


class SeccompError(ContainerRuntimeError):
    """A seccomp profile that cannot be read or is not a valid Docker-format profile.

    `field` is where in the profile the problem is (`syscalls[3].action`), None when
    the file as a whole is at fault; `hint` says how to get the file back.
    """

    def __init__(
        self, path: Path, problem: str, field: str | None = None, hint: str | None = None
    ) -> None:
        where = f"seccomp profile {path}" if field is None else f"seccomp profile {path}, {field}"
        super().__init__(f"{where}: {problem}" + ("" if hint is None else f" ({hint})"))
        self.path = path
        self.field = field
        self.problem = problem


class EngineError(ContainerRuntimeError):
    """The OCI runtime binary failed; `reason` is what it said."""

    def __init__(self, operation: str, container_id: str, reason: str) -> None:
        super().__init__(f"{operation} of container {container_id!r} failed: {reason}")
        self.operation = operation
        self.container_id = container_id
        self.reason = reason
