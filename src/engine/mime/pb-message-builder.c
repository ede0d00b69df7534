/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-mime"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>
#include <gmime/gmime.h>

#include "pb-message-builder.h"
#include "pb-util-private.h"

/* RFC 3676 recommends lines of at most 78 characters; 76 leaves room for quoting. */
#define FLOW_WIDTH 76

typedef struct {
  char   *name;
  char   *content_type;   /* NULL: guessed when the message is built */
  GBytes *data;           /* NULL: read from file when the message is built */
  GFile  *file;
} Attachment;

static void
attachment_free (Attachment *attachment)
{
  g_free (attachment->name);
  g_free (attachment->content_type);
  g_clear_pointer (&attachment->data, g_bytes_unref);
  g_clear_object (&attachment->file);
  g_free (attachment);
}

struct _PbMessageBuilder
{
  GObject    parent_instance;

  GMutex     lock;
  char      *from_name;
  char      *from_email;
  char      *to;
  char      *cc;
  char      *bcc;
  char      *subject;
  char      *body;
  char      *in_reply_to;
  char      *references;
  char      *message_id;
  GDateTime *date;
  gboolean   include_bcc;
  gboolean   allow_8bit;
  GPtrArray *attachments;   /* of Attachment */
};

G_DEFINE_FINAL_TYPE (PbMessageBuilder, pb_message_builder, G_TYPE_OBJECT)

static void
pb_message_builder_finalize (GObject *object)
{
  PbMessageBuilder *self = PB_MESSAGE_BUILDER (object);

  g_free (self->from_name);
  g_free (self->from_email);
  g_free (self->to);
  g_free (self->cc);
  g_free (self->bcc);
  g_free (self->subject);
  g_free (self->body);
  g_free (self->in_reply_to);
  g_free (self->references);
  g_free (self->message_id);
  g_clear_pointer (&self->date, g_date_time_unref);
  g_ptr_array_unref (self->attachments);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (pb_message_builder_parent_class)->finalize (object);
}

static void
pb_message_builder_class_init (PbMessageBuilderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pb_message_builder_finalize;
}

static void
pb_message_builder_init (PbMessageBuilder *self)
{
  g_mutex_init (&self->lock);
  self->attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) attachment_free);
}

/**
 * pb_message_builder_new:
 * @from_name: (nullable): the sender's display name
 * @from_email: the sender's address
 *
 * Returns: (transfer full): an empty message from that identity
 */
PbMessageBuilder *
pb_message_builder_new (const char *from_name,
                        const char *from_email)
{
  PbMessageBuilder *self = g_object_new (PB_TYPE_MESSAGE_BUILDER, NULL);

  pb_message_builder_set_from (self, from_name, from_email);
  return self;
}

/* Setters and getters. The getters return strings owned by the builder: call them from the
 * thread that sets the fields (the composer's). */

#define STRING_ACCESSORS(field)                                                       \
  void                                                                                \
  pb_message_builder_set_##field (PbMessageBuilder *self, const char *value)          \
  {                                                                                   \
    g_return_if_fail (PB_IS_MESSAGE_BUILDER (self));                                  \
    g_mutex_lock (&self->lock);                                                       \
    pb_set_str (&self->field, value);                                                 \
    g_mutex_unlock (&self->lock);                                                     \
  }                                                                                   \
  const char *                                                                        \
  pb_message_builder_get_##field (PbMessageBuilder *self)                             \
  {                                                                                   \
    g_return_val_if_fail (PB_IS_MESSAGE_BUILDER (self), NULL);                        \
    return self->field;                                                               \
  }

STRING_ACCESSORS (to)
STRING_ACCESSORS (cc)
STRING_ACCESSORS (bcc)
STRING_ACCESSORS (subject)
STRING_ACCESSORS (body)
STRING_ACCESSORS (in_reply_to)
STRING_ACCESSORS (references)
STRING_ACCESSORS (message_id)

void
pb_message_builder_set_from (PbMessageBuilder *self,
                             const char       *name,
                             const char       *email)
{
  g_return_if_fail (PB_IS_MESSAGE_BUILDER (self));

  g_mutex_lock (&self->lock);
  pb_set_str (&self->from_name, name);
  pb_set_str (&self->from_email, email);
  g_mutex_unlock (&self->lock);
}

