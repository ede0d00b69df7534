/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <sqlite3.h>

#include "pb-store.h"

G_BEGIN_DECLS

/* One SQLite connection with its cache of prepared statements. A connection is only ever used
 * by one thread at a time: the writer under PbStore.write_lock, a reader while it is checked
 * out of the pool. */
typedef struct {
  sqlite3    *db;
  GHashTable *statements;   /* const char *sql (a string literal, by address) -> sqlite3_stmt */
} PbStoreDb;

struct _PbStore
{
  GObject     parent_instance;

  char       *dir;
  char       *db_path;
  int         lock_fd;

  /* All writes go through one connection, one transaction at a time. */
  GMutex      write_lock;
  PbStoreDb  *writer;
  gboolean    writer_durable;

  /* Idle read-only connections; more are opened when all are busy. */
  GMutex      readers_lock;
  GPtrArray  *idle_readers;

  /* Set once pb_store_open() succeeded: only a fully opened store may leave the clean-shutdown
   * marker behind. */
  gboolean    opened;
  /* The process-wide count of corruption reports when the store was opened; a store that saw
   * one since leaves no clean-shutdown marker, so the next open checks the whole index. */
  gint        corruption_reports_at_open;
  /* Whether this open ran PRAGMA quick_check and the repair (for tests). */
  gboolean    integrity_checked;
  /* This process's session file, deleted when the store is closed. */
  char       *session_path;

  /* For tests: every transaction begun on guard_thread (e.g. the UI thread, which must never
   * wait for SQLite) is counted in guard_hits. */
  GThread    *guard_thread;
  gint        guard_hits;

  /* A ::changed emission is scheduled (see notify_changed()). */
  gint        change_pending;
};

/* The file whose presence tells pb_store_open() that every process closed the store cleanly. */
#define PB_STORE_CLEAN_MARKER "store.clean"
/* The prefix of the file each open store has in its folder, deleted when it is closed. */
#define PB_STORE_SESSION_PREFIX "store.session-"

/* Connections (pb-store.c) */
sqlite3_stmt *pb_store_db_prepare       (PbStoreDb   *db,
                                         const char  *sql,
                                         GError     **error);
gboolean      pb_store_db_exec          (PbStoreDb   *db,
                                         const char  *sql,
                                         GError     **error);
void          pb_store_set_sqlite_error (GError     **error,
                                         sqlite3     *db,
                                         int          rc,
                                         const char  *what);
PbStoreDb    *pb_store_write_begin      (PbStore     *self,
                                         gboolean     durable,
                                         GError     **error);
gboolean      pb_store_write_commit     (PbStore     *self,
                                         GError     **error);
void          pb_store_write_rollback   (PbStore     *self);
PbStoreDb    *pb_store_read_begin       (PbStore     *self,
                                         GError     **error);
void          pb_store_read_end         (PbStore     *self,
                                         PbStoreDb   *db);

/* The unified inbox's folder when there is only one inbox (pb-store-lookup.c) */
gint64        pb_store_resolve_folder   (PbStoreDb   *db,
                                         gint64       folder_id);

/* Body files (pb-store-messages.c) */
char         *pb_store_body_abs_path    (PbStore     *self,
                                         const char  *body_path);
void          pb_store_unlink_bodies    (PbStore     *self,
                                         GPtrArray   *body_paths);
gboolean      pb_store_fsync_dir        (const char  *dir,
                                         const char  *what,
                                         GError     **error);
void          pb_store_set_file_error   (GError     **error,
                                         int          saved_errno,
                                         const char  *what,
                                         const char  *path);

/* Parsing (pb-store-parse.c) */
void          pb_store_parse_body       (GBytes      *raw,
                                         char       **preview,
                                         gboolean    *has_attachment,
                                         char       **body_text);

/* Full-text search (pb-store-search.c) */
char         *pb_store_fts_body_text    (const char  *text);
void          pb_store_fts_register     (sqlite3     *db);

