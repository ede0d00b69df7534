/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include "pb-store-private.h"

/*
 * Asynchronous wrappers of the PbStore reads the UI needs. The UI thread never touches
 * SQLite: each wrapper runs the synchronous function in a GTask thread. Cancelling skips a
 * query that has not started yet and drops the result of one that has (queries are short).
 */

typedef struct {
  char    *text;
  gint64   folder_id;
  guint32  uid;
  guint    offset;
  guint    limit;
} Request;

static void
request_free (Request *request)
{
  g_free (request->text);
  g_free (request);
}

typedef struct {
  guint total;
  guint unread;
} Counts;

static GTask *
new_task (PbStore             *self,
          gpointer             source_tag,
          Request             *request,
          GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_check_cancellable (task, TRUE);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  return task;
}

static void
list_folders_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  Request *request = task_data;
  GError *error = NULL;
  GPtrArray *folders;

  if (g_task_return_error_if_cancelled (task))
    return;
  folders = pb_store_list_folders (source_object, request->text, &error);
  if (folders == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, folders, (GDestroyNotify) g_ptr_array_unref);
}

/**
 * pb_store_list_folders_async:
 * @account: the account's name
 *
 * Runs pb_store_list_folders() off the calling thread.
 */
void
pb_store_list_folders_async (PbStore             *self,
                             const char          *account,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (PB_IS_STORE (self));
  g_return_if_fail (account != NULL);

  request = g_new0 (Request, 1);
  request->text = g_strdup (account);
  task = new_task (self, pb_store_list_folders_async, request, cancellable, callback, user_data);
  g_task_run_in_thread (task, list_folders_thread);
}

/**
 * pb_store_list_folders_finish:
 *
 * Returns: (transfer full) (element-type PbFolderInfo): see pb_store_list_folders()
 */
GPtrArray *
pb_store_list_folders_finish (PbStore       *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pb_store_list_folders_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
get_raw_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  Request *request = task_data;
  GError *error = NULL;
  GBytes *raw;

  if (g_task_return_error_if_cancelled (task))
    return;
  raw = pb_store_get_raw (source_object, request->folder_id, request->uid, &error);
  if (raw == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, raw, (GDestroyNotify) g_bytes_unref);
}

/**
 * pb_store_get_raw_async:
 * @folder_id: the folder
 * @uid: the message
 *
 * Runs pb_store_get_raw() off the calling thread.
 */
void
pb_store_get_raw_async (PbStore             *self,
                        gint64               folder_id,
                        guint32              uid,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (PB_IS_STORE (self));

  request = g_new0 (Request, 1);
  request->folder_id = folder_id;
  request->uid = uid;
  task = new_task (self, pb_store_get_raw_async, request, cancellable, callback, user_data);
  g_task_run_in_thread (task, get_raw_thread);
}

/**
 * pb_store_get_raw_finish:
 *
 * Returns: (transfer full): see pb_store_get_raw()
 */
GBytes *
pb_store_get_raw_finish (PbStore       *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pb_store_get_raw_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
list_messages_thread (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  Request *request = task_data;
  GError *error = NULL;
  GPtrArray *page;

  if (g_task_return_error_if_cancelled (task))
    return;
  page = pb_store_list_messages (source_object, request->folder_id, request->offset,
                                 request->limit, &error);
  if (page == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, page, (GDestroyNotify) g_ptr_array_unref);
}

/**
 * pb_store_list_messages_async:
 * @folder_id: the folder
 * @offset: how many of the newest messages to skip
 * @limit: the most messages to return
 *
 * Runs pb_store_list_messages() off the calling thread.
 */
void
pb_store_list_messages_async (PbStore             *self,
                              gint64               folder_id,
                              guint                offset,
                              guint                limit,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (PB_IS_STORE (self));

  request = g_new0 (Request, 1);
  request->folder_id = folder_id;
  request->offset = offset;
  request->limit = limit;
  task = new_task (self, pb_store_list_messages_async, request, cancellable, callback,
                   user_data);
  g_task_run_in_thread (task, list_messages_thread);
}

/**
 * pb_store_list_messages_finish:
 *
 * Returns: (transfer full) (element-type PbMessageSummary): see pb_store_list_messages()
 */
GPtrArray *
pb_store_list_messages_finish (PbStore       *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pb_store_list_messages_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
count_messages_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  Request *request = task_data;
  GError *error = NULL;
  Counts *counts;

  if (g_task_return_error_if_cancelled (task))
    return;
  counts = g_new0 (Counts, 1);
  if (pb_store_count_messages (source_object, request->folder_id, &counts->total,
                               &counts->unread, &error))
    g_task_return_pointer (task, counts, g_free);
  else
    {
      g_free (counts);
      g_task_return_error (task, error);
    }
}

/**
 * pb_store_count_messages_async:
 * @folder_id: the folder
 *
 * Runs pb_store_count_messages() off the calling thread.
 */
void
pb_store_count_messages_async (PbStore             *self,
                               gint64               folder_id,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (PB_IS_STORE (self));

  request = g_new0 (Request, 1);
  request->folder_id = folder_id;
  task = new_task (self, pb_store_count_messages_async, request, cancellable, callback,
                   user_data);
  g_task_run_in_thread (task, count_messages_thread);
}

/**
 * pb_store_count_messages_finish:
 * @total: (out) (optional): how many messages the folder has
 * @unread: (out) (optional): how many of them are not \Seen
 *
 * Returns: %TRUE on success
 */
gboolean
pb_store_count_messages_finish (PbStore       *self,
                                GAsyncResult  *result,
                                guint         *total,
                                guint         *unread,
                                GError       **error)
{
  g_autofree Counts *counts = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pb_store_count_messages_async,
                        FALSE);

  counts = g_task_propagate_pointer (G_TASK (result), error);
  if (counts == NULL)
    return FALSE;
  if (total)
    *total = counts->total;
  if (unread)
    *unread = counts->unread;
  return TRUE;
}

static void
search_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Request *request = task_data;
  GError *error = NULL;
  GPtrArray *results;

  if (g_task_return_error_if_cancelled (task))
    return;
  results = pb_store_search (source_object, request->text, request->limit, &error);
  if (results == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, results, (GDestroyNotify) g_ptr_array_unref);
}

/**
 * pb_store_search_async:
 * @query: the user's text
 * @limit: the most messages to return, 0 for all
 *
 * Runs pb_store_search() off the calling thread. A search-as-you-type UI cancels the previous
 * search before it starts the next.
 */
void
pb_store_search_async (PbStore             *self,
                       const char          *query,
                       guint                limit,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (PB_IS_STORE (self));
  g_return_if_fail (query != NULL);

  request = g_new0 (Request, 1);
  request->text = g_strdup (query);
  request->limit = limit;
  task = new_task (self, pb_store_search_async, request, cancellable, callback, user_data);
  g_task_run_in_thread (task, search_thread);
}

/**
 * pb_store_search_finish:
 *
 * Returns: (transfer full) (element-type PbMessageSummary): see pb_store_search()
 */
GPtrArray *
pb_store_search_finish (PbStore       *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pb_store_search_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
