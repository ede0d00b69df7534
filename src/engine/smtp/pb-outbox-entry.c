/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-outbox"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <string.h>
#include <unistd.h>

#include "pb-outbox-private.h"
#include "pb-smtp-client.h"

/*
 * Outbox entries: the boxed snapshot type, their files on disk (message.eml, the state key
 * file, the "sending" marker) and the preparation of a message for the queue. Everything
 * here that touches the disk runs on the outbox's disk threads (pb-outbox.c).
 */

#define STATE_GROUP "Entry"
#define MAX_MESSAGE_SIZE ((gsize) 256 * 1024 * 1024)

/* ---- Entries --------------------------------------------------------------------------- */



G_DEFINE_BOXED_TYPE (PbOutboxEntry, pb_outbox_entry, pb_outbox_entry_ref, pb_outbox_entry_unref)

PbOutboxEntry *
pb_outbox_entry_new (void)
{
  PbOutboxEntry *entry = g_new0 (PbOutboxEntry, 1);

  g_atomic_ref_count_init (&entry->ref_count);
  return entry;
}

PbOutboxEntry *
pb_outbox_entry_ref (PbOutboxEntry *entry)
{
  g_return_val_if_fail (entry != NULL, NULL);
  g_atomic_ref_count_inc (&entry->ref_count);
  return entry;
}

void
pb_outbox_entry_unref (PbOutboxEntry *entry)
{
  g_return_if_fail (entry != NULL);
  if (!g_atomic_ref_count_dec (&entry->ref_count))
    return;
  g_free (entry->id);
  g_free (entry->account);
  g_free (entry->from);
  g_strfreev (entry->recipients);
  g_free (entry->subject);
  g_free (entry->error);
  g_free (entry);
}

PbOutboxEntry *
pb_outbox_entry_copy (const PbOutboxEntry *e)
{
  PbOutboxEntry *copy = pb_outbox_entry_new ();

  copy->id = g_strdup (e->id);
  copy->account = g_strdup (e->account);
  copy->state = e->state;
  copy->from = g_strdup (e->from);
  copy->recipients = g_strdupv (e->recipients);
  copy->subject = g_strdup (e->subject);
  copy->queued_time = e->queued_time;
  copy->attempts = e->attempts;
  copy->next_attempt = e->next_attempt;
  copy->error = g_strdup (e->error);
  copy->error_domain = e->error_domain;
  copy->error_code = e->error_code;
  copy->no_sent_copy = e->no_sent_copy;
  return copy;
}

const char *pb_outbox_entry_get_id (PbOutboxEntry *e) { return e->id; }
const char *pb_outbox_entry_get_account (PbOutboxEntry *e) { return e->account; }
PbOutboxState pb_outbox_entry_get_state (PbOutboxEntry *e) { return e->state; }
const char * const *pb_outbox_entry_get_recipients (PbOutboxEntry *e)
{
  return (const char * const *) e->recipients;
}
const char *pb_outbox_entry_get_subject (PbOutboxEntry *e) { return e->subject; }
gint64 pb_outbox_entry_get_queued_time (PbOutboxEntry *e) { return e->queued_time; }
guint pb_outbox_entry_get_attempts (PbOutboxEntry *e) { return e->attempts; }
gint64 pb_outbox_entry_get_next_attempt (PbOutboxEntry *e) { return e->next_attempt; }
const char *pb_outbox_entry_get_error (PbOutboxEntry *e) { return e->error; }
GQuark pb_outbox_entry_get_error_domain (PbOutboxEntry *e) { return e->error_domain; }
int pb_outbox_entry_get_error_code (PbOutboxEntry *e) { return e->error_code; }

static const char *state_names[] = {
  "waiting", "queued", "sending", "sent", "uncertain", "failed", "done",
};

const char *
pb_outbox_state_to_string (PbOutboxState state)
{
  g_return_val_if_fail (state <= PB_OUTBOX_STATE_DONE, NULL);
  return state_names[state];
}

const char *
pb_outbox_state_describe (PbOutboxState state)
{
  switch (state)
    {
    case PB_OUTBOX_STATE_WAITING: return _("Waiting (can be undone)");
    case PB_OUTBOX_STATE_QUEUED: return _("Queued");
    case PB_OUTBOX_STATE_SENDING: return _("Sending");
    case PB_OUTBOX_STATE_SENT: return _("Sent, copying to the Sent folder");
    case PB_OUTBOX_STATE_UNCERTAIN:
      return _("May have been sent — check the Sent folder or ask the recipient");
    case PB_OUTBOX_STATE_FAILED: return _("Not sent");
    case PB_OUTBOX_STATE_DONE: return _("Sent");
    default: g_return_val_if_reached (NULL);
    }
}

