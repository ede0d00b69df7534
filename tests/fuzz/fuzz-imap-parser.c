/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "pb-imap-parser.h"
#include "pb-imap-utf7.h"

/*
 * Fuzz target for the IMAP response parser and modified UTF-7.
 *
 * Input layout: byte 0 selects options, bytes 1 and 2 are two chunk sizes (1..256) that the
 * payload is fed in alternately, and the rest is the payload (server bytes). Inputs shorter
 * than three bytes are fed whole with default options.
 *
 * Beyond "does not crash", the target checks properties:
 * - the same payload fed whole and fed in chunks gives the same responses and the same error;
 * - spilling literals to disk changes nothing: with OPT_SPILL both of those parsers spill
 *   every literal above a tiny threshold into a temporary directory, and a third parser that
 *   keeps everything in memory must give the same responses and error (an option rather than
 *   always, because a spill costs a file and a mapping, some 20-30 us, and would slow the
 *   search everywhere else);
 * - every value is well formed (NUL-terminated at len, atoms without NUL, strings with bytes of
 *   len, str only when not spilled, depth within the limit, list sizes within the limit);
 * - what the parser hands out never exceeds what was fed;
 * - modified UTF-7 decoding accepts only canonical input: encode (decode (x)) == x, and
 *   decode (encode (s)) == s for valid UTF-8 s.
 */

enum {
  OPT_TIGHT_LIMITS = 1 << 0,   /* small limits, so the fuzzer reaches them quickly */
  OPT_BYTEWISE     = 1 << 1,   /* feed the chunked parser one byte at a time */
  OPT_SPILL        = 1 << 2,   /* spill literals above 16 bytes to disk */
  OPT_SPILL_ALL    = 1 << 3,   /* with OPT_SPILL: every literal of 2 bytes or more */
};

static const PbImapParserLimits tight_limits = {
  .max_line = 256,
  .max_literal = 1024,
  .max_depth = 4,
  .max_items = 16,
  .max_response = 2048,
};

static const PbImapParserLimits default_limits = { 0 };

/* Spilled literals go here. Their files are unlinked when created, so the directory stays
 * empty and is removed at exit. */
static char *spill_dir;

static void
spill_dir_remove (void)
{
  if (g_rmdir (spill_dir) != 0)
    fprintf (stderr, "could not remove %s: %s\n", spill_dir, g_strerror (errno));
}

static const char *
get_spill_dir (void)
{
  if (spill_dir == NULL)
    {
      GError *error = NULL;

      spill_dir = g_dir_make_tmp ("pb-fuzz-imap-parser-XXXXXX", &error);
      if (spill_dir == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          abort ();
        }
      atexit (spill_dir_remove);
    }
  return spill_dir;
}

#define CHECK(cond) \
  G_STMT_START { \
    if (G_UNLIKELY (!(cond))) \
      { \
        fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        abort (); \
      } \
  } G_STMT_END

static void
dump_value (GString                  *out,
            const PbImapValue        *value,
            const PbImapParserLimits *limits,
            guint                     depth)
{
  switch (value->type)
    {
    case PB_IMAP_VALUE_ATOM:
      CHECK (value->str != NULL && value->len > 0);
      CHECK (strlen (value->str) == value->len);
      CHECK (value->list == NULL);
      g_string_append_printf (out, "A%" G_GSIZE_FORMAT ":", value->len);
      g_string_append_len (out, value->str, value->len);
      break;
    case PB_IMAP_VALUE_NUMBER:
      CHECK (value->number <= G_GUINT64_CONSTANT (0x7fffffffffffffff));
      CHECK (value->str != NULL && strlen (value->str) == value->len);
      CHECK (g_ascii_strtoull (value->str, NULL, 10) == value->number);
      g_string_append_printf (out, "N%" G_GUINT64_FORMAT, value->number);
      break;
    case PB_IMAP_VALUE_STRING:
      {
        GBytes *bytes = pb_imap_value_get_bytes (value);
        gsize size = 0;
        const char *data;

        CHECK (bytes != NULL && bytes == value->bytes);
        data = g_bytes_get_data (bytes, &size);
        CHECK (size == value->len);
        /* In memory: str is the bytes' data. Spilled (never below 2 bytes): no str. */
        if (value->str != NULL)
          CHECK (value->str[value->len] == '\0' && (data == value->str || size == 0));
        else
          CHECK (size >= 2);
        CHECK (value->list == NULL);
        g_string_append_printf (out, "S%" G_GSIZE_FORMAT ":", value->len);
        g_string_append_len (out, data, size);
      }
      break;
    case PB_IMAP_VALUE_NIL:
      CHECK (value->str == NULL && value->list == NULL && value->bytes == NULL);
      g_string_append (out, "NIL");
      break;
    case PB_IMAP_VALUE_LIST:
      CHECK (value->list != NULL && value->str == NULL && value->bytes == NULL);
      CHECK (depth < (limits ? limits->max_depth : 32));
      CHECK (value->list->len <= (limits ? limits->max_items : 1000000));
      g_string_append_c (out, '(');
      for (guint i = 0; i < value->list->len; i++)
        dump_value (out, g_ptr_array_index (value->list, i), limits, depth + 1);
      g_string_append_c (out, ')');
      break;
    default:
      CHECK (!"unknown value type");
    }
  g_string_append_c (out, ' ');
}

