/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-folder-list"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "pb-folder-list.h"
#include "pb-folder-row.h"

/*
 * The sidebar: the unified inbox, then for each account a header row with its name and
 * address, then its folders with their unread counts. Everything comes from the local store
 * (never the server): each account is a "section" of the one list box, read on a worker
 * thread when the store changes. Before the first sync put the folders there, the section
 * shows a spinner; when the account's sync fails, an error row with the way out (Retry, or
 * Update… for a rejected password) above the folders. Folders are few, so a GtkListBox is
 * enough.
 */

typedef struct
{
  PbFolderInfo *info;
  gint64        id;
  guint         unread;
} FolderData;

static void
folder_data_free (FolderData *data)
{
  g_clear_object (&data->info);
  g_free (data);
}

typedef struct
{
  /* The list this section is shown in; NULL once it is not shown any more, so that a reply
   * arriving late is dropped. */
  PbFolderList *list;
  PbAccount    *account;
  GCancellable *cancellable;
  /* The account's header row and the rows below it, all owned by the list box. */
  GtkWidget    *header;
  GPtrArray    *rows;
  /* The folder paths shown, to tell whether a new read changes more than the counts. */
  GStrv         paths;
  guint         inbox_unread;
} Section;

struct _PbFolderList
{
  AdwBin            parent_instance;

  PbAccountManager *account_manager;
  PbSyncMonitor    *monitor;
  GPtrArray        *sections;
  GtkWidget        *unified_row;
  /* Set while rows are replaced: a selection that moves to the new row of the same folder
   * is not a new selection. */
  gboolean          in_rebuild;
  /* Set while disposing: taking the rows out must not look like the user unselecting. */
  gboolean          in_dispose;

  /* Template children */
  GtkListBox       *list_box;
};

G_DEFINE_FINAL_TYPE (PbFolderList, pb_folder_list, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_ACCOUNT_MANAGER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  FOLDER_SELECTED,
  UPDATE_PASSWORD,
  MESSAGE_DROPPED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void section_load (Section *section);

static void
section_clear (Section *section)
{
  g_assert (section->list == NULL);

  g_clear_object (&section->account);
  g_clear_object (&section->cancellable);
  g_clear_pointer (&section->rows, g_ptr_array_unref);
  g_clear_pointer (&section->paths, g_strfreev);
}

static Section *
section_ref (Section *section)
{
  return g_rc_box_acquire (section);
}

static void
section_unref (Section *section)
{
  g_rc_box_release_full (section, (GDestroyNotify) section_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Section, section_unref)

static void
section_closure_notify (gpointer  data,
                        GClosure *closure)
{
  section_unref (data);
}

static void
section_add_row (Section   *section,
                 GtkWidget *row)
{
  int position = gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (section->header)) + 1;

  gtk_list_box_insert (section->list->list_box, row, position + (int) section->rows->len);
  g_ptr_array_add (section->rows, row);
}

static void
section_remove_rows (Section *section)
{
  for (guint i = 0; i < section->rows->len; i++)
    gtk_list_box_remove (section->list->list_box, g_ptr_array_index (section->rows, i));
  g_ptr_array_set_size (section->rows, 0);
}

/* Stops loading and takes the section's rows out of the list. */
static void
section_detach (Section *section)
{
  if (section->list == NULL)
    return;

  g_cancellable_cancel (section->cancellable);
  section_remove_rows (section);
  gtk_list_box_remove (section->list->list_box, section->header);
  section->header = NULL;
  section->list = NULL;
}

static GtkWidget *
create_account_row (PbAccount *account)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *subtitle = gtk_label_new (NULL);
  const char *email = pb_account_get_email (account);

  gtk_widget_set_name (row, "account-row");
  gtk_widget_add_css_class (row, "account-header");
  gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_focusable (row, FALSE);

  /* Names and addresses come from the user and the server: always plain text. */
  gtk_widget_set_name (title, "account-title");
  gtk_label_set_text (GTK_LABEL (title), pb_account_get_name (account));
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (title, "heading");

  gtk_widget_set_name (subtitle, "account-subtitle");
  gtk_label_set_text (GTK_LABEL (subtitle), email != NULL ? email : "");
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
  gtk_label_set_ellipsize (GTK_LABEL (subtitle), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_add_css_class (subtitle, "caption");
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_widget_set_visible (subtitle, email != NULL && *email != '\0');

  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), subtitle);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);

  return row;
}

