"""A client of the distribution API v2: manifests and blobs, with authentication.

Authentication follows the registry's `WWW-Authenticate` challenge: Bearer
(a token from the realm, anonymously or with the user's credentials, one per
repository) or Basic (the user's credentials on each request).

TLS uses the system trust store (so `SSL_CERT_FILE` applies). Plain HTTP is
used only for registries on loopback or listed in CORRAL_INSECURE_REGISTRIES,
and only when the registry does not speak TLS. A listed registry is tried
with TLS first, and plain HTTP only if the TLS handshake fails. A loopback
registry is tried the other way round, since no one can watch loopback
traffic: a plain request that a TLS server refuses costs nothing, and a
plain HTTP registry (the usual local one) is then reached without loading
ssl and the trust store.

Transient failures (connection errors, timeouts, 408, 429, 5xx) are retried
with a backoff; a blob download that breaks off resumes with an HTTP Range
request from the byte it reached.

Requests go through the proxies that HTTPS_PROXY, HTTP_PROXY and NO_PROXY
name, as Docker's do (see `proxies`); loopback registries are never proxied.
"""

import ipaddress
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from typing import NamedTuple, TypeVar

from runtime.errors import (
    AuthenticationError,
    BlobCorrupt,
    ImageError,
    ManifestUnknown,
    RegistryError,
)
from runtime.images.credentials import Credentials, encode_auth
from runtime.images.media import (
    DIGEST,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
)
from runtime.images.proxies import ProxySelector
from runtime.images.reference import DOCKER_HUB, DOCKER_HUB_API
from runtime.images.transport import (
    CertificateError,
    ConnectError,
    HandshakeError,
    Origin,
    ProxyAuthenticationError,
    Response,
    Transport,
    TransportError,
    split_url,
)

MANIFEST_ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
INSECURE_VARIABLE = "CORRAL_INSECURE_REGISTRIES"
MAX_MANIFEST = 4 << 20  # bytes of a manifest or index, as Docker and containerd allow
MAX_SMALL_BLOB = 8 << 20  # bytes of a config blob
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(?:\d+|\*)")
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 10
_API = "docker-distribution-api-version"
_T = TypeVar("_T")


class RetryPolicy(NamedTuple):  # half a dataclass's cost to define, on every pull's path
    attempts: int = 5
    first_delay: float = 0.2
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        return float(self.first_delay * 2**attempt)


def is_loopback(host: str) -> bool:
    """Whether `host` ("name[:port]", "[v6]:port") is this machine's loopback."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_insecure_allowed(host: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Plain HTTP is allowed for loopback registries and those the user lists."""
    listed = {item.strip() for item in environ.get(INSECURE_VARIABLE, "").split(",")}
    return host in listed or is_loopback(host)


class _Transient(Exception):
    """A failure worth another attempt."""


class Cancelled(Exception):
    """Another layer of the pull failed, or the pull was interrupted: this one stops."""


