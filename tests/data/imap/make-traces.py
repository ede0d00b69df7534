#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Writes the IMAP server traces next to this script: raw server-to-client bytes with CRLF line
# ends and literal sizes computed, so the traces can be edited here without counting bytes.
# After a change, update the response counts in tests/unit/test-imap-parser.c (printed below).
import os, sys
out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

def lit(b, tilde=False):
    if isinstance(b, str):
        b = b.encode()
    return (b"~" if tilde else b"") + b"{%d}\r\n" % len(b) + b

def crlf(text):
    return text.replace("\n", "\r\n").encode()

class Trace:
    def __init__(self):
        self.responses = []
    def add(self, *parts):
        b = b"".join(p.encode() if isinstance(p, str) else p for p in parts)
        assert b.endswith(b"\r\n")
        self.responses.append(b)
    def line(self, s):
        self.add(s + "\r\n")
    def write(self, name):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(b"".join(self.responses))
        print(name, len(self.responses), sum(len(r) for r in self.responses))

# ---------------------------------------------------------------------------------------
# Dovecot 2.3
t = Trace()
t.line("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.")
t.line("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN")
t.line("A0001 OK Pre-login capabilities listed, post-login capabilities have more.")
t.line("A0002 OK Begin TLS negotiation now.")
t.line("A0003 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE] Logged in")
t.line('* ID ("name" "Dovecot")')
t.line("A0004 OK ID completed (0.001 + 0.000 secs).")
t.line("* ENABLED CONDSTORE QRESYNC")
t.line("A0005 OK Enabled (0.001 + 0.000 secs).")
t.line('* NAMESPACE (("" "/")) NIL NIL')
t.line("A0006 OK Namespace completed (0.001 + 0.000 secs).")
t.line('* LIST (\\HasNoChildren) "/" INBOX')
t.line('* LIST (\\HasNoChildren \\UnMarked \\Sent) "/" Sent')
t.line('* LIST (\\HasNoChildren \\UnMarked \\Drafts) "/" Drafts')
t.line('* LIST (\\HasNoChildren \\UnMarked \\Junk) "/" Junk')
t.line('* LIST (\\HasNoChildren \\UnMarked \\Trash) "/" Trash')
t.line('* LIST (\\HasNoChildren \\UnMarked \\Archive) "/" Archive')
t.line('* LIST (\\HasChildren \\UnMarked) "/" Lists')
t.line('* LIST (\\HasNoChildren \\UnMarked) "/" "Lists/Debian Devel"')
t.line('* LIST (\\HasNoChildren \\UnMarked) "/" 2023')
t.line('* LIST (\\HasNoChildren \\UnMarked) "/" "~peter/mail/&U,BTFw-/&ZeVnLIqe-"')
t.add('* LIST (\\HasNoChildren \\UnMarked) "/" ', lit('Quotes "and" \\backslash'), "\r\n")
t.line("A0007 OK List completed (0.002 + 0.000 + 0.001 secs).")
t.line("* STATUS INBOX (MESSAGES 231 UIDNEXT 44292 UIDVALIDITY 1700000000 UNSEEN 3 HIGHESTMODSEQ 90060)")
t.line("A0008 OK Status completed (0.001 + 0.000 secs).")
t.line("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk $NotJunk NonJunk $label1)")
t.line("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk $NotJunk NonJunk $label1 \\*)] Flags permitted.")
t.line("* 231 EXISTS")
t.line("* 0 RECENT")
t.line("* OK [UNSEEN 12] First unseen.")
t.line("* OK [UIDVALIDITY 1700000000] UIDs valid")
t.line("* OK [UIDNEXT 44292] Predicted next UID")
t.line("* OK [HIGHESTMODSEQ 90060] Highest")
t.line("* VANISHED (EARLIER) 41,43:116,118,120:211,214:540")
t.line("* 49 FETCH (UID 117 FLAGS (\\Seen \\Answered $NotJunk) MODSEQ (90059))")
t.line("* 50 FETCH (UID 119 FLAGS (\\Draft $MDNSent) MODSEQ (90060))")
t.line("A0009 OK [READ-WRITE] Select completed (0.002 + 0.000 + 0.001 secs).")
hdr = crlf("References: <20240716.1@example.org>\n <20240716.2@example.org>\nList-Id: Debian Devel <debian-devel.lists.debian.org>\n\n")
t.add("* 230 FETCH (UID 44290 FLAGS (\\Seen) MODSEQ (90058) RFC822.SIZE 4483 INTERNALDATE \"17-Jul-2024 02:44:25 +0200\" "
      "ENVELOPE (\"Wed, 17 Jul 2024 02:44:20 +0200\" \"Re: Parser tests\" ((\"Peter Lustig\" NIL \"peter\" \"example.org\")) "
      "((\"Peter Lustig\" NIL \"peter\" \"example.org\")) ((\"Peter Lustig\" NIL \"peter\" \"example.org\")) "
      "((NIL NIL \"debian-devel\" \"lists.debian.org\")) NIL NIL \"<20240716.2@example.org>\" \"<20240717.1@example.org>\") "
      "BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 1204 31 NIL NIL NIL NIL)"
      "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 2311 42 NIL NIL NIL NIL) \"alternative\" "
      "(\"boundary\" \"=-b1Ab\") NIL NIL NIL) BODY[HEADER.FIELDS (REFERENCES LIST-ID)] ", lit(hdr), ")\r\n")
