"""Pure logic: no Pulumi import, no network, no I/O beyond reading the files it is asked to read."""
