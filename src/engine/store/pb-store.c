/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pb-store-private.h"

/*
 * PbStore keeps one profile's mail on disk: an SQLite index (DIR/store.sqlite3, WAL mode) and
 * every downloaded message as its own file under DIR/messages/<folder id>/.
 *
 * Threads. Sync runs one worker thread per account and the UI reads through GTask threads, so
 * every function here may be called from any thread. All writes share one connection and take
 * write_lock for the length of one transaction: SQLite allows one writer at a time anyway, and
 * queueing writers on a mutex in-process means they never see SQLITE_BUSY from each other (the
 * busy timeout is only for another process, such as postbote-cli beside the app). Reads use a
 * pool of read-only connections instead of the writer's: in WAL mode they read a consistent
 * snapshot beside a running write transaction, so a 10,000-message insert of one account's
 * sync never stalls the message list or another account's lookups. Each connection belongs to
 * one thread at a time, so they are opened with SQLITE_OPEN_NOMUTEX.
 *
 * Durability. The index runs with synchronous=NORMAL: a power cut may lose the last commits
 * but never corrupts the database, and what is lost is refetched by the next sync. Writes
 * that are not recoverable from a server (message bodies, which POP3 deletes on the server
 * afterwards, and the offline journal) commit with synchronous=FULL, which also makes every
 * earlier commit durable, because the WAL is written in order.
 *
 * Crashes between a file operation and the commit that goes with it are repaired at the next
 * open: body files are written and renamed into place before the row points at them, and
 * unlinked only after the row is gone, so the repair only has to delete files nobody points
 * at and forget paths whose file is missing. Another process may have the store open (the CLI
 * beside the app); a shared flock() on DIR/store.lock tells us, and repair runs only when we
 * are alone, because a file of the other process could be between its rename and its commit.
 *
 * Integrity. PRAGMA quick_check reads every page of the index (about 0.7 s for 100,000
 * messages), and repair reads every message row and lists every body file; both were paid at
 * every start although they can only find what a crash (or a disk that lies about flushes)
 * left behind, and SQLite's own WAL recovery already makes an interrupted write harmless. So
 * both run only when the previous sessions did not all end cleanly:
 *
 * - Every process that opens the store creates its own DIR/store.session-* file and deletes
 *   it when it closes the store. A file left behind is a process that died with the store open.
 * - The last process to close the store (it can take the lock alone), after its connections
 *   are closed (which checkpoints and deletes the WAL), creates DIR/store.clean, unless a
 *   session file of another process is left, a -wal file is still there, or the store met
 *   SQLITE_CORRUPT during the session.
 * - The first process to open the store alone deletes the marker (durably, before anything is
 *   written, so that a crash of this session is seen by the next one) and the session files
 *   left behind, and checks and repairs if the marker was missing, a session file was left,
 *   or a -wal file is there. A process that opens the store beside another one trusts the
 *   decision that one made when it opened.
 *
 * Files rather than rows in the database: reading a row needs the database that is in question,
 * and the marker must be gone before the first write, which a file does with one unlink and a
 * directory fsync. What every open still checks is the header (reading user_version fails on a
 * file that is no database) and the schema, which every statement needs. Damage elsewhere that
 * appears while nobody has the store open (a failing disk) is found when a query reads it and
 * reported as %PB_STORE_ERROR_CORRUPT there; a body file that disappears is noticed when it is
 * read (pb_store_get_raw()) and downloaded again.
 */

#define BUSY_TIMEOUT_MS 10000
#define MAX_IDLE_READERS 4

/* How many times any store of this process met a damaged index (atomic). One profile is open
 * per process, so a count for the whole process is as good as one per store and needs no way
 * from an SQLite handle back to its store. */
static gint corruption_reports;

/* Each step is applied in its own transaction together with PRAGMA user_version = <index + 1>.
 * Never edit a step that has shipped; add a new one. */
/* One step of the thread backfill of migration 4: a reply and its parent (same account) both
 * take the smaller of their threads, so each conversation converges on its smallest id. */
#define THREAD_LINK(col, match) \
  "UPDATE messages SET thread_id = (SELECT min (p.thread_id) FROM messages p" \
  "  JOIN folders pf ON pf.id = p.folder_id WHERE " match \
  "  AND pf.account = (SELECT account FROM folders WHERE id = messages.folder_id))" \
  " WHERE " col " IS NOT NULL AND thread_id > (SELECT min (p.thread_id) FROM messages p" \
  "  JOIN folders pf ON pf.id = p.folder_id WHERE " match \
  "  AND pf.account = (SELECT account FROM folders WHERE id = messages.folder_id));"
#define THREAD_PASS \
  THREAD_LINK ("in_reply_to", "p.message_id = messages.in_reply_to") \
  THREAD_LINK ("message_id", "p.in_reply_to = messages.message_id")

