/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pb-store-private.h"

/* Folders of PbStore: one row per folder of each account, with the server state the sync
 * needs to resume (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ). */

static void
set_folder_not_found (GError **error,
                      gint64   folder_id)
{
  g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
               _("There is no folder %lld in the mail store"), (long long) folder_id);
}

/**
 * pb_store_ensure_folder:
 * @account: the account's name
 * @info: the folder as the server lists it
 *
 * Adds the folder, or updates its role, selectability and remote name if it is known.
 *
 * Returns: the folder's id, or 0 with @error set
 */
gint64
pb_store_ensure_folder (PbStore       *self,
                        const char    *account,
                        PbFolderInfo  *info,
                        GError       **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  gint64 id = 0;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), 0);
  g_return_val_if_fail (account != NULL, 0);
  g_return_val_if_fail (PB_IS_FOLDER_INFO (info), 0);

  db = pb_store_write_begin (self, FALSE, error);
  if (db == NULL)
    return 0;
  stmt = pb_store_db_prepare (db,
                              "INSERT INTO folders (account, path, remote_name, role, selectable)"
                              " VALUES (?1, ?2, ?3, ?4, ?5)"
                              " ON CONFLICT (account, path) DO UPDATE SET"
                              "  remote_name = excluded.remote_name, role = excluded.role,"
                              "  selectable = excluded.selectable"
                              " RETURNING id",
                              error);
  if (stmt == NULL)
    {
      pb_store_write_rollback (self);
      return 0;
    }
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, pb_folder_info_get_path (info), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, pb_folder_info_get_remote_name (info), -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 4, pb_folder_info_get_role (info));
  sqlite3_bind_int (stmt, 5, pb_folder_info_get_selectable (info) ? 1 : 0);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  else
    pb_store_set_sqlite_error (error, db->db, rc, "ensure folder");
  sqlite3_reset (stmt);

  if (id == 0)
    {
      pb_store_write_rollback (self);
      return 0;
    }
  if (!pb_store_write_commit (self, error))
    return 0;
  return id;
}

/**
 * pb_store_lookup_folder:
 * @account: the account's name
 * @path: the folder's path ("/" between levels)
 *
 * Returns: the folder's id, or 0 if there is no such folder (@error is only set when the
 *   store could not be read)
 */
gint64
pb_store_lookup_folder (PbStore     *self,
                        const char  *account,
                        const char  *path,
                        GError     **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  gint64 id = 0;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), 0);
  g_return_val_if_fail (account != NULL, 0);
  g_return_val_if_fail (path != NULL, 0);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return 0;
  stmt = pb_store_db_prepare (db, "SELECT id FROM folders WHERE account = ? AND path = ?", error);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, path, -1, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        id = sqlite3_column_int64 (stmt, 0);
      else if (rc != SQLITE_DONE)
        pb_store_set_sqlite_error (error, db->db, rc, "lookup folder");
    }
  pb_store_read_end (self, db);
  return id;
}

static int
compare_folders (gconstpointer a,
                 gconstpointer b)
{
  return pb_folder_info_compare (*(PbFolderInfo **) a, *(PbFolderInfo **) b);
}

/**
 * pb_store_list_folders:
 * @account: the account's name
 *
 * Returns: (transfer full) (element-type PbFolderInfo): the account's folders, special folders
 *   first (see pb_folder_info_compare()), or %NULL with @error set
 */
GPtrArray *
pb_store_list_folders (PbStore     *self,
                       const char  *account,
                       GError     **error)
{
  g_autoptr(GPtrArray) folders = g_ptr_array_new_with_free_func (g_object_unref);
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc = SQLITE_ERROR;

  g_return_val_if_fail (PB_IS_STORE (self), NULL);
  g_return_val_if_fail (account != NULL, NULL);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return NULL;
  stmt = pb_store_db_prepare (db,
                              "SELECT path, role, selectable, remote_name FROM folders"
                              " WHERE account = ?",
                              error);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          const char *path = (const char *) sqlite3_column_text (stmt, 0);
          int role = sqlite3_column_int (stmt, 1);
          PbFolderInfo *info;

          if (path == NULL || *path == '\0')
            continue;
          if (role < PB_FOLDER_ROLE_INBOX || role > PB_FOLDER_ROLE_NONE)
            role = PB_FOLDER_ROLE_NONE;
          info = pb_folder_info_new (path, role, sqlite3_column_int (stmt, 2) != 0);
          if (sqlite3_column_type (stmt, 3) != SQLITE_NULL)
            pb_folder_info_set_remote_name (info, (const char *) sqlite3_column_text (stmt, 3));
          g_ptr_array_add (folders, info);
        }
      if (rc != SQLITE_DONE)
        pb_store_set_sqlite_error (error, db->db, rc, "list folders");
    }
  pb_store_read_end (self, db);

  if (rc != SQLITE_DONE)
    return NULL;
  g_ptr_array_sort (folders, compare_folders);
  return g_steal_pointer (&folders);
}

