#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The server's and postbote-cli's view of a POP3 maildrop, for test-pop3-cli.sh.

    pop3-mail.py server DIR USER
        Reads USER's maildrop of the pb-mailserver in DIR over POP3S with Python's poplib (a
        client independent of the one under test) and prints the SHA-256 of each message as
        RETR gives it (CRLF lines, dot-unstuffed), one per line, in message order.
    pop3-mail.py local ACCOUNT [FOLDER...]
        Prints the SHA-256 of `postbote-cli show ACCOUNT FOLDER UID --raw` of every message of
        the folders (default INBOX), one per line.
    pop3-mail.py stored DATADIR ACCOUNT
        Like local, but read from the store directly (read-only), for every folder of
        ACCOUNT, without running postbote-cli (whose `show` would download a missing body):
        the SHA-256 of each message's body file, or BODILESS for a message stored without one.
    pop3-mail.py check SERVER_FILE LOCAL_FILE (--exact | --superset)
        Compares two such lists as multisets: no message may be local twice, and every server
        message must be local (--superset), or the two must be equal (--exact). Prints one
        line: a summary, or the differences; exits 1 on a difference.
    pop3-mail.py check-interrupted BEFORE AFTER LOCAL
        After an interrupted sync: BEFORE and AFTER are the server's lists before and after
        it, LOCAL what postbote-cli holds. Every local message must be one of BEFORE's, whole
        (a partial download never shows), none twice, and every message that left the server
        must be local.
    pop3-mail.py bodiless DATADIR ACCOUNT
        Prints how many messages of ACCOUNT's INBOX the store holds without a body.
"""

import collections
import concurrent.futures
import hashlib
import json
import os
import poplib
import sqlite3
import ssl
import subprocess
import sys

# The seeded mailboxes have header lines of 3000 bytes; poplib's default limit is 2048.
poplib._MAXLINE = 1 << 20

PASSWORDS = {"alice": "Correct-Horse-7", "bob": "Battery-Staple-9", "demo": "demo"}


def read_env(d):
    env = {}
    with open(os.path.join(d, "env"), encoding="utf-8") as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                env[k.replace("export ", "")] = v.strip("'\"")
    return env


def cmd_server(d, user):
    env = read_env(d)
    ctx = ssl.create_default_context(cafile=env["PB_CA_FILE"])
    pop = poplib.POP3_SSL("127.0.0.1", int(env["PB_POP3S_PORT"]), context=ctx, timeout=60)
    pop.user(user)
    pop.pass_(PASSWORDS[user])
    count = len(pop.list()[1])
    for i in range(1, count + 1):
        _, lines, _ = pop.retr(i)
        raw = b"\r\n".join(lines) + b"\r\n"
        print(hashlib.sha256(raw).hexdigest())
    pop.quit()
    return 0


def cli(*args):
    r = subprocess.run([os.environ["PB_CLI"]] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace").strip()


def cmd_local(account, folders):
    jobs = []
    for folder in folders or ["INBOX"]:
        rc, out, err = cli("list", account, folder, "--json")
        if rc != 0:
            print("list %s %s: %s" % (account, folder, err), file=sys.stderr)
            return 1
        jobs += [(folder, m["uid"]) for m in json.loads(out)]

    def show(job):
        rc, out, err = cli("show", account, job[0], str(job[1]), "--raw")
        if rc != 0:
            return "ERROR %s %d: %s" % (job[0], job[1], err)
        return hashlib.sha256(out).hexdigest()

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for line in pool.map(show, jobs):
            print(line)
    return 0


def cmd_stored(datadir, account):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(datadir, "store.sqlite3"), uri=True)
    rows = db.execute("SELECT m.body_path FROM messages m JOIN folders f ON f.id = m.folder_id"
                      " WHERE f.account = ?", (account,)).fetchall()
    for (path,) in rows:
        if path is None:
            print("BODILESS")
        else:
            with open(os.path.join(datadir, path), "rb") as f:
                print(hashlib.sha256(f.read()).hexdigest())
    return 0


def cmd_check(server_file, local_file, mode):
    server = collections.Counter(open(server_file).read().split())
    local = collections.Counter(open(local_file).read().split())
    problems = []
    errors = [k for k in local if k.startswith("ERROR")]
    if errors:
        problems.append("%d messages could not be shown" % len(errors))
    twice = [k for k, n in local.items() if n > 1]
    if twice:
        problems.append("%d messages are local more than once" % len(twice))
    missing = [k for k in server if k not in local]
    if missing:
        problems.append("%d server messages are missing locally" % len(missing))
    extra = [k for k in local if k not in server]
    if mode == "--exact" and extra:
        problems.append("%d local messages are not on the server" % len(extra))
    if problems:
        print("; ".join(problems))
        return 1
    print("%d server messages, %d local, each once, byte for byte" %
          (sum(server.values()), sum(local.values())))
    return 0


def cmd_check_interrupted(before_file, after_file, local_file):
    before = collections.Counter(open(before_file).read().split())
    after = collections.Counter(open(after_file).read().split())
    local = collections.Counter(open(local_file).read().split())
    # A message stored without its body (a sync stopped between index and body) is not shown
    # as complete; the next sync or `show` fetches it.
    local.pop("BODILESS", None)
    problems = []
    foreign = [k for k in local if k not in before]
    if foreign:
        problems.append("%d local messages are not whole server messages" % len(foreign))
    twice = [k for k, n in local.items() if n > 1]
    if twice:
        problems.append("%d messages are local more than once" % len(twice))
    lost = [k for k in before if k not in after and k not in local]
    if lost:
        problems.append("%d messages left the server but are not local" % len(lost))
    if problems:
        print("; ".join(problems))
        return 1
    print("%d local, %d deleted on the server, all of them local" %
          (sum(local.values()), sum(1 for k in before if k not in after)))
    return 0


def cmd_bodiless(datadir, account):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(datadir, "store.sqlite3"), uri=True)
    n = db.execute("SELECT count(*) FROM messages m JOIN folders f ON f.id = m.folder_id"
                   " WHERE f.account = ? AND f.path = 'INBOX' AND m.body_path IS NULL",
                   (account,)).fetchone()[0]
    print(n)
    return 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "server":
        return cmd_server(argv[1], argv[2])
    if len(argv) >= 2 and argv[0] == "local":
        return cmd_local(argv[1], argv[2:])
    if len(argv) == 4 and argv[0] == "check":
        return cmd_check(argv[1], argv[2], argv[3])
    if len(argv) == 3 and argv[0] == "stored":
        return cmd_stored(argv[1], argv[2])
    if len(argv) == 4 and argv[0] == "check-interrupted":
        return cmd_check_interrupted(argv[1], argv[2], argv[3])
    if len(argv) == 3 and argv[0] == "bodiless":
        return cmd_bodiless(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
