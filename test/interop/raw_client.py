#!/usr/bin/env python3
"""A Pathfinder client that is not ours: plain sockets, struct framing and
json, nothing from this project. It speaks the protocol to a pafd over
XCM tcp framing and checks every reply against the spec, message by
message. Usage: raw_client.py tcp:<host>:<port>   (exit 0 = all good)."""

import json
import socket
import struct
import sys


def connect(address):
    transport, rest = address.split(":", 1)
    assert transport == "tcp", address
    host, port = rest.rsplit(":", 1)
    return socket.create_connection((host.strip("[]"), int(port)), timeout=5)


def send(sock, msg):
    payload = json.dumps(msg, separators=(",", ":")).encode()
    sock.sendall(struct.pack(">I", len(payload)) + payload)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("server closed the connection")
        data += chunk
    return data


def recv(sock):
    (length,) = struct.unpack(">I", recv_exact(sock, 4))
    assert 0 < length <= 65535, length
    return json.loads(recv_exact(sock, length))


def expect(sock, wanted):
    got = recv(sock)
    if got != wanted:
        raise AssertionError(f"expected {wanted!r}, got {got!r}")
    print("ok", json.dumps(got, separators=(",", ":")))
    return got


def main():
    address = sys.argv[1]
    client_id = 0x4000000000000001  # beyond 2^53: must survive lossless
    service_id = 0x7FFFFFFFFFFFFFFF  # the largest uint63
    sub_id = 5177
    props = {"name": ["billing"], "port": [8443], "zone": ["eu-1"]}

    s = connect(address)
    send(s, {"ta-cmd": "hello", "ta-id": 0, "msg-type": "request", "client-id": client_id,
             "protocol-minimum-version": 2, "protocol-maximum-version": 3})
    expect(s, {"ta-cmd": "hello", "ta-id": 0, "msg-type": "complete", "protocol-version": 3})

    send(s, {"ta-cmd": "subscribe", "ta-id": 1, "msg-type": "request", "subscription-id": sub_id,
             "filter": "(&(name=billing)(zone=eu-*))"})
    expect(s, {"ta-cmd": "subscribe", "ta-id": 1, "msg-type": "accept"})

    send(s, {"ta-cmd": "publish", "ta-id": 2, "msg-type": "request", "service-id": service_id,
             "generation": 3, "service-props": props, "ttl": 20})
    # The notification is queued before the publish completes (docs/semantics.md §10).
    expect(s, {"ta-cmd": "subscribe", "ta-id": 1, "msg-type": "notify", "match-type": "appeared",
               "service-id": service_id, "generation": 3, "service-props": props, "ttl": 20,
               "client-id": client_id})
    expect(s, {"ta-cmd": "publish", "ta-id": 2, "msg-type": "complete"})

    send(s, {"ta-cmd": "services", "ta-id": 3, "msg-type": "request"})
    expect(s, {"ta-cmd": "services", "ta-id": 3, "msg-type": "accept"})
    expect(s, {"ta-cmd": "services", "ta-id": 3, "msg-type": "notify", "service-id": service_id,
               "generation": 3, "service-props": props, "ttl": 20, "client-id": client_id})
    expect(s, {"ta-cmd": "services", "ta-id": 3, "msg-type": "complete"})

    send(s, {"ta-cmd": "subscriptions", "ta-id": 4, "msg-type": "request"})
    expect(s, {"ta-cmd": "subscriptions", "ta-id": 4, "msg-type": "accept"})
    expect(s, {"ta-cmd": "subscriptions", "ta-id": 4, "msg-type": "notify", "subscription-id": sub_id,
               "client-id": client_id, "filter": "(&(name=billing)(zone=eu-*))"})
    expect(s, {"ta-cmd": "subscriptions", "ta-id": 4, "msg-type": "complete"})

    send(s, {"ta-cmd": "unpublish", "ta-id": 5, "msg-type": "request", "service-id": service_id})
    expect(s, {"ta-cmd": "subscribe", "ta-id": 1, "msg-type": "notify", "match-type": "disappeared",
               "service-id": service_id})
    expect(s, {"ta-cmd": "unpublish", "ta-id": 5, "msg-type": "complete"})

    send(s, {"ta-cmd": "unsubscribe", "ta-id": 6, "msg-type": "request", "subscription-id": sub_id})
    expect(s, {"ta-cmd": "subscribe", "ta-id": 1, "msg-type": "complete"})
    expect(s, {"ta-cmd": "unsubscribe", "ta-id": 6, "msg-type": "complete"})

    send(s, {"ta-cmd": "ping", "ta-id": 7, "msg-type": "request"})
    expect(s, {"ta-cmd": "ping", "ta-id": 7, "msg-type": "complete"})

    # A protocol error (unknown field) closes this connection only.
    send(s, {"ta-cmd": "ping", "ta-id": 8, "msg-type": "request", "bogus": 1})
    s.settimeout(5)
    if s.recv(1) != b"":
        raise AssertionError("connection not closed after a protocol error")
    print("ok closed after protocol error")

    s2 = connect(address)
    send(s2, {"ta-cmd": "hello", "ta-id": 42, "msg-type": "request", "client-id": 1,
              "protocol-minimum-version": 4, "protocol-maximum-version": 5})
    # H5: exactly these bytes' worth of fields.
    expect(s2, {"ta-cmd": "hello", "ta-id": 42, "msg-type": "fail", "fail-reason": "unsupported-protocol-version"})
    print("all checks passed")


if __name__ == "__main__":
    main()
