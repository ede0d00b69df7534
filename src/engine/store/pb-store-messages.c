/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"
#define _GNU_SOURCE /* sync_file_range() */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "pb-store-private.h"

/* Messages of PbStore: summary rows, flags, and the raw messages as files. */

char *
pb_store_column_text (sqlite3_stmt *stmt,
                      int           column)
{
  const unsigned char *text = sqlite3_column_text (stmt, column);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

PbMessageSummary *
pb_store_summary_from_row (sqlite3_stmt *stmt)
{
  PbMessageSummary *summary = pb_message_summary_new ();

  summary->id = sqlite3_column_int64 (stmt, 0);
  summary->folder_id = sqlite3_column_int64 (stmt, 1);
  summary->uid = (guint32) sqlite3_column_int64 (stmt, 2);
  summary->flags = (PbMessageFlags) sqlite3_column_int (stmt, 3);
  summary->keywords = pb_store_column_text (stmt, 4);
  summary->modseq = (guint64) sqlite3_column_int64 (stmt, 5);
  summary->size = (guint64) sqlite3_column_int64 (stmt, 6);
  summary->internaldate = sqlite3_column_int64 (stmt, 7);
  summary->date = sqlite3_column_int64 (stmt, 8);
  summary->subject = pb_store_column_text (stmt, 9);
  summary->from_name = pb_store_column_text (stmt, 10);
  summary->from_addr = pb_store_column_text (stmt, 11);
  summary->to_list = pb_store_column_text (stmt, 12);
  summary->cc_list = pb_store_column_text (stmt, 13);
  summary->message_id = pb_store_column_text (stmt, 14);
  summary->in_reply_to = pb_store_column_text (stmt, 15);
  summary->references = pb_store_column_text (stmt, 16);
  summary->preview = pb_store_column_text (stmt, 17);
  summary->has_attachment = sqlite3_column_int (stmt, 18) != 0;
  summary->has_body = sqlite3_column_int (stmt, 19) != 0;
  /* The conversation queries add the thread's size. */
  summary->thread_count = sqlite3_column_count (stmt) > PB_STORE_SUMMARY_N_COLUMNS
                          ? (guint) sqlite3_column_int64 (stmt, PB_STORE_SUMMARY_N_COLUMNS) : 1;
  return summary;
}

static void
set_message_not_found (GError  **error,
                       gint64    folder_id,
                       guint32   uid)
{
  g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
               _("There is no message %u in folder %lld of the mail store"),
               uid, (long long) folder_id);
}

void
pb_store_set_file_error (GError     **error,
                         int          saved_errno,
                         const char  *what,
                         const char  *path)
{
  if (saved_errno == ENOSPC || saved_errno == EDQUOT)
    g_set_error_literal (error, PB_STORE_ERROR, PB_STORE_ERROR_NO_SPACE,
                         _("The disk is full. Free some space so that mail can be saved."));
  else
    g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_IO,
                 "%s: %s: %s", what, path, g_strerror (saved_errno));
}

/* Body paths are stored relative to the store folder, so that a profile can be moved. */
char *
pb_store_body_abs_path (PbStore    *self,
                        const char *body_path)
{
  if (body_path == NULL || !g_str_has_prefix (body_path, "messages/")
      || strstr (body_path, "..") != NULL)
    return NULL;
  return g_build_filename (self->dir, body_path, NULL);
}

void
pb_store_unlink_bodies (PbStore   *self,
                        GPtrArray *body_paths)
{
  for (guint i = 0; i < body_paths->len; i++)
    {
      g_autofree char *path = pb_store_body_abs_path (self, g_ptr_array_index (body_paths, i));

      /* A file left behind here is removed by the repair at the next open. */
      if (path != NULL && g_unlink (path) != 0 && errno != ENOENT)
        g_warning ("Could not remove %s: %s", path, g_strerror (errno));
    }
}

/* Full-text rows are written by plain statements from C rather than by triggers. FTS5 flushes
 * its pending terms to a new segment at every savepoint, and SQLite opens one for each
 * statement that may fail halfway: a trigger, a RETURNING clause. With a trigger, every
 * message of a batch became its own segment, and adding 10,000 summaries took several times
 * longer than it does now. So the statements of a batch stay savepoint-free. */

static char *
join_texts (const char *a,
            const char *b)
{
  return g_strconcat (a ? a : "", " ", b ? b : "", NULL);
}

static void
bind_summary (sqlite3_stmt           *stmt,
              gint64                  folder_id,
              const PbMessageSummary *s)
{
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, s->uid);
  sqlite3_bind_int (stmt, 3, s->flags);
  sqlite3_bind_text (stmt, 4, s->keywords, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 5, (sqlite3_int64) s->modseq);
  sqlite3_bind_int64 (stmt, 6, (sqlite3_int64) s->size);
  sqlite3_bind_int64 (stmt, 7, s->internaldate);
  sqlite3_bind_int64 (stmt, 8, s->date != 0 ? s->date : s->internaldate);
  sqlite3_bind_text (stmt, 9, s->subject, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 10, s->from_name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 11, s->from_addr, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 12, s->to_list, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 13, s->cc_list, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 14, s->message_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 15, s->in_reply_to, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 16, s->references, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 17, s->preview, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 18, s->has_attachment ? 1 : 0);
}

static int
step_once (sqlite3_stmt *stmt)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  return rc;
}

