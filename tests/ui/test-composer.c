/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-composer"

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>
#include <adwaita.h>
#include <gmime/gmime.h>

#include "pb-application.h"
#include "pb-composer-private.h"
#include "pb-engine.h"
#include "pb-store-addresses.h"
#include "pb-test-server.h"
#include "pb-test-util.h"

/*
 * The composer against the harness's real servers: the recipient field completes from the
 * store, a file is attached, the draft appears in Drafts over IMAP while the user types;
 * Send waits out the (short) undo delay, then the message reaches bob's inbox over SMTP and
 * the draft is gone. Undo really withdraws a message, and the attachment reminder stops a
 * message that promises an attachment it does not have. Screenshots go to
 * <build>/tests/ui/screenshots (composer.png is the README's).
 */

#define WAIT_MS 60000
#define UNDO_DELAY 2

static PbApplication *app;
static PbTestServer *server;
static char *tmp_dir;

static gboolean
timeout_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Condition) (gpointer user_data);

static void
wait_until (Condition   condition,
            gpointer    user_data,
            const char *what)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (WAIT_MS, timeout_cb, &timed_out);

  while (!condition (user_data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (timed_out)
    g_error ("Timed out after %d ms waiting for %s", WAIT_MS, what);
  g_source_remove (id);
}

static void
spin_for (guint ms)
{
  gboolean timed_out = FALSE;

  g_timeout_add (ms, timeout_cb, &timed_out);
  while (!timed_out)
    g_main_context_iteration (NULL, TRUE);
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
  value = strstr (out, "messages=");
  g_assert_nonnull (value);
  return (guint) g_ascii_strtoull (value + strlen ("messages="), NULL, 10);
}

static char *
subjects_on_server (const char *user,
                    const char *mailbox)
{
  const char *args[] = { "fetch", "-u", user, "hdr.subject", "mailbox", mailbox, NULL };
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  g_assert_true (pb_test_server_doveadm (server, args, &out, &error));
  g_assert_no_error (error);
  return out;
}

static char *
text_on_server (const char *user,
                const char *mailbox)
{
  const char *args[] = { "fetch", "-u", user, "text", "mailbox", mailbox, NULL };
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  g_assert_true (pb_test_server_doveadm (server, args, &out, &error));
  g_assert_no_error (error);
  return out;
}

static GtkWidget *
child (PbComposer *composer,
       const char *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (composer), PB_TYPE_COMPOSER, name);

  g_assert_nonnull (object);
  return GTK_WIDGET (object);
}

static GdkTexture *
render_widget (GtkWidget *widget)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  GtkSnapshot *snapshot;
  GskRenderer *renderer;
  int width, height;

  gtk_test_widget_wait_for_draw (widget);
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);

  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