static const char * const migrations[] = {
  /* 1: the first schema */
  "CREATE TABLE folders ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  account TEXT NOT NULL,"
  "  path TEXT NOT NULL,"
  "  remote_name TEXT,"
  "  role INTEGER NOT NULL DEFAULT 8,"
  "  selectable INTEGER NOT NULL DEFAULT 1,"
  "  uidvalidity INTEGER NOT NULL DEFAULT 0,"
  "  uidnext INTEGER NOT NULL DEFAULT 0,"
  "  highestmodseq INTEGER NOT NULL DEFAULT 0,"
  "  UNIQUE (account, path)"
  ");"
  "CREATE TABLE messages ("
  "  id INTEGER PRIMARY KEY,"
  "  folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,"
  "  uid INTEGER NOT NULL,"
  "  flags INTEGER NOT NULL DEFAULT 0,"
  "  keywords TEXT,"
  "  modseq INTEGER NOT NULL DEFAULT 0,"
  "  size INTEGER NOT NULL DEFAULT 0,"
  "  internaldate INTEGER NOT NULL DEFAULT 0,"
  "  date INTEGER NOT NULL DEFAULT 0,"
  "  subject TEXT,"
  "  from_name TEXT,"
  "  from_addr TEXT,"
  "  to_list TEXT,"
  "  cc_list TEXT,"
  "  message_id TEXT,"
  "  in_reply_to TEXT,"
  "  refs TEXT,"
  "  preview TEXT,"
  "  has_attachment INTEGER NOT NULL DEFAULT 0,"
  "  body_path TEXT,"
  "  UNIQUE (folder_id, uid)"
  ");"
  /* Scanned backwards for "newest first", which also orders equal dates by id, newest first,
   * so that paging is stable. */
  "CREATE INDEX messages_folder_date ON messages (folder_id, date);"
  "CREATE INDEX messages_message_id ON messages (message_id);"
  /* Small once bodies are fetched; makes "what is left to download" cheap. */
  "CREATE INDEX messages_without_body ON messages (folder_id, uid) WHERE body_path IS NULL;"
  "CREATE INDEX messages_unread ON messages (folder_id) WHERE (flags & 1) = 0;"
  /* A full-text table with its own copy of the text: SQLite 3.40 cannot delete from a
   * contentless table without the old text, and the body text lives nowhere else. Trigrams
   * find substrings in any script, including Japanese without spaces. Rows are added and
   * changed from C (see pb-store-messages.c for why not by triggers); only removal is a
   * trigger, so that ON DELETE CASCADE of a folder cleans up too. */
  "CREATE VIRTUAL TABLE messages_fts USING fts5 ("
  "  subject, sender, recipients, body, tokenize = 'trigram'"
  ");"
  "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
  "  DELETE FROM messages_fts WHERE rowid = old.id;"
  "END;"
  /* Not tied to folders by a foreign key: an entry about a folder that is gone still has to
   * be seen (and dropped) by the sync that replays it. */
  "CREATE TABLE journal ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  account TEXT NOT NULL,"
  "  op TEXT NOT NULL,"
  "  folder_id INTEGER NOT NULL DEFAULT 0,"
  "  uidvalidity INTEGER NOT NULL DEFAULT 0,"
  "  uid INTEGER NOT NULL DEFAULT 0,"
  "  arg TEXT,"
  "  created INTEGER NOT NULL"
  ");"
  "CREATE INDEX journal_account ON journal (account, id);",

  /* 2: bodies in a word index of their own. Trigrams made indexing the body text most of the
   * cost of an initial sync (and the index several times the text); words are several times
   * cheaper. Subject, sender and recipients stay in the trigram table, where substring search
   * of short fields is worth it. The body table keeps its text because SQLite 3.40 cannot
   * delete from a contentless table. pb_fts_body() (registered on the writer, see
   * pb-store-search.c) splits CJK text into one token per character, as new bodies are. */
  "DROP TRIGGER messages_fts_delete;"
  "CREATE VIRTUAL TABLE messages_body_fts USING fts5 ("
  "  body, tokenize = 'unicode61 remove_diacritics 2'"
  ");"
  "INSERT INTO messages_body_fts (rowid, body)"
  "  SELECT rowid, pb_fts_body (body) FROM messages_fts WHERE body IS NOT NULL;"
  "CREATE TEMP TABLE messages_fts_old AS"
  "  SELECT rowid AS id, subject, sender, recipients FROM messages_fts;"
  "DROP TABLE messages_fts;"
  "CREATE VIRTUAL TABLE messages_fts USING fts5 ("
  "  subject, sender, recipients, tokenize = 'trigram'"
  ");"
  "INSERT INTO messages_fts (rowid, subject, sender, recipients)"
  "  SELECT id, subject, sender, recipients FROM temp.messages_fts_old;"
  "DROP TABLE temp.messages_fts_old;"
  "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
  "  DELETE FROM messages_fts WHERE rowid = old.id;"
  "  DELETE FROM messages_body_fts WHERE rowid = old.id;"
  "END;",

  /* 3: the POP3 UIDL ledger (see pb-store-pop3.c): which server message (by UIDL) became
   * which local message, when it was first downloaded, whether only its header is here,
   * whether it is still on the server and whether the user wants it deleted there. A row is
   * written before its message is stored (state 0, pending) and marked stored (1) after the
   * message is durable; only stored rows are ever deleted on the server. */
  "CREATE TABLE IF NOT EXISTS pop3_uidl ("
  "  account TEXT NOT NULL,"
  "  uidl TEXT NOT NULL,"
  "  folder_id INTEGER NOT NULL DEFAULT 0,"
  "  uid INTEGER NOT NULL DEFAULT 0,"
  "  first_seen INTEGER NOT NULL,"
  "  state INTEGER NOT NULL DEFAULT 0,"
  "  headers_only INTEGER NOT NULL DEFAULT 0,"
  "  on_server INTEGER NOT NULL DEFAULT 1,"
  "  delete_wanted INTEGER NOT NULL DEFAULT 0,"
  "  PRIMARY KEY (account, uidl)"
  ") WITHOUT ROWID;"
  "CREATE INDEX IF NOT EXISTS pop3_uidl_message ON pop3_uidl (folder_id, uid);",

  /* 4: folders that exist only in the store (a POP3 account's): a move between two of them
   * happens locally (pb_store_move_local()) instead of being left to a server. A table of
   * its own rather than a column, so that the step can run again over a schema that has it
   * (ALTER TABLE ADD COLUMN cannot). Accounts with POP3 ledger rows are POP3 accounts, whose
   * folders were all local already. */
  "CREATE TABLE IF NOT EXISTS local_folders ("
  "  folder_id INTEGER PRIMARY KEY"
  ");"
  "CREATE TRIGGER IF NOT EXISTS local_folders_delete AFTER DELETE ON folders BEGIN"
  "  DELETE FROM local_folders WHERE folder_id = old.id;"
  "END;"
  "INSERT OR IGNORE INTO local_folders (folder_id)"
  "  SELECT id FROM folders WHERE account IN (SELECT account FROM pop3_uidl);",

  /* 5: conversations (see pb-store-threads.c). Every message belongs to one thread, named by
   * the id of one of its messages; the index serves both "the newest message of its thread in
   * this folder" and "how many messages has this thread". Replies are found by In-Reply-To.
   * Existing rows: every message starts as a thread of its own, then each pass joins replies
   * and parents (the smallest thread id wins); 12 passes join conversations up to 12 replies
   * apart, more than the usual depth, and cost index seeks only. */
  "ALTER TABLE messages ADD COLUMN thread_id INTEGER NOT NULL DEFAULT 0;"
  "CREATE INDEX messages_thread ON messages (thread_id, folder_id, date);"
  "CREATE INDEX messages_in_reply_to ON messages (in_reply_to) WHERE in_reply_to IS NOT NULL;"
  "UPDATE messages SET thread_id = id;"
  THREAD_PASS THREAD_PASS THREAD_PASS THREAD_PASS THREAD_PASS THREAD_PASS
  THREAD_PASS THREAD_PASS THREAD_PASS THREAD_PASS THREAD_PASS THREAD_PASS,
};

