/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-pop3"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "pb-pop3-error.h"
#include "pb-pop3-parser.h"

#define DEFAULT_MAX_LINE 4096
#define DEFAULT_MAX_DATA_LINE (1024 * 1024)
#define DEFAULT_MAX_DATA (256 * 1024 * 1024)

typedef enum {
  STATE_STATUS,          /* reading the status line */
  STATE_LINE_START,      /* multi-line data: at the start of a line */
  STATE_DOT,             /* a line started with "." */
  STATE_DOT_CR,          /* a line started with ".\r" */
  STATE_IN_LINE,         /* inside a data line */
} State;

struct _PbPop3Parser
{
  PbPop3ParserLimits  limits;
  PbPop3Expect        expect;
  State               state;
  GByteArray         *line;       /* the status line so far */
  GByteArray         *data;       /* the multi-line data so far */
  gsize               line_length; /* of the current data line */
  PbPop3Status        status;
  char               *text;
  gboolean            started;    /* any byte of the current reply was consumed */
};

void
pb_pop3_reply_free (PbPop3Reply *reply)
{
  if (reply == NULL)
    return;
  g_free (reply->text);
  g_clear_pointer (&reply->data, g_bytes_unref);
  g_free (reply);
}

PbPop3Parser *
pb_pop3_parser_new (const PbPop3ParserLimits *limits)
{
  PbPop3Parser *self = g_new0 (PbPop3Parser, 1);

  if (limits != NULL)
    self->limits = *limits;
  if (self->limits.max_line == 0)
    self->limits.max_line = DEFAULT_MAX_LINE;
  if (self->limits.max_data_line == 0)
    self->limits.max_data_line = DEFAULT_MAX_DATA_LINE;
  if (self->limits.max_data == 0)
    self->limits.max_data = DEFAULT_MAX_DATA;
  self->line = g_byte_array_new ();
  self->state = STATE_STATUS;
  return self;
}

void
pb_pop3_parser_free (PbPop3Parser *self)
{
  if (self == NULL)
    return;
  g_byte_array_unref (self->line);
  if (self->data != NULL)
    g_byte_array_unref (self->data);
  g_free (self->text);
  g_free (self);
}

/* Sets what the next reply is; replies come in the order of the commands, so the client calls
 * this before it feeds the bytes of each reply. */
void
pb_pop3_parser_expect (PbPop3Parser *self,
                       PbPop3Expect  expect)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (!self->started);
  self->expect = expect;
}

gboolean
pb_pop3_parser_in_reply (PbPop3Parser *self)
{
  return self->started;
}

static void
reset (PbPop3Parser *self)
{
  g_byte_array_set_size (self->line, 0);
  if (self->data != NULL)
    {
      g_byte_array_unref (self->data);
      self->data = NULL;
    }
  g_clear_pointer (&self->text, g_free);
  self->state = STATE_STATUS;
  self->line_length = 0;
  self->started = FALSE;
  self->expect = PB_POP3_EXPECT_SINGLE;
}

static PbPop3Reply *
take_reply (PbPop3Parser *self)
{
  PbPop3Reply *reply = g_new0 (PbPop3Reply, 1);

  reply->status = self->status;
  reply->text = g_steal_pointer (&self->text);
  if (self->data != NULL)
    reply->data = g_byte_array_free_to_bytes (g_steal_pointer (&self->data));
  reset (self);
  return reply;
}

/* Parses the status line (without its line ending). Returns FALSE on a malformed line. */
static gboolean
parse_status (PbPop3Parser  *self,
              const char    *line,
              gsize          length,
              GError       **error)
{
  gsize skip;

  if (memchr (line, '\0', length) != NULL)
    goto bad;
  if (length >= 3 && memcmp (line, "+OK", 3) == 0)
    {
      self->status = PB_POP3_STATUS_OK;
      skip = 3;
    }
  else if (length >= 4 && memcmp (line, "-ERR", 4) == 0)
    {
      self->status = PB_POP3_STATUS_ERR;
      skip = 4;
    }
  else if (self->expect == PB_POP3_EXPECT_SASL && length >= 1 && line[0] == '+'
           && (length == 1 || line[1] == ' '))
    {
      self->status = PB_POP3_STATUS_CONTINUE;
      skip = 1;
    }
  else
    goto bad;

  /* "+OKAY" is not "+OK": the indicator ends the line or is followed by a space. */
  if (length > skip && line[skip] != ' ')
    goto bad;
  if (length > skip)
    skip++;
  self->text = g_strndup (line + skip, length - skip);
  return TRUE;

bad:
  g_set_error_literal (error, PB_POP3_ERROR, PB_POP3_ERROR_PARSE,
                       _("The server sent a reply that is not POP3"));
  return FALSE;
}

