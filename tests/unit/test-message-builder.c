/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>

#include "pb-engine.h"
#include "pb-message-builder.h"

/* Every built message is parsed back with GMime and compared field by field. */

static GMimeMessage *
parse (GBytes *raw)
{
  gsize size;
  const char *data = g_bytes_get_data (raw, &size);
  GMimeStream *stream = g_mime_stream_mem_new_with_buffer (data, size);
  GMimeParser *parser = g_mime_parser_new_with_stream (stream);
  GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);

  g_object_unref (parser);
  g_object_unref (stream);
  g_assert_nonnull (message);
  return message;
}

static char *
raw_string (GBytes *raw)
{
  gsize size;
  const char *data = g_bytes_get_data (raw, &size);
  return g_strndup (data, size);
}

/* Every line ends in CRLF, no line is longer than 998 bytes, and the headers are 7-bit. */
static void
assert_wire_format (GBytes *raw)
{
  gsize size;
  const guchar *data = g_bytes_get_data (raw, &size);
  gsize line_start = 0;
  gboolean in_headers = TRUE;

  g_assert_cmpuint (size, >, 2);
  for (gsize i = 0; i < size; i++)
    {
      if (data[i] == '\n')
        {
          g_assert_cmpuint (i, >, 0);
          g_assert_cmpint (data[i - 1], ==, '\r');
          g_assert_cmpuint (i - line_start, <=, 999);
          if (i - line_start == 1)
            in_headers = FALSE;
          line_start = i + 1;
        }
      else if (data[i] == '\r')
        {
          g_assert_cmpuint (i + 1, <, size);
          g_assert_cmpint (data[i + 1], ==, '\n');
        }
      if (in_headers)
        g_assert_cmpuint (data[i], <, 0x80);
    }
  g_assert_cmpint (data[size - 1], ==, '\n');
}

static char *
address_at (InternetAddressList *list,
            int                  index,
            char               **name)
{
  InternetAddress *address;

  g_assert_nonnull (list);
  g_assert_cmpint (internet_address_list_length (list), >, index);
  address = internet_address_list_get_address (list, index);
  g_assert_true (INTERNET_ADDRESS_IS_MAILBOX (address));
  if (name != NULL)
    *name = g_strdup (internet_address_get_name (address));
  return g_strdup (internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)));
}

static GMimePart *
find_part (GMimeMessage *message,
           int           index)
{
  GMimeObject *body = g_mime_message_get_mime_part (message);

  if (index < 0)
    return GMIME_IS_MULTIPART (body)
             ? GMIME_PART (g_mime_multipart_get_part (GMIME_MULTIPART (body), 0))
             : GMIME_PART (body);
  g_assert_true (GMIME_IS_MULTIPART (body));
  return GMIME_PART (g_mime_multipart_get_part (GMIME_MULTIPART (body), index));
}

static GBytes *
part_bytes (GMimeObject *object)
{
  GMimeStream *stream = g_mime_stream_mem_new ();
  GByteArray *array;
  GBytes *bytes;

  if (GMIME_IS_PART (object))
    g_mime_data_wrapper_write_to_stream (g_mime_part_get_content (GMIME_PART (object)), stream);
  else
    g_mime_object_write_to_stream (
      GMIME_OBJECT (g_mime_message_part_get_message (GMIME_MESSAGE_PART (object))), NULL,
      stream);
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
  bytes = g_bytes_new (array->data, array->len);
  g_object_unref (stream);
  return bytes;
}

static char *
text_of (GMimeMessage *message)
{
  GMimePart *part = find_part (message, -1);
  GMimeContentType *type = g_mime_object_get_content_type (GMIME_OBJECT (part));
  g_autofree char *text = NULL;

  g_assert_true (g_mime_content_type_is_type (type, "text", "plain"));
  g_assert_cmpstr (g_mime_content_type_get_parameter (type, "charset"), ==, "utf-8");
  g_assert_cmpstr (g_mime_content_type_get_parameter (type, "format"), ==, "flowed");
  text = g_mime_text_part_get_text (GMIME_TEXT_PART (part));
  return pb_message_builder_unflow (text, FALSE);
}