G_DEFINE_FINAL_TYPE (PbStore, pb_store, G_TYPE_OBJECT)

/* Connections */

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
db_close (PbStoreDb *db)
{
  if (db == NULL)
    return;

  /* Finalizes every cached statement, so the close below really closes. */
  g_clear_pointer (&db->statements, g_hash_table_unref);
  if (db->db != NULL)
    sqlite3_close (db->db);
  g_free (db);
}

static PbStoreDb *
db_open (const char  *path,
         gboolean     read_only,
         GError     **error)
{
  PbStoreDb *db = g_new0 (PbStoreDb, 1);
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
  int rc;

  flags |= read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  db->statements = g_hash_table_new_full (NULL, NULL, NULL, finalize_statement);
  rc = sqlite3_open_v2 (path, &db->db, flags, NULL);
  if (rc != SQLITE_OK)
    {
      pb_store_set_sqlite_error (error, db->db, rc, path);
      db_close (db);
      return NULL;
    }
  sqlite3_extended_result_codes (db->db, TRUE);
  sqlite3_busy_timeout (db->db, BUSY_TIMEOUT_MS);
  if (!read_only)
    pb_store_fts_register (db->db);
  return db;
}

sqlite3_stmt *
pb_store_db_prepare (PbStoreDb   *db,
                     const char  *sql,
                     GError     **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (db->statements, sql);
  int rc;

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }

  rc = sqlite3_prepare_v3 (db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      pb_store_set_sqlite_error (error, db->db, rc, sql);
      return NULL;
    }
  g_hash_table_insert (db->statements, (gpointer) sql, stmt);
  return stmt;
}

