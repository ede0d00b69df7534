/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include "pb-store-private.h"

/**
 * pb_store_lookup_message_id:
 * @folder_id: the folder
 * @message_id: a Message-ID without angle brackets
 * @error: return location for a #PbStoreError
 *
 * Finds a message by its Message-ID, e.g. one that a move gave a new UID in another folder.
 * The messages_message_id index makes this cheap in a folder of any size.
 *
 * Returns: the newest such message's UID, or 0 if there is none (@error unset) or on failure
 */
guint32
pb_store_lookup_message_id (PbStore     *self,
                            gint64       folder_id,
                            const char  *message_id,
                            GError     **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  guint32 uid = 0;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), 0);
  g_return_val_if_fail (message_id != NULL, 0);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return 0;
  stmt = pb_store_db_prepare (db,
                              "SELECT uid FROM messages WHERE message_id = ?2 AND folder_id = ?1"
                              " ORDER BY uid DESC LIMIT 1",
                              error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, folder_id);
      sqlite3_bind_text (stmt, 2, message_id, -1, SQLITE_TRANSIENT);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        uid = (guint32) sqlite3_column_int64 (stmt, 0);
      else if (rc != SQLITE_DONE)
        pb_store_set_sqlite_error (error, db->db, rc, "look up message id");
    }
  pb_store_read_end (self, db);
  return uid;
}

/*
 * The folder a query of @folder_id reads, inside the caller's read transaction: the unified
 * inbox of a profile with one inbox is that inbox, whose (folder, date) index gives the order
 * directly; only several inboxes need the merged query.
 */
gint64
pb_store_resolve_folder (PbStoreDb *db,
                         gint64     folder_id)
{
  sqlite3_stmt *stmt;
  gint64 only = 0;
  guint n = 0;

  if (folder_id != PB_STORE_FOLDER_INBOXES)
    return folder_id;
  stmt = pb_store_db_prepare (db, "SELECT id FROM folders WHERE role = 0 LIMIT 2", NULL);
  if (stmt == NULL)
    return folder_id;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      only = sqlite3_column_int64 (stmt, 0);
      n++;
    }
  sqlite3_reset (stmt);
  return n == 1 ? only : folder_id;
}
