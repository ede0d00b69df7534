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

#include "pb-connection.h"
#include "pb-fault.h"
#include "pb-message-summary.h"
#include "pb-outbox.h"
#include "pb-smtp-client.h"
#include "pb-util-private.h"

#define STATE_GROUP "Entry"
#define MAX_MESSAGE_SIZE ((gsize) 256 * 1024 * 1024)

G_DEFINE_QUARK (pb-outbox-error-quark, pb_outbox_error)

/* ---- Entries --------------------------------------------------------------------------- */

struct _PbOutboxEntry
{
  gatomicrefcount  ref_count;
  char            *id;
  char            *account;
  PbOutboxState    state;
  char            *from;
  char           **recipients;
  char            *subject;
  gint64           queued_time;
  guint            attempts;
  gint64           next_attempt;
  char            *error;
  GQuark           error_domain;
  int              error_code;
  gboolean         no_sent_copy;
};

G_DEFINE_BOXED_TYPE (PbOutboxEntry, pb_outbox_entry, pb_outbox_entry_ref, pb_outbox_entry_unref)

static PbOutboxEntry *
entry_new (void)
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

static PbOutboxEntry *
entry_copy (const PbOutboxEntry *e)
{
  PbOutboxEntry *copy = entry_new ();

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

/* ---- Disk (runs on the outbox's single disk thread, so operations never overlap) -------- */

static gboolean
fsync_path (const char  *path,
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
static gboolean
write_state (const char           *entry_dir,
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
  return fsync_path (entry_dir, TRUE, error);
}

/* Records SENDING with an empty marker file rather than a rewrite of the state: one flush on
 * the path of every message instead of two. Any entry with the marker (and not yet SENT) was
 * possibly being sent. */
static gboolean
write_sending_marker (const char  *entry_dir,
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
  return fsync_path (entry_dir, TRUE, error);
}

static PbOutboxEntry *
read_state (const char  *entry_dir,
            const char  *id,
            GError     **error)
{
  g_autofree char *path = g_build_filename (entry_dir, "state", NULL);
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(PbOutboxEntry) e = entry_new ();
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
static void
delete_tree (const char *path)
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
static gboolean
remove_entry_dir (const char  *entry_dir,
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
  if (!fsync_path (parent, TRUE, error))
    return FALSE;
  delete_tree (done);
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
static GBytes *
prepare_message (GBytes       *raw,
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

/* ---- The outbox -------------------------------------------------------------------------- */

struct _PbOutbox
{
  GObject           parent_instance;

  char             *directory;
  PbAccountManager *accounts;
  PbStore          *store;
  GMainContext     *context;
  GThreadPool      *disk;      /* one thread: disk operations run in the order asked */
  GThreadPool      *queue;     /* one more for new entries, which touch no existing entry, so
                                * queueing a batch overlaps with sending its first messages */

  GPtrArray        *entries;   /* PbOutboxEntry, oldest first; changed on the main thread only */
  guint             delay;
  gboolean          running;
  gboolean          busy;      /* one entry is being sent or copied */
  gboolean          idle;
  GSource          *timer;
};

G_DEFINE_FINAL_TYPE (PbOutbox, pb_outbox, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DELAY,
  PROP_RUNNING,
  PROP_IDLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_ENTRY_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void process_next (PbOutbox *self);

typedef struct {
  GTask          *task;
  GTaskThreadFunc func;
} DiskJob;

static gboolean
unref_task_cb (gpointer user_data)
{
  g_object_unref (user_data);
  return G_SOURCE_REMOVE;
}

static void
disk_job_run (gpointer data,
              gpointer user_data)
{
  DiskJob *job = data;

  GSource *source;

  job->func (job->task, g_task_get_source_object (job->task), g_task_get_task_data (job->task),
             g_task_get_cancellable (job->task));
  /* The task may hold the last reference to the outbox; dropping it here would finalize the
   * outbox on its own disk thread. Drop it on the outbox's main context instead. */
  source = g_idle_source_new ();
  g_source_set_callback (source, unref_task_cb, job->task, NULL);
  g_source_attach (source, g_task_get_context (job->task));
  g_source_unref (source);
  g_free (job);
}

/* Like g_task_run_in_thread(), on the outbox's own disk thread. */
static void
run_on_disk (PbOutbox        *self,
             GTask           *task,
             GTaskThreadFunc  func)
{
  DiskJob *job = g_new0 (DiskJob, 1);

  job->task = g_object_ref (task);
  job->func = func;
  g_thread_pool_push (self->disk, job, NULL);
}

static char *
entry_dir (PbOutbox   *self,
           const char *id)
{
  return g_build_filename (self->directory, id, NULL);
}

static PbOutboxEntry *
find_entry (PbOutbox   *self,
            const char *id,
            guint      *index)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      PbOutboxEntry *e = g_ptr_array_index (self->entries, i);
      if (g_str_equal (e->id, id))
        {
          if (index != NULL)
            *index = i;
          return e;
        }
    }
  return NULL;
}

static void
update_idle (PbOutbox *self)
{
  gboolean idle = !self->busy;

  for (guint i = 0; idle && i < self->entries->len; i++)
    {
      PbOutboxEntry *e = g_ptr_array_index (self->entries, i);

      if (e->state == PB_OUTBOX_STATE_WAITING || e->state == PB_OUTBOX_STATE_SENDING
          || ((e->state == PB_OUTBOX_STATE_QUEUED || e->state == PB_OUTBOX_STATE_SENT)
              && e->error == NULL))
        idle = FALSE;
    }
  if (idle != self->idle)
    {
      self->idle = idle;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE]);
    }
}

static void
emit_changed (PbOutbox      *self,
              PbOutboxEntry *e)
{
  g_autoptr(PbOutboxEntry) snapshot = entry_copy (e);

  g_signal_emit (self, signals[SIGNAL_ENTRY_CHANGED], 0, snapshot);
  update_idle (self);
}

static void
set_error (PbOutboxEntry *e,
           const GError  *error)
{
  g_clear_pointer (&e->error, g_free);
  e->error_domain = 0;
  e->error_code = 0;
  if (error != NULL)
    {
      e->error = g_strdup (error->message);
      e->error_domain = error->domain;
      e->error_code = error->code;
    }
}

/* Seconds until the next try after @attempts failed ones: 30 s, 1, 2, 4 … minutes, at most
 * an hour. POSTBOTE_OUTBOX_BACKOFF (seconds) overrides the start, for the tests. */
static gint64
backoff (guint attempts)
{
  const char *env = g_getenv ("POSTBOTE_OUTBOX_BACKOFF");
  gint64 base = env ? g_ascii_strtoll (env, NULL, 10) : 30;

  return MIN (base << MIN (attempts > 0 ? attempts - 1 : 0, 10), 3600);
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* ---- Writing states (fire and forget; errors are logged, the next write retries) -------- */

typedef struct {
  char          *dir;
  PbOutboxEntry *entry;
  GBytes        *message;   /* read back for sending */
} DiskData;

static void
disk_data_free (DiskData *data)
{
  g_free (data->dir);
  g_clear_pointer (&data->entry, pb_outbox_entry_unref);
  g_clear_pointer (&data->message, g_bytes_unref);
  g_free (data);
}

static GTask *
disk_task_new (PbOutbox            *self,
               PbOutboxEntry       *e,
               gpointer             source_tag,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);
  DiskData *data = g_new0 (DiskData, 1);

  data->dir = entry_dir (self, e->id);
  data->entry = entry_copy (e);
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify) disk_data_free);
  return task;
}

