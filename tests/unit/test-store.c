/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include "pb-engine.h"
#include "pb-store.h"
#include "pb-store-private.h"

#define ACCOUNT "work"

typedef struct {
  char *dir;
} Fixture;

static void
rm_rf (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        rm_rf (child);
      else
        g_unlink (child);
    }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (path);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->dir = g_dir_make_tmp ("pb-store-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  rm_rf (fixture->dir);
  g_free (fixture->dir);
}

static PbStore *
open_store (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  PbStore *store = pb_store_open (fixture->dir, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

static gint64
add_folder (PbStore      *store,
            const char   *path,
            PbFolderRole  role)
{
  g_autoptr(PbFolderInfo) info = pb_folder_info_new (path, role, TRUE);
  g_autoptr(GError) error = NULL;
  gint64 id = pb_store_ensure_folder (store, ACCOUNT, info, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static GPtrArray *
new_summaries (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) pb_message_summary_free);
}

static PbMessageSummary *
make_summary (guint32     uid,
              gint64      date,
              const char *subject,
              const char *from_addr)
{
  PbMessageSummary *summary = pb_message_summary_new ();

  summary->uid = uid;
  summary->date = date;
  summary->internaldate = date;
  summary->size = 1000 + uid;
  summary->subject = g_strdup (subject);
  summary->from_name = g_strdup ("Sender");
  summary->from_addr = g_strdup (from_addr);
  summary->to_list = g_strdup ("Alice <alice@example.org>");
  summary->message_id = g_strdup_printf ("%u@example.org", uid);
  return summary;
}

static GBytes *
make_raw (const char *subject,
          const char *from,
          const char *date,
          const char *body)
{
  g_autoptr(GString) raw = g_string_new (NULL);

  g_string_append_printf (raw, "From: %s\r\nTo: Alice <alice@example.org>\r\n", from);
  g_string_append_printf (raw, "Subject: %s\r\n", subject);
  if (date != NULL)
    g_string_append_printf (raw, "Date: %s\r\n", date);
  g_string_append (raw, "Message-ID: <m1@example.org>\r\nMIME-Version: 1.0\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 8bit\r\n\r\n");
  g_string_append (raw, body);
  return g_string_free_to_bytes (g_steal_pointer (&raw));
}

/* Parses @raw, stores it under @uid with @date, and stores its body. */
static void
add_raw_message (PbStore *store,
                 gint64   folder_id,
                 guint32  uid,
                 gint64   date,
                 GBytes  *raw)
{
  g_autoptr(GPtrArray) batch = new_summaries ();
  g_autoptr(GError) error = NULL;
  PbMessageSummary *summary = pb_store_parse_summary (raw);

  summary->uid = uid;
  summary->date = date;
  g_ptr_array_add (batch, summary);
  g_assert_true (pb_store_add_messages (store, folder_id, batch, &error));
  g_assert_no_error (error);
  g_assert_true (pb_store_set_body (store, folder_id, uid, raw, &error));
  g_assert_no_error (error);
}

static gint64
sql_int (const char *db_path,
         const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;
  int rc;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  rc = sqlite3_step (stmt);
  g_assert_true (rc == SQLITE_ROW || rc == SQLITE_DONE);
  value = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

/* What a crash leaves: no clean-shutdown marker. */
static void
forget_clean_shutdown (Fixture *fixture)
{
  g_autofree char *marker = g_build_filename (fixture->dir, PB_STORE_CLEAN_MARKER, NULL);

  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_unlink (marker), ==, 0);
}

static void
sql_exec (const char *db_path,
          const char *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

static guint
count_files_with_prefix (const char *dir,
                         const char *prefix)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, prefix))
      n++;
  return n;
}

static void
test_migrations (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *db_path = g_build_filename (fixture->dir, "store.sqlite3", NULL);
  g_autofree char *messages = g_build_filename (fixture->dir, "messages", NULL);
  PbStore *store = open_store (fixture);
  gint64 version;

  g_assert_true (g_file_test (messages, G_FILE_TEST_IS_DIR));
  g_assert_cmpstr (pb_store_get_dir (store), ==, fixture->dir);
  g_object_unref (store);

  version = sql_int (db_path, "PRAGMA user_version");
  g_assert_cmpint (version, >=, 1);
  g_assert_cmpint (sql_int (db_path, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                                     "('folders', 'messages', 'journal', 'messages_fts')"),
                   ==, 4);
  g_assert_cmpint (sql_int (db_path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"),
                   ==, 1);

  /* Opening again applies nothing and keeps the version. */
  store = open_store (fixture);
  g_object_unref (store);
  g_assert_cmpint (sql_int (db_path, "PRAGMA user_version"), ==, version);
}

static void
test_reopen (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = new_summaries ();
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PbFolderInfo) renamed = pb_folder_info_new ("Work/Projects", PB_FOLDER_ROLE_NONE,
                                                        FALSE);
  PbStore *store = open_store (fixture);
  gint64 inbox, sent, projects;
  guint32 uidvalidity = 0, uidnext = 0;
  guint64 modseq = 0;
  guint total = 0, unread = 0;

  inbox = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  sent = add_folder (store, "Sent", PB_FOLDER_ROLE_SENT);
  projects = add_folder (store, "Work/Projects", PB_FOLDER_ROLE_NONE);
  g_assert_cmpint (add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX), ==, inbox);
  g_assert_true (pb_store_set_folder_state (store, inbox, 42, 4, 1000, &error));
  g_assert_no_error (error);
  g_ptr_array_add (batch, make_summary (1, 1000, "first", "a@example.org"));
  g_ptr_array_add (batch, make_summary (2, 2000, "second", "b@example.org"));
  g_assert_true (pb_store_add_messages (store, inbox, batch, &error));
  g_assert_no_error (error);
  g_assert_false (pb_store_add_messages (store, 4242, batch, &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_object_unref (store);

  store = open_store (fixture);
  g_assert_cmpint (pb_store_lookup_folder (store, ACCOUNT, "INBOX", &error), ==, inbox);
  g_assert_cmpint (pb_store_lookup_folder (store, ACCOUNT, "Sent", &error), ==, sent);
  g_assert_cmpint (pb_store_lookup_folder (store, ACCOUNT, "Nope", &error), ==, 0);
  g_assert_cmpint (pb_store_lookup_folder (store, "other", "INBOX", &error), ==, 0);
  g_assert_no_error (error);

  g_assert_true (pb_store_get_folder_state (store, inbox, &uidvalidity, &uidnext, &modseq,
                                            &error));
  g_assert_no_error (error);
  g_assert_cmpuint (uidvalidity, ==, 42);
  g_assert_cmpuint (uidnext, ==, 4);
  g_assert_cmpuint (modseq, ==, 1000);
  g_assert_false (pb_store_get_folder_state (store, 9999, NULL, NULL, NULL, &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (pb_store_count_messages (store, inbox, &total, &unread, &error));
  g_assert_cmpuint (total, ==, 2);
  g_assert_cmpuint (unread, ==, 2);

  /* The upsert updates role, selectability and remote name. */
  pb_folder_info_set_remote_name (renamed, "Work.Projects");
  g_assert_cmpint (pb_store_ensure_folder (store, ACCOUNT, renamed, &error), ==, projects);
  folders = pb_store_list_folders (store, ACCOUNT, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (folders->len, ==, 3);
  g_assert_cmpstr (pb_folder_info_get_path (g_ptr_array_index (folders, 0)), ==, "INBOX");
  g_assert_cmpstr (pb_folder_info_get_path (g_ptr_array_index (folders, 1)), ==, "Sent");
  g_assert_cmpstr (pb_folder_info_get_path (g_ptr_array_index (folders, 2)), ==, "Work/Projects");
  g_assert_cmpstr (pb_folder_info_get_remote_name (g_ptr_array_index (folders, 2)), ==,
                   "Work.Projects");
  g_assert_false (pb_folder_info_get_selectable (g_ptr_array_index (folders, 2)));
  g_object_unref (store);
}

static void
test_newer_version (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *db_path = g_build_filename (fixture->dir, "store.sqlite3", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;
  gsize before_len, after_len;
  PbStore *store = open_store (fixture);

  add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  g_object_unref (store);
  sql_int (db_path, "PRAGMA user_version = 999");
  sql_int (db_path, "PRAGMA wal_checkpoint(TRUNCATE)");
  g_assert_true (g_file_get_contents (db_path, &before, &before_len, NULL));

  store = pb_store_open (fixture->dir, &error);
  g_assert_null (store);
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NEWER_VERSION);
  g_test_message ("%s", error->message);

  g_assert_true (g_file_get_contents (db_path, &after, &after_len, NULL));
  g_assert_cmpmem (before, before_len, after, after_len);
  g_assert_cmpint (sql_int (db_path, "PRAGMA user_version"), ==, 999);
}

static void
test_corrupt (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *db_path = g_build_filename (fixture->dir, "store.sqlite3", NULL);
  g_autoptr(GError) error = NULL;
  char garbage[8192];
  PbStore *store;

  for (guint i = 0; i < sizeof garbage; i++)
    garbage[i] = (char) (i * 7 + 3);
  g_assert_true (g_file_set_contents (db_path, garbage, sizeof garbage, NULL));
  store = pb_store_open (fixture->dir, &error);
  g_assert_null (store);
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_CORRUPT);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_unlink (db_path);

  /* A damaged page inside a valid file is found by the check at open. */
  store = open_store (fixture);
  {
    g_autoptr(GPtrArray) batch = new_summaries ();
    gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);

    for (guint32 uid = 1; uid <= 2000; uid++)
      g_ptr_array_add (batch, make_summary (uid, uid, "Some subject text", "x@example.org"));
    g_assert_true (pb_store_add_messages (store, folder, batch, &error));
  }
  g_object_unref (store);
  {
    FILE *file = fopen (db_path, "r+b");

    g_assert_nonnull (file);
    g_assert_cmpint (fseek (file, 20 * 4096, SEEK_SET), ==, 0);
    g_assert_cmpuint (fwrite (garbage, 1, 4096, file), ==, 4096);
    fclose (file);
  }
  /* As if the page was torn by the crash of the last session. */
  forget_clean_shutdown (fixture);
  store = pb_store_open (fixture->dir, &error);
  g_assert_null (store);
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_CORRUPT);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* A failed open leaves no marker: the check runs again, however often it is tried. */
  store = pb_store_open (fixture->dir, &error);
  g_assert_null (store);
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_CORRUPT);
  g_clear_error (&error);

  /* A damaged schema is found at every open, clean or not. */
  g_unlink (db_path);
  store = open_store (fixture);
  add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  g_object_unref (store);
  sql_exec (db_path, "PRAGMA writable_schema = ON;"
                     "UPDATE sqlite_schema SET sql = 'CREATE TABLE folders (' "
                     "WHERE name = 'folders'");
  store = pb_store_open (fixture->dir, &error);
  g_assert_null (store);
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_CORRUPT);
  g_test_message ("%s", error->message);
}

