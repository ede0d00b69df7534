#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs one command (a test) in a private desktop session: throw-away HOME and XDG folders,
# its own Xvfb display, its own D-Bus session bus without service activation, and an unlocked
# gnome-keyring providing a real Secret Service. Used by meson as every test's exe_wrapper.
set -euo pipefail

tmp=$(mktemp -d /tmp/pbtest.XXXXXX)
chmod 0755 "$tmp"
xvfb_pid=
cleanup() {
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

export HOME="$tmp/home"
export XDG_RUNTIME_DIR="$tmp/run"
export XDG_CONFIG_HOME="$HOME/.config"
export XDG_DATA_HOME="$HOME/.local/share"
export XDG_CACHE_HOME="$HOME/.cache"
export XDG_STATE_HOME="$HOME/.local/state"
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_STATE_HOME"
mkdir -m 0700 -p "$XDG_RUNTIME_DIR"

# Xvfb writes the display number it picked to fd 3: no guessing, no races between tests.
if command -v Xvfb >/dev/null; then
  Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp -noreset 3>"$tmp/display" \
    >"$tmp/xvfb.log" 2>&1 &
  xvfb_pid=$!
  for _ in $(seq 1 100); do
    [ -s "$tmp/display" ] && break
    sleep 0.05
  done
  [ -s "$tmp/display" ] || { echo "Bail out! Xvfb did not start"; cat "$tmp/xvfb.log"; exit 1; }
  export DISPLAY=":$(head -n1 "$tmp/display")"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Not exec: the EXIT trap must still run to stop Xvfb and remove the folder.
rc=0
dbus-run-session --config-file="$here/dbus-session.conf" -- \
  bash "$here/test-keyring.sh" "$@" || rc=$?
exit $rc