const char *
pb_message_builder_get_from_email (PbMessageBuilder *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_BUILDER (self), NULL);
  return self->from_email;
}

/**
 * pb_message_builder_set_date:
 * @date: (nullable): the Date header; %NULL (the default) means the time of building
 */
void
pb_message_builder_set_date (PbMessageBuilder *self,
                             GDateTime        *date)
{
  g_return_if_fail (PB_IS_MESSAGE_BUILDER (self));

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->date, g_date_time_unref);
  self->date = date != NULL ? g_date_time_ref (date) : NULL;
  g_mutex_unlock (&self->lock);
}

/**
 * pb_message_builder_set_include_bcc:
 *
 * Whether the Bcc header is written: only for a draft, so that opening it again restores the
 * field. A message that is sent never carries it.
 */
void
pb_message_builder_set_include_bcc (PbMessageBuilder *self,
                                    gboolean          include)
{
  g_return_if_fail (PB_IS_MESSAGE_BUILDER (self));
  self->include_bcc = include;
}

/**
 * pb_message_builder_set_allow_8bit:
 *
 * Whether text may go out as 8bit (the server announced 8BITMIME). By default non-ASCII text
 * is quoted-printable (mostly ASCII) or base64 (mostly not), which every server accepts.
 */
void
pb_message_builder_set_allow_8bit (PbMessageBuilder *self,
                                   gboolean          allow)
{
  g_return_if_fail (PB_IS_MESSAGE_BUILDER (self));
  self->allow_8bit = allow;
}

/**
 * pb_message_builder_add_attachment_file:
 * @file: a local file, read when the message is built
 *
 * Attaches @file under its base name; the type is guessed from the name and the content.
 */
void
pb_message_builder_add_attachment_file (PbMessageBuilder *self,
                                        GFile            *file)
{
  Attachment *attachment;

  g_return_if_fail (PB_IS_MESSAGE_BUILDER (self));
  g_return_if_fail (G_IS_FILE (file));

  attachment = g_new0 (Attachment, 1);
  attachment->file = g_object_ref (file);
  attachment->name = g_file_get_basename (file);
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->attachments, attachment);
  g_mutex_unlock (&self->lock);
}

/**
 * pb_message_builder_add_attachment_bytes:
 * @filename: the name the recipient sees (sanitised: no folders)
 * @content_type: (nullable): a MIME type; %NULL to guess it
 * @data: the content
 */
void
pb_message_builder_add_attachment_bytes (PbMessageBuilder *self,
                                         const char       *filename,
                                         const char       *content_type,
                                         GBytes           *data)
{
  Attachment *attachment;

  g_return_if_fail (PB_IS_MESSAGE_BUILDER (self));
  g_return_if_fail (filename != NULL);
  g_return_if_fail (data != NULL);

  attachment = g_new0 (Attachment, 1);
  attachment->name = g_strdup (filename);
  attachment->content_type = g_strdup (content_type);
  attachment->data = g_bytes_ref (data);
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->attachments, attachment);
  g_mutex_unlock (&self->lock);
}

guint
pb_message_builder_get_n_attachments (PbMessageBuilder *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_BUILDER (self), 0);
  return self->attachments->len;
}

const char *
pb_message_builder_get_attachment_name (PbMessageBuilder *self,
                                        guint             index)
{
  g_return_val_if_fail (PB_IS_MESSAGE_BUILDER (self), NULL);
  g_return_val_if_fail (index < self->attachments->len, NULL);
  return ((Attachment *) g_ptr_array_index (self->attachments, index))->name;
}

/**
 * pb_message_builder_get_attachment_file:
 *
 * Returns: (transfer none) (nullable): the file of an attachment added as a file
 */
GFile *
pb_message_builder_get_attachment_file (PbMessageBuilder *self,
                                        guint             index)
{
  g_return_val_if_fail (PB_IS_MESSAGE_BUILDER (self), NULL);
  g_return_val_if_fail (index < self->attachments->len, NULL);
  return ((Attachment *) g_ptr_array_index (self->attachments, index))->file;
}

