"""Media URLs: one strict reading, canonical form, and a 400 naming the parameter for the rest."""

from __future__ import annotations

import httpx
import pytest

from adapter.translate.content import FETCH, content_parts
from adapter.translate.errors import InvalidRequest
from adapter.translate.urls import MAX_URL_LENGTH, checked_url

WHERE = "messages[0].content[1].image_url.url"


def refused(url: str) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        checked_url(url, WHERE)
    assert caught.value.status == 400
    assert caught.value.param == WHERE
    assert caught.value.code == "invalid_url"
    return caught.value


@pytest.mark.parametrize(("url", "canonical"), [
    # IPv4 in the spellings resolvers accept: always the dotted quad they mean
    ("http://0177.0.0.1/", "http://127.0.0.1/"),
    ("http://0177.0.0.01/x", "http://127.0.0.1/x"),
    ("http://2130706433/", "http://127.0.0.1/"),
    ("http://0x7f.1/", "http://127.0.0.1/"),
    ("http://0X7F.0.0.1/", "http://127.0.0.1/"),
    ("http://127.1/", "http://127.0.0.1/"),
    ("http://10.1.2/", "http://10.1.0.2/"),
    ("http://0x/", "http://0.0.0.0/"),
    ("http://127.0.0.1./", "http://127.0.0.1/"),
    ("http://0xffffffff/", "http://255.255.255.255/"),
    ("https://\uff10\uff17\uff17.0.0.1/", "https://63.0.0.1/"),  # full-width digits, octal
    # IPv6 literals, compressed
    ("http://[0:0:0:0:0:0:0:1]:8080/x", "http://[::1]:8080/x"),
    ("http://[::FFFF:127.0.0.1]/", "http://[::ffff:7f00:1]/"),
    # names: lower-case, IDNA, default path, fragment dropped, empty port dropped
    ("HTTP://Example.COM:080/a?b=1#frag", "http://example.com:80/a?b=1"),
    ("https://example.com", "https://example.com/"),
    ("http://example.com:/x", "http://example.com/x"),
    ("http://m\u00fcnchen.de/bild.png", "http://xn--mnchen-3ya.de/bild.png"),
    ("http://xn--mnchen-3ya.de/", "http://xn--mnchen-3ya.de/"),
    ("http://a_b.example.com/", "http://a_b.example.com/"),
    ("http://1e1/", "http://1e1/"),  # does not end in a number: a name
    ("https://example.com/caf\u00e9.png?q=\u00e4", "https://example.com/caf\u00e9.png?q=\u00e4"),
])
def test_canonical_form(url: str, canonical: str) -> None:
    assert checked_url(url, WHERE) == canonical
    assert httpx.URL(canonical).host  # what httpx reads without complaint


@pytest.mark.parametrize("url", [
    "http://[::1/",  # no closing bracket
    "http://[::1]x/",
    "http://[v1.x]/",  # IPvFuture
    "http://[fe80::1%25eth0]/",  # zone index
    "http://[fe80::1%eth0]/",
    "http://[1::2::3]/",
    "http://:80/",  # no host
    "http:///x",
    "http://",
    "http://example.com:99999/",
    "http://example.com:0/",
    "http://example.com:8o/",
    "http://example.com:\u00b2/",  # a digit to str.isdigit, not to a port
    "http://example.com:0000080/",
    "http://user:pw@127.0.0.1/",
    "http://user@example.com/",
    "http://evil.example\\@127.0.0.1/",
    "http://127.0.0.1\\.evil.example/",
    "http://%31%32%37.0.0.1/",  # percent-encoded host
    "http://ex%00ample.com/",
    "http://xn--a.com/",  # IDNA-invalid
    "http://\u2488.com/",  # maps to a disallowed form under UTS 46
    "http://a..b/",
    "http://-x.example/",
    "http://x-.example/",
    "http://" + "a" * 64 + ".com/",
    "http://" + ".".join(["a" * 60] * 5) + "/",  # over 253 characters
    "http://1.2.3.4.5/",
    "http://256.0.0.1/",
    "http://1.16777216/",
    "http://4294967296/",
    "http://09.0.0.1/",  # not octal
    "http://example.com.1/",
    "http://" + "0" * 80 + "/",
])
def test_malformed_urls_are_refused(url: str) -> None:
    refused(url)


@pytest.mark.parametrize("url", [
    "http://\x00/", "http://example.com/\x00", "http://exa mple.com/", "http://example.com/a b",
    "http://example.com/\t", "http://example.com/\n", "http://example.com/\x7f",
    "http://example.com/\x85", "http://example.com/\u00a0", "http://example.com/\u2028",
    " http://example.com/",
])
def test_whitespace_and_control_characters_are_refused(url: str) -> None:
    assert "whitespace or control" in refused(url).message


def test_length_is_capped() -> None:
    base = "http://example.com/"
    assert checked_url(base + "a" * (MAX_URL_LENGTH - len(base)), WHERE)
    assert str(MAX_URL_LENGTH) in refused(base + "a" * (MAX_URL_LENGTH - len(base) + 1)).message
    refused(base + "a" * 70_000)


# --- through the content translation --------------------------------------------------------------

def parts(url: str, kind: str = "image_url") -> list[dict]:
    part = ({"type": "image_url", "image_url": {"url": url}} if kind == "image_url"
            else {"type": "file", "file": {"file_url": url}})
    return content_parts([{"type": "text", "text": "see"}, part], "messages[0].content")


@pytest.mark.parametrize(("kind", "param"), [
    ("image_url", "messages[0].content[1].image_url.url"),
    ("file", "messages[0].content[1].file.file_url"),
])
@pytest.mark.parametrize("url", [
    "http://[::1/", "http://example.com/" + "a" * 70_000, "http://\x00/", "http://1.2.3.4.5/",
    "http://:80/", "http://user:pw@example.com/",
])
def test_content_parts_name_the_url_parameter(url: str, kind: str, param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parts(url, kind)
    assert (caught.value.param, caught.value.code) == (param, "invalid_url")


@pytest.mark.parametrize("kind", ["image_url", "file"])
def test_the_fetcher_is_given_the_canonical_url(kind: str) -> None:
    assert parts("http://0177.0.0.1/cat.png", kind)[1][FETCH]["url"] == "http://127.0.0.1/cat.png"


def test_youtube_links_are_checked_too() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parts("https://youtu.be/" + "a" * MAX_URL_LENGTH)
    assert caught.value.code == "invalid_url"


@pytest.mark.parametrize("url", ["gs://bucket/" + "a" * MAX_URL_LENGTH, "gs://"])
def test_gs_uris_are_capped(url: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parts(url)
    assert caught.value.param == "messages[0].content[1].image_url.url"
