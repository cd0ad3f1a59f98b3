"""The Dockerfile, checked without a Docker engine."""

from __future__ import annotations

import pytest

from tests.unit.deploy.deploy_checks import (
    REPO,
    console_scripts,
    dockerfile_instructions,
    dockerfile_problems,
    exposed_ports,
    package_dirs,
)
from tokenyard.streams.observability import MetricsEndpointSettings
from tokenyard.streams.settings import load_settings

PACKAGES = package_dirs(REPO / "pyproject.toml")


def test_the_dockerfile_builds_the_package_with_the_console_script() -> None:
    assert dockerfile_problems((REPO / "Dockerfile").read_text(), REPO, PACKAGES) == []
    assert "tokenyard" in console_scripts(REPO / "pyproject.toml")


def test_it_exposes_the_ports_of_the_deploy_config() -> None:
    settings = load_settings(REPO / "deploy" / "tokenyard.toml", {"OPENAI_API_KEY": "x", "ANTHROPIC_API_KEY": "x"})
    ports = exposed_ports((REPO / "Dockerfile").read_text())
    assert {settings.sink.web_port, settings.frontdoor.port, MetricsEndpointSettings().port} <= ports


def test_continuations_and_comments() -> None:
    text = "# c\nFROM python:3.11-slim\nRUN a \\\n # inside\n && b\nENTRYPOINT [\"tokenyard\"]\n"
    assert dockerfile_instructions(text) == [
        (2, "FROM", "python:3.11-slim"), (3, "RUN", "a  && b"), (6, "ENTRYPOINT", '["tokenyard"]'),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('FROM x\nCOPY streams ./streams\nENTRYPOINT ["tokenyard"]\n', "package folder agents is never copied"),
        ('FROM x\nCOPY nothere ./x\nENTRYPOINT ["tokenyard"]\n', "source nothere does not exist"),
        ('FROM x\nCOPYY a b\nENTRYPOINT ["tokenyard"]\n', "unknown instruction COPYY"),
        ("FROM x\nENTRYPOINT tokenyard\n", "ENTRYPOINT must be the console script"),
        ('RUN x\nFROM x\nENTRYPOINT ["tokenyard"]\n', "first instruction"),
        ("FROM x\nRUN a \\\n", "ends with a line continuation"),
    ],
)
def test_broken_dockerfiles_are_caught(text: str, problem: str) -> None:
    problems = dockerfile_problems(text, REPO, ["streams", "agents"])
    assert any(problem in p for p in problems), problems
