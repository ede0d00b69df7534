/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "pb-engine.h"
#include "pb-mailto.h"

static void
test_basic (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbMailto) m = pb_mailto_parse (
    "mailto:alice@example.org,bob@example.net?cc=carol@example.net&bcc=dave@example.com"
    "&subject=Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln&body=Line%201%0D%0ALine%202%0Ax+y"
    "&In-Reply-To=%3Cparent%40example.org%3E", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (m->to, ==, "alice@example.org,bob@example.net");
  g_assert_cmpstr (m->cc, ==, "carol@example.net");
  g_assert_cmpstr (m->bcc, ==, "dave@example.com");
  g_assert_cmpstr (m->subject, ==, "Grüße aus Köln");
  /* CRLF becomes LF; "+" is a plus, not a space (RFC 6068 is not form encoding). */
  g_assert_cmpstr (m->body, ==, "Line 1\nLine 2\nx+y");
  g_assert_cmpstr (m->in_reply_to, ==, "<parent@example.org>");
}

static void
test_rfc6068_examples (void)
{
  static const struct {
    const char *uri;
    const char *to, *cc, *bcc, *subject, *body;
  } cases[] = {
    { "mailto:chris@example.com", "chris@example.com", NULL, NULL, NULL, NULL },
    { "mailto:infobot@example.com?subject=current-issue", "infobot@example.com", NULL, NULL,
      "current-issue", NULL },
    { "mailto:infobot@example.com?body=send%20current-issue", "infobot@example.com", NULL, NULL,
      NULL, "send current-issue" },
    { "mailto:infobot@example.com?body=send%20current-issue%0D%0Asend%20index",
      "infobot@example.com", NULL, NULL, NULL, "send current-issue\nsend index" },
    { "mailto:list@example.org?In-Reply-To=%3C3469A91.D10AF4C@example.com%3E", "list@example.org",
      NULL, NULL, NULL, NULL },
    { "mailto:majordomo@example.com?body=subscribe%20bamboo-l", "majordomo@example.com", NULL,
      NULL, NULL, "subscribe bamboo-l" },
    { "mailto:joe@example.com?cc=bob@example.com&body=hello", "joe@example.com",
      "bob@example.com", NULL, NULL, "hello" },
    { "mailto:?to=joe@example.com&cc=bob@example.com&body=hello", "joe@example.com",
      "bob@example.com", NULL, NULL, "hello" },
    { "mailto:gorby%25kremvax@example.com", "gorby%kremvax@example.com", NULL, NULL, NULL, NULL },
    { "mailto:unlikely%3Faddress@example.com?blat=foop", "unlikely?address@example.com", NULL,
      NULL, NULL, NULL },
    { "mailto:%22not%40me%22@example.org", "\"not@me\"@example.org", NULL, NULL, NULL, NULL },
    { "mailto:user@example.org?subject=caf%C3%A9", "user@example.org", NULL, NULL, "café", NULL },
    { "mailto:user@%E7%B4%8D%E8%B1%86.example.org?subject=Test&body=NATTO",
      "user@納豆.example.org", NULL, NULL, "Test", "NATTO" },
    /* Several to= and the path are all recipients; cc= twice is both. */
    { "mailto:a@example.org?to=b@example.org&to=c@example.org&cc=d@x.org&CC=e@x.org",
      "a@example.org, b@example.org, c@example.org", "d@x.org, e@x.org", NULL, NULL, NULL },
    { "MAILTO:A@EXAMPLE.ORG", "A@EXAMPLE.ORG", NULL, NULL, NULL, NULL },
    { "mailto:", NULL, NULL, NULL, NULL, NULL },
    { "mailto:a@example.org#fragment?subject=no", "a@example.org", NULL, NULL, NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PbMailto) m = pb_mailto_parse (cases[i].uri, &error);

      g_test_message ("%s", cases[i].uri);
      g_assert_no_error (error);
      g_assert_cmpstr (m->to, ==, cases[i].to);
      g_assert_cmpstr (m->cc, ==, cases[i].cc);
      g_assert_cmpstr (m->bcc, ==, cases[i].bcc);
      g_assert_cmpstr (m->subject, ==, cases[i].subject);
      g_assert_cmpstr (m->body, ==, cases[i].body);
    }
}

/* Links from web pages are hostile input: nothing may reach a local file or a header it
 * should not, and broken ones are clear errors. */
