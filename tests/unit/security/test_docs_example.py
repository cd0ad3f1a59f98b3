"""The shell signing example in docs/security.md produces a signature the gateway accepts."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from tokenyard.errors import Unauthenticated
from tokenyard.schemas.records import Request
from tokenyard.security import AuthConfig, verify

DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"


def shell_example() -> str:
    text = DOC.read_text()
    found = re.search(r"<!-- signing-shell-example.*?-->\n```sh\n(.*?)```", text, re.S)
    assert found, "docs/security.md lost its marked shell example"
    return found.group(1)


@pytest.mark.skipif(not (shutil.which("jq") and shutil.which("openssl")), reason="needs jq and openssl")
def test_the_documented_shell_example_signs_correctly() -> None:
    secret = "documented-secret-0123456789"
    out = subprocess.run(["bash", "-c", shell_example()], env={"TOKENYARD_KEY_ACME_1": secret, "PATH": "/usr/bin:/bin"},
                         capture_output=True, check=True, timeout=20).stdout
    value = orjson.loads(out)
    ring = AuthConfig(required=True, tenants={"acme": [{"key_id": "acme-2026-01", "secret_env": "K"}]}).resolve(
        {"K": secret}
    )
    assert verify(Request.model_validate(value), value, ring, int(time.time() * 1000)) == "acme"
    value["messages"][0]["content"] = "changed"
    with pytest.raises(Unauthenticated, match="bad signature"):
        verify(Request.model_validate(value), value, ring, int(time.time() * 1000))