/* Columns of a full message row, in the order pb_store_summary_from_row() reads them. */
#define PB_STORE_SUMMARY_COLUMNS \
  "m.id, m.folder_id, m.uid, m.flags, m.keywords, m.modseq, m.size, m.internaldate, m.date, " \
  "m.subject, m.from_name, m.from_addr, m.to_list, m.cc_list, m.message_id, m.in_reply_to, " \
  "m.refs, m.preview, m.has_attachment, m.body_path IS NOT NULL"
#define PB_STORE_SUMMARY_N_COLUMNS 20

/* Conversations (pb-store-threads.c): sets the thread of a new row; returns SQLITE_OK or the
 * error. */
int           pb_store_thread_message   (PbStoreDb              *db,
                                         gint64                  folder_id,
                                         gint64                  id,
                                         const PbMessageSummary *s);

/* A PbMessageList of conversations passes its folder id with this bit set to
 * pb_store_list_messages(), pb_store_count_messages() and pb_store_read_ranges(): they then see
 * only the newest message of each thread in the folder (in the same order as messages), and its
 * rows carry the thread's size. Folder ids are row ids, far below this bit. */
#define PB_STORE_THREADS_BIT ((gint64) 1 << 48)

/* The unified inbox's negative id is marked by subtracting the bit instead. */
static inline gint64
pb_store_threads_folder (gint64 folder_id)
{
  return folder_id >= 0 ? folder_id | PB_STORE_THREADS_BIT : folder_id - PB_STORE_THREADS_BIT;
}

/* Removes the mark of pb_store_threads_folder() from @folder_id; returns whether it was there. */
static inline gboolean
pb_store_take_threads_bit (gint64 *folder_id)
{
  if (*folder_id <= -PB_STORE_THREADS_BIT)
    *folder_id += PB_STORE_THREADS_BIT;
  else if (*folder_id >= 0 && (*folder_id & PB_STORE_THREADS_BIT) != 0)
    *folder_id &= ~PB_STORE_THREADS_BIT;
  else
    return FALSE;
  return TRUE;
}

/* Which messages of m's folder are the newest of their thread there; the unified inbox's looks
 * over all its inboxes. Index seeks on (thread_id, folder_id, date). */
#define PB_STORE_THREAD_HEAD(m) \
  " AND NOT EXISTS (SELECT 1 FROM messages n WHERE n.thread_id = " m ".thread_id" \
  "  AND n.folder_id = " m ".folder_id" \
  "  AND n.date >= " m ".date AND (n.date > " m ".date OR n.id > " m ".id))"
#define PB_STORE_INBOXES_THREAD_HEAD(m) \
  " AND NOT EXISTS (SELECT 1 FROM messages n WHERE n.thread_id = " m ".thread_id" \
  "  AND " PB_STORE_INBOXES_MATCH ("n.folder_id") \
  "  AND n.date >= " m ".date AND (n.date > " m ".date OR n.id > " m ".id))"
#define PB_STORE_THREAD_COUNT_COLUMN \
  ", (SELECT count(*) FROM messages t WHERE t.thread_id = m.thread_id)"

/* The page query of pb_store_list_messages(); shared with the test that checks its plan. */
#define PB_STORE_LIST_MESSAGES_SQL \
  "SELECT " PB_STORE_SUMMARY_COLUMNS " FROM messages m" \
  " WHERE m.folder_id = ? ORDER BY m.date DESC, m.id DESC LIMIT ? OFFSET ?"

/* The pseudo-folder PB_STORE_FOLDER_INBOXES: every folder with the inbox role (0). ?1 stays a
 * parameter (the pseudo id, which is never a real one), so both variants bind alike. */
#define PB_STORE_INBOXES_MATCH(col) \
  col " IN (SELECT id FROM folders WHERE role = 0 AND id <> ?1)"
#define PB_STORE_LIST_INBOXES_SQL \
  "SELECT " PB_STORE_SUMMARY_COLUMNS " FROM messages m" \
  " WHERE " PB_STORE_INBOXES_MATCH ("m.folder_id") \
  " ORDER BY m.date DESC, m.id DESC LIMIT ? OFFSET ?"

