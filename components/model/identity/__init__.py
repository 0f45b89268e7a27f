"""NATS decentralized identity as pure data: nkeys, JWT v2 claims, creds, tenant subjects, roles.

No I/O here besides the OS random source for new keys: pushing JWTs to servers lives in
``components.nats_io.resolver``.
"""
