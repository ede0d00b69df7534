/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-main-window"

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <adwaita.h>

#include "pb-application.h"
#include "pb-engine.h"
#include "pb-folder-row.h"
#include "pb-message-list.h"
#include "pb-message-row.h"
#include "pb-test-server.h"
#include "pb-window.h"

/*
 * The main window as a user has it: the application with the demo account on a real Dovecot
 * (seeded with the demo mail), syncing in the background into the store. The sidebar shows
 * the unified inbox and the folders with unread counts, the list shows the messages with
 * sender text taken literally; actions done in the window reach the server (checked with a
 * second IMAP client, tests/ui/imap-check.py), and Undo takes them back there too. A list over
 * 100,000 items makes only a screenful of rows. Screenshots go to <build>/tests/ui/screenshots.
 */

#define WAIT_TIMEOUT_MS 45000
#define MARKUP_SUBJECT "<b>Bold</b> & <i>not markup</i> &amp; <span>x</span>"

static PbApplication *app;
static PbTestServer *server;
static PbWindow *window;

/* Helpers */

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
  guint id = g_timeout_add (WAIT_TIMEOUT_MS, timeout_cb, &timed_out);

  while (!condition (user_data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (timed_out)
    g_error ("Timed out after %d ms waiting for %s", WAIT_TIMEOUT_MS, what);
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

static void
collect_widgets (GtkWidget  *root,
                 const char *name,
                 GPtrArray  *out)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    g_ptr_array_add (out, root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_widgets (child, name, out);
}

static GtkWidget *
find_widget (GtkWidget  *root,
             const char *name)
{
  g_autoptr (GPtrArray) found = g_ptr_array_new ();

  collect_widgets (root, name, found);
  return found->len > 0 ? g_ptr_array_index (found, 0) : NULL;
}

static GtkWidget *
require_widget (GtkWidget  *root,
                const char *name)
{
  GtkWidget *widget = find_widget (root, name);

  if (widget == NULL)
    g_error ("No widget named “%s”", name);
  return widget;
}

/* Runs tests/ui/imap-check.py: the flags of each message in @folder whose subject contains
 * @subject, one line each. */
static char *
server_flags (const char *folder,
              const char *subject)
{
  g_autofree char *script = g_build_filename (g_getenv ("PB_TEST_SRCDIR"), "ui", "imap-check.py",
                                              NULL);
  g_autofree char *port = g_strdup_printf ("%u", pb_test_server_get_port (server, "imaps"));
  const char *argv[] = { "/usr/bin/python3", script, port,
                         pb_test_server_get_ca_file (server), "demo", "demo", folder, subject,
                         NULL };
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                     &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    g_error ("imap-check.py failed: %s %s", error->message, err != NULL ? err : "");
  return out;
}

typedef struct {
  const char *folder;
  const char *subject;
  const char *flag;      /* NULL: only presence counts */
  gboolean    present;   /* the message must be there (with the flag, if one is given) */
} ServerState;

static gboolean
server_has (gpointer user_data)
{
  ServerState *state = user_data;
  g_autofree char *flags = server_flags (state->folder, state->subject);
  gboolean found = *flags != '\0';

  if (state->flag != NULL)
    return found && (strstr (flags, state->flag) != NULL) == state->present;
  if (found != state->present)
    spin_for (300);
  return found == state->present;
}

static void
wait_server (const char *folder,
             const char *subject,
             const char *flag,
             gboolean    present)
{
  ServerState state = { folder, subject, flag, present };
  g_autofree char *what = g_strdup_printf ("the server to show “%s” in %s %s %s", subject,
                                           folder, present ? "with" : "without",
                                           flag != NULL ? flag : "(presence)");

  wait_until (server_has, &state, what);
  g_test_message ("server: %s", what);
}

static void
deliver (const char *subject,
         const char *from)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format (now, "%a, %d %b %Y %H:%M:%S %z");
  static guint counter;
  g_autofree char *message = g_strdup_printf ("From: %s\r\n"
                                              "To: Dana Weber <demo@postbote.test>\r\n"
                                              "Subject: %s\r\n"
                                              "Date: %s\r\n"
                                              "Message-ID: <ui-test-%u-%d@postbote.test>\r\n"
                                              "Content-Type: text/plain; charset=utf-8\r\n"
                                              "\r\n"
                                              "Sent by the UI test.\r\n",
                                              from, subject, date, ++counter, (int) getpid ());
  g_autoptr (GError) error = NULL;

  g_assert_true (pb_test_server_deliver (server, "demo", message, &error));
  g_assert_no_error (error);
}

static GListModel *
message_model (void)
{
  return pb_window_get_message_model (window);
}

static gboolean
all_loaded (gpointer user_data)
{
  GListModel *model = message_model ();
  guint n;

  if (model == NULL || (n = g_list_model_get_n_items (model)) == 0)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (PbMessageItem) item = g_list_model_get_item (model, i);

      if (!pb_message_item_get_loaded (item))
        return FALSE;
    }
  return TRUE;
}

