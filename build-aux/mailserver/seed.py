#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sample mail for pb-mailserver: the demo mailbox (user `demo`) and a few messages for
`alice`, generated with Python's email package and written straight into Maildir.

Everything is generated from a fixed random seed, so the same messages, Message-IDs, MIME
boundaries and file names come out every time. Dates are laid out backwards from an
anchor: today (local time) by default, or PB_SEED_NOW (an ISO date/time or a Unix time)
for pixel-stable screenshots.

    seed.py DIR                 seed a running `pb-mailserver start DIR`
    seed.py --export OUTDIR     write the demo set as OUTDIR/<user>/<folder>/NNN.eml
    seed.py --summary           print how many messages go into each folder

`pb-mailserver start DIR --seed demo` imports this module and calls write_demo() before
Dovecot first opens a mailbox and finish() once it runs.
"""

import datetime
import hashlib
import os
import random
import struct
import subprocess
import sys
import textwrap
import zlib
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
import email.policy
import email.utils

POLICY = email.policy.default  # LF line ends, 8-bit bodies kept as they are
SEED = 20240917

# Folders created for `demo`, in the order they are listed. The special-use ones are
# auto-created by the server configuration as well.
DEMO_FOLDERS = ["INBOX", "Drafts", "Sent", "Archive", "Junk", "Trash", "Projects",
                "Projects/Postbote", "Lists", "Lists/gnome-devel", "Family"]


# ---------------------------------------------------------------------------------------
# People


class Person:
    def __init__(self, name, addr, tz=1.0, lang="en", dst=True):
        self.name, self.addr, self.tz, self.lang, self.dst = name, addr, tz, lang, dst

    def address(self):
        return Address(display_name=self.name, addr_spec=self.addr)

    def first(self):
        return self.name.split()[0] if self.lang != "ja" else self.name.split()[-1] + "さん"


ME = Person("Dana Weber", "demo@example.org", 1)
JUERGEN = Person("Jürgen Müller", "juergen.mueller@example.com", 1, "de")
AMELIE = Person("Amélie Dubois", "amelie.dubois@example.net", 1, "fr")
YUKI = Person("田中 由紀", "tanaka.yuki@kaisha.example", 9, "ja", dst=False)
SOFIA = Person("Sofia Lindqvist", "sofia@example.org", 1)
RAVI = Person("Ravi Iyer", "ravi.iyer@example.com", 5.5, dst=False)
SEGUN = Person("Olusegun Adeyemi", "segun@example.net", 1, dst=False)
MARIA = Person("María José García", "mjgarcia@correo.example", 1, "es")
TOM = Person("Tom O'Brien", "tobrien@example.com", -5)
MAMA = Person("Ingrid Weber", "ingrid.weber@familie.example", 1, "de")
PAPA = Person("Klaus Weber", "klaus.weber@familie.example", 1, "de")
LENA = Person("Lena Weber", "lena.weber@familie.example", 1, "de")
OMA = Person("Hildegard Brandt", "oma.hilde@familie.example", 1, "de")
# gnome-devel regulars (all invented)
LIST_PEOPLE = [
    Person("Priya Raman", "priya@raman.example", 5.5, dst=False),
    Person("Matteo Ricci", "matteo.ricci@example.it", 1),
    Person("Hannah Becker", "hbecker@example.de", 1),
    Person("Chen Wei", "chenwei@example.cn", 8, dst=False),
    Person("Aleksander Nowak", "anowak@example.pl", 1),
    Person("Grace Kim", "grace@kim.example", -8),
    Person("Lukas Novák", "lukas@novak.example", 1),
    Person("Fatima Zahra El Amrani", "fz.elamrani@example.ma", 0, dst=False),
    SEGUN, SOFIA, TOM,
]
CI = Person("Postbote CI", "ci@builds.postbote.example", 0, dst=False)
TRACKER = Person("Postbote Issues", "issues@tracker.postbote.example", 0, dst=False)
NEWS = Person("The Weekly Byte", "news@weeklybyte.example", -5)
BANK = Person("Nordlicht Bank", "service@nordlicht-bank.example", 1, "de")
SHOP = Person("Papierladen am Markt", "bestellung@papierladen.example", 1, "de")
RAIL = Person("Bahnreisen Süd", "noreply@bahnreisen.example", 1, "de")
OLDTIMER = Person("Bernd Köhler", "b.koehler@stadtwerke.example", 1, "de")
ALICE = Person("Alice Example", "alice@example.org", 1)
BOB = Person("Bob Example", "bob@example.org", 1)

LIST_ADDR = "gnome-devel@lists.gnome.example"
LIST_ID = "GNOME development discussion <gnome-devel.lists.gnome.example>"


# ---------------------------------------------------------------------------------------
# Generated binary attachments


def png(width, height, row_fn):
    """A truecolour PNG; row_fn(y) returns the row's RGB bytes."""
    raw = b"".join(b"\x00" + row_fn(y) for y in range(height))

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"tEXt", b"Software\x00Postbote demo generator") +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def logo_png():
    """The newsletter's logo: a rounded teal badge with a white bar, 160x48."""
    w, h = 160, 48
    rows = []
    for y in range(h):
        row = bytearray()
        for x in range(w):
            inside = 4 <= x < w - 4 and 4 <= y < h - 4
            if inside and 14 <= y < 34 and 20 <= x < 140 and (x < 44 or (y - 14) % 8 < 4):
                row += b"\xff\xff\xff"
            elif inside:
                row += bytes((20, 110 + y, 120 + x // 4))
            else:
                row += b"\xff\xff\xff"
        rows.append(bytes(row))
    return png(w, h, lambda y: rows[y])


def screenshot_png():
    """A window with a sidebar, a list and a reading pane, 320x200."""
    w, h = 320, 200
    header = bytes((48, 48, 52)) * w
    rows = []
    for y in range(h):
        if y < 24:
            rows.append(header)
            continue
        row = bytearray()
        for x in range(w):
            if x < 70:
                c = (235, 235, 238) if (y - 24) // 18 != 1 else (53, 132, 228)
            elif x < 170:
                c = (255, 255, 255) if ((y - 24) // 22) % 2 else (246, 246, 248)
                if x == 169:
                    c = (200, 200, 205)
            else:
                c = (255, 255, 255)
                if 40 <= y < 46 and 180 <= x < 300:
                    c = (90, 90, 96)
                elif 56 <= y < 180 and (y - 56) % 10 < 4 and 180 <= x < 300 - (y * 7) % 40:
                    c = (170, 170, 176)
            row += bytes(c)
        rows.append(bytes(row))
    return png(w, h, lambda y: rows[y])


def photo_png(hue=0):
    """A small landscape: sky gradient, sun, two hills, 240x160."""
    w, h = 240, 160
    rows = []
    for y in range(h):
        row = bytearray()
        for x in range(w):
            hill1 = 110 + int(18 * ((x - 70) / 70.0) ** 2) if 0 <= x < 240 else h
            hill2 = 120 + int(12 * ((x - 180) / 60.0) ** 2)
            if (x - 180 - hue) ** 2 + (y - 40) ** 2 < 200:
                c = (255, 214, 90)
            elif y >= min(hill1, hill2):
                g = 120 + (y * 3 + x) % 30
                c = (40 + hue // 2, g, 50)
            else:
                c = (110 + y // 2, 160 + y // 3, 235)
            row += bytes(c)
        rows.append(bytes(row))
    return png(w, h, lambda y: rows[y])


def chart_png():
    """A bar chart, 200x120."""
    w, h = 200, 120
    bars = [40, 62, 55, 80, 97, 72, 88]
    rows = []
    for y in range(h):
        row = bytearray()
        for x in range(w):
            i, off = divmod(x - 12, 26)
            if 0 <= i < len(bars) and 0 <= off < 18 and y >= h - 10 - bars[i]:
                c = (53, 132, 228) if i != 4 else (230, 97, 0)
            elif y == h - 10:
                c = (60, 60, 60)
            else:
                c = (255, 255, 255)
            row += bytes(c)
        rows.append(bytes(row))
    return png(w, h, lambda y: rows[y])


def pdf(lines):
    """A one-page PDF with lines of text in Helvetica (WinAnsi, so umlauts work)."""
    def esc(s):
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    text = "BT\n/F1 11 Tf\n14 TL\n72 770 Td\n"
    for i, line in enumerate(lines):
        if i == 0:
            text += "/F1 16 Tf (%s) Tj T* T* /F1 11 Tf\n" % esc(line)
        else:
            text += "(%s) '\n" % esc(line)
    text += "ET\n"
    content = text.encode("cp1252")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Producer (Postbote demo generator) /Title (%s) >>" % esc(lines[0]).encode("cp1252"),
    ]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, xref)
    return out


def ics(uid, summary, start, minutes, organizer, attendees, location, description,
        method="REQUEST"):
    def t(dt):
        return dt.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")

    def fold(line):
        out = []
        while len(line.encode()) > 74:
            cut = 74
            while len(line[:cut].encode()) > 74:
                cut -= 1
            out.append(line[:cut])
            line = " " + line[cut:]
        out.append(line)
        return "\r\n".join(out)
    lines = [
        "BEGIN:VCALENDAR", "PRODID:-//Example//Groupware 9.1//EN", "VERSION:2.0",
        "CALSCALE:GREGORIAN", "METHOD:" + method, "BEGIN:VEVENT",
        "UID:" + uid, "DTSTAMP:" + t(start - datetime.timedelta(days=3)),
        "DTSTART:" + t(start), "DTEND:" + t(start + datetime.timedelta(minutes=minutes)),
        "SUMMARY:" + summary, "LOCATION:" + location.replace(",", "\\,"),
        "DESCRIPTION:" + description.replace("\n", "\\n").replace(",", "\\,"),
        "ORGANIZER;CN=%s:mailto:%s" % (organizer.name, organizer.addr),
    ]
    for p in attendees:
        lines.append("ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;"
                     "RSVP=TRUE;CN=%s:mailto:%s" % (p.name, p.addr))
    lines += ["SEQUENCE:0", "STATUS:CONFIRMED", "TRANSP:OPAQUE", "BEGIN:VALARM",
              "ACTION:DISPLAY", "DESCRIPTION:Reminder", "TRIGGER:-PT15M", "END:VALARM",
              "END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")


# ---------------------------------------------------------------------------------------
# Text helpers


def flow(text, width=72):
    """RFC 3676 format=flowed: soft line breaks end in a space; lines starting with a
    space, '>' (unquoted) or 'From ' are space-stuffed. Quoted lines stay as they are."""
    out = []
    for para in text.split("\n"):
        if para.startswith(">") or not para.strip():
            out.append(para.rstrip(" "))
            continue
        lines = textwrap.wrap(para, width, break_long_words=False, break_on_hyphens=False)
        for i, line in enumerate(lines):
            if line.startswith((" ", "From ")):
                line = " " + line
            out.append(line + (" " if i < len(lines) - 1 else ""))
    return "\n".join(out)


def wrap(text, width=72):
    out = []
    for para in text.split("\n"):
        if para.startswith(">") or len(para) <= width or (
                para.endswith(":") and len(para) < 100):  # attribution lines stay whole
            out.append(para)
        else:
            out.extend(textwrap.wrap(para, width, break_long_words=False,
                                     break_on_hyphens=False))
    return "\n".join(out)


def quote_level(line):
    return len(line) - len(line.lstrip(">"))


def quote(text, keep=1):
    """Quotes text for a reply, trimmed the way people do: quotes deeper than keep levels
    go, and so does the attribution line that introduced them."""
    lines = text.rstrip("\n").split("\n")
    kept = []
    for i, line in enumerate(lines):
        level = quote_level(line)
        if level > keep:
            continue
        nxt = next((ln for ln in lines[i + 1:] if ln.strip("> ")), "")
        if line.rstrip().endswith(":") and quote_level(nxt) > keep:
            continue
        if not line.strip("> ") and kept and not kept[-1].strip("> "):
            continue  # no runs of empty lines
        kept.append(line)
    kept = [ln for i, ln in enumerate(kept)
            if ln.strip("> ") or i == 0 or not kept[i - 1].rstrip().endswith(":")]
    out = [">" + ln if ln.startswith(">") else ("> " + ln if ln else ">") for ln in kept]
    while out and out[-1].strip("> ") == "":
        out.pop()
    while out and out[0].strip("> ") == "":
        out.pop(0)
    return "\n".join(out)


def strip_signature(text):
    return text.split("\n-- \n")[0].rstrip()


def attribution(person, date):
    local = date
    if person.lang == "de":
        return "Am %s um %s schrieb %s:" % (local.strftime("%d.%m.%y"),
                                           local.strftime("%H:%M"), person.name)
    if person.lang == "fr":
        days = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
        months = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août",
                  "sept.", "oct.", "nov.", "déc."]
        return "Le %s %d %s %d à %s, %s <%s> a écrit :" % (
            days[local.weekday()], local.day, months[local.month - 1], local.year,
            local.strftime("%H:%M"), person.name, person.addr)
    if person.lang == "ja":
        days = "月火水木金土日"
        return "%d年%d月%d日(%s) %s %s <%s>:" % (
            local.year, local.month, local.day, days[local.weekday()],
            local.strftime("%H:%M"), person.name, person.addr)
    return "On %s, %s <%s> wrote:" % (local.strftime("%a, %d %b %Y at %H:%M"),
                                     person.name, person.addr)


SIGNATURES = {
    ME.addr: "Dana Weber\nSenior Engineer, Mail & Calendar\nhttps://example.org/~dana",
    JUERGEN.addr: "Jürgen Müller\nPlattform-Team · Raum 3.07 · Tel. +49 30 1234-567",
    SOFIA.addr: "Sofia",
    RAVI.addr: "Ravi Iyer | Release Engineering\n\"Ship it, then ship it again.\"",
    AMELIE.addr: "Amélie Dubois\nCheffe de projet — Équipe Interfaces",
    YUKI.addr: "田中 由紀\n株式会社サンプル 開発部",
}


def sign(person, body):
    sig = SIGNATURES.get(person.addr)
    return body.rstrip("\n") + ("\n\n-- \n" + sig + "\n" if sig else "\n")


# ---------------------------------------------------------------------------------------
# Building messages


class Mail:
    """One message on its way into a folder."""

    def __init__(self, folder, data, date, flags=""):
        self.folder, self.data, self.date, self.flags = folder, data, date, flags


IMAGES = {}  # generated once per process


class Builder:
    def __init__(self, now, me, counter=0):
        self.me = me
        self.rng = random.Random(SEED + counter)
        self.now = now
        self.counter = counter
        self.mails = {}  # user -> [Mail]

    # -- helpers ------------------------------------------------------------------------

    def image(self, name):
        if name not in IMAGES:
            IMAGES[name] = {
                "logo": logo_png, "screenshot": screenshot_png, "photo": photo_png,
                "photo2": lambda: photo_png(30), "chart": chart_png,
            }[name]()
        return IMAGES[name]

    def when(self, days_ago, hour=None, minute=None):
        """A moment days_ago days before the anchor's day, at a fixed time of day (local
        time). Never later than the anchor."""
        if hour is None:
            hour = self.rng.choice([7, 8, 9, 9, 10, 10, 11, 13, 14, 15, 16, 17, 19, 21, 22])
        if minute is None:
            minute = self.rng.randrange(60)
        days_ago = max(days_ago, 0)
        day = (self.now - datetime.timedelta(days=days_ago)).date()
        t = datetime.datetime(day.year, day.month, day.day, hour, minute,
                              self.rng.randrange(60)).astimezone()
        limit = self.now - datetime.timedelta(minutes=3 + days_ago)
        return min(t, limit)

    def msgid(self, domain):
        self.counter += 1
        h = hashlib.sha1(b"%d-%d" % (SEED, self.counter)).hexdigest()
        return "<%s.%s@%s>" % (h[:12], h[12:20], domain)

    def sender_date(self, person, moment):
        """moment as the sender's wall clock (the Date header's zone)."""
        offset = person.tz
        if person.dst and 3 < moment.month < 11 and offset > -6:
            offset += 1
        return moment.astimezone(datetime.timezone(datetime.timedelta(hours=offset)))

    def add(self, user, folder, data, date, flags=""):
        self.mails.setdefault(user, []).append(Mail(folder, data, date, flags))

    # -- the message ----------------------------------------------------------------------

    def message(self, sender, to, subject, body, date, *, cc=(), msgid=None, parent=None,
                flowed=False, charset="utf-8", cte=None, html=None, related=(),
                attachments=(), headers=(), raw_headers=(), mailer=None, reply_to=None,
                header_charset=None):
        """Returns (bytes, Message-ID). parent: (Message-ID, References) of the message
        replied to. related: (cid, filename, png bytes) for the HTML part. attachments:
        (maintype, subtype, filename, bytes or EmailMessage, params). header_charset:
        encode From's name and Subject in this charset (as the sender's old mailer
        would) instead of UTF-8."""
        # The top-level headers are written by hand: the email package's header objects
        # would cost most of the seeding time. Only the MIME structure comes from it.
        top = [("Date", email.utils.format_datetime(self.sender_date(sender, date)))]
        if header_charset:
            top.append(("From", "%s <%s>" % (encoded_words(sender.name, header_charset),
                                            sender.addr)))
        else:
            top.append(("From", format_addresses([sender])))
        if to:
            top.append(("To", format_addresses(to)))
        if cc:
            top.append(("Cc", format_addresses(cc)))
        if reply_to:
            top.append(("Reply-To", reply_to))
        if subject is not None:
            if header_charset:
                top.append(("Subject", encoded_words(subject, header_charset)))
            elif subject.isascii():
                top.append(("Subject", subject))
            else:
                top.append(("Subject", Header(subject, "utf-8", header_name="Subject")
                            .encode(linesep="\n")))
        if msgid is None:
            msgid = self.msgid(sender.addr.split("@")[1])
        top.append(("Message-ID", msgid))
        if parent:
            pid, prefs = parent
            top.append(("In-Reply-To", pid))
            refs = (prefs + [pid])
            if len(refs) > 8:  # like most clients: the first and the last few
                refs = refs[:1] + refs[-7:]
            top.append(("References", " ".join(refs)))
        if mailer:
            top.append(("User-Agent" if "Thunderbird" in mailer or "Postbote" in mailer
                        else "X-Mailer", mailer))
        top += list(headers)
        head = "".join(fold_header(k, v) for k, v in top) + "".join(
            h + "\n" for h in raw_headers)
        m = EmailMessage(policy=POLICY)

        if cte is None:
            cte = "8bit" if charset == "utf-8" else "quoted-printable"
        if body is not None:
            text = flow(body) if flowed else wrap(body)
            m.set_content(text, charset=charset, cte=cte)
            if flowed:
                m.set_param("format", "flowed")
                m.set_param("delsp", "no")
        if html is not None:
            if body is None:
                m.set_content(html, subtype="html", charset="utf-8", cte="quoted-printable")
                html_part = m
            else:
                m.add_alternative(html, subtype="html", charset="utf-8",
                                  cte="quoted-printable")
                html_part = m.get_payload()[1]
            for cid, filename, data in related:
                html_part.add_related(data, "image", "png", cid="<%s>" % cid,
                                      disposition="inline", filename=filename)
        for maintype, subtype, filename, data, params in attachments:
            if isinstance(data, EmailMessage):
                m.add_attachment(data)
            elif maintype == "text":
                m.add_attachment(data, subtype=subtype, filename=filename,
                                 charset="utf-8", cte="quoted-printable", params=params)
            else:
                m.add_attachment(data, maintype, subtype, filename=filename, params=params)

        # Deterministic boundaries; no MIME-Version on inner parts (Python adds one).
        n = 0
        for part in m.walk():
            if part is not m:
                del part["MIME-Version"]
            if part.is_multipart():
                n += 1
                part.set_boundary("----=_Part_%d_%s" % (n, msgid[1:11]))
        if "MIME-Version" not in m:
            m["MIME-Version"] = "1.0"
        data = head.encode("ascii") + m.as_bytes(policy=POLICY)
        return data, msgid

    def reply_text(self, author, parent_author, parent_date, parent_body, text,
                   style="bottom", subject=""):
        """Reply text: bottom-posted below a trimmed quote, or top-posted above the whole
        original the way Outlook does it."""
        quoted = quote(strip_signature(parent_body))
        if style == "top":
            local = self.sender_date(author, parent_date)
            return sign(author, text) + (
                "\n-----Original Message-----\nFrom: %s <%s>\nSent: %s\nSubject: %s\n\n%s\n"
                % (parent_author.name, parent_author.addr,
                   local.strftime("%A, %B %d, %Y %I:%M %p"), subject,
                   strip_signature(parent_body)))
        head = attribution(parent_author, self.sender_date(parent_author, parent_date))
        return sign(author, "%s\n%s\n\n%s" % (head, quoted, text))

    # -- threads ----------------------------------------------------------------------------

    def thread(self, user, subject, posts, start_days_ago, *, folder="INBOX", to=None,
               cc=(), list_post=False, unread_tail=0, flagged=(), flowed_for=(),
               lang_re="Re: ", top_posters=(), sent_folder="Sent", charset_for=None):
        """posts: [(author, parent index or None, text)]. Messages by self.me go to the
        Sent folder (and to the list folder too, for a mailing list); the others to
        folder. Returns the Message-IDs."""
        me = self.me
        ids, refs, dates, bodies, authors, subjects = [], [], [], [], [], []
        answered = set()
        t = self.when(start_days_ago)
        for i, (author, parent, text) in enumerate(posts):
            if i:
                t = t + datetime.timedelta(minutes=self.rng.randrange(25, 600))
                t = min(t, self.now - datetime.timedelta(minutes=2 * (len(posts) - i)))
            if parent is None:
                subj, par, body = subject, None, sign(author, text)
                recipients = to or [me]
            else:
                subj = subject if subject.startswith(lang_re) else lang_re + subject
                par = (ids[parent], refs[parent])
                style = "top" if author in top_posters else "bottom"
                body = self.reply_text(author, authors[parent], dates[parent],
                                       bodies[parent], text, style, subjects[parent])
                recipients = ([authors[parent]] if authors[parent] is not author
                              else (to or [me]))
                if author is me:
                    answered.add(parent)
            if list_post:
                recipients = [Address("GNOME development discussion",
                                      addr_spec=LIST_ADDR)]
            headers = []
            if list_post:
                headers = [("List-Id", LIST_ID),
                           ("List-Post", "<mailto:%s>" % LIST_ADDR),
                           ("List-Unsubscribe",
                            "<https://lists.gnome.example/mailman/options/gnome-devel>, "
                            "<mailto:gnome-devel-request@lists.gnome.example?subject=unsubscribe>"),
                           ("List-Archive", "<https://lists.gnome.example/archives/gnome-devel/>"),
                           ("Precedence", "list")]
            charset, cte, header_charset = "utf-8", None, None
            if charset_for and author in charset_for:
                charset, cte = charset_for[author]
                header_charset = charset
            data, mid = self.message(
                author, recipients, subj, body, t,
                cc=[c for c in cc if c is not author], parent=par,
                flowed=author in flowed_for, headers=headers, charset=charset, cte=cte,
                header_charset=header_charset,
                mailer=self.mailer_for(author))
            ids.append(mid)
            refs.append((refs[parent] + [ids[parent]]) if parent is not None else [])
            dates.append(t)
            bodies.append(wrap(body))  # quoted as the recipient saw it
            subjects.append(subj)
            authors.append(author)
            if author is me:
                self.add(user, sent_folder, data, t, "S")
            if author is not me or list_post:
                # A list sends our own posts back to us as well.
                unread = i >= len(posts) - unread_tail and author is not me
                flags = ("F" if i in flagged else "") + ("" if unread else "S")
                self.add(user, folder, data, t, flags)
        for i in answered:
            self.set_flag(user, ids[i], "R")
        return ids

    def set_flag(self, user, msgid, flag):
        needle = ("Message-ID: %s\n" % msgid).encode()
        for mail in self.mails.get(user, []):
            if needle in mail.data and flag not in mail.flags and mail.folder != "Sent":
                mail.flags += flag

    def mailer_for(self, person):
        return {
            ME.addr: "Postbote/0.3 (GNOME)",
            JUERGEN.addr: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
                          "Thunderbird/128.3.0",
            TOM.addr: "Microsoft Outlook 16.0",
            OLDTIMER.addr: "Microsoft Outlook Express 6.00.2900.5931",
            YUKI.addr: "Becky! ver. 2.81.04",
            SOFIA.addr: "Apple Mail (2.3774.200.91.1.1)",
        }.get(person.addr)


# ---------------------------------------------------------------------------------------
# Text banks (all invented)

WORK_PARAS = [
    "Thanks for pulling this together so quickly. I read through the draft on the train "
    "this morning and I think the overall direction is right, but the timeline for the "
    "second phase looks optimistic to me.",
    "Could we move the sync to Thursday afternoon? Wednesday is fully booked with the "
    "vendor workshop and I would rather not squeeze it in between.",
    "I have attached the numbers from last quarter. The short version: support tickets "
    "went down by about a fifth after the new onboarding flow shipped, which is better "
    "than we hoped.",
    "One thing we have not discussed yet is who owns the migration scripts once the "
    "project is over. If nobody does, they will rot within a month.",
    "Quick heads-up: the staging environment will be down on Saturday between 06:00 and "
    "10:00 UTC for the database upgrade. Nothing should be needed from your side.",
    "I talked to the design team yesterday. They are fine with the compact layout as long "
    "as we keep the larger touch targets on the toolbar.",
    "Let's not block the release on this. We can document the limitation in the release "
    "notes and fix it properly in the next cycle.",
    "For the record, I still think we should measure before we optimise. Last time we "
    "spent two weeks on the cache and the bottleneck turned out to be DNS.",
    "Sounds good to me. I will update the tracking issue and ping the reviewers.",
    "Agreed on all points except the last one: the budget for external contractors was "
    "already approved in March, so we do not need another round with finance.",
    "Can you share the slides after the meeting? I will be on a flight and can only join "
    "for the first twenty minutes.",
    "I am out of office from the 14th to the 21st with limited access to email. Ravi "
    "covers for me in the meantime.",
    "The customer confirmed they can reproduce the problem only with their proxy in the "
    "path. Without it everything works, so I suspect the proxy rewrites the headers.",
    "Attached is the corrected version. I fixed the typos in section 2 and reworded the "
    "summary so it no longer promises a date.",
]

TECH_PARAS = [
    "I had a look at the profile and most of the time goes into measuring text layouts "
    "for rows that are never shown. Recycling the row widgets brings the initial load "
    "from 1.8 s down to about 120 ms on my laptop.",
    "We should be careful with this: the old behaviour is documented, and at least two "
    "downstream projects rely on the signal being emitted before the model changes.",
    "+1 from me. The patch is small, it has tests, and it removes more code than it adds. "
    "My only nit is the name of the new property; 'show-hidden' reads like a verb.",
    "Has anyone tried this with a right-to-left locale? The icons in the header bar end "
    "up on the wrong side for me when I run with LANGUAGE=he.",
    "The accessibility tree looks fine now. Orca reads the row titles and the unread "
    "state, and keyboard navigation wraps around at the end of the list.",
    "I would prefer to land this after the branch point. It touches the settings schema "
    "and translators have already started on the strings for this cycle.",
    "Bisected it: the regression comes from the change that switched the list to a "
    "sorted model. The sorter is set before the filter, so every keystroke re-sorts the "
    "whole list.",
    "Here is a minimal reproducer: open the window, resize it below 360 pixels and switch "
    "to the second tab. The sidebar never comes back even when the window grows again.",
    "Memory use is stable over a 12 hour run with IDLE enabled, so I do not think we leak "
    "the connection objects any more. The remaining growth is the message cache, which "
    "is bounded.",
    "The CI images were updated to the new runtime yesterday, which is why the tests "
    "suddenly fail on the font metrics. I will regenerate the reference screenshots.",
    "Let us keep the discussion on the merge request so the context is in one place; "
    "mailing list threads are hard to find again a year from now.",
    "I tested the branch on three machines (two Intel, one ARM) and could not reproduce "
    "the crash any more. Marking as fixed, please reopen if you still see it.",
    "Small correction to my earlier mail: the limit is per connection, not per account, "
    "so two windows on the same account do get two slots.",
    "Thanks, merged. This will be in the next unstable release.",
]

FAMILY_PARAS = [
    "Hallo ihr Lieben, wir sind gut angekommen! Das Wetter ist herrlich und die "
    "Ferienwohnung hat einen Balkon mit Blick auf den See. 🌞",
    "Könnt ihr am Sonntag zum Kaffee kommen? Ich backe den Käsekuchen, den Papa so mag. "
    "So gegen drei Uhr wäre schön.",
    "Vergesst nicht, dass Oma am 12. Geburtstag hat. Ich habe schon eine Karte besorgt, "
    "ihr müsst nur noch unterschreiben.",
    "Anbei ein paar Fotos vom Wochenende. Das mit dem Drachen hat dann doch noch "
    "geklappt, als der Wind endlich aufgefrischt hat. 🪁",
    "Lena hat die Führerscheinprüfung bestanden!!! Beim ersten Versuch. Wir sind so "
    "stolz auf sie. 🚗🎉",
    "Der Handwerker kommt erst nächste Woche, die Heizung bleibt also noch ein paar Tage "
    "kalt. Zum Glück haben wir den kleinen Ölradiator im Keller gefunden.",
    "Grüße aus München! Hier ist schon richtig Herbst, die Blätter sind gelb und rot "
    "und morgens liegt Nebel über der Isar.",
    "Wer übernimmt dieses Jahr den Kartoffelsalat? Ich würde sonst wieder die Würstchen "
    "besorgen und Lena macht den Nachtisch.",
]

CI_FAILS = [
    ("test-imap-client", "imap/fetch-literal", "assertion failed: (n_bytes == 4096)"),
    ("test-store", "store/migration-7", "database is locked"),
    ("test-smtp", "smtp/starttls-downgrade", "expected PB_SMTP_ERROR_TLS, got 0"),
    ("test-ui-reader", "ui/reader/remote-images", "timeout after 10000 ms"),
    ("fuzz-imap-parser", "fuzz/imap-response", "heap-buffer-overflow READ of size 1"),
]

SPAM = [
    ("Sie haben gewonnen!!! Ihr Gewinn: 1.000.000 €", Person(
        "Internationale Lotterie", "gewinn@lotto-global.example", 2, "de"),
     "Sehr geehrter Gewinner,\n\nIhre E-Mail-Adresse wurde bei unserer jährlichen "
     "Verlosung gezogen. Um Ihren Gewinn von 1.000.000,00 EUR zu erhalten, senden Sie "
     "uns bitte Ihre Bankverbindung und eine Kopie Ihres Ausweises.\n\nMit freundlichen "
     "Grüßen\nDr. Hans Wurst\nAuszahlungsstelle"),
    ("🔥🔥 Crypto gains of 900% — limited spots 🔥🔥", Person(
        "Elon's Crypto Club", "vip@moonshot-profits.example", -7),
     "Dear investor,\n\nOur AI trading bot made 900% last month. Only 12 spots left! "
     "Deposit now and double your Bitcoin in 24 hours. This is not financial advice."),
    ("Your mailbox is almost full (98%)", Person(
        "Mail Administrator", "admin@mail-quota-center.example", 0),
     None),
    ("Re: Invoice #88231 overdue", Person("Accounts Receivable", "billing@inv0ice.example", 0),
     "Please find the overdue invoice attached. Pay within 24 hours to avoid legal "
     "action.\n\nOpen the document here: https://inv0ice.example/download?id=88231"),
    ("Exclusive offer just for you, Dana", Person(
        "Best Deals", "deals@cheap-watches.example", 8, dst=False),
     "Luxury watches at 95% off. Free shipping worldwide. Only today!\n\n"
     "https://cheap-watches.example/?ref=demo"),
    ("Bestätigen Sie Ihr Konto", Person("Nordlicht Bank", "sicherheit@nordlicht-bank.example.co", 1,
                                        "de"),
     "Sehr geehrter Kunde,\n\naus Sicherheitsgründen wurde Ihr Konto vorübergehend "
     "gesperrt. Bitte bestätigen Sie Ihre Daten innerhalb von 24 Stunden:\n\n"
     "https://nordlicht-bank.example.co/verify\n\nIhre Nordlicht Bank"),
]


# ---------------------------------------------------------------------------------------
# The demo mailbox


def html_newsletter(issue, date, headline, items):
    parts = []
    for title, text, link in items:
        parts.append(
            '<tr><td style="padding:12px 24px;border-bottom:1px solid #e5e5e5">'
            '<h2 style="margin:0 0 6px;font-size:18px;color:#1c1c1c">'
            '<a href="https://click.weeklybyte.example/r?u=%s&amp;i=%d" '
            'style="color:#1a5fb4;text-decoration:none">%s</a></h2>'
            '<p style="margin:0;font-size:14px;line-height:1.5;color:#3d3d3d">%s</p>'
            '</td></tr>' % (link, issue, title, text))
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The Weekly Byte #%(issue)d</title>
<style>
  body { margin: 0; background: #f2f2f2; font-family: Cantarell, Helvetica, Arial, sans-serif; }
  .preheader { display: none !important; visibility: hidden; opacity: 0; height: 0; }
  @media (max-width: 600px) { .container { width: 100%% !important; } }
</style></head>
<body>
<span class="preheader">%(headline)s, and more in this week's issue.</span>
<table role="presentation" width="100%%" cellpadding="0" cellspacing="0" bgcolor="#f2f2f2">
<tr><td align="center">
<table class="container" role="presentation" width="600" cellpadding="0" cellspacing="0"
       bgcolor="#ffffff" style="margin:24px 0;border-radius:8px">
<tr><td style="padding:16px 24px;font-size:12px;color:#777">
  Issue #%(issue)d &middot; %(date)s &middot;
  <a href="https://weeklybyte.example/issues/%(issue)d" style="color:#777">View in browser</a>
</td></tr>
<tr><td style="padding:8px 24px">
  <img src="cid:logo.%(issue)d@weeklybyte.example" width="160" height="48"
       alt="The Weekly Byte" style="display:block;border:0">
</td></tr>
<tr><td>
  <img src="https://images.weeklybyte.example/issues/%(issue)d/hero.jpg" width="600"
       height="200" alt="This week: %(headline)s" style="display:block;width:100%%;border:0">
</td></tr>
<tr><td style="padding:16px 24px 4px">
  <h1 style="margin:0;font-size:24px">%(headline)s</h1>
</td></tr>
%(items)s
<tr><td style="padding:16px 24px;font-size:12px;color:#777;line-height:1.4">
  You receive this because you subscribed at weeklybyte.example.<br>
  <a href="https://weeklybyte.example/unsubscribe?u=7c1e0a" style="color:#777">Unsubscribe</a>
  &middot; The Weekly Byte, 42 Example Street, Springfield
</td></tr>
</table>
</td></tr></table>
<img src="https://t.weeklybyte.example/open.gif?u=7c1e0a&amp;i=%(issue)d" width="1" height="1"
     alt="">
</body></html>
""" % {"issue": issue, "date": date.strftime("%B %d, %Y"), "headline": headline,
       "items": "\n".join(parts)}


NEWS_ITEMS = [
    ("Why your build is slow (it is probably the linker)",
     "A deep dive into incremental linking, with numbers from three large C projects.",
     "linker"),
    ("Ten years of a text editor in GTK",
     "The maintainers look back at rewrites, regressions and the features nobody used.",
     "editor"),
    ("SQLite's trigram tokenizer in practice",
     "Substring search over a million rows, and where it falls over.", "sqlite"),
    ("Fuzzing parsers without tears",
     "How to write your first libFuzzer target in an afternoon and what it will find.",
     "fuzzing"),
    ("The quiet return of plain-text email",
     "Why some teams are going back to format=flowed and bottom-posting.", "plaintext"),
    ("Designing for keyboards first",
     "Shortcuts, focus rings and the art of never reaching for the mouse.", "keyboard"),
    ("IMAP in 2024: CONDSTORE, QRESYNC and friends",
     "The extensions that make a mail client feel instant.", "imap"),
    ("What a TLS certificate pin really protects",
     "Trust on first use, explained with diagrams.", "tls"),
]


def build_demo(b):
    rng = b.rng

    # --- Work threads in INBOX / Sent ------------------------------------------------
    b.thread("demo", "Offsite in Lisbon: agenda and travel", [
        (SOFIA, None, "Hi all,\n\nthe offsite is confirmed for the second week of next "
         "month. I booked the room at the co-working space near Cais do Sodré for three "
         "days. Please send me your travel dates by Friday so I can sort out the hotel."
         "\n\nDraft agenda:\n\n  Day 1  roadmap and retrospective\n  Day 2  architecture "
         "deep dive (sync engine, offline mode)\n  Day 3  hack day\n\nComments welcome."),
        (RAVI, 0, "Works for me. I will arrive on Monday evening from Bengaluru via "
         "Frankfurt. Can we keep the hack day free of meetings? Last time it turned into "
         "a planning session."),
        (ME, 0, "Great, thanks Sofia! I'll fly in on Monday afternoon and leave Thursday "
         "night.\n\nFor day 2, could we reserve an hour for the offline journal? Jürgen "
         "and I have a proposal that needs more than a hallway chat."),
        (JUERGEN, 2, "Ja, bitte! I'll bring the sequence diagrams. Dana, can you book the "
         "small room for the afternoon?"),
        (SOFIA, 1, "Hack day stays meeting-free, promised. 😄 I'll put a sign on the door."),
        (ME, 3, "Booked the small room from 14:00 to 16:00 on day 2."),
        (SOFIA, 5, "Perfect. Final agenda attached tomorrow."),
    ], 9, cc=(RAVI, JUERGEN), to=[ME], flagged=(0,), unread_tail=1,
        flowed_for=(ME,), top_posters=())

    b.thread("demo", "Server migration: cut-over on Saturday", [
        (TOM, None, "Team,\n\nWe are migrating the mail relay to the new cluster this "
         "Saturday. Expect up to 30 minutes of delayed delivery between 06:00 and 07:00 "
         "UTC. No action needed unless you run scripts against the old host name.\n\n"
         "Tom"),
        (ME, 0, "Thanks Tom. Our CI sends notifications through the old host name, I will "
         "switch it to the alias today."),
        (TOM, 1, "Great, thank you. I'll confirm here once the cut-over is done."),
        (TOM, 2, "Done. All queues drained, no messages lost. Thanks for your patience!"),
    ], 24, top_posters=(TOM,))

    b.thread("demo", "Budget review Q3", [
        (JUERGEN, None, "Hallo Dana,\n\nanbei die Zahlen für das dritte Quartal. Kurz "
         "gesagt: wir liegen 4 % unter Plan, hauptsächlich weil die Hardware später "
         "geliefert wurde. Können wir das am Donnerstag kurz durchgehen?\n\nViele Grüße\n"
         "Jürgen"),
        (ME, 0, "Hallo Jürgen,\n\ndanke! Donnerstag passt, 10:30 Uhr? Ich schaue mir die "
         "Tabelle vorher an.\n\nGruß, Dana"),
        (JUERGEN, 1, "10:30 Uhr ist gut. Bis dann!"),
    ], 16, flowed_for=(JUERGEN,))

    # French and Japanese threads.
    b.thread("demo", "Réunion de lancement — compte rendu", [
        (AMELIE, None, "Bonjour à tous,\n\nvoici le compte rendu de la réunion de "
         "lancement de jeudi dernier.\n\n1. Périmètre : l'application de messagerie et "
         "l'agenda, pas encore les contacts.\n2. Échéance : première version bêta à la "
         "fin du trimestre.\n3. Prochaine étape : ateliers avec les utilisateurs pilotes "
         "à Lyon et à Montréal.\n\nN'hésitez pas à me faire part de vos remarques.\n\n"
         "Bien cordialement,\nAmélie"),
        (ME, 0, "Merci Amélie, c'est très clair. Une question : les ateliers à Montréal "
         "auront-ils lieu en français ou en anglais ?"),
        (AMELIE, 1, "Les deux ! Le matin en français, l'après-midi en anglais. Je "
         "t'envoie l'invitation dès que les salles sont réservées. 🙂"),
        (AMELIE, 2, "Voilà, les salles sont réservées. J'ai aussi ajouté un créneau pour "
         "une démo de l'interface « hors ligne »."),
    ], 30, unread_tail=1)

    b.thread("demo", "来週の打ち合わせについて", [
        (YUKI, None, "Dana様\n\nいつもお世話になっております。株式会社サンプルの田中です。\n\n"
         "来週の打ち合わせですが、水曜日の午後二時からでいかがでしょうか。"
         "場所は弊社の会議室を予定しております。\n\n"
         "ご都合をお知らせいただけますと幸いです。\n\nよろしくお願いいたします。"),
        (ME, 0, "田中様\n\nご連絡ありがとうございます。水曜日の午後二時で大丈夫です。"
         "\n\nよろしくお願いいたします。\nDana"),
        (YUKI, 1, "Dana様\n\nご確認いただきありがとうございます。"
         "当日は受付にてお名前をお伝えください。\n\n田中"),
    ], 6, charset_for={YUKI: ("iso-2022-jp", "7bit")}, unread_tail=1)

    # --- A long project thread, with branches, in Projects/Postbote ---------------
    b.thread("demo", "IMAP IDLE connection silently drops behind NAT", [
        (SEGUN, None, "Hi,\n\nwith the current main branch the IDLE connection stops "
         "delivering updates after roughly 15 minutes when I am on my home router. No "
         "error, no reconnect, new mail simply never shows up until I restart the app."
         "\n\nSteps:\n1. add an IMAP account with IDLE enabled\n2. leave the app idle for "
         "20 minutes\n3. send yourself a message from another device\n\nExpected: the "
         "message shows up within seconds. Actual: nothing happens."),
        (ME, 0, "Thanks for the detailed report! That sounds like the router drops the "
         "NAT mapping for idle TCP connections. RFC 2177 says clients should re-issue "
         "IDLE at least every 29 minutes, but many routers time out much earlier.\n\n"
         "Could you run with PB_DEBUG=imap and send me the last 50 lines of the trace? "
         "Please make sure the password is redacted (it should be)."),
        (SEGUN, 1, "Here you go. The last thing in the trace is our DONE + IDLE at "
         "14:02:11, and then silence. The router is a FritzBox-style thing with a 10 "
         "minute UDP timeout, TCP unknown.\n\n  C: DONE\n  S: a17 OK Idle completed\n"
         "  C: a18 IDLE\n  S: + idling\n  [nothing for 25 minutes]"),
        (LIST_PEOPLE[1], 1, "Drive-by comment: we had the same issue in another client and "
         "ended up sending NOOP every 9 minutes plus enabling TCP keepalive with a 5 "
         "minute interval. The keepalive alone was not enough on some mobile networks."),
        (ME, 2, "That confirms it. I will restart IDLE every 9 minutes and enable "
         "keepalive on the socket (TCP_KEEPIDLE 300). Patch coming today."),
        (ME, 3, "Good idea, thanks Matteo. Restarting IDLE is cheaper than NOOP for us "
         "because it also flushes the pending EXPUNGEs."),
        (SEGUN, 4, "Tested the branch overnight: 11 hours, 43 messages, every one of them "
         "showed up within two seconds. 🎉"),
        (ME, 6, "Excellent, merging. Thanks again for testing!"),
    ], 20, folder="Projects/Postbote", to=[ME], flowed_for=(SEGUN, ME))

    b.thread("demo", "Release 0.3 checklist", [
        (RAVI, None, "Release 0.3 is planned for the end of the month. Checklist:\n\n"
         "- [x] string freeze\n- [x] screenshots updated\n- [ ] release notes\n"
         "- [ ] flatpak manifest bumped\n- [ ] tag and tarball\n\nWho takes the release "
         "notes?"),
        (ME, 0, "I'll write the release notes. Draft by Wednesday."),
        (RAVI, 1, "Thanks. The flatpak manifest is done as well."),
        (SOFIA, 0, "Screenshots look great, but the dark style one still shows the old "
         "icon. Can someone regenerate it?"),
        (RAVI, 3, "Regenerated, it's in the branch now."),
    ], 12, folder="Projects/Postbote", flagged=(0,), unread_tail=2)

    # Bug tracker notifications and CI mail.
    for i in range(16):
        days = 40 - i * 2.5
        job, test, err = CI_FAILS[i % len(CI_FAILS)]
        ok = i % 3 == 2
        pipeline = 18240 + i * 37
        subject = "[postbote] Pipeline #%d %s for main (%s)" % (
            pipeline, "fixed" if ok else "failed", "%07x" % rng.randrange(1 << 28))
        body = ("Pipeline #%d has %s!\n\nProject: postbote / postbote\nBranch: main\n"
                "Commit: %07x \"%s\"\nAuthor: %s\n\n" % (
                    pipeline, "been fixed" if ok else "failed", rng.randrange(1 << 28),
                    rng.choice(["imap: Restart IDLE every 9 minutes",
                                "store: Add index on (folder, uid)",
                                "ui: Use GtkListView for the message list",
                                "smtp: Honour SIZE before DATA",
                                "mime: Sanitise attachment file names"]),
                    rng.choice(["Dana Weber", "Ravi Iyer", "Olusegun Adeyemi"])))
        if not ok:
            body += ("Job %s failed:\n\n  %s ... FAIL\n  %s\n\nhttps://ci.postbote.example"
                     "/postbote/-/jobs/%d\n" % (job, test, err, pipeline * 3))
        body += "\nYou're receiving this email because of your account on ci.postbote.example."
        moment = b.when(int(days), 3 + i % 5)
        data, _ = b.message(CI, [ME], subject, body, moment,
                            headers=[("X-CI-Pipeline-Id", str(pipeline)),
                                     ("X-CI-Project", "postbote/postbote"),
                                     ("Auto-Submitted", "auto-generated")])
        folder = "Projects/Postbote" if i % 4 else "Trash"
        b.add("demo", folder, data, moment, "S" if i < 13 else "")

    issue_titles = ["Attachment names with slashes are saved outside the download folder",
                    "Dark style: unread dot invisible in the message list",
                    "Crash when a folder name contains an encoded-word",
                    "Search does not find words with umlauts (ä, ö, ü)",
                    "Composer loses the draft after suspend/resume",
                    "Add keyboard shortcut to toggle remote images",
                    "IMAP folder with 100,000 messages takes 40 s to open",
                    "Sent copy missing when SMTP server closes after DATA",
                    "Right-to-left subjects render reversed in the list",
                    "Password command is run twice on start-up"]
    for i, title in enumerate(issue_titles):
        num = 211 + i * 7
        who = LIST_PEOPLE[i % 5]
        body = ("%s opened issue #%d:\n\n%s\n\n%s\n\n--\nReply to this email directly or "
                "view it on the tracker:\nhttps://tracker.postbote.example/postbote/issues/%d"
                % (who.name, num, title, rng.choice(TECH_PARAS), num))
        moment = b.when(max(35 - i * 5, 2 + i))
        data, _ = b.message(TRACKER, [ME], "[postbote] %s (#%d)" % (title, num), body,
                            moment, reply_to="reply+%d@tracker.postbote.example"
                            % num, headers=[("X-Tracker-Issue", str(num))])
        b.add("demo", "Projects/Postbote", data, moment, "S" if i < 4 or i > 6 else "")

    # --- Mailing list ------------------------------------------------------------------
    b.thread("demo", "Proposal: port the image viewer to GtkListView", [
        (LIST_PEOPLE[0], None, "Hi everyone,\n\nthe thumbnail strip in the image viewer "
         "still uses the old tree view and takes several seconds to open folders with a "
         "few thousand pictures. I would like to port it to GtkListView with a "
         "GtkSignalListItemFactory.\n\n" + TECH_PARAS[0] + "\n\nAny objections?"),
        (LIST_PEOPLE[2], 0, TECH_PARAS[1]),
        (LIST_PEOPLE[0], 1, "Good point. I'll keep emitting the signal in the same order "
         "and add a test for it."),
        (ME, 2, TECH_PARAS[2]),
        (LIST_PEOPLE[3], 3, TECH_PARAS[3]),
        (LIST_PEOPLE[0], 4, "Confirmed with LANGUAGE=he, fixed in the latest push. "
         "Thanks Chen!"),
        (LIST_PEOPLE[4], 5, TECH_PARAS[4]),
        (LIST_PEOPLE[0], 6, "Great, then I'll open the merge request this week."),
    ], 18, folder="Lists/gnome-devel", list_post=True, flowed_for=(ME, LIST_PEOPLE[0]),
        unread_tail=2)

    list_subjects = [
        "Branch point and string freeze dates", "Rethinking the settings window",
        "Flatpak runtime bump: what breaks?", "Meeting notes: design team, week 37",
        "Help wanted: reviewers for the file chooser", "GUADEC talk proposals due",
        "Deprecating the old keyring API", "Dark style regressions in 47.beta",
        "How do we test accessibility in CI?", "Libadwaita breakpoints and dialogs",
        "New maintainers for the calendar", "Crash reports from the distro tracker",
        "Fractional scaling: status update", "Icon review for the new apps",
        "Writing good commit messages (again)",
    ]
    for k, subject in enumerate(list_subjects):
        depth = 2 + (k * 3) % 6
        posts = []
        people = LIST_PEOPLE[k % 4:] + LIST_PEOPLE[:k % 4]
        for j in range(depth):
            author = people[(j * 3 + k) % len(people)]
            if j == 2 and k % 3 == 0:
                author = ME
            text = TECH_PARAS[(k * 3 + j * 5) % len(TECH_PARAS)]
            if j == 0:
                text = "Hello all,\n\n" + text + "\n\n" + TECH_PARAS[(k + 6) % len(TECH_PARAS)]
            parent = None if j == 0 else (j - 1 if j % 3 else 0)
            posts.append((author, parent, text))
        b.thread("demo", subject, posts, max(80 - k * 6, 1), folder="Lists/gnome-devel",
                 list_post=True, flowed_for=set(people[::2]) | {ME},
                 unread_tail=1 if k > 9 else 0)

    # --- Newsletters (HTML with an inline cid image and remote images) ---------------
    for i in range(8):
        issue = 134 + i
        moment = b.when(53 - i * 7, 6, 30)
        items = [NEWS_ITEMS[(i + j) % len(NEWS_ITEMS)] for j in range(3)]
        headline = items[0][0]
        text = ("THE WEEKLY BYTE, issue #%d\n\n" % issue +
                "\n\n".join("%s\n%s\nhttps://weeklybyte.example/r/%s" % it for it in items) +
                "\n\nUnsubscribe: https://weeklybyte.example/unsubscribe?u=7c1e0a\n")
        html = html_newsletter(issue, moment, headline, items)
        data, _ = b.message(NEWS, [ME], "The Weekly Byte #%d: %s" % (issue, headline), text,
                            moment, html=html, cte="quoted-printable",
                            related=[("logo.%d@weeklybyte.example" % issue, "logo.png",
                                      b.image("logo"))],
                            headers=[("List-Unsubscribe",
                                      "<https://weeklybyte.example/unsubscribe?u=7c1e0a>"),
                                     ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                                     ("Precedence", "bulk")],
                            mailer="Sendwave Mailer 4.2")
        folder = "INBOX" if i >= 3 else "Archive"
        b.add("demo", folder, data, moment, "" if i == 7 else "S")

    # --- Attachments -------------------------------------------------------------------
    inv = pdf(["Rechnung Nr. 2024-0815", "", "Papierladen am Markt, Marktstraße 7, "
               "12345 Beispielstadt", "", "1 x Notizbuch A5, kariert        12,90 €",
               "2 x Füllfederhalter-Patronen, blau   7,80 €",
               "1 x Grußkarten-Set \"Herbst\"          9,50 €", "",
               "Summe (inkl. 19 % MwSt.):          30,20 €", "",
               "Vielen Dank für Ihren Einkauf!"])
    moment = b.when(11, 10, 2)
    data, _ = b.message(SHOP, [ME], "Ihre Rechnung Nr. 2024-0815", "Guten Tag Frau Weber,"
                        "\n\nvielen Dank für Ihre Bestellung! Im Anhang finden Sie Ihre "
                        "Rechnung als PDF.\n\nMit freundlichen Grüßen\nIhr Team vom "
                        "Papierladen am Markt", moment, charset="iso-8859-1",
                        attachments=[("application", "pdf", "Rechnung_2024-0815.pdf", inv,
                                      None)])
    b.add("demo", "INBOX", data, moment, "S")

    moment = b.when(4, 16, 45)
    data, screenshot_id = b.message(
        SOFIA, [ME], "Screenshot of the new message list",
        "Hi Dana,\n\nhere is how the compact mode looks on my screen. I think the unread "
        "dot could be a bit bigger, but otherwise it's lovely.\n\nAlso attached: the "
        "numbers from the usability test.\n\nSofia",
        moment, attachments=[("image", "png", "message-list-compact.png",
                              b.image("screenshot"), None),
                             ("image", "png", "usability-results.png", b.image("chart"),
                              None)], mailer=b.mailer_for(SOFIA))
    b.add("demo", "INBOX", data, moment, "FS")

    log = "\n".join("2024-09-%02d 14:%02d:%02d pb-imap: [%s] %s" % (
        12, 3 + i // 10, (i * 7) % 60, "a%d" % (17 + i),
        rng.choice(["FETCH 1:* (UID FLAGS) ok in 12 ms", "IDLE started",
                    "IDLE: * 23 EXISTS", "DONE", "NOOP ok", "STATUS INBOX ok"]))
        for i in range(40)) + "\n"
    moment = b.when(19, 9, 12)
    data, _ = b.message(SEGUN, [ME], "Trace from the IDLE test run",
                        "Full trace attached as requested, passwords are redacted.", moment,
                        attachments=[("text", "plain", "imap-trace.txt", log, None)])
    b.add("demo", "Projects/Postbote", data, moment, "S")

    start = (b.now + datetime.timedelta(days=5)).replace(hour=13, minute=0, second=0,
                                                        microsecond=0)
    invite = ics("20240917T0900-77e2@example.org", "Design review: message list",
                 start, 60, SOFIA, [ME, RAVI, JUERGEN], "Room 4.12, Berlin / "
                 "https://meet.example.com/abc-defg-hij", "We go through the compact "
                 "mode and the new search bar.\nPlease bring your notes.")
    moment = b.when(1, 9, 30)
    m_alt = b.message(SOFIA, [ME, RAVI, JUERGEN], "Invitation: Design review: message list",
                      "You have been invited to the following event.\n\nDesign review: "
                      "message list\nWhen: %s (60 minutes)\nWhere: Room 4.12, Berlin\n"
                      "Video call: https://meet.example.com/abc-defg-hij\n\nGoing? Yes - "
                      "Maybe - No" % start.strftime("%A, %d %B %Y %H:%M %Z"), moment,
                      attachments=[("text", "calendar", "invite.ics", invite.decode(),
                                    {"method": "REQUEST"})],
                      mailer=b.mailer_for(SOFIA))[0]
    b.add("demo", "INBOX", m_alt, moment, "")

    cancel = ics("20240801T1000-11aa@example.org", "Team lunch 🍜", b.when(40, 12, 0), 90,
                 JUERGEN, [ME, SOFIA], "Noodle Bar, Torstraße", "Cancelled, sorry!",
                 method="CANCEL")
    moment = b.when(42, 8, 15)
    data, _ = b.message(JUERGEN, [ME, SOFIA], "Abgesagt: Team lunch 🍜",
                        "Das Mittagessen am Donnerstag muss leider ausfallen.", moment,
                        attachments=[("text", "calendar", "cancel.ics", cancel.decode(),
                                      {"method": "CANCEL"})], mailer=b.mailer_for(JUERGEN))
    b.add("demo", "Archive", data, moment, "S")

    # A forwarded message, as message/rfc822.
    inner = EmailMessage(policy=POLICY)
    inner["From"] = BANK.address()
    inner["To"] = ME.address()
    inner["Subject"] = "Ihre neue Kreditkarte ist unterwegs"
    inner["Date"] = email.utils.format_datetime(b.sender_date(BANK, b.when(22, 8, 0)))
    inner["Message-ID"] = b.msgid("nordlicht-bank.example")
    inner.set_content("Sehr geehrte Frau Weber,\n\nIhre neue Kreditkarte wurde heute "
                      "versandt und sollte in 3–5 Werktagen bei Ihnen sein.\n\nIhre "
                      "Nordlicht Bank", charset="utf-8", cte="quoted-printable")
    moment = b.when(21, 19, 40)
    data, _ = b.message(ME, [PAPA], "Fwd: Ihre neue Kreditkarte ist unterwegs",
                        "Hallo Papa,\n\nhier die Mail von der Bank, von der ich erzählt "
                        "habe. Die Karte sollte also nächste Woche da sein.\n\nDana", moment,
                        attachments=[(None, None, None, inner, None)],
                        mailer=b.mailer_for(ME))
    b.add("demo", "Sent", data, moment, "S")

    # --- Legacy charsets -------------------------------------------------------------
    for i, (subject, text) in enumerate([
            ("Kontoauszug verfügbar", "Sehr geehrte Kundin,\n\nIhr Kontoauszug für den "
             "Monat ist ab sofort im Online-Banking verfügbar. Aus Sicherheitsgründen "
             "versenden wir keine Kontoauszüge per E-Mail.\n\nFreundliche Grüße\nIhre "
             "Nordlicht Bank\n\nBitte antworten Sie nicht auf diese E-Mail."),
            ("Änderung unserer Geschäftsbedingungen", "Sehr geehrte Kundin,\n\nzum "
             "1. des übernächsten Monats ändern sich unsere Allgemeinen "
             "Geschäftsbedingungen. Die Änderungen betreffen vor allem die Gebühren für "
             "Überweisungen ins Ausland.\n\nFreundliche Grüße\nIhre Nordlicht Bank"),
            ("Kontoauszug verfügbar", "Sehr geehrte Kundin,\n\nIhr Kontoauszug ist "
             "verfügbar.\n\nFreundliche Grüße\nIhre Nordlicht Bank")]):
        moment = b.when(70 - i * 30, 5, 0)
        data, _ = b.message(BANK, [ME], subject, text, moment, charset="iso-8859-1",
                            cte="quoted-printable" if i % 2 else "8bit",
                            header_charset="iso-8859-1")
        b.add("demo", "INBOX" if i == 2 else "Archive", data, moment, "S")

    for i, (subject, text) in enumerate([
            ("Zählerstand – bitte bis Freitag melden", "Sehr geehrte Frau Weber,\n\nbitte "
             "teilen Sie uns Ihren Zählerstand bis Freitag mit. Sie können den "
             "„Zählerstand-Service“ auf unserer Website nutzen – oder einfach auf diese "
             "E-Mail antworten.\n\nDer Abschlag beträgt weiterhin 84,00 € pro Monat.\n\n"
             "Mit freundlichen Grüßen\nBernd Köhler\nStadtwerke Beispielstadt"),
            ("AW: Zählerstand – bitte bis Freitag melden", "Sehr geehrte Frau Weber,\n\n"
             "vielen Dank für Ihre Meldung. Wir haben den Zählerstand übernommen… Die "
             "Jahresabrechnung erhalten Sie im nächsten Monat.\n\n"
             "Mit freundlichen Grüßen\nBernd Köhler")]):
        moment = b.when(27 - i * 4, 11, 20)
        data, _ = b.message(OLDTIMER, [ME], subject, text, moment, charset="windows-1252",
                            cte="quoted-printable" if i else "8bit",
                            header_charset="windows-1252",
                            mailer=b.mailer_for(OLDTIMER))
        b.add("demo", "INBOX", data, moment, "S")

    # --- Family --------------------------------------------------------------------------
    b.thread("demo", "Omas 80. Geburtstag 🎂", [
        (MAMA, None, "Hallo ihr Lieben,\n\nOma wird am 12. achtzig! Wir wollen im "
         "Gasthaus „Zur Linde“ feiern, Tisch ist für 13 Uhr reserviert. Wer kommt alles? "
         "Bitte bis Ende der Woche Bescheid geben.\n\nGanz liebe Grüße\nMama"),
        (LENA, 0, "Ich komme! Bringe auch Jonas mit, wenn das okay ist 😊"),
        (ME, 0, "Ich bin dabei und nehme den Zug am Samstagmorgen. Soll ich die Torte "
         "beim Konditor abholen?"),
        (MAMA, 2, "Das wäre lieb, danke! Die Torte ist auf Weber bestellt, Abholung ab "
         "11 Uhr."),
        (PAPA, 3, "Ich hole dich dann um 10:40 Uhr am Bahnhof ab. Gleis 2, wie immer."),
        (OMA, 0, "Ihr Lieben, ich freue mich so sehr auf euch alle!!! Eure Oma"),
    ], 8, folder="Family", to=[ME, LENA, PAPA], unread_tail=1, flagged=(0,))

    for i in range(9):
        who = [MAMA, PAPA, LENA][i % 3]
        text = FAMILY_PARAS[i % len(FAMILY_PARAS)]
        subject = ["Sonntag Kaffee?", "Fotos vom Wochenende 📷", "Führerschein!!!",
                   "Heizung", "Grüße aus München", "Grillen am Samstag", "Oma's Karte",
                   "Re: Urlaub im September", "Rezept Käsekuchen"][i]
        moment = b.when(3 + i * 11)
        attachments = []
        if "Fotos" in subject or i == 4:
            attachments = [("image", "png", "IMG_%04d.png" % (2031 + i), b.image("photo"),
                            None),
                           ("image", "png", "IMG_%04d.png" % (2032 + i), b.image("photo2"),
                            None)]
        charset, cte = ("iso-8859-1", "quoted-printable") if who is PAPA and i == 4 else (
            "utf-8", "base64" if i % 4 == 1 else "8bit")
        if charset == "iso-8859-1":
            text = "Grüße aus München! Hier ist schon richtig Herbst, die Blätter sind " \
                   "gelb und rot und morgens liegt Nebel über der Isar. Bis bald, Papa"
        data, _ = b.message(who, [ME], subject, sign(who, text), moment, charset=charset,
                            cte=cte, attachments=attachments)
        b.add("demo", "Family", data, moment, "S" if i else "")

    # --- Filler: ordinary work mail in INBOX and Archive -----------------------------
    people = [JUERGEN, SOFIA, RAVI, AMELIE, MARIA, TOM, SEGUN]
    subjects = ["Quick question about the API keys", "Notes from today's stand-up",
                "Re: Hiring plan", "Lunch on Thursday?", "Access to the staging cluster",
                "Feedback on the onboarding doc", "Conference badge pickup",
                "Updated org chart", "Re: Laptop refresh", "Parking garage closed Monday",
                "Shared drive cleanup", "Customer call recap", "Re: Expense report",
                "Design critique slot", "On-call handover", "Training budget 2025",
                "Fire drill on Wednesday", "Team photo", "Reminder: timesheets",
                "Vendor contract renewal", "Office plants need a volunteer 🌱",
                "Re: Coffee machine is broken again ☕", "Welcome our new intern!",
                "Maintenance window confirmation"]
    for i in range(96):
        who = people[i % len(people)]
        subject = subjects[i % len(subjects)]
        if i >= len(subjects):
            subject = subject.replace("Re: ", "") + (" (follow-up)" if i % 2 else "")
        paras = rng.sample(WORK_PARAS, 1 + i % 3)
        greeting = {"de": "Hallo Dana,", "fr": "Bonjour Dana,", "es": "Hola Dana,"}.get(
            who.lang, "Hi Dana,")
        body = sign(who, greeting + "\n\n" + "\n\n".join(paras) + "\n\n" + {
            "de": "Viele Grüße", "fr": "Bonne journée", "es": "Saludos"}.get(who.lang,
                                                                             "Thanks") +
            "\n" + who.name.split()[0])
        days = 2 + i * 1.3
        moment = b.when(int(days))
        folder = "INBOX" if days < 90 else "Archive"
        cte = ["8bit", "quoted-printable", "base64"][i % 3]
        flowed = who in (JUERGEN, SEGUN)
        cc = [people[(i + 2) % len(people)]] if i % 4 == 0 else ()
        data, mid = b.message(who, [ME], subject, body, moment, cte=cte, flowed=flowed,
                              cc=cc, mailer=b.mailer_for(who))
        flags = "S" if days > 5 or i % 2 else ""
        if i % 17 == 3:
            flags = "F" + flags
        if i % 4 == 1 and days > 3:
            # We answered this one.
            flags += "R"
            reply = b.reply_text(ME, who, moment, wrap(body), rng.choice([
                "Thanks, that helps a lot.", "Sounds good, let's do that.",
                "I'll take care of it tomorrow morning.",
                "Could you add Ravi to the thread? He knows the details.",
                "Done. Let me know if anything else is missing."]))
            later = moment + datetime.timedelta(hours=1 + i % 7)
            rdata, _ = b.message(ME, [who], subject if subject.startswith("Re: ")
                                 else "Re: " + subject, reply, later, cc=cc,
                                 parent=(mid, []), flowed=True, mailer=b.mailer_for(ME))
            b.add("demo", "Sent", rdata, later, "S")
        b.add("demo", folder, data, moment, flags)

    # Things that break naive clients: no subject, a very long subject, a long
    # unbroken line, HTML only.
    moment = b.when(13, 22, 5)
    data, _ = b.message(RAVI, [ME], None, "(sent from my phone, no subject, sorry)",
                        moment)
    b.add("demo", "INBOX", data, moment, "S")
    moment = b.when(15, 8, 50)
    data, _ = b.message(TOM, [ME], "FW: FW: RE: Action required: please review and "
                        "approve the updated travel and expense policy for the upcoming "
                        "fiscal year before the end of the week", "See below, please "
                        "approve by Friday. " + "https://intranet.example.com/policies/"
                        "travel-and-expense/2025/draft?version=7&reviewer=dana.weber&"
                        "token=" + "a1b2c3d4e5" * 12, moment, cte="quoted-printable",
                        mailer=b.mailer_for(TOM))
    b.add("demo", "INBOX", data, moment, "S")
    moment = b.when(2, 7, 55)
    data, _ = b.message(RAIL, [ME], "Ihre Fahrkarte: Berlin Hbf → München Hbf", None,
                        moment, html="<html><body style='font-family:sans-serif'>"
                        "<h2>Gute Reise, Dana Weber!</h2><p>Ihre Buchung <b>K7Q2XZ</b>"
                        "</p><table border='1' cellpadding='6'><tr><td>Hinfahrt</td>"
                        "<td>Sa, 08:04 Berlin Hbf → 12:02 München Hbf, ICE 1005, "
                        "Wagen 7, Platz 45</td></tr></table><p><img src="
                        "'https://bahnreisen.example/qr/K7Q2XZ.png' alt='QR-Code' "
                        "width='160' height='160'></p><p>Ihr Team von Bahnreisen Süd"
                        "</p></body></html>")
    b.add("demo", "INBOX", data, moment, "")

    # --- Drafts ---------------------------------------------------------------------------
    moment = b.when(0, 8, 10)
    data, _ = b.message(ME, [SOFIA], "Re: Screenshot of the new message list",
                        "Hi Sofia,\n\nthanks! I agree about the unread dot. I tried",
                        moment, parent=(screenshot_id, []), mailer=b.mailer_for(ME),
                        headers=[("X-Postbote-Draft-Info", "reply")])
    b.add("demo", "Drafts", data, moment, "DS")
    moment = b.when(3, 21, 30)
    data, _ = b.message(ME, [MAMA, LENA], "Geschenkidee für Oma",
                        "Hallo ihr beiden,\n\nwas haltet ihr von einem Fotobuch mit "
                        "Bildern aus den letzten Jahren? Ich habe schon mal angefangen:",
                        moment, attachments=[("image", "png", "fotobuch-entwurf.png",
                                              b.image("photo"), None)],
                        mailer=b.mailer_for(ME))
    b.add("demo", "Drafts", data, moment, "DS")
    moment = b.when(6, 17, 0)
    data, _ = b.message(ME, [], None, "Notes for the offsite:\n- offline journal\n- "
                        "conflict UI\n- ", moment, mailer=b.mailer_for(ME))
    b.add("demo", "Drafts", data, moment, "DS")

    # --- Junk -------------------------------------------------------------------------------
    for i, (subject, who, text) in enumerate(SPAM):
        moment = b.when(1 + i * 4, 3, 17)
        if text is None:
            data, _ = b.message(
                who, [ME], subject, None, moment, html="<html><body><p>Dear user,</p>"
                "<p>Your mailbox has reached 98% of its quota. <a href='https://"
                "mail-quota-center.example/login?u=demo@example.org'>Click here to "
                "upgrade your mailbox</a> or you will stop receiving messages.</p>"
                "<img src='https://mail-quota-center.example/track.gif?id=5521'></body>"
                "</html>")
        else:
            data, _ = b.message(who, [ME], subject, text, moment, cte="base64",
                                headers=[("X-Spam-Flag", "YES"),
                                         ("X-Spam-Score", "%.1f" % (8 + i * 1.7))])
        b.add("demo", "Junk", data, moment, "" if i % 2 else "S")
    moment = b.when(9, 4, 44)
    chinese = "尊敬的客户，您的包裹因地址不详被退回。请点击链接更新您的地址信息。"
    data, _ = b.message(Person("快递服务", "service@kuaidi-notify.example", 8, dst=False),
                        [ME], "您的包裹被退回", chinese, moment, charset="gb2312",
                        cte="base64", header_charset="gb2312")
    b.add("demo", "Junk", data, moment, "")

    # --- Trash --------------------------------------------------------------------------------
    for i in range(6):
        moment = b.when(10 + i * 6)
        data, _ = b.message(SHOP if i % 2 else RAIL, [ME],
                            ["Ihre Bestellung wurde versandt", "Verspätung Ihrer Reise",
                             "Newsletter: Herbstangebote", "Ihre Sitzplatzreservierung",
                             "Bewerten Sie Ihren Einkauf", "Reiseinformationen"][i],
                            "Diese Nachricht wurde automatisch erstellt. Bitte antworten "
                            "Sie nicht darauf.", moment)
        b.add("demo", "Trash", data, moment, "S")


def format_addresses(items):
    """An address list header value: Person, Address or ready strings."""
    out = []
    for item in items:
        if isinstance(item, Person):
            item = (item.name, item.addr)
        elif isinstance(item, Address):
            item = (item.display_name, item.addr_spec)
        if isinstance(item, tuple):
            item = email.utils.formataddr(item, charset="utf-8")
        out.append(item)
    return ", ".join(out)


def fold_header(name, value):
    """name: value, folded at spaces before 78 columns (values that are already folded,
    like encoded words, are kept)."""
    line = "%s: %s" % (name, value)
    if len(line) <= 78 or "\n" in value:
        return line + "\n"
    out, current = [], ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > 78:
            out.append(current)
            current = " " + word
        else:
            current = current + " " + word if current else word
    out.append(current)
    return "\n".join(out) + "\n"


def encoded_words(text, charset):
    """text as RFC 2047 encoded words in charset, folded, the way older mailers write
    them: Q encoding for the ISO-8859 and Windows charsets, B for the others. Every word
    holds whole characters (and, for ISO-2022-JP, ends back in ASCII)."""
    import base64
    if all(ord(c) < 128 for c in text):
        return text
    q = charset.lower().startswith(("iso-8859", "windows-"))
    words, chunk = [], ""

    def encode(s):
        data = s.encode(charset)
        if not q:
            return "=?%s?B?%s?=" % (charset.upper(), base64.b64encode(data).decode())
        out = "".join("_" if b == 0x20 else chr(b) if 33 <= b < 127 and
                      chr(b) not in "=?_\"(),.:;<>@[\\]" else "=%02X" % b for b in data)
        return "=?%s?Q?%s?=" % (charset.upper(), out)
    for c in text:
        if len(encode(chunk + c)) > 70:
            words.append(encode(chunk))
            chunk = ""
        chunk += c
    words.append(encode(chunk))
    return "\n ".join(words)


def build_alice(b):
    moment = b.when(6, 9, 0)
    data, welcome = b.message(Person("Postbote Team", "team@postbote.example", 1),
                              [ALICE], "Welcome to Postbote",
                              "Hi Alice,\n\nthis is a test mailbox. Have fun!\n", moment)
    b.add("alice", "INBOX", data, moment, "S")
    b.thread("alice", "Lunch tomorrow?", [
        (BOB, None, "Hi Alice, lunch tomorrow at noon?"),
        (ALICE, 0, "Sure, see you at noon."),
        (BOB, 1, "Great! 🍕"),
    ], 3, to=[ALICE])
    moment = b.when(2, 15, 0)
    data, _ = b.message(BOB, [ALICE], "Photo from the trip", "Here's the photo.", moment,
                        attachments=[("image", "png", "trip.png", b.image("photo"), None)])
    b.add("alice", "INBOX", data, moment, "FS")
    moment = b.when(1, 11, 0)
    data, _ = b.message(NEWS, [ALICE], "The Weekly Byte #141", "Plain text version.",
                        moment, html="<p>HTML version with a remote image: <img src="
                        "'https://images.weeklybyte.example/x.png'></p>")
    b.add("alice", "INBOX", data, moment, "")


def build(now=None):
    """All sample messages: {user: [Mail]}."""
    if now is None:
        now = anchor()
    b = Builder(now, ME)
    build_demo(b)
    # Alice's small set has its own random sequence, so changing one set leaves the
    # other as it was.
    b2 = Builder(now, ALICE, counter=10000)
    build_alice(b2)
    b.mails.update(b2.mails)
    return b.mails


def anchor():
    value = os.environ.get("PB_SEED_NOW")
    if value:
        try:
            return datetime.datetime.fromtimestamp(float(value)).astimezone()
        except ValueError:
            return datetime.datetime.fromisoformat(value).astimezone()
    return datetime.datetime.now().astimezone()


# ---------------------------------------------------------------------------------------
# Writing Maildir


def folder_dir(maildir, folder):
    if folder == "INBOX":
        return maildir
    return os.path.join(maildir, "." + folder.replace("/", "."))


def _mkdir(path, uid, gid):
    if not os.path.isdir(path):
        os.mkdir(path, 0o700)
        if uid is not None:
            os.chown(path, uid, gid)


def write_user(home, mails, folders, uid=None, gid=None):
    """Writes mails (and folders, even empty ones) below home/Maildir the way Dovecot's
    maildir storage names them, plus the subscriptions file."""
    maildir = os.path.join(home, "Maildir")
    _mkdir(home, uid, gid)
    _mkdir(maildir, uid, gid)
    for folder in folders:
        d = folder_dir(maildir, folder)
        _mkdir(d, uid, gid)
        for sub in ("cur", "new", "tmp"):
            _mkdir(os.path.join(d, sub), uid, gid)
        if folder != "INBOX":
            path = os.path.join(d, "maildirfolder")
            open(path, "a").close()
            if uid is not None:
                os.chown(path, uid, gid)
    for n, mail in enumerate(sorted(mails, key=lambda m: (m.date, m.folder))):
        ts = int(mail.date.timestamp())
        size = len(mail.data)
        flags = "".join(sorted(set(mail.flags)))
        name = "%d.M%06dP%d.postbote-seed,S=%d,W=%d:2,%s" % (
            ts, n, 4000 + n, size, size + mail.data.count(b"\n"), flags)
        path = os.path.join(folder_dir(maildir, mail.folder), "cur", name)
        with open(path, "wb") as f:
            f.write(mail.data)
        os.utime(path, (ts, ts))
        if uid is not None:
            os.chown(path, uid, gid)
    path = os.path.join(maildir, "subscriptions")
    with open(path, "w", encoding="utf-8") as f:
        # Dovecot 2.3's format: a version line, an empty line, then one mailbox per line
        # with the hierarchy separator written as a tab.
        f.write("V\t2\n\n" + "".join(fo.replace("/", "\t") + "\n"
                                     for fo in folders if fo != "INBOX"))
    if uid is not None:
        os.chown(path, uid, gid)


def write_demo(d, uid, gid):
    """Writes the demo set into the server folder d. Returns what finish() needs."""
    mails = build()
    users = []
    for user, items in mails.items():
        home = os.path.join(d, "mail", user)
        if os.path.exists(os.path.join(home, "Maildir", "dovecot-uidlist")):
            continue  # seeded (or used) before: a restarted demo keeps its state
        folders = DEMO_FOLDERS if user == "demo" else ["INBOX", "Sent"]
        write_user(home, items, folders, uid, gid)
        users.append(user)
    return users


def finish(d, users, doveadm_argv):
    """Makes Dovecot index what write_demo() wrote, for all users at once.
    doveadm_argv(args) returns the command line of doveadm with the server's config."""
    procs = [(user, subprocess.Popen(doveadm_argv(["force-resync", "-u", user, "*"]),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True))
             for user in users]
    for user, proc in procs:
        out = proc.communicate()[0]
        if proc.returncode != 0:
            raise RuntimeError("doveadm force-resync -u %s failed: %s" % (user, out.strip()))


def main(argv):
    import argparse
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir", nargs="?", help="a running pb-mailserver folder to seed")
    p.add_argument("--export", metavar="OUTDIR", help="write .eml files instead")
    p.add_argument("--summary", action="store_true", help="count messages per folder")
    args = p.parse_args(argv)
    if args.summary:
        for user, items in build().items():
            counts = {}
            for m in items:
                counts[m.folder] = counts.get(m.folder, 0) + 1
            print("%s: %d messages" % (user, len(items)))
            for folder, n in sorted(counts.items()):
                print("  %-20s %4d" % (folder, n))
        return 0
    if args.export:
        for user, items in build().items():
            for n, m in enumerate(sorted(items, key=lambda m: m.date)):
                folder = os.path.join(args.export, user, m.folder)
                os.makedirs(folder, exist_ok=True)
                with open(os.path.join(folder, "%03d.eml" % n), "wb") as f:
                    f.write(m.data)
        return 0
    if not args.dir:
        p.error("DIR, --export or --summary is required")
    d = os.path.abspath(args.dir)
    conf = os.path.join(d, "dovecot.conf")
    users = write_demo(d, 5000, 5000)
    finish(d, users, lambda a: ["doveadm", "-c", conf] + a)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
