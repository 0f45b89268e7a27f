"""The ``roles`` and ``accounts`` sections: permission sets users are bound to, and accounts that
are not tenants (a platform account, an app account, a monitor, environments such as PROD and
STAGING, seed 003) with their own users, JetStream, exports, imports and subject mappings.

An import names its exporter by account name, or ``tenants`` for every tenant of the file (seed
004's platform import of ``VENTURE.*.>`` becomes one import per tenant, since an account JWT imports
from one account at a time); an import must match an export of the exporter, checked here, since
the server drops a non-matching import without an error.
"""
from __future__ import annotations

import re
from typing import Any, Collection, Mapping, Optional

from components.model.environment.items import read_js_streams
from components.model.environment.layout import Layout
from components.model.environment.model import (
    AccountExport,
    AccountImport,
    AccountJetStream,
    AccountUser,
    NamedAccount,
    Quotas,
    RoleSpec,
    Tenant,
)
from components.model.environment.schema import Reader, child, item, read_unique
from components.model.environment.tenant_parts import ITEM_NAME, ITEM_NAME_FIX, read_kv, read_objects
from components.model.identity.permissions import CONNECTION_TYPES
from components.model.identity.role_sets import BINDABLE_BUILTINS, builtin_roles, role_problem
from components.model.subjects import subject_contains, subject_problem

ROLE_KEYS = ("publish", "subscribe", "responses", "connection_types")
DIRECTION_KEYS = ("allow", "deny")
RESPONSE_KEYS = ("max", "ttl")
ACCOUNT_KEYS = ("name", "description", "jetstream", "max_connections", "users", "exports", "imports",
                "mappings", "streams", "kv_buckets", "object_stores")
JS_KEYS = ("max_bytes", "max_memory", "max_streams", "max_consumers", "max_ack_pending")
EXPORT_KEYS = ("subject", "type")
IMPORT_KEYS = ("account", "subject", "local_subject", "type")
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
ROLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
TENANTS = "tenants"


def read_roles(r: Reader, value: Any, path: str) -> dict[str, RoleSpec]:
    """Built-in roles, replaced or joined by the declared ones."""
    out = builtin_roles()
    for name, raw in r.named_map(value, path, ROLE_NAME, "use letters, digits, '_' or '-'").items():
        rpath = child(path, name)
        m = r.mapping({} if raw is None else raw, rpath, ROLE_KEYS)
        if m is None:
            continue
        pub, pub_deny = _direction(r, m.get("publish"), child(rpath, "publish"))
        sub, sub_deny = _direction(r, m.get("subscribe"), child(rpath, "subscribe"))
        responses = None
        if "responses" in m:
            rm = r.mapping(m["responses"], child(rpath, "responses"), RESPONSE_KEYS)
            if rm is not None:
                responses = (r.integer(rm, "max", child(rpath, "responses"), default=1, minimum=-1) or 1,
                             r.duration(rm, "ttl", child(rpath, "responses"), default=0, allow_zero=True) or 0)
        types = tuple(str(t) for t in r.sequence(m.get("connection_types"), child(rpath, "connection_types")))
        for i, t in enumerate(types):
            if t not in CONNECTION_TYPES:
                r.add(item(child(rpath, "connection_types"), i), f"{t!r} is not a connection type",
                      " | ".join(CONNECTION_TYPES))
        out[name] = RoleSpec(name, pub, pub_deny, sub, sub_deny, responses, types)
    return out


