/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-mime"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>
#include <gmime/gmime.h>

#include "pb-message-render.h"

/*
 * The rendering model of one message: what the reader shows, made from the raw RFC 5322
 * bytes on a worker thread. Everything that comes out is valid UTF-8, whatever the message
 * claims about its charsets, and every part's decoded bytes are kept so that the UI can serve
 * cid: images and save attachments without touching GMime (which is not thread-safe) again.
 *
 * The parts to show form a flat list in message order. A multipart/alternative becomes one
 * entry holding both its plain and its HTML choice; a multipart/related shows its root and
 * keeps the other parts for cid: lookups; a message/rfc822 part holds a nested rendering.
 */

struct _PbMessageRender
{
  GObject          parent_instance;

  PbRenderAddress *from;
  GPtrArray       *to;
  GPtrArray       *cc;
  GPtrArray       *reply_to;
  GDateTime       *date;
  char            *subject;

  GPtrArray       *owned;      /* every PbRenderPart made for this message */
  GPtrArray       *parts;      /* the ones to show, in order */
  GPtrArray       *all_parts;  /* leaves and nested messages, by index */
  GHashTable      *by_cid;     /* Content-ID -> PbRenderPart */
  gboolean         has_remote_content;
  gboolean         truncated;
};

G_DEFINE_FINAL_TYPE (PbMessageRender, pb_message_render, G_TYPE_OBJECT)

typedef struct {
  guint    n_parts;
  gboolean truncated;
} Budget;

static void walk (PbMessageRender *self, GMimeObject *object, guint depth, Budget *budget);
static PbMessageRender *render_message (GMimeMessage *message, guint depth, Budget *budget);

/* Header bytes that are not valid in the charset they claim are tried as UTF-8, then as
 * Windows-1252 (what most unlabelled 8-bit Western mail really is), then ISO-8859-1. */
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

static void
render_address_free (PbRenderAddress *address)
{
  g_free (address->name);
  g_free (address->address);
  g_free (address);
}

static void
render_line_free (PbRenderLine *line)
{
  g_free (line->text);
  g_free (line);
}

static void
render_part_free (PbRenderPart *part)
{
  g_free (part->content_type);
  g_free (part->content_id);
  g_free (part->filename);
  g_clear_pointer (&part->bytes, g_bytes_unref);
  g_clear_pointer (&part->lines, g_ptr_array_unref);
  g_free (part->html);
  g_clear_object (&part->message);
  g_free (part);
}

static PbRenderPart *
part_new (PbMessageRender  *self,
          PbRenderPartKind  kind)
{
  PbRenderPart *part = g_new0 (PbRenderPart, 1);

  part->kind = kind;
  part->index = G_MAXUINT;
  g_ptr_array_add (self->owned, part);
  return part;
}

/* One line of valid UTF-8: control and format characters (bidi overrides among them) become
 * spaces, runs of white space collapse, and the ends are trimmed. */
static char *
clean_line (const char *text)
{
  g_autofree char *valid = NULL;
  GString *out;
  gboolean space = FALSE;

  if (text == NULL)
    return NULL;
  valid = g_utf8_make_valid (text, -1);
  out = g_string_sized_new (strlen (valid));
  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c) || g_unichar_iscntrl (c)
          || g_unichar_type (c) == G_UNICODE_FORMAT)
        {
          space = out->len > 0;
          continue;
        }
      if (space)
        g_string_append_c (out, ' ');
      space = FALSE;
      g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

/* Text parts: strict conversion from @charset (when iconv knows it and every byte is valid
 * in it), else UTF-8, else Windows-1252, else ISO-8859-1, which takes any byte. ISO-8859-1
 * and US-ASCII labels are read as Windows-1252 first, as browsers do: senders label
 * Windows-1252 text with them all the time. NUL bytes are dropped. */
static char *
try_convert (const char *data,
             gsize       length,
             const char *charset)
{
  g_autoptr(GError) error = NULL;
  gsize written = 0;
  char *out;

  out = g_convert (data, length, "UTF-8", charset, NULL, &written, &error);
  if (out == NULL)
    return NULL;
  if (memchr (out, '\0', written) != NULL || !g_utf8_validate (out, written, NULL))
    {
      g_free (out);
      return NULL;
    }
  return out;
}

/**
 * pb_message_render_decode_text:
 * @data: the decoded bytes of a text part
 * @length: their length
 * @charset: (nullable): the charset the part declares
 *
 * Returns: (transfer full): the text as valid UTF-8, never %NULL
 */
char *
pb_message_render_decode_text (const char *data,
                               gsize       length,
                               const char *charset)
{
  g_autofree char *copy = NULL;
  char *out = NULL;

  if (data == NULL)
    return g_strdup ("");
  if (memchr (data, '\0', length) != NULL)
    {
      gsize n = 0;

      copy = g_malloc (length + 1);
      for (gsize i = 0; i < length; i++)
        if (data[i] != '\0')
          copy[n++] = data[i];
      data = copy;
      length = n;
    }

  if (charset != NULL && *charset != '\0')
    {
      const char *iconv_name = g_mime_charset_iconv_name (charset);

      if (g_ascii_strcasecmp (iconv_name, "iso-8859-1") == 0
          || g_ascii_strcasecmp (iconv_name, "us-ascii") == 0)
        out = try_convert (data, length, "WINDOWS-1252");
      if (out == NULL && g_ascii_strcasecmp (iconv_name, "utf-8") != 0)
        out = try_convert (data, length, iconv_name);
    }
  if (out == NULL && g_utf8_validate (data, length, NULL))
    out = g_strndup (data, length);
  if (out == NULL)
    out = try_convert (data, length, "WINDOWS-1252");
  if (out == NULL)
    out = try_convert (data, length, "ISO-8859-1");
  if (out == NULL)
    out = g_utf8_make_valid (data, length);
  return out;
}