static gboolean
append_data (PbPop3Parser  *self,
             const guint8  *data,
             gsize          length,
             GError       **error)
{
  if (self->data->len + length > self->limits.max_data)
    {
      g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_LIMIT,
                   _("A message from the server is larger than %lu bytes"),
                   (gulong) self->limits.max_data);
      return FALSE;
    }
  self->line_length += length;
  if (self->line_length > self->limits.max_data_line)
    {
      g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_LIMIT,
                   _("A line of a message from the server is longer than %lu bytes"),
                   (gulong) self->limits.max_data_line);
      return FALSE;
    }
  g_byte_array_append (self->data, data, length);
  return TRUE;
}

/**
 * pb_pop3_parser_feed:
 * @data: (array length=length): bytes from the server
 * @consumed: (out): how many of them belong to the current reply
 * @reply: (out) (transfer full): the reply, once it is complete, else %NULL
 *
 * Consumes bytes until the current reply is complete (then *@reply is set and the bytes after
 * it are left alone) or @data is used up. After an error the session cannot go on.
 *
 * Returns: %FALSE on a malformed reply or one beyond the limits (%PB_POP3_ERROR_PARSE,
 *   %PB_POP3_ERROR_LIMIT)
 */
gboolean
pb_pop3_parser_feed (PbPop3Parser  *self,
                     const guint8  *data,
                     gsize          length,
                     gsize         *consumed,
                     PbPop3Reply  **reply,
                     GError       **error)
{
  gsize i = 0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (consumed != NULL && reply != NULL, FALSE);

  *reply = NULL;
  *consumed = 0;
  if (length > 0)
    self->started = TRUE;

  while (i < length)
    {
      switch (self->state)
        {
        case STATE_STATUS:
          {
            const guint8 *nl = memchr (data + i, '\n', length - i);
            gsize n = nl != NULL ? (gsize) (nl - (data + i)) + 1 : length - i;
            gsize line_length;

            if (self->line->len + n > self->limits.max_line)
              {
                g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_LIMIT,
                             _("The server sent a reply line longer than %lu bytes"),
                             (gulong) self->limits.max_line);
                return FALSE;
              }
            g_byte_array_append (self->line, data + i, n);
            i += n;
            if (nl == NULL)
              break;

            line_length = self->line->len - 1;
            if (line_length > 0 && self->line->data[line_length - 1] == '\r')
              line_length--;
            if (!parse_status (self, (const char *) self->line->data, line_length, error))
              return FALSE;
            if (self->expect == PB_POP3_EXPECT_MULTI && self->status == PB_POP3_STATUS_OK)
              {
                self->data = g_byte_array_new ();
                self->state = STATE_LINE_START;
                self->line_length = 0;
                break;
              }
            *consumed = i;
            *reply = take_reply (self);
            return TRUE;
          }

        case STATE_LINE_START:
          if (data[i] == '.')
            {
              self->state = STATE_DOT;
              i++;
              break;
            }
          self->state = STATE_IN_LINE;
          self->line_length = 0;
          break;

        case STATE_DOT:
          if (data[i] == '\r')
            {
              self->state = STATE_DOT_CR;
              i++;
              break;
            }
          if (data[i] == '\n')
            {
              /* "." + bare LF: a server that ends lines with LF only. */
              i++;
              *consumed = i;
              *reply = take_reply (self);
              return TRUE;
            }
          /* A stuffed dot: the line goes on without it (RFC 1939 3). */
          self->state = STATE_IN_LINE;
          self->line_length = 0;
          break;

        case STATE_DOT_CR:
          if (data[i] == '\n')
            {
              i++;
              *consumed = i;
              *reply = take_reply (self);
              return TRUE;
            }
          /* ".\r" followed by something else: the dot was stuffing, the CR is data. */
          self->line_length = 0;
          if (!append_data (self, (const guint8 *) "\r", 1, error))
            return FALSE;
          self->state = STATE_IN_LINE;
          break;

        case STATE_IN_LINE:
          {
            const guint8 *nl = memchr (data + i, '\n', length - i);
            gsize n = nl != NULL ? (gsize) (nl - (data + i)) + 1 : length - i;

            if (!append_data (self, data + i, n, error))
              return FALSE;
            i += n;
            if (nl != NULL)
              {
                self->state = STATE_LINE_START;
                self->line_length = 0;
              }
            break;
          }

        default:
          g_assert_not_reached ();
        }
    }

  *consumed = i;
  return TRUE;
}

/* Listings */

/* RFC 1939 7: a unique-id is 1 to 70 characters in the range 0x21 to 0x7E. */
gboolean
pb_pop3_uidl_is_valid (const char *uidl,
                       gsize       length)
{
  if (length == 0 || length > 70)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if ((guchar) uidl[i] < 0x21 || (guchar) uidl[i] > 0x7e)
      return FALSE;
  return TRUE;
}