static void
test_build_fields (void)
{
  g_autoptr(PbMessageBuilder) builder = pb_message_builder_new ("Jürgen Müller",
                                                                "juergen@example.com");
  g_autoptr(GDateTime) date = g_date_time_new_utc (2026, 11, 26, 10, 30, 0);
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) envelope = NULL;
  g_autofree char *text = NULL;
  g_autofree char *wire = NULL;
  g_autofree char *name = NULL;
  g_autofree char *addr = NULL;
  GMimeMessage *message;
  const char *id;

  pb_message_builder_set_to (builder, "\"Zoë Ångström\" <zoe@example.org>, plain@example.org");
  pb_message_builder_set_cc (builder, "Ἀθηνᾶ <athena@example.gr>");
  pb_message_builder_set_bcc (builder, "Secret Keeper <secret@example.net>, zoe@example.org");
  pb_message_builder_set_subject (builder, "Grüße aus Köln — 東京 ✉");
  pb_message_builder_set_body (builder, "Hallo Zoë,\n\nwie geht’s?\n\n-- \nJürgen\n");
  pb_message_builder_set_date (builder, date);
  pb_message_builder_set_in_reply_to (builder, "parent@example.org");
  pb_message_builder_set_references (builder, "<root@example.org> <parent@example.org>");

  raw = pb_message_builder_build (builder, &error);
  g_assert_no_error (error);
  assert_wire_format (raw);
  wire = raw_string (raw);

  /* Bcc is only in the envelope; the envelope has every address once. */
  g_assert_null (strstr (wire, "secret@example.net"));
  g_assert_null (g_strstr_len (wire, -1, "Bcc:"));
  envelope = pb_message_builder_get_envelope_recipients (builder, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (envelope), ==, 4);
  g_assert_cmpstr (envelope[0], ==, "zoe@example.org");
  g_assert_cmpstr (envelope[1], ==, "plain@example.org");
  g_assert_cmpstr (envelope[2], ==, "athena@example.gr");
  g_assert_cmpstr (envelope[3], ==, "secret@example.net");

  /* RFC 2047 on the wire. */
  g_assert_nonnull (strstr (wire, "Subject: =?"));

  message = parse (raw);
  addr = address_at (g_mime_message_get_from (message), 0, &name);
  g_assert_cmpstr (addr, ==, "juergen@example.com");
  g_assert_cmpstr (name, ==, "Jürgen Müller");
  g_clear_pointer (&addr, g_free);
  g_clear_pointer (&name, g_free);
  g_assert_cmpint (internet_address_list_length (g_mime_message_get_to (message)), ==, 2);
  addr = address_at (g_mime_message_get_to (message), 0, &name);
  g_assert_cmpstr (addr, ==, "zoe@example.org");
  g_assert_cmpstr (name, ==, "Zoë Ångström");
  g_clear_pointer (&addr, g_free);
  g_clear_pointer (&name, g_free);
  addr = address_at (g_mime_message_get_to (message), 1, NULL);
  g_assert_cmpstr (addr, ==, "plain@example.org");
  g_clear_pointer (&addr, g_free);
  addr = address_at (g_mime_message_get_cc (message), 0, &name);
  g_assert_cmpstr (addr, ==, "athena@example.gr");
  g_assert_cmpstr (name, ==, "Ἀθηνᾶ");
  g_assert_cmpint (internet_address_list_length (g_mime_message_get_bcc (message)), ==, 0);
  g_assert_cmpstr (g_mime_message_get_subject (message), ==, "Grüße aus Köln — 東京 ✉");
  g_assert_true (g_date_time_equal (g_mime_message_get_date (message), date));

  id = g_mime_message_get_message_id (message);
  g_assert_nonnull (id);
  g_assert_true (g_str_has_suffix (id, "@example.com"));
  g_assert_cmpstr (id, ==, pb_message_builder_get_message_id (builder));
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "In-Reply-To"), ==,
                   "<parent@example.org>");
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "References"), ==,
                   "<root@example.org> <parent@example.org>");

  text = text_of (message);
  g_assert_cmpstr (text, ==, "Hallo Zoë,\n\nwie geht’s?\n\n-- \nJürgen\n");
  g_object_unref (message);
}

static void
test_draft_keeps_bcc (void)
{
  g_autoptr(PbMessageBuilder) builder = pb_message_builder_new (NULL, "me@example.com");
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) error = NULL;
  GMimeMessage *message;
  g_autofree char *addr = NULL;

  pb_message_builder_set_bcc (builder, "hidden@example.net");
  pb_message_builder_set_include_bcc (builder, TRUE);
  raw = pb_message_builder_build (builder, &error);
  g_assert_no_error (error);
  message = parse (raw);
  addr = address_at (g_mime_message_get_bcc (message), 0, NULL);
  g_assert_cmpstr (addr, ==, "hidden@example.net");
  g_object_unref (message);
}