/* Extensions for fallback names of the types people open most. */
static const char *
extension_for_type (const char *content_type)
{
  static const struct { const char *type, *ext; } table[] = {
    { "text/plain", ".txt" }, { "text/html", ".html" }, { "text/calendar", ".ics" },
    { "image/png", ".png" }, { "image/jpeg", ".jpg" }, { "image/gif", ".gif" },
    { "application/pdf", ".pdf" }, { "message/rfc822", ".eml" }, { "application/zip", ".zip" },
  };

  for (gsize i = 0; content_type != NULL && i < G_N_ELEMENTS (table); i++)
    if (g_ascii_strcasecmp (content_type, table[i].type) == 0)
      return table[i].ext;
  return "";
}

/* The longest prefix of @s that fits @max bytes without cutting a character. */
static gsize
utf8_prefix (const char *s,
             gsize       max)
{
  gsize len = strlen (s);
  const char *end;

  if (len <= max)
    return len;
  end = s + max;
  while (end > s && (*end & 0xC0) == 0x80)
    end--;
  return end - s;
}

/**
 * pb_message_render_sanitize_filename:
 * @name: (nullable): the name the sender gave, decoded
 * @content_type: (nullable): the part's type, for the extension of the fallback name
 *
 * Makes a name safe to save under: only its last path component, no control or format
 * characters, no leading dots or white space, no trailing dots, at most
 * %PB_MESSAGE_RENDER_MAX_FILENAME bytes with the extension kept, and a fallback when
 * nothing is left.
 *
 * Returns: (transfer full): a file name, never %NULL or empty
 */
char *
pb_message_render_sanitize_filename (const char *name,
                                     const char *content_type)
{
  g_autofree char *clean = NULL;
  const char *base;
  const char *ext;
  GString *out;
  gsize len;

  if (name == NULL)
    name = "";
  clean = g_utf8_make_valid (name, -1);
  base = clean;
  for (const char *p = clean; *p; p++)
    if (*p == '/' || *p == '\\')
      base = p + 1;

  out = g_string_new (NULL);
  for (const char *p = base; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      GUnicodeType type = g_unichar_type (c);

      if (g_unichar_iscntrl (c) || type == G_UNICODE_FORMAT
          || type == G_UNICODE_LINE_SEPARATOR || type == G_UNICODE_PARAGRAPH_SEPARATOR)
        continue;
      if (g_unichar_isspace (c))
        c = ' ';
      if (out->len == 0 && (c == '.' || c == ' ' || c == '-' || c == '~'))
        continue;
      g_string_append_unichar (out, c);
    }
  while (out->len > 0 && (out->str[out->len - 1] == '.' || out->str[out->len - 1] == ' '))
    g_string_truncate (out, out->len - 1);

  if (out->len == 0)
    {
      g_string_free (out, TRUE);
      /* TRANSLATORS: the file name of an attachment that has none; the extension follows */
      return g_strconcat (_("attachment"), extension_for_type (content_type), NULL);
    }

  if (out->len <= PB_MESSAGE_RENDER_MAX_FILENAME)
    return g_string_free (out, FALSE);

  /* Too long: keep a short extension, cut the stem. */
  ext = strrchr (out->str, '.');
  if (ext == NULL || strlen (ext) > 16 || ext == out->str)
    ext = "";
  len = utf8_prefix (out->str, PB_MESSAGE_RENDER_MAX_FILENAME - strlen (ext));
  {
    char *result = g_strdup_printf ("%.*s%s", (int) len, out->str, ext);

    g_string_free (out, TRUE);
    return result;
  }
}

/* Remote content detection ---------------------------------------------------------------- */

typedef struct {
  gboolean base_remote;
  gboolean remote;
} RemoteScan;

static gboolean
url_is_remote (RemoteScan *scan,
               const char *url,
               gsize       length)
{
  g_autoptr(GString) clean = g_string_new (NULL);
  const char *p;
  gsize i;

  /* Browsers drop tabs and newlines anywhere in a URL and trim spaces and controls. */
  for (i = 0; i < length; i++)
    {
      guchar c = url[i];

      if (c == '\t' || c == '\n' || c == '\r')
        continue;
      if (clean->len == 0 && (c <= ' ' || c == '"' || c == '\''))
        continue;
      g_string_append_c (clean, c);
    }
  p = clean->str;
  if (*p == '\0' || *p == '#')
    return FALSE;
  if ((p[0] == '/' || p[0] == '\\') && (p[1] == '/' || p[1] == '\\'))
    return TRUE;
  for (i = 0; g_ascii_isalnum (p[i]) || p[i] == '+' || p[i] == '-' || p[i] == '.'; i++)
    ;
  if (i > 0 && p[i] == ':' && g_ascii_isalpha (p[0]))
    {
      g_autofree char *scheme = g_ascii_strdown (p, i);

      return g_str_equal (scheme, "http") || g_str_equal (scheme, "https")
             || g_str_equal (scheme, "ftp") || g_str_equal (scheme, "ws")
             || g_str_equal (scheme, "wss");
    }
  /* A relative reference goes wherever a <base> points. */
  return scan->base_remote;
}

