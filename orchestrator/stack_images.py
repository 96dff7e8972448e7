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
from typing import TYPE_CHECKING, TextIO

from orchestrator.cli_images import ProgressDisplay
from orchestrator.errors import ImageMissing, Problem
from orchestrator.paths import StateRoots
from orchestrator.spec.model import ProjectSpec, ServiceSpec

if TYPE_CHECKING:
    from runtime.images import Image

MAX_CONCURRENT_IMAGES = 4

_Key = tuple[str, str]
"""(reference, policy): what is fetched once for every service that shares it."""


def images_for_up(
    project: ProjectSpec,
    services: Iterable[str],
    roots: StateRoots,
    *,
    pull: str | None = None,
    stream: TextIO = sys.stdout,
) -> "dict[str, Image]":
    """Each of `services`' image by service name; ImageMissing lists every failure."""
    wanted: dict[_Key, list[ServiceSpec]] = {}
    problems: list[Problem] = []
    for service in _selected(project, services):
        if service.image is None:
            problems.append(_problem(service, "Corral cannot build images yet; name an image"))
            continue
        policy = pull or service.pull_policy or "missing"
        key = (service.image, "never" if policy == "build" else policy)
        wanted.setdefault(key, []).append(service)
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
    wanted: dict[_Key, list[ServiceSpec]] = {}
    for service in _selected(project, services):
        chosen = service.pull_policy or "always"
        if service.image is None or chosen in ("never", "build"):
            continue
        wanted.setdefault((service.image, policy or chosen), []).append(service)
    problems: list[Problem] = []
    return _fetch(wanted, roots, problems, stream), problems


def _selected(project: ProjectSpec, names: Iterable[str]) -> list[ServiceSpec]:
    """The named services in the files' order, so problems are listed in it."""
    wanted = set(names)
    return [service for service in project.services if service.name in wanted]


def _fetch(
    wanted: dict[_Key, list[ServiceSpec]],
    roots: StateRoots,
    problems: list[Problem],
    stream: TextIO,
) -> "dict[str, Image]":
    from runtime.errors import ContainerRuntimeError
    from runtime.images import ImageStore
    from runtime.images.pull import ensure_image

    store = ImageStore(roots.images)
    display = ProgressDisplay(stream)

    def fetch(key: _Key) -> "Image | Exception":
        try:
            return ensure_image(store, *key, progress=display)
        except Exception as exc:  # noqa: BLE001 - sorted out below, per service
            return exc

    outcomes = _run_all(list(wanted), fetch)
    display.finish()
    images: dict[str, Image] = {}
    for key, outcome in outcomes.items():
        if isinstance(outcome, Exception) and not isinstance(
            outcome, (ContainerRuntimeError, OSError)
        ):
            raise outcome
        for service in wanted[key]:
            if isinstance(outcome, Exception):
                problems.append(_problem(service, _explain(outcome, *key)))
            else:
                images[service.name] = outcome
    return images


def _run_all(
    keys: list[_Key], fetch: "Callable[[_Key], Image | Exception]"
) -> "dict[_Key, Image | Exception]":
    """`fetch` of every key, several at a time; one (the usual case: every
    service on one image) runs here, with no thread pool to start or import."""
    if len(keys) <= 1:
        return {key: fetch(key) for key in keys}
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(MAX_CONCURRENT_IMAGES)
    try:
        outcomes = dict(zip(keys, pool.map(fetch, keys), strict=True))
    except KeyboardInterrupt:
        # Ctrl-C ends the command now, not once every pull has finished: the
        # threads end with the process, and a cut download resumes later.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return outcomes


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
