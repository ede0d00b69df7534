/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "pb-engine.h"
#include "pb-message-render.h"

/* Fixtures live in tests/data/mime; see the comment at the top of each test for what it
 * proves. */

static char *
data_path (const char *name)
{
  const char *srcdir = g_getenv ("PB_TEST_SRCDIR");

  g_assert_nonnull (srcdir);
  return g_build_filename (srcdir, "data", "mime", name, NULL);
}

static PbMessageRender *
load (const char *name)
{
  g_autofree char *path = data_path (name);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) raw = NULL;
  char *contents = NULL;
  gsize length = 0;
  PbMessageRender *render;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  raw = g_bytes_new_take (contents, length);
  render = pb_message_render_new (raw, &error);
  g_assert_no_error (error);
  g_assert_nonnull (render);
  return render;
}

static const PbRenderPart *
part_at (PbMessageRender *render,
         guint            i)
{
  GPtrArray *parts = pb_message_render_get_parts (render);

  g_assert_cmpuint (i, <, parts->len);
  return g_ptr_array_index (parts, i);
}

/* All lines of a text part as "level|text\n". */
static char *
lines_string (const PbRenderPart *part)
{
  GString *out = g_string_new (NULL);

  g_assert_cmpint (part->kind, ==, PB_RENDER_PART_TEXT);
  for (guint i = 0; i < part->lines->len; i++)
    {
      const PbRenderLine *line = g_ptr_array_index (part->lines, i);

      g_assert_true (g_utf8_validate (line->text, -1, NULL));
      g_string_append_printf (out, "%u|%s\n", line->level, line->text);
    }
  return g_string_free (out, FALSE);
}

static char *
first_text (PbMessageRender *render)
{
  return lines_string (part_at (render, 0));
}

static void
test_plain (void)
{
  g_autoptr(PbMessageRender) render = load ("plain.eml");
  const PbRenderAddress *from = pb_message_render_get_from (render);
  GPtrArray *to = pb_message_render_get_to (render);
  GPtrArray *cc = pb_message_render_get_cc (render);
  GPtrArray *reply_to = pb_message_render_get_reply_to (render);
  g_autofree char *text = first_text (render);
  g_autofree char *date = NULL;

  g_assert_cmpstr (from->name, ==, "Anna Berger");
  g_assert_cmpstr (from->address, ==, "anna@example.org");
  g_assert_cmpuint (to->len, ==, 2);
  g_assert_cmpstr (((PbRenderAddress *) to->pdata[0])->name, ==, "Demo User");
  g_assert_null (((PbRenderAddress *) to->pdata[1])->name);
  g_assert_cmpstr (((PbRenderAddress *) to->pdata[1])->address, ==, "bob@example.org");
  g_assert_cmpuint (cc->len, ==, 1);
  g_assert_cmpuint (reply_to->len, ==, 1);
  g_assert_cmpstr (((PbRenderAddress *) reply_to->pdata[0])->address, ==, "list@example.org");
  g_assert_cmpstr (pb_message_render_get_subject (render), ==, "Plain text");
  date = g_date_time_format_iso8601 (pb_message_render_get_date (render));
  g_assert_cmpstr (date, ==, "2024-09-03T09:15:00+02");
  g_assert_cmpstr (text, ==,
                   "0|Hello Demo,\n0|\n0|this is plain text with Umlauts: äöü ß.\n0|\n0|Anna\n");
  g_assert_cmpuint (pb_message_render_get_parts (render)->len, ==, 1);
  g_assert_false (pb_message_render_get_has_remote_content (render));
}

static void
test_flowed (void)
{
  g_autoptr(PbMessageRender) render = load ("flowed.eml");
  g_autofree char *text = first_text (render);

  g_assert_cmpstr (text, ==,
                   "0|This paragraph was wrapped by the sender's mailer and should be one line "
                   "again after unwrapping by the reader.\n"
                   "1|A quoted paragraph that is also flowed across two lines.\n"
                   "2|Deeper quote.\n"
                   "0|>stuffed line\n"
                   "0|-- \n"
                   "0|Anna\n");
}

static void
test_flowed_delsp (void)
{
  g_autoptr(PbMessageRender) render = load ("flowed-delsp.eml");
  g_autofree char *text = first_text (render);

  g_assert_cmpstr (text, ==,
                   "0|Japanese words are split without spaces.\n0|Softbroken.\n");
}

