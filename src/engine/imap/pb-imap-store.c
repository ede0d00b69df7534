/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <glib/gi18n-lib.h>

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

  /* A session kept open briefly for appends, so a batch of Sent copies logs in once. */
  GMutex         append_lock;
  PbImapClient  *append_client;
  PbFolderInfo  *append_folder;
  gint64         append_used;
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


static void
sync_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  PbImapStore *self = source_object;
  PbRemoteSyncData *data = task_data;
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
  g_autoptr(GTask) task = pb_remote_store_sync_task_new (store, local, progress,
                                                         progress_data, cancellable,
                                                         callback, user_data);

  g_task_set_source_tag (task, pb_imap_store_sync_async);
  g_task_run_in_thread (task, sync_thread);
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
  PbRemoteSyncData *data = task_data;
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
  g_autoptr(GTask) task = pb_remote_store_sync_task_new (store, local, progress,
                                                         progress_data, cancellable,
                                                         callback, user_data);

  g_task_set_source_tag (task, pb_imap_store_watch_async);
  /* Cancelling is the normal way to stop watching: finish with success then. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, watch_thread);
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

typedef struct {
  PbStore      *store;
  PbFolderRole  role;
  GBytes       *raw;
  guint         flags;
  GMainContext *context;
} AppendData;

static void
append_data_free (AppendData *data)
{
  g_clear_object (&data->store);
  g_bytes_unref (data->raw);
  g_main_context_unref (data->context);
  g_free (data);
}

/* Seconds an append session stays open for the next message. */
#define APPEND_IDLE 5

/* The folder with @role: by its special use, else by its usual English name for Sent and
 * Drafts (servers without SPECIAL-USE), created if it does not exist. */
static PbFolderInfo *
find_role_folder (PbImapClient  *client,
                  PbFolderRole   role,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autoptr(GPtrArray) folders = pb_imap_client_list_folders (client, cancellable, error);
  const char *fallback = role == PB_FOLDER_ROLE_SENT ? "Sent"
                         : role == PB_FOLDER_ROLE_DRAFTS ? "Drafts" : NULL;
  g_autofree char *create = NULL;
  g_autofree char *quoted = NULL;

  if (folders == NULL)
    return NULL;
  for (guint i = 0; i < folders->len; i++)
    if (pb_folder_info_get_role (g_ptr_array_index (folders, i)) == role)
      return g_object_ref (g_ptr_array_index (folders, i));
  for (guint i = 0; fallback != NULL && i < folders->len; i++)
    if (g_ascii_strcasecmp (pb_folder_info_get_path (g_ptr_array_index (folders, i)),
                            fallback) == 0)
      return g_object_ref (g_ptr_array_index (folders, i));
  if (fallback == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("The server has no folder for this kind of message"));
      return NULL;
    }
  quoted = pb_imap_quote_string (fallback);
  create = g_strdup_printf ("CREATE %s", quoted);
  if (!pb_imap_client_command (client, create, NULL, NULL, cancellable, error))
    return NULL;
  return pb_folder_info_new (fallback, role, TRUE);
}

static gboolean close_append_session_cb (gpointer user_data);

