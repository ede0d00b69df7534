/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-window"

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <adwaita.h>

#include "pb-application.h"
#include "pb-engine.h"
#include "pb-folder-row.h"
#include "pb-message-item.h"
#include "pb-test-server.h"
#include "pb-window.h"

/*
 * The first window against a real mail server (tests/common/pb-test-server.h): the sidebar
 * lists the account and its folders, an account without accounts shows the "No Accounts"
 * page, a failing account shows the engine's error as plain text with a Retry button, and the
 * German catalogue is used under LANGUAGE=de. Screenshots go to <build>/tests/ui/screenshots.
 */

#define WAIT_TIMEOUT_MS 30000
#define INDENT_PER_LEVEL 28

static PbApplication *app;
static PbTestServer *server;
static guint16 imaps_port;
static char *ca_file;
static char *tmp_dir;

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */

/* The server is started once per process. The German test runs in a subprocess, which is
 * handed the parent's server through the environment instead of starting a second one. */
static void
ensure_server (void)
{
  const char *port = g_getenv ("PB_UI_TEST_IMAPS_PORT");

  if (imaps_port != 0)
    return;

  if (port != NULL)
    {
      imaps_port = (guint16) atoi (port);
      ca_file = g_strdup (g_getenv ("PB_UI_TEST_CA_FILE"));
      return;
    }

  server = pb_test_server_start ("demo");
  imaps_port = pb_test_server_get_port (server, "imaps");
  ca_file = g_strdup (pb_test_server_get_ca_file (server));
}

/* The application is registered (which runs its startup and so loads the default account
 * list) on first use, so a test can write accounts before that. */
static void
ensure_app (void)
{
  g_autoptr (GError) error = NULL;

  if (g_application_get_is_registered (G_APPLICATION (app)))
    return;

  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
}

static guint16
get_closed_port (void)
{
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GError) error = NULL;
  guint16 port;

  port = g_socket_listener_add_any_inet_port (listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_listener_close (listener);

  return port;
}

static PbAccount *
create_account (const char *name,
                guint16     port,
                const char *password_command)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PbService) service = NULL;
  g_autofree char *url = g_strdup_printf ("imaps://demo@127.0.0.1:%u", port);
  g_autofree char *email = g_strdup_printf ("%s@example.org", name);
  PbAccount *account;

  service = pb_service_new_from_url (url, &error);
  g_assert_no_error (error);
  pb_service_set_ca_file (service, ca_file);

  account = pb_account_new (name, email, service, NULL);
  pb_account_set_password_command (account, password_command);

  return account;
}

static void
add_account (const char *config_dir,
             const char *name,
             guint16     port,
             const char *password_command)
{
  g_autoptr (PbAccountManager) manager = pb_account_manager_new (config_dir);
  g_autoptr (PbAccount) account = create_account (name, port, password_command);
  g_autoptr (GError) error = NULL;

  g_assert_true (pb_account_manager_load (manager, &error));
  g_assert_true (pb_account_manager_add (manager, account, &error));
  g_assert_no_error (error);
}

/* Reads the accounts back from disk, as the application does at startup. */
static PbAccountManager *
load_accounts (const char *config_dir)
{
  PbAccountManager *manager = pb_account_manager_new (config_dir);
  g_autoptr (GError) error = NULL;

  g_assert_true (pb_account_manager_load (manager, &error));
  g_assert_no_error (error);

  return manager;
}

static char *
make_config_dir (const char *name)
{
  char *dir = g_build_filename (tmp_dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);

  return dir;
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Condition) (gpointer user_data);

/* Spins the main context until condition holds; a watchdog fails the test instead of letting
 * it hang. */
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

static GtkWidget *
find_widget (GtkWidget  *root,
             const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;

  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, name);

      if (found != NULL)
        return found;
    }

  return NULL;
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

static GtkListBox *
get_list_box (PbWindow *window)
{
  return GTK_LIST_BOX (require_widget (GTK_WIDGET (window), "folder-list-box"));
}

/* The rows of the sidebar, in order (references owned by the list box). */
static GPtrArray *
get_rows (PbWindow *window)
{
  GPtrArray *rows = g_ptr_array_new ();
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (get_list_box (window), i)) != NULL; i++)
    g_ptr_array_add (rows, row);

  return rows;
}

static const char *
get_label_text (GtkWidget  *root,
                const char *name)
{
  return gtk_label_get_text (GTK_LABEL (require_widget (root, name)));
}