void
pb_message_builder_remove_attachment (PbMessageBuilder *self,
                                      guint             index)
{
  g_return_if_fail (PB_IS_MESSAGE_BUILDER (self));
  g_return_if_fail (index < self->attachments->len);

  g_mutex_lock (&self->lock);
  g_ptr_array_remove_index (self->attachments, index);
  g_mutex_unlock (&self->lock);
}

/* format=flowed (RFC 3676) */

static void
append_stuffed (GString    *out,
                guint       depth,
                const char *piece,
                gsize       len)
{
  for (guint i = 0; i < depth; i++)
    g_string_append_c (out, '>');
  if (depth > 0 && len > 0)
    g_string_append_c (out, ' ');
  else if (depth == 0 && len > 0
           && (piece[0] == ' ' || piece[0] == '>'
               || (len >= 5 && strncmp (piece, "From ", 5) == 0)))
    g_string_append_c (out, ' ');
  g_string_append_len (out, piece, len);
}

/* Counts quote marks: ">", ">>", "> >" are all quotes; the one space after the last mark is
 * the conventional separator, not content. */
static const char *
skip_quotes (const char *line,
             guint      *depth)
{
  const char *p = line;

  *depth = 0;
  while (*p == '>')
    {
      (*depth)++;
      p++;
      if (p[0] == ' ' && p[1] == '>')
        p++;
    }
  if (*depth > 0 && *p == ' ')
    p++;
  return p;
}

/**
 * pb_message_builder_flow:
 * @text: plain text with LF or CRLF line ends, as the user typed it
 *
 * Encodes @text as format=flowed (RFC 3676, DelSp=no): long lines are broken after a space,
 * the space staying at the end of the line (a soft break); trailing spaces of the user's own
 * line ends are removed (they would turn hard breaks soft); lines that begin with a space,
 * ">" or "From " at quote depth 0 are space-stuffed. Lines starting with ">" are quotes, and
 * their continuation lines keep the quote marks. The signature separator "-- " stays.
 *
 * Returns: (transfer full): the flowed text, LF line ends, no trailing newline added
 */