static void
write_state_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  DiskData *data = task_data;
  GError *error = NULL;

  if (!write_state (data->dir, data->entry, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
write_state_done_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("Outbox: %s", error->message);
}

static void
save_state (PbOutbox      *self,
            PbOutboxEntry *e)
{
  g_autoptr(GTask) task = disk_task_new (self, e, save_state, write_state_done_cb, NULL);

  run_on_disk (self, task, write_state_thread);
}

static void
remove_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  DiskData *data = task_data;
  GError *error = NULL;

  if (!remove_entry_dir (data->dir, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* Marks @e done, drops it from the list and deletes its files. */
static void
finish_entry (PbOutbox      *self,
              PbOutboxEntry *e)
{
  g_autoptr(GTask) task = disk_task_new (self, e, finish_entry, write_state_done_cb, NULL);
  guint index;

  run_on_disk (self, task, remove_thread);
  e->state = PB_OUTBOX_STATE_DONE;
  if (find_entry (self, e->id, &index) != NULL)
    {
      pb_outbox_entry_ref (e);
      g_ptr_array_remove_index (self->entries, index);
      emit_changed (self, e);
      pb_outbox_entry_unref (e);
    }
}

/* ---- Sending ----------------------------------------------------------------------------- */

/* Errors that waiting may fix: the server's 4xx and a network that is away. */
static gboolean
is_temporary (const GError *error)
{
  if (error->domain == PB_SMTP_ERROR)
    return error->code == PB_SMTP_ERROR_TEMPORARY;
  if (error->domain == PB_CONNECTION_ERROR)
    return error->code != PB_CONNECTION_ERROR_CERTIFICATE
           && error->code != PB_CONNECTION_ERROR_STARTTLS_INJECTION
           && error->code != PB_CONNECTION_ERROR_TLS;
  if (error->domain == G_RESOLVER_ERROR)
    return TRUE;
  if (error->domain == G_IO_ERROR)
    return error->code != G_IO_ERROR_NOT_SUPPORTED && error->code != G_IO_ERROR_INVALID_DATA
           && error->code != G_IO_ERROR_PERMISSION_DENIED;
  return FALSE;
}

static void copy_to_sent (PbOutbox *self, PbOutboxEntry *e);

static void
release (PbOutbox *self)
{
  self->busy = FALSE;
  update_idle (self);
  process_next (self);
}

typedef struct {
  PbOutbox      *self;
  PbOutboxEntry *entry;
} Op;

static Op *
op_new (PbOutbox      *self,
        PbOutboxEntry *e)
{
  Op *op = g_new0 (Op, 1);

  op->self = g_object_ref (self);
  op->entry = pb_outbox_entry_ref (e);
  return op;
}

static void
op_free (Op *op)
{
  g_object_unref (op->self);
  pb_outbox_entry_unref (op->entry);
  g_free (op);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Op, op_free)

static void
sent_recorded_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(Op) op = user_data;
  g_autoptr(GError) error = NULL;

  /* If this failed the entry stays SENDING on disk, which a restart turns into UNCERTAIN:
   * still never a silent resend. */
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("Outbox: %s", error->message);
  pb_fault_point ("smtp-sent-recorded");
  emit_changed (op->self, op->entry);
  copy_to_sent (op->self, op->entry);
}

static void
send_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(Op) op = user_data;
  PbOutbox *self = op->self;
  PbOutboxEntry *e = op->entry;
  g_autoptr(GError) error = NULL;

  if (pb_transport_send_finish (PB_TRANSPORT (source), result, &error))
    {
      g_autoptr(GTask) task = NULL;

      if (e->no_sent_copy || self->store == NULL)
        {
          /* Nothing left to do: removing the entry (one durable rename) is the record. */
          pb_fault_point ("smtp-sent-recorded");
          e->state = PB_OUTBOX_STATE_SENT;
          set_error (e, NULL);
          emit_changed (self, e);
          finish_entry (self, e);
          release (self);
          return;
        }
      /* Recorded before anything else happens, so the message is never sent again. */
      e->state = PB_OUTBOX_STATE_SENT;
      e->next_attempt = 0;
      set_error (e, NULL);
      task = disk_task_new (self, e, send_done_cb, sent_recorded_cb, g_steal_pointer (&op));
      run_on_disk (self, task, write_state_thread);
      return;
    }

  set_error (e, error);
  if (g_error_matches (error, PB_SMTP_ERROR, PB_SMTP_ERROR_OUTCOME_UNKNOWN))
    e->state = PB_OUTBOX_STATE_UNCERTAIN;
  else if (is_temporary (error))
    {
      e->state = PB_OUTBOX_STATE_QUEUED;
      e->next_attempt = now_seconds () + backoff (e->attempts);
    }
  else
    e->state = PB_OUTBOX_STATE_FAILED;
  save_state (self, e);
  emit_changed (self, e);
  release (self);
}

static void
start_send_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(Op) op = user_data;
  PbOutbox *self = op->self;
  PbOutboxEntry *e = op->entry;
  g_autoptr(GError) error = NULL;
  GBytes *message;
  PbAccount *account;
  PbTransport *transport = NULL;

  message = g_task_propagate_pointer (G_TASK (result), &error);
  if (message == NULL)
    {
      /* Not even the state could be written or the message read: nothing was sent. */
      e->state = PB_OUTBOX_STATE_FAILED;
      set_error (e, error);
      save_state (self, e);
      emit_changed (self, e);
      release (self);
      return;
    }

  account = pb_account_manager_lookup (self->accounts, e->account);
  if (account != NULL)
    transport = pb_account_get_transport (account);
  if (transport == NULL)
    {
      g_autoptr(GError) no_account = NULL;

      g_set_error (&no_account, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_INVALID,
                   account == NULL ? _("The account “%s” does not exist (any more)")
                                   : _("The account “%s” has no outgoing server"), e->account);
      e->state = PB_OUTBOX_STATE_FAILED;
      set_error (e, no_account);
      save_state (self, e);
      emit_changed (self, e);
      g_bytes_unref (message);
      release (self);
      return;
    }
  pb_transport_send_async (transport, e->from, (const char * const *) e->recipients, message,
                           NULL, send_done_cb, g_steal_pointer (&op));
  g_bytes_unref (message);
}