/* Every account has finished loading: no spinner row is left, and each account has a row of
 * folders or an error under it. */
static gboolean
sidebar_settled (gpointer user_data)
{
  PbWindow *window = user_data;
  g_autoptr (GPtrArray) rows = get_rows (window);
  guint accounts = g_list_model_get_n_items (G_LIST_MODEL (pb_window_get_account_manager (window)));
  guint headers = 0;

  for (guint i = 0; i < rows->len; i++)
    {
      const char *name = gtk_widget_get_name (g_ptr_array_index (rows, i));

      if (g_str_equal (name, "loading-row"))
        return FALSE;
      if (g_str_equal (name, "account-row"))
        headers++;
    }

  return headers == accounts && rows->len > headers;
}

static gboolean
has_loading_row (gpointer user_data)
{
  return find_widget (GTK_WIDGET (get_list_box (user_data)), "loading-row") != NULL;
}

static gboolean
widget_is_mapped (gpointer user_data)
{
  return gtk_widget_get_mapped (GTK_WIDGET (user_data));
}

static gboolean
leaflet_folded (gpointer user_data)
{
  return adw_leaflet_get_folded (ADW_LEAFLET (user_data))
         && !adw_leaflet_get_child_transition_running (ADW_LEAFLET (user_data));
}

static gboolean
leaflet_settled (gpointer user_data)
{
  return !adw_leaflet_get_child_transition_running (ADW_LEAFLET (user_data));
}

static PbFolderRow *
find_folder_row (PbWindow   *window,
                 const char *path)
{
  g_autoptr (GPtrArray) rows = get_rows (window);

  for (guint i = 0; i < rows->len; i++)
    {
      GtkWidget *row = g_ptr_array_index (rows, i);

      if (PB_IS_FOLDER_ROW (row) && pb_folder_row_get_account (PB_FOLDER_ROW (row)) != NULL
          && g_str_equal (pb_folder_info_get_path (pb_folder_row_get_folder (PB_FOLDER_ROW (row))),
                          path))
        return PB_FOLDER_ROW (row);
    }

  g_error ("No row for folder “%s”", path);
  return NULL;
}

static PbFolderRow *
find_folder_row_by_role (PbWindow     *window,
                         PbFolderRole  role)
{
  g_autoptr (GPtrArray) rows = get_rows (window);

  for (guint i = 0; i < rows->len; i++)
    {
      GtkWidget *row = g_ptr_array_index (rows, i);

      if (PB_IS_FOLDER_ROW (row) && pb_folder_row_get_account (PB_FOLDER_ROW (row)) != NULL
          && pb_folder_info_get_role (pb_folder_row_get_folder (PB_FOLDER_ROW (row))) == role)
        return PB_FOLDER_ROW (row);
    }

  g_error ("No row for the folder with role %s", pb_folder_role_to_string (role));
  return NULL;
}

static const char *
get_role_title (PbWindow     *window,
                PbFolderRole  role)
{
  return pb_folder_row_get_title (find_folder_row_by_role (window, role));
}

/* Fails the test with the sidebar's error text, which says more than "row not found". */
static void
assert_no_error_row (PbWindow *window)
{
  GtkWidget *label = find_widget (GTK_WIDGET (get_list_box (window)), "error-label");

  if (label != NULL)
    g_error ("The sidebar shows an error: %s", gtk_label_get_text (GTK_LABEL (label)));
}

/* A screenshot of one widget, rendered from inside the test by the widget's own renderer. */
static GdkTexture *
render_widget (GtkWidget *widget)
{
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GskRenderNode) node = NULL;
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

/* A window that drew nothing, or only a background, is a single colour; a real one is not. */
static void
assert_not_uniform (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  gsize stride = (gsize) width * 4;
  g_autofree guchar *pixels = g_malloc (stride * height);
  GHashTable *colours = g_hash_table_new (NULL, NULL);

  gdk_texture_download (texture, pixels, stride);
  for (int y = 0; y < height; y += 7)
    for (int x = 0; x < width; x += 7)
      {
        guint32 pixel;

        memcpy (&pixel, pixels + y * stride + x * 4, sizeof pixel);
        g_hash_table_add (colours, GUINT_TO_POINTER (pixel));
      }

  g_test_message ("%u distinct colours in the sampled pixels", g_hash_table_size (colours));
  g_assert_cmpuint (g_hash_table_size (colours), >, 8);
  g_hash_table_unref (colours);
}