static gboolean
state_from_string (const char    *s,
                   PbOutboxState *out)
{
  for (guint i = 0; s != NULL && i < G_N_ELEMENTS (state_names); i++)
    if (g_str_equal (s, state_names[i]))
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

/* ---- Disk (runs on the outbox's disk threads) ---------------------------------------------- */

gboolean
pb_outbox_fsync_path (const char  *path,
            gboolean     directory,
            GError     **error)
{
  int fd = open (path, (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  int saved;

  if (fd < 0 || fsync (fd) != 0)
    {
      saved = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Could not write %s to disk: %s"), path, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static char *
state_to_data (const PbOutboxEntry *e,
               gsize               *length)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();

  g_key_file_set_string (key_file, STATE_GROUP, "account", e->account);
  g_key_file_set_string (key_file, STATE_GROUP, "state", state_names[e->state]);
  g_key_file_set_string (key_file, STATE_GROUP, "from", e->from);
  g_key_file_set_string_list (key_file, STATE_GROUP, "recipients",
                              (const char * const *) e->recipients,
                              g_strv_length (e->recipients));
  g_key_file_set_string (key_file, STATE_GROUP, "subject", e->subject ? e->subject : "");
  g_key_file_set_int64 (key_file, STATE_GROUP, "queued", e->queued_time);
  g_key_file_set_uint64 (key_file, STATE_GROUP, "attempts", e->attempts);
  g_key_file_set_int64 (key_file, STATE_GROUP, "next-attempt", e->next_attempt);
  if (e->no_sent_copy)
    g_key_file_set_boolean (key_file, STATE_GROUP, "sent-copy", FALSE);
  if (e->error != NULL)
    {
      g_key_file_set_string (key_file, STATE_GROUP, "error", e->error);
      g_key_file_set_string (key_file, STATE_GROUP, "error-domain",
                             g_quark_to_string (e->error_domain));
      g_key_file_set_integer (key_file, STATE_GROUP, "error-code", e->error_code);
    }
  return g_key_file_to_data (key_file, length, NULL);
}

/* Replaces the state file atomically (write, fsync, rename, fsync the directory). */
gboolean
pb_outbox_write_state (const char           *entry_dir,
             const PbOutboxEntry  *e,
             GError              **error)
{
  g_autofree char *path = g_build_filename (entry_dir, "state", NULL);
  g_autofree char *data = NULL;
  gsize length;

  data = state_to_data (e, &length);
  if (!g_file_set_contents_full (path, data, length, G_FILE_SET_CONTENTS_CONSISTENT
                                 | G_FILE_SET_CONTENTS_DURABLE, 0600, error))
    return FALSE;
  /* Leaving SENDING: the marker goes after the new state is written, so a crash in between
   * reads as "uncertain", never as "queued". */
  if (e->state != PB_OUTBOX_STATE_SENDING)
    {
      g_autofree char *marker = g_build_filename (entry_dir, "sending", NULL);
      if (g_unlink (marker) != 0 && errno != ENOENT)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("Could not write %s to disk: %s"), marker, g_strerror (saved));
          return FALSE;
        }
    }
  return pb_outbox_fsync_path (entry_dir, TRUE, error);
}

/* Records SENDING with an empty marker file rather than a rewrite of the state: one flush on
 * the path of every message instead of two. Any entry with the marker (and not yet SENT) was
 * possibly being sent. */
gboolean
pb_outbox_write_sending_marker (const char  *entry_dir,
                      GError     **error)
{
  g_autofree char *marker = g_build_filename (entry_dir, "sending", NULL);
  int fd = open (marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  int saved;

  if (fd < 0 || fsync (fd) != 0)
    {
      saved = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Could not write %s to disk: %s"), marker, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  return pb_outbox_fsync_path (entry_dir, TRUE, error);
}

PbOutboxEntry *
pb_outbox_read_state (const char  *entry_dir,
            const char  *id,
            GError     **error)
{
  g_autofree char *path = g_build_filename (entry_dir, "state", NULL);
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(PbOutboxEntry) e = pb_outbox_entry_new ();
  g_autofree char *state = NULL;
  g_autofree char *domain = NULL;

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, error))
    return NULL;
  e->id = g_strdup (id);
  e->account = g_key_file_get_string (key_file, STATE_GROUP, "account", NULL);
  state = g_key_file_get_string (key_file, STATE_GROUP, "state", NULL);
  e->from = g_key_file_get_string (key_file, STATE_GROUP, "from", NULL);
  e->recipients = g_key_file_get_string_list (key_file, STATE_GROUP, "recipients", NULL, NULL);
  e->subject = g_key_file_get_string (key_file, STATE_GROUP, "subject", NULL);
  e->queued_time = g_key_file_get_int64 (key_file, STATE_GROUP, "queued", NULL);
  e->attempts = g_key_file_get_uint64 (key_file, STATE_GROUP, "attempts", NULL);
  e->next_attempt = g_key_file_get_int64 (key_file, STATE_GROUP, "next-attempt", NULL);
  e->error = g_key_file_get_string (key_file, STATE_GROUP, "error", NULL);
  e->no_sent_copy = g_key_file_has_key (key_file, STATE_GROUP, "sent-copy", NULL)
                    && !g_key_file_get_boolean (key_file, STATE_GROUP, "sent-copy", NULL);
  domain = g_key_file_get_string (key_file, STATE_GROUP, "error-domain", NULL);
  e->error_domain = domain ? g_quark_from_string (domain) : 0;
  e->error_code = g_key_file_get_integer (key_file, STATE_GROUP, "error-code", NULL);
  if (e->account == NULL || e->from == NULL || e->recipients == NULL || e->recipients[0] == NULL
      || !state_from_string (state, &e->state) || e->state == PB_OUTBOX_STATE_DONE)
    {
      g_set_error (error, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_FAILED,
                   _("The outbox entry %s is damaged"), id);
      return NULL;
    }
  if (e->subject == NULL)
    e->subject = g_strdup ("");
  return g_steal_pointer (&e);
}

/* Deletes a directory's files and the directory, without flushing: used once the entry is
 * no longer an entry (renamed to .done-… or never renamed from .tmp-…). */
void
pb_outbox_delete_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);
      g_unlink (file);
    }
  g_rmdir (path);
}

