/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-window"

#include "config.h"

#include <glib/gi18n.h>

#include "pb-application.h"
#include "pb-folder-row.h"
#include "pb-composer.h"
#include "pb-operations.h"
#include "pb-window-private.h"

/*
 * What the user does to messages. Each action is applied to the store at once, on a worker
 * thread, through pb-operations (which writes the journal the sync replays), then the sync is
 * asked to run soon so that the server sees it. An AdwToast offers Undo, which runs the
 * inverse operation: the other flag change, or moving the message back. A moved message has a
 * new UID in its new folder that only the sync learns, so moving back finds it by Message-ID,
 * waiting for the sync if it has not brought the message there yet.
 */

#define UNDO_ATTEMPTS 40
#define UNDO_RETRY_MS 500

typedef enum {
  OP_FLAGS,
  OP_MOVE,
  OP_MOVE_BACK,
  OP_EXPUNGE,
} OpKind;

typedef struct {
  OpKind   kind;
  char    *account;
  char    *folder;
  guint32  uid;
  char    *add;          /* OP_FLAGS: one flag to add, or NULL */
  char    *remove;       /* OP_FLAGS: one flag to remove, or NULL */
  char    *destination;  /* OP_MOVE, OP_MOVE_BACK */
  char    *message_id;   /* OP_MOVE: learnt before the move; OP_MOVE_BACK: what to find */
  char    *toast;        /* plain text, or NULL for no toast */
  gboolean undoable;
  guint    attempts;
  PbStore *store;
} Op;

static void
op_free (Op *op)
{
  g_free (op->account);
  g_free (op->folder);
  g_free (op->add);
  g_free (op->remove);
  g_free (op->destination);
  g_free (op->message_id);
  g_free (op->toast);
  g_clear_object (&op->store);
  g_free (op);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Op, op_free)

static Op *
op_new (OpKind      kind,
        const char *account,
        const char *folder,
        guint32     uid)
{
  Op *op = g_new0 (Op, 1);

  op->kind = kind;
  op->account = g_strdup (account);
  op->folder = g_strdup (folder);
  op->uid = uid;
  return op;
}

/* The operation that takes @op back, or NULL. */
static Op *
op_inverse (const Op *op)
{
  Op *inverse = NULL;

  switch (op->kind)
    {
    case OP_FLAGS:
      inverse = op_new (OP_FLAGS, op->account, op->folder, op->uid);
      inverse->add = g_strdup (op->remove);
      inverse->remove = g_strdup (op->add);
      break;

    case OP_MOVE:
      if (op->message_id == NULL)
        return NULL;
      inverse = op_new (OP_MOVE_BACK, op->account, op->folder, 0);
      inverse->destination = g_strdup (op->destination);
      inverse->message_id = g_strdup (op->message_id);
      break;

    case OP_MOVE_BACK:
    case OP_EXPUNGE:
    default:
      return NULL;
    }
  return inverse;
}

static void
op_thread (GTask        *task,
           gpointer      source_object,
           gpointer      task_data,
           GCancellable *cancellable)
{
  Op *op = task_data;
  GError *error = NULL;
  gboolean ok = FALSE;

  switch (op->kind)
    {
    case OP_FLAGS:
      {
        const char *add[] = { op->add, NULL };
        const char *remove[] = { op->remove, NULL };

        ok = pb_operations_set_flags (op->store, op->account, op->folder, op->uid,
                                      op->add != NULL ? add : NULL,
                                      op->remove != NULL ? remove : NULL, &error);
      }
      break;

    case OP_MOVE:
      {
        gint64 folder_id = pb_store_lookup_folder (op->store, op->account, op->folder, NULL);
        g_autoptr (PbMessageSummary) summary = NULL;

        /* The Message-ID finds the message again for Undo, under its new UID. */
        if (folder_id != 0)
          summary = pb_store_get_message (op->store, folder_id, op->uid, NULL);
        if (summary != NULL && summary->message_id != NULL && *summary->message_id != '\0')
          op->message_id = g_strdup (summary->message_id);
        ok = pb_operations_move (op->store, op->account, op->folder, op->uid, op->destination,
                                 &error);
      }
      break;

    case OP_MOVE_BACK:
      ok = pb_operations_move_back (op->store, op->account, op->folder, op->destination,
                                    op->message_id, &error);
      break;

    case OP_EXPUNGE:
      ok = pb_operations_delete (op->store, op->account, op->folder, op->uid, &error);
      break;
    }

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void pb_window_run_op (PbWindow *self,
                              Op       *op);

typedef struct {
  PbWindow *window;
  Op       *op;
} Retry;

static gboolean
retry_cb (gpointer data)
{
  Retry *retry = data;

  pb_window_run_op (retry->window, retry->op);
  g_object_unref (retry->window);
  g_free (retry);
  return G_SOURCE_REMOVE;
}

static void
undo_clicked_cb (AdwToast *toast,
                 PbWindow *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "mail.undo", NULL);
}

