"""Pathfinder wire helpers for the python3 interop clients (standard
library only, nothing from this project): connecting over tcp, tls (as
an XCM client: mutual TLS, no name checks), ux and uxf, XCM framing on
the byte streams and one message per packet on the UNIX sockets."""

import json
import socket
import ssl
import struct


def connect(address, creds):
    transport, rest = address.split(":", 1)
    if transport in ("ux", "uxf"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(10)
        s.connect("\0" + rest if transport == "ux" else rest)
        return transport, s
    host, port = rest.rsplit(":", 1)
    raw = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
    if transport == "tcp":
        return transport, raw
    assert transport == "tls", address
    cert, key, ca = creds
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # XCM checks no names
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    # suppress_ragged_eofs=False: an end of stream without close_notify
    # must raise SSLEOFError instead of passing for a clean close.
    return transport, ctx.wrap_socket(raw, suppress_ragged_eofs=False)


def send_raw(transport, s, payload):
    if transport in ("ux", "uxf"):
        s.send(payload)
    else:
        s.sendall(struct.pack(">I", len(payload)) + payload)


def send(transport, s, msg):
    send_raw(transport, s, json.dumps(msg, separators=(",", ":")).encode())


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def recv(transport, s):
    """One message, or raises EOFError on an orderly close."""
    if transport in ("ux", "uxf"):
        data = s.recv(65536)
        if not data:
            raise EOFError
        return json.loads(data)
    (length,) = struct.unpack(">I", recv_exact(s, 4))
    return json.loads(recv_exact(s, length))


def hello(transport, s, client_id, max_version):
    send(transport, s, {"ta-cmd": "hello", "ta-id": 0, "msg-type": "request", "client-id": client_id,
                        "protocol-minimum-version": 2, "protocol-maximum-version": max_version})
    reply = recv(transport, s)
    if reply.get("msg-type") != "complete":
        raise AssertionError(f"hello failed: {reply!r}")
