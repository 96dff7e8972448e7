"""A client of the distribution API v2: manifests and blobs, with authentication.

Authentication follows the registry's `WWW-Authenticate` challenge: Bearer
(a token from the realm, anonymously or with the user's credentials, one per
repository) or Basic (the user's credentials on each request). TLS uses the
system trust store (so `SSL_CERT_FILE` applies); plain HTTP is used only for
registries on loopback or listed in CORRAL_INSECURE_REGISTRIES, and only when
the registry does not speak TLS. Transient failures (connection errors,
timeouts, 429, 5xx) are retried with a backoff; a blob download that breaks
off resumes with an HTTP Range request from the byte it reached.

httpx is imported by this module only, and this module only by the pull path.
"""

import base64
import ipaddress
import os
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

import httpx
import trio

from runtime.errors import AuthenticationError, ManifestUnknown, RegistryError
from runtime.images.credentials import Credentials
from runtime.images.media import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from runtime.images.reference import DOCKER_HUB, DOCKER_HUB_API

MANIFEST_ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
INSECURE_VARIABLE = "CORRAL_INSECURE_REGISTRIES"
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(?:\d+|\*)")
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class BlobSink(Protocol):
    """Where a blob's bytes go: `offset` bytes are already there."""

    offset: int

    def write(self, chunk: bytes) -> None: ...

    def restart(self) -> None:
        """Throw away what was written: the server sends the blob from its start."""


@dataclass
class RetryPolicy:
    attempts: int = 5
    first_delay: float = 0.2
    sleep: Callable[[float], Awaitable[None]] = field(default=trio.sleep)

    def delay(self, attempt: int) -> float:
        return float(self.first_delay * 2**attempt)


