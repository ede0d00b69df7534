/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-window"

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pb-application.h"
#include "pb-folder-list.h"
#include "pb-folder-row.h"
#include "pb-message-list.h"
#include "pb-message-row.h"
#include "pb-window-private.h"
#include "pb-reader.h"

/*
 * The main window: three panes in a leaflet that folds on narrow widths. The sidebar
 * (PbFolderList) lists the unified inbox and each account's folders from the local store; the
 * message list is a GtkListView over a PbMessageList, which pages the folder from the store on
 * worker threads, so a folder of any size costs a screenful of rows; the third pane is the
 * reader. The store's ::changed signal (after a sync or an operation) refreshes what is shown.
 * The actions on messages live in pb-window-actions.c.
 */

#define MARK_READ_DELAY_MS 600

/* POSTBOTE_BENCH: how many searches have shown their results. */
static guint bench_search_results;
#define SEARCH_LIMIT 500
/* Results shown at once; the rest follow right after the first frame. A list view binds a row
 * for every item it might show (up to about 200 in GTK 4.8), about 0.4 ms each here, so 500
 * results at once kept the window from drawing for 90 ms. */
#define SEARCH_FIRST_ROWS 40
/* How long the search text must stay the same before the servers are asked: each server
 * search is a connection and a login. */
#define SERVER_SEARCH_DELAY_MS 800

