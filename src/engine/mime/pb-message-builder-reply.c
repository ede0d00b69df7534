/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-mime"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>
#include <gmime/gmime.h>

#include "pb-message-builder.h"

/*
 * Replies and forwards: what a new message takes over from the one it answers. Only the
 * public builder API is used, so this file is the recipe and nothing else.
 */

/* A References header keeps the first id and the newest ones; a longer one only grows. */
#define MAX_REFERENCES 20
/* Bounds for what a reply quotes from a hostile original. */
#define MAX_QUOTED_BYTES (512 * 1024)
#define MAX_FORWARDED_PARTS 100
#define MAX_DEPTH 20

static GMimeMessage *
parse_message (GBytes  *raw,
               GError **error)
{
  gsize size;
  const char *data = g_bytes_get_data (raw, &size);
  GMimeStream *stream = g_mime_stream_mem_new_with_buffer (data, size);
  GMimeParser *parser = g_mime_parser_new_with_stream (stream);
  GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);

  g_object_unref (parser);
  g_object_unref (stream);
  if (message == NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                         _("The original message could not be read"));
  return message;
}

static gboolean
is_own_address (const char         *addr,
                const char         *from_email,
                const char * const *own)
{
  if (addr == NULL)
    return FALSE;
  if (from_email != NULL && g_ascii_strcasecmp (addr, from_email) == 0)
    return TRUE;
  for (guint i = 0; own != NULL && own[i] != NULL; i++)
    if (g_ascii_strcasecmp (addr, own[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Appends the mailboxes of @list to @out (a list for the header), skipping own addresses and
 * those already in @seen. */
static void
add_recipients (InternetAddressList *out,
                GPtrArray           *seen,
                InternetAddressList *list,
                const char          *from_email,
                const char * const  *own,
                guint                depth)
{
  if (list == NULL || depth > MAX_DEPTH)
    return;
  for (int i = 0; i < internet_address_list_length (list); i++)
    {
      InternetAddress *address = internet_address_list_get_address (list, i);
      const char *addr;
      gboolean dup = FALSE;

      if (INTERNET_ADDRESS_IS_GROUP (address))
        {
          add_recipients (out, seen,
                          internet_address_group_get_members (INTERNET_ADDRESS_GROUP (address)),
                          from_email, own, depth + 1);
          continue;
        }
      addr = internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address));
      if (addr == NULL || *addr == '\0' || is_own_address (addr, from_email, own))
        continue;
      for (guint j = 0; j < seen->len && !dup; j++)
        dup = g_ascii_strcasecmp (g_ptr_array_index (seen, j), addr) == 0;
      if (dup)
        continue;
      g_ptr_array_add (seen, g_strdup (addr));
      internet_address_list_add (out, address);
    }
}

static char *
list_to_string (InternetAddressList *list)
{
  if (internet_address_list_length (list) == 0)
    return NULL;
  return internet_address_list_to_string (list, NULL, FALSE);
}

static gboolean
list_has_other_than_own (InternetAddressList *list,
                         const char          *from_email,
                         const char * const  *own)
{
  GPtrArray *seen = g_ptr_array_new_with_free_func (g_free);
  InternetAddressList *tmp = internet_address_list_new ();
  gboolean result;

  add_recipients (tmp, seen, list, from_email, own, 0);
  result = internet_address_list_length (tmp) > 0;
  g_object_unref (tmp);
  g_ptr_array_unref (seen);
  return result;
}

/* "Re: Re: AW: x" -> "x": the prefixes many clients in many languages add. */
static const char *
strip_reply_prefixes (const char *subject)
{
  static const char *prefixes[] = { "re:", "aw:", "sv:", "antw:", "vs:" };
  const char *s = subject;
  gboolean again = TRUE;

  while (again)
    {
      again = FALSE;
      while (*s == ' ' || *s == '\t')
        s++;
      for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
        if (g_ascii_strncasecmp (s, prefixes[i], strlen (prefixes[i])) == 0)
          {
            s += strlen (prefixes[i]);
            again = TRUE;
            break;
          }
    }
  return s;
}

/* A crude but bounded HTML-to-text for originals that have no text/plain part: enough to quote
 * what was said. Tags go, block ends become line ends, the common entities are decoded. */
static char *
html_to_text (const char *html)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *p = html;
  gboolean skip = FALSE;

  while (*p != '\0' && out->len < MAX_QUOTED_BYTES)
    {
      if (*p == '<')
        {
          const char *end = strchr (p, '>');
          g_autofree char *tag = NULL;

          if (end == NULL)
            break;
          tag = g_ascii_strdown (p + 1, MIN (end - p - 1, 16));
          if (g_str_has_prefix (tag, "style") || g_str_has_prefix (tag, "script")
              || g_str_has_prefix (tag, "head"))
            skip = TRUE;
          else if (g_str_has_prefix (tag, "/style") || g_str_has_prefix (tag, "/script")
                   || g_str_has_prefix (tag, "/head"))
            skip = FALSE;
          else if (!skip && (g_str_has_prefix (tag, "br") || g_str_has_prefix (tag, "/p")
                             || g_str_has_prefix (tag, "/div") || g_str_has_prefix (tag, "/tr")
                             || g_str_has_prefix (tag, "/li") || g_str_has_prefix (tag, "/h")))
            g_string_append_c (out, '\n');
          p = end + 1;
          continue;
        }
      if (skip)
        {
          p++;
          continue;
        }
      if (*p == '&')
        {
          static const struct { const char *name; const char *text; } entities[] = {
            { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" },
            { "&nbsp;", " " }, { "&#39;", "'" },
          };
          gboolean done = FALSE;

          for (guint i = 0; i < G_N_ELEMENTS (entities) && !done; i++)
            if (g_ascii_strncasecmp (p, entities[i].name, strlen (entities[i].name)) == 0)
              {
                g_string_append (out, entities[i].text);
                p += strlen (entities[i].name);
                done = TRUE;
              }
          if (done)
            continue;
        }
      if (*p != '\r')
        g_string_append_c (out, *p);
      p++;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
is_attachment (GMimeObject *part)
{
  const char *disposition = g_mime_object_get_disposition (part);

  return disposition != NULL && g_ascii_strcasecmp (disposition, "attachment") == 0;
}

typedef struct {
  char      *plain;
  char      *html;
  GPtrArray *attachments;   /* GMimeObject leaves that are not the text, ref'd */
} Walk;

static void
walk_parts (GMimeObject *object,
            Walk        *walk,
            guint        depth)
{
  if (depth > MAX_DEPTH)
    return;

  if (GMIME_IS_MULTIPART (object))
    {
      GMimeMultipart *multipart = GMIME_MULTIPART (object);

      for (int i = 0; i < g_mime_multipart_get_count (multipart); i++)
        walk_parts (g_mime_multipart_get_part (multipart, i), walk, depth + 1);
      return;
    }

  if (GMIME_IS_TEXT_PART (object) && !is_attachment (object))
    {
      GMimeContentType *type = g_mime_object_get_content_type (object);

      if (walk->plain == NULL && g_mime_content_type_is_type (type, "text", "plain"))
        {
          g_autofree char *text = g_mime_text_part_get_text (GMIME_TEXT_PART (object));
          const char *format = g_mime_content_type_get_parameter (type, "format");
          const char *delsp = g_mime_content_type_get_parameter (type, "delsp");

          if (text == NULL)
            text = g_strdup ("");
          if (strlen (text) > MAX_QUOTED_BYTES)
            text[MAX_QUOTED_BYTES] = '\0';
          if (!g_utf8_validate (text, -1, NULL))
            {
              char *valid = g_utf8_make_valid (text, -1);
              g_free (text);
              text = valid;
            }
          if (format != NULL && g_ascii_strcasecmp (format, "flowed") == 0)
            walk->plain = pb_message_builder_unflow (text, delsp != NULL
                                                     && g_ascii_strcasecmp (delsp, "yes") == 0);
          else
            walk->plain = g_steal_pointer (&text);
          return;
        }
      if (walk->html == NULL && g_mime_content_type_is_type (type, "text", "html"))
        {
          g_autofree char *text = g_mime_text_part_get_text (GMIME_TEXT_PART (object));

          if (text != NULL && g_utf8_validate (text, -1, NULL))
            walk->html = html_to_text (text);
          return;
        }
    }

  if ((GMIME_IS_PART (object) || GMIME_IS_MESSAGE_PART (object))
      && walk->attachments->len < MAX_FORWARDED_PARTS)
    {
      /* The text of an alternative is never an attachment; anything else that is a leaf is. */
      if (GMIME_IS_TEXT_PART (object) && !is_attachment (object))
        return;
      g_ptr_array_add (walk->attachments, g_object_ref (object));
    }
}

static char *
normalize_newlines (const char *text)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    if (*p != '\r')
      g_string_append_c (out, *p);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
quote_text (const char *text)
{
  g_autofree char *clean = normalize_newlines (text);
  g_auto(GStrv) lines = g_strsplit (clean, "\n", -1);
  g_autoptr(GString) out = g_string_new (NULL);
  guint n = g_strv_length (lines);

  /* Trailing empty lines carry nothing. */
  while (n > 0 && *g_strstrip (lines[n - 1]) == '\0')
    n--;
  for (guint i = 0; i < n; i++)
    {
      if (lines[i][0] == '>')
        g_string_append_printf (out, ">%s\n", lines[i]);
      else if (lines[i][0] == '\0')
        g_string_append (out, ">\n");
      else
        g_string_append_printf (out, "> %s\n", lines[i]);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
format_date (GDateTime *date)
{
  g_autoptr(GDateTime) local = NULL;

  if (date == NULL)
    return g_strdup (_("an unknown date"));
  local = g_date_time_to_local (date);
  /* Translators: the date in "On DATE, NAME wrote:" above a quoted reply; a
   * g_date_time_format() format. */
  return g_date_time_format (local, C_("attribution date", "%a, %b %-d, %Y at %H:%M"));
}

static char *
sender_name (GMimeMessage *message)
{
  InternetAddressList *from = g_mime_message_get_from (message);
  InternetAddress *address;
  const char *name;

  if (from == NULL || internet_address_list_length (from) == 0)
    return g_strdup (_("an unknown sender"));
  address = internet_address_list_get_address (from, 0);
  name = internet_address_get_name (address);
  if (name != NULL && *name != '\0')
    return g_strdup (name);
  if (INTERNET_ADDRESS_IS_MAILBOX (address))
    return g_strdup (internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)));
  return g_strdup (_("an unknown sender"));
}

static char *
build_references (GMimeMessage *message)
{
  const char *header = g_mime_object_get_header (GMIME_OBJECT (message), "References");
  const char *id = g_mime_message_get_message_id (message);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) out = g_string_new (NULL);

  if (header != NULL)
    {
      GMimeReferences *refs = g_mime_references_parse (NULL, header);

      for (int i = 0; refs != NULL && i < g_mime_references_length (refs); i++)
        g_ptr_array_add (ids, g_strdup (g_mime_references_get_message_id (refs, i)));
      if (refs != NULL)
        g_mime_references_free (refs);
    }
  else
    {
      /* Without References, In-Reply-To holds the parent (RFC 5322 3.6.4). */
      const char *parent = g_mime_object_get_header (GMIME_OBJECT (message), "In-Reply-To");
      GMimeReferences *refs = parent != NULL ? g_mime_references_parse (NULL, parent) : NULL;

      if (refs != NULL && g_mime_references_length (refs) > 0)
        g_ptr_array_add (ids, g_strdup (g_mime_references_get_message_id (refs, 0)));
      if (refs != NULL)
        g_mime_references_free (refs);
    }
  if (id != NULL && *id != '\0')
    g_ptr_array_add (ids, g_strdup (id));

  for (guint i = 0; i < ids->len; i++)
    {
      /* The first id names the thread's start; the newest ones matter for threading. */
      if (ids->len > MAX_REFERENCES && i > 0 && i < ids->len - (MAX_REFERENCES - 1))
        continue;
      if (out->len > 0)
        g_string_append_c (out, ' ');
      g_string_append_printf (out, "<%s>", (const char *) g_ptr_array_index (ids, i));
    }
  return out->len > 0 ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}

static void
add_part_as_attachment (PbMessageBuilder *self,
                        GMimeObject      *object)
{
  GMimeStream *stream = g_mime_stream_mem_new ();
  GByteArray *array;
  g_autoptr(GBytes) data = NULL;
  g_autofree char *mime_type = g_mime_content_type_get_mime_type (
    g_mime_object_get_content_type (object));
  const char *name = NULL;

  if (GMIME_IS_PART (object))
    {
      GMimeDataWrapper *content = g_mime_part_get_content (GMIME_PART (object));

      name = g_mime_part_get_filename (GMIME_PART (object));
      if (content != NULL)
        g_mime_data_wrapper_write_to_stream (content, stream);
    }
  else
    {
      GMimeMessage *inner = g_mime_message_part_get_message (GMIME_MESSAGE_PART (object));

      if (inner != NULL)
        g_mime_object_write_to_stream (GMIME_OBJECT (inner), NULL, stream);
      name = "message.eml";
    }
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
  data = g_bytes_new (array->data, array->len);
  g_object_unref (stream);

  pb_message_builder_add_attachment_bytes (self, name != NULL ? name : "attachment",
                                           mime_type, data);
}

static char *
forward_header_block (GMimeMessage *message)
{
  g_autoptr(GString) out = g_string_new ("\n\n");
  g_autofree char *date = format_date (g_mime_message_get_date (message));
  InternetAddressList *from = g_mime_message_get_from (message);
  InternetAddressList *to = g_mime_message_get_to (message);
  const char *subject = g_mime_message_get_subject (message);

  g_string_append_printf (out, "-------- %s --------\n", _("Forwarded Message"));
  g_string_append_printf (out, "%s: %s\n", _("Subject"), subject != NULL ? subject : "");
  g_string_append_printf (out, "%s: %s\n", _("Date"), date);
  if (from != NULL && internet_address_list_length (from) > 0)
    {
      g_autofree char *text = internet_address_list_to_string (from, NULL, FALSE);
      g_string_append_printf (out, "%s: %s\n", _("From"), text);
    }
  if (to != NULL && internet_address_list_length (to) > 0)
    {
      g_autofree char *text = internet_address_list_to_string (to, NULL, FALSE);
      g_string_append_printf (out, "%s: %s\n", _("To"), text);
    }
  g_string_append_c (out, '\n');
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
eml_name (const char *subject)
{
  g_autofree char *clean = NULL;

  if (subject == NULL || *subject == '\0')
    return g_strdup ("message.eml");
  clean = g_strndup (subject, MIN (strlen (subject), 60));
  if (!g_utf8_validate (clean, -1, NULL))
    return g_strdup ("message.eml");
  return g_strconcat (clean, ".eml", NULL);
}

/**
 * pb_message_builder_new_for_original:
 * @original: the message answered or forwarded (RFC 5322 bytes)
 * @mode: reply, reply-all, forward or forward as attachment
 * @from_name: (nullable): the identity's display name
 * @from_email: the identity's address
 * @own_addresses: (nullable) (array zero-terminated=1): more addresses of the user, left out
 *   of a reply-all
 *
 * A builder filled in for answering @original: recipients (Reply-To honoured, own addresses
 * left out), "Re: " once or "Fwd: ", In-Reply-To and References, the quoted text below an
 * attribution line, or the original attached.
 *
 * Returns: (transfer full): the builder, or %NULL with @error set when @original does not parse
 */
PbMessageBuilder *
pb_message_builder_new_for_original (GBytes              *original,
                                     PbComposeMode        mode,
                                     const char          *from_name,
                                     const char          *from_email,
                                     const char * const  *own_addresses,
                                     GError             **error)
{
  g_autoptr(PbMessageBuilder) self = NULL;
  GMimeMessage *message;
  const char *subject;
  Walk walk = { NULL, NULL, NULL };
  const char *text;

  g_return_val_if_fail (original != NULL, NULL);

  message = parse_message (original, error);
  if (message == NULL)
    return NULL;

  self = pb_message_builder_new (from_name, from_email);
  subject = g_mime_message_get_subject (message);
  if (subject == NULL)
    subject = "";

  walk.attachments = g_ptr_array_new_with_free_func (g_object_unref);
  if (mode != PB_COMPOSE_FORWARD_ATTACHMENT && g_mime_message_get_mime_part (message) != NULL)
    walk_parts (g_mime_message_get_mime_part (message), &walk, 0);
  text = walk.plain != NULL ? walk.plain : walk.html != NULL ? walk.html : "";

  if (mode == PB_COMPOSE_REPLY || mode == PB_COMPOSE_REPLY_ALL)
    {
      InternetAddressList *reply_to = g_mime_message_get_reply_to (message);
      InternetAddressList *from = g_mime_message_get_from (message);
      InternetAddressList *orig_to = g_mime_message_get_to (message);
      InternetAddressList *orig_cc = g_mime_message_get_cc (message);
      InternetAddressList *to = internet_address_list_new ();
      InternetAddressList *cc = internet_address_list_new ();
      GPtrArray *seen = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *to_text = NULL;
      g_autofree char *cc_text = NULL;
      g_autofree char *quoted = quote_text (text);
      g_autofree char *date = format_date (g_mime_message_get_date (message));
      g_autofree char *name = sender_name (message);
      g_autofree char *attribution = NULL;
      g_autofree char *body = NULL;
      g_autofree char *refs = build_references (message);
      const char *id = g_mime_message_get_message_id (message);

      /* Replying to a message one sent oneself goes to its recipients again, as every
       * client does; otherwise to Reply-To if set, else to the sender. */
      if (reply_to != NULL && internet_address_list_length (reply_to) > 0)
        add_recipients (to, seen, reply_to, NULL, NULL, 0);
      else if (from != NULL && list_has_other_than_own (from, from_email, own_addresses))
        add_recipients (to, seen, from, NULL, NULL, 0);
      else
        add_recipients (to, seen, orig_to, from_email, own_addresses, 0);

      if (mode == PB_COMPOSE_REPLY_ALL)
        {
          /* The sender is not lost when Reply-To points elsewhere (a mailing list). */
          if (reply_to != NULL && internet_address_list_length (reply_to) > 0)
            add_recipients (cc, seen, from, from_email, own_addresses, 0);
          add_recipients (cc, seen, orig_to, from_email, own_addresses, 0);
          add_recipients (cc, seen, orig_cc, from_email, own_addresses, 0);
        }
      to_text = list_to_string (to);
      cc_text = list_to_string (cc);
      g_object_unref (to);
      g_object_unref (cc);
      g_ptr_array_unref (seen);

      pb_message_builder_set_to (self, to_text);
      pb_message_builder_set_cc (self, cc_text);
      {
        g_autofree char *re = g_strconcat ("Re: ", strip_reply_prefixes (subject), NULL);
        pb_message_builder_set_subject (self, re);
      }
      if (id != NULL && *id != '\0')
        pb_message_builder_set_in_reply_to (self, id);
      pb_message_builder_set_references (self, refs);

      /* Translators: the line above a quoted reply: "On DATE, NAME wrote:". */
      attribution = g_strdup_printf (_("On %s, %s wrote:"), date, name);
      body = g_strdup_printf ("\n\n%s\n%s", attribution, quoted);
      pb_message_builder_set_body (self, body);
    }
  else
    {
      g_autofree char *fwd = NULL;

      if (g_ascii_strncasecmp (subject, "Fwd:", 4) == 0)
        fwd = g_strdup (subject);
      else
        fwd = g_strconcat ("Fwd: ", subject, NULL);
      pb_message_builder_set_subject (self, fwd);

      if (mode == PB_COMPOSE_FORWARD_ATTACHMENT)
        {
          g_autofree char *name = eml_name (subject);

          pb_message_builder_set_body (self, "");
          pb_message_builder_add_attachment_bytes (self, name, "message/rfc822", original);
        }
      else
        {
          g_autofree char *header = forward_header_block (message);
          g_autofree char *clean = normalize_newlines (text);
          g_autofree char *body = g_strconcat (header, clean, NULL);

          pb_message_builder_set_body (self, body);
          for (guint i = 0; i < walk.attachments->len; i++)
            add_part_as_attachment (self, g_ptr_array_index (walk.attachments, i));
        }
    }

  g_free (walk.plain);
  g_free (walk.html);
  g_ptr_array_unref (walk.attachments);
  g_object_unref (message);
  return g_steal_pointer (&self);
}