static void
undo_toast_dismissed_cb (AdwToast *toast,
                         PbWindow *self)
{
  if (self->undo_toast == toast)
    self->undo_toast = NULL;
}

static void
op_done_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr (PbWindow) self = user_data;
  Op *op = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* Moving back waits for the sync to bring the message to where it was moved. */
      if (op->kind == OP_MOVE_BACK
          && g_error_matches (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND)
          && ++op->attempts < UNDO_ATTEMPTS && self->monitor != NULL)
        {
          Retry *retry = g_new0 (Retry, 1);

          retry->window = g_object_ref (self);
          retry->op = op_new (OP_MOVE_BACK, op->account, op->folder, 0);
          retry->op->destination = g_strdup (op->destination);
          retry->op->message_id = g_strdup (op->message_id);
          retry->op->attempts = op->attempts;
          if (op->attempts == 1)
            pb_sync_monitor_sync_soon (self->monitor, op->account);
          g_timeout_add (UNDO_RETRY_MS, retry_cb, retry);
          return;
        }
      pb_window_show_error (self, error->message);
      return;
    }

  if (self->monitor != NULL)
    pb_sync_monitor_sync_soon (self->monitor, op->account);

  if (op->toast != NULL)
    {
      g_autofree char *title = g_markup_escape_text (op->toast, -1);
      AdwToast *toast = adw_toast_new (title);
      Op *inverse = op->undoable ? op_inverse (op) : NULL;

      if (self->undo_toast != NULL)
        adw_toast_dismiss (self->undo_toast);
      g_clear_pointer (&self->undo, op_free);
      if (inverse != NULL)
        {
          self->undo = inverse;
          adw_toast_set_button_label (toast, _("_Undo"));
          g_signal_connect_object (toast, "button-clicked", G_CALLBACK (undo_clicked_cb), self,
                                   0);
          g_signal_connect_object (toast, "dismissed", G_CALLBACK (undo_toast_dismissed_cb), self,
                                   0);
          self->undo_toast = toast;
        }
      adw_toast_set_timeout (toast, 8);
      adw_toast_overlay_add_toast (self->toast_overlay, toast);
    }
  pb_window_update_actions (self);
}

/* Takes @op. */
static void
pb_window_run_op (PbWindow *self,
                  Op       *op)
{
  g_autoptr (GTask) task = NULL;

  if (self->monitor == NULL)
    {
      op_free (op);
      return;
    }
  g_set_object (&op->store, pb_sync_monitor_get_store (self->monitor));
  task = g_task_new (NULL, NULL, op_done_cb, g_object_ref (self));
  g_task_set_source_tag (task, pb_window_run_op);
  g_task_set_task_data (task, op, (GDestroyNotify) op_free);
  g_task_run_in_thread (task, op_thread);
}

/* The selected message's account and folder path, for an operation. */
static gboolean
selected_message (PbWindow       *self,
                  PbMessageItem **item_out,
                  PbAccount     **account,
                  PbFolderInfo  **folder)
{
  PbMessageItem *item = pb_window_get_selected_item (self);

  if (item == NULL
      || !pb_window_lookup_folder (self, pb_message_item_get_folder_id (item), account, folder))
    return FALSE;
  *item_out = item;
  return TRUE;
}