/* Records SENDING durably (the marker), then reads the message back. */
static void
start_send_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  DiskData *data = task_data;
  g_autofree char *path = g_build_filename (data->dir, "message.eml", NULL);
  GError *error = NULL;
  char *contents;
  gsize length;

  if (!write_sending_marker (data->dir, &error)
      || !g_file_get_contents (path, &contents, &length, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_bytes_new_take (contents, length),
                         (GDestroyNotify) g_bytes_unref);
}

static void
start_send (PbOutbox      *self,
            PbOutboxEntry *e)
{
  g_autoptr(GTask) task = NULL;

  e->state = PB_OUTBOX_STATE_SENDING;
  e->attempts++;
  e->next_attempt = 0;
  set_error (e, NULL);
  task = disk_task_new (self, e, start_send, start_send_cb, op_new (self, e));
  run_on_disk (self, task, start_send_thread);
  emit_changed (self, e);
}

/* ---- The copy in Sent -------------------------------------------------------------------- */

static void
append_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(Op) op = user_data;
  PbOutbox *self = op->self;
  PbOutboxEntry *e = op->entry;
  g_autoptr(GError) error = NULL;

  if (pb_remote_store_append_finish (PB_REMOTE_STORE (source), result, NULL, &error)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
    {
      finish_entry (self, e);
      release (self);
      return;
    }
  /* The message went out; only the copy is missing. Try again later, never resend. */
  e->attempts++;
  e->next_attempt = now_seconds () + backoff (e->attempts);
  set_error (e, error);
  save_state (self, e);
  emit_changed (self, e);
  release (self);
}