static void
save_screenshot (GtkWidget  *widget,
                 const char *file_name)
{
  g_autoptr (GdkTexture) texture = render_widget (widget);
  const char *builddir = g_getenv ("PB_TEST_BUILDDIR");
  g_autofree char *dir = g_build_filename (builddir != NULL ? builddir : ".", "ui", "screenshots",
                                           NULL);
  g_autofree char *path = g_build_filename (dir, file_name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("Screenshot: %s", path);

  assert_not_uniform (texture);
}

static gboolean
message_loaded (gpointer user_data)
{
  gpointer *args = user_data;
  GListModel *model = pb_window_get_message_model (args[0]);

  for (guint i = 0; model != NULL && i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (PbMessageItem) item = g_list_model_get_item (model, i);

      if (g_strcmp0 (pb_message_item_get_subject (item), args[1]) == 0)
        {
          args[2] = GUINT_TO_POINTER (i + 1);
          return TRUE;
        }
    }
  return FALSE;
}

/* Selects the message with @subject in the list and lets the reader show it. */
static void
open_message (PbWindow   *window,
              const char *subject)
{
  gpointer args[3] = { window, (gpointer) subject, NULL };
  GtkListView *view = GTK_LIST_VIEW (require_widget (GTK_WIDGET (window), "message-list"));

  wait_until (message_loaded, args, subject);
  gtk_single_selection_set_selected (GTK_SINGLE_SELECTION (gtk_list_view_get_model (view)),
                                     GPOINTER_TO_UINT (args[2]) - 1);
  /* The reader parses on a worker thread and lays out a WebKit view for HTML. */
  spin_for (2500);
}

static void
destroy_window (PbWindow *window)
{
  gtk_window_destroy (GTK_WINDOW (window));
  /* Let cancelled operations report back before the next test. */
  spin_for (50);
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

/* ------------------------------------------------------------------------------------------ */
/* Tests                                                                                      */

typedef struct
{
  const char   *title;
  PbFolderRole  role;
} ExpectedFolder;

static void
test_window_folders (void)
{
  static const ExpectedFolder special[] = {
    { "Inbox", PB_FOLDER_ROLE_INBOX },
    { "Drafts", PB_FOLDER_ROLE_DRAFTS },
    { "Sent", PB_FOLDER_ROLE_SENT },
    { "Archive", PB_FOLDER_ROLE_ARCHIVE },
    { "Junk", PB_FOLDER_ROLE_JUNK },
    { "Trash", PB_FOLDER_ROLE_TRASH },
  };
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GSettings) settings = NULL;
  g_auto (GStrv) quit_accels = NULL;
  AdwStyleManager *style_manager = adw_style_manager_get_default ();
  PbWindow *window;
  GtkWidget *row;
  PbFolderRow *projects, *postbote, *inbox, *sent;
  AdwWindowTitle *content_title;
  GtkWidget *leaflet;
  guint next_special = 0;
  gboolean seen_other = FALSE;
  int width, height;

  ensure_server ();

  /* Written into the default account list before the application starts up, so the window
   * comes up exactly as on a user's desktop: activate() creates it. */
  add_account (NULL, "demo", imaps_port, "printf %s demo");
  ensure_app ();
  g_application_activate (G_APPLICATION (app));

  window = PB_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_true (PB_IS_WINDOW (window));
  g_assert_true (pb_window_get_account_manager (window) ==
                 pb_application_get_account_manager (app));

  /* Only real actions, with their shortcuts. */
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "quit"));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "about"));
  quit_accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "app.quit");
  g_assert_true (g_strv_contains ((const char * const *) quit_accels, "<Control>q"));
  g_assert_nonnull (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window)));

  wait_until (sidebar_settled, window, "the folders of the demo account");
  assert_no_error_row (window);

  rows = get_rows (window);
  /* The unified inbox first, then the account with its folders. */
  row = g_ptr_array_index (rows, 0);
  g_assert_cmpstr (gtk_widget_get_name (row), ==, "unified-inbox-row");
  g_assert_cmpstr (pb_folder_row_get_title (PB_FOLDER_ROW (row)), ==, "Unified Inbox");
  g_ptr_array_remove_index (rows, 0);
  row = g_ptr_array_index (rows, 0);
  g_assert_cmpstr (gtk_widget_get_name (row), ==, "account-row");
  g_assert_cmpstr (get_label_text (row, "account-title"), ==, "demo");
  g_assert_cmpstr (get_label_text (row, "account-subtitle"), ==, "demo@example.org");

  /* The inbox comes first, then the special folders in their usual order, then the rest. */
  row = g_ptr_array_index (rows, 1);
  g_assert_true (PB_IS_FOLDER_ROW (row));
  g_assert_cmpstr (pb_folder_row_get_title (PB_FOLDER_ROW (row)), ==, "Inbox");
  g_assert_cmpstr (pb_folder_info_get_path (pb_folder_row_get_folder (PB_FOLDER_ROW (row))), ==,
                   "INBOX");

  for (guint i = 1; i < rows->len; i++)
    {
      PbFolderRow *folder_row;
      PbFolderInfo *folder;

      row = g_ptr_array_index (rows, i);
      g_assert_true (PB_IS_FOLDER_ROW (row));
      folder_row = PB_FOLDER_ROW (row);
      folder = pb_folder_row_get_folder (folder_row);
      g_test_message ("row %u: “%s” path “%s” depth %u role %s", i,
                      pb_folder_row_get_title (folder_row), pb_folder_info_get_path (folder),
                      pb_folder_info_get_depth (folder),
                      pb_folder_role_to_string (pb_folder_info_get_role (folder)));

      /* Indented by depth. */
      g_assert_cmpint (gtk_widget_get_margin_start (
                         gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (row))),
                       ==, INDENT_PER_LEVEL * (int) pb_folder_info_get_depth (folder));

      /* Top-level special folders come first; subfolders of one may follow it. */
      if (pb_folder_info_get_depth (folder) > 0)
        continue;
      if (pb_folder_info_get_role (folder) == PB_FOLDER_ROLE_NONE)
        {
          seen_other = TRUE;
          continue;
        }

      g_assert_false (seen_other);
      if (next_special < G_N_ELEMENTS (special)
          && pb_folder_info_get_role (folder) == special[next_special].role)
        {
          g_assert_cmpstr (pb_folder_row_get_title (folder_row), ==, special[next_special].title);
          next_special++;
        }
    }
  g_assert_cmpuint (next_special, ==, G_N_ELEMENTS (special));

  /* A nested folder shows its last path component, one level in, right under its parent. */
  projects = find_folder_row (window, "Projects");
  postbote = find_folder_row (window, "Projects/Postbote");
  g_assert_cmpstr (pb_folder_row_get_title (projects), ==, "Projects");
  g_assert_cmpuint (pb_folder_info_get_depth (pb_folder_row_get_folder (projects)), ==, 0);
  g_assert_cmpstr (pb_folder_row_get_title (postbote), ==, "Postbote");
  g_assert_cmpuint (pb_folder_info_get_depth (pb_folder_row_get_folder (postbote)), ==, 1);
  g_assert_cmpint (gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (postbote)), ==,
                   gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (projects)) + 1);

  /* The unified inbox is shown at start; selecting a folder names it in the content pane. */
  content_title = ADW_WINDOW_TITLE (require_widget (GTK_WIDGET (window), "content-title"));
  g_assert_cmpstr (adw_window_title_get_title (content_title), ==, "Unified Inbox");
  sent = find_folder_row_by_role (window, PB_FOLDER_ROLE_SENT);
  gtk_list_box_select_row (get_list_box (window), GTK_LIST_BOX_ROW (sent));
  g_assert_cmpstr (adw_window_title_get_title (content_title), ==, "Sent");
  g_assert_cmpstr (adw_window_title_get_subtitle (content_title), ==, "demo@example.org");
  inbox = find_folder_row_by_role (window, PB_FOLDER_ROLE_INBOX);
  gtk_list_box_select_row (get_list_box (window), GTK_LIST_BOX_ROW (inbox));
  g_assert_cmpstr (adw_window_title_get_title (content_title), ==, "Inbox");
  wait_until (widget_is_mapped, require_widget (GTK_WIDGET (window), "message-scroller"),
              "the message list");
  /* The README's screenshots: a roomy window with a message open, the pointer out of the way
   * (a row under it would show its hover colour). */
  gtk_window_set_default_size (GTK_WINDOW (window), 1180, 740);
  g_spawn_command_line_sync ("xdotool mousemove 1279 1023", NULL, NULL, NULL, NULL);
  open_message (window, "Notes from today's stand-up");
  g_test_message ("window mapped %d, %dx%d", gtk_widget_get_mapped (GTK_WIDGET (window)),
                  gtk_widget_get_width (GTK_WIDGET (window)),
                  gtk_widget_get_height (GTK_WIDGET (window)));

  leaflet = require_widget (GTK_WIDGET (window), "leaflet");
  g_assert_false (adw_leaflet_get_folded (ADW_LEAFLET (leaflet)));
  save_screenshot (GTK_WIDGET (window), "window.png");

  adw_style_manager_set_color_scheme (style_manager, ADW_COLOR_SCHEME_FORCE_DARK);
  g_assert_true (adw_style_manager_get_dark (style_manager));
  save_screenshot (GTK_WIDGET (window), "window-dark.png");
  adw_style_manager_set_color_scheme (style_manager, ADW_COLOR_SCHEME_DEFAULT);

  /* Narrow: one pane at a time, the selected folder first, then back to the sidebar. */
  gtk_window_set_default_size (GTK_WINDOW (window), 400, 680);
  wait_until (leaflet_folded, leaflet, "the leaflet to fold");
  g_assert_true (adw_leaflet_get_visible_child (ADW_LEAFLET (leaflet)) !=
                 require_widget (GTK_WIDGET (window), "sidebar-pane"));
  {
    int min_width;

    gtk_widget_measure (require_widget (GTK_WIDGET (window), "reader-pane"),
                        GTK_ORIENTATION_HORIZONTAL, -1, &min_width, NULL, NULL, NULL);
    g_test_message ("narrow: window %dx%d, reader needs %d, showing %s",
                    gtk_widget_get_width (GTK_WIDGET (window)),
                    gtk_widget_get_height (GTK_WIDGET (window)), min_width,
                    gtk_widget_get_name (adw_leaflet_get_visible_child (ADW_LEAFLET (leaflet))));
  }
  spin_for (300);
  save_screenshot (GTK_WIDGET (window), "window-narrow.png");
  adw_leaflet_navigate (ADW_LEAFLET (leaflet), ADW_NAVIGATION_DIRECTION_BACK);
  wait_until (leaflet_settled, leaflet, "the leaflet to go back");
  g_assert_true (adw_leaflet_get_visible_child (ADW_LEAFLET (leaflet)) ==
                 require_widget (GTK_WIDGET (window), "sidebar-pane"));
  save_screenshot (GTK_WIDGET (window), "window-narrow-sidebar.png");

  /* Closing saves the window size for the next start. */
  gtk_window_set_default_size (GTK_WINDOW (window), 1020, 700);
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  gtk_window_close (GTK_WINDOW (window));
  settings = g_settings_new (APP_ID);
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, width);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, height);
  g_assert_false (g_settings_get_boolean (settings, "window-maximized"));
  spin_for (50);
}