static void
test_bad_addresses (void)
{
  g_autoptr(PbMessageBuilder) builder = pb_message_builder_new (NULL, "me@example.com");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) raw = NULL;
  char **envelope;

  envelope = pb_message_builder_get_envelope_recipients (builder, &error);
  g_assert_null (envelope);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  pb_message_builder_set_to (builder, "no-at-sign");
  envelope = pb_message_builder_get_envelope_recipients (builder, &error);
  g_assert_null (envelope);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  raw = pb_message_builder_build (builder, &error);
  g_assert_null (raw);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);

  pb_message_builder_set_to (builder, "ok@example.org");
  pb_message_builder_set_from (builder, NULL, "not an address");
  raw = pb_message_builder_build (builder, &error);
  g_assert_null (raw);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

static void
test_attachments (void)
{
  g_autoptr(PbMessageBuilder) builder = pb_message_builder_new (NULL, "me@example.com");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GBytes) png = NULL;
  g_autoptr(GBytes) pdf = NULL;
  g_autoptr(GByteArray) binary = g_byte_array_new ();
  g_autoptr(GBytes) binary_bytes = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pb-builder-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autoptr(GFile) file = NULL;
  g_autofree char *wire = NULL;
  static const guchar png_magic[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13 };
  GMimeMessage *message;
  GMimeObject *body;

  g_assert_no_error (error);
  for (guint i = 0; i < 300000; i++)
    {
      guint8 b = (guint8) (i * 7 + (i >> 8));
      g_byte_array_append (binary, &b, 1);
    }
  binary_bytes = g_bytes_new (binary->data, binary->len);
  path = g_build_filename (dir, "Größe & Maß (1).bin", NULL);
  g_assert_true (g_file_set_contents (path, (const char *) binary->data, binary->len, &error));
  file = g_file_new_for_path (path);

  png = g_bytes_new_static (png_magic, sizeof png_magic);
  pdf = g_bytes_new_static ("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 15);

  pb_message_builder_set_to (builder, "you@example.org");
  pb_message_builder_set_subject (builder, "files");
  pb_message_builder_set_body (builder, "See attached.");
  pb_message_builder_add_attachment_file (builder, file);
  /* Names from elsewhere: folders are dropped, on either kind of separator. */
  pb_message_builder_add_attachment_bytes (builder, "../../etc/Überweisung\\März.png", NULL, png);
  pb_message_builder_add_attachment_bytes (builder, "/tmp/ビデオ 報告.pdf", NULL, pdf);
  g_assert_cmpuint (pb_message_builder_get_n_attachments (builder), ==, 3);

  raw = pb_message_builder_build (builder, &error);
  g_assert_no_error (error);
  assert_wire_format (raw);
  wire = raw_string (raw);
  /* RFC 2231 names, not RFC 2047 inside a parameter. */
  g_assert_nonnull (strstr (wire, "filename*=UTF-8''"));
  g_assert_null (strstr (wire, "..%2F"));

  message = parse (raw);
  body = g_mime_message_get_mime_part (message);
  g_assert_true (GMIME_IS_MULTIPART (body));
  g_assert_cmpint (g_mime_multipart_get_count (GMIME_MULTIPART (body)), ==, 4);

  {
    GMimePart *part = find_part (message, 1);
    g_autoptr(GBytes) content = part_bytes (GMIME_OBJECT (part));

    g_assert_cmpstr (g_mime_part_get_filename (part), ==, "Größe & Maß (1).bin");
    g_assert_cmpint (g_mime_part_get_content_encoding (part), ==, GMIME_CONTENT_ENCODING_BASE64);
    g_assert_cmpstr (g_mime_object_get_disposition (GMIME_OBJECT (part)), ==, "attachment");
    g_assert_true (g_bytes_equal (content, binary_bytes));
  }
  {
    GMimePart *part = find_part (message, 2);
    g_autoptr(GBytes) content = part_bytes (GMIME_OBJECT (part));
    g_autofree char *type = g_mime_content_type_get_mime_type (
      g_mime_object_get_content_type (GMIME_OBJECT (part)));

    g_assert_cmpstr (g_mime_part_get_filename (part), ==, "März.png");
    g_assert_cmpstr (type, ==, "image/png");
    g_assert_true (g_bytes_equal (content, png));
  }
  {
    GMimePart *part = find_part (message, 3);
    g_autoptr(GBytes) content = part_bytes (GMIME_OBJECT (part));
    g_autofree char *type = g_mime_content_type_get_mime_type (
      g_mime_object_get_content_type (GMIME_OBJECT (part)));

    g_assert_cmpstr (g_mime_part_get_filename (part), ==, "ビデオ 報告.pdf");
    g_assert_cmpstr (type, ==, "application/pdf");
    g_assert_true (g_bytes_equal (content, pdf));
  }
  g_object_unref (message);

  g_assert_true (g_file_delete (file, NULL, NULL));
  g_rmdir (dir);

  /* A missing file is an error, not an empty attachment. */
  g_clear_pointer (&raw, g_bytes_unref);
  raw = pb_message_builder_build (builder, &error);
  g_assert_null (raw);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

static void
test_sanitize_filename (void)
{
  static const struct { const char *in; const char *out; } cases[] = {
    { "a.txt", "a.txt" },
    { "../../etc/passwd", "passwd" },
    { "C:\\Users\\x\\y.doc", "y.doc" },
    { "..", "attachment" },
    { "/", "attachment" },
    { "", "attachment" },
    { ".hidden", "hidden" },
    { "tab\there\n.txt", "tabhere.txt" },
    { "Ünïcödé ✓.txt", "Ünïcödé ✓.txt" },
    { "\xff\xfe.txt", "attachment" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = pb_message_builder_sanitize_filename (cases[i].in);
      g_assert_cmpstr (out, ==, cases[i].out);
    }
}

static void
test_encodings (void)
{
  static const struct { const char *text; gboolean allow_8bit; GMimeContentEncoding expect; }
  cases[] = {
    { "Plain ASCII only.", FALSE, GMIME_CONTENT_ENCODING_7BIT },
    { "Grüße aus München, das ist überwiegend ASCII-Text mit ein paar Umlauten.", FALSE,
      GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE },
    { "Привет, как дела? Это почти целиком кириллический текст без латиницы.", FALSE,
      GMIME_CONTENT_ENCODING_BASE64 },
    { "Grüße aus München.", TRUE, GMIME_CONTENT_ENCODING_8BIT },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PbMessageBuilder) builder = pb_message_builder_new (NULL, "me@example.com");
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) raw = NULL;
      g_autofree char *text = NULL;
      g_autofree char *expected = g_strconcat (cases[i].text, "\n", NULL);
      GMimeMessage *message;

      pb_message_builder_set_to (builder, "you@example.org");
      pb_message_builder_set_body (builder, cases[i].text);
      pb_message_builder_set_allow_8bit (builder, cases[i].allow_8bit);
      raw = pb_message_builder_build (builder, &error);
      g_assert_no_error (error);
      if (!cases[i].allow_8bit)
        {
          gsize size;
          const guchar *data = g_bytes_get_data (raw, &size);
          for (gsize j = 0; j < size; j++)
            g_assert_cmpuint (data[j], <, 0x80);
        }
      message = parse (raw);
      /* 7bit is the default and need not be written. */
      if (cases[i].expect == GMIME_CONTENT_ENCODING_7BIT)
        g_assert_cmpint (g_mime_part_get_content_encoding (find_part (message, -1)), <=,
                         GMIME_CONTENT_ENCODING_7BIT);
      else
        g_assert_cmpint (g_mime_part_get_content_encoding (find_part (message, -1)), ==,
                         cases[i].expect);
      text = text_of (message);
      g_assert_cmpstr (text, ==, expected);
      g_object_unref (message);
    }
}

