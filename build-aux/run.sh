#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The two commands of the README, on a fresh Debian 12 machine (as root, or with sudo):
#   ./build-aux/run.sh demo   install what is missing, build, start the demo mail server on
#                             127.0.0.1 and open Postbote on it
#   ./build-aux/run.sh test   install what is missing, build, run every test suite
# Environment: PB_BUILDDIR (default _build), PB_DEMO_SECONDS (demo: quit after N seconds),
# PB_SKIP_INSTALL=1 (do not touch packages).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PB_BUILDDIR:-$top/_build}

# Everything the project needs, by purpose. Keep in sync with the README.
pkgs_build="build-essential meson ninja-build pkgconf gettext libglib2.0-dev libglib2.0-bin
  libgtk-4-dev libgtk-4-bin libadwaita-1-dev libwebkitgtk-6.0-dev libgmime-3.0-dev
  libsecret-1-dev libsqlite3-dev appstream desktop-file-utils"
pkgs_run="dovecot-imapd dovecot-pop3d dovecot-lmtpd python3 python3-aiosmtpd openssl
  xvfb xauth imagemagick dbus-daemon gnome-keyring libsecret-tools libgl1-mesa-dri
  fonts-dejavu-core fonts-noto-cjk adwaita-icon-theme locales"
pkgs_test="xdotool clang libclang-rt-14-dev valgrind"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_missing() {
  local missing=()
  for p in $*; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "${PB_SKIP_INSTALL:-0}" = 1 ]; then
    log "missing packages (PB_SKIP_INSTALL=1, not installing): ${missing[*]}"
    return 0
  fi
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  log "installing: ${missing[*]}"
  # Debian's dovecot-core starts a system instance on 143/993 when installed; ours run on
  # private ports beside it, so that is harmless, but keep installs non-interactive.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" </dev/null
}

# The German UI needs a German locale to exist (gettext ignores LANGUAGE under C/POSIX).
ensure_locales() {
  if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
    [ "$(id -u)" -eq 0 ] || return 0
    [ "${PB_SKIP_INSTALL:-0}" = 1 ] && return 0
    log "generating the de_DE.UTF-8 and en_US.UTF-8 locales"
    sed -i -E 's/^# *(de_DE\.UTF-8 UTF-8)/\1/; s/^# *(en_US\.UTF-8 UTF-8)/\1/' /etc/locale.gen
    locale-gen >/dev/null
  fi
}

configure_and_build() {
  if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" "$top" "$@" >/dev/null
  else
    meson setup "$build" "$top" "$@"
  fi
  log "building in $build"
  meson compile -C "$build"
}

