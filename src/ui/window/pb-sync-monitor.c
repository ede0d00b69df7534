/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-sync-monitor"

#include "config.h"

#include <glib/gi18n.h>

#include "pb-connection.h"
#include "pb-imap-error.h"
#include "pb-sync-monitor.h"

/*
 * One Runner per account. Its life: sync (reports errors, so the UI can say "offline" or
 * "password rejected"), then watch (IDLE), which only returns for errors waiting cannot fix.
 * sync_soon() restarts the cycle shortly after the user changed something: the watch replays
 * the journal only when the server wakes it, and the user expects a change to reach the server
 * now. All of this runs on the main thread; the progress callbacks come from the sync's worker
 * thread and are passed over with g_main_context_invoke().
 */

#define SYNC_SOON_DELAY_MS 300
#define OFFLINE_RETRY_SECONDS 30
/* Only a sync with this many new messages shows a progress bar; small ones would flicker. */
#define LONG_SYNC_MESSAGES 50

typedef struct {
  PbSyncMonitor *monitor;     /* no reference; the monitor stops its runners before it goes */
  PbAccount     *account;
  GCancellable  *cancellable;
  PbSyncState    state;
  GError        *error;
  guint          done;
  guint          total;
  guint          soon_id;
  guint          retry_id;
  gboolean       watching;
  /* The first sync is done: what arrives from now on is new mail. */
  gboolean       synced_once;
} Runner;

struct _PbSyncMonitor
{
  GObject           parent_instance;

  PbAccountManager *accounts;
  PbStore          *store;
  GHashTable       *runners;   /* account name -> Runner */
  /* Messages that arrived before or in this second are never new mail (an account's first
   * sync, or a resync after an offline spell, brings old mail too; a message moved back into
   * the inbox by Undo keeps its arrival time). */
  gint64            started;
  GHashTable       *notified;  /* store row ids already reported as new mail */
};

G_DEFINE_FINAL_TYPE (PbSyncMonitor, pb_sync_monitor, G_TYPE_OBJECT)

enum {
  SIGNAL_STATE_CHANGED,
  SIGNAL_PROGRESS_CHANGED,
  SIGNAL_NEW_MAIL,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void runner_start (Runner *runner);

gboolean
pb_sync_monitor_is_auth_error (const GError *error)
{
  return error != NULL
         && (g_error_matches (error, PB_IMAP_ERROR, PB_IMAP_ERROR_AUTHENTICATION_FAILED)
             || error->domain == PB_CREDENTIALS_ERROR);
}

/* Errors that go away by themselves when the network comes back. */
static gboolean
is_offline_error (const GError *error)
{
  if (error->domain == G_IO_ERROR || error->domain == G_RESOLVER_ERROR)
    return TRUE;
  return error->domain == PB_CONNECTION_ERROR
         && error->code != PB_CONNECTION_ERROR_CERTIFICATE
         && error->code != PB_CONNECTION_ERROR_STARTTLS_INJECTION;
}

static void
runner_set_state (Runner       *runner,
                  PbSyncState   state,
                  const GError *error)
{
  PbSyncMonitor *self = runner->monitor;

  if (runner->state == state && error == NULL && runner->error == NULL)
    return;
  runner->state = state;
  g_clear_error (&runner->error);
  if (error != NULL)
    runner->error = g_error_copy (error);
  if (state != PB_SYNC_STATE_SYNCING)
    runner->done = runner->total = 0;
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0,
                 pb_account_get_name (runner->account));
  g_signal_emit (self, signals[SIGNAL_PROGRESS_CHANGED], 0);
}

static void
runner_free (Runner *runner)
{
  g_cancellable_cancel (runner->cancellable);
  g_clear_object (&runner->cancellable);
  g_clear_handle_id (&runner->soon_id, g_source_remove);
  g_clear_handle_id (&runner->retry_id, g_source_remove);
  g_clear_object (&runner->account);
  g_clear_error (&runner->error);
  g_free (runner);
}