static void
test_quoted (void)
{
  g_autoptr(PbMessageRender) render = load ("quoted.eml");
  g_autofree char *text = first_text (render);

  g_assert_cmpstr (text, ==,
                   "0|My answer.\n0|\n0|On Monday Bob wrote:\n1|First level.\n"
                   "2|Second level with a space.\n3|Third level.\n0|Back to level zero.\n");
  g_assert_cmpstr (pb_message_render_get_subject (render), ==, "Re: Quoted text");
}

static void
test_html (void)
{
  g_autoptr(PbMessageRender) render = load ("html.eml");
  const PbRenderPart *part = part_at (render, 0);

  g_assert_cmpint (part->kind, ==, PB_RENDER_PART_HTML);
  g_assert_nonnull (strstr (part->html, "<h1>Newsletter</h1>"));
  g_assert_nonnull (strstr (part->html, "café"));
  /* A link is followed only on a click: not remote content. */
  g_assert_false (part->has_remote_content);
  g_assert_false (pb_message_render_get_has_remote_content (render));
}

static void
test_alternative (void)
{
  g_autoptr(PbMessageRender) render = load ("alternative.eml");
  const PbRenderPart *part = part_at (render, 0);
  g_autofree char *text = NULL;

  g_assert_cmpuint (pb_message_render_get_parts (render)->len, ==, 1);
  g_assert_cmpint (part->kind, ==, PB_RENDER_PART_ALTERNATIVE);
  g_assert_nonnull (part->alt_text);
  g_assert_nonnull (part->alt_html);
  text = lines_string (part->alt_text);
  g_assert_cmpstr (text, ==, "0|Plain version.\n");
  g_assert_cmpint (part->alt_html->kind, ==, PB_RENDER_PART_HTML);
  g_assert_cmpstr (part->alt_html->html, ==, "<p>HTML version.</p>");
}

static void
test_mixed (void)
{
  g_autoptr(PbMessageRender) render = load ("mixed.eml");
  GPtrArray *parts = pb_message_render_get_parts (render);
  const PbRenderPart *pdf, *png, *greeting, *nested;
  g_autofree char *inner = NULL;

  g_assert_cmpuint (parts->len, ==, 5);
  g_assert_cmpint (part_at (render, 0)->kind, ==, PB_RENDER_PART_TEXT);

  pdf = part_at (render, 1);
  g_assert_cmpint (pdf->kind, ==, PB_RENDER_PART_ATTACHMENT);
  g_assert_cmpstr (pdf->filename, ==, "report.pdf");
  g_assert_cmpstr (pdf->content_type, ==, "application/pdf");
  g_assert_false (pdf->is_inline);
  g_assert_cmpuint (pdf->size, ==, 20);
  g_assert_true (memcmp (g_bytes_get_data (pdf->bytes, NULL), "%PDF-1.4\n", 9) == 0);

  /* RFC 2231 with a charset. */
  png = part_at (render, 2);
  g_assert_cmpstr (png->filename, ==, "Übersicht März.png");
  g_assert_cmpstr (png->content_type, ==, "image/png");
  g_assert_cmpuint (png->size, ==, 70);

  /* RFC 2047 inside a quoted parameter, which mailers send although the RFC forbids it; a
   * text part marked as attachment stays an attachment. */
  greeting = part_at (render, 3);
  g_assert_cmpint (greeting->kind, ==, PB_RENDER_PART_ATTACHMENT);
  g_assert_cmpstr (greeting->filename, ==, "Grüße.txt");

  nested = part_at (render, 4);
  g_assert_cmpint (nested->kind, ==, PB_RENDER_PART_MESSAGE);
  g_assert_nonnull (nested->message);
  g_assert_cmpstr (pb_message_render_get_subject (nested->message), ==, "The forwarded one");
  g_assert_cmpstr (pb_message_render_get_from (nested->message)->address, ==,
                   "inner@example.org");
  inner = first_text (nested->message);
  g_assert_cmpstr (inner, ==, "0|Inner body.\n");
  g_assert_cmpstr (nested->filename, ==, "The forwarded one.eml");
  g_assert_cmpuint (nested->size, >, 0);

  /* Lookup by index, for Save and Open. */
  g_assert_cmpuint (pb_message_render_get_n_parts (render), ==, 5);
  for (guint i = 0; i < pb_message_render_get_n_parts (render); i++)
    g_assert_cmpuint (pb_message_render_get_part (render, i)->index, ==, i);
  g_assert_true (pb_message_render_get_part (render, pdf->index) == pdf);
  g_assert_null (pb_message_render_get_part (render, 5));
}