static void
test_window_no_accounts (void)
{
  g_autofree char *config_dir = make_config_dir ("no-accounts");
  g_autoptr (PbAccountManager) manager = load_accounts (config_dir);
  g_autoptr (PbAccount) account = NULL;
  g_autoptr (GError) error = NULL;
  PbWindow *window;
  GtkWidget *page;

  ensure_app ();
  window = pb_window_new (GTK_APPLICATION (app), manager);
  gtk_window_present (GTK_WINDOW (window));

  page = require_widget (GTK_WIDGET (window), "no-accounts-page");
  wait_until (widget_is_mapped, page, "the No Accounts page");
  g_assert_cmpstr (adw_status_page_get_title (ADW_STATUS_PAGE (page)), ==, "No Accounts");
  g_assert_true (g_str_has_prefix (get_label_text (page, "no-accounts-hint"),
                                   "postbote-cli account add"));
  g_assert_false (gtk_widget_get_mapped (GTK_WIDGET (get_list_box (window))));
  save_screenshot (GTK_WIDGET (window), "no-accounts.png");

  /* An account added while the window is open replaces the page with the sidebar. */
  account = create_account ("later", get_closed_port (), "printf %s demo");
  g_assert_true (pb_account_manager_add (manager, account, &error));
  g_assert_no_error (error);
  wait_until (widget_is_mapped, get_list_box (window), "the sidebar");
  wait_until (sidebar_settled, window, "the new account to load");

  destroy_window (window);
}