static GtkWidget *
create_status_row (const char *name)
{
  GtkWidget *row = gtk_list_box_row_new ();

  gtk_widget_set_name (row, name);
  gtk_widget_add_css_class (row, "status-row");
  gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_focusable (row, FALSE);

  return row;
}

static GtkWidget *
create_loading_row (void)
{
  GtkWidget *row = create_status_row ("loading-row");
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *spinner = gtk_spinner_new ();
  GtkWidget *label = gtk_label_new (_("Loading folders…"));

  gtk_spinner_start (GTK_SPINNER (spinner));
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_box_append (GTK_BOX (box), spinner);
  gtk_box_append (GTK_BOX (box), label);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);

  return row;
}

static void
retry_clicked_cb (GtkButton *button,
                  Section   *section)
{
  if (section->list != NULL && section->list->monitor != NULL)
    pb_sync_monitor_retry (section->list->monitor, pb_account_get_name (section->account));
}

static void
update_clicked_cb (GtkButton *button,
                   Section   *section)
{
  if (section->list != NULL)
    g_signal_emit (section->list, signals[UPDATE_PASSWORD], 0, section->account);
}

static GtkWidget *
create_error_row (Section      *section,
                  PbSyncState   state,
                  const GError *error)
{
  GtkWidget *row = create_status_row ("error-row");
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *message_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *icon = gtk_image_new_from_icon_name (state == PB_SYNC_STATE_OFFLINE
                                                  ? "network-offline-symbolic"
                                                  : "dialog-warning-symbolic");
  GtkWidget *label = gtk_label_new (NULL);
  gboolean auth = pb_sync_monitor_is_auth_error (error);
  GtkWidget *button;

  gtk_widget_add_css_class (icon, "warning");
  gtk_widget_set_valign (icon, GTK_ALIGN_START);

  /* The message may quote the server: plain text, never markup. */
  gtk_widget_set_name (label, "error-label");
  gtk_label_set_use_markup (GTK_LABEL (label), FALSE);
  if (auth)
    {
      g_autofree char *text = g_strdup_printf ("%s\n%s", _("Password rejected"), error->message);
      gtk_label_set_text (GTK_LABEL (label), text);
    }
  else
    gtk_label_set_text (GTK_LABEL (label), error->message);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_widget_set_hexpand (label, TRUE);

  if (auth)
    {
      button = gtk_button_new_with_mnemonic (_("_Update…"));
      gtk_widget_set_name (button, "update-password-button");
      g_signal_connect_data (button, "clicked", G_CALLBACK (update_clicked_cb),
                             section_ref (section), section_closure_notify, 0);
    }
  else
    {
      button = gtk_button_new_with_mnemonic (_("_Retry"));
      gtk_widget_set_name (button, "retry-button");
      g_signal_connect_data (button, "clicked", G_CALLBACK (retry_clicked_cb),
                             section_ref (section), section_closure_notify, 0);
    }
  gtk_widget_set_halign (button, GTK_ALIGN_START);
  gtk_widget_set_margin_start (button, 28);

  gtk_box_append (GTK_BOX (message_box), icon);
  gtk_box_append (GTK_BOX (message_box), label);
  gtk_box_append (GTK_BOX (box), message_box);
  gtk_box_append (GTK_BOX (box), button);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);

  return row;
}

static GtkWidget *
create_empty_row (void)
{
  GtkWidget *row = create_status_row ("empty-row");
  GtkWidget *label = gtk_label_new (_("No folders"));

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), label);

  return row;
}

/* Rows take messages dragged from the message list: the window moves them. */
static gboolean
row_drop_cb (GtkDropTarget *target,
             const GValue  *value,
             double         x,
             double         y,
             PbFolderRow   *row)
{
  PbFolderList *self = PB_FOLDER_LIST (gtk_widget_get_ancestor (GTK_WIDGET (row),
                                                                PB_TYPE_FOLDER_LIST));

  if (self == NULL || !G_VALUE_HOLDS_STRING (value) || g_value_get_string (value) == NULL)
    return FALSE;
  g_signal_emit (self, signals[MESSAGE_DROPPED], 0, pb_folder_row_get_account (row),
                 pb_folder_row_get_folder (row), g_value_get_string (value));
  return TRUE;
}

