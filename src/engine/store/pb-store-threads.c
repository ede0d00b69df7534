/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include "pb-store-private.h"

/*
 * Conversations. Every message row has a thread_id: the id of a message of its thread. A new
 * message joins the thread of the messages it names (In-Reply-To, then References, nearest
 * first) and of the messages that name it in In-Reply-To (a reply that arrived before its
 * parent, e.g. synced from Sent first), all in folders of the same account. When these are
 * in several threads, the threads are merged into the smallest id. Every lookup is an index
 * seek (message_id, in_reply_to, thread_id), so adding a message costs the same at any store
 * size. References that are not In-Reply-To are only followed upwards: finding children by
 * References would need a scan of every row.
 */

/* Bounds the work one hostile header can cause. */
#define MAX_REFERENCES 32
#define MAX_THREADS    64

static void
add_thread (GArray *threads,
            gint64  thread_id)
{
  if (thread_id == 0 || threads->len >= MAX_THREADS)
    return;
  for (guint i = 0; i < threads->len; i++)
    if (g_array_index (threads, gint64, i) == thread_id)
      return;
  g_array_append_val (threads, thread_id);
}

/* Adds the threads of the rows @stmt finds for @text; returns SQLITE_OK or the error. */
static int
collect (sqlite3_stmt *stmt,
         gint64        folder_id,
         gint64        id,
         const char   *text,
         GArray       *threads)
{
  int rc;

  sqlite3_bind_text (stmt, 1, text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, folder_id);
  sqlite3_bind_int64 (stmt, 3, id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    add_thread (threads, sqlite3_column_int64 (stmt, 0));
  sqlite3_reset (stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
step_update (sqlite3_stmt *stmt,
             gint64        a,
             gint64        b)
{
  int rc;

  sqlite3_bind_int64 (stmt, 1, a);
  sqlite3_bind_int64 (stmt, 2, b);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * Sets the thread of the new row @id (in @folder_id, with the header fields of @s) inside the
 * caller's write transaction. Returns SQLITE_OK or the SQLite error.
 */
int
pb_store_thread_message (PbStoreDb              *db,
                         gint64                  folder_id,
                         gint64                  id,
                         const PbMessageSummary *s)
{
  g_autoptr(GArray) threads = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto(GStrv) refs = NULL;
  sqlite3_stmt *parents, *children, *merge, *set_own;
  gint64 thread_id = id;
  guint n_refs;
  int rc = SQLITE_OK;

  parents = pb_store_db_prepare (db,
                                 "SELECT m.thread_id FROM messages m"
                                 " JOIN folders f ON f.id = m.folder_id"
                                 " WHERE m.message_id = ?1 AND m.id <> ?3"
                                 " AND f.account = (SELECT account FROM folders WHERE id = ?2)",
                                 NULL);
  children = pb_store_db_prepare (db,
                                  "SELECT m.thread_id FROM messages m"
                                  " JOIN folders f ON f.id = m.folder_id"
                                  " WHERE m.in_reply_to = ?1 AND m.id <> ?3"
                                  " AND f.account = (SELECT account FROM folders WHERE id = ?2)",
                                  NULL);
  merge = pb_store_db_prepare (db, "UPDATE messages SET thread_id = ?1 WHERE thread_id = ?2",
                               NULL);
  set_own = pb_store_db_prepare (db, "UPDATE messages SET thread_id = ?1 WHERE id = ?2", NULL);
  if (parents == NULL || children == NULL || merge == NULL || set_own == NULL)
    return SQLITE_ERROR;

  if (s->in_reply_to != NULL && *s->in_reply_to != '\0')
    rc = collect (parents, folder_id, id, s->in_reply_to, threads);
  if (s->references != NULL)
    refs = g_strsplit_set (s->references, " \t", -1);
  n_refs = refs != NULL ? g_strv_length (refs) : 0;
  /* Nearest first: References lists the root first. */
  for (guint i = n_refs, seen = 0; rc == SQLITE_OK && i > 0 && seen < MAX_REFERENCES; i--)
    if (*refs[i - 1] != '\0')
      {
        rc = collect (parents, folder_id, id, refs[i - 1], threads);
        seen++;
      }
  if (rc == SQLITE_OK && s->message_id != NULL && *s->message_id != '\0')
    rc = collect (children, folder_id, id, s->message_id, threads);
  if (rc != SQLITE_OK)
    return rc;

  for (guint i = 0; i < threads->len; i++)
    thread_id = MIN (thread_id, g_array_index (threads, gint64, i));
  /* The other threads join the chosen one (a parent that arrived after its replies). */
  for (guint i = 0; i < threads->len && rc == SQLITE_OK; i++)
    if (g_array_index (threads, gint64, i) != thread_id)
      rc = step_update (merge, thread_id, g_array_index (threads, gint64, i));
  if (rc == SQLITE_OK)
    rc = step_update (set_own, thread_id, id);
  return rc;
}
