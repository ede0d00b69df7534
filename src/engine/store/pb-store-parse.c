/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include <gmime/gmime.h>

#include "pb-store-private.h"

/*
 * What the store extracts from a raw message: the envelope the message list shows, a short
 * preview, whether there are attachments, and the body text for the full-text index. GMime
 * does the decoding (RFC 2047 encoded words, charsets, transfer encodings); everything that
 * comes out is made valid UTF-8 here again, because mail in the wild breaks every rule and
 * the store, the UI and SQLite all assume valid text.
 */

#define PREVIEW_CHARS 200
/* Enough for searching any real letter; caps the index for a pasted log file. */
#define MAX_BODY_TEXT_BYTES (128 * 1024)
#define MAX_MIME_DEPTH 32
/* No need to decode more of one part than the index keeps. */
#define MAX_PART_BYTES (4 * MAX_BODY_TEXT_BYTES)

/* Header bytes that are not valid in any charset they claim are tried as UTF-8, then as
 * Windows-1252 (what most unlabelled 8-bit Western mail really is), then as ISO-8859-1, which
 * accepts any byte. The options are shared by all threads and never change. */
static GMimeParserOptions *
get_parser_options (void)
{
  static GMimeParserOptions *options;

  if (g_once_init_enter (&options))
    {
      static const char *charsets[] = { "UTF-8", "windows-1252", "iso-8859-1", NULL };
      GMimeParserOptions *new_options = g_mime_parser_options_new ();

      g_mime_parser_options_set_fallback_charsets (new_options, charsets);
      g_mime_parser_options_set_rfc2047_compliance_mode (new_options, GMIME_RFC_COMPLIANCE_LOOSE);
      g_mime_parser_options_set_address_compliance_mode (new_options, GMIME_RFC_COMPLIANCE_LOOSE);
      g_mime_parser_options_set_parameter_compliance_mode (new_options,
                                                           GMIME_RFC_COMPLIANCE_LOOSE);
      g_once_init_leave (&options, new_options);
    }
  return options;
}

/* Valid UTF-8 on one line: control characters become spaces, runs of spaces collapse. Returns
 * NULL for text that is empty afterwards, so that the store keeps NULL for "none". */
static char *
clean_line (const char *text,
            gssize      length,
            gsize       max_chars)
{
  g_autofree char *valid = NULL;
  GString *out;
  gboolean space = FALSE;
  gsize n_chars = 0;

  if (text == NULL)
    return NULL;

  valid = g_utf8_make_valid (text, length);
  out = g_string_sized_new (strlen (valid));
  for (const char *p = valid; *p && (max_chars == 0 || n_chars < max_chars);
       p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c) || g_unichar_iscntrl (c) || c == 0xFEFF)
        {
          space = out->len > 0;
          continue;
        }
      if (space)
        {
          g_string_append_c (out, ' ');
          n_chars++;
          space = FALSE;
        }
      g_string_append_unichar (out, c);
      n_chars++;
    }

  if (out->len == 0)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

/* HTML to plain text, good enough for a preview and the search index: no tags, no scripts or
 * styles, the common entities decoded, block elements as line breaks. It never needs to be a
 * faithful rendering; the reader shows HTML in WebKit. */

static const char *
find_ci (const char *haystack,
         const char *needle)
{
  gsize n = strlen (needle);

  for (const char *p = haystack; *p; p++)
    if (g_ascii_strncasecmp (p, needle, n) == 0)
      return p;
  return NULL;
}

static gboolean
tag_is (const char *name,
        gsize       length,
        const char *const *names)
{
  for (guint i = 0; names[i] != NULL; i++)
    if (strlen (names[i]) == length && g_ascii_strncasecmp (name, names[i], length) == 0)
      return TRUE;
  return FALSE;
}

