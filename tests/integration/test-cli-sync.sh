#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# postbote-cli sync end to end against the harness's real Dovecot, compared with what a second
# client (tests/integration/sync-mail.py: Python's imaplib over IMAPS) and doveadm see:
#   - two accounts synced at once by one `postbote-cli sync`, every message byte for byte;
#   - flags, moves and deletes both ways through the CLI;
#   - kill -9 in the middle of a large sync, then a rerun;
#   - the connection cut inside a FETCH literal (sync-cut-proxy.py), then a clean sync;
#   - changes made while the server is down (journal), replayed after it restarts.
# Each scenario has its own profile (XDG folders), so their stores do not mix.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cli=${PB_CLI:?PB_CLI is set by meson}
mailserver=${PB_MAILSERVER:?PB_MAILSERVER is set by meson}
py=/usr/bin/python3
syncmail="$here/sync-mail.py"
proxy="$here/sync-cut-proxy.py"
export PB_CLI="$cli"

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done; }
note() { echo "# $*"; }
t0=$(date +%s.%N)
elapsed() { /usr/bin/python3 -c "import sys; print('%.1f s' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)"; }

work=$(mktemp -d /tmp/pbsync.XXXXXX)
chmod 0755 "$work"
server="$work/s"
proxies=()
cleanup() {
  for p in "${proxies[@]}"; do kill "$p" 2>/dev/null; done
  "$mailserver" stop "$server" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

if ! "$mailserver" start "$server" >"$work/start.log" 2>&1; then
  echo "Bail out! mail server did not start: $(tail -n 5 "$work/start.log")"
  exit 1
fi
. "$server/env"

# A profile: its own configuration and store.
profile() {
  export XDG_CONFIG_HOME="$work/$1/config" XDG_DATA_HOME="$work/$1/data" XDG_CACHE_HOME="$work/$1/cache"
  mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"
}
# Runs the CLI; leaves exit status in $rc, stdout in $out, stderr in $err.
run() {
  "$cli" "$@" >"$work/out" 2>"$work/err" </dev/null
  rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}
add_account() {  # NAME USER PASSWORD PORT
  run account add "$1" --email "$2@postbote.test" --incoming "imaps://$2@127.0.0.1:$4" \
    --password-command "printf %s $3" --ca-file "$PB_CA_FILE"
  [ "$rc" -eq 0 ] || { echo "Bail out! account add $1: $err"; exit 1; }
}
# Starts sync-cut-proxy.py to TARGET on LISTEN (0: any) with extra ARGS; sets $proxy_pid, $proxy_port.
start_proxy() {  # LOG TARGET LISTEN [ARGS...]
  local log=$1 target=$2 listen=$3; shift 3
  rm -f "$work/proxy.port"
  "$py" "$proxy" "$target" --listen "$listen" --port-file "$work/proxy.port" --log "$log" "$@" &
  proxy_pid=$!
  proxies+=("$proxy_pid")
  for _ in $(seq 1 100); do [ -s "$work/proxy.port" ] && break; sleep 0.02; done
  proxy_port=$(cat "$work/proxy.port")
}
stop_proxy() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# Compares ACCOUNT's store with USER on the server; ARGS go to sync-mail.py compare.
compare() {  # WHAT USER ACCOUNT [ARGS...]
  local what=$1; shift
  local result
  if result=$("$py" "$syncmail" compare "$server" "$@" 2>&1); then
    ok "$what: $result"
  else
    not_ok "$what" "$result"
  fi
}
dump() { "$py" "$syncmail" dump "$server" "$1"; }
# The SHA-256 of FOLDER/UID in a dump file, and the UIDs of a SHA-256 in FOLDER.
sha_of() { awk -F'\t' -v f="$2" -v u="$3" 'NF == 5 && $1 == f && $2 == u { print $5 }' "$1"; }
uids_with_sha() { awk -F'\t' -v f="$2" -v s="$3" 'NF == 5 && $1 == f && $5 == s { print $2 }' "$1"; }
flags_of() { awk -F'\t' -v f="$2" -v u="$3" 'NF == 5 && $1 == f && $2 == u { print $3 }' "$1"; }
count_of() { awk -F'\t' -v f="$2" 'NF == 3 && $1 == f { sub("MESSAGES=", "", $3); print $3 }' "$1"; }
journal() { "$py" "$syncmail" journal "$XDG_DATA_HOME/postbote"; }
# A failed sync says why in exactly one line, "postbote-cli: ...", and nothing else but
# progress lines ("ACCOUNT: FOLDER: n/m"); no GLib warnings or criticals.
one_line_error() {
  local others
  others=$(grep -vE '^[A-Za-z0-9._-]+: .+: [0-9]+/[0-9]+$' <<<"$err" | grep -c '')
  [ "$others" -eq 1 ] && grep -qE '^postbote-cli: ' <<<"$err" && ! grep -qiE 'warning|critical' <<<"$err"
}

# ---------------------------------------------------------------------------------------------
# The mailboxes. alice: 90 messages in three folders (one non-ASCII), two of about 1 MB.
# bob: 81 messages, three of about 1 MB, and one of 4 MB in "Big", the folder synced last,
# among small ones: the connection is cut inside that message's literal.
"$py" "$syncmail" seed "$server" alice INBOX=60 Archive=15 "Entwürfe & Notizen=15" --big 2 \
  --seed 101 --tag cli 2>/dev/null || { echo "Bail out! seeding alice failed"; exit 1; }
"$py" "$syncmail" seed "$server" bob INBOX=60 Archive=15 --big 3 --seed 102 --tag bob 2>/dev/null \
  && "$py" "$syncmail" seed "$server" bob Big=5 --huge Big:4000000 --seed 103 --tag big 2>/dev/null \
  || { echo "Bail out! seeding bob failed"; exit 1; }
bob_total=81

# ---------------------------------------------------------------------------------------------
# 1. Two accounts synced at once by one command. bob's traffic goes through a pass-through
# relay that counts the bytes of a complete first sync (used for the cut below).
profile both
start_proxy "$work/relay-both.log" "$PB_IMAPS_PORT" 0
relay_both=$proxy_pid
add_account alice alice Correct-Horse-7 "$PB_IMAPS_PORT"
add_account bob bob Battery-Staple-9 "$proxy_port"
run sync
if [ "$rc" -eq 0 ] && grep -qx 'alice: synchronised' <<<"$err" && grep -qx 'bob: synchronised' <<<"$err" \
   && ! grep -q '^postbote-cli:' <<<"$err" && ! grep -qiE 'critical|warning' <<<"$err"; then
  ok "one sync, two accounts: both synchronised"
else
  not_ok "one sync, two accounts: both synchronised" "exit $rc" "$err"
fi
compare "alice after the two-account sync" alice alice
compare "bob after the two-account sync" bob bob
stop_proxy "$relay_both"
full_bytes=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "server->client") print $(i + 1) }' "$work/relay-both.log" | sort -n | tail -n 1)
bob_bytes=$(dump bob | awk -F'\t' 'NF == 5 { s += $4 } END { print s }')
if [ -z "$full_bytes" ] || [ "$full_bytes" -lt "$bob_bytes" ]; then
  # The sync above failed: estimate from the message sizes so that the cut still comes late.
  note "the relay saw only ${full_bytes:-no} bytes; estimating from $bob_bytes bytes of mail"
  full_bytes=$((bob_bytes + bob_bytes / 50 + 50000))
