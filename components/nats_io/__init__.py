"""The NATS I/O adapter: the only code of ``components`` that imports nats-py.

- ``connect``: open a connection (creds in memory or from a file, TLS from ``tls``), failing fast;
- ``pool``: connections reused across the operations of one provider process;
- ``messaging``: requests, reply gathering and subscriptions with the adapter's exceptions;
- ``jetstream``: JetStream API requests (``$JS.API.*``) for the providers and the ops tools;
- ``resolver``: account JWT pushes, lookups and deletes on the servers' full resolver;
- ``tls``: the client TLS context from ``NATS_TENANCY_TLS_*``;
- ``errors``: the adapter's exceptions, under ``NatsTenancyError``, with one ``JetStreamApiError``
  subclass per server error the code branches on.

Callers hold a connection as the ``Client`` that ``connect`` returns and may use its methods
(``publish``, ``subscribe``, ``jetstream()``) directly; what they need of nats-py's types and
exceptions comes from here, so nothing else imports ``nats`` (an import-linter contract).
"""
