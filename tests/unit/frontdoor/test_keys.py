from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tokenyard.errors import ConfigError, Unauthenticated
from tokenyard.streams.frontdoor.keys import KeyRing

HASHED = hashlib.sha256(b"sk-globex-secret").hexdigest()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keys.toml"
    path.write_text(text)
    return path


def test_plain_and_hashed_keys_map_to_their_tenants(tmp_path: Path) -> None:
    ring = KeyRing.from_file(write(tmp_path, f'[keys]\n"sk-acme-secret" = "acme"\n[hashed_keys]\n"{HASHED}" = "globex"\n'))
    assert ring.tenant_for("Bearer sk-acme-secret") == "acme"
    assert ring.tenant_for("bearer   sk-globex-secret ") == "globex"
    assert len(ring) == 2


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "didn't provide an API key"),
        ("", "didn't provide an API key"),
        ("Basic dXNlcjpwYXNz", "must be 'Bearer YOUR_KEY'"),
        ("Bearer ", "must be 'Bearer YOUR_KEY'"),
        ("Bearer sk-acme-secreT", "Incorrect API key"),
        (f"Bearer {HASHED}", "Incorrect API key"),  # the digest itself is not a key
    ],
)
def test_bad_credentials_are_refused(header: str | None, message: str) -> None:
    ring = KeyRing.from_mapping({"keys": {"sk-acme-secret": "acme"}, "hashed_keys": {HASHED: "globex"}})
    with pytest.raises(Unauthenticated, match=message) as info:
        ring.tenant_for(header)
    assert "sk-acme-secret" not in info.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "names no key"),
        ('[keys]\n"sk-acme-secret" = "acme"\n[extra]\n', r"\[extra\]"),
        ('[keys]\n"sk-acme-secret" = "not a tenant!"\n', r"\[keys\]"),
        ('[keys]\n"short" = "acme"\n', r"\[keys\]"),
        ('[hashed_keys]\n"abc" = "acme"\n', r"\[hashed_keys\]"),
        ("[keys\n", "not valid TOML"),
        (f'[keys]\n"sk-globex-secret" = "acme"\n[hashed_keys]\n"{HASHED}" = "globex"\n', "two tenants"),
    ],
)
def test_bad_keys_files_fail_with_a_message_naming_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        KeyRing.from_file(write(tmp_path, text))
    assert "sk-acme-secret" not in info.value.message and "sk-globex-secret" not in info.value.message


def test_a_missing_keys_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        KeyRing.from_file(tmp_path / "nope.toml")
