# SPDX-License-Identifier: GPL-3.0-or-later
"""The background half of pb-mailserver, on listening sockets inherited from `start`.

Dovecot:
  runs in the foreground as this process's child, so that `stop` (SIGTERM to us) ends it
  and nothing is left behind, not even a zombie waiting for init.

SMTP (aiosmtpd):
  `smtp`  plain connection; STARTTLS is offered and required before anything else, then
          AUTH PLAIN/LOGIN, required before MAIL.
  `smtps` implicit TLS; AUTH PLAIN/LOGIN, required before MAIL.
  Each accepted message is kept in DIR/smtp/NNNN.eml (with NNNN.json: envelope and the
  authenticated user) and delivered over LMTP to every recipient whose local part names a
  user of the server; other recipients are accepted and only kept there, as if relayed.

Relays for `imap` and `pop3`:
  Dovecot counts a connection whose client address equals its own address as secured and
  then allows LOGIN, AUTH PLAIN and USER/PASS without TLS; on 127.0.0.1 that is every
  connection. A real server on another host does not. So the public STARTTLS ports are
  byte-for-byte relays to Dovecot's listeners that connect from 127.0.0.2: Dovecot then
  sees a remote client, offers STARTTLS, and refuses clear-text passwords before it
  (LOGINDISABLED, "-ERR [AUTH] Plaintext authentication disallowed").

Stopped with SIGTERM by `pb-mailserver stop`. With --parent-pid it also watches that
process and, when it exits without stopping the server (a crashed test), stops Dovecot and
itself and removes the folder.
"""

import asyncio
import email.utils
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import warnings

RELAY_SOURCE = "127.0.0.2"
log = logging.getLogger("pb-daemon")


def dovecot_port(d, name):
    # Read when needed: `start` writes ports.json once Dovecot's ports are final.
    with open(os.path.join(d, "ports.json"), encoding="utf-8") as f:
        return int(json.load(f)[name])


class Handler:
    def __init__(self, d, users, deliver):
        self.dir = d
        self.users = users
        self.deliver = deliver
        self.counter = len([n for n in os.listdir(os.path.join(d, "smtp"))
                            if n.endswith(".eml")])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        peer = session.peer[0] if session.peer else "unknown"
        received = ("Received: from %s (localhost [%s])\r\n"
                    "\tby localhost (pb-mailserver) with %s;\r\n\t%s\r\n" % (
                        session.host_name or "unknown", peer,
                        "ESMTPSA" if session.authenticated else "ESMTP",
                        email.utils.formatdate(localtime=True))).encode("ascii")
        data = received + envelope.original_content
        self.counter += 1
        base = os.path.join(self.dir, "smtp", "%04d" % self.counter)
        with open(base + ".eml", "wb") as f:
            f.write(data)
        with open(base + ".json", "w", encoding="utf-8") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "auth_user": session.auth_data if session.authenticated else None},
                      f, indent=1)
            f.write("\n")

        local = {}  # user -> the first recipient address naming it
        for rcpt in envelope.rcpt_tos:
            user = rcpt.rsplit("@", 1)[0].lower()
            if user in self.users:
                local.setdefault(user, rcpt)
        loop = asyncio.get_running_loop()
        try:
            port = dovecot_port(self.dir, "lmtp")
            # Shielded like a real MTA: once the final dot is in, the message is delivered even
            # if the client goes away before reading the reply (the sending tests kill it there).
            for rcpt in local.values():
                await asyncio.shield(loop.run_in_executor(None, self.deliver, port, rcpt, data,
                                                          envelope.mail_from or ""))
        except Exception as e:  # noqa: BLE001 -- any failure is a temporary one to the client
            log.error("LMTP delivery failed: %s", e)
            return "451 4.3.0 Local delivery failed: %s" % str(e).replace("\n", " ")[:200]
        log.info("accepted %s from %s for %s (local: %s)", os.path.basename(base),
                 envelope.mail_from, ", ".join(envelope.rcpt_tos), ", ".join(local) or "-")
        return "250 2.0.0 Message accepted for delivery"


def make_authenticator(users):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            user = login.rsplit("@", 1)[0].lower()
            if users.get(user) == password:
                return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)
    return authenticator


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


def make_relay(d, target):
    async def relay(client_reader, client_writer):
        try:
            port = dovecot_port(d, target)
            try:
                server_reader, server_writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(RELAY_SOURCE, 0))
            except OSError:
                # No 127.0.0.2 here (unusual): relay anyway, Dovecot then allows
                # clear-text logins on this port.
                log.warning("cannot connect from %s; relaying from 127.0.0.1", RELAY_SOURCE)
                server_reader, server_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as e:
            log.error("relay to %s failed: %s", target, e)
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer),
                             pipe(server_reader, client_writer))
        for w in (server_writer, client_writer):
            w.close()
    return relay


