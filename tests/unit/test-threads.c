/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-threads"

#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "pb-engine.h"
#include "pb-message-list.h"
#include "pb-store.h"
#include "pb-store-private.h"
#include "pb-test-store.h"

/*
 * Conversations: threads joined by In-Reply-To / References across the folders of an account
 * (also when a reply arrives before its parent), and PbMessageList:threads, one row per
 * thread with the thread's size.
 */

static char *tmp_dir;

static PbMessageSummary *
make_summary (guint32     uid,
              gint64      date,
              const char *id,
              const char *in_reply_to,
              const char *references)
{
  PbMessageSummary *summary = pb_message_summary_new ();

  summary->uid = uid;
  summary->date = date;
  summary->internaldate = date;
  summary->size = 100;
  summary->subject = g_strdup (id);
  summary->from_addr = g_strdup ("someone@example.org");
  summary->message_id = g_strdup_printf ("%s@example.org", id);
  summary->in_reply_to = in_reply_to ? g_strdup_printf ("%s@example.org", in_reply_to) : NULL;
  summary->references = g_strdup (references);
  return summary;
}

static PbStore *
open_store (const char *name)
{
  g_autofree char *dir = g_build_filename (tmp_dir, name, NULL);

  return pb_test_store_open (dir);
}

typedef struct {
  gint64 a_inbox, a_sent, b_inbox;
} Folders;

/*
 * Account a: the thread r <- s1 (Sent) <- i2 (INBOX) <- s3 (Sent), where i2 arrives first and
 * s1, its parent, last; and two unrelated messages u1, u2 in INBOX. Account b has a reply to
 * r too, which is not part of a's thread.
 */
static void
fill (PbStore *store,
      Folders *f)
{
  f->a_inbox = pb_test_store_add_folder (store, "a", "INBOX", PB_FOLDER_ROLE_INBOX);
  f->a_sent = pb_test_store_add_folder (store, "a", "Sent", PB_FOLDER_ROLE_SENT);
  f->b_inbox = pb_test_store_add_folder (store, "b", "INBOX", PB_FOLDER_ROLE_INBOX);

  /* Short References (some clients trim them): only s1, when it comes, links i2 to r. */
  pb_test_store_add (store, f->a_inbox, make_summary (1, 5000, "i2", "s1", "s1@example.org"));
  pb_test_store_add (store, f->a_inbox, make_summary (2, 1000, "r", NULL, NULL));
  pb_test_store_add (store, f->a_inbox, make_summary (3, 1500, "u1", NULL, NULL));
  pb_test_store_add (store, f->a_sent, make_summary (1, 4000, "s3", "i2", "i2@example.org"));
  pb_test_store_add (store, f->a_inbox, make_summary (4, 3500, "u2", NULL, NULL));
  pb_test_store_add (store, f->b_inbox, make_summary (1, 2500, "elsewhere", "r", "r@example.org"));
  pb_test_store_add (store, f->a_sent, make_summary (2, 2000, "s1", "r", "r@example.org"));
}

static void
check_rows (GPtrArray          *page,
            const char * const *subjects,
            const guint        *counts,
            guint               n)
{
  g_assert_cmpuint (page->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      PbMessageSummary *summary = g_ptr_array_index (page, i);

      g_assert_cmpstr (summary->subject, ==, subjects[i]);
      g_assert_cmpuint (summary->thread_count, ==, counts[i]);
    }
}

