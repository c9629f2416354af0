#!/usr/bin/env python3
"""A TCP proxy in front of PostgreSQL that goes silent after the server's N-th ReadyForQuery.

Usage: silent_postgres_proxy.py UPSTREAM_PORT N. Listens on 127.0.0.1 (a free port) and prints
"listening on PORT". Everything is passed through until the server has said ReadyForQuery N
times on a connection (1: right after the login); from then on nothing more reaches the client,
whose connection stays open: a server that hangs mid-session. Stops after 120 s.
"""
import os
import signal
import socket
import struct
import sys
import threading

signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
UPSTREAM, SILENT_AFTER = int(sys.argv[1]), int(sys.argv[2])


def client_to_server(client, server):
    try:
        while data := client.recv(65536):
            server.sendall(data)
    except OSError:
        pass


def server_to_client(client, server):
    buffer, ready, silent = b"", 0, False
    try:
        while data := server.recv(65536):
            if silent:
                continue
            buffer += data
            out = b""
            while len(buffer) >= 5:
                length = struct.unpack("!I", buffer[1:5])[0]
                if len(buffer) < 1 + length:
                    break
                message, buffer = buffer[: 1 + length], buffer[1 + length :]
                out += message
                if message[:1] == b"Z":
                    ready += 1
                    if ready >= SILENT_AFTER:
                        silent = True
                        break
            if out:
                client.sendall(out)
    except OSError:
        pass


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(f"listening on {listener.getsockname()[1]}", flush=True)
threading.Timer(120, lambda: os._exit(0)).start()
while True:
    client, _ = listener.accept()
    server = socket.create_connection(("127.0.0.1", UPSTREAM))
    threading.Thread(target=client_to_server, args=(client, server), daemon=True).start()
    threading.Thread(target=server_to_client, args=(client, server), daemon=True).start()