char *
pb_message_builder_flow (const char *text)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;

  g_autoptr(GString) normal = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  /* CRLF and a lone CR (pasted text) are line ends too: on the wire a bare CR is not allowed. */
  normal = g_string_new (text);
  g_string_replace (normal, "\r\n", "\n", 0);
  g_string_replace (normal, "\r", "\n", 0);
  lines = g_strsplit (normal->str, "\n", -1);
  for (guint n = 0; lines[n] != NULL; n++)
    {
      const char *line = lines[n];
      const char *content;
      guint depth;
      gsize content_len;
      glong width;

      if (n > 0)
        g_string_append_c (out, '\n');
      if (strcmp (line, "-- ") == 0)
        {
          g_string_append (out, line);
          continue;
        }

      content = skip_quotes (line, &depth);
      content_len = strlen (content);
      while (content_len > 0 && content[content_len - 1] == ' ')
        content_len--;

      width = MAX (FLOW_WIDTH - (glong) depth - 1, 20);
      while (TRUE)
        {
          const char *p = content;
          const char *end = content + content_len;
          const char *last_space = NULL;
          glong chars = 0;

          /* Find the last space within the width; a longer word is left whole. */
          while (p < end)
            {
              /* Never a soft break right after a leading "--": the line "-- " would read
               * as a signature separator, which is always hard (RFC 3676 4.3). */
              if (*p == ' ' && p + 1 < end && p[1] != ' '
                  && !(p == content + 2 && content[0] == '-' && content[1] == '-'))
                {
                  if (chars < width || last_space == NULL)
                    last_space = p;
                  if (chars >= width)
                    break;
                }
              p = g_utf8_next_char (p);
              chars++;
              if (chars > width && last_space != NULL)
                break;
            }
          if (p >= end || last_space == NULL)
            {
              append_stuffed (out, depth, content, content_len);
              break;
            }
          append_stuffed (out, depth, content, last_space + 1 - content);
          g_string_append_c (out, '\n');
          content_len -= last_space + 1 - content;
          content = last_space + 1;
        }
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/**
 * pb_message_builder_unflow:
 * @flowed: text/plain; format=flowed content, LF or CRLF line ends
 * @delsp: the DelSp parameter
 *
 * Joins soft-broken lines again and removes space-stuffing: the inverse of
 * pb_message_builder_flow() for text it produced. Quoted paragraphs come out as "> text"
 * (one ">" per level, then a space).
 *
 * Returns: (transfer full): the text with LF line ends
 */
char *
pb_message_builder_unflow (const char *flowed,
                           gboolean    delsp)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) paragraph = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;
  gboolean open = FALSE;
  guint open_depth = 0;
  gboolean first = TRUE;

  g_return_val_if_fail (flowed != NULL, NULL);

  lines = g_strsplit (flowed, "\n", -1);
  for (guint n = 0; lines[n] != NULL; n++)
    {
      char *line = lines[n];
      gsize len = strlen (line);
      const char *rest;
      guint depth = 0;
      gboolean soft;

      if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';

      /* A last empty element is the newline at the end of the text, not a line. */
      if (lines[n + 1] == NULL && len == 0 && n > 0 && !open)
        {
          g_string_append_c (out, '\n');
          break;
        }

      rest = line;
      while (*rest == '>')
        {
          depth++;
          rest++;
        }
      if (*rest == ' ')
        rest++;

      /* A quote depth change ends a paragraph even after a soft break (RFC 3676 4.5). */
      if (open && depth != open_depth)
        open = FALSE;

      soft = strcmp (rest, "-- ") != 0 && *rest != '\0' && rest[strlen (rest) - 1] == ' ';
      if (!open)
        {
          g_string_truncate (paragraph, 0);
          open_depth = depth;
        }
      g_string_append (paragraph, rest);
      if (soft && delsp)
        g_string_truncate (paragraph, paragraph->len - 1);

      if (soft && lines[n + 1] != NULL)
        {
          open = TRUE;
          continue;
        }

      if (!first)
        g_string_append_c (out, '\n');
      first = FALSE;
      for (guint i = 0; i < open_depth; i++)
        g_string_append_c (out, '>');
      if (open_depth > 0 && paragraph->len > 0)
        g_string_append_c (out, ' ');
      g_string_append_len (out, paragraph->str, paragraph->len);
      open = FALSE;
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/**
 * pb_message_builder_sanitize_filename:
 * @name: a file name from anywhere (a path, a hostile message)
 *
 * Returns: (transfer full): the last path element without control characters, never empty,
 *   "." or ".."
 */
char *
pb_message_builder_sanitize_filename (const char *name)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *base = name != NULL ? name : "";
  const char *p;

  if (!g_utf8_validate (base, -1, NULL))
    base = "";
  for (p = base; *p != '\0'; p++)
    if (*p == '/' || *p == '\\')
      base = p + 1;

  for (p = base; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || c == 0x7f || c == ':' || (c >= 0x80 && c < 0xa0))
        continue;
      g_string_append_unichar (out, c);
    }
  while (out->len > 0 && (out->str[0] == ' ' || out->str[0] == '.'))
    g_string_erase (out, 0, 1);
  if (out->len == 0)
    g_string_assign (out, "attachment");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Addresses */

static InternetAddressList *
parse_addresses (const char  *text,
                 GError     **error)
{
  InternetAddressList *list;

  if (text == NULL || *text == '\0' || strspn (text, " \t,;") == strlen (text))
    return internet_address_list_new ();

  list = internet_address_list_parse (NULL, text);
  if (list == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("“%s” is not a valid list of addresses"), text);
      return NULL;
    }
  return list;
}

static gboolean
collect_mailboxes (InternetAddressList  *list,
                   GPtrArray            *addrs,
                   GError              **error)
{
  for (int i = 0; i < internet_address_list_length (list); i++)
    {
      InternetAddress *address = internet_address_list_get_address (list, i);

      if (INTERNET_ADDRESS_IS_GROUP (address))
        {
          InternetAddressList *members =
            internet_address_group_get_members (INTERNET_ADDRESS_GROUP (address));
          if (!collect_mailboxes (members, addrs, error))
            return FALSE;
        }
      else
        {
          const char *addr = internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address));
          const char *at = addr != NULL ? strchr (addr, '@') : NULL;
          gboolean dup = FALSE;

          if (at == NULL || at == addr || at[1] == '\0' || strpbrk (addr, " \r\n<>") != NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("“%s” is not a valid email address"), addr != NULL ? addr : "");
              return FALSE;
            }
          for (guint j = 0; j < addrs->len && !dup; j++)
            dup = g_ascii_strcasecmp (g_ptr_array_index (addrs, j), addr) == 0;
          if (!dup)
            g_ptr_array_add (addrs, g_strdup (addr));
        }
    }
  return TRUE;
}