static void
append_entity (GString     *out,
               const char **pp)
{
  static const struct {
    const char *name;
    const char *text;
  } entities[] = {
    { "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" }, { "quot;", "\"" }, { "apos;", "'" },
    { "nbsp;", " " }, { "shy;", "" }, { "zwnj;", "" }, { "hellip;", "…" }, { "ndash;", "–" },
    { "mdash;", "—" }, { "euro;", "€" }, { "copy;", "©" }, { "auml;", "ä" },
    { "ouml;", "ö" }, { "uuml;", "ü" }, { "Auml;", "Ä" }, { "Ouml;", "Ö" }, { "Uuml;", "Ü" },
    { "szlig;", "ß" },
  };
  const char *p = *pp + 1;

  if (*p == '#')
    {
      gboolean hex = p[1] == 'x' || p[1] == 'X';
      const char *digits = p + (hex ? 2 : 1);
      char *end = NULL;
      guint64 value = g_ascii_strtoull (digits, &end, hex ? 16 : 10);

      if (end != digits && *end == ';' && value > 0 && value <= 0x10FFFF
          && g_unichar_validate ((gunichar) value))
        {
          g_string_append_unichar (out, (gunichar) value);
          *pp = end + 1;
          return;
        }
    }
  else
    {
      for (guint i = 0; i < G_N_ELEMENTS (entities); i++)
        if (strncmp (p, entities[i].name, strlen (entities[i].name)) == 0)
          {
            g_string_append (out, entities[i].text);
            *pp = p + strlen (entities[i].name);
            return;
          }
    }
  g_string_append_c (out, '&');
  *pp = *pp + 1;
}

static char *
html_to_text (const char *html)
{
  static const char *const skipped[] = { "script", "style", "head", "title", "template", NULL };
  static const char *const blocks[] = {
    "br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "table", "ul", "ol", "pre", "hr", "section", "article", "header", "footer", NULL
  };
  GString *out = g_string_sized_new (strlen (html) / 2);
  const char *p = html;

  while (*p)
    {
      if (*p == '&')
        {
          append_entity (out, &p);
          continue;
        }
      if (*p != '<')
        {
          g_string_append_c (out, *p++);
          continue;
        }

      if (strncmp (p, "<!--", 4) == 0)
        {
          const char *end = strstr (p + 4, "-->");
          p = end ? end + 3 : p + strlen (p);
          continue;
        }

      {
        const char *name = p + 1;
        gboolean closing = *name == '/';
        gsize length;
        char quote = 0;

        if (closing)
          name++;
        length = strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        if (length == 0 && !closing && *name != '!' && *name != '?')
          {
            /* A lone "<" in text, as in "a < b". */
            g_string_append_c (out, *p++);
            continue;
          }

        /* The end of the tag, skipping ">" inside quoted attribute values. */
        for (p = name + length; *p && (quote || *p != '>'); p++)
          {
            if (quote && *p == quote)
              quote = 0;
            else if (!quote && (*p == '"' || *p == '\''))
              quote = *p;
          }
        if (*p == '>')
          p++;

        if (!closing && tag_is (name, length, skipped))
          {
            g_autofree char *close = g_strdup_printf ("</%.*s", (int) length, name);
            const char *end = find_ci (p, close);

            /* Without a closing tag only script and style are dropped to the end. */
            if (end != NULL)
              {
                p = strchr (end, '>');
                p = p ? p + 1 : end + strlen (end);
              }
            else if (g_ascii_strncasecmp (name, "script", length) == 0
                     || g_ascii_strncasecmp (name, "style", length) == 0)
              p += strlen (p);
            continue;
          }
        if (tag_is (name, length, blocks))
          g_string_append_c (out, '\n');
      }
    }

  return g_string_free (out, FALSE);
}