#define PB_STORE_LIST_THREADS_SQL \
  "SELECT " PB_STORE_SUMMARY_COLUMNS PB_STORE_THREAD_COUNT_COLUMN " FROM messages m" \
  " WHERE m.folder_id = ?1" PB_STORE_THREAD_HEAD ("m") \
  " ORDER BY m.date DESC, m.id DESC LIMIT ?2 OFFSET ?3"
#define PB_STORE_LIST_INBOXES_THREADS_SQL \
  "SELECT " PB_STORE_SUMMARY_COLUMNS PB_STORE_THREAD_COUNT_COLUMN " FROM messages m" \
  " WHERE " PB_STORE_INBOXES_MATCH ("m.folder_id") PB_STORE_INBOXES_THREAD_HEAD ("m") \
  " ORDER BY m.date DESC, m.id DESC LIMIT ?2 OFFSET ?3"
#define PB_STORE_COUNT_THREADS_SQL \
  "SELECT count(*) FROM messages m WHERE m.folder_id = ?1" PB_STORE_THREAD_HEAD ("m")
#define PB_STORE_COUNT_INBOXES_THREADS_SQL \
  "SELECT count(*) FROM messages m WHERE " PB_STORE_INBOXES_MATCH ("m.folder_id") \
  PB_STORE_INBOXES_THREAD_HEAD ("m")

/* Ranges of a folder's message order, for the refresh of PbMessageList (pb-store-ranges.c).
 *
 * The order is the one of pb_store_list_messages(): newest first by date, equal dates by row
 * id, newest first. A range is given by its first and last key in that order; what is read for
 * it comes from the same snapshot as the folder's total. */
typedef struct {
  gint64 date;
  gint64 id;
} PbStoreOrderKey;

typedef struct {
  PbStoreOrderKey  first;      /* in */
  PbStoreOrderKey  last;       /* in: not before first */
  guint            max_rows;   /* in: read full rows for at most this many messages */
  guint            position;   /* out: how many messages of the folder come before first */
  GArray          *keys;       /* out: PbStoreOrderKey of every message from first to last */
  GPtrArray       *rows;       /* out: PbMessageSummary of the first max_rows of them */
} PbStoreRange;

/* How many messages come before a key: an index range, counted without reading rows. */
#define PB_STORE_RANGE_POSITION_SQL \
  "SELECT count(*) FROM messages WHERE folder_id = ?1 AND date >= ?2 AND (date > ?2 OR id > ?3)"
#define PB_STORE_INBOXES_RANGE_POSITION_SQL \
  "SELECT count(*) FROM messages WHERE " PB_STORE_INBOXES_MATCH ("folder_id") \
  " AND date >= ?2 AND (date > ?2 OR id > ?3)"
/* The bounds of a range; the index (folder_id, date) holds the row id, so the key query never
 * reads a table row. */
#define PB_STORE_RANGE_WHERE \
  " WHERE m.folder_id = ?1 AND m.date <= ?2 AND m.date >= ?4" \
  " AND (m.date < ?2 OR m.id <= ?3) AND (m.date > ?4 OR m.id >= ?5)" \
  " ORDER BY m.date DESC, m.id DESC"
#define PB_STORE_RANGE_KEYS_SQL "SELECT m.id, m.date FROM messages m" PB_STORE_RANGE_WHERE
#define PB_STORE_RANGE_ROWS_SQL \
  "SELECT " PB_STORE_SUMMARY_COLUMNS " FROM messages m" PB_STORE_RANGE_WHERE " LIMIT ?6"
#define PB_STORE_INBOXES_RANGE_WHERE \
  " WHERE " PB_STORE_INBOXES_MATCH ("m.folder_id") " AND m.date <= ?2 AND m.date >= ?4" \
  " AND (m.date < ?2 OR m.id <= ?3) AND (m.date > ?4 OR m.id >= ?5)" \
  " ORDER BY m.date DESC, m.id DESC"
