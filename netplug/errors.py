"""Errors raised by the netplug package.

NetworkError            base of every error below
 ├── NetlinkError       a netlink operation failed; names the object and errno
 └── SubnetExhausted    no free subnet is left in the address pool
"""


class NetworkError(Exception):
    """Base of the netplug package's errors."""


class NetlinkError(NetworkError):
    """A netlink operation on a link, address, route or namespace failed."""


class SubnetExhausted(NetworkError):
    """Every subnet of the pool clashes with a route or network in use."""
