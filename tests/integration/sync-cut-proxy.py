#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A TCP relay for the sync tests that can cut a connection in the middle of a transfer.

    sync-cut-proxy.py TARGET_PORT [--listen PORT] [--cut-after N] [--port-file F] [--log F]

Listens on 127.0.0.1:PORT (0, the default, picks a free port), connects every client to
127.0.0.1:TARGET_PORT and copies bytes both ways, unchanged (TLS passes through opaque).
With --cut-after N it forwards exactly N bytes from the server to each client and then closes
both sides, as a dying network or a crashed server would. The chosen port goes to the port
file (written atomically once listening) or stdout; one line per finished connection to the
log: "conn K: server->client S bytes, client->server C bytes, cut|closed".
Runs until killed (SIGTERM).
"""

import argparse
import os
import select
import signal
import socket
import sys
import threading


def log_line(path, text):
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text + "\n")


def relay(k, client, target_port, cut_after, log):
    try:
        server = socket.create_connection(("127.0.0.1", target_port))
    except OSError as e:
        log_line(log, "conn %d: upstream %s" % (k, e))
        client.close()
        return
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    down = up = 0
    how = "closed"
    open_dirs = {client: server, server: client}
    try:
        while open_dirs:
            readable, _, _ = select.select(list(open_dirs), [], [])
            for src in readable:
                dst = open_dirs[src]
                limit = 65536
                if src is server and cut_after is not None:
                    limit = min(limit, cut_after - down)
                data = src.recv(limit) if limit > 0 else b""
                if src is server and cut_after is not None and down + len(data) >= cut_after:
                    dst.sendall(data)
                    down += len(data)
                    how = "cut"
                    raise StopIteration
                if not data:
                    # Half-close: pass the end of one direction on, keep the other open.
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    del open_dirs[src]
                    continue
                dst.sendall(data)
                if src is server:
                    down += len(data)
                else:
                    up += len(data)
    except StopIteration:
        pass
    except OSError as e:
        how = "error %s" % e
    finally:
        client.close()
        server.close()
        log_line(log, "conn %d: server->client %d bytes, client->server %d bytes, %s"
                 % (k, down, up, how))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("target_port", type=int)
    p.add_argument("--listen", type=int, default=0)
    p.add_argument("--cut-after", type=int)
    p.add_argument("--port-file")
    p.add_argument("--log")
    a = p.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", a.listen))
    sock.listen(16)
    port = sock.getsockname()[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(a.port_file + ".tmp", a.port_file)
    else:
        print(port, flush=True)
    k = 0
    while True:
        client, _ = sock.accept()
        k += 1
        threading.Thread(target=relay, args=(k, client, a.target_port, a.cut_after, a.log),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
