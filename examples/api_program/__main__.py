"""Two tenants, an operations account that reads one tenant's events, a stream, the platform that
ingests every tenant's events and a customer's leaf-node bundle, built with the nats-tenancy API
directly: no environment file, no project code but this file.

Set up: ``python -m venv .venv && .venv/bin/pip install <nats-tenancy checkout>``, then
``pulumi up``. The program starts its own nats-server (operator mode, ``full`` resolver) on
loopback; ``pulumi destroy`` stops it.
"""
import pulumi

from components import api

config = pulumi.Config()
data_dir = config.get("dataDir") or ".state/nats"
operator = api.Operator("operator", api.OperatorArgs(name="api-example"))
server = api.LocalNatsServer("nats", api.LocalNatsServerArgs(
    data_dir=data_dir, client_port=config.get_int("clientPort") or 4250,
    monitor_port=config.get_int("monitorPort") or 8250, leafnode_port=config.get_int("leafnodePort") or 7450,
    max_memory="64MB", max_file="256MB"), operator)

# The server reserves each account's max_memory and max_bytes from its own limits above.
quotas = api.Quotas(max_streams=5, max_consumers=10, max_bytes=32 << 20, max_memory=8 << 20,
                    max_connections=20, retention_days=7, max_ack_pending=1000)
acme = api.Tenant(api.TenantArgs(id="acme", name="Acme Inc", quotas=quotas), server.hub)
globex = api.Tenant(api.TenantArgs(id="globex", name="Globex Corp", quotas=quotas), server.hub)

orders = api.Stream("acme-orders", api.StreamArgs(
    name="ACME_ORDERS", subjects=["acme.events.orders.>"], max_age="24h", max_bytes="8MiB", duplicate_window="1m",
), acme.jetstream_connection)
api.Consumer("acme-orders-worker", api.ConsumerArgs(stream=orders.name, name="worker", max_deliver=3),
             acme.jetstream_connection, opts=pulumi.ResourceOptions(depends_on=[orders]))
api.KeyValue("globex-settings", api.KeyValueArgs(bucket="settings", history=3, max_bytes="1MiB"),
             globex.jetstream_connection)

# An account that is no tenant: it imports acme's events (every tenant exports its trees) and has one user.
ops = api.Account("ops", api.AccountArgs(
    name="ops", limits=api.AccountLimits(jetstream=api.NO_JETSTREAM),
    imports=[api.AccountImport(subject="acme.events.>", account=acme.account_public_key, name="acme-events")],
), server.hub)
reader_permissions = api.UserPermissions(pub=api.Permission(allow=("_INBOX.>",)),
                                         sub=api.Permission(allow=("acme.events.>", "_INBOX.>")))
ops_reader = api.User("ops-reader", api.UserArgs(name="ops-reader", permissions=reader_permissions), ops)

# Every tenant's events in one ingest stream of the platform account, read by one durable consumer.
platform = api.Platform("platform", api.PlatformArgs(
    consumers=[api.PlatformConsumerArgs(name="audit", tree="events")]), server.hub, [acme, globex])
# What acme's edge site runs to join the hub as a leaf node (acme's leaf user's creds inside).
# The bundle is written to .state/leafnodes/acme-edge (and a .tar.gz beside it).
edge = api.LeafNode("acme-edge", api.LeafNodeArgs(customer="acme-edge", hub_url=server.leafnode_url), acme)

pulumi.export("nats_url", server.url)
pulumi.export("monitor_url", server.monitor_url)
pulumi.export("accounts", {"acme": acme.account_public_key, "globex": globex.account_public_key,
                           "ops": ops.public_key, "platform": platform.output()["accounts"][0]})
pulumi.export("stream", orders.name)
pulumi.export("leafnode_bundle", edge.path)
pulumi.export("creds", pulumi.Output.secret({"acme_service": acme.creds["service"],
                                             "globex_service": globex.creds["service"],
                                             "ops_reader": ops_reader.creds,
                                             "platform_consumer": platform.output()["creds"]["consumer"][0]}))
