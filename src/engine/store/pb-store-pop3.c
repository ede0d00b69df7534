/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include <glib/gi18n.h>

#include "pb-store-pop3.h"
#include "pb-store-private.h"

/*
 * The POP3 UIDL ledger. A POP3 server numbers messages anew in every session; only the UIDL
 * names a message across sessions. The ledger maps each UIDL ever downloaded to the local
 * folder and UID it became, so that nothing is downloaded twice, and says which messages are
 * safe to delete on the server: only those whose row is STORED, which is written after the
 * message itself is durable.
 *
 * Local UIDs: POP3 messages live in local folders, numbered from the folder's uidnext, which
 * these functions advance; the ledger's own UIDs count too, so a UID reserved by a sync that
 * crashed is never handed out twice.
 */

void
pb_pop3_ledger_row_free (PbPop3LedgerRow *row)
{
  if (row == NULL)
    return;
  g_free (row->uidl);
  g_free (row);
}

/**
 * pb_store_pop3_ledger_load:
 *
 * Returns: (transfer full) (element-type utf8 PbPop3LedgerRow): the account's ledger by UIDL
 */
GHashTable *
pb_store_pop3_ledger_load (PbStore     *self,
                           const char  *account,
                           GError     **error)
{
  g_autoptr(GHashTable) rows = NULL;
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), NULL);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return NULL;
  stmt = pb_store_db_prepare (db,
                              "SELECT uidl, folder_id, uid, first_seen, state, headers_only,"
                              "  on_server, delete_wanted FROM pop3_uidl WHERE account = ?",
                              error);
  if (stmt == NULL)
    {
      pb_store_read_end (self, db);
      return NULL;
    }
  rows = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                (GDestroyNotify) pb_pop3_ledger_row_free);
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      PbPop3LedgerRow *row = g_new0 (PbPop3LedgerRow, 1);

      row->uidl = pb_store_column_text (stmt, 0);
      row->folder_id = sqlite3_column_int64 (stmt, 1);
      row->uid = (guint32) sqlite3_column_int64 (stmt, 2);
      row->first_seen = sqlite3_column_int64 (stmt, 3);
      row->state = sqlite3_column_int (stmt, 4);
      row->headers_only = sqlite3_column_int (stmt, 5) != 0;
      row->on_server = sqlite3_column_int (stmt, 6) != 0;
      row->delete_wanted = sqlite3_column_int (stmt, 7) != 0;
      g_hash_table_replace (rows, row->uidl, row);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "load POP3 ledger");
      pb_store_read_end (self, db);
      return NULL;
    }
  pb_store_read_end (self, db);
  return g_steal_pointer (&rows);
}

/* The next free UID of a folder, inside the write transaction on @db. */
static gboolean
next_uid (PbStoreDb  *db,
          gint64      folder_id,
          guint32    *uid,
          GError    **error)
{
  sqlite3_stmt *stmt;
  int rc;

  stmt = pb_store_db_prepare (db,
                              "SELECT max (f.uidnext,"
                              "  (SELECT coalesce (max (uid), 0) + 1 FROM messages"
                              "   WHERE folder_id = f.id),"
                              "  (SELECT coalesce (max (uid), 0) + 1 FROM pop3_uidl"
                              "   WHERE folder_id = f.id), 1)"
                              " FROM folders f WHERE f.id = ?",
                              error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *uid = (guint32) MIN (sqlite3_column_int64 (stmt, 0), G_MAXUINT32);
  sqlite3_reset (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                   _("There is no folder %lld in the mail store"), (long long) folder_id);
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "next UID");
      return FALSE;
    }
  return TRUE;
}

static gboolean
set_uidnext (PbStoreDb  *db,
             gint64      folder_id,
             guint32     uidnext,
             GError    **error)
{
  sqlite3_stmt *stmt = pb_store_db_prepare (db, "UPDATE folders SET uidnext = ? WHERE id = ?",
                                            error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, uidnext);
  sqlite3_bind_int64 (stmt, 2, folder_id);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "set uidnext");
      return FALSE;
    }
  return TRUE;
}

/**
 * pb_store_pop3_ledger_reserve:
 * @uidls: (array length=n): messages about to be stored in @folder_id
 * @headers_only: (array length=n): whether only the header will be stored
 * @now: the time to record as first seen for UIDLs new to the ledger
 * @uids_out: (array length=n): the local UIDs reserved for them; 0 for a UIDL that is known
 *   already and not waiting for a download (another sync got it first): skip that message
 *
 * Writes PENDING rows with fresh local UIDs, before the messages are stored. A row of a UIDL
 * known already (a REFETCH) keeps its first-seen time.
 */
gboolean
pb_store_pop3_ledger_reserve (PbStore             *self,
                              const char          *account,
                              gint64               folder_id,
                              const char * const  *uidls,
                              const gboolean      *headers_only,
                              guint                n,
                              gint64               now,
                              guint32             *uids_out,
                              GError             **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  guint32 uid;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);

  if (n == 0)
    return TRUE;
  db = pb_store_write_begin (self, FALSE, error);
  if (db == NULL)
    return FALSE;
  if (!next_uid (db, folder_id, &uid, error))
    goto fail;
  stmt = pb_store_db_prepare (db,
                              "INSERT INTO pop3_uidl (account, uidl, folder_id, uid, first_seen,"
                              "  state, headers_only) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)"
                              " ON CONFLICT (account, uidl) DO UPDATE SET"
                              "  folder_id = excluded.folder_id, uid = excluded.uid, state = 0,"
                              "  headers_only = excluded.headers_only"
                              " WHERE pop3_uidl.state = 2",
                              error);
  if (stmt == NULL)
    goto fail;
  for (guint i = 0; i < n; i++)
    {
      int rc;

      if (uid == G_MAXUINT32)
        {
          g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_FAILED,
                       _("The folder has run out of message numbers"));
          goto fail;
        }
      sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, uidls[i], -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 3, folder_id);
      sqlite3_bind_int64 (stmt, 4, uid);
      sqlite3_bind_int64 (stmt, 5, now);
      sqlite3_bind_int (stmt, 6, headers_only && headers_only[i] ? 1 : 0);
      rc = sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        {
          pb_store_set_sqlite_error (error, db->db, rc, "reserve POP3 ledger");
          goto fail;
        }
      /* No change: the UIDL has a row that is not waiting for a download, because another
       * sync (another process) stored it meanwhile. Storing it again would duplicate it. */
      uids_out[i] = sqlite3_changes (db->db) > 0 ? uid++ : 0;
    }
  if (!set_uidnext (db, folder_id, uid, error))
    goto fail;
  return pb_store_write_commit (self, error);