class RegistryClient:
    """One registry's API, for one pull. Requests may come from several threads once
    the first one, which settles the scheme, has been answered."""

    def __init__(
        self,
        transport: Transport,
        host: str,
        credentials: Credentials | None,
        *,
        environ: Mapping[str, str] = os.environ,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._transport = transport
        self.host = host
        self._credentials = credentials
        self._retry = retry or RetryPolicy()
        if is_loopback(host):
            self._schemes = ["http", "https"]
        elif is_insecure_allowed(host, environ):
            self._schemes = ["https", "http"]
        else:
            self._schemes = ["https"]
        self._authorization: dict[str, str] = {}  # repository -> Authorization header
        self._auth_lock = threading.Lock()

    def check_login(self) -> None:
        """Authenticate against the registry's API root; AuthenticationError if refused."""

        def attempt() -> None:
            with closing(self._request("GET", "/v2/", "", {})) as response:
                self.raise_for_status(response, "", what="the API root")

        self._retrying(attempt)

    def manifest_digest(self, repository: str, reference: str, shown: str) -> str | None:
        """The digest of manifest (or index) `reference`, from a HEAD request; None if
        the registry does not tell it that way (then GET the manifest)."""
        path = f"/v2/{repository}/manifests/{reference}"

        def attempt() -> str | None:
            headers = {"Accept": MANIFEST_ACCEPT}
            with closing(self._request("HEAD", path, repository, headers)) as response:
                if response.status == 404:
                    raise ManifestUnknown(shown)
                if response.status in (400, 405, 501):
                    return None  # HEAD not supported
                self.raise_for_status(response, repository, what=f"image {shown!r}")
                digest = response.header("docker-content-digest")
                return digest if DIGEST.fullmatch(digest) else None

        return self._retrying(attempt)

    def manifest(self, repository: str, reference: str, shown: str) -> tuple[bytes, str]:
        """The manifest (or index) `reference` of `repository`: (bytes, Content-Type)."""
        path = f"/v2/{repository}/manifests/{reference}"

        def attempt() -> tuple[bytes, str]:
            headers = {"Accept": MANIFEST_ACCEPT}
            with closing(self._request("GET", path, repository, headers)) as response:
                if response.status == 404:
                    raise ManifestUnknown(shown)
                self.raise_for_status(response, repository, what=f"image {shown!r}")
                try:
                    data = _read_at_most(response, MAX_MANIFEST)
                except TransportError as exc:
                    raise _Transient(str(exc)) from exc
                if data is None:
                    raise ImageError(
                        f"the manifest of {shown!r} from registry {self.host} is larger than"
                        f" {MAX_MANIFEST >> 20} MiB, the most Corral accepts"
                    )
                return data, response.header("content-type")

        return self._retrying(attempt)

    def blob(
        self,
        repository: str,
        digest: str,
        offset: int = 0,
        cancel: threading.Event | None = None,
    ) -> "BlobStream":
        """Blob `digest` of `repository` from byte `offset` on, to `read` in chunks; once
        `cancel` is set, a wait between attempts ends in Cancelled."""
        return BlobStream(self, repository, digest, offset, cancel)

    def small_blob(self, repository: str, blob: Descriptor) -> bytes:
        """The whole of a small blob (a config); BlobCorrupt if longer than `blob.size`,
        ImageError if that is more than MAX_SMALL_BLOB."""
        if blob.size > MAX_SMALL_BLOB:
            raise ImageError(
                f"blob {blob.digest} of {repository} is {blob.size} bytes; Corral takes"
                f" a config of at most {MAX_SMALL_BLOB >> 20} MiB"
            )
        with closing(self.blob(repository, blob.digest)) as stream:
            data = _read_at_most(stream, blob.size)
        if data is None:
            raise BlobCorrupt(blob.digest, f"registry {self.host}")
        return data

    def backoff(self, attempt: int, exc: Exception, cancel: threading.Event | None = None) -> None:
        """Wait before attempt `attempt + 1` (counting from 0), or raise RegistryError
        if that was the last; raise Cancelled as soon as `cancel` is set."""
        if attempt + 1 >= self._retry.attempts:
            raise RegistryError(
                f"registry {self.host} failed {self._retry.attempts} times: {exc}"
            ) from exc
        delay = self._retry.delay(attempt)
        if cancel is None:
            self._retry.sleep(delay)
        elif cancel.wait(delay):
            raise Cancelled()

    def _retrying(self, attempt: Callable[[], _T]) -> _T:
        for number in range(self._retry.attempts):
            try:
                return attempt()
            except _Transient as exc:
                self.backoff(number, exc)
        raise AssertionError("unreachable")  # pragma: no cover

    def _request(
        self, method: str, path: str, repository: str, headers: dict[str, str]
    ) -> Response:
        """Send a request, answering one authentication challenge. The caller closes
        the response; _Transient for failures worth another attempt."""
        sent = self._authorization.get(repository)
        response = self._attempt(method, path, headers, sent)
        if response.status == 401:
            challenges = response.header_values("www-authenticate")
            response.close()
            self._authenticate(challenges, repository, sent)
            response = self._attempt(method, path, headers, self._authorization.get(repository))
        if response.status in _TRANSIENT_STATUS:
            response.close()
            raise _Transient(f"HTTP {response.status} for {path}")
        return response

    def _attempt(
        self, method: str, path: str, headers: dict[str, str], authorization: str | None
    ) -> Response:
        if authorization:
            headers = {**headers, "Authorization": authorization}
        while True:
            scheme = self._schemes[0]
            try:
                response = self._follow(method, f"{scheme}://{self.host}{path}", headers)
            except CertificateError as exc:
                raise RegistryError(
                    f"registry {self.host}: its TLS certificate is not trusted: {exc.reason}"
                ) from exc
            except ProxyAuthenticationError as exc:
                raise RegistryError(f"registry {self.host}: {exc}") from exc
            except TransportError as exc:
                if self._other_scheme_fits(scheme, exc):
                    continue
                raise _Transient(str(exc)) from exc
            if len(self._schemes) > 1:
                if scheme == "http" and response.status == 400 and _API not in response.headers:
                    response.close()  # a TLS server's answer to a plain request
                    self._schemes.pop(0)
                    continue
                del self._schemes[1:]
            return response

    def _other_scheme_fits(self, scheme: str, exc: TransportError) -> bool:
        """Whether `exc` shows a server speaking the other scheme allowed here; if so,
        switch to it."""
        if len(self._schemes) < 2 or isinstance(exc, ConnectError):
            return False
        if scheme == "https" and not isinstance(exc, HandshakeError):
            return False
        self._schemes.pop(0)
        return True

    def _follow(self, method: str, url: str, headers: dict[str, str]) -> Response:
        """Send, following redirects; credentials never follow one to another origin."""
        for _ in range(_MAX_REDIRECTS):
            response = self._transport.request(method, url, headers)
            location = response.header("location")
            if response.status not in _REDIRECTS or not location:
                return response
            response.close()
            from urllib.parse import urljoin

            target = urljoin(url, location)
            try:
                if split_url(target)[0] != split_url(url)[0]:
                    headers = {k: v for k, v in headers.items() if k != "Authorization"}
            except ValueError as exc:
                raise RegistryError(
                    f"registry {self.host} redirected to an unusable URL {location!r}"
                ) from exc
            url = target
        raise RegistryError(f"registry {self.host} redirected more than {_MAX_REDIRECTS} times")

    def _authenticate(self, challenges: list[str], repository: str, sent: str | None) -> None:
        """Answer a 401 to a request that carried the Authorization `sent` (None: none).

        A Bearer token is fetched afresh (it may have expired); credentials
        sent with Basic were refused. When another thread has already changed
        the repository's authorization, the request is only tried again with it.
        """
        from runtime.images.challenges import parse_challenges, preferred

        challenge = preferred(parse_challenges(challenges))
        with self._auth_lock:
            if self._authorization.get(repository) != sent:
                return  # another thread authenticated meanwhile
            if sent is not None and not sent.startswith("Bearer "):
                raise self._refused(repository)
            if challenge is None:
                raise AuthenticationError(
                    f"registry {self.host} asks for authentication Corral does not support:"
                    f" {' / '.join(challenges) or 'no WWW-Authenticate header'}"
                )
            if challenge.scheme == "bearer":
                self._authorization[repository] = self._token(challenge.params, repository)
            elif self._credentials is None:
                raise self._needs_login()
            else:
                self._authorization[repository] = _basic(self._credentials)

    def _token(self, params: dict[str, str], repository: str) -> str:
        """A Bearer token from the challenge's realm, fetched with the retry policy.

        The user's credentials go to the realm only over https, or to the
        registry's own host (which already sees them in plain HTTP if it is
        plain): never in clear text to another host. The token is then asked
        for anonymously.
        """
        from urllib.parse import urlencode

        realm = params["realm"]
        try:
            realm_origin = split_url(realm)[0]
        except ValueError as exc:
            raise RegistryError(
                f"registry {self.host} named an unusable token service {realm!r}"
            ) from exc
        query = {"service": params.get("service", "")}
        scope = params.get("scope") or (f"repository:{repository}:pull" if repository else "")
        if scope:
            query["scope"] = scope
        headers = {}
        withheld = self._credentials is not None and not self._may_receive_credentials(realm_origin)
        if self._credentials is not None and not withheld:
            headers["Authorization"] = _basic(self._credentials)
            query["account"] = self._credentials.username
        url = f"{realm}{'&' if '?' in realm else '?'}{urlencode(query)}"
        status, body = self._retrying(lambda: self._token_response(url, headers, realm_origin))
        if status in (401, 403) and withheld:
            raise AuthenticationError(
                f"the token service of registry {self.host} refused an anonymous token; Corral"
                f" sends credentials only over https or to the registry's host, not to {realm}"
            )
        if status in (401, 403):
            raise self._refused(repository) if self._credentials else self._needs_login()
        if status != 200:
            raise RegistryError(f"the token service of registry {self.host} answered HTTP {status}")
        return f"Bearer {self._token_in(body)}"

    def _may_receive_credentials(self, origin: Origin) -> bool:
        registry_name = Origin("https", self.host).address[0]
        return origin.scheme == "https" or origin.address[0].lower() == registry_name.lower()

    def _token_response(
        self, url: str, headers: dict[str, str], origin: Origin
    ) -> tuple[int, bytes]:
        """(status, body) of one request to the token service; _Transient for failures
        worth another attempt."""
        try:
            with closing(self._follow("GET", url, headers)) as response:
                if response.status in _TRANSIENT_STATUS:
                    raise _Transient(
                        f"the token service {origin.host} answered HTTP {response.status}"
                    )
                return response.status, response.read() if response.status == 200 else b""
        except (CertificateError, ProxyAuthenticationError) as exc:
            raise RegistryError(f"the token service of registry {self.host}: {exc}") from exc
        except TransportError as exc:
            raise _Transient(f"the token service of registry {self.host}: {exc}") from exc

    def _token_in(self, body: bytes) -> str:
        import json

        try:
            document = json.loads(body)
        except ValueError as exc:
            raise RegistryError(f"registry {self.host} sent a token that is not JSON") from exc
        token = None
        if isinstance(document, dict):
            token = document.get("token") or document.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"the token service of registry {self.host} sent no token")
        if not token.isprintable():  # it goes into a header line
            raise RegistryError(f"the token service of registry {self.host} sent a bad token")
        return token

    def raise_for_status(self, response: Response, repository: str, *, what: str) -> None:
        """Raise the error that `response`'s status means, unless it is 200 or 206."""
        if response.status in (200, 206):
            return
        if response.status == 401:
            raise self._refused(repository) if self._credentials else self._needs_login()
        if response.status == 403:
            raise AuthenticationError(f"registry {self.host} denied access to {what}")
        if response.status == 407:
            raise RegistryError(
                f"the proxy to registry {self.host} requires authentication (HTTP 407) for"
                f" {what}: set it in the proxy's URL, http://user:password@host:port"
            )
        raise RegistryError(f"registry {self.host} answered HTTP {response.status} for {what}")

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


