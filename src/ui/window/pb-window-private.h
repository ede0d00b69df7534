/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-folder-list.h"
#include "pb-message-item.h"
#include "pb-window.h"

G_BEGIN_DECLS

struct _PbWindow
{
  AdwApplicationWindow  parent_instance;

  PbAccountManager     *account_manager;
  PbSyncMonitor        *monitor;
  GSettings            *settings;

  /* What the message list shows: a folder (PbMessageList) or search results (GListStore). */
  GListModel           *folder_model;
  /* The folder's list and the search results have a list view each, so that a search never
   * makes the folder's view drop its 100,000 rows (and back); `selection` is the one shown. */
  GtkSingleSelection   *folder_selection;
  GtkSingleSelection   *search_selection;
  GtkSingleSelection   *selection;
  PbAccount            *folder_account;   /* NULL for the unified inbox */
  PbFolderInfo         *folder;
  GCancellable         *search_cancellable;
  char                 *search_text;
  /* The servers are asked too, about mail whose text is not downloaded (offline-days),
   * once the text has stayed the same for a moment; their matches join the local ones. */
  GListStore           *search_store;          /* the results shown */
  /* Local results beyond the first screenful, added after the first frame (see search_cb). */
  GPtrArray            *search_rest;
  guint                 search_rest_pos;
  guint                 search_rest_id;
  GPtrArray            *server_items;          /* the servers' matches for server_text */
  char                 *server_text;
  GCancellable         *server_cancellable;
  guint                 server_search_id;

  /* The message shown in the reader, and marking it read after a moment. */
  PbMessageItem        *shown_item;
  guint                 mark_read_id;

  /* The last undoable operation (see pb-window-actions.c). */
  gpointer              undo;
  AdwToast             *undo_toast;

  /* Template children */
  AdwToastOverlay      *toast_overlay;
  GtkStack             *main_stack;
  AdwLeaflet           *leaflet;
  GtkWidget            *sidebar_pane;
  GtkWidget            *content_pane;
  GtkWidget            *reader_pane;
  PbFolderList         *folder_list;
  AdwWindowTitle       *content_title;
  GtkStack             *content_stack;
  GtkListView          *message_view;
  GtkListView          *search_view;
  GtkSearchBar         *search_bar;
  GtkSearchEntry       *search_entry;
  GtkStack             *reader_stack;
  AdwBin               *reader_bin;
  GtkWidget            *reader;
  GtkLabel             *offline_label;
  GtkProgressBar       *sync_progress;
  AdwStatusPage        *empty_page;
};

/* pb-window.c */
PbMessageItem *pb_window_get_selected_item   (PbWindow       *self);
gboolean       pb_window_lookup_folder       (PbWindow       *self,
                                              gint64          folder_id,
                                              PbAccount     **account,
                                              PbFolderInfo  **folder);
void           pb_window_add_toast           (PbWindow       *self,
                                              AdwToast       *toast);

/* pb-window-actions.c */
void           pb_window_class_init_actions  (GtkWidgetClass *widget_class);
void           pb_window_update_actions      (PbWindow       *self);
void           pb_window_mark_read           (PbWindow       *self,
                                              PbMessageItem  *item);
void           pb_window_move_message        (PbWindow       *self,
                                              gint64          folder_id,
                                              guint32         uid,
                                              PbAccount      *account,
                                              PbFolderInfo   *destination);
void           pb_window_ask_password        (PbWindow       *self,
                                              PbAccount      *account);
void           pb_window_dispose_actions     (PbWindow       *self);

G_END_DECLS