subject = "=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?= \"quoted\" {braces}"
t.add("* 231 FETCH (UID 44291 FLAGS () MODSEQ (90061) RFC822.SIZE 2318 INTERNALDATE \" 2-Aug-2024 09:01:00 +0000\" "
      "ENVELOPE (\"Fri, 2 Aug 2024 09:00:58 +0000\" ", lit(subject), " ((NIL NIL \"noreply\" \"example.com\")) "
      "((NIL NIL \"noreply\" \"example.com\")) ((NIL NIL \"noreply\" \"example.com\")) ((\"J\u00f6rg\" NIL \"joerg\" \"example.de\")) "
      "NIL NIL NIL \"<abc@example.com>\") BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\" \"format\" \"flowed\") NIL NIL \"7bit\" 180 6 NIL NIL NIL NIL) "
      "BODY[HEADER.FIELDS (REFERENCES LIST-ID)] ", lit("\r\n"), ")\r\n")
t.line("A0010 OK Fetch completed (0.004 + 0.000 + 0.003 secs).")
t.line("+ idling")
t.line("* 232 EXISTS")
t.line("* VANISHED 44100")
t.line("A0011 OK Idle completed (0.001 + 14.032 + 14.031 secs).")
msg = crlf("Return-Path: <anna@example.net>\nDelivered-To: peter@example.org\nFrom: Anna <anna@example.net>\nTo: peter@example.org\n"
           "Subject: Photos\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"x\"\n\n--x\nContent-Type: text/plain\n\n"
           "Hi Peter,\n(see attachment) \"quoted\" ]brackets[ {3}\n* 4 EXISTS\nA0012 OK not really\n\n--x\n"
           "Content-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==\n--x--\n")