static GtkWidget *
create_folder_row (PbAccount    *account,
                   PbFolderInfo *folder)
{
  GtkWidget *row = pb_folder_row_new (account, folder);

  if (account != NULL && pb_folder_info_get_selectable (folder))
    {
      GtkDropTarget *target = gtk_drop_target_new (G_TYPE_STRING, GDK_ACTION_MOVE);

      g_signal_connect (target, "drop", G_CALLBACK (row_drop_cb), row);
      gtk_widget_add_controller (row, GTK_EVENT_CONTROLLER (target));
    }
  return row;
}

/* Adds a row for @folder, after rows for any of its parents not shown yet. A server may list
 * "A/B" without "A" (IMAP allows it, and some servers leave out parents that cannot hold mail);
 * such parents get a row that cannot be selected, so that nesting always reads correctly. */
static void
section_add_folder_row (Section      *section,
                        FolderData   *data,
                        GHashTable   *shown)
{
  const char *path = pb_folder_info_get_path (data->info);
  GtkWidget *row;

  for (const char *slash = strchr (path, '/'); slash != NULL; slash = strchr (slash + 1, '/'))
    {
      g_autofree char *ancestor = g_strndup (path, slash - path);

      if (!g_hash_table_contains (shown, ancestor))
        {
          g_autoptr (PbFolderInfo) parent = pb_folder_info_new (ancestor, PB_FOLDER_ROLE_NONE,
                                                                FALSE);

          section_add_row (section, create_folder_row (section->account, parent));
          g_hash_table_add (shown, g_steal_pointer (&ancestor));
        }
    }

  row = create_folder_row (section->account, data->info);
  pb_folder_row_set_folder_id (PB_FOLDER_ROW (row), data->id);
  pb_folder_row_set_unread (PB_FOLDER_ROW (row), data->unread);
  section_add_row (section, row);
  g_hash_table_add (shown, g_strdup (path));
}

static gboolean
is_special_top_level (PbFolderInfo *folder)
{
  return pb_folder_info_get_role (folder) != PB_FOLDER_ROLE_NONE
         && pb_folder_info_get_depth (folder) == 0;
}

/* Adds the folders in the engine's order (special folders, then the tree with every parent
 * right before its children), except that subfolders of a special folder ("Archive/2024",
 * "INBOX/Receipts") follow that folder at the top instead of floating in the tree without
 * their parent. */
static void
section_add_folder_rows (Section   *section,
                         GPtrArray *folders)
{
  g_autoptr (GHashTable) shown = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) children = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                           (GDestroyNotify) g_ptr_array_unref);
  g_autoptr (GPtrArray) top = g_ptr_array_new ();
  g_autoptr (GPtrArray) tree = g_ptr_array_new ();

  for (guint i = 0; i < folders->len; i++)
    {
      FolderData *data = g_ptr_array_index (folders, i);

      if (is_special_top_level (data->info))
        {
          g_ptr_array_add (top, data);
          g_hash_table_insert (children, (gpointer) pb_folder_info_get_path (data->info),
                               g_ptr_array_new ());
        }
    }

  for (guint i = 0; i < folders->len; i++)
    {
      FolderData *data = g_ptr_array_index (folders, i);
      const char *path = pb_folder_info_get_path (data->info);
      const char *slash = strchr (path, '/');
      GPtrArray *below = NULL;

      if (is_special_top_level (data->info))
        continue;
      if (slash != NULL)
        {
          g_autofree char *top_level = g_strndup (path, slash - path);
          below = g_hash_table_lookup (children, top_level);
        }
      g_ptr_array_add (below != NULL ? below : tree, data);
    }

  for (guint i = 0; i < top->len; i++)
    {
      FolderData *data = g_ptr_array_index (top, i);
      GPtrArray *below = g_hash_table_lookup (children, pb_folder_info_get_path (data->info));

      section_add_folder_row (section, data, shown);
      for (guint j = 0; j < below->len; j++)
        section_add_folder_row (section, g_ptr_array_index (below, j), shown);
    }
  for (guint i = 0; i < tree->len; i++)
    section_add_folder_row (section, g_ptr_array_index (tree, i), shown);
}

