/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include "pb-connection.h"
#include "pb-imap-client.h"
#include "pb-imap-store.h"
#include "pb-imap-search.h"
#include "pb-imap-sync.h"

/*
 * The IMAP side of an account behind PbRemoteStore. Each operation runs one blocking session
 * (PbImapClient) on a GTask worker thread, so callers on the main thread never wait on the
 * network. Connection reuse and IDLE come with folder sync.
 */
struct _PbImapStore
{
  GObject        parent_instance;

  char          *account;
  guint          offline_days;
  PbService     *service;
  PbCredentials *credentials;
};

static void remote_store_iface_init (PbRemoteStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PbImapStore, pb_imap_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PB_TYPE_REMOTE_STORE,
                                                      remote_store_iface_init))

/* Connects, verifies, and logs in; the password lives only for the duration of the login. */
static PbImapClient *
open_session (PbImapStore   *self,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(PbImapClient) client = pb_imap_client_new (self->service);
  char *password;
  gboolean ok;

  if (!pb_imap_client_connect (client, cancellable, error))
    return NULL;
  if (pb_imap_client_is_authenticated (client))
    return g_steal_pointer (&client);

  password = pb_credentials_lookup (self->credentials, self->service, cancellable, error);
  if (password == NULL)
    return NULL;
  ok = pb_imap_client_authenticate (client, password, cancellable, error);
  pb_password_free (password);
  return ok ? g_steal_pointer (&client) : NULL;
}

static void
check_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  g_autoptr(PbImapClient) client = NULL;
  GError *error = NULL;

  client = open_session (source_object, cancellable, &error);
  if (client == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  pb_imap_client_logout (client, cancellable);
  g_task_return_boolean (task, TRUE);
}

static void
pb_imap_store_check_async (PbRemoteStore       *store,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);

  g_task_set_source_tag (task, pb_imap_store_check_async);
  g_task_run_in_thread (task, check_thread);
}

static gboolean
pb_imap_store_check_finish (PbRemoteStore  *store,
                            GAsyncResult   *result,
                            GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
list_folders_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  g_autoptr(PbImapClient) client = NULL;
  GPtrArray *folders;
  GError *error = NULL;

  client = open_session (source_object, cancellable, &error);
  if (client == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  folders = pb_imap_client_list_folders (client, cancellable, &error);
  pb_imap_client_logout (client, cancellable);
  if (folders == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, folders, (GDestroyNotify) g_ptr_array_unref);
}

static void
pb_imap_store_list_folders_async (PbRemoteStore       *store,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);

  g_task_set_source_tag (task, pb_imap_store_list_folders_async);
  g_task_run_in_thread (task, list_folders_thread);
}

