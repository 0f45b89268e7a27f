"""A deployment that uses NATS: it reads the estate's stack outputs through a StackReference.

Config: ``estateStack`` is the estate's fully qualified stack name; with the file backend that is
``organization/nats-tenancy/<stack>``. The ``tenants`` output holds creds, so Pulumi hands the whole
map over as a secret; the public parts (subjects, account keys, counts) are unwrapped with
``Output.unsecret`` and the creds stay secret. A real service would put ``nats_url`` and its
tenant's service creds into its own Secret or config.
"""
import pulumi

config = pulumi.Config()
estate = pulumi.StackReference(config.require("estateStack"))

tenants = estate.get_output("tenants")
pulumi.export("nats_url", estate.get_output("nats_url"))
pulumi.export("acme_events", pulumi.Output.unsecret(tenants.apply(lambda t: t["acme"]["subjects"]["events"])))
pulumi.export("acme_service_creds", tenants.apply(lambda t: t["acme"]["creds"]["service"]))
pulumi.export("tenant_count", pulumi.Output.unsecret(tenants.apply(len)))