static void
pb_folder_list_update_unified (PbFolderList *self)
{
  guint unread = 0;

  if (self->unified_row == NULL)
    return;
  for (guint i = 0; i < self->sections->len; i++)
    unread += ((Section *) g_ptr_array_index (self->sections, i))->inbox_unread;
  pb_folder_row_set_unread (PB_FOLDER_ROW (self->unified_row), unread);
}

static GStrv
folder_paths (GPtrArray *folders)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < folders->len; i++)
    g_strv_builder_add (builder,
                        pb_folder_info_get_path (((FolderData *) g_ptr_array_index (folders,
                                                                                   i))->info));
  return g_strv_builder_end (builder);
}

/* Only the counts changed: update the rows in place, so that selection and focus stay. */
static gboolean
section_update_counts (Section   *section,
                       GPtrArray *folders)
{
  g_autoptr (GHashTable) by_path = g_hash_table_new (g_str_hash, g_str_equal);
  guint n_folder_rows = 0;

  for (guint i = 0; i < folders->len; i++)
    {
      FolderData *data = g_ptr_array_index (folders, i);
      g_hash_table_insert (by_path, (gpointer) pb_folder_info_get_path (data->info), data);
    }
  for (guint i = 0; i < section->rows->len; i++)
    {
      GtkWidget *row = g_ptr_array_index (section->rows, i);
      FolderData *data;

      if (!PB_IS_FOLDER_ROW (row))
        continue;
      data = g_hash_table_lookup (by_path,
                                  pb_folder_info_get_path (
                                    pb_folder_row_get_folder (PB_FOLDER_ROW (row))));
      if (data == NULL)
        continue;
      n_folder_rows++;
      pb_folder_row_set_folder_id (PB_FOLDER_ROW (row), data->id);
      pb_folder_row_set_unread (PB_FOLDER_ROW (row), data->unread);
    }
  return n_folder_rows == folders->len;
}

static void
section_show (Section   *section,
              GPtrArray *folders)
{
  PbFolderList *self = section->list;
  PbSyncState state = PB_SYNC_STATE_SYNCING;
  const GError *error = NULL;
  g_auto (GStrv) paths = folders != NULL ? folder_paths (folders) : NULL;
  GtkListBoxRow *selected = gtk_list_box_get_selected_row (self->list_box);
  g_autofree char *selected_path = NULL;
  gboolean has_status_row = FALSE;
  gboolean want_status_row;

  if (self->monitor != NULL)
    state = pb_sync_monitor_get_state (self->monitor, pb_account_get_name (section->account),
                                       &error);
  want_status_row = error != NULL
                    && (state == PB_SYNC_STATE_ERROR || state == PB_SYNC_STATE_OFFLINE);

  section->inbox_unread = 0;
  for (guint i = 0; folders != NULL && i < folders->len; i++)
    {
      FolderData *data = g_ptr_array_index (folders, i);
      if (pb_folder_info_get_role (data->info) == PB_FOLDER_ROLE_INBOX)
        section->inbox_unread += data->unread;
    }
  pb_folder_list_update_unified (self);

  for (guint i = 0; i < section->rows->len; i++)
    if (!PB_IS_FOLDER_ROW (g_ptr_array_index (section->rows, i)))
      has_status_row = TRUE;

  /* Nothing but numbers changed (the common case after a sync): keep the rows. */
  if (folders != NULL && folders->len > 0 && !has_status_row && !want_status_row
      && section->paths != NULL && g_strv_equal ((const char * const *) paths,
                                                 (const char * const *) section->paths)
      && section_update_counts (section, folders))
    return;

  if (selected != NULL && PB_IS_FOLDER_ROW (selected)
      && pb_folder_row_get_account (PB_FOLDER_ROW (selected)) == section->account)
    selected_path = g_strdup (pb_folder_info_get_path (
                                pb_folder_row_get_folder (PB_FOLDER_ROW (selected))));

  self->in_rebuild = TRUE;
  section_remove_rows (section);
  g_clear_pointer (&section->paths, g_strfreev);

  if (want_status_row)
    section_add_row (section, create_error_row (section, state, error));
  if (folders != NULL && folders->len > 0)
    {
      section_add_folder_rows (section, folders);
      section->paths = g_steal_pointer (&paths);
    }
  else if (state == PB_SYNC_STATE_SYNCING)
    section_add_row (section, create_loading_row ());
  else if (!want_status_row)
    section_add_row (section, create_empty_row ());

  if (selected_path != NULL)
    for (guint i = 0; i < section->rows->len; i++)
      {
        GtkWidget *row = g_ptr_array_index (section->rows, i);

        if (PB_IS_FOLDER_ROW (row)
            && g_str_equal (pb_folder_info_get_path (
                              pb_folder_row_get_folder (PB_FOLDER_ROW (row))), selected_path))
          gtk_list_box_select_row (self->list_box, GTK_LIST_BOX_ROW (row));
      }
  self->in_rebuild = FALSE;
  if (selected_path != NULL && gtk_list_box_get_selected_row (self->list_box) == NULL)
    g_signal_emit (self, signals[FOLDER_SELECTED], 0, NULL, NULL);
}

