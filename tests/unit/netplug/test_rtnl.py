"""The rtnetlink codec: attributes, the requests netplug sends, the replies it reads."""

import socket
import struct
from ipaddress import IPv4Address, IPv4Interface

from netplug import _rtnl as rtnl


def test_attributes_are_padded_to_four_bytes_and_parse_back() -> None:
    data = rtnl.text_attr(rtnl.IFLA_IFNAME, "eth0") + rtnl.u32_attr(rtnl.IFLA_MASTER, 7)
    assert len(rtnl.text_attr(rtnl.IFLA_IFNAME, "eth0")) == 12  # 4 header + 5 text, padded
    assert rtnl.parse_attrs(data) == {
        rtnl.IFLA_IFNAME: b"eth0\0",
        rtnl.IFLA_MASTER: struct.pack("=I", 7),
    }


def test_a_truncated_attribute_ends_the_parse() -> None:
    data = rtnl.u32_attr(rtnl.IFLA_MASTER, 1) + struct.pack("=HH", 2, rtnl.IFLA_IFNAME)
    assert rtnl.parse_attrs(data) == {rtnl.IFLA_MASTER: struct.pack("=I", 1)}


def test_a_veth_request_nests_its_peer_with_the_netns_fd() -> None:
    message = rtnl.new_veth("crv0123456789", 4, "eth1", 9)
    assert message.type == rtnl.RTM_NEWLINK
    assert message.flags == rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL
    link = rtnl.parse_link(rtnl.Reply(message.type, message.body))
    assert (link.name, link.kind) == ("crv0123456789", "veth")
    _, _, _, flags, change = struct.unpack_from("=BxHiII", message.body)
    assert flags == change == rtnl.IFF_UP
    attrs = rtnl.parse_attrs(message.body[16:])
    assert attrs[rtnl.IFLA_MASTER] == struct.pack("=I", 4)
    info = rtnl.parse_attrs(rtnl.parse_attrs(attrs[rtnl.IFLA_LINKINFO])[rtnl.IFLA_INFO_DATA])
    peer = rtnl.parse_attrs(info[rtnl.VETH_INFO_PEER][16:])
    assert peer == {rtnl.IFLA_IFNAME: b"eth1\0", rtnl.IFLA_NET_NS_FD: struct.pack("=I", 9)}


def test_setting_a_link_names_it_and_labels_it() -> None:
    link = rtnl.parse_link(
        rtnl.Reply(rtnl.RTM_NEWLINK, rtnl.set_link("br0", alias="corral:x:").body)
    )
    assert (link.index, link.name, link.kind, link.alias) == (0, "br0", "", "corral:x:")


def test_an_address_request_carries_local_and_address() -> None:
    message = rtnl.new_address(3, IPv4Interface("10.213.0.2/24"))
    family, prefixlen, _, _, index = struct.unpack_from("=BBBBI", message.body)
    assert (family, prefixlen, index) == (socket.AF_INET, 24, 3)
    attrs = rtnl.parse_attrs(message.body[8:])
    assert attrs[rtnl.IFA_LOCAL] == attrs[rtnl.IFA_ADDRESS] == bytes([10, 213, 0, 2])
    assert list(rtnl.address_networks([rtnl.Reply(rtnl.RTM_NEWADDR, message.body)])) == [
        IPv4Interface("10.213.0.2/24")
    ]


def test_route_replies_without_a_prefix_are_skipped() -> None:
    default = rtnl.new_default_route(IPv4Address("10.213.0.1")).body
    prefixed = struct.pack("=BBBBBBBBI", socket.AF_INET, 16, 0, 0, 254, 3, 0, 1, 0)
    prefixed += rtnl.attr(rtnl.RTA_DST, bytes([10, 1, 0, 0]))
    replies = [rtnl.Reply(rtnl.RTM_NEWROUTE, body) for body in (default, prefixed)]
    assert list(rtnl.route_destinations(replies)) == [(IPv4Address("10.1.0.0"), 16)]