/**
 * pb_store_add_messages:
 * @folder_id: the folder
 * @summaries: (element-type PbMessageSummary): the messages, with @uid set
 *
 * Adds the messages in one transaction. A message whose UID is already stored gets the new
 * flags and header fields; its body, preview and attachment state stay, and so does its
 * modseq, size or internal date when the new summary has 0 there. A summary without a date
 * is sorted by its internal date.
 *
 * Returns: %TRUE on success; nothing is added on failure (%PB_STORE_ERROR_NOT_FOUND if there
 *   is no such folder)
 */
gboolean
pb_store_add_messages (PbStore    *self,
                       gint64      folder_id,
                       GPtrArray  *summaries,
                       GError    **error)
{
  PbStoreDb *db;
  sqlite3_stmt *insert, *update, *fts_insert, *fts_update, *lookup;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);
  g_return_val_if_fail (summaries != NULL, FALSE);

  if (summaries->len == 0)
    return TRUE;

  db = pb_store_write_begin (self, FALSE, error);
  if (db == NULL)
    return FALSE;
  insert = pb_store_db_prepare (db,
                                "INSERT INTO messages (folder_id, uid, flags, keywords, modseq,"
                                "  size, internaldate, date, subject, from_name, from_addr,"
                                "  to_list, cc_list, message_id, in_reply_to, refs, preview,"
                                "  has_attachment)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
                                "  ?14, ?15, ?16, ?17, ?18)"
                                " ON CONFLICT (folder_id, uid) DO NOTHING",
                                error);
  update = insert ? pb_store_db_prepare (db,
                                         "UPDATE messages SET flags = ?3, keywords = ?4,"
                                         "  modseq = iif (?5 = 0, modseq, ?5),"
                                         "  size = iif (?6 = 0, size, ?6),"
                                         "  internaldate = iif (?7 = 0, internaldate, ?7),"
                                         "  date = ?8, subject = ?9, from_name = ?10,"
                                         "  from_addr = ?11, to_list = ?12, cc_list = ?13,"
                                         "  message_id = ?14, in_reply_to = ?15, refs = ?16,"
                                         "  preview = iif (body_path IS NULL,"
                                         "                 coalesce (?17, preview), preview),"
                                         "  has_attachment = iif (body_path IS NULL, ?18,"
                                         "                        has_attachment)"
                                         " WHERE folder_id = ?1 AND uid = ?2",
                                         error) : NULL;
  lookup = update ? pb_store_db_prepare (db,
                                         "SELECT id FROM messages WHERE folder_id = ? AND uid = ?",
                                         error) : NULL;
  fts_insert = lookup ? pb_store_db_prepare (db,
                                             "INSERT INTO messages_fts (rowid, subject, sender,"
                                             "  recipients) VALUES (?, ?, ?, ?)",
                                             error) : NULL;
  fts_update = fts_insert ? pb_store_db_prepare (db,
                                                 "UPDATE messages_fts SET subject = ?2,"
                                                 "  sender = ?3, recipients = ?4 WHERE rowid = ?1",
                                                 error) : NULL;
  if (fts_update == NULL)
    {
      pb_store_write_rollback (self);
      return FALSE;
    }

  for (guint i = 0; i < summaries->len; i++)
    {
      const PbMessageSummary *s = g_ptr_array_index (summaries, i);
      g_autofree char *sender = join_texts (s->from_name, s->from_addr);
      g_autofree char *recipients = join_texts (s->to_list, s->cc_list);
      sqlite3_stmt *fts;
      gint64 id;
      int rc;

      bind_summary (insert, folder_id, s);
      rc = step_once (insert);
      if (rc == SQLITE_DONE && sqlite3_changes (db->db) == 1)
        {
          id = sqlite3_last_insert_rowid (db->db);
          fts = fts_insert;
          rc = pb_store_thread_message (db, folder_id, id, s);
          if (rc == SQLITE_OK)
            rc = SQLITE_DONE;
        }
      else if (rc == SQLITE_DONE)
        {
          /* Known already (a sync interrupted before it saved UIDNEXT): refresh it. */
          bind_summary (update, folder_id, s);
          rc = step_once (update);
          sqlite3_bind_int64 (lookup, 1, folder_id);
          sqlite3_bind_int64 (lookup, 2, s->uid);
          if (rc == SQLITE_DONE)
            rc = sqlite3_step (lookup);
          id = sqlite3_column_int64 (lookup, 0);
          sqlite3_reset (lookup);
          if (rc == SQLITE_ROW)
            rc = SQLITE_DONE;
          fts = fts_update;
        }

      if (rc == SQLITE_DONE)
        {
          sqlite3_bind_int64 (fts, 1, id);
          sqlite3_bind_text (fts, 2, s->subject, -1, SQLITE_STATIC);
          sqlite3_bind_text (fts, 3, sender, -1, SQLITE_STATIC);
          sqlite3_bind_text (fts, 4, recipients, -1, SQLITE_STATIC);
          rc = step_once (fts);
        }
      if (rc != SQLITE_DONE)
        {
          if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                         _("There is no folder %lld in the mail store"),
                         (long long) folder_id);
          else
            pb_store_set_sqlite_error (error, db->db, rc, "add messages");
          pb_store_write_rollback (self);
          return FALSE;
        }
    }
  return pb_store_write_commit (self, error);
}

/* Bodies. A body is durable before its row points at it: each file is written to a ".tmp-"
 * name in its folder's directory, flushed, renamed to its final name, the directory is flushed,
 * and only then the row is updated in a transaction that commits with synchronous=FULL. A
 * crash leaves at worst a ".tmp-" file or a file without a row, both removed by the next
 * repair, never a row pointing at a partial file.
 *
 * A batch shares the expensive steps. One fdatasync() per file costs a file-system journal
 * commit each (2-12 ms here, far more on a disk that spins); for a batch of a few files or more
 * one syncfs() flushes them all at once instead (0.3-0.7 ms per message measured), then the
 * directory is flushed once and one transaction updates all rows. */

