#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# POP3 durability under faults, with "delete from the server once downloaded" on, so that
# DELE really happens: the sync is killed with SIGKILL (pb_fault_point, POSTBOTE_FAULT) after
# a RETR, after the index commit, after the body write, after the ledger commit, after a DELE
# and before QUIT; and the connection is cut after the client's Nth RETR, DELE or QUIT
# (pop3-cut-proxy.py) or in the middle of a message (sync-cut-proxy.py). After each:
#   - every local message is a whole server message, none twice, and every message that left
#     the server is local (pop3-mail.py check-interrupted);
#   - a rerun completes, the server is empty and every message is local exactly once.
# Local messages are read from the store's files directly (pop3-mail.py stored), not through
# `postbote-cli show`, which would download a missing body and hide a loss.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cli=${PB_CLI:?PB_CLI is set by meson}
mailserver=${PB_MAILSERVER:?PB_MAILSERVER is set by meson}
py=/usr/bin/python3
syncmail="$here/sync-mail.py"
pop3mail="$here/pop3-mail.py"
export PB_CLI="$cli"
# Batches of 10 messages, so that a crash can fall between two of them.
export POSTBOTE_POP3_BATCH=10

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done; }

work=$(mktemp -d /tmp/pbpopf.XXXXXX)
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
pop3_internal=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pop3_internal"])' "$server/ports.json")

profile() {
  export XDG_CONFIG_HOME="$work/$1/config" XDG_DATA_HOME="$work/$1/data" XDG_CACHE_HOME="$work/$1/cache"
  mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"
}
run() {
  "$cli" "$@" >"$work/out" 2>"$work/err" </dev/null
  rc=$?
  err=$(cat "$work/err")
}
start_proxy() {  # SCRIPT ARGS...
  rm -f "$work/proxy.port"
  "$py" "$@" --port-file "$work/proxy.port" --log "$work/proxy.log" &
  proxy_pid=$!
  proxies+=("$proxy_pid")
  for _ in $(seq 1 100); do [ -s "$work/proxy.port" ] && break; sleep 0.02; done
  proxy_port=$(cat "$work/proxy.port")
}
stop_proxy() { kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; }

# One scenario: NAME, how the interrupted sync is run (a function), what its exit must be.
k=0
scenario() {  # NAME RUNNER
  local name=$1 runner=$2 result
  k=$((k + 1))
  "$py" "$syncmail" seed "$server" bob INBOX=30 --seed $((300 + k)) --tag "f$k" 2>/dev/null \
    || { not_ok "$name: seeding failed"; return; }
  profile "f$k"
  "$py" "$pop3mail" server "$server" bob >"$work/before.sha"
  if [ "$(grep -c . "$work/before.sha")" -ne 30 ]; then
    not_ok "$name: the maildrop should start with the 30 new messages"
    return
  fi
  # Through the plain relay to Dovecot's own POP3 listener (loopback counts as secure there)
  # for the cuts; straight over POP3S otherwise. Both accounts share the ledger's account.
  "$runner"
  "$py" "$pop3mail" server "$server" bob >"$work/after.sha"
  "$py" "$pop3mail" stored "$XDG_DATA_HOME/postbote" f >"$work/local.sha"
  if result=$("$py" "$pop3mail" check-interrupted "$work/before.sha" "$work/after.sha" "$work/local.sha"); then
    ok "$name: interrupted as planned ($why); $result"
  else
    not_ok "$name: after the interruption ($why)" "$result"
  fi
  run sync f
  "$py" "$pop3mail" server "$server" bob >"$work/after.sha"
  "$py" "$pop3mail" stored "$XDG_DATA_HOME/postbote" f >"$work/local.sha"
  if [ "$rc" -eq 0 ] && [ ! -s "$work/after.sha" ] \
     && result=$("$py" "$pop3mail" check "$work/before.sha" "$work/local.sha" --exact); then
    ok "$name: the rerun completes: $result, the server is empty"
  else
    not_ok "$name: the rerun" "exit $rc: $err" "server has $(grep -c . "$work/after.sha")" "${result:-}"
  fi
}

add_direct() {
  run account add f --email bob@postbote.test --incoming "pop3s://bob@127.0.0.1:$PB_POP3S_PORT" \
    --password-command "printf %s Battery-Staple-9" --ca-file "$PB_CA_FILE" --pop3-delete
  [ "$rc" -eq 0 ] || echo "# account add: $err"
}

fault=""
killed_at() {
  add_direct
  POSTBOTE_FAULT=$fault run sync f
  if [ "$rc" -eq 137 ]; then why="killed at $fault"; else why="NOT killed: exit $rc: $err"; failed=1; fi
}
for fault in pop3-after-retr#17 pop3-after-index#2 pop3-after-write#2 pop3-after-commit#2 \
             pop3-after-dele#4 pop3-before-quit; do
  scenario "kill -9 at $fault" killed_at