/* CSS: every url(...) and every string (@import "…", image-set("…"), src: "…"). */
static void
scan_css (RemoteScan *scan,
          const char *css,
          gsize       length)
{
  for (gsize i = 0; i < length && !scan->remote; i++)
    {
      if (css[i] == '"' || css[i] == '\'')
        {
          char quote = css[i];
          gsize start = ++i;

          while (i < length && css[i] != quote)
            i++;
          if (url_is_remote (scan, css + start, i - start))
            scan->remote = TRUE;
        }
      else if (i + 4 <= length && g_ascii_strncasecmp (css + i, "url(", 4) == 0)
        {
          gsize start = i + 4;

          i = start;
          while (i < length && css[i] != ')')
            i++;
          if (url_is_remote (scan, css + start, i - start))
            scan->remote = TRUE;
        }
    }
}

/* Character references in attribute values: numeric ones and the few named ones that can
 * spell a URL scheme. */
static char *
decode_entities (const char *value,
                 gsize       length)
{
  static const struct { const char *name; char c; } named[] = {
    { "amp", '&' }, { "colon", ':' }, { "sol", '/' }, { "quot", '"' }, { "apos", '\'' },
    { "lt", '<' }, { "gt", '>' }, { "Tab", '\t' }, { "NewLine", '\n' }, { "period", '.' },
  };
  GString *out = g_string_sized_new (length);

  for (gsize i = 0; i < length; i++)
    {
      if (value[i] == '&' && i + 1 < length)
        {
          gsize j = i + 1;

          if (value[j] == '#')
            {
              guint64 code = 0;
              gboolean hex = (j + 1 < length && (value[j + 1] == 'x' || value[j + 1] == 'X'));
              gsize digits = 0;

              j += hex ? 2 : 1;
              for (; j < length && (hex ? g_ascii_isxdigit (value[j])
                                        : g_ascii_isdigit (value[j])); j++, digits++)
                if (code < 0x110000)
                  code = code * (hex ? 16 : 10)
                         + (hex ? g_ascii_xdigit_value (value[j]) : value[j] - '0');
              if (digits > 0)
                {
                  if (code > 0 && code < 0x110000)
                    g_string_append_unichar (out, (gunichar) code);
                  i = (j < length && value[j] == ';') ? j : j - 1;
                  continue;
                }
            }
          else
            {
              gboolean matched = FALSE;

              for (gsize k = 0; k < G_N_ELEMENTS (named); k++)
                {
                  gsize n = strlen (named[k].name);

                  if (j + n <= length && strncmp (value + j, named[k].name, n) == 0)
                    {
                      g_string_append_c (out, named[k].c);
                      i = j + n - 1;
                      if (i + 1 < length && value[i + 1] == ';')
                        i++;
                      matched = TRUE;
                      break;
                    }
                }
              if (matched)
                continue;
            }
        }
      g_string_append_c (out, value[i]);
    }
  return g_string_free (out, FALSE);
}

static void
scan_attribute (RemoteScan *scan,
                const char *tag,
                const char *name,
                const char *raw_value,
                gsize       raw_length)
{
  g_autofree char *value = decode_entities (raw_value, raw_length);
  gsize length = strlen (value);
  gboolean link = g_str_equal (tag, "a") || g_str_equal (tag, "area");

  if (g_str_equal (name, "style"))
    {
      scan_css (scan, value, length);
      return;
    }
  if (g_str_equal (name, "srcset") || g_str_equal (name, "imagesrcset"))
    {
      g_auto(GStrv) candidates = g_strsplit (value, ",", -1);

      for (guint i = 0; candidates[i] != NULL; i++)
        {
          g_autofree char *candidate = g_strstrip (g_strdup (candidates[i]));
          char *space = strpbrk (candidate, " \t\n\r\f");

          if (space != NULL)
            *space = '\0';
          if (*candidate != '\0' && url_is_remote (scan, candidate, strlen (candidate)))
            scan->remote = TRUE;
        }
      return;
    }
  if ((g_str_equal (name, "href") || g_str_equal (name, "xlink:href")) && link)
    return;
  if (g_str_equal (name, "href") && g_str_equal (tag, "base"))
    {
      if (url_is_remote (scan, value, length))
        scan->base_remote = scan->remote = TRUE;
      return;
    }
  if (g_str_equal (name, "src") || g_str_equal (name, "href") || g_str_equal (name, "xlink:href")
      || g_str_equal (name, "background") || g_str_equal (name, "poster")
      || g_str_equal (name, "data") || g_str_equal (name, "lowsrc")
      || g_str_equal (name, "dynsrc") || g_str_equal (name, "action")
      || g_str_equal (name, "formaction") || g_str_equal (name, "codebase")
      || g_str_equal (name, "archive") || g_str_equal (name, "manifest")
      || g_str_equal (name, "profile") || g_str_equal (name, "longdesc"))
    {
      if (url_is_remote (scan, value, length))
        scan->remote = TRUE;
    }
}

/**
 * pb_message_render_html_has_remote_content:
 * @html: an HTML document
 *
 * Whether the document refers to anything on the network that a browser would load by itself
 * (images, style sheets, fonts, frames, prefetches, form targets), as opposed to links the
 * reader follows only by clicking. This decides whether the reader offers "Show remote
 * content"; the blocking itself is WebKit's job and does not depend on it. It errs towards
 * saying yes.
 *
 * Returns: %TRUE if there is remote content
 */
