"""nats-tenancy: multi-tenant NATS as Pulumi code.

Layers (imports point down only): ``model`` (pure) <- ``providers`` (dynamic providers) <- ``resources``
(ComponentResources) <- ``__main__.py``.
"""
