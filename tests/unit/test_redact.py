"""Credentials out of URLs and messages: each form a setting or a library's error takes."""

from __future__ import annotations

import json

import pytest

from hramba.core.redact import HIDDEN, redact_text, redact_url
from hramba.trust.tsa import Rfc3161Timestamper


@pytest.mark.parametrize(("url", "redacted"), [
    ("postgresql+psycopg://hramba:pw@db:5432/hramba",
     "postgresql+psycopg://hramba:***@db:5432/hramba"),
    ("postgresql+psycopg://hramba@db/hramba?password=pw&sslmode=require",
     "postgresql+psycopg://hramba@db/hramba?password=***&sslmode=require"),
    ("postgresql://db/h?sslpassword=a&PWD=b&passwd=c", "postgresql://db/h?sslpassword=***&PWD=***&passwd=***"),
    ("http://user:p@ss@feed:8080/items?token=t&limit=5",
     "http://user:***@feed:8080/items?token=***&limit=5"),
    ("https://s3/b/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AK%2F1&X-Amz-Signature=ab"
     "&X-Amz-Security-Token=st",
     "https://s3/b/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=***&X-Amz-Signature=***"
     "&X-Amz-Security-Token=***"),
    ("https://h/?api_key=1&apikey=2&Api-Key=3&key=4&sig=5&secret=6&access_token=7&keyword=x",
     "https://h/?api_key=***&apikey=***&Api-Key=***&key=***&sig=***&secret=***"
     "&access_token=***&keyword=x"),
    ("https://h/cb#access_token=a&state=s", "https://h/cb#access_token=***&state=s"),
    ("http://[::1]:8080/tsa?token=a", "http://[::1]:8080/tsa?token=***"),
    ("ak:sk@127.0.0.1:9000", "ak:***@127.0.0.1:9000"),  # an S3 endpoint has no scheme
])
def test_a_url_keeps_everything_but_its_credentials(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
    assert redact_url(redacted) == redacted  # masking twice changes nothing


@pytest.mark.parametrize("url", [
    "", "sqlite:////srv/hramba/hramba.db", "sqlite://", "127.0.0.1:9000", "not a url",
    "https://tsa.example.si/tsa?policy=1.2.3", "postgresql://hramba@db/hramba",
])
def test_a_url_without_credentials_is_unchanged(url: str) -> None:
    assert redact_url(url) == url


@pytest.mark.parametrize("url", ["http://user:p/ss@h/x", "http://user:p?ss@h/", "http://u:p#s@h"])
def test_a_url_whose_password_cannot_be_told_apart_is_hidden_whole(url: str) -> None:
    assert redact_url(url) == HIDDEN


def test_text_has_urls_pairs_and_userinfo_masked() -> None:
    requests_error = ("ConnectionError: HTTPConnectionPool(host='h', port=1): Max retries "
                      "exceeded with url: /feed?token=abc&limit=5 (Caused by NewConnection)")
    assert redact_text(requests_error) == requests_error.replace("token=abc", "token=***")
    libpq = "invalid connection: host=db password=geslo dbname=hramba"
    assert redact_text(libpq) == "invalid connection: host=db password=*** dbname=hramba"
    ours = "feed user:pw@127.0.0.1:4444: URLError, via http://a:b@h/x?sig=1."
    assert redact_text(ours) == "feed user:***@127.0.0.1:4444: URLError, via http://a:***@h/x?sig=***"
    assert redact_text("unit 0a1b: 3 files, retain until 2036-01-01") == \
        "unit 0a1b: 3 files, retain until 2036-01-01"


def test_text_in_json_stays_json() -> None:
    quoted = json.dumps({"error": 'at "http://u:p@h/?token=a\\"b" and token=c"d'})
    assert json.loads(redact_text(quoted)) == {"error": 'at "http://u:***@h/?token=***\\"b" '
                                                        'and token=***"d'}


def test_the_tsa_named_in_batches_and_messages_has_no_credentials() -> None:
    tsa = Rfc3161Timestamper("https://user:tsa-pw@tsa.example.si/tsa?apikey=k")
    assert tsa.description == "TSA https://user:***@tsa.example.si/tsa"
