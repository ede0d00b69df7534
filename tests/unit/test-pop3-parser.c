/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "pb-pop3-error.h"
#include "pb-pop3-parser.h"

/*
 * The POP3 reply parser, fed the same bytes whole, one byte at a time and split at every
 * point: the replies must be the same each time. The first trace is recorded from the test
 * harness's Dovecot 2.3 (greeting, CAPA, UIDL, LIST, RETR of a message with dot-stuffed lines).
 */

static const char dovecot_trace[] =
  "+OK Postbote test server ready.\r\n"
  "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\n"
  "SASL SCRAM-SHA-1 SCRAM-SHA-256\r\n.\r\n"
  "+OK\r\n1 00000001669f5c1e\r\n2 00000002669f5c1e\r\n.\r\n"
  "+OK 2 messages:\r\n1 208\r\n2 95\r\n.\r\n"
  "+OK 208 octets\r\n"
  "From: <a@example.org>\r\nSubject: dots\r\n\r\n"
  "..\r\n"
  "...and more\r\n"
  ". not the end\r\n"
  ".\r\n"
  "-ERR [IN-USE] Mailbox locked\r\n";

static const PbPop3Expect dovecot_expect[] = {
  PB_POP3_EXPECT_SINGLE, PB_POP3_EXPECT_MULTI, PB_POP3_EXPECT_MULTI, PB_POP3_EXPECT_MULTI,
  PB_POP3_EXPECT_MULTI, PB_POP3_EXPECT_SINGLE,
};

/* Feeds @data in pieces of the sizes cut[0], cut[1] … (the last one repeating). Returns the
 * replies as one canonical text, or the error as "ERROR n". */