typedef struct {
  guint32   uid;
  GBytes   *raw;
  gboolean  known;          /* the row exists */
  guint32   uidvalidity;
  char     *old_body_path;
  char     *file_name;      /* "<uidvalidity>-<uid>.eml" */
  char     *body_path;      /* "messages/<folder id>/<file name>", relative to the store */
  char     *tmp_path;
  gboolean  renamed;
  char     *preview;
  gboolean  has_attachment;
  char     *body_text;
} BodyJob;

static void
body_job_clear (gpointer data)
{
  BodyJob *job = data;

  g_clear_pointer (&job->raw, g_bytes_unref);
  g_clear_pointer (&job->old_body_path, g_free);
  g_clear_pointer (&job->file_name, g_free);
  g_clear_pointer (&job->body_path, g_free);
  g_clear_pointer (&job->tmp_path, g_free);
  g_clear_pointer (&job->preview, g_free);
  g_clear_pointer (&job->body_text, g_free);
}

/* Makes sure the directory entry of a file just created, linked or renamed survives a power
 * cut. @what is the user's view of the failure ("Could not save the message"). */
gboolean
pb_store_fsync_dir (const char  *dir,
                    const char  *what,
                    GError     **error)
{
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0 || fsync (fd) != 0)
    {
      int saved_errno = errno;

      if (fd >= 0)
        close (fd);
      pb_store_set_file_error (error, saved_errno, what, dir);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static gboolean
ensure_folder_dir (PbStore     *self,
                   const char  *folder_dir,
                   GError     **error)
{
  g_autofree char *messages_dir = NULL;

  if (g_file_test (folder_dir, G_FILE_TEST_IS_DIR))
    return TRUE;
  messages_dir = g_build_filename (self->dir, "messages", NULL);
  if (g_mkdir_with_parents (folder_dir, 0700) != 0)
    {
      pb_store_set_file_error (error, errno, _("Could not save the message"), folder_dir);
      return FALSE;
    }
  return pb_store_fsync_dir (messages_dir, _("Could not save the message"), error);
}

/* Writes the job's temporary file and asks the kernel to start writing it out. */
static gboolean
write_tmp_file (const char  *folder_dir,
                BodyJob     *job,
                GError     **error)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (job->raw, &length);
  int fd;

  job->tmp_path = g_strdup_printf ("%s/.tmp-%u-XXXXXX", folder_dir, job->uid);
  fd = g_mkstemp_full (job->tmp_path, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      pb_store_set_file_error (error, errno, _("Could not save the message"), folder_dir);
      g_clear_pointer (&job->tmp_path, g_free);
      return FALSE;
    }

  while (length > 0)
    {
      gssize written = write (fd, data, length);

      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        {
          int saved_errno = written == 0 ? EIO : errno;

          close (fd);
          pb_store_set_file_error (error, saved_errno, _("Could not save the message"),
                                   job->tmp_path);
          return FALSE;
        }
      data += written;
      length -= written;
    }

#ifdef SYNC_FILE_RANGE_WRITE
  /* Only a hint; the fdatasync() below is what counts. */
  sync_file_range (fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
  if (close (fd) != 0)
    {
      pb_store_set_file_error (error, errno, _("Could not save the message"), job->tmp_path);
      return FALSE;
    }
  return TRUE;
}

#define SYNCFS_THRESHOLD 4

static gboolean
sync_filesystem (const char  *folder_dir,
                 GError     **error)
{
  int fd = g_open (folder_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0 || syncfs (fd) != 0)
    {
      int saved_errno = errno;

      if (fd >= 0)
        close (fd);
      pb_store_set_file_error (error, saved_errno, _("Could not save the message"), folder_dir);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* Flushes the temporary file (any descriptor of a file flushes its data on Linux) and gives
 * it its final name. */
static gboolean
commit_tmp_file (const char  *folder_dir,
                 BodyJob     *job,
                 gboolean     flush,
                 GError     **error)
{
  g_autofree char *final_path = g_build_filename (folder_dir, job->file_name, NULL);
  int fd = flush ? g_open (job->tmp_path, O_RDONLY | O_CLOEXEC, 0) : -1;

  if (flush && (fd < 0 || fdatasync (fd) != 0))
    {
      int saved_errno = errno;

      if (fd >= 0)
        close (fd);
      pb_store_set_file_error (error, saved_errno, _("Could not save the message"),
                               job->tmp_path);
      return FALSE;
    }
  if (fd >= 0)
    close (fd);
  if (g_rename (job->tmp_path, final_path) != 0)
    {
      pb_store_set_file_error (error, errno, _("Could not save the message"), final_path);
      return FALSE;
    }
  g_clear_pointer (&job->tmp_path, g_free);
  job->renamed = TRUE;
  return TRUE;
}

/* Removes what a failed batch wrote. A renamed file is only ours to remove if no row pointed
 * at that name before (storing the same body again replaces the file in place). */
static void
discard_files (const char *folder_dir,
               GArray     *jobs)
{
  for (guint i = 0; i < jobs->len; i++)
    {
      BodyJob *job = &g_array_index (jobs, BodyJob, i);

      if (job->tmp_path != NULL)
        g_unlink (job->tmp_path);
      if (job->renamed && g_strcmp0 (job->old_body_path, job->body_path) != 0)
        {
          g_autofree char *path = g_build_filename (folder_dir, job->file_name, NULL);
          g_unlink (path);
        }
    }
}

static gboolean
lookup_jobs (PbStore  *self,
             gint64    folder_id,
             GArray   *jobs,
             GError  **error)
{
  PbStoreDb *db = pb_store_read_begin (self, error);
  sqlite3_stmt *stmt;
  gboolean ok = TRUE;

  if (db == NULL)
    return FALSE;
  stmt = pb_store_db_prepare (db,
                              "SELECT f.uidvalidity, m.body_path FROM messages m"
                              " JOIN folders f ON f.id = m.folder_id"
                              " WHERE m.folder_id = ? AND m.uid = ?",
                              error);
  for (guint i = 0; stmt != NULL && ok && i < jobs->len; i++)
    {
      BodyJob *job = &g_array_index (jobs, BodyJob, i);
      int rc;

      sqlite3_bind_int64 (stmt, 1, folder_id);
      sqlite3_bind_int64 (stmt, 2, job->uid);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          job->known = TRUE;
          job->uidvalidity = (guint32) sqlite3_column_int64 (stmt, 0);
          job->old_body_path = pb_store_column_text (stmt, 1);
        }
      else if (rc != SQLITE_DONE)
        {
          pb_store_set_sqlite_error (error, db->db, rc, "set body");
          ok = FALSE;
        }
      sqlite3_reset (stmt);
    }
  pb_store_read_end (self, db);
  return stmt != NULL && ok;
}

/* Points the rows at their files, in one durable transaction. A message removed (or a folder
 * reset) while its file was written is skipped, and its file removed. */
static gboolean
update_body_rows (PbStore     *self,
                  gint64       folder_id,
                  const char  *folder_dir,
                  GArray      *jobs,
                  guint       *n_stored,
                  GError     **error)
{
  sqlite3_stmt *check, *update, *fts;
  PbStoreDb *db;

  *n_stored = 0;
  db = pb_store_write_begin (self, TRUE, error);
  if (db == NULL)
    return FALSE;
  check = pb_store_db_prepare (db,
                               "SELECT m.id FROM messages m JOIN folders f ON f.id = m.folder_id"
                               " WHERE m.folder_id = ? AND m.uid = ? AND f.uidvalidity = ?",
                               error);
  update = check ? pb_store_db_prepare (db,
                                        "UPDATE messages SET body_path = ?2, preview = ?3,"
                                        "  has_attachment = ?4 WHERE id = ?1",
                                        error) : NULL;
  /* The body goes to the word index only (see pb-store-search.c); REPLACE covers a body
   * that is stored a second time. */
  fts = update ? pb_store_db_prepare (db,
                                      "INSERT OR REPLACE INTO messages_body_fts (rowid, body)"
                                      " VALUES (?1, ?2)",
                                      error) : NULL;
  if (fts == NULL)
    {
      pb_store_write_rollback (self);
      return FALSE;
    }

  for (guint i = 0; i < jobs->len; i++)
    {
      BodyJob *job = &g_array_index (jobs, BodyJob, i);
      gint64 id = 0;
      int rc;

      if (!job->renamed)
        continue;
      sqlite3_bind_int64 (check, 1, folder_id);
      sqlite3_bind_int64 (check, 2, job->uid);
      sqlite3_bind_int64 (check, 3, job->uidvalidity);
      rc = sqlite3_step (check);
      if (rc == SQLITE_ROW)
        id = sqlite3_column_int64 (check, 0);
      sqlite3_reset (check);
      if (rc == SQLITE_DONE)
        {
          g_autofree char *path = g_build_filename (folder_dir, job->file_name, NULL);

          g_unlink (path);
          job->renamed = FALSE;
          job->known = FALSE;
          continue;
        }

      if (rc == SQLITE_ROW)
        {
          sqlite3_bind_int64 (update, 1, id);
          sqlite3_bind_text (update, 2, job->body_path, -1, SQLITE_STATIC);
          sqlite3_bind_text (update, 3, job->preview, -1, SQLITE_STATIC);
          sqlite3_bind_int (update, 4, job->has_attachment ? 1 : 0);
          rc = step_once (update);
        }
      if (rc == SQLITE_DONE)
        {
          sqlite3_bind_int64 (fts, 1, id);
          sqlite3_bind_text (fts, 2, job->body_text, -1, SQLITE_STATIC);
          rc = step_once (fts);
        }
      if (rc != SQLITE_DONE)
        {
          pb_store_set_sqlite_error (error, db->db, rc, "set body");
          pb_store_write_rollback (self);
          return FALSE;
        }
      (*n_stored)++;
    }
  return pb_store_write_commit (self, error);
}

static gboolean
set_bodies (PbStore        *self,
            gint64          folder_id,
            const guint32  *uids,
            GBytes * const *raws,
            guint           n,
            gboolean        strict,
            guint          *n_stored,
            GError        **error)
{
  g_autoptr(GArray) jobs = g_array_sized_new (FALSE, TRUE, sizeof (BodyJob), n);
  g_autofree char *folder_name = g_strdup_printf ("%" G_GINT64_FORMAT, folder_id);
  g_autofree char *folder_dir = g_build_filename (self->dir, "messages", folder_name, NULL);
  guint n_known = 0;

  g_array_set_clear_func (jobs, body_job_clear);
  g_array_set_size (jobs, n);
  for (guint i = 0; i < n; i++)
    {
      g_array_index (jobs, BodyJob, i).uid = uids[i];
      g_array_index (jobs, BodyJob, i).raw = g_bytes_ref (raws[i]);
    }

  if (!lookup_jobs (self, folder_id, jobs, error))
    return FALSE;

  for (guint i = 0; i < n; i++)
    {
      BodyJob *job = &g_array_index (jobs, BodyJob, i);

      if (!job->known)
        {
          if (strict)
            {
              set_message_not_found (error, folder_id, job->uid);
              return FALSE;
            }
          continue;
        }
      n_known++;
      /* Parsing is the slow part; it needs no lock. */
      pb_store_parse_body (job->raw, &job->preview, &job->has_attachment, &job->body_text);
      if (job->body_text != NULL)
        {
          char *spaced = pb_store_fts_body_text (job->body_text);

          g_free (job->body_text);
          job->body_text = spaced;
        }
      job->file_name = g_strdup_printf ("%u-%u.eml", job->uidvalidity, job->uid);
      job->body_path = g_strconcat ("messages/", folder_name, "/", job->file_name, NULL);
    }
  if (n_known == 0)
    {
      *n_stored = 0;
      return TRUE;
    }

  if (!ensure_folder_dir (self, folder_dir, error))
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      BodyJob *job = &g_array_index (jobs, BodyJob, i);

      if (job->known && !write_tmp_file (folder_dir, job, error))
        goto fail;
    }
  if (n_known >= SYNCFS_THRESHOLD && !sync_filesystem (folder_dir, error))
    goto fail;
  for (guint i = 0; i < n; i++)
    {
      BodyJob *job = &g_array_index (jobs, BodyJob, i);

      if (job->known && !commit_tmp_file (folder_dir, job, n_known < SYNCFS_THRESHOLD, error))
        goto fail;
    }
  if (!pb_store_fsync_dir (folder_dir, _("Could not save the message"), error))
    goto fail;

  if (!update_body_rows (self, folder_id, folder_dir, jobs, n_stored, error))
    goto fail;
  if (strict && *n_stored == 0)
    {
      set_message_not_found (error, folder_id, uids[0]);
      return FALSE;
    }
  return TRUE;

fail:
  discard_files (folder_dir, jobs);
  return FALSE;
}

/**
 * pb_store_set_body:
 * @folder_id: the folder
 * @uid: the message, whose summary must have been added
 * @raw: the complete raw message
 *
 * Stores the raw message durably and updates the message's preview, attachment state and
 * full-text entry. When this returns %TRUE the message survives a crash or power cut, so a
 * POP3 sync may delete it on the server. For many messages pb_store_set_bodies() is faster.
 *
 * Returns: %TRUE on success; %PB_STORE_ERROR_NOT_FOUND if the message is not in the store (or
 *   the folder was reset meanwhile), %PB_STORE_ERROR_NO_SPACE if the disk is full
 */
gboolean
pb_store_set_body (PbStore  *self,
                   gint64    folder_id,
                   guint32   uid,
                   GBytes   *raw,
                   GError  **error)
{
  guint n_stored = 0;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);
  g_return_val_if_fail (raw != NULL, FALSE);

  return set_bodies (self, folder_id, &uid, &raw, 1, TRUE, &n_stored, error);
}

