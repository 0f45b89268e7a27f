"""A tenant account's exports as tests build them by hand, for the default layout.

The product derives a tenant's exports from its layout (``tenant_plan.tenant_account_spec``); a
test that makes accounts without an environment file uses the default layout's three trees, which
``components.model.identity.tenancy.platform_imports`` imports into a platform account unchanged.
"""
from __future__ import annotations

from typing import Optional

from components.model.identity.exports import Export
from components.model.identity.tenancy import tenant_roots


def tenant_exports(tenant: str, prefix: Optional[str] = None) -> list[Export]:
    """Stream exports of the tenant's three trees, public, since only the platform imports them."""
    return [Export(subject=root, type="stream", name=f"{tenant}-{domain}")
            for domain, root in tenant_roots(tenant, prefix).items()]