static void
dump_values (GString                  *out,
             GPtrArray                *values,
             const PbImapParserLimits *limits)
{
  CHECK (values->len <= (limits ? limits->max_items : 1000000));
  for (guint i = 0; i < values->len; i++)
    dump_value (out, g_ptr_array_index (values, i), limits, 0);
}

static void
dump_response (GString                  *out,
               const PbImapResponse     *response,
               const PbImapParserLimits *limits)
{
  g_string_append_printf (out, "K%d S%d ", response->kind, response->status);
  switch (response->kind)
    {
    case PB_IMAP_RESPONSE_TAGGED:
      CHECK (response->tag != NULL && response->tag[0] != '\0');
      CHECK (response->status == PB_IMAP_STATUS_OK || response->status == PB_IMAP_STATUS_NO
             || response->status == PB_IMAP_STATUS_BAD);
      g_string_append_printf (out, "T%s ", response->tag);
      break;
    case PB_IMAP_RESPONSE_UNTAGGED:
      CHECK (response->tag == NULL);
      break;
    case PB_IMAP_RESPONSE_CONTINUATION:
      CHECK (response->tag == NULL && response->status == PB_IMAP_STATUS_NONE);
      break;
    default:
      CHECK (!"unknown response kind");
    }

  if (response->status == PB_IMAP_STATUS_NONE && response->kind == PB_IMAP_RESPONSE_UNTAGGED)
    {
      CHECK (response->items != NULL && response->items->len > 0);
      CHECK (response->code == NULL && response->text == NULL);
      dump_values (out, response->items, limits);
    }
  else
    {
      CHECK (response->items == NULL && response->text != NULL);
      CHECK (strchr (response->text, '\r') == NULL && strchr (response->text, '\n') == NULL);
      if (response->code != NULL)
        {
          CHECK (response->code->len > 0);
          g_string_append_c (out, '[');
          dump_values (out, response->code, limits);
          g_string_append_c (out, ']');
        }
      g_string_append_printf (out, "X%s", response->text);
    }
  g_string_append_c (out, '\n');
}

/* Drains all complete responses into @out. Returns FALSE after an error (also dumped). */
static gboolean
drain (PbImapParser             *parser,
       GString                  *out,
       const PbImapParserLimits *limits,
       gsize                     fed)
{
  for (;;)
    {
      PbImapResponse *response = NULL;
      GError *error = NULL;
      PbImapParseResult result = pb_imap_parser_next (parser, &response, &error);

      CHECK (pb_imap_parser_get_pending (parser) <= fed);

      if (result == PB_IMAP_PARSE_NEED_MORE)
        {
          CHECK (response == NULL && error == NULL);
          return TRUE;
        }
      if (result == PB_IMAP_PARSE_ERROR)
        {
          CHECK (response == NULL && error != NULL);
          CHECK (error->domain == PB_IMAP_ERROR);
          /* Not PB_IMAP_ERROR_FAILED: the spill directory is usable, so a failure to spill
           * (EMFILE after leaked descriptors, say) is a bug. */
          CHECK (error->code == PB_IMAP_ERROR_PARSE || error->code == PB_IMAP_ERROR_LIMIT);
          g_string_append_printf (out, "E%d %s\n", error->code, error->message);
          g_error_free (error);
          return FALSE;
        }
      CHECK (result == PB_IMAP_PARSE_OK && response != NULL && error == NULL);
      dump_response (out, response, limits);
      pb_imap_response_free (response);
    }
}