/**
 * pb_store_set_bodies:
 * @folder_id: the folder
 * @uids: (array length=n): the messages, whose summaries must have been added
 * @raws: (array length=n): their complete raw messages
 * @n: the number of messages
 * @n_stored: (out) (optional): how many were stored
 *
 * Like pb_store_set_body() for several messages of one folder, with one directory flush and
 * one transaction for all of them. UIDs that are not in the store (removed meanwhile) are
 * skipped. Either all others are stored durably or, on error, none.
 *
 * Returns: %TRUE on success
 */
gboolean
pb_store_set_bodies (PbStore        *self,
                     gint64          folder_id,
                     const guint32  *uids,
                     GBytes * const *raws,
                     guint           n,
                     guint          *n_stored,
                     GError        **error)
{
  guint stored = 0;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);
  g_return_val_if_fail (n == 0 || (uids != NULL && raws != NULL), FALSE);

  if (n_stored)
    *n_stored = 0;
  if (n == 0)
    return TRUE;
  if (!set_bodies (self, folder_id, uids, raws, n, FALSE, &stored, error))
    return FALSE;
  if (n_stored)
    *n_stored = stored;
  return TRUE;
}

/* The row points at a file that is gone; forget it so that the sync downloads it again. */
static void
forget_body (PbStore    *self,
             gint64      folder_id,
             guint32     uid,
             const char *body_path)
{
  PbStoreDb *db = pb_store_write_begin (self, FALSE, NULL);
  sqlite3_stmt *stmt;

  if (db == NULL)
    return;
  stmt = pb_store_db_prepare (db,
                              "UPDATE messages SET body_path = NULL"
                              " WHERE folder_id = ? AND uid = ? AND body_path = ?",
                              NULL);
  if (stmt == NULL)
    {
      pb_store_write_rollback (self);
      return;
    }
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, uid);
  sqlite3_bind_text (stmt, 3, body_path, -1, SQLITE_STATIC);
  sqlite3_step (stmt);
  sqlite3_reset (stmt);
  pb_store_write_commit (self, NULL);
}

