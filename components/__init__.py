"""nats-tenancy: multi-tenant NATS as Pulumi code.

Layers (imports point down only; the import-linter contracts in pyproject.toml keep them so):
``model`` (pure: no Pulumi, no network) <- ``nats_io`` (the one NATS client adapter) <- ``providers``
(dynamic providers) <- ``resources`` (ComponentResources) <- ``api`` (the public, typed API) <-
``program`` (the environment-file program: the estate and shard stacks) <- ``__main__.py``. ``ops``
holds the operators' tools (verify, backup, exporter, the estate driver).
"""
