/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Moves between local folders (a POP3 account's): pb_store_move_local() and
 * pb_operations_move()/pb_operations_delete() on local folders. The message keeps its body,
 * its full-text entries and its POP3 ledger row, gets a fresh UID in the destination and is
 * never lost, also when it exists only locally. Moves of an IMAP account stay as they were.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "pb-engine.h"
#include "pb-operations.h"
#include "pb-pop3-sync.h"
#include "pb-store.h"
#include "pb-store-pop3.h"

#define ACCOUNT "pop"

typedef struct {
  char    *dir;
  PbStore *store;
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
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("pb-pop3-local-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
  fixture->store = pb_store_open (fixture->dir, &error);
  g_assert_no_error (error);
  g_assert_true (pb_pop3_sync_ensure_folders (fixture->store, ACCOUNT, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->store);
  rm_rf (fixture->dir);
  g_free (fixture->dir);
}

static gint64
folder (Fixture    *fixture,
        const char *path)
{
  g_autoptr(GError) error = NULL;
  gint64 id = pb_store_lookup_folder (fixture->store, ACCOUNT, path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static GBytes *
raw_message (const char *subject,
             const char *word)
{
  char *text = g_strdup_printf ("From: Sender <s@example.org>\r\n"
                                "To: Alice <alice@example.org>\r\n"
                                "Subject: %s\r\n"
                                "Message-ID: <%s@example.org>\r\n"
                                "Date: Thu, 26 Nov 2026 12:00:00 +0000\r\n\r\n"
                                "A body with the word %s in it.\r\n",
                                subject, word, word);

  return g_bytes_new_take (text, strlen (text));
}

static void
store_message (Fixture    *fixture,
               gint64      folder_id,
               guint32     uid,
               GBytes     *raw)
{
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func (
    (GDestroyNotify) pb_message_summary_free);
  g_autoptr(GError) error = NULL;
  PbMessageSummary *summary = pb_store_parse_summary (raw);

  summary->uid = uid;
  g_ptr_array_add (batch, summary);
  g_assert_true (pb_store_add_messages (fixture->store, folder_id, batch, &error));
  g_assert_no_error (error);
  g_assert_true (pb_store_set_body (fixture->store, folder_id, uid, raw, &error));
  g_assert_no_error (error);
}

/* As a POP3 sync stores a download: ledger row PENDING with a local UID, message, STORED. */
static guint32
download (Fixture    *fixture,
          const char *uidl,
          GBytes     *raw)
{
  g_autoptr(GError) error = NULL;
  const char *uidls[] = { uidl };
  gint64 inbox = folder (fixture, "INBOX");
  guint32 uid = 0;

  g_assert_true (pb_store_pop3_ledger_reserve (fixture->store, ACCOUNT, inbox, uidls, NULL, 1,
                                               1000, &uid, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (uid, >, 0);
  store_message (fixture, inbox, uid, raw);
  g_assert_true (pb_store_pop3_ledger_set (fixture->store, ACCOUNT, uidls, 1, "state",
                                           PB_POP3_LEDGER_STORED, TRUE, &error));
  g_assert_no_error (error);
  return uid;
}

/* As PbPop3Store's append stores a sent copy: a local UID and the message, no ledger row. */
static guint32
append_local (Fixture    *fixture,
              const char *path,
              GBytes     *raw)
{
  g_autoptr(GError) error = NULL;
  gint64 id = folder (fixture, path);
  guint32 uid = pb_store_pop3_allocate_uid (fixture->store, id, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (uid, >, 0);
  store_message (fixture, id, uid, raw);
  return uid;
}

static void
assert_raw (Fixture *fixture,
            gint64   folder_id,
            guint32  uid,
            GBytes  *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) raw = pb_store_get_raw (fixture->store, folder_id, uid, &error);

  g_assert_no_error (error);
  g_assert_nonnull (raw);
  g_assert_true (g_bytes_equal (raw, expected));
}

static void
assert_gone (Fixture *fixture,
             gint64   folder_id,
             guint32  uid)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbMessageSummary) summary = pb_store_get_message (fixture->store, folder_id, uid,
                                                              &error);

  g_assert_null (summary);
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
}

static guint
count (Fixture *fixture,
       gint64   folder_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = pb_store_list_messages (fixture->store, folder_id, 0, 1000, &error);

  g_assert_no_error (error);
  return list->len;
}

static void
test_folders_local (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(PbFolderInfo) info = pb_folder_info_new ("INBOX", PB_FOLDER_ROLE_INBOX, TRUE);
  g_autoptr(GError) error = NULL;
  gint64 imap_inbox;

  g_assert_true (pb_store_folder_is_local (fixture->store, folder (fixture, "INBOX"), &error));
  g_assert_true (pb_store_folder_is_local (fixture->store, folder (fixture, "Trash"), &error));
  imap_inbox = pb_store_ensure_folder (fixture->store, "imap", info, &error);
  g_assert_no_error (error);
  g_assert_false (pb_store_folder_is_local (fixture->store, imap_inbox, &error));
  g_assert_no_error (error);
}

static void
test_store_move (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GBytes) raw = raw_message ("Moving on", "quokka");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) journal = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autofree char *uidl = NULL;
  g_autofree char *old_file = NULL;
  g_autofree char *new_file = NULL;
  gint64 inbox = folder (fixture, "INBOX"), trash = folder (fixture, "Trash");
  guint32 uid, uid2, new_uid = 0, back_uid = 0;
  PbMessageSummary *hit;

  /* Two in the Trash already: the move takes the next UID. */
  append_local (fixture, "Trash", raw);
  append_local (fixture, "Trash", raw);
  uid = download (fixture, "UIDL-1", raw);
  uid2 = download (fixture, "UIDL-2", raw);
  old_file = g_strdup_printf ("%s/messages/%" G_GINT64_FORMAT "/1-%u.eml", fixture->dir, inbox,
                              uid);
  g_assert_true (g_file_test (old_file, G_FILE_TEST_EXISTS));

  g_assert_true (pb_store_move_local (fixture->store, ACCOUNT, inbox, uid, trash,
                                      "moved-locally", "Trash", &new_uid, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (new_uid, ==, 3);

  assert_gone (fixture, inbox, uid);
  assert_raw (fixture, trash, new_uid, raw);
  new_file = g_strdup_printf ("%s/messages/%" G_GINT64_FORMAT "/1-%u.eml", fixture->dir, trash,
                              new_uid);
  g_assert_true (g_file_test (new_file, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (old_file, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count (fixture, inbox), ==, 1);
  g_assert_cmpuint (count (fixture, trash), ==, 3);

  /* The full-text rows stayed with the row. */
  found = pb_store_search (fixture->store, "quokka", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 4);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = pb_store_search (fixture->store, "Moving", 0, &error);
  g_assert_cmpuint (found->len, ==, 4);
  hit = NULL;
  for (guint i = 0; i < found->len; i++)
    {
      PbMessageSummary *s = g_ptr_array_index (found, i);
      if (s->folder_id == trash && s->uid == new_uid)
        hit = s;
    }
  g_assert_nonnull (hit);

  /* The ledger row followed the message; the other one stayed. */
  uidl = pb_store_pop3_ledger_find (fixture->store, ACCOUNT, trash, new_uid, &error);
  g_assert_cmpstr (uidl, ==, "UIDL-1");
  g_clear_pointer (&uidl, g_free);
  uidl = pb_store_pop3_ledger_find (fixture->store, ACCOUNT, inbox, uid, &error);
  g_assert_null (uidl);
  uidl = pb_store_pop3_ledger_find (fixture->store, ACCOUNT, inbox, uid2, &error);
  g_assert_cmpstr (uidl, ==, "UIDL-2");
  g_clear_pointer (&uidl, g_free);

  /* One journal entry, naming the message at its new place. */
  journal = pb_store_journal_list (fixture->store, ACCOUNT, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (journal->len, ==, 1);
  {
    PbJournalEntry *entry = g_ptr_array_index (journal, 0);

    g_assert_cmpstr (entry->op, ==, "moved-locally");
    g_assert_cmpint (entry->folder_id, ==, trash);
    g_assert_cmpuint (entry->uid, ==, new_uid);
    g_assert_cmpstr (entry->arg, ==, "Trash");
  }

  /* Back again: a fresh UID above every one the inbox ever had, nothing in the journal. */
  g_assert_true (pb_store_move_local (fixture->store, ACCOUNT, trash, new_uid, inbox, NULL,
                                      NULL, &back_uid, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (back_uid, >, uid2);
  assert_raw (fixture, inbox, back_uid, raw);
  assert_gone (fixture, trash, new_uid);
  uidl = pb_store_pop3_ledger_find (fixture->store, ACCOUNT, inbox, back_uid, &error);
  g_assert_cmpstr (uidl, ==, "UIDL-1");
  g_clear_pointer (&journal, g_ptr_array_unref);
  journal = pb_store_journal_list (fixture->store, ACCOUNT, &error);
  g_assert_cmpuint (journal->len, ==, 1);

  /* And after reopening the store. */
  g_clear_object (&fixture->store);
  fixture->store = pb_store_open (fixture->dir, &error);
  g_assert_no_error (error);
  assert_raw (fixture, inbox, back_uid, raw);
  g_assert_cmpuint (count (fixture, inbox), ==, 2);
  g_assert_cmpuint (count (fixture, trash), ==, 2);

  /* Not a local folder, no such message, the same folder: errors, nothing changes. */
  g_assert_false (pb_store_move_local (fixture->store, ACCOUNT, inbox, 999, trash, NULL, NULL,
                                       NULL, &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (pb_store_move_local (fixture->store, "other", inbox, back_uid, trash, NULL,
                                       NULL, NULL, &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (pb_store_move_local (fixture->store, ACCOUNT, inbox, back_uid, inbox, NULL,
                                       NULL, NULL, &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_FAILED);
  g_clear_error (&error);
  assert_raw (fixture, inbox, back_uid, raw);
}

static void
test_operations_local (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GBytes) sent = raw_message ("Only here", "wombat");
  g_autoptr(GBytes) got = raw_message ("Downloaded", "numbat");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) journal = NULL;
  g_autoptr(GPtrArray) list = NULL;
  gint64 sent_id = folder (fixture, "Sent"), drafts = folder (fixture, "Drafts");
  gint64 trash = folder (fixture, "Trash"), inbox = folder (fixture, "INBOX");
  guint32 uid, moved = 0, downloaded, trashed;

  /* A message that exists only locally survives a move and a delete to the Trash. */
  uid = append_local (fixture, "Sent", sent);
  g_assert_true (pb_operations_move_full (fixture->store, ACCOUNT, "Sent", uid, "Drafts",
                                          &moved, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (moved, >, 0);
  assert_gone (fixture, sent_id, uid);
  assert_raw (fixture, drafts, moved, sent);

  g_assert_true (pb_operations_delete (fixture->store, ACCOUNT, "Drafts", moved, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count (fixture, drafts), ==, 0);
  list = pb_store_list_messages (fixture->store, trash, 0, 1000, &error);
  g_assert_cmpuint (list->len, ==, 1);
  trashed = ((PbMessageSummary *) g_ptr_array_index (list, 0))->uid;
  assert_raw (fixture, trash, trashed, sent);

  /* A downloaded one to the Trash through pb_operations_move (the old signature). */
  downloaded = download (fixture, "UIDL-9", got);
  g_assert_true (pb_operations_move (fixture->store, ACCOUNT, "INBOX", downloaded, "Trash",
                                     &error));
  g_assert_no_error (error);
  assert_gone (fixture, inbox, downloaded);
  g_assert_cmpuint (count (fixture, trash), ==, 2);

  /* Deleting inside the Trash is final and journalled as an expunge. */
  g_assert_true (pb_operations_delete (fixture->store, ACCOUNT, "Trash", trashed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count (fixture, trash), ==, 1);

  journal = pb_store_journal_list (fixture->store, ACCOUNT, &error);
  g_assert_cmpuint (journal->len, ==, 4);
  g_assert_cmpstr (((PbJournalEntry *) g_ptr_array_index (journal, 0))->op, ==,
                   PB_JOURNAL_OP_MOVED_LOCALLY);
  g_assert_cmpstr (((PbJournalEntry *) g_ptr_array_index (journal, 1))->op, ==,
                   PB_JOURNAL_OP_MOVED_LOCALLY);
  g_assert_cmpint (((PbJournalEntry *) g_ptr_array_index (journal, 1))->folder_id, ==, trash);
  g_assert_cmpstr (((PbJournalEntry *) g_ptr_array_index (journal, 3))->op, ==, "expunge");
  g_assert_cmpuint (((PbJournalEntry *) g_ptr_array_index (journal, 3))->uid, ==, trashed);
}

/* An IMAP account's folders are not local: a move journals "move" and removes the local copy,
 * which the server delivers to the destination, as before. */
static void
test_operations_imap (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(PbFolderInfo) a = pb_folder_info_new ("INBOX", PB_FOLDER_ROLE_INBOX, TRUE);
  g_autoptr(PbFolderInfo) b = pb_folder_info_new ("Archive", PB_FOLDER_ROLE_NONE, TRUE);
  g_autoptr(GBytes) raw = raw_message ("Remote", "dingo");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) journal = NULL;
  gint64 inbox, archive;
  guint32 new_uid = 42;

  inbox = pb_store_ensure_folder (fixture->store, "imap", a, &error);
  archive = pb_store_ensure_folder (fixture->store, "imap", b, &error);
  g_assert_true (pb_store_set_folder_state (fixture->store, inbox, 7, 10, 0, &error));
  g_assert_true (pb_store_set_folder_state (fixture->store, archive, 8, 10, 0, &error));
  store_message (fixture, inbox, 5, raw);
  g_assert_true (pb_operations_move_full (fixture->store, "imap", "INBOX", 5, "Archive",
                                          &new_uid, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (new_uid, ==, 0);
  assert_gone (fixture, inbox, 5);
  g_assert_cmpuint (count (fixture, archive), ==, 0);
  journal = pb_store_journal_list (fixture->store, "imap", &error);
  g_assert_cmpuint (journal->len, ==, 1);
  g_assert_cmpstr (((PbJournalEntry *) g_ptr_array_index (journal, 0))->op, ==, "move");
  g_assert_cmpint (((PbJournalEntry *) g_ptr_array_index (journal, 0))->folder_id, ==, inbox);
  g_assert_cmpuint (((PbJournalEntry *) g_ptr_array_index (journal, 0))->uid, ==, 5);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();

#define ADD(path, func) \
  g_test_add ("/pop3-local/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("folders-local", test_folders_local);
  ADD ("store-move", test_store_move);
  ADD ("operations-local", test_operations_local);
  ADD ("operations-imap", test_operations_imap);
#undef ADD

  return g_test_run ();
}