G_DEFINE_FINAL_TYPE (PbWindow, pb_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_ACCOUNT_MANAGER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void pb_window_show_folder (PbWindow *self);

PbWindow *
pb_window_new (GtkApplication   *application,
               PbAccountManager *account_manager)
{
  g_return_val_if_fail (GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (PB_IS_ACCOUNT_MANAGER (account_manager), NULL);

  return g_object_new (PB_TYPE_WINDOW,
                       "application", application,
                       "account-manager", account_manager,
                       NULL);
}

/**
 * pb_window_get_account_manager:
 * @self: a #PbWindow
 *
 * Returns: (transfer none): the accounts this window shows
 */
PbAccountManager *
pb_window_get_account_manager (PbWindow *self)
{
  g_return_val_if_fail (PB_IS_WINDOW (self), NULL);

  return self->account_manager;
}

/**
 * pb_window_get_sync_monitor:
 *
 * Returns: (transfer none) (nullable): the sync of the accounts, once the store is open
 */
PbSyncMonitor *
pb_window_get_sync_monitor (PbWindow *self)
{
  g_return_val_if_fail (PB_IS_WINDOW (self), NULL);

  return self->monitor;
}

void
pb_window_add_toast (PbWindow *self,
                     AdwToast *toast)
{
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/**
 * pb_window_show_error:
 * @self: a #PbWindow
 * @message: plain text (never markup)
 *
 * Shows a message that does not belong to one account, such as an unreadable account list.
 */
void
pb_window_show_error (PbWindow   *self,
                      const char *message)
{
  g_autofree char *escaped = NULL;
  AdwToast *toast;

  g_return_if_fail (PB_IS_WINDOW (self));
  g_return_if_fail (message != NULL);

  /* Toast titles are Pango markup in libadwaita 1.2. */
  escaped = g_markup_escape_text (message, -1);
  toast = adw_toast_new (escaped);
  adw_toast_set_timeout (toast, 0);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* Folders */

/**
 * pb_window_lookup_folder:
 * @folder_id: a folder's id in the store
 *
 * Finds the account and folder of a message list item (needed in the unified inbox and in
 * search results, which mix folders).
 */
gboolean
pb_window_lookup_folder (PbWindow      *self,
                         gint64         folder_id,
                         PbAccount    **account,
                         PbFolderInfo **folder)
{
  GListModel *accounts = G_LIST_MODEL (self->account_manager);

  for (guint i = 0; i < g_list_model_get_n_items (accounts); i++)
    {
      g_autoptr (PbAccount) candidate = g_list_model_get_item (accounts, i);
      g_autoptr (GPtrArray) rows = pb_folder_list_list_folders (self->folder_list, candidate);

      for (guint j = 0; j < rows->len; j++)
        {
          PbFolderRow *row = g_ptr_array_index (rows, j);

          if (pb_folder_row_get_folder_id (row) == folder_id)
            {
              *account = candidate;   /* owned by the account manager */
              *folder = pb_folder_row_get_folder (row);
              return TRUE;
            }
        }
    }
  return FALSE;
}

/* Message list */

PbMessageItem *
pb_window_get_selected_item (PbWindow *self)
{
  PbMessageItem *item;

  if (self->selection == NULL)
    return NULL;
  item = gtk_single_selection_get_selected_item (self->selection);
  return item != NULL && pb_message_item_get_loaded (item) ? item : NULL;
}

static void
pb_window_update_content_page (PbWindow *self)
{
  GListModel *model = self->selection != NULL ? gtk_single_selection_get_model (self->selection)
                                              : NULL;
  gboolean loading = PB_IS_MESSAGE_LIST (model)
                     && pb_message_list_get_loading (PB_MESSAGE_LIST (model));

  if (model == NULL)
    gtk_stack_set_visible_child_name (self->content_stack, "no-folder");
  else if (g_list_model_get_n_items (model) > 0 || loading)
    gtk_stack_set_visible_child_name (self->content_stack,
                                      self->selection == self->search_selection
                                      ? "results" : "messages");
  else
    {
      adw_status_page_set_title (self->empty_page, self->search_text != NULL
                                                   ? _("No Results") : _("No Messages"));
      gtk_stack_set_visible_child_name (self->content_stack, "empty");
    }
}

static void
model_items_changed_cb (PbWindow *self)
{
  pb_window_update_content_page (self);
}

static gboolean
mark_read_cb (gpointer data)
{
  PbWindow *self = data;
  PbMessageItem *item = pb_window_get_selected_item (self);

  self->mark_read_id = 0;
  if (item != NULL && item == self->shown_item
      && (pb_message_item_get_flags (item) & PB_MESSAGE_FLAG_SEEN) == 0)
    pb_window_mark_read (self, item);
  return G_SOURCE_REMOVE;
}

static void
pb_window_show_item (PbWindow      *self,
                     PbMessageItem *item)
{
  PbAccount *account = NULL;
  PbFolderInfo *folder = NULL;

  g_clear_handle_id (&self->mark_read_id, g_source_remove);
  if (item == self->shown_item)
    return;
  g_set_object (&self->shown_item, item);

  if (item == NULL || !pb_window_lookup_folder (self, pb_message_item_get_folder_id (item),
                                                &account, &folder))
    {
      pb_reader_clear (PB_READER (self->reader));
      gtk_stack_set_visible_child_name (self->reader_stack, "empty");
      pb_window_update_actions (self);
      return;
    }

  pb_reader_show_message (PB_READER (self->reader), account,
                          pb_sync_monitor_get_store (self->monitor),
                          pb_folder_info_get_path (folder), pb_message_item_get_uid (item));
  gtk_stack_set_visible_child_name (self->reader_stack, "message");
  if ((pb_message_item_get_flags (item) & PB_MESSAGE_FLAG_SEEN) == 0)
    self->mark_read_id = g_timeout_add (MARK_READ_DELAY_MS, mark_read_cb, self);
  pb_window_update_actions (self);
}

static void
selection_changed_cb (PbWindow *self)
{
  pb_window_show_item (self, pb_window_get_selected_item (self));
}

static void
list_activate_cb (PbWindow *self,
                  guint     position)
{
  pb_window_show_item (self, pb_window_get_selected_item (self));
  adw_leaflet_set_visible_child (self->leaflet, self->reader_pane);
}

/**
 * pb_window_set_message_model:
 * @model: (nullable): a #GListModel of #PbMessageItem
 *
 * Shows @model in the message list. Used for folders and search results; tests use it to
 * show a model of any size.
 */
static void
pb_window_show_model (PbWindow           *self,
                      GtkSingleSelection *selection,
                      GListModel         *model)
{
  GListModel *old = gtk_single_selection_get_model (selection);

  if (old != model)
    {
      if (old != NULL)
        g_signal_handlers_disconnect_by_data (old, self);
      /* The selection model stays and only its model is swapped: the list view takes that as
       * an items-changed and keeps its row widgets. */
      gtk_single_selection_set_model (selection, model);
      if (model != NULL)
        {
          g_signal_connect_swapped (model, "items-changed",
                                    G_CALLBACK (model_items_changed_cb), self);
          if (PB_IS_MESSAGE_LIST (model))
            g_signal_connect_swapped (model, "notify::loading",
                                      G_CALLBACK (model_items_changed_cb), self);
        }
    }
  gtk_single_selection_set_selected (selection, GTK_INVALID_LIST_POSITION);
  self->selection = selection;
  pb_window_show_item (self, NULL);
  pb_window_update_content_page (self);
}

void
pb_window_set_message_model (PbWindow   *self,
                             GListModel *model)
{
  g_return_if_fail (PB_IS_WINDOW (self));

  pb_window_show_model (self, self->folder_selection, model);
}

/**
 * pb_window_get_message_model:
 *
 * Returns: (transfer none) (nullable): what the message list shows
 */
GListModel *
pb_window_get_message_model (PbWindow *self)
{
  g_return_val_if_fail (PB_IS_WINDOW (self), NULL);

  return self->selection != NULL ? gtk_single_selection_get_model (self->selection) : NULL;
}

static void
setup_row_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              PbWindow                 *self);

static GdkContentProvider *
drag_prepare_cb (GtkDragSource *source,
                 double         x,
                 double         y,
                 PbMessageRow  *row)
{
  PbMessageItem *item = pb_message_row_get_item (row);
  g_autofree char *payload = NULL;

  if (item == NULL || !pb_message_item_get_loaded (item))
    return NULL;
  payload = g_strdup_printf ("%" G_GINT64_FORMAT ":%u", pb_message_item_get_folder_id (item),
                             pb_message_item_get_uid (item));
  return gdk_content_provider_new_typed (G_TYPE_STRING, payload);
}

static void
setup_row_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              PbWindow                 *self)
{
  GtkWidget *row = pb_message_row_new ();
  GtkDragSource *drag = gtk_drag_source_new ();

  gtk_drag_source_set_actions (drag, GDK_ACTION_MOVE);
  g_signal_connect (drag, "prepare", G_CALLBACK (drag_prepare_cb), row);
  gtk_widget_add_controller (row, GTK_EVENT_CONTROLLER (drag));
  gtk_list_item_set_child (list_item, row);
}

static void
bind_row_cb (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item,
             PbWindow                 *self)
{
  pb_message_row_set_item (PB_MESSAGE_ROW (gtk_list_item_get_child (list_item)),
                           gtk_list_item_get_item (list_item));
}

static void
unbind_row_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               PbWindow                 *self)
{
  pb_message_row_set_item (PB_MESSAGE_ROW (gtk_list_item_get_child (list_item)), NULL);
}

/* Folders and search */

static void
pb_window_show_folder (PbWindow *self)
{
  g_autoptr (GListModel) model = NULL;
  gint64 folder_id = 0;

  g_clear_object (&self->folder_model);
  if (self->folder == NULL || self->monitor == NULL)
    {
      if (self->search_text == NULL)
        pb_window_set_message_model (self, NULL);
      return;
    }

  if (self->folder_account == NULL)
    folder_id = PB_STORE_FOLDER_INBOXES;
  else
    {
      PbFolderRow *row = pb_folder_list_find_folder (self->folder_list, self->folder_account,
                                                     pb_folder_info_get_path (self->folder));

      if (row != NULL)
        folder_id = pb_folder_row_get_folder_id (row);
    }

  if (folder_id != 0)
    {
      PbStore *store = pb_sync_monitor_get_store (self->monitor);

      gboolean threads = self->settings != NULL
                         && g_settings_get_boolean (self->settings, "conversations");

      self->folder_model = G_LIST_MODEL (threads ? pb_message_list_new_threads (store, folder_id)
                                                 : pb_message_list_new (store, folder_id));
    }
  else
    self->folder_model = G_LIST_MODEL (g_list_store_new (PB_TYPE_MESSAGE_ITEM));
  if (self->search_text == NULL)
    pb_window_set_message_model (self, self->folder_model);
}

static void
folder_selected_cb (PbWindow     *self,
                    PbAccount    *account,
                    PbFolderInfo *folder,
                    PbFolderList *folder_list)
{
  g_set_object (&self->folder_account, account);
  g_set_object (&self->folder, folder);

  if (folder == NULL)
    {
      adw_window_title_set_title (self->content_title, "");
      adw_window_title_set_subtitle (self->content_title, "");
      pb_window_show_folder (self);
      return;
    }

  if (account == NULL)
    {
      adw_window_title_set_title (self->content_title, _("Unified Inbox"));
      adw_window_title_set_subtitle (self->content_title, _("All accounts"));
    }
  else
    {
      g_autofree char *name = pb_folder_row_dup_display_name (folder);
      const char *email = pb_account_get_email (account);

      adw_window_title_set_title (self->content_title, name);
      adw_window_title_set_subtitle (self->content_title, email != NULL ? email : "");
    }

  /* A folder chosen during a search ends the search. */
  if (self->search_text != NULL)
    gtk_search_bar_set_search_mode (self->search_bar, FALSE);
  pb_window_show_folder (self);
  adw_leaflet_set_visible_child (self->leaflet, self->content_pane);
}

static gboolean
search_store_contains (GListStore    *store,
                       PbMessageItem *item)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (store));

  /* At most SEARCH_LIMIT local results plus a few from the servers: a scan is fine. */
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (PbMessageItem) other = g_list_model_get_item (G_LIST_MODEL (store), i);

      if (pb_message_item_get_folder_id (other) == pb_message_item_get_folder_id (item)
          && pb_message_item_get_uid (other) == pb_message_item_get_uid (item))
        return TRUE;
    }
  return FALSE;
}

