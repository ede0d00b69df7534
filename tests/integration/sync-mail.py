#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mailboxes for the sync tests (test-cli-sync.sh, test-imap-sync.c), and a second client.

    sync-mail.py seed DIR USER FOLDER=COUNT... [--seed N] [--tag T] [--big N] [--huge F:BYTES]
        Writes COUNT generated messages into each FOLDER of USER straight into the Maildir of
        the pb-mailserver in DIR (Dovecot-style names with S= and W=, mtime = INTERNALDATE,
        flags and keywords in the name), chowns them to the mail uid and runs doveadm
        force-resync. Odd on purpose: 8-bit and Latin-1 headers, folded and 3000-byte header
        lines, missing or duplicate Message-ID/Date/Subject, LF and CRLF files, no final
        newline, bodies that look like IMAP responses or literals. --big N adds N messages of
        about 1 MB spread over the folders, --huge F:BYTES one message of that size to F.
    sync-mail.py dump DIR USER
        Reads USER's whole mailbox over IMAPS with Python's imaplib (a client independent of
        the one under test) and prints one line per message:
        FOLDER<TAB>UID<TAB>FLAGS (sorted, space-separated)<TAB>SIZE<TAB>SHA-256 of BODY[]
        and one line per folder: FOLDER<TAB>UIDVALIDITY=n<TAB>MESSAGES=n.
    sync-mail.py compare DIR USER ACCOUNT [--no-bodies] [--folders A,B] [--quiet]
        Compares the server (as dump sees it) with what postbote-cli ($PB_CLI) holds for
        ACCOUNT: the folders, every folder's UIDs, flags and sizes from `list --json`, and,
        unless --no-bodies, every message's `show --raw` byte for byte. Prints one line per
        difference (at most 20) and exits 1 if there is any.
    sync-mail.py journal DATADIR
        Prints the number of entries in the offline journal of the store in DATADIR.

