"""One strict reading of a media URL, before anything is fetched.

A URL that media is linked by is read here once, and its canonical form is what the fetcher
connects to, so no two parsers can disagree about which host is meant. Refused with a 400 naming
the parameter (code `invalid_url`): more than `MAX_URL_LENGTH` characters, whitespace or control
characters, a user name or password, no host, a port outside 1-65535, a percent sign in the host,
a host that is not a DNS name (letters, digits, `-`, `_`; labels of at most 63 characters), an
invalid IDNA name, an IPv6 literal that does not parse or has a zone index.

A host that ends in a number is an IPv4 address, read the way resolvers and browsers read it
(octal `0177.0.0.1`, hex `0x7f.1`, short `127.1`, one number `2130706433`), and becomes the
dotted quad it means; so the address check sees loopback however it is spelled, and a number that
is no address (`1.2.3.4.5`, `256.0.0.1`) is refused.
"""

from __future__ import annotations

import ipaddress
import re

import idna

from .errors import InvalidRequest

MAX_URL_LENGTH = 8192
_URL = re.compile(r"(?P<scheme>https?)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)"
                  r"(?P<query>\?[^#]*)?(?:#.*)?", re.DOTALL | re.IGNORECASE)
_PORT = re.compile(r"[0-9]{0,5}")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_DECIMAL = re.compile(r"[0-9]+")
_OCTAL = re.compile(r"0[0-7]+")
_HEX = re.compile(r"0x[0-9a-f]*")
_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\s]")


def _invalid(where: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"'{where}' is not a valid URL: {why}.", where, code="invalid_url")


def checked_url(url: str, where: str) -> str:
    """The canonical form of an http(s) URL (fragment dropped, host lower-case and in ASCII,
    an IPv4 address as a dotted quad); InvalidRequest naming `where` if it is malformed."""
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(where, f"it is longer than {MAX_URL_LENGTH} characters")
    if _UNSAFE.search(url):
        raise _invalid(where, "it contains whitespace or control characters "
                              "(percent-encode them)")
    match = _URL.fullmatch(url)
    if match is None:
        raise _invalid(where, "expected http(s)://host/path")
    authority = match["authority"]
    if "@" in authority:
        raise _invalid(where, "it carries a user name or password")
    host, port = _split_authority(authority, where)
    origin = f"{match['scheme'].lower()}://{_host(host, where)}{port}"
    return f"{origin}{match['path'] or '/'}{match['query'] or ''}"


def _split_authority(authority: str, where: str) -> tuple[str, str]:
    """(host, ":port" or "") of `host[:port]` or `[v6][:port]`."""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise _invalid(where, "an IPv6 address is missing its ']'")
        host, rest = authority[:end + 1], authority[end + 1:]
        if rest and not rest.startswith(":"):
            raise _invalid(where, "unexpected characters after the IPv6 address")
        port = rest[1:] if rest else ""
    else:
        host, _, port = authority.partition(":")
    if not _PORT.fullmatch(port) or (port and not 0 < int(port) <= 65535):
        raise _invalid(where, f"port {port[:16]!r} is not a number from 1 to 65535")
    return host, f":{int(port)}" if port else ""


def _host(host: str, where: str) -> str:
    if not host:
        raise _invalid(where, "it has no host")
    if host.startswith("["):
        return f"[{_ipv6(host[1:-1], where)}]"
    if "%" in host:
        raise _invalid(where, "its host contains '%'")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise _invalid(where, "its host is not a valid internationalised domain name") \
                from None
    return _ascii_host(host.lower(), where)


def _ipv6(text: str, where: str) -> str:
    if "%" in text or text[:1].lower() == "v":
        raise _invalid(where, "IPv6 zone indexes and future IP versions are not accepted")
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        raise _invalid(where, f"[{text[:64]}] is not an IPv6 address") from None


def _ascii_host(host: str, where: str) -> str:
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _invalid(where, "its host is not a valid domain name")
    if _DECIMAL.fullmatch(labels[-1]) or _HEX.fullmatch(labels[-1]):
        return _ipv4(labels, where)
    for label in labels:
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError):
                raise _invalid(where, f"its host label {label!r} is not valid IDNA") from None
    return host


def _number(label: str) -> int | None:
    """A label as an IPv4 part: decimal, octal (leading 0) or hex (0x); None if not one."""
    if _HEX.fullmatch(label):
        return int(label[2:] or "0", 16)
    if not _DECIMAL.fullmatch(label):
        return None
    if len(label) > 1 and label.startswith("0"):  # octal, as inet_aton reads it
        return int(label, 8) if _OCTAL.fullmatch(label) else None
    return int(label)


def _ipv4(labels: list[str], where: str) -> str:
    """The dotted quad that 1 to 4 numbers mean (the last fills the remaining bytes)."""
    numbers = [n for n in map(_number, labels) if n is not None]
    if len(numbers) != len(labels) or len(numbers) > 4:
        raise _invalid(where, "its host ends in a number but is not an IPv4 address")
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        raise _invalid(where, "its host is not an IPv4 address (a part is out of range)")
    value = last + sum(n << (8 * (3 - i)) for i, n in enumerate(head))
    return str(ipaddress.IPv4Address(value))
