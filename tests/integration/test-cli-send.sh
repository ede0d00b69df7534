#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# postbote-cli send / outbox end to end against the harness's real SMTP server (aiosmtpd,
# delivering into Dovecot over LMTP) and real IMAP, checked by a second client
# (send-check.py: imaplib over IMAPS) and by the server's own record (DIR/smtp/*.eml):
#   - a message arrives exactly once, identical modulo trace headers, Bcc removed but
#     delivered, and a copy is in the sender's Sent folder;
#   - a batch of messages goes over one connection;
#   - bad input gives a clear error and queues nothing;
#   - the connection cut at each SMTP step and during the APPEND to Sent (smtp-cut-proxy.py),
#     and kill -9 at the same points (POSTBOTE_FAULT): afterwards the message is delivered
#     exactly once or still in the outbox with a clear state, never lost, never sent twice
#     silently.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cli=${PB_CLI:?PB_CLI is set by meson}
mailserver=${PB_MAILSERVER:?PB_MAILSERVER is set by meson}
py=/usr/bin/python3
check="$here/send-check.py"
proxy="$here/smtp-cut-proxy.py"

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done; }
expect() {  # WHAT ACTUAL EXPECTED [DETAILS...]
  local what=$1 actual=$2 expected=$3; shift 3
  if [ "$actual" = "$expected" ]; then ok "$what"; else not_ok "$what (got “$actual”, want “$expected”)" "$@"; fi
}

work=$(mktemp -d /tmp/pbsend.XXXXXX)
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
# add_account NAME INCOMING-URL OUTGOING-URL
add_account() {
  run account add "$1" --email "alice@postbote.test" --incoming "$2" --outgoing "$3" \
    --password-command "printf %s Correct-Horse-7" --ca-file "$PB_CA_FILE" --no-check
  [ "$rc" -eq 0 ] || { echo "Bail out! account add $1: $err"; exit 1; }
}
# A message with its own Message-ID, to bob (and Bcc demo).
write_message() {  # FILE ID SUBJECT
  printf 'From: Alice <alice@postbote.test>\nTo: Bob <bob@localhost>\nBcc: demo@localhost\nSubject: %s\nDate: Thu, 26 Nov 2026 20:00:00 +0000\nMessage-ID: <%s@postbote.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nHallo Bob,\n.a line with a leading dot\n..and two\n\nGr\xc3\xbc\xc3\x9fe\n' "$3" "$2" >"$1"
}
delivered() { "$py" "$check" smtp "$server" "<$1@postbote.test>"; }
in_folder() { "$py" "$check" count "$server" "$1" "$2" "<$3@postbote.test>"; }
outbox_state() { "$cli" outbox 2>/dev/null | awk -F'\t' '{print $2}' | sort | tr '\n' ' ' | sed 's/ $//'; }
start_proxy() {  # TARGET CUT
  rm -f "$work/proxy.port"
  "$py" "$proxy" "$1" "$PB_CA_FILE" --cut "$2" --port-file "$work/proxy.port" --log "$work/proxy.log" &
  proxy_pid=$!
  proxies+=("$proxy_pid")
  for _ in $(seq 1 100); do [ -s "$work/proxy.port" ] && break; sleep 0.05; done
  proxy_port=$(cat "$work/proxy.port")
}
# Waits up to 5 s for the server to have accepted N copies of ID (LMTP delivery is quick, but
# after a kill the server may still be finishing).
wait_delivered() {  # ID N
  for _ in $(seq 1 50); do [ "$(delivered "$1")" -ge "$2" ] && break; sleep 0.1; done
}

imaps="imaps://alice@127.0.0.1:$PB_IMAPS_PORT"

# 1. The plain case: sent once, identical, Bcc removed but delivered, copy in Sent ----------
profile plain
add_account plain "$imaps" "smtps://alice@127.0.0.1:$PB_SMTPS_PORT"
write_message "$work/m1.eml" plain-1 "Grüße aus dem Test"
run send plain "$work/m1.eml"
expect "send exits 0" "$rc" 0 "$err"
expect "send reports the message as sent" "$(grep -c '^Sent: ' <<<"$out")" 1 "$out"
expect "the server accepted it once (smtp/*.eml)" "$(delivered plain-1)" 1
expect "it is in bob's INBOX once (IMAP)" "$(in_folder bob INBOX plain-1)" 1
expect "the Bcc recipient got it once" "$(in_folder demo INBOX plain-1)" 1
expect "a copy is in alice's Sent once" "$(in_folder alice Sent plain-1)" 1
"$py" "$check" fetch "$server" bob INBOX "<plain-1@postbote.test>" >"$work/got.eml"
grep -v '^Bcc:' "$work/m1.eml" >"$work/want.eml"
if diff_out=$("$py" "$check" same "$work/want.eml" "$work/got.eml"); then
  ok "bob's copy is the message byte for byte (modulo trace headers), without Bcc"
