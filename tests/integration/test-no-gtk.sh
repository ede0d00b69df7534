#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# postbote-cli links the engine only: no GTK, GDK, libadwaita or WebKit, directly or through
# another library. That keeps the engine usable on servers and in scripts.
set -u
cli=$1
echo "1..2"
needed=$(readelf -d "$cli" | awk '/NEEDED/ {print $5}')
if [ -n "$needed" ] && ! grep -qiE 'gtk|gdk|adwaita|webkit' <<<"$needed"; then
  echo "ok 1 - direct dependencies have no GTK: $(tr '\n' ' ' <<<"$needed")"
else
  echo "not ok 1 - postbote-cli needs: $needed"
fi
all=$(ldd "$cli")
if grep -qiE 'libgtk|libgdk|libadwaita|libwebkit' <<<"$all"; then
  echo "not ok 2 - postbote-cli pulls in GTK indirectly:"; sed 's/^/# /' <<<"$all"
else
  echo "ok 2 - no GTK among $(wc -l <<<"$all") loaded libraries"
fi
