/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-accounts"

#include "config.h"

#include "pb-remote-store.h"

G_DEFINE_INTERFACE (PbRemoteStore, pb_remote_store, G_TYPE_OBJECT)

static void
pb_remote_store_real_append_async (PbRemoteStore       *self,
                                   PbStore             *store,
                                   PbFolderRole         role,
                                   GBytes              *raw,
                                   guint                flags,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_task_report_new_error (self, callback, user_data, pb_remote_store_real_append_async,
                           G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "This account cannot store messages in its folders");
}

/* The default finish methods, for implementations built on GTask (see the header). */
static gboolean
pb_remote_store_real_finish_boolean (PbRemoteStore  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static GPtrArray *
pb_remote_store_real_finish_pointer (PbRemoteStore  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
pb_remote_store_real_append_finish (PbRemoteStore  *self,
                                    GAsyncResult   *result,
                                    guint32        *uid_out,
                                    GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  gssize uid;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  uid = g_task_propagate_int (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (uid_out != NULL)
    *uid_out = (guint32) uid;
  return TRUE;
}

static void
pb_remote_store_real_search_async (PbRemoteStore       *self,
                                   PbStore             *store,
                                   const char          *query,
                                   guint                limit,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, pb_remote_store_real_search_async);
  g_task_return_pointer (task, g_ptr_array_new (), (GDestroyNotify) g_ptr_array_unref);
}

static void
pb_remote_store_default_init (PbRemoteStoreInterface *iface)
{
  iface->check_finish = pb_remote_store_real_finish_boolean;
  iface->list_folders_finish = pb_remote_store_real_finish_pointer;
  iface->sync_finish = pb_remote_store_real_finish_boolean;
  iface->watch_finish = pb_remote_store_real_finish_boolean;
  iface->fetch_body_finish = pb_remote_store_real_finish_boolean;
  iface->search_async = pb_remote_store_real_search_async;
  iface->search_finish = pb_remote_store_real_finish_pointer;
  iface->append_async = pb_remote_store_real_append_async;
  iface->append_finish = pb_remote_store_real_append_finish;
}

static void
sync_data_free (PbRemoteSyncData *data)
{
  g_object_unref (data->store);
  g_free (data);
}

/**
 * pb_remote_store_sync_task_new:
 *
 * For implementations of sync_async and watch_async: a task whose task data is a
 * #PbRemoteSyncData holding @store (a reference) and the progress callback.
 *
 * Returns: (transfer full): the task
 */
GTask *
pb_remote_store_sync_task_new (PbRemoteStore       *self,
                               PbStore             *store,
                               PbSyncProgressFunc   progress,
                               gpointer             progress_data,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  PbRemoteSyncData *data = g_new0 (PbRemoteSyncData, 1);

  data->store = g_object_ref (store);
  data->progress = progress;
  data->progress_data = progress_data;
  g_task_set_task_data (task, data, (GDestroyNotify) sync_data_free);
  return task;
}

void
pb_remote_store_check_async (PbRemoteStore       *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (PB_IS_REMOTE_STORE (self));
  PB_REMOTE_STORE_GET_IFACE (self)->check_async (self, cancellable, callback, user_data);
}

gboolean
pb_remote_store_check_finish (PbRemoteStore  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  g_return_val_if_fail (PB_IS_REMOTE_STORE (self), FALSE);
  return PB_REMOTE_STORE_GET_IFACE (self)->check_finish (self, result, error);
}

void
pb_remote_store_list_folders_async (PbRemoteStore       *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (PB_IS_REMOTE_STORE (self));
  PB_REMOTE_STORE_GET_IFACE (self)->list_folders_async (self, cancellable, callback, user_data);
}

GPtrArray *
pb_remote_store_list_folders_finish (PbRemoteStore  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  g_return_val_if_fail (PB_IS_REMOTE_STORE (self), NULL);
  return PB_REMOTE_STORE_GET_IFACE (self)->list_folders_finish (self, result, error);
}

/* The progress callback runs on a worker thread; the caller must not free @store before the
 * operation finished. */
void
pb_remote_store_sync_async (PbRemoteStore       *self,
                            PbStore             *store,
                            PbSyncProgressFunc   progress,
                            gpointer             progress_data,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (PB_IS_REMOTE_STORE (self));
  g_return_if_fail (PB_IS_STORE (store));
  PB_REMOTE_STORE_GET_IFACE (self)->sync_async (self, store, progress, progress_data, cancellable,
                                                callback, user_data);
}

gboolean
pb_remote_store_sync_finish (PbRemoteStore  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (PB_IS_REMOTE_STORE (self), FALSE);
  return PB_REMOTE_STORE_GET_IFACE (self)->sync_finish (self, result, error);
}

void
pb_remote_store_watch_async (PbRemoteStore       *self,
                             PbStore             *store,
                             PbSyncProgressFunc   progress,
                             gpointer             progress_data,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (PB_IS_REMOTE_STORE (self));
  g_return_if_fail (PB_IS_STORE (store));
  g_return_if_fail (G_IS_CANCELLABLE (cancellable));
  PB_REMOTE_STORE_GET_IFACE (self)->watch_async (self, store, progress, progress_data,
                                                 cancellable, callback, user_data);
}

gboolean
pb_remote_store_watch_finish (PbRemoteStore  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  g_return_val_if_fail (PB_IS_REMOTE_STORE (self), FALSE);
  return PB_REMOTE_STORE_GET_IFACE (self)->watch_finish (self, result, error);
}

void
pb_remote_store_fetch_body_async (PbRemoteStore       *self,
                                  PbStore             *store,
                                  const char          *folder,
                                  guint32              uid,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (PB_IS_REMOTE_STORE (self));
  g_return_if_fail (PB_IS_STORE (store));
  g_return_if_fail (folder != NULL);
  PB_REMOTE_STORE_GET_IFACE (self)->fetch_body_async (self, store, folder, uid, cancellable,
                                                      callback, user_data);
}

gboolean
pb_remote_store_fetch_body_finish (PbRemoteStore  *self,
                                   GAsyncResult   *result,
                                   GError        **error)
{
  g_return_val_if_fail (PB_IS_REMOTE_STORE (self), FALSE);
  return PB_REMOTE_STORE_GET_IFACE (self)->fetch_body_finish (self, result, error);
}

void
pb_remote_store_append_async (PbRemoteStore       *self,
                              PbStore             *store,
                              PbFolderRole         role,
                              GBytes              *raw,
                              guint                flags,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (PB_IS_REMOTE_STORE (self));
  g_return_if_fail (PB_IS_STORE (store));
  g_return_if_fail (raw != NULL);
  PB_REMOTE_STORE_GET_IFACE (self)->append_async (self, store, role, raw, flags, cancellable,
                                                  callback, user_data);
}

gboolean
pb_remote_store_append_finish (PbRemoteStore  *self,
                               GAsyncResult   *result,
                               guint32        *uid_out,
                               GError        **error)
{
  g_return_val_if_fail (PB_IS_REMOTE_STORE (self), FALSE);
  if (uid_out != NULL)
    *uid_out = 0;
  return PB_REMOTE_STORE_GET_IFACE (self)->append_finish (self, result, uid_out, error);
}

void
pb_remote_store_search_async (PbRemoteStore       *self,
                              PbStore             *store,
                              const char          *query,
                              guint                limit,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (PB_IS_REMOTE_STORE (self));
  g_return_if_fail (PB_IS_STORE (store));
  g_return_if_fail (query != NULL);
  PB_REMOTE_STORE_GET_IFACE (self)->search_async (self, store, query, limit, cancellable,
                                                  callback, user_data);
}

GPtrArray *
pb_remote_store_search_finish (PbRemoteStore  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (PB_IS_REMOTE_STORE (self), NULL);
  return PB_REMOTE_STORE_GET_IFACE (self)->search_finish (self, result, error);
}