/**
 * pb_message_builder_get_envelope_recipients:
 *
 * Every address of To, Cc and Bcc once, for RCPT TO.
 *
 * Returns: (transfer full): the addresses, or %NULL with @error set when a field does not
 *   parse or there is no recipient at all
 */
char **
pb_message_builder_get_envelope_recipients (PbMessageBuilder  *self,
                                            GError           **error)
{
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_free);
  const char *fields[3];
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (PB_IS_MESSAGE_BUILDER (self), NULL);

  locker = g_mutex_locker_new (&self->lock);
  fields[0] = self->to;
  fields[1] = self->cc;
  fields[2] = self->bcc;
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      InternetAddressList *list = parse_addresses (fields[i], error);
      gboolean ok;

      if (list == NULL)
        return NULL;
      ok = collect_mailboxes (list, addrs, error);
      g_object_unref (list);
      if (!ok)
        return NULL;
    }
  if (addrs->len == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("The message has no recipient"));
      return NULL;
    }
  g_ptr_array_add (addrs, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&addrs), FALSE);
}

/* Building */

static GMimePart *
text_part_new (const char *text,
               gboolean    allow_8bit)
{
  g_autofree char *flowed = pb_message_builder_flow (text);
  GMimeContentType *content_type;
  GMimeStream *stream;
  GMimeDataWrapper *wrapper;
  GMimePart *part;
  gsize len = strlen (flowed);

  /* A message that ends without a newline looks cut off in some readers. */
  stream = g_mime_stream_mem_new ();
  g_mime_stream_write (stream, flowed, len);
  if (len == 0 || flowed[len - 1] != '\n')
    g_mime_stream_write (stream, "\n", 1);
  g_mime_stream_reset (stream);
  wrapper = g_mime_data_wrapper_new_with_stream (stream, GMIME_CONTENT_ENCODING_DEFAULT);
  g_object_unref (stream);

  part = GMIME_PART (g_mime_text_part_new_with_subtype ("plain"));
  content_type = g_mime_object_get_content_type (GMIME_OBJECT (part));
  g_mime_content_type_set_parameter (content_type, "charset", "utf-8");
  g_mime_content_type_set_parameter (content_type, "format", "flowed");
  g_mime_part_set_content (part, wrapper);
  g_object_unref (wrapper);

  /* Plain ASCII stays 7bit. Otherwise, if the server takes 8bit, 8bit it is; if not, GMime
   * picks quoted-printable for mostly-ASCII text and base64 for the rest. Lines over 998
   * bytes (a very long word) are never sent bare. (GMime's own choice under the 8bit
   * constraint is "default", which writes no header: hence the check here.) */
  {
    gboolean eight_bit = FALSE;
    gsize line = 0;
    gsize longest = 0;

    for (gsize i = 0; i < len; i++)
      {
        eight_bit |= (guchar) flowed[i] >= 0x80;
        line = flowed[i] == '\n' ? 0 : line + 1;
        longest = MAX (longest, line);
      }
    if (!eight_bit && longest <= 998)
      g_mime_part_set_content_encoding (part, GMIME_CONTENT_ENCODING_7BIT);
    else if (allow_8bit && longest <= 998)
      g_mime_part_set_content_encoding (part, GMIME_CONTENT_ENCODING_8BIT);
    else
      g_mime_part_set_content_encoding (part,
        g_mime_part_get_best_content_encoding (part, GMIME_ENCODING_CONSTRAINT_7BIT));
  }
  return part;
}

