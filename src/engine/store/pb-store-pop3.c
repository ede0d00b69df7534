/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "pb-fault.h"
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

/* Local folders
 *
 * A folder listed in local_folders (migration 4) exists only in the store: the store is the
 * only copy of its messages, so a move between two local folders is done here, not left to a
 * server. */

/**
 * pb_store_set_folders_local:
 *
 * Marks every folder of @account as local (a POP3 account's). Writes only if one is not.
 */
gboolean
pb_store_set_folders_local (PbStore     *self,
                            const char  *account,
                            GError     **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return FALSE;
  stmt = pb_store_db_prepare (db, "SELECT 1 FROM folders f WHERE account = ? AND NOT EXISTS"
                              " (SELECT 1 FROM local_folders WHERE folder_id = f.id) LIMIT 1",
                              error);
  if (stmt == NULL)
    {
      pb_store_read_end (self, db);
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    pb_store_set_sqlite_error (error, db->db, rc, "find local folders");
  pb_store_read_end (self, db);
  if (rc != SQLITE_ROW)
    return rc == SQLITE_DONE;

  db = pb_store_write_begin (self, FALSE, error);
  if (db == NULL)
    return FALSE;
  stmt = pb_store_db_prepare (db, "INSERT OR IGNORE INTO local_folders (folder_id)"
                              " SELECT id FROM folders WHERE account = ?",
                              error);
  if (stmt == NULL)
    {
      pb_store_write_rollback (self);
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "mark folders local");
      pb_store_write_rollback (self);
      return FALSE;
    }
  return pb_store_write_commit (self, error);
}

/**
 * pb_store_folder_is_local:
 *
 * Returns: whether @folder_id exists only in the store; %FALSE with @error set on an error
 */
gboolean
pb_store_folder_is_local (PbStore     *self,
                          gint64       folder_id,
                          GError     **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  gboolean local = FALSE;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return FALSE;
  stmt = pb_store_db_prepare (db, "SELECT count(*) FROM local_folders WHERE folder_id = ?",
                              error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, folder_id);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        local = sqlite3_column_int (stmt, 0) != 0;
      else if (rc != SQLITE_DONE)
        pb_store_set_sqlite_error (error, db->db, rc, "folder is local");
      sqlite3_reset (stmt);
    }
  pb_store_read_end (self, db);
  return local;
}

/* Gives the body file its name in the destination folder as a second (hard) link, durably,
 * so that the row can point at it in the same transaction that moves the row. The name
 * follows pb-store-messages.c: "messages/<folder id>/<uidvalidity>-<uid>.eml". A link left
 * by a crash before the commit names a UID that was never handed out; it is replaced. */
static gboolean
link_body (PbStore      *self,
           const char   *old_body_path,
           gint64        destination_id,
           guint32       uidvalidity,
           guint32       uid,
           char        **new_body_path,
           GError      **error)
{
  g_autofree char *old_path = pb_store_body_abs_path (self, old_body_path);
  g_autofree char *folder_name = g_strdup_printf ("%" G_GINT64_FORMAT, destination_id);
  g_autofree char *messages_dir = g_build_filename (self->dir, "messages", NULL);
  g_autofree char *folder_dir = g_build_filename (messages_dir, folder_name, NULL);
  g_autofree char *file_name = g_strdup_printf ("%u-%u.eml", uidvalidity, uid);
  g_autofree char *new_path = g_build_filename (folder_dir, file_name, NULL);

  *new_body_path = NULL;
  if (old_path == NULL)
    return TRUE;
  if (!g_file_test (folder_dir, G_FILE_TEST_IS_DIR))
    {
      if (g_mkdir_with_parents (folder_dir, 0700) != 0)
        {
          pb_store_set_file_error (error, errno, _("Could not move the message"), folder_dir);
          return FALSE;
        }
      if (!pb_store_fsync_dir (messages_dir, _("Could not move the message"), error))
        return FALSE;
    }
  g_unlink (new_path);
  if (link (old_path, new_path) != 0)
    {
      /* The file is gone already: the row loses its body, as pb_store_get_raw() would find. */
      if (errno == ENOENT && !g_file_test (old_path, G_FILE_TEST_EXISTS))
        return TRUE;
      pb_store_set_file_error (error, errno, _("Could not move the message"), new_path);
      return FALSE;
    }
  if (!pb_store_fsync_dir (folder_dir, _("Could not move the message"), error))
    {
      g_unlink (new_path);
      return FALSE;
    }
  *new_body_path = g_strconcat ("messages/", folder_name, "/", file_name, NULL);
  return TRUE;
}

/* Runs @stmt once, bound already; FALSE with @error on failure. */
static gboolean
step_done (PbStoreDb     *db,
           sqlite3_stmt  *stmt,
           const char    *what,
           GError       **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, what);
      return FALSE;
    }
  return TRUE;
}

/**
 * pb_store_move_local:
 * @account: the account both folders belong to
 * @folder_id: the local folder the message is in
 * @uid: the message
 * @destination_id: another local folder of @account
 * @journal_op: (nullable): if set, a journal entry (@journal_op, @destination_id, its
 *   UIDVALIDITY, the new UID, @journal_arg) is added in the same transaction
 * @journal_arg: (nullable): its argument
 * @new_uid: (out) (optional): the message's UID in @destination_id
 *
 * Moves a message between two local folders, in one durable transaction: the row (and with it
 * its full-text entries, keyed by the row id) gets @destination_id and a fresh UID from the
 * destination's uidnext, the body file a name in the destination's directory, and the POP3
 * ledger row of the message follows it. The message is never anywhere but in one of the two
 * folders, complete.
 *
 * Returns: %TRUE on success; %PB_STORE_ERROR_NOT_FOUND if there is no such message or either
 *   folder is not a local folder of @account
 */