done

cut_command=""
cut_at() {
  # The account talks to the relay; the rerun goes straight to Dovecot through the same
  # account, so its URL is rewritten in between.
  start_proxy "$here/pop3-cut-proxy.py" "$pop3_internal" --cut $cut_command
  run account add f --email bob@postbote.test --incoming "pop3+insecure://bob@127.0.0.1:$proxy_port" \
    --password-command "printf %s Battery-Staple-9" --pop3-delete --no-check
  run sync f
  why="exit $rc, $(tail -n 1 "$work/proxy.log" 2>/dev/null)"
  [ "$rc" -ne 0 ] || { why="NOT cut: $why"; failed=1; }
  stop_proxy
  sed -i "s|pop3+insecure://bob@127.0.0.1:$proxy_port|pop3+insecure://bob@127.0.0.1:$pop3_internal|" \
    "$XDG_CONFIG_HOME/postbote/accounts.ini"
}
for cut_command in "RETR 17" "DELE 4" "QUIT 1"; do
  scenario "connection cut after ${cut_command% *} #${cut_command#* }" cut_at
done

cut_bytes() {
  start_proxy "$here/sync-cut-proxy.py" "$PB_POP3S_PORT" --listen 0 --cut-after 60000
  run account add f --email bob@postbote.test --incoming "pop3s://bob@127.0.0.1:$proxy_port" \
    --password-command "printf %s Battery-Staple-9" --ca-file "$PB_CA_FILE" --pop3-delete --no-check
  run sync f
  why="exit $rc, $(tail -n 1 "$work/proxy.log" 2>/dev/null)"
  [ "$rc" -ne 0 ] || { why="NOT cut: $why"; failed=1; }
  stop_proxy
  sed -i "s|pop3s://bob@127.0.0.1:$proxy_port|pop3s://bob@127.0.0.1:$PB_POP3S_PORT|" \
    "$XDG_CONFIG_HOME/postbote/accounts.ini"
}
scenario "connection cut inside a message (60,000 bytes into the TLS stream)" cut_bytes

# ---------------------------------------------------------------------------------------------
# Moves between a POP3 account's folders are local (the server has no copy with --pop3-delete):
# `delete` (a move to the Trash) killed before and after its commit leaves every message whole,
# in exactly one folder, read from the store's files; the next process finishes the job.
"$py" "$syncmail" seed "$server" bob INBOX=3 --seed 399 --tag mv 2>/dev/null || echo "# seeding failed"
profile mv
add_direct
run sync f
"$py" "$pop3mail" stored "$XDG_DATA_HOME/postbote" f | sort >"$work/mv-before.sha"
count_in() { "$cli" list f "$1" --json 2>/dev/null | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
trash=0
for fault in move-local-before-commit move-local-after-commit; do
  uid=$("$cli" list f INBOX --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)[0]["uid"])')
  POSTBOTE_FAULT=$fault run delete f INBOX "$uid"
  killed=$rc
  "$py" "$pop3mail" stored "$XDG_DATA_HOME/postbote" f | sort >"$work/mv-after.sha"
  [ "$fault" = move-local-after-commit ] && trash=$((trash + 1))
  inbox_n=$(count_in INBOX); trash_n=$(count_in Trash)
  run sync f
  "$py" "$pop3mail" stored "$XDG_DATA_HOME/postbote" f | sort >"$work/mv-synced.sha"
  if [ "$killed" -eq 137 ] && cmp -s "$work/mv-before.sha" "$work/mv-after.sha" \
     && cmp -s "$work/mv-before.sha" "$work/mv-synced.sha" && [ "$rc" -eq 0 ] \
     && [ "$trash_n" -eq "$trash" ] && [ "$((inbox_n + trash_n))" -eq 3 ]; then
    ok "kill -9 at $fault in a local move: each message whole, once ($inbox_n in INBOX, $trash_n in Trash)"
  else
    not_ok "kill -9 at $fault in a local move" "exit $killed, sync $rc: $err, INBOX $inbox_n Trash $trash_n" \
      "$(diff "$work/mv-before.sha" "$work/mv-after.sha")" "$(diff "$work/mv-before.sha" "$work/mv-synced.sha")"
  fi
done
uid=$("$cli" list f INBOX --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)[0]["uid"])')
run delete f INBOX "$uid"
"$py" "$pop3mail" stored "$XDG_DATA_HOME/postbote" f | sort >"$work/mv-after.sha"
if [ "$rc" -eq 0 ] && cmp -s "$work/mv-before.sha" "$work/mv-after.sha" && [ "$(count_in Trash)" -eq 2 ]; then
  ok "after the kills, a delete to the Trash works"
else
  not_ok "after the kills, a delete to the Trash" "exit $rc: $err, Trash $(count_in Trash)"
fi

echo "1..$n"
exit $failed