static void
run_flag_op (PbWindow      *self,
             PbMessageItem *item,
             PbAccount     *account,
             PbFolderInfo  *folder,
             const char    *add,
             const char    *remove,
             const char    *toast)
{
  Op *op = op_new (OP_FLAGS, pb_account_get_name (account), pb_folder_info_get_path (folder),
                   pb_message_item_get_uid (item));

  op->add = g_strdup (add);
  op->remove = g_strdup (remove);
  op->toast = g_strdup (toast);
  op->undoable = toast != NULL;
  pb_window_run_op (self, op);
}

/* Marks @item read without a toast, as selecting it does. */
void
pb_window_mark_read (PbWindow      *self,
                     PbMessageItem *item)
{
  PbAccount *account;
  PbFolderInfo *folder;

  if (pb_window_lookup_folder (self, pb_message_item_get_folder_id (item), &account, &folder))
    run_flag_op (self, item, account, folder, "\\Seen", NULL, NULL);
}

static void
move_to (PbWindow     *self,
         PbAccount    *account,
         PbFolderInfo *source,
         guint32       uid,
         const char   *destination,
         const char   *toast)
{
  Op *op;

  if (g_strcmp0 (pb_folder_info_get_path (source), destination) == 0)
    return;
  op = op_new (OP_MOVE, pb_account_get_name (account), pb_folder_info_get_path (source), uid);
  op->destination = g_strdup (destination);
  op->toast = g_strdup (toast);
  op->undoable = TRUE;
  pb_window_run_op (self, op);
}

/**
 * pb_window_move_message:
 *
 * Moves a message (dragged onto a sidebar folder) to @destination of @account.
 */
void
pb_window_move_message (PbWindow     *self,
                        gint64        folder_id,
                        guint32       uid,
                        PbAccount    *account,
                        PbFolderInfo *destination)
{
  PbAccount *source_account;
  PbFolderInfo *source;
  g_autofree char *name = NULL;
  g_autofree char *toast = NULL;

  if (!pb_window_lookup_folder (self, folder_id, &source_account, &source))
    return;
  if (source_account != account)
    {
      pb_window_show_error (self, _("Messages can only be moved within their account"));
      return;
    }
  name = pb_folder_row_dup_display_name (destination);
  toast = g_strdup_printf (_("Moved to “%s”"), name);
  move_to (self, account, source, uid, pb_folder_info_get_path (destination), toast);
}

static void
move_to_role (PbWindow     *self,
              PbFolderRole  role,
              const char   *toast,
              const char   *missing)
{
  PbMessageItem *item;
  PbAccount *account;
  PbFolderInfo *folder, *destination;

  if (!selected_message (self, &item, &account, &folder))
    return;
  destination = pb_folder_list_find_role (self->folder_list, account, role);
  if (destination == NULL)
    {
      pb_window_show_error (self, missing);
      return;
    }
  move_to (self, account, folder, pb_message_item_get_uid (item),
           pb_folder_info_get_path (destination), toast);
}

/* Actions */

static void
mark_read_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  PbWindow *self = PB_WINDOW (widget);
  PbMessageItem *item;
  PbAccount *account;
  PbFolderInfo *folder;

  if (selected_message (self, &item, &account, &folder))
    run_flag_op (self, item, account, folder, "\\Seen", NULL, _("Marked as read"));
}

static void
mark_unread_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  PbWindow *self = PB_WINDOW (widget);
  PbMessageItem *item;
  PbAccount *account;
  PbFolderInfo *folder;

  if (!selected_message (self, &item, &account, &folder))
    return;
  /* Marking unread what was just opened must stick: no automatic mark-read after it. */
  g_clear_handle_id (&self->mark_read_id, g_source_remove);
  run_flag_op (self, item, account, folder, NULL, "\\Seen", _("Marked as unread"));
}