/* Worker thread: the account's folders with their ids and unread counts. */
static void
read_folders_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  PbStore *store = source_object;
  const char *account = task_data;
  g_autoptr (GPtrArray) infos = NULL;
  g_autoptr (GPtrArray) folders = NULL;
  GError *error = NULL;

  infos = pb_store_list_folders (store, account, &error);
  if (infos == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  folders = g_ptr_array_new_with_free_func ((GDestroyNotify) folder_data_free);
  for (guint i = 0; i < infos->len; i++)
    {
      PbFolderInfo *info = g_ptr_array_index (infos, i);
      FolderData *data = g_new0 (FolderData, 1);

      data->info = g_object_ref (info);
      data->id = pb_store_lookup_folder (store, account, pb_folder_info_get_path (info), NULL);
      if (data->id > 0)
        pb_store_count_messages (store, data->id, NULL, &data->unread, NULL);
      g_ptr_array_add (folders, data);
    }
  g_task_return_pointer (task, g_steal_pointer (&folders), (GDestroyNotify) g_ptr_array_unref);
}

static void
read_folders_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (Section) section = user_data;
  g_autoptr (GPtrArray) folders = NULL;
  g_autoptr (GError) error = NULL;

  folders = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || section->list == NULL)
    return;
  if (folders == NULL)
    g_warning ("Could not read the folders of %s: %s", pb_account_get_name (section->account),
               error->message);
  section_show (section, folders);
}

static void
section_load (Section *section)
{
  g_autoptr (GTask) task = NULL;

  g_assert (section->list != NULL);

  if (section->list->monitor == NULL)
    {
      if (section->rows->len == 0)
        section_add_row (section, create_loading_row ());
      return;
    }

  g_cancellable_cancel (section->cancellable);
  g_clear_object (&section->cancellable);
  section->cancellable = g_cancellable_new ();

  /* The store is read on a worker thread; the reply comes back here. */
  task = g_task_new (pb_sync_monitor_get_store (section->list->monitor), section->cancellable,
                     read_folders_cb, section_ref (section));
  g_task_set_source_tag (task, section_load);
  g_task_set_task_data (task, g_strdup (pb_account_get_name (section->account)), g_free);
  g_task_run_in_thread (task, read_folders_thread);
}

static Section *
section_new (PbFolderList *self,
             PbAccount    *account)
{
  Section *section = g_rc_box_new0 (Section);

  section->list = self;
  section->account = g_object_ref (account);
  section->rows = g_ptr_array_new ();
  section->header = create_account_row (account);
  gtk_list_box_append (self->list_box, section->header);

  return section;
}

static void
pb_folder_list_detach_sections (PbFolderList *self)
{
  for (guint i = 0; i < self->sections->len; i++)
    section_detach (g_ptr_array_index (self->sections, i));
  g_ptr_array_set_size (self->sections, 0);
  if (self->unified_row != NULL)
    {
      gtk_list_box_remove (self->list_box, self->unified_row);
      self->unified_row = NULL;
    }
}

