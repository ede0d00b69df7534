/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-smtp"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "pb-smtp-reply.h"

struct _PbSmtpReplyParser
{
  GString   *line;       /* the line being read, without its line end */
  GPtrArray *lines;      /* texts of the lines of the reply being read */
  gsize      size;       /* bytes of the reply being read */
  guint      code;       /* of the reply being read, 0 before its first line */
  char       enhanced[16];
  gboolean   broken;
};

void
pb_smtp_reply_free (PbSmtpReply *reply)
{
  if (reply == NULL)
    return;
  g_strfreev (reply->lines);
  g_free (reply);
}

char *
pb_smtp_reply_to_string (const PbSmtpReply *reply)
{
  GString *out = g_string_new (NULL);
  g_autofree char *valid = NULL;

  g_string_append_printf (out, "%03u", reply->code);
  for (guint i = 0; reply->lines[i] != NULL; i++)
    if (reply->lines[i][0] != '\0')
      {
        g_string_append_c (out, ' ');
        /* Control characters could rewrite a terminal line or fake a second message. */
        for (const char *p = reply->lines[i]; *p; p++)
          g_string_append_c (out, (guchar) *p < 0x20 || *p == 0x7f ? ' ' : *p);
      }
  valid = g_utf8_make_valid (out->str, out->len);
  g_string_free (out, TRUE);
  return g_steal_pointer (&valid);
}

PbSmtpReplyParser *
pb_smtp_reply_parser_new (void)
{
  PbSmtpReplyParser *parser = g_new0 (PbSmtpReplyParser, 1);

  parser->line = g_string_sized_new (128);
  parser->lines = g_ptr_array_new_with_free_func (g_free);
  return parser;
}

void
pb_smtp_reply_parser_free (PbSmtpReplyParser *parser)
{
  if (parser == NULL)
    return;
  g_string_free (parser->line, TRUE);
  g_ptr_array_unref (parser->lines);
  g_free (parser);
}

gboolean
pb_smtp_reply_parser_is_pending (PbSmtpReplyParser *parser)
{
  return parser->line->len > 0 || parser->lines->len > 0;
}

/* "X.Y.Z" at the start of @text, with X the class of @code (RFC 3463, RFC 2034). */
static void
parse_enhanced (const char *text,
                guint       code,
                char        out[16])
{
  const char *p = text;

  out[0] = '\0';
  if (*p != '0' + (char) (code / 100) || (*p != '2' && *p != '4' && *p != '5') || p[1] != '.')
    return;
  p += 2;
  for (int part = 0; part < 2; part++)
    {
      int digits = 0;

      while (g_ascii_isdigit (*p) && digits < 4)
        p++, digits++;
      if (digits == 0 || digits > 3 || (part == 0 && *p != '.'))
        return;
      if (part == 0)
        p++;
    }
  if (*p != '\0' && *p != ' ')
    return;
  g_assert ((gsize) (p - text) < 16);
  memcpy (out, text, p - text);
  out[p - text] = '\0';
}

static gboolean
fail (PbSmtpReplyParser  *parser,
      GError            **error,
      int                 code,
      const char         *message)
{
  parser->broken = TRUE;
  g_set_error_literal (error, PB_SMTP_ERROR, code, message);
  return FALSE;
}

/* Handles one complete line; sets *@done when it ended a reply. */
static gboolean
take_line (PbSmtpReplyParser  *parser,
           gboolean           *done,
           GError            **error)
{
  const char *s = parser->line->str;
  gsize len = parser->line->len;
  guint code;
  char separator;

  if (len > 0 && s[len - 1] == '\r')
    len--;
  if (len < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '9'
      || !g_ascii_isdigit (s[2]))
    return fail (parser, error, PB_SMTP_ERROR_PROTOCOL,
                 _("The server sent a reply without a valid status code"));
  code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
  separator = len > 3 ? s[3] : ' ';
  if (separator != ' ' && separator != '-')
    return fail (parser, error, PB_SMTP_ERROR_PROTOCOL,
                 _("The server sent a malformed reply line"));
  if (parser->code != 0 && code != parser->code)
    return fail (parser, error, PB_SMTP_ERROR_PROTOCOL,
                 _("The server changed the status code within a multi-line reply"));
  if (parser->lines->len >= PB_SMTP_REPLY_MAX_LINES)
    return fail (parser, error, PB_SMTP_ERROR_LIMIT,
                 _("The server sent a reply with too many lines"));

  {
    char *text = g_strndup (len > 4 ? s + 4 : "", len > 4 ? len - 4 : 0);

    /* A NUL would cut the text short silently; show it as a visible mark instead. */
    for (gsize i = 0; len > 4 && i < len - 4; i++)
      if (text[i] == '\0')
        text[i] = '?';
    if (parser->code == 0)
      parse_enhanced (text, code, parser->enhanced);
    g_ptr_array_add (parser->lines, text);
  }
  parser->code = code;
  *done = separator == ' ';
  return TRUE;
}

gssize
pb_smtp_reply_parser_feed (PbSmtpReplyParser  *parser,
                           const guint8       *data,
                           gsize               length,
                           PbSmtpReply       **reply_out,
                           GError            **error)
{
  gsize i = 0;

  g_return_val_if_fail (parser != NULL, -1);
  g_return_val_if_fail (reply_out != NULL, -1);

  *reply_out = NULL;
  if (parser->broken)
    {
      g_set_error_literal (error, PB_SMTP_ERROR, PB_SMTP_ERROR_PROTOCOL,
                           _("The reply parser already failed"));
      return -1;
    }

  while (i < length)
    {
      const guint8 *newline = memchr (data + i, '\n', length - i);
      gsize n = newline ? (gsize) (newline - (data + i)) : length - i;
      gboolean done = FALSE;

      if (parser->line->len + n > PB_SMTP_REPLY_MAX_LINE)
        {
          fail (parser, error, PB_SMTP_ERROR_LIMIT, _("The server sent an overlong reply line"));
          return -1;
        }
      parser->size += n + (newline ? 1 : 0);
      if (parser->size > PB_SMTP_REPLY_MAX_SIZE)
        {
          fail (parser, error, PB_SMTP_ERROR_LIMIT, _("The server sent an overlong reply"));
          return -1;
        }
      g_string_append_len (parser->line, (const char *) data + i, n);
      i += n;
      if (newline == NULL)
        break;
      i++;
      if (!take_line (parser, &done, error))
        return -1;
      g_string_truncate (parser->line, 0);
      if (done)
        {
          PbSmtpReply *reply = g_new0 (PbSmtpReply, 1);

          reply->code = parser->code;
          memcpy (reply->enhanced, parser->enhanced, sizeof reply->enhanced);
          g_ptr_array_add (parser->lines, NULL);
          reply->lines = (char **) g_ptr_array_steal (parser->lines, NULL);
          parser->code = 0;
          parser->size = 0;
          parser->enhanced[0] = '\0';
          *reply_out = reply;
          return i;
        }
    }
  return i;
}