static void
save_screenshot (GtkWidget  *widget,
                 const char *file_name)
{
  g_autoptr(GdkTexture) texture = render_widget (widget);
  const char *builddir = g_getenv ("PB_TEST_BUILDDIR");
  g_autofree char *dir = g_build_filename (builddir != NULL ? builddir : ".", "ui", "screenshots",
                                           NULL);
  g_autofree char *path = g_build_filename (dir, file_name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("Screenshot: %s", path);
}

static gboolean
outbox_ready (gpointer user_data)
{
  return pb_application_get_outbox (app) != NULL;
}

/* The account (IMAPS + SMTPS, CA of the harness, password by command) in the default account
 * list, and a first sync into the default store so that Drafts and Sent are known. */
static void
setup_account (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbAccountManager) manager = pb_account_manager_new (NULL);
  g_autofree char *in_url = g_strdup_printf ("imaps://alice@127.0.0.1:%u",
                                             pb_test_server_get_port (server, "imaps"));
  g_autofree char *out_url = g_strdup_printf ("smtps://alice@127.0.0.1:%u",
                                              pb_test_server_get_port (server, "smtps"));
  g_autoptr(PbService) incoming = pb_service_new_from_url (in_url, &error);
  g_autoptr(PbService) outgoing = pb_service_new_from_url (out_url, &error);
  g_autoptr(PbAccount) account = NULL;
  const char *original =
    "From: =?utf-8?q?Bob_=C5=A0=C5=A5astn=C3=BD?= <bob@example.org>\r\n"
    "To: Alice <alice@example.org>\r\n"
    "Subject: Hallo\r\n"
    "Message-ID: <hello-1@example.org>\r\n"
    "Date: Mon, 02 Nov 2026 08:00:00 +0100\r\n"
    "\r\n"
    "Hallo Alice!\r\n";

  g_assert_no_error (error);
  pb_service_set_ca_file (incoming, pb_test_server_get_ca_file (server));
  pb_service_set_ca_file (outgoing, pb_test_server_get_ca_file (server));
  account = pb_account_new ("alice", "alice@example.org", incoming, outgoing);
  pb_account_set_display_name (account, "Alice Ångström");
  pb_account_set_password_command (account, "printf %s " PB_TEST_PASSWORD);
  g_assert_true (pb_account_manager_load (manager, &error));
  g_assert_true (pb_account_manager_add (manager, account, &error));
  g_assert_no_error (error);

  /* bob wrote before: completion finds him in the store. */
  g_assert_true (pb_test_server_deliver (server, "alice", original, &error));
  g_assert_no_error (error);
}

typedef struct {
  gboolean       done;
  GError        *error;
} SyncWait;

static void
synced_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  SyncWait *wait = user_data;

  pb_remote_store_sync_finish (PB_REMOTE_STORE (source), result, &wait->error);
  wait->done = TRUE;
}

static gboolean
sync_done (gpointer user_data)
{
  return ((SyncWait *) user_data)->done;
}

static void
first_sync (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbAccountManager) manager = pb_account_manager_new (NULL);
  g_autofree char *data_dir = pb_default_data_dir ();
  g_autoptr(PbStore) store = NULL;
  SyncWait wait = { FALSE, NULL };
  PbAccount *account;

  g_assert_true (pb_account_manager_load (manager, &error));
  account = pb_account_manager_lookup (manager, "alice");
  g_assert_nonnull (account);
  store = pb_store_open (data_dir, &error);
  g_assert_no_error (error);
  pb_remote_store_sync_async (pb_account_get_remote_store (account), store, NULL, NULL, NULL,
                              synced_cb, &wait);
  wait_until (sync_done, &wait, "the first sync");
  g_assert_no_error (wait.error);
}

static gboolean
completion_has_rows (gpointer user_data)
{
  GtkEntryCompletion *completion = gtk_entry_get_completion (GTK_ENTRY (user_data));
  GtkTreeModel *model = gtk_entry_completion_get_model (completion);

  return gtk_tree_model_iter_n_children (model, NULL) > 0;
}

static gboolean
draft_on_server (gpointer user_data)
{
  static gint64 last;

  /* doveadm is a process: ask twice a second at most. */
  if (g_get_monotonic_time () - last < 500 * 1000)
    return FALSE;
  last = g_get_monotonic_time ();
  return count_on_server ("alice", "Drafts") == GPOINTER_TO_UINT (user_data);
}

static gboolean
arrived (gpointer user_data)
{
  static gint64 last;

  if (g_get_monotonic_time () - last < 500 * 1000)
    return FALSE;
  last = g_get_monotonic_time ();
  return count_on_server ("bob", "INBOX") >= GPOINTER_TO_UINT (user_data);
}

static gboolean
sent_copied (gpointer user_data)
{
  static gint64 last;

  if (g_get_monotonic_time () - last < 500 * 1000)
    return FALSE;
  last = g_get_monotonic_time ();
  return count_on_server ("alice", "Sent") >= 1;
}

static gboolean
has_outbox_id (gpointer user_data)
{
  return pb_composer_get_outbox_id (PB_COMPOSER (user_data)) != NULL;
}

static gboolean
is_hidden (gpointer user_data)
{
  return !gtk_widget_get_visible (GTK_WIDGET (user_data));
}