static void
pb_folder_list_rebuild (PbFolderList *self)
{
  guint n_accounts;

  pb_folder_list_detach_sections (self);

  if (self->account_manager == NULL)
    return;

  n_accounts = g_list_model_get_n_items (G_LIST_MODEL (self->account_manager));
  if (n_accounts > 0)
    {
      g_autoptr (PbFolderInfo) inbox = pb_folder_info_new ("INBOX", PB_FOLDER_ROLE_INBOX, TRUE);

      self->unified_row = create_folder_row (NULL, inbox);
      gtk_list_box_append (self->list_box, self->unified_row);
    }
  for (guint i = 0; i < n_accounts; i++)
    {
      g_autoptr (PbAccount) account = g_list_model_get_item (G_LIST_MODEL (self->account_manager),
                                                             i);
      Section *section = section_new (self, account);

      g_ptr_array_add (self->sections, section);
      section_load (section);
    }
}

/**
 * pb_folder_list_reload:
 *
 * Reads the folders and counts from the store again (after it changed).
 */
void
pb_folder_list_reload (PbFolderList *self)
{
  g_return_if_fail (PB_IS_FOLDER_LIST (self));

  for (guint i = 0; i < self->sections->len; i++)
    section_load (g_ptr_array_index (self->sections, i));
}

static void
store_changed_cb (PbFolderList *self)
{
  pb_folder_list_reload (self);
}

static void
sync_state_changed_cb (PbFolderList *self,
                       const char   *account)
{
  for (guint i = 0; i < self->sections->len; i++)
    {
      Section *section = g_ptr_array_index (self->sections, i);

      if (g_strcmp0 (pb_account_get_name (section->account), account) != 0)
        continue;
      /* A section without folders shows at once that a sync is running. */
      if (section->paths == NULL && self->monitor != NULL
          && pb_sync_monitor_get_state (self->monitor, account, NULL) == PB_SYNC_STATE_SYNCING)
        {
          section_remove_rows (section);
          section_add_row (section, create_loading_row ());
        }
      section_load (section);
    }
}

/**
 * pb_folder_list_set_monitor:
 * @monitor: (nullable): the sync of the accounts shown, which also gives the store
 *
 * Shows the folders that @monitor's store holds, and the state of each account's sync.
 */
void
pb_folder_list_set_monitor (PbFolderList  *self,
                            PbSyncMonitor *monitor)
{
  g_return_if_fail (PB_IS_FOLDER_LIST (self));

  if (self->monitor == monitor)
    return;
  if (self->monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->monitor, self);
      g_signal_handlers_disconnect_by_data (pb_sync_monitor_get_store (self->monitor), self);
    }
  g_set_object (&self->monitor, monitor);
  if (monitor != NULL)
    {
      g_signal_connect_object (monitor, "state-changed", G_CALLBACK (sync_state_changed_cb),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (pb_sync_monitor_get_store (monitor), "changed",
                               G_CALLBACK (store_changed_cb), self, G_CONNECT_SWAPPED);
    }
  pb_folder_list_reload (self);
}

/**
 * pb_folder_list_select_unified_inbox:
 *
 * Selects the unified inbox, as at start.
 */
void
pb_folder_list_select_unified_inbox (PbFolderList *self)
{
  g_return_if_fail (PB_IS_FOLDER_LIST (self));

  if (self->unified_row != NULL)
    gtk_list_box_select_row (self->list_box, GTK_LIST_BOX_ROW (self->unified_row));
}

/**
 * pb_folder_list_find_folder:
 * @account: (nullable): the account, %NULL for the unified inbox
 *
 * Returns: (transfer none) (nullable): the row of the folder at @path of @account
 */
