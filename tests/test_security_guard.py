"""Security: every special-purpose address is refused before any connection.

The corpus (`tests/security/ranges.py`) lists IANA's IPv4 and IPv6 special-purpose
ranges, multicast, reserved space, cloud metadata addresses and odd spellings of
loopback and metadata; for each range its first, middle and last address, and for
IPv4 also the IPv6 forms that reach it. A subprocess fetches each with `web_fetch`
under an audit hook that records and refuses every connection attempt, inside an
empty network namespace (`unshare -n`) when the machine allows one.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from fusion.tools.netguard import address_kind
from fusion.tools.special_ranges import IPV4, IPV6
from tests.security.ranges import (
    IPV4_SPECIAL,
    IPV6_SPECIAL,
    METADATA,
    ODD_SPELLINGS,
    embeddings,
    samples,
    url_for,
)

ROOT = Path(__file__).resolve().parent.parent


def corpus() -> list[str]:
    hosts: list[str] = []
    for network in IPV4_SPECIAL:
        for addr in samples(network):
            hosts += [addr, *embeddings(addr)]
    for network in IPV6_SPECIAL:
        hosts += samples(network)
    hosts += METADATA
    return [url_for(h) for h in dict.fromkeys(hosts)] + [url_for(h) for h in ODD_SPELLINGS]


def isolated() -> list[str]:
    """`unshare -n` if it works here (root or user namespaces), else nothing."""
    if shutil.which("unshare") is None:
        return []
    ok = subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    return ["unshare", "-n"] if ok else []


def run_probe(urls: list[str], env_extra: dict[str, str], tmp_path: Path) -> dict[str, object]:
    import os

    config = tmp_path / "config.toml"
    config.write_text("")
    env = {**os.environ, "FUSION_CONFIG": str(config), **env_extra}
    env.pop("FUSION_FETCH_ALLOW_PRIVATE", None) if not env_extra else None
    done = subprocess.run(
        [*isolated(), sys.executable, "-m", "tests.fixtures.guard_probe"],
        input=json.dumps(urls),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_guards_table_covers_the_corpus_ranges() -> None:
    table = {net for net, _ in (*IPV4, *IPV6)}
    assert set(IPV4_SPECIAL) <= table
    assert set(IPV6_SPECIAL) <= table
    for host in METADATA:
        assert address_kind(ipaddress.ip_address(host)) == "cloud metadata", host


@pytest.mark.parametrize("network", IPV4_SPECIAL + IPV6_SPECIAL)
def test_every_address_of_every_range_is_classified_non_public(network: str) -> None:
    for addr in samples(network):
        assert address_kind(ipaddress.ip_address(addr)) is not None, addr


def test_192_0_0_192_is_refused_even_where_python_calls_it_global() -> None:
    addr = ipaddress.ip_address("192.0.0.192")
    print(f"python {sys.version.split()[0]}: is_global={addr.is_global}")
    assert address_kind(addr) == "cloud metadata"


def test_whole_corpus_refused_before_any_connection(tmp_path: Path) -> None:
    urls = corpus()
    out = run_probe(urls, {}, tmp_path)
    results: dict[str, list[str]] = out["results"]  # type: ignore[assignment]
    kinds = Counter(text.split(":")[0] for _, text in results.values())
    print(f"{len(urls)} URLs, namespace: {bool(isolated())}, connects: {out['connects']}, {kinds}")
    assert out["connects"] == []
    assert len(results) == len(urls)
    for url, (status, text) in results.items():
        assert status == "error", (url, text)
        assert text.startswith(("refused:", "not a valid URL", "could not resolve")), (url, text)


def test_metadata_refused_even_when_private_addresses_are_allowed(tmp_path: Path) -> None:
    urls = [url_for(h) for h in METADATA]
    out = run_probe(urls, {"FUSION_FETCH_ALLOW_PRIVATE": "1"}, tmp_path)
    assert out["connects"] == []
    for url, (status, text) in out["results"].items():  # type: ignore[attr-defined]
        assert status == "error" and "cloud metadata" in text, (url, text)
