/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-mime"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>
#include <gio/gio.h>

#include "pb-mailto.h"

void
pb_mailto_free (PbMailto *mailto)
{
  if (mailto == NULL)
    return;
  g_free (mailto->to);
  g_free (mailto->cc);
  g_free (mailto->bcc);
  g_free (mailto->subject);
  g_free (mailto->body);
  g_free (mailto->in_reply_to);
  g_free (mailto);
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Percent-decodes @len bytes of @text. "+" stays "+" (RFC 6068 is not a form encoding). The
 * result must be UTF-8 without NUL. */
static char *
percent_decode (const char  *text,
                gsize        len,
                GError     **error)
{
  g_autoptr(GString) out = g_string_sized_new (len);

  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == '%')
        {
          int hi = i + 2 < len ? hex_value (text[i + 1]) : -1;
          int lo = i + 2 < len ? hex_value (text[i + 2]) : -1;

          if (hi < 0 || lo < 0)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                   _("The mailto: link has a broken percent escape"));
              return NULL;
            }
          g_string_append_c (out, (char) (hi * 16 + lo));
          i += 2;
        }
      else
        g_string_append_c (out, text[i]);
    }

  if (memchr (out->str, '\0', out->len) != NULL || !g_utf8_validate (out->str, out->len, NULL))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("The mailto: link is not valid UTF-8"));
      return NULL;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* One line: control characters (CR and LF above all: header injection) become spaces. */
static char *
one_line (const char *text)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029)
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
    }
  return g_strstrip (g_string_free (g_steal_pointer (&out), FALSE));
}

/* The body keeps line ends (CRLF and CR become LF) and tabs; other controls go. */
static char *
clean_body (const char *text)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '\r')
        {
          g_string_append_c (out, '\n');
          if (p[1] == '\n')
            p++;
        }
      else if (c == '\n' || c == '\t')
        g_string_append_c (out, (char) c);
      else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
        continue;
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
append_addresses (char       **field,
                  const char  *addresses)
{
  g_autofree char *line = one_line (addresses);
  char *joined;

  if (*line == '\0')
    return;
  if (*field == NULL)
    {
      *field = g_steal_pointer (&line);
      return;
    }
  /* Bounded by PB_MAILTO_MAX_LENGTH: each piece came from the URI. */
  joined = g_strconcat (*field, ", ", line, NULL);
  g_free (*field);
  *field = joined;
}

/**
 * pb_mailto_parse:
 * @uri: a mailto: URI
 *
 * Returns: (transfer full): what the link asks for, or %NULL with @error set when it is not a
 *   mailto: URI, is too long, or has broken escapes or non-UTF-8 bytes
 */
PbMailto *
pb_mailto_parse (const char  *uri,
                 GError     **error)
{
  g_autoptr(PbMailto) mailto = NULL;
  const char *p;
  const char *query;
  gsize len;
  guint fields = 0;

  g_return_val_if_fail (uri != NULL, NULL);

  len = strnlen (uri, PB_MAILTO_MAX_LENGTH + 1);
  if (len > PB_MAILTO_MAX_LENGTH)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("The mailto: link is too long"));
      return NULL;
    }
  if (g_ascii_strncasecmp (uri, "mailto:", 7) != 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("This is not a mailto: link"));
      return NULL;
    }

  mailto = g_new0 (PbMailto, 1);
  p = uri + 7;
  /* A fragment is not part of the address or the headers. */
  len = strcspn (p, "#");
  query = memchr (p, '?', len);

  {
    gsize path_len = query != NULL ? (gsize) (query - p) : len;
    g_autofree char *path = percent_decode (p, path_len, error);

    if (path == NULL)
      return NULL;
    append_addresses (&mailto->to, path);
  }

  if (query != NULL)
    {
      const char *end = p + len;
      const char *field = query + 1;

      while (field < end && fields < PB_MAILTO_MAX_FIELDS)
        {
          const char *amp = memchr (field, '&', end - field);
          const char *field_end = amp != NULL ? amp : end;
          const char *eq = memchr (field, '=', field_end - field);
          g_autofree char *name = NULL;
          g_autofree char *value = NULL;

          fields++;
          if (eq != NULL)
            {
              name = percent_decode (field, eq - field, error);
              if (name == NULL)
                return NULL;
              value = percent_decode (eq + 1, field_end - eq - 1, error);
              if (value == NULL)
                return NULL;

              if (g_ascii_strcasecmp (name, "to") == 0)
                append_addresses (&mailto->to, value);
              else if (g_ascii_strcasecmp (name, "cc") == 0)
                append_addresses (&mailto->cc, value);
              else if (g_ascii_strcasecmp (name, "bcc") == 0)
                append_addresses (&mailto->bcc, value);
              else if (g_ascii_strcasecmp (name, "subject") == 0 && mailto->subject == NULL)
                mailto->subject = one_line (value);
              else if (g_ascii_strcasecmp (name, "body") == 0 && mailto->body == NULL)
                mailto->body = clean_body (value);
              else if (g_ascii_strcasecmp (name, "in-reply-to") == 0
                       && mailto->in_reply_to == NULL)
                {
                  g_autofree char *id = one_line (value);

                  /* Only "<local@domain>", so that nothing else rides into the header. */
                  if (id[0] == '<' && g_str_has_suffix (id, ">") && strchr (id, '@') != NULL
                      && strpbrk (id, " \t\"") == NULL
                      && strchr (id + 1, '<') == NULL && strchr (id, '>') == id + strlen (id) - 1)
                    mailto->in_reply_to = g_steal_pointer (&id);
                }
              /* attach=, attachment= and anything else: ignored (see PbMailto). */
            }
          if (amp == NULL)
            break;
          field = amp + 1;
        }
    }

  return g_steal_pointer (&mailto);
}