/* Progress, from the worker thread to the main thread */

typedef struct {
  PbSyncMonitor *monitor;
  char          *account;
  char          *folder;
  guint          done;
  guint          total;
} Progress;

static void
progress_free (Progress *progress)
{
  g_clear_object (&progress->monitor);
  g_free (progress->account);
  g_free (progress->folder);
  g_free (progress);
}

typedef struct {
  GWeakRef  monitor;
  char     *account;
  guint     limit;
} NewMailQuery;

static void
new_mail_query_free (NewMailQuery *query)
{
  g_weak_ref_clear (&query->monitor);
  g_free (query->account);
  g_free (query);
}

static void
new_mail_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  NewMailQuery *query = task_data;
  g_autoptr(GError) error = NULL;
  gint64 inbox;
  GPtrArray *page;

  inbox = pb_store_lookup_folder (source_object, query->account, "INBOX", &error);
  if (inbox == 0)
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  page = pb_store_list_messages (source_object, inbox, 0, query->limit, NULL);
  g_task_return_pointer (task, page, (GDestroyNotify) g_ptr_array_unref);
}

static void
new_mail_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  NewMailQuery *query = g_task_get_task_data (G_TASK (result));
  g_autoptr(PbSyncMonitor) self = g_weak_ref_get (&query->monitor);
  g_autoptr(GPtrArray) page = g_task_propagate_pointer (G_TASK (result), NULL);

  if (self == NULL || page == NULL)
    return;
  for (guint i = 0; i < page->len; i++)
    {
      PbMessageSummary *summary = g_ptr_array_index (page, i);
      gint64 arrived = summary->internaldate != 0 ? summary->internaldate : summary->date;

      if ((summary->flags & PB_MESSAGE_FLAG_SEEN) != 0 || arrived <= self->started
          || g_hash_table_contains (self->notified, &summary->id))
        continue;
      g_hash_table_add (self->notified, g_memdup2 (&summary->id, sizeof summary->id));
      g_signal_emit (self, signals[SIGNAL_NEW_MAIL], 0, query->account, summary);
    }
}

static gboolean
progress_main_cb (gpointer data)
{
  Progress *progress = data;
  PbSyncMonitor *self = progress->monitor;
  Runner *runner;

  if (self == NULL || self->runners == NULL)
    return G_SOURCE_REMOVE;
  runner = g_hash_table_lookup (self->runners, progress->account);
  if (runner == NULL)
    return G_SOURCE_REMOVE;

  g_debug ("%s: %s %u/%u%s", progress->account, progress->folder, progress->done,
           progress->total, runner->synced_once ? "" : " (first sync)");
  if (progress->total >= LONG_SYNC_MESSAGES && progress->done < progress->total)
    {
      runner->done = progress->done;
      runner->total = progress->total;
    }
  else
    runner->done = runner->total = 0;
  g_signal_emit (self, signals[SIGNAL_PROGRESS_CHANGED], 0);

  /* New mail in the inbox: look at the newest messages stored (those already reported are
   * remembered, so a sync that reports in chunks does not notify twice). */
  if (runner->synced_once && progress->total > 0
      && g_ascii_strcasecmp (progress->folder, "INBOX") == 0)
    {
      g_autoptr(GTask) task = g_task_new (self->store, NULL, new_mail_cb, NULL);
      NewMailQuery *query = g_new0 (NewMailQuery, 1);

      g_weak_ref_init (&query->monitor, self);
      query->account = g_strdup (progress->account);
      query->limit = MIN (progress->total, 20);
      g_task_set_source_tag (task, new_mail_cb);
      g_task_set_task_data (task, query, (GDestroyNotify) new_mail_query_free);
      g_task_run_in_thread (task, new_mail_thread);
    }
  return G_SOURCE_REMOVE;
}

typedef struct {
  GWeakRef       monitor;
  char          *account;
  GCancellable  *cancellable;
} Call;

/* Called on the sync's worker thread, with the Call of the running sync or watch, which lives
 * until that finished. The reference taken here is dropped on the main thread. */