static void
server_search_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr (PbWindow) self = user_data;
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GError) error = NULL;

  found = pb_remote_store_search_finish (PB_REMOTE_STORE (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->search_text == NULL)
    return;
  /* Offline, or a server that cannot search: the local results are all there is; the sync
   * state in the sidebar already says why a server is out of reach. */
  if (found == NULL)
    {
      g_debug ("Server search failed: %s", error->message);
      return;
    }
  for (guint i = 0; i < found->len; i++)
    {
      g_autoptr (PbMessageItem) item = pb_message_item_new_for_summary (g_ptr_array_index (found,
                                                                                           i));

      g_ptr_array_add (self->server_items, g_object_ref (item));
      if (self->search_store != NULL && !search_store_contains (self->search_store, item))
        g_list_store_append (self->search_store, item);
    }
}

static gboolean
server_search_timeout_cb (gpointer user_data)
{
  PbWindow *self = user_data;
  PbAccountManager *accounts;
  PbStore *store;

  self->server_search_id = 0;
  if (self->search_text == NULL || self->monitor == NULL)
    return G_SOURCE_REMOVE;

  g_cancellable_cancel (self->server_cancellable);
  g_clear_object (&self->server_cancellable);
  self->server_cancellable = g_cancellable_new ();
  g_free (self->server_text);
  self->server_text = g_strdup (self->search_text);
  g_ptr_array_set_size (self->server_items, 0);

  accounts = pb_sync_monitor_get_accounts (self->monitor);
  store = pb_sync_monitor_get_store (self->monitor);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (accounts)); i++)
    {
      g_autoptr (PbAccount) account = g_list_model_get_item (G_LIST_MODEL (accounts), i);
      PbRemoteStore *remote = pb_account_get_remote_store (account);

      if (remote != NULL)
        pb_remote_store_search_async (remote, store, self->server_text, SEARCH_LIMIT,
                                      self->server_cancellable, server_search_cb,
                                      g_object_ref (self));
    }
  return G_SOURCE_REMOVE;
}