/* Removes an entry: one atomic rename to .done-ID, made durable with one flush of the outbox
 * directory (that rename is the record that the entry is finished), then the files go
 * without further flushes; a leftover .done-… directory is deleted at the next load. */
gboolean
pb_outbox_remove_entry_dir (const char  *entry_dir,
                  GError     **error)
{
  g_autofree char *parent = g_path_get_dirname (entry_dir);
  g_autofree char *base = g_path_get_basename (entry_dir);
  g_autofree char *done = g_strdup_printf ("%s/.done-%s", parent, base);

  if (g_rename (entry_dir, done) != 0)
    {
      int saved = errno;
      if (saved == ENOENT)
        return TRUE;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Could not remove %s: %s"), entry_dir, g_strerror (saved));
      return FALSE;
    }
  if (!pb_outbox_fsync_path (parent, TRUE, error))
    return FALSE;
  pb_outbox_delete_tree (done);
  return TRUE;
}

/* ---- Preparing a message for the queue --------------------------------------------------- */

static void
add_addresses (GPtrArray           *out,
               GHashTable          *seen,
               InternetAddressList *list)
{
  for (int i = 0; list != NULL && i < internet_address_list_length (list); i++)
    {
      InternetAddress *address = internet_address_list_get_address (list, i);

      if (INTERNET_ADDRESS_IS_GROUP (address))
        add_addresses (out, seen,
                       internet_address_group_get_members (INTERNET_ADDRESS_GROUP (address)));
      else if (INTERNET_ADDRESS_IS_MAILBOX (address))
        {
          const char *addr = internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address));
          g_autofree char *key = NULL;

          if (addr == NULL || *addr == '\0')
            continue;
          key = g_utf8_casefold (addr, -1);
          if (g_hash_table_add (seen, g_steal_pointer (&key)))
            g_ptr_array_add (out, g_strdup (addr));
        }
    }
}

static char *
rfc5322_date (void)
{
  static const char *days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
  static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                  "Sep", "Oct", "Nov", "Dec" };
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  gint64 offset = g_date_time_get_utc_offset (now) / G_TIME_SPAN_MINUTE;

  /* Day and month names are English whatever the locale (RFC 5322 3.3). */
  return g_strdup_printf ("%s, %d %s %d %02d:%02d:%02d %c%02d%02d",
                          days[g_date_time_get_day_of_week (now) - 1],
                          g_date_time_get_day_of_month (now),
                          months[g_date_time_get_month (now) - 1], g_date_time_get_year (now),
                          g_date_time_get_hour (now), g_date_time_get_minute (now),
                          g_date_time_get_second (now), offset < 0 ? '-' : '+',
                          (int) (ABS (offset) / 60), (int) (ABS (offset) % 60));
}

/* The bytes to send: CRLF, without Bcc, with Date and Message-ID. Also finds the envelope
 * recipients (To, Cc, Bcc) and the subject. */