gboolean
pb_store_db_exec (PbStoreDb   *db,
                  const char  *sql,
                  GError     **error)
{
  int rc = sqlite3_exec (db->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      pb_store_set_sqlite_error (error, db->db, rc, sql);
      return FALSE;
    }
  return TRUE;
}

/* Runs a cached statement that returns nothing. */
static gboolean
db_run (PbStoreDb   *db,
        const char  *sql,
        GError     **error)
{
  sqlite3_stmt *stmt = pb_store_db_prepare (db, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      pb_store_set_sqlite_error (error, db->db, rc, sql);
      return FALSE;
    }
  return TRUE;
}

/* A statement left stepped but not reset keeps its read snapshot and would hold back WAL
 * checkpoints, so every connection is swept before it is handed back. */
static void
db_reset_all (PbStoreDb *db)
{
  sqlite3_stmt *stmt = NULL;

  while ((stmt = sqlite3_next_stmt (db->db, stmt)) != NULL)
    if (sqlite3_stmt_busy (stmt))
      sqlite3_reset (stmt);
}

static gboolean
db_get_int (PbStoreDb   *db,
            const char  *sql,
            gint64      *value,
            GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db->db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        *value = sqlite3_column_int64 (stmt, 0);
    }
  if (rc != SQLITE_ROW)
    pb_store_set_sqlite_error (error, db->db, rc, sql);
  sqlite3_finalize (stmt);
  return rc == SQLITE_ROW;
}

void
pb_store_set_sqlite_error (GError     **error,
                           sqlite3     *db,
                           int          rc,
                           const char  *what)
{
  int primary = rc & 0xff;
  int sys_errno = db != NULL ? sqlite3_system_errno (db) : 0;
  const char *message = db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc);

  if (primary == SQLITE_FULL
      || (primary == SQLITE_IOERR && (sys_errno == ENOSPC || sys_errno == EDQUOT)))
    g_set_error_literal (error, PB_STORE_ERROR, PB_STORE_ERROR_NO_SPACE,
                         _("The disk is full. Free some space so that mail can be saved."));
  else if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
    {
      g_atomic_int_inc (&corruption_reports);
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_CORRUPT,
                   _("The mail index is damaged (%s). Remove it to have it rebuilt from the "
                     "server."), message);
    }
  else if (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY
           || primary == SQLITE_PERM)
    g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_IO,
                 _("Could not access the mail index: %s"), message);
  else
    g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_FAILED,
                 "%s (%s)", message, what);
}

PbStoreDb *
pb_store_write_begin (PbStore   *self,
                      gboolean   durable,
                      GError   **error)
{
  if (G_UNLIKELY (self->guard_thread != NULL && self->guard_thread == g_thread_self ()))
    g_atomic_int_inc (&self->guard_hits);

  g_mutex_lock (&self->write_lock);

  self->writer_durable = durable;
  if (durable && !db_run (self->writer, "PRAGMA synchronous = FULL", error))
    goto fail;
  if (!db_run (self->writer, "BEGIN IMMEDIATE", error))
    goto fail;
  return self->writer;

fail:
  if (durable)
    db_run (self->writer, "PRAGMA synchronous = NORMAL", NULL);
  self->writer_durable = FALSE;
  g_mutex_unlock (&self->write_lock);
  return NULL;
}

static void
write_end (PbStore *self)
{
  if (self->writer_durable)
    db_run (self->writer, "PRAGMA synchronous = NORMAL", NULL);
  self->writer_durable = FALSE;
  g_mutex_unlock (&self->write_lock);
}

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* How long commits are gathered into one ::changed: a sync commits many small chunks, and a
 * view that re-reads after each would spend its time re-reading. */
#define CHANGED_DELAY_MS 200

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

static gboolean
emit_changed_cb (gpointer data)
{
  g_autoptr(PbStore) self = g_weak_ref_get (data);

  if (self != NULL)
    {
      g_atomic_int_set (&self->change_pending, 0);
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
    }
  return G_SOURCE_REMOVE;
}

/* Called by the writing thread after a commit, which holds a reference to the store. */
static void
notify_changed (PbStore *self)
{
  GWeakRef *ref;
  GSource *source;

  if (!self->opened || !g_atomic_int_compare_and_exchange (&self->change_pending, 0, 1))
    return;
  ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  source = g_timeout_source_new (CHANGED_DELAY_MS);
  g_source_set_static_name (source, "[pb-store] changed");
  g_source_set_callback (source, emit_changed_cb, ref, weak_ref_free);
  g_source_attach (source, NULL);
  g_source_unref (source);
}