static void
pb_window_clear_search_rest (PbWindow *self)
{
  g_clear_handle_id (&self->search_rest_id, g_source_remove);
  g_clear_pointer (&self->search_rest, g_ptr_array_unref);
}

static gboolean
search_rest_cb (gpointer user_data)
{
  PbWindow *self = user_data;
  g_autoptr (GPtrArray) rest = g_steal_pointer (&self->search_rest);

  self->search_rest_id = 0;
  if (rest != NULL && self->search_store != NULL)
    g_list_store_splice (self->search_store, self->search_rest_pos, 0, rest->pdata, rest->len);
  return G_SOURCE_REMOVE;
}

static void
search_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr (PbWindow) self = user_data;
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GListStore) store = NULL;
  g_autoptr (GPtrArray) items = NULL;

  found = pb_store_search_finish (PB_STORE (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->search_text == NULL)
    return;
  store = g_list_store_new (PB_TYPE_MESSAGE_ITEM);
  if (found == NULL)
    g_debug ("Search failed: %s", error->message);
  else
    {
      guint first;

      items = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint i = 0; i < found->len; i++)
        g_ptr_array_add (items, pb_message_item_new_for_summary (g_ptr_array_index (found, i)));
      first = MIN (items->len, SEARCH_FIRST_ROWS);
      g_list_store_splice (store, 0, 0, items->pdata, first);
      pb_window_clear_search_rest (self);
      if (items->len > first)
        {
          g_ptr_array_remove_range (items, 0, first);
          self->search_rest = g_steal_pointer (&items);
          self->search_rest_pos = first;
          /* Below the redraw priority: the first rows are drawn before the rest arrive. */
          self->search_rest_id = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, search_rest_cb,
                                                  self, NULL);
        }
    }
  g_set_object (&self->search_store, store);
  if (g_strcmp0 (self->search_text, self->server_text) == 0)
    {
      /* The same text after a store change: keep what the servers found. */
      for (guint i = 0; i < self->server_items->len; i++)
        if (!search_store_contains (store, g_ptr_array_index (self->server_items, i)))
          g_list_store_append (store, g_ptr_array_index (self->server_items, i));
    }
  else if (self->server_search_id == 0)
    self->server_search_id = g_timeout_add (SERVER_SEARCH_DELAY_MS, server_search_timeout_cb,
                                            self);
  if (g_getenv ("POSTBOTE_BENCH") != NULL)
    g_printerr ("POSTBOTE_BENCH search-query-done %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
  pb_window_show_model (self, self->search_selection, G_LIST_MODEL (store));
  if (g_getenv ("POSTBOTE_BENCH") != NULL)
    {
      g_printerr ("POSTBOTE_BENCH search-results %u %" G_GINT64_FORMAT "\n",
                  found != NULL ? found->len : 0, g_get_monotonic_time ());
      bench_search_results++;
    }
}

/* A new text (or none): the servers' answer to the old one no longer applies. */
static void
pb_window_reset_server_search (PbWindow *self)
{
  pb_window_clear_search_rest (self);
  g_clear_handle_id (&self->server_search_id, g_source_remove);
  g_cancellable_cancel (self->server_cancellable);
  g_clear_pointer (&self->server_text, g_free);
  g_ptr_array_set_size (self->server_items, 0);
  g_clear_object (&self->search_store);
}