static void
test_flowed (void)
{
  static const char *texts[] = {
    "Short line.",
    "A long paragraph that goes on and on, well past the seventy-eight characters that RFC 3676 "
    "recommends for a line, so that it has to be broken softly at spaces, more than once, "
    "because it is really very long indeed and nobody likes horizontal scrolling.",
    " leading space is stuffed\nFrom the start of a line too\n> not a quote? it is one",
    "> quoted line that is also rather long and needs to be wrapped while keeping its quote "
    "marks on every continuation line\n>> deeper quote\n\nAnswer below.",
    "Signature follows\n-- \nJürgen Müller\nStraße 1",
    "Ünïcödé wörds ǵo ön änd ön änd ön änd ön änd ön änd ön änd ön änd ön änd ön änd ön änd ön "
    "änd ön änd ön änd.",
    "averyveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryverylongword "
    "and more",
    "\n\nEmpty lines\n\n\naround\n\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autofree char *flowed = pb_message_builder_flow (texts[i]);
      g_autofree char *back = pb_message_builder_unflow (flowed, FALSE);
      g_auto(GStrv) lines = g_strsplit (flowed, "\n", -1);

      g_assert_cmpstr (back, ==, texts[i]);
      for (guint j = 0; lines[j] != NULL; j++)
        {
          const char *line = lines[j];

          /* Only a word longer than the line may make a line longer than 78. */
          if (g_utf8_strlen (line, -1) > 78)
            g_assert_true (strstr (line, "verylongword") != NULL);
          /* At depth 0 nothing may start like a quote or an mbox From line. */
          g_assert_false (g_str_has_prefix (line, "From "));
        }
    }

  /* Soft breaks really are soft: a long paragraph becomes several lines ending in a space. */
  {
    g_autofree char *flowed = pb_message_builder_flow (texts[1]);
    g_auto(GStrv) lines = g_strsplit (flowed, "\n", -1);

    g_assert_cmpuint (g_strv_length (lines), >=, 3);
    for (guint j = 0; lines[j + 1] != NULL; j++)
      {
        g_assert_true (g_str_has_suffix (lines[j], " "));
        g_assert_cmpint (g_utf8_strlen (lines[j], -1), <=, 78);
      }
    g_assert_false (g_str_has_suffix (lines[g_strv_length (lines) - 1], " "));
  }
  /* Stuffing and quoting. */
  {
    g_autofree char *flowed = pb_message_builder_flow (texts[2]);
    g_autofree char *quoted = pb_message_builder_flow (texts[3]);

    g_assert_cmpstr (flowed, ==, "  leading space is stuffed\n From the start of a line too\n"
                                 "> not a quote? it is one");
    g_assert_true (g_str_has_prefix (quoted, "> quoted line"));
    g_assert_nonnull (strstr (quoted, "\n> "));
    g_assert_nonnull (strstr (quoted, "\n>> deeper quote\n"));
  }
  /* Trailing spaces the user typed would make a hard break soft: they go. */
  {
    g_autofree char *flowed = pb_message_builder_flow ("one   \ntwo");
    g_assert_cmpstr (flowed, ==, "one\ntwo");
  }
  /* DelSp=yes: the space before a soft break is not content. */
  {
    g_autofree char *text = pb_message_builder_unflow ("abc \r\ndef\r\n", TRUE);
    g_assert_cmpstr (text, ==, "abcdef\n");
  }
}