/**
 * pb_store_get_folder_state:
 * @folder_id: the folder
 * @uidvalidity: (out) (optional): the UIDVALIDITY the stored messages belong to, 0 if none yet
 * @uidnext: (out) (optional): the UIDNEXT seen at the last sync
 * @highestmodseq: (out) (optional): the HIGHESTMODSEQ seen at the last sync
 *
 * Returns: %TRUE on success; %PB_STORE_ERROR_NOT_FOUND if there is no such folder
 */
gboolean
pb_store_get_folder_state (PbStore  *self,
                           gint64    folder_id,
                           guint32  *uidvalidity,
                           guint32  *uidnext,
                           guint64  *highestmodseq,
                           GError  **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  gboolean found = FALSE;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return FALSE;
  stmt = pb_store_db_prepare (db,
                              "SELECT uidvalidity, uidnext, highestmodseq FROM folders"
                              " WHERE id = ?",
                              error);
  if (stmt == NULL)
    {
      pb_store_read_end (self, db);
      return FALSE;
    }
  sqlite3_bind_int64 (stmt, 1, folder_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      found = TRUE;
      if (uidvalidity)
        *uidvalidity = (guint32) sqlite3_column_int64 (stmt, 0);
      if (uidnext)
        *uidnext = (guint32) sqlite3_column_int64 (stmt, 1);
      if (highestmodseq)
        *highestmodseq = (guint64) sqlite3_column_int64 (stmt, 2);
    }
  else if (rc == SQLITE_DONE)
    set_folder_not_found (error, folder_id);
  else
    pb_store_set_sqlite_error (error, db->db, rc, "folder state");
  pb_store_read_end (self, db);
  return found;
}

/**
 * pb_store_set_folder_state:
 * @folder_id: the folder
 * @uidvalidity: the folder's UIDVALIDITY; to change it use pb_store_reset_folder(), which
 *   also drops the messages of the old one
 * @uidnext: the folder's UIDNEXT
 * @highestmodseq: the folder's HIGHESTMODSEQ, 0 without CONDSTORE
 *
 * Returns: %TRUE on success; %PB_STORE_ERROR_NOT_FOUND if there is no such folder
 */
gboolean
pb_store_set_folder_state (PbStore  *self,
                           gint64    folder_id,
                           guint32   uidvalidity,
                           guint32   uidnext,
                           guint64   highestmodseq,
                           GError  **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);

  db = pb_store_write_begin (self, FALSE, error);
  if (db == NULL)
    return FALSE;
  stmt = pb_store_db_prepare (db,
                              "UPDATE folders SET uidvalidity = ?2, uidnext = ?3,"
                              "  highestmodseq = ?4 WHERE id = ?1",
                              error);
  if (stmt == NULL)
    {
      pb_store_write_rollback (self);
      return FALSE;
    }
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, uidvalidity);
  sqlite3_bind_int64 (stmt, 3, uidnext);
  sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) highestmodseq);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "set folder state");
      pb_store_write_rollback (self);
      return FALSE;
    }
  if (sqlite3_changes (db->db) == 0)
    {
      set_folder_not_found (error, folder_id);
      pb_store_write_rollback (self);
      return FALSE;
    }
  return pb_store_write_commit (self, error);
}

/* Collects the body paths of a folder's messages (inside the caller's transaction), so that
 * the files can be removed once the rows are gone. */
static gboolean
collect_body_paths (PbStoreDb  *db,
                    gint64      folder_id,
                    GPtrArray  *paths,
                    GError    **error)
{
  sqlite3_stmt *stmt;
  int rc;

  stmt = pb_store_db_prepare (db,
                              "SELECT body_path FROM messages"
                              " WHERE folder_id = ? AND body_path IS NOT NULL",
                              error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (paths, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "body paths");
      return FALSE;
    }
  return TRUE;
}