fail:
  pb_store_write_rollback (self);
  return FALSE;
}

/**
 * pb_store_pop3_ledger_set:
 * @column: "state", "headers_only", "on_server" or "delete_wanted"
 * @durable: commit with synchronous=FULL (needed before a DELE relies on it)
 *
 * Sets @column to @value in the rows of @uidls, in one transaction.
 */
gboolean
pb_store_pop3_ledger_set (PbStore             *self,
                          const char          *account,
                          const char * const  *uidls,
                          guint                n,
                          const char          *column,
                          gint64               value,
                          gboolean             durable,
                          GError             **error)
{
  static const char * const sql[] = {
    "UPDATE pop3_uidl SET state = ?3 WHERE account = ?1 AND uidl = ?2",
    "UPDATE pop3_uidl SET headers_only = ?3 WHERE account = ?1 AND uidl = ?2",
    "UPDATE pop3_uidl SET on_server = ?3 WHERE account = ?1 AND uidl = ?2",
    "UPDATE pop3_uidl SET delete_wanted = ?3 WHERE account = ?1 AND uidl = ?2",
    "DELETE FROM pop3_uidl WHERE account = ?1 AND uidl = ?2 AND ?3 = ?3",
  };
  static const char * const columns[] = {
    "state", "headers_only", "on_server", "delete_wanted", "forget",
  };
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  guint which;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);

  for (which = 0; which < G_N_ELEMENTS (columns); which++)
    if (g_strcmp0 (column, columns[which]) == 0)
      break;
  g_return_val_if_fail (which < G_N_ELEMENTS (columns), FALSE);

  if (n == 0)
    return TRUE;
  db = pb_store_write_begin (self, durable, error);
  if (db == NULL)
    return FALSE;
  stmt = pb_store_db_prepare (db, sql[which], error);
  if (stmt == NULL)
    {
      pb_store_write_rollback (self);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      int rc;

      sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, uidls[i], -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 3, value);
      rc = sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        {
          pb_store_set_sqlite_error (error, db->db, rc, "update POP3 ledger");
          pb_store_write_rollback (self);
          return FALSE;
        }
    }
  return pb_store_write_commit (self, error);
}

/* Marks a UIDL to be downloaded again into @folder_id (its local copy is gone). */
gboolean
pb_store_pop3_ledger_refetch (PbStore     *self,
                              const char  *account,
                              const char  *uidl,
                              gint64       folder_id,
                              GError     **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc;

  db = pb_store_write_begin (self, FALSE, error);
  if (db == NULL)
    return FALSE;
  stmt = pb_store_db_prepare (db,
                              "UPDATE pop3_uidl SET state = 2, folder_id = ?3, uid = 0"
                              " WHERE account = ?1 AND uidl = ?2",
                              error);
  if (stmt == NULL)
    {
      pb_store_write_rollback (self);
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, uidl, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, folder_id);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "refetch POP3 message");
      pb_store_write_rollback (self);
      return FALSE;
    }
  return pb_store_write_commit (self, error);
}

/**
 * pb_store_pop3_ledger_find:
 *
 * Returns: (nullable): the UIDL the local message @folder_id/@uid came from, or %NULL (a
 *   local message such as a sent copy, or an error)
 */
char *
pb_store_pop3_ledger_find (PbStore     *self,
                           const char  *account,
                           gint64       folder_id,
                           guint32      uid,
                           GError     **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  char *uidl = NULL;
  int rc;

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return NULL;
  stmt = pb_store_db_prepare (db,
                              "SELECT uidl FROM pop3_uidl WHERE folder_id = ?1 AND uid = ?2"
                              " AND account = ?3 AND state != 2",
                              error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, folder_id);
      sqlite3_bind_int64 (stmt, 2, uid);
      sqlite3_bind_text (stmt, 3, account, -1, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        uidl = pb_store_column_text (stmt, 0);
      else if (rc != SQLITE_DONE)
        pb_store_set_sqlite_error (error, db->db, rc, "find POP3 message");
      sqlite3_reset (stmt);
    }
  pb_store_read_end (self, db);
  return uidl;
}

/* Reserves one local UID in @folder_id (for a message stored locally only, such as the copy
 * of a sent message). Returns 0 on error. */
guint32
pb_store_pop3_allocate_uid (PbStore     *self,
                            gint64       folder_id,
                            GError     **error)
{
  PbStoreDb *db;
  guint32 uid = 0;

  db = pb_store_write_begin (self, FALSE, error);
  if (db == NULL)
    return 0;
  if (!next_uid (db, folder_id, &uid, error) || uid == G_MAXUINT32
      || !set_uidnext (db, folder_id, uid + 1, error))
    {
      pb_store_write_rollback (self);
      return 0;
    }
  if (!pb_store_write_commit (self, error))
    return 0;
  return uid;
}