class BlobStream:
    """A blob's bytes from `offset` on, as `read` returns them (b"" at the end).

    A response that breaks off is followed by a Range request from the byte
    reached; from a server that ignores the range, the bytes before it are
    skipped. Every (re)connection counts against the retry policy's attempts.
    """

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        digest: str,
        offset: int,
        cancel: threading.Event | None = None,
    ) -> None:
        self._client = client
        self._cancel = cancel
        self._repository = repository
        self._digest = digest
        self.offset = offset
        self._response: Response | None = None
        self._failures = 0
        self._ended = False

    def read(self, size: int) -> bytes:
        while not self._ended:
            try:
                if self._response is None:
                    self._response = self._open()
                    continue
                data = self._response.read(size)
            except (_Transient, TransportError) as exc:
                self._failed(exc)
                continue
            if not data:
                self.close()
            self.offset += len(data)
            return data
        return b""

    def close(self) -> None:
        self._ended = True
        if self._response is not None:
            self._response.close()
            self._response = None

    def _open(self) -> Response | None:
        path = f"/v2/{self._repository}/blobs/{self._digest}"
        headers = {"Range": f"bytes={self.offset}-"} if self.offset else {}
        response = self._client._request("GET", path, self._repository, headers)
        try:
            if response.status == 416:
                self._ended = True  # the offset is the blob's end
                response.close()
                return None
            if response.status == 404:
                raise RegistryError(
                    f"registry {self._client.host} has no blob {self._digest} in {self._repository}"
                )
            self._client.raise_for_status(response, self._repository, what=f"blob {self._digest}")
            self._skip(response, self._start(response))
        except BaseException:
            response.close()
            raise
        return response

    def _start(self, response: Response) -> int:
        """The offset in the blob of the first byte `response` carries."""
        if response.status != 206:
            return 0
        match = _CONTENT_RANGE.match(response.header("content-range"))
        start = int(match[1]) if match else -1
        if not 0 <= start <= self.offset:
            raise RegistryError(
                f"registry {self._client.host} sent blob {self._digest} from byte {start},"
                f" not {self.offset}"
            )
        return start

    def _skip(self, response: Response, start: int) -> None:
        left = self.offset - start
        while left > 0:
            data = response.read(min(left, 1 << 20))
            if not data:
                raise TransportError(f"{self._client.host}: the blob ended before byte {left}")
            left -= len(data)

    def _failed(self, exc: Exception) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None
        self._failures += 1
        self._client.backoff(self._failures - 1, exc, self._cancel)


