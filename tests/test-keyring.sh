#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Inside the private bus: start an unlocked gnome-keyring, wait until it owns the name, run.
set -euo pipefail
eval "$(printf %s testpw | gnome-keyring-daemon --replace --unlock --components=secrets 2>/dev/null)" || true
gdbus wait --session --timeout 10 org.freedesktop.secrets >/dev/null 2>&1 \
  || { echo "Bail out! gnome-keyring did not start"; exit 1; }
exec "$@"
