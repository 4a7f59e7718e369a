"""Account binding: an account may be limited to a list of source networks (IP or CIDR).

Only IP addresses are enforced. A MAC address never crosses a router: over HTTP the platform
sees the MAC of the last router hop (or nothing at all behind a proxy), so a MAC allowlist
would either lock out every routed client or be trivially met; it is therefore not offered.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

from sqlalchemy.orm import Session

from openpss.platform.errors import Invalid
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.security.errors import NotBound
from openpss.platform.security.models import Account

logger = logging.getLogger(__name__)

MAX_NETWORKS = 32
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> list[str]:
    """Normalized, de-duplicated networks; Invalid names the first entry that is not one."""
    result: list[str] = []
    for raw in entries:
        for entry in raw.replace(",", " ").split():
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise Invalid(
                    f"{entry!r} is not an IP address or network; use e.g. 192.168.1.20 or "
                    "192.168.1.0/24"
                ) from exc
            if str(network) not in result:
                result.append(str(network))
    if len(result) > MAX_NETWORKS:
        raise Invalid(f"an account may be bound to at most {MAX_NETWORKS} addresses or networks")
    return result


def _address(source_ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_allowed(networks: list[str], source_ip: str) -> bool:
    """True when the account has no binding or `source_ip` lies in one of its networks."""
    if not networks:
        return True
    address = _address(source_ip)
    if address is None:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


def check_binding(account: Account, source_ip: str) -> None:
    """Raise NotBound when the account may not be used from `source_ip`."""
    if not address_allowed(account.allowed_networks, source_ip):
        raise NotBound(
            f"account {account.username} is bound to other addresses and may not be used from "
            f"{source_ip or 'an unknown address'}; use an allowed computer or ask an "
            "administrator to change the account's allowed addresses"
        )


def set_binding(
    *, session: Session, account: Account, entries: Iterable[str], actor: Actor
) -> list[str]:
    """Replace the account's allowed networks (empty list: any address); audited."""
    networks = parse_networks(entries)
    if account.username == actor.name and not address_allowed(networks, actor.source_ip):
        raise Invalid(
            f"this binding would lock you out: your address {actor.source_ip} is not in it"
        )
    if networks == account.allowed_networks:
        return networks
    account.bound_networks = "\n".join(networks)
    record_audit(session=session, actor=actor, action="account.bind", target=account.username,
                 detail={"networks": networks})  # fmt: skip
    return networks
