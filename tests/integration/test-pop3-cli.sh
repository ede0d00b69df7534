#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# POP3 accounts end to end through postbote-cli against the harness's real Dovecot POP3,
# compared with what Python's poplib reads from the same maildrop (pop3-mail.py):
#   - 500 messages downloaded, byte for byte, each exactly once;
#   - leave on server (the default): a second sync downloads nothing, the server keeps all;
#   - new mail delivered over LMTP arrives on the next sync;
#   - messages expunged on the server renumber the others: no duplicate, no skip;
#   - delete after N days removes only the old ones (POSTBOTE_POP3_NOW moves the clock);
#   - delete when deleted locally, via `postbote-cli delete` and the journal;
#   - headers only above a size, and `show` downloading the rest;
#   - moves and deletes with "delete from the server": local, byte for byte, nothing downloaded
#     again, a local-only Sent copy (via `send`) kept too;
#   - STLS on the pop3:// port.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cli=${PB_CLI:?PB_CLI is set by meson}
mailserver=${PB_MAILSERVER:?PB_MAILSERVER is set by meson}
py=/usr/bin/python3
syncmail="$here/sync-mail.py"
pop3mail="$here/pop3-mail.py"
export PB_CLI="$cli"

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1" "${3:-}"; fi; }

work=$(mktemp -d /tmp/pbpop.XXXXXX)
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

profile() {
  export XDG_CONFIG_HOME="$work/$1/config" XDG_DATA_HOME="$work/$1/data" XDG_CACHE_HOME="$work/$1/cache"
  mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"
}
run() {
  "$cli" "$@" >"$work/out" 2>"$work/err" </dev/null
  rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}
