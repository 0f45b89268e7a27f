"""The multi-tenant subject model.

Every tenant owns three trees: ``<t>.logs.>``, ``<t>.events.>`` and ``<t>.otel.>``, optionally
behind a fixed platform prefix (``<prefix>.<t>.…``). Concrete subjects follow the schema
``[<prefix>.]<tenant>.<domain>.<service>.<event>``.

Each tenant lives in its own account and exports its three trees as streams; the platform ingest
account imports them **without renaming** (no ``local_subject``), so a platform consumer sees the
tenant id in the subject and one ``*.logs.>`` subscription covers every tenant. The tenant id is
therefore also a subject token: lower case, digits and dashes, so it never contains ``.``, ``*``
or ``>`` and is a safe stream-name component.
"""
from __future__ import annotations

import re
from typing import Optional

from components.model.environment.names import ID_PATTERN
from components.model.errors import Problems
from components.model.identity.exports import Import

TENANT_ID = ID_PATTERN   # the default layout's tenant ids (environment.names)
#: Service and event tokens: literal subject tokens that are easy to use as stream-name parts.
NAME_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
DOMAINS = ("logs", "events", "otel")


def validate_tenant_id(tenant: object, field: str, problems: Problems) -> bool:
    """True when ``tenant`` is a tenant id; otherwise a problem at ``field`` and False.

    A tenant id is also a subject token and a stream-name part, hence 1-63 of a-z, 0-9 and '-'.
    """
    if not isinstance(tenant, str) or not TENANT_ID.match(tenant):
        problems.add(field, f"{tenant!r} is not a tenant id",
                     "1-63 characters of a-z, 0-9 and '-', starting with a letter or digit")
        return False
    return True


def validate_prefix(prefix: Optional[str], field: str, problems: Problems) -> bool:
    """A platform prefix is one or more literal tokens (no wildcards)."""
    if prefix is None:
        return True
    tokens = prefix.split(".") if isinstance(prefix, str) else [""]
    if not all(NAME_TOKEN.match(t) for t in tokens):
        problems.add(field, f"{prefix!r} is not a subject prefix",
                     "dot-separated literal tokens of letters, digits, '_' and '-'")
        return False
    return True


def _check(tenant: str, prefix: Optional[str]) -> None:
    problems = Problems("tenancy")
    validate_tenant_id(tenant, "tenant", problems)
    validate_prefix(prefix, "prefix", problems)
    problems.raise_if_any()


def tenant_base(tenant: str, prefix: Optional[str] = None) -> str:
    """``[<prefix>.]<tenant>``: the first tokens of every subject of the tenant."""
    _check(tenant, prefix)
    return f"{prefix}.{tenant}" if prefix else tenant


def subject_root(tenant: str, domain: str, prefix: Optional[str] = None) -> str:
    """``[<prefix>.]<tenant>.<domain>.>``: every subject of one of the tenant's three trees."""
    if domain not in DOMAINS:
        raise ValueError(f"domain {domain!r} not in {'|'.join(DOMAINS)}")
    return f"{tenant_base(tenant, prefix)}.{domain}.>"


def tenant_roots(tenant: str, prefix: Optional[str] = None) -> dict[str, str]:
    """``{"logs": "<p>.<t>.logs.>", "events": …, "otel": …}``."""
    return {d: subject_root(tenant, d, prefix) for d in DOMAINS}


def all_tenants_root(domain: str, prefix: Optional[str] = None) -> str:
    """The platform-side wildcard for one domain over every tenant: ``[<p>.]*.<domain>.>``."""
    if domain not in DOMAINS:
        raise ValueError(f"domain {domain!r} not in {'|'.join(DOMAINS)}")
    problems = Problems("tenancy")
    validate_prefix(prefix, "prefix", problems)
    problems.raise_if_any()
    return f"{prefix}.*.{domain}.>" if prefix else f"*.{domain}.>"


def platform_imports(tenant: str, tenant_account_pub: str, prefix: Optional[str] = None) -> list[Import]:
    """Stream imports of the tenant's trees into a platform account, subject unchanged.

    No ``name`` and no ``local_subject``: each import costs bytes in the platform account JWT
    (capped at 1 MiB), and the subject already identifies the tenant.
    """
    return [Import(subject=root, account=tenant_account_pub, type="stream")
            for root in tenant_roots(tenant, prefix).values()]