def _direction(r: Reader, value: Any, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``[subjects]`` (allow) or ``{allow: [...], deny: [...]}``."""
    if value is None:
        return (), ()
    if isinstance(value, list):
        return _subjects(r, value, path), ()
    m = r.mapping(value, path, DIRECTION_KEYS)
    if m is None:
        return (), ()
    return _subjects(r, m.get("allow"), child(path, "allow")), _subjects(r, m.get("deny"), child(path, "deny"))


def _subjects(r: Reader, value: Any, path: str) -> tuple[str, ...]:
    out: list[str] = []
    for i, s in enumerate(r.sequence(value, path)):
        text = s.split(" ", 1)[0] if isinstance(s, str) else s
        why = None if isinstance(text, str) and text.startswith("{") and text.endswith("}") else subject_problem(
            text.replace("{", "x").replace("}", "x") if isinstance(text, str) else text)
        if why:
            r.add(item(path, i), why, "a subject with '*'/'>' as whole tokens, or a role placeholder like {root}.>")
        else:
            out.append(str(s))
    return tuple(out)


def read_accounts(r: Reader, value: Any, path: str, roles: Mapping[str, RoleSpec], layout: Layout,
                  server_replicas: int) -> tuple[NamedAccount, ...]:
    """The ``accounts`` section: declared accounts, each name once (a repeat is a problem at its path).

    Roles a declared account's users take come from ``roles``; its buckets' replicas cannot exceed
    ``server_replicas`` (the server refuses a stream it cannot place on that many peers).
    """
    return read_unique(r, value, path, lambda raw, apath: _read_account(r, raw, apath, roles, layout, server_replicas),
                       lambda a: a.name, "name", "account")


def _read_account(r: Reader, raw: Any, path: str, roles: Mapping[str, RoleSpec], layout: Layout,
                  server_replicas: int) -> Optional[NamedAccount]:
    m = r.mapping(raw, path, ACCOUNT_KEYS, required=("name",))
    if m is None:
        return None
    name = r.string(m, "name", path, pattern=ACCOUNT_NAME, fix="use letters, digits, '_' or '-' (e.g. PROD, monitor)")
    js = _read_js(r, m.get("jetstream"), child(path, "jetstream"))
    users: list[AccountUser] = []
    upath = child(path, "users")
    for j, uraw in enumerate(r.sequence(m.get("users"), upath)):
        um = r.mapping(uraw, item(upath, j), ("name", "role"), required=("name", "role"))
        if um is None:
            continue
        uname = r.string(um, "name", item(upath, j), pattern=ITEM_NAME, fix=ITEM_NAME_FIX)
        role = r.string(um, "role", item(upath, j))
        if role is not None and role not in roles:
            r.add(child(item(upath, j), "role"), f"unknown role {role!r}",
                  f"declare it under 'roles' or use one of {', '.join(sorted(roles))}")
            continue
        why = role_problem(roles[role], tenant_scoped=False) if role is not None else None
        if why:
            r.add(child(item(upath, j), "role"), why, "bind a role without tenant placeholders, or declare one")
            continue
        if uname and role:
            users.append(AccountUser(uname, role))
    exports = []
    for j, eraw in enumerate(r.sequence(m.get("exports"), child(path, "exports"))):
        em = r.mapping(eraw, item(child(path, "exports"), j), EXPORT_KEYS, required=("subject",))
        if em is not None and (subj := _subject(r, em, "subject", item(child(path, "exports"), j))):
            kind = r.string(em, "type", item(child(path, "exports"), j), default="stream") or "stream"
            exports.append(AccountExport(subj, kind))
    imports = []
    for j, iraw in enumerate(r.sequence(m.get("imports"), child(path, "imports"))):
        ipath = item(child(path, "imports"), j)
        im = r.mapping(iraw, ipath, IMPORT_KEYS, required=("account", "subject"))
        if im is None:
            continue
        src = r.string(im, "account", ipath)
        subj = r.string(im, "subject", ipath)
        if src and subj:
            imports.append(AccountImport(src, subj, r.string(im, "local_subject", ipath),
                                         r.string(im, "type", ipath, default="stream") or "stream"))
    mappings = []
    mraw = m.get("mappings")
    if mraw is not None and not isinstance(mraw, dict):
        r.add(child(path, "mappings"), "expected a mapping of subject to subject", "write 'from.>: to.>' lines")
    for src, dst in (mraw or {}).items():
        if subject_problem(src) or not isinstance(dst, str) or subject_problem(dst):
            r.add(child(child(path, "mappings"), str(src)), f"{src!r} → {dst!r} is not a subject mapping",
                  "map one subject (wildcards as whole tokens) to another")
        else:
            mappings.append((src, dst))
    if name is None:
        return None
    quotas = Quotas(max_streams=js.max_streams if js else 0, max_consumers=js.max_consumers if js else 0,
                    max_bytes=js.max_bytes if js else 0, max_memory=js.max_memory if js else 0,
                    max_connections=1, retention_days=36500, max_ack_pending=1)
    values = {"account": name, "stack": layout.stack}
    streams = read_js_streams(r, m.get("streams"), child(path, "streams"), values, deliver_root=f"deliver.{name}")
    kvs = read_kv(r, m.get("kv_buckets"), child(path, "kv_buckets"), name, quotas, server_replicas, template="{name}")
    objects = read_objects(r, m.get("object_stores"), child(path, "object_stores"), name, quotas, server_replicas,
                           template="{name}")
    if js is None and (streams or kvs or objects):
        r.add(child(path, "jetstream"), f"account {name} declares streams or buckets but has no JetStream",
              "add jetstream: {max_bytes: ..., max_memory: ...}")
    return NamedAccount(name=name, description=r.string(m, "description", path, default="") or "", jetstream=js,
                        max_connections=r.integer(m, "max_connections", path, default=-1, minimum=-1) or -1,
                        users=tuple(users), exports=tuple(exports), imports=tuple(imports), mappings=tuple(mappings),
                        streams=streams, kv_buckets=kvs, object_stores=objects)


def _subject(r: Reader, m: Mapping[str, Any], key: str, path: str) -> Optional[str]:
    value = r.string(m, key, path)
    if value is None:
        return None
    why = subject_problem(value)
    if why:
        r.add(child(path, key), why, "dot-separated tokens, '*' and '>' as whole tokens")
        return None
    return value


def _read_js(r: Reader, value: Any, path: str) -> Optional[AccountJetStream]:
    if value is None or value is False:
        return None
    m = r.mapping(value, path, JS_KEYS, required=("max_bytes",))
    if m is None:
        return None
    return AccountJetStream(
        max_bytes=r.size(m, "max_bytes", path) or 0,
        max_memory=r.size(m, "max_memory", path, default=0) or 0,
        max_streams=r.integer(m, "max_streams", path, default=-1, minimum=-1) or -1,
        max_consumers=r.integer(m, "max_consumers", path, default=-1, minimum=-1) or -1,
        max_ack_pending=r.integer(m, "max_ack_pending", path, default=-1, minimum=-1) or -1,
    )


def check_imports(r: Reader, accounts: tuple[NamedAccount, ...], tenants: Collection[Tenant], layout: Layout,
                  path: str = "accounts") -> None:
    """Every import names a known exporter and a subject that exporter exports."""
    by_name = {a.name: a for a in accounts}
    for i, a in enumerate(accounts):
        for j, imp in enumerate(a.imports):
            ipath = item(child(item(path, i), "imports"), j)
            if imp.account == TENANTS:
                for t in tenants:
                    subject = _tenant_template(imp.subject, t, layout)
                    if not any(subject_contains(tree, subject) for tree in t.subjects.roots):
                        r.add(child(ipath, "subject"), f"{subject!r} is not inside what tenant {t.id} exports "
                              f"({', '.join(t.subjects.roots)})", "import a subject below {root}")
                        break
                continue
            exporter = by_name.get(imp.account)
            if exporter is None:
                r.add(child(ipath, "account"), f"unknown account {imp.account!r}",
                      f"use a declared account ({', '.join(sorted(by_name)) or 'none'}) or '{TENANTS}'")
            elif not any(subject_contains(e.subject, imp.subject) for e in exporter.exports if e.type == imp.type):
                r.add(child(ipath, "subject"),
                      f"account {exporter.name} exports no {imp.type} covering {imp.subject!r}",
                      f"add exports: [{{subject: {imp.subject!r}}}] to account {exporter.name}")


def _tenant_template(template: str, tenant: Tenant, layout: Layout) -> str:
    return template.format_map({"root": tenant.subjects.root, "tenant": tenant.id, "stack": layout.stack})


def bindable_roles(roles: Mapping[str, RoleSpec]) -> tuple[str, ...]:
    """Roles a tenant's extra users may take: the declared ones and the bindable built-ins."""
    declared = set(roles) - set(builtin_roles())
    return tuple(sorted(declared | set(BINDABLE_BUILTINS)))