static GBytes *
load_fixture (const char *name)
{
  g_autofree char *path = g_build_filename (g_getenv ("PB_TEST_SRCDIR"), "data", "compose", name,
                                            NULL);
  g_autoptr(GError) error = NULL;
  char *contents;
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static void
test_reply (void)
{
  g_autoptr(GBytes) original = load_fixture ("reply-plain.eml");
  g_autoptr(GError) error = NULL;
  g_autoptr(PbMessageBuilder) reply = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autofree char *text = NULL;
  GMimeMessage *message;
  const char *body;

  reply = pb_message_builder_new_for_original (original, PB_COMPOSE_REPLY, "Alice",
                                               "alice@example.org", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pb_message_builder_get_to (reply), ==, "Jürgen Müller <juergen@example.com>");
  g_assert_null (pb_message_builder_get_cc (reply));
  /* "Re: AW: Grüße" -> "Re: Grüße": one Re:. */
  g_assert_cmpstr (pb_message_builder_get_subject (reply), ==, "Re: Grüße aus Berlin");
  g_assert_cmpstr (pb_message_builder_get_in_reply_to (reply), ==, "orig-2@example.com");
  g_assert_cmpstr (pb_message_builder_get_references (reply), ==,
                   "<orig-0@example.com> <orig-1@example.com> <orig-2@example.com>");

  body = pb_message_builder_get_body (reply);
  /* The attribution, in the C locale, then the quoted (unflowed) text. */
  g_assert_nonnull (strstr (body, ", Jürgen Müller wrote:\n"));
  g_assert_nonnull (strstr (body, "On Tue, Nov 3, 2026 at "));
  g_assert_nonnull (strstr (body, "\n> Hallo zusammen, dies ist ein langer Absatz, der in der "
                                  "Nachricht weich umbrochen wurde.\n>> Ein Zitat\n>\n"
                                  "> Viele Grüße\n> Jürgen\n"));

  /* Replying again to the reply still says "Re:" once. */
  pb_message_builder_set_body (reply, "Danke!");
  raw = pb_message_builder_build (reply, &error);
  g_assert_no_error (error);
  {
    g_autoptr(PbMessageBuilder) again = pb_message_builder_new_for_original (
      raw, PB_COMPOSE_REPLY, "Jürgen", "juergen@example.com", NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (pb_message_builder_get_subject (again), ==, "Re: Grüße aus Berlin");
    /* Replying to one's own message goes to its recipients again. */
    {
      g_autoptr(PbMessageBuilder) own = pb_message_builder_new_for_original (
        raw, PB_COMPOSE_REPLY, "Alice", "alice@example.org", NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (pb_message_builder_get_to (own), ==,
                       "Jürgen Müller <juergen@example.com>");
    }
  }

  message = parse (raw);
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "In-Reply-To"), ==,
                   "<orig-2@example.com>");
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "References"), ==,
                   "<orig-0@example.com> <orig-1@example.com> <orig-2@example.com>");
  text = text_of (message);
  g_assert_cmpstr (text, ==, "Danke!\n");
  g_object_unref (message);
}

