/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "pb-imap-error.h"
#include "pb-imap-utf7.h"

typedef struct {
  const char *utf8;
  const char *mutf7;
} Pair;

static const Pair pairs[] = {
  /* RFC 3501 section 5.1.3 */
  { "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
    "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
  { "", "" },
  { "INBOX", "INBOX" },
  { "&", "&-" },
  { "&&", "&-&-" },
  { "a&b", "a&-b" },
  { "-&-", "-&--" },
  { "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
  { "Gel\xc3\xb6schte Elemente", "Gel&APY-schte Elemente" },
  { "\xc3\xa4", "&AOQ-" },
  { "\xc3\xa4\xc3\xb6", "&AOQA9g-" },
  { "\xc3\xa4\xc3\xb6\xc3\xbc", "&AOQA9gD8-" },
  { "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\x9f", "&AOQA9gD8AN8-" },
  { "\xc3\xa4&\xc3\xa4", "&AOQ-&-&AOQ-" },
  { "\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 & more", "&ANw-n&AO8-c&APY-d&AOk- &- more" },
  { "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", "&BB8EQAQ4BDIENQRC-" },
  /* Emoji and other characters outside the BMP travel as surrogate pairs. */
  { "\xf0\x9f\x98\x80", "&2D3eAA-" },
  { "a\xf0\x9f\x98\x80" "b", "a&2D3eAA-b" },
  { "\xf0\x9d\x84\x9e\xf0\x9d\x84\x9e", "&2DTdHtg03R4-" },
  { "\xf4\x8f\xbf\xbf", "&2,,f,w-" },
  { "\xed\x9f\xbf", "&1,8-" },
  { "\xee\x80\x80", "&4AA-" },
  { "\xef\xbf\xbf", "&,,8-" },
  /* Control characters are not printable and so are encoded. */
  { "\x01", "&AAE-" },
  { "\x7f", "&AH8-" },
  { "a\tb", "a&AAk-b" },
};

static void
test_pairs (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_autofree char *encoded = pb_imap_utf7_encode (pairs[i].utf8);
      g_autofree char *decoded = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", pairs[i].mutf7);
      g_assert_cmpstr (encoded, ==, pairs[i].mutf7);
      decoded = pb_imap_utf7_decode (pairs[i].mutf7, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (decoded, ==, pairs[i].utf8);
    }
}

static const struct {
  const char *input;
  const char *why;
} malformed[] = {
  { "&", "unterminated" },
  { "a&", "unterminated" },
  { "&AOQ", "unterminated" },
  { "&AOQA9g", "unterminated" },
  { "&AOQ-&AOQ-", "not minimal: two adjacent sequences" },
  { "&AOQ-&APY-x", "not minimal: two adjacent sequences" },
  { "&AGE-", "printable ASCII 'a' in base64" },
  { "&ACY-", "'&' in base64 instead of &-" },
  { "&ACA-", "SP in base64" },
  { "&AH4-", "'~' in base64" },
  { "&AOQAYQ-", "'a' in base64 after a non-ASCII character" },
  { "&AOR-", "non-zero padding bits" },
  { "&AOQA-", "a whole unused sextet" },
  { "&AOQA9gA-", "an unused sextet after two characters" },
  { "&AA-", "fewer than 16 bits" },
  { "&A-", "fewer than 16 bits" },
  { "&AAA-", "U+0000" },
  { "&2D0-", "high surrogate at the end" },
  { "&2D0A5A-", "high surrogate followed by a BMP character" },
  { "&2D3YPQ-", "two high surrogates" },
  { "&3gA-", "low surrogate alone" },
  { "&AOTeAA-", "low surrogate after a BMP character" },
  { "&AO/-", "'/' is not modified base64" },
  { "&AOQ=-", "'=' padding is not modified base64" },
  { "&AO Q-", "SP inside base64" },
  { "&AOQ&-", "'&' inside base64" },
  { "\xc3\xa4", "raw 8-bit" },
  { "INBOX/\xff", "raw 8-bit" },
  { "\x01", "raw control character" },
  { "a\tb", "raw control character" },
  { "\x7f", "raw DEL" },
  { "a\r\nb", "raw CR LF" },
};

static void
test_malformed (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *decoded = pb_imap_utf7_decode (malformed[i].input, &error);

      g_test_message ("%s: %s", malformed[i].why, error ? error->message : "(accepted)");
      g_assert_null (decoded);
      g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE);
      g_assert_nonnull (strstr (error->message, "at byte"));
    }
}