@contextmanager
def open_registry(
    host: str,
    credentials: Credentials | None,
    *,
    environ: Mapping[str, str] = os.environ,
    retry: RetryPolicy | None = None,
) -> Iterator[RegistryClient]:
    """A client of the registry at `host` ("host[:port]"), for the duration of the block."""
    try:
        proxy = ProxySelector(environ)
    except ValueError as exc:
        raise RegistryError(f"cannot reach registry {host}: {exc}") from exc
    transport = Transport(proxy=proxy)
    try:
        yield RegistryClient(transport, host, credentials, environ=environ, retry=retry)
    finally:
        transport.close()


def _read_at_most(source: Response | BlobStream, limit: int) -> bytes | None:
    """The rest of `source` if it holds at most `limit` bytes; None (having read
    `limit` + 1) if more."""
    if isinstance(source, Response):
        length = source.header("content-length")
        if length.isdigit() and int(length) > limit:
            return None
    parts: list[bytes] = []
    left = limit + 1
    while left > 0 and (part := source.read(left)):
        parts.append(part)
        left -= len(part)
    return None if left == 0 else b"".join(parts)


def _basic(credentials: Credentials) -> str:
    return f"Basic {encode_auth(credentials)}"


def check_credentials(
    registry: str, credentials: Credentials, *, environ: Mapping[str, str] = os.environ
) -> None:
    """Log in to `registry` ("host[:port]" or "docker.io") once, to prove `credentials`.

    Raises AuthenticationError if the registry refuses them.
    """
    host = DOCKER_HUB_API if registry == DOCKER_HUB else registry
    with open_registry(host, credentials, environ=environ) as client:
        client.check_login()