gboolean
pb_message_render_html_has_remote_content (const char *html)
{
  RemoteScan scan = { FALSE, FALSE };
  const char *p;

  g_return_val_if_fail (html != NULL, FALSE);

  p = html;
  while (*p != '\0' && !scan.remote)
    {
      g_autofree char *tag = NULL;
      const char *start;

      if (*p != '<')
        {
          p++;
          continue;
        }
      if (strncmp (p, "<!--", 4) == 0)
        {
          const char *end = strstr (p + 4, "-->");

          p = end != NULL ? end + 3 : p + strlen (p);
          continue;
        }
      p++;
      if (!g_ascii_isalpha (*p))
        continue;
      start = p;
      while (*p != '\0' && !g_ascii_isspace (*p) && *p != '>' && *p != '/')
        p++;
      tag = g_ascii_strdown (start, p - start);

      /* Attributes up to the end of the tag. */
      while (*p != '\0' && *p != '>')
        {
          g_autofree char *name = NULL;
          const char *value = NULL;
          gsize value_length = 0;

          while (*p != '\0' && (g_ascii_isspace (*p) || *p == '/'))
            p++;
          if (*p == '\0' || *p == '>')
            break;
          start = p;
          while (*p != '\0' && !g_ascii_isspace (*p) && *p != '>' && *p != '=' && *p != '/')
            p++;
          if (p == start)
            {
              p++;
              continue;
            }
          name = g_ascii_strdown (start, p - start);
          while (g_ascii_isspace (*p))
            p++;
          if (*p == '=')
            {
              p++;
              while (g_ascii_isspace (*p))
                p++;
              if (*p == '"' || *p == '\'')
                {
                  char quote = *p++;

                  value = p;
                  while (*p != '\0' && *p != quote)
                    p++;
                  value_length = p - value;
                  if (*p != '\0')
                    p++;
                }
              else
                {
                  value = p;
                  while (*p != '\0' && !g_ascii_isspace (*p) && *p != '>')
                    p++;
                  value_length = p - value;
                }
              scan_attribute (&scan, tag, name, value, value_length);
            }
        }
      if (*p == '>')
        p++;

      /* The content of <style> is CSS up to its end tag. */
      if (g_str_equal (tag, "style"))
        {
          const char *end = p;

          while (*end != '\0' && g_ascii_strncasecmp (end, "</style", 7) != 0)
            end++;
          scan_css (&scan, p, end - p);
          p = end;
        }
    }
  return scan.remote;
}

/* Text ---------------------------------------------------------------------------------- */

static void
add_line (GPtrArray  *lines,
          guint       level,
          const char *text,
          gsize       length)
{
  PbRenderLine *line = g_new0 (PbRenderLine, 1);

  line->level = level;
  line->text = g_strndup (text, length);
  g_ptr_array_add (lines, line);
}

/* RFC 3676: a line that ends in a space continues in the next line of the same quote depth;
 * quote marks are '>' without spaces between; a leading space is stuffing; "-- " is the
 * signature separator and never flows. With DelSp=yes the space before a soft break was
 * added by the sender and goes. Plain text counts "> > " as two levels as well. */
static GPtrArray *
split_lines (const char *text,
             gboolean    flowed,
             gboolean    delsp)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func ((GDestroyNotify) render_line_free);
  g_autoptr(GString) paragraph = g_string_new (NULL);
  gboolean in_paragraph = FALSE;
  guint paragraph_level = 0;
  const char *p = text;

  while (*p != '\0' || in_paragraph)
    {
      const char *end = strchr (p, '\n');
      gsize length;
      guint level = 0;
      const char *content;
      gboolean soft;

      if (*p == '\0')
        {
          /* Text that ended in the middle of a flowed paragraph. */
          add_line (lines, paragraph_level, paragraph->str, paragraph->len);
          break;
        }
      if (end == NULL)
        end = p + strlen (p);
      length = end - p;
      if (length > 0 && p[length - 1] == '\r')
        length--;

      content = p;
      while (content < p + length)
        {
          if (*content == '>')
            {
              level++;
              content++;
            }
          else if (!flowed && *content == ' ' && content + 1 < p + length && content[1] == '>'
                   && level > 0)
            content++;
          else
            break;
        }
      if (content < p + length && *content == ' ' && (flowed || level > 0))
        content++;
      length -= content - p;

      if (in_paragraph && level != paragraph_level)
        {
          add_line (lines, paragraph_level, paragraph->str, paragraph->len);
          g_string_truncate (paragraph, 0);
          in_paragraph = FALSE;
        }

      soft = flowed && length > 0 && content[length - 1] == ' '
             && !(length == 3 && strncmp (content, "-- ", 3) == 0);
      if (soft)
        {
          g_string_append_len (paragraph, content, delsp ? length - 1 : length);
          in_paragraph = TRUE;
          paragraph_level = level;
        }
      else if (in_paragraph)
        {
          g_string_append_len (paragraph, content, length);
          add_line (lines, level, paragraph->str, paragraph->len);
          g_string_truncate (paragraph, 0);
          in_paragraph = FALSE;
        }
      else
        add_line (lines, level, content, length);

      p = *end == '\n' ? end + 1 : end;
      if (*p == '\0' && !in_paragraph)
        break;
    }
  /* Trailing blank lines are noise in a reader. */
  while (lines->len > 0
         && *((PbRenderLine *) g_ptr_array_index (lines, lines->len - 1))->text == '\0')
    g_ptr_array_remove_index (lines, lines->len - 1);
  return lines;
}

/* Parts ---------------------------------------------------------------------------------- */

