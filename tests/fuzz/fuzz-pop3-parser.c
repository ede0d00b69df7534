/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pb-pop3-parser.h"

/*
 * Fuzz target for the POP3 reply parser and the listing parsers (UIDL, LIST, CAPA).
 *
 * Input layout: byte 0 selects options, bytes 1 and 2 are two chunk sizes (1..256) that the
 * payload is fed in alternately, and the rest is the payload (server bytes). What each reply
 * is expected to be (single-line, multi-line, SASL) cycles through a pattern chosen by the
 * options, as a client's pipelined commands would.
 *
 * Properties beyond "does not crash":
 * - the payload fed whole and fed in chunks (or byte by byte) gives the same replies and the
 *   same error;
 * - a multi-line reply's data, stuffed again and terminated, parses back to the same data;
 * - replies never hold more bytes than were fed, nor more than the limits allow;
 * - every UIDL the listing parser accepts is 1-70 printable characters.
 */

enum {
  OPT_TIGHT_LIMITS = 1 << 0,
  OPT_BYTEWISE     = 1 << 1,
};

static const PbPop3ParserLimits tight_limits = { 64, 128, 1024 };

static PbPop3Expect
expectation (guint8 options,
             guint  k)
{
  static const PbPop3Expect pattern[] = {
    PB_POP3_EXPECT_SINGLE, PB_POP3_EXPECT_MULTI, PB_POP3_EXPECT_MULTI, PB_POP3_EXPECT_SASL,
  };
  return pattern[(k + (options >> 2)) % G_N_ELEMENTS (pattern)];
}

typedef struct {
  GPtrArray *replies;
  char      *error;
} Run;

static void
run_clear (Run *run)
{
  g_ptr_array_unref (run->replies);
  g_free (run->error);
}

static Run
parse (const guint8              *data,
       gsize                      size,
       const PbPop3ParserLimits  *limits,
       guint8                     options,
       gsize                      chunk_a,
       gsize                      chunk_b)
{
  Run run = { g_ptr_array_new_with_free_func ((GDestroyNotify) pb_pop3_reply_free), NULL };
  PbPop3Parser *parser = pb_pop3_parser_new (limits);
  gsize offset = 0, pending = 0;
  gboolean use_a = TRUE;

  pb_pop3_parser_expect (parser, expectation (options, 0));
  while (offset < size)
    {
      gsize chunk = use_a ? chunk_a : chunk_b;
      gsize n = MIN (chunk, size - offset);
      gsize at = 0;

      use_a = !use_a;
      while (at < n)
        {
          PbPop3Reply *reply = NULL;
          gsize consumed = 0;
          GError *error = NULL;

          if (!pb_pop3_parser_feed (parser, data + offset + at, n - at, &consumed, &reply,
                                    &error))
            {
              run.error = g_strdup_printf ("%s:%d", g_quark_to_string (error->domain),
                                           error->code);
              g_error_free (error);
              goto out;
            }
          g_assert (consumed <= n - at);
          at += consumed;
          pending += consumed;
          if (reply == NULL)
            {
              g_assert (at == n);
              continue;
            }
          g_assert (reply->text != NULL);
          if (reply->data != NULL)
            {
              g_assert (g_bytes_get_size (reply->data) <= pending);
              g_assert (limits->max_data == 0
                        || g_bytes_get_size (reply->data) <= limits->max_data);
            }
          pending = 0;
          g_ptr_array_add (run.replies, reply);
          pb_pop3_parser_expect (parser, expectation (options, run.replies->len));
        }
      offset += n;
    }
out:
  pb_pop3_parser_free (parser);
  return run;
}

static gboolean
replies_equal (PbPop3Reply *a,
               PbPop3Reply *b)
{
  return a->status == b->status && strcmp (a->text, b->text) == 0
         && (a->data == NULL) == (b->data == NULL)
         && (a->data == NULL || g_bytes_equal (a->data, b->data));
}

