/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include "pb-store-private.h"

/*
 * Where the messages a PbMessageList has cached are now. After a sync the list asks, for each
 * run of positions it holds, which messages now lie between the run's first and last key, and
 * how many come before it; together with the folder's new total, from one snapshot, that is
 * enough to tell a list view exactly which rows came and went, without reading the folder.
 */

void
pb_store_range_clear (PbStoreRange *range)
{
  g_clear_pointer (&range->keys, g_array_unref);
  g_clear_pointer (&range->rows, g_ptr_array_unref);
}

static void
bind_range (sqlite3_stmt       *stmt,
            gint64              folder_id,
            const PbStoreRange *range)
{
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, range->first.date);
  sqlite3_bind_int64 (stmt, 3, range->first.id);
  sqlite3_bind_int64 (stmt, 4, range->last.date);
  sqlite3_bind_int64 (stmt, 5, range->last.id);
}

static gboolean
read_range (PbStoreDb     *db,
            gint64         folder_id,
            gboolean       threads,
            PbStoreRange  *range,
            GError       **error)
{
  sqlite3_stmt *stmt;
  int rc;

  gboolean inboxes = folder_id == PB_STORE_FOLDER_INBOXES;

  if (threads)
    stmt = pb_store_db_prepare (db, inboxes ? PB_STORE_INBOXES_THREADS_RANGE_POSITION_SQL
                                            : PB_STORE_THREADS_RANGE_POSITION_SQL, error);
  else
    stmt = pb_store_db_prepare (db, inboxes ? PB_STORE_INBOXES_RANGE_POSITION_SQL
                                            : PB_STORE_RANGE_POSITION_SQL, error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, range->first.date);
  sqlite3_bind_int64 (stmt, 3, range->first.id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    goto fail;
  range->position = (guint) sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  if (threads)
    stmt = pb_store_db_prepare (db, inboxes ? PB_STORE_INBOXES_THREADS_RANGE_KEYS_SQL
                                            : PB_STORE_THREADS_RANGE_KEYS_SQL, error);
  else
    stmt = pb_store_db_prepare (db, inboxes ? PB_STORE_INBOXES_RANGE_KEYS_SQL
                                            : PB_STORE_RANGE_KEYS_SQL, error);
  if (stmt == NULL)
    return FALSE;
  bind_range (stmt, folder_id, range);
  range->keys = g_array_new (FALSE, FALSE, sizeof (PbStoreOrderKey));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      PbStoreOrderKey key = { sqlite3_column_int64 (stmt, 1), sqlite3_column_int64 (stmt, 0) };

      g_array_append_val (range->keys, key);
    }
  if (rc != SQLITE_DONE)
    goto fail;
  sqlite3_reset (stmt);

  range->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_message_summary_free);
  if (range->max_rows == 0 || range->keys->len == 0)
    return TRUE;
  if (threads)
    stmt = pb_store_db_prepare (db, inboxes ? PB_STORE_INBOXES_THREADS_RANGE_ROWS_SQL
                                            : PB_STORE_THREADS_RANGE_ROWS_SQL, error);
  else
    stmt = pb_store_db_prepare (db, inboxes ? PB_STORE_INBOXES_RANGE_ROWS_SQL
                                            : PB_STORE_RANGE_ROWS_SQL, error);
  if (stmt == NULL)
    return FALSE;
  bind_range (stmt, folder_id, range);
  sqlite3_bind_int64 (stmt, 6, range->max_rows);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (range->rows, pb_store_summary_from_row (stmt));
  if (rc != SQLITE_DONE)
    goto fail;
  sqlite3_reset (stmt);
  return TRUE;

fail:
  pb_store_set_sqlite_error (error, db->db, rc, "read range");
  return FALSE;
}

/*
 * Fills in the out fields of @ranges and sets @total to the folder's number of messages, all
 * from one snapshot. On failure the out fields are cleared.
 */
gboolean
pb_store_read_ranges (PbStore       *self,
                      gint64         folder_id,
                      PbStoreRange  *ranges,
                      guint          n_ranges,
                      guint         *total,
                      GError       **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  gboolean threads;
  gboolean ok = FALSE;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);
  g_return_val_if_fail (ranges != NULL || n_ranges == 0, FALSE);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return FALSE;
  threads = pb_store_take_threads_bit (&folder_id);
  folder_id = pb_store_resolve_folder (db, folder_id);

  if (threads)
    stmt = pb_store_db_prepare (db, folder_id == PB_STORE_FOLDER_INBOXES
                                    ? PB_STORE_COUNT_INBOXES_THREADS_SQL
                                    : PB_STORE_COUNT_THREADS_SQL, error);
  else
    stmt = pb_store_db_prepare (db, folder_id == PB_STORE_FOLDER_INBOXES
                                    ? "SELECT count(*) FROM messages WHERE "
                                      PB_STORE_INBOXES_MATCH ("folder_id")
                                    : "SELECT count(*) FROM messages WHERE folder_id = ?1",
                                error);
  if (stmt == NULL)
    goto out;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "read ranges");
      goto out;
    }
  *total = (guint) sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  for (guint i = 0; i < n_ranges; i++)
    if (!read_range (db, folder_id, threads, &ranges[i], error))
      goto out;
  ok = TRUE;

out:
  pb_store_read_end (self, db);
  if (!ok)
    for (guint i = 0; i < n_ranges; i++)
      pb_store_range_clear (&ranges[i]);
  return ok;
}

typedef struct {
  gint64  folder_id;
  GArray *ranges;
  guint   total;
} ReadRanges;

static void
read_ranges_free (ReadRanges *data)
{
  g_clear_pointer (&data->ranges, g_array_unref);
  g_free (data);
}

static void
read_ranges_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  ReadRanges *data = task_data;
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (task))
    return;
  if (pb_store_read_ranges (source_object, data->folder_id, (PbStoreRange *) data->ranges->data,
                            data->ranges->len, &data->total, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/*
 * Runs pb_store_read_ranges() off the calling thread. Takes @ranges (an array of PbStoreRange
 * whose clear function is pb_store_range_clear()); _finish hands it back filled in.
 */
void
pb_store_read_ranges_async (PbStore             *self,
                            gint64               folder_id,
                            GArray              *ranges,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ReadRanges *data;

  g_return_if_fail (PB_IS_STORE (self));
  g_return_if_fail (ranges != NULL);

  data = g_new0 (ReadRanges, 1);
  data->folder_id = folder_id;
  data->ranges = ranges;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pb_store_read_ranges_async);
  g_task_set_check_cancellable (task, TRUE);
  g_task_set_task_data (task, data, (GDestroyNotify) read_ranges_free);
  g_task_run_in_thread (task, read_ranges_thread);
}

GArray *
pb_store_read_ranges_finish (PbStore       *self,
                             GAsyncResult  *result,
                             guint         *total,
                             GError       **error)
{
  ReadRanges *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pb_store_read_ranges_async,
                        NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  data = g_task_get_task_data (G_TASK (result));
  *total = data->total;
  return g_steal_pointer (&data->ranges);
}