add_pop3() {  # NAME USER PASSWORD URL-SCHEME PORT [OPTIONS...]
  local name=$1 user=$2 password=$3 scheme=$4 port=$5; shift 5
  run account add "$name" --email "$user@postbote.test" --incoming "$scheme://$user@127.0.0.1:$port" \
    --password-command "printf %s $password" --ca-file "$PB_CA_FILE" "$@"
  [ "$rc" -eq 0 ] || { echo "Bail out! account add $name: $err"; exit 1; }
}
server_shas() { "$py" "$pop3mail" server "$server" "$1" >"$2" || echo "# poplib failed"; }
local_shas() { "$py" "$pop3mail" local "$@"; }
# Compares USER's maildrop with ACCOUNT's folders (default INBOX); MODE --exact or --superset.
# Through `postbote-cli show --raw`, or with FROM_STORE=1 (quicker) from the store's files
# directly, every folder of the account.
compare() {  # WHAT USER ACCOUNT MODE [FOLDERS...]
  local what=$1 user=$2 account=$3 mode=$4; shift 4
  local result
  server_shas "$user" "$work/server.sha"
  if [ "${FROM_STORE:-0}" = 1 ]; then
    "$py" "$pop3mail" stored "$XDG_DATA_HOME/postbote" "$account" >"$work/local.sha"
  else
    local_shas "$account" "$@" >"$work/local.sha"
  fi
  if result=$("$py" "$pop3mail" check "$work/server.sha" "$work/local.sha" "$mode"); then
    ok "$what: $result"
  else
    not_ok "$what" "$result"
  fi
}
count_local() { "$cli" list "$1" "${2:-INBOX}" --json | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
count_server() { "$py" "$pop3mail" server "$server" "$1" | wc -l; }
deliver() {  # USER SUBJECT
  printf 'From: LMTP Sender <lmtp@example.org>\r\nTo: %s@postbote.test\r\nSubject: %s\r\nMessage-ID: <%s@lmtp.test>\r\nDate: Thu, 26 Nov 2026 12:00:00 +0000\r\n\r\nDelivered over LMTP: %s.\r\n.. a line with a leading dot\r\n' \
    "$1" "$2" "$(echo "$2" | tr -c 'a-zA-Z0-9' '-')" "$2" | "$mailserver" deliver "$server" "$1"
}
list_raw() { "$cli" show "$1" "$2" "$3" --raw </dev/null; }
raw_sha() { "$cli" show "$1" "$2" "$3" --raw </dev/null | sha256sum | cut -d' ' -f1; }
uids_of() { "$cli" list "$1" "$2" --json | "$py" -c 'import json,sys; print(" ".join(str(m["uid"]) for m in json.load(sys.stdin)))'; }
folder_shas() {  # ACCOUNT FOLDER: the sorted SHA-256 of every message's raw text
  local u
  for u in $(uids_of "$1" "$2"); do raw_sha "$1" "$2" "$u"; done | sort | tr '\n' ' ' | sed 's/ $//'
}
# What Dovecot logged for USER's POP3 sessions since MARK (a line count of its log): how many
# sessions retrieved anything (its logout line says retr=N/bytes).
log_mark() { wc -l <"$server/dovecot.log"; }
retr_since() { tail -n +"$(($1 + 1))" "$server/dovecot.log" | grep -F "pop3($2)" | grep -c "retr=[1-9]"; }
no_noise() { ! grep -qiE 'critical|warning' <<<"$err"; }

"$py" "$syncmail" seed "$server" alice INBOX=500 --seed 201 --tag pop 2>/dev/null \
  || { echo "Bail out! seeding alice failed"; exit 1; }

# ---------------------------------------------------------------------------------------------
# 1. 500 messages over POP3S, leave on server (the default).
profile big
add_pop3 big alice Correct-Horse-7 pop3s "$PB_POP3S_PORT"
check "accounts.ini says leave on server" "grep -qx 'pop3-leave-on-server=true' '$XDG_CONFIG_HOME/postbote/accounts.ini'" \
  "$(cat "$XDG_CONFIG_HOME/postbote/accounts.ini")"
run sync big
check "first sync of 500 messages succeeds" '[ "$rc" -eq 0 ] && grep -qx "big: INBOX: 500/500" <<<"$err" && no_noise' "$err"
compare "500 messages downloaded" alice big --exact
check "the server still has all 500 (leave on server)" '[ "$(count_server alice)" -eq 500 ]'
run sync big
check "a second sync downloads nothing" '[ "$rc" -eq 0 ] && ! grep -q "INBOX:" <<<"$err" && [ "$(count_local big)" -eq 500 ]' "$err"
run folders big
check "the account's local folders" '[ "$out" = "$(printf "INBOX\nDrafts\nSent\nTrash")" ]' "$out"

# ---------------------------------------------------------------------------------------------
# 2. New mail over LMTP, and the server renumbering: 10 messages expunged on the server (the
# others move down), 3 delivered; the next sync gets exactly the 3.
deliver alice "LMTP one" && deliver alice "LMTP two" && deliver alice "LMTP three" \
  || echo "Bail out! LMTP delivery failed"
"$py" - "$server" <<'PYEOF' || echo "# doveadm expunge failed"
import subprocess, sys
d = sys.argv[1]
subprocess.run(["doveadm", "-c", d + "/dovecot.conf", "expunge", "-u", "alice", "mailbox", "INBOX",
                "uid", "1:10"], check=True)
PYEOF
run sync big
check "the next sync gets the 3 delivered messages only" \
  '[ "$rc" -eq 0 ] && grep -qx "big: INBOX: 3/3" <<<"$err" && [ "$(count_local big)" -eq 503 ]' "$err"
FROM_STORE=1 compare "after renumbering, every server message is local once" alice big --superset
run list big INBOX
check "the LMTP messages are listed" 'grep -q "LMTP two" <<<"$out"'

# ---------------------------------------------------------------------------------------------
# 3. STLS on the pop3:// port (required; the harness relays it from 127.0.0.2).
profile stls
add_pop3 stls alice Correct-Horse-7 pop3 "$PB_POP3_PORT"
"$cli" --trace sync stls >"$work/out" 2>"$work/err" </dev/null; rc=$?
check "pop3:// uses STLS before the login and syncs" \
  '[ "$rc" -eq 0 ] && grep -q "C: STLS" "$work/err" && [ "$(count_local stls)" -eq 493 ]' "$(tail -5 "$work/err")"
check "the trace hides the password" '! grep -q "Correct-Horse-7" "$work/err" && ! grep -q "$(printf "\0alice\0Correct-Horse-7" | base64)" "$work/err"'

# ---------------------------------------------------------------------------------------------
# 3b. Two syncs of one account at once (two processes, one store): each message once.
profile twice
add_pop3 twice alice Correct-Horse-7 pop3s "$PB_POP3S_PORT"
"$cli" sync twice >"$work/twice1" 2>&1 </dev/null & p1=$!
"$cli" sync twice >"$work/twice2" 2>&1 </dev/null & p2=$!
wait $p1; rc1=$?; wait $p2; rc2=$?
run sync twice
FROM_STORE=1 compare "two concurrent syncs (exit $rc1 and $rc2) and a third: each message once" \
  alice twice --exact

# ---------------------------------------------------------------------------------------------
# 4. Delete after N days. bob gets 20 messages, downloaded at T0; 5 more arrive and are
# downloaded at T0 + 1 day. At T0 + 2.5 days the first 20 are 2.5 days old and the 5 only 1.5:
# with 2 days only the 20 go.
"$py" "$syncmail" seed "$server" bob INBOX=20 --seed 202 --tag days 2>/dev/null \
  || echo "Bail out! seeding bob failed"
profile days
add_pop3 days bob Battery-Staple-9 pop3s "$PB_POP3S_PORT" --pop3-delete-after-days 2
t0=$(date +%s)
POSTBOTE_POP3_NOW=$t0 run sync days
check "delete-after-days: the first sync keeps everything on the server" \
  '[ "$rc" -eq 0 ] && [ "$(count_server bob)" -eq 20 ] && [ "$(count_local days)" -eq 20 ]' "$err"
for i in 1 2 3 4 5; do deliver bob "late $i" || echo "Bail out! LMTP failed"; done
POSTBOTE_POP3_NOW=$((t0 + 86400)) run sync days
check "one day later nothing is deleted" '[ "$rc" -eq 0 ] && [ "$(count_server bob)" -eq 25 ]' "$err"
POSTBOTE_POP3_NOW=$((t0 + 5 * 86400 / 2)) run sync days
server_shas bob "$work/bob-left.sha"
check "2.5 days later the 20 old ones are deleted, the 5 newer ones kept" \
  '[ "$rc" -eq 0 ] && [ "$(wc -l <"$work/bob-left.sha")" -eq 5 ] && [ "$(count_local days)" -eq 25 ]' "$err"
local_shas days >"$work/local.sha"
check "the 5 left on the server are the ones delivered later, and all 25 are local" \
  "$py $pop3mail check '$work/bob-left.sha' '$work/local.sha' --superset >/dev/null && [ \"\$(grep -c . '$work/local.sha')\" -eq 25 ]"
POSTBOTE_POP3_NOW=$((t0 + 10 * 86400)) run sync days
check "ten days later the rest goes too, nothing is lost locally" \
  '[ "$rc" -eq 0 ] && [ "$(count_server bob)" -eq 0 ] && [ "$(count_local days)" -eq 25 ]' "$err"

# ---------------------------------------------------------------------------------------------
# 5. Delete from the server when deleted locally (demo's maildrop).
"$py" "$syncmail" seed "$server" demo INBOX=6 --seed 203 --tag del 2>/dev/null \
  || echo "Bail out! seeding demo failed"
profile del
add_pop3 del demo demo pop3s "$PB_POP3S_PORT" --pop3-delete-when-deleted
run sync del
uid=$("$cli" list del INBOX --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)[0]["uid"])')
del_sha=$(raw_sha del INBOX "$uid")
mark=$(log_mark)
run delete del INBOX "$uid"
check "delete moves the message to the local Trash" \
  '[ "$rc" -eq 0 ] && [ "$(count_local del)" -eq 5 ] && [ "$(folder_shas del Trash)" = "$del_sha" ]' "$err"
