#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# check-translations.sh SRCDIR CATALOGUE.po
# Extracts the strings of SRCDIR/po/POTFILES.in the way i18n.gettext (preset glib) does and
# fails when CATALOGUE.po lacks a translation for any of them or has a fuzzy one.
set -eu

srcdir=$1
po=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

grep -v '^#' "$srcdir/po/POTFILES.in" | grep -v '^$' | sort >"$tmp/files"

# Every source file with translatable strings must be listed, or its strings never reach
# translators.
(cd "$srcdir" && {
  grep -rlE '(^|[^A-Za-z0-9_])(_|N_|C_|NC_|g_dngettext|ngettext) ?\(' --include='*.c' src || true
  grep -rl 'translatable="yes"' --include='*.ui' src || true
}) | sort -u >"$tmp/marked"
unlisted=$(comm -23 "$tmp/marked" "$tmp/files")
if [ -n "$unlisted" ]; then
  echo "Files with translatable strings missing from po/POTFILES.in:"
  echo "$unlisted"
  exit 1
fi
(cd "$srcdir" && xgettext --from-code=UTF-8 --add-comments --files-from="$tmp/files" \
  --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 --keyword=g_dcgettext:2 \
  --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 --output="$tmp/postbote.pot")
msgmerge --quiet --no-fuzzy-matching --output-file="$tmp/merged.po" "$po" "$tmp/postbote.pot"

missing=$(msgattrib --untranslated --no-obsolete "$tmp/merged.po" | grep -c '^msgid ' || true)
fuzzy=$(msgattrib --only-fuzzy --no-obsolete "$tmp/merged.po" | grep -c '^msgid ' || true)
# msgattrib prints the header entry (msgid "") along with the matches.
[ "$missing" -gt 0 ] && missing=$((missing - 1))
[ "$fuzzy" -gt 0 ] && fuzzy=$((fuzzy - 1))

if [ "$missing" -ne 0 ] || [ "$fuzzy" -ne 0 ]; then
  echo "$po: $missing untranslated, $fuzzy fuzzy:"
  msgattrib --untranslated --no-obsolete "$tmp/merged.po"
  msgattrib --only-fuzzy --no-obsolete "$tmp/merged.po"
  exit 1
fi
echo "$po: complete"