The folder names are the decoded paths postbote-cli shows ("Lists/gnome-devel", "Entwürfe").
"""

import base64
import concurrent.futures
import hashlib
import imaplib
import json
import os
import random
import re
import ssl
import subprocess
import sys
import time

MAIL_UID = 5000
MAIL_GID = 5000
PASSWORDS = {"alice": "Correct-Horse-7", "bob": "Battery-Staple-9", "demo": "demo"}
# Maildir keyword letters: index in dovecot-keywords -> "a" + index.
KEYWORDS = ["$Forwarded", "$Junk", "Work", "$label1", "Project-X", "$NotJunk"]


# ---------------------------------------------------------------------------------------
# Modified UTF-7 (RFC 3501 5.1.3), as Dovecot names Maildir++ folders on disk and on the wire


def mutf7_encode(name):
    out, run = [], []

    def flush():
        if run:
            data = "".join(run).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def mutf7_decode(name):
    def sub(m):
        if m.group(1) == "":
            return "&"
        b64 = m.group(1).replace(",", "/")
        b64 += "=" * (-len(b64) % 4)
        return base64.b64decode(b64).decode("utf-16-be")

    return re.sub(r"&([A-Za-z0-9+,]*)-", sub, name)


# ---------------------------------------------------------------------------------------
# Server folder


def read_env(d):
    env = {}
    with open(os.path.join(d, "env"), encoding="utf-8") as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v
    return env


def doveadm(d, *args):
    r = subprocess.run(["doveadm", "-c", os.path.join(d, "dovecot.conf")] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       env=dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin"))
    if r.returncode != 0:
        raise SystemExit("doveadm %s failed: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def folder_dir(maildir, folder):
    if folder == "INBOX":
        return maildir
    return os.path.join(maildir, "." + mutf7_encode(folder).replace("/", "."))


def mkdir_owned(path):
    if not os.path.isdir(path):
        os.mkdir(path, 0o700)
        os.chown(path, MAIL_UID, MAIL_GID)


def keyword_letters(fdir, wanted):
    """Maps keywords to Maildir letters via fdir/dovecot-keywords, adding missing ones."""
    path = os.path.join(fdir, "dovecot-keywords")
    known = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                idx, _, kw = line.rstrip("\n").partition(" ")
                if idx.isdigit():
                    known[kw] = int(idx)
    changed = False
    for kw in wanted:
        if kw not in known:
            known[kw] = max(known.values(), default=-1) + 1
            changed = True
    if changed:
        with open(path, "w", encoding="utf-8") as f:
            for kw, idx in sorted(known.items(), key=lambda x: x[1]):
                f.write("%d %s\n" % (idx, kw))
        os.chown(path, MAIL_UID, MAIL_GID)
    return {kw: chr(ord("a") + idx) for kw, idx in known.items()}


# ---------------------------------------------------------------------------------------
# Messages

WORDS = ("Postbote sync message literal folder server client Dovecot test byte flag move "
         "expunge journal offline online kill cut proxy TLS Grüße Straße Äpfel Öl Übermut "
         "naïve café façade 日本語 メール 中文 邮件 emoji 🦊 📬 über ça ñandú").split()


def rfc2822(ts):
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(ts))


def text_lines(rng, n, tag, i):
    lines = []
    for k in range(n):
        r = rng.random()
        if r < 0.04:
            # Lines a sloppy parser could take for protocol.
            lines.append(rng.choice([
                ")", "* %d FETCH (UID %d FLAGS (\\Seen))" % (k, i), "A%04d OK FETCH completed" % k,
                "{%d}" % rng.randint(1, 99999), "* BYE fake", ". ", "From the desk of %s" % tag,
                "+ go ahead", "~{12}", "\")\"", "BODY[] {0}"]))
        elif r < 0.06:
            lines.append("x" * rng.randint(900, 1900))   # a long line without spaces
        elif r < 0.08:
            lines.append("")
        elif r < 0.10:
            lines.append("\ttabbed   trailing spaces   ")
        else:
            lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))))
    return lines


def make_message(rng, tag, folder, i, ts, size_hint=None):
    """Returns (bytes, flags string, keywords) for message i."""
    h = []
    h.append("Return-Path: <sender%d@example.org>" % i)
    h.append("Received: from mx%d.example.org (mx.example.org [192.0.2.%d])\n\tby mail.postbote.test"
             " with ESMTPS id %08x\n\tfor <user@postbote.test>; %s" % (i % 7, i % 250, i, rfc2822(ts)))
    r = rng.random()
    if r < 0.3:
        h.append("From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen%d@example.com>" % (i % 13))
    elif r < 0.5:
        h.append("From: Jürgen Müller <juergen@example.com>")   # raw 8-bit UTF-8 header
    elif r < 0.6:
        h.append("From: \"Odd, Name (x)\" <odd@example.com>")
    else:
        h.append("From: Person %d <person%d@example.org>" % (i % 17, i % 17))
    h.append("To: user@postbote.test" + (", other%d@example.org" % i if rng.random() < 0.3 else ""))
    r = rng.random()
    subject = "%s %s #%d" % (tag, folder, i)
    if r < 0.1:
        h.append("Subject: Grüße aus Köln – 日本語 %s" % subject)
    elif r < 0.2:
        h.append("Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= %s" % subject)
    elif r < 0.25:
        h.append("Subject: " + subject + " " + " ".join(["long"] * 60).replace("long long long long long long long long long long ", "long long long long long long long long long long\n "))
    elif r < 0.27:
        h.append("Subject:")                       # empty
    elif r < 0.29:
        pass                                       # no Subject at all
    elif r < 0.31:
        h.append("Subject: first " + subject)
        h.append("Subject: second " + subject)     # duplicate header
    else:
        h.append("Subject: " + subject)
    r = rng.random()
    if r < 0.03:
        pass                                       # no Date
    elif r < 0.05:
        h.append("Date: sometime last tuesday")    # unparsable Date
    else:
        h.append("Date: " + rfc2822(ts))
    r = rng.random()
    if r < 0.03:
        pass                                       # no Message-ID
    elif r < 0.06:
        h.append("Message-ID: <duplicate@postbote.test>")
    else:
        h.append("Message-ID: <%d.%s.%s@postbote.test>" % (i, tag, mutf7_encode(folder).replace("/", ".")))
    if rng.random() < 0.2:
        h.append("X-No-Space:value")
        h.append("x-lowercase-header: yes")
        h.append("X-Trailing-WS: a   ")
        h.append("X-Empty:")
    if rng.random() < 0.05:
        h.append("X-Long: " + "y" * 3000)          # one 3000-byte header line
    if rng.random() < 0.1:
        h.append("X-Folded: one\n\t two\n     three")
    if rng.random() < 0.1:
        h.append("X-Fake-IMAP: * 3 FETCH (FLAGS (\\Seen)) {5}")
    h.append("MIME-Version: 1.0")

    latin1 = rng.random() < 0.08
    big = size_hint is not None and size_hint > 50000
    if big:
        boundary = "=_pb_%d_%s" % (i, tag)
        h.append("Content-Type: multipart/mixed; boundary=\"%s\"" % boundary)
        text = "\n".join(text_lines(rng, 20, tag, i))
        blob = rng.randbytes(max(1, (size_hint - 2000) * 3 // 4))
        b64 = base64.b64encode(blob).decode()
        att = "\n".join(b64[k:k + 76] for k in range(0, len(b64), 76))
        body = ("This is a multi-part message.\n--%s\nContent-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: 8bit\n\n%s\n--%s\nContent-Type: application/octet-stream;"
                " name=\"data-%d.bin\"\nContent-Disposition: attachment; filename=\"data-%d.bin\"\n"
                "Content-Transfer-Encoding: base64\n\n%s\n--%s--\n"
                % (boundary, text, boundary, i, i, att, boundary))
        data = ("\n".join(h) + "\n\n").encode("utf-8") + body.encode("utf-8")
    else:
        h.append("Content-Type: text/plain; charset=%s" % ("iso-8859-1" if latin1 else "utf-8"))
        h.append("Content-Transfer-Encoding: 8bit")
        n = rng.choice([0, 1, 3, 10, 30, 60, 120]) if rng.random() < 0.9 else rng.randint(300, 1500)
        body = "\n".join(text_lines(rng, n, tag, i))
        head = "\n".join(h).encode("utf-8")
        if rng.random() < 0.03:
            head += b"\nX-Latin1: caf\xe9 cr\xe8me"   # 8-bit bytes that are not UTF-8
        if latin1:
            payload = body.encode("latin-1", "replace")
        else:
            payload = body.encode("utf-8")
        r = rng.random()
        if r < 0.02:
            data = head + b"\n"                     # headers only, no body, no blank line
        elif r < 0.04:
            data = head + b"\n\n"                   # empty body
        elif r < 0.10:
            data = head + b"\n\n" + payload         # no final newline
        else:
            data = head + b"\n\n" + payload + b"\n"
    if rng.random() < 0.2:
        data = data.replace(b"\n", b"\r\n")         # a file that has CRLF already

    flags = ""
    for letter, p in (("D", 0.03), ("F", 0.1), ("R", 0.1), ("S", 0.6), ("T", 0.02)):
        if rng.random() < p:
            flags += letter
    keywords = [k for k in KEYWORDS if rng.random() < 0.06]
    return data, flags, keywords


def cmd_seed(args):
    import argparse
    p = argparse.ArgumentParser(prog="sync-mail.py seed")
    p.add_argument("dir")
    p.add_argument("user")
    p.add_argument("folders", nargs="+", metavar="FOLDER=COUNT")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tag", default="pb")
    p.add_argument("--big", type=int, default=0)
    p.add_argument("--huge", action="append", default=[], metavar="FOLDER:BYTES")
    p.add_argument("--no-resync", action="store_true")
    a = p.parse_args(args)

    rng = random.Random(a.seed)
    maildir = os.path.join(a.dir, "mail", a.user, "Maildir")
    mkdir_owned(os.path.join(a.dir, "mail", a.user))
    mkdir_owned(maildir)
    counts = []
    for spec in a.folders:
        folder, _, count = spec.rpartition("=")
        counts.append((folder, int(count)))
    jobs = []
    for folder, count in counts:
        for k in range(count):
            jobs.append([folder, None])
    # About-1-MB messages, spread over the folders; --huge ones at random places in theirs.
    for k in range(a.big):
        jobs[(k * 7919) % len(jobs)][1] = 1000000 + rng.randint(0, 100000)
    for spec in a.huge:
        folder, _, size = spec.rpartition(":")
        jobs.append([folder, int(size)])
    now = int(time.time())
    pid = os.getpid()
    stats = {}
    for n, (folder, size) in enumerate(jobs):
        fdir = folder_dir(maildir, folder)
        if not os.path.isdir(os.path.join(fdir, "cur")):
            mkdir_owned(fdir)
            for sub in ("cur", "new", "tmp"):
                mkdir_owned(os.path.join(fdir, sub))
            if folder != "INBOX":
                open(os.path.join(fdir, "maildirfolder"), "a").close()
                os.chown(os.path.join(fdir, "maildirfolder"), MAIL_UID, MAIL_GID)
        ts = now - 86400 * 700 + rng.randint(0, 86400 * 700)
        data, flags, keywords = make_message(rng, a.tag, folder, n, ts, size)
        letters = keyword_letters(fdir, keywords) if keywords else {}
        flags += "".join(sorted(letters[k] for k in keywords))
        vsize = len(data) + data.count(b"\n") - data.count(b"\r\n")
        name = "%d.M%dP%d.%s,S=%d,W=%d:2,%s" % (ts, n, pid, a.tag, len(data), vsize, flags)
        path = os.path.join(fdir, "cur", name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (ts, ts))
        os.chown(path, MAIL_UID, MAIL_GID)
        stats[folder] = stats.get(folder, 0) + 1
    if not a.no_resync:
        doveadm(a.dir, "force-resync", "-u", a.user, "*")
    sys.stderr.write("seeded %s: %s\n" % (a.user, ", ".join("%s=%d" % kv for kv in stats.items())))
    return 0


# ---------------------------------------------------------------------------------------
# The second client


def connect(d, user):
    env = read_env(d)
    ctx = ssl.create_default_context(cafile=env["PB_CA_FILE"])
    imap = imaplib.IMAP4_SSL("127.0.0.1", int(env["PB_IMAPS_PORT"]), ssl_context=ctx)
    imap._mode_utf8 = False
    imap.login(user, PASSWORDS[user])
    return imap


def check(typ, data, what):
    if typ != "OK":
        raise SystemExit("IMAP %s failed: %s %r" % (what, typ, data))
    return data


LIST_RE = re.compile(rb'^\((?P<attrs>[^)]*)\) (?:"(?P<sep>[^"]*)"|NIL) (?P<name>.*)$')


def list_folders(imap):
    folders = []
    for line in check(*imap.list('""', '"*"'), what="LIST"):
        m = LIST_RE.match(line)
        name = m.group("name")
        if name.startswith(b'"'):
            name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
        if b"\\noselect" in m.group("attrs").lower() or b"\\nonexistent" in m.group("attrs").lower():
            continue
        folders.append(name.decode("ascii"))
    return folders


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dump(d, user, only=None):
    """{folder: {"uidvalidity": n, "messages": {uid: (flags tuple, size, sha256)}}}"""
    imap = connect(d, user)
    result = {}
    for wire in list_folders(imap):
        folder = mutf7_decode(wire)
        if only is not None and folder not in only:
            continue
        typ, data = imap.select(quote(wire), readonly=True)
        check(typ, data, "EXAMINE " + folder)
        uidvalidity = int(imap.untagged_responses.get("UIDVALIDITY", [b"0"])[-1])
        exists = int(data[0])
        msgs = {}
        if exists:
            typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE)")
            check(typ, data, "FETCH FLAGS")
            for item in data:
                line = item if isinstance(item, bytes) else item[0]
                uid = int(re.search(rb"UID (\d+)", line).group(1))
                flags = re.search(rb"FLAGS \(([^)]*)\)", line).group(1).decode().split()
                flags = tuple(sorted(f for f in flags if f.lower() != "\\recent"))
                size = int(re.search(rb"RFC822\.SIZE (\d+)", line).group(1))
                msgs[uid] = [flags, size, None]
            typ, data = imap.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
            check(typ, data, "FETCH BODY")
            for item in data:
                if isinstance(item, tuple):
                    uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                    msgs[uid][2] = hashlib.sha256(item[1]).hexdigest()
                    # RFC822.SIZE is what Dovecot announced; the literal is the truth.
                    msgs[uid][1] = len(item[1])
        if len(msgs) != exists:
            raise SystemExit("%s: EXISTS %d but %d messages fetched" % (folder, exists, len(msgs)))
        result[folder] = {"uidvalidity": uidvalidity, "messages": msgs}
    imap.logout()
    return result


def cmd_dump(args):
    d, user = args[0], args[1]
    for folder, info in dump(d, user).items():
        print("%s\tUIDVALIDITY=%d\tMESSAGES=%d" % (folder, info["uidvalidity"], len(info["messages"])))
        for uid, (flags, size, sha) in sorted(info["messages"].items()):
            print("%s\t%d\t%s\t%d\t%s" % (folder, uid, " ".join(flags), size, sha))
    return 0


# ---------------------------------------------------------------------------------------
# Comparing with postbote-cli


def cli(*args):
    r = subprocess.run([os.environ["PB_CLI"]] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace").strip()


def cmd_compare(args):
    import argparse
    p = argparse.ArgumentParser(prog="sync-mail.py compare")
    p.add_argument("dir")
    p.add_argument("user")
    p.add_argument("account")
    p.add_argument("--no-bodies", action="store_true")
    p.add_argument("--folders")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(args)

    only = set(a.folders.split(",")) if a.folders else None
    server = dump(a.dir, a.user, only)
    problems = []
    shows = []
    n_messages = 0
    if only is not None and set(server) != only:
        problems.append("server folders %s, expected %s" % (sorted(server), sorted(only)))
    for folder, info in server.items():
        rc, out, err = cli("list", a.account, folder, "--json")
        if rc != 0:
            problems.append("list %s %s: exit %d: %s" % (a.account, folder, rc, err))
            continue
        local = json.loads(out)
        uids = [m["uid"] for m in local]
        if len(uids) != len(set(uids)):
            dups = sorted(u for u in set(uids) if uids.count(u) > 1)
            problems.append("%s: duplicate UIDs in list: %s" % (folder, dups[:10]))
        by_uid = {m["uid"]: m for m in local}
        missing = sorted(set(info["messages"]) - set(by_uid))
        extra = sorted(set(by_uid) - set(info["messages"]))
        if missing:
            problems.append("%s: %d messages missing locally, UIDs %s" % (folder, len(missing), missing[:10]))
        if extra:
            problems.append("%s: %d messages only local, UIDs %s" % (folder, len(extra), extra[:10]))
        for uid, (flags, size, sha) in sorted(info["messages"].items()):
            m = by_uid.get(uid)
            if m is None:
                continue
            n_messages += 1
            lflags = tuple(sorted(m["flags"]))
            if lflags != flags:
                problems.append("%s UID %d: flags %s locally, %s on the server" % (folder, uid, lflags, flags))
            if m["size"] != size:
                problems.append("%s UID %d: size %d locally, %d on the server" % (folder, uid, m["size"], size))
            if not a.no_bodies:
                shows.append((folder, uid, sha, size))

    def show(job):
        folder, uid, sha, size = job
        rc, out, err = cli("show", a.account, folder, str(uid), "--raw")
        if rc != 0:
            return "%s UID %d: show --raw: exit %d: %s" % (folder, uid, rc, err)
        if hashlib.sha256(out).hexdigest() != sha:
            return "%s UID %d: show --raw gave %d bytes that differ from the server's %d" % (
                folder, uid, len(out), size)
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        problems += [r for r in pool.map(show, shows) if r is not None]
    for line in problems[:20]:
        print(line)
    if len(problems) > 20:
        print("... and %d more differences" % (len(problems) - 20))
    if not problems and not a.quiet:
        print("%d folders, %d messages equal%s" % (len(server), n_messages,
                                                   "" if a.no_bodies else " byte for byte"))
    return 1 if problems else 0


def cmd_journal(args):
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(args[0], "store.sqlite3"), uri=True)
    print(db.execute("SELECT count(*) FROM journal").fetchone()[0])
    return 0


def main(argv):
    if len(argv) < 2 or argv[1] not in ("seed", "dump", "compare", "journal"):
        sys.stderr.write(__doc__)
        return 2
    return {"seed": cmd_seed, "dump": cmd_dump, "compare": cmd_compare,
            "journal": cmd_journal}[argv[1]](argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
