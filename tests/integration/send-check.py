#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a second client sees of sent mail, for test-cli-send.sh (Python's imaplib over IMAPS).

    send-check.py count SERVER_DIR USER FOLDER MESSAGE_ID
        prints how many messages in FOLDER of USER carry that Message-ID
    send-check.py fetch SERVER_DIR USER FOLDER MESSAGE_ID
        prints the raw message (the first match) on stdout
    send-check.py smtp SERVER_DIR MESSAGE_ID
        prints how many messages the harness's SMTP server accepted with that Message-ID
        (SERVER_DIR/smtp/*.eml)
    send-check.py same EXPECTED_FILE ACTUAL_FILE
        compares two messages modulo the trace headers a server adds at the top (Received,
        Return-Path, Delivered-To, X-Original-To) and line ends; exits 1 with a diff otherwise
"""
import difflib
import glob
import imaplib
import os
import ssl
import sys

PASSWORDS = {"alice": "Correct-Horse-7", "bob": "Battery-Staple-9", "demo": "demo"}
TRACE = (b"received:", b"return-path:", b"delivered-to:", b"x-original-to:")


def env(server_dir):
    values = {}
    with open(os.path.join(server_dir, "env")) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            values[key] = value
    return values


def search(server_dir, user, folder, message_id):
    e = env(server_dir)
    ctx = ssl.create_default_context(cafile=e["PB_CA_FILE"])
    with imaplib.IMAP4_SSL("127.0.0.1", int(e["PB_IMAPS_PORT"]), ssl_context=ctx) as imap:
        imap.login(user, PASSWORDS[user])
        imap.select('"%s"' % folder, readonly=True)
        typ, data = imap.uid("SEARCH", None, "HEADER", "Message-ID", message_id)
        uids = data[0].split()
        raws = []
        for uid in uids:
            typ, msg = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            raws.append(msg[0][1])
        return raws


def strip_trace(raw):
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    i = 0
    # Drop leading trace header fields with their continuation lines.
    while i < len(lines) and lines[i].lower().startswith(TRACE):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\n".join(lines[i:]).rstrip(b"\n")


def main():
    cmd = sys.argv[1]
    if cmd == "count":
        print(len(search(*sys.argv[2:6])))
    elif cmd == "fetch":
        raws = search(*sys.argv[2:6])
        if not raws:
            sys.exit("no such message")
        sys.stdout.buffer.write(raws[0])
    elif cmd == "smtp":
        n = 0
        needle = ("Message-ID: " + sys.argv[3]).encode().lower()
        for path in glob.glob(os.path.join(sys.argv[2], "smtp", "*.eml")):
            with open(path, "rb") as f:
                if needle in f.read().lower():
                    n += 1
        print(n)
    elif cmd == "same":
        with open(sys.argv[2], "rb") as f:
            a = strip_trace(f.read())
        with open(sys.argv[3], "rb") as f:
            b = strip_trace(f.read())
        if a != b:
            sys.stdout.writelines(difflib.unified_diff(
                a.decode("utf-8", "replace").splitlines(True),
                b.decode("utf-8", "replace").splitlines(True), "expected", "actual"))
            sys.exit(1)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