static void
test_threads_store (void)
{
  g_autoptr (PbStore) store = open_store ("store");
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GError) error = NULL;
  const char * const inbox[] = { "i2", "u2", "u1" };
  const guint inbox_counts[] = { 4, 1, 1 };
  const char * const sent[] = { "s3" };
  const guint sent_counts[] = { 4 };
  Folders f;
  guint total = 0, unread = 0;

  fill (store, &f);

  page = pb_store_list_messages (store, pb_store_threads_folder (f.a_inbox), 0, 10, &error);
  g_assert_no_error (error);
  check_rows (page, inbox, inbox_counts, G_N_ELEMENTS (inbox));
  g_clear_pointer (&page, g_ptr_array_unref);

  /* Paging: the second conversation alone. */
  page = pb_store_list_messages (store, pb_store_threads_folder (f.a_inbox), 1, 1, &error);
  check_rows (page, inbox + 1, inbox_counts + 1, 1);
  g_clear_pointer (&page, g_ptr_array_unref);

  page = pb_store_list_messages (store, pb_store_threads_folder (f.a_sent), 0, 10, &error);
  check_rows (page, sent, sent_counts, G_N_ELEMENTS (sent));
  g_clear_pointer (&page, g_ptr_array_unref);

  /* The other account's reply stays a thread of its own. */
  page = pb_store_list_messages (store, pb_store_threads_folder (f.b_inbox), 0, 10, &error);
  g_assert_cmpuint (page->len, ==, 1);
  g_assert_cmpuint (((PbMessageSummary *) page->pdata[0])->thread_count, ==, 1);
  g_clear_pointer (&page, g_ptr_array_unref);

  /* Counting: conversations, unread still messages. */
  g_assert_true (pb_store_count_messages (store, pb_store_threads_folder (f.a_inbox), &total,
                                          &unread, &error));
  g_assert_cmpuint (total, ==, 3);
  g_assert_cmpuint (unread, ==, 4);
  g_assert_true (pb_store_count_messages (store, f.a_inbox, &total, NULL, &error));
  g_assert_cmpuint (total, ==, 4);

  /* The plain list is unchanged, and carries no thread count. */
  page = pb_store_list_messages (store, f.a_inbox, 0, 10, &error);
  g_assert_cmpuint (page->len, ==, 4);
  g_assert_cmpuint (((PbMessageSummary *) page->pdata[0])->thread_count, ==, 1);
}

static char *
query_plan (const char *db_path,
            const char *sql)
{
  g_autofree char *plan = g_strconcat ("EXPLAIN QUERY PLAN ", sql, NULL);
  GString *text = g_string_new (NULL);
  sqlite3_stmt *stmt;
  sqlite3 *db;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, plan, -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (text, "%s\n", sqlite3_column_text (stmt, 3));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  g_test_message ("plan: %s", text->str);
  return g_string_free (text, FALSE);
}

/* Every query of a conversation list walks indexes: no table scan, no sort of the folder. */
static void
test_threads_plan (void)
{
  g_autoptr (PbStore) store = open_store ("plan");
  g_autofree char *db_path = g_build_filename (tmp_dir, "plan", "store.sqlite3", NULL);
  const char *queries[] = {
    PB_STORE_LIST_THREADS_SQL, PB_STORE_COUNT_THREADS_SQL, PB_STORE_THREADS_RANGE_POSITION_SQL,
    PB_STORE_THREADS_RANGE_KEYS_SQL, PB_STORE_THREADS_RANGE_ROWS_SQL,
  };
  Folders f;

  fill (store, &f);
  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autofree char *plan = query_plan (db_path, queries[i]);

      g_assert_nonnull (strstr (plan, "messages_thread"));
      g_assert_null (strstr (plan, "TEMP B-TREE"));
      g_assert_false (g_regex_match_simple ("^SCAN [a-z]+\\s*$", plan, G_REGEX_MULTILINE, 0));
    }
}

static gboolean
list_ready (gpointer user_data)
{
  PbMessageList *list = user_data;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (list));

  if (n == 0 || pb_message_list_get_loading (list))
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (PbMessageItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);

      if (!pb_message_item_get_loaded (item))
        return FALSE;
    }
  return TRUE;
}