static void
list_folders_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GError **error = user_data;
  g_autoptr (GPtrArray) folders = NULL;

  folders = pb_remote_store_list_folders_finish (PB_REMOTE_STORE (source), result, error);
  g_assert_null (folders);
  g_assert_nonnull (*error);
}

/* What the engine itself says when listing the folders of this account fails. */
static char *
get_engine_error (PbAccount *account)
{
  g_autoptr (GError) error = NULL;

  pb_remote_store_list_folders_async (pb_account_get_remote_store (account), NULL,
                                      list_folders_cb, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);

  return g_strdup (error->message);
}

static void
test_window_errors (void)
{
  /* Server text is never markup: this one would turn bold, or fail to parse, if it were. */
  const char *bad_command = "echo '<b>Keyring</b> is locked & gone' >&2; exit 1";
  g_autofree char *config_dir = make_config_dir ("errors");
  g_autoptr (PbAccountManager) manager = NULL;
  g_autoptr (PbAccountManager) engine_manager = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GPtrArray) error_rows = g_ptr_array_new ();
  PbWindow *window;
  GtkWidget *button;

  ensure_server ();
  ensure_app ();
  add_account (config_dir, "offline", get_closed_port (), "printf %s demo");
  add_account (config_dir, "nopassword", imaps_port, bad_command);
  manager = load_accounts (config_dir);

  window = pb_window_new (GTK_APPLICATION (app), manager);
  gtk_window_present (GTK_WINDOW (window));
  wait_until (sidebar_settled, window, "both accounts to fail");

  rows = get_rows (window);
  for (guint i = 0; i < rows->len; i++)
    if (g_str_equal (gtk_widget_get_name (g_ptr_array_index (rows, i)), "error-row"))
      g_ptr_array_add (error_rows, g_ptr_array_index (rows, i));
  g_assert_cmpuint (error_rows->len, ==, 2);

  /* Each error row says what the engine says, as plain text. */
  engine_manager = load_accounts (config_dir);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (PbAccount) account = g_list_model_get_item (G_LIST_MODEL (engine_manager), i);
      g_autofree char *expected = get_engine_error (account);
      GtkWidget *label = require_widget (g_ptr_array_index (error_rows, i), "error-label");

      g_test_message ("%s: %s", pb_account_get_name (account), expected);
      g_assert_false (gtk_label_get_use_markup (GTK_LABEL (label)));
      g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (label)), expected));
      g_assert_nonnull (strstr (gtk_label_get_label (GTK_LABEL (label)), expected));
    }
  /* The offline account says so beside the sidebar; the one whose password cannot be had
   * offers to enter one. */
  wait_until (widget_is_mapped, require_widget (GTK_WIDGET (window), "offline-indicator"),
              "the offline indicator");
  g_assert_nonnull (find_widget (g_ptr_array_index (error_rows, 1), "update-password-button"));
  g_assert_nonnull (strstr (get_label_text (g_ptr_array_index (error_rows, 1), "error-label"),
                            "Password rejected"));
  g_assert_nonnull (strstr (get_label_text (g_ptr_array_index (error_rows, 1), "error-label"),
                            "<b>Keyring</b> is locked & gone"));
  save_screenshot (GTK_WIDGET (window), "errors.png");

  /* Retry asks again: a spinner, then the error once more. */
  button = require_widget (g_ptr_array_index (error_rows, 0), "retry-button");
  g_signal_emit_by_name (button, "clicked");
  wait_until (has_loading_row, window, "the retry to start");
  wait_until (sidebar_settled, window, "the retry to fail again");
  g_clear_pointer (&rows, g_ptr_array_unref);
  rows = get_rows (window);
  g_assert_cmpstr (gtk_widget_get_name (g_ptr_array_index (rows, 2)), ==, "error-row");

  /* Update… asks for the password. */
  g_signal_emit_by_name (find_widget (g_ptr_array_index (error_rows, 1),
                                      "update-password-button"), "clicked");
  {
    GListModel *toplevels = gtk_window_get_toplevels ();
    GtkWidget *dialog = NULL;

    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr (GtkWidget) candidate = g_list_model_get_item (toplevels, i);

        if (g_strcmp0 (gtk_widget_get_name (candidate), "password-dialog") == 0)
          dialog = candidate;
      }
    g_assert_nonnull (dialog);
    g_assert_nonnull (find_widget (dialog, "password-entry"));
    gtk_window_destroy (GTK_WINDOW (dialog));
  }

  destroy_window (window);
}

