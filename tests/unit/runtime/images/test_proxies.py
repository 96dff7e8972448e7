"""The proxy of each origin, from HTTPS_PROXY, HTTP_PROXY and NO_PROXY, as Go decides."""

import base64

import pytest

from runtime.images.proxies import ProxySelector
from runtime.images.transport import Origin, Proxy

PROXY = Proxy(Origin("http", "proxy.corp:3128"), None)


@pytest.mark.parametrize(
    ("no_proxy", "url", "proxied"),
    [
        ("", "https://registry.example", True),
        ("", "https://localhost:5000", False),  # loopback: never, as in Go
        ("", "https://127.0.0.2:5000", False),
        ("", "https://[::1]:5000", False),
        ("*", "https://registry.example", False),
        ("example.com", "https://example.com", False),
        ("example.com", "https://r.example.com", False),
        ("example.com", "https://notexample.com", True),
        (".example.com", "https://r.example.com", False),
        (".example.com", "https://example.com", True),
        ("*.example.com", "https://r.example.com", False),
        ("*.example.com", "https://example.com", True),
        (" other.org , Example.COM ", "https://R.example.com", False),
        ("example.com:5000", "https://r.example.com:5000", False),
        ("example.com:5000", "https://r.example.com", True),
        ("example.com:443", "https://r.example.com", False),  # the scheme's default port
        ("10.0.0.0/8", "https://10.1.2.3:5000", False),
        ("10.0.0.0/8", "https://11.1.2.3:5000", True),
        ("10.1.2.3", "https://10.1.2.3:5000", False),
        ("10.1.2.3:5000", "https://10.1.2.3:5001", True),
        ("[fd00::1]:5000", "https://[fd00::1]:5000", False),
        ("fd00::/8", "https://[fd00::1]:5000", False),
        ("10.0.0.0/8", "https://ten.example", True),  # a range matches addresses only
        (":5000,,", "https://registry.example:5000", True),  # no host: ignored
    ],
)
def test_no_proxy(no_proxy: str, url: str, proxied: bool) -> None:
    select = ProxySelector({"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": no_proxy})
    origin = Origin(*url.split("://"))
    assert select(origin) == (PROXY if proxied else None)


def test_each_scheme_has_its_variable_and_upper_case_wins() -> None:
    select = ProxySelector(
        {
            "HTTPS_PROXY": "proxy.corp:3128",  # no scheme: http
            "https_proxy": "http://ignored:1",
            "http_proxy": "http://plain.corp",
            "no_proxy": "skip.example",
        }
    )
    assert select(Origin("https", "r.example")) == PROXY
    assert select(Origin("http", "r.example")) == Proxy(Origin("http", "plain.corp"), None)
    assert select(Origin("http", "skip.example")) is None
    assert ProxySelector({})(Origin("https", "r.example")) is None


def test_user_information_becomes_proxy_authorization() -> None:
    select = ProxySelector({"HTTPS_PROXY": "http://ann:p%40ss%3Aword@proxy.corp:3128/"})
    proxy = select(Origin("https", "r.example"))
    assert proxy is not None
    assert proxy.origin == Origin("http", "proxy.corp:3128")
    assert proxy.authorization == "Basic " + base64.b64encode(b"ann:p@ss:word").decode()


@pytest.mark.parametrize("value", ["https://proxy.corp", "socks5://proxy.corp:1080", "http://"])
def test_a_proxy_corral_cannot_use_is_a_value_error(value: str) -> None:
    with pytest.raises(ValueError, match=r"^HTTPS_PROXY="):
        ProxySelector({"HTTPS_PROXY": value})
