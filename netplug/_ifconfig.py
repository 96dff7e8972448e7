"""Interface settings through the kernel's socket ioctls, in the calling
thread's network namespace: an index, the up flag, an IPv4 address, a
default route.

These are the calls `ifconfig` and `route` make. Each costs a few
microseconds, where a netlink request through pyroute2 costs about half a
millisecond, plus as much again to open an `IPRoute` in the container's
namespace; every container start makes five of them. Links themselves
(bridges, veth pairs, labels) are made with netlink, which alone can.
Errors are OSError with the kernel's errno, as from netlink.
"""

import ctypes
import errno
import fcntl
import socket
import struct
from ipaddress import IPv4Address, IPv4Interface

_SIOCADDRT = 0x890B
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_SIOCSIFADDR = 0x8916
_SIOCSIFNETMASK = 0x891C
_IFF_UP = 0x1
_RTF_UP = 0x1
_RTF_GATEWAY = 0x2

# struct ifreq: the name, then a 24-byte union (here flags, or a sockaddr_in).
_IFREQ_FLAGS = struct.Struct("16sh22x")
_IFREQ_ADDRESS = struct.Struct("16sHH4s16x")


class _SockaddrIn(ctypes.Structure):
    _fields_ = [
        ("family", ctypes.c_ushort),
        ("port", ctypes.c_ushort),
        ("address", ctypes.c_uint8 * 4),
        ("zero", ctypes.c_uint8 * 8),
    ]


class _RouteEntry(ctypes.Structure):
    """struct rtentry of <net/route.h>; ctypes lays it out as the C compiler does."""

    _fields_ = [
        ("pad1", ctypes.c_ulong),
        ("dst", _SockaddrIn),
        ("gateway", _SockaddrIn),
        ("genmask", _SockaddrIn),
        ("flags", ctypes.c_ushort),
        ("pad2", ctypes.c_short),
        ("pad3", ctypes.c_ulong),
        ("pad4", ctypes.c_void_p),
        ("metric", ctypes.c_short),
        ("dev", ctypes.c_char_p),
        ("mtu", ctypes.c_ulong),
        ("window", ctypes.c_ulong),
        ("irtt", ctypes.c_ushort),
    ]


def _sockaddr(address: IPv4Address) -> _SockaddrIn:
    return _SockaddrIn(socket.AF_INET, 0, (ctypes.c_uint8 * 4)(*address.packed))


def _control_socket() -> socket.socket:
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)


def ifindex(name: str) -> int:
    """The index of link `name`."""
    try:
        return socket.if_nametoindex(name)
    except OSError as exc:  # if_nametoindex sets no errno
        raise OSError(errno.ENODEV, f"no link named {name}") from exc


def set_link_up(name: str) -> None:
    """Bring link `name` up."""
    with _control_socket() as sock:
        request = _IFREQ_FLAGS.pack(name.encode(), 0)
        _, flags = _IFREQ_FLAGS.unpack(fcntl.ioctl(sock, _SIOCGIFFLAGS, request))
        fcntl.ioctl(sock, _SIOCSIFFLAGS, _IFREQ_FLAGS.pack(name.encode(), flags | _IFF_UP))


def set_ipv4_address(name: str, address: IPv4Interface) -> None:
    """Give link `name` its (first) IPv4 address, with the broadcast address of
    its network; the kernel adds the subnet's route once the link is up."""
    with _control_socket() as sock:
        for request, value in ((_SIOCSIFADDR, address.ip), (_SIOCSIFNETMASK, address.netmask)):
            ifreq = _IFREQ_ADDRESS.pack(name.encode(), socket.AF_INET, 0, value.packed)
            fcntl.ioctl(sock, request, ifreq)


def add_default_route(gateway: IPv4Address) -> None:
    """Route everything not on a local subnet via `gateway`, which must be
    on one (else ENETUNREACH); EEXIST if there is a default route already."""
    route = _RouteEntry()
    route.dst = _sockaddr(IPv4Address(0))
    route.genmask = _sockaddr(IPv4Address(0))
    route.gateway = _sockaddr(gateway)
    route.flags = _RTF_UP | _RTF_GATEWAY
    with _control_socket() as sock:
        fcntl.ioctl(sock, _SIOCADDRT, bytes(route))