/* The position of the message whose subject is @subject in the list, or -1. */
static int
find_message (const char *subject)
{
  GListModel *model = message_model ();

  for (guint i = 0; model != NULL && i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (PbMessageItem) item = g_list_model_get_item (model, i);

      if (g_strcmp0 (pb_message_item_get_subject (item), subject) == 0)
        return (int) i;
    }
  return -1;
}

static gboolean
message_listed (gpointer user_data)
{
  return all_loaded (NULL) && find_message (user_data) >= 0;
}

static gboolean
message_gone (gpointer user_data)
{
  return all_loaded (NULL) && find_message (user_data) < 0;
}

static GtkSingleSelection *
get_selection (void)
{
  GtkListView *view = GTK_LIST_VIEW (require_widget (GTK_WIDGET (window), "message-list"));

  return GTK_SINGLE_SELECTION (gtk_list_view_get_model (view));
}

static void
select_message (const char *subject)
{
  int position;

  wait_until (message_listed, (gpointer) subject, subject);
  position = find_message (subject);
  gtk_single_selection_set_selected (get_selection (), (guint) position);
  g_assert_cmpuint (gtk_single_selection_get_selected (get_selection ()), ==, position);
}

static gboolean
can_undo (gpointer user_data)
{
  return pb_window_get_can_undo (window);
}

static void
activate (const char *action,
          GVariant   *parameter)
{
  g_assert_true (gtk_widget_activate_action_variant (GTK_WIDGET (window), action, parameter));
}

static void
undo (void)
{
  wait_until (can_undo, NULL, "Undo to be offered");
  activate ("mail.undo", NULL);
  g_assert_false (pb_window_get_can_undo (window));
}

static gboolean
sidebar_ready (gpointer user_data)
{
  GtkWidget *unified = find_widget (GTK_WIDGET (window), "unified-inbox-row");
  PbAccount *account;

  if (unified == NULL || pb_folder_row_get_unread (PB_FOLDER_ROW (unified)) == 0)
    return FALSE;
  account = pb_account_manager_lookup (pb_window_get_account_manager (window), "demo");
  return account != NULL
         && pb_folder_row_get_folder_id (PB_FOLDER_ROW (unified)) == PB_STORE_FOLDER_INBOXES;
}

static GtkWidget *
folder_row (const char *path)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new ();

  collect_widgets (GTK_WIDGET (window), "folder-row", rows);
  for (guint i = 0; i < rows->len; i++)
    if (g_strcmp0 (pb_folder_info_get_path (pb_folder_row_get_folder (g_ptr_array_index (rows,
                                                                                          i))),
                   path) == 0)
      return g_ptr_array_index (rows, i);
  g_error ("No sidebar row for %s", path);
  return NULL;
}