static void
type_into (GtkWidget  *entry,
           const char *text)
{
  gtk_widget_grab_focus (entry);
  gtk_editable_set_position (GTK_EDITABLE (entry), -1);
  /* Character by character, as typing does: every change goes through the signals. */
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      int position = -1;
      gtk_editable_insert_text (GTK_EDITABLE (entry), p, g_utf8_next_char (p) - p, &position);
      position = gtk_editable_get_position (GTK_EDITABLE (entry));
      gtk_editable_set_position (GTK_EDITABLE (entry), -1);
    }
}

static void
test_compose_and_send (void)
{
  PbComposer *composer;
  GtkWidget *to, *subject, *body, *send;
  g_autofree char *attachment_path = g_build_filename (tmp_dir, "Übersicht 2026.txt", NULL);
  g_autoptr(GFile) attachment = g_file_new_for_path (attachment_path);
  g_autoptr(GError) error = NULL;
  g_autofree char *subjects = NULL;
  g_autofree char *text = NULL;
  guint before = count_on_server ("bob", "INBOX");

  g_assert_true (g_file_set_contents (attachment_path, "Zeile 1\nZeile 2\n", -1, &error));

  /* A reference of the test's own: the window destroys itself once the message is sent. */
  composer = g_object_ref (pb_composer_new (app, pb_application_get_store (app), NULL));
  pb_composer_set_draft_intervals (composer, 200, 1000);
  gtk_window_present (GTK_WINDOW (composer));

  to = child (composer, "to_entry");
  subject = child (composer, "subject_entry");
  body = child (composer, "body_view");
  send = child (composer, "send_button");

  /* "bo" completes to bob, found in the store. */
  type_into (to, "bo");
  wait_until (completion_has_rows, to, "address completion");
  {
    GtkEntryCompletion *completion = gtk_entry_get_completion (GTK_ENTRY (to));
    GtkTreeModel *model = gtk_entry_completion_get_model (completion);
    GtkTreeIter iter;
    g_autofree char *first = NULL;

    g_assert_true (gtk_tree_model_get_iter_first (model, &iter));
    gtk_tree_model_get (model, &iter, 0, &first, -1);
    g_assert_cmpstr (first, ==, "Bob Šťastný <bob@example.org>");
    /* Choosing it replaces what was typed. */
    g_signal_emit_by_name (completion, "match-selected", model, &iter, &(gboolean) { FALSE });
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (to)), ==,
                     "Bob Šťastný <bob@example.org>, ");
  }

  type_into (subject, "Grüße aus dem Composer");
  gtk_widget_grab_focus (body);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (body)),
                            "Hallo Bob,\n\nim Anhang die Übersicht, wie besprochen. Sag Bescheid, "
                            "wenn etwas fehlt.\n\nViele Grüße\nAlice", -1);
  pb_composer_add_attachment (composer, attachment);

  /* The draft reaches Drafts while the window is open. */
  wait_until (draft_on_server, GUINT_TO_POINTER (1), "the draft in Drafts");
  g_assert_true (g_file_test (pb_draft_get_path (pb_composer_get_draft (composer)),
                              G_FILE_TEST_IS_REGULAR));

  spin_for (200);
  save_screenshot (GTK_WIDGET (composer), "composer.png");

  gtk_widget_activate (send);
  wait_until (has_outbox_id, composer, "the message in the outbox");
  /* During the undo delay nothing has arrived yet, and the editor is locked. */
  g_assert_false (gtk_widget_get_sensitive (child (composer, "editor_box")));
  spin_for (200);
  save_screenshot (GTK_WIDGET (composer), "composer-undo.png");

  wait_until (is_hidden, composer, "the composer to close after sending");
  wait_until (arrived, GUINT_TO_POINTER (before + 1), "the message in bob's inbox");
  wait_until (draft_on_server, GUINT_TO_POINTER (0), "the draft to leave Drafts");
  g_assert_false (g_file_test (pb_draft_get_path (pb_composer_get_draft (composer)),
                               G_FILE_TEST_EXISTS));

  subjects = subjects_on_server ("bob", "INBOX");
  {
    g_autofree char *decoded = g_mime_utils_header_decode_text (NULL, subjects);

    g_test_message ("bob's subjects: %s", decoded);
    g_assert_nonnull (strstr (decoded, "Grüße aus dem Composer"));
  }
  text = text_on_server ("bob", "INBOX");
  g_test_message ("bob's message: %s", text);
  /* The attachment went along, under its name (RFC 2231; GMime picks the smallest charset). */
  g_assert_nonnull (strstr (text, "bersicht%202026.txt"));
  /* The Sent copy follows the delivery. */
  wait_until (sent_copied, NULL, "the copy in Sent");
  g_object_unref (composer);
}

