"""Every special-purpose range the address guard must refuse, written out here on its
own (from IANA's IPv4 and IPv6 Special-Purpose Address Registries, the multicast and
IPv6 address space registries, and cloud providers' metadata docs), so the test does
not take the guard's table on trust."""

from __future__ import annotations

import ipaddress

IPV4_SPECIAL = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.0.0/29",
    "192.0.0.8/32",
    "192.0.0.9/32",
    "192.0.0.10/32",
    "192.0.0.170/32",
    "192.0.0.171/32",
    "192.0.2.0/24",
    "192.31.196.0/24",
    "192.52.193.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "192.175.48.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "255.255.255.255/32",
]

IPV6_SPECIAL = [
    "::/128",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b:1::/48",
    "100::/64",
    "100:0:0:1::/64",
    "2001::/23",
    "2001::/32",
    "2001:1::1/128",
    "2001:1::2/128",
    "2001:1::3/128",
    "2001:2::/48",
    "2001:3::/32",
    "2001:4:112::/48",
    "2001:10::/28",
    "2001:20::/28",
    "2001:30::/28",
    "2001:db8::/32",
    "2002::/16",
    "2620:4f:8000::/48",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
]

METADATA = [
    "169.254.169.254",
    "169.254.170.2",
    "192.0.0.192",
    "100.100.100.200",
    "fd00:ec2::254",
    "fd20:ce::254",
]

# Other spellings of 127.0.0.1 and 169.254.169.254 that resolvers accept.
ODD_SPELLINGS = [
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "127.1",
    "0x7f.1",
    "2852039166",
    "0xa9.0xfe.0xa9.0xfe",
    "0251.0376.0251.0376",
    "[::ffff:7f00:1]",
    "[::ffff:a9fe:a9fe]",
    "[::127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "[64:ff9b::a9fe:a9fe]",
    "[2002:a9fe:a9fe::]",
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
    "localhost",
    "localhost.",
]


def samples(network: str) -> list[str]:
    """The first, a middle and the last address of `network`."""
    net = ipaddress.ip_network(network)
    picks = {net.network_address, net.network_address + net.num_addresses // 2}
    picks.add(net.broadcast_address)
    return [str(a) for a in sorted(picks)]


def embeddings(ipv4: str) -> list[str]:
    """IPv6 addresses that reach `ipv4`: mapped, compatible, NAT64 and 6to4."""
    value = int(ipaddress.IPv4Address(ipv4))
    high, low = value >> 16, value & 0xFFFF
    return [f"::ffff:{ipv4}", f"64:ff9b::{ipv4}", f"2002:{high:x}:{low:x}::1"]


def url_for(host: str) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}/latest/meta-data/"