static gboolean
parse_number (const char **p,
              const char  *end,
              guint64      max,
              guint64     *value)
{
  guint64 v = 0;
  const char *q = *p;

  if (q == end || !g_ascii_isdigit (*q))
    return FALSE;
  for (; q < end && g_ascii_isdigit (*q); q++)
    {
      v = v * 10 + (guint64) (*q - '0');
      if (v > max)
        return FALSE;
    }
  *p = q;
  *value = v;
  return TRUE;
}

static void
list_entry_clear (gpointer data)
{
  g_free (((PbPop3ListEntry *) data)->uidl);
}

/* Walks the lines of a listing: "NUMBER SP ARG" each, with a line ending of CRLF or LF. */
static GArray *
parse_listing (GBytes   *data,
               gboolean  uidl,
               guint     max_entries,
               GError  **error)
{
  g_autoptr(GArray) entries = g_array_new (FALSE, TRUE, sizeof (PbPop3ListEntry));
  gsize length;
  const char *p = g_bytes_get_data (data, &length);
  const char *end;

  g_array_set_clear_func (entries, list_entry_clear);
  /* An empty listing may have no data pointer at all. */
  if (length == 0)
    return g_steal_pointer (&entries);
  end = p + length;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      const char *line_end = nl != NULL ? nl : end;
      PbPop3ListEntry entry = { 0 };
      guint64 number;
      const char *q = p;

      if (line_end > p && line_end[-1] == '\r')
        line_end--;
      if (entries->len >= max_entries)
        {
          g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_LIMIT,
                       _("The server listed more than %u messages"), max_entries);
          return NULL;
        }
      if (!parse_number (&q, line_end, G_MAXUINT32, &number) || number == 0
          || q == line_end || *q != ' ')
        goto bad;
      while (q < line_end && *q == ' ')
        q++;
      entry.number = (guint) number;
      if (uidl)
        {
          /* Some servers put text after the id; only the id counts. */
          const char *id_end = q;

          while (id_end < line_end && *id_end != ' ')
            id_end++;
          if (!pb_pop3_uidl_is_valid (q, id_end - q))
            goto bad;
          entry.uidl = g_strndup (q, id_end - q);
        }
      else if (!parse_number (&q, line_end, G_MAXINT64, &entry.size)
               || (q < line_end && *q != ' '))
        goto bad;
      g_array_append_val (entries, entry);
      p = nl != NULL ? nl + 1 : end;
    }
  return g_steal_pointer (&entries);

bad:
  g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_PARSE,
               _("The server sent a malformed %s listing"), uidl ? "UIDL" : "LIST");
  return NULL;
}

/**
 * pb_pop3_parse_uidl_listing:
 * @data: the data of a multi-line UIDL reply
 * @max_entries: how many lines to accept at most
 *
 * Returns: (transfer full) (element-type PbPop3ListEntry): number and uidl of each line
 */
GArray *
pb_pop3_parse_uidl_listing (GBytes  *data,
                            guint    max_entries,
                            GError **error)
{
  return parse_listing (data, TRUE, max_entries, error);
}

/**
 * pb_pop3_parse_list_listing:
 * Returns: (transfer full) (element-type PbPop3ListEntry): number and size of each line
 */
GArray *
pb_pop3_parse_list_listing (GBytes  *data,
                            guint    max_entries,
                            GError **error)
{
  return parse_listing (data, FALSE, max_entries, error);
}

/**
 * pb_pop3_parse_capa:
 *
 * Returns: (transfer full) (element-type utf8): the capability lines, upper-cased, single
 *   spaces, printable ASCII only; at most 256 of them
 */
GPtrArray *
pb_pop3_parse_capa (GBytes  *data,
                    GError **error)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  gsize length;
  const char *p = g_bytes_get_data (data, &length);
  const char *end = length > 0 ? p + length : p;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      const char *line_end = nl != NULL ? nl : end;
      g_autoptr(GString) line = g_string_new (NULL);

      if (line_end > p && line_end[-1] == '\r')
        line_end--;
      for (const char *q = p; q < line_end; q++)
        {
          if ((guchar) *q < 0x20 || (guchar) *q > 0x7e)
            {
              g_set_error_literal (error, PB_POP3_ERROR, PB_POP3_ERROR_PARSE,
                                   _("The server sent a malformed CAPA listing"));
              return NULL;
            }
          if (*q == ' ' && (line->len == 0 || line->str[line->len - 1] == ' '))
            continue;
          g_string_append_c (line, g_ascii_toupper (*q));
        }
      if (line->len > 0 && line->str[line->len - 1] == ' ')
        g_string_truncate (line, line->len - 1);
      if (line->len > 0)
        {
          if (lines->len >= 256)
            {
              g_set_error_literal (error, PB_POP3_ERROR, PB_POP3_ERROR_LIMIT,
                                   _("The server listed too many capabilities"));
              return NULL;
            }
          g_ptr_array_add (lines, g_string_free (g_steal_pointer (&line), FALSE));
        }
      p = nl != NULL ? nl + 1 : end;
    }
  return g_steal_pointer (&lines);
}