def is_insecure_allowed(host: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Plain HTTP is allowed for loopback registries and those the user lists."""
    listed = {item.strip() for item in environ.get(INSECURE_VARIABLE, "").split(",")}
    if host in listed:
        return True
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class _Transient(Exception):
    """A failure worth another attempt."""


class RegistryClient:
    def __init__(
        self,
        client: httpx.AsyncClient,
        host: str,
        credentials: Credentials | None,
        *,
        insecure_allowed: bool,
        retry: RetryPolicy,
    ) -> None:
        self._client = client
        self.host = host
        self._credentials = credentials
        self._insecure_allowed = insecure_allowed
        self._retry = retry
        self._scheme: str | None = None
        self._authorization: dict[str, str] = {}  # repository -> Authorization header

    async def check_login(self) -> None:
        """Authenticate against the registry's API root; AuthenticationError if refused."""
        async with self._send("GET", "/v2/", repository="", headers={}) as response:
            self._raise_for_status(response, "", what="the API root")

    async def manifest(self, repository: str, reference: str, shown: str) -> tuple[bytes, str]:
        """The manifest (or index) `reference` of `repository`: (bytes, Content-Type)."""
        path = f"/v2/{repository}/manifests/{reference}"
        headers = {"Accept": MANIFEST_ACCEPT}
        for attempt in range(self._retry.attempts):
            try:
                async with self._send("GET", path, repository, headers) as response:
                    if response.status_code == 404:
                        raise ManifestUnknown(shown)
                    self._raise_for_status(response, repository, what=f"image {shown!r}")
                    body = await response.aread()
                    return body, response.headers.get("content-type", "")
            except _Transient as exc:
                await self._backoff(attempt, exc)
        raise AssertionError("unreachable")  # pragma: no cover

    async def blob(self, repository: str, digest: str, sink: BlobSink) -> None:
        """Fetch blob `digest` into `sink`, resuming from `sink.offset`."""
        path = f"/v2/{repository}/blobs/{digest}"
        for attempt in range(self._retry.attempts):
            headers = {"Range": f"bytes={sink.offset}-"} if sink.offset else {}
            try:
                async with self._send("GET", path, repository, headers) as response:
                    if response.status_code == 416:
                        return  # the sink holds the whole blob already
                    if response.status_code == 404:
                        raise RegistryError(
                            f"registry {self.host} has no blob {digest} in {repository}"
                        )
                    self._raise_for_status(response, repository, what=f"blob {digest}")
                    if not self._continues(response, sink.offset):
                        sink.restart()
                    try:
                        async for chunk in response.aiter_raw():
                            sink.write(chunk)
                    except httpx.TransportError as exc:
                        raise _Transient(str(exc) or type(exc).__name__) from exc
                    return
            except _Transient as exc:
                await self._backoff(attempt, exc)

    @staticmethod
    def _continues(response: httpx.Response, offset: int) -> bool:
        """Whether `response` carries the blob from `offset` on (a 206 from there)."""
        if response.status_code != 206:
            return offset == 0
        match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        return match is not None and int(match[1]) == offset

    async def _backoff(self, attempt: int, exc: _Transient) -> None:
        if attempt + 1 >= self._retry.attempts:
            raise RegistryError(
                f"registry {self.host} failed {self._retry.attempts} times: {exc}"
            ) from exc
        await self._retry.sleep(self._retry.delay(attempt))

    @asynccontextmanager
    async def _send(
        self, method: str, path: str, repository: str, headers: dict[str, str]
    ) -> AsyncIterator[httpx.Response]:
        """Send a request, answering one authentication challenge; yields the streamed response."""
        response = await self._attempt(method, path, repository, headers)
        try:
            if response.status_code == 401:
                await response.aclose()
                await self._authenticate(response, repository)
                response = await self._attempt(method, path, repository, headers)
            if response.status_code in _TRANSIENT_STATUS:
                raise _Transient(f"HTTP {response.status_code} for {path}")
            yield response
        finally:
            await response.aclose()

    async def _attempt(
        self, method: str, path: str, repository: str, headers: dict[str, str]
    ) -> httpx.Response:
        headers = dict(headers)
        authorization = self._authorization.get(repository)
        if authorization:
            headers["Authorization"] = authorization
        url = f"{await self._base()}{path}"
        try:
            request = self._client.build_request(method, url, headers=headers)
            return await self._client.send(request, stream=True, follow_redirects=True)
        except httpx.TransportError as exc:
            raise _Transient(_describe(exc)) from exc

    async def _base(self) -> str:
        if self._scheme is None:
            self._scheme = await self._probe_scheme()
        return f"{self._scheme}://{self.host}"

    async def _probe_scheme(self) -> str:
        """https, unless plain HTTP is allowed here and the registry does not speak TLS."""
        if not self._insecure_allowed:
            return "https"
        try:
            response = await self._client.get(f"https://{self.host}/v2/")
        except httpx.TransportError as exc:
            cause = _ssl_cause(exc)
            if isinstance(cause, ssl.SSLCertVerificationError):
                raise RegistryError(
                    f"registry {self.host}: its TLS certificate is not trusted: {cause.reason}"
                ) from exc
            if cause is not None:
                return "http"
            raise RegistryError(f"cannot reach registry {self.host}: {_describe(exc)}") from exc
        await response.aclose()
        return "https"

    async def _authenticate(self, response: httpx.Response, repository: str) -> None:
        challenge = response.headers.get("www-authenticate", "")
        scheme, _, rest = challenge.partition(" ")
        params = dict(_CHALLENGE_PARAM.findall(rest))
        if self._authorization.get(repository):
            raise self._refused(repository)
        if scheme.lower() == "basic":
            if self._credentials is None:
                raise self._needs_login()
            self._authorization[repository] = _basic(self._credentials)
        elif scheme.lower() == "bearer" and "realm" in params:
            self._authorization[repository] = await self._token(params, repository)
        else:
            raise AuthenticationError(
                f"registry {self.host} asks for authentication Corral does not support:"
                f" {challenge or 'no WWW-Authenticate header'}"
            )

    async def _token(self, params: dict[str, str], repository: str) -> str:
        query = {"service": params.get("service", "")}
        scope = params.get("scope") or (f"repository:{repository}:pull" if repository else "")
        if scope:
            query["scope"] = scope
        auth = None
        if self._credentials is not None:
            auth = httpx.BasicAuth(self._credentials.username, self._credentials.password)
            query["account"] = self._credentials.username
        try:
            response = await self._client.get(params["realm"], params=query, auth=auth)
        except httpx.TransportError as exc:
            raise RegistryError(
                f"cannot reach the token service of registry {self.host}: {_describe(exc)}"
            ) from exc
        if response.status_code in (401, 403):
            raise self._refused(repository) if self._credentials else self._needs_login()
        if response.status_code != 200:
            raise RegistryError(
                f"the token service of registry {self.host} answered HTTP {response.status_code}"
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise RegistryError(f"registry {self.host} sent a token that is not JSON") from exc
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"the token service of registry {self.host} sent no token")
        return f"Bearer {token}"

    def _raise_for_status(self, response: httpx.Response, repository: str, *, what: str) -> None:
        if response.status_code in (200, 206):
            return
        if response.status_code == 401:
            raise self._refused(repository) if self._credentials else self._needs_login()
        if response.status_code == 403:
            raise AuthenticationError(f"registry {self.host} denied access to {what}")
        raise RegistryError(f"registry {self.host} answered HTTP {response.status_code} for {what}")

    def _needs_login(self) -> AuthenticationError:
        return AuthenticationError(
            f"registry {self.host} requires authentication: run `corral login {self.host}`"
        )

    def _refused(self, repository: str) -> AuthenticationError:
        where = f" for {repository}" if repository else ""
        if self._credentials is None:
            return AuthenticationError(
                f"registry {self.host} denied access{where}: the repository does not exist"
                f" or needs `corral login {self.host}`"
            )
        user = self._credentials.username
        return AuthenticationError(
            f"registry {self.host} refused the credentials of user {user!r}{where}"
        )


@asynccontextmanager
async def open_registry(
    host: str,
    credentials: Credentials | None,
    *,
    environ: Mapping[str, str] = os.environ,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
) -> AsyncIterator[RegistryClient]:
    """A client of the registry at `host` ("host[:port]"), for the duration of the block."""
    timeout = httpx.Timeout(30.0, connect=10.0)
    async with httpx.AsyncClient(
        verify=ssl.create_default_context(),
        timeout=timeout,
        transport=transport,
        limits=httpx.Limits(max_connections=8),
        headers={"User-Agent": "corral"},
    ) as client:
        yield RegistryClient(
            client,
            host,
            credentials,
            insecure_allowed=is_insecure_allowed(host, environ),
            retry=retry or RetryPolicy(),
        )


def _basic(credentials: Credentials) -> str:
    token = f"{credentials.username}:{credentials.password}".encode()
    return f"Basic {base64.b64encode(token).decode()}"


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _describe(exc: httpx.TransportError) -> str:
    return str(exc) or type(exc).__name__


async def check_credentials(
    registry: str, credentials: Credentials, *, environ: Mapping[str, str] = os.environ
) -> None:
    """Log in to `registry` ("host[:port]" or "docker.io") once, to prove `credentials`.

    Raises AuthenticationError if the registry refuses them.
    """
    host = DOCKER_HUB_API if registry == DOCKER_HUB else registry
    async with open_registry(host, credentials, environ=environ) as client:
        await client.check_login()