static void
test_reply_all (void)
{
  g_autoptr(GBytes) plain = load_fixture ("reply-plain.eml");
  g_autoptr(GBytes) list = load_fixture ("reply-list.eml");
  g_autoptr(GError) error = NULL;
  g_autoptr(PbMessageBuilder) reply = NULL;
  g_autoptr(PbMessageBuilder) list_reply = NULL;
  g_autoptr(PbMessageBuilder) list_all = NULL;
  const char *own[] = { "alice.alias@example.org", NULL };

  /* Own address left out, even in another case; the other recipients in Cc. */
  reply = pb_message_builder_new_for_original (plain, PB_COMPOSE_REPLY_ALL, "Alice",
                                               "alice@example.org", own, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pb_message_builder_get_to (reply), ==, "Jürgen Müller <juergen@example.com>");
  g_assert_cmpstr (pb_message_builder_get_cc (reply), ==,
                   "Bob <bob@example.net>, Carol <carol@example.net>");

  /* Reply-To is honoured: a reply goes to the list only. */
  list_reply = pb_message_builder_new_for_original (list, PB_COMPOSE_REPLY, "Alice",
                                                    "alice@example.org", own, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pb_message_builder_get_to (list_reply), ==,
                   "Dev List <dev@lists.example.com>");
  g_assert_null (pb_message_builder_get_cc (list_reply));
  g_assert_cmpstr (pb_message_builder_get_subject (list_reply), ==, "Re: Build broken");
  g_assert_cmpstr (pb_message_builder_get_references (list_reply), ==, "<list-1@example.com>");
  /* The plain alternative is quoted, not the HTML. */
  g_assert_nonnull (strstr (pb_message_builder_get_body (list_reply), "> The build is broken.\n"));

  /* Reply-all: the list, plus the sender and the others, once each, never oneself. */
  list_all = pb_message_builder_new_for_original (list, PB_COMPOSE_REPLY_ALL, "Alice",
                                                  "alice@example.org", own, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pb_message_builder_get_to (list_all), ==, "Dev List <dev@lists.example.com>");
  g_assert_cmpstr (pb_message_builder_get_cc (list_all), ==,
                   "List Member <member@example.com>, Dave <dave@example.com>");
  g_assert_cmpuint (pb_message_builder_get_n_attachments (list_all), ==, 0);
}