/* Preview: the first characters of what the sender wrote, skipping quoted lines. */
static char *
make_preview (const char *text)
{
  g_autoptr(GString) unquoted = g_string_new (NULL);
  const char *line = text;

  while (line != NULL && *line && g_utf8_strlen (unquoted->str, -1) < PREVIEW_CHARS * 2)
    {
      const char *end = strchr (line, '\n');
      gsize length = end ? (gsize) (end - line) : strlen (line);
      const char *p = line;

      while (p < line + length && (*p == ' ' || *p == '\t'))
        p++;
      if (*p != '>')
        {
          g_string_append_len (unquoted, line, length);
          g_string_append_c (unquoted, ' ');
        }
      line = end ? end + 1 : NULL;
    }
  return clean_line (unquoted->str, -1, PREVIEW_CHARS);
}

typedef struct {
  GString  *plain;
  GString  *html;
  gboolean  has_attachment;
} BodyWalk;

/* The text of a leaf part as UTF-8. Parts in the wild lie about their charset or leave it
 * out, so: a declared UTF-8 part keeps what is valid; another declared charset is converted
 * if it can be; otherwise valid UTF-8 is taken as is and anything else goes through the same
 * fallback charsets as headers. */
static char *
part_text (GMimePart *part)
{
  GMimeDataWrapper *content = g_mime_part_get_content (part);
  const char *charset;
  GMimeStream *stream;
  GByteArray *bytes;
  char *text = NULL;
  gsize length;

  if (content == NULL)
    return NULL;

  bytes = g_byte_array_new ();
  stream = g_mime_stream_mem_new_with_byte_array (bytes);
  g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (stream), FALSE);
  g_mime_data_wrapper_write_to_stream (content, stream);
  g_object_unref (stream);
  length = MIN (bytes->len, MAX_PART_BYTES);
  /* An empty part has no data pointer at all; the converters below need a real string. */
  if (length == 0)
    {
      g_byte_array_unref (bytes);
      return g_strdup ("");
    }

  charset = g_mime_object_get_content_type_parameter (GMIME_OBJECT (part), "charset");
  if (charset != NULL && (g_ascii_strcasecmp (charset, "utf-8") == 0
                          || g_ascii_strcasecmp (charset, "utf8") == 0))
    text = g_utf8_make_valid ((const char *) bytes->data, length);
  else if (charset != NULL && g_ascii_strcasecmp (charset, "us-ascii") != 0)
    {
      const char *iconv_name = g_mime_charset_iconv_name (charset);
      g_autoptr(GError) error = NULL;
      gsize read = 0;

      text = g_convert ((const char *) bytes->data, length, "UTF-8", iconv_name, &read, NULL,
                        &error);
      /* Only the cut at MAX_PART_BYTES may split a character. */
      if (text == NULL && g_error_matches (error, G_CONVERT_ERROR, G_CONVERT_ERROR_PARTIAL_INPUT)
          && read > 0)
        text = g_convert ((const char *) bytes->data, read, "UTF-8", iconv_name, NULL, NULL,
                          NULL);
    }

  if (text == NULL)
    {
      if (g_utf8_validate ((const char *) bytes->data, length, NULL))
        text = g_strndup ((const char *) bytes->data, length);
      else
        text = g_mime_utils_decode_8bit (get_parser_options (), (const char *) bytes->data,
                                         length);
    }
  g_byte_array_unref (bytes);

  if (text != NULL && !g_utf8_validate (text, -1, NULL))
    {
      char *valid = g_utf8_make_valid (text, -1);

      g_free (text);
      text = valid;
    }
  return text;
}

