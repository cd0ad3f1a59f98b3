"""The ``tokenyard`` command line: one module per command group.

Exit codes: 0 success, 1 the operation failed, 2 usage or configuration error.
Every command takes ``--help``; commands that print data take ``--json``.
"""

from __future__ import annotations

import importlib

import click

# (module, attribute): each names a click command or group added to `tokenyard`.
COMMANDS: list[tuple[str, str]] = [
]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tokenyard")
def cli() -> None:
    """tokenyard: a Kafka-native LLM gateway."""


def _register() -> None:
    for module, attr in COMMANDS:
        cli.add_command(getattr(importlib.import_module(f"tokenyard.streams.cli.{module}"), attr))


def main() -> None:
    _register()
    cli()
