/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>

#include "pb-draft.h"
#include "pb-engine.h"
#include "pb-message-builder.h"
#include "pb-outbox.h"
#include "pb-store.h"
#include "pb-test-server.h"
#include "pb-test-store.h"
#include "pb-test-util.h"

/*
 * Writing mail end to end against the harness: alice answers a message of bob's with the
 * builder (non-ASCII subject and names, a 5 MB attachment, References), saves a draft (it
 * appears in Drafts over IMAP, and a second save replaces it), queues the message in the
 * outbox with a short undo delay, and the draft is removed once the delay is over. The real
 * SMTP server delivers into Dovecot: bob's copy, fetched over IMAP by the engine, parses back
 * identically (every field, the text, the attachment's bytes); the Bcc recipient has it too,
 * without a Bcc header; alice's Sent folder has the copy.
 */

#define WAIT_MS 60000
#define ATTACHMENT_SIZE (5 * 1024 * 1024)

static PbTestServer *server;
static char *tmp;

static PbAccount *
make_account (const char *user,
              const char *password,
              const char *display_name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *in_url = g_strdup_printf ("imaps://%s@127.0.0.1:%u", user,
                                             pb_test_server_get_port (server, "imaps"));
  g_autofree char *out_url = g_strdup_printf ("smtps://%s@127.0.0.1:%u", user,
                                              pb_test_server_get_port (server, "smtps"));
  g_autofree char *email = g_strdup_printf ("%s@example.org", user);
  g_autofree char *command = g_strdup_printf ("printf %%s %s", password);
  g_autoptr(PbService) incoming = pb_service_new_from_url (in_url, &error);
  g_autoptr(PbService) outgoing = NULL;
  PbAccount *account;

  g_assert_no_error (error);
  outgoing = pb_service_new_from_url (out_url, &error);
  g_assert_no_error (error);
  pb_service_set_ca_file (incoming, pb_test_server_get_ca_file (server));
  pb_service_set_ca_file (outgoing, pb_test_server_get_ca_file (server));
  account = pb_account_new (user, email, incoming, outgoing);
  pb_account_set_display_name (account, display_name);
  pb_account_set_password_command (account, command);
  return account;
}

static PbStore *
open_store (const char *name)
{
  g_autofree char *dir = g_build_filename (tmp, name, NULL);

  return pb_test_store_open (dir);
}

static void
sync_account (PbAccount *account,
              PbStore   *store)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  PbRemoteStore *remote = pb_account_get_remote_store (account);

  pb_remote_store_sync_async (remote, store, NULL, NULL, NULL, pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, WAIT_MS);
  g_assert_true (pb_remote_store_sync_finish (remote, result, &error));
  g_assert_no_error (error);
}

static guint
count_on_server (const char *user,
                 const char *mailbox)
{
  const char *args[] = { "mailbox", "status", "-u", user, "messages", mailbox, NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  const char *value;

  g_assert_true (pb_test_server_doveadm (server, args, &out, &error));
  g_assert_no_error (error);
  g_test_message ("doveadm %s %s: %s", user, mailbox, out);
  value = strstr (out, "messages=");
  g_assert_nonnull (value);
  return (guint) g_ascii_strtoull (value + strlen ("messages="), NULL, 10);
}

static GBytes *
newest_raw (PbStore    *store,
            const char *account,
            const char *folder)
{
  g_autoptr(GError) error = NULL;
  gint64 folder_id = pb_store_lookup_folder (store, account, folder, &error);
  g_autoptr(GPtrArray) page = NULL;
  PbMessageSummary *summary;

  g_assert_no_error (error);
  g_assert_cmpint (folder_id, >, 0);
  g_test_message ("newest message of %s %s", account, folder);
  page = pb_store_list_messages (store, folder_id, 0, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 1);
  summary = g_ptr_array_index (page, 0);
  {
    GBytes *raw = pb_store_get_raw (store, folder_id, summary->uid, &error);
    g_assert_no_error (error);
    return raw;
  }
}

static GMimeMessage *
parse (GBytes *raw)
{
  gsize size;
  const char *data = g_bytes_get_data (raw, &size);
  GMimeStream *stream = g_mime_stream_mem_new_with_buffer (data, size);
  GMimeParser *parser = g_mime_parser_new_with_stream (stream);
  GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);

  g_object_unref (parser);
  g_object_unref (stream);
  g_assert_nonnull (message);
  return message;
}

static char *
addresses (InternetAddressList *list)
{
  return list != NULL ? internet_address_list_to_string (list, NULL, FALSE) : g_strdup ("");
}

static GBytes *
part_content (GMimeObject *object)
{
  GMimeStream *stream = g_mime_stream_mem_new ();
  GByteArray *array;
  GBytes *bytes;

  g_mime_data_wrapper_write_to_stream (g_mime_part_get_content (GMIME_PART (object)), stream);
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
  bytes = g_bytes_new (array->data, array->len);
  g_object_unref (stream);
  return bytes;
}

