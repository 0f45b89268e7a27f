"""A loopback TCP proxy in front of one server, able to make its open connections go silent.

    proxy = TcpProxy("127.0.0.1", server.conf.port)      # clients use nats://127.0.0.1:<proxy.port>
    proxy.freeze()   # connections open now stay open but carry nothing more, in either direction
    ...
    proxy.close()

``freeze`` is what a client sees when the path to its server dies without a FIN or RST (a peer that
vanished, a dropped NAT entry): the socket looks connected, writes succeed, no answer ever comes.
Connections accepted after ``freeze`` are forwarded normally.
"""
from __future__ import annotations

import select
import socket
import threading


class _Pair:
    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self.frozen = False
        self.closed = False

    def pump(self) -> None:
        peers = {self.client: self.upstream, self.upstream: self.client}
        try:
            while not self.closed:
                readable, _, _ = select.select(list(peers), [], [], 0.1)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if not self.frozen:  # frozen: swallowed, like packets into a dead path
                        peers[sock].sendall(data)
        except OSError:
            pass
        finally:
            self.close()

    def close(self) -> None:
        self.closed = True
        for sock in (self.client, self.upstream):
            try:
                sock.close()
            except OSError:
                pass


class TcpProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.1)  # lets the accept loop see close()
        self.port: int = self.listener.getsockname()[1]
        self._pairs: list[_Pair] = []
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = _Pair(client, upstream)
            with self._lock:
                self._pairs.append(pair)
            threading.Thread(target=pair.pump, name="tcp-proxy-pump", daemon=True).start()

    def open_connections(self) -> int:
        with self._lock:
            return sum(1 for p in self._pairs if not p.closed)

    def freeze(self) -> None:
        """Silence every connection open now; later connections are forwarded."""
        with self._lock:
            for pair in self._pairs:
                pair.frozen = True

    def close(self) -> None:
        self._stopped = True
        try:
            self.listener.close()
        except OSError:
            pass
        with self._lock:
            for pair in self._pairs:
                pair.close()