static void
test_window_german_subprocess (void)
{
  g_autofree char *config_dir = make_config_dir ("german");
  g_autoptr (PbAccountManager) manager = NULL;
  PbWindow *window;
  GtkWidget *page;

  /* If this fails, the catalogue was not found: see POSTBOTE_LOCALEDIR in tests/ui/meson.build. */
  g_assert_cmpstr (g_dgettext (GETTEXT_PACKAGE, "Inbox"), ==, "Posteingang");

  ensure_server ();
  ensure_app ();
  add_account (config_dir, "demo", imaps_port, "printf %s demo");
  manager = load_accounts (config_dir);

  window = pb_window_new (GTK_APPLICATION (app), manager);
  gtk_window_present (GTK_WINDOW (window));
  wait_until (sidebar_settled, window, "the folders of the demo account");
  assert_no_error_row (window);

  g_assert_cmpstr (get_role_title (window, PB_FOLDER_ROLE_INBOX), ==, "Posteingang");
  g_assert_cmpstr (get_role_title (window, PB_FOLDER_ROLE_DRAFTS), ==, "Entwürfe");
  g_assert_cmpstr (get_role_title (window, PB_FOLDER_ROLE_SENT), ==, "Gesendet");
  g_assert_cmpstr (get_role_title (window, PB_FOLDER_ROLE_JUNK), ==, "Spam");
  g_assert_cmpstr (get_role_title (window, PB_FOLDER_ROLE_TRASH), ==, "Papierkorb");
  /* Folders that are not special keep their names. */
  g_assert_cmpstr (pb_folder_row_get_title (find_folder_row (window, "Projects/Postbote")),
                   ==, "Postbote");

  page = require_widget (GTK_WIDGET (window), "no-folder-page");
  g_assert_cmpstr (adw_status_page_get_title (ADW_STATUS_PAGE (page)), ==,
                   "Kein Ordner ausgewählt");
  save_screenshot (GTK_WIDGET (window), "window-de.png");

  destroy_window (window);
}