static GdkTexture *
render_widget (GtkWidget *widget)
{
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GskRenderNode) node = NULL;
  GtkSnapshot *snapshot;
  int width, height;

  gtk_test_widget_wait_for_draw (widget);
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  return gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                      node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

static void
save_screenshot (const char *file_name)
{
  g_autoptr (GdkTexture) texture = render_widget (GTK_WIDGET (window));
  g_autofree char *dir = g_build_filename (g_getenv ("PB_TEST_BUILDDIR"), "ui", "screenshots",
                                           NULL);
  g_autofree char *path = g_build_filename (dir, file_name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("Screenshot: %s", path);
}

/* A notification server on the test's session bus, which records what the application
 * shows (GNotification goes through org.freedesktop.Notifications outside a sandbox). */
static const char notifications_xml[] =
  "<node><interface name='org.freedesktop.Notifications'>"
  "<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/>"
  "<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "<arg type='as' direction='in'/><arg type='a{sv}' direction='in'/>"
  "<arg type='i' direction='in'/><arg type='u' direction='out'/></method>"
  "<method name='CloseNotification'><arg type='u' direction='in'/></method>"
  "<method name='GetCapabilities'><arg type='as' direction='out'/></method>"
  "<method name='GetServerInformation'><arg type='s' direction='out'/>"
  "<arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "<arg type='s' direction='out'/></method>"
  "</interface></node>";

static GPtrArray *notifications;   /* "summary\nbody" */

static void
notifications_method_cb (GDBusConnection       *connection,
                         const char            *sender,
                         const char            *object_path,
                         const char            *interface_name,
                         const char            *method_name,
                         GVariant              *parameters,
                         GDBusMethodInvocation *invocation,
                         gpointer               user_data)
{
  if (g_str_equal (method_name, "Notify"))
    {
      const char *summary, *body;

      g_variant_get_child (parameters, 3, "&s", &summary);
      g_variant_get_child (parameters, 4, "&s", &body);
      g_ptr_array_add (notifications, g_strdup_printf ("%s\n%s", summary, body));
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)",
                                                                        notifications->len));
    }
  else if (g_str_equal (method_name, "GetCapabilities"))
    {
      const char *caps[] = { "body", NULL };
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(^as)", caps));
    }
  else if (g_str_equal (method_name, "GetServerInformation"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(ssss)", "test", "test",
                                                                      "1", "1.2"));
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
start_notification_server (void)
{
  static const GDBusInterfaceVTable vtable = { notifications_method_cb, NULL, NULL, { 0 } };
  /* Kept for the whole test: the bus singleton closes (and gives the name up) with its last
   * reference. */
  static GDBusConnection *bus;
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (notifications_xml, NULL);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  notifications = g_ptr_array_new_with_free_func (g_free);
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_assert_nonnull (bus);
  g_dbus_connection_register_object (bus, "/org/freedesktop/Notifications",
                                     info->interfaces[0], &vtable, NULL, NULL, &error);
  g_assert_no_error (error);
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", "org.freedesktop.Notifications",
                                                      0x4),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  g_assert_no_error (error);
  {
    guint32 result;

    g_variant_get (reply, "(u)", &result);
    g_assert_cmpuint (result, ==, 1);   /* DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER */
  }
}

static gboolean
notified (gpointer user_data)
{
  for (guint i = 0; i < notifications->len; i++)
    if (g_str_equal (g_ptr_array_index (notifications, i), user_data))
      return TRUE;
  return FALSE;
}

/* Tests */