static void
toggle_star_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  PbWindow *self = PB_WINDOW (widget);
  PbMessageItem *item;
  PbAccount *account;
  PbFolderInfo *folder;

  if (!selected_message (self, &item, &account, &folder))
    return;
  if ((pb_message_item_get_flags (item) & PB_MESSAGE_FLAG_FLAGGED) != 0)
    run_flag_op (self, item, account, folder, NULL, "\\Flagged", _("Star removed"));
  else
    run_flag_op (self, item, account, folder, "\\Flagged", NULL, _("Starred"));
}

static void
delete_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  PbWindow *self = PB_WINDOW (widget);
  PbMessageItem *item;
  PbAccount *account;
  PbFolderInfo *folder, *trash;
  Op *op;

  if (!selected_message (self, &item, &account, &folder))
    return;
  trash = pb_folder_list_find_role (self->folder_list, account, PB_FOLDER_ROLE_TRASH);
  if (trash != NULL && pb_folder_info_get_role (folder) != PB_FOLDER_ROLE_TRASH)
    {
      move_to (self, account, folder, pb_message_item_get_uid (item),
               pb_folder_info_get_path (trash), _("Moved to Trash"));
      return;
    }
  /* In the Trash itself, or without one, delete means delete: no Undo. */
  op = op_new (OP_EXPUNGE, pb_account_get_name (account), pb_folder_info_get_path (folder),
               pb_message_item_get_uid (item));
  op->toast = g_strdup (_("Message deleted"));
  pb_window_run_op (self, op);
}

static void
archive_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  move_to_role (PB_WINDOW (widget), PB_FOLDER_ROLE_ARCHIVE, _("Archived"),
                _("This account has no archive folder"));
}

static void
junk_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  move_to_role (PB_WINDOW (widget), PB_FOLDER_ROLE_JUNK, _("Moved to Junk"),
                _("This account has no junk folder"));
}

static void
move_to_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  PbWindow *self = PB_WINDOW (widget);
  const char *destination = g_variant_get_string (parameter, NULL);
  PbMessageItem *item;
  PbAccount *account;
  PbFolderInfo *folder;
  PbFolderRow *row;
  g_autofree char *name = NULL;
  g_autofree char *toast = NULL;

  if (!selected_message (self, &item, &account, &folder))
    return;
  row = pb_folder_list_find_folder (self->folder_list, account, destination);
  if (row == NULL)
    return;
  name = pb_folder_row_dup_display_name (pb_folder_row_get_folder (row));
  toast = g_strdup_printf (_("Moved to “%s”"), name);
  move_to (self, account, folder, pb_message_item_get_uid (item), destination, toast);
}

static void
move_row_activated_cb (GtkListBox    *list_box,
                       GtkListBoxRow *row,
                       AdwMessageDialog *dialog)
{
  PbWindow *self = PB_WINDOW (gtk_window_get_transient_for (GTK_WINDOW (dialog)));
  const char *path = g_object_get_data (G_OBJECT (row), "path");

  gtk_widget_activate_action (GTK_WIDGET (self), "mail.move-to", "s", path);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
move_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  PbWindow *self = PB_WINDOW (widget);
  g_autoptr (GPtrArray) rows = NULL;
  PbMessageItem *item;
  PbAccount *account;
  PbFolderInfo *folder;
  GtkWidget *dialog, *scroller, *list_box;

  if (!selected_message (self, &item, &account, &folder))
    return;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Move to Folder"), NULL);
  gtk_widget_set_name (dialog, "move-dialog");
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"));
  list_box = gtk_list_box_new ();
  gtk_widget_set_name (list_box, "move-folder-list");
  gtk_widget_add_css_class (list_box, "boxed-list");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list_box), GTK_SELECTION_NONE);
  rows = pb_folder_list_list_folders (self->folder_list, account);
  for (guint i = 0; i < rows->len; i++)
    {
      PbFolderInfo *candidate = pb_folder_row_get_folder (g_ptr_array_index (rows, i));
      g_autofree char *name = NULL;
      GtkWidget *row, *label;

      if (g_strcmp0 (pb_folder_info_get_path (candidate), pb_folder_info_get_path (folder)) == 0)
        continue;
      name = pb_folder_row_dup_display_name (candidate);
      label = gtk_label_new (name);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_widget_set_margin_start (label, 12 + 16 * (int) pb_folder_info_get_depth (candidate));
      gtk_widget_set_margin_end (label, 12);
      gtk_widget_set_margin_top (label, 10);
      gtk_widget_set_margin_bottom (label, 10);
      row = gtk_list_box_row_new ();
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), label);
      g_object_set_data_full (G_OBJECT (row), "path",
                              g_strdup (pb_folder_info_get_path (candidate)), g_free);
      gtk_list_box_append (GTK_LIST_BOX (list_box), row);
    }
  g_signal_connect (list_box, "row-activated", G_CALLBACK (move_row_activated_cb), dialog);
  scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scroller), 360);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), list_box);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), scroller);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