static void
read_message_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  DiskData *data = task_data;
  g_autofree char *path = g_build_filename (data->dir, "message.eml", NULL);
  GError *error = NULL;
  char *contents;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, &error))
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_bytes_new_take (contents, length),
                           (GDestroyNotify) g_bytes_unref);
}

static void
copy_read_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(Op) op = user_data;
  PbOutbox *self = op->self;
  PbOutboxEntry *e = op->entry;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = g_task_propagate_pointer (G_TASK (result), &error);
  PbAccount *account = pb_account_manager_lookup (self->accounts, e->account);
  PbRemoteStore *remote = account ? pb_account_get_remote_store (account) : NULL;

  if (message == NULL || remote == NULL)
    {
      /* Without the file or the account there is nothing to copy; the message was sent. */
      if (error != NULL)
        g_warning ("Outbox: no Sent copy of %s: %s", e->id, error->message);
      finish_entry (self, e);
      release (self);
      return;
    }
  pb_fault_point ("sent-before-append");
  pb_remote_store_append_async (remote, self->store, PB_FOLDER_ROLE_SENT, message,
                                PB_MESSAGE_FLAG_SEEN, NULL, append_done_cb,
                                g_steal_pointer (&op));
}

static void
copy_to_sent (PbOutbox      *self,
              PbOutboxEntry *e)
{
  g_autoptr(GTask) task = NULL;

  if (self->store == NULL || e->no_sent_copy)
    {
      finish_entry (self, e);
      release (self);
      return;
    }
  task = disk_task_new (self, e, copy_to_sent, copy_read_cb, op_new (self, e));
  run_on_disk (self, task, read_message_thread);
}