static void
progress_cb (const char *account,
             const char *folder,
             guint       done,
             guint       total,
             gpointer    user_data)
{
  Call *call = user_data;
  Progress *progress = g_new0 (Progress, 1);

  progress->monitor = g_weak_ref_get (&call->monitor);
  progress->account = g_strdup (account);
  progress->folder = g_strdup (folder);
  progress->done = done;
  progress->total = total;
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, progress_main_cb, progress,
                              (GDestroyNotify) progress_free);
}

/* The cycle */

static void
call_free (Call *call)
{
  g_weak_ref_clear (&call->monitor);
  g_free (call->account);
  g_clear_object (&call->cancellable);
  g_free (call);
}

static Call *
call_new (Runner *runner)
{
  Call *call = g_new0 (Call, 1);

  g_weak_ref_init (&call->monitor, runner->monitor);
  call->account = g_strdup (pb_account_get_name (runner->account));
  call->cancellable = g_object_ref (runner->cancellable);
  return call;
}

/* The runner a finished call belongs to, if the call is still the current one. */
static Runner *
call_get_runner (Call          *call,
                 PbSyncMonitor *monitor)
{
  Runner *runner;

  if (monitor == NULL)
    return NULL;
  runner = g_hash_table_lookup (monitor->runners, call->account);

  if (runner == NULL || runner->cancellable != call->cancellable
      || g_cancellable_is_cancelled (call->cancellable))
    return NULL;
  return runner;
}

static gboolean
retry_cb (gpointer data)
{
  Runner *runner = data;

  runner->retry_id = 0;
  runner_start (runner);
  return G_SOURCE_REMOVE;
}

static void
runner_failed (Runner       *runner,
               const GError *error)
{
  g_debug ("%s: %s", pb_account_get_name (runner->account), error->message);
  runner->watching = FALSE;
  if (is_offline_error (error))
    {
      runner_set_state (runner, PB_SYNC_STATE_OFFLINE, error);
      g_clear_handle_id (&runner->retry_id, g_source_remove);
      runner->retry_id = g_timeout_add_seconds (OFFLINE_RETRY_SECONDS, retry_cb, runner);
    }
  else
    runner_set_state (runner, PB_SYNC_STATE_ERROR, error);
}

static void
watch_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Call *call = user_data;
  g_autoptr(GError) error = NULL;
  Runner *runner;

  g_autoptr(PbSyncMonitor) monitor = g_weak_ref_get (&call->monitor);

  pb_remote_store_watch_finish (PB_REMOTE_STORE (source), result, &error);
  runner = call_get_runner (call, monitor);
  if (runner != NULL)
    {
      if (error != NULL)
        runner_failed (runner, error);
      else
        runner->watching = FALSE;
    }
  call_free (call);
}

static void
sync_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Call *call = user_data;
  g_autoptr(GError) error = NULL;
  Runner *runner;
  gboolean ok;

  g_autoptr(PbSyncMonitor) monitor = g_weak_ref_get (&call->monitor);

  ok = pb_remote_store_sync_finish (PB_REMOTE_STORE (source), result, &error);
  runner = call_get_runner (call, monitor);
  g_debug ("%s: sync finished: %s%s", call->account, ok ? "ok" : error->message,
           runner == NULL ? " (superseded)" : "");
  if (runner != NULL)
    {
      if (!ok)
        runner_failed (runner, error);
      else
        {
          Call *watch_call = call_new (runner);

          runner_set_state (runner, PB_SYNC_STATE_IDLE, NULL);
          runner->synced_once = TRUE;
          runner->watching = TRUE;
          pb_remote_store_watch_async (PB_REMOTE_STORE (source), monitor->store,
                                       progress_cb, watch_call, runner->cancellable,
                                       watch_cb, watch_call);
        }
    }
  call_free (call);
}

