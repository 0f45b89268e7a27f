"""nats-tenancy: load this stack's environment file, build the estate, export the outputs."""
import os

import pulumi

from components.program.estate import Estate
from components.stack_config import load_stack

project_dir = os.path.dirname(os.path.abspath(__file__))
settings, environment = load_stack(project_dir)
estate = Estate("nats", environment, settings, project_dir=project_dir)
for key, value in estate.outputs().items():
    pulumi.export(key, value)