static void
test_window_german (void)
{
  g_autofree char *port = NULL;

  if (g_test_subprocess ())
    {
      test_window_german_subprocess ();
      return;
    }

  ensure_server ();
  port = g_strdup_printf ("%u", imaps_port);

  /* Gettext ignores LANGUAGE in the "C" locale; C.UTF-8 is built into glibc (2.35 and
   * later), so no German locale needs to be generated for this. */
  g_setenv ("LANGUAGE", "de", TRUE);
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  g_setenv ("PB_UI_TEST_IMAPS_PORT", port, TRUE);
  g_setenv ("PB_UI_TEST_CA_FILE", ca_file, TRUE);

  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);

  g_unsetenv ("LANGUAGE");
  g_unsetenv ("LC_ALL");
  g_unsetenv ("PB_UI_TEST_IMAPS_PORT");
  g_unsetenv ("PB_UI_TEST_CA_FILE");

  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GError) error = NULL;
  int status;

  /* A private account list even when run outside tests/test-env.sh. GLib reads the variable
   * once, on first use, so this comes before anything else. */
  tmp_dir = g_dir_make_tmp ("pb-ui-test-XXXXXX", &error);
  g_assert_no_error (error);
  {
    g_autofree char *config_home = g_build_filename (tmp_dir, "config", NULL);
    g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
  }

  pb_application_init_i18n ();
  g_test_init (&argc, &argv, NULL);

  if (!gtk_init_check ())
    {
      /* Never taken in the harness, which always provides a display. */
      printf ("1..0 # SKIP no display\n");
      return 0;
    }

  /* Transitions finish at once, so screenshots never catch a pane halfway. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  pb_engine_init ();

  app = pb_application_new ();
  /* The German test's subprocess runs next to this process on the same session bus. */
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app))
                           | G_APPLICATION_NON_UNIQUE);

  g_test_add_func ("/ui/window/folders", test_window_folders);
  g_test_add_func ("/ui/window/no-accounts", test_window_no_accounts);
  g_test_add_func ("/ui/window/errors", test_window_errors);
  g_test_add_func ("/ui/window/german", test_window_german);

  status = g_test_run ();

  g_clear_object (&app);
  g_clear_pointer (&server, pb_test_server_stop);
  g_clear_pointer (&ca_file, g_free);
  remove_tree (tmp_dir);
  g_free (tmp_dir);

  return status;
}
