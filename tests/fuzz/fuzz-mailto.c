/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <gio/gio.h>

#include "pb-mailto.h"

/*
 * Fuzz target for the mailto: parser (RFC 6068). Beyond "does not crash", it checks what the
 * composer relies on: a parse either fails with an error or gives UTF-8 fields; the one-line
 * fields (addresses, subject, In-Reply-To) hold no control characters, so nothing can ride
 * into a header; the body has LF line ends only; In-Reply-To is a single <id@host>.
 */

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static void
check_line (const char *value)
{
  if (value == NULL)
    return;
  g_assert_true (g_utf8_validate (value, -1, NULL));
  for (const char *p = value; *p != '\0'; p++)
    g_assert_true ((guchar) *p >= 0x20 && *p != 0x7f);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *uri = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PbMailto) mailto = NULL;

  /* The parser takes a C string; the fuzzer's bytes may carry NULs, which end it early. */
  uri = g_malloc (size + 8);
  memcpy (uri, "mailto:", 7);
  memcpy (uri + 7, data, size);
  uri[size + 7] = '\0';

  mailto = pb_mailto_parse ((size > 0 && data[0] == 'X') ? uri + 8 : uri, &error);
  if (mailto == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == G_IO_ERROR);
      return 0;
    }
  g_assert_null (error);
  check_line (mailto->to);
  check_line (mailto->cc);
  check_line (mailto->bcc);
  check_line (mailto->subject);
  check_line (mailto->in_reply_to);
  if (mailto->in_reply_to != NULL)
    {
      g_assert_true (mailto->in_reply_to[0] == '<');
      g_assert_true (g_str_has_suffix (mailto->in_reply_to, ">"));
    }
  if (mailto->body != NULL)
    {
      g_assert_true (g_utf8_validate (mailto->body, -1, NULL));
      g_assert_null (strchr (mailto->body, '\r'));
    }
  return 0;
}