/* A child that opens the store, writes, and dies without closing it. */
static void
test_unclean_child (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) batch = new_summaries ();
  PbStore *store;
  gint64 folder;

  if (!g_test_subprocess ())
    {
      g_test_skip ("run by /store/clean-shutdown");
      return;
    }
  store = pb_store_open (g_getenv ("PB_TEST_STORE_DIR"), &error);
  g_assert_no_error (error);
  folder = pb_store_lookup_folder (store, ACCOUNT, "INBOX", &error);
  g_assert_cmpint (folder, >, 0);
  g_ptr_array_add (batch, make_summary (7, 7000, "Written before the crash", "x@example.org"));
  g_assert_true (pb_store_add_messages (store, folder, batch, &error));
  _exit (0);
}

static void
test_clean_shutdown (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *marker = g_build_filename (fixture->dir, PB_STORE_CLEAN_MARKER, NULL);
  g_autofree char *wal = NULL;
  g_autoptr(GError) error = NULL;
  PbStore *store = open_store (fixture);
  PbStore *second;
  guint total = 0;

  /* A new store has nothing to check. */
  g_assert_false (store->integrity_checked);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  g_object_unref (store);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));

  /* After a clean close: no check, and the marker is gone while the store is open. */
  store = open_store (fixture);
  g_assert_false (store->integrity_checked);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));

  /* A second process (here a second instance) neither checks nor leaves the marker while the
   * first still has the store open; the last one to close leaves it. */
  second = open_store (fixture);
  g_assert_false (second->integrity_checked);
  g_object_unref (second);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_object_unref (store);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));

  /* Without the marker (a crash) the index is checked. */
  forget_clean_shutdown (fixture);
  store = open_store (fixture);
  g_assert_true (store->integrity_checked);
  g_object_unref (store);

  /* A process that dies beside another one: the survivor, closing last, leaves no marker. */
  store = open_store (fixture);
  g_setenv ("PB_TEST_STORE_DIR", fixture->dir, TRUE);
  g_test_trap_subprocess ("/store/unclean-child", 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_object_unref (store);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  store = open_store (fixture);
  g_assert_true (store->integrity_checked);
  g_object_unref (store);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  {
    g_autoptr(GDir) dir = g_dir_open (fixture->dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_false (g_str_has_prefix (name, PB_STORE_SESSION_PREFIX));
  }

  /* A process that really dies with the store open leaves no marker and a WAL behind. */
  g_setenv ("PB_TEST_STORE_DIR", fixture->dir, TRUE);
  g_test_trap_subprocess ("/store/unclean-child", 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_unsetenv ("PB_TEST_STORE_DIR");
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  wal = g_strconcat (fixture->dir, "/store.sqlite3-wal", NULL);
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));
  store = open_store (fixture);
  g_assert_true (store->integrity_checked);
  /* What the child committed survived its death. */
  g_assert_true (pb_store_count_messages (store, pb_store_lookup_folder (store, ACCOUNT, "INBOX",
                                                                         NULL),
                                          &total, NULL, &error));
  g_assert_cmpuint (total, ==, 1);
  g_object_unref (store);

  /* A WAL left behind counts as unclean even when a marker is there. */
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  {
    sqlite3 *db = NULL;
    g_autofree char *db_path = g_build_filename (fixture->dir, "store.sqlite3", NULL);
    int persist = 1;

    g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_file_control (db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist), ==,
                     SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (db, "PRAGMA journal_size_limit = -1;"
                                       "INSERT INTO journal (account, op, created)"
                                       " VALUES ('x', 'y', 1)", NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close (db);
  }
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));
  store = open_store (fixture);
  g_assert_true (store->integrity_checked);
  g_object_unref (store);
}