run sync del
retr=$(retr_since "$mark" demo)  # before count_server, whose poplib retrieves everything
check "the next sync deletes it on the server and keeps it in Trash, not downloading it again" \
  '[ "$rc" -eq 0 ] && [ "$(count_server demo)" -eq 5 ] && [ "$(count_local del Trash)" -eq 1 ] && ! grep -q "INBOX:" <<<"$err"' "$err"
check "the Trash copy is the message byte for byte, not downloaded again (no RETR)" \
  '[ "$(folder_shas del Trash)" = "$del_sha" ] && [ "$retr" -eq 0 ]' "$retr sessions retrieved"
compare "demo's server messages are in INBOX once each" demo del --exact
run sync del
check "another sync changes nothing" '[ "$rc" -eq 0 ] && [ "$(count_server demo)" -eq 5 ] && [ "$(count_local del)" -eq 5 ]' "$err"

# ---------------------------------------------------------------------------------------------
# 5b. sync --watch polls (every second here, POSTBOTE_POP3_POLL) and picks up new mail.
profile watch
add_pop3 watch demo demo pop3s "$PB_POP3S_PORT"
POSTBOTE_POP3_POLL=1 "$cli" sync --watch watch >"$work/watch.out" 2>"$work/watch.err" </dev/null &
watch_pid=$!
for _ in $(seq 1 100); do [ "$(count_local watch 2>/dev/null || echo 0)" -eq 5 ] && break; sleep 0.2; done
deliver demo "watched" || echo "# LMTP failed"
for _ in $(seq 1 100); do [ "$(count_local watch 2>/dev/null || echo 0)" -eq 6 ] && break; sleep 0.2; done
watched=$(count_local watch)
kill -TERM "$watch_pid"; wait "$watch_pid"; watch_rc=$?
check "sync --watch polls: mail delivered while it runs arrives; SIGTERM ends it cleanly" \
  '[ "$watched" -eq 6 ] && [ "$watch_rc" -eq 0 ]' "count $watched, exit $watch_rc: $(cat "$work/watch.err")"

