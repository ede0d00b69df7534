/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-outbox"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pb-connection.h"
#include "pb-fault.h"
#include "pb-message-summary.h"
#include "pb-outbox.h"
#include "pb-outbox-private.h"
#include "pb-smtp-client.h"
#include "pb-util-private.h"


G_DEFINE_QUARK (pb-outbox-error-quark, pb_outbox_error)

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
  /* flock() on .lock: only the process holding it sends, so the app and postbote-cli never
   * send the same entry. */
  int               lock_fd;
  gboolean          locked;
  gboolean          reloading;
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
static void start_reload (PbOutbox *self);

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
  g_autoptr(PbOutboxEntry) snapshot = pb_outbox_entry_copy (e);

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
  data->entry = pb_outbox_entry_copy (e);
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

  if (!pb_outbox_write_state (data->dir, data->entry, &error))
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

  if (!pb_outbox_remove_entry_dir (data->dir, &error))
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

  if (!pb_outbox_write_sending_marker (data->dir, &error)
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

  if (!self->running || self->busy || self->reloading)
    return;
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  if (!self->locked)
    {
      /* Another process sends from this outbox. Once it lets go, read the disk again (it
       * changed there) before sending anything; until then look every few seconds. */
      if (self->lock_fd >= 0 && flock (self->lock_fd, LOCK_EX | LOCK_NB) == 0)
        {
          self->locked = TRUE;
          start_reload (self);
          return;
        }
      self->timer = g_timeout_source_new_seconds (3);
      g_source_set_callback (self->timer, timer_cb, self, NULL);
      g_source_attach (self->timer, self->context);
      return;
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
  g_autoptr(PbOutboxEntry) e = pb_outbox_entry_new ();
  g_autoptr(GBytes) message = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *final = NULL;
  g_autofree char *eml = NULL;
  GError *error = NULL;

  message = pb_outbox_prepare_message (data->raw, data->from, &e->recipients, &e->subject, &error);
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
  if (!write_file_durably (eml, message, &error) || !pb_outbox_write_state (tmp, e, &error))
    {
      pb_outbox_delete_tree (tmp);
      g_task_return_error (task, error);
      return;
    }
  if (g_rename (tmp, final) != 0)
    {
      int saved = errno;
      pb_outbox_delete_tree (tmp);
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                               _("Could not create the outbox entry %s: %s"), final,
                               g_strerror (saved));
      return;
    }
  if (!pb_outbox_fsync_path (data->directory, TRUE, &error))
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

typedef struct {
  char     *directory;
  int       lock_fd;
  gboolean  locked;
} LoadData;

static void
load_data_free (LoadData *data)
{
  if (data->lock_fd >= 0)
    close (data->lock_fd);
  g_free (data->directory);
  g_free (data);
}

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
  LoadData *data = task_data;
  const char *directory = data->directory;
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
  if (data->lock_fd < 0 && !data->locked)
    {
      g_autofree char *lock = g_build_filename (directory, ".lock", NULL);
      data->lock_fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    }
  if (data->lock_fd >= 0 && !data->locked)
    data->locked = flock (data->lock_fd, LOCK_EX | LOCK_NB) == 0;
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
          GStatBuf st;

          /* Another process may be writing a new entry right now (queueing needs no lock):
           * only leftovers older than an hour are removed. */
          if (data->locked && g_stat (path, &st) == 0
              && st.st_mtime < g_get_real_time () / G_USEC_PER_SEC - 3600)
            pb_outbox_delete_tree (path);
          continue;
        }
      if (name[0] == '.' || !g_file_test (eml, G_FILE_TEST_EXISTS))
        continue;
      e = pb_outbox_read_state (path, name, &local_error);
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
      /* Without the lock, SENDING may be another process at work: shown, never touched. */
      if (e->state == PB_OUTBOX_STATE_SENDING && data->locked)
        {
          g_autoptr(GError) uncertain = g_error_new_literal (
            PB_SMTP_ERROR, PB_SMTP_ERROR_OUTCOME_UNKNOWN,
            _("The program stopped while this message was being sent; it may have been sent"));

          e->state = PB_OUTBOX_STATE_UNCERTAIN;
          set_error (e, uncertain);
          if (!pb_outbox_write_state (path, e, &local_error))
            g_warning ("Outbox: %s", local_error->message);
        }
      g_ptr_array_add (entries, e);
    }
  g_ptr_array_sort (entries, compare_entries);
  g_task_return_pointer (task, g_steal_pointer (&entries), (GDestroyNotify) g_ptr_array_unref);
}