static void
test_cid (void)
{
  g_autoptr(PbMessageRender) render = load ("cid.eml");
  const PbRenderPart *alternative = part_at (render, 0);
  const PbRenderPart *logo;

  /* The image belongs to the HTML: not shown as an attachment. */
  g_assert_cmpuint (pb_message_render_get_parts (render)->len, ==, 1);
  g_assert_cmpint (alternative->kind, ==, PB_RENDER_PART_ALTERNATIVE);
  g_assert_nonnull (strstr (alternative->alt_html->html, "cid:logo@example.org"));
  g_assert_false (alternative->alt_html->has_remote_content);

  logo = pb_message_render_lookup_content_id (render, "logo@example.org");
  g_assert_nonnull (logo);
  g_assert_cmpstr (logo->content_type, ==, "image/png");
  g_assert_cmpuint (logo->size, ==, 70);
  g_assert_true (pb_message_render_lookup_content_id (render, "<logo@example.org>") == logo);
  g_assert_true (pb_message_render_lookup_content_id (render, "cid:logo%40example.org") == logo);
  g_assert_true (pb_message_render_lookup_content_id (render, "LOGO@example.org") == logo);
  g_assert_null (pb_message_render_lookup_content_id (render, "other@example.org"));
}

static void
check_text (const char *fixture,
            const char *subject,
            const char *expected)
{
  g_autoptr(PbMessageRender) render = load (fixture);
  const PbRenderPart *part = part_at (render, 0);
  const PbRenderLine *line;

  g_assert_cmpint (part->kind, ==, PB_RENDER_PART_TEXT);
  line = g_ptr_array_index (part->lines, 0);
  g_assert_cmpstr (line->text, ==, expected);
  if (subject != NULL)
    g_assert_cmpstr (pb_message_render_get_subject (render), ==, subject);
}

static void
test_charsets (void)
{
  check_text ("iso-8859-1.eml", "Grüße aus München", "Grüße aus München.");
  check_text ("windows-1252.eml", NULL, "“Quotes” – and 10 € for coffee.");
  /* Labelled ISO-8859-1 but written in Windows-1252, as browsers assume. */
  check_text ("mislabeled-latin1.eml", NULL, "“Smart quotes” – 5 €");
  /* Labelled UTF-8 but not UTF-8: Windows-1252. */
  check_text ("broken-utf8.eml", NULL, "Café naïve – €");
  /* A charset nobody knows, text in UTF-8. */
  check_text ("unknown-charset.eml", NULL, "Überraschung ✓");
  check_text ("shift-jis.eml", "日本語の件名", "こんにちは、世界。");
  check_text ("iso-2022-jp.eml", "会議の議題", "明日の会議について。");
}

static void
test_decode_text (void)
{
  /* Windows-1252's unassigned 0x81 falls back to ISO-8859-1 (a C1 control). */
  g_autofree char *a = pb_message_render_decode_text ("a\x81z", 3, "utf-8");
  g_autofree char *b = pb_message_render_decode_text ("x\0y", 3, NULL);
  g_autofree char *c = pb_message_render_decode_text ("\xff\xfe", 2, "bogus");
  g_autofree char *d = pb_message_render_decode_text ("\x1b$B", 3, "iso-2022-jp");

  g_assert_cmpstr (a, ==, "a\xc2\x81z");
  g_assert_cmpstr (b, ==, "xy");
  g_assert_cmpstr (c, ==, "ÿþ");
  g_assert_true (g_utf8_validate (d, -1, NULL));
}

static void
test_encoded_words (void)
{
  g_autoptr(PbMessageRender) render = load ("encoded-words.eml");
  const PbRenderAddress *from = pb_message_render_get_from (render);
  GPtrArray *to = pb_message_render_get_to (render);
  g_autofree char *formatted = pb_message_render_format_address (from);

  g_assert_cmpstr (from->name, ==, "Jürgen Müller");
  g_assert_cmpstr (formatted, ==, "Jürgen Müller <juergen@example.org>");
  g_assert_cmpstr (((PbRenderAddress *) to->pdata[0])->name, ==, "René");
  /* Reply-To is the From address in other case: not shown. */
  g_assert_cmpuint (pb_message_render_get_reply_to (render)->len, ==, 0);
  /* Markup stays text; showing it literally is the UI's job. */
  g_assert_cmpstr (pb_message_render_get_subject (render), ==,
                   "Café und Kuchen <b>bold</b> & <i>x</i>");
}