PbFolderRow *
pb_folder_list_find_folder (PbFolderList *self,
                            PbAccount    *account,
                            const char   *path)
{
  g_return_val_if_fail (PB_IS_FOLDER_LIST (self), NULL);

  if (account == NULL)
    return self->unified_row != NULL ? PB_FOLDER_ROW (self->unified_row) : NULL;
  for (guint i = 0; i < self->sections->len; i++)
    {
      Section *section = g_ptr_array_index (self->sections, i);

      if (section->account != account)
        continue;
      for (guint j = 0; j < section->rows->len; j++)
        {
          GtkWidget *row = g_ptr_array_index (section->rows, j);

          if (PB_IS_FOLDER_ROW (row)
              && g_strcmp0 (pb_folder_info_get_path (
                              pb_folder_row_get_folder (PB_FOLDER_ROW (row))), path) == 0)
            return PB_FOLDER_ROW (row);
        }
    }
  return NULL;
}

/**
 * pb_folder_list_find_role:
 *
 * Returns: (transfer none) (nullable): the folder of @account with @role
 */
PbFolderInfo *
pb_folder_list_find_role (PbFolderList *self,
                          PbAccount    *account,
                          PbFolderRole  role)
{
  g_return_val_if_fail (PB_IS_FOLDER_LIST (self), NULL);

  for (guint i = 0; i < self->sections->len; i++)
    {
      Section *section = g_ptr_array_index (self->sections, i);

      if (section->account != account)
        continue;
      for (guint j = 0; j < section->rows->len; j++)
        {
          GtkWidget *row = g_ptr_array_index (section->rows, j);

          if (PB_IS_FOLDER_ROW (row)
              && pb_folder_info_get_role (pb_folder_row_get_folder (PB_FOLDER_ROW (row))) == role)
            return pb_folder_row_get_folder (PB_FOLDER_ROW (row));
        }
    }
  return NULL;
}

/**
 * pb_folder_list_list_folders:
 *
 * Returns: (transfer container) (element-type PbFolderRow): the rows of @account's folders
 *   that can hold messages
 */
GPtrArray *
pb_folder_list_list_folders (PbFolderList *self,
                             PbAccount    *account)
{
  GPtrArray *rows = g_ptr_array_new ();

  g_return_val_if_fail (PB_IS_FOLDER_LIST (self), rows);

  for (guint i = 0; i < self->sections->len; i++)
    {
      Section *section = g_ptr_array_index (self->sections, i);

      if (section->account != account)
        continue;
      for (guint j = 0; j < section->rows->len; j++)
        {
          GtkWidget *row = g_ptr_array_index (section->rows, j);

          if (PB_IS_FOLDER_ROW (row)
              && pb_folder_info_get_selectable (pb_folder_row_get_folder (PB_FOLDER_ROW (row))))
            g_ptr_array_add (rows, row);
        }
    }
  return rows;
}

static void
accounts_changed_cb (PbFolderList *self,
                     guint         position,
                     guint         removed,
                     guint         added,
                     GListModel   *model)
{
  /* Accounts change rarely and each has few folders: starting over is simplest. */
  pb_folder_list_rebuild (self);
}

static void
row_selected_cb (PbFolderList  *self,
                 GtkListBoxRow *row,
                 GtkListBox    *list_box)
{
  if (self->in_dispose || self->in_rebuild)
    return;

  if (PB_IS_FOLDER_ROW (row))
    g_signal_emit (self, signals[FOLDER_SELECTED], 0,
                   pb_folder_row_get_account (PB_FOLDER_ROW (row)),
                   pb_folder_row_get_folder (PB_FOLDER_ROW (row)));
  else
    g_signal_emit (self, signals[FOLDER_SELECTED], 0, NULL, NULL);
}

GtkWidget *
pb_folder_list_new (void)
{
  return g_object_new (PB_TYPE_FOLDER_LIST, NULL);
}

/**
 * pb_folder_list_get_account_manager:
 * @self: a #PbFolderList
 *
 * Returns: (transfer none) (nullable): the accounts shown
 */
PbAccountManager *
pb_folder_list_get_account_manager (PbFolderList *self)
{
  g_return_val_if_fail (PB_IS_FOLDER_LIST (self), NULL);

  return self->account_manager;
}

/**
 * pb_folder_list_set_account_manager:
 * @self: a #PbFolderList
 * @account_manager: (nullable): the accounts to show
 *
 * Shows the accounts of @account_manager and starts loading their folders.
 */
