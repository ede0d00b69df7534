#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A hostile IMAP server for cases no real server produces.

Usage: scripted-imap.py MODE LOGFILE
Prints the port it listens on (127.0.0.1), serves one connection, and appends every byte the
client sent to LOGFILE, so the test can prove that no password left the client.

Modes:
  no-starttls  greets and advertises AUTH=PLAIN and LOGIN, but no STARTTLS; a client that
               required STARTTLS must hang up without sending credentials.
"""
import socket
import sys


def main():
    mode, logfile = sys.argv[1], sys.argv[2]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(30)
    print(listener.getsockname()[1], flush=True)
    conn, _ = listener.accept()
    conn.settimeout(10)
    with open(logfile, "ab") as log:
        if mode == "no-starttls":
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN LOGIN] scripted ready\r\n")
        buf = b""
        while True:
            try:
                data = conn.recv(4096)
            except (socket.timeout, ConnectionResetError):
                break
            if not data:
                break
            log.write(data)
            log.flush()
            buf += data
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                tag = line.split(b" ", 1)[0]
                verb = line.split(b" ")[1].upper() if b" " in line else b""
                if verb == b"CAPABILITY":
                    conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN LOGIN\r\n" + tag + b" OK done\r\n")
                elif verb == b"LOGOUT":
                    conn.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                else:
                    conn.sendall(tag + b" OK whatever you say\r\n")
    conn.close()


if __name__ == "__main__":
    main()