static void
test_hostile_names (void)
{
  g_autoptr(PbMessageRender) render = load ("hostile-names.eml");
  GPtrArray *parts = pb_message_render_get_parts (render);
  const char *expected[] = {
    "bashrc", "b", "evil.txt", NULL, "win.ini", "attachment", "hidden", "abctxt.exe",
    "attachment",
  };

  g_assert_cmpuint (parts->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < parts->len; i++)
    {
      const PbRenderPart *part = g_ptr_array_index (parts, i);

      g_assert_null (strchr (part->filename, '/'));
      g_assert_null (strchr (part->filename, '\\'));
      g_assert_cmpint (part->filename[0], !=, '.');
      g_assert_cmpuint (strlen (part->filename), <=, PB_MESSAGE_RENDER_MAX_FILENAME);
      for (const char *p = part->filename; *p; p++)
        g_assert_cmpint ((guchar) *p, >=, 0x20);
      if (expected[i] != NULL)
        g_assert_cmpstr (part->filename, ==, expected[i]);
    }
  /* 300 characters: cut, extension kept. */
  g_assert_true (g_str_has_suffix (((PbRenderPart *) parts->pdata[3])->filename, "xxx.pdf"));
  g_assert_cmpuint (strlen (((PbRenderPart *) parts->pdata[3])->filename), ==,
                    PB_MESSAGE_RENDER_MAX_FILENAME);
}

static void
test_sanitize (void)
{
  struct { const char *in, *type, *out; } cases[] = {
    { NULL, "application/pdf", "attachment.pdf" },
    { "", NULL, "attachment" },
    { "..", "message/rfc822", "attachment.eml" },
    { "/etc/passwd", NULL, "passwd" },
    { "C:\\Users\\x\\evil.exe", NULL, "evil.exe" },
    { "a\nb\tc d.txt", NULL, "abc d.txt" },
    { "name.", NULL, "name" },
    { "\xff\xfe.txt", NULL, "\xef\xbf\xbd\xef\xbf\xbd.txt" },
    { "-rf", NULL, "rf" },
  };
  g_autofree char *longname = g_strnfill (400, 'a');
  g_autofree char *long_utf8 = NULL;
  g_autofree char *cut = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = pb_message_render_sanitize_filename (cases[i].in, cases[i].type);

      g_assert_cmpstr (out, ==, cases[i].out);
    }
  cut = pb_message_render_sanitize_filename (longname, NULL);
  g_assert_cmpuint (strlen (cut), ==, PB_MESSAGE_RENDER_MAX_FILENAME);
  /* Cutting never splits a character. */
  {
    GString *s = g_string_new ("a");

    for (int i = 0; i < 100; i++)
      g_string_append (s, "€");
    long_utf8 = g_string_free (s, FALSE);
  }
  g_clear_pointer (&cut, g_free);
  cut = pb_message_render_sanitize_filename (long_utf8, NULL);
  g_assert_true (g_utf8_validate (cut, -1, NULL));
  g_assert_cmpuint (strlen (cut), <=, PB_MESSAGE_RENDER_MAX_FILENAME);
}

static void
test_remote_detection (void)
{
  struct { const char *html; gboolean remote; } cases[] = {
    { "<p>hello</p>", FALSE },
    { "<a href='http://x/'>link</a>", FALSE },
    { "<img src='cid:a@b'><img src=\"data:image/png;base64,AAAA\">", FALSE },
    { "<img src=http://127.0.0.1:1/a.png>", TRUE },
    { "<IMG SRC = 'HTTPS://x/a.png'>", TRUE },
    { "<img src='//x/a.png'>", TRUE },
    { "<img src='h&#116;tp://x/a.png'>", TRUE },
    { "<img src='ht\ntp://x/a.png'>", TRUE },
    { "<img srcset='a.png 1x, http://x/b.png 2x'>", TRUE },
    { "<link rel=stylesheet href=http://x/s.css>", TRUE },
    { "<link rel=prefetch href=https://x/p>", TRUE },
    { "<style>@import 'http://x/s.css';</style>", TRUE },
    { "<style>p { background: url( http://x/bg ) }</style>", TRUE },
    { "<style>p { color: red }</style><a href=http://x>x</a>", FALSE },
    { "<div style=\"background:url('https://x/a')\">", TRUE },
    { "<iframe src=http://x/f></iframe>", TRUE },
    { "<form action=http://x/submit></form>", TRUE },
    { "<base href=http://x/><img src=a.png>", TRUE },
    { "<table background=http://x/t.png>", TRUE },
    { "<video poster=http://x/p.png>", TRUE },
    { "<!-- <img src=http://x/a.png> --><p>x</p>", FALSE },
    { "<p>Visit http://example.org today</p>", FALSE },
    { "<img src=\"unterminated", FALSE },
    { "<", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].html);
      g_assert_cmpint (pb_message_render_html_has_remote_content (cases[i].html), ==,
                       cases[i].remote);
    }
}