gboolean
pb_store_write_commit (PbStore  *self,
                       GError  **error)
{
  gboolean ok;

  db_reset_all (self->writer);
  ok = db_run (self->writer, "COMMIT", error);
  if (!ok && !sqlite3_get_autocommit (self->writer->db))
    db_run (self->writer, "ROLLBACK", NULL);
  write_end (self);
  if (ok)
    notify_changed (self);
  return ok;
}

void
pb_store_write_rollback (PbStore *self)
{
  db_reset_all (self->writer);
  if (!sqlite3_get_autocommit (self->writer->db))
    db_run (self->writer, "ROLLBACK", NULL);
  write_end (self);
}

/* Hands out a read-only connection inside a read transaction, so that several statements see
 * one snapshot. */
PbStoreDb *
pb_store_read_begin (PbStore  *self,
                     GError  **error)
{
  PbStoreDb *db = NULL;

  if (G_UNLIKELY (self->guard_thread != NULL && self->guard_thread == g_thread_self ()))
    g_atomic_int_inc (&self->guard_hits);

  g_mutex_lock (&self->readers_lock);
  if (self->idle_readers->len > 0)
    db = g_ptr_array_steal_index_fast (self->idle_readers, self->idle_readers->len - 1);
  g_mutex_unlock (&self->readers_lock);

  if (db == NULL)
    {
      db = db_open (self->db_path, TRUE, error);
      if (db == NULL)
        return NULL;
    }

  if (!db_run (db, "BEGIN", error))
    {
      db_close (db);
      return NULL;
    }
  return db;
}

void
pb_store_read_end (PbStore   *self,
                   PbStoreDb *db)
{
  if (db == NULL)
    return;

  db_reset_all (db);
  if (!sqlite3_get_autocommit (db->db) && !db_run (db, "COMMIT", NULL))
    {
      db_close (db);
      return;
    }

  g_mutex_lock (&self->readers_lock);
  if (self->idle_readers->len < MAX_IDLE_READERS)
    {
      g_ptr_array_add (self->idle_readers, db);
      db = NULL;
    }
  g_mutex_unlock (&self->readers_lock);
  db_close (db);
}

/* Opening: schema version, integrity, migrations, repair */

static gboolean
configure_writer (PbStore  *self,
                  GError  **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean wal = FALSE;
  int rc;

  rc = sqlite3_prepare_v2 (self->writer->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    wal = g_ascii_strcasecmp ((const char *) sqlite3_column_text (stmt, 0), "wal") == 0;
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW)
    {
      pb_store_set_sqlite_error (error, self->writer->db, rc, "PRAGMA journal_mode");
      return FALSE;
    }
  if (!wal)
    {
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_IO,
                   _("The file system of %s does not support the mail index (no WAL mode)"),
                   self->dir);
      return FALSE;
    }

  return pb_store_db_exec (self->writer,
                           "PRAGMA synchronous = NORMAL;"
                           "PRAGMA foreign_keys = ON;"
                           "PRAGMA temp_store = MEMORY;"
                           "PRAGMA cache_size = -16384;"
                           "PRAGMA journal_size_limit = 67108864;",
                           error);
}

static gboolean
check_integrity (PbStore  *self,
                 GError  **error)
{
  sqlite3_stmt *stmt = NULL;
  g_autoptr(GString) problems = g_string_new (NULL);
  int rc;

  rc = sqlite3_prepare_v2 (self->writer->db, "PRAGMA quick_check (5)", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          const char *line = (const char *) sqlite3_column_text (stmt, 0);

          if (g_strcmp0 (line, "ok") == 0)
            continue;
          if (problems->len > 0)
            g_string_append (problems, "; ");
          g_string_append (problems, line ? line : "?");
        }
    }
  sqlite3_finalize (stmt);

  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, self->writer->db, rc, "PRAGMA quick_check");
      return FALSE;
    }
  if (problems->len > 0)
    {
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_CORRUPT,
                   _("The mail index %s is damaged (%s). Remove it to have it rebuilt from the "
                     "server."), self->db_path, problems->str);
      return FALSE;
    }
  return TRUE;
}

/* The check of every open: the schema must load (page 1 was read for user_version already).
 * Preparing a statement parses sqlite_schema; counting its rows walks that whole b-tree. */
static gboolean
check_schema (PbStore  *self,
              GError  **error)
{
  gint64 n = 0;

  return db_get_int (self->writer, "SELECT count(*) FROM sqlite_schema", &n, error);
}

static gboolean
fsync_directory (const char *dir)
{
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = fsync (fd) == 0;
  close (fd);
  return ok;
}