static void
fuzz_parser (guint8        options,
             gsize         chunk_a,
             gsize         chunk_b,
             const guint8 *payload,
             gsize         size)
{
  PbImapParserLimits spilling = (options & OPT_TIGHT_LIMITS) ? tight_limits : default_limits;
  PbImapParserLimits in_memory = spilling;
  /* What the checks compare against; NULL means the defaults. */
  const PbImapParserLimits *limits = (options & OPT_TIGHT_LIMITS) ? &tight_limits : NULL;
  PbImapParser *whole, *chunked;
  GString *whole_out = g_string_new (NULL);
  GString *chunked_out = g_string_new (NULL);
  GString *reference_out = g_string_new (NULL);
  gsize off = 0;
  guint n = 0;

  /* Inputs are at most a few KiB, so without OPT_SPILL nothing reaches the threshold. */
  in_memory.spill_threshold = G_MAXSIZE;
  if (options & OPT_SPILL)
    spilling.spill_threshold = (options & OPT_SPILL_ALL) ? 1 : 16;
  whole = pb_imap_parser_new (&spilling);
  chunked = pb_imap_parser_new (&spilling);
  pb_imap_parser_set_spill_dir (whole, get_spill_dir ());
  pb_imap_parser_set_spill_dir (chunked, get_spill_dir ());

  pb_imap_parser_feed (whole, payload, size);
  drain (whole, whole_out, limits, size);

  /* Spilling must not change what comes out, errors included. */
  if (options & OPT_SPILL)
    {
      PbImapParser *reference = pb_imap_parser_new (&in_memory);

      pb_imap_parser_feed (reference, payload, size);
      drain (reference, reference_out, limits, size);
      pb_imap_parser_free (reference);
      if (!g_string_equal (whole_out, reference_out))
        {
          fprintf (stderr, "spilled:\n%s\nin memory:\n%s\n", whole_out->str,
                   reference_out->str);
          CHECK (!"spilled and in-memory parsing differ");
        }
    }

  while (off < size)
    {
      gsize len = (options & OPT_BYTEWISE) ? 1 : (n++ % 2 == 0 ? chunk_a : chunk_b);

      len = MIN (len, size - off);
      pb_imap_parser_feed (chunked, payload + off, len);
      off += len;
      if (!drain (chunked, chunked_out, limits, off))
        break;
    }

  /* Framing must not depend on how the bytes arrived. */
  if (!g_string_equal (whole_out, chunked_out))
    {
      fprintf (stderr, "whole:\n%s\nchunked:\n%s\n", whole_out->str, chunked_out->str);
      CHECK (!"whole and chunked parsing differ");
    }

  /* A reset parser starts clean. */
  pb_imap_parser_reset (chunked);
  CHECK (pb_imap_parser_get_pending (chunked) == 0);
  g_string_truncate (chunked_out, 0);
  pb_imap_parser_feed (chunked, payload, size);
  drain (chunked, chunked_out, limits, size);
  CHECK (g_string_equal (whole_out, chunked_out));

  g_string_free (whole_out, TRUE);
  g_string_free (chunked_out, TRUE);
  g_string_free (reference_out, TRUE);
  pb_imap_parser_free (whole);
  pb_imap_parser_free (chunked);
}

static void
fuzz_utf7 (const guint8 *payload,
           gsize         size)
{
  /* Stops at the first NUL; payload is NULL when the replay driver runs an empty input. */
  char *input = size > 0 ? g_strndup ((const char *) payload, size) : g_strdup ("");
  GError *error = NULL;
  char *decoded = pb_imap_utf7_decode (input, &error);

  if (decoded != NULL)
    {
      char *encoded = pb_imap_utf7_encode (decoded);

      CHECK (error == NULL);
      CHECK (g_utf8_validate (decoded, -1, NULL));
      CHECK (encoded != NULL && strcmp (encoded, input) == 0);
      g_free (encoded);
      g_free (decoded);
    }
  else
    {
      CHECK (error != NULL && error->domain == PB_IMAP_ERROR);
      g_error_free (error);
    }

  if (g_utf8_validate (input, -1, NULL))
    {
      char *encoded = pb_imap_utf7_encode (input);
      char *back;

      CHECK (encoded != NULL);
      back = pb_imap_utf7_decode (encoded, NULL);
      CHECK (back != NULL && strcmp (back, input) == 0);
      g_free (back);
      g_free (encoded);
    }

  g_free (input);
}

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  guint8 options = 0;
  gsize chunk_a = size, chunk_b = size;

  if (size >= 3)
    {
      options = data[0];
      chunk_a = (gsize) data[1] + 1;
      chunk_b = (gsize) data[2] + 1;
      data += 3;
      size -= 3;
    }

  fuzz_parser (options, MAX (chunk_a, 1), MAX (chunk_b, 1), data, size);
  fuzz_utf7 (data, size);
  return 0;
}