/**
 * pb_store_get_raw:
 * @folder_id: the folder
 * @uid: the message
 *
 * Returns: (transfer full): the raw message exactly as stored, or %NULL with @error set
 *   (%PB_STORE_ERROR_NOT_FOUND if the message is unknown or its body not downloaded yet)
 */
GBytes *
pb_store_get_raw (PbStore  *self,
                  gint64    folder_id,
                  guint32   uid,
                  GError  **error)
{
  g_autofree char *body_path = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean found = FALSE;
  char *contents = NULL;
  gsize length = 0;
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), NULL);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return NULL;
  stmt = pb_store_db_prepare (db,
                              "SELECT body_path FROM messages WHERE folder_id = ? AND uid = ?",
                              error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, folder_id);
      sqlite3_bind_int64 (stmt, 2, uid);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          found = TRUE;
          body_path = pb_store_column_text (stmt, 0);
        }
      else if (rc == SQLITE_DONE)
        set_message_not_found (error, folder_id, uid);
      else
        pb_store_set_sqlite_error (error, db->db, rc, "get raw");
    }
  pb_store_read_end (self, db);
  if (!found)
    return NULL;

  if (body_path == NULL)
    {
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                   _("Message %u has not been downloaded yet"), uid);
      return NULL;
    }
  path = pb_store_body_abs_path (self, body_path);
  if (path == NULL)
    {
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_CORRUPT,
                   _("The mail index names an invalid file “%s”"), body_path);
      return NULL;
    }

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          forget_body (self, folder_id, uid, body_path);
          g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                       _("The stored copy of message %u is missing; it will be downloaded "
                         "again"), uid);
        }
      else
        {
          g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_IO,
                       _("Could not read the message: %s"), local_error->message);
        }
      return NULL;
    }
  return g_bytes_new_take (contents, length);
}

