#!/usr/bin/env python3
"""Prints the first TCP port from argv[1] (200 tried) that is free on 127.0.0.1.

Shared by scripts/bench-login.sh, bench-token.sh and soak.sh."""
import socket
import sys

start = int(sys.argv[1])
for port in range(start, start + 200):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    sys.exit(0)
sys.exit("no free port")