t.add("* 232 FETCH (UID 44293 FLAGS (\\Recent) BODY[] ", lit(msg), ")\r\n")
t.line("A0012 OK Fetch completed (0.001 + 0.000 secs).")
binary = bytes(range(256)) + b"\x00\r\n\x00"
t.add("* 232 FETCH (UID 44293 BINARY[2] ", lit(binary, tilde=True), " BINARY.SIZE[2] 260)\r\n")
t.line("A0013 OK Fetch completed (0.001 + 0.000 secs).")
t.line('* ESEARCH (TAG "A0014") UID ALL 44290:44293')
t.line("A0014 OK Search completed (0.001 + 0.000 secs).")
t.line("* SEARCH 2 3 6")
t.line("A0015 OK Search completed (0.001 + 0.000 secs).")
t.line("* SEARCH")
t.line("A0016 OK Search completed (0.001 + 0.000 secs).")
t.line("A0017 OK [COPYUID 1700000001 44292:44293 17:18] Copy completed (0.003 + 0.000 + 0.002 secs).")
t.line("A0018 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset")
t.line("A0019 BAD Error in IMAP command UID FETCH: Invalid uidset (0.001 + 0.000 secs).")
t.line("* BYE Logging out")
t.line("A0020 OK Logout completed (0.001 + 0.000 secs).")
t.write("dovecot-2.3.trace")

# ---------------------------------------------------------------------------------------
# Gmail
t = Trace()
t.line("* OK Gimap ready for requests from 198.51.100.7 h5mb123456789lfk")
t.line("* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER")
t.line("A1 OK Thats all she wrote! h5mb123456789lfk")
t.line("+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==")
t.line("A2 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)")
t.line("* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS COMPRESS=DEFLATE ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS LITERAL- SPECIAL-USE APPENDLIMIT=35651584")
t.line("A3 OK peter@gmail.com authenticated (Success)")
t.line('* ID ("name" "GImap" "vendor" "Google, Inc." "support-url" "https://support.google.com/mail" "remote-host" "198.51.100.7")')
t.line("A4 OK Success")
t.line('* LIST (\\HasNoChildren) "/" "INBOX"')
t.line('* LIST (\\HasChildren \\Noselect) "/" "[Gmail]"')
t.line('* LIST (\\All \\HasNoChildren) "/" "[Gmail]/All Mail"')
t.line('* LIST (\\Drafts \\HasNoChildren) "/" "[Gmail]/Drafts"')
t.line('* LIST (\\HasNoChildren \\Important) "/" "[Gmail]/Important"')
t.line('* LIST (\\HasNoChildren \\Sent) "/" "[Gmail]/Sent Mail"')
t.line('* LIST (\\HasNoChildren \\Junk) "/" "[Gmail]/Spam"')
t.line('* LIST (\\Flagged \\HasNoChildren) "/" "[Gmail]/Starred"')
t.line('* LIST (\\HasNoChildren \\Trash) "/" "[Gmail]/Trash"')
t.line('* LIST (\\HasNoChildren) "/" "Reisen/&ANw-bersee"')
t.line("A5 OK Success")
t.line("* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen $NotPhishing $Phishing)")
t.line("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen $NotPhishing $Phishing \\*)] Flags permitted.")
t.line("* OK [UIDVALIDITY 1] UIDs valid.")
t.line("* 3961 EXISTS")
t.line("* 0 RECENT")
t.line("* OK [UIDNEXT 16744] Predicted next UID.")
t.line("* OK [HIGHESTMODSEQ 2105387]")
t.line("A6 OK [READ-WRITE] INBOX selected. (Success)")
t.line('* 3960 FETCH (X-GM-THRID 1805330044390713001 X-GM-MSGID 1805330044390713001 X-GM-LABELS ("\\\\Important" "\\\\Inbox" Reisen "Muy Importante") UID 16742 MODSEQ (2105300) FLAGS (\\Seen))')
ghdr = crlf("Delivered-To: peter@gmail.com\nReceived: by 2002:a05:6a10:1234 with SMTP id x20csp1234567pxb;\n        Tue, 6 Aug 2024 03:12:44 -0700 (PDT)\n"
            "From: \"Reise B\u00fcro\" <info@example.travel>\nSubject: Ihre Buchung\nDate: Tue, 6 Aug 2024 12:12:40 +0200\nMessage-ID: <CA+abc@mail.gmail.com>\n\n")
