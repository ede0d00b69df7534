#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A relay for the sending tests that cuts a connection at a chosen protocol step.

    smtp-cut-proxy.py TARGET_PORT CA_FILE --cut POINT [--port-file F] [--log F]

Listens on 127.0.0.1 (a free port, written atomically to the port file) without TLS and
connects each client to 127.0.0.1:TARGET_PORT with TLS (the harness's smtps or imaps port), so
it sees the commands: the client under test uses smtp+insecure:// / imap+insecure:// to reach
it, which is the user's explicit "no encryption" choice and nothing else changes. The first
connection that reaches POINT is cut (both sides closed at once, as a dying network would);
every other connection is relayed unchanged.

SMTP points:
  before-mail   the client's MAIL FROM is not forwarded
  after-rcpt    every RCPT was answered; the client's DATA is not forwarded
  during-data   the DATA command and the first 10 bytes of the message are forwarded
  after-dot     the whole message and the final dot reach the server, which accepts it; its
                reply never reaches the client
IMAP points:
  during-append the APPEND command and the first 20 bytes of its literal are forwarded
  none          relay everything
One line per connection goes to the log: "conn K: cut at POINT" or "conn K: closed".
"""

import argparse
import asyncio
import os
import ssl


def log_line(path, text):
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text + "\n")


class Proxy:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.cut_done = False
        self.ctx = ssl.create_default_context(cafile=args.ca_file)
        self.ctx.check_hostname = False

    async def handle(self, client_r, client_w):
        self.count += 1
        k = self.count
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.args.target,
                                                       ssl=self.ctx)
        except OSError as e:
            log_line(self.args.log, "conn %d: upstream %s" % (k, e))
            client_w.transport.abort()
            return
        state = {"cut": False, "swallow": False}
        point = None if self.cut_done or self.args.cut == "none" else self.args.cut

        def cut():
            if not state["cut"]:
                state["cut"] = True
                self.cut_done = True
                log_line(self.args.log, "conn %d: cut at %s" % (k, point))
            client_w.transport.abort()
            up_w.transport.abort()

        async def server_to_client():
            while not state["cut"]:
                data = await up_r.read(65536)
                if not data:
                    break
                if state["swallow"]:
                    # The server answered the final dot: the client never learns it.
                    cut()
                    return
                client_w.write(data)
                await client_w.drain()

        async def client_to_server():
            buf = b""
            in_data = False
            data_sent = 0
            tail = b""
            while not state["cut"]:
                data = await client_r.read(65536)
                if not data:
                    break
                if point is None:
                    up_w.write(data)
                    await up_w.drain()
                    continue
                buf += data
                out = b""
                while buf and not state["cut"]:
                    if in_data:
                        if point == "during-data":
                            take = buf[:max(0, 10 - data_sent)]
                            out += take
                            data_sent += len(take)
                            buf = buf[len(take):]
                            if data_sent >= 10:
                                up_w.write(out)
                                await up_w.drain()
                                await asyncio.sleep(0.2)
                                cut()
                                return
                            break
                        if point == "after-dot":
                            window = tail + buf
                            i = window.find(b"\r\n.\r\n")
                            if i >= 0:
                                end = i + 5 - len(tail)
                                out += buf[:end]
                                buf = buf[end:]
                                state["swallow"] = True
                                in_data = False
                                continue
                            tail = window[-4:]
                        out += buf
                        buf = b""
                        break
                    nl = buf.find(b"\n")
                    if nl < 0:
                        break
                    line, buf = buf[:nl + 1], buf[nl + 1:]
                    upper = line.upper()
                    if point == "before-mail" and upper.startswith(b"MAIL FROM"):
                        cut()
                        return
                    if point == "after-rcpt" and upper.startswith(b"DATA"):
                        cut()
                        return
                    if point == "during-append" and b" APPEND " in upper:
                        out += line + buf[:20]
                        up_w.write(out)
                        await up_w.drain()
                        await asyncio.sleep(0.2)
                        cut()
                        return
                    out += line
                    if upper.startswith(b"DATA") and point in ("during-data", "after-dot"):
                        in_data = True
                        tail = b"\r\n"
                if out:
                    up_w.write(out)
                    await up_w.drain()

        try:
            await asyncio.gather(server_to_client(), client_to_server())
        except (ConnectionError, ssl.SSLError, OSError):
            pass
        if not state["cut"]:
            log_line(self.args.log, "conn %d: closed" % k)
        client_w.transport.abort()
        up_w.transport.abort()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("target", type=int)
    p.add_argument("ca_file")
    p.add_argument("--cut", default="none")
    p.add_argument("--port-file")
    p.add_argument("--log")
    args = p.parse_args()
    proxy = Proxy(args)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.port_file + ".tmp", args.port_file)
    else:
        print(port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
