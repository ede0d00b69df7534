#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the server holds, asked over IMAP (a second client, not the app under test).

    imap-check.py PORT CAFILE USER PASSWORD FOLDER SUBJECT

prints one line per message in FOLDER whose subject contains SUBJECT (every message for an
empty SUBJECT): its flags, e.g.
"\\Seen \\Flagged", or "-" for none; nothing if there is no such message.
"""
import imaplib
import ssl
import sys

port, cafile, user, password, folder, subject = sys.argv[1:7]
context = ssl.create_default_context(cafile=cafile)
with imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=context) as imap:
    imap.login(user, password)
    typ, _ = imap.select('"%s"' % folder, readonly=True)
    if typ != "OK":
        sys.exit("cannot select %s" % folder)
    if subject:
        typ, data = imap.uid("SEARCH", "CHARSET", "UTF-8", "SUBJECT", '"%s"' % subject)
    else:
        typ, data = imap.uid("SEARCH", "ALL")
    uids = data[0].split()
    for uid in uids:
        typ, data = imap.uid("FETCH", uid, "(FLAGS)")
        line = data[0].decode()
        flags = line[line.index("FLAGS (") + 7:]
        flags = flags[:flags.index(")")].strip()
        print(flags if flags else "-")
    imap.logout()
