/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <string.h>

#include "pb-imap-error.h"
#include "pb-imap-utf7.h"

/*
 * Modified UTF-7 (RFC 3501 section 5.1.3): printable US-ASCII stands for itself except "&",
 * which is written "&-"; everything else is UTF-16BE in base64 with "," instead of "/",
 * between "&" and "-".
 *
 * The decoder accepts only the one canonical spelling of each name. Two spellings of one
 * name would let a server (or a bug) create folders that look identical but are different,
 * and a lenient decoder that re-encodes differently would make the client ask for a mailbox
 * the server does not know. Rejected: printable ASCII inside base64, adjacent shift
 * sequences, padding beyond the last 16-bit unit or padding bits that are not zero, unpaired
 * surrogates, U+0000, and raw bytes outside 0x20..0x7e.
 */

static const char b64_chars[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
b64_value (guchar ch)
{
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if (ch == '+')
    return 62;
  if (ch == ',')
    return 63;
  return -1;
}

static gboolean
fail (GError     **error,
      const char  *input,
      const char  *p,
      const char  *why)
{
  g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE,
               "Malformed modified UTF-7 mailbox name: %s at byte %" G_GSIZE_FORMAT,
               why, (gsize) (p - input));
  return FALSE;
}

/* Decodes one shift sequence; *pp points after "&" and is left after the closing "-". */
static gboolean
decode_shift (const char  *input,
              const char **pp,
              GString     *out,
              GError     **error)
{
  const char *p = *pp;
  guint32 bits = 0;
  guint nbits = 0;
  guint units = 0;
  gunichar high = 0;

  for (;; p++)
    {
      int v;

      if (*p == '-')
        break;
      if (*p == '\0')
        return fail (error, input, p, "unterminated base64 (missing '-')");

      v = b64_value (*p);
      if (v < 0)
        return fail (error, input, p, "invalid modified base64 character");

      bits = (bits << 6) | (guint32) v;
      nbits += 6;
      if (nbits >= 16)
        {
          gunichar unit = (bits >> (nbits - 16)) & 0xffff;

          nbits -= 16;
          bits &= (1u << nbits) - 1;
          units++;

          if (high != 0)
            {
              if (unit < 0xdc00 || unit > 0xdfff)
                return fail (error, input, p, "high surrogate without low surrogate");
              g_string_append_unichar (out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
              high = 0;
            }
          else if (unit >= 0xd800 && unit <= 0xdbff)
            {
              high = unit;
            }
          else if (unit >= 0xdc00 && unit <= 0xdfff)
            {
              return fail (error, input, p, "low surrogate without high surrogate");
            }
          else if (unit >= 0x20 && unit <= 0x7e)
            {
              return fail (error, input, p, "printable ASCII encoded in base64");
            }
          else if (unit == 0)
            {
              return fail (error, input, p, "U+0000 in mailbox name");
            }
          else
            {
              g_string_append_unichar (out, unit);
            }
        }
    }

  if (units == 0)
    return fail (error, input, p, "base64 shorter than one character");
  if (nbits >= 6)
    return fail (error, input, p, "base64 longer than needed");
  if (bits != 0)
    return fail (error, input, p, "non-zero padding bits");
  if (high != 0)
    return fail (error, input, p, "high surrogate at end of base64");

  *pp = p + 1;
  return TRUE;
}

char *
pb_imap_utf7_decode (const char  *mutf7,
                     GError     **error)
{
  g_autoptr(GString) out = NULL;
  gboolean after_shift = FALSE;
  const char *p;

  g_return_val_if_fail (mutf7 != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  out = g_string_sized_new (strlen (mutf7));

  for (p = mutf7; *p != '\0';)
    {
      guchar ch = *p;

      if (ch == '&')
        {
          if (p[1] == '-')
            {
              g_string_append_c (out, '&');
              p += 2;
              after_shift = FALSE;
              continue;
            }
          /* "&AOQ-&AOQ-" should have been "&AOQA5A-". */
          if (after_shift)
            {
              fail (error, mutf7, p, "adjacent base64 sequences");
              return NULL;
            }
          p++;
          if (!decode_shift (mutf7, &p, out, error))
            return NULL;
          after_shift = TRUE;
        }
      else if (ch >= 0x20 && ch <= 0x7e)
        {
          g_string_append_c (out, ch);
          p++;
          after_shift = FALSE;
        }
      else
        {
          fail (error, mutf7, p, ch >= 0x80 ? "8-bit byte" : "control character");
          return NULL;
        }
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
flush_shift (GString *out,
             guint32  bits,
             guint    nbits)
{
  if (nbits > 0)
    g_string_append_c (out, b64_chars[(bits << (6 - nbits)) & 0x3f]);
  g_string_append_c (out, '-');
}

char *
pb_imap_utf7_encode (const char *utf8)
{
  g_autoptr(GString) out = NULL;
  gboolean in_shift = FALSE;
  guint32 bits = 0;
  guint nbits = 0;
  const char *p;

  g_return_val_if_fail (utf8 != NULL, NULL);

  if (!g_utf8_validate (utf8, -1, NULL))
    return NULL;

  out = g_string_sized_new (strlen (utf8) + 8);

  for (p = utf8; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar ch = g_utf8_get_char (p);
      guint32 units[2];
      guint n_units;

      if (ch >= 0x20 && ch <= 0x7e)
        {
          if (in_shift)
            {
              flush_shift (out, bits, nbits);
              in_shift = FALSE;
              bits = nbits = 0;
            }
          if (ch == '&')
            g_string_append (out, "&-");
          else
            g_string_append_c (out, (char) ch);
          continue;
        }

      if (!in_shift)
        {
          g_string_append_c (out, '&');
          in_shift = TRUE;
        }

      if (ch >= 0x10000)
        {
          units[0] = 0xd800 + ((ch - 0x10000) >> 10);
          units[1] = 0xdc00 + ((ch - 0x10000) & 0x3ff);
          n_units = 2;
        }
      else
        {
          units[0] = ch;
          n_units = 1;
        }

      for (guint i = 0; i < n_units; i++)
        {
          bits = (bits << 16) | units[i];
          nbits += 16;
          while (nbits >= 6)
            {
              nbits -= 6;
              g_string_append_c (out, b64_chars[(bits >> nbits) & 0x3f]);
            }
          bits &= (1u << nbits) - 1;
        }
    }

  if (in_shift)
    flush_shift (out, bits, nbits);

  return g_string_free (g_steal_pointer (&out), FALSE);
}