GBytes *
pb_outbox_prepare_message (GBytes       *raw,
                 const char   *from,
                 char       ***recipients_out,
                 char        **subject_out,
                 GError      **error)
{
  g_autoptr(GBytes) normal = pb_smtp_prepare_data (raw, FALSE, NULL);
  gsize length;
  const char *data = g_bytes_get_data (normal, &length);
  const char *body, *end = data + length;
  g_autoptr(GString) out = g_string_sized_new (length + 128);
  g_autoptr(GPtrArray) recipients = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GMimeStream *stream;
  GMimeParser *parser;
  GMimeMessage *message;
  gboolean skipping = FALSE, in_address = FALSE;
  const char *p;

  if (g_bytes_get_size (raw) > MAX_MESSAGE_SIZE || length == 0)
    {
      g_set_error_literal (error, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_INVALID,
                           length == 0 ? _("The message is empty")
                                       : _("The message is too large"));
      return NULL;
    }

  stream = g_mime_stream_mem_new_with_buffer (data, length);
  parser = g_mime_parser_new_with_stream (stream);
  message = g_mime_parser_construct_message (parser, NULL);
  g_object_unref (parser);
  g_object_unref (stream);
  if (message == NULL)
    {
      g_set_error_literal (error, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_INVALID,
                           _("The message has no readable header"));
      return NULL;
    }
  add_addresses (recipients, seen, g_mime_message_get_addresses (message, GMIME_ADDRESS_TYPE_TO));
  add_addresses (recipients, seen, g_mime_message_get_addresses (message, GMIME_ADDRESS_TYPE_CC));
  add_addresses (recipients, seen,
                 g_mime_message_get_addresses (message, GMIME_ADDRESS_TYPE_BCC));
  *subject_out = g_strdup (g_mime_message_get_subject (message)
                           ? g_mime_message_get_subject (message) : "");
  if (g_mime_object_get_header (GMIME_OBJECT (message), "Date") == NULL)
    {
      g_autofree char *date = rfc5322_date ();
      g_string_append_printf (out, "Date: %s\r\n", date);
    }
  if (g_mime_object_get_header (GMIME_OBJECT (message), "Message-ID") == NULL)
    {
      g_autofree char *uuid = g_uuid_string_random ();
      const char *at = strrchr (from, '@');
      g_string_append_printf (out, "Message-ID: <%s@%s>\r\n", uuid,
                              at && at[1] ? at + 1 : "postbote.invalid");
    }
  g_object_unref (message);

  for (guint i = 0; i < recipients->len; i++)
    if (!pb_smtp_address_is_valid (g_ptr_array_index (recipients, i), NULL))
      {
        g_autofree char *shown = g_strescape (g_ptr_array_index (recipients, i), NULL);
        g_set_error (error, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_INVALID,
                     _("The recipient address is not valid: “%s”"), shown);
        return NULL;
      }
  if (recipients->len == 0)
    {
      g_set_error_literal (error, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_INVALID,
                           _("The message has no recipients (To, Cc or Bcc)"));
      return NULL;
    }

  /* Copy the header without Bcc (and its continuation lines), then the body as it is. */
  body = end;
  for (p = data; p < end;)
    {
      const char *eol = memchr (p, '\n', end - p);
      const char *next = eol ? eol + 1 : end;

      if (next - p <= 2 && (*p == '\r' || *p == '\n'))
        {
          body = p;
          break;
        }
      if (*p != ' ' && *p != '\t')
        {
          skipping = g_ascii_strncasecmp (p, "Bcc:", 4) == 0;
          in_address = skipping || g_ascii_strncasecmp (p, "To:", 3) == 0
                       || g_ascii_strncasecmp (p, "Cc:", 3) == 0;
        }
      /* GMime skips what it cannot parse in an address field, so "a@b<NUL>c" would quietly
       * become "a@b": refuse control characters there instead of guessing. */
      for (const char *q = p; in_address && q < next; q++)
        if ((guchar) *q < 0x20 && *q != '\t' && *q != '\r' && *q != '\n')
          {
            g_set_error_literal (error, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_INVALID,
                                 _("An address header (To, Cc or Bcc) contains a control "
                                   "character"));
            return NULL;
          }
      if (!skipping)
        g_string_append_len (out, p, next - p);
      p = next;
    }
  g_string_append_len (out, body, end - body);

  g_ptr_array_add (recipients, NULL);
  *recipients_out = (char **) g_ptr_array_steal (recipients, NULL);
  return g_string_free_to_bytes (g_steal_pointer (&out));
}