/**
 * pb_store_get_message:
 * @folder_id: the folder
 * @uid: the message
 *
 * Returns: (transfer full): the message's summary with @account and @folder_path set, or
 *   %NULL with @error set (%PB_STORE_ERROR_NOT_FOUND if there is no such message)
 */
PbMessageSummary *
pb_store_get_message (PbStore  *self,
                      gint64    folder_id,
                      guint32   uid,
                      GError  **error)
{
  PbMessageSummary *summary = NULL;
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), NULL);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return NULL;
  stmt = pb_store_db_prepare (db,
                              "SELECT " PB_STORE_SUMMARY_COLUMNS ", f.account, f.path"
                              " FROM messages m JOIN folders f ON f.id = m.folder_id"
                              " WHERE m.folder_id = ? AND m.uid = ?",
                              error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, folder_id);
      sqlite3_bind_int64 (stmt, 2, uid);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          summary = pb_store_summary_from_row (stmt);
          summary->account = pb_store_column_text (stmt, PB_STORE_SUMMARY_N_COLUMNS);
          summary->folder_path = pb_store_column_text (stmt, PB_STORE_SUMMARY_N_COLUMNS + 1);
        }
      else if (rc == SQLITE_DONE)
        set_message_not_found (error, folder_id, uid);
      else
        pb_store_set_sqlite_error (error, db->db, rc, "get message");
    }
  pb_store_read_end (self, db);
  return summary;
}

static const char update_flags_sql[] =
  "UPDATE messages SET flags = ?3, keywords = ?4,"
  "  modseq = iif (?5 = 0, modseq, ?5)"
  " WHERE folder_id = ?1 AND uid = ?2";

static int
update_flags_step (sqlite3_stmt     *stmt,
                   gint64            folder_id,
                   const PbUidFlags *update)
{
  int rc;

  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, update->uid);
  sqlite3_bind_int (stmt, 3, update->flags);
  if (update->keywords != NULL && *update->keywords != '\0')
    sqlite3_bind_text (stmt, 4, update->keywords, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, 4);
  sqlite3_bind_int64 (stmt, 5, (sqlite3_int64) update->modseq);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  return rc;
}

/**
 * pb_store_update_flags:
 * @folder_id: the folder
 * @uid: the message
 * @flags: its new flags
 * @keywords: (nullable): its other keywords, separated by one space
 * @modseq: its new mod-sequence, or 0 to keep the stored one
 *
 * Returns: %TRUE on success; %PB_STORE_ERROR_NOT_FOUND if there is no such message
 */
gboolean
pb_store_update_flags (PbStore         *self,
                       gint64           folder_id,
                       guint32          uid,
                       PbMessageFlags   flags,
                       const char      *keywords,
                       guint64          modseq,
                       GError         **error)
{
  PbUidFlags update = { uid, flags, modseq, (char *) keywords };
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);

  db = pb_store_write_begin (self, FALSE, error);
  if (db == NULL)
    return FALSE;
  stmt = pb_store_db_prepare (db, update_flags_sql, error);
  if (stmt == NULL)
    {
      pb_store_write_rollback (self);
      return FALSE;
    }
  rc = update_flags_step (stmt, folder_id, &update);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "update flags");
      pb_store_write_rollback (self);
      return FALSE;
    }
  if (sqlite3_changes (db->db) == 0)
    {
      set_message_not_found (error, folder_id, uid);
      pb_store_write_rollback (self);
      return FALSE;
    }
  return pb_store_write_commit (self, error);
}

/**
 * pb_store_update_flags_batch:
 * @folder_id: the folder
 * @updates: (array length=n_updates): new flags, keywords and mod-sequences (0: keep)
 * @n_updates: the number of @updates
 *
 * Applies all updates in one transaction. UIDs that are not in the store are skipped: the
 * message may have been removed since the server reported its flags.
 *
 * Returns: %TRUE on success; nothing is changed on failure
 */