#define PB_STORE_INBOXES_RANGE_KEYS_SQL \
  "SELECT m.id, m.date FROM messages m" PB_STORE_INBOXES_RANGE_WHERE
#define PB_STORE_INBOXES_RANGE_ROWS_SQL \
  "SELECT " PB_STORE_SUMMARY_COLUMNS " FROM messages m" PB_STORE_INBOXES_RANGE_WHERE " LIMIT ?6"

#define PB_STORE_THREADS_RANGE_POSITION_SQL \
  "SELECT count(*) FROM messages m WHERE m.folder_id = ?1 AND m.date >= ?2" \
  " AND (m.date > ?2 OR m.id > ?3)" PB_STORE_THREAD_HEAD ("m")
#define PB_STORE_INBOXES_THREADS_RANGE_POSITION_SQL \
  "SELECT count(*) FROM messages m WHERE " PB_STORE_INBOXES_MATCH ("m.folder_id") \
  " AND m.date >= ?2 AND (m.date > ?2 OR m.id > ?3)" PB_STORE_INBOXES_THREAD_HEAD ("m")
#define PB_STORE_THREADS_RANGE_WHERE \
  " WHERE m.folder_id = ?1 AND m.date <= ?2 AND m.date >= ?4" \
  " AND (m.date < ?2 OR m.id <= ?3) AND (m.date > ?4 OR m.id >= ?5)" \
  PB_STORE_THREAD_HEAD ("m") " ORDER BY m.date DESC, m.id DESC"
#define PB_STORE_INBOXES_THREADS_RANGE_WHERE \
  " WHERE " PB_STORE_INBOXES_MATCH ("m.folder_id") " AND m.date <= ?2 AND m.date >= ?4" \
  " AND (m.date < ?2 OR m.id <= ?3) AND (m.date > ?4 OR m.id >= ?5)" \
  PB_STORE_INBOXES_THREAD_HEAD ("m") " ORDER BY m.date DESC, m.id DESC"
#define PB_STORE_THREADS_RANGE_KEYS_SQL \
  "SELECT m.id, m.date FROM messages m" PB_STORE_THREADS_RANGE_WHERE
#define PB_STORE_INBOXES_THREADS_RANGE_KEYS_SQL \
  "SELECT m.id, m.date FROM messages m" PB_STORE_INBOXES_THREADS_RANGE_WHERE
#define PB_STORE_THREADS_RANGE_ROWS_SQL \
  "SELECT " PB_STORE_SUMMARY_COLUMNS PB_STORE_THREAD_COUNT_COLUMN " FROM messages m" \
  PB_STORE_THREADS_RANGE_WHERE " LIMIT ?6"
#define PB_STORE_INBOXES_THREADS_RANGE_ROWS_SQL \
  "SELECT " PB_STORE_SUMMARY_COLUMNS PB_STORE_THREAD_COUNT_COLUMN " FROM messages m" \
  PB_STORE_INBOXES_THREADS_RANGE_WHERE " LIMIT ?6"

void              pb_store_range_clear       (PbStoreRange  *range);
gboolean          pb_store_read_ranges       (PbStore       *self,
                                              gint64         folder_id,
                                              PbStoreRange  *ranges,
                                              guint          n_ranges,
                                              guint         *total,
                                              GError       **error);
void              pb_store_read_ranges_async (PbStore       *self,
                                              gint64         folder_id,
                                              GArray        *ranges,
                                              GCancellable  *cancellable,
                                              GAsyncReadyCallback callback,
                                              gpointer       user_data);
GArray           *pb_store_read_ranges_finish (PbStore      *self,
                                              GAsyncResult  *result,
                                              guint         *total,
                                              GError       **error);

PbMessageSummary *pb_store_summary_from_row (sqlite3_stmt *stmt);
char             *pb_store_column_text      (sqlite3_stmt *stmt,
                                             int           column);

G_END_DECLS
