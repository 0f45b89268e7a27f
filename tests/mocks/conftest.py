"""Pulumi mocks for the ``mocks`` tier: every registration is recorded with its parent and provider.

``set_mocks`` configures process-global runtime settings, so the ``pulumi_mocks`` fixture gives
each test a fresh monitor (a fresh record) and resets the runtime after it; nothing leaks from one
test into the next.
No provider plugin is ever started under mocks: resources are only registered and echoed back.
"""
from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Callable, Iterator, Optional

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
    # What the engine would be told beyond the inputs (all taken from the registration request):
    additional_secret_outputs: list[str] = dataclasses.field(default_factory=list)
    dependencies: list[str] = dataclasses.field(default_factory=list)   # URNs, explicit and implicit
    property_dependencies: dict[str, list[str]] = dataclasses.field(default_factory=dict)


class RecordingMonitor(MockMonitor):
    """Keeps the parent of every registration, which the plain mock monitor discards."""

    def __init__(self, mocks: "EchoMocks") -> None:
        super().__init__(mocks)
        self.parents: dict[str, str] = {}
        self.providers: dict[str, str] = {}
        self.secret_outputs: dict[str, list[str]] = {}
        self.dependencies: dict[str, list[str]] = {}
        self.property_dependencies: dict[str, dict[str, list[str]]] = {}
        self.urns: list[str] = []   # every registration in order, repeats included (a real engine refuses those)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method's name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":   # the root stack is not a resource of the program
            self.urns.append(response.urn)
        self.parents[response.urn] = request.parent
        self.providers[response.urn] = request.provider
        self.secret_outputs[response.urn] = list(request.additionalSecretOutputs)
        self.dependencies[response.urn] = list(request.dependencies)
        self.property_dependencies[response.urn] = {k: list(v.urns) for k, v in request.propertyDependencies.items()}
        return response


FakeOutputs = Callable[[pulumi.runtime.MockResourceArgs], dict[str, Any]]


class EchoMocks(pulumi.runtime.Mocks):
    """Outputs = inputs, id = ``<name>-id``: what a provider would echo for these declarative objects.

    ``fakes`` (type token -> function of the request) adds the outputs a provider would compute,
    e.g. generated keys; they are laid over the echoed inputs.
    """

    def __init__(self) -> None:
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}
        self.fakes: dict[str, FakeOutputs] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict[str, Any]]:
        self.inputs[(args.typ, args.name)] = dict(args.inputs)
        state = dict(args.inputs)
        fake = self.fakes.get(args.typ)
        if fake is not None:
            state.update(fake(args))
        return f"{args.name}-id", state

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
                                    provider=self.monitor.providers.get(urn, ""),
                                    additional_secret_outputs=self.monitor.secret_outputs.get(urn, []),
                                    dependencies=self.monitor.dependencies.get(urn, []),
                                    property_dependencies=self.monitor.property_dependencies.get(urn, {})))
        return out

    def registration_count(self) -> int:
        """Registrations made, repeats of a URN included (``registrations()`` holds one per URN)."""
        return len(self.monitor.urns)

    def of_type(self, typ: str) -> list[Registration]:
        return [r for r in self.registrations() if r.typ == typ]

    def one(self, typ: str) -> Registration:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, got {[r.name for r in found]}"
        return found[0]


def start_mocks(stack: str = STACK) -> Recorder:
    """A fresh monitor and root stack for ``stack``; whatever an earlier call registered is gone."""
    mocks = EchoMocks()
    monitor = RecordingMonitor(mocks)
    # The runtime schedules on the thread's current event loop; an earlier test's asyncio.run()
    # leaves none behind, so every test gets a fresh one.
    asyncio.set_event_loop(asyncio.new_event_loop())
    reset_options()   # a new root stack for this test, not one left by an earlier test
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    return Recorder(mocks, monitor)


@pytest.fixture
def pulumi_mocks() -> Iterator[Recorder]:
    try:
        yield start_mocks(STACK)
    finally:
        reset_options()   # later tests in this process must not register into this monitor


@pytest.fixture
def pulumi_mocks_for() -> Iterator[Callable[[str], Recorder]]:
    """Like ``pulumi_mocks`` for a stack the test chooses: ``recorder = pulumi_mocks_for("dev")``."""
    try:
        yield start_mocks
    finally:
        reset_options()
