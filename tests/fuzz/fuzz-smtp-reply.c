/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pb-smtp-reply.h"

/*
 * Fuzz target for the SMTP reply parser.
 *
 * Input layout: byte 0 is a chunk size (1..256) the payload is fed in, the rest is the payload
 * (server bytes). Beyond "does not crash", the target checks properties:
 * - fed whole and fed in chunks, the payload gives the same replies and the same error;
 * - every reply is well formed: code 200..599, 1..PB_SMTP_REPLY_MAX_LINES lines, each within
 *   PB_SMTP_REPLY_MAX_LINE, an enhanced code only of the reply's class;
 * - the parser never reports more bytes consumed than it was given.
 */

typedef struct {
  GPtrArray *replies;   /* "code|enhanced|line|line…" */
  int        error;     /* -1: none */
} Outcome;

static void
check_reply (const PbSmtpReply *reply)
{
  guint n = 0;

  if (reply->code < 200 || reply->code > 599)
    abort ();
  if (reply->enhanced[0] != '\0' && reply->enhanced[0] != '0' + (char) (reply->code / 100))
    abort ();
  for (; reply->lines[n] != NULL; n++)
    if (strlen (reply->lines[n]) > PB_SMTP_REPLY_MAX_LINE)
      abort ();
  if (n == 0 || n > PB_SMTP_REPLY_MAX_LINES)
    abort ();
  {
    char *text = pb_smtp_reply_to_string (reply);
    if (!g_utf8_validate (text, -1, NULL))
      abort ();
    g_free (text);
  }
}

static void
run (const uint8_t *data,
     size_t         size,
     size_t         chunk,
     Outcome       *outcome)
{
  PbSmtpReplyParser *parser = pb_smtp_reply_parser_new ();
  size_t offset = 0;

  outcome->replies = g_ptr_array_new_with_free_func (g_free);
  outcome->error = -1;
  while (offset < size && outcome->error < 0)
    {
      size_t n = MIN (chunk, size - offset);
      size_t used = 0;

      while (used < n)
        {
          PbSmtpReply *reply = NULL;
          GError *error = NULL;
          gssize k = pb_smtp_reply_parser_feed (parser, data + offset + used, n - used, &reply,
                                                &error);

          if (k < 0)
            {
              if (error == NULL || error->domain != PB_SMTP_ERROR)
                abort ();
              outcome->error = error->code;
              g_error_free (error);
              break;
            }
          if ((size_t) k > n - used || (k == 0 && reply == NULL))
            abort ();
          used += k;
          if (reply != NULL)
            {
              char *lines = g_strjoinv ("|", reply->lines);

              check_reply (reply);
              g_ptr_array_add (outcome->replies,
                               g_strdup_printf ("%u|%s|%s", reply->code, reply->enhanced, lines));
              g_free (lines);
              pb_smtp_reply_free (reply);
            }
        }
      offset += n;
    }
  pb_smtp_reply_parser_free (parser);
}

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  Outcome whole, chunked;
  size_t chunk = 1;

  if (size > 0)
    {
      chunk = data[0] + 1;
      data++;
      size--;
    }
  run (data, size, size > 0 ? size : 1, &whole);
  run (data, size, chunk, &chunked);
  if (whole.error != chunked.error || whole.replies->len != chunked.replies->len)
    abort ();
  for (guint i = 0; i < whole.replies->len; i++)
    if (strcmp (g_ptr_array_index (whole.replies, i), g_ptr_array_index (chunked.replies, i)))
      abort ();
  g_ptr_array_unref (whole.replies);
  g_ptr_array_unref (chunked.replies);
  return 0;
}