static void
walk_part (GMimeObject *object,
           BodyWalk    *walk,
           gboolean     in_related,
           guint        depth)
{
  if (depth > MAX_MIME_DEPTH)
    return;

  if (GMIME_IS_MULTIPART (object))
    {
      GMimeMultipart *multipart = GMIME_MULTIPART (object);
      GMimeContentType *type = g_mime_object_get_content_type (object);
      gboolean related = type != NULL && g_mime_content_type_is_type (type, "multipart", "related");
      int n = g_mime_multipart_get_count (multipart);

      for (int i = 0; i < n; i++)
        walk_part (g_mime_multipart_get_part (multipart, i), walk, related, depth + 1);
    }
  else if (GMIME_IS_MESSAGE_PART (object))
    {
      /* A forwarded message is shown as an attachment; its text is not the sender's. */
      walk->has_attachment = TRUE;
    }
  else if (GMIME_IS_PART (object))
    {
      GMimePart *part = GMIME_PART (object);
      GMimeContentType *type = g_mime_object_get_content_type (object);
      const char *disposition = g_mime_object_get_disposition (object);
      gboolean is_text = type != NULL && g_mime_content_type_is_type (type, "text", "*");
      gboolean inline_disposition = disposition != NULL
                                    && g_ascii_strcasecmp (disposition, "inline") == 0;
      gboolean is_attachment;

      if (disposition != NULL && g_ascii_strcasecmp (disposition, "attachment") == 0)
        is_attachment = TRUE;
      else if (is_text)
        is_attachment = g_mime_part_get_filename (part) != NULL && !inline_disposition;
      else
        /* Images of an HTML message (multipart/related) are part of the text. */
        is_attachment = !in_related;

      if (is_attachment)
        {
          walk->has_attachment = TRUE;
          return;
        }
      if (!is_text)
        return;

      if (g_mime_content_type_is_type (type, "text", "plain")
          && walk->plain->len < MAX_BODY_TEXT_BYTES)
        {
          g_autofree char *text = part_text (part);

          if (text != NULL)
            {
              if (walk->plain->len > 0)
                g_string_append_c (walk->plain, '\n');
              g_string_append (walk->plain, text);
            }
        }
      else if (g_mime_content_type_is_type (type, "text", "html") && walk->html->len == 0)
        {
          g_autofree char *text = part_text (part);

          if (text != NULL)
            {
              g_autofree char *stripped = html_to_text (text);
              g_string_append (walk->html, stripped);
            }
        }
    }
}

static GMimeMessage *
parse_message (GBytes *raw)
{
  GMimeStream *stream;
  GMimeParser *parser;
  GMimeMessage *message;
  gsize length;
  const guint8 *data = g_bytes_get_data (raw, &length);

  /* GMime 3.2 declares no g_autoptr cleanups, hence the explicit unrefs in this file. */
  if (length == 0)
    return NULL;
  stream = g_mime_stream_mem_new_with_buffer ((const char *) data, length);
  parser = g_mime_parser_new_with_stream (stream);
  g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
  message = g_mime_parser_construct_message (parser, get_parser_options ());
  g_object_unref (parser);
  g_object_unref (stream);
  return message;
}

static void
extract_body (GMimeMessage  *message,
              char         **preview,
              gboolean      *has_attachment,
              char         **body_text)
{
  BodyWalk walk = { g_string_new (NULL), g_string_new (NULL), FALSE };
  GMimeObject *body = g_mime_message_get_mime_part (message);
  GString *text;

  if (body != NULL)
    walk_part (body, &walk, FALSE, 0);
  text = walk.plain->len > 0 ? walk.plain : walk.html;
  if (text->len > MAX_BODY_TEXT_BYTES)
    {
      const char *end = text->str + MAX_BODY_TEXT_BYTES;

      /* Cut on a character boundary. */
      g_string_truncate (text, g_utf8_find_prev_char (text->str, end + 1) - text->str);
    }

  if (preview)
    *preview = make_preview (text->str);
  if (has_attachment)
    *has_attachment = walk.has_attachment;
  if (body_text)
    *body_text = text->len > 0 ? g_utf8_make_valid (text->str, text->len) : NULL;

  g_string_free (walk.plain, TRUE);
  g_string_free (walk.html, TRUE);
}

void
pb_store_parse_body (GBytes    *raw,
                     char     **preview,
                     gboolean  *has_attachment,
                     char     **body_text)
{
  GMimeMessage *message = parse_message (raw);

  if (preview)
    *preview = NULL;
  if (has_attachment)
    *has_attachment = FALSE;
  if (body_text)
    *body_text = NULL;
  if (message != NULL)
    {
      extract_body (message, preview, has_attachment, body_text);
      g_object_unref (message);
    }
}

