#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# An account with --offline-days keeps only the headers of older mail, against the harness's
# real Dovecot:
#   - sync stores every message's headers but the bodies of recent mail only;
#   - the local search cannot see an old body, `search --server` asks the server (IMAP UID
#     SEARCH TEXT, with CHARSET UTF-8 and a literal for non-ASCII words) and finds it;
#   - `show` downloads an old body on demand, and then the local search finds it too.
set -u
cli=${PB_CLI:?PB_CLI is set by meson}
mailserver=${PB_MAILSERVER:?PB_MAILSERVER is set by meson}
py=/usr/bin/python3

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done; }
check() {  # WHAT CONDITION-EXIT-STATUS [DETAILS...]
  local what=$1 status=$2; shift 2
  if [ "$status" -eq 0 ]; then ok "$what"; else not_ok "$what" "$@"; fi
}

work=$(mktemp -d /tmp/pboffline.XXXXXX)
chmod 0755 "$work"
server="$work/s"
cleanup() {
  "$mailserver" stop "$server" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

if ! "$mailserver" start "$server" >"$work/start.log" 2>&1; then
  echo "Bail out! mail server did not start: $(tail -n 5 "$work/start.log")"
  exit 1
fi
. "$server/env"
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" XDG_CACHE_HOME="$work/cache"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"

run() {
  "$cli" "$@" >"$work/out" 2>"$work/err" </dev/null
  rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

# Three messages received 400 days ago and two from today, appended over IMAP with their
# INTERNALDATE by Python's imaplib (a client independent of the one under test). Each body has
# a word of its own.
if ! "$py" - "$PB_IMAPS_PORT" "$PB_CA_FILE" >"$work/append.log" 2>&1 <<'PY'
import imaplib, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
imap = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
imap.login("alice", "Correct-Horse-7")
now = time.time()
mails = [
    (now - 400 * 86400, "Old one", "The word is quokka, nowhere else."),
    (now - 401 * 86400, "Old two", "Viele Grüße aus Überlingen."),
    (now - 402 * 86400, "Old three", "Nothing special here."),
    (now - 3600, "New one", "The word is wombat."),
    (now - 7200, "New two", "Also nothing special."),
]
for when, subject, body in mails:
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(when))
    msg = ("From: Bob <bob@postbote.test>\r\nTo: alice@postbote.test\r\n"
           f"Subject: {subject}\r\nDate: {date}\r\n"
           f"Message-ID: <{subject.replace(' ', '-')}@postbote.test>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n" + body + "\r\n").encode()
    typ, _ = imap.append("INBOX", None, imaplib.Time2Internaldate(when), msg)
    assert typ == "OK", typ
imap.logout()
PY
then
  echo "Bail out! could not append the test mail: $(tail -n 5 "$work/append.log")"
  exit 1
fi

run account add alice --email alice@postbote.test --incoming "imaps://alice@127.0.0.1:$PB_IMAPS_PORT" \
  --password-command "printf %s Correct-Horse-7" --ca-file "$PB_CA_FILE" --offline-days 30
[ "$rc" -eq 0 ] || { echo "Bail out! account add: $err"; exit 1; }
run sync alice
check "sync with --offline-days 30: exit 0" "$rc" "exit $rc" "$err"

run list alice INBOX --json
subjects=$(printf '%s' "$out" | "$py" -c 'import json,sys; print(",".join(sorted(m["subject"] for m in json.load(sys.stdin))))')
[ "$subjects" = "New one,New two,Old one,Old three,Old two" ]
check "every message's headers are stored ($subjects)" $? "$out"

uid_of() { printf '%s' "$out" | "$py" -c 'import json,sys; print([m["uid"] for m in json.load(sys.stdin) if m["subject"] == sys.argv[1]][0])' "$1"; }
old_one=$(uid_of "Old one")
old_two=$(uid_of "Old two")

# Bodies on disk: only the recent ones. A body file (under messages/) holds the whole message,
# so count the files that contain a body line.
body_files() { grep -rlE 'quokka|wombat|Grüße|nothing special|Nothing special' "$XDG_DATA_HOME/postbote/messages" 2>/dev/null; }
bodies=$(body_files | wc -l)
[ "$bodies" -eq 2 ]
check "only the two recent bodies are stored ($bodies files)" $? "$(body_files)"

run search wombat --json
count=$(printf '%s' "$out" | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$rc" -eq 0 ] && [ "$count" -eq 1 ]
check "the local search finds a recent body word ($count)" $? "exit $rc" "$out" "$err"

run search quokka --json
count=$(printf '%s' "$out" | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$rc" -eq 0 ] && [ "$count" -eq 0 ]
check "the local search cannot see an old body ($count)" $? "exit $rc" "$out"

run search quokka --server --json
found=$(printf '%s' "$out" | "$py" -c 'import json,sys; print(" ".join("%s/%s/%d" % (m["account"], m["folder"], m["uid"]) for m in json.load(sys.stdin)))' 2>&1)
[ "$rc" -eq 0 ] && [ "$found" = "alice/INBOX/$old_one" ]
check "search --server finds the old body's word on the server ($found)" $? "exit $rc" "$out" "$err"

run search "Grüße" --server --json
found=$(printf '%s' "$out" | "$py" -c 'import json,sys; print(" ".join("%s/%d" % (m["folder"], m["uid"]) for m in json.load(sys.stdin)))' 2>&1)
[ "$rc" -eq 0 ] && [ "$found" = "INBOX/$old_two" ]
check "search --server finds a non-ASCII word (CHARSET UTF-8 literal) ($found)" $? "exit $rc" "$out" "$err"

run search "nothing special" --server --json
count=$(printf '%s' "$out" | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$rc" -eq 0 ] && [ "$count" -eq 2 ]
check "local and server matches are merged without duplicates ($count)" $? "$out" "$err"

run show alice INBOX "$old_one"
printf '%s' "$out" | grep -q 'The word is quokka'
check "show downloads an old body on demand" $? "exit $rc" "$out" "$err"

run search quokka --json
count=$(printf '%s' "$out" | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$count" -eq 1 ]
check "after show, the local search finds the downloaded body ($count)" $? "$out"

echo "1..$n"
exit $failed