static void
test_main_window_list (void)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new ();
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  g_autofree char *inbox_unseen = NULL;
  GtkWidget *unified, *inbox, *title;
  guint server_unread = 0;
  gboolean found_markup = FALSE;

  /* The setting that keeps the app syncing without a window exists, off by default. */
  g_assert_false (g_settings_get_boolean (settings, "run-in-background"));

  g_application_activate (G_APPLICATION (app));
  window = PB_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_true (PB_IS_WINDOW (window));
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 760);

  wait_until (sidebar_ready, NULL, "the unified inbox with unread mail");
  wait_until (message_listed, MARKUP_SUBJECT, "the message with markup in its subject");

  /* The unified inbox comes first and is shown at start. */
  unified = require_widget (GTK_WIDGET (window), "unified-inbox-row");
  g_assert_cmpstr (pb_folder_row_get_title (PB_FOLDER_ROW (unified)), ==, "Unified Inbox");
  title = require_widget (GTK_WIDGET (window), "content-title");
  g_assert_cmpstr (adw_window_title_get_title (ADW_WINDOW_TITLE (title)), ==, "Unified Inbox");

  /* The inbox's unread count is what the server says. */
  inbox_unseen = server_flags ("INBOX", "");
  {
    g_auto (GStrv) lines = g_strsplit (inbox_unseen, "\n", -1);

    for (guint i = 0; lines[i] != NULL; i++)
      if (*lines[i] != '\0' && strstr (lines[i], "\\Seen") == NULL)
        server_unread++;
  }
  inbox = folder_row ("INBOX");
  g_assert_cmpuint (server_unread, >, 0);
  g_assert_cmpuint (pb_folder_row_get_unread (PB_FOLDER_ROW (inbox)), ==, server_unread);
  g_assert_cmpuint (pb_folder_row_get_unread (PB_FOLDER_ROW (unified)), ==, server_unread);
  {
    g_auto (GStrv) lines = g_strsplit (inbox_unseen, "\n", -1);

    g_assert_cmpuint (g_list_model_get_n_items (message_model ()), ==, g_strv_length (lines) - 1);
  }
  /* Special folders first, then the others. */
  g_assert_nonnull (folder_row ("Trash"));
  g_assert_nonnull (folder_row ("Projects/Postbote"));

  /* Rows show sender and subject as plain text, however they look. */
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  collect_widgets (GTK_WIDGET (window), "message-row", rows);
  g_assert_cmpuint (rows->len, >, 3);
  for (guint i = 0; i < rows->len; i++)
    {
      PbMessageRow *row = g_ptr_array_index (rows, i);
      GtkLabel *subject = GTK_LABEL (require_widget (GTK_WIDGET (row), "message-subject"));
      GtkLabel *sender = GTK_LABEL (require_widget (GTK_WIDGET (row), "message-sender"));
      PbMessageItem *item = pb_message_row_get_item (row);

      g_assert_false (gtk_label_get_use_markup (subject));
      g_assert_false (gtk_label_get_use_markup (sender));
      if (item != NULL && g_strcmp0 (pb_message_item_get_subject (item), MARKUP_SUBJECT) == 0)
        {
          g_assert_cmpstr (gtk_label_get_text (subject), ==, MARKUP_SUBJECT);
          g_assert_cmpstr (gtk_label_get_label (subject), ==, MARKUP_SUBJECT);
          g_assert_cmpstr (gtk_label_get_text (sender), ==, "<i>Mallory</i> & Co");
          found_markup = TRUE;
        }
    }
  g_assert_true (found_markup);
}

static gboolean
reader_settled (gpointer user_data)
{
  spin_for (200);
  return TRUE;
}

static void
test_main_window_screenshots (void)
{
  AdwStyleManager *style_manager = adw_style_manager_get_default ();
  GtkWidget *leaflet;

  select_message ("Notes from today's stand-up");
  wait_until (reader_settled, NULL, "the reader");
  spin_for (1500);
  save_screenshot ("main-window.png");
  adw_style_manager_set_color_scheme (style_manager, ADW_COLOR_SCHEME_FORCE_DARK);
  spin_for (500);
  save_screenshot ("main-window-dark.png");
  adw_style_manager_set_color_scheme (style_manager, ADW_COLOR_SCHEME_DEFAULT);

  /* Narrow: one pane at a time. */
  leaflet = require_widget (GTK_WIDGET (window), "leaflet");
  gtk_window_set_default_size (GTK_WINDOW (window), 400, 700);
  spin_for (500);
  g_assert_true (adw_leaflet_get_folded (ADW_LEAFLET (leaflet)));
  save_screenshot ("main-window-narrow.png");
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 760);
  spin_for (500);
  g_assert_false (adw_leaflet_get_folded (ADW_LEAFLET (leaflet)));
}

