#!/usr/bin/env python3
"""A Pathfinder client that is not ours, for the ux:/uxf: transports:
plain AF_UNIX SOCK_SEQPACKET sockets from the standard socket module, one
JSON message per packet with no framing, as XCM sends them. It speaks the
protocol to a pafd and checks every reply against the spec, message by
message, including the client-address pafd reports for us.
Usage: seqpacket_client.py ux:<name> | uxf:<path>   (exit 0 = all good)."""

import json
import os
import socket
import sys

MAX_MESSAGE = 65535  # what the original clients receive into


def connect(address):
    transport, name = address.split(":", 1)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    # Like XCM: SO_PASSCRED makes the kernel auto-bind us to a 5-hex-digit
    # abstract name, which the server reports as our address.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.settimeout(5)
    if transport == "ux":
        s.connect("\0" + name)  # abstract: leading NUL, no trailing NUL counted
    elif transport == "uxf":
        s.connect(name)
    else:
        raise SystemExit(f"not a ux:/uxf: address: {address}")
    return transport, s


def send(sock, msg):
    sock.send(json.dumps(msg, separators=(",", ":")).encode())


def recv(sock):
    data, _anc, flags, _addr = sock.recvmsg(MAX_MESSAGE + 1)
    if not data:
        raise EOFError("server closed the connection")
    assert not flags & socket.MSG_TRUNC, "message truncated"
    assert len(data) <= MAX_MESSAGE, len(data)
    return json.loads(data)


def expect(sock, wanted):
    got = recv(sock)
    if got != wanted:
        raise AssertionError(f"expected {wanted!r}, got {got!r}")
    print("ok", json.dumps(got, separators=(",", ":")))
    return got


def our_address(transport, sock):
    """What the server should report for us (docs/transports.md §1.3)."""
    if transport == "uxf":
        # An unnamed uxf peer: XCM says "uxf:", pafd names the process.
        return f"uxf:pid:{os.getpid()}"
    name = sock.getsockname()
    assert isinstance(name, bytes) and name[:1] == b"\0", name
    assert len(name) == 6, name  # auto-bound: NUL + 5 hex digits
    return "ux:" + name[1:].decode()


def main():
    address = sys.argv[1]
    client_id = 0x4000000000000001  # beyond 2^53: must survive lossless
    service_id = 0x7FFFFFFFFFFFFFFF  # the largest uint63
    sub_id = 5177
    props = {"name": ["billing"], "port": [8443], "zone": ["eu-1"]}

    transport, s = connect(address)
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

    # The server names us the way XCM renders a UNIX peer.
    send(s, {"ta-cmd": "clients", "ta-id": 4, "msg-type": "request"})
    expect(s, {"ta-cmd": "clients", "ta-id": 4, "msg-type": "accept"})
    notify = recv(s)
    assert notify["ta-cmd"] == "clients" and notify["msg-type"] == "notify", notify
    assert notify["client-id"] == client_id, notify
    if notify["client-address"] != our_address(transport, s):
        raise AssertionError(f"client-address {notify['client-address']!r}, expected {our_address(transport, s)!r}")
    assert notify["protocol-version"] == 3, notify
    print("ok client-address", notify["client-address"])
    expect(s, {"ta-cmd": "clients", "ta-id": 4, "msg-type": "complete"})

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
    if s.recv(MAX_MESSAGE) != b"":
        raise AssertionError("connection not closed after a protocol error")
    print("ok closed after protocol error")

    _, s2 = connect(address)
    send(s2, {"ta-cmd": "hello", "ta-id": 42, "msg-type": "request", "client-id": 1,
              "protocol-minimum-version": 4, "protocol-maximum-version": 5})
    expect(s2, {"ta-cmd": "hello", "ta-id": 42, "msg-type": "fail", "fail-reason": "unsupported-protocol-version"})
    print("all checks passed")


if __name__ == "__main__":
    main()