fi
note "a complete first sync of bob: $full_bytes bytes from the server, $bob_bytes of mail ($(elapsed))"

# ---------------------------------------------------------------------------------------------
# 2. Flags, moves and deletes both ways (alice, same profile).
"$mailserver" doveadm "$server" flags add -u alice '\Flagged Work' mailbox INBOX uid 1:5
"$mailserver" doveadm "$server" flags remove -u alice '\Seen' mailbox INBOX uid 1:60
"$mailserver" doveadm "$server" flags replace -u alice '\Seen $label1' mailbox INBOX uid 11:14
"$mailserver" doveadm "$server" move -u alice Archive mailbox INBOX uid 6:8
"$mailserver" doveadm "$server" expunge -u alice mailbox INBOX uid 9:10
run sync alice
[ "$rc" -eq 0 ] || not_ok "sync after server-side changes" "exit $rc" "$err"
compare "server-side flags, move and expunge reached the store" alice alice --no-bodies
compare "moved messages arrived byte for byte" alice alice --folders Archive

dump alice >"$work/alice-before"
run flag alice INBOX 11 +seen +flagged +Work -'$label1'
flag_rc=$rc flag_err=$err
dump alice >"$work/alice-after"
flags=$(flags_of "$work/alice-after" INBOX 11)
if [ "$flag_rc" -eq 0 ] && [ -z "$flag_err" ] && [ "$flags" = 'Work \Flagged \Seen' ]; then
  ok "flag +seen +flagged +Work -\$label1: the server has “$flags”"
else
  not_ok "flag +seen +flagged +Work -\$label1 reached the server" "exit $flag_rc: $flag_err" "server flags: $flags"