static void
test_main_window_actions (void)
{
  const char *messages[] = { "UI action read", "UI action star", "UI action delete",
                             "UI action move", "UI action archive" };

  for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
    wait_server ("INBOX", messages[i], NULL, TRUE);

  /* Mark read, then Undo. Selecting marks read after a moment as well, so the unread state
   * is checked after Undo only. */
  select_message ("UI action read");
  activate ("mail.mark-read", NULL);
  wait_server ("INBOX", "UI action read", "\\Seen", TRUE);
  undo ();
  wait_server ("INBOX", "UI action read", "\\Seen", FALSE);

  /* Star, then Undo. */
  select_message ("UI action star");
  activate ("mail.toggle-star", NULL);
  wait_server ("INBOX", "UI action star", "\\Flagged", TRUE);
  undo ();
  wait_server ("INBOX", "UI action star", "\\Flagged", FALSE);

  /* Delete moves to the Trash; Undo brings it back. */
  select_message ("UI action delete");
  activate ("mail.delete", NULL);
  wait_until (message_gone, "UI action delete", "the deleted message to leave the list");
  wait_server ("Trash", "UI action delete", NULL, TRUE);
  wait_server ("INBOX", "UI action delete", NULL, FALSE);
  undo ();
  wait_server ("INBOX", "UI action delete", NULL, TRUE);
  wait_server ("Trash", "UI action delete", NULL, FALSE);
  wait_until (message_listed, "UI action delete", "the message to come back to the list");

  /* Move: the dialog offers the folders; the move itself is the mail.move-to action. */
  select_message ("UI action move");
  activate ("mail.move", NULL);
  {
    GListModel *toplevels = gtk_window_get_toplevels ();
    GtkWidget *dialog = NULL;

    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr (GtkWidget) candidate = g_list_model_get_item (toplevels, i);

        if (g_strcmp0 (gtk_widget_get_name (candidate), "move-dialog") == 0)
          dialog = candidate;
      }
    g_assert_nonnull (dialog);
    g_assert_nonnull (find_widget (dialog, "move-folder-list"));
    gtk_window_destroy (GTK_WINDOW (dialog));
  }
  activate ("mail.move-to", g_variant_new_string ("Projects"));
  wait_server ("Projects", "UI action move", NULL, TRUE);
  wait_server ("INBOX", "UI action move", NULL, FALSE);
  undo ();
  wait_server ("INBOX", "UI action move", NULL, TRUE);
  wait_server ("Projects", "UI action move", NULL, FALSE);

  /* Archive, then Undo. */
  select_message ("UI action archive");
  activate ("mail.archive", NULL);
  wait_server ("Archive", "UI action archive", NULL, TRUE);
  wait_server ("INBOX", "UI action archive", NULL, FALSE);
  undo ();
  wait_server ("INBOX", "UI action archive", NULL, TRUE);
  wait_server ("Archive", "UI action archive", NULL, FALSE);
}

static gboolean
search_found (gpointer user_data)
{
  GListModel *model = message_model ();

  return model != NULL && !PB_IS_MESSAGE_LIST (model) && all_loaded (NULL)
         && find_message (user_data) >= 0;
}

static gboolean
folder_shown (gpointer user_data)
{
  return PB_IS_MESSAGE_LIST (message_model ());
}

