#!/usr/bin/env python3
"""A Pathfinder client that is not ours (standard library only) that lets
pafd close its connection and checks that the close is an orderly one, as
an XCM client needs it (docs/transports.md §6): on tls a TLS close_notify
before the end of the TCP stream (Python's ssl then reads b"" or raises
SSLZeroReturnError; without close_notify it raises SSLEOFError, which
XCM reports as EPROTO), on tcp and ux an end of stream and not a reset.

Usage: close_client.py <scenario> <address> [<cert> <key> <ca>]
  address   tcp:<host>:<port> | tls:<host>:<port> | ux:<name> | uxf:<path>
  scenario  deadline        connect (TLS handshake included), send nothing
            idle            hello as v3, then stay silent (no track)
            protocol-error  hello, then a message that is not JSON, and
                            one more behind it that pafd will not read
            refused         connect while the server is full (after the
                            TLS handshake), send a hello
Prints one line "closed cleanly after <seconds> s" (exit 0) or what went
wrong (exit 1). The component test checks the seconds."""

import json
import socket
import ssl
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from pafwire import connect, hello, recv, send, send_raw


def await_close(transport, s, started):
    """Reads until the server closes; anything but an orderly close fails."""
    try:
        while True:
            msg = recv(transport, s)
            print("message before the close:", json.dumps(msg, separators=(",", ":")))
    except EOFError:
        pass
    except ssl.SSLZeroReturnError:
        pass  # close_notify seen: a clean TLS close
    except ssl.SSLEOFError as e:
        raise SystemExit(f"FAIL: the TLS stream ended without close_notify ({e})")
    except ConnectionResetError as e:
        raise SystemExit(f"FAIL: connection reset ({e})")
    except socket.timeout:
        raise SystemExit("FAIL: not closed within 10 s")
    print(f"closed cleanly after {time.monotonic() - started:.3f} s")


def main():
    scenario, address = sys.argv[1], sys.argv[2]
    creds = sys.argv[3:6]
    started = time.monotonic()
    transport, s = connect(address, creds)
    client_id = int.from_bytes(struct.pack(">d", time.time()), "big") & 0x3FFFFFFFFFFFFFFF
    if scenario == "deadline":
        pass
    elif scenario == "idle":
        hello(transport, s, client_id, 3)
        started = time.monotonic()
    elif scenario == "protocol-error":
        hello(transport, s, client_id, 3)
        started = time.monotonic()
        send_raw(transport, s, b"this is not JSON")
        try:
            send(transport, s, {"ta-cmd": "ping", "ta-id": 1, "msg-type": "request"})
        except BrokenPipeError:
            pass  # already closed (ux: at once); the close itself is what is checked
    elif scenario == "refused":
        try:
            send(transport, s, {"ta-cmd": "hello", "ta-id": 0, "msg-type": "request", "client-id": client_id,
                                "protocol-minimum-version": 2, "protocol-maximum-version": 3})
        except BrokenPipeError:
            pass  # already closed (ux: at once); the close itself is what is checked
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    await_close(transport, s, started)


if __name__ == "__main__":
    main()
