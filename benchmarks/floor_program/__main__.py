"""Floor program: as many trivial resources (components and no-op dynamic resources) as a real run.

Config (project namespace ``floor``): ``components`` and ``resources`` are the counts to create,
``changed`` the index of one resource whose input differs (unset: none), for the one-change step;
``properties``: the properties of each resource (default 2, the least a resource has).
"""
import pulumi
from noop import Noop

cfg = pulumi.Config("floor")
n_components = max(1, cfg.get_int("components") or 1)
n_resources = cfg.get_int("resources") or 0
changed = cfg.get_int("changed")  # a missing key or a negative value: no resource changed
changed = -1 if changed is None else changed
extra = max(0, (cfg.get_int("properties") or 2) - 2)


class Group(pulumi.ComponentResource):
    def __init__(self, name: str, opts=None):
        super().__init__("floor:index:Group", name, None, opts)
        self.register_outputs({})


groups = [Group(f"g{i:05d}") for i in range(n_components)]
for i in range(n_resources):
    Noop(f"r{i:06d}", "changed" if i == changed else "same",
         opts=pulumi.ResourceOptions(parent=groups[i % n_components]), extra=extra)
pulumi.export("resources", n_resources)
