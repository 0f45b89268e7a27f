"""nats-tenancy: load this stack's environment file, build the estate (or one shard stack of a
sharded environment: ``components/model/shard_stacks.py``), export the outputs."""
import os

import pulumi

from components.program.estate import Estate
from components.program.sdk_messages import drop_sdk_debug_messages
from components.program.shard import CONTRACT_OUTPUT, ShardEstate, shard_contract
from components.stack_config import load_stack

drop_sdk_debug_messages()

project_dir = os.path.dirname(os.path.abspath(__file__))
settings, environment = load_stack(project_dir)
if settings.role.is_shard:
    outputs = ShardEstate("nats", environment, settings, project_dir=project_dir).outputs()
else:
    estate = Estate("nats", environment, settings, project_dir=project_dir)
    outputs = estate.outputs()
    if environment.platform.shard_stacks:
        outputs[CONTRACT_OUTPUT] = shard_contract(estate.nats_url, estate.operator)
for key, value in outputs.items():
    pulumi.export(key, value)