static GBytes *
object_bytes (GMimeObject *object,
              gboolean     whole)
{
  GMimeStream *stream = g_mime_stream_mem_new ();
  GByteArray *array;
  GBytes *bytes;

  if (whole)
    g_mime_object_write_to_stream (object, NULL, stream);
  else
    {
      GMimeDataWrapper *content = g_mime_part_get_content (GMIME_PART (object));

      if (content != NULL)
        g_mime_data_wrapper_write_to_stream (content, stream);
    }
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
  bytes = g_bytes_new (array->data, array->len);
  g_object_unref (stream);
  return bytes;
}

static char *
type_string (GMimeObject *object)
{
  GMimeContentType *type = g_mime_object_get_content_type (object);

  if (type == NULL)
    return g_strdup ("application/octet-stream");
  return g_ascii_strdown (g_mime_content_type_get_mime_type (type), -1);
}

static gboolean
budget_take (PbMessageRender *self,
             Budget          *budget)
{
  if (budget->n_parts >= PB_MESSAGE_RENDER_MAX_PARTS)
    {
      budget->truncated = self->truncated = TRUE;
      return FALSE;
    }
  budget->n_parts++;
  return TRUE;
}

static void
register_part (PbMessageRender *self,
               PbRenderPart    *part,
               GMimeObject     *object)
{
  const char *cid = g_mime_object_get_content_id (object);

  part->index = self->all_parts->len;
  g_ptr_array_add (self->all_parts, part);
  if (cid != NULL && *cid != '\0')
    {
      part->content_id = g_utf8_make_valid (cid, -1);
      if (!g_hash_table_contains (self->by_cid, part->content_id))
        g_hash_table_insert (self->by_cid, part->content_id, part);
    }
}

/* A leaf: text, HTML (when @as_body, or when the sender did not mark it an attachment) or an
 * attachment. */
static PbRenderPart *
leaf_new (PbMessageRender *self,
          GMimePart       *mime_part,
          gboolean         as_body,
          Budget          *budget)
{
  GMimeObject *object = GMIME_OBJECT (mime_part);
  GMimeContentDisposition *disposition = g_mime_object_get_content_disposition (object);
  gboolean attachment = disposition != NULL
                        && g_mime_content_disposition_is_attachment (disposition);
  g_autofree char *type = type_string (object);
  PbRenderPart *part;

  if (!budget_take (self, budget))
    return NULL;

  part = part_new (self, PB_RENDER_PART_ATTACHMENT);
  part->content_type = g_steal_pointer (&type);
  part->is_inline = !attachment;
  part->bytes = object_bytes (object, FALSE);
  part->size = g_bytes_get_size (part->bytes);
  part->filename = pb_message_render_sanitize_filename (g_mime_part_get_filename (mime_part),
                                                        part->content_type);
  register_part (self, part, object);

  if ((as_body || !attachment) && (g_str_equal (part->content_type, "text/plain")
                                   || g_str_equal (part->content_type, "text/html")))
    {
      GMimeContentType *ct = g_mime_object_get_content_type (object);
      const char *charset = g_mime_content_type_get_parameter (ct, "charset");
      gsize size = MIN (part->size, PB_MESSAGE_RENDER_MAX_TEXT);
      g_autofree char *text = NULL;

      if (size < part->size)
        self->truncated = TRUE;
      text = pb_message_render_decode_text (g_bytes_get_data (part->bytes, NULL), size, charset);
      if (g_str_equal (part->content_type, "text/html"))
        {
          part->kind = PB_RENDER_PART_HTML;
          part->has_remote_content = pb_message_render_html_has_remote_content (text);
          if (part->has_remote_content)
            self->has_remote_content = TRUE;
          part->html = g_steal_pointer (&text);
        }
      else
        {
          const char *format = g_mime_content_type_get_parameter (ct, "format");
          const char *delsp = g_mime_content_type_get_parameter (ct, "delsp");

          part->kind = PB_RENDER_PART_TEXT;
          part->lines = split_lines (text,
                                     format != NULL && g_ascii_strcasecmp (format, "flowed") == 0,
                                     delsp != NULL && g_ascii_strcasecmp (delsp, "yes") == 0);
        }
    }
  return part;
}

static PbRenderPart *
message_part_new (PbMessageRender *self,
                  GMimeMessagePart *message_part,
                  guint            depth,
                  Budget          *budget)
{
  GMimeMessage *message = g_mime_message_part_get_message (message_part);
  GMimeObject *object = GMIME_OBJECT (message_part);
  GMimeContentDisposition *disposition = g_mime_object_get_content_disposition (object);
  g_autofree char *name = NULL;
  PbRenderPart *part;

  if (!budget_take (self, budget))
    return NULL;
  part = part_new (self, message != NULL ? PB_RENDER_PART_MESSAGE : PB_RENDER_PART_ATTACHMENT);
  part->content_type = type_string (object);
  part->is_inline = disposition == NULL || !g_mime_content_disposition_is_attachment (disposition);
  if (message != NULL)
    {
      part->bytes = object_bytes (GMIME_OBJECT (message), TRUE);
      part->message = render_message (message, depth + 1, budget);
      if (part->message->truncated)
        self->truncated = TRUE;
      if (part->message->has_remote_content)
        self->has_remote_content = TRUE;
      name = g_strconcat (part->message->subject, ".eml", NULL);
    }
  else
    part->bytes = g_bytes_new (NULL, 0);
  part->size = g_bytes_get_size (part->bytes);
  if (disposition != NULL
      && g_mime_content_disposition_get_parameter (disposition, "filename") != NULL)
    {
      g_free (name);
      name = g_strdup (g_mime_content_disposition_get_parameter (disposition, "filename"));
    }
  part->filename = pb_message_render_sanitize_filename (name, "message/rfc822");
  register_part (self, part, object);
  return part;
}