fi
run flag alice INBOX 11 -flagged -seen
flags=$(dump alice | awk -F'\t' 'NF == 5 && $1 == "INBOX" && $2 == 11 { print $3 }')
if [ "$rc" -eq 0 ] && [ "$flags" = 'Work' ]; then
  ok "flag -flagged -seen: the server has “$flags”"
else
  not_ok "flag -flagged -seen reached the server" "exit $rc: $err" "server flags: $flags"
fi

sha12=$(sha_of "$work/alice-before" INBOX 12)
sha13=$(sha_of "$work/alice-before" INBOX 13)
run move alice INBOX 12 Archive
move_rc=$rc move_err=$err
run delete alice INBOX 13
delete_rc=$rc delete_err=$err
dump alice >"$work/alice-after"
in_archive=$(uids_with_sha "$work/alice-after" Archive "$sha12")
in_trash=$(uids_with_sha "$work/alice-after" Trash "$sha13")
if [ "$move_rc" -eq 0 ] && [ -z "$(sha_of "$work/alice-after" INBOX 12)" ] && [ "$(wc -w <<<"$in_archive")" -eq 1 ]; then
  ok "move INBOX 12 Archive: on the server it is Archive $in_archive"
else
  not_ok "move INBOX 12 Archive reached the server" "exit $move_rc: $move_err" "Archive UIDs with its body: $in_archive"
fi
if [ "$delete_rc" -eq 0 ] && [ -z "$(sha_of "$work/alice-after" INBOX 13)" ] && [ "$(wc -w <<<"$in_trash")" -eq 1 ]; then
  ok "delete INBOX 13 moved it to the Trash on the server (Trash $in_trash)"
else
  not_ok "delete INBOX 13 moved it to the Trash on the server" "exit $delete_rc: $delete_err" "Trash UIDs with its body: $in_trash"
fi
if [ -n "$in_trash" ]; then
  trash_before=$(count_of "$work/alice-after" Trash)
  run delete alice Trash "$in_trash"
  dump alice >"$work/alice-after"
  if [ "$rc" -eq 0 ] && [ -z "$(sha_of "$work/alice-after" Trash "$in_trash")" ] \
     && [ "$(count_of "$work/alice-after" Trash)" -eq $((trash_before - 1)) ]; then
    ok "delete in the Trash expunged it on the server"
  else
    not_ok "delete in the Trash expunged it on the server" "exit $rc: $err"
  fi
fi
compare "local changes: store and server agree" alice alice --no-bodies
j=$(journal)
if [ "$j" = 0 ]; then ok "journal empty after the changes"; else not_ok "journal empty after the changes" "$j entries"; fi
note "($(elapsed))"

# ---------------------------------------------------------------------------------------------
# 3. kill -9 in the middle of a large sync, then a rerun.
profile kill
add_account bob bob Battery-Staple-9 "$PB_IMAPS_PORT"
# Killed as soon as some bodies are on disk (their rows are committed first) or the first
# folder is complete, whichever comes first: most likely between rows and bodies.
"$cli" sync bob >/dev/null 2>"$work/kill.err" </dev/null &
sync_pid=$!
progress= bodies=0
for _ in $(seq 1 1000); do
  progress=$(grep -m1 -E '^bob: .+: [1-9][0-9]*/[0-9]+$' "$work/kill.err")
  bodies=$(find "$XDG_DATA_HOME/postbote" -type f -path '*/messages/*' 2>/dev/null | grep -c '')
  [ -n "$progress" ] || [ "$bodies" -ge 15 ] && break
  kill -0 "$sync_pid" 2>/dev/null || break
  sleep 0.005
done
kill -9 "$sync_pid" 2>/dev/null
wait "$sync_pid" 2>/dev/null
stored=0
for f in INBOX Archive Big; do
  c=$("$cli" list bob "$f" 2>/dev/null | grep -c '')
  stored=$((stored + c))
done
if ! grep -q 'synchronised' "$work/kill.err" && [ "$stored" -lt "$bob_total" ]; then
  ok "kill -9 in the middle (${progress:-no progress yet}, $bodies body files): $stored of $bob_total rows stored"
else
  not_ok "kill -9 came in the middle of the sync" "progress: $progress; stored $stored of $bob_total" "$(cat "$work/kill.err")"
fi
run sync bob
if [ "$rc" -eq 0 ]; then ok "the sync after kill -9 completes"; else not_ok "the sync after kill -9 completes" "exit $rc" "$err"; fi
compare "after kill -9 and a rerun: bob identical to the server, no duplicates" bob bob
note "($(elapsed))"