/* Deletes the session files of others (if @delete) or tells whether there are any. */
static gboolean
find_sessions (PbStore  *self,
               gboolean  delete)
{
  g_autoptr(GDir) dir = g_dir_open (self->dir, 0, NULL);
  const char *name;
  gboolean found = FALSE;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;

      if (!g_str_has_prefix (name, PB_STORE_SESSION_PREFIX))
        continue;
      path = g_build_filename (self->dir, name, NULL);
      if (g_strcmp0 (path, self->session_path) == 0)
        continue;
      found = TRUE;
      if (!delete)
        break;
      g_unlink (path);
    }
  return found;
}

/* Called while we hold the lock alone, before our own session file exists. Returns whether
 * the previous sessions ended cleanly, and deletes the marker, so that a crash of this session
 * is noticed by the next one. */
static gboolean
take_clean_marker (PbStore *self)
{
  g_autofree char *marker = g_build_filename (self->dir, PB_STORE_CLEAN_MARKER, NULL);
  g_autofree char *wal = g_strconcat (self->db_path, "-wal", NULL);
  gboolean clean;
  GStatBuf st;

  clean = g_unlink (marker) == 0;
  /* A process that died beside the one that closed last. */
  if (find_sessions (self, TRUE))
    clean = FALSE;
  /* The unlink must be on disk before the first write: a marker that comes back after a power
   * cut would hide that cut from the next start. When the flush fails we cannot tell, so the
   * check runs. */
  if (clean && !fsync_directory (self->dir))
    clean = FALSE;
  /* Closing the last connection deletes the WAL; one left behind means that some connection did
   * not close (a crash, or a failed checkpoint), whatever the marker says. */
  if (g_stat (wal, &st) == 0 && st.st_size > 0)
    clean = FALSE;
  return clean;
}

/* Called from finalize, after every connection is closed. */
static void
leave_clean_marker (PbStore *self)
{
  g_autofree char *marker = NULL;
  g_autofree char *wal = NULL;
  int fd;

  if (!self->opened
      || g_atomic_int_get (&corruption_reports) != self->corruption_reports_at_open)
    return;
  /* Only the last process leaves the marker; converting our shared lock fails while another
   * process has the store open, and that one leaves it when it closes. (Linux may drop our
   * shared lock when the conversion fails; we are closing anyway.) */
  if (flock (self->lock_fd, LOCK_EX | LOCK_NB) != 0)
    return;
  wal = g_strconcat (self->db_path, "-wal", NULL);
  if (g_file_test (wal, G_FILE_TEST_EXISTS) || find_sessions (self, FALSE))
    return;

  /* No fsync: a marker lost in a power cut only costs one check too many. */
  marker = g_build_filename (self->dir, PB_STORE_CLEAN_MARKER, NULL);
  fd = g_open (marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0)
    close (fd);
}

static gboolean
migrate (PbStore  *self,
         gint64    version,
         GError  **error)
{
  for (gint64 i = version; i < (gint64) G_N_ELEMENTS (migrations); i++)
    {
      g_autofree char *set_version = g_strdup_printf ("PRAGMA user_version = %" G_GINT64_FORMAT,
                                                      i + 1);
      gint64 now = 0;

      if (!pb_store_db_exec (self->writer, "BEGIN IMMEDIATE", error))
        return FALSE;
      /* Another process may have migrated while we waited for the write lock. */
      if (!db_get_int (self->writer, "PRAGMA user_version", &now, error))
        goto fail;
      if (now > i)
        {
          if (!pb_store_db_exec (self->writer, "COMMIT", error))
            goto fail;
          continue;
        }
      if (!pb_store_db_exec (self->writer, migrations[i], error)
          || !pb_store_db_exec (self->writer, set_version, error)
          || !pb_store_db_exec (self->writer, "COMMIT", error))
        goto fail;
      g_debug ("Migrated %s to version %" G_GINT64_FORMAT, self->db_path, i + 1);
      continue;

    fail:
      g_prefix_error (error, _("Could not upgrade the mail index to version %d: "), (int) i + 1);
      if (!sqlite3_get_autocommit (self->writer->db))
        pb_store_db_exec (self->writer, "ROLLBACK", NULL);
      return FALSE;
    }
  return TRUE;
}

static gboolean
is_directory (const char    *dir,
              struct dirent *entry)
{
  g_autofree char *path = NULL;
  GStatBuf st;