static gboolean
is_type (GMimeObject *object,
         const char  *type,
         const char  *subtype)
{
  GMimeContentType *ct = g_mime_object_get_content_type (object);

  return ct != NULL && g_mime_content_type_is_type (ct, type, subtype);
}

/* The root of a multipart/related: the part its start parameter names, else the first. */
static GMimeObject *
related_root (GMimeMultipart *multipart)
{
  GMimeContentType *ct = g_mime_object_get_content_type (GMIME_OBJECT (multipart));
  const char *start = g_mime_content_type_get_parameter (ct, "start");
  int n = g_mime_multipart_get_count (multipart);

  if (n <= 0)
    return NULL;
  if (start != NULL)
    {
      g_autofree char *id = g_strdup (start);

      g_strstrip (id);
      if (id[0] == '<' && id[strlen (id) - 1] == '>')
        {
          id[strlen (id) - 1] = '\0';
          memmove (id, id + 1, strlen (id));
        }
      for (int i = 0; i < n; i++)
        {
          GMimeObject *child = g_mime_multipart_get_part (multipart, i);

          if (g_strcmp0 (g_mime_object_get_content_id (child), id) == 0)
            return child;
        }
    }
  return g_mime_multipart_get_part (multipart, 0);
}

/* The parts of a multipart/related beside its root: kept for cid: lookups, shown only when
 * the sender marked them as attachments. */
static void
walk_related_resources (PbMessageRender *self,
                        GMimeMultipart  *multipart,
                        GMimeObject     *root,
                        guint            depth,
                        Budget          *budget)
{
  int n = g_mime_multipart_get_count (multipart);

  for (int i = 0; i < n; i++)
    {
      GMimeObject *child = g_mime_multipart_get_part (multipart, i);

      if (child == root)
        continue;
      if (GMIME_IS_PART (child))
        {
          PbRenderPart *part = leaf_new (self, GMIME_PART (child), FALSE, budget);

          if (part != NULL && !part->is_inline)
            {
              part->kind = PB_RENDER_PART_ATTACHMENT;
              g_ptr_array_add (self->parts, part);
            }
        }
      else
        walk (self, child, depth + 1, budget);
    }
}

/* A multipart/alternative: the last plain and the last HTML choice (the sender's favourite
 * comes last), HTML possibly inside a multipart/related. */
static void
walk_alternative (PbMessageRender *self,
                  GMimeMultipart  *multipart,
                  guint            depth,
                  Budget          *budget)
{
  GMimeObject *text = NULL, *html = NULL, *html_related = NULL, *other = NULL;
  int n = g_mime_multipart_get_count (multipart);
  PbRenderPart *text_part = NULL, *html_part = NULL;

  for (int i = 0; i < n; i++)
    {
      GMimeObject *child = g_mime_multipart_get_part (multipart, i);

      if (GMIME_IS_PART (child) && is_type (child, "text", "plain"))
        text = child;
      else if (GMIME_IS_PART (child) && is_type (child, "text", "html"))
        html = child, html_related = NULL;
      else if (GMIME_IS_MULTIPART (child) && is_type (child, "multipart", "related"))
        {
          GMimeObject *root = related_root (GMIME_MULTIPART (child));

          if (root != NULL && GMIME_IS_PART (root) && is_type (root, "text", "html"))
            html = root, html_related = child;
          else
            other = child;
        }
      else
        other = child;
    }

  if (text == NULL && html == NULL)
    {
      if (other != NULL)
        walk (self, other, depth + 1, budget);
      return;
    }
  if (text != NULL)
    text_part = leaf_new (self, GMIME_PART (text), TRUE, budget);
  if (html != NULL)
    html_part = leaf_new (self, GMIME_PART (html), TRUE, budget);

  if (text_part != NULL && html_part != NULL)
    {
      PbRenderPart *alternative = part_new (self, PB_RENDER_PART_ALTERNATIVE);

      alternative->content_type = g_strdup ("multipart/alternative");
      alternative->alt_text = text_part;
      alternative->alt_html = html_part;
      alternative->is_inline = TRUE;
      g_ptr_array_add (self->parts, alternative);
    }
  else if (text_part != NULL || html_part != NULL)
    g_ptr_array_add (self->parts, text_part != NULL ? text_part : html_part);

  if (html_related != NULL)
    walk_related_resources (self, GMIME_MULTIPART (html_related), html, depth + 1, budget);
}

static void
walk (PbMessageRender *self,
      GMimeObject     *object,
      guint            depth,
      Budget          *budget)
{
  if (object == NULL)
    return;
  if (depth > PB_MESSAGE_RENDER_MAX_DEPTH)
    {
      budget->truncated = self->truncated = TRUE;
      return;
    }

  if (GMIME_IS_MESSAGE_PART (object))
    {
      PbRenderPart *part = message_part_new (self, GMIME_MESSAGE_PART (object), depth, budget);

      if (part != NULL)
        g_ptr_array_add (self->parts, part);
    }
  else if (GMIME_IS_MULTIPART (object))
    {
      GMimeMultipart *multipart = GMIME_MULTIPART (object);

      if (is_type (object, "multipart", "alternative"))
        walk_alternative (self, multipart, depth, budget);
      else if (is_type (object, "multipart", "related"))
        {
          GMimeObject *root = related_root (multipart);

          walk (self, root, depth + 1, budget);
          walk_related_resources (self, multipart, root, depth + 1, budget);
        }
      else
        {
          int n = g_mime_multipart_get_count (multipart);

          for (int i = 0; i < n && !budget->truncated; i++)
            walk (self, g_mime_multipart_get_part (multipart, i), depth + 1, budget);
        }
    }
  else if (GMIME_IS_PART (object))
    {
      PbRenderPart *part = leaf_new (self, GMIME_PART (object), FALSE, budget);

      if (part != NULL)
        g_ptr_array_add (self->parts, part);
    }
}