static void
append_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  PbImapStore *self = source_object;
  AppendData *data = task_data;
  GError *error = NULL;
  guint32 uid = 0;
  gboolean ok = FALSE;

  g_mutex_lock (&self->append_lock);
  for (int attempt = 0; attempt < 2 && !ok; attempt++)
    {
      gboolean reused = self->append_client != NULL
                        && self->append_folder != NULL
                        && pb_folder_info_get_role (self->append_folder) == data->role;
      g_autoptr(GString) flags = g_string_new (NULL);
      const char *remote;

      g_clear_error (&error);
      if (!reused)
        {
          g_clear_object (&self->append_client);
          g_clear_object (&self->append_folder);
          self->append_client = open_session (self, cancellable, &error);
          if (self->append_client == NULL
              || !pb_imap_client_enable (self->append_client, cancellable, &error))
            break;
          self->append_folder = find_role_folder (self->append_client, data->role, cancellable,
                                                  &error);
          if (self->append_folder == NULL)
            break;
        }
      for (guint bit = 1; bit != 0 && bit <= data->flags; bit <<= 1)
        if ((data->flags & bit) && pb_message_flag_to_keyword (bit) != NULL)
          g_string_append_printf (flags, "%s%s", flags->len ? " " : "",
                                  pb_message_flag_to_keyword (bit));
      remote = pb_folder_info_get_remote_name (self->append_folder);
      ok = pb_imap_client_append (self->append_client,
                                  remote ? remote : pb_folder_info_get_path (self->append_folder),
                                  flags->len ? flags->str : NULL, data->raw, &uid, cancellable,
                                  &error);
      /* A kept session may have timed out on the server; one fresh try is safe because a
       * failed APPEND stored nothing. */
      if (!ok && !(reused && error->domain == PB_CONNECTION_ERROR))
        break;
      if (!ok)
        g_clear_object (&self->append_client);
    }
  if (!ok)
    g_clear_object (&self->append_client);

  if (ok && uid != 0 && data->store != NULL)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func (
        (GDestroyNotify) pb_message_summary_free);
      PbMessageSummary *summary = pb_store_parse_summary (data->raw);
      gint64 folder_id;

      /* The copy is on the server already; the local one is a convenience until the next
       * sync, so a failure here is only logged. */
      summary->uid = uid;
      summary->flags = data->flags;
      summary->size = g_bytes_get_size (data->raw);
      summary->internaldate = g_get_real_time () / G_USEC_PER_SEC;
      g_ptr_array_add (summaries, summary);
      folder_id = pb_store_ensure_folder (data->store, self->account, self->append_folder,
                                          &local_error);
      if (folder_id == 0
          || !pb_store_add_messages (data->store, folder_id, summaries, &local_error)
          || !pb_store_set_body (data->store, folder_id, uid, data->raw, &local_error))
        g_warning ("%s: the Sent copy is on the server but not in the local store: %s",
                   self->account, local_error->message);
    }

  self->append_used = g_get_monotonic_time ();
  if (self->append_client != NULL)
    {
      g_autoptr(GSource) source = g_timeout_source_new_seconds (APPEND_IDLE);

      g_source_set_callback (source, close_append_session_cb, g_object_ref (self),
                             g_object_unref);
      g_source_attach (source, data->context);
    }
  g_mutex_unlock (&self->append_lock);

  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, uid);
}

static void
close_append_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  PbImapStore *self = source_object;
  g_autoptr(PbImapClient) client = NULL;

  g_mutex_lock (&self->append_lock);
  if (self->append_client != NULL
      && g_get_monotonic_time () - self->append_used >= APPEND_IDLE * G_USEC_PER_SEC)
    client = g_steal_pointer (&self->append_client);
  g_mutex_unlock (&self->append_lock);
  if (client != NULL)
    pb_imap_client_logout (client, NULL);
  g_task_return_boolean (task, TRUE);
}

static gboolean
close_append_session_cb (gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (user_data, NULL, NULL, NULL);

  g_task_set_source_tag (task, close_append_session_cb);
  g_task_run_in_thread (task, close_append_thread);
  return G_SOURCE_REMOVE;
}

static void
pb_imap_store_append_async (PbRemoteStore       *store,
                            PbStore             *local,
                            PbFolderRole         role,
                            GBytes              *raw,
                            guint                flags,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);
  AppendData *data = g_new0 (AppendData, 1);

  data->store = local ? g_object_ref (local) : NULL;
  data->role = role;
  data->raw = g_bytes_ref (raw);
  data->flags = flags;
  data->context = g_main_context_ref_thread_default ();
  g_task_set_source_tag (task, pb_imap_store_append_async);
  g_task_set_task_data (task, data, (GDestroyNotify) append_data_free);
  g_task_run_in_thread (task, append_thread);
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

  if (!pb_imap_search_needed (data->store, self->account))
    {
      g_task_return_pointer (task, g_ptr_array_new (), (GDestroyNotify) g_ptr_array_unref);
      return;
    }
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
  iface->fetch_body_async = pb_imap_store_fetch_body_async;
  iface->watch_async = pb_imap_store_watch_async;
  iface->sync_async = pb_imap_store_sync_async;
  iface->check_async = pb_imap_store_check_async;
  iface->list_folders_async = pb_imap_store_list_folders_async;
  iface->append_async = pb_imap_store_append_async;
}

static void
pb_imap_store_dispose (GObject *object)
{
  PbImapStore *self = PB_IMAP_STORE (object);

  g_clear_object (&self->append_client);
  g_clear_object (&self->append_folder);
  g_clear_object (&self->service);
  g_clear_object (&self->credentials);

  G_OBJECT_CLASS (pb_imap_store_parent_class)->dispose (object);
}

static void
pb_imap_store_finalize (GObject *object)
{
  g_free (PB_IMAP_STORE (object)->account);
  g_mutex_clear (&PB_IMAP_STORE (object)->append_lock);

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
  g_mutex_init (&self->append_lock);
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