# ---------------------------------------------------------------------------------------------
# 6. Headers only above 4 KB; show downloads the rest.
profile hdr
add_pop3 hdr alice Correct-Horse-7 pop3s "$PB_POP3S_PORT" --pop3-headers-only-over 4K
run sync hdr
bodiless=$("$py" "$pop3mail" bodiless "$XDG_DATA_HOME/postbote" hdr)
check "messages over 4 KB are stored as header only ($bodiless)" '[ "$rc" -eq 0 ] && [ "$bodiless" -gt 50 ] && [ "$bodiless" -lt 493 ]' "$err"
compare "show downloads the rest: every message byte for byte" alice hdr --exact
bodiless=$("$py" "$pop3mail" bodiless "$XDG_DATA_HOME/postbote" hdr)
check "after show, no message lacks its body" '[ "$bodiless" -eq 0 ]'

# ---------------------------------------------------------------------------------------------
# 6b. Moves and deletes with "delete from the server" (bob's maildrop, empty after 4): the
# server has no copy any more, so the store's local move is all there is. Nothing may be
# downloaded again, and nothing lost.
"$py" "$syncmail" seed "$server" bob INBOX=6 --seed 204 --tag mv 2>/dev/null \
  || echo "Bail out! seeding bob failed"
profile mv
add_pop3 mv bob Battery-Staple-9 pop3s "$PB_POP3S_PORT" --pop3-delete \
  --outgoing "smtps://bob@127.0.0.1:$PB_SMTPS_PORT"
run sync mv
check "delete from server: 6 downloaded, the server is empty" \
  '[ "$rc" -eq 0 ] && [ "$(count_server bob)" -eq 0 ] && [ "$(count_local mv)" -eq 6 ]' "$err"
read -r u1 u2 u3 _ <<<"$(uids_of mv INBOX)"
sha1=$(raw_sha mv INBOX "$u1"); sha2=$(raw_sha mv INBOX "$u2"); sha3=$(raw_sha mv INBOX "$u3")
inbox_left=$(for u in $(uids_of mv INBOX); do [ "$u" = "$u1" ] || [ "$u" = "$u2" ] || [ "$u" = "$u3" ] || raw_sha mv INBOX "$u"; done | sort | tr '\n' ' ' | sed 's/ $//')
run move mv INBOX "$u1" Drafts
check "move to Drafts: the message is there at once, byte for byte" \
  '[ "$rc" -eq 0 ] && [ "$(count_local mv)" -eq 5 ] && [ "$(folder_shas mv Drafts)" = "$sha1" ]' "$err"