static void
pb_window_run_search (PbWindow *self)
{
  g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  if (self->search_text == NULL || self->monitor == NULL)
    return;
  self->search_cancellable = g_cancellable_new ();
  pb_store_search_async (pb_sync_monitor_get_store (self->monitor), self->search_text,
                         SEARCH_LIMIT, self->search_cancellable, search_cb, g_object_ref (self));
}

static void
search_changed_cb (PbWindow       *self,
                   GtkSearchEntry *entry)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  g_autofree char *stripped = g_strstrip (g_strdup (text));

  g_clear_pointer (&self->search_text, g_free);
  pb_window_reset_server_search (self);
  if (*stripped == '\0')
    {
      g_cancellable_cancel (self->search_cancellable);
      pb_window_set_message_model (self, self->folder_model);
      return;
    }
  self->search_text = g_steal_pointer (&stripped);
  if (g_getenv ("POSTBOTE_BENCH") != NULL)
    g_printerr ("POSTBOTE_BENCH search-start %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
  pb_window_run_search (self);
}

static void
stop_search_cb (PbWindow *self)
{
  gtk_search_bar_set_search_mode (self->search_bar, FALSE);
}

static void
search_mode_cb (PbWindow *self)
{
  if (!gtk_search_bar_get_search_mode (self->search_bar))
    {
      gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
      g_clear_pointer (&self->search_text, g_free);
      g_cancellable_cancel (self->search_cancellable);
      pb_window_reset_server_search (self);
      pb_window_set_message_model (self, self->folder_model);
    }
}

/* Sync state and store changes */

static void
store_changed_cb (PbWindow *self)
{
  if (self->search_text != NULL)
    pb_window_run_search (self);
  if (PB_IS_MESSAGE_LIST (self->folder_model))
    pb_message_list_refresh (PB_MESSAGE_LIST (self->folder_model));
  else if (self->folder != NULL)
    /* The folder was not in the store yet; perhaps it is now. */
    pb_window_show_folder (self);
}

static void
pb_window_update_sync_status (PbWindow *self)
{
  GListModel *accounts = G_LIST_MODEL (self->account_manager);
  gboolean offline = FALSE;
  double progress = -1;

  if (self->monitor != NULL)
    {
      for (guint i = 0; i < g_list_model_get_n_items (accounts); i++)
        {
          g_autoptr (PbAccount) account = g_list_model_get_item (accounts, i);

          if (pb_sync_monitor_get_state (self->monitor, pb_account_get_name (account), NULL)
              == PB_SYNC_STATE_OFFLINE)
            offline = TRUE;
        }
      progress = pb_sync_monitor_get_progress (self->monitor);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->offline_label), offline);
  gtk_widget_set_visible (GTK_WIDGET (self->sync_progress), progress >= 0);
  if (progress >= 0)
    gtk_progress_bar_set_fraction (self->sync_progress, progress);
}

/**
 * pb_window_set_sync_monitor:
 * @monitor: the sync of this window's accounts, which also gives the store
 */