/* Headers -------------------------------------------------------------------------------- */

static void
add_addresses (GPtrArray           *out,
               InternetAddressList *list,
               guint                depth)
{
  int n;

  if (list == NULL || depth > 4)
    return;
  n = internet_address_list_length (list);
  for (int i = 0; i < n && out->len < 1000; i++)
    {
      InternetAddress *address = internet_address_list_get_address (list, i);

      if (INTERNET_ADDRESS_IS_GROUP (address))
        add_addresses (out, internet_address_group_get_members (INTERNET_ADDRESS_GROUP (address)),
                       depth + 1);
      else if (INTERNET_ADDRESS_IS_MAILBOX (address))
        {
          PbRenderAddress *item = g_new0 (PbRenderAddress, 1);
          const char *addr = internet_address_mailbox_get_idn_addr (
                               INTERNET_ADDRESS_MAILBOX (address));
          g_autofree char *name = clean_line (internet_address_get_name (address));

          item->address = clean_line (addr != NULL ? addr : "");
          if (item->address == NULL)
            item->address = g_strdup ("");
          item->name = (name != NULL && *name != '\0') ? g_steal_pointer (&name) : NULL;
          g_ptr_array_add (out, item);
        }
    }
}

static GPtrArray *
address_array (GMimeMessage   *message,
               GMimeAddressType type)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) render_address_free);

  add_addresses (out, g_mime_message_get_addresses (message, type), 0);
  return out;
}

static gboolean
same_addresses (GPtrArray *a,
                GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    {
      const PbRenderAddress *x = g_ptr_array_index (a, i);
      const PbRenderAddress *y = g_ptr_array_index (b, i);

      if (g_ascii_strcasecmp (x->address, y->address) != 0)
        return FALSE;
    }
  return TRUE;
}

static PbMessageRender *
render_message (GMimeMessage *message,
                guint         depth,
                Budget       *budget)
{
  PbMessageRender *self = g_object_new (PB_TYPE_MESSAGE_RENDER, NULL);
  g_autoptr(GPtrArray) from = address_array (message, GMIME_ADDRESS_TYPE_FROM);
  GDateTime *date;

  if (from->len > 0)
    self->from = g_ptr_array_steal_index (from, 0);
  self->to = address_array (message, GMIME_ADDRESS_TYPE_TO);
  self->cc = address_array (message, GMIME_ADDRESS_TYPE_CC);
  self->reply_to = address_array (message, GMIME_ADDRESS_TYPE_REPLY_TO);
  if (self->from != NULL)
    {
      g_autoptr(GPtrArray) just_from = g_ptr_array_new ();

      g_ptr_array_add (just_from, self->from);
      if (same_addresses (self->reply_to, just_from))
        g_ptr_array_set_size (self->reply_to, 0);
    }
  date = g_mime_message_get_date (message);
  self->date = date != NULL ? g_date_time_ref (date) : NULL;
  self->subject = clean_line (g_mime_message_get_subject (message));
  if (self->subject == NULL)
    self->subject = g_strdup ("");

  walk (self, g_mime_message_get_mime_part (message), depth, budget);
  if (budget->truncated)
    self->truncated = TRUE;
  return self;
}

/**
 * pb_message_render_new:
 * @raw: the message, RFC 5322 bytes as stored
 * @error: set when the bytes are not a message at all
 *
 * Parses and renders a message. Blocks for as long as GMime needs: call it on a worker thread.
 *
 * Returns: (transfer full): the rendering, or %NULL with @error set
 */
PbMessageRender *
pb_message_render_new (GBytes  *raw,
                       GError **error)
{
  GMimeStream *stream;
  GMimeParser *parser;
  GMimeMessage *message;
  PbMessageRender *self;
  Budget budget = { 0, FALSE };
  gsize length = 0;
  const guint8 *data;

  g_return_val_if_fail (raw != NULL, NULL);

  data = g_bytes_get_data (raw, &length);
  stream = g_mime_stream_mem_new_with_buffer ((const char *) data, length);
  parser = g_mime_parser_new_with_stream (stream);
  g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
  message = g_mime_parser_construct_message (parser, get_parser_options ());
  g_object_unref (parser);
  g_object_unref (stream);
  if (message == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The message could not be read: it is not in the Internet Message Format"));
      return NULL;
    }
  self = render_message (message, 0, &budget);
  g_object_unref (message);
  return self;
}

/* Accessors ------------------------------------------------------------------------------ */

/**
 * pb_message_render_get_from:
 *
 * Returns: (nullable) (transfer none): the first From address
 */
const PbRenderAddress *
pb_message_render_get_from (PbMessageRender *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (self), NULL);
  return self->from;
}

/**
 * pb_message_render_get_to:
 *
 * Returns: (transfer none) (element-type PbRenderAddress): the To addresses, groups flattened
 */
GPtrArray *
pb_message_render_get_to (PbMessageRender *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (self), NULL);
  return self->to;
}