/* ---- Scheduling -------------------------------------------------------------------------- */

static gboolean
timer_cb (gpointer user_data)
{
  PbOutbox *self = user_data;

  g_clear_pointer (&self->timer, g_source_unref);
  process_next (self);
  return G_SOURCE_REMOVE;
}

static void
process_next (PbOutbox *self)
{
  gint64 now = now_seconds (), earliest = G_MAXINT64;

  if (!self->running || self->busy)
    return;
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  for (guint i = 0; i < self->entries->len; i++)
    {
      PbOutboxEntry *e = g_ptr_array_index (self->entries, i);

      if (e->state != PB_OUTBOX_STATE_WAITING && e->state != PB_OUTBOX_STATE_QUEUED
          && e->state != PB_OUTBOX_STATE_SENT)
        continue;
      if (e->next_attempt > now)
        {
          earliest = MIN (earliest, e->next_attempt);
          continue;
        }
      self->busy = TRUE;
      update_idle (self);
      if (e->state == PB_OUTBOX_STATE_SENT)
        copy_to_sent (self, e);
      else
        start_send (self, e);
      return;
    }
  if (earliest != G_MAXINT64)
    {
      self->timer = g_timeout_source_new_seconds (MAX (earliest - now, 1));
      g_source_set_callback (self->timer, timer_cb, self, NULL);
      g_source_attach (self->timer, self->context);
    }
  update_idle (self);
}

/* ---- Queueing ---------------------------------------------------------------------------- */

typedef struct {
  char          *directory;
  char          *account;
  char          *from;
  GBytes        *raw;
  guint          delay;
  PbOutboxQueueFlags flags;
} QueueData;

static void
queue_data_free (QueueData *data)
{
  g_free (data->directory);
  g_free (data->account);
  g_free (data->from);
  g_bytes_unref (data->raw);
  g_free (data);
}

static gboolean
write_file_durably (const char  *path,
                    GBytes      *bytes,
                    GError     **error)
{
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);

  return g_file_set_contents_full (path, data, length, G_FILE_SET_CONTENTS_DURABLE, 0600,
                                   error);
}

