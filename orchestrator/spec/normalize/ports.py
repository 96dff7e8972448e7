"""Service `ports` and `expose`: the short and the long syntax as one form.

A short entry with a range stands for several ports and becomes one
PortConfig per container port, as compose-go (through Docker's
go-connections) expands it: "9090-9091:8080-8081" is two entries, while
"8000-8010:80" is one entry whose published value stays the range "8000-8010"
(the engine picks a free host port from it).
"""

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from orchestrator.spec.normalize import values as _values
from orchestrator.spec.normalize._errors import NormalizeError

PortProtocol = Literal["tcp", "udp", "sctp"]
PortMode = Literal["host", "ingress"]

_PROTOCOLS: tuple[PortProtocol, ...] = ("tcp", "udp", "sctp")
_MODES: tuple[PortMode, ...] = ("host", "ingress")
_LONG_KEYS = frozenset(
    {"target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"}
)
_RANGE = re.compile(r"(\d+)(?:-(\d+))?")
_EXPOSE = re.compile(r"(\d+(?:-\d+)?)(?:/(\w+))?")


@dataclass(frozen=True)
class PortConfig:
    target: int
    """The container port."""
    published: str | None = None
    """The host port, or a range of host ports to pick one from; None lets
    the engine choose."""
    host_ip: str | None = None
    """The host address to bind, without brackets; None is every address."""
    protocol: PortProtocol = "tcp"
    mode: PortMode = "ingress"
    name: str | None = None
    app_protocol: str | None = None


def parse_ports(entries: object) -> tuple[PortConfig, ...]:
    """The `ports` list: strings, numbers and mappings, in file order."""
    if not isinstance(entries, list | tuple):
        raise NormalizeError(f"{entries!r} is not a list of ports")
    ports: list[PortConfig] = []
    for index, entry in enumerate(entries):
        try:
            if isinstance(entry, str):
                ports.extend(_parse_short(entry))
            elif isinstance(entry, int) and not isinstance(entry, bool):
                ports.append(PortConfig(target=_port_number(entry)))
            elif isinstance(entry, Mapping):
                ports.append(_parse_long(entry))
            else:
                raise NormalizeError(
                    f"{entry!r} is not a port; expected a string such as '8080:80',"
                    " a number or a mapping"
                )
        except NormalizeError as error:
            raise error.within(index) from None
    return tuple(ports)


def parse_expose(entries: object) -> tuple[str, ...]:
    """The `expose` list: ports or ranges, with an optional protocol, kept as
    written ("3000", "8000-8010/udp"); numbers become strings."""
    exposed = _values.strings(entries, "a list of ports")
    for index, text in enumerate(exposed):
        match = _EXPOSE.fullmatch(text)
        if match is None:
            raise NormalizeError(
                f"{text!r} is not a port or range with an optional protocol, such as 8000/udp",
                (index,),
            )
        try:
            _port_range(match.group(1))
            _protocol(match.group(2) or "tcp")
        except NormalizeError as error:
            raise error.within(index) from None
    return exposed


def _parse_short(spec: str) -> list[PortConfig]:
    """[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL], where PUBLISHED and TARGET may
    be ranges and an IPv6 HOST_IP may be bracketed."""
    ports, slash, protocol_text = spec.partition("/")
    protocol = _protocol(protocol_text or "tcp") if slash else "tcp"
    parts = ports.split(":")
    target_text = parts[-1]
    published_text = parts[-2] if len(parts) >= 2 else ""
    host_ip = _host_ip(":".join(parts[:-2])) if len(parts) >= 3 else None
    if not target_text:
        raise NormalizeError(f"{spec!r} names no container port")
    first, last = _port_range(target_text)
    if published_text:
        published_first, published_last = _port_range(published_text)
        if last != first and last - first != published_last - published_first:
            raise NormalizeError(
                f"{spec!r} maps {last - first + 1} container ports"
                f" to {published_last - published_first + 1} host ports"
            )
    configs = []
    for offset in range(last - first + 1):
        if not published_text:
            published = None
        elif first == last and published_first != published_last:
            # One container port and a range of host ports: the engine picks one.
            published = f"{published_first}-{published_last}"
        else:
            published = str(published_first + offset)
        configs.append(PortConfig(first + offset, published, host_ip, protocol))
    # compose-go orders the ports of one entry by their text ("10000/tcp"
    # sorts before "9999/tcp"); keeping that order keeps `config` output the
    # same as docker compose's.
    configs.sort(key=lambda port: str(port.target))
    return configs


def _parse_long(entry: Mapping[object, object]) -> PortConfig:
    value = _values.mapping(entry, "a port mapping")
    _values.check_keys(value, _LONG_KEYS, "a port mapping")
    if value.get("target") is None:
        raise NormalizeError("a port mapping needs 'target'")
    published = value.get("published")
    if published is not None:
        published = _values.at("published", _published_text, published)
    host_ip = _values.text(value, "host_ip")
    return PortConfig(
        target=_values.at("target", _port_number, value["target"]),
        published=published,
        host_ip=None if host_ip is None else _values.at("host_ip", _host_ip, host_ip),
        protocol=_values.at("protocol", _protocol, _values.text(value, "protocol") or "tcp"),
        mode=_values.choice(value, "mode", _MODES, "ingress"),
        name=_values.text(value, "name"),
        app_protocol=_values.text(value, "app_protocol"),
    )


def _published_text(published: object) -> str:
    if isinstance(published, bool) or not isinstance(published, int | str):
        raise NormalizeError(f"{published!r} is not a port or a port range")
    text = str(published)
    _port_range(text)
    return text


def _port_number(value: object) -> int:
    number = _values.to_int(value)
    if number is None or not 1 <= number <= 65535:
        raise NormalizeError(f"{value!r} is not a port number (1-65535)")
    return number


def _port_range(text: str) -> tuple[int, int]:
    """The first and last port of "8000" or "8000-8010"."""
    match = _RANGE.fullmatch(text)
    if match is None:
        raise NormalizeError(f"{text!r} is not a port or a port range such as 8000-8010")
    first = _port_number(match.group(1))
    last = first if match.group(2) is None else _port_number(match.group(2))
    if last < first:
        raise NormalizeError(f"{text!r} is a port range that ends before it starts")
    return first, last


def _protocol(text: str) -> PortProtocol:
    lowered = text.lower()
    for protocol in _PROTOCOLS:
        if lowered == protocol:
            return protocol
    raise NormalizeError(f"{text!r} is not a protocol (tcp, udp or sctp)")


def _host_ip(text: str) -> str:
    """An IPv4 or IPv6 address; brackets around IPv6 are dropped."""
    address = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise NormalizeError(f"{text!r} is not an IP address") from None
    return address