static GMimeObject *
attachment_part_new (Attachment  *attachment,
                     GError     **error)
{
  g_autoptr(GBytes) data = NULL;
  g_autofree char *name = pb_message_builder_sanitize_filename (attachment->name);
  g_autofree char *mime_type = NULL;
  GMimeStream *stream;
  GMimeDataWrapper *wrapper;
  GMimePart *part;
  GMimeContentType *content_type;
  gsize size;
  const guchar *bytes;

  if (attachment->data != NULL)
    data = g_bytes_ref (attachment->data);
  else
    {
      char *contents = NULL;
      gsize length = 0;

      if (!g_file_load_contents (attachment->file, NULL, &contents, &length, NULL, error))
        return NULL;
      data = g_bytes_new_take (contents, length);
    }
  bytes = g_bytes_get_data (data, &size);

  if (attachment->content_type != NULL)
    mime_type = g_strdup (attachment->content_type);
  else
    {
      g_autofree char *guessed = g_content_type_guess (name, bytes, MIN (size, 4096), NULL);
      mime_type = g_content_type_get_mime_type (guessed);
      if (mime_type == NULL || strchr (mime_type, '/') == NULL)
        pb_set_str (&mime_type, "application/octet-stream");
    }

  /* A whole message is attached as message/rfc822, which must not be base64 (RFC 2046). */
  if (g_ascii_strcasecmp (mime_type, "message/rfc822") == 0)
    {
      GMimeStream *mem = g_mime_stream_mem_new_with_buffer ((const char *) bytes, size);
      GMimeParser *parser = g_mime_parser_new_with_stream (mem);
      GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);
      GMimeMessagePart *message_part;

      g_object_unref (parser);
      g_object_unref (mem);
      if (message == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("The attached message “%s” could not be read"), name);
          return NULL;
        }
      message_part = g_mime_message_part_new_with_message ("rfc822", message);
      g_object_unref (message);
      g_mime_object_set_disposition (GMIME_OBJECT (message_part), "attachment");
      g_mime_param_list_set_parameter (
        g_mime_content_disposition_get_parameters (
          g_mime_object_get_content_disposition (GMIME_OBJECT (message_part))),
        "filename", name);
      return GMIME_OBJECT (message_part);
    }

  content_type = g_mime_content_type_parse (NULL, mime_type);
  part = g_mime_part_new_with_type (g_mime_content_type_get_media_type (content_type),
                                    g_mime_content_type_get_media_subtype (content_type));
  g_object_unref (content_type);

  stream = g_mime_stream_mem_new_with_buffer ((const char *) bytes, size);
  wrapper = g_mime_data_wrapper_new_with_stream (stream, GMIME_CONTENT_ENCODING_DEFAULT);
  g_object_unref (stream);
  g_mime_part_set_content (part, wrapper);
  g_object_unref (wrapper);

  g_mime_object_set_disposition (GMIME_OBJECT (part), "attachment");
  g_mime_part_set_filename (part, name);
  g_mime_part_set_content_encoding (part, GMIME_CONTENT_ENCODING_BASE64);
  return GMIME_OBJECT (part);
}

static char *
domain_of (const char *email)
{
  const char *at = email != NULL ? strrchr (email, '@') : NULL;

  if (at == NULL || at[1] == '\0')
    return g_strdup ("localhost");
  return g_strdup (at + 1);
}

static gboolean
add_address_header (GMimeMessage        *message,
                    GMimeAddressType     type,
                    const char          *text,
                    GError             **error)
{
  InternetAddressList *list = parse_addresses (text, error);
  g_autoptr(GPtrArray) check = g_ptr_array_new_with_free_func (g_free);
  gboolean ok;

  if (list == NULL)
    return FALSE;
  ok = collect_mailboxes (list, check, error);
  /* An empty list would still write an empty header. */
  if (ok && check->len > 0)
    internet_address_list_append (g_mime_message_get_addresses (message, type), list);
  g_object_unref (list);
  return ok;
}

static char *
id_with_brackets (const char *id)
{
  if (id == NULL || *id == '\0')
    return NULL;
  if (id[0] == '<')
    return g_strdup (id);
  return g_strdup_printf ("<%s>", id);
}

/**
 * pb_message_builder_build:
 *
 * Builds the message. Blocks while it reads attachment files: not for the UI thread. Sets
 * the Message-ID the builder reports from then on (unless one was set).
 *
 * Returns: (transfer full): RFC 5322 bytes with CRLF line ends, or %NULL with @error set
 */