static void
first_mailbox (InternetAddressList  *list,
               char                **name,
               char                **addr,
               guint                 depth)
{
  int n = list != NULL ? internet_address_list_length (list) : 0;

  for (int i = 0; i < n && *addr == NULL && depth < 4; i++)
    {
      InternetAddress *address = internet_address_list_get_address (list, i);

      if (INTERNET_ADDRESS_IS_MAILBOX (address))
        {
          *name = clean_line (internet_address_get_name (address), -1, 0);
          InternetAddressMailbox *mailbox = INTERNET_ADDRESS_MAILBOX (address);

          *addr = clean_line (internet_address_mailbox_get_addr (mailbox), -1, 0);
        }
      else if (INTERNET_ADDRESS_IS_GROUP (address))
        first_mailbox (internet_address_group_get_members (INTERNET_ADDRESS_GROUP (address)),
                       name, addr, depth + 1);
    }
}

static char *
address_list_text (InternetAddressList *list)
{
  g_autofree char *text = NULL;

  if (list == NULL || internet_address_list_length (list) == 0)
    return NULL;
  text = internet_address_list_to_string (list, NULL, FALSE);
  return clean_line (text, -1, 0);
}

/* Message ids from a References or In-Reply-To header, without angle brackets. */
static char *
references_text (GMimeMessage *message,
                 const char   *header,
                 gboolean      first_only)
{
  const char *value = g_mime_object_get_header (GMIME_OBJECT (message), header);
  g_autoptr(GString) ids = NULL;
  GMimeReferences *refs;
  int n;

  if (value == NULL)
    return NULL;
  refs = g_mime_references_parse (get_parser_options (), value);
  if (refs == NULL)
    return NULL;
  n = g_mime_references_length (refs);
  ids = g_string_new (NULL);
  for (int i = 0; i < n && !(first_only && i > 0); i++)
    {
      if (ids->len > 0)
        g_string_append_c (ids, ' ');
      g_string_append (ids, g_mime_references_get_message_id (refs, i));
    }
  g_mime_references_free (refs);
  return clean_line (ids->str, -1, 0);
}

/**
 * pb_store_parse_summary:
 * @raw: a raw message, or only its header
 *
 * Fills a summary from the message's header, and, if @raw has a body, its preview and
 * attachment state. Every text field is decoded (RFC 2047, charsets) and valid UTF-8, also
 * for broken input; the UID, flags and internal date are left for the caller. Needs
 * pb_engine_init().
 *
 * Returns: (transfer full): a new summary; for input that is not a message at all only @size
 *   is set
 */
PbMessageSummary *
pb_store_parse_summary (GBytes *raw)
{
  g_autoptr(PbMessageSummary) summary = pb_message_summary_new ();
  GMimeMessage *message;
  GDateTime *date;

  g_return_val_if_fail (raw != NULL, NULL);

  summary->size = g_bytes_get_size (raw);
  message = parse_message (raw);
  if (message == NULL)
    return g_steal_pointer (&summary);

  summary->subject = clean_line (g_mime_message_get_subject (message), -1, 0);
  first_mailbox (g_mime_message_get_from (message), &summary->from_name, &summary->from_addr, 0);
  if (summary->from_addr == NULL)
    first_mailbox (g_mime_message_get_sender (message), &summary->from_name, &summary->from_addr,
                   0);
  summary->to_list = address_list_text (g_mime_message_get_to (message));
  summary->cc_list = address_list_text (g_mime_message_get_cc (message));
  summary->message_id = clean_line (g_mime_message_get_message_id (message), -1, 0);
  summary->in_reply_to = references_text (message, "In-Reply-To", TRUE);
  summary->references = references_text (message, "References", FALSE);

  date = g_mime_message_get_date (message);
  if (date != NULL)
    summary->date = g_date_time_to_unix (date);

  extract_body (message, &summary->preview, &summary->has_attachment, NULL);
  g_object_unref (message);
  return g_steal_pointer (&summary);
}