static void
test_remote_fixture (void)
{
  g_autofree char *path = data_path ("remote-template.html");
  g_autofree char *html = NULL;

  g_assert_true (g_file_get_contents (path, &html, NULL, NULL));
  g_assert_true (pb_message_render_html_has_remote_content (html));
}

static void
test_bounds (void)
{
  GString *s = g_string_new ("From: a@b\r\nSubject: deep\r\nMIME-Version: 1.0\r\n");
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(PbMessageRender) render = NULL;
  g_autoptr(GBytes) wide_raw = NULL;
  g_autoptr(PbMessageRender) wide = NULL;
  GString *w;

  /* 100 nested multiparts. */
  for (int i = 0; i < 100; i++)
    g_string_append_printf (s, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n",
                            i, i);
  g_string_append (s, "Content-Type: text/plain\r\n\r\ndeep\r\n");
  raw = g_bytes_new_take (s->str, s->len);
  g_string_free (s, FALSE);
  render = pb_message_render_new (raw, NULL);
  g_assert_nonnull (render);
  g_assert_true (pb_message_render_get_truncated (render));
  g_assert_cmpuint (pb_message_render_get_parts (render)->len, ==, 0);

  /* 1000 parts. */
  w = g_string_new ("From: a@b\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n");
  for (int i = 0; i < 1000; i++)
    g_string_append (w, "--x\r\nContent-Type: application/octet-stream\r\n\r\nA\r\n");
  g_string_append (w, "--x--\r\n");
  wide_raw = g_bytes_new_take (w->str, w->len);
  g_string_free (w, FALSE);
  wide = pb_message_render_new (wide_raw, NULL);
  g_assert_true (pb_message_render_get_truncated (wide));
  g_assert_cmpuint (pb_message_render_get_parts (wide)->len, ==, PB_MESSAGE_RENDER_MAX_PARTS);
}

static void
test_garbage (void)
{
  const char *inputs[] = { "", "\r\n", "no headers at all", "From:\r\n\r\n",
                           "Content-Type: multipart/mixed\r\n\r\n--\r\n" };

  /* Bad input: a clear error or a (possibly empty) rendering, never a crash. */
  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(GBytes) raw = g_bytes_new_static (inputs[i], strlen (inputs[i]));
      g_autoptr(GError) error = NULL;
      g_autoptr(PbMessageRender) render = pb_message_render_new (raw, &error);

      g_assert_true ((render != NULL) != (error != NULL));
      if (render != NULL)
        g_assert_nonnull (pb_message_render_get_subject (render));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();

  g_test_add_func ("/message-render/plain", test_plain);
  g_test_add_func ("/message-render/flowed", test_flowed);
  g_test_add_func ("/message-render/flowed-delsp", test_flowed_delsp);
  g_test_add_func ("/message-render/quoted", test_quoted);
  g_test_add_func ("/message-render/html", test_html);
  g_test_add_func ("/message-render/alternative", test_alternative);
  g_test_add_func ("/message-render/mixed", test_mixed);
  g_test_add_func ("/message-render/cid", test_cid);
  g_test_add_func ("/message-render/charsets", test_charsets);
  g_test_add_func ("/message-render/decode-text", test_decode_text);
  g_test_add_func ("/message-render/encoded-words", test_encoded_words);
  g_test_add_func ("/message-render/hostile-names", test_hostile_names);
  g_test_add_func ("/message-render/sanitize", test_sanitize);
  g_test_add_func ("/message-render/remote-detection", test_remote_detection);
  g_test_add_func ("/message-render/remote-fixture", test_remote_fixture);
  g_test_add_func ("/message-render/bounds", test_bounds);
  g_test_add_func ("/message-render/garbage", test_garbage);
  return g_test_run ();
}
