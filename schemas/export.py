"""Write the JSON Schema files from the records: ``python -m tokenyard.schemas.export``.

The files are committed so services in any language can validate events; a test
fails when a record changes and its file was not regenerated.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
from pydantic import BaseModel

from tokenyard.schemas.records import Chunk, DeadLetter, Reply, Request, UsageEvent

SCHEMAS: dict[str, type[BaseModel]] = {
    "request": Request,
    "reply": Reply,
    "chunk": Chunk,
    "usage": UsageEvent,
    "dead_letter": DeadLetter,
}

HERE = Path(__file__).parent


def schema_of(name: str) -> dict[str, object]:
    model = SCHEMAS[name]
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://tokenyard.dev/schemas/{name}.schema.json"
    return schema


def render(name: str) -> bytes:
    return orjson.dumps(schema_of(name), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def main() -> int:
    for name in SCHEMAS:
        (HERE / f"{name}.schema.json").write_bytes(render(name))
        print(f"wrote {name}.schema.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