static void
spin_until_ready (PbMessageList *list)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!list_ready (list))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
check_items (PbMessageList      *list,
             const char * const *subjects,
             const guint        *counts,
             guint               n)
{
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (PbMessageItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);

      g_assert_cmpstr (pb_message_item_get_subject (item), ==, subjects[i]);
      g_assert_cmpuint (pb_message_item_get_thread_count (item), ==, counts[i]);
    }
}

static void
test_threads_list (void)
{
  g_autoptr (PbStore) store = open_store ("list");
  g_autoptr (PbMessageList) list = NULL;
  g_autoptr (PbMessageList) plain = NULL;
  const char * const before[] = { "i2", "u2", "u1" };
  const guint before_counts[] = { 4, 1, 1 };
  const char * const after[] = { "i4", "u2", "u1" };
  const guint after_counts[] = { 5, 1, 1 };
  Folders f;

  fill (store, &f);
  list = pb_message_list_new_threads (store, f.a_inbox);
  g_assert_true (pb_message_list_get_threads (list));
  spin_until_ready (list);
  check_items (list, before, before_counts, G_N_ELEMENTS (before));

  plain = pb_message_list_new (store, f.a_inbox);
  spin_until_ready (plain);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (plain)), ==, 4);

  /* A new reply becomes the thread's row; the refresh keeps one row per conversation. */
  pb_test_store_add (store, f.a_inbox, make_summary (5, 6000, "i4", "s3",
                                       "r@example.org s1@example.org i2@example.org "
                                       "s3@example.org"));
  pb_message_list_refresh (list);
  while (g_list_model_get_n_items (G_LIST_MODEL (list)) != 3 || !list_ready (list)
         || pb_message_list_get_loading (list))
    g_main_context_iteration (NULL, TRUE);
  check_items (list, after, after_counts, G_N_ELEMENTS (after));

  /* A reply in Sent only changes the count. */
  pb_test_store_add (store, f.a_sent, make_summary (3, 7000, "s5", "i4", "r@example.org i4@example.org"));
  pb_message_list_refresh (list);
  spin_until_ready (list);
  {
    g_autoptr (PbMessageItem) item = g_list_model_get_item (G_LIST_MODEL (list), 0);
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (pb_message_item_get_thread_count (item) != 6)
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_main_context_iteration (NULL, TRUE);
      }
    g_assert_cmpstr (pb_message_item_get_subject (item), ==, "i4");
  }
}

/* Migration of a store written before conversations: existing replies join their parents. */
static void
test_threads_migration (void)
{
  g_autofree char *db_path = g_build_filename (tmp_dir, "migration", "store.sqlite3", NULL);
  g_autoptr (PbStore) store = open_store ("migration");
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GError) error = NULL;
  sqlite3 *db;
  Folders f;

  fill (store, &f);
  g_clear_object (&store);

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
                                 "DROP INDEX messages_thread;"
                                 "DROP INDEX messages_in_reply_to;"
                                 "ALTER TABLE messages DROP COLUMN thread_id;"
                                 "PRAGMA user_version = 4;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  store = open_store ("migration");
  page = pb_store_list_messages (store, pb_store_threads_folder (f.a_inbox), 0, 10, &error);
  g_assert_no_error (error);
  /* i2 <- s1 <- r and s3 <- i2 are In-Reply-To chains: all four are one thread again. */
  g_assert_cmpuint (page->len, ==, 3);
  g_assert_cmpstr (((PbMessageSummary *) page->pdata[0])->subject, ==, "i2");
  g_assert_cmpuint (((PbMessageSummary *) page->pdata[0])->thread_count, ==, 4);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();
  tmp_dir = g_dir_make_tmp ("pb-threads-XXXXXX", NULL);

  g_test_add_func ("/threads/store", test_threads_store);
  g_test_add_func ("/threads/plan", test_threads_plan);
  g_test_add_func ("/threads/list", test_threads_list);
  g_test_add_func ("/threads/migration", test_threads_migration);
  status = g_test_run ();

  remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