gboolean
pb_store_update_flags_batch (PbStore           *self,
                             gint64             folder_id,
                             const PbUidFlags  *updates,
                             guint              n_updates,
                             GError           **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);
  g_return_val_if_fail (updates != NULL || n_updates == 0, FALSE);

  if (n_updates == 0)
    return TRUE;

  db = pb_store_write_begin (self, FALSE, error);
  if (db == NULL)
    return FALSE;
  stmt = pb_store_db_prepare (db, update_flags_sql, error);
  if (stmt == NULL)
    {
      pb_store_write_rollback (self);
      return FALSE;
    }
  for (guint i = 0; i < n_updates; i++)
    {
      int rc = update_flags_step (stmt, folder_id, &updates[i]);

      if (rc != SQLITE_DONE)
        {
          pb_store_set_sqlite_error (error, db->db, rc, "update flags");
          pb_store_write_rollback (self);
          return FALSE;
        }
    }
  return pb_store_write_commit (self, error);
}

/* A JSON array of the UIDs, so that one statement handles them all (through json_each()):
 * each DELETE of a message also deletes its full-text row, and one statement per UID would
 * make FTS5 write a segment per UID (see above). */
static char *
uids_to_json (const guint32 *uids,
              guint          n_uids)
{
  GString *json = g_string_sized_new (n_uids * 8 + 2);

  g_string_append_c (json, '[');
  for (guint i = 0; i < n_uids; i++)
    g_string_append_printf (json, i > 0 ? ",%u" : "%u", uids[i]);
  g_string_append_c (json, ']');
  return g_string_free (json, FALSE);
}

/**
 * pb_store_remove_uids:
 * @folder_id: the folder
 * @uids: (array length=n_uids): the messages the server expunged
 * @n_uids: the number of @uids
 *
 * Removes the messages in one transaction, then their body files. Unknown UIDs are skipped.
 *
 * Returns: %TRUE on success
 */
gboolean
pb_store_remove_uids (PbStore        *self,
                      gint64          folder_id,
                      const guint32  *uids,
                      guint           n_uids,
                      GError        **error)
{
  g_autoptr(GPtrArray) body_paths = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *json = NULL;
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);
  g_return_val_if_fail (uids != NULL || n_uids == 0, FALSE);

  if (n_uids == 0)
    return TRUE;

  json = uids_to_json (uids, n_uids);
  db = pb_store_write_begin (self, FALSE, error);
  if (db == NULL)
    return FALSE;

  stmt = pb_store_db_prepare (db,
                              "SELECT body_path FROM messages WHERE folder_id = ?1"
                              " AND uid IN (SELECT value FROM json_each (?2))"
                              " AND body_path IS NOT NULL",
                              error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_text (stmt, 2, json, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (body_paths, pb_store_column_text (stmt, 0));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "remove messages");
      goto fail;
    }

  stmt = pb_store_db_prepare (db,
                              "DELETE FROM messages WHERE folder_id = ?1"
                              " AND uid IN (SELECT value FROM json_each (?2))",
                              error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_text (stmt, 2, json, -1, SQLITE_STATIC);
  rc = step_once (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, db->db, rc, "remove messages");
      goto fail;
    }

  if (!pb_store_write_commit (self, error))
    return FALSE;
  pb_store_unlink_bodies (self, body_paths);
  return TRUE;

fail:
  pb_store_write_rollback (self);
  return FALSE;
}

/**
 * pb_store_get_uid_flags:
 * @folder_id: the folder
 *
 * Returns: (transfer full) (element-type PbUidFlags): every stored message of the folder with
 *   its flags, sorted by UID, or %NULL with @error set
 */
GArray *
pb_store_get_uid_flags (PbStore  *self,
                        gint64    folder_id,
                        GError  **error)
{
  g_autoptr(GArray) result = pb_uid_flags_array_new (0);
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc = SQLITE_ERROR;

  g_return_val_if_fail (PB_IS_STORE (self), NULL);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return NULL;
  stmt = pb_store_db_prepare (db,
                              "SELECT uid, flags, modseq, keywords FROM messages"
                              " WHERE folder_id = ? ORDER BY uid",
                              error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, folder_id);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          PbUidFlags entry = {
            (guint32) sqlite3_column_int64 (stmt, 0),
            (PbMessageFlags) sqlite3_column_int (stmt, 1),
            (guint64) sqlite3_column_int64 (stmt, 2),
            pb_store_column_text (stmt, 3),
          };
          g_array_append_val (result, entry);
        }
      if (rc != SQLITE_DONE)
        pb_store_set_sqlite_error (error, db->db, rc, "uid flags");
    }
  pb_store_read_end (self, db);
  return rc == SQLITE_DONE ? g_steal_pointer (&result) : NULL;
}

/**
 * pb_store_get_uids_without_body:
 * @folder_id: the folder
 * @newest_first: whether to start with the highest UIDs (the latest arrivals)
 * @limit: the most UIDs to return, 0 for all
 *
 * Returns: (transfer full) (element-type guint32): the UIDs whose raw message is not stored,
 *   or %NULL with @error set
 */
