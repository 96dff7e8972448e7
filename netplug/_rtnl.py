"""The few rtnetlink messages netplug sends, on a raw NETLINK_ROUTE socket.

pyroute2 would take ~100 ms to import and ~0.5 ms of Python per message;
`corral up` needs only links, addresses and routes, so they are packed here
with `struct` (see rtnetlink(7) and <linux/if_link.h>, <linux/veth.h>).

Several requests go out in one `sendmsg` (`RouteSocket.transact`): the kernel
handles them in order and acknowledges each, so a veth, its label and its
address cost one round trip. Failures are OSErrors carrying the kernel's
errno; `netplug._netlink.translated` names the object in the message.
"""

import errno
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from typing import Self

NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400

RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_GETADDR = 22
RTM_NEWROUTE = 24
RTM_GETROUTE = 26

IFLA_IFNAME = 3
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_IFALIAS = 20
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1
IFA_ADDRESS = 1
IFA_LOCAL = 2
RTA_DST = 1
RTA_GATEWAY = 5

IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST = 1

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_ATTR = struct.Struct("=HH")  # nlattr: len, type
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, ...
_ERROR = struct.Struct("=i")
_BUFFER = 1 << 16


def _align(length: int) -> int:
    return (length + 3) & ~3


def attr(kind: int, value: bytes) -> bytes:
    """One attribute, padded to 4 bytes."""
    length = _ATTR.size + len(value)
    return _ATTR.pack(length, kind) + value + b"\0" * (_align(length) - length)


def text_attr(kind: int, value: str) -> bytes:
    return attr(kind, value.encode() + b"\0")


def u32_attr(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=I", value))


def parse_attrs(data: bytes) -> dict[int, bytes]:
    """Attributes by type (the nested flag dropped); the last one of a type wins."""
    found: dict[int, bytes] = {}
    offset = 0
    while offset + _ATTR.size <= len(data):
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            break
        found[kind & 0x3FFF] = data[offset + _ATTR.size : offset + length]
        offset += _align(length)
    return found


def text(value: bytes | None) -> str:
    return value.split(b"\0", 1)[0].decode(errors="replace") if value else ""


@dataclass(frozen=True)
class Message:
    """A request: its type, extra flags beyond REQUEST|ACK, and its body."""

    type: int
    body: bytes
    flags: int = 0


@dataclass(frozen=True)
class Reply:
    type: int
    body: bytes


def link_body(index: int = 0, *, up: bool = False, attrs: bytes = b"") -> bytes:
    """An ifinfomsg (IFF_UP set when `up`) followed by `attrs`."""
    flags = IFF_UP if up else 0
    return _IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, flags) + attrs


def new_bridge(name: str) -> Message:
    linkinfo = attr(IFLA_LINKINFO, text_attr(IFLA_INFO_KIND, "bridge"))
    body = link_body(attrs=text_attr(IFLA_IFNAME, name) + linkinfo)
    return Message(RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL)


def new_veth(name: str, master: int, peer: str, peer_netns_fd: int) -> Message:
    """A veth pair, `name` up and enslaved to `master`, its peer `peer` created
    directly in the netns `peer_netns_fd` refers to."""
    peer_body = link_body(
        attrs=text_attr(IFLA_IFNAME, peer) + u32_attr(IFLA_NET_NS_FD, peer_netns_fd)
    )
    info = text_attr(IFLA_INFO_KIND, "veth") + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer_body))
    attrs = text_attr(IFLA_IFNAME, name) + u32_attr(IFLA_MASTER, master)
    body = link_body(up=True, attrs=attrs + attr(IFLA_LINKINFO, info))
    return Message(RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL)


def set_link(name: str, *, alias: str | None = None, up: bool = False) -> Message:
    """Label and/or bring up the existing link `name`."""
    attrs = text_attr(IFLA_IFNAME, name)
    if alias is not None:
        attrs += text_attr(IFLA_IFALIAS, alias)
    return Message(RTM_NEWLINK, link_body(up=up, attrs=attrs))


def delete_link(name: str) -> Message:
    return Message(RTM_DELLINK, link_body(attrs=text_attr(IFLA_IFNAME, name)))


def new_address(index: int, address: IPv4Interface) -> Message:
    packed = address.ip.packed
    body = _IFADDR.pack(socket.AF_INET, address.network.prefixlen, 0, RT_SCOPE_UNIVERSE, index)
    body += attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed)
    return Message(RTM_NEWADDR, body, NLM_F_CREATE | NLM_F_EXCL)


def new_default_route(gateway: IPv4Address) -> Message:
    body = _RTMSG.pack(
        socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0
    )
    body += attr(RTA_GATEWAY, gateway.packed)
    return Message(RTM_NEWROUTE, body, NLM_F_CREATE | NLM_F_EXCL)