static void
test_undo (void)
{
  PbComposer *composer = pb_composer_new (app, pb_application_get_store (app),
                                          "mailto:bob@example.org?subject=Undo%20me&body=Nope");
  guint before = count_on_server ("bob", "INBOX");
  g_autofree char *id = NULL;
  PbOutbox *outbox = pb_application_get_outbox (app);

  gtk_window_present (GTK_WINDOW (composer));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (child (composer, "to_entry"))), ==,
                   "bob@example.org");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (child (composer, "subject_entry"))), ==,
                   "Undo me");

  gtk_widget_activate (child (composer, "send_button"));
  wait_until (has_outbox_id, composer, "the message in the outbox");
  id = g_strdup (pb_composer_get_outbox_id (composer));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (composer), "composer.undo", NULL));
  g_assert_null (pb_composer_get_outbox_id (composer));
  g_assert_null (pb_outbox_lookup (outbox, id));
  g_assert_true (gtk_widget_get_sensitive (child (composer, "editor_box")));

  /* Well past the delay: nothing was sent. */
  spin_for ((UNDO_DELAY + 2) * 1000);
  g_assert_cmpuint (count_on_server ("bob", "INBOX"), ==, before);
  gtk_window_destroy (GTK_WINDOW (composer));
}

static GtkWindow *
find_message_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return window;
    }
  return NULL;
}

static gboolean
dialog_shown (gpointer user_data)
{
  return find_message_dialog () != NULL;
}

static void
test_attachment_reminder (void)
{
  PbComposer *composer = pb_composer_new (
    app, pb_application_get_store (app),
    "mailto:bob@example.org?subject=Report&body=The%20report%20is%20attached.");
  GtkWindow *dialog;

  gtk_window_present (GTK_WINDOW (composer));
  gtk_widget_activate (child (composer, "send_button"));
  wait_until (dialog_shown, NULL, "the attachment reminder");
  dialog = find_message_dialog ();
  save_screenshot (GTK_WIDGET (dialog), "composer-reminder.png");
  g_assert_null (pb_composer_get_outbox_id (composer));
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  spin_for (100);
  g_assert_null (pb_composer_get_outbox_id (composer));

  /* An error is shown in the window, not only logged. */
  gtk_editable_set_text (GTK_EDITABLE (child (composer, "to_entry")), "not an address");
  gtk_widget_activate (child (composer, "send_button"));
  spin_for (300);
  g_assert_true (gtk_revealer_get_reveal_child (GTK_REVEALER (child (composer,
                                                                     "error_revealer"))));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (child (composer, "error_label"))),
                            "not an address"));
  save_screenshot (GTK_WIDGET (composer), "composer-error.png");
  g_assert_null (pb_composer_get_outbox_id (composer));
  gtk_window_destroy (GTK_WINDOW (composer));
}

static gboolean
entry_filled (gpointer user_data)
{
  return *gtk_editable_get_text (GTK_EDITABLE (user_data)) != '\0';
}

static gboolean
file_gone (gpointer user_data)
{
  return !g_file_test (user_data, G_FILE_TEST_EXISTS);
}