static void
queue_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  QueueData *data = task_data;
  g_autoptr(PbOutboxEntry) e = entry_new ();
  g_autoptr(GBytes) message = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *final = NULL;
  g_autofree char *eml = NULL;
  GError *error = NULL;

  message = prepare_message (data->raw, data->from, &e->recipients, &e->subject, &error);
  if (message == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Time first, so the names sort in queue order. */
  e->id = g_strdup_printf ("%016" G_GINT64_MODIFIER "x-%08x", g_get_real_time (),
                           g_random_int ());
  e->account = g_strdup (data->account);
  e->from = g_strdup (data->from);
  e->queued_time = now_seconds ();
  e->no_sent_copy = (data->flags & PB_OUTBOX_QUEUE_NO_SENT_COPY) != 0;
  e->state = data->delay > 0 ? PB_OUTBOX_STATE_WAITING : PB_OUTBOX_STATE_QUEUED;
  e->next_attempt = data->delay > 0 ? e->queued_time + data->delay : 0;

  /* Built under a temporary name and renamed: an entry either exists whole or not at all. */
  tmp = g_strdup_printf ("%s/.tmp-%s", data->directory, e->id);
  final = g_build_filename (data->directory, e->id, NULL);
  eml = g_build_filename (tmp, "message.eml", NULL);
  if (g_mkdir_with_parents (data->directory, 0700) != 0 || g_mkdir (tmp, 0700) != 0)
    {
      int saved = errno;
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                               _("Could not create the outbox entry %s: %s"), tmp,
                               g_strerror (saved));
      return;
    }
  if (!write_file_durably (eml, message, &error) || !write_state (tmp, e, &error))
    {
      delete_tree (tmp);
      g_task_return_error (task, error);
      return;
    }
  if (g_rename (tmp, final) != 0)
    {
      int saved = errno;
      delete_tree (tmp);
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                               _("Could not create the outbox entry %s: %s"), final,
                               g_strerror (saved));
      return;
    }
  if (!fsync_path (data->directory, TRUE, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  pb_fault_point ("outbox-queued");
  g_task_return_pointer (task, g_steal_pointer (&e), (GDestroyNotify) pb_outbox_entry_unref);
}

void
pb_outbox_queue_async (PbOutbox            *self,
                       const char          *account_name,
                       GBytes              *message,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  pb_outbox_queue_full_async (self, account_name, message, PB_OUTBOX_QUEUE_NONE, cancellable,
                              callback, user_data);
}

void
pb_outbox_queue_full_async (PbOutbox            *self,
                            const char          *account_name,
                            GBytes              *message,
                            PbOutboxQueueFlags   flags,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PbAccount *account;
  QueueData *data;

  g_return_if_fail (PB_IS_OUTBOX (self));
  g_return_if_fail (account_name != NULL && message != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pb_outbox_queue_async);
  account = pb_account_manager_lookup (self->accounts, account_name);
  if (account == NULL || pb_account_get_transport (account) == NULL)
    {
      g_task_return_new_error (task, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_INVALID,
                               account == NULL ? _("There is no account named “%s”")
                                               : _("The account “%s” has no outgoing server"),
                               account_name);
      return;
    }
  data = g_new0 (QueueData, 1);
  data->directory = g_strdup (self->directory);
  data->account = g_strdup (account_name);
  data->from = g_strdup (pb_account_get_email (account));
  data->raw = g_bytes_ref (message);
  data->delay = self->delay;
  data->flags = flags;
  g_task_set_task_data (task, data, (GDestroyNotify) queue_data_free);
  {
    DiskJob *job = g_new0 (DiskJob, 1);

    job->task = g_object_ref (task);
    job->func = queue_thread;
    g_thread_pool_push (self->queue, job, NULL);
  }
}

char *
pb_outbox_queue_finish (PbOutbox      *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_autoptr(PbOutboxEntry) e = NULL;
  char *id;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  e = g_task_propagate_pointer (G_TASK (result), error);
  if (e == NULL)
    return NULL;
  id = g_strdup (e->id);
  /* Added here, on the main thread, so list() and the signal agree. Finish is called once. */
  if (find_entry (self, id, NULL) == NULL)
    {
      g_ptr_array_add (self->entries, pb_outbox_entry_ref (e));
      emit_changed (self, e);
      process_next (self);
    }
  return id;
}

/* ---- Loading ----------------------------------------------------------------------------- */

static int
compare_entries (gconstpointer a,
                 gconstpointer b)
{
  const PbOutboxEntry *x = *(PbOutboxEntry **) a, *y = *(PbOutboxEntry **) b;
  return strcmp (x->id, y->id);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  const char *directory = task_data;
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (
    (GDestroyNotify) pb_outbox_entry_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (g_mkdir_with_parents (directory, 0700) != 0)
    {
      int saved = errno;
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                               _("Could not create the outbox %s: %s"), directory,
                               g_strerror (saved));
      return;
    }
  dir = g_dir_open (directory, 0, &error);
  if (dir == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (directory, name, NULL);
      g_autofree char *state = g_build_filename (path, "state", NULL);
      g_autofree char *eml = g_build_filename (path, "message.eml", NULL);
      g_autoptr(GError) local_error = NULL;
      PbOutboxEntry *e;

      if (!g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      /* An entry that was never finished (the queue call did not return) or never fully
       * removed (it was sent and copied): nothing in it is owed to anyone. */
      if (g_str_has_prefix (name, ".tmp-") || g_str_has_prefix (name, ".done-")
          || (!g_file_test (state, G_FILE_TEST_EXISTS) && name[0] != '.'))
        {
          delete_tree (path);
          continue;
        }
      if (name[0] == '.' || !g_file_test (eml, G_FILE_TEST_EXISTS))
        continue;
      e = read_state (path, name, &local_error);
      if (e == NULL)
        {
          /* Left on disk for the user; never sent blindly. */
          g_warning ("Outbox: %s", local_error->message);
          continue;
        }
      {
        g_autofree char *marker = g_build_filename (path, "sending", NULL);
        if (e->state != PB_OUTBOX_STATE_SENT && g_file_test (marker, G_FILE_TEST_EXISTS))
          e->state = PB_OUTBOX_STATE_SENDING;
      }
      if (e->state == PB_OUTBOX_STATE_SENDING)
        {
          g_autoptr(GError) uncertain = g_error_new_literal (
            PB_SMTP_ERROR, PB_SMTP_ERROR_OUTCOME_UNKNOWN,
            _("The program stopped while this message was being sent; it may have been sent"));

          e->state = PB_OUTBOX_STATE_UNCERTAIN;
          set_error (e, uncertain);
          if (!write_state (path, e, &local_error))
            g_warning ("Outbox: %s", local_error->message);
        }
      g_ptr_array_add (entries, e);
    }
  g_ptr_array_sort (entries, compare_entries);
  g_task_return_pointer (task, g_steal_pointer (&entries), (GDestroyNotify) g_ptr_array_unref);
}

void
pb_outbox_load_async (PbOutbox            *self,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PB_IS_OUTBOX (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pb_outbox_load_async);
  g_task_set_task_data (task, g_strdup (self->directory), g_free);
  run_on_disk (self, task, load_thread);
}

gboolean
pb_outbox_load_finish (PbOutbox      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_autoptr(GPtrArray) entries = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  entries = g_task_propagate_pointer (G_TASK (result), error);
  if (entries == NULL)
    return FALSE;
  for (guint i = 0; i < entries->len; i++)
    {
      PbOutboxEntry *e = g_ptr_array_index (entries, i);

      if (find_entry (self, e->id, NULL) != NULL)
        continue;
      g_ptr_array_add (self->entries, pb_outbox_entry_ref (e));
      emit_changed (self, e);
    }
  g_ptr_array_sort (self->entries, compare_entries);
  process_next (self);
  return TRUE;
}

/* ---- Public API -------------------------------------------------------------------------- */

gboolean
pb_outbox_cancel (PbOutbox    *self,
                  const char  *id,
                  GError     **error)
{
  PbOutboxEntry *e;

  g_return_val_if_fail (PB_IS_OUTBOX (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  e = find_entry (self, id, NULL);
  if (e == NULL)
    {
      g_set_error (error, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_NOT_FOUND,
                   _("There is no message %s in the outbox"), id);
      return FALSE;
    }
  if (e->state == PB_OUTBOX_STATE_SENDING || e->state == PB_OUTBOX_STATE_SENT)
    {
      g_set_error_literal (error, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_BUSY,
                           e->state == PB_OUTBOX_STATE_SENT
                           ? _("The message was sent already")
                           : _("The message is being sent and can no longer be stopped"));
      return FALSE;
    }
  /* The files go on the disk thread, after any state write queued before. */
  finish_entry (self, e);
  process_next (self);
  return TRUE;
}

gboolean
pb_outbox_retry (PbOutbox    *self,
                 const char  *id,
                 GError     **error)
{
  PbOutboxEntry *e;

  g_return_val_if_fail (PB_IS_OUTBOX (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  e = find_entry (self, id, NULL);
  if (e == NULL)
    {
      g_set_error (error, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_NOT_FOUND,
                   _("There is no message %s in the outbox"), id);
      return FALSE;
    }
  if (e->state == PB_OUTBOX_STATE_SENDING)
    {
      g_set_error_literal (error, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_BUSY,
                           _("The message is being sent"));
      return FALSE;
    }
  /* SENT stays SENT: only the copy to Sent is tried again, never the sending. */
  if (e->state != PB_OUTBOX_STATE_SENT)
    e->state = PB_OUTBOX_STATE_QUEUED;
  e->next_attempt = 0;
  set_error (e, NULL);
  save_state (self, e);
  emit_changed (self, e);
  process_next (self);
  return TRUE;
}

GPtrArray *
pb_outbox_list (PbOutbox *self)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_outbox_entry_unref);

  g_return_val_if_fail (PB_IS_OUTBOX (self), list);
  for (guint i = 0; i < self->entries->len; i++)
    g_ptr_array_add (list, entry_copy (g_ptr_array_index (self->entries, i)));
  return list;
}

PbOutboxEntry *
pb_outbox_lookup (PbOutbox   *self,
                  const char *id)
{
  PbOutboxEntry *e;

  g_return_val_if_fail (PB_IS_OUTBOX (self), NULL);
  e = find_entry (self, id, NULL);
  return e ? entry_copy (e) : NULL;
}

gboolean
pb_outbox_is_idle (PbOutbox *self)
{
  g_return_val_if_fail (PB_IS_OUTBOX (self), TRUE);
  return self->idle;
}

const char *
pb_outbox_get_directory (PbOutbox *self)
{
  g_return_val_if_fail (PB_IS_OUTBOX (self), NULL);
  return self->directory;
}

guint
pb_outbox_get_delay (PbOutbox *self)
{
  g_return_val_if_fail (PB_IS_OUTBOX (self), 0);
  return self->delay;
}

void
pb_outbox_set_delay (PbOutbox *self,
                     guint     seconds)
{
  g_return_if_fail (PB_IS_OUTBOX (self));
  if (self->delay == seconds)
    return;
  self->delay = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DELAY]);
}

void
pb_outbox_start (PbOutbox *self)
{
  g_return_if_fail (PB_IS_OUTBOX (self));
  if (self->running)
    return;
  self->running = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  process_next (self);
}

void
pb_outbox_stop (PbOutbox *self)
{
  g_return_if_fail (PB_IS_OUTBOX (self));
  if (!self->running)
    return;
  self->running = FALSE;
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
pb_outbox_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  PbOutbox *self = PB_OUTBOX (object);

  switch (prop_id)
    {
    case PROP_DELAY:
      g_value_set_uint (value, self->delay);
      break;
    case PROP_RUNNING:
      g_value_set_boolean (value, self->running);
      break;
    case PROP_IDLE:
      g_value_set_boolean (value, self->idle);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_outbox_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  PbOutbox *self = PB_OUTBOX (object);

  switch (prop_id)
    {
    case PROP_DELAY:
      pb_outbox_set_delay (self, g_value_get_uint (value));
      break;
    case PROP_RUNNING:
      if (g_value_get_boolean (value))
        pb_outbox_start (self);
      else
        pb_outbox_stop (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_outbox_dispose (GObject *object)
{
  PbOutbox *self = PB_OUTBOX (object);

  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  g_clear_object (&self->accounts);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (pb_outbox_parent_class)->dispose (object);
}

static void
pb_outbox_finalize (GObject *object)
{
  PbOutbox *self = PB_OUTBOX (object);

  /* Every disk job holds a reference until it is done, so none is pending here. */
  g_thread_pool_free (self->disk, FALSE, TRUE);
  g_thread_pool_free (self->queue, FALSE, TRUE);
  g_ptr_array_unref (self->entries);
  g_main_context_unref (self->context);
  g_free (self->directory);

  G_OBJECT_CLASS (pb_outbox_parent_class)->finalize (object);
}

static void
pb_outbox_class_init (PbOutboxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pb_outbox_dispose;
  object_class->finalize = pb_outbox_finalize;
  object_class->get_property = pb_outbox_get_property;
  object_class->set_property = pb_outbox_set_property;

  properties[PROP_DELAY] =
    g_param_spec_uint ("delay", NULL, NULL, 0, 3600, 5,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IDLE] =
    g_param_spec_boolean ("idle", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_ENTRY_CHANGED] =
    g_signal_new ("entry-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, PB_TYPE_OUTBOX_ENTRY | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
pb_outbox_init (PbOutbox *self)
{
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_outbox_entry_unref);
  self->delay = 5;
  self->idle = TRUE;
  self->context = g_main_context_ref_thread_default ();
  self->disk = g_thread_pool_new (disk_job_run, NULL, 1, FALSE, NULL);
  self->queue = g_thread_pool_new (disk_job_run, NULL, 1, FALSE, NULL);
}

PbOutbox *
pb_outbox_new (const char       *directory,
               PbAccountManager *accounts,
               PbStore          *store)
{
  PbOutbox *self;

  g_return_val_if_fail (PB_IS_ACCOUNT_MANAGER (accounts), NULL);
  g_return_val_if_fail (store == NULL || PB_IS_STORE (store), NULL);

  self = g_object_new (PB_TYPE_OUTBOX, NULL);
  if (directory != NULL)
    self->directory = g_strdup (directory);
  else
    {
      g_autofree char *data_dir = pb_default_data_dir ();
      self->directory = g_build_filename (data_dir, "outbox", NULL);
    }
  self->accounts = g_object_ref (accounts);
  self->store = store ? g_object_ref (store) : NULL;
  return self;
}