else
  not_ok "bob's copy differs from what was sent" "$diff_out"
fi
"$py" "$check" fetch "$server" alice Sent "<plain-1@postbote.test>" >"$work/sent.eml"
if diff_out=$("$py" "$check" same "$work/want.eml" "$work/sent.eml"); then
  ok "the Sent copy is the message as sent"
else
  not_ok "the Sent copy differs" "$diff_out"
fi
expect "the outbox is empty afterwards" "$(outbox_state)" ""
json=$(ls "$server"/smtp/*.json | tail -n 1)
if grep -q '"mail_from": "alice@postbote.test"' "$json" && grep -q 'demo@localhost' "$json"; then
  ok "envelope: sender is the account's address, Bcc is a recipient"
else
  not_ok "envelope is wrong" "$(cat "$json")"
fi

# STARTTLS submission (587 style) works the same.
profile starttls
add_account starttls "$imaps" "smtp://alice@127.0.0.1:$PB_SMTP_PORT"
write_message "$work/m2.eml" starttls-1 "STARTTLS"
run send starttls "$work/m2.eml"
expect "send over STARTTLS exits 0" "$rc" 0 "$err"
expect "and it arrived once" "$(in_folder bob INBOX starttls-1)" 1

# --no-sent-copy: delivered, but nothing in Sent.
write_message "$work/m2b.eml" nocopy-1 "no copy"
run send --no-sent-copy starttls "$work/m2b.eml"
expect "send --no-sent-copy exits 0" "$rc" 0 "$err"
expect "and it arrived once" "$(in_folder bob INBOX nocopy-1)" 1
expect "without a Sent copy" "$(in_folder alice Sent nocopy-1)" 0

# Standard input, and a batch over one connection.
printf 'From: alice@postbote.test\nTo: bob@localhost\nSubject: stdin\nMessage-ID: <stdin-1@postbote.test>\n\nvia stdin\n' |
  "$cli" send starttls >"$work/out" 2>"$work/err"
expect "send from standard input exits 0" "$?" 0 "$(cat "$work/err")"
expect "and it arrived once" "$(in_folder bob INBOX stdin-1)" 1
files=()
for i in 1 2 3 4 5; do write_message "$work/batch$i.eml" "batch-$i" "batch $i"; files+=("$work/batch$i.eml"); done
before=$(ls "$server"/smtp/*.json | wc -l)
"$cli" --trace send starttls "${files[@]}" >"$work/out" 2>"$work/err"
expect "a batch of 5 exits 0" "$?" 0 "$(tail -n 5 "$work/err")"
expect "the batch used one SMTP connection (one greeting)" "$(grep -c 'smtp 127.0.0.1 S: 220 localhost' "$work/err")" 1
expect "the batch used one login" "$(grep -c 'C: AUTH PLAIN' "$work/err")" 1
expect "all 5 arrived" "$(( $(ls "$server"/smtp/*.json | wc -l) - before ))" 5
if grep -q 'Correct-Horse-7\|Q29ycmVjdC1Ib3JzZS03' "$work/err"; then
  not_ok "the trace shows the password"
else
  ok "the trace hides the password"
fi

# Only one process sends from an outbox: while another holds its lock, send waits.
profile locked
add_account locked "$imaps" "smtps://alice@127.0.0.1:$PB_SMTPS_PORT"
mkdir -p "$XDG_DATA_HOME/postbote/outbox"
flock "$XDG_DATA_HOME/postbote/outbox/.lock" sleep 3 &
holder=$!
sleep 0.3
write_message "$work/lock.eml" locked-1 "locked"
t_start=$(date +%s)
run send locked "$work/lock.eml"
t_end=$(date +%s)
wait "$holder"
expect "send waits for the other process and then exits 0" "$rc" 0 "$err"
if grep -q 'another Postbote process' <<<"$err"; then ok "saying so"; else not_ok "no notice while waiting" "$err"; fi
if [ $((t_end - t_start)) -ge 2 ]; then ok "it did wait for the lock"; else not_ok "it did not wait ($((t_end - t_start)) s)"; fi
expect "and the message arrived once" "$(in_folder bob INBOX locked-1)" 1

# Bad input: clear errors, nothing queued.
profile starttls
printf 'Subject: nobody\n\nno recipients\n' >"$work/norcpt.eml"
run send starttls "$work/norcpt.eml"
expect "a message without recipients exits 1" "$rc" 1
if grep -q 'no recipients' <<<"$err"; then ok "with a clear message"; else not_ok "unclear message" "$err"; fi
for evil in '<a\001@b>' 'x@y\000z' '<"a b"@c>'; do
  printf 'To: "evil" <bob@localhost>, %b\nSubject: x\n\nx\n' "$evil" >"$work/evil.eml"
  run send starttls "$work/evil.eml"
  expect "a recipient $evil is refused (exit 1), not rewritten" "$rc" 1 "$out"
done
run send nosuchaccount "$work/m1.eml"
expect "an unknown account exits 1" "$rc" 1
if grep -q 'nosuchaccount' <<<"$err"; then ok "naming the account"; else not_ok "error does not name the account" "$err"; fi
expect "nothing stays in the outbox" "$(outbox_state)" ""

# A permanent refusal (unknown local recipient would be accepted by the harness; a wrong
# password is permanent) ends as failed with the server's words, and is not retried.
profile wrongpw
run account add wrongpw --email alice@postbote.test --incoming "$imaps" \
  --outgoing "smtps://alice@127.0.0.1:$PB_SMTPS_PORT" --password-command "printf %s wrong" \
  --ca-file "$PB_CA_FILE" --no-check
write_message "$work/m3.eml" wrongpw-1 "wrong password"
run send wrongpw "$work/m3.eml"
expect "a rejected login exits 1" "$rc" 1
if grep -q '535' <<<"$err"; then ok "showing the server's reply"; else not_ok "no server reply in the error" "$err"; fi
expect "the message stays in the outbox as failed" "$(outbox_state)" "failed"
expect "and was not delivered" "$(delivered wrongpw-1)" 0

# Offline: nothing listens; the message stays queued and goes out once the server is back.
profile offline
add_account offline "$imaps" "smtps://alice@127.0.0.1:1"
write_message "$work/m4.eml" offline-1 "offline"
run send offline "$work/m4.eml"
expect "sending while offline exits 1" "$rc" 1
if grep -q 'stays in the outbox' <<<"$err"; then ok "saying it stays queued"; else not_ok "unclear offline message" "$err"; fi
expect "the message is queued" "$(outbox_state)" "queued"

# 2. The connection cut at each step ----------------------------------------------------------
# cut POINT TARGET: a profile whose SMTP (or IMAP for the Sent copy) goes through the proxy.
for point in before-mail after-rcpt during-data after-dot during-append; do
  profile "cut-$point"
  id="cut-$point"
  if [ "$point" = during-append ]; then
    start_proxy "$PB_IMAPS_PORT" "$point"
    add_account "$id" "imap+insecure://alice@127.0.0.1:$proxy_port" "smtps://alice@127.0.0.1:$PB_SMTPS_PORT"
  else
    start_proxy "$PB_SMTPS_PORT" "$point"
    add_account "$id" "$imaps" "smtp+insecure://alice@127.0.0.1:$proxy_port"
  fi
  write_message "$work/$id.eml" "$id" "cut $point"
  run send "$id" "$work/$id.eml"
  expect "cut $point: send exits 1" "$rc" 1 "$err"
  grep -q "cut at $point" "$work/proxy.log" || not_ok "cut $point: the proxy did not cut" "$(cat "$work/proxy.log")"
  case $point in
    before-mail|after-rcpt)
      expect "cut $point: not delivered" "$(delivered "$id")" 0
      expect "cut $point: queued for a retry" "$(outbox_state)" "queued"
      run outbox --flush
      expect "cut $point: the flush exits 0" "$rc" 0 "$err"
      ;;
    during-data)
      # The client handed over everything but never got an answer: it cannot know.
      expect "cut $point: not delivered" "$(delivered "$id")" 0
      expect "cut $point: marked uncertain" "$(outbox_state)" "uncertain"
      if grep -q 'may have been sent' <<<"$err"; then ok "cut $point: says so"; else not_ok "cut $point: unclear" "$err"; fi
      run outbox --flush
      expect "cut $point: a flush does not resend an uncertain message" "$(delivered "$id")" 0
      mid=$("$cli" outbox | cut -f1)
      run outbox --retry "$mid"
      expect "cut $point: an explicit retry exits 0" "$rc" 0 "$err"
      ;;
    after-dot)
      wait_delivered "$id" 1
      expect "cut $point: delivered (the server got the dot)" "$(delivered "$id")" 1
      expect "cut $point: marked uncertain, not sent again" "$(outbox_state)" "uncertain"
      run outbox --flush
      sleep 0.5
      expect "cut $point: a flush does not resend it" "$(delivered "$id")" 1
      mid=$("$cli" outbox | cut -f1)
      run outbox --cancel "$mid"
      expect "cut $point: the user can discard it" "$rc" 0 "$err"
      expect "cut $point: no Sent copy was made by the outbox" "$(in_folder alice Sent "$id")" 0
      ;;
    during-append)
      expect "cut $point: delivered" "$(delivered "$id")" 1
      expect "cut $point: recorded as sent, copy pending" "$(outbox_state)" "sent"
      if grep -q 'not yet copied' <<<"$err"; then ok "cut $point: says the copy is missing"; else not_ok "cut $point: unclear" "$err"; fi
      run outbox --flush
      expect "cut $point: the flush exits 0" "$rc" 0 "$err"
      ;;
  esac
  if [ "$point" != after-dot ]; then
    expect "cut $point: finally delivered exactly once (smtp)" "$(delivered "$id")" 1
    expect "cut $point: exactly once in bob's INBOX (IMAP)" "$(in_folder bob INBOX "$id")" 1
    expect "cut $point: exactly one Sent copy" "$(in_folder alice Sent "$id")" 1
  fi
  expect "cut $point: the outbox is empty" "$(outbox_state)" ""
  kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null
  rm -f "$work/proxy.log"
done

# 3. kill -9 at each step -------------------------------------------------------------------
for point in outbox-queued smtp-before-mail smtp-after-rcpt smtp-during-data smtp-after-dot \
             smtp-sent-recorded sent-before-append; do
  profile "kill-$point"
  id="kill-$point"
  add_account "$id" "$imaps" "smtps://alice@127.0.0.1:$PB_SMTPS_PORT"
  write_message "$work/$id.eml" "$id" "kill $point"
  POSTBOTE_FAULT=$point "$cli" send "$id" "$work/$id.eml" >"$work/out" 2>"$work/err"
  expect "kill $point: the process died by SIGKILL" "$?" 137
  case $point in
    outbox-queued)
      expect "kill $point: the message is queued" "$(outbox_state)" "queued"
      run outbox --flush
      expect "kill $point: the flush exits 0" "$rc" 0 "$err"
      ;;
    smtp-before-mail|smtp-after-rcpt|smtp-during-data)
      expect "kill $point: not delivered" "$(delivered "$id")" 0
      expect "kill $point: uncertain after the restart (it was sending)" "$(outbox_state)" "uncertain"
      run outbox --flush
      expect "kill $point: a flush does not resend it" "$(delivered "$id")" 0
      mid=$("$cli" outbox | cut -f1)
      run outbox --retry "$mid"
      expect "kill $point: an explicit retry exits 0" "$rc" 0 "$err"
      ;;
    smtp-after-dot)
      wait_delivered "$id" 1
      for _ in $(seq 1 50); do [ "$(in_folder bob INBOX "$id")" -ge 1 ] && break; sleep 0.1; done
      expect "kill $point: delivered" "$(delivered "$id")" 1
      expect "kill $point: uncertain after the restart" "$(outbox_state)" "uncertain"
      run outbox --flush
      sleep 0.5
      expect "kill $point: a flush does not resend it" "$(delivered "$id")" 1
      mid=$("$cli" outbox | cut -f1)
      run outbox --cancel "$mid"
      ;;
    smtp-sent-recorded|sent-before-append)
      expect "kill $point: delivered" "$(delivered "$id")" 1
      expect "kill $point: recorded as sent" "$(outbox_state)" "sent"
      run outbox --flush
      expect "kill $point: the flush (Sent copy only) exits 0" "$rc" 0 "$err"
      ;;
  esac
  expect "kill $point: delivered exactly once (smtp)" "$(delivered "$id")" 1
  expect "kill $point: exactly once in bob's INBOX (IMAP)" "$(in_folder bob INBOX "$id")" 1
  if [ "$point" != smtp-after-dot ]; then
    expect "kill $point: exactly one Sent copy" "$(in_folder alice Sent "$id")" 1
  fi
  expect "kill $point: the outbox is empty" "$(outbox_state)" ""
done

echo "1..$n"
exit $failed
