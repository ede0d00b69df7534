/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include <glib/gi18n.h>

#include "pb-store-private.h"

/*
 * The offline operation journal of PbStore: what the user did that the server has not seen
 * yet. It is the one table that cannot be rebuilt from a server, so every change to it
 * commits durably (synchronous=FULL).
 */

void
pb_journal_entry_free (PbJournalEntry *entry)
{
  if (entry == NULL)
    return;

  g_free (entry->account);
  g_free (entry->op);
  g_free (entry->arg);
  g_free (entry);
}

/**
 * pb_store_journal_add:
 * @account: the account's name
 * @op: the operation
 * @folder_id: the folder it acts on
 * @uidvalidity: the UIDVALIDITY of @uid
 * @uid: the message, or 0
 * @arg: (nullable): the operation's argument
 *
 * Returns: the new entry's id, or 0 with @error set
 */
gint64
pb_store_journal_add (PbStore     *self,
                      const char  *account,
                      const char  *op,
                      gint64       folder_id,
                      guint32      uidvalidity,
                      guint32      uid,
                      const char  *arg,
                      GError     **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  gint64 id;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), 0);
  g_return_val_if_fail (account != NULL, 0);
  g_return_val_if_fail (op != NULL, 0);

  db = pb_store_write_begin (self, TRUE, error);
  if (db == NULL)
    return 0;
  stmt = pb_store_db_prepare (db,
                              "INSERT INTO journal (account, op, folder_id, uidvalidity, uid, arg,"
                              "  created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              error);
  if (stmt == NULL)
    {
      pb_store_write_rollback (self);
      return 0;
    }
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, op, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, folder_id);
  sqlite3_bind_int64 (stmt, 4, uidvalidity);
  sqlite3_bind_int64 (stmt, 5, uid);
  sqlite3_bind_text (stmt, 6, arg, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 7, g_get_real_time () / G_USEC_PER_SEC);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "journal add");
      pb_store_write_rollback (self);
      return 0;
    }
  id = sqlite3_last_insert_rowid (db->db);
  if (!pb_store_write_commit (self, error))
    return 0;
  return id;
}

/**
 * pb_store_journal_add_batch:
 * @account: the account's name
 * @op: the operation, the same for every message
 * @folder_id: the folder it acts on
 * @uidvalidity: the UIDVALIDITY of @uids
 * @uids: (array length=n): the messages, one entry each
 * @n: the number of @uids
 * @arg: (nullable): the operation's argument, the same for every message
 *
 * Adds one entry per UID, in the order given, as pb_store_journal_add() would, but in one
 * transaction: either all entries are added or none, and the whole batch costs one durable
 * flush instead of one per message (flagging 500 selected messages is one fsync, not 500).
 * The entries get consecutive ids, because all writes are serialised on one connection.
 *
 * Returns: %TRUE on success (also when @n is 0, which writes nothing)
 */
gboolean
pb_store_journal_add_batch (PbStore        *self,
                            const char     *account,
                            const char     *op,
                            gint64          folder_id,
                            guint32         uidvalidity,
                            const guint32  *uids,
                            guint           n,
                            const char     *arg,
                            GError        **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  gint64 created;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);
  g_return_val_if_fail (account != NULL, FALSE);
  g_return_val_if_fail (op != NULL, FALSE);
  g_return_val_if_fail (uids != NULL || n == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n == 0)
    return TRUE;

  db = pb_store_write_begin (self, TRUE, error);
  if (db == NULL)
    return FALSE;
  stmt = pb_store_db_prepare (db,
                              "INSERT INTO journal (account, op, folder_id, uidvalidity, uid, arg,"
                              "  created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              error);
  if (stmt == NULL)
    {
      pb_store_write_rollback (self);
      return FALSE;
    }

  /* One time for the whole batch: it is one action of the user. */
  created = g_get_real_time () / G_USEC_PER_SEC;
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, op, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, folder_id);
  sqlite3_bind_int64 (stmt, 4, uidvalidity);
  sqlite3_bind_text (stmt, 6, arg, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 7, created);
  for (guint i = 0; i < n; i++)
    {
      int rc;

      /* sqlite3_reset() keeps the bindings, so only the UID changes per row. */
      sqlite3_bind_int64 (stmt, 5, uids[i]);
      rc = sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        {
          pb_store_set_sqlite_error (error, db->db, rc, "journal add batch");
          pb_store_write_rollback (self);
          return FALSE;
        }
    }
  return pb_store_write_commit (self, error);
}

/**
 * pb_store_journal_list:
 * @account: (nullable): the account's name, or %NULL for all accounts
 *
 * Returns: (transfer full) (element-type PbJournalEntry): the entries in the order they were
 *   added, or %NULL with @error set
 */
GPtrArray *
pb_store_journal_list (PbStore     *self,
                       const char  *account,
                       GError     **error)
{
  g_autoptr(GPtrArray) entries = NULL;
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc = SQLITE_ERROR;

  g_return_val_if_fail (PB_IS_STORE (self), NULL);

  entries = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_journal_entry_free);
  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return NULL;
  if (account != NULL)
    stmt = pb_store_db_prepare (db,
                                "SELECT id, account, op, folder_id, uidvalidity, uid, arg, created"
                                " FROM journal WHERE account = ? ORDER BY id",
                                error);
  else
    stmt = pb_store_db_prepare (db,
                                "SELECT id, account, op, folder_id, uidvalidity, uid, arg, created"
                                " FROM journal ORDER BY id",
                                error);
  if (stmt != NULL)
    {
      if (account != NULL)
        sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          PbJournalEntry *entry = g_new0 (PbJournalEntry, 1);

          entry->id = sqlite3_column_int64 (stmt, 0);
          entry->account = pb_store_column_text (stmt, 1);
          entry->op = pb_store_column_text (stmt, 2);
          entry->folder_id = sqlite3_column_int64 (stmt, 3);
          entry->uidvalidity = (guint32) sqlite3_column_int64 (stmt, 4);
          entry->uid = (guint32) sqlite3_column_int64 (stmt, 5);
          entry->arg = pb_store_column_text (stmt, 6);
          entry->created = sqlite3_column_int64 (stmt, 7);
          g_ptr_array_add (entries, entry);
        }
      if (rc != SQLITE_DONE)
        pb_store_set_sqlite_error (error, db->db, rc, "journal list");
    }
  pb_store_read_end (self, db);
  return rc == SQLITE_DONE ? g_steal_pointer (&entries) : NULL;
}

/**
 * pb_store_journal_remove:
 * @id: the entry, once the server has applied (or refused) it
 *
 * Returns: %TRUE on success; %PB_STORE_ERROR_NOT_FOUND if there is no such entry
 */
gboolean
pb_store_journal_remove (PbStore  *self,
                         gint64    id,
                         GError  **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);

  db = pb_store_write_begin (self, TRUE, error);
  if (db == NULL)
    return FALSE;
  stmt = pb_store_db_prepare (db, "DELETE FROM journal WHERE id = ?", error);
  if (stmt == NULL)
    {
      pb_store_write_rollback (self);
      return FALSE;
    }
  sqlite3_bind_int64 (stmt, 1, id);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "journal remove");
      pb_store_write_rollback (self);
      return FALSE;
    }
  if (sqlite3_changes (db->db) == 0)
    {
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                   _("There is no journal entry %lld"), (long long) id);
      pb_store_write_rollback (self);
      return FALSE;
    }
  return pb_store_write_commit (self, error);
}