static void
test_main_window_search (void)
{
  GtkWidget *bar = require_widget (GTK_WIDGET (window), "search-bar");
  GtkWidget *entry = require_widget (GTK_WIDGET (window), "search-entry");
  GListModel *model;

  activate ("mail.search", NULL);
  g_assert_true (gtk_search_bar_get_search_mode (GTK_SEARCH_BAR (bar)));

  /* A word of a body: the local full-text index answers as the user types. */
  gtk_editable_set_text (GTK_EDITABLE (entry), "Fahrkarte");
  wait_until (search_found, "Ihre Fahrkarte: Berlin Hbf → München Hbf", "the search results");
  model = message_model ();
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (PbMessageItem) item = g_list_model_get_item (model, i);
      g_test_message ("found: %s", pb_message_item_get_subject (item));
    }
  /* A stale query never overwrites a newer one: type on, then the results are the new ones. */
  gtk_editable_set_text (GTK_EDITABLE (entry), "markup");
  gtk_editable_set_text (GTK_EDITABLE (entry), "UI action star");
  wait_until (search_found, "UI action star", "the second search");
  g_assert_cmpint (find_message ("Ihre Fahrkarte: Berlin Hbf → München Hbf"), <, 0);

  /* Leaving the search shows the folder again. */
  gtk_search_bar_set_search_mode (GTK_SEARCH_BAR (bar), FALSE);
  wait_until (folder_shown, NULL, "the folder after the search");
  wait_until (message_listed, "UI action star", "the folder's messages");
}

typedef struct {
  char *from;
  char *subject;
} NewMail;

static void
new_mail_cb (PbSyncMonitor          *monitor,
             const char             *account,
             const PbMessageSummary *summary,
             NewMail                *mail)
{
  if (g_strcmp0 (summary->subject, "UI new mail <notify>") == 0)
    {
      mail->from = g_strdup (summary->from_name);
      mail->subject = g_strdup (summary->subject);
    }
}

static gboolean
have_new_mail (gpointer user_data)
{
  return ((NewMail *) user_data)->subject != NULL;
}

static void
test_main_window_new_mail (void)
{
  NewMail mail = { NULL, NULL };
  PbSyncMonitor *monitor = pb_application_get_sync_monitor (app);
  gulong id;

  g_assert_nonnull (monitor);
  id = g_signal_connect (monitor, "new-mail", G_CALLBACK (new_mail_cb), &mail);
  deliver ("UI new mail <notify>", "Notifier <notify@example.org>");
  wait_until (have_new_mail, &mail, "the new-mail notification");
  g_assert_cmpstr (mail.from, ==, "Notifier");
  wait_until (message_listed, "UI new mail <notify>", "the new message in the list");
  /* The notification shows sender and subject, as plain text. */
  wait_until (notified, "Notifier\nUI new mail <notify>", "the desktop notification");
  /* Only new mail: nothing of the first sync (the demo mail) was notified. */
  g_assert_cmpuint (notifications->len, ==, 1);
  g_signal_handler_disconnect (monitor, id);
  g_free (mail.from);
  g_free (mail.subject);
}

static gboolean
conversations_listed (gpointer user_data)
{
  GListModel *model = message_model ();
  gboolean want = GPOINTER_TO_INT (user_data);

  return PB_IS_MESSAGE_LIST (model) && pb_message_list_get_threads (PB_MESSAGE_LIST (model)) == want
         && !pb_message_list_get_loading (PB_MESSAGE_LIST (model)) && all_loaded (NULL);
}