static char *
buffer_text (GtkWidget *view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

/* Reply-all to the stored message, then close: the draft goes to Drafts, not lost. */
static void
test_reply_and_close (void)
{
  PbAccount *account = pb_account_manager_lookup (pb_application_get_account_manager (app),
                                                  "alice");
  PbComposer *composer;
  g_autofree char *body = NULL;
  g_autofree char *draft_path = NULL;
  GtkTextBuffer *buffer;
  guint drafts_before = count_on_server ("alice", "Drafts");

  g_assert_nonnull (account);
  composer = g_object_ref (pb_composer_new_reply (app, account, pb_application_get_store (app),
                                                  "INBOX", 1, PB_COMPOSE_REPLY_ALL));
  pb_composer_set_draft_intervals (composer, 200, 60000);
  wait_until (entry_filled, child (composer, "to_entry"), "the reply to be filled in");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (child (composer, "to_entry"))), ==,
                   "Bob Šťastný <bob@example.org>");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (child (composer, "subject_entry"))), ==,
                   "Re: Hallo");
  body = buffer_text (child (composer, "body_view"));
  g_assert_nonnull (strstr (body, "Bob Šťastný wrote:\n> Hallo Alice!"));
  g_assert_true (gtk_widget_get_sensitive (child (composer, "editor_box")));

  /* Typed at the cursor, which a reply puts above the quote. */
  buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (child (composer, "body_view")));
  gtk_text_buffer_insert_at_cursor (buffer, "Danke, Bob!", -1);
  spin_for (400);
  save_screenshot (GTK_WIDGET (composer), "composer-reply.png");
  draft_path = g_strdup (pb_draft_get_path (pb_composer_get_draft (composer)));
  g_assert_true (g_file_test (draft_path, G_FILE_TEST_IS_REGULAR));

  gtk_window_close (GTK_WINDOW (composer));
  wait_until (draft_on_server, GUINT_TO_POINTER (drafts_before + 1), "the draft in Drafts");
  /* Safe in Drafts, the local copy goes (it would open again at the next start). */
  wait_until (file_gone, draft_path, "the local draft to go");
  g_object_unref (composer);
}

/* A draft left by a run that stopped opens again as it was. */
static void
test_leftover_draft (void)
{
  g_autoptr(PbDraft) draft = pb_draft_new (NULL);
  g_autoptr(PbMessageBuilder) builder = pb_message_builder_new (NULL, "alice@example.org");
  g_autoptr(PbDraft) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *body = NULL;
  PbComposer *composer;

  pb_message_builder_set_to (builder, "bob@example.org");
  pb_message_builder_set_bcc (builder, "demo@example.org");
  pb_message_builder_set_subject (builder, "Halb geschrieben");
  pb_message_builder_set_body (builder, "Wo war ich stehen geblieben …");
  pb_draft_set_account (draft, "alice");
  pb_draft_set_content (draft, builder);
  pb_draft_save_local_async (draft, NULL, pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, WAIT_MS);
  g_assert_true (pb_draft_save_local_finish (draft, result, &error));
  g_assert_no_error (error);

  loaded = pb_draft_load (pb_draft_get_path (draft), &error);
  g_assert_no_error (error);
  composer = pb_composer_new_for_draft (app, pb_application_get_store (app), loaded);
  gtk_window_present (GTK_WINDOW (composer));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (child (composer, "to_entry"))), ==,
                   "bob@example.org");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (child (composer, "bcc_entry"))), ==,
                   "demo@example.org");
  g_assert_true (gtk_widget_get_visible (child (composer, "bcc_entry")));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (child (composer, "subject_entry"))), ==,
                   "Halb geschrieben");
  body = buffer_text (child (composer, "body_view"));
  g_assert_cmpstr (body, ==, "Wo war ich stehen geblieben …");
  g_assert_true (pb_composer_get_draft (composer) == loaded);
  gtk_window_destroy (GTK_WINDOW (composer));
}