compose_reply (PbWindow      *self,
               PbComposeMode  mode)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  PbMessageItem *item;
  PbAccount *account;
  PbFolderInfo *folder;
  PbComposer *composer;

  if (!PB_IS_APPLICATION (app) || self->monitor == NULL
      || !selected_message (self, &item, &account, &folder))
    return;
  composer = pb_composer_new_reply (PB_APPLICATION (app), account,
                                    pb_sync_monitor_get_store (self->monitor),
                                    pb_folder_info_get_path (folder),
                                    pb_message_item_get_uid (item), mode);
  gtk_window_present (GTK_WINDOW (composer));
}

static void
reply_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  compose_reply (PB_WINDOW (widget), PB_COMPOSE_REPLY);
}

static void
reply_all_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  compose_reply (PB_WINDOW (widget), PB_COMPOSE_REPLY_ALL);
}

static void
forward_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  compose_reply (PB_WINDOW (widget), PB_COMPOSE_FORWARD);
}

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  PbWindow *self = PB_WINDOW (widget);
  Op *undo = g_steal_pointer (&self->undo);

  if (self->undo_toast != NULL)
    adw_toast_dismiss (self->undo_toast);
  self->undo_toast = NULL;
  if (undo != NULL)
    pb_window_run_op (self, undo);
  pb_window_update_actions (self);
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  PbWindow *self = PB_WINDOW (widget);

  gtk_search_bar_set_search_mode (self->search_bar, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

/* Password */

typedef struct {
  PbAccount *account;
  char      *password;
} PasswordUpdate;

static void
password_update_free (PasswordUpdate *update)
{
  g_clear_object (&update->account);
  if (update->password != NULL)
    pb_password_free (update->password);
  g_free (update);
}

static void
store_password_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  PasswordUpdate *update = task_data;
  PbCredentials *credentials = pb_account_get_credentials (update->account);
  GError *error = NULL;

  if (credentials == NULL)
    g_task_return_new_error (task, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_FAILED,
                             _("This account has no place to store a password"));
  else if (pb_credentials_store (credentials, pb_account_get_incoming (update->account),
                                 update->password, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
store_password_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr (PbWindow) self = user_data;
  PasswordUpdate *update = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      pb_window_show_error (self, error->message);
      return;
    }
  if (self->monitor != NULL)
    pb_sync_monitor_retry (self->monitor, pb_account_get_name (update->account));
}

static void
password_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      PbWindow         *self)
{
  GtkWidget *entry = adw_message_dialog_get_extra_child (dialog);
  PbAccount *account = g_object_get_data (G_OBJECT (dialog), "account");
  g_autoptr (GTask) task = NULL;
  PasswordUpdate *update;

  if (g_strcmp0 (response, "update") != 0)
    return;
  update = g_new0 (PasswordUpdate, 1);
  update->account = g_object_ref (account);
  update->password = g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry)));
  gtk_editable_set_text (GTK_EDITABLE (entry), "");
  /* The keyring is a D-Bus service: never wait for it on the main thread. */
  task = g_task_new (NULL, NULL, store_password_cb, g_object_ref (self));
  g_task_set_source_tag (task, password_response_cb);
  g_task_set_task_data (task, update, (GDestroyNotify) password_update_free);
  g_task_run_in_thread (task, store_password_thread);
}