static char *
feed (const char           *data,
      gsize                 length,
      const PbPop3Expect   *expect,
      guint                 n_expect,
      const gsize          *cuts,
      guint                 n_cuts,
      const PbPop3ParserLimits *limits)
{
  g_autoptr(PbPop3Parser) parser = pb_pop3_parser_new (limits);
  g_autoptr(GString) out = g_string_new (NULL);
  gsize offset = 0;
  guint k = 0, c = 0;

  pb_pop3_parser_expect (parser, expect[0]);
  while (offset < length)
    {
      gsize n = MIN (cuts[MIN (c, n_cuts - 1)], length - offset);
      gsize at = 0;

      c++;
      while (at < n)
        {
          g_autoptr(PbPop3Reply) reply = NULL;
          g_autoptr(GError) error = NULL;
          gsize consumed;

          if (!pb_pop3_parser_feed (parser, (const guint8 *) data + offset + at, n - at,
                                    &consumed, &reply, &error))
            {
              g_assert_true (error->domain == PB_POP3_ERROR);
              g_string_append_printf (out, "ERROR %d", error->code);
              return g_string_free (g_steal_pointer (&out), FALSE);
            }
          at += consumed;
          if (reply == NULL)
            continue;
          g_string_append_printf (out, "%c[%s]", "+-?"[reply->status], reply->text);
          if (reply->data)
            {
              gsize size = g_bytes_get_size (reply->data);
              g_autofree char *text = size ? g_strndup (g_bytes_get_data (reply->data, NULL),
                                                        size) : g_strdup ("");
              g_string_append_printf (out, "{%s}", text);
            }
          g_string_append_c (out, '\n');
          k++;
          pb_pop3_parser_expect (parser, expect[MIN (k, n_expect - 1)]);
        }
      offset += n;
    }
  if (pb_pop3_parser_in_reply (parser))
    g_string_append (out, "PARTIAL");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Whole, byte by byte and split at every point must agree; returns the whole result. */
static char *
feed_all_ways (const char          *data,
               const PbPop3Expect  *expect,
               guint                n_expect,
               const PbPop3ParserLimits *limits)
{
  gsize length = strlen (data);
  gsize whole = MAX (length, 1), one = 1;
  char *expected = feed (data, length, expect, n_expect, &whole, 1, limits);
  g_autofree char *bytewise = feed (data, length, expect, n_expect, &one, 1, limits);

  g_assert_cmpstr (bytewise, ==, expected);
  for (gsize split = 1; split < length; split++)
    {
      gsize cuts[] = { split, length };
      g_autofree char *got = feed (data, length, expect, n_expect, cuts, 2, limits);
      g_assert_cmpstr (got, ==, expected);
    }
  return expected;
}

static void
test_dovecot_trace (void)
{
  g_autofree char *got = feed_all_ways (dovecot_trace, dovecot_expect,
                                        G_N_ELEMENTS (dovecot_expect), NULL);

  g_assert_cmpstr (got, ==,
                   "+[Postbote test server ready.]\n"
                   "+[]{CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n"
                   "STLS\r\nSASL SCRAM-SHA-1 SCRAM-SHA-256\r\n}\n"
                   "+[]{1 00000001669f5c1e\r\n2 00000002669f5c1e\r\n}\n"
                   "+[2 messages:]{1 208\r\n2 95\r\n}\n"
                   "+[208 octets]{From: <a@example.org>\r\nSubject: dots\r\n\r\n"
                   ".\r\n..and more\r\n not the end\r\n}\n"
                   "-[[IN-USE] Mailbox locked]\n");
}

/* A message is complete only at its terminating line: a cut anywhere before it gives no
 * reply at all. */
static void
test_cut_message (void)
{
  static const char retr[] = "+OK\r\nSubject: x\r\n\r\nbody\r\n.\r\n";
  const PbPop3Expect multi[] = { PB_POP3_EXPECT_MULTI };

  for (gsize cut = 1; cut < strlen (retr); cut++)
    {
      g_autofree char *prefix = g_strndup (retr, cut);
      g_autofree char *got = feed_all_ways (prefix, multi, 1, NULL);

      g_assert_cmpstr (got, ==, "PARTIAL");
    }
}

static void
test_line_endings (void)
{
  const PbPop3Expect multi[] = { PB_POP3_EXPECT_MULTI };
  g_autofree char *lf = feed_all_ways ("+OK\nа\n..x\n.\n", multi, 1, NULL);
  g_autofree char *dot_cr = feed_all_ways ("+OK\r\n.\rX\r\n.\r\n", multi, 1, NULL);
  g_autofree char *empty = feed_all_ways ("+OK\r\n.\r\n", multi, 1, NULL);
  g_autofree char *err = feed_all_ways ("-ERR no\r\n", multi, 1, NULL);

  g_assert_cmpstr (lf, ==, "+[]{а\n.x\n}\n");
  g_assert_cmpstr (dot_cr, ==, "+[]{\rX\r\n}\n");
  g_assert_cmpstr (empty, ==, "+[]{}\n");
  g_assert_cmpstr (err, ==, "-[no]\n");
}

static void
test_bad_status (void)
{
  const PbPop3Expect single[] = { PB_POP3_EXPECT_SINGLE };
  const PbPop3Expect sasl[] = { PB_POP3_EXPECT_SASL };
  const char *bad[] = { "+OKAY\r\n", "OK\r\n", "* OK\r\n", "-ER\r\n", "+ go\r\n", "\r\n",
                        "+OK\0nul\r\n" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      gsize length = i == 6 ? 10 : strlen (bad[i]);
      gsize whole = length;
      g_autofree char *got = feed (bad[i], length, single, 1, &whole, 1, NULL);
      g_assert_cmpstr (got, ==, "ERROR 1"); /* PB_POP3_ERROR_PARSE */
    }
  {
    g_autofree char *got = feed_all_ways ("+ dGVzdA==\r\n+\r\n", sasl, 1, NULL);
    g_assert_cmpstr (got, ==, "?[dGVzdA==]\n?[]\n");
  }
}

static void
test_limits (void)
{
  const PbPop3ParserLimits tight = { 32, 16, 64 };
  const PbPop3Expect single[] = { PB_POP3_EXPECT_SINGLE };
  const PbPop3Expect multi[] = { PB_POP3_EXPECT_MULTI };
  g_autofree char *long_status = feed_all_ways ("+OK 0123456789012345678901234567890\r\n",
                                                single, 1, &tight);
  g_autofree char *long_line = feed_all_ways ("+OK\r\n0123456789abcdefX\r\n.\r\n", multi, 1,
                                              &tight);
  g_autofree char *big = feed_all_ways ("+OK\r\n0123456789\r\n0123456789\r\n0123456789\r\n"
                                        "0123456789\r\n0123456789\r\n0123456789\r\n.\r\n",
                                        multi, 1, &tight);
  g_autofree char *fits = feed_all_ways ("+OK\r\n0123456789abcd\r\n.\r\n", multi, 1, &tight);

  g_assert_cmpstr (long_status, ==, "ERROR 2"); /* PB_POP3_ERROR_LIMIT */
  g_assert_cmpstr (long_line, ==, "ERROR 2");
  g_assert_cmpstr (big, ==, "ERROR 2");
  g_assert_cmpstr (fits, ==, "+[]{0123456789abcd\r\n}\n");
}

static void
test_listings (void)
{
  g_autoptr(GBytes) uidl = g_bytes_new_static ("1 abc\r\n2 x-y.z extra\r\n10 Q\n", 27);
  g_autoptr(GBytes) list = g_bytes_new_static ("1 120\r\n2 95\r\n", 13);
  g_autoptr(GArray) u = NULL;
  g_autoptr(GArray) l = NULL;
  g_autoptr(GPtrArray) capa = NULL;
  g_autoptr(GBytes) capa_data = g_bytes_new_static ("top\r\nSASL  plain   LOGIN \r\n", 27);
  const char *bad_uidl[] = { "0 abc\r\n", "1 \r\n", "1\r\n", "x abc\r\n", "1 a\001b\r\n",
                             "1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaaaaaaaaa\r\n",
                             "4294967296 a\r\n" };
  GError *error = NULL;

  u = pb_pop3_parse_uidl_listing (uidl, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (u->len, ==, 3);
  g_assert_cmpstr (g_array_index (u, PbPop3ListEntry, 1).uidl, ==, "x-y.z");
  g_assert_cmpuint (g_array_index (u, PbPop3ListEntry, 2).number, ==, 10);
  l = pb_pop3_parse_list_listing (list, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_array_index (l, PbPop3ListEntry, 1).size, ==, 95);
  g_assert_null (pb_pop3_parse_uidl_listing (uidl, 2, &error));
  g_assert_error (error, PB_POP3_ERROR, PB_POP3_ERROR_LIMIT);
  g_clear_error (&error);

  for (guint i = 0; i < G_N_ELEMENTS (bad_uidl); i++)
    {
      g_autoptr(GBytes) bytes = g_bytes_new_static (bad_uidl[i], strlen (bad_uidl[i]));
      g_assert_null (pb_pop3_parse_uidl_listing (bytes, 10, &error));
      g_assert_error (error, PB_POP3_ERROR, PB_POP3_ERROR_PARSE);
      g_clear_error (&error);
    }

  capa = pb_pop3_parse_capa (capa_data, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (capa->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (capa, 0), ==, "TOP");
  g_assert_cmpstr (g_ptr_array_index (capa, 1), ==, "SASL PLAIN LOGIN");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pop3-parser/dovecot-trace", test_dovecot_trace);
  g_test_add_func ("/pop3-parser/cut-message", test_cut_message);
  g_test_add_func ("/pop3-parser/line-endings", test_line_endings);
  g_test_add_func ("/pop3-parser/bad-status", test_bad_status);
  g_test_add_func ("/pop3-parser/limits", test_limits);
  g_test_add_func ("/pop3-parser/listings", test_listings);
  return g_test_run ();
}