t.add("* 3961 FETCH (X-GM-THRID 1806631829123123123 X-GM-MSGID 1806631829123123123 X-GM-LABELS (\\Inbox \\Important) UID 16743 "
      "RFC822.SIZE 2811 INTERNALDATE \"06-Aug-2024 10:12:44 +0000\" FLAGS () BODY[HEADER] ", lit(ghdr.decode()), ")\r\n")
t.line("A7 OK Success")
t.line("* SEARCH 16742 16743")
t.line("A8 OK SEARCH completed (Success)")
t.line("* NO [WEBALERT https://accounts.google.com/signin/continue?sarp=1&scc=1&plt=AKgnsbsw] Web login required.")
t.line("+ idling")
t.line("* 3962 EXISTS")
t.line("* 3961 EXPUNGE")
t.line("A9 OK IDLE terminated (Success)")
t.line("* BYE LOGOUT Requested")
t.line("A10 OK 73 good day (Success)")
t.write("gmail.trace")

# ---------------------------------------------------------------------------------------
# Cyrus IMAP 3.x
t = Trace()
t.line("* OK [CAPABILITY IMAP4rev1 LITERAL+ ID ENABLE STARTTLS AUTH=PLAIN AUTH=SCRAM-SHA-256 SASL-IR] mail.example.net Cyrus IMAP 3.6.1-Debian-3.6.1-4 server ready")
t.line("+ ")
t.line("+ cj1meWpkK0poc2tqZGhmamtzZGZoa2pzLGlkLCBzPVFTWENSK1E2c2VrOGJmOTJ3PT0saT00MDk2")
t.line("A1 OK [CAPABILITY IMAP4rev1 LITERAL+ ID ENABLE ACL RIGHTS=kxten QUOTA MAILBOX-REFERRALS NAMESPACE UIDPLUS NO_ATOMIC_RENAME UNSELECT CHILDREN MULTIAPPEND BINARY CATENATE CONDSTORE ESEARCH SEARCH=FUZZY SORT SORT=MODSEQ SORT=DISPLAY SORT=UID THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS ANNOTATEMORE ANNOTATE-EXPERIMENT-1 METADATA LIST-EXTENDED LIST-STATUS LIST-MYRIGHTS LIST-METADATA WITHIN QRESYNC SCAN XLIST XMOVE MOVE SPECIAL-USE CREATE-SPECIAL-USE DIGEST=SHA1 X-REPLICATION STATUS=SIZE OBJECTID SAVEDATE X-CREATEDMODSEQ PREVIEW URLAUTH URLAUTH=BINARY LOGINDISABLED COMPRESS=DEFLATE X-QUOTA=STORAGE X-QUOTA=MESSAGE X-QUOTA=X-ANNOTATION-STORAGE X-QUOTA=X-NUM-FOLDERS IDLE APPENDLIMIT=2147483647] Success (tls protection) SESSIONID=<cyrus-12345-1722941234-1-9876543210987654321>")
t.line('* NAMESPACE (("INBOX." ".")) (("user." ".")) (("" "."))')
t.line("A2 OK Completed")
t.line('* LIST (\\HasChildren) "." INBOX')
t.line('* LIST (\\HasNoChildren \\Sent) "." INBOX.Sent')
t.line('* LIST (\\HasNoChildren \\Drafts) "." INBOX.Drafts')
t.line('* LIST (\\HasNoChildren \\Trash) "." INBOX.Trash')
t.line('* LIST (\\HasNoChildren \\Junk) "." INBOX.Spam')
t.line('* LIST (\\HasNoChildren) "." "INBOX.Project Plans"')
t.line('* LIST (\\Noselect \\HasChildren) "." user')
t.line('* LIST (\\HasNoChildren) "." user.anna')
t.line("* LIST () NIL INBOX")
t.line("A3 OK Completed (0.001 secs 12 calls)")
t.line("* 172 EXISTS")
t.line("* 1 RECENT")
t.line("* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen $Forwarded $MDNSent)")
t.line("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen $Forwarded $MDNSent \\*)] Ok")
t.line("* OK [UIDVALIDITY 3857529045] Ok")
t.line("* OK [UIDNEXT 4392] Ok")
t.line("* OK [HIGHESTMODSEQ 715194045007] Ok")
t.line("* OK [URLMECH INTERNAL] Ok")
t.line("* OK [ANNOTATIONS 65536] Ok")
t.line("* OK [MAILBOXID (M6bb4d4d8b7c5b2b7e1f2b6f0)] Ok")
t.line("* VANISHED (EARLIER) 300:310,405,411,4000:4100")
t.line("* 1 FETCH (UID 4 MODSEQ (65402) FLAGS (\\Seen))")
t.line("* 2 FETCH (UID 6 MODSEQ (75403) FLAGS (\\Deleted))")
t.line("A4 OK [READ-WRITE] Completed")
t.line("* STATUS INBOX.Sent (MESSAGES 12 UNSEEN 0 UIDVALIDITY 1581016183 UIDNEXT 13 HIGHESTMODSEQ 2213)")
t.line("A5 OK Completed")
part = crlf("Hallo Anna,\n\nanbei der Entwurf.\n")
inner = crlf("From: Bob <bob@example.net>\nSubject: Fwd\n\nbody\n")
t.add("* 12 FETCH (UID 4391 RFC822.SIZE 44827 FLAGS (\\Recent) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
      "BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") NIL NIL \"QUOTED-PRINTABLE\" 1152 23 NIL NIL NIL NIL)"
      "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 4554 (\"Mon, 15 Jul 1996 10:00:00 -0700\" \"Fwd\" ((\"Bob\" NIL \"bob\" \"example.net\")) "
      "((\"Bob\" NIL \"bob\" \"example.net\")) ((\"Bob\" NIL \"bob\" \"example.net\")) NIL NIL NIL NIL NIL) "
      "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 4 1 NIL NIL NIL NIL) 88 NIL NIL NIL NIL)"
      "(\"APPLICATION\" \"PDF\" (\"NAME\" \"Entwurf.pdf\") NIL NIL \"BASE64\" 38820 NIL (\"ATTACHMENT\" (\"FILENAME\" \"Entwurf.pdf\")) NIL NIL) "
      "\"MIXED\" (\"BOUNDARY\" \"----=_Part_1\") NIL NIL NIL) "
      "BODY[1]<0> ", lit(part), " BODY[2.HEADER] ", lit(inner), ")\r\n")
