"""The address guard's own table of ranges that are never fetched.

Python's `ipaddress` flags change between releases (CVE-2024-4032: before 3.11.10 and
3.12.4, `is_private` and `is_global` were wrong for several IANA ranges, so
`192.0.0.192`, a cloud metadata address, counted as public). So the guard does not rely
on them alone: this table lists IANA's IPv4 and IPv6 special-purpose address
registries entry by entry (as of 2025), plus multicast, the reserved and unallocated
IPv6 space, and the addresses clouds serve instance metadata on. An address inside any
of these is refused, whatever the running Python thinks of it.

Only IPv6 addresses that carry an IPv4 address the network will reach (mapped,
compatible, translated, NAT64's well-known prefix) are judged by that IPv4 address
instead; see `netguard.embedded_ipv4`.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# (range, what it is). Sources: IANA IPv4 and IPv6 Special-Purpose Address Registries,
# IPv4 Multicast and IPv6 Address Space registries, and the cloud providers' docs.
IPV4: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "this-network"),  # RFC 791; 0.0.0.0/32 "this host" inside it
    ("10.0.0.0/8", "private"),  # RFC 1918
    ("100.64.0.0/10", "shared address space"),  # RFC 6598, carrier-grade NAT
    ("127.0.0.0/8", "loopback"),  # RFC 1122
    ("169.254.0.0/16", "link-local"),  # RFC 3927
    ("172.16.0.0/12", "private"),  # RFC 1918
    ("192.0.0.0/24", "IETF protocol assignments"),  # RFC 6890
    ("192.0.0.0/29", "IPv4 service continuity"),  # RFC 7335 (DS-Lite)
    ("192.0.0.8/32", "IPv4 dummy address"),  # RFC 7600
    ("192.0.0.9/32", "PCP anycast"),  # RFC 7723
    ("192.0.0.10/32", "TURN anycast"),  # RFC 8155
    ("192.0.0.170/32", "NAT64/DNS64 discovery"),  # RFC 8880
    ("192.0.0.171/32", "NAT64/DNS64 discovery"),  # RFC 8880
    ("192.0.2.0/24", "documentation"),  # RFC 5737 TEST-NET-1
    ("192.31.196.0/24", "AS112"),  # RFC 7535
    ("192.52.193.0/24", "AMT"),  # RFC 7450
    ("192.88.99.0/24", "6to4 relay anycast"),  # RFC 7526 (deprecated)
    ("192.168.0.0/16", "private"),  # RFC 1918
    ("192.175.48.0/24", "AS112 direct delegation"),  # RFC 7534
    ("198.18.0.0/15", "benchmarking"),  # RFC 2544
    ("198.51.100.0/24", "documentation"),  # RFC 5737 TEST-NET-2
    ("203.0.113.0/24", "documentation"),  # RFC 5737 TEST-NET-3
    ("224.0.0.0/4", "multicast"),  # RFC 5771
    ("240.0.0.0/4", "reserved"),  # RFC 1112
    ("255.255.255.255/32", "limited broadcast"),  # RFC 8190
    # cloud instance metadata (most sit inside the ranges above; listed by name so the
    # refusal says what they are, and so they stay refused whatever else changes)
    ("169.254.169.254/32", "cloud metadata"),  # AWS, GCP, Azure, OpenStack, DigitalOcean
    ("169.254.170.2/32", "cloud metadata"),  # AWS ECS task metadata
    ("169.254.169.123/32", "cloud metadata"),  # AWS time sync
    ("169.254.169.253/32", "cloud metadata"),  # AWS DNS resolver
    ("192.0.0.192/32", "cloud metadata"),  # Oracle Cloud
    ("100.100.100.200/32", "cloud metadata"),  # Alibaba Cloud
)

IPV6: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified"),  # RFC 4291
    ("::1/128", "loopback"),  # RFC 4291
    ("::ffff:0:0/96", "IPv4-mapped"),  # RFC 4291
    ("::/96", "IPv4-compatible"),  # RFC 4291 (deprecated)
    ("::ffff:0:0:0/96", "IPv4-translated"),  # RFC 2765
    ("64:ff9b::/96", "NAT64"),  # RFC 6052 (judged by the IPv4 address it carries)
    ("64:ff9b:1::/48", "local-use NAT64"),  # RFC 8215
    ("100::/64", "discard-only"),  # RFC 6666
    ("100:0:0:1::/64", "dummy prefix"),  # RFC 9780
    ("2001::/23", "IETF protocol assignments"),  # RFC 2928
    ("2001::/32", "Teredo"),  # RFC 4380
    ("2001:1::1/128", "PCP anycast"),  # RFC 7723
    ("2001:1::2/128", "TURN anycast"),  # RFC 8155
    ("2001:1::3/128", "DNS-SD SRP anycast"),  # RFC 9665
    ("2001:2::/48", "benchmarking"),  # RFC 5180
    ("2001:3::/32", "AMT"),  # RFC 7450
    ("2001:4:112::/48", "AS112"),  # RFC 7535
    ("2001:10::/28", "ORCHID"),  # RFC 4843 (deprecated)
    ("2001:20::/28", "ORCHIDv2"),  # RFC 7343
    ("2001:30::/28", "drone remote ID"),  # RFC 9374
    ("2001:db8::/32", "documentation"),  # RFC 3849
    ("2002::/16", "6to4"),  # RFC 3056
    ("2620:4f:8000::/48", "AS112 direct delegation"),  # RFC 7534
    ("3fff::/20", "documentation"),  # RFC 9637
    ("5f00::/16", "segment routing"),  # RFC 9602
    ("fc00::/7", "unique local"),  # RFC 4193
    ("fe80::/10", "link-local"),  # RFC 4291
    ("fec0::/10", "site-local"),  # RFC 3879 (deprecated)
    ("ff00::/8", "multicast"),  # RFC 4291
    ("fd00:ec2::254/128", "cloud metadata"),  # AWS IMDS over IPv6
    ("fd00:ec2::123/128", "cloud metadata"),  # AWS time sync over IPv6
    ("fd20:ce::254/128", "cloud metadata"),  # GCP metadata over IPv6
)

# Everything outside 2000::/3 is unallocated or reserved for special use by IANA's
# IPv6 address space registry; no public web server lives there.
GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


@lru_cache(maxsize=1)
def _table() -> tuple[tuple[Network, str], ...]:
    rows = [(ipaddress.ip_network(net), what) for net, what in (*IPV4, *IPV6)]
    # most specific first, so an address gets the name of the narrowest range it is in
    rows.sort(key=lambda row: row[0].prefixlen, reverse=True)
    return tuple(rows)


def special_range(addr: Address) -> str | None:
    """What special-purpose range `addr` is in (the narrowest), or None."""
    for network, what in _table():
        if network.version == addr.version and addr in network:
            return what
    if isinstance(addr, ipaddress.IPv6Address) and addr not in GLOBAL_UNICAST:
        return "reserved"
    return None
