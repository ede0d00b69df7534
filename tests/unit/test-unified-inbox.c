/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-unified-inbox"

#include "config.h"

#include <glib/gstdio.h>

#include "pb-engine.h"
#include "pb-message-list.h"
#include "pb-operations.h"
#include "pb-store.h"
#include "pb-test-store.h"

/*
 * What the main window needs from the store beyond one folder: the unified inbox
 * (PB_STORE_FOLDER_INBOXES) over several accounts' inboxes, the ::changed signal after
 * commits, and finding a moved message again by Message-ID for Undo.
 */

static char *tmp_dir;

static PbMessageSummary *
make_summary (guint32     uid,
              gint64      date,
              const char *subject,
              gboolean    seen)
{
  PbMessageSummary *summary = pb_message_summary_new ();

  summary->uid = uid;
  summary->date = date;
  summary->internaldate = date;
  summary->size = 100;
  summary->flags = seen ? PB_MESSAGE_FLAG_SEEN : 0;
  summary->subject = g_strdup (subject);
  summary->from_addr = g_strdup ("someone@example.org");
  summary->message_id = g_strdup_printf ("%s@example.org", subject);
  return summary;
}

static PbStore *
open_store (const char *name)
{
  g_autofree char *dir = g_build_filename (tmp_dir, name, NULL);

  return pb_test_store_open (dir);
}

static void
test_unified_inbox_order (void)
{
  g_autoptr (PbStore) store = open_store ("order");
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GError) error = NULL;
  gint64 a_inbox, b_inbox, a_other;
  const char *expected[] = { "b3", "a3", "b2", "a1", "b1" };
  guint total = 0, unread = 0;

  a_inbox = pb_test_store_add_folder (store, "a", "INBOX", PB_FOLDER_ROLE_INBOX);
  a_other = pb_test_store_add_folder (store, "a", "Projects", PB_FOLDER_ROLE_NONE);
  b_inbox = pb_test_store_add_folder (store, "b", "INBOX", PB_FOLDER_ROLE_INBOX);

  /* One inbox only: the pseudo folder is that inbox. */
  pb_test_store_add (store, a_inbox, make_summary (1, 1000, "a1", FALSE));
  g_assert_true (pb_store_count_messages (store, PB_STORE_FOLDER_INBOXES, &total, &unread,
                                          &error));
  g_assert_cmpuint (total, ==, 1);

  pb_test_store_add (store, a_inbox, make_summary (3, 3000, "a3", TRUE));
  pb_test_store_add (store, a_other, make_summary (5, 5000, "elsewhere", FALSE));
  pb_test_store_add (store, b_inbox, make_summary (1, 500, "b1", FALSE));
  pb_test_store_add (store, b_inbox, make_summary (2, 2000, "b2", TRUE));
  pb_test_store_add (store, b_inbox, make_summary (3, 4000, "b3", FALSE));

  /* Every inbox, newest first, and nothing from other folders. */
  page = pb_store_list_messages (store, PB_STORE_FOLDER_INBOXES, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < page->len; i++)
    {
      PbMessageSummary *summary = g_ptr_array_index (page, i);

      g_assert_cmpstr (summary->subject, ==, expected[i]);
      g_assert_cmpint (summary->folder_id, ==, summary->subject[0] == 'a' ? a_inbox : b_inbox);
    }
  g_clear_pointer (&page, g_ptr_array_unref);
  page = pb_store_list_messages (store, PB_STORE_FOLDER_INBOXES, 2, 2, &error);
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_cmpstr (((PbMessageSummary *) g_ptr_array_index (page, 0))->subject, ==, "b2");

  g_assert_true (pb_store_count_messages (store, PB_STORE_FOLDER_INBOXES, &total, &unread,
                                          &error));
  g_assert_cmpuint (total, ==, 5);
  g_assert_cmpuint (unread, ==, 3);
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
spin_until (GSourceFunc condition,
            gpointer    data)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!condition (data))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
changed_cb (PbStore *store,
            guint   *count)
{
  (*count)++;
}

static gboolean
count_positive (gpointer data)
{
  return *(guint *) data > 0;
}