static void
runner_start (Runner *runner)
{
  PbRemoteStore *remote = pb_account_get_remote_store (runner->account);

  g_cancellable_cancel (runner->cancellable);
  g_clear_object (&runner->cancellable);
  runner->cancellable = g_cancellable_new ();
  g_clear_handle_id (&runner->retry_id, g_source_remove);
  runner->watching = FALSE;

  if (remote == NULL)
    {
      g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                                     _("This kind of server is not supported yet"));
      runner_set_state (runner, PB_SYNC_STATE_ERROR, error);
      return;
    }

  Call *call = call_new (runner);

  runner_set_state (runner, PB_SYNC_STATE_SYNCING, NULL);
  pb_remote_store_sync_async (remote, runner->monitor->store, progress_cb, call,
                              runner->cancellable, sync_cb, call);
}

/* Accounts */

static void
pb_sync_monitor_update_runners (PbSyncMonitor *self)
{
  GListModel *model = G_LIST_MODEL (self->accounts);
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer key;

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(PbAccount) account = g_list_model_get_item (model, i);
      const char *name = pb_account_get_name (account);
      Runner *runner = g_hash_table_lookup (self->runners, name);

      g_hash_table_add (wanted, (gpointer) name);
      if (runner != NULL && runner->account == account)
        continue;
      runner = g_new0 (Runner, 1);
      runner->monitor = self;
      runner->account = g_object_ref (account);
      runner->state = PB_SYNC_STATE_IDLE;
      g_hash_table_replace (self->runners, g_strdup (name), runner);
      runner_start (runner);
    }

  g_hash_table_iter_init (&iter, self->runners);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (wanted, key))
      g_hash_table_iter_remove (&iter);
}

static void
accounts_changed_cb (PbSyncMonitor *self)
{
  pb_sync_monitor_update_runners (self);
}

/* Public API */

/**
 * pb_sync_monitor_new:
 *
 * Starts syncing every account of @accounts into @store, and keeps doing so for accounts
 * added later.
 */
PbSyncMonitor *
pb_sync_monitor_new (PbAccountManager *accounts,
                     PbStore          *store)
{
  PbSyncMonitor *self;

  g_return_val_if_fail (PB_IS_ACCOUNT_MANAGER (accounts), NULL);
  g_return_val_if_fail (PB_IS_STORE (store), NULL);

  self = g_object_new (PB_TYPE_SYNC_MONITOR, NULL);
  self->accounts = g_object_ref (accounts);
  self->store = g_object_ref (store);
  g_signal_connect_object (accounts, "items-changed", G_CALLBACK (accounts_changed_cb), self,
                           G_CONNECT_SWAPPED);
  pb_sync_monitor_update_runners (self);
  return self;
}

PbStore *
pb_sync_monitor_get_store (PbSyncMonitor *self)
{
  g_return_val_if_fail (PB_IS_SYNC_MONITOR (self), NULL);
  return self->store;
}

PbAccountManager *
pb_sync_monitor_get_accounts (PbSyncMonitor *self)
{
  g_return_val_if_fail (PB_IS_SYNC_MONITOR (self), NULL);
  return self->accounts;
}

/**
 * pb_sync_monitor_get_state:
 * @error: (out) (optional) (transfer none): why the account is offline or failed
 */
PbSyncState
pb_sync_monitor_get_state (PbSyncMonitor  *self,
                           const char     *account,
                           const GError  **error)
{
  Runner *runner;

  g_return_val_if_fail (PB_IS_SYNC_MONITOR (self), PB_SYNC_STATE_IDLE);

  runner = g_hash_table_lookup (self->runners, account);
  if (error != NULL)
    *error = runner != NULL ? runner->error : NULL;
  return runner != NULL ? runner->state : PB_SYNC_STATE_IDLE;
}

/**
 * pb_sync_monitor_get_progress:
 *
 * Returns: how far the long syncs running now are (0 to 1), or -1 if none is running
 */