/* What must survive the trip: headers, text, attachment. */
static void
assert_same_message (GMimeMessage *sent,
                     GMimeMessage *got,
                     GBytes       *attachment)
{
  g_autofree char *from_a = addresses (g_mime_message_get_from (sent));
  g_autofree char *from_b = addresses (g_mime_message_get_from (got));
  g_autofree char *to_a = addresses (g_mime_message_get_to (sent));
  g_autofree char *to_b = addresses (g_mime_message_get_to (got));
  g_autofree char *cc_a = addresses (g_mime_message_get_cc (sent));
  g_autofree char *cc_b = addresses (g_mime_message_get_cc (got));
  GMimeObject *body_a = g_mime_message_get_mime_part (sent);
  GMimeObject *body_b = g_mime_message_get_mime_part (got);
  g_autofree char *text_a = NULL;
  g_autofree char *text_b = NULL;
  g_autoptr(GBytes) bytes_b = NULL;
  GMimePart *file_b;

  g_assert_cmpstr (from_a, ==, from_b);
  g_assert_cmpstr (to_a, ==, to_b);
  g_assert_cmpstr (cc_a, ==, cc_b);
  g_assert_cmpint (internet_address_list_length (g_mime_message_get_bcc (got)), ==, 0);
  g_assert_cmpstr (g_mime_message_get_subject (sent), ==, g_mime_message_get_subject (got));
  g_assert_cmpstr (g_mime_message_get_message_id (sent), ==, g_mime_message_get_message_id (got));
  g_assert_true (g_date_time_equal (g_mime_message_get_date (sent),
                                    g_mime_message_get_date (got)));
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (sent), "In-Reply-To"), ==,
                   g_mime_object_get_header (GMIME_OBJECT (got), "In-Reply-To"));
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (sent), "References"), ==,
                   g_mime_object_get_header (GMIME_OBJECT (got), "References"));

  g_assert_true (GMIME_IS_MULTIPART (body_b));
  g_assert_cmpint (g_mime_multipart_get_count (GMIME_MULTIPART (body_b)), ==, 2);
  text_a = g_mime_text_part_get_text (
    GMIME_TEXT_PART (g_mime_multipart_get_part (GMIME_MULTIPART (body_a), 0)));
  text_b = g_mime_text_part_get_text (
    GMIME_TEXT_PART (g_mime_multipart_get_part (GMIME_MULTIPART (body_b), 0)));
  g_assert_cmpstr (text_a, ==, text_b);

  file_b = GMIME_PART (g_mime_multipart_get_part (GMIME_MULTIPART (body_b), 1));
  g_assert_cmpstr (g_mime_part_get_filename (file_b), ==, "Bericht März 2026.bin");
  bytes_b = part_content (GMIME_OBJECT (file_b));
  g_assert_cmpuint (g_bytes_get_size (bytes_b), ==, ATTACHMENT_SIZE);
  g_assert_true (g_bytes_equal (bytes_b, attachment));
}

static void
draft_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  pb_test_store_result_cb (source, result, user_data);
}