static void
test_forward (void)
{
  g_autoptr(GBytes) list = load_fixture ("reply-list.eml");
  g_autoptr(GError) error = NULL;
  g_autoptr(PbMessageBuilder) inline_fwd = NULL;
  g_autoptr(PbMessageBuilder) attached = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GBytes) raw2 = NULL;
  const char *body;
  GMimeMessage *message;

  inline_fwd = pb_message_builder_new_for_original (list, PB_COMPOSE_FORWARD, "Alice",
                                                    "alice@example.org", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (pb_message_builder_get_to (inline_fwd));
  g_assert_null (pb_message_builder_get_in_reply_to (inline_fwd));
  g_assert_cmpstr (pb_message_builder_get_subject (inline_fwd), ==, "Fwd: Build broken");
  body = pb_message_builder_get_body (inline_fwd);
  g_assert_nonnull (strstr (body, "-------- Forwarded Message --------\n"));
  g_assert_nonnull (strstr (body, "Subject: Build broken\n"));
  g_assert_nonnull (strstr (body, "From: List Member <member@example.com>\n"));
  g_assert_nonnull (strstr (body, "\nThe build is broken."));
  /* Both attachments travel along, names and bytes intact. */
  g_assert_cmpuint (pb_message_builder_get_n_attachments (inline_fwd), ==, 2);
  g_assert_cmpstr (pb_message_builder_get_attachment_name (inline_fwd, 0), ==, "build.log");
  g_assert_cmpstr (pb_message_builder_get_attachment_name (inline_fwd, 1), ==, "Prüfung.bin");

  pb_message_builder_set_to (inline_fwd, "bob@example.net");
  raw = pb_message_builder_build (inline_fwd, &error);
  g_assert_no_error (error);
  message = parse (raw);
  {
    g_autoptr(GBytes) bin = part_bytes (GMIME_OBJECT (find_part (message, 2)));
    static const guchar expected[] = { 0, 1, 2, 3, 4, 5 };
    g_autoptr(GBytes) want = g_bytes_new_static (expected, sizeof expected);

    g_assert_cmpstr (g_mime_part_get_filename (find_part (message, 2)), ==, "Prüfung.bin");
    g_assert_true (g_bytes_equal (bin, want));
  }
  g_object_unref (message);

  /* As an attachment: the original whole, as message/rfc822. */
  attached = pb_message_builder_new_for_original (list, PB_COMPOSE_FORWARD_ATTACHMENT, "Alice",
                                                  "alice@example.org", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pb_message_builder_get_n_attachments (attached), ==, 1);
  g_assert_cmpstr (pb_message_builder_get_attachment_name (attached, 0), ==, "Build broken.eml");
  pb_message_builder_set_to (attached, "bob@example.net");
  raw2 = pb_message_builder_build (attached, &error);
  g_assert_no_error (error);
  assert_wire_format (raw2);
  message = parse (raw2);
  {
    GMimeObject *body_part = g_mime_message_get_mime_part (message);
    GMimeObject *part = g_mime_multipart_get_part (GMIME_MULTIPART (body_part), 1);
    GMimeMessage *inner;

    g_assert_true (GMIME_IS_MESSAGE_PART (part));
    inner = g_mime_message_part_get_message (GMIME_MESSAGE_PART (part));
    g_assert_cmpstr (g_mime_message_get_subject (inner), ==, "Build broken");
    g_assert_cmpstr (g_mime_message_get_message_id (inner), ==, "list-1@example.com");
  }
  g_object_unref (message);
}

static void
test_garbage_original (void)
{
  g_autoptr(GBytes) garbage = g_bytes_new_static ("\0\0\0", 3);
  g_autoptr(GError) error = NULL;
  g_autoptr(PbMessageBuilder) builder = NULL;

  /* GMime makes a message out of almost anything; whatever it makes, nothing crashes and the
   * reply has a subject. */
  builder = pb_message_builder_new_for_original (garbage, PB_COMPOSE_REPLY_ALL, NULL,
                                                 "me@example.com", NULL, &error);
  if (builder != NULL)
    g_assert_cmpstr (pb_message_builder_get_subject (builder), ==, "Re: ");
  else
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

int
main (int argc, char **argv)
{
  /* The attribution line and dates are checked in English. */
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  g_setenv ("TZ", "UTC", TRUE);
  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();

  g_test_add_func ("/builder/fields", test_build_fields);
  g_test_add_func ("/builder/draft-keeps-bcc", test_draft_keeps_bcc);
  g_test_add_func ("/builder/bad-addresses", test_bad_addresses);
  g_test_add_func ("/builder/attachments", test_attachments);
  g_test_add_func ("/builder/sanitize-filename", test_sanitize_filename);
  g_test_add_func ("/builder/encodings", test_encodings);
  g_test_add_func ("/builder/flowed", test_flowed);
  g_test_add_func ("/builder/reply", test_reply);
  g_test_add_func ("/builder/reply-all", test_reply_all);
  g_test_add_func ("/builder/forward", test_forward);
  g_test_add_func ("/builder/garbage-original", test_garbage_original);

  return g_test_run ();
}