void
pb_folder_list_set_account_manager (PbFolderList     *self,
                                    PbAccountManager *account_manager)
{
  g_return_if_fail (PB_IS_FOLDER_LIST (self));
  g_return_if_fail (account_manager == NULL || PB_IS_ACCOUNT_MANAGER (account_manager));

  if (self->account_manager == account_manager)
    return;

  if (self->account_manager != NULL)
    g_signal_handlers_disconnect_by_func (self->account_manager, accounts_changed_cb, self);
  g_set_object (&self->account_manager, account_manager);
  if (self->account_manager != NULL)
    g_signal_connect_object (self->account_manager, "items-changed",
                             G_CALLBACK (accounts_changed_cb), self, G_CONNECT_SWAPPED);

  pb_folder_list_rebuild (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCOUNT_MANAGER]);
}

static void
pb_folder_list_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  PbFolderList *self = PB_FOLDER_LIST (object);

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
pb_folder_list_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  PbFolderList *self = PB_FOLDER_LIST (object);

  switch (prop_id)
    {
    case PROP_ACCOUNT_MANAGER:
      pb_folder_list_set_account_manager (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_folder_list_dispose (GObject *object)
{
  PbFolderList *self = PB_FOLDER_LIST (object);

  self->in_dispose = TRUE;
  if (self->sections != NULL)
    pb_folder_list_detach_sections (self);

  if (self->account_manager != NULL)
    g_signal_handlers_disconnect_by_func (self->account_manager, accounts_changed_cb, self);
  g_clear_object (&self->account_manager);
  if (self->monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->monitor, self);
      g_signal_handlers_disconnect_by_data (pb_sync_monitor_get_store (self->monitor), self);
    }
  g_clear_object (&self->monitor);

  /* AdwBin disposes the template's child itself (no gtk_widget_dispose_template()). */
  G_OBJECT_CLASS (pb_folder_list_parent_class)->dispose (object);
}

static void
pb_folder_list_finalize (GObject *object)
{
  PbFolderList *self = PB_FOLDER_LIST (object);

  g_clear_pointer (&self->sections, g_ptr_array_unref);

  G_OBJECT_CLASS (pb_folder_list_parent_class)->finalize (object);
}

static void
pb_folder_list_class_init (PbFolderListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = pb_folder_list_get_property;
  object_class->set_property = pb_folder_list_set_property;
  object_class->dispose = pb_folder_list_dispose;
  object_class->finalize = pb_folder_list_finalize;

  /**
   * PbFolderList:account-manager:
   *
   * The accounts whose folders are shown.
   */
  properties[PROP_ACCOUNT_MANAGER] =
    g_param_spec_object ("account-manager", NULL, NULL,
                         PB_TYPE_ACCOUNT_MANAGER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PbFolderList::folder-selected:
   * @self: a #PbFolderList
   * @account: (nullable): the account of the folder
   * @folder: (nullable): the selected folder, or %NULL when none is selected any more
   *
   * Emitted when the selection changes.
   */
  signals[FOLDER_SELECTED] =
    g_signal_new ("folder-selected",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, PB_TYPE_ACCOUNT, PB_TYPE_FOLDER_INFO);

  /**
   * PbFolderList::update-password:
   * @account: the account whose password the server rejected
   *
   * Emitted when the user asks to enter a new password.
   */
  signals[UPDATE_PASSWORD] =
    g_signal_new ("update-password", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 1, PB_TYPE_ACCOUNT);

  /**
   * PbFolderList::message-dropped:
   * @account: the account of the folder
   * @folder: the folder the messages were dropped on
   * @payload: what the message list put in the drag
   */
  signals[MESSAGE_DROPPED] =
    g_signal_new ("message-dropped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 3, PB_TYPE_ACCOUNT, PB_TYPE_FOLDER_INFO,
                  G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/postbote/Postbote/folders/pb-folder-list.ui");
  gtk_widget_class_bind_template_child (widget_class, PbFolderList, list_box);
  gtk_widget_class_bind_template_callback (widget_class, row_selected_cb);
}

static void
pb_folder_list_init (PbFolderList *self)
{
  self->sections = g_ptr_array_new_with_free_func ((GDestroyNotify) section_unref);

  gtk_widget_init_template (GTK_WIDGET (self));
}