t.line('* 12 FETCH (BODY[1.2]<0> "Hallo \\"Anna\\", C:\\\\Pfad" UID 4391)')
t.line("A6 OK Completed (0.000 sec)")
t.line("A7 OK [COPYUID 38505 304,319:320 3956:3958] Completed")
t.line('* ESEARCH (TAG "A8") UID MIN 4 MAX 4391 COUNT 172')
t.line("A8 OK Completed (172 msgs in 0.001 secs)")
t.line("* MYRIGHTS INBOX lrswipkxtecdan")
t.line("A9 OK Completed")
t.line("* QUOTAROOT INBOX INBOX")
t.line("* QUOTA INBOX (STORAGE 2303 1048576 MESSAGE 184 100000)")
t.line("A10 OK Completed")
t.line("* METADATA INBOX (/private/specialuse NIL /shared/comment \"Main mailbox\")")
t.line("A11 OK Completed")
t.line("* THREAD (2)(3 6 (4 23)(44 7 96))")
t.line("A12 OK Completed (2 threads in 0.000 secs)")
t.line("* OK [ALERT] Server will be shut down for maintenance at 02:00 UTC")
t.line("* BYE LOGOUT received")
t.line("A13 OK Completed")
t.write("cyrus.trace")

# ---------------------------------------------------------------------------------------
# Microsoft Exchange / Outlook.com
t = Trace()
t.line("* OK The Microsoft Exchange IMAP4 service is ready. [TQBXADIAUABSADEAMgBDAEEAMAAwADEAMgAuAG4AYQBtAHAAcgBkADEAMgAuAHAAcgBvAGQALgBvAHUAdABsAG8AbwBrAC4AYwBvAG0A]")
t.line("* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+")
t.line("A1 OK CAPABILITY completed.")
t.line("+")
t.line("A2 OK AUTHENTICATE completed.")
t.line('* LIST (\\Marked \\HasNoChildren \\Archive) "/" Archive')
t.line('* LIST (\\HasChildren) "/" Calendar')
t.line('* LIST (\\HasNoChildren) "/" "Calendar/Birthdays"')
t.line('* LIST (\\HasNoChildren \\Drafts) "/" Drafts')
t.line('* LIST (\\Marked \\HasNoChildren \\Trash) "/" "Deleted Items"')
t.line('* LIST (\\Marked \\HasNoChildren) "/" INBOX')
t.line('* LIST (\\HasNoChildren \\Junk) "/" "Junk Email"')
t.line('* LIST (\\HasNoChildren \\Sent) "/" "Sent Items"')
t.line('* LIST (\\HasNoChildren) "/" "Aufgaben &- Notizen"')
t.line("A3 OK LIST completed.")
t.line("* 18 EXISTS")
t.line("* 0 RECENT")
t.line("* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)")
t.line("* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)] Permanent flags")
t.line("* OK [UNSEEN 14] Is the first unseen message")
t.line("* OK [UIDVALIDITY 14] UIDVALIDITY value")
t.line("* OK [UIDNEXT 203] The next unique identifier value")
t.line("A4 OK [READ-WRITE] SELECT completed.")
ehdr = crlf("From: =?iso-8859-1?Q?J=FCrgen_M=FCller?= <j.mueller@example.com>\nSubject: Termin\n\n")
t.add("* 14 FETCH (UID 196 RFC822.SIZE 5120 FLAGS () BODY[HEADER.FIELDS (FROM SUBJECT)] ", lit(ehdr), ")\r\n")
t.add("* 15 FETCH (UID 197 RFC822.SIZE 7340 FLAGS (\\Seen ) BODY[HEADER.FIELDS (FROM SUBJECT)] ", lit(crlf("Subject: Re: Termin\n\n")), ")\r\n")
t.line("* 16 FETCH (UID 198 FLAGS (\\Seen \\Flagged) ENVELOPE (\"Mon, 5 Aug 2024 08:00:00 +0000\" \"\" ((\"\" NIL \"postmaster\" \"example.com\")) NIL NIL NIL NIL NIL NIL NIL))")
t.line("A5 OK FETCH completed.")
t.line("* SEARCH")
t.line("A6 OK SEARCH completed.")
t.line("* SEARCH 14 15 16")
t.line("A7 OK SEARCH completed.")
t.line("A8 OK [COPYUID 14 196:197 1:2] MOVE completed.")
t.line("* 14 EXPUNGE")
t.line("* 14 EXPUNGE")
t.line("A9 BAD Command Argument Error. 11")
t.line("A10 NO [TRYCREATE] Folder not found.")
t.line("* BYE Microsoft Exchange Server IMAP4 server signing off.")
t.line("A11 OK LOGOUT completed.")
t.write("exchange.trace")

# ---------------------------------------------------------------------------------------
# A short trace that mixes every awkward shape; tested at every split point.
t = Trace()
t.line("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready")
t.add("* 1 FETCH (BODY[HEADER.FIELDS (FROM SUBJECT)]<0> ", lit("From: a\r\n\r\n"), " BINARY[1] ", lit(b"\x00\x01\r\n\xff", tilde=True), " FLAGS (\\Seen \\*))\r\n")
t.add('* LIST () NIL ', lit("{5}\r\n"), "\r\n")
t.line("+ ")
t.line("A1 OK done {3}")
t.line("* SEARCH")
t.write("short-mixed.trace")