/**
 * pb_message_render_get_cc:
 *
 * Returns: (transfer none) (element-type PbRenderAddress): the Cc addresses
 */
GPtrArray *
pb_message_render_get_cc (PbMessageRender *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (self), NULL);
  return self->cc;
}

/**
 * pb_message_render_get_reply_to:
 *
 * Returns: (transfer none) (element-type PbRenderAddress): the Reply-To addresses, empty
 *   when they are just the From address
 */
GPtrArray *
pb_message_render_get_reply_to (PbMessageRender *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (self), NULL);
  return self->reply_to;
}

/**
 * pb_message_render_get_date:
 *
 * Returns: (nullable) (transfer none): the Date header
 */
GDateTime *
pb_message_render_get_date (PbMessageRender *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (self), NULL);
  return self->date;
}

/**
 * pb_message_render_get_subject:
 *
 * Returns: the subject, decoded, on one line; empty when there is none
 */
const char *
pb_message_render_get_subject (PbMessageRender *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (self), NULL);
  return self->subject;
}

/**
 * pb_message_render_get_parts:
 *
 * Returns: (transfer none) (element-type PbRenderPart): the parts to show, in order
 */
GPtrArray *
pb_message_render_get_parts (PbMessageRender *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (self), NULL);
  return self->parts;
}

/**
 * pb_message_render_get_n_parts:
 *
 * Returns: the number of leaves and nested messages, for pb_message_render_get_part()
 */
guint
pb_message_render_get_n_parts (PbMessageRender *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (self), 0);
  return self->all_parts->len;
}

/**
 * pb_message_render_get_part:
 * @index: a #PbRenderPart.index
 *
 * Returns: (nullable) (transfer none): that part, or %NULL when there is none
 */
const PbRenderPart *
pb_message_render_get_part (PbMessageRender *self,
                            guint            index)
{
  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (self), NULL);
  if (index >= self->all_parts->len)
    return NULL;
  return g_ptr_array_index (self->all_parts, index);
}

/**
 * pb_message_render_lookup_content_id:
 * @content_id: a Content-ID, with or without angle brackets, or a `cid:` URL
 *   (percent-encoded, as RFC 2392 has it)
 *
 * Returns: (nullable) (transfer none): the part of this message with that Content-ID
 */
const PbRenderPart *
pb_message_render_lookup_content_id (PbMessageRender *self,
                                     const char      *content_id)
{
  g_autofree char *unescaped = NULL;
  GHashTableIter iter;
  gpointer key, value;
  char *id;
  gsize len;

  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (self), NULL);
  if (content_id == NULL)
    return NULL;
  if (g_ascii_strncasecmp (content_id, "cid:", 4) == 0)
    content_id += 4;
  unescaped = g_uri_unescape_string (content_id, NULL);
  if (unescaped == NULL)
    unescaped = g_strdup (content_id);
  id = g_strstrip (unescaped);
  len = strlen (id);
  if (len >= 2 && id[0] == '<' && id[len - 1] == '>')
    {
      id[len - 1] = '\0';
      id++;
    }
  value = g_hash_table_lookup (self->by_cid, id);
  if (value != NULL)
    return value;
  /* Some mailers change the case between the reference and the header. */
  g_hash_table_iter_init (&iter, self->by_cid);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_ascii_strcasecmp (key, id) == 0)
      return value;
  return NULL;
}

/**
 * pb_message_render_get_has_remote_content:
 *
 * Returns: whether an HTML part of this message (or of a nested one) refers to remote content
 */
gboolean
pb_message_render_get_has_remote_content (PbMessageRender *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (self), FALSE);
  return self->has_remote_content;
}

/**
 * pb_message_render_get_truncated:
 *
 * Returns: whether the message had more parts, deeper nesting or longer text than is shown
 */
gboolean
pb_message_render_get_truncated (PbMessageRender *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (self), FALSE);
  return self->truncated;
}

/**
 * pb_message_render_format_address:
 * @address: an address
 *
 * Returns: (transfer full): "Name <address>", or just the address when there is no name
 */
char *
pb_message_render_format_address (const PbRenderAddress *address)
{
  g_return_val_if_fail (address != NULL, NULL);
  if (address->name == NULL)
    return g_strdup (address->address);
  return g_strdup_printf ("%s <%s>", address->name, address->address);
}

static void
pb_message_render_finalize (GObject *object)
{
  PbMessageRender *self = PB_MESSAGE_RENDER (object);

  g_clear_pointer (&self->from, render_address_free);
  g_clear_pointer (&self->to, g_ptr_array_unref);
  g_clear_pointer (&self->cc, g_ptr_array_unref);
  g_clear_pointer (&self->reply_to, g_ptr_array_unref);
  g_clear_pointer (&self->date, g_date_time_unref);
  g_free (self->subject);
  g_clear_pointer (&self->by_cid, g_hash_table_unref);
  g_clear_pointer (&self->parts, g_ptr_array_unref);
  g_clear_pointer (&self->all_parts, g_ptr_array_unref);
  g_clear_pointer (&self->owned, g_ptr_array_unref);

  G_OBJECT_CLASS (pb_message_render_parent_class)->finalize (object);
}

static void
pb_message_render_class_init (PbMessageRenderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pb_message_render_finalize;
}

static void
pb_message_render_init (PbMessageRender *self)
{
  self->owned = g_ptr_array_new_with_free_func ((GDestroyNotify) render_part_free);
  self->parts = g_ptr_array_new ();
  self->all_parts = g_ptr_array_new ();
  self->by_cid = g_hash_table_new (g_str_hash, g_str_equal);
}