void
pb_window_set_sync_monitor (PbWindow      *self,
                            PbSyncMonitor *monitor)
{
  g_return_if_fail (PB_IS_WINDOW (self));
  g_return_if_fail (PB_IS_SYNC_MONITOR (monitor));

  if (self->monitor == monitor)
    return;
  g_return_if_fail (self->monitor == NULL);

  self->monitor = g_object_ref (monitor);
  g_signal_connect_object (monitor, "state-changed", G_CALLBACK (pb_window_update_sync_status),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (monitor, "progress-changed",
                           G_CALLBACK (pb_window_update_sync_status), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (pb_sync_monitor_get_store (monitor), "changed",
                           G_CALLBACK (store_changed_cb), self, G_CONNECT_SWAPPED);
  pb_folder_list_set_monitor (self->folder_list, monitor);
  pb_window_update_sync_status (self);

  if (self->folder != NULL)
    pb_window_show_folder (self);
  else
    pb_folder_list_select_unified_inbox (self->folder_list);
}

static void
app_monitor_cb (PbWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  PbSyncMonitor *monitor = NULL;

  if (!PB_IS_APPLICATION (app) || self->monitor != NULL)
    return;
  if (pb_application_get_account_manager (PB_APPLICATION (app)) == self->account_manager)
    monitor = pb_application_get_sync_monitor (PB_APPLICATION (app));
  else if (pb_application_get_store (PB_APPLICATION (app)) != NULL)
    {
      /* A window over other accounts than the application's (tests) syncs them itself. */
      g_autoptr (PbSyncMonitor) own = pb_sync_monitor_new (self->account_manager,
                                                           pb_application_get_store (
                                                             PB_APPLICATION (app)));
      pb_window_set_sync_monitor (self, own);
      return;
    }
  if (monitor != NULL)
    pb_window_set_sync_monitor (self, monitor);
}

/* Leaflet and state */

static void
pb_window_update_accounts_page (PbWindow *self)
{
  gboolean have_accounts = g_list_model_get_n_items (G_LIST_MODEL (self->account_manager)) > 0;

  gtk_stack_set_visible_child_name (self->main_stack, have_accounts ? "accounts" : "no-accounts");
}

static void
accounts_changed_cb (PbWindow   *self,
                     guint       position,
                     guint       removed,
                     guint       added,
                     GListModel *model)
{
  pb_window_update_accounts_page (self);
}

static void
back_clicked_cb (PbWindow  *self,
                 GtkButton *button)
{
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static void
update_password_cb (PbWindow     *self,
                    PbAccount    *account,
                    PbFolderList *folder_list)
{
  pb_window_ask_password (self, account);
}

static void
message_dropped_cb (PbWindow     *self,
                    PbAccount    *account,
                    PbFolderInfo *folder,
                    const char   *payload,
                    PbFolderList *folder_list)
{
  g_auto (GStrv) parts = g_strsplit (payload, ":", 2);
  gint64 folder_id;
  guint64 uid;

  if (g_strv_length (parts) != 2
      || !g_ascii_string_to_signed (parts[0], 10, 1, G_MAXINT64, &folder_id, NULL)
      || !g_ascii_string_to_unsigned (parts[1], 10, 1, G_MAXUINT32, &uid, NULL))
    return;
  pb_window_move_message (self, folder_id, (guint32) uid, account, folder);
}

static GSettings *
pb_window_create_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;

  /* Without the schema (a run from the build tree without GSETTINGS_SCHEMA_DIR) the window
   * still works; it just does not remember its size. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema == NULL)
    {
      g_warning ("GSettings schema %s is not installed; the window size will not be saved",
                 APP_ID);
      return NULL;
    }

  return g_settings_new_full (schema, NULL, NULL);
}

static void
pb_window_restore_state (PbWindow *self)
{
  int width, height;

  if (self->settings == NULL)
    return;

  width = g_settings_get_int (self->settings, "window-width");
  height = g_settings_get_int (self->settings, "window-height");
  gtk_window_set_default_size (GTK_WINDOW (self), width, height);
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
}

static void
pb_window_save_state (PbWindow *self)
{
  int width, height;

  if (self->settings == NULL)
    return;

  /* The default size is the unmaximized size, which is what the next start should restore. */
  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_delay (self->settings);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized",
                          gtk_window_is_maximized (GTK_WINDOW (self)));
  g_settings_apply (self->settings);
}

static gboolean
pb_window_close_request (GtkWindow *window)
{
  GtkWindowClass *parent_class = GTK_WINDOW_CLASS (pb_window_parent_class);
  GtkApplication *app = gtk_window_get_application (window);

  pb_window_save_state (PB_WINDOW (window));
  if (PB_IS_APPLICATION (app))
    pb_application_window_closing (PB_APPLICATION (app));

  return parent_class->close_request != NULL ? parent_class->close_request (window) : FALSE;
}

/* POSTBOTE_BENCH=1: timestamps for tests/bench/ui-scale, on stderr (monotonic µs, the clock
 * of Python's time.monotonic()). After the first rows the window scrolls the list from top to
 * bottom in 20 jumps, each waiting until the rows shown are filled from the store, then
 * searches for $POSTBOTE_BENCH_SEARCH and quits. */
typedef struct {
  PbWindow *window;
  guint     step;
  guint     searches;
} BenchState;

static void
bench_print_rss (const char *stage)
{
  g_autofree char *status = NULL;
  const char *line;

  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL)
      && (line = strstr (status, "VmRSS:")) != NULL)
    g_printerr ("POSTBOTE_BENCH rss %s %ld\n", stage, strtol (line + 6, NULL, 10));
}

static gboolean
bench_rows_loaded (PbWindow *self)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->message_view));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *row = gtk_widget_get_first_child (child);

      if (PB_IS_MESSAGE_ROW (row) && gtk_widget_get_mapped (row)
          && pb_message_row_get_item (PB_MESSAGE_ROW (row)) != NULL
          && !pb_message_item_get_loaded (pb_message_row_get_item (PB_MESSAGE_ROW (row))))
        return FALSE;
    }
  return TRUE;
}

static gboolean
bench_quit_cb (gpointer data)
{
  g_application_quit (g_application_get_default ());
  return G_SOURCE_REMOVE;
}