static void
test_encode_invalid_utf8 (void)
{
  g_assert_null (pb_imap_utf7_encode ("\xc3"));
  g_assert_null (pb_imap_utf7_encode ("a\xff" "b"));
  g_assert_null (pb_imap_utf7_encode ("\xed\xa0\xbd"));  /* an encoded surrogate */
}

/* Random names: encode then decode gives the name back, and the encoding is the only one the
 * decoder accepts, so decode then encode gives the input back too. */
static void
test_round_trip_random (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240801);

  for (guint n = 0; n < 20000; n++)
    {
      g_autoptr(GString) name = g_string_new (NULL);
      guint len = g_rand_int_range (rand, 0, 12);
      g_autofree char *encoded = NULL;
      g_autofree char *decoded = NULL;
      g_autofree char *again = NULL;
      g_autoptr(GError) error = NULL;

      for (guint i = 0; i < len; i++)
        {
          gunichar ch;

          switch (g_rand_int_range (rand, 0, 5))
            {
            case 0:
              ch = g_rand_int_range (rand, 0x20, 0x7f);
              break;
            case 1:
              ch = "&-/."[g_rand_int_range (rand, 0, 4)];
              break;
            case 2:
              ch = g_rand_int_range (rand, 1, 0x800);
              break;
            case 3:
              ch = g_rand_int_range (rand, 0x800, 0x10000);
              break;
            default:
              ch = g_rand_int_range (rand, 0x10000, 0x110000);
              break;
            }
          if (ch >= 0xd800 && ch <= 0xdfff)
            ch = 0xfffd;
          g_string_append_unichar (name, ch);
        }

      encoded = pb_imap_utf7_encode (name->str);
      g_assert_nonnull (encoded);
      for (const char *p = encoded; *p; p++)
        g_assert_true (*p >= 0x20 && *p <= 0x7e);
      decoded = pb_imap_utf7_decode (encoded, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (decoded, ==, name->str);
      again = pb_imap_utf7_encode (decoded);
      g_assert_cmpstr (again, ==, encoded);
    }
}

/* Random ASCII strings made of the characters that matter: whatever the decoder accepts must
 * encode back to exactly the same bytes. */
static void
test_canonical_random (void)
{
  static const char alphabet[] = "&-AOQgD8a9Y+,/2d3eA ";
  g_autoptr(GRand) rand = g_rand_new_with_seed (4711);
  guint accepted = 0;

  for (guint n = 0; n < 200000; n++)
    {
      char input[16];
      guint len = g_rand_int_range (rand, 0, sizeof input);
      g_autofree char *decoded = NULL;
      g_autoptr(GError) error = NULL;

      for (guint i = 0; i < len; i++)
        input[i] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];
      input[len] = '\0';

      decoded = pb_imap_utf7_decode (input, &error);
      if (decoded != NULL)
        {
          g_autofree char *encoded = pb_imap_utf7_encode (decoded);

          g_assert_no_error (error);
          g_assert_true (g_utf8_validate (decoded, -1, NULL));
          g_assert_cmpstr (encoded, ==, input);
          accepted++;
        }
      else
        {
          g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE);
        }
    }
  g_test_message ("%u of 200000 random inputs were valid", accepted);
  g_assert_cmpuint (accepted, >, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/imap/utf7/pairs", test_pairs);
  g_test_add_func ("/imap/utf7/malformed", test_malformed);
  g_test_add_func ("/imap/utf7/encode-invalid-utf8", test_encode_invalid_utf8);
  g_test_add_func ("/imap/utf7/round-trip-random", test_round_trip_random);
  g_test_add_func ("/imap/utf7/canonical-random", test_canonical_random);

  return g_test_run ();
}