static void
apply_load (PbOutbox  *self,
            LoadData  *data,
            GPtrArray *entries)
{
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (
    (GDestroyNotify) pb_outbox_entry_unref);

  if (self->lock_fd < 0)
    self->lock_fd = data->lock_fd;
  else if (data->lock_fd != self->lock_fd && data->lock_fd >= 0)
    close (data->lock_fd);
  data->lock_fd = -1;
  self->locked = self->locked || data->locked;

  /* A reload after another process let go of the outbox: what it finished is gone from the
   * disk, what it changed has a new state there. */
  for (guint i = 0; i < self->entries->len; i++)
    {
      PbOutboxEntry *e = g_ptr_array_index (self->entries, i);
      gboolean found = FALSE;

      for (guint j = 0; j < entries->len && !found; j++)
        found = g_str_equal (e->id, ((PbOutboxEntry *) g_ptr_array_index (entries, j))->id);
      if (!found)
        g_ptr_array_add (gone, pb_outbox_entry_ref (e));
    }
  for (guint i = 0; i < gone->len; i++)
    {
      PbOutboxEntry *e = g_ptr_array_index (gone, i);
      guint index;

      if (find_entry (self, e->id, &index) != NULL)
        g_ptr_array_remove_index (self->entries, index);
      e->state = PB_OUTBOX_STATE_DONE;
      emit_changed (self, e);
    }
  for (guint i = 0; i < entries->len; i++)
    {
      PbOutboxEntry *e = g_ptr_array_index (entries, i);
      guint index;

      if (find_entry (self, e->id, &index) != NULL)
        g_ptr_array_remove_index (self->entries, index);
      g_ptr_array_add (self->entries, pb_outbox_entry_ref (e));
      emit_changed (self, e);
    }
  g_ptr_array_sort (self->entries, compare_entries);
}

static void
reload_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  PbOutbox *self = PB_OUTBOX (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = g_task_propagate_pointer (G_TASK (result), &error);

  self->reloading = FALSE;
  if (entries == NULL)
    g_warning ("Outbox: %s", error->message);
  else
    apply_load (self, g_task_get_task_data (G_TASK (result)), entries);
  process_next (self);
}

static LoadData *
load_data_new (PbOutbox *self)
{
  LoadData *data = g_new0 (LoadData, 1);

  data->directory = g_strdup (self->directory);
  data->lock_fd = -1;
  return data;
}

/* Reads the disk again now that this process holds the lock (self->lock_fd). */
static void
start_reload (PbOutbox *self)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, reload_done_cb, NULL);
  LoadData *data = load_data_new (self);

  data->locked = TRUE;
  self->reloading = TRUE;
  g_task_set_source_tag (task, start_reload);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  run_on_disk (self, task, load_thread);
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
  g_task_set_task_data (task, load_data_new (self), (GDestroyNotify) load_data_free);
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
  apply_load (self, g_task_get_task_data (G_TASK (result)), entries);
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
    g_ptr_array_add (list, pb_outbox_entry_copy (g_ptr_array_index (self->entries, i)));
  return list;
}

PbOutboxEntry *
pb_outbox_lookup (PbOutbox   *self,
                  const char *id)
{
  PbOutboxEntry *e;

  g_return_val_if_fail (PB_IS_OUTBOX (self), NULL);
  e = find_entry (self, id, NULL);
  return e ? pb_outbox_entry_copy (e) : NULL;
}

gboolean
pb_outbox_has_lock (PbOutbox *self)
{
  g_return_val_if_fail (PB_IS_OUTBOX (self), FALSE);
  return self->locked;
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
  if (self->lock_fd >= 0)
    close (self->lock_fd);
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
  self->lock_fd = -1;
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