GArray *
pb_store_get_uids_without_body (PbStore   *self,
                                gint64     folder_id,
                                gboolean   newest_first,
                                guint      limit,
                                GError   **error)
{
  g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  int rc = SQLITE_ERROR;

  g_return_val_if_fail (PB_IS_STORE (self), NULL);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return NULL;
  if (newest_first)
    stmt = pb_store_db_prepare (db,
                                "SELECT uid FROM messages WHERE folder_id = ? AND body_path IS NULL"
                                " ORDER BY uid DESC LIMIT ?",
                                error);
  else
    stmt = pb_store_db_prepare (db,
                                "SELECT uid FROM messages WHERE folder_id = ? AND body_path IS NULL"
                                " ORDER BY uid LIMIT ?",
                                error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, folder_id);
      sqlite3_bind_int64 (stmt, 2, limit > 0 ? (gint64) limit : -1);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          guint32 uid = (guint32) sqlite3_column_int64 (stmt, 0);
          g_array_append_val (uids, uid);
        }
      if (rc != SQLITE_DONE)
        pb_store_set_sqlite_error (error, db->db, rc, "uids without body");
    }
  pb_store_read_end (self, db);
  return rc == SQLITE_DONE ? g_steal_pointer (&uids) : NULL;
}

/**
 * pb_store_list_messages:
 * @folder_id: the folder
 * @offset: how many of the newest messages to skip
 * @limit: the most messages to return
 *
 * One page of the folder, newest first (by date, equal dates by arrival in the store). The
 * query walks the (folder, date) index, so a page costs the same in any folder size.
 *
 * Returns: (transfer full) (element-type PbMessageSummary): the page, or %NULL with @error set
 */
GPtrArray *
pb_store_list_messages (PbStore  *self,
                        gint64    folder_id,
                        guint     offset,
                        guint     limit,
                        GError  **error)
{
  g_autoptr(GPtrArray) page = NULL;
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  gboolean threads;
  int rc = SQLITE_ERROR;

  g_return_val_if_fail (PB_IS_STORE (self), NULL);

  page = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_message_summary_free);
  if (limit == 0)
    return g_steal_pointer (&page);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return NULL;
  threads = pb_store_take_threads_bit (&folder_id);
  folder_id = pb_store_resolve_folder (db, folder_id);
  if (threads)
    stmt = pb_store_db_prepare (db, folder_id == PB_STORE_FOLDER_INBOXES
                                    ? PB_STORE_LIST_INBOXES_THREADS_SQL
                                    : PB_STORE_LIST_THREADS_SQL,
                                error);
  else
    stmt = pb_store_db_prepare (db, folder_id == PB_STORE_FOLDER_INBOXES
                                    ? PB_STORE_LIST_INBOXES_SQL : PB_STORE_LIST_MESSAGES_SQL,
                                error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, folder_id);
      sqlite3_bind_int64 (stmt, 2, limit);
      sqlite3_bind_int64 (stmt, 3, offset);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        g_ptr_array_add (page, pb_store_summary_from_row (stmt));
      if (rc != SQLITE_DONE)
        pb_store_set_sqlite_error (error, db->db, rc, "list messages");
    }
  pb_store_read_end (self, db);
  return rc == SQLITE_DONE ? g_steal_pointer (&page) : NULL;
}

/**
 * pb_store_count_messages:
 * @folder_id: the folder
 * @total: (out) (optional): how many messages the folder has
 * @unread: (out) (optional): how many of them are not \Seen
 *
 * Both numbers come from one snapshot and from indexes only.
 *
 * Returns: %TRUE on success
 */
gboolean
pb_store_count_messages (PbStore  *self,
                         gint64    folder_id,
                         guint    *total,
                         guint    *unread,
                         GError  **error)
{
  PbStoreDb *db;
  sqlite3_stmt *stmt;
  gboolean threads;
  int rc = SQLITE_ERROR;

  g_return_val_if_fail (PB_IS_STORE (self), FALSE);

  db = pb_store_read_begin (self, error);
  if (db == NULL)
    return FALSE;
  threads = pb_store_take_threads_bit (&folder_id);
  folder_id = pb_store_resolve_folder (db, folder_id);
  stmt = pb_store_db_prepare (db,
                              folder_id == PB_STORE_FOLDER_INBOXES
                              ? "SELECT (SELECT count(*) FROM messages WHERE "
                                PB_STORE_INBOXES_MATCH ("folder_id") "),"
                                " (SELECT count(*) FROM messages WHERE "
                                PB_STORE_INBOXES_MATCH ("folder_id") " AND (flags & 1) = 0)"
                              : "SELECT (SELECT count(*) FROM messages WHERE folder_id = ?1),"
                                " (SELECT count(*) FROM messages"
                                "  WHERE folder_id = ?1 AND (flags & 1) = 0)",
                              error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, folder_id);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          if (total)
            *total = (guint) sqlite3_column_int64 (stmt, 0);
          if (unread)
            *unread = (guint) sqlite3_column_int64 (stmt, 1);
        }
      else
        pb_store_set_sqlite_error (error, db->db, rc, "count messages");
      sqlite3_reset (stmt);
    }
  if (rc == SQLITE_ROW && threads && total != NULL)
    {
      /* The list of conversations has one row per thread; unread stays messages. */
      stmt = pb_store_db_prepare (db, folder_id == PB_STORE_FOLDER_INBOXES
                                      ? PB_STORE_COUNT_INBOXES_THREADS_SQL
                                      : PB_STORE_COUNT_THREADS_SQL,
                                  error);
      if (stmt != NULL)
        sqlite3_bind_int64 (stmt, 1, folder_id);
      rc = stmt != NULL ? sqlite3_step (stmt) : SQLITE_ERROR;
      if (rc == SQLITE_ROW)
        *total = (guint) sqlite3_column_int64 (stmt, 0);
      else if (stmt != NULL)
        pb_store_set_sqlite_error (error, db->db, rc, "count threads");
      if (stmt != NULL)
        sqlite3_reset (stmt);
    }
  pb_store_read_end (self, db);
  return rc == SQLITE_ROW;
}