static gboolean
bench_step_cb (gpointer data)
{
  BenchState *state = data;
  PbWindow *self = state->window;
  GtkAdjustment *adjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (self->message_view));
  const char *query = g_getenv ("POSTBOTE_BENCH_SEARCH");
  double upper, page;

  if (!bench_rows_loaded (self))
    return G_SOURCE_CONTINUE;

  if (state->step <= 20)
    {
      upper = gtk_adjustment_get_upper (adjustment);
      page = gtk_adjustment_get_page_size (adjustment);
      if (state->step == 0)
        g_printerr ("POSTBOTE_BENCH scroll-start %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
      gtk_adjustment_set_value (adjustment, (upper - page) * state->step / 20.0);
      state->step++;
      return G_SOURCE_CONTINUE;
    }
  if (state->step == 21)
    {
      g_printerr ("POSTBOTE_BENCH scroll-done %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
      bench_print_rss ("after-scroll");
      state->step++;
      if (query != NULL && *query != '\0')
        {
          gtk_search_bar_set_search_mode (self->search_bar, TRUE);
          gtk_editable_set_text (GTK_EDITABLE (self->search_entry), query);
          return G_SOURCE_CONTINUE;
        }
    }
  if (query != NULL && *query != '\0' && bench_search_results <= state->searches)
    return G_SOURCE_CONTINUE;   /* the results are not in yet */
  /* Three searches, as when typing on: the word less its last letter (a prefix finds the
   * same), then the word again. The first one finds cold caches, like notmuch's first run. */
  if (query != NULL && *query != '\0' && ++state->searches < 3)
    {
      g_autofree char *text = g_strndup (query, strlen (query) - (state->searches == 1));

      gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text);
      return G_SOURCE_CONTINUE;
    }
  bench_print_rss ("end");
  g_timeout_add (300, bench_quit_cb, NULL);
  g_free (state);
  return G_SOURCE_REMOVE;
}

static void
bench_frame_cb (GdkFrameClock *clock,
                PbWindow      *self)
{
  GListModel *model = pb_window_get_message_model (self);
  static gboolean first_frame_done;
  static gboolean rows_done;

  if (!first_frame_done)
    {
      first_frame_done = TRUE;
      g_printerr ("POSTBOTE_BENCH first-frame %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
      {
        guint n = 0;

        /* GTK 4.8's list view makes up to 200 rows whatever it shows; 4.12 only those shown. */
        for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->message_view));
             child != NULL; child = gtk_widget_get_next_sibling (child))
          n += PB_IS_MESSAGE_ROW (gtk_widget_get_first_child (child));
        g_printerr ("POSTBOTE_BENCH list-rows %u\n", n);
      }
      bench_print_rss ("first-frame");
    }
  if (!rows_done && model != NULL && g_list_model_get_n_items (model) > 0
      && bench_rows_loaded (self))
    {
      BenchState *state = g_new0 (BenchState, 1);

      rows_done = TRUE;
      g_printerr ("POSTBOTE_BENCH first-rows %u %" G_GINT64_FORMAT "\n",
                  g_list_model_get_n_items (model), g_get_monotonic_time ());
      bench_print_rss ("first-rows");
      state->window = self;
      g_timeout_add (10, bench_step_cb, state);
    }
}

static void
bench_realize_cb (PbWindow *self)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));

  g_signal_connect_object (clock, "after-paint", G_CALLBACK (bench_frame_cb), self, 0);
}

static void
app_changed_cb (PbWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  if (!PB_IS_APPLICATION (app) || g_object_get_data (G_OBJECT (self), "pb-app-watched"))
    return;
  g_object_set_data (G_OBJECT (self), "pb-app-watched", app);
  g_signal_connect_object (app, "notify::sync-monitor", G_CALLBACK (app_monitor_cb), self,
                           G_CONNECT_SWAPPED);
  app_monitor_cb (self);
}

static void
pb_window_constructed (GObject *object)
{
  PbWindow *self = PB_WINDOW (object);

  G_OBJECT_CLASS (pb_window_parent_class)->constructed (object);

  pb_bench_mark ("win-constructed");
  g_assert (self->account_manager != NULL);

  self->settings = pb_window_create_settings ();
  pb_window_restore_state (self);
  if (self->settings != NULL)
    {
      g_autoptr (GAction) conversations = g_settings_create_action (self->settings,
                                                                    "conversations");

      /* A check item in the list's menu; the list is made again in the other mode. */
      g_action_map_add_action (G_ACTION_MAP (self), conversations);
      g_signal_connect_object (self->settings, "changed::conversations",
                               G_CALLBACK (pb_window_show_folder), self, G_CONNECT_SWAPPED);
    }

  g_signal_connect_object (self->account_manager, "items-changed",
                           G_CALLBACK (accounts_changed_cb), self, G_CONNECT_SWAPPED);
  pb_folder_list_set_account_manager (self->folder_list, self->account_manager);
  pb_window_update_accounts_page (self);

  if (g_getenv ("POSTBOTE_BENCH") != NULL)
    g_signal_connect (self, "realize", G_CALLBACK (bench_realize_cb), NULL);

  /* GObject sets the application after constructed(). */
  g_signal_connect (self, "notify::application", G_CALLBACK (app_changed_cb), NULL);
  app_changed_cb (self);
}

