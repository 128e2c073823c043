#!/usr/bin/env python3
"""A Pathfinder client that is not ours (standard library only) that
checks orphan-since against its own clock, as real client test suites
do: a subscriber watches; a publisher publishes a service, reads
time.time() (microseconds) and closes its connection at once; the
subscriber's `modified` notification must carry an orphan-since no
earlier than that reading and at most 0.25 s later (conformance O1).

Usage: orphan_since_client.py <rounds> <address> [<cert> <key> <ca>]
Prints "<rounds> rounds ok: orphan-since - close in [<min>, <max>] s"
(exit 0), or the first round that failed (exit 1)."""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from pafwire import connect, hello, recv, send

UPPER_BOUND_S = 0.25


def expect_reply(transport, s, ta_id, wanted):
    msg = recv(transport, s)
    if msg.get("ta-id") != ta_id or msg.get("msg-type") != wanted:
        raise SystemExit(f"FAIL: expected {wanted} of transaction {ta_id}, got {msg!r}")


def next_notification(transport, s, service_id, match_type):
    """The next notification, skipping the expiry of earlier rounds' orphans (TTL 1)."""
    msg = recv(transport, s)
    while msg.get("match-type") == "disappeared" and msg.get("service-id", service_id) < service_id:
        msg = recv(transport, s)
    if msg.get("msg-type") != "notify" or msg.get("service-id") != service_id or msg.get("match-type") != match_type:
        raise SystemExit(f"FAIL: expected {match_type} of service {service_id}, got {msg!r}")
    return msg


def main():
    rounds, address = int(sys.argv[1]), sys.argv[2]
    creds = sys.argv[3:6]
    tag = f"orphan-since-{os.getpid()}-{address.split(':', 1)[0]}"
    base_id = (os.getpid() << 32) | (int(time.time()) & 0xFFFF) << 16

    transport, sub = connect(address, creds)
    hello(transport, sub, base_id, 3)
    send(transport, sub, {"ta-cmd": "subscribe", "ta-id": 1, "msg-type": "request",
                          "subscription-id": base_id, "filter": f"(name={tag})"})
    expect_reply(transport, sub, 1, "accept")

    margins = []
    for i in range(rounds):
        service_id = base_id + 1 + i
        _, pub = connect(address, creds)
        hello(transport, pub, base_id + 1 + i, 2)
        send(transport, pub, {"ta-cmd": "publish", "ta-id": 1, "msg-type": "request", "service-id": service_id,
                              "generation": 0, "service-props": {"name": [tag]}, "ttl": 1})
        expect_reply(transport, pub, 1, "complete")
        next_notification(transport, sub, service_id, "appeared")
        closed_at = time.time()
        pub.close()
        msg = next_notification(transport, sub, service_id, "modified")
        since = msg.get("orphan-since")
        if not isinstance(since, (int, float)) or isinstance(since, bool):
            raise SystemExit(f"FAIL: round {i}: orphan-since is not a number: {msg!r}")
        margin = since - closed_at
        if not 0 <= margin <= UPPER_BOUND_S:
            raise SystemExit(f"FAIL: round {i}: orphan-since {since!r} is {margin:+.6f} s from the close "
                             f"at {closed_at!r} (allowed [0, {UPPER_BOUND_S}])")
        margins.append(margin)
    print(f"{rounds} rounds ok: orphan-since - close in [{min(margins):.6f}, {max(margins):.6f}] s")


if __name__ == "__main__":
    main()