gboolean
pb_store_move_local (PbStore     *self,
                     const char  *account,
                     gint64       folder_id,
                     guint32      uid,
                     gint64       destination_id,
                     const char  *journal_op,
                     const char  *journal_arg,
                     guint32     *new_uid,
                     GError     **error)
{
  g_autofree char *old_body_path = NULL;
  g_autofree char *new_body_path = NULL;
  guint32 destination_uidvalidity = 0, uid_to = 0;
  gint64 message_id = 0;
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);
  g_return_val_if_fail (account != NULL, FALSE);

  if (folder_id == destination_id)
    {
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_FAILED,
                   _("The message is in that folder already"));
      return FALSE;
    }
  db = pb_store_write_begin (self, TRUE, error);
  if (db == NULL)
    return FALSE;

  stmt = pb_store_db_prepare (db,
                              "SELECT m.id, m.body_path, d.uidvalidity FROM messages m"
                              " JOIN folders f ON f.id = m.folder_id"
                              " JOIN folders d ON d.id = ?3"
                              " JOIN local_folders lf ON lf.folder_id = f.id"
                              " JOIN local_folders ld ON ld.folder_id = d.id"
                              " WHERE m.folder_id = ?1 AND m.uid = ?2"
                              "  AND f.account = ?4 AND d.account = ?4",
                              error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, uid);
  sqlite3_bind_int64 (stmt, 3, destination_id);
  sqlite3_bind_text (stmt, 4, account, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      message_id = sqlite3_column_int64 (stmt, 0);
      old_body_path = pb_store_column_text (stmt, 1);
      destination_uidvalidity = (guint32) sqlite3_column_int64 (stmt, 2);
    }
  sqlite3_reset (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                   _("There is no message %u in a local folder %lld of account “%s”"), uid,
                   (long long) folder_id, account);
      goto fail;
    }
  if (rc != SQLITE_ROW)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "move locally");
      goto fail;
    }

  if (!next_uid (db, destination_id, &uid_to, error))
    goto fail;
  if (uid_to == G_MAXUINT32)
    {
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_FAILED,
                   _("The folder has run out of message numbers"));
      goto fail;
    }
  if (!link_body (self, old_body_path, destination_id, destination_uidvalidity, uid_to,
                  &new_body_path, error))
    goto fail;

  stmt = pb_store_db_prepare (db,
                              "UPDATE messages SET folder_id = ?2, uid = ?3, body_path = ?4"
                              " WHERE id = ?1",
                              error);
  if (stmt == NULL)
    goto fail_unlink;
  sqlite3_bind_int64 (stmt, 1, message_id);
  sqlite3_bind_int64 (stmt, 2, destination_id);
  sqlite3_bind_int64 (stmt, 3, uid_to);
  sqlite3_bind_text (stmt, 4, new_body_path, -1, SQLITE_STATIC);
  if (!step_done (db, stmt, "move locally", error)
      || !set_uidnext (db, destination_id, uid_to + 1, error))
    goto fail_unlink;

  /* A REFETCH row (uid 0) names no local message. */
  stmt = pb_store_db_prepare (db,
                              "UPDATE pop3_uidl SET folder_id = ?4, uid = ?5"
                              " WHERE folder_id = ?2 AND uid = ?3 AND account = ?1 AND uid != 0",
                              error);
  if (stmt == NULL)
    goto fail_unlink;
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, folder_id);
  sqlite3_bind_int64 (stmt, 3, uid);
  sqlite3_bind_int64 (stmt, 4, destination_id);
  sqlite3_bind_int64 (stmt, 5, uid_to);
  if (!step_done (db, stmt, "move POP3 ledger row", error))
    goto fail_unlink;

  if (journal_op != NULL)
    {
      stmt = pb_store_db_prepare (db,
                                  "INSERT INTO journal (account, op, folder_id, uidvalidity,"
                                  "  uid, arg, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                  error);
      if (stmt == NULL)
        goto fail_unlink;
      sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, journal_op, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 3, destination_id);
      sqlite3_bind_int64 (stmt, 4, destination_uidvalidity);
      sqlite3_bind_int64 (stmt, 5, uid_to);
      sqlite3_bind_text (stmt, 6, journal_arg, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 7, g_get_real_time () / G_USEC_PER_SEC);
      if (!step_done (db, stmt, "journal add", error))
        goto fail_unlink;
    }

  pb_fault_point ("move-local-before-commit");
  if (!pb_store_write_commit (self, error))
    {
      if (new_body_path != NULL)
        {
          g_autofree char *path = pb_store_body_abs_path (self, new_body_path);
          g_unlink (path);
        }
      return FALSE;
    }

  pb_fault_point ("move-local-after-commit");
  /* The old name is no longer referenced; a crash before this unlink leaves a stray file
   * under a UID of the source that is never handed out again (uidnext only grows). */
  if (old_body_path != NULL && new_body_path != NULL)
    {
      g_autofree char *path = pb_store_body_abs_path (self, old_body_path);

      if (path != NULL)
        g_unlink (path);
    }
  if (new_uid != NULL)
    *new_uid = uid_to;
  return TRUE;

fail_unlink:
  if (new_body_path != NULL)
    {
      g_autofree char *path = pb_store_body_abs_path (self, new_body_path);
      g_unlink (path);
    }
fail:
  pb_store_write_rollback (self);
  return FALSE;
}
