/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "pb-engine.h"
#include "pb-outbox.h"
#include "pb-test-server.h"
#include "pb-test-util.h"

/*
 * The outbox API as the composer uses it, against the harness's real SMTP server: undo within
 * the delay (nothing reaches the server), the state sequence and where its signals arrive,
 * durability before queue returns, cancel refused while sending, offline retry.
 * The crash and cut cases are in test-cli-send.sh.
 */

static PbTestServer *server;

typedef struct {
  GPtrArray *states;   /* "id state" strings, in order */
  GThread   *thread;   /* where the signals must arrive */
} Recorder;

static void
entry_changed_cb (PbOutbox      *outbox,
                  PbOutboxEntry *entry,
                  Recorder      *recorder)
{
  g_assert_true (g_thread_self () == recorder->thread);
  g_ptr_array_add (recorder->states,
                   g_strdup (pb_outbox_state_to_string (pb_outbox_entry_get_state (entry))));
}

static guint
count_accepted (void)
{
  g_autofree char *dir = g_build_filename (pb_test_server_get_dir (server), "smtp", NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    n += g_str_has_suffix (name, ".eml");
  return n;
}

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
set_true (gpointer  data,
          GObject  *where_the_object_was)
{
  *(gboolean *) data = TRUE;
}

static void
spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static PbAccountManager *
make_accounts (const char *dir,
               guint16     smtp_port)
{
  PbAccountManager *manager = pb_account_manager_new (dir);
  g_autofree char *in_url = g_strdup_printf ("imaps://alice@127.0.0.1:%u",
                                             pb_test_server_get_port (server, "imaps"));
  g_autofree char *out_url = g_strdup_printf ("smtps://alice@127.0.0.1:%u", smtp_port);
  g_autoptr(PbService) in = pb_service_new_from_url (in_url, NULL);
  g_autoptr(PbService) out = pb_service_new_from_url (out_url, NULL);
  g_autoptr(PbAccount) account = NULL;
  g_autoptr(GError) error = NULL;

  pb_service_set_ca_file (in, pb_test_server_get_ca_file (server));
  pb_service_set_ca_file (out, pb_test_server_get_ca_file (server));
  account = pb_account_new ("test", "alice@postbote.test", in, out);
  pb_account_set_password_command (account, "printf %s " PB_TEST_PASSWORD);
  g_assert_true (pb_account_manager_load (manager, &error));
  g_assert_true (pb_account_manager_add (manager, account, &error));
  g_assert_no_error (error);
  return manager;
}

static char *
queue (PbOutbox   *outbox,
       const char *text)
{
  g_autoptr(GBytes) message = g_bytes_new (text, strlen (text));
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *id;

  pb_outbox_queue_async (outbox, "test", message, NULL, pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, 10000);
  id = pb_outbox_queue_finish (outbox, result, &error);
  g_assert_no_error (error);
  return id;
}

static PbOutbox *
open_outbox (const char       *dir,
             PbAccountManager *accounts)
{
  PbOutbox *outbox = pb_outbox_new (dir, accounts, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  pb_outbox_load_async (outbox, NULL, pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, 10000);
  g_assert_true (pb_outbox_load_finish (outbox, result, &error));
  g_assert_no_error (error);
  return outbox;
}

static void
test_undo_and_send (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("pb-outbox-XXXXXX", NULL);
  g_autofree char *outdir = g_build_filename (tmp, "outbox", NULL);
  g_autoptr(PbAccountManager) accounts = make_accounts (tmp,
                                                        pb_test_server_get_port (server, "smtps"));
  g_autoptr(PbOutbox) outbox = open_outbox (outdir, accounts);
  g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func (g_free);
  Recorder recorder = { states, g_thread_self () };
  g_autoptr(GError) error = NULL;
  g_autofree char *undone = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *eml = NULL;
  g_autofree char *joined = NULL;
  guint before = count_accepted ();

  g_signal_connect (outbox, "entry-changed", G_CALLBACK (entry_changed_cb), &recorder);
  g_assert_cmpuint (pb_outbox_get_delay (outbox), ==, 5);
  pb_outbox_set_delay (outbox, 1);
  pb_outbox_start (outbox);

  /* Undo: queued (on disk before queue returns), then withdrawn within the delay. */
  undone = queue (outbox, "From: alice@postbote.test\nTo: bob@localhost\nSubject: undo me\n\nx\n");
  eml = g_build_filename (outdir, undone, "message.eml", NULL);
  g_assert_true (g_file_test (eml, G_FILE_TEST_EXISTS));
  {
    g_autoptr(PbOutboxEntry) e = pb_outbox_lookup (outbox, undone);
    g_assert_cmpint (pb_outbox_entry_get_state (e), ==, PB_OUTBOX_STATE_WAITING);
    g_assert_cmpstr (pb_outbox_entry_get_subject (e), ==, "undo me");
    g_assert_cmpstr (pb_outbox_entry_get_recipients (e)[0], ==, "bob@localhost");
  }
  g_assert_true (pb_outbox_cancel (outbox, undone, &error));
  g_assert_no_error (error);
  g_assert_false (pb_outbox_cancel (outbox, undone, &error));
  g_assert_error (error, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_NOT_FOUND);
  g_clear_error (&error);
  spin (2000);
  g_assert_cmpuint (count_accepted (), ==, before);
  g_assert_false (g_file_test (eml, G_FILE_TEST_EXISTS));
  joined = g_strjoinv (" ", (char **) g_ptr_array_steal (states, NULL));
  g_assert_cmpstr (joined, ==, "waiting done");
  g_clear_pointer (&joined, g_free);

  /* Sent after the delay, through every state, signalled on this thread. */
  sent = queue (outbox, "From: alice@postbote.test\nTo: bob@localhost\nSubject: send me\n\nx\n");
  while (!pb_outbox_is_idle (outbox) || pb_outbox_lookup (outbox, sent) != NULL)
    {
      g_autoptr(PbOutboxEntry) e = pb_outbox_lookup (outbox, sent);

      if (e != NULL && pb_outbox_entry_get_state (e) == PB_OUTBOX_STATE_SENDING)
        {
          /* Too late to undo. */
          g_assert_false (pb_outbox_cancel (outbox, sent, &error));
          g_assert_error (error, PB_OUTBOX_ERROR, PB_OUTBOX_ERROR_BUSY);
          g_clear_error (&error);
        }
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_cmpuint (count_accepted (), ==, before + 1);
  g_ptr_array_add (states, NULL);
  joined = g_strjoinv (" ", (char **) states->pdata);
  g_assert_cmpstr (joined, ==, "waiting sending sent done");
  g_assert_cmpuint (pb_outbox_list (outbox)->len, ==, 0);
}

static void
test_offline (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("pb-outbox-XXXXXX", NULL);
  g_autofree char *outdir = g_build_filename (tmp, "outbox", NULL);
  /* Port 1: nothing listens, like a network that is away. */
  g_autoptr(PbAccountManager) accounts = make_accounts (tmp, 1);
  g_autoptr(PbOutbox) outbox = open_outbox (outdir, accounts);
  g_autofree char *id = NULL;
  g_autoptr(PbOutboxEntry) e = NULL;
  g_autoptr(GError) error = NULL;

  pb_outbox_set_delay (outbox, 0);
  /* Queued while stopped: it stays queued and nothing is tried. */
  id = queue (outbox, "From: alice@postbote.test\nTo: bob@localhost\nSubject: later\n\nx\n");
  spin (300);
  e = pb_outbox_lookup (outbox, id);
  g_assert_cmpint (pb_outbox_entry_get_state (e), ==, PB_OUTBOX_STATE_QUEUED);
  g_assert_cmpuint (pb_outbox_entry_get_attempts (e), ==, 0);
  g_clear_pointer (&e, pb_outbox_entry_unref);

  pb_outbox_start (outbox);
  while (TRUE)
    {
      e = pb_outbox_lookup (outbox, id);
      if (pb_outbox_entry_get_attempts (e) == 1 && pb_outbox_entry_get_error (e) != NULL)
        break;
      g_clear_pointer (&e, pb_outbox_entry_unref);
      g_main_context_iteration (NULL, TRUE);
    }
  /* A network error: queued again, with a retry planned, not failed. */
  g_assert_cmpint (pb_outbox_entry_get_state (e), ==, PB_OUTBOX_STATE_QUEUED);
  g_assert_cmpint (pb_outbox_entry_get_next_attempt (e), >, g_get_real_time () / G_USEC_PER_SEC);
  g_assert_true (pb_outbox_is_idle (outbox));
  /* Still there after a restart, still queued. The old outbox finishes its state writes
   * before it goes away; wait for that as an application quitting would. */
  {
    gboolean gone = FALSE;

    g_object_weak_ref (G_OBJECT (outbox), set_true, &gone);
    g_clear_object (&outbox);
    while (!gone)
      g_main_context_iteration (NULL, TRUE);
  }
  outbox = open_outbox (outdir, accounts);
  g_clear_pointer (&e, pb_outbox_entry_unref);
  e = pb_outbox_lookup (outbox, id);
  g_assert_nonnull (e);
  g_assert_cmpint (pb_outbox_entry_get_state (e), ==, PB_OUTBOX_STATE_QUEUED);
  g_assert_true (pb_outbox_cancel (outbox, id, &error));
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();
  server = pb_test_server_start (NULL);

  g_test_add_func ("/outbox/undo-and-send", test_undo_and_send);
  g_test_add_func ("/outbox/offline", test_offline);
  status = g_test_run ();
  pb_test_server_stop (server);
  return status;
}