static void
test_unified_inbox_list (void)
{
  g_autoptr (PbStore) store = open_store ("list");
  g_autoptr (PbMessageList) list = NULL;
  g_autoptr (PbMessageItem) first = NULL;
  gint64 a_inbox, b_inbox;
  guint changed = 0;

  a_inbox = pb_test_store_add_folder (store, "a", "INBOX", PB_FOLDER_ROLE_INBOX);
  b_inbox = pb_test_store_add_folder (store, "b", "INBOX", PB_FOLDER_ROLE_INBOX);
  pb_test_store_add (store, a_inbox, make_summary (1, 1000, "a1", FALSE));
  pb_test_store_add (store, b_inbox, make_summary (1, 2000, "b1", FALSE));

  list = pb_message_list_new (store, PB_STORE_FOLDER_INBOXES);
  spin_until (list_ready, list);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 2);
  first = g_list_model_get_item (G_LIST_MODEL (list), 0);
  g_assert_cmpstr (pb_message_item_get_subject (first), ==, "b1");
  /* Each item knows its real folder, for the actions on it. */
  g_assert_cmpint (pb_message_item_get_folder_id (first), ==, b_inbox);

  /* A commit is announced on the main context (a moment later, gathered with others), and
   * the list, refreshed, shows the new message. */
  g_signal_connect (store, "changed", G_CALLBACK (changed_cb), &changed);
  pb_test_store_add (store, a_inbox, make_summary (2, 3000, "a2", FALSE));
  spin_until (count_positive, &changed);
  pb_message_list_refresh (PB_MESSAGE_LIST (list));
  while (g_list_model_get_n_items (G_LIST_MODEL (list)) != 3 || !list_ready (list))
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&first);
  first = g_list_model_get_item (G_LIST_MODEL (list), 0);
  g_assert_cmpstr (pb_message_item_get_subject (first), ==, "a2");
  g_assert_cmpint (pb_message_item_get_folder_id (first), ==, a_inbox);
}

static void
test_move_back (void)
{
  g_autoptr (PbStore) store = open_store ("move-back");
  g_autoptr (GPtrArray) journal = NULL;
  g_autoptr (GError) error = NULL;
  gint64 inbox, trash;

  inbox = pb_test_store_add_folder (store, "a", "INBOX", PB_FOLDER_ROLE_INBOX);
  trash = pb_test_store_add_folder (store, "a", "Trash", PB_FOLDER_ROLE_TRASH);
  pb_test_store_add (store, inbox, make_summary (4, 1000, "victim", FALSE));

  g_assert_true (pb_operations_move (store, "a", "INBOX", 4, "Trash", &error));
  g_assert_no_error (error);

  /* Before a sync brought it to the Trash, Undo cannot find it yet, and says so. */
  g_assert_false (pb_operations_move_back (store, "a", "INBOX", "Trash", "victim@example.org",
                                           &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* The sync stored it there under a new UID: Undo finds it by Message-ID and moves it. */
  pb_test_store_add (store, trash, make_summary (17, 1000, "victim", FALSE));
  g_assert_cmpuint (pb_store_lookup_message_id (store, trash, "victim@example.org", &error),
                    ==, 17);
  g_assert_true (pb_operations_move_back (store, "a", "INBOX", "Trash", "victim@example.org",
                                          &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pb_store_lookup_message_id (store, trash, "victim@example.org", &error),
                    ==, 0);

  journal = pb_store_journal_list (store, "a", &error);
  g_assert_cmpuint (journal->len, ==, 2);
  {
    PbJournalEntry *back = g_ptr_array_index (journal, 1);

    g_assert_cmpint (back->folder_id, ==, trash);
    g_assert_cmpuint (back->uid, ==, 17);
    g_assert_cmpstr (back->arg, ==, "INBOX");
  }
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
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();
  tmp_dir = g_dir_make_tmp ("pb-unified-XXXXXX", NULL);

  g_test_add_func ("/store/unified-inbox/order", test_unified_inbox_order);
  g_test_add_func ("/store/unified-inbox/list", test_unified_inbox_list);
  g_test_add_func ("/store/move-back", test_move_back);

  status = g_test_run ();
  remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