/* Group by Conversation: one row per thread of the demo mail, with the thread's size. */
static void
test_main_window_conversations (void)
{
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  g_autoptr (GPtrArray) rows = g_ptr_array_new ();
  guint n_messages, n_threads, n_counted = 0, shown = 0;

  g_assert_false (g_settings_get_boolean (settings, "conversations"));
  /* The unified inbox, as the tests before left it. */
  wait_until (conversations_listed, GINT_TO_POINTER (FALSE), "the unified inbox");
  n_messages = g_list_model_get_n_items (message_model ());

  /* The check item of the list's menu. */
  activate ("win.conversations", NULL);
  g_assert_true (g_settings_get_boolean (settings, "conversations"));
  wait_until (conversations_listed, GINT_TO_POINTER (TRUE), "the conversations");
  n_threads = g_list_model_get_n_items (message_model ());
  g_test_message ("%u messages in %u conversations", n_messages, n_threads);
  g_assert_cmpuint (n_threads, <, n_messages);
  for (guint i = 0; i < n_threads; i++)
    {
      g_autoptr (PbMessageItem) item = g_list_model_get_item (message_model (), i);

      if (pb_message_item_get_thread_count (item) > 1)
        n_counted++;
    }
  g_assert_cmpuint (n_counted, >, 0);

  /* The rows on screen show the count of those that have one, and only of those. */
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  spin_for (100);
  collect_widgets (GTK_WIDGET (window), "message-row", rows);
  for (guint i = 0; i < rows->len; i++)
    {
      PbMessageRow *row = g_ptr_array_index (rows, i);
      /* Made when first needed: a row that never showed a count has none. */
      GtkWidget *count = find_widget (GTK_WIDGET (row), "message-thread-count");
      PbMessageItem *item = pb_message_row_get_item (row);
      guint n;

      if (item == NULL || !gtk_widget_get_mapped (GTK_WIDGET (row)))
        continue;
      n = pb_message_item_get_thread_count (item);
      g_assert_cmpint (count != NULL && gtk_widget_get_visible (count), ==, n > 1);
      if (n > 1)
        {
          g_autofree char *text = g_strdup_printf ("%u", n);

          g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (count)), ==, text);
          shown++;
        }
    }
  g_assert_cmpuint (shown, >, 0);

  activate ("win.conversations", NULL);
  g_assert_false (g_settings_get_boolean (settings, "conversations"));
  wait_until (conversations_listed, GINT_TO_POINTER (FALSE), "the messages again");
  g_assert_cmpuint (g_list_model_get_n_items (message_model ()), ==, n_messages);
}

/* Every row on screen shows its message (rows out of view fill only when they come near it,
 * see pb-message-row.c); returns how many rows are on screen. */
static guint
check_rows_on_screen (void)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new ();
  guint on_screen = 0, filled = 0;

  collect_widgets (GTK_WIDGET (window), "message-row", rows);
  for (guint i = 0; i < rows->len; i++)
    {
      GtkWidget *row = g_ptr_array_index (rows, i);
      GtkWidget *list = gtk_widget_get_ancestor (row, GTK_TYPE_LIST_VIEW);
      PbMessageItem *item = pb_message_row_get_item (PB_MESSAGE_ROW (row));
      GtkLabel *subject = GTK_LABEL (require_widget (row, "message-subject"));
      graphene_rect_t bounds;

      if (*gtk_label_get_text (subject) != '\0')
        filled++;
      if (list == NULL || item == NULL || !gtk_widget_get_mapped (row)
          || !gtk_widget_compute_bounds (row, list, &bounds)
          || bounds.origin.y + bounds.size.height <= 0
          || bounds.origin.y >= gtk_widget_get_height (list))
        continue;
      on_screen++;
      g_assert_cmpstr (gtk_label_get_text (subject), ==, pb_message_item_get_subject (item));
    }
  g_test_message ("%u rows on screen, %u of %u rows filled", on_screen, filled, rows->len);
  g_assert_cmpuint (on_screen, >, 3);
  return on_screen;
}