run delete mv INBOX "$u2"
run delete mv INBOX "$u3"
check "two deletes move them to the Trash" \
  '[ "$rc" -eq 0 ] && [ "$(count_local mv Trash)" -eq 2 ] && [ "$(count_local mv)" -eq 3 ]' "$err"
for u in $(uids_of mv Trash); do [ "$(raw_sha mv Trash "$u")" = "$sha3" ] && t3=$u; done
run delete mv Trash "${t3:-0}"
check "a delete inside the Trash is final" '[ "$rc" -eq 0 ] && [ "$(count_local mv Trash)" -eq 1 ]' "$err"
for pass in 1 2; do
  run sync mv
  check "sync $pass after the moves downloads nothing" \
    '[ "$rc" -eq 0 ] && ! grep -q "INBOX:" <<<"$err" && no_noise' "$err"
  check "sync $pass: moved and trashed messages are in their folders byte for byte, INBOX keeps the rest" \
    '[ "$(folder_shas mv Drafts)" = "$sha1" ] && [ "$(folder_shas mv Trash)" = "$sha2" ] && [ "$(folder_shas mv INBOX)" = "$inbox_left" ]' \
    "Drafts $(folder_shas mv Drafts) Trash $(folder_shas mv Trash) INBOX $(count_local mv)"
done
run move mv Trash "$(uids_of mv Trash)" INBOX
check "moved back out of the Trash, again at once" \
  '[ "$rc" -eq 0 ] && [ "$(count_local mv)" -eq 4 ] && [ "$(count_local mv Trash)" -eq 0 ]' "$err"
run sync mv
check "after another sync INBOX has it, byte for byte" \
  '[ "$rc" -eq 0 ] && [ "$(folder_shas mv INBOX)" = "$(printf "%s\n" $inbox_left $sha2 | sort | tr "\n" " " | sed "s/ $//")" ]' "$err"
# A message that exists only locally: the copy of a sent one (to demo, whose maildrop no
# later check compares), moved to Drafts and deleted from there to the Trash.
printf 'From: Bob <bob@postbote.test>\nTo: Demo <demo@localhost>\nSubject: Only here\nDate: Thu, 26 Nov 2026 20:00:00 +0000\nMessage-ID: <only-here@postbote.test>\n\nA sent copy that exists only locally.\n' >"$work/only.eml"
run send mv "$work/only.eml"
sent_uid=$(uids_of mv Sent)
sent_sha=$(raw_sha mv Sent "$sent_uid")
check "send keeps a local copy in Sent" '[ "$rc" -eq 0 ] && [ "$(count_local mv Sent)" -eq 1 ] && grep -q "Only here" <<<"$(list_raw mv Sent "$sent_uid")"' "$err"
run move mv Sent "$sent_uid" Drafts
check "the Sent copy moves to Drafts, byte for byte" \
  '[ "$rc" -eq 0 ] && [ "$(count_local mv Sent)" -eq 0 ] && [ "$(folder_shas mv Drafts)" = "$(printf "%s\n" $sha1 $sent_sha | sort | tr "\n" " " | sed "s/ $//")" ]' "$err"
for u in $(uids_of mv Drafts); do [ "$(raw_sha mv Drafts "$u")" = "$sent_sha" ] && draft_uid=$u; done
run delete mv Drafts "${draft_uid:-0}"
run sync mv
run sync mv
check "deleted to the Trash, it survives two syncs there, byte for byte" \
  '[ "$rc" -eq 0 ] && [ "$(folder_shas mv Trash)" = "$sent_sha" ] && [ "$(folder_shas mv Drafts)" = "$sha1" ]' \
  "Trash $(folder_shas mv Trash) Drafts $(folder_shas mv Drafts): $err"

# ---------------------------------------------------------------------------------------------
# 7. Wrong password: one clear error, nothing saved.
profile bad
run account add bad --email alice@postbote.test --incoming "pop3s://alice@127.0.0.1:$PB_POP3S_PORT" \
  --password-command "printf %s wrong" --ca-file "$PB_CA_FILE"
check "a wrong password is refused when the account is added" \
  '[ "$rc" -ne 0 ] && grep -q "rejected the user name or password" <<<"$err" && no_noise' "$err"

echo "1..$n"
exit $failed