static void
save_draft (PbDraft          *draft,
            PbAccount        *account,
            PbStore          *store,
            PbMessageBuilder *builder)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) raw = NULL;

  pb_draft_set_account (draft, pb_account_get_name (account));
  pb_draft_set_content (draft, builder);
  pb_draft_save_local_async (draft, NULL, draft_done_cb, &result);
  pb_test_wait_for_result (&result, WAIT_MS);
  g_assert_true (pb_draft_save_local_finish (draft, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_true (g_file_test (pb_draft_get_path (draft), G_FILE_TEST_IS_REGULAR));

  pb_message_builder_set_include_bcc (builder, TRUE);
  raw = pb_message_builder_build (builder, &error);
  g_assert_no_error (error);
  pb_message_builder_set_include_bcc (builder, FALSE);
  pb_message_builder_set_message_id (builder, NULL);

  pb_draft_save_remote_async (draft, account, store, raw, NULL, draft_done_cb, &result);
  pb_test_wait_for_result (&result, WAIT_MS);
  g_assert_true (pb_draft_save_remote_finish (draft, result, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pb_draft_get_remote_uid (draft), >, 0);
}

typedef struct {
  char          *id;
  PbOutboxState  last;
  gboolean       left_waiting;
} Watch;

static void
entry_changed_cb (PbOutbox      *outbox,
                  PbOutboxEntry *entry,
                  Watch         *watch)
{
  if (g_strcmp0 (pb_outbox_entry_get_id (entry), watch->id) != 0)
    return;
  watch->last = pb_outbox_entry_get_state (entry);
  if (watch->last != PB_OUTBOX_STATE_WAITING)
    watch->left_waiting = TRUE;
  if (pb_outbox_entry_get_error (entry) != NULL)
    g_test_message ("outbox: %s: %s", pb_outbox_state_to_string (watch->last),
                    pb_outbox_entry_get_error (entry));
}

static gboolean
timeout_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_compose_send (void)
{
  g_autoptr(PbAccount) alice = make_account ("alice", PB_TEST_PASSWORD, "Alice Ångström");
  g_autoptr(PbAccount) bob = make_account ("bob", PB_TEST_PASSWORD2, "Bob Šťastný");
  g_autoptr(PbAccount) demo = make_account ("demo", "demo", "Demo");
  g_autoptr(PbStore) alice_store = open_store ("alice-store");
  g_autoptr(PbStore) bob_store = open_store ("bob-store");
  g_autoptr(PbStore) demo_store = open_store ("demo-store");
  g_autofree char *config = g_build_filename (tmp, "config", NULL);
  g_autoptr(PbAccountManager) manager = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) original = NULL;
  g_autoptr(PbMessageBuilder) builder = NULL;
  g_autoptr(GByteArray) big = g_byte_array_sized_new (ATTACHMENT_SIZE);
  g_autoptr(GBytes) attachment = NULL;
  g_autofree char *attachment_path = g_build_filename (tmp, "Bericht März 2026.bin", NULL);
  g_autoptr(GFile) attachment_file = NULL;
  g_autofree char *drafts_dir = g_build_filename (tmp, "drafts", NULL);
  g_autoptr(PbDraft) draft = pb_draft_new (drafts_dir);
  g_autofree char *outbox_dir = g_build_filename (tmp, "outbox", NULL);
  g_autoptr(PbOutbox) outbox = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GBytes) received = NULL;
  g_autoptr(GBytes) bcc_copy = NULL;
  g_autoptr(GBytes) sent_copy = NULL;
  Watch watch = { NULL, PB_OUTBOX_STATE_WAITING, FALSE };
  GMimeMessage *sent, *got, *got_bcc, *got_sent;
  gboolean timed_out = FALSE;
  guint watchdog;
  gint64 queued_at;
  gulong handler;
  const char *original_text =
    "From: =?utf-8?q?Bob_=C5=A0=C5=A5astn=C3=BD?= <bob@example.org>\r\n"
    "To: Alice <alice@example.org>\r\n"
    "Subject: =?utf-8?q?Quartalsbericht_f=C3=BCr_M=C3=A4rz?=\r\n"
    "Date: Mon, 02 Nov 2026 08:00:00 +0100\r\n"
    "Message-ID: <q1-report@example.org>\r\n"
    "References: <q1-start@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Kannst du mir den Bericht schicken?\r\n";

  g_assert_cmpint (g_mkdir_with_parents (config, 0700), ==, 0);
  manager = pb_account_manager_new (config);
  g_assert_true (pb_account_manager_load (manager, &error));
  g_assert_true (pb_account_manager_add (manager, alice, &error));
  g_assert_no_error (error);

  /* bob writes to alice; alice has the message in her store. */
  g_assert_true (pb_test_server_deliver (server, "alice", original_text, &error));
  g_assert_no_error (error);
  sync_account (alice, alice_store);
  sync_account (bob, bob_store);
  sync_account (demo, demo_store);
  original = newest_raw (alice_store, "alice", "INBOX");

  /* The reply, with a 5 MB attachment and a Bcc. */
  builder = pb_message_builder_new_for_original (original, PB_COMPOSE_REPLY, "Alice Ångström",
                                                 "alice@example.org", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pb_message_builder_get_subject (builder), ==, "Re: Quartalsbericht für März");
  {
    g_autofree char *body = g_strconcat (
      "Hallo Bob,\n\nanbei der Bericht. Die Zahlen für März sind etwas besser als erwartet, "
      "vor allem bei den Übersetzungen ins Tschechische — siehe Anhang.\n\nGrüße\nAlice",
      pb_message_builder_get_body (builder), NULL);
    pb_message_builder_set_body (builder, body);
  }
  pb_message_builder_set_bcc (builder, "Démo <demo@example.org>");
  for (guint i = 0; i < ATTACHMENT_SIZE; i++)
    {
      guint8 b = (guint8) g_test_rand_int_range (0, 256);
      g_byte_array_append (big, &b, 1);
    }
  attachment = g_bytes_new (big->data, big->len);
  g_assert_true (g_file_set_contents (attachment_path, (const char *) big->data, big->len,
                                      &error));
  attachment_file = g_file_new_for_path (attachment_path);
  pb_message_builder_add_attachment_file (builder, attachment_file);

  /* A draft, saved twice: Drafts holds one copy, the newest. */
  save_draft (draft, alice, alice_store, builder);
  g_assert_cmpuint (count_on_server ("alice", "Drafts"), ==, 1);
  {
    guint32 first_uid = pb_draft_get_remote_uid (draft);

    save_draft (draft, alice, alice_store, builder);
    g_assert_cmpuint (pb_draft_get_remote_uid (draft), !=, first_uid);
    g_assert_cmpuint (count_on_server ("alice", "Drafts"), ==, 1);
  }
  /* The draft in Drafts carries the Bcc (so that it opens again complete). */
  sync_account (alice, alice_store);
  {
    g_autoptr(GBytes) draft_raw = newest_raw (alice_store, "alice", "Drafts");
    GMimeMessage *draft_message = parse (draft_raw);
    g_autofree char *bcc = addresses (g_mime_message_get_bcc (draft_message));

    g_assert_nonnull (strstr (bcc, "demo@example.org"));
    g_object_unref (draft_message);
  }

  /* Send through the outbox with a one-second undo delay. */
  outbox = pb_outbox_new (outbox_dir, manager, alice_store);
  pb_outbox_load_async (outbox, NULL, pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, WAIT_MS);
  g_assert_true (pb_outbox_load_finish (outbox, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  pb_outbox_set_delay (outbox, 1);
  pb_outbox_start (outbox);
  handler = g_signal_connect (outbox, "entry-changed", G_CALLBACK (entry_changed_cb), &watch);

  /* The outbox takes the envelope from To, Cc and Bcc and strips Bcc from what it sends. */
  pb_message_builder_set_include_bcc (builder, TRUE);
  raw = pb_message_builder_build (builder, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (raw), >, ATTACHMENT_SIZE);
  queued_at = g_get_monotonic_time ();
  pb_outbox_queue_async (outbox, "alice", raw, NULL, pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, WAIT_MS);
  watch.id = pb_outbox_queue_finish (outbox, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (watch.id);
  g_clear_object (&result);

  /* The undo window: nothing leaves before it is over. */
  watchdog = g_timeout_add (WAIT_MS, timeout_cb, &timed_out);
  while (!watch.left_waiting && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_assert_cmpint (g_get_monotonic_time () - queued_at, >=, 900 * 1000);

  /* Out of the undo window: the draft goes, locally and from Drafts. */
  pb_draft_discard_async (draft, alice, alice_store, NULL, draft_done_cb, &result);
  pb_test_wait_for_result (&result, WAIT_MS);
  g_assert_true (pb_draft_discard_finish (draft, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_false (g_file_test (pb_draft_get_path (draft), G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_on_server ("alice", "Drafts"), ==, 0);

  while (watch.last != PB_OUTBOX_STATE_DONE && watch.last != PB_OUTBOX_STATE_FAILED
         && watch.last != PB_OUTBOX_STATE_UNCERTAIN && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (watchdog);
  g_assert_cmpint (watch.last, ==, PB_OUTBOX_STATE_DONE);
  g_signal_handler_disconnect (outbox, handler);

  /* bob has it, parsed back identically. */
  sync_account (bob, bob_store);
  received = newest_raw (bob_store, "bob", "INBOX");
  sent = parse (raw);
  got = parse (received);
  assert_same_message (sent, got, attachment);
  g_assert_cmpstr (g_mime_message_get_subject (got), ==, "Re: Quartalsbericht für März");
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (got), "References"), ==,
                   "<q1-start@example.org> <q1-report@example.org>");
  {
    g_autofree char *from = addresses (g_mime_message_get_from (got));
    g_autofree char *to = addresses (g_mime_message_get_to (got));

    g_assert_cmpstr (from, ==, "Alice Ångström <alice@example.org>");
    g_assert_cmpstr (to, ==, "Bob Šťastný <bob@example.org>");
  }

  /* The Bcc recipient got it; nobody sees that. */
  sync_account (demo, demo_store);
  bcc_copy = newest_raw (demo_store, "demo", "INBOX");
  got_bcc = parse (bcc_copy);
  assert_same_message (sent, got_bcc, attachment);

  /* alice's Sent folder has the copy, on the server and after a sync in her store. */
  g_assert_cmpuint (count_on_server ("alice", "Sent"), ==, 1);
  sync_account (alice, alice_store);
  sent_copy = newest_raw (alice_store, "alice", "Sent");
  got_sent = parse (sent_copy);
  assert_same_message (sent, got_sent, attachment);
  g_assert_cmpuint (count_on_server ("alice", "Drafts"), ==, 0);

  g_object_unref (sent);
  g_object_unref (got);
  g_object_unref (got_bcc);
  g_object_unref (got_sent);
  g_free (watch.id);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();

  tmp = g_dir_make_tmp ("pb-compose-XXXXXX", NULL);
  server = pb_test_server_start (NULL);
  g_test_add_func ("/compose/send", test_compose_send);
  status = g_test_run ();
  pb_test_server_stop (server);
  return status;
}
