"""Operations tools that talk to running servers: the tenant metrics exporter and stream backups.

They sit beside the Pulumi layers, not inside them: the stack stays the source of truth for
configuration, these tools only read state (metrics) or move stream data (backup and restore).
"""