/**
 * pb_window_ask_password:
 *
 * Asks for a new password of @account (after the server rejected one), stores it through the
 * account's credentials and syncs again.
 */
void
pb_window_ask_password (PbWindow  *self,
                        PbAccount *account)
{
  g_autofree char *heading = g_strdup_printf (_("Password for “%s”"),
                                              pb_account_get_name (account));
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading,
                                              _("The server rejected the password. Enter the "
                                                "current one; it is kept in the keyring."));
  /* A plain entry with hidden text: GtkPasswordEntry of GTK 4.8 warns about an invalid cast
   * when its window is destroyed. */
  GtkWidget *entry = gtk_entry_new ();

  gtk_widget_set_name (dialog, "password-dialog");
  gtk_widget_set_name (entry, "password-entry");
  gtk_entry_set_visibility (GTK_ENTRY (entry), FALSE);
  gtk_entry_set_input_purpose (GTK_ENTRY (entry), GTK_INPUT_PURPOSE_PASSWORD);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "update", _("_Update"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "update",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "update");
  g_object_set_data_full (G_OBJECT (dialog), "account", g_object_ref (account), g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (password_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Whether Undo would take something back now. */
gboolean
pb_window_get_can_undo (PbWindow *self)
{
  g_return_val_if_fail (PB_IS_WINDOW (self), FALSE);
  return self->undo != NULL;
}

/* Setup */

static const char * const message_actions[] = {
  "mail.mark-read", "mail.mark-unread", "mail.toggle-star", "mail.delete", "mail.archive",
  "mail.junk", "mail.move", "mail.move-to",
  "mail.reply", "mail.reply-all", "mail.forward",
};

void
pb_window_update_actions (PbWindow *self)
{
  gboolean have_message = pb_window_get_selected_item (self) != NULL;

  for (guint i = 0; i < G_N_ELEMENTS (message_actions); i++)
    gtk_widget_action_set_enabled (GTK_WIDGET (self), message_actions[i], have_message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "mail.undo", self->undo != NULL);
}

void
pb_window_dispose_actions (PbWindow *self)
{
  g_clear_pointer (&self->undo, op_free);
  self->undo_toast = NULL;
}

void
pb_window_class_init_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "mail.mark-read", NULL, mark_read_action);
  gtk_widget_class_install_action (widget_class, "mail.mark-unread", NULL, mark_unread_action);
  gtk_widget_class_install_action (widget_class, "mail.toggle-star", NULL, toggle_star_action);
  gtk_widget_class_install_action (widget_class, "mail.delete", NULL, delete_action);
  gtk_widget_class_install_action (widget_class, "mail.archive", NULL, archive_action);
  gtk_widget_class_install_action (widget_class, "mail.junk", NULL, junk_action);
  gtk_widget_class_install_action (widget_class, "mail.move", NULL, move_action);
  gtk_widget_class_install_action (widget_class, "mail.move-to", "s", move_to_action);
  /* Reply, Reply to All and Forward open the composer (src/ui/composer). */
  gtk_widget_class_install_action (widget_class, "mail.reply", NULL, reply_action);
  gtk_widget_class_install_action (widget_class, "mail.reply-all", NULL, reply_all_action);
  gtk_widget_class_install_action (widget_class, "mail.forward", NULL, forward_action);
  gtk_widget_class_install_action (widget_class, "mail.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "mail.search", NULL, search_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, GDK_CONTROL_MASK,
                                       "mail.mark-read", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_u, GDK_CONTROL_MASK,
                                       "mail.mark-unread", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK,
                                       "mail.toggle-star", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "mail.delete", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK,
                                       "mail.archive", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_j, GDK_CONTROL_MASK,
                                       "mail.junk", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_m, GDK_CONTROL_MASK,
                                       "mail.move", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK,
                                       "mail.reply", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "mail.reply-all", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_l, GDK_CONTROL_MASK,
                                       "mail.forward", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK,
                                       "mail.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK,
                                       "mail.search", NULL);
}