static void
test_hostile (void)
{
  static const char *errors[] = {
    "http://example.org/",
    "mail:a@example.org",
    "mailto:a@example.org?subject=%",
    "mailto:a@example.org?subject=%4",
    "mailto:a@example.org?subject=%zz",
    "mailto:a@example.org?body=%00",
    "mailto:a@example.org?subject=%FF%FE",
    "mailto:a@example.org?subject=%C3",
    "mailto:%",
    "mailto:a@example.org?%=x",
  };
  static const struct { const char *uri; const char *field; const char *expect; } cases[] = {
    /* Header injection through CR LF in subject or addresses: flattened to one line. */
    { "mailto:a@example.org?subject=Hi%0D%0ABcc:%20evil@example.com", "subject",
      "Hi  Bcc: evil@example.com" },
    { "mailto:a@example.org%0D%0ABcc:evil@example.com", "to",
      "a@example.org  Bcc:evil@example.com" },
    { "mailto:a@example.org?cc=b@x.org%0ASubject:x", "cc", "b@x.org Subject:x" },
    /* Attachments and unknown headers: ignored, whatever they name. */
    { "mailto:a@example.org?attach=/etc/passwd&attachment=file:///etc/shadow&from=boss@x.org"
      "&X-Evil=1&body=hi", "body", "hi" },
    /* Only the first subject and body count. */
    { "mailto:a@example.org?subject=one&subject=two", "subject", "one" },
    /* An In-Reply-To that is not one message id is dropped. */
    { "mailto:a@example.org?in-reply-to=%3Ca@b%3E%20%3Cc@d%3E", "in-reply-to", NULL },
    { "mailto:a@example.org?in-reply-to=no-brackets@x", "in-reply-to", NULL },
    { "mailto:a@example.org?in-reply-to=%3Cx@y%3E%0D%0AX:1", "in-reply-to", NULL },
    /* Control characters go from the body, line ends and tabs stay. */
    { "mailto:a@example.org?body=a%1Bb%09c%0Dd%7F", "body", "ab\tc\nd" },
    /* Empty things. */
    { "mailto:?", "to", NULL },
    { "mailto:a@example.org?&&=&subject=&body", "subject", "" },
    { "mailto:a@example.org?subject=%20%20", "subject", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (errors); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PbMailto) m = pb_mailto_parse (errors[i], &error);

      g_test_message ("%s", errors[i]);
      g_assert_null (m);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    }

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PbMailto) m = pb_mailto_parse (cases[i].uri, &error);
      const char *value;

      g_test_message ("%s", cases[i].uri);
      g_assert_no_error (error);
      if (strcmp (cases[i].field, "to") == 0)
        value = m->to;
      else if (strcmp (cases[i].field, "cc") == 0)
        value = m->cc;
      else if (strcmp (cases[i].field, "subject") == 0)
        value = m->subject;
      else if (strcmp (cases[i].field, "body") == 0)
        value = m->body;
      else
        value = m->in_reply_to;
      g_assert_cmpstr (value, ==, cases[i].expect);
      g_assert_null (m->bcc);
    }
}

static void
test_limits (void)
{
  g_autoptr(GString) uri = g_string_new ("mailto:a@example.org?body=");
  g_autoptr(GString) many = g_string_new ("mailto:a@example.org?");
  g_autoptr(GError) error = NULL;
  PbMailto *m;

  while (uri->len <= PB_MAILTO_MAX_LENGTH)
    g_string_append (uri, "%41");
  m = pb_mailto_parse (uri->str, &error);
  g_assert_null (m);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* More pairs than the cap: the first ones are read, the rest ignored. */
  for (guint i = 0; i < PB_MAILTO_MAX_FIELDS * 4; i++)
    g_string_append_printf (many, "cc=c%u@x.org&", i);
  m = pb_mailto_parse (many->str, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (m->cc, "c0@x.org"));
  g_assert_null (strstr (m->cc, "c200@x.org"));
  pb_mailto_free (m);

  /* Every prefix of a valid URI parses or fails cleanly (byte by byte). */
  {
    const char *full = "mailto:J%C3%BCrgen%20%3Cj@x.org%3E?subject=Gr%C3%BC%C3%9Fe&body=a%0Ab";

    for (gsize n = 0; n <= strlen (full); n++)
      {
        g_autofree char *prefix = g_strndup (full, n);
        g_autoptr(GError) prefix_error = NULL;
        g_autoptr(PbMailto) pm = pb_mailto_parse (prefix, &prefix_error);

        g_assert_true ((pm == NULL) != (prefix_error == NULL));
        if (pm != NULL && pm->subject != NULL)
          g_assert_true (g_utf8_validate (pm->subject, -1, NULL));
      }
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mailto/basic", test_basic);
  g_test_add_func ("/mailto/rfc6068-examples", test_rfc6068_examples);
  g_test_add_func ("/mailto/hostile", test_hostile);
  g_test_add_func ("/mailto/limits", test_limits);

  return g_test_run ();
}