static GPtrArray *
pb_imap_store_list_folders_finish (PbRemoteStore  *store,
                                   GAsyncResult   *result,
                                   GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct {
  PbStore            *store;
  PbSyncProgressFunc  progress;
  gpointer            progress_data;
} SyncData;

static void
sync_data_free (SyncData *data)
{
  g_object_unref (data->store);
  g_free (data);
}

/* A task carrying the local store and the progress callback, for sync and watch. */
static GTask *
sync_task_new (PbRemoteStore       *store,
               PbStore             *local,
               PbSyncProgressFunc   progress,
               gpointer             progress_data,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  GTask *task = g_task_new (store, cancellable, callback, user_data);
  SyncData *data = g_new0 (SyncData, 1);

  data->store = g_object_ref (local);
  data->progress = progress;
  data->progress_data = progress_data;
  g_task_set_task_data (task, data, (GDestroyNotify) sync_data_free);
  return task;
}

static void
sync_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  PbImapStore *self = source_object;
  SyncData *data = task_data;
  g_autoptr(PbImapClient) client = NULL;
  GError *error = NULL;
  gboolean ok;

  client = open_session (self, cancellable, &error);
  if (client == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  ok = pb_imap_sync_account (client, data->store, self->account, self->offline_days,
                             data->progress,
                             data->progress_data, cancellable, &error);
  pb_imap_client_logout (client, cancellable);
  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
pb_imap_store_sync_async (PbRemoteStore       *store,
                          PbStore             *local,
                          PbSyncProgressFunc   progress,
                          gpointer             progress_data,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = sync_task_new (store, local, progress, progress_data, cancellable,
                                         callback, user_data);

  g_task_set_source_tag (task, pb_imap_store_sync_async);
  g_task_run_in_thread (task, sync_thread);
}

static gboolean
pb_imap_store_sync_finish (PbRemoteStore  *store,
                           GAsyncResult   *result,
                           GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Errors that waiting cannot fix: the user has to act. */
static gboolean
is_permanent (const GError *error)
{
  return g_error_matches (error, PB_IMAP_ERROR, PB_IMAP_ERROR_AUTHENTICATION_FAILED)
         || g_error_matches (error, PB_IMAP_ERROR, PB_IMAP_ERROR_STARTTLS_UNAVAILABLE)
         || g_error_matches (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE)
         || g_error_matches (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_STARTTLS_INJECTION)
         || error->domain == PB_CREDENTIALS_ERROR
         || error->domain == PB_STORE_ERROR;
}

static void
watch_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  PbImapStore *self = source_object;
  SyncData *data = task_data;
  guint backoff = 0;

  while (!g_cancellable_is_cancelled (cancellable))
    {
      g_autoptr(PbImapClient) client = NULL;
      g_autoptr(GError) error = NULL;

      client = open_session (self, cancellable, &error);
      if (client != NULL
          && pb_imap_sync_account (client, data->store, self->account, self->offline_days,
                                   data->progress,
                                   data->progress_data, cancellable, &error))
        {
          backoff = 0;
          pb_imap_sync_idle_inbox (client, data->store, self->account, self->offline_days,
                                   data->progress,
                                   data->progress_data, cancellable, &error);
        }
      if (client != NULL)
        pb_imap_client_logout (client, NULL);
      if (g_cancellable_is_cancelled (cancellable))
        break;
      if (error != NULL && is_permanent (error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }

      /* Reconnect after 1, 2, 4 … seconds, at most 5 minutes apart. */
      backoff = backoff == 0 ? 1 : MIN (backoff * 2, 300);
      g_message ("%s: %s; trying again in %u s", self->account,
                 error ? error->message : "disconnected", backoff);
      for (guint i = 0; i < backoff * 4 && !g_cancellable_is_cancelled (cancellable); i++)
        g_usleep (G_USEC_PER_SEC / 4);
    }
  g_task_return_boolean (task, TRUE);
}

static void
pb_imap_store_watch_async (PbRemoteStore       *store,
                           PbStore             *local,
                           PbSyncProgressFunc   progress,
                           gpointer             progress_data,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = sync_task_new (store, local, progress, progress_data, cancellable,
                                         callback, user_data);

  g_task_set_source_tag (task, pb_imap_store_watch_async);
  /* Cancelling is the normal way to stop watching: finish with success then. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, watch_thread);
}

static gboolean
pb_imap_store_watch_finish (PbRemoteStore  *store,
                            GAsyncResult   *result,
                            GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct {
  PbStore *store;
  char    *folder;
  guint32  uid;
} FetchBodyData;

static void
fetch_body_data_free (FetchBodyData *data)
{
  g_object_unref (data->store);
  g_free (data->folder);
  g_free (data);
}

static void
fetch_body_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  PbImapStore *self = source_object;
  FetchBodyData *data = task_data;
  g_autoptr(PbImapClient) client = NULL;
  GError *error = NULL;
  gboolean ok;

  client = open_session (self, cancellable, &error);
  if (client == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* The same session settings as sync, so folder names are spelled the same way. */
  ok = pb_imap_client_enable (client, cancellable, &error)
       && pb_imap_sync_fetch_body (client, data->store, self->account, data->folder, data->uid,
                                   cancellable, &error);
  pb_imap_client_logout (client, cancellable);
  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
pb_imap_store_fetch_body_async (PbRemoteStore       *store,
                                PbStore             *local,
                                const char          *folder,
                                guint32              uid,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);
  FetchBodyData *data = g_new0 (FetchBodyData, 1);

  data->store = g_object_ref (local);
  data->folder = g_strdup (folder);
  data->uid = uid;
  g_task_set_source_tag (task, pb_imap_store_fetch_body_async);
  g_task_set_task_data (task, data, (GDestroyNotify) fetch_body_data_free);
  g_task_run_in_thread (task, fetch_body_thread);
}

static gboolean
pb_imap_store_fetch_body_finish (PbRemoteStore  *store,
                                 GAsyncResult   *result,
                                 GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct {
  PbStore *store;
  char    *query;
  guint    limit;
} SearchData;

static void
search_data_free (SearchData *data)
{
  g_object_unref (data->store);
  g_free (data->query);
  g_free (data);
}

static void
search_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  PbImapStore *self = source_object;
  SearchData *data = task_data;
  g_autoptr(PbImapClient) client = NULL;
  GPtrArray *results = NULL;
  GError *error = NULL;

  client = open_session (self, cancellable, &error);
  if (client != NULL && pb_imap_client_enable (client, cancellable, &error))
    results = pb_imap_search_server (client, data->store, self->account, data->query,
                                     data->limit, cancellable, &error);
  if (client != NULL)
    pb_imap_client_logout (client, cancellable);
  if (results == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, results, (GDestroyNotify) g_ptr_array_unref);
}

static void
pb_imap_store_search_async (PbRemoteStore       *store,
                            PbStore             *local,
                            const char          *query,
                            guint                limit,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);
  SearchData *data = g_new0 (SearchData, 1);

  data->store = g_object_ref (local);
  data->query = g_strdup (query);
  data->limit = limit;
  g_task_set_source_tag (task, pb_imap_store_search_async);
  g_task_set_task_data (task, data, (GDestroyNotify) search_data_free);
  g_task_run_in_thread (task, search_thread);
}

static GPtrArray *
pb_imap_store_search_finish (PbRemoteStore  *store,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Messages the server received more than @days days ago are kept as headers only; 0 keeps
 * every body offline (the default). */
void
pb_imap_store_set_offline_days (PbImapStore *self,
                                guint        days)
{
  g_return_if_fail (PB_IS_IMAP_STORE (self));
  self->offline_days = days;
}

static void
remote_store_iface_init (PbRemoteStoreInterface *iface)
{
  iface->search_async = pb_imap_store_search_async;
  iface->search_finish = pb_imap_store_search_finish;
  iface->fetch_body_async = pb_imap_store_fetch_body_async;
  iface->fetch_body_finish = pb_imap_store_fetch_body_finish;
  iface->watch_async = pb_imap_store_watch_async;
  iface->watch_finish = pb_imap_store_watch_finish;
  iface->sync_async = pb_imap_store_sync_async;
  iface->sync_finish = pb_imap_store_sync_finish;
  iface->check_async = pb_imap_store_check_async;
  iface->check_finish = pb_imap_store_check_finish;
  iface->list_folders_async = pb_imap_store_list_folders_async;
  iface->list_folders_finish = pb_imap_store_list_folders_finish;
}

static void
pb_imap_store_dispose (GObject *object)
{
  PbImapStore *self = PB_IMAP_STORE (object);

  g_clear_object (&self->service);
  g_clear_object (&self->credentials);

  G_OBJECT_CLASS (pb_imap_store_parent_class)->dispose (object);
}

static void
pb_imap_store_finalize (GObject *object)
{
  g_free (PB_IMAP_STORE (object)->account);

  G_OBJECT_CLASS (pb_imap_store_parent_class)->finalize (object);
}

static void
pb_imap_store_class_init (PbImapStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pb_imap_store_dispose;
  G_OBJECT_CLASS (klass)->finalize = pb_imap_store_finalize;
}

static void
pb_imap_store_init (PbImapStore *self)
{
}

PbRemoteStore *
pb_imap_store_new (const char    *account,
                   PbService     *service,
                   PbCredentials *credentials)
{
  PbImapStore *self;

  g_return_val_if_fail (account != NULL, NULL);
  g_return_val_if_fail (PB_IS_SERVICE (service), NULL);
  g_return_val_if_fail (PB_IS_CREDENTIALS (credentials), NULL);

  self = g_object_new (PB_TYPE_IMAP_STORE, NULL);
  self->account = g_strdup (account);
  self->service = g_object_ref (service);
  self->credentials = g_object_ref (credentials);
  return PB_REMOTE_STORE (self);
}