  if (entry->d_type != DT_UNKNOWN)
    return entry->d_type == DT_DIR;
  path = g_build_filename (dir, entry->d_name, NULL);
  return g_lstat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

static gboolean
repair (PbStore  *self,
        GError  **error)
{
  g_autoptr(GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GArray) missing = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *messages_dir = g_build_filename (self->dir, "messages", NULL);
  sqlite3_stmt *stmt;
  guint n_stray = 0;
  DIR *top;
  struct dirent *entry;
  GHashTableIter iter;
  gpointer key, value;
  int rc;

  /* Every path a row points at, with the row id; found files are removed from the table, so
   * what is left afterwards are rows whose file is missing. */
  stmt = pb_store_db_prepare (self->writer,
                              "SELECT id, body_path FROM messages WHERE body_path IS NOT NULL",
                              error);
  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_hash_table_insert (paths, g_strdup ((const char *) sqlite3_column_text (stmt, 1)),
                         GSIZE_TO_POINTER ((gsize) sqlite3_column_int64 (stmt, 0)));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pb_store_set_sqlite_error (error, self->writer->db, rc, "repair");
      return FALSE;
    }

  stmt = pb_store_db_prepare (self->writer, "SELECT id FROM folders", error);
  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_hash_table_add (folders, g_strdup_printf ("%" G_GINT64_FORMAT,
                                                (gint64) sqlite3_column_int64 (stmt, 0)));
  sqlite3_reset (stmt);

  top = opendir (messages_dir);
  while (top != NULL && (entry = readdir (top)) != NULL)
    {
      g_autofree char *folder_dir = NULL;
      DIR *sub;
      struct dirent *file;
      gboolean empty = TRUE;

      if (strcmp (entry->d_name, ".") == 0 || strcmp (entry->d_name, "..") == 0)
        continue;
      folder_dir = g_build_filename (messages_dir, entry->d_name, NULL);
      if (!is_directory (messages_dir, entry))
        {
          g_unlink (folder_dir);
          n_stray++;
          continue;
        }

      sub = opendir (folder_dir);
      while (sub != NULL && (file = readdir (sub)) != NULL)
        {
          g_autofree char *relative = NULL;

          if (strcmp (file->d_name, ".") == 0 || strcmp (file->d_name, "..") == 0)
            continue;
          relative = g_strconcat ("messages/", entry->d_name, "/", file->d_name, NULL);
          if (!g_str_has_prefix (file->d_name, ".tmp-")
              && g_hash_table_remove (paths, relative))
            {
              empty = FALSE;
              continue;
            }
          {
            g_autofree char *path = g_build_filename (folder_dir, file->d_name, NULL);

            if (g_unlink (path) == 0)
              n_stray++;
            else
              empty = FALSE;
          }
        }
      if (sub != NULL)
        closedir (sub);
      if (empty && !g_hash_table_contains (folders, entry->d_name))
        g_rmdir (folder_dir);
    }
  if (top != NULL)
    closedir (top);

  g_hash_table_iter_init (&iter, paths);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gint64 id = (gint64) GPOINTER_TO_SIZE (value);
      g_array_append_val (missing, id);
    }

  if (missing->len > 0)
    {
      PbStoreDb *db = pb_store_write_begin (self, FALSE, error);

      if (db == NULL)
        return FALSE;
      stmt = pb_store_db_prepare (db, "UPDATE messages SET body_path = NULL WHERE id = ?", error);
      if (stmt == NULL)
        {
          pb_store_write_rollback (self);
          return FALSE;
        }
      for (guint i = 0; i < missing->len; i++)
        {
          sqlite3_bind_int64 (stmt, 1, g_array_index (missing, gint64, i));
          rc = sqlite3_step (stmt);
          sqlite3_reset (stmt);
          if (rc != SQLITE_DONE)
            {
              pb_store_set_sqlite_error (error, db->db, rc, "repair");
              pb_store_write_rollback (self);
              return FALSE;
            }
        }
      if (!pb_store_write_commit (self, error))
        return FALSE;
    }

  if (n_stray > 0 || missing->len > 0)
    g_message ("Repaired the mail store in %s: removed %u stray files, %u messages will be "
               "downloaded again", self->dir, n_stray, missing->len);
  return TRUE;
}

static void
pb_store_finalize (GObject *object)
{
  PbStore *self = PB_STORE (object);

  /* The writer closes last: only a read-write connection can checkpoint and delete the WAL. */
  g_clear_pointer (&self->idle_readers, g_ptr_array_unref);
  g_clear_pointer (&self->writer, db_close);
  if (self->session_path != NULL)
    g_unlink (self->session_path);
  if (self->lock_fd >= 0)
    {
      leave_clean_marker (self);
      close (self->lock_fd);
    }
  g_mutex_clear (&self->write_lock);
  g_mutex_clear (&self->readers_lock);
  g_free (self->dir);
  g_free (self->db_path);
  g_free (self->session_path);

  G_OBJECT_CLASS (pb_store_parent_class)->finalize (object);
}