def route_query(family: int) -> bytes:
    """The rtmsg of a route dump of `family`."""
    return _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)


def address_query(family: int) -> bytes:
    """The ifaddrmsg of an address dump of `family`."""
    return _IFADDR.pack(family, 0, 0, 0, 0)


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    kind: str
    alias: str


def parse_link(reply: Reply) -> Link:
    _, _, index, _, _ = _IFINFO.unpack_from(reply.body)
    attrs = parse_attrs(reply.body[_IFINFO.size :])
    info = parse_attrs(attrs.get(IFLA_LINKINFO, b""))
    return Link(
        index, text(attrs.get(IFLA_IFNAME)), text(info.get(IFLA_INFO_KIND)),
        text(attrs.get(IFLA_IFALIAS)),
    )  # fmt: skip


def route_destinations(replies: list[Reply]) -> Iterator[tuple[IPv4Address, int]]:
    """(destination, prefix length) of IPv4 routes with a prefix (not default)."""
    for reply in replies:
        family, dst_len, *_ = _RTMSG.unpack_from(reply.body)
        dst = parse_attrs(reply.body[_RTMSG.size :]).get(RTA_DST)
        if family == socket.AF_INET and dst_len > 0 and dst is not None:
            yield IPv4Address(dst), dst_len


def address_networks(replies: list[Reply]) -> Iterator[IPv4Interface]:
    for reply in replies:
        family, prefixlen, *_ = _IFADDR.unpack_from(reply.body)
        address = parse_attrs(reply.body[_IFADDR.size :]).get(IFA_ADDRESS)
        if family == socket.AF_INET and address is not None:
            yield IPv4Interface((IPv4Address(address), prefixlen))


class RouteSocket:
    """A NETLINK_ROUTE socket of the calling thread's network namespace at the
    time it is opened (it stays bound to that namespace afterwards)."""

    def __init__(self) -> None:
        self._socket = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE
        )
        self._socket.bind((0, 0))
        self._seq = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._socket.close()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def transact(self, *messages: Message) -> list[int]:
        """Send the messages in one datagram; the errno each ended with (0: done)."""
        first = self._seq + 1
        packets = []
        for message in messages:
            length = _HEADER.size + len(message.body)
            flags = NLM_F_REQUEST | NLM_F_ACK | message.flags
            packets.append(_HEADER.pack(length, message.type, flags, self._next_seq(), 0))
            packets.append(message.body)
        self._socket.sendall(b"".join(packets))
        results: dict[int, int] = {}
        while len(results) < len(messages):
            for seq, kind, _, payload in self._receive():
                if kind == NLMSG_ERROR and first <= seq < first + len(messages):
                    results[seq] = -_ERROR.unpack_from(payload)[0]
        return [results[seq] for seq in range(first, first + len(messages))]

    def call(self, *messages: Message) -> None:
        """Send the messages; raise OSError for the first one that failed."""
        for code in self.transact(*messages):
            if code:
                raise OSError(code, os.strerror(code))

    def dump(self, kind: int, body: bytes) -> list[Reply]:
        """Every object a dump request returns."""
        seq = self._next_seq()
        flags = NLM_F_REQUEST | NLM_F_DUMP
        self._socket.sendall(_HEADER.pack(_HEADER.size + len(body), kind, flags, seq, 0) + body)
        replies: list[Reply] = []
        while True:
            for reply_seq, reply_kind, _, payload in self._receive():
                if reply_seq != seq:
                    continue
                if reply_kind == NLMSG_DONE:
                    return replies
                if reply_kind == NLMSG_ERROR:
                    code = -_ERROR.unpack_from(payload)[0]
                    raise OSError(code, os.strerror(code))
                replies.append(Reply(reply_kind, payload))

    def get_link(self, name: str) -> Link:
        """The link named `name`; OSError(ENODEV) if there is none."""
        seq = self._next_seq()
        body = link_body(attrs=text_attr(IFLA_IFNAME, name))
        self._socket.sendall(
            _HEADER.pack(_HEADER.size + len(body), RTM_GETLINK, NLM_F_REQUEST, seq, 0) + body
        )
        while True:
            for reply_seq, kind, _, payload in self._receive():
                if reply_seq != seq:
                    continue
                if kind == NLMSG_ERROR:
                    code = -_ERROR.unpack_from(payload)[0] or errno.EIO
                    raise OSError(code, os.strerror(code))
                return parse_link(Reply(kind, payload))

    def _receive(self) -> Iterator[tuple[int, int, int, bytes]]:
        """(seq, type, flags, payload) of each message in the next datagram."""
        data = self._socket.recv(_BUFFER)
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, kind, flags, seq, _ = _HEADER.unpack_from(data, offset)
            if length < _HEADER.size:
                break
            yield seq, kind, flags, data[offset + _HEADER.size : offset + length]
            offset += _align(length)