static PbComposer *
find_composer_with_subject (const char *subject)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (PB_IS_COMPOSER (window) && gtk_widget_get_visible (GTK_WIDGET (window))
          && g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (child (PB_COMPOSER (window),
                                                                    "subject_entry"))),
                        subject) == 0)
        return PB_COMPOSER (window);
    }
  return NULL;
}

static guint
count_composers (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  guint n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      n += PB_IS_COMPOSER (window) && gtk_widget_get_visible (GTK_WIDGET (window));
    }
  return n;
}

static gboolean
error_shown (gpointer user_data)
{
  return gtk_revealer_get_reveal_child (GTK_REVEALER (child (PB_COMPOSER (user_data),
                                                             "error_revealer")));
}

/* A server that refuses: the composer says so, in the window, and "Edit Message" takes the
 * message back out of the outbox. */
static void
test_send_fails (void)
{
  g_autoptr(GError) error = NULL;
  PbAccountManager *manager = pb_application_get_account_manager (app);
  g_autofree char *in_url = g_strdup_printf ("imaps://bob@127.0.0.1:%u",
                                             pb_test_server_get_port (server, "imaps"));
  g_autofree char *out_url = g_strdup_printf ("smtps://bob@127.0.0.1:%u",
                                              pb_test_server_get_port (server, "smtps"));
  g_autoptr(PbService) incoming = pb_service_new_from_url (in_url, &error);
  g_autoptr(PbService) outgoing = pb_service_new_from_url (out_url, &error);
  g_autoptr(PbAccount) account = NULL;
  PbComposer *composer;
  const char *text;

  g_assert_no_error (error);
  pb_service_set_ca_file (incoming, pb_test_server_get_ca_file (server));
  pb_service_set_ca_file (outgoing, pb_test_server_get_ca_file (server));
  account = pb_account_new ("wrong", "bob@example.org", incoming, outgoing);
  pb_account_set_password_command (account, "printf %s not-the-password");
  g_assert_true (pb_account_manager_add (manager, account, &error));
  g_assert_no_error (error);

  composer = g_object_ref (pb_composer_new (app, pb_application_get_store (app),
                                            "mailto:alice@example.org?subject=Never"));
  gtk_window_present (GTK_WINDOW (composer));
  /* The second identity is the account with the wrong password. */
  gtk_drop_down_set_selected (GTK_DROP_DOWN (child (composer, "identity_dropdown")), 1);
  gtk_widget_activate (child (composer, "send_button"));
  wait_until (error_shown, composer, "the error in the composer");
  text = gtk_label_get_text (GTK_LABEL (child (composer, "error_label")));
  g_test_message ("Error shown: %s", text);
  g_assert_true (g_str_has_prefix (text, "The message was not sent: ")
                 || g_str_has_prefix (text, "Not sent yet: "));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (composer)));
  spin_for (200);
  save_screenshot (GTK_WIDGET (composer), "composer-failed.png");

  if (gtk_widget_get_visible (child (composer, "error_button")))
    {
      g_autofree char *id = g_strdup (pb_composer_get_outbox_id (composer));

      gtk_widget_activate (child (composer, "error_button"));
      spin_for (400);
      g_assert_null (pb_composer_get_outbox_id (composer));
      g_assert_null (pb_outbox_lookup (pb_application_get_outbox (app), id));
      g_assert_true (gtk_widget_get_sensitive (child (composer, "editor_box")));
    }
  gtk_window_destroy (GTK_WINDOW (composer));
  g_object_unref (composer);
  g_assert_true (pb_account_manager_remove (manager, "wrong", &error));
}