def start_dovecot(d, ms):
    """Starts Dovecot in the foreground as our child and waits until it has bound its
    listeners (it writes master.pid after that). Picks new ports when one was taken.
    Returns the process; raises ms.Failure."""
    conf = ms.conf_path(d)
    pid_path = os.path.join(d, "run", "master.pid")
    for attempt in range(5):
        ms.dovecot_master_pid(d)  # removes a stale master.pid
        err_path = os.path.join(d, "dovecot.stderr")
        with open(err_path, "w", encoding="utf-8") as err:
            proc = subprocess.Popen([ms.tool("dovecot"), "-F", "-c", conf],
                                    stdin=subprocess.DEVNULL,
                                    stdout=err, stderr=err)
        try:
            deadline = time.monotonic() + ms.START_TIMEOUT
            while proc.poll() is None and ms.read_pid(pid_path) != proc.pid:
                if time.monotonic() > deadline:
                    raise ms.Failure("dovecot did not start within %d s" % ms.START_TIMEOUT)
                time.sleep(0.005)
        except BaseException:  # also SIGTERM from `start` giving up (SystemExit)
            stop_dovecot(d, proc, ms)
            raise
        if proc.poll() is None:
            return proc
        with open(err_path, encoding="utf-8", errors="replace") as f:
            message = f.read().strip()
        if "Address already in use" not in message:
            raise ms.Failure("dovecot did not start: %s" % (
                message.splitlines() or ["exit status %d" % proc.returncode])[-1])
        log.warning("a port was taken before Dovecot could bind it; picking new ones")
        with open(os.path.join(d, "ports.json"), encoding="utf-8") as f:
            ports = json.load(f)
        ms.pick_dovecot_ports(d, ports)
    raise ms.Failure("dovecot did not start: no free ports after 5 attempts")


def stop_dovecot(d, proc, ms):
    if proc.poll() is None:
        ms.stop_dovecot(proc.pid, ms.CHILD_STOP_TIMEOUT)
    proc.wait()  # reap it
    ms.dovecot_master_pid(d)  # removes master.pid


def run(args, ms):
    """ms: the pb-mailserver module (configuration, users, process helpers)."""
    d = os.path.abspath(args.dir)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    pid_path = os.path.join(d, "daemon.pid")
    with open(pid_path + ".tmp", "w", encoding="ascii") as f:
        f.write("%d\n" % os.getpid())
    os.rename(pid_path + ".tmp", pid_path)

    def report(text):
        os.write(args.ready_fd, (text + "\n").encode("utf-8"))
        os.close(args.ready_fd)

    def terminated(signum, frame):
        raise SystemExit(128 + signum)

    # Until serve() has its event loop, SIGTERM unwinds through the finally clauses below,
    # so Dovecot never outlives us.
    signal.signal(signal.SIGTERM, terminated)
    dovecot = None
    try:
        # Dovecot first: its start-up overlaps ours (importing aiosmtpd takes ~100 ms).
        try:
            dovecot = start_dovecot(d, ms)
        except ms.Failure as e:
            report(str(e))
            return 1
        return serve(args, ms, d, dovecot, report)
    finally:
        if dovecot is not None:
            stop_dovecot(d, dovecot, ms)
        if ms.read_pid(pid_path) == os.getpid():
            os.unlink(pid_path)


def serve(args, ms, d, dovecot, report):
    from aiosmtpd.smtp import SMTP

    # aiosmtpd warns about AUTH without STARTTLS; on smtps the connection is already TLS.
    warnings.simplefilter("ignore")
    socks = {}
    for item in args.listen:
        name, _, fd = item.partition("=")
        socks[name] = socket.socket(fileno=int(fd))

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(os.path.join(d, "cert.pem"), os.path.join(d, "key.pem"))

    handler = Handler(d, ms.USERS, ms.lmtp_deliver)
    common = dict(hostname="localhost", ident="Postbote test SMTP server",
                  auth_required=True, authenticator=make_authenticator(ms.USERS),
                  enable_SMTPUTF8=True, decode_data=False)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def submission():
        return SMTP(handler, tls_context=ctx, require_starttls=True, auth_require_tls=True,
                    loop=loop, **common)

    def implicit_tls():
        # aiosmtpd cannot see the TLS under it and would never offer AUTH: turn its check
        # off here, where every byte is encrypted anyway.
        return SMTP(handler, auth_require_tls=False, loop=loop, **common)

    servers = [
        loop.run_until_complete(loop.create_server(submission, sock=socks["smtp"])),
        loop.run_until_complete(loop.create_server(implicit_tls, sock=socks["smtps"],
                                                   ssl=ctx)),
        loop.run_until_complete(asyncio.start_server(make_relay(d, "imap_internal"),
                                                     sock=socks["imap"])),
        loop.run_until_complete(asyncio.start_server(make_relay(d, "pop3_internal"),
                                                     sock=socks["pop3"])),
    ]

    def shutdown():
        for s in servers:
            s.close()
        loop.stop()

    loop.add_signal_handler(signal.SIGTERM, shutdown)
    loop.add_signal_handler(signal.SIGINT, shutdown)

    def dovecot_exited():
        loop.remove_reader(dovecot_fd)
        log.error("dovecot exited unexpectedly (status %s); see dovecot.log", dovecot.poll())

    dovecot_fd = os.pidfd_open(dovecot.pid)
    loop.add_reader(dovecot_fd, dovecot_exited)

    if args.parent_pid:
        def orphaned():
            log.warning("process %d exited without stopping the server: cleaning up %s",
                        args.parent_pid, d)
            loop.remove_reader(dovecot_fd)
            stop_dovecot(d, dovecot, ms)
            shutil.rmtree(d, ignore_errors=True)
            shutdown()  # run() then finds Dovecot stopped and the folder gone

        try:
            loop.add_reader(os.pidfd_open(args.parent_pid), orphaned)
        except ProcessLookupError:
            loop.call_soon(orphaned)

    report("ok")
    loop.run_forever()
    loop.remove_reader(dovecot_fd)
    # Open relay and SMTP connections end here, before Dovecot does.
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.close()
    return 0