static void
test_main_window_big_list (void)
{
  g_autoptr (GListStore) store = g_list_store_new (PB_TYPE_MESSAGE_ITEM);
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  GtkScrolledWindow *scroller;
  GtkAdjustment *adjustment;
  guint rows_before = pb_message_row_get_n_alive ();
  guint rows;

  for (guint i = 0; i < 100000; i++)
    {
      PbMessageSummary summary = { 0 };
      g_autofree char *subject = g_strdup_printf ("Message %u", i);

      summary.id = i + 1;
      summary.folder_id = 1;
      summary.uid = i + 1;
      summary.date = 1700000000 - i * 60;
      summary.subject = subject;
      summary.from_name = (char *) "Sender";
      g_ptr_array_add (items, pb_message_item_new_for_summary (&summary));
    }
  g_list_store_splice (store, 0, 0, items->pdata, items->len);
  g_clear_pointer (&items, g_ptr_array_unref);

  pb_window_set_message_model (window, G_LIST_MODEL (store));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  spin_for (200);
  rows = pb_message_row_get_n_alive ();
  g_test_message ("%u message rows for 100,000 items (%u before)", rows, rows_before);
  g_assert_cmpuint (rows, <, 300);
  check_rows_on_screen ();

  scroller = GTK_SCROLLED_WINDOW (require_widget (GTK_WIDGET (window), "message-scroller"));
  adjustment = gtk_scrolled_window_get_vadjustment (scroller);
  g_assert_cmpfloat (gtk_adjustment_get_upper (adjustment), >, 100000.0);
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment) / 2);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  spin_for (200);
  check_rows_on_screen ();
  /* A small step moves rows into view without binding them again. */
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_value (adjustment) + 700);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  spin_for (100);
  check_rows_on_screen ();
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  spin_for (200);
  check_rows_on_screen ();
  rows = pb_message_row_get_n_alive ();
  g_test_message ("%u message rows after scrolling", rows);
  g_assert_cmpuint (rows, <, 300);
}

int
main (int   argc,
      char *argv[])
{
  const char *subjects[] = { "UI action read", "UI action star", "UI action delete",
                             "UI action move", "UI action archive" };
  g_autoptr (PbAccountManager) manager = NULL;
  g_autoptr (PbAccount) account = NULL;
  g_autoptr (PbService) service = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  int status;

  pb_application_init_i18n ();
  g_test_init (&argc, &argv, NULL);

  if (!gtk_init_check ())
    {
      printf ("1..0 # SKIP no display\n");
      return 0;
    }
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
  pb_engine_init ();
  start_notification_server ();

  /* The demo mail, plus messages this test acts on and one whose sender and subject look like
   * markup, delivered before the application's first sync. */
  server = pb_test_server_start ("demo");
  deliver (MARKUP_SUBJECT, "\"<i>Mallory</i> & Co\" <mallory@example.org>");
  for (guint i = 0; i < G_N_ELEMENTS (subjects); i++)
    deliver (subjects[i], "UI Test <ui@example.org>");

  url = g_strdup_printf ("imaps://demo@127.0.0.1:%u", pb_test_server_get_port (server, "imaps"));
  service = pb_service_new_from_url (url, &error);
  g_assert_no_error (error);
  pb_service_set_ca_file (service, pb_test_server_get_ca_file (server));
  account = pb_account_new ("demo", "demo@postbote.test", service, NULL);
  pb_account_set_display_name (account, "Dana Weber");
  pb_account_set_password_command (account, "printf %s demo");
  manager = pb_account_manager_new (NULL);
  g_assert_true (pb_account_manager_load (manager, &error));
  g_assert_true (pb_account_manager_add (manager, account, &error));
  g_assert_no_error (error);

  app = pb_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app))
                           | G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  g_test_add_func ("/ui/main-window/list", test_main_window_list);
  g_test_add_func ("/ui/main-window/screenshots", test_main_window_screenshots);
  g_test_add_func ("/ui/main-window/actions", test_main_window_actions);
  g_test_add_func ("/ui/main-window/search", test_main_window_search);
  g_test_add_func ("/ui/main-window/new-mail", test_main_window_new_mail);
  g_test_add_func ("/ui/main-window/conversations", test_main_window_conversations);
  g_test_add_func ("/ui/main-window/big-list", test_main_window_big_list);

  status = g_test_run ();

  if (window != NULL)
    gtk_window_destroy (GTK_WINDOW (window));
  spin_for (100);
  g_clear_object (&app);
  g_clear_pointer (&server, pb_test_server_stop);
  g_clear_pointer (&notifications, g_ptr_array_unref);
  return status;
}