/**
 * pb_store_reset_folder:
 * @folder_id: the folder
 * @new_uidvalidity: the folder's new UIDVALIDITY
 *
 * Forgets every message of the folder because the server's UIDVALIDITY changed: the rows go
 * in one transaction together with the new UIDVALIDITY (UIDNEXT and HIGHESTMODSEQ become 0),
 * the body files after it committed.
 *
 * Returns: %TRUE on success; %PB_STORE_ERROR_NOT_FOUND if there is no such folder
 */
gboolean
pb_store_reset_folder (PbStore  *self,
                       gint64    folder_id,
                       guint32   new_uidvalidity,
                       GError  **error)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);

  db = pb_store_write_begin (self, FALSE, error);
  if (db == NULL)
    return FALSE;
  if (!collect_body_paths (db, folder_id, paths, error))
    goto fail;

  stmt = pb_store_db_prepare (db,
                              "UPDATE folders SET uidvalidity = ?2, uidnext = 0, highestmodseq = 0"
                              " WHERE id = ?1",
                              error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, new_uidvalidity);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "reset folder");
      goto fail;
    }
  if (sqlite3_changes (db->db) == 0)
    {
      set_folder_not_found (error, folder_id);
      goto fail;
    }

  stmt = pb_store_db_prepare (db, "DELETE FROM messages WHERE folder_id = ?", error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "reset folder");
      goto fail;
    }

  if (!pb_store_write_commit (self, error))
    return FALSE;
  pb_store_unlink_bodies (self, paths);
  return TRUE;

fail:
  pb_store_write_rollback (self);
  return FALSE;
}

static void
remove_folder_dir (PbStore *self,
                   gint64   folder_id)
{
  g_autofree char *name = g_strdup_printf ("%" G_GINT64_FORMAT, folder_id);
  g_autofree char *path = g_build_filename (self->dir, "messages", name, NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *file;

  /* Left-over temporary files of a write that raced with the removal go as well. */
  while (dir != NULL && (file = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file_path = g_build_filename (path, file, NULL);
      g_unlink (file_path);
    }
  g_rmdir (path);
}

/**
 * pb_store_remove_folders_except:
 * @account: the account's name
 * @paths: (array zero-terminated=1): the paths of the folders the server still has
 *
 * Removes the account's other folders with their messages (the server deleted them).
 *
 * Returns: %TRUE on success
 */
gboolean
pb_store_remove_folders_except (PbStore            *self,
                                const char         *account,
                                const char * const *paths,
                                GError            **error)
{
  g_autoptr(GHashTable) keep = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GArray) doomed = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) body_paths = g_ptr_array_new_with_free_func (g_free);
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);
  g_return_val_if_fail (account != NULL, FALSE);

  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    g_hash_table_add (keep, (gpointer) paths[i]);

  db = pb_store_write_begin (self, FALSE, error);
  if (db == NULL)
    return FALSE;

  stmt = pb_store_db_prepare (db, "SELECT id, path FROM folders WHERE account = ?", error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);

      if (!g_hash_table_contains (keep, sqlite3_column_text (stmt, 1)))
        g_array_append_val (doomed, id);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "remove folders");
      goto fail;
    }

  for (guint i = 0; i < doomed->len; i++)
    {
      gint64 id = g_array_index (doomed, gint64, i);

      if (!collect_body_paths (db, id, body_paths, error))
        goto fail;
      /* The messages and their full-text rows go by ON DELETE CASCADE and its trigger. */
      stmt = pb_store_db_prepare (db, "DELETE FROM folders WHERE id = ?", error);
      if (stmt == NULL)
        goto fail;
      sqlite3_bind_int64 (stmt, 1, id);
      rc = sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        {
          pb_store_set_sqlite_error (error, db->db, rc, "remove folders");
          goto fail;
        }
    }

  if (!pb_store_write_commit (self, error))
    return FALSE;

  pb_store_unlink_bodies (self, body_paths);
  for (guint i = 0; i < doomed->len; i++)
    remove_folder_dir (self, g_array_index (doomed, gint64, i));
  return TRUE;

fail:
  pb_store_write_rollback (self);
  return FALSE;
}
