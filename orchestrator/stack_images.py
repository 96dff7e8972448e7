"""The images a stack's services run: found in the store or pulled, per policy.

`up` uses each service's `pull_policy` (default `missing`) unless
`--pull` overrides it; `corral pull` pulls every image unless its
service says `never`, `build`, or (with the image present) `missing`, as
`docker compose pull` does. Each distinct image is fetched once, the
distinct images concurrently. Every service whose image cannot be had is
reported, with the file, line and key of its `image`, before anything
starts.
"""

import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from orchestrator.cli_images import ProgressDisplay
from orchestrator.errors import ImageMissing, Problem
from orchestrator.paths import StateRoots
from orchestrator.spec.model import ProjectSpec, ServiceSpec

if TYPE_CHECKING:
    from runtime.images import Image, ImageStore

MAX_CONCURRENT_IMAGES = 4


@dataclass(frozen=True)
class Wanted:
    """One service's image and the policy it is fetched with."""

    service: ServiceSpec
    reference: str
    policy: str


def images_for_up(
    project: ProjectSpec,
    services: Iterable[str],
    roots: StateRoots,
    *,
    pull: str | None = None,
    stream: TextIO = sys.stdout,
) -> "dict[str, Image]":
    """Each of `services`' image by service name; ImageMissing lists every failure."""
    wanted: list[Wanted] = []
    problems: list[Problem] = []
    for service in _selected(project, services):
        if service.image is None:
            problems.append(_problem(service, "Corral cannot build images yet; name an image"))
            continue
        policy = pull or service.pull_policy or "missing"
        wanted.append(Wanted(service, service.image, "never" if policy == "build" else policy))
    images = _fetch(wanted, roots, problems, stream)
    if problems:
        raise ImageMissing("\n".join(str(problem) for problem in problems))
    return images


def pull_stack(
    project: ProjectSpec,
    services: Iterable[str],
    roots: StateRoots,
    *,
    policy: str | None = None,
    stream: TextIO = sys.stdout,
) -> "tuple[dict[str, Image], list[Problem]]":
    """`corral pull`: the pulled images by service, and the services that failed."""
    wanted: list[Wanted] = []
    for service in _selected(project, services):
        chosen = service.pull_policy or "always"
        if service.image is None or chosen in ("never", "build"):
            continue
        wanted.append(Wanted(service, service.image, policy or chosen))
    problems: list[Problem] = []
    return _fetch(wanted, roots, problems, stream), problems


def _selected(project: ProjectSpec, names: Iterable[str]) -> list[ServiceSpec]:
    """The named services in the files' order, so problems are listed in it."""
    wanted = set(names)
    return [service for service in project.services if service.name in wanted]


def _fetch(
    wanted: list[Wanted], roots: StateRoots, problems: list[Problem], stream: TextIO
) -> "dict[str, Image]":
    from runtime.errors import ContainerRuntimeError
    from runtime.images import ImageStore

    store = ImageStore(roots.images)
    by_reference: dict[tuple[str, str], list[ServiceSpec]] = {}
    for item in wanted:
        by_reference.setdefault((item.reference, item.policy), []).append(item.service)
    display = ProgressDisplay(stream)
    fetch = _fetcher(store, display)
    with ThreadPoolExecutor(MAX_CONCURRENT_IMAGES) as pool:
        futures = {key: pool.submit(fetch, *key) for key in by_reference}
    display.finish()
    images: dict[str, Image] = {}
    for key, future in futures.items():
        error = future.exception()
        for service in by_reference[key]:
            if error is None:
                images[service.name] = future.result()
            elif isinstance(error, (ContainerRuntimeError, OSError)):
                problems.append(_problem(service, _explain(error, *key)))
            else:
                raise error
    return images


def _fetcher(store: "ImageStore", display: ProgressDisplay) -> "Callable[[str, str], Image]":
    from runtime.images.pull import ensure_image

    def fetch(reference: str, policy: str) -> "Image":
        return ensure_image(store, reference, policy, progress=display)

    return fetch


def _explain(error: BaseException, reference: str, policy: str) -> str:
    from runtime.errors import ImageNotFound, ManifestUnknown

    if isinstance(error, ImageNotFound) and policy == "never":
        return (
            f"{error}, and its pull_policy is never"
            " (add it with `corral image pull`, `image load` or `image import`)"
        )
    if isinstance(error, (ImageNotFound, ManifestUnknown)):
        return str(error)
    return f"cannot pull {reference}: {error}"


def _problem(service: ServiceSpec, message: str) -> Problem:
    location = service.image_location or service.where("image")
    return Problem(
        location.file, location.line, f"services.{service.name}.image", message, location.column
    )
