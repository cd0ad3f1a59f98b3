"""Checks of docker-compose.yml, deploy/prometheus.yml and the Dockerfile against the
code, without a Docker engine. Each returns a list of problems (empty: fine), so the
tests can show both that the shipped files pass and that a broken file is caught.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[3]
ENV_PREFIX = "TOKENYARD__"
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}")
DOCKERFILE_KEYWORDS = frozenset({
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER",
})


# -- settings ----------------------------------------------------------------------------


def _model_of(annotation: Any) -> Any:
    """The non-None member of an Optional, else the annotation."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return members[0] if len(members) == 1 else annotation
    return annotation


def setting_exists(model: type[BaseModel], path: list[str]) -> bool:
    """Whether ``a.b.c`` names a field of the Settings tree (dict sections take any key)."""
    node: Any = model
    for part in path:
        node = _model_of(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            if part not in node.model_fields:
                return False
            node = node.model_fields[part].annotation
        elif typing.get_origin(node) is dict:
            node = typing.get_args(node)[1]
        else:
            return False
    return True


def env_setting_path(name: str) -> list[str]:
    return [p.lower() for p in name[len(ENV_PREFIX):].split("__") if p]


def unknown_setting_variables(environment: Mapping[str, Any], model: type[BaseModel]) -> list[str]:
    return [
        f"{name} names no setting ({'.'.join(env_setting_path(name))})"
        for name in environment
        if name.startswith(ENV_PREFIX) and not setting_exists(model, env_setting_path(name))
    ]


def resolve_interpolation(value: str) -> str:
    """What ``${VAR:?msg}`` / ``${VAR:-default}`` become when the operator set every VAR."""
    return _INTERPOLATION.sub(lambda m: m.group(3) if m.group(2) == "-" else f"<{m.group(1)}>", value)


# -- compose -----------------------------------------------------------------------------


def tokenyard_services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Services built from this repository (their command is a tokenyard command)."""
    return {name: s for name, s in compose["services"].items() if s.get("build") == "."}


def command_problems(command: list[str], cli: click.Group) -> list[str]:
    """Whether ``tokenyard <command>`` parses: the command exists and takes those options."""
    node: click.Command = cli
    args = list(command)
    while isinstance(node, click.Group):
        if not args:
            return [f"{command}: names a command group, not a command"]
        name = args.pop(0)
        if name not in node.commands:
            return [f"{command}: `{name}` is not a tokenyard command (have {sorted(node.commands)})"]
        node = node.commands[name]
    try:
        node.make_context(node.name or "?", args, resilient_parsing=False)
    except click.UsageError as exc:
        return [f"{command}: {exc.format_message()}"]
    return []


def volume_problems(compose: Mapping[str, Any], repo: Path) -> list[str]:
    problems = []
    named = set((compose.get("volumes") or {}).keys())
    for service_name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if not volume.startswith("${") else volume[: volume.index("}") + 1]
            if source.startswith("${"):
                match = _INTERPOLATION.fullmatch(source)
                if match is None or match.group(2) != "?":
                    problems.append(f"{service_name}: volume {source} needs ${{VAR:?message}}, not a silent default")
            elif source.startswith((".", "/")):
                if source.startswith("/") or not (repo / source).exists():
                    problems.append(f"{service_name}: volume source {source} is not a file in the repository")
            elif source not in named:
                problems.append(f"{service_name}: named volume {source} is not declared under volumes:")
    return problems


def dependency_problems(compose: Mapping[str, Any]) -> list[str]:
    services = compose["services"]
    problems = []
    for name, service in services.items():
        depends = service.get("depends_on", [])
        for dependency in depends if isinstance(depends, list) else depends.keys():
            if dependency not in services:
                problems.append(f"{name}: depends_on unknown service {dependency}")
    return problems


def container_ports(service: Mapping[str, Any]) -> set[int]:
    """Ports a service exposes to the compose network (expose, and ports' container side)."""
    ports = {int(str(p)) for p in service.get("expose", [])}
    ports |= {int(str(p).rsplit(":", 1)[-1].split("/")[0]) for p in service.get("ports", [])}
    return ports


def prometheus_targets(prometheus: Mapping[str, Any]) -> dict[str, list[tuple[str, int]]]:
    """job -> [(host, port)] from static_configs and A-record dns_sd_configs."""
    jobs: dict[str, list[tuple[str, int]]] = {}
    for job in prometheus["scrape_configs"]:
        found = jobs.setdefault(job["job_name"], [])
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, _, port = target.rpartition(":")
                found.append((host, int(port)))
        for dns in job.get("dns_sd_configs", []):
            found.extend((name, int(dns["port"])) for name in dns["names"])
    return jobs


# -- Dockerfile --------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[int, str, str]]:
    """(line number, KEYWORD, arguments), continuation lines joined, comments dropped."""
    instructions: list[tuple[int, str, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = number
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        keyword, _, arguments = " ".join(pending).strip().partition(" ")
        instructions.append((start, keyword.upper() if keyword.isupper() else keyword, arguments.strip()))
        pending = []
    if pending:
        raise ValueError(f"line {start}: the last instruction ends with a line continuation")
    return instructions


def dockerfile_problems(text: str, repo: Path, package_dirs: list[str]) -> list[str]:
    try:
        instructions = dockerfile_instructions(text)
    except ValueError as exc:
        return [str(exc)]
    problems = [f"line {n}: unknown instruction {k}" for n, k, _ in instructions if k not in DOCKERFILE_KEYWORDS]
    significant = [k for _, k, _ in instructions if k != "ARG"]
    if not significant or significant[0] != "FROM":
        problems.append("the first instruction (after ARG) must be FROM")
    copied: set[str] = set()
    for number, keyword, arguments in instructions:
        if keyword not in ("COPY", "ADD"):
            continue
        parts = json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
        if any(p.startswith("--from") for p in parts):
            continue
        sources = [p for p in parts if not p.startswith("--")][:-1]
        if not sources:
            problems.append(f"line {number}: {keyword} needs a source and a destination")
        for source in sources:
            if not (repo / source).exists():
                problems.append(f"line {number}: {keyword} source {source} does not exist in the repository")
            copied.add(source.rstrip("/"))
    problems += [f"package folder {d} is never copied into the image" for d in package_dirs if d not in copied]
    entrypoints = [a for _, k, a in instructions if k == "ENTRYPOINT"]
    if not entrypoints or not entrypoints[-1].startswith("[") or json.loads(entrypoints[-1]) != ["tokenyard"]:
        problems.append(f'ENTRYPOINT must be the console script in exec form, ["tokenyard"]; got {entrypoints}')
    return problems


def exposed_ports(text: str) -> set[int]:
    return {int(p.split("/")[0]) for _, k, a in dockerfile_instructions(text) if k == "EXPOSE" for p in a.split()}


def package_dirs(pyproject: Path) -> list[str]:
    with pyproject.open("rb") as fh:
        return sorted(set(tomllib.load(fh)["tool"]["setuptools"]["package-dir"].values()))


def console_scripts(pyproject: Path) -> dict[str, str]:
    with pyproject.open("rb") as fh:
        return dict(tomllib.load(fh)["project"]["scripts"])