/* CPU time of the process, which is less disturbed by a busy machine than wall time. */
static gint64
cpu_time_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static void
test_many (Fixture       *fixture,
           gconstpointer  data)
{
  const guint n = 10000;
  const guint page_size = 100;
  g_autoptr(GPtrArray) batch = new_summaries ();
  g_autoptr(GError) error = NULL;
  g_autofree char *db_path = g_build_filename (fixture->dir, "store.sqlite3", NULL);
  g_autofree char *plan = NULL;
  g_autoptr(GString) plan_text = g_string_new (NULL);
  PbStore *store = open_store (fixture);
  gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  guint32 expected_uid = n;
  guint total = 0, unread = 0;
  gint64 start, cpu_start, elapsed;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  for (guint32 uid = 1; uid <= n; uid++)
    {
      g_autofree char *subject = g_strdup_printf ("Message number %u about topic %u", uid,
                                                  uid % 97);
      g_autofree char *from = g_strdup_printf ("sender%u@example.org", uid % 100);
      /* Groups of three share a date, so the order of equal dates is tested too. */
      PbMessageSummary *summary = make_summary (uid, 1700000000 + uid / 3, subject, from);

      summary->flags = uid % 2 ? PB_MESSAGE_FLAG_SEEN : PB_MESSAGE_FLAG_NONE;
      g_ptr_array_add (batch, summary);
    }

  start = g_get_monotonic_time ();
  cpu_start = cpu_time_us ();
  g_assert_true (pb_store_add_messages (store, folder, batch, &error));
  g_assert_no_error (error);
  elapsed = g_get_monotonic_time () - start;
  g_test_message ("add_messages: %u summaries in %.1f ms (%.1f ms CPU)", n, elapsed / 1000.0,
                  (cpu_time_us () - cpu_start) / 1000.0);

  start = g_get_monotonic_time ();
  g_assert_true (pb_store_count_messages (store, folder, &total, &unread, &error));
  g_test_message ("count_messages: %.2f ms", (g_get_monotonic_time () - start) / 1000.0);
  g_assert_cmpuint (total, ==, n);
  g_assert_cmpuint (unread, ==, n / 2);

  start = g_get_monotonic_time ();
  for (guint offset = 0; offset < n + page_size; offset += page_size)
    {
      g_autoptr(GPtrArray) page = pb_store_list_messages (store, folder, offset, page_size, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (page->len, ==, MIN (page_size, n - MIN (n, offset)));
      for (guint i = 0; i < page->len; i++)
        {
          PbMessageSummary *summary = g_ptr_array_index (page, i);

          g_assert_cmpuint (summary->uid, ==, expected_uid);
          g_assert_cmpint (summary->folder_id, ==, folder);
          expected_uid--;
        }
    }
  elapsed = g_get_monotonic_time () - start;
  g_assert_cmpuint (expected_uid, ==, 0);
  g_test_message ("list_messages: %u pages of %u in %.1f ms (%.2f ms per page)",
                  n / page_size, page_size, elapsed / 1000.0,
                  elapsed / 1000.0 / (n / page_size));

  {
    g_autoptr(GPtrArray) last = NULL;

    start = g_get_monotonic_time ();
    last = pb_store_list_messages (store, folder, n - 50, 50, &error);
    g_test_message ("list_messages: the last page (offset %u) in %.2f ms", n - 50,
                    (g_get_monotonic_time () - start) / 1000.0);
    g_assert_cmpuint (last->len, ==, 50);
  }

  {
    g_autoptr(GPtrArray) results = NULL;

    start = g_get_monotonic_time ();
    results = pb_store_search (store, "number 4242", 0, &error);
    g_test_message ("search: \"number 4242\" over %u messages in %.2f ms", n,
                    (g_get_monotonic_time () - start) / 1000.0);
    g_assert_no_error (error);
    g_assert_cmpuint (results->len, ==, 1);
    g_assert_cmpuint (((PbMessageSummary *) g_ptr_array_index (results, 0))->uid, ==, 4242);

    g_clear_pointer (&results, g_ptr_array_unref);
    start = g_get_monotonic_time ();
    results = pb_store_search (store, "topic", 50, &error);
    g_test_message ("search: \"topic\" (%u matches, newest 50) in %.2f ms", n,
                    (g_get_monotonic_time () - start) / 1000.0);
    g_assert_cmpuint (results->len, ==, 50);
    g_assert_cmpuint (((PbMessageSummary *) g_ptr_array_index (results, 0))->uid, ==, n);
  }

  {
    g_autoptr(GArray) flags = NULL;

    start = g_get_monotonic_time ();
    flags = pb_store_get_uid_flags (store, folder, &error);
    g_test_message ("get_uid_flags: %u entries in %.2f ms", n,
                    (g_get_monotonic_time () - start) / 1000.0);
    g_assert_cmpuint (flags->len, ==, n);
  }

  /* Adding known UIDs again takes the update path. */
  start = g_get_monotonic_time ();
  g_assert_true (pb_store_add_messages (store, folder, batch, &error));
  g_assert_no_error (error);
  g_test_message ("add_messages: the same %u again in %.1f ms", n,
                  (g_get_monotonic_time () - start) / 1000.0);

  {
    g_autoptr(GArray) odd = g_array_new (FALSE, FALSE, sizeof (guint32));

    for (guint32 uid = 1; uid <= n; uid += 2)
      g_array_append_val (odd, uid);
    start = g_get_monotonic_time ();
    g_assert_true (pb_store_remove_uids (store, folder, (guint32 *) odd->data, odd->len, &error));
    g_assert_no_error (error);
    g_test_message ("remove_uids: %u in %.1f ms", odd->len,
                    (g_get_monotonic_time () - start) / 1000.0);
    g_assert_true (pb_store_count_messages (store, folder, &total, &unread, &error));
    g_assert_cmpuint (total, ==, n / 2);
    g_assert_cmpuint (unread, ==, n / 2);
  }

  {
    const guint n_bodies = 200;

    start = g_get_monotonic_time ();
    for (guint32 uid = 2; uid <= 2 * n_bodies; uid += 2)
      {
        g_autofree char *body = g_strdup_printf ("Body of message %u.\r\n", uid);
        g_autoptr(GBytes) raw = make_raw ("Stored", "x@example.org", NULL, body);

        g_assert_true (pb_store_set_body (store, folder, uid, raw, &error));
        g_assert_no_error (error);
      }
    elapsed = g_get_monotonic_time () - start;
    g_test_message ("set_body: %u bodies in %.1f ms (%.2f ms each, durable)", n_bodies,
                    elapsed / 1000.0, elapsed / 1000.0 / n_bodies);
  }

  {
    const guint n_bodies = 200;
    g_autoptr(GPtrArray) raws = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
    g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
    guint n_stored = 0;

    for (guint32 uid = 1000; uid < 1000 + 2 * n_bodies; uid += 2)
      {
        g_autofree char *body = g_strdup_printf ("Batch body of message %u.\r\n", uid);

        g_ptr_array_add (raws, make_raw ("Stored", "x@example.org", NULL, body));
        g_array_append_val (uids, uid);
      }
    /* An odd UID was removed above: it is skipped. */
    {
      guint32 removed = 1001;

      g_ptr_array_add (raws, make_raw ("Gone", "x@example.org", NULL, "Gone\r\n"));
      g_array_append_val (uids, removed);
    }
    start = g_get_monotonic_time ();
    g_assert_true (pb_store_set_bodies (store, folder, (guint32 *) uids->data,
                                        (GBytes **) raws->pdata, uids->len, &n_stored, &error));
    g_assert_no_error (error);
    elapsed = g_get_monotonic_time () - start;
    g_assert_cmpuint (n_stored, ==, n_bodies);
    g_test_message ("set_bodies: %u bodies in one call in %.1f ms (%.2f ms each, durable)",
                    n_bodies, elapsed / 1000.0, elapsed / 1000.0 / n_bodies);
    g_clear_pointer (&raws, g_ptr_array_unref);
    raws = pb_store_search (store, "Batch body of message 1398", 0, &error);
    g_assert_cmpuint (raws->len, ==, 1);
  }

  /* Paging walks the index; it must never sort the whole folder. */
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  plan = g_strconcat ("EXPLAIN QUERY PLAN ", PB_STORE_LIST_MESSAGES_SQL, NULL);
  g_assert_cmpint (sqlite3_prepare_v2 (db, plan, -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (plan_text, "%s\n", sqlite3_column_text (stmt, 3));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  g_test_message ("plan: %s", plan_text->str);
  g_assert_nonnull (strstr (plan_text->str, "messages_folder_date"));
  g_assert_null (strstr (plan_text->str, "TEMP B-TREE"));

  g_object_unref (store);
}

static void
test_set_body (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GBytes) raw = make_raw ("Hello", "Bob <bob@example.org>", NULL,
                                    "Line one\r\n> quoted\r\nLine two\r\n");
  g_autoptr(GBytes) read_back = NULL;
  g_autoptr(GBytes) on_disk = NULL;
  g_autoptr(PbMessageSummary) summary = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) batch = new_summaries ();
  g_autoptr(GArray) without = NULL;
  g_autofree char *folder_dir = NULL;
  g_autofree char *file = NULL;
  g_autofree char *folder_name = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  PbStore *store = open_store (fixture);
  gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);

  g_assert_true (pb_store_set_folder_state (store, folder, 777, 0, 0, &error));
  g_ptr_array_add (batch, make_summary (5, 1000, "Hello", "bob@example.org"));
  g_ptr_array_add (batch, make_summary (6, 2000, "Other", "bob@example.org"));
  g_assert_true (pb_store_add_messages (store, folder, batch, &error));
  g_assert_no_error (error);

  /* Unknown message, and a message without body yet. */
  g_assert_false (pb_store_set_body (store, folder, 99, raw, &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (pb_store_get_raw (store, folder, 5, &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  without = pb_store_get_uids_without_body (store, folder, TRUE, 0, &error);
  g_assert_cmpuint (without->len, ==, 2);
  g_assert_cmpuint (g_array_index (without, guint32, 0), ==, 6);
  g_clear_pointer (&without, g_array_unref);

  g_assert_true (pb_store_set_body (store, folder, 5, raw, &error));
  g_assert_no_error (error);

  folder_name = g_strdup_printf ("%" G_GINT64_FORMAT, folder);
  folder_dir = g_build_filename (fixture->dir, "messages", folder_name, NULL);
  file = g_build_filename (folder_dir, "777-5.eml", NULL);
  g_assert_true (g_file_get_contents (file, &contents, &length, NULL));
  on_disk = g_bytes_new_take (g_steal_pointer (&contents), length);
  g_assert_true (g_bytes_equal (on_disk, raw));
  g_assert_cmpuint (count_files_with_prefix (folder_dir, ".tmp-"), ==, 0);

  read_back = pb_store_get_raw (store, folder, 5, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (read_back, raw));

  summary = pb_store_get_message (store, folder, 5, &error);
  g_assert_no_error (error);
  g_assert_true (summary->has_body);
  g_assert_cmpstr (summary->preview, ==, "Line one Line two");
  g_assert_cmpstr (summary->account, ==, ACCOUNT);
  g_assert_cmpstr (summary->folder_path, ==, "INBOX");

  without = pb_store_get_uids_without_body (store, folder, FALSE, 10, &error);
  g_assert_cmpuint (without->len, ==, 1);
  g_assert_cmpuint (g_array_index (without, guint32, 0), ==, 6);

  /* Storing the same body again replaces the file in place. */
  g_assert_true (pb_store_set_body (store, folder, 5, raw, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_files_with_prefix (folder_dir, ""), ==, 1);
  g_object_unref (store);
}

static void
test_repair (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbMessageSummary) lost = NULL;
  g_autoptr(PbMessageSummary) kept = NULL;
  g_autoptr(GArray) without = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autofree char *folder_dir = NULL;
  g_autofree char *folder_name = NULL;
  g_autofree char *gone = NULL;
  g_autofree char *stray_tmp = NULL;
  g_autofree char *stray_eml = NULL;
  g_autofree char *stray_dir = NULL;
  g_autofree char *stray_dir_file = NULL;
  g_autofree char *second_file = NULL;
  PbStore *store = open_store (fixture);
  gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);

  g_assert_true (pb_store_set_folder_state (store, folder, 1, 0, 0, &error));
  for (guint32 uid = 1; uid <= 2; uid++)
    {
      g_autoptr(GBytes) message = make_raw ("Repair me", "x@example.org", NULL, "Body text\r\n");
      add_raw_message (store, folder, uid, 1000 + uid, message);
    }
  g_object_unref (store);

  folder_name = g_strdup_printf ("%" G_GINT64_FORMAT, folder);
  folder_dir = g_build_filename (fixture->dir, "messages", folder_name, NULL);
  gone = g_build_filename (folder_dir, "1-1.eml", NULL);
  stray_tmp = g_build_filename (folder_dir, ".tmp-3-abcdef", NULL);
  stray_eml = g_build_filename (folder_dir, "1-77.eml", NULL);
  stray_dir = g_build_filename (fixture->dir, "messages", "12345", NULL);
  stray_dir_file = g_build_filename (stray_dir, "1-1.eml", NULL);
  g_assert_cmpint (g_unlink (gone), ==, 0);
  g_assert_true (g_file_set_contents (stray_tmp, "half a mess", -1, NULL));
  g_assert_true (g_file_set_contents (stray_eml, "nobody's", -1, NULL));
  g_assert_cmpint (g_mkdir (stray_dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (stray_dir_file, "old folder", -1, NULL));

  /* What a crash leaves is repaired at the next start; after a clean close there is nothing
   * to repair, and nothing is looked at. */
  store = open_store (fixture);
  g_assert_true (g_file_test (stray_tmp, G_FILE_TEST_EXISTS));
  g_object_unref (store);
  forget_clean_shutdown (fixture);
  store = open_store (fixture);
  g_assert_false (g_file_test (stray_tmp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stray_eml, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stray_dir, G_FILE_TEST_EXISTS));

  lost = pb_store_get_message (store, folder, 1, &error);
  g_assert_no_error (error);
  g_assert_false (lost->has_body);
  kept = pb_store_get_message (store, folder, 2, &error);
  g_assert_true (kept->has_body);
  without = pb_store_get_uids_without_body (store, folder, TRUE, 0, &error);
  g_assert_cmpuint (without->len, ==, 1);
  g_assert_cmpuint (g_array_index (without, guint32, 0), ==, 1);

  /* A file that disappears while the store is open is noticed when it is read. */
  g_clear_pointer (&kept, pb_message_summary_free);
  second_file = g_build_filename (folder_dir, "1-2.eml", NULL);
  g_assert_cmpint (g_unlink (second_file), ==, 0);
  raw = pb_store_get_raw (store, folder, 2, &error);
  g_assert_null (raw);
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  kept = pb_store_get_message (store, folder, 2, &error);
  g_assert_false (kept->has_body);
  g_object_unref (store);
}

static void
test_reset_folder (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GBytes) raw = make_raw ("Before reset", "x@example.org", NULL, "Old body\r\n");
  g_autofree char *folder_dir = NULL;
  g_autofree char *folder_name = NULL;
  PbStore *store = open_store (fixture);
  gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  gint64 other = add_folder (store, "Archive", PB_FOLDER_ROLE_ARCHIVE);
  guint32 uidvalidity = 0, uidnext = 0;
  guint64 modseq = 0;
  guint total = 99;

  g_assert_true (pb_store_set_folder_state (store, folder, 10, 3, 50, &error));
  add_raw_message (store, folder, 1, 1000, raw);
  add_raw_message (store, folder, 2, 2000, raw);
  add_raw_message (store, other, 1, 1000, raw);

  g_assert_true (pb_store_reset_folder (store, folder, 11, &error));
  g_assert_no_error (error);
  g_assert_true (pb_store_get_folder_state (store, folder, &uidvalidity, &uidnext, &modseq,
                                            &error));
  g_assert_cmpuint (uidvalidity, ==, 11);
  g_assert_cmpuint (uidnext, ==, 0);
  g_assert_cmpuint (modseq, ==, 0);
  g_assert_true (pb_store_count_messages (store, folder, &total, NULL, &error));
  g_assert_cmpuint (total, ==, 0);
  page = pb_store_list_messages (store, folder, 0, 10, &error);
  g_assert_cmpuint (page->len, ==, 0);

  folder_name = g_strdup_printf ("%" G_GINT64_FORMAT, folder);
  folder_dir = g_build_filename (fixture->dir, "messages", folder_name, NULL);
  g_assert_cmpuint (count_files_with_prefix (folder_dir, ""), ==, 0);

  /* The other folder keeps its message, and search only finds that one. */
  found = pb_store_search (store, "Before reset", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpint (((PbMessageSummary *) g_ptr_array_index (found, 0))->folder_id, ==, other);

  g_assert_false (pb_store_reset_folder (store, 4242, 1, &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
  g_object_unref (store);
}

static void
test_remove_folders (Fixture       *fixture,
                     gconstpointer  data)
{
  const char *keep[] = { "INBOX", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GBytes) raw = make_raw ("Doomed", "x@example.org", NULL, "Body\r\n");
  g_autoptr(PbFolderInfo) foreign = pb_folder_info_new ("Old", PB_FOLDER_ROLE_NONE, TRUE);
  g_autofree char *old_dir = NULL;
  g_autofree char *old_name = NULL;
  PbStore *store = open_store (fixture);
  gint64 inbox = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  gint64 old = add_folder (store, "Old", PB_FOLDER_ROLE_NONE);
  gint64 other_account;

  other_account = pb_store_ensure_folder (store, "home", foreign, &error);
  g_assert_no_error (error);
  add_raw_message (store, inbox, 1, 1000, raw);
  add_raw_message (store, old, 1, 1000, raw);

  g_assert_true (pb_store_remove_folders_except (store, ACCOUNT, keep, &error));
  g_assert_no_error (error);
  folders = pb_store_list_folders (store, ACCOUNT, &error);
  g_assert_cmpuint (folders->len, ==, 1);
  g_assert_cmpint (pb_store_lookup_folder (store, "home", "Old", &error), ==, other_account);
  old_name = g_strdup_printf ("%" G_GINT64_FORMAT, old);
  old_dir = g_build_filename (fixture->dir, "messages", old_name, NULL);
  g_assert_false (g_file_test (old_dir, G_FILE_TEST_EXISTS));
  found = pb_store_search (store, "Doomed", 0, &error);
  g_assert_cmpuint (found->len, ==, 1);

  /* A new folder never gets the id (and the file folder) of a removed one. */
  g_assert_cmpint (add_folder (store, "Old", PB_FOLDER_ROLE_NONE), >, other_account);
  g_object_unref (store);
}

static void
test_flags (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = new_summaries ();
  g_autoptr(GArray) updates = pb_uid_flags_array_new (0);
  g_autoptr(GArray) state = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PbMessageSummary) summary = NULL;
  PbStore *store = open_store (fixture);
  gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  guint total = 0, unread = 0;
  PbUidFlags update;

  for (guint32 uid = 10; uid >= 1; uid--)
    g_ptr_array_add (batch, make_summary (uid, 1000 + uid, "flags", "x@example.org"));
  g_assert_true (pb_store_add_messages (store, folder, batch, &error));

  g_assert_true (pb_store_update_flags (store, folder, 3,
                                        PB_MESSAGE_FLAG_SEEN | PB_MESSAGE_FLAG_FLAGGED,
                                        "$label1 custom", 17, &error));
  g_assert_no_error (error);
  g_assert_false (pb_store_update_flags (store, folder, 300, PB_MESSAGE_FLAG_SEEN, NULL, 0,
                                         &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  update = (PbUidFlags) { 4, PB_MESSAGE_FLAG_SEEN | PB_MESSAGE_FLAG_ANSWERED, 20, g_strdup ("x") };
  g_array_append_val (updates, update);
  update = (PbUidFlags) { 5, PB_MESSAGE_FLAG_SEEN | PB_MESSAGE_FLAG_JUNK, 0, NULL };
  g_array_append_val (updates, update);
  update = (PbUidFlags) { 500, PB_MESSAGE_FLAG_SEEN, 0, NULL };
  g_array_append_val (updates, update);
  g_assert_true (pb_store_update_flags_batch (store, folder, (PbUidFlags *) updates->data,
                                              updates->len, &error));
  g_assert_no_error (error);

  state = pb_store_get_uid_flags (store, folder, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (state->len, ==, 10);
  for (guint i = 0; i < state->len; i++)
    g_assert_cmpuint (g_array_index (state, PbUidFlags, i).uid, ==, i + 1);
  g_assert_cmpuint (g_array_index (state, PbUidFlags, 2).flags, ==,
                    PB_MESSAGE_FLAG_SEEN | PB_MESSAGE_FLAG_FLAGGED);
  g_assert_cmpstr (g_array_index (state, PbUidFlags, 2).keywords, ==, "$label1 custom");
  g_assert_cmpuint (g_array_index (state, PbUidFlags, 2).modseq, ==, 17);
  g_assert_cmpuint (g_array_index (state, PbUidFlags, 3).modseq, ==, 20);
  g_assert_cmpstr (g_array_index (state, PbUidFlags, 3).keywords, ==, "x");
  g_assert_cmpuint (g_array_index (state, PbUidFlags, 4).flags, ==,
                    PB_MESSAGE_FLAG_SEEN | PB_MESSAGE_FLAG_JUNK);
  g_assert_null (g_array_index (state, PbUidFlags, 4).keywords);
  g_assert_cmpuint (g_array_index (state, PbUidFlags, 0).flags, ==, PB_MESSAGE_FLAG_NONE);

  g_assert_true (pb_store_count_messages (store, folder, &total, &unread, &error));
  g_assert_cmpuint (total, ==, 10);
  g_assert_cmpuint (unread, ==, 7);

  /* Adding a known UID again updates its flags and keeps its modseq when none is given. */
  g_ptr_array_set_size (batch, 0);
  g_ptr_array_add (batch, make_summary (3, 1003, "flags again", "x@example.org"));
  g_assert_true (pb_store_add_messages (store, folder, batch, &error));
  summary = pb_store_get_message (store, folder, 3, &error);
  g_assert_cmpuint (summary->flags, ==, PB_MESSAGE_FLAG_NONE);
  g_assert_cmpuint (summary->modseq, ==, 17);
  g_assert_cmpstr (summary->subject, ==, "flags again");

  g_assert_cmpuint (pb_message_flag_from_keyword ("\\seen"), ==, PB_MESSAGE_FLAG_SEEN);
  g_assert_cmpuint (pb_message_flag_from_keyword ("$NotJunk"), ==, PB_MESSAGE_FLAG_NOTJUNK);
  g_assert_cmpuint (pb_message_flag_from_keyword ("$label1"), ==, PB_MESSAGE_FLAG_NONE);
  g_assert_cmpstr (pb_message_flag_to_keyword (PB_MESSAGE_FLAG_FORWARDED), ==, "$Forwarded");
  g_assert_null (pb_message_flag_to_keyword (PB_MESSAGE_FLAG_SEEN | PB_MESSAGE_FLAG_DRAFT));
  g_object_unref (store);
}

static void
test_remove_uids (Fixture       *fixture,
                  gconstpointer  data)
{
  const guint32 doomed[] = { 2, 3, 99 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) state = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autofree char *folder_dir = NULL;
  g_autofree char *folder_name = NULL;
  PbStore *store = open_store (fixture);
  gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);

  g_assert_true (pb_store_set_folder_state (store, folder, 5, 0, 0, &error));
  for (guint32 uid = 1; uid <= 4; uid++)
    {
      g_autofree char *subject = g_strdup_printf ("Expunge candidate %u", uid);
      g_autoptr(GBytes) raw = make_raw (subject, "x@example.org", NULL, "Body\r\n");

      add_raw_message (store, folder, uid, 1000 + uid, raw);
    }
  g_assert_true (pb_store_remove_uids (store, folder, doomed, G_N_ELEMENTS (doomed), &error));
  g_assert_no_error (error);

  state = pb_store_get_uid_flags (store, folder, &error);
  g_assert_cmpuint (state->len, ==, 2);
  g_assert_cmpuint (g_array_index (state, PbUidFlags, 0).uid, ==, 1);
  g_assert_cmpuint (g_array_index (state, PbUidFlags, 1).uid, ==, 4);

  folder_name = g_strdup_printf ("%" G_GINT64_FORMAT, folder);
  folder_dir = g_build_filename (fixture->dir, "messages", folder_name, NULL);
  g_assert_cmpuint (count_files_with_prefix (folder_dir, ""), ==, 2);
  g_assert_cmpuint (count_files_with_prefix (folder_dir, "5-2."), ==, 0);

  found = pb_store_search (store, "Expunge candidate", 0, &error);
  g_assert_cmpuint (found->len, ==, 2);
  g_object_unref (store);
}

static guint32
search_one (PbStore    *store,
            const char *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = pb_store_search (store, query, 0, &error);
  PbMessageSummary *summary;

  g_assert_no_error (error);
  g_assert_nonnull (results);
  if (results->len != 1)
    {
      g_test_message ("“%s” found %u messages", query, results->len);
      return 0;
    }
  summary = g_ptr_array_index (results, 0);
  g_assert_cmpstr (summary->account, ==, ACCOUNT);
  g_assert_cmpstr (summary->folder_path, ==, "INBOX");
  return summary->uid;
}

static void
test_search (Fixture       *fixture,
             gconstpointer  data)
{
  static const char *hostile[] = {
    "\"", "\"\"\"", "AND(", "AND", "OR NOT", "NEAR(a b", "*", "a:b", "subject:foo", "-x", "()",
    "^start", "{subject}", "'; DROP TABLE messages; --", "%", "_", "\\", "%_\\%",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GBytes) m1 = make_raw ("Quarterly report", "Carol Example <carol.example@corp.test>",
                                   NULL, "The numbers look great this quarter.\r\n");
  g_autoptr(GBytes) m2 = make_raw ("=?ISO-8859-1?Q?Gr=FC=DFe_aus_M=FCnchen?=",
                                   "=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.de>", NULL,
                                   "Viele Grüße und bis bald in der Straße.\r\n");
  g_autoptr(GBytes) m3 = make_raw ("=?UTF-8?B?5Lya6K2w44Gu5LqI5a6a?=",
                                   "=?UTF-8?B?55Sw5LitIOWkqumDjg==?= <tanaka@example.jp>", NULL,
                                   "明日の会議は東京で行います。\r\n");
  g_autoptr(GBytes) m4 = make_raw ("Lunch?", "Bob <bob@example.net>", NULL,
                                   "Let's meet at noon, 100% sure_thing.\r\n");
  PbStore *store = open_store (fixture);
  gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);

  add_raw_message (store, folder, 1, 1000, m1);
  add_raw_message (store, folder, 2, 2000, m2);
  add_raw_message (store, folder, 3, 3000, m3);
  add_raw_message (store, folder, 4, 4000, m4);

  g_assert_cmpuint (search_one (store, "quarterly"), ==, 1);
  g_assert_cmpuint (search_one (store, "REPORT"), ==, 1);
  g_assert_cmpuint (search_one (store, "carol.example@corp"), ==, 1);
  g_assert_cmpuint (search_one (store, "numbers great"), ==, 1);
  g_assert_cmpuint (search_one (store, "  numbers\tquarter  "), ==, 1);
  g_assert_cmpuint (search_one (store, "München"), ==, 2);
  g_assert_cmpuint (search_one (store, "grüße"), ==, 2);
  g_assert_cmpuint (search_one (store, "Straße"), ==, 2);
  g_assert_cmpuint (search_one (store, "Jörg Müller"), ==, 2);
  g_assert_cmpuint (search_one (store, "東京で"), ==, 3);
  g_assert_cmpuint (search_one (store, "会議"), ==, 3);
  g_assert_cmpuint (search_one (store, "予定"), ==, 3);
  g_assert_cmpuint (search_one (store, "田中"), ==, 3);
  g_assert_cmpuint (search_one (store, "tanaka 会議"), ==, 3);
  g_assert_cmpuint (search_one (store, "100%"), ==, 4);
  g_assert_cmpuint (search_one (store, "sure_thing"), ==, 4);
  /* Body words: prefixes, without diacritics, CJK characters in a row. */
  g_assert_cmpuint (search_one (store, "quart"), ==, 1);
  g_assert_cmpuint (search_one (store, "Strasse"), ==, 0);
  g_assert_cmpuint (search_one (store, "bald viele"), ==, 2);
  g_assert_cmpuint (search_one (store, "grusse"), ==, 0);
  g_assert_cmpuint (search_one (store, "Grüß"), ==, 2);
  g_assert_cmpuint (search_one (store, "Gruße"), ==, 2);
  g_assert_cmpuint (search_one (store, "明日"), ==, 3);
  g_assert_cmpuint (search_one (store, "会議は東京"), ==, 3);
  g_assert_cmpuint (search_one (store, "東会"), ==, 0);
  g_assert_cmpuint (search_one (store, "noon numbers"), ==, 0);

  /* Recipients, newest first, limit. */
  results = pb_store_search (store, "alice@example.org", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 4);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpuint (((PbMessageSummary *) g_ptr_array_index (results, i))->uid, ==, 4 - i);
  g_clear_pointer (&results, g_ptr_array_unref);
  results = pb_store_search (store, "alice@example.org", 2, &error);
  g_assert_cmpuint (results->len, ==, 2);
  g_clear_pointer (&results, g_ptr_array_unref);

  results = pb_store_search (store, "nothing like this", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 0);
  g_clear_pointer (&results, g_ptr_array_unref);
  results = pb_store_search (store, " \t ", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 0);
  g_clear_pointer (&results, g_ptr_array_unref);

  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      results = pb_store_search (store, hostile[i], 0, &error);
      g_assert_no_error (error);
      g_assert_nonnull (results);
      g_clear_pointer (&results, g_ptr_array_unref);
    }
  g_assert_cmpuint (search_one (store, "%"), ==, 4);
  g_object_unref (store);
}

/* A store of version 1 kept the body text in the trigram table; migration 2 moves it into the
 * word index, where old bodies must be found like new ones. */
static void
test_migrate_body_index (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autofree char *db_path = g_build_filename (fixture->dir, "store.sqlite3", NULL);
  g_autoptr(GBytes) m1 = make_raw ("Reise", "Jörg <joerg@example.de>", NULL,
                                   "Die Fahrkarte nach München liegt bei.\r\n");
  g_autoptr(GBytes) m2 = make_raw ("Termin", "Tanaka <tanaka@example.jp>", NULL,
                                   "明日の会議は東京で行います。\r\n");
  g_autoptr(GError) error = NULL;
  PbStore *store = open_store (fixture);
  gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  guint32 uid = 1;

  add_raw_message (store, folder, 1, 1000, m1);
  add_raw_message (store, folder, 2, 2000, m2);
  g_object_unref (store);

  /* Back to the layout of version 1, with the bodies as that version indexed them. */
  sql_exec (db_path,
            "DROP INDEX messages_thread;"
            "DROP INDEX messages_in_reply_to;"
            "ALTER TABLE messages DROP COLUMN thread_id;"
            "DROP TRIGGER messages_fts_delete;"
            "CREATE TEMP TABLE old AS SELECT rowid AS id, subject, sender, recipients"
            "  FROM messages_fts;"
            "DROP TABLE messages_fts;"
            "DROP TABLE messages_body_fts;"
            "CREATE VIRTUAL TABLE messages_fts USING fts5 ("
            "  subject, sender, recipients, body, tokenize = 'trigram');"
            "INSERT INTO messages_fts (rowid, subject, sender, recipients)"
            "  SELECT id, subject, sender, recipients FROM temp.old;"
            "UPDATE messages_fts SET body = 'Die Fahrkarte nach München liegt bei.'"
            "  WHERE rowid = (SELECT id FROM messages WHERE uid = 1);"
            "UPDATE messages_fts SET body = '明日の会議は東京で行います。'"
            "  WHERE rowid = (SELECT id FROM messages WHERE uid = 2);"
            "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
            "  DELETE FROM messages_fts WHERE rowid = old.id;"
            "END;"
            "PRAGMA user_version = 1;");

  store = open_store (fixture);
  /* Migration 2 and every later one ran. */
  g_assert_cmpint (sql_int (db_path, "PRAGMA user_version"), >=, 2);
  g_assert_cmpint (sql_int (db_path, "SELECT count(*) FROM messages_body_fts"), ==, 2);
  g_assert_cmpuint (search_one (store, "Fahrkart"), ==, 1);
  g_assert_cmpuint (search_one (store, "munchen fahrkarte"), ==, 1);
  g_assert_cmpuint (search_one (store, "Reise"), ==, 1);
  g_assert_cmpuint (search_one (store, "会議"), ==, 2);
  g_assert_cmpuint (search_one (store, "東京で"), ==, 2);
  g_assert_cmpuint (search_one (store, "tanaka 会議"), ==, 2);
  g_assert_cmpuint (search_one (store, "議会"), ==, 0);
  g_assert_cmpuint (search_one (store, "会議 Fahrkarte"), ==, 0);

  /* Removal goes through both tables. */
  g_assert_true (pb_store_remove_uids (store, folder, &uid, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sql_int (db_path, "SELECT count(*) FROM messages_body_fts"), ==, 1);
  g_assert_cmpint (sql_int (db_path, "SELECT count(*) FROM messages_fts"), ==, 1);
  g_assert_cmpuint (search_one (store, "Fahrkarte"), ==, 0);
  g_assert_true (pb_store_reset_folder (store, folder, 9, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sql_int (db_path, "SELECT count(*) FROM messages_body_fts"), ==, 0);
  g_assert_cmpint (sql_int (db_path, "SELECT count(*) FROM messages_fts"), ==, 0);
  g_object_unref (store);
}

/* Not an assertion: prints how long storing and indexing 2,000 realistic bodies takes, so
 * that a change of the full-text index can be compared before and after. */
static void
test_index_timing (Fixture       *fixture,
                   gconstpointer  data)
{
  static const char *words[] = {
    "the", "meeting", "tomorrow", "quarterly", "report", "numbers", "please", "review",
    "attached", "Fahrkarte", "München", "Grüße", "Straße", "Besprechung", "Rechnung",
    "invoice", "schedule", "deployment", "server", "kernel", "patch", "regards", "thanks",
    "明日の会議は東京で行います。", "予定を確認してください。", "für", "über", "und", "with",
    "information", "Zusammenfassung", "Projektplanung", "customer", "support",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) batch = new_summaries ();
  g_autoptr(GPtrArray) raws = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) results = NULL;
  g_autofree guint32 *uids = g_new (guint32, 2000);
  PbStore *store = open_store (fixture);
  gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  GRand *rand = g_rand_new_with_seed (42);
  gsize total = 0;
  gint64 start;
  clock_t cpu_start;
  guint n_stored = 0;

  for (guint32 i = 0; i < 2000; i++)
    {
      g_autoptr(GString) body = g_string_new (NULL);
      g_autofree char *subject = g_strdup_printf ("Message %u about the report", i + 1);
      guint n_words = g_rand_int_range (rand, 300, 1500);
      GBytes *raw;
      PbMessageSummary *summary;

      for (guint w = 0; w < n_words; w++)
        {
          g_string_append (body, words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
          g_string_append (body, w % 12 == 11 ? ".\r\n" : " ");
        }
      g_string_append (body, "\r\n");
      raw = make_raw (subject, "Bob <bob@example.net>", NULL, body->str);
      total += g_bytes_get_size (raw);
      summary = pb_store_parse_summary (raw);
      summary->uid = i + 1;
      summary->date = i + 1;
      g_ptr_array_add (batch, summary);
      g_ptr_array_add (raws, raw);
      uids[i] = i + 1;
    }
  g_assert_true (pb_store_add_messages (store, folder, batch, &error));
  g_assert_no_error (error);

  start = g_get_monotonic_time ();
  cpu_start = clock ();
  for (guint i = 0; i < 2000; i += 200)
    {
      guint n = 0;

      g_assert_true (pb_store_set_bodies (store, folder, uids + i,
                                          (GBytes * const *) raws->pdata + i, 200, &n, &error));
      g_assert_no_error (error);
      n_stored += n;
    }
  g_test_message ("Stored and indexed %u bodies (%.1f MB) in %.2f s (%.2f s CPU)", n_stored,
                  total / 1e6, (g_get_monotonic_time () - start) / 1e6,
                  (double) (clock () - cpu_start) / CLOCKS_PER_SEC);
  g_assert_cmpuint (n_stored, ==, 2000);

  results = pb_store_search (store, "Fahrkarte", 5, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 5);
  g_rand_free (rand);
  g_object_unref (store);
}

static void
test_journal (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  PbStore *store = open_store (fixture);
  gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  gint64 first, second, third;
  PbJournalEntry *entry;

  first = pb_store_journal_add (store, ACCOUNT, "flags", folder, 7, 42, "+\\Seen", &error);
  g_assert_no_error (error);
  second = pb_store_journal_add (store, "home", "expunge", folder, 7, 43, NULL, &error);
  third = pb_store_journal_add (store, ACCOUNT, "move", folder, 7, 44, "Archive", &error);
  g_assert_cmpint (first, <, second);
  g_assert_cmpint (second, <, third);
  g_object_unref (store);

  store = open_store (fixture);
  entries = pb_store_journal_list (store, ACCOUNT, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 2);
  entry = g_ptr_array_index (entries, 0);
  g_assert_cmpint (entry->id, ==, first);
  g_assert_cmpstr (entry->account, ==, ACCOUNT);
  g_assert_cmpstr (entry->op, ==, "flags");
  g_assert_cmpint (entry->folder_id, ==, folder);
  g_assert_cmpuint (entry->uidvalidity, ==, 7);
  g_assert_cmpuint (entry->uid, ==, 42);
  g_assert_cmpstr (entry->arg, ==, "+\\Seen");
  g_assert_cmpint (entry->created, >, 1600000000);
  g_assert_cmpstr (((PbJournalEntry *) g_ptr_array_index (entries, 1))->op, ==, "move");
  g_clear_pointer (&entries, g_ptr_array_unref);

  entries = pb_store_journal_list (store, NULL, &error);
  g_assert_cmpuint (entries->len, ==, 3);
  g_assert_null (((PbJournalEntry *) g_ptr_array_index (entries, 1))->arg);
  g_clear_pointer (&entries, g_ptr_array_unref);

  g_assert_true (pb_store_journal_remove (store, first, &error));
  g_assert_no_error (error);
  g_assert_false (pb_store_journal_remove (store, first, &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_object_unref (store);

  store = open_store (fixture);
  entries = pb_store_journal_list (store, ACCOUNT, &error);
  g_assert_cmpuint (entries->len, ==, 1);
  g_assert_cmpint (((PbJournalEntry *) g_ptr_array_index (entries, 0))->id, ==, third);
  g_object_unref (store);
}

static void
test_journal_batch (Fixture       *fixture,
                    gconstpointer  data)
{
  const guint n = 500;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  PbStore *store = open_store (fixture);
  gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  gint64 single, start, elapsed_batch, elapsed_single;

  for (guint32 uid = 1; uid <= n; uid++)
    g_array_append_val (uids, uid);

  /* Nothing to add is no error and writes nothing. */
  g_assert_true (pb_store_journal_add_batch (store, ACCOUNT, "flags", folder, 9, NULL, 0, NULL,
                                             &error));
  g_assert_no_error (error);

  single = pb_store_journal_add (store, ACCOUNT, "move", folder, 9, 1000, "Archive", &error);
  start = g_get_monotonic_time ();
  g_assert_true (pb_store_journal_add_batch (store, ACCOUNT, "flags", folder, 9,
                                             (guint32 *) uids->data, n, "+\\Seen", &error));
  g_assert_no_error (error);
  elapsed_batch = g_get_monotonic_time () - start;

  start = g_get_monotonic_time ();
  for (guint32 uid = 1; uid <= 20; uid++)
    g_assert_cmpint (pb_store_journal_add (store, "home", "flags", folder, 9, uid, NULL, &error),
                     >, 0);
  elapsed_single = g_get_monotonic_time () - start;
  g_test_message ("journal: %u entries in one batch in %.1f ms; 20 single adds in %.1f ms",
                  n, elapsed_batch / 1000.0, elapsed_single / 1000.0);
  g_object_unref (store);

  /* Durable, in order, with consecutive ids after the entry added before. */
  store = open_store (fixture);
  entries = pb_store_journal_list (store, ACCOUNT, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, n + 1);
  g_assert_cmpint (((PbJournalEntry *) g_ptr_array_index (entries, 0))->id, ==, single);
  for (guint i = 1; i <= n; i++)
    {
      PbJournalEntry *entry = g_ptr_array_index (entries, i);

      g_assert_cmpint (entry->id, ==, single + i);
      g_assert_cmpstr (entry->account, ==, ACCOUNT);
      g_assert_cmpstr (entry->op, ==, "flags");
      g_assert_cmpint (entry->folder_id, ==, folder);
      g_assert_cmpuint (entry->uidvalidity, ==, 9);
      g_assert_cmpuint (entry->uid, ==, i);
      g_assert_cmpstr (entry->arg, ==, "+\\Seen");
      g_assert_cmpint (entry->created, ==,
                       ((PbJournalEntry *) g_ptr_array_index (entries, 1))->created);
    }
  g_clear_pointer (&entries, g_ptr_array_unref);

  /* All or nothing: a batch that fails midway leaves no entry. The trigger refuses the 300th. */
  {
    g_autofree char *db_path = g_build_filename (fixture->dir, "store.sqlite3", NULL);

    sql_exec (db_path, "CREATE TRIGGER refuse BEFORE INSERT ON journal WHEN new.uid = 300"
                      " BEGIN SELECT RAISE (ABORT, 'refused'); END");
  }
  g_assert_false (pb_store_journal_add_batch (store, "other", "expunge", folder, 9,
                                              (guint32 *) uids->data, n, NULL, &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_FAILED);
  g_clear_error (&error);
  entries = pb_store_journal_list (store, "other", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 0);
  g_object_unref (store);
}

/* Concurrency: four sync threads write their own folders while a UI-like thread reads. */

typedef struct {
  PbStore  *store;
  guint     index;
  gint     *done;
  GMutex   *lock;
  GString  *errors;
  guint     reads;
} Worker;

static void
worker_fail (Worker     *worker,
             const char *what,
             GError     *error)
{
  g_mutex_lock (worker->lock);
  g_string_append_printf (worker->errors, "%s: %s\n", what, error ? error->message : "?");
  g_mutex_unlock (worker->lock);
}

static gpointer
writer_thread (gpointer data)
{
  Worker *worker = data;
  g_autofree char *path = g_strdup_printf ("Folder %u", worker->index);
  g_autoptr(PbFolderInfo) info = pb_folder_info_new (path, PB_FOLDER_ROLE_NONE, TRUE);
  g_autoptr(GError) error = NULL;
  gint64 folder = pb_store_ensure_folder (worker->store, ACCOUNT, info, &error);

  if (folder == 0)
    {
      worker_fail (worker, "ensure folder", error);
      return NULL;
    }
  if (!pb_store_set_folder_state (worker->store, folder, 100 + worker->index, 0, 0, &error))
    worker_fail (worker, "set state", error);

  for (guint batch_no = 0; batch_no < 20; batch_no++)
    {
      g_autoptr(GPtrArray) batch = new_summaries ();
      g_autoptr(GArray) updates = pb_uid_flags_array_new (50);

      for (guint i = 0; i < 100; i++)
        {
          guint32 uid = batch_no * 100 + i + 1;
          g_autofree char *subject = g_strdup_printf ("Thread %u message %u", worker->index, uid);

          g_ptr_array_add (batch, make_summary (uid, 1000 + uid, subject, "t@example.org"));
        }
      if (!pb_store_add_messages (worker->store, folder, batch, &error))
        {
          worker_fail (worker, "add messages", error);
          g_clear_error (&error);
        }

      for (guint i = 0; i < 2; i++)
        {
          g_autoptr(GBytes) raw = make_raw ("Concurrent body", "t@example.org", NULL,
                                            "Some text to index\r\n");

          if (!pb_store_set_body (worker->store, folder, batch_no * 100 + i + 1, raw, &error))
            {
              worker_fail (worker, "set body", error);
              g_clear_error (&error);
            }
        }

      for (guint i = 0; i < 50; i++)
        {
          PbUidFlags update = { batch_no * 100 + i + 1, PB_MESSAGE_FLAG_SEEN, 0, NULL };
          g_array_append_val (updates, update);
        }
      if (!pb_store_update_flags_batch (worker->store, folder, (PbUidFlags *) updates->data,
                                        updates->len, &error))
        {
          worker_fail (worker, "update flags", error);
          g_clear_error (&error);
        }
      if (pb_store_journal_add (worker->store, ACCOUNT, "flags", folder, 1, batch_no + 1, NULL,
                                &error) == 0)
        {
          worker_fail (worker, "journal", error);
          g_clear_error (&error);
        }
    }
  return NULL;
}

static gpointer
reader_thread (gpointer data)
{
  Worker *worker = data;

  while (!g_atomic_int_get (worker->done))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) folders = pb_store_list_folders (worker->store, ACCOUNT, &error);

      if (folders == NULL)
        {
          worker_fail (worker, "list folders", error);
          continue;
        }
      for (guint i = 0; i < folders->len; i++)
        {
          const char *path = pb_folder_info_get_path (g_ptr_array_index (folders, i));
          gint64 id = pb_store_lookup_folder (worker->store, ACCOUNT, path, &error);
          g_autoptr(GPtrArray) page = NULL;
          g_autoptr(GArray) flags = NULL;
          guint total = 0, unread = 0;

          if (id == 0)
            {
              worker_fail (worker, "lookup", error);
              g_clear_error (&error);
              continue;
            }
          page = pb_store_list_messages (worker->store, id, 0, 50, &error);
          if (page == NULL)
            {
              worker_fail (worker, "list messages", error);
              g_clear_error (&error);
            }
          if (!pb_store_count_messages (worker->store, id, &total, &unread, &error))
            {
              worker_fail (worker, "count", error);
              g_clear_error (&error);
            }
          else if (unread > total)
            worker_fail (worker, "count", NULL);
          flags = pb_store_get_uid_flags (worker->store, id, &error);
          if (flags == NULL)
            {
              worker_fail (worker, "uid flags", error);
              g_clear_error (&error);
            }
          worker->reads++;
        }
      {
        g_autoptr(GPtrArray) found = pb_store_search (worker->store, "message 1", 20, &error);

        if (found == NULL)
          worker_fail (worker, "search", error);
      }
    }
  return NULL;
}

static void
test_concurrent (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GString) errors = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) journal = NULL;
  PbStore *store = open_store (fixture);
  Worker workers[5];
  GThread *threads[5];
  GMutex lock;
  gint done = 0;
  gint64 start = g_get_monotonic_time ();

  g_mutex_init (&lock);
  for (guint i = 0; i < 5; i++)
    {
      workers[i] = (Worker) { store, i, &done, &lock, errors, 0 };
      threads[i] = g_thread_new (i < 4 ? "writer" : "reader", i < 4 ? writer_thread : reader_thread,
                                 &workers[i]);
    }
  for (guint i = 0; i < 4; i++)
    g_thread_join (threads[i]);
  g_atomic_int_set (&done, 1);
  g_thread_join (threads[4]);
  g_mutex_clear (&lock);
  g_test_message ("concurrent: 4 writers x 2000 messages with a reader (%u folder reads) in "
                  "%.0f ms", workers[4].reads, (g_get_monotonic_time () - start) / 1000.0);

  g_assert_cmpstr (errors->str, ==, "");
  g_assert_cmpuint (workers[4].reads, >, 0);

  folders = pb_store_list_folders (store, ACCOUNT, &error);
  g_assert_cmpuint (folders->len, ==, 4);
  for (guint i = 0; i < folders->len; i++)
    {
      const char *path = pb_folder_info_get_path (g_ptr_array_index (folders, i));
      gint64 id = pb_store_lookup_folder (store, ACCOUNT, path, &error);
      guint total = 0, unread = 0;

      g_assert_true (pb_store_count_messages (store, id, &total, &unread, &error));
      g_assert_cmpuint (total, ==, 2000);
      g_assert_cmpuint (unread, ==, 1000);
    }
  journal = pb_store_journal_list (store, ACCOUNT, &error);
  g_assert_cmpuint (journal->len, ==, 80);
  g_object_unref (store);
}

/* The async wrappers, driven from the main context as the UI will. */

static void
store_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static void
test_async (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) raw = make_raw ("Async", "x@example.org", NULL, "Asynchronous body\r\n");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  PbStore *store = open_store (fixture);
  gint64 folder = add_folder (store, "INBOX", PB_FOLDER_ROLE_INBOX);
  GAsyncResult *result = NULL;
  guint total = 0, unread = 0;

  add_raw_message (store, folder, 1, 1000, raw);

  pb_store_list_folders_async (store, ACCOUNT, NULL, store_result_cb, &result);
  {
    g_autoptr(GPtrArray) folders = pb_store_list_folders_finish (store, wait_for (&result), &error);
    g_assert_no_error (error);
    g_assert_cmpuint (folders->len, ==, 1);
  }
  g_clear_object (&result);

  pb_store_list_messages_async (store, folder, 0, 10, NULL, store_result_cb, &result);
  {
    g_autoptr(GPtrArray) page = pb_store_list_messages_finish (store, wait_for (&result), &error);
    g_assert_no_error (error);
    g_assert_cmpuint (page->len, ==, 1);
  }
  g_clear_object (&result);

  pb_store_count_messages_async (store, folder, NULL, store_result_cb, &result);
  g_assert_true (pb_store_count_messages_finish (store, wait_for (&result), &total, &unread,
                                                 &error));
  g_assert_cmpuint (total, ==, 1);
  g_assert_cmpuint (unread, ==, 1);
  g_clear_object (&result);

  pb_store_search_async (store, "asynchronous", 10, NULL, store_result_cb, &result);
  {
    g_autoptr(GPtrArray) found = pb_store_search_finish (store, wait_for (&result), &error);
    g_assert_no_error (error);
    g_assert_cmpuint (found->len, ==, 1);
  }
  g_clear_object (&result);

  pb_store_get_raw_async (store, folder, 1, NULL, store_result_cb, &result);
  {
    g_autoptr(GBytes) bytes = pb_store_get_raw_finish (store, wait_for (&result), &error);
    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (bytes, raw));
  }
  g_clear_object (&result);

  g_cancellable_cancel (cancellable);
  pb_store_search_async (store, "asynchronous", 10, cancellable, store_result_cb, &result);
  g_assert_null (pb_store_search_finish (store, wait_for (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_object (&result);
  g_object_unref (store);
}

/* Parsing */

static PbMessageSummary *
parse (const char *text)
{
  g_autoptr(GBytes) raw = g_bytes_new_static (text, strlen (text));
  PbMessageSummary *summary = pb_store_parse_summary (raw);

  g_assert_nonnull (summary);
  g_assert_cmpuint (summary->size, ==, strlen (text));
  g_assert_true (summary->subject == NULL || g_utf8_validate (summary->subject, -1, NULL));
  g_assert_true (summary->from_name == NULL || g_utf8_validate (summary->from_name, -1, NULL));
  g_assert_true (summary->from_addr == NULL || g_utf8_validate (summary->from_addr, -1, NULL));
  g_assert_true (summary->to_list == NULL || g_utf8_validate (summary->to_list, -1, NULL));
  g_assert_true (summary->cc_list == NULL || g_utf8_validate (summary->cc_list, -1, NULL));
  g_assert_true (summary->preview == NULL || g_utf8_validate (summary->preview, -1, NULL));
  return summary;
}

static void
test_parse_encoded_words (void)
{
  g_autoptr(PbMessageSummary) s = parse (
    "From: =?iso-8859-1?q?J=F6rg_M=FCller?= <joerg@example.de>\r\n"
    "To: =?UTF-8?B?55Sw5LitIOWkqumDjg==?= <tanaka@example.jp>, bob@example.net\r\n"
    "Cc: \"Doe, Jane\" <jane@example.com>\r\n"
    "Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?= und =?UTF-8?B?5pel5pys6Kqe44Gu5Lu25ZCN?=\r\n"
    "Date: Tue, 14 Nov 2023 10:00:00 +0100\r\n"
    "Message-ID: <abc.123@example.de>\r\n"
    "In-Reply-To: <parent@example.de> (comment)\r\n"
    "References: <root@example.de>\r\n <parent@example.de>\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Sch=F6ne Gr=FC=DFe\r\n");

  g_assert_cmpstr (s->subject, ==, "Grüße aus Köln und 日本語の件名");
  g_assert_cmpstr (s->from_name, ==, "Jörg Müller");
  g_assert_cmpstr (s->from_addr, ==, "joerg@example.de");
  g_assert_nonnull (strstr (s->to_list, "田中 太郎"));
  g_assert_nonnull (strstr (s->to_list, "tanaka@example.jp"));
  g_assert_nonnull (strstr (s->to_list, "bob@example.net"));
  g_assert_nonnull (strstr (s->cc_list, "Doe, Jane"));
  g_assert_cmpint (s->date, ==, 1699952400);
  g_assert_cmpstr (s->message_id, ==, "abc.123@example.de");
  g_assert_cmpstr (s->in_reply_to, ==, "parent@example.de");
  g_assert_cmpstr (s->references, ==, "root@example.de parent@example.de");
  g_assert_cmpstr (s->preview, ==, "Schöne Grüße");
  g_assert_false (s->has_attachment);
}

static void
test_parse_broken (void)
{
  g_autoptr(PbMessageSummary) no_date = NULL;
  g_autoptr(PbMessageSummary) eight_bit = NULL;
  g_autoptr(PbMessageSummary) bad_utf8 = NULL;
  g_autoptr(PbMessageSummary) garbage = NULL;
  g_autoptr(PbMessageSummary) empty = NULL;
  g_autoptr(PbMessageSummary) headers_only = NULL;
  g_autoptr(PbMessageSummary) bad_words = NULL;
  g_autoptr(PbMessageSummary) bogus = NULL;

  no_date = parse ("From: a@example.org\r\nSubject: No date\r\n\r\nHi\r\n");
  g_assert_cmpint (no_date->date, ==, 0);
  g_assert_cmpstr (no_date->subject, ==, "No date");
  g_assert_null (no_date->from_name);
  g_assert_cmpstr (no_date->from_addr, ==, "a@example.org");
  g_assert_null (no_date->message_id);
  g_assert_null (no_date->to_list);

  /* Raw Latin-1 bytes in headers, as old clients send them. */
  eight_bit = parse ("From: J\xf6rg <j@example.de>\r\nSubject: Caf\xe9 f\xfcr alle\r\n"
                     "Date: not a date at all\r\n\r\nBody \xe4\xf6\xfc\r\n");
  g_assert_cmpstr (eight_bit->subject, ==, "Café für alle");
  g_assert_cmpstr (eight_bit->from_name, ==, "Jörg");
  g_assert_cmpint (eight_bit->date, ==, 0);
  g_assert_cmpstr (eight_bit->preview, ==, "Body äöü");

  /* A charset nobody knows, 8-bit body bytes. */
  bogus = parse ("From: group: a@b.example, d@e.example;\r\nSubject: Bogus\r\n"
                 "Content-Type: text/plain; charset=\"bogus-charset\"\r\n\r\nHello \xe4 world\r\n");
  g_assert_cmpstr (bogus->preview, ==, "Hello ä world");
  g_assert_cmpstr (bogus->from_addr, ==, "a@b.example");

  /* Bytes that are no text in any charset, and control characters. */
  bad_utf8 = parse ("From: \xff\xfe\x80 <x@example.org>\r\n"
                    "Subject: A\x01\x02 \xc3\x28 \xed\xa0\x80 B\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n\r\n\xc3\x28\xff text\r\n");
  g_assert_nonnull (bad_utf8->subject);
  g_assert_true (g_str_has_prefix (bad_utf8->subject, "A"));
  g_assert_nonnull (bad_utf8->preview);

  /* Invalid encoded words stay readable text. */
  bad_words = parse ("Subject: =?x-unknown?Q?abc?= =?utf-8?B?!!!?= =?utf-8?Q?caf=C3?=\r\n\r\n");
  g_assert_nonnull (bad_words->subject);

  garbage = parse ("\x00\x01\x02 this is not mail \xff\xff\xff");
  g_assert_null (garbage->subject);

  {
    g_autoptr(GBytes) nothing = g_bytes_new_static ("", 0);
    empty = pb_store_parse_summary (nothing);
    g_assert_nonnull (empty);
    g_assert_cmpuint (empty->size, ==, 0);
  }

  headers_only = parse ("From: Alice <alice@example.org>\r\nSubject: Only headers\r\n"
                        "Content-Type: multipart/mixed; boundary=x\r\n\r\n");
  g_assert_cmpstr (headers_only->subject, ==, "Only headers");
  g_assert_null (headers_only->preview);
}

static void
test_parse_mime (void)
{
  g_autoptr(PbMessageSummary) mixed = NULL;
  g_autoptr(PbMessageSummary) html = NULL;
  g_autoptr(PbMessageSummary) alternative = NULL;
  g_autoptr(PbMessageSummary) related = NULL;
  g_autoptr(PbMessageSummary) forwarded = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autofree char *preview = NULL;
  g_autofree char *body_text = NULL;
  gboolean has_attachment = FALSE;

  mixed = parse ("From: a@example.org\r\nSubject: Report\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
                 "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                 "Please find the report attached.\r\n"
                 "--b1\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\n"
                 "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n");
  g_assert_true (mixed->has_attachment);
  g_assert_cmpstr (mixed->preview, ==, "Please find the report attached.");

  html = parse ("From: a@example.org\r\nSubject: Newsletter\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/html; charset=utf-8\r\n\r\n"
                "<!DOCTYPE html><html><head><title>Title text</title>"
                "<style>p { color: red; }</style></head>"
                "<body><!-- hidden --><p class=\"x>y\">Hello <b>World</b> &amp; friends"
                "&nbsp;&#8211;"
                " &#x263A; &unknown; 1 &lt; 2</p><script>alert('no')</script>"
                "<div>Second<br>line</div></body></html>\r\n");
  g_assert_cmpstr (html->preview, ==, "Hello World & friends – ☺ &unknown; 1 < 2 Second line");
  g_assert_false (html->has_attachment);

  alternative = parse ("From: a@example.org\r\nSubject: Alt\r\nMIME-Version: 1.0\r\n"
                       "Content-Type: multipart/alternative; boundary=b2\r\n\r\n"
                       "--b2\r\nContent-Type: text/plain\r\n\r\nPlain version\r\n"
                       "--b2\r\nContent-Type: text/html\r\n\r\n<p>HTML version</p>\r\n--b2--\r\n");
  g_assert_cmpstr (alternative->preview, ==, "Plain version");
  g_assert_false (alternative->has_attachment);

  related = parse ("From: a@example.org\r\nSubject: Logo\r\nMIME-Version: 1.0\r\n"
                   "Content-Type: multipart/related; boundary=b3\r\n\r\n"
                   "--b3\r\nContent-Type: text/html\r\n\r\n<p>See <img src=\"cid:logo\"></p>\r\n"
                   "--b3\r\nContent-Type: image/png\r\nContent-ID: <logo>\r\n"
                   "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b3--\r\n");
  g_assert_false (related->has_attachment);
  g_assert_cmpstr (related->preview, ==, "See");

  forwarded = parse ("From: a@example.org\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: multipart/mixed; boundary=b4\r\n\r\n"
                     "--b4\r\nContent-Type: text/plain\r\n\r\nForwarding this.\r\n"
                     "--b4\r\nContent-Type: message/rfc822\r\n\r\n"
                     "From: b@example.org\r\nSubject: Inner\r\n\r\nInner text\r\n--b4--\r\n");
  g_assert_true (forwarded->has_attachment);
  g_assert_cmpstr (forwarded->preview, ==, "Forwarding this.");

  /* The full text for the index keeps everything the sender wrote. */
  {
    static const char text[] = "Subject: x\r\n\r\nfirst line\r\n> quoted line\r\n";
    raw = g_bytes_new_static (text, sizeof text - 1);
  }
  pb_store_parse_body (raw, &preview, &has_attachment, &body_text);
  g_assert_cmpstr (preview, ==, "first line");
  g_assert_nonnull (strstr (body_text, "quoted line"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();

#define ADD(path, func) \
  g_test_add ("/store/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("migrations", test_migrations);
  ADD ("reopen", test_reopen);
  ADD ("newer-version", test_newer_version);
  ADD ("corrupt", test_corrupt);
  ADD ("clean-shutdown", test_clean_shutdown);
  g_test_add_func ("/store/unclean-child", test_unclean_child);
  ADD ("many", test_many);
  ADD ("set-body", test_set_body);
  ADD ("repair", test_repair);
  ADD ("reset-folder", test_reset_folder);
  ADD ("remove-folders", test_remove_folders);
  ADD ("flags", test_flags);
  ADD ("remove-uids", test_remove_uids);
  ADD ("search", test_search);
  ADD ("index-timing", test_index_timing);
  ADD ("migrate-body-index", test_migrate_body_index);
  ADD ("journal", test_journal);
  ADD ("journal-batch", test_journal_batch);
  ADD ("concurrent", test_concurrent);
  ADD ("async", test_async);
  g_test_add_func ("/store/parse/encoded-words", test_parse_encoded_words);
  g_test_add_func ("/store/parse/broken", test_parse_broken);
  g_test_add_func ("/store/parse/mime", test_parse_mime);

  return g_test_run ();
}