double
pb_sync_monitor_get_progress (PbSyncMonitor *self)
{
  GHashTableIter iter;
  gpointer value;
  guint done = 0, total = 0;

  g_return_val_if_fail (PB_IS_SYNC_MONITOR (self), -1);

  g_hash_table_iter_init (&iter, self->runners);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Runner *runner = value;

      done += runner->done;
      total += runner->total;
    }
  return total > 0 ? (double) done / total : -1;
}

/* Whether any account is in its first sync or a resync (not just watching). */
gboolean
pb_sync_monitor_get_syncing (PbSyncMonitor *self)
{
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (PB_IS_SYNC_MONITOR (self), FALSE);

  g_hash_table_iter_init (&iter, self->runners);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Runner *) value)->state == PB_SYNC_STATE_SYNCING)
      return TRUE;
  return FALSE;
}

static gboolean
sync_soon_cb (gpointer data)
{
  Runner *runner = data;

  runner->soon_id = 0;
  runner_start (runner);
  return G_SOURCE_REMOVE;
}

/**
 * pb_sync_monitor_sync_soon:
 * @account: (nullable): the account that changed, or %NULL for all
 *
 * Syncs shortly (several calls in a row make one sync), so that operations the user just did
 * reach the server. An account that failed for a reason waiting cannot fix is left alone.
 */
void
pb_sync_monitor_sync_soon (PbSyncMonitor *self,
                           const char    *account)
{
  GHashTableIter iter;
  gpointer key, value;

  g_return_if_fail (PB_IS_SYNC_MONITOR (self));

  g_hash_table_iter_init (&iter, self->runners);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Runner *runner = value;

      if ((account != NULL && g_strcmp0 (key, account) != 0)
          || runner->state == PB_SYNC_STATE_ERROR)
        continue;
      g_clear_handle_id (&runner->soon_id, g_source_remove);
      runner->soon_id = g_timeout_add (SYNC_SOON_DELAY_MS, sync_soon_cb, runner);
    }
}

/**
 * pb_sync_monitor_retry:
 *
 * Syncs @account now, e.g. after the user gave a new password.
 */
void
pb_sync_monitor_retry (PbSyncMonitor *self,
                       const char    *account)
{
  Runner *runner;

  g_return_if_fail (PB_IS_SYNC_MONITOR (self));

  runner = g_hash_table_lookup (self->runners, account);
  if (runner != NULL)
    runner_start (runner);
}

static void
pb_sync_monitor_dispose (GObject *object)
{
  PbSyncMonitor *self = PB_SYNC_MONITOR (object);

  if (self->runners != NULL)
    g_hash_table_remove_all (self->runners);
  if (self->accounts != NULL)
    g_signal_handlers_disconnect_by_data (self->accounts, self);
  g_clear_object (&self->accounts);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (pb_sync_monitor_parent_class)->dispose (object);
}

static void
pb_sync_monitor_finalize (GObject *object)
{
  PbSyncMonitor *self = PB_SYNC_MONITOR (object);

  g_clear_pointer (&self->runners, g_hash_table_unref);
  g_clear_pointer (&self->notified, g_hash_table_unref);

  G_OBJECT_CLASS (pb_sync_monitor_parent_class)->finalize (object);
}

static void
pb_sync_monitor_class_init (PbSyncMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pb_sync_monitor_dispose;
  object_class->finalize = pb_sync_monitor_finalize;

  /* PbSyncMonitor::state-changed: an account's PbSyncState or error changed. */
  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* PbSyncMonitor::progress-changed: see pb_sync_monitor_get_progress(). */
  signals[SIGNAL_PROGRESS_CHANGED] =
    g_signal_new ("progress-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 0);
  /* PbSyncMonitor::new-mail: an unread message arrived in an inbox while the monitor ran. */
  signals[SIGNAL_NEW_MAIL] =
    g_signal_new ("new-mail", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 2, G_TYPE_STRING, PB_TYPE_MESSAGE_SUMMARY);
}

static void
pb_sync_monitor_init (PbSyncMonitor *self)
{
  self->runners = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) runner_free);
  self->notified = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->started = g_get_real_time () / G_USEC_PER_SEC;
}
