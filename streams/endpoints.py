"""Where each worker and sink process serves its metrics: one small JSON file per
process under ``<worker.data_dir>/endpoints/``, read by ``tokenyard status``."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

log = logging.getLogger(__name__)

ENDPOINTS_DIR = "endpoints"


def endpoint_file(data_dir: str | Path, role: str, pid: int) -> Path:
    return Path(data_dir) / ENDPOINTS_DIR / f"{role}-{pid}.json"


@dataclass(frozen=True)
class Endpoint:
    role: str
    pid: int
    url: str


def read_endpoints(data_dir: str | Path, *, alive: Callable[[int], bool]) -> list[Endpoint]:
    """The endpoint files of processes still alive (a killed worker leaves its file)."""
    found: list[Endpoint] = []
    for path in sorted((Path(data_dir) / ENDPOINTS_DIR).glob("*.json")):
        try:
            raw = orjson.loads(path.read_bytes())
            endpoint = Endpoint(str(raw["role"]), int(raw["pid"]), str(raw["url"]))
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("ignoring unreadable endpoint file %s: %s", path, exc)
            continue
        if alive(endpoint.pid):
            found.append(endpoint)
    return found


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
