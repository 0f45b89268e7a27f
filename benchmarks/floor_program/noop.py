"""A dynamic provider that does nothing: the cheapest resource the Pulumi Python runtime can manage.

It lives in an importable module (not in ``__main__``), so dill pickles the provider by reference,
like the project's own stateless providers.
"""
from __future__ import annotations

from typing import Any, Optional

import pulumi
from pulumi.dynamic import CreateResult, ReadResult, Resource, ResourceProvider, UpdateResult


class NoopProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(str(props["key"]), dict(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, dict(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(dict(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class Noop(Resource, module="bench", name="Noop"):
    def __init__(self, name: str, value: str, opts: Optional[pulumi.ResourceOptions] = None, extra: int = 0):
        """``extra``: as many more string properties (the cost of a resource follows its properties)."""
        props = {"key": name, "value": value, **{f"p{j:02d}": f"v{j}" for j in range(extra)}}
        super().__init__(NoopProvider(), name, props, opts)