cmd_test() {
  install_missing $pkgs_build $pkgs_run $pkgs_test
  ensure_locales
  configure_and_build
  log "running the test suites (unit, integration, ui, fuzz)"
  local rc=0
  meson test -C "$build" --print-errorlogs --num-processes "$(nproc)" || rc=$?
  /usr/bin/python3 "$top/build-aux/test-summary.py" "$build/meson-logs/testlog.json" || rc=1

  # A short coverage-guided run of every fuzz target with libFuzzer, ASan and UBSan. The
  # replay run inside the suite above works with any compiler; this one finds new inputs.
  log "fuzzing each target briefly with libFuzzer (clang, ASan, UBSan)"
  local fuzz_build="$build-fuzz"
  if [ -f "$fuzz_build/build.ninja" ]; then
    meson setup --reconfigure "$fuzz_build" "$top" >/dev/null
  else
    CC=clang meson setup "$fuzz_build" "$top" -Dgui=false -Dtests=true -Dfuzzing=true \
      -Dbuildtype=debug >/dev/null
  fi
  meson compile -C "$fuzz_build" >/dev/null
  local seconds=${PB_FUZZ_SECONDS:-20}
  local ran=0
  for fuzzer in "$fuzz_build"/tests/fuzz/*-libfuzzer; do
    [ -x "$fuzzer" ] || continue
    local name corpus work
    # fuzz-imap-parser-libfuzzer -> tests/fuzz/corpus/imap,
    # fuzz-pop3-parser-libfuzzer -> tests/fuzz/corpus/pop3
    name=$(basename "$fuzzer"); name=${name%-libfuzzer}
    corpus="$top/tests/fuzz/corpus/${name#fuzz-}"
    [ -d "$corpus" ] || corpus="$top/tests/fuzz/corpus/$(cut -d- -f2 <<<"$name")"
    [ -d "$corpus" ] || { echo "fuzz: $name: no seed corpus"; rc=1; continue; }
    ran=$((ran + 1))
    work=$(mktemp -d)
    if "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=0 \
        "$work" "$corpus" >"$work.log" 2>&1; then
      echo "fuzz: $name: ok (${seconds}s, $(grep -o 'cov: [0-9]*' "$work.log" | tail -n1))"
    else
      echo "fuzz: $name: FAILED"; tail -n 40 "$work.log"; rc=1
    fi
    rm -rf "$work" "$work.log"
  done
  [ "$ran" -gt 0 ] || { echo "fuzz: no libFuzzer target was built"; rc=1; }
  return $rc
}

cmd_demo() {
  install_missing $pkgs_build $pkgs_run
  ensure_locales
  configure_and_build

  local demo="$build/demo"
  # Globals, not locals: the EXIT trap runs after this function has returned.
  server=$(mktemp -d /tmp/pbdemo.XXXXXX)
  chmod 0755 "$server"
  xvfb_pid= app_pid=
  cleanup() {
    [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
    "$top/build-aux/mailserver/pb-mailserver" stop "$server" >/dev/null 2>&1 || true
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
    rm -rf "$server"
  }
  trap cleanup EXIT

  log "starting the demo mail server (Dovecot + SMTP) on 127.0.0.1"
  "$top/build-aux/mailserver/pb-mailserver" start "$server" --seed demo >/dev/null
  # shellcheck disable=SC1091
  . "$server/env"

  # A profile of its own: the demo never touches your real Postbote configuration.
  rm -rf "$demo"
  mkdir -p "$demo/config" "$demo/data" "$demo/cache" "$demo/state"
  export XDG_CONFIG_HOME="$demo/config" XDG_DATA_HOME="$demo/data" \
         XDG_CACHE_HOME="$demo/cache" XDG_STATE_HOME="$demo/state"
  export GSETTINGS_SCHEMA_DIR="$build/data" POSTBOTE_LOCALEDIR="$build/po/locale"

  # The demo password is public and the server listens on loopback only, so a password
  # command that prints it is fine here; real accounts use the keyring.
  "$build/src/cli/postbote-cli" account add demo --email demo@postbote.test \
    --name "Demo User" --incoming "imaps://demo@127.0.0.1:$PB_IMAPS_PORT" \
    --outgoing "smtps://demo@127.0.0.1:$PB_SMTPS_PORT" \
    --ca-file "$PB_CA_FILE" --password-command 'printf %s demo'
  echo "Demo account: IMAP 127.0.0.1:$PB_IMAPS_PORT (TLS), SMTP 127.0.0.1:$PB_SMTPS_PORT" \
       "(TLS), user demo, password demo"
  "$build/src/cli/postbote-cli" folders demo | sed 's/^/  folder: /'

  local headless=0
  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    headless=1
    log "no display: running on a virtual one (Xvfb); a screenshot goes to $build/demo.png"
    Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$server/display" \
      >/dev/null 2>&1 &
    xvfb_pid=$!
    for _ in $(seq 1 100); do [ -s "$server/display" ] && break; sleep 0.05; done
    export DISPLAY=":$(head -n1 "$server/display")"
    export GSK_RENDERER=cairo GTK_A11Y=none
    export NO_AT_BRIDGE=1
  fi

  log "opening Postbote"
  if [ "$headless" = 1 ]; then
    dbus-run-session -- "$build/src/ui/postbote" &
  else
    "$build/src/ui/postbote" &
  fi
  app_pid=$!

  if [ "$headless" = 1 ]; then
    sleep "${PB_DEMO_SHOT_AFTER:-4}"
    /usr/bin/import -window root -trim +repage "$build/demo.png" \
      && echo "Screenshot: $build/demo.png"
  fi
  if [ -n "${PB_DEMO_SECONDS:-}" ]; then
    sleep "$PB_DEMO_SECONDS"
    kill "$app_pid" 2>/dev/null || true
  fi
  wait "$app_pid" || true
  app_pid=
}

case "${1:-}" in
  test) shift; cmd_test "$@" ;;
  demo) shift; cmd_demo "$@" ;;
  *)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac
