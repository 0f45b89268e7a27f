"""Pulumi mocks for the ``mocks`` tier: every registration is recorded with its parent and provider.

``set_mocks`` configures process-global runtime settings, so the ``pulumi_mocks`` fixture gives
each test a fresh monitor (a fresh record) and resets the runtime after it; nothing leaks from one
test into the next.
No provider plugin is ever started under mocks: resources are only registered and echoed back.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterator, Optional

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import reset_options

PROJECT = "nats-tenancy"
STACK = "prod"


@dataclasses.dataclass
class Registration:
    urn: str
    typ: str
    name: str
    inputs: dict[str, Any]
    parent: str                  # URN of the parent ("" for the stack itself)
    provider: str                # provider reference "<urn>::<id>", "" for the default provider


class RecordingMonitor(MockMonitor):
    """Keeps the parent of every registration, which the plain mock monitor discards."""

    def __init__(self, mocks: "EchoMocks") -> None:
        super().__init__(mocks)
        self.parents: dict[str, str] = {}
        self.providers: dict[str, str] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method's name
        response = super().RegisterResource(request)
        self.parents[response.urn] = request.parent
        self.providers[response.urn] = request.provider
        return response


class EchoMocks(pulumi.runtime.Mocks):
    """Outputs = inputs, id = ``<name>-id``: what a provider would echo for these declarative objects."""

    def __init__(self) -> None:
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict[str, Any]]:
        self.inputs[(args.typ, args.name)] = dict(args.inputs)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], Optional[list[tuple[str, str]]]]:
        return {}, None


class Recorder:
    def __init__(self, mocks: EchoMocks, monitor: RecordingMonitor) -> None:
        self.mocks = mocks
        self.monitor = monitor

    def registrations(self) -> list[Registration]:
        out = []
        for urn, reg in self.monitor.get_registered_resources().items():
            typ, name = urn.split("::")[2].split("$")[-1], urn.split("::")[3]
            out.append(Registration(urn=urn, typ=typ, name=name, inputs=self.mocks.inputs.get((typ, name), {}),
                                    parent=self.monitor.parents.get(urn, ""),
                                    provider=self.monitor.providers.get(urn, "")))
        return out

    def of_type(self, typ: str) -> list[Registration]:
        return [r for r in self.registrations() if r.typ == typ]

    def one(self, typ: str) -> Registration:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, got {[r.name for r in found]}"
        return found[0]


@pytest.fixture
def pulumi_mocks() -> Iterator[Recorder]:
    mocks = EchoMocks()
    monitor = RecordingMonitor(mocks)
    reset_options()   # a new root stack for this test, not one left by an earlier test
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=False, monitor=monitor)
    try:
        yield Recorder(mocks, monitor)
    finally:
        reset_options()   # later tests in this process must not register into this monitor