# ---------------------------------------------------------------------------------------------
# 4. The connection cut inside a FETCH literal: after all but 2 MB of a complete first sync,
# which is inside the 4 MB message in Big, the folder synced last.
profile cut
cut_at=$((full_bytes - 2000000))
start_proxy "$work/cut.log" "$PB_IMAPS_PORT" 0 --cut-after "$cut_at"
cut_proxy=$proxy_pid cut_port=$proxy_port
add_account bob bob Battery-Staple-9 "$cut_port"
run sync bob
if [ "$rc" -eq 1 ] && grep -q ' cut$' "$work/cut.log" && one_line_error; then
  ok "a cut after $cut_at bytes fails in one line: $(grep '^postbote-cli:' <<<"$err")"
else
  not_ok "a cut inside a literal fails with exit 1 and a one-line error" "exit $rc" "stderr: $err" "proxy: $(cat "$work/cut.log")"
fi
huge_uid=$(dump bob | awk -F'\t' 'NF == 5 && $1 == "Big" && $4 > 3000000 { print $2 }')
if ! "$cli" list bob Big 2>/dev/null | grep -q "^$huge_uid	"; then
  ok "the cut message (Big $huge_uid) is not in the store"
else
  not_ok "the cut message (Big $huge_uid) is not in the store" "$("$cli" show bob Big "$huge_uid" --raw | wc -c) bytes stored"
fi
stop_proxy "$cut_proxy"
start_proxy "$work/relay-cut.log" "$PB_IMAPS_PORT" "$cut_port"
relay_cut=$proxy_pid
run sync bob
if [ "$rc" -eq 0 ]; then ok "the next sync (uncut) completes"; else not_ok "the next sync (uncut) completes" "exit $rc" "$err"; fi
compare "after the cut and a clean sync: bob identical to the server, no duplicates" bob bob
note "($(elapsed))"

# ---------------------------------------------------------------------------------------------
# 5. Offline: the server stops; flag, move and delete are saved locally; the server starts
# again in the same folder; a sync sends the changes and empties the journal.
dump bob >"$work/bob-before"
"$mailserver" stop "$server" >/dev/null 2>&1
stop_proxy "$relay_cut"
old_imaps=$PB_IMAPS_PORT

run flag bob INBOX 1 +flagged +Offline
if [ "$rc" -eq 0 ] && grep -q 'saved' <<<"$err" && [ "$(grep -c '' <<<"$err")" -eq 1 ]; then
  ok "offline flag: exit 0, “$err”"
else
  not_ok "offline flag: exit 0 and one line saying it was saved" "exit $rc" "$err"
fi
run move bob INBOX 2 Archive
move_rc=$rc move_err=$err
run delete bob INBOX 3
if [ "$move_rc" -eq 0 ] && [ "$rc" -eq 0 ] && grep -q saved <<<"$move_err" && grep -q saved <<<"$err"; then
  ok "offline move and delete: exit 0, saved"
else
  not_ok "offline move and delete: exit 0, saved" "move: exit $move_rc: $move_err" "delete: exit $rc: $err"
fi
local_inbox=$("$cli" list bob INBOX)
if grep -qP '^1\t.*\\Flagged' <<<"$local_inbox" && ! grep -qP '^[23]\t' <<<"$local_inbox"; then
  ok "the store shows the offline changes at once"
else
  not_ok "the store shows the offline changes at once" "$(head -n 4 <<<"$local_inbox")"
fi
j=$(journal)
if [ "$j" = 3 ]; then ok "the journal holds 3 entries"; else not_ok "the journal holds 3 entries" "$j"; fi
run sync bob
if [ "$rc" -eq 1 ] && one_line_error && [ "$(journal)" = 3 ]; then
  ok "sync while offline fails in one line and keeps the journal: $err"
else
  not_ok "sync while offline fails in one line and keeps the journal" "exit $rc" "$err" "journal $(journal)"
fi

if ! "$mailserver" start "$server" >"$work/restart.log" 2>&1; then
  not_ok "the server restarts in the same folder" "$(tail -n 5 "$work/restart.log")"
  echo "1..$n"
  exit 1
fi
. "$server/env"
note "restart in the same folder: imaps port $old_imaps -> $PB_IMAPS_PORT"
dump bob >"$work/bob-restarted"
if cmp -s "$work/bob-before" "$work/bob-restarted"; then
  ok "the restarted server kept bob's mail, UIDs, UIDVALIDITY and flags"