static void
pb_store_class_init (PbStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pb_store_finalize;

  /**
   * PbStore::changed:
   *
   * Emitted in the global default main context, at most every 200 ms, after any thread
   * committed a change (a sync, an operation). Views re-read what they show; the signal does
   * not say what changed, so that emitting it costs nothing on the writing thread.
   */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 0);
}

static void
pb_store_init (PbStore *self)
{
  g_mutex_init (&self->write_lock);
  g_mutex_init (&self->readers_lock);
  self->idle_readers = g_ptr_array_new_with_free_func ((GDestroyNotify) db_close);
  self->lock_fd = -1;
}

/**
 * pb_store_open:
 * @dir: the profile's store folder; created if missing
 * @error: return location for a #PbStoreError
 *
 * Opens (or creates) the store in @dir: checks the index, applies migrations and, if no other
 * process has the store open, repairs what a crash left behind. The whole index is checked and
 * repaired only when a previous session did not close the store cleanly; otherwise opening
 * costs milliseconds in a store of any size. Blocks on disk I/O; call it off the main thread.
 *
 * A database written by a newer Postbote fails with %PB_STORE_ERROR_NEWER_VERSION and is not
 * changed; a damaged one fails with %PB_STORE_ERROR_CORRUPT.
 *
 * Returns: (transfer full): the store, or %NULL with @error set
 */
PbStore *
pb_store_open (const char  *dir,
               GError     **error)
{
  g_autoptr(PbStore) self = NULL;
  g_autofree char *messages_dir = NULL;
  g_autofree char *lock_path = NULL;
  gboolean alone;
  gboolean clean = TRUE;
  gint64 version = 0;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (PB_TYPE_STORE, NULL);
  self->dir = g_strdup (dir);
  self->db_path = g_build_filename (dir, "store.sqlite3", NULL);
  messages_dir = g_build_filename (dir, "messages", NULL);
  lock_path = g_build_filename (dir, "store.lock", NULL);

  if (g_mkdir_with_parents (messages_dir, 0700) != 0)
    {
      pb_store_set_file_error (error, errno, _("Could not create the mail store"), messages_dir);
      return NULL;
    }

  self->lock_fd = g_open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (self->lock_fd < 0)
    {
      pb_store_set_file_error (error, errno, _("Could not open the mail store"), lock_path);
      return NULL;
    }
  alone = flock (self->lock_fd, LOCK_EX | LOCK_NB) == 0;
  if (!alone)
    {
      /* Waits only while another process repairs; then shares the store with it. */
      while (flock (self->lock_fd, LOCK_SH) != 0 && errno == EINTR)
        ;
    }
  /* Beside another process, that one already decided about the check when it opened. */
  if (alone)
    clean = take_clean_marker (self);
  self->corruption_reports_at_open = g_atomic_int_get (&corruption_reports);
  {
    g_autofree char *name = g_strdup_printf (PB_STORE_SESSION_PREFIX "%d-%08x", (int) getpid (),
                                             g_random_int ());
    int fd;

    self->session_path = g_build_filename (dir, name, NULL);
    fd = g_open (self->session_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      {
        pb_store_set_file_error (error, errno, _("Could not open the mail store"),
                                 self->session_path);
        g_clear_pointer (&self->session_path, g_free);
        return NULL;
      }
    close (fd);
  }

  self->writer = db_open (self->db_path, FALSE, error);
  if (self->writer == NULL)
    return NULL;

  /* The version is read before anything could write: a newer schema is refused untouched. */
  if (!db_get_int (self->writer, "PRAGMA user_version", &version, error))
    return NULL;
  if (version > (gint64) G_N_ELEMENTS (migrations))
    {
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NEWER_VERSION,
                   _("The mail store in %s was written by a newer version of Postbote "
                     "(format %lld, this version knows %u). Update Postbote to open it."),
                   dir, (long long) version, (guint) G_N_ELEMENTS (migrations));
      return NULL;
    }

  if (!configure_writer (self, error))
    return NULL;
  if (version > 0 && !check_schema (self, error))
    return NULL;
  if (version > 0 && !clean)
    {
      g_debug ("%s was not closed cleanly; checking it", self->db_path);
      self->integrity_checked = TRUE;
      if (!check_integrity (self, error))
        return NULL;
    }
  if (!migrate (self, version, error))
    return NULL;

  if (alone)
    {
      if (!clean && !repair (self, error))
        return NULL;
      while (flock (self->lock_fd, LOCK_SH) != 0 && errno == EINTR)
        ;
    }

  self->opened = TRUE;
  return g_steal_pointer (&self);
}

/**
 * pb_store_get_dir:
 *
 * Returns: the folder the store lives in
 */
const char *
pb_store_get_dir (PbStore *self)
{
  g_return_val_if_fail (PB_IS_STORE (self), NULL);
  return self->dir;
}
