"""How the identity and JetStream resources reach the servers: URLs plus the system user's creds."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi


@dataclass(frozen=True)
class Hub:
    """The hub as the resources see it.

    ``url``: client URL (an Output for dev, where it comes from the LocalServer); ``server_count``:
    how many servers must acknowledge a resolver push; ``depends_on``: the resource that brings the
    servers up, so nothing talks to a server before it runs.
    """

    url: pulumi.Input[str]
    server_count: int
    operator_seed: pulumi.Output[str]
    operator_public_key: pulumi.Output[str]
    system_creds: pulumi.Output[str]
    depends_on: Optional[pulumi.Resource] = None

    def servers(self) -> pulumi.Output[list]:
        """Every server URL; a cluster's ``url`` lists them comma-separated."""
        return pulumi.Output.from_input(self.url).apply(lambda u: [s.strip() for s in u.split(",") if s.strip()])

    def opts(self, parent: pulumi.Resource, depends_on: Optional[list] = None) -> pulumi.ResourceOptions:
        """Options for a resource that talks to the servers: after they run (and after ``depends_on``)."""
        deps = [self.depends_on] if self.depends_on is not None else []
        return pulumi.ResourceOptions(parent=parent, depends_on=deps + list(depends_on or []))