else
  not_ok "the restarted server kept bob's mail" "$(diff "$work/bob-before" "$work/bob-restarted" | head -n 5)"
fi
# The account still names the relay's port: the relay comes back there, to the new port.
start_proxy "$work/relay-back.log" "$PB_IMAPS_PORT" "$cut_port"
run sync bob
if [ "$rc" -eq 0 ]; then ok "sync after the restart"; else not_ok "sync after the restart" "exit $rc" "$err"; fi
j=$(journal)
if [ "$j" = 0 ]; then ok "the journal is empty"; else not_ok "the journal is empty" "$j entries"; fi
dump bob >"$work/bob-after"
flags=$(flags_of "$work/bob-after" INBOX 1)
sha2=$(sha_of "$work/bob-before" INBOX 2)
sha3=$(sha_of "$work/bob-before" INBOX 3)
if [[ " $flags " == *' \Flagged '* && " $flags " == *' Offline '* ]] \
   && [ -z "$(sha_of "$work/bob-after" INBOX 2)" ] && [ -z "$(sha_of "$work/bob-after" INBOX 3)" ] \
   && [ -n "$(uids_with_sha "$work/bob-after" Archive "$sha2")" ] \
   && [ -n "$(uids_with_sha "$work/bob-after" Trash "$sha3")" ]; then
  ok "the server has the offline changes (INBOX 1: $flags; 2 in Archive; 3 in Trash)"
else
  not_ok "the server has the offline changes" "INBOX 1 flags: $flags" \
    "INBOX 2 there: $(sha_of "$work/bob-after" INBOX 2); in Archive: $(uids_with_sha "$work/bob-after" Archive "$sha2")" \
    "INBOX 3 there: $(sha_of "$work/bob-after" INBOX 3); in Trash: $(uids_with_sha "$work/bob-after" Trash "$sha3")"
fi
compare "after the offline changes: store and server agree" bob bob --no-bodies
compare "moved and deleted messages arrived byte for byte" bob bob --folders Archive,Trash
# ---------------------------------------------------------------------------------------------
# 6. IDLE: `sync --watch` notices a message delivered over LMTP within 2 seconds, and Ctrl+C
#    (SIGINT) ends it cleanly.
profile idle
add_account idle alice Correct-Horse-7 "$PB_IMAPS_PORT"
"$cli" sync --watch idle >"$work/watch.out" 2>"$work/watch.err" </dev/null &
watcher=$!
server_count=$("$mailserver" doveadm "$server" mailbox status -u alice messages INBOX | sed 's/[^0-9]//g')
for _ in $(seq 1 200); do
  [ "$("$cli" list idle INBOX 2>/dev/null | wc -l)" -ge "$server_count" ] && break
  sleep 0.05
done
before=$("$cli" list idle INBOX | wc -l)
printf 'From: idle@postbote.test\r\nTo: alice@postbote.test\r\nSubject: delivered while idling\r\nMessage-ID: <idle-%s@postbote.test>\r\n\r\nhello\r\n' "$$" \
  | "$mailserver" deliver "$server" alice
delivered=$(date +%s.%N)
seen=
for _ in $(seq 1 100); do
  if "$cli" list idle INBOX 2>/dev/null | grep -q 'delivered while idling'; then seen=$(date +%s.%N); break; fi
  sleep 0.02
done
if [ -n "$seen" ]; then
  latency=$("$py" -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$delivered" "$seen")
  if "$py" -c "import sys; sys.exit(0 if float(sys.argv[1]) < 2.0 else 1)" "$latency"; then
    ok "IDLE: the delivered message is in the store after ${latency} s (had $before)"
  else
    not_ok "IDLE: the delivered message took ${latency} s (limit 2 s)"
  fi
else
  not_ok "IDLE: the delivered message never reached the store" "$(tail -n 5 "$work/watch.err")"
fi
kill -INT "$watcher"
stopped=
for _ in $(seq 1 100); do kill -0 "$watcher" 2>/dev/null || { stopped=1; break; }; sleep 0.02; done
wait "$watcher" 2>/dev/null
watch_rc=$?
if [ -n "$stopped" ] && [ "$watch_rc" -eq 0 ]; then
  ok "sync --watch ends cleanly on SIGINT (exit $watch_rc)"
else
  not_ok "sync --watch ends cleanly on SIGINT" "stopped: ${stopped:-no}, exit $watch_rc" "$(tail -n 5 "$work/watch.err")"
  kill -9 "$watcher" 2>/dev/null
fi
note "total $(elapsed)"

echo "1..$n"
exit $failed
