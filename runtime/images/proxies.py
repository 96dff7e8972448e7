"""Which HTTP proxy a registry request goes through, from the environment, decided
as Go's net/http decides (golang.org/x/net/http/httpproxy), and so as Docker and
containerd do.

- `HTTPS_PROXY` (else `https_proxy`) for https origins, `HTTP_PROXY` (else
  `http_proxy`) for http ones.
- A proxy is `http://[user:password@]host[:port]`, or a bare `host[:port]`;
  the user information, percent-decoded, becomes Basic proxy authentication.
  Other schemes (https, socks5) are refused with a ValueError; `ALL_PROXY`
  is not read, as Go does not.
- `NO_PROXY` (else `no_proxy`): comma-separated entries, each `*` (nothing is
  proxied), an IP address or CIDR range, or a domain name: `example.com`
  matches it and its subdomains, `.example.com` and `*.example.com` only its
  subdomains. An entry ending in `:port` matches that port only.
- localhost and loopback addresses are never proxied, whatever the
  environment says: a registry on this machine is always reached directly.
  (curl would proxy them unless NO_PROXY lists them; Go's rule is kept since
  it is Docker's, and no one wants a local registry's traffic sent to a
  proxy.) The tests therefore reach a registry through a proxy by a name that
  only the proxy resolves.
"""

import ipaddress
from collections.abc import Mapping
from typing import NamedTuple

from runtime.images.credentials import Credentials, encode_auth
from runtime.images.transport import Origin, Proxy

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class _Exemption(NamedTuple):
    """One NO_PROXY entry: an address range, or a domain (".suffix", and whether the
    bare domain matches too); `port` None for any."""

    network: _Network | None
    domain: str
    bare_domain: bool
    port: int | None

    def matches(self, name: str, address: _Address | None, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address is not None and address in self.network
        if address is not None:
            return False
        return name.endswith(self.domain) or (self.bare_domain and name == self.domain[1:])


class ProxySelector:
    """The proxy for each origin, from the variables of `environ`; a ValueError if a
    proxy variable names something Corral cannot go through."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        variables = {"https": ("HTTPS_PROXY", "https_proxy"), "http": ("HTTP_PROXY", "http_proxy")}
        self._proxies = {
            scheme: _parse_proxy(*found) if (found := _first(environ, *names)) else None
            for scheme, names in variables.items()
        }
        no_proxy = _first(environ, "NO_PROXY", "no_proxy")
        entries = [e.strip().lower() for e in (no_proxy[1] if no_proxy else "").split(",")]
        self._everything = "*" in entries
        exemptions = [_exemption(entry) for entry in entries if entry and entry != "*"]
        self._exemptions = [exemption for exemption in exemptions if exemption is not None]

    def __call__(self, origin: Origin) -> Proxy | None:
        proxy = self._proxies.get(origin.scheme)
        if proxy is None or self._everything:
            return None
        name, port = origin.address
        name = name.lower()
        try:
            address: _Address | None = ipaddress.ip_address(name)
        except ValueError:
            address = None
        if name == "localhost" or (address is not None and address.is_loopback):
            return None
        if any(exemption.matches(name, address, port) for exemption in self._exemptions):
            return None
        return proxy


def _first(environ: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    """(name, value) of the first of `names` set to something in `environ`."""
    for name in names:
        if environ.get(name):
            return name, environ[name]
    return None


def _parse_proxy(variable: str, value: str) -> Proxy:
    scheme, separator, rest = value.partition("://")
    if not separator:
        scheme, rest = "http", value
    if scheme.lower() != "http":
        raise ValueError(f"{variable}={value!r}: Corral goes through http:// proxies only")
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    userinfo, at, host = authority.rpartition("@")
    if not host:
        raise ValueError(f"{variable}={value!r} names no proxy host")
    authorization = None
    if at:
        user, _, password = userinfo.partition(":")
        if "%" in userinfo:
            from urllib.parse import unquote

            user, password = unquote(user), unquote(password)
        authorization = f"Basic {encode_auth(Credentials(user, password))}"
    return Proxy(Origin("http", host), authorization)


def _exemption(entry: str) -> _Exemption | None:
    """An entry of NO_PROXY ("*" excepted), lower case; None if it names no host."""
    if "/" in entry:
        try:
            return _Exemption(ipaddress.ip_network(entry, strict=False), "", False, None)
        except ValueError:
            pass  # not a range: taken as a name below
    host, port = entry, None
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = int(rest[1:]) if rest[1:].isdigit() else None
    elif entry.count(":") == 1 and entry.rpartition(":")[2].isdigit():
        host, _, digits = entry.rpartition(":")
        port = int(digits)
    if not host:
        return None
    try:
        network = ipaddress.ip_network(host)  # one address
    except ValueError:
        host = host.removeprefix("*")
        bare = not host.startswith(".")
        return _Exemption(None, host if not bare else f".{host}", bare, port)
    return _Exemption(network, "", False, port)
