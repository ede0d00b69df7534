#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# postbote-cli end to end, as a user types it, against the harness's real Dovecot (and the
# real gnome-keyring of tests/test-env.sh). Hostile cases use tests/integration/scripted-imap.py.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cli=${PB_CLI:?PB_CLI is set by meson}
mailserver=${PB_MAILSERVER:?PB_MAILSERVER is set by meson}

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

work=$(mktemp -d /tmp/pbcli.XXXXXX)
chmod 0755 "$work"
server="$work/s"
cleanup() { "$mailserver" stop "$server" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT

if ! "$mailserver" start "$server" >"$work/start.log" 2>&1; then
  echo "Bail out! mail server did not start: $(tail -n 5 "$work/start.log")"
  exit 1
fi
. "$server/env"

# Runs the CLI; leaves exit status in $rc, stdout in $out, stderr in $err.
run() {
  "$cli" "$@" >"$work/out" 2>"$work/err" </dev/null
  rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}
# Like run, with a password on stdin.
run_stdin() {
  local password=$1; shift
  printf '%s\n' "$password" | "$cli" "$@" >"$work/out" 2>"$work/err"
  rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}
# A failure is one line on stderr and a non-zero exit status.
expect_failure() {
  local what=$1 want_rc=$2 pattern=$3
  local lines
  lines=$(printf '%s' "$err" | grep -c '')
  if [ "$rc" -eq "$want_rc" ] && [ "$lines" -eq 1 ] && grep -qiE -- "$pattern" <<<"$err"; then
    ok "$what: exit $rc, “$(tr '\n' ' ' <<<"$err")”"
  else
    not_ok "$what" "exit $rc (want $want_rc), $lines stderr lines, want /$pattern/" "stderr: $err" "stdout: $out"
  fi
}

imaps="imaps://alice@127.0.0.1:$PB_IMAPS_PORT"
imap="imap://alice@127.0.0.1:$PB_IMAP_PORT"
pwcmd="printf %s Correct-Horse-7"

# 1. Add an account over implicit TLS with the test CA and a password command.
run account add work --email alice@postbote.test --incoming "$imaps" \
  --outgoing "smtps://alice@127.0.0.1:$PB_SMTPS_PORT" --password-command "$pwcmd" --ca-file "$PB_CA_FILE"
if [ "$rc" -eq 0 ] && [ -z "$err" ]; then ok "account add (imaps)"; else not_ok "account add (imaps)" "exit $rc" "$err"; fi

# 2. The configuration holds no password.
if grep -q 'Correct-Horse-7' "$XDG_CONFIG_HOME/postbote/accounts.ini" \
   && ! grep -q 'password-command=printf %s Correct-Horse-7' "$XDG_CONFIG_HOME/postbote/accounts.ini"; then
  not_ok "accounts.ini holds only the command, not a bare password"
else
  ok "accounts.ini holds the password command and no password field"
fi

# 3. Folders: one per line, special folders first, full paths.
"$mailserver" doveadm "$server" mailbox create -u alice "Projects/Postbote" "Lists/gnome-devel" >/dev/null
run folders work
expected=$'INBOX\nDrafts\nSent\nArchive\nJunk\nTrash\nLists\nLists/gnome-devel\nProjects\nProjects/Postbote'
if [ "$rc" -eq 0 ] && [ "$out" = "$expected" ]; then ok "folders work"; else not_ok "folders work" "exit $rc" "got: $(tr '\n' ',' <<<"$out")" "want: $(tr '\n' ',' <<<"$expected")" "$err"; fi

# 4. account list shows it.
run account list
if [ "$rc" -eq 0 ] && grep -q "^work	alice@postbote.test	$imaps	smtps://alice@127.0.0.1:$PB_SMTPS_PORT$" <<<"$out"; then
  ok "account list"
else
  not_ok "account list" "$out" "$err"
fi

# 5. STARTTLS (required) to the same server.
run account add starttls --email alice@postbote.test --incoming "$imap" --password-command "$pwcmd" --ca-file "$PB_CA_FILE"
run folders starttls
if [ "$rc" -eq 0 ] && [ "$(head -n1 <<<"$out")" = "INBOX" ]; then ok "folders over STARTTLS"; else not_ok "folders over STARTTLS" "$out" "$err"; fi

# 6. A wrong password: refused, and the account is not saved.
run account add wrongpw --email alice@postbote.test --incoming "$imaps" --password-command "printf %s nope" --ca-file "$PB_CA_FILE"
expect_failure "wrong password" 1 "rejected the user name or password"
run folders wrongpw
expect_failure "an account that failed its check was not saved" 1 "no account named"

# 7. A certificate that does not verify (no --ca-file): refused before any login.
run account add nocert --email alice@postbote.test --incoming "$imaps" --password-command "$pwcmd"
expect_failure "untrusted certificate (imaps)" 1 "certificate"
run account add nocert2 --email alice@postbote.test --incoming "$imap" --password-command "$pwcmd"
expect_failure "untrusted certificate (STARTTLS)" 1 "certificate"

# 8. An unreachable host: a closed port on loopback.
closed=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run account add unreachable --email a@b.c --incoming "imaps://alice@127.0.0.1:$closed" --password-command "$pwcmd"
expect_failure "unreachable host" 1 "could not connect|refused"

# 9. A server that offers no STARTTLS: the client hangs up and the password never leaves.
log="$work/scripted.log"
: >"$log"
/usr/bin/python3 "$here/scripted-imap.py" no-starttls "$log" >"$work/port" &
scripted=$!
for _ in $(seq 1 50); do [ -s "$work/port" ] && break; sleep 0.1; done
run account add nostarttls --email a@b.c --incoming "imap://alice@127.0.0.1:$(cat "$work/port")" --password-command "$pwcmd"
wait $scripted 2>/dev/null
expect_failure "server without STARTTLS" 1 "STARTTLS"
if grep -qiE 'LOGIN|AUTHENTICATE|Correct-Horse' "$log" || grep -q "$(printf '\0alice\0Correct-Horse-7' | base64)" "$log"; then
  not_ok "no credentials sent to the server without STARTTLS" "$(cat -v "$log")"
else
  ok "no credentials sent to the server without STARTTLS (it saw: $(tr '\r\n' '  ' <"$log"))"
fi

# 10. --password-stdin keeps the password in the real keyring, and remove deletes it.
run_stdin "Correct-Horse-7" account add keyring --email alice@postbote.test --incoming "$imaps" --password-stdin --ca-file "$PB_CA_FILE"
if [ "$rc" -eq 0 ]; then ok "account add --password-stdin"; else not_ok "account add --password-stdin" "$err"; fi
secret=$(secret-tool lookup account keyring protocol imap user alice host 127.0.0.1 2>/dev/null)
if [ "$secret" = "Correct-Horse-7" ]; then ok "password is in the keyring"; else not_ok "password is in the keyring" "got: $secret"; fi
if sed -n '/\[Account keyring\]/,/^\[/p' "$XDG_CONFIG_HOME/postbote/accounts.ini" | grep -q 'Correct-Horse'; then
  not_ok "keyring account's config has no password"
else
  ok "keyring account's config has no password"
fi
run folders keyring
if [ "$rc" -eq 0 ] && [ "$(head -n1 <<<"$out")" = "INBOX" ]; then ok "folders with the keyring password"; else not_ok "folders with the keyring password" "$err"; fi
run account remove keyring
secret=$(secret-tool lookup account keyring protocol imap user alice host 127.0.0.1 2>/dev/null)
if [ "$rc" -eq 0 ] && [ -z "$secret" ]; then ok "account remove deletes the keyring entry"; else not_ok "account remove deletes the keyring entry" "rc $rc secret '$secret' $err"; fi

# 11. A wrong password given on stdin is not left in the keyring.
run_stdin "wrong" account add keyring2 --email alice@postbote.test --incoming "$imaps" --password-stdin --ca-file "$PB_CA_FILE"
expect_failure "wrong password on stdin" 1 "rejected"
secret=$(secret-tool lookup account keyring2 protocol imap user alice host 127.0.0.1 2>/dev/null)
if [ -z "$secret" ]; then ok "rejected password is not kept in the keyring"; else not_ok "rejected password is not kept in the keyring"; fi

# 12. Usage errors exit with 2.
run account add
expect_failure "account add without NAME" 2 "exactly one NAME"
run account add x --email a@b.c --incoming "imaps://alice:secret@host" --password-command true
expect_failure "password inside the URL" 2 "must not contain a password"
run account add x --email a@b.c --incoming "ftp://alice@host" --password-command true
expect_failure "unknown scheme" 2 "unknown server type"
run frobnicate
if [ "$rc" -eq 2 ]; then ok "unknown command exits 2"; else not_ok "unknown command exits 2" "rc $rc"; fi
run account add work --email alice@postbote.test --incoming "$imaps" --password-command "$pwcmd" --ca-file "$PB_CA_FILE"
expect_failure "duplicate account name" 1 "exists already"
run folders nosuch
expect_failure "unknown account" 1 "no account named"

# 13. The trace shows the dialogue without the password.
"$cli" --trace folders work >"$work/out" 2>"$work/trace" </dev/null; trace_rc=$?
if grep -q 'AUTHENTICATE PLAIN\|LOGIN' "$work/trace" && grep -q 'LIST' "$work/trace" \
   && ! grep -q 'Correct-Horse-7' "$work/trace" \
   && ! grep -q "$(printf '\0alice\0Correct-Horse-7' | base64)" "$work/trace"; then
  ok "--trace shows the exchange without the password"
else
  not_ok "--trace shows the exchange without the password" "rc $trace_rc" "$(head -c 2000 "$work/trace" | tr "\n" " ")"
fi

# 14. account remove.
run account remove work
run account list
if ! grep -q '^work' <<<"$out"; then ok "account remove"; else not_ok "account remove" "$out"; fi

echo "1..$n"
exit $failed