GBytes *
pb_message_builder_build (PbMessageBuilder  *self,
                          GError           **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(GDateTime) date = NULL;
  g_autofree char *domain = NULL;
  g_autofree char *in_reply_to = NULL;
  GMimeMessage *message;
  GMimePart *text;
  GMimeFormatOptions *options;
  GMimeStream *stream;
  GByteArray *array;
  GBytes *result = NULL;

  g_return_val_if_fail (PB_IS_MESSAGE_BUILDER (self), NULL);

  locker = g_mutex_locker_new (&self->lock);
  if (self->from_email == NULL || strchr (self->from_email, '@') == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("The sender’s address is missing or not valid"));
      return NULL;
    }

  /* Not the "pretty" header set: it writes empty To and Cc headers. */
  message = g_mime_message_new (FALSE);
  g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_FROM,
                              self->from_name != NULL && *self->from_name ? self->from_name
                                                                          : NULL,
                              self->from_email);
  if (!add_address_header (message, GMIME_ADDRESS_TYPE_TO, self->to, error)
      || !add_address_header (message, GMIME_ADDRESS_TYPE_CC, self->cc, error)
      || (self->include_bcc
          && !add_address_header (message, GMIME_ADDRESS_TYPE_BCC, self->bcc, error)))
    goto out;

  g_mime_message_set_subject (message, self->subject != NULL ? self->subject : "", "utf-8");
  date = self->date != NULL ? g_date_time_ref (self->date) : g_date_time_new_now_local ();
  g_mime_message_set_date (message, date);

  domain = domain_of (self->from_email);
  if (self->message_id == NULL)
    self->message_id = g_mime_utils_generate_message_id (domain);
  g_mime_message_set_message_id (message, self->message_id);

  in_reply_to = id_with_brackets (self->in_reply_to);
  if (in_reply_to != NULL)
    g_mime_object_set_header (GMIME_OBJECT (message), "In-Reply-To", in_reply_to, NULL);
  if (self->references != NULL && *self->references != '\0')
    g_mime_object_set_header (GMIME_OBJECT (message), "References", self->references, NULL);
  g_mime_object_set_header (GMIME_OBJECT (message), "User-Agent", "Postbote/" PACKAGE_VERSION,
                            NULL);

  text = text_part_new (self->body != NULL ? self->body : "", self->allow_8bit);
  if (self->attachments->len == 0)
    g_mime_message_set_mime_part (message, GMIME_OBJECT (text));
  else
    {
      GMimeMultipart *mixed = g_mime_multipart_new_with_subtype ("mixed");

      g_mime_multipart_add (mixed, GMIME_OBJECT (text));
      for (guint i = 0; i < self->attachments->len; i++)
        {
          GMimeObject *part = attachment_part_new (g_ptr_array_index (self->attachments, i),
                                                   error);
          if (part == NULL)
            {
              g_object_unref (mixed);
              g_object_unref (text);
              goto out;
            }
          g_mime_multipart_add (mixed, part);
          g_object_unref (part);
        }
      g_mime_message_set_mime_part (message, GMIME_OBJECT (mixed));
      g_object_unref (mixed);
    }
  g_object_unref (text);

  options = g_mime_format_options_new ();
  g_mime_format_options_set_newline_format (options, GMIME_NEWLINE_FORMAT_DOS);
  g_mime_format_options_set_param_encoding_method (options, GMIME_PARAM_ENCODING_METHOD_RFC2231);
  stream = g_mime_stream_mem_new ();
  if (g_mime_object_write_to_stream (GMIME_OBJECT (message), options, stream) < 0)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                         _("The message could not be put together"));
  else
    {
      array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
      result = g_bytes_new (array->data, array->len);
    }
  g_object_unref (stream);
  g_mime_format_options_free (options);

out:
  g_object_unref (message);
  return result;
}

static void
build_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  GError *error = NULL;
  GBytes *bytes;

  if (g_task_return_error_if_cancelled (task))
    return;
  bytes = pb_message_builder_build (source_object, &error);
  if (bytes == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

/**
 * pb_message_builder_build_async:
 *
 * Runs pb_message_builder_build() on a worker thread. Do not change the builder until it
 * finishes.
 */
void
pb_message_builder_build_async (PbMessageBuilder    *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PB_IS_MESSAGE_BUILDER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pb_message_builder_build_async);
  g_task_run_in_thread (task, build_thread);
}

GBytes *
pb_message_builder_build_finish (PbMessageBuilder  *self,
                                 GAsyncResult      *result,
                                 GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pb_message_builder_build_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