static void
pb_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  PbWindow *self = PB_WINDOW (object);

  switch (prop_id)
    {
    case PROP_ACCOUNT_MANAGER:
      g_value_set_object (value, self->account_manager);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  PbWindow *self = PB_WINDOW (object);

  switch (prop_id)
    {
    case PROP_ACCOUNT_MANAGER:
      self->account_manager = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_window_dispose (GObject *object)
{
  PbWindow *self = PB_WINDOW (object);

  pb_window_dispose_actions (self);
  g_clear_handle_id (&self->mark_read_id, g_source_remove);
  if (self->search_cancellable != NULL)
    g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  g_clear_pointer (&self->search_text, g_free);
  pb_window_clear_search_rest (self);
  g_clear_handle_id (&self->server_search_id, g_source_remove);
  if (self->server_cancellable != NULL)
    g_cancellable_cancel (self->server_cancellable);
  g_clear_object (&self->server_cancellable);
  g_clear_pointer (&self->server_text, g_free);
  g_clear_pointer (&self->server_items, g_ptr_array_unref);
  g_clear_object (&self->search_store);
  if (self->message_view != NULL)
    gtk_list_view_set_model (self->message_view, NULL);
  if (self->search_view != NULL)
    gtk_list_view_set_model (self->search_view, NULL);
  for (guint i = 0; i < 2; i++)
    {
      GtkSingleSelection **selection = i == 0 ? &self->folder_selection : &self->search_selection;
      GListModel *old;

      if (*selection == NULL)
        continue;
      old = gtk_single_selection_get_model (*selection);
      g_signal_handlers_disconnect_by_data (*selection, self);
      if (old != NULL)
        g_signal_handlers_disconnect_by_data (old, self);
      g_clear_object (selection);
    }
  self->selection = NULL;
  g_clear_object (&self->folder_model);
  g_clear_object (&self->shown_item);
  g_clear_object (&self->folder_account);
  g_clear_object (&self->folder);
  g_clear_object (&self->monitor);
  g_clear_object (&self->settings);
  g_clear_object (&self->account_manager);

  G_OBJECT_CLASS (pb_window_parent_class)->dispose (object);
}

static void
pb_window_class_init (PbWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = pb_window_constructed;
  object_class->get_property = pb_window_get_property;
  object_class->set_property = pb_window_set_property;
  object_class->dispose = pb_window_dispose;

  window_class->close_request = pb_window_close_request;

  /**
   * PbWindow:account-manager:
   *
   * The accounts whose folders the sidebar shows.
   */
  properties[PROP_ACCOUNT_MANAGER] =
    g_param_spec_object ("account-manager", NULL, NULL,
                         PB_TYPE_ACCOUNT_MANAGER,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (PB_TYPE_FOLDER_LIST);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/postbote/Postbote/window/pb-window.ui");
  gtk_widget_class_bind_template_child (widget_class, PbWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, sidebar_pane);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, content_pane);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, reader_pane);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, folder_list);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, content_title);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, message_view);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, search_view);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, search_bar);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, reader_stack);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, reader_bin);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, offline_label);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, sync_progress);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, empty_page);
  gtk_widget_class_bind_template_callback (widget_class, folder_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, back_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, stop_search_cb);
  gtk_widget_class_bind_template_callback (widget_class, update_password_cb);
  gtk_widget_class_bind_template_callback (widget_class, message_dropped_cb);

  pb_window_class_init_actions (widget_class);
}

static void
pb_window_init (PbWindow *self)
{
  GtkListItemFactory *factory;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->server_items = g_ptr_array_new_with_free_func (g_object_unref);

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row_cb), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_row_cb), self);
  gtk_list_view_set_factory (self->message_view, factory);
  gtk_list_view_set_factory (self->search_view, factory);
  g_object_unref (factory);
  for (guint i = 0; i < 2; i++)
    {
      GtkSingleSelection *selection = gtk_single_selection_new (NULL);

      gtk_single_selection_set_autoselect (selection, FALSE);
      gtk_single_selection_set_can_unselect (selection, TRUE);
      g_signal_connect_swapped (selection, "selection-changed",
                                G_CALLBACK (selection_changed_cb), self);
      gtk_list_view_set_model (i == 0 ? self->message_view : self->search_view,
                               GTK_SELECTION_MODEL (selection));
      if (i == 0)
        self->folder_selection = selection;
      else
        self->search_selection = selection;
    }
  self->selection = self->folder_selection;
  gtk_list_view_set_single_click_activate (self->message_view, FALSE);
  g_signal_connect_swapped (self->message_view, "activate", G_CALLBACK (list_activate_cb), self);
  g_signal_connect_swapped (self->search_view, "activate", G_CALLBACK (list_activate_cb), self);
  gtk_list_view_set_single_click_activate (self->search_view, FALSE);

  g_signal_connect_swapped (self->search_bar, "notify::search-mode-enabled",
                            G_CALLBACK (search_mode_cb), self);
  gtk_search_bar_connect_entry (self->search_bar, GTK_EDITABLE (self->search_entry));

  self->reader = pb_reader_new ();
  adw_bin_set_child (self->reader_bin, self->reader);
  pb_window_update_actions (self);
}