/* Stuffs @data again (a dot before each line that starts with one) and parses it back. */
static void
check_restuff (GBytes                   *data,
               const PbPop3ParserLimits *limits)
{
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  gsize length;
  const guint8 *p = g_bytes_get_data (data, &length);
  gboolean line_start = TRUE;
  PbPop3Parser *parser;
  PbPop3Reply *reply = NULL;
  gsize consumed = 0;
  GError *error = NULL;
  PbPop3ParserLimits relaxed = *limits;

  g_byte_array_append (wire, (const guint8 *) "+OK\r\n", 5);
  for (gsize i = 0; i < length; i++)
    {
      if (line_start && p[i] == '.')
        g_byte_array_append (wire, (const guint8 *) ".", 1);
      g_byte_array_append (wire, p + i, 1);
      line_start = p[i] == '\n';
    }
  g_assert (length == 0 || line_start);
  g_byte_array_append (wire, (const guint8 *) ".\r\n", 3);

  /* Stuffing adds a byte per line; the data itself fitted before. */
  relaxed.max_data_line = limits->max_data_line ? limits->max_data_line + 1 : 0;
  parser = pb_pop3_parser_new (&relaxed);
  pb_pop3_parser_expect (parser, PB_POP3_EXPECT_MULTI);
  if (!pb_pop3_parser_feed (parser, wire->data, wire->len, &consumed, &reply, &error))
    g_error ("re-stuffed data failed to parse: %s", error->message);
  g_assert (reply != NULL && consumed == wire->len);
  g_assert (g_bytes_equal (reply->data, data));
  pb_pop3_reply_free (reply);
  pb_pop3_parser_free (parser);
}

static void
check_listings (GBytes *data)
{
  GError *error = NULL;
  GArray *entries;
  GPtrArray *capa;

  entries = pb_pop3_parse_uidl_listing (data, 100, &error);
  if (entries != NULL)
    {
      for (guint i = 0; i < entries->len; i++)
        {
          PbPop3ListEntry *e = &g_array_index (entries, PbPop3ListEntry, i);
          g_assert (e->number > 0);
          g_assert (pb_pop3_uidl_is_valid (e->uidl, strlen (e->uidl)));
        }
      g_array_unref (entries);
    }
  g_clear_error (&error);
  entries = pb_pop3_parse_list_listing (data, 100, &error);
  if (entries != NULL)
    g_array_unref (entries);
  g_clear_error (&error);
  capa = pb_pop3_parse_capa (data, &error);
  if (capa != NULL)
    {
      for (guint i = 0; i < capa->len; i++)
        for (const char *c = g_ptr_array_index (capa, i); *c; c++)
          g_assert (*c >= 0x20 && *c <= 0x7e && !g_ascii_islower (*c));
      g_ptr_array_unref (capa);
    }
  g_clear_error (&error);
}

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const PbPop3ParserLimits default_limits = { 0 };
  guint8 options = 0;
  gsize chunk_a = size, chunk_b = size;
  const PbPop3ParserLimits *limits;
  Run whole, chunked;

  if (size >= 3)
    {
      options = data[0];
      chunk_a = data[1] % 256 + 1;
      chunk_b = data[2] % 256 + 1;
      data += 3;
      size -= 3;
    }
  if (options & OPT_BYTEWISE)
    chunk_a = chunk_b = 1;
  limits = (options & OPT_TIGHT_LIMITS) ? &tight_limits : &default_limits;

  whole = parse (data, size, limits, options, MAX (size, 1), MAX (size, 1));
  chunked = parse (data, size, limits, options, chunk_a, chunk_b);

  g_assert (g_strcmp0 (whole.error, chunked.error) == 0);
  g_assert (whole.replies->len == chunked.replies->len);
  for (guint i = 0; i < whole.replies->len; i++)
    {
      PbPop3Reply *reply = g_ptr_array_index (whole.replies, i);

      g_assert (replies_equal (reply, g_ptr_array_index (chunked.replies, i)));
      if (reply->data != NULL)
        {
          check_restuff (reply->data, limits);
          check_listings (reply->data);
        }
    }
  run_clear (&whole);
  run_clear (&chunked);
  return 0;
}
