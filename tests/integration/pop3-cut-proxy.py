#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A POP3-aware TCP relay that cuts the connection right after the client's Nth command.

    pop3-cut-proxy.py TARGET_PORT --cut COMMAND N [--port-file F] [--log F]

Listens on a free 127.0.0.1 port (written to the port file once listening), connects every
client to 127.0.0.1:TARGET_PORT and copies bytes both ways. The first connection is watched:
when the client has sent its Nth COMMAND (RETR, DELE, QUIT, ...), that command still reaches
the server, and then both sides are closed at once, before the client sees the reply, as a
dying network would. Later connections pass through unchanged. The relay speaks plain TCP, so
the client must use pop3+insecure:// to it (the harness's Dovecot allows that from loopback).
One line per connection to the log: "conn K: cut after COMMAND #N" or "conn K: closed".
Runs until killed.
"""

import argparse
import os
import select
import socket
import sys
import threading


def log_line(path, text):
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text + "\n")


def relay(k, client, target, cut_command, cut_n, log):
    server = socket.create_connection(("127.0.0.1", target))
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    watching = k == 1
    seen = 0
    pending = b""
    result = "closed"
    try:
        while True:
            r, _, _ = select.select([client, server], [], [], 120)
            if not r:
                break
            if server in r:
                data = server.recv(65536)
                if not data:
                    break
                client.sendall(data)
            if client in r:
                data = client.recv(65536)
                if not data:
                    break
                if not watching:
                    server.sendall(data)
                    continue
                pending += data
                # Forward whole command lines, one at a time, so the cut falls exactly after
                # the Nth command.
                cut = False
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    server.sendall(line + b"\n")
                    if line.split(b" ", 1)[0].strip().upper() == cut_command:
                        seen += 1
                        if seen == cut_n:
                            cut = True
                            break
                if cut:
                    result = "cut after %s #%d" % (cut_command.decode(), cut_n)
                    break
    except OSError as e:
        result = "error %s" % e
    finally:
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        log_line(log, "conn %d: %s" % (k, result))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("target", type=int)
    p.add_argument("--cut", nargs=2, metavar=("COMMAND", "N"), required=True)
    p.add_argument("--port-file")
    p.add_argument("--log")
    a = p.parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    else:
        print(port, flush=True)
    k = 0
    while True:
        client, _ = listener.accept()
        k += 1
        threading.Thread(target=relay, daemon=True,
                         args=(k, client, a.target, a.cut[0].upper().encode(), int(a.cut[1]),
                               a.log)).start()


if __name__ == "__main__":
    sys.exit(main())