/* Files dropped on the window become attachments. */
static void
test_drop_files (void)
{
  PbComposer *composer = pb_composer_new (app, pb_application_get_store (app), NULL);
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (composer));
  g_autofree char *path_a = g_build_filename (tmp_dir, "a.txt", NULL);
  g_autofree char *path_b = g_build_filename (tmp_dir, "Bild ö.png", NULL);
  GFile *files[2];
  GtkDropTarget *target = NULL;
  GValue value = G_VALUE_INIT;
  gboolean accepted = FALSE;
  guint n = 0;

  g_assert_true (g_file_set_contents (path_a, "a", -1, NULL));
  g_assert_true (g_file_set_contents (path_b, "b", -1, NULL));
  files[0] = g_file_new_for_path (path_a);
  files[1] = g_file_new_for_path (path_b);
  gtk_window_present (GTK_WINDOW (composer));

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && target == NULL; i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        target = GTK_DROP_TARGET (controller);
    }
  g_assert_nonnull (target);

  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_array (files, 2));
  g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &accepted);
  g_value_unset (&value);
  g_assert_true (accepted);

  g_assert_true (gtk_revealer_get_reveal_child (GTK_REVEALER (child (composer,
                                                                     "attachments_revealer"))));
  for (GtkWidget *c = gtk_widget_get_first_child (child (composer, "attachments_box")); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    n++;
  g_assert_cmpuint (n, ==, 2);
  g_object_unref (files[0]);
  g_object_unref (files[1]);
  gtk_window_destroy (GTK_WINDOW (composer));
}

/* mailto: links handed to the application (command line, desktop) and app.compose. */
static void
test_open_mailto (void)
{
  g_autoptr(GFile) link = g_file_new_for_commandline_arg (
    "mailto:bob@example.org?cc=demo@example.org&subject=Gr%C3%BC%C3%9Fe%20per%20Link"
    "&body=Zeile%201%0D%0AZeile%202&attach=/etc/passwd");
  GFile *files[] = { link };
  PbComposer *composer;
  g_autofree char *body = NULL;
  guint before;

  g_application_open (G_APPLICATION (app), files, 1, "");
  composer = find_composer_with_subject ("Grüße per Link");
  g_assert_nonnull (composer);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (child (composer, "to_entry"))), ==,
                   "bob@example.org");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (child (composer, "cc_entry"))), ==,
                   "demo@example.org");
  body = buffer_text (child (composer, "body_view"));
  g_assert_cmpstr (body, ==, "Zeile 1\nZeile 2");
  /* attach= never reads a file. */
  g_assert_false (gtk_revealer_get_reveal_child (GTK_REVEALER (child (composer,
                                                                      "attachments_revealer"))));
  gtk_window_destroy (GTK_WINDOW (composer));

  before = count_composers ();
  g_action_group_activate_action (G_ACTION_GROUP (app), "compose", g_variant_new_string (""));
  g_assert_cmpuint (count_composers (), ==, before + 1);
  composer = find_composer_with_subject ("");
  g_assert_nonnull (composer);
  gtk_window_destroy (GTK_WINDOW (composer));
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  tmp_dir = g_dir_make_tmp ("pb-composer-test-XXXXXX", &error);
  g_assert_no_error (error);
  pb_application_init_i18n ();
  g_test_init (&argc, &argv, NULL);

  if (!gtk_init_check ())
    {
      printf ("1..0 # SKIP no display\n");
      return 0;
    }
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
  pb_engine_init ();

  server = pb_test_server_start (NULL);
  setup_account ();
  first_sync ();

  app = pb_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app))
                           | G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  wait_until (outbox_ready, NULL, "the store and the outbox");
  pb_outbox_set_delay (pb_application_get_outbox (app), UNDO_DELAY);

  g_test_add_func ("/ui/composer/send", test_compose_and_send);
  g_test_add_func ("/ui/composer/undo", test_undo);
  g_test_add_func ("/ui/composer/attachment-reminder", test_attachment_reminder);
  g_test_add_func ("/ui/composer/reply-and-close", test_reply_and_close);
  g_test_add_func ("/ui/composer/leftover-draft", test_leftover_draft);
  g_test_add_func ("/ui/composer/open-mailto", test_open_mailto);
  g_test_add_func ("/ui/composer/drop-files", test_drop_files);
  g_test_add_func ("/ui/composer/send-fails", test_send_fails);
  status = g_test_run ();

  pb_test_server_stop (server);
  return status;
}
