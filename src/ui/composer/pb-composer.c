/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-composer"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "pb-address-completion.h"
#include "pb-composer-private.h"
#include "pb-mailto.h"
#include "pb-outbox.h"

/* Drafts: the local copy is cheap (a small key file), the copy in Drafts is a whole APPEND. */
#define LOCAL_DRAFT_MS 3000
#define REMOTE_DRAFT_MS 30000

struct _PbComposer
{
  AdwWindow         parent_instance;

  AdwWindowTitle   *window_title;
  GtkRevealer      *error_revealer;
  GtkLabel         *error_label;
  GtkButton        *error_button;
  AdwToastOverlay  *toast_overlay;
  GtkWidget        *editor_box;
  GtkDropDown      *identity_dropdown;
  GtkEntry         *to_entry;
  GtkToggleButton  *cc_toggle;
  GtkEntry         *cc_entry;
  GtkEntry         *bcc_entry;
  GtkEntry         *subject_entry;
  GtkTextView      *body_view;
  GtkRevealer      *attachments_revealer;
  GtkFlowBox       *attachments_box;
  GtkWidget        *send_button;
  GtkWidget        *attach_button;

  PbApplication    *application;
  PbStore          *store;
  GPtrArray        *accounts;        /* PbAccount that can send, in the dropdown's order */
  PbMessageBuilder *builder;         /* reply headers and attachments; fields filled on use */
  PbDraft          *draft;
  GCancellable     *cancellable;
  PbAddressCompletion *completions[3];

  guint             local_ms;
  guint             remote_ms;
  guint             local_timeout_id;
  guint             remote_timeout_id;
  gboolean          local_dirty;
  gboolean          remote_dirty;
  gboolean          loading;
  gboolean          closing;

  /* After Send: the outbox entry, and whether its draft has been cleaned up. */
  PbOutbox         *outbox;
  char             *outbox_id;
  gulong            entry_changed_id;
  gboolean          draft_discarded;
  /* Set while the composer itself withdraws its entry: the DONE that follows is not "sent". */
  gboolean          cancelling;
  gboolean          discarding;
  AdwToast         *undo_toast;
};

G_DEFINE_FINAL_TYPE (PbComposer, pb_composer, ADW_TYPE_WINDOW)

static void mark_dirty (PbComposer *self);
static void schedule_draft_saves (PbComposer *self);

/* Errors and state */

static void
show_error (PbComposer *self,
            const char *message,
            gboolean    can_edit)
{
  gtk_label_set_text (self->error_label, message);
  gtk_widget_set_visible (GTK_WIDGET (self->error_button), can_edit);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
}

static void
hide_error (PbComposer *self)
{
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
}

static void
error_dismiss_clicked_cb (PbComposer *self)
{
  hide_error (self);
}

static void
set_locked (PbComposer *self,
            gboolean    locked)
{
  gtk_widget_set_sensitive (self->editor_box, !locked);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "composer.send", !locked && !self->loading);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "composer.attach", !locked);
}

static PbAccount *
selected_account (PbComposer *self)
{
  guint index = gtk_drop_down_get_selected (self->identity_dropdown);

  if (self->accounts == NULL || index >= self->accounts->len)
    return NULL;
  return g_ptr_array_index (self->accounts, index);
}

static char *
body_text (PbComposer *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->body_view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static const char *
entry_text (GtkEntry *entry)
{
  return gtk_editable_get_text (GTK_EDITABLE (entry));
}

/* Copies what the widgets show into the builder (on the UI thread, before it is built). */
static void
collect (PbComposer *self)
{
  PbAccount *account = selected_account (self);
  g_autofree char *body = body_text (self);

  if (account != NULL)
    pb_message_builder_set_from (self->builder, pb_account_get_display_name (account),
                                 pb_account_get_email (account));
  pb_message_builder_set_to (self->builder, entry_text (self->to_entry));
  pb_message_builder_set_cc (self->builder, entry_text (self->cc_entry));
  pb_message_builder_set_bcc (self->builder, entry_text (self->bcc_entry));
  pb_message_builder_set_subject (self->builder, entry_text (self->subject_entry));
  pb_message_builder_set_body (self->builder, body);
}

static gboolean
is_empty (PbComposer *self)
{
  g_autofree char *body = body_text (self);

  return *entry_text (self->to_entry) == '\0' && *entry_text (self->cc_entry) == '\0'
         && *entry_text (self->bcc_entry) == '\0' && *entry_text (self->subject_entry) == '\0'
         && *g_strstrip (body) == '\0' && pb_message_builder_get_n_attachments (self->builder) == 0;
}

/* Attachments */

static void remove_attachment_clicked_cb (GtkButton *button, PbComposer *self);

static void
rebuild_attachments (PbComposer *self)
{
  GtkWidget *child;
  guint n = pb_message_builder_get_n_attachments (self->builder);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->attachments_box))) != NULL)
    gtk_flow_box_remove (self->attachments_box, child);

  for (guint i = 0; i < n; i++)
    {
      const char *name = pb_message_builder_get_attachment_name (self->builder, i);
      g_autofree char *type = g_content_type_guess (name, NULL, 0, NULL);
      g_autoptr(GIcon) icon = g_content_type_get_symbolic_icon (type);
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *label = gtk_label_new (name);
      GtkWidget *remove = gtk_button_new_from_icon_name ("window-close-symbolic");

      gtk_box_append (GTK_BOX (box), gtk_image_new_from_gicon (icon));
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 28);
      gtk_box_append (GTK_BOX (box), label);
      gtk_widget_add_css_class (remove, "flat");
      gtk_widget_add_css_class (remove, "circular");
      /* Translators: tooltip of the button that removes one attachment. */
      gtk_widget_set_tooltip_text (remove, _("Remove Attachment"));
      g_object_set_data (G_OBJECT (remove), "pb-index", GUINT_TO_POINTER (i));
      g_signal_connect (remove, "clicked", G_CALLBACK (remove_attachment_clicked_cb), self);
      gtk_box_append (GTK_BOX (box), remove);
      gtk_widget_add_css_class (box, "pb-attachment");
      gtk_widget_set_halign (box, GTK_ALIGN_START);
      gtk_flow_box_append (self->attachments_box, box);
    }
  gtk_revealer_set_reveal_child (self->attachments_revealer, n > 0);
}

static void
remove_attachment_clicked_cb (GtkButton  *button,
                              PbComposer *self)
{
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "pb-index"));

  if (index < pb_message_builder_get_n_attachments (self->builder))
    {
      pb_message_builder_remove_attachment (self->builder, index);
      rebuild_attachments (self);
      mark_dirty (self);
    }
}

void
pb_composer_add_attachment (PbComposer *self,
                            GFile      *file)
{
  g_return_if_fail (PB_IS_COMPOSER (self));
  g_return_if_fail (G_IS_FILE (file));

  pb_message_builder_add_attachment_file (self->builder, file);
  rebuild_attachments (self);
  mark_dirty (self);
}

static void
file_chooser_response_cb (GtkNativeDialog *dialog,
                          int              response,
                          PbComposer      *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));

      for (guint i = 0; i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr(GFile) file = g_list_model_get_item (files, i);
          pb_composer_add_attachment (self, file);
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
attach_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  PbComposer *self = PB_COMPOSER (widget);
  GtkFileChooserNative *chooser;

  /* GtkFileDialog is 4.10; the native chooser is the 4.8 way and uses the portal if there. */
  chooser = gtk_file_chooser_native_new (_("Attach Files"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Attach"),
                                         _("_Cancel"));
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), TRUE);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (file_chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         PbComposer    *self)
{
  GSList *files;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST) || !gtk_widget_get_sensitive (self->editor_box))
    return FALSE;
  files = gdk_file_list_get_files (g_value_get_boxed (value));
  for (GSList *l = files; l != NULL; l = l->next)
    pb_composer_add_attachment (self, l->data);
  g_slist_free (files);
  return TRUE;
}

/* Drafts */

static void
local_saved_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(PbComposer) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!pb_draft_save_local_finish (PB_DRAFT (source), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_error (self, error->message, FALSE);
}

static gboolean
local_timeout_cb (gpointer user_data)
{
  PbComposer *self = user_data;

  self->local_timeout_id = 0;
  if (!self->local_dirty || self->outbox_id != NULL)
    return G_SOURCE_REMOVE;
  self->local_dirty = FALSE;
  collect (self);
  if (selected_account (self) != NULL)
    pb_draft_set_account (self->draft, pb_account_get_name (selected_account (self)));
  pb_draft_set_content (self->draft, self->builder);
  pb_draft_save_local_async (self->draft, self->cancellable, local_saved_cb,
                             g_object_ref (self));
  return G_SOURCE_REMOVE;
}

typedef struct {
  PbComposer *self;
  gboolean    close_after;
} RemoteSave;

static void
remote_saved_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  RemoteSave *save = user_data;
  PbComposer *self = save->self;
  g_autoptr(GError) error = NULL;

  if (!pb_draft_save_remote_finish (PB_DRAFT (source), result, &error))
    {
      /* The local copy still holds everything; the Drafts copy follows on the next save, or
       * the local copy opens again at the next start. */
      g_message ("Draft not saved to the Drafts folder: %s", error->message);
      self->remote_dirty = TRUE;
    }
  else if (save->close_after)
    {
      /* Closed and safe in Drafts: the local copy is only for work not saved anywhere else
       * (it would otherwise open again at the next start). */
      g_autoptr(GFile) file = g_file_new_for_path (pb_draft_get_path (self->draft));
      g_file_delete_async (file, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
    }
  if (save->close_after)
    gtk_window_destroy (GTK_WINDOW (self));
  g_object_unref (self);
  g_free (save);
}

static void
draft_built_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  RemoteSave *save = user_data;
  PbComposer *self = save->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) raw = pb_message_builder_build_finish (PB_MESSAGE_BUILDER (source), result,
                                                           &error);
  PbAccount *account = selected_account (self);

  pb_message_builder_set_include_bcc (self->builder, FALSE);
  /* A draft gets a fresh Message-ID each time; the sent message its own. */
  pb_message_builder_set_message_id (self->builder, NULL);
  if (raw == NULL || account == NULL || self->store == NULL || self->outbox_id != NULL)
    {
      if (raw == NULL)
        g_message ("Draft not built: %s", error->message);
      if (save->close_after)
        gtk_window_destroy (GTK_WINDOW (self));
      g_object_unref (self);
      g_free (save);
      return;
    }
  pb_draft_save_remote_async (self->draft, account, self->store, raw, NULL, remote_saved_cb,
                              save);
}

static void
save_remote (PbComposer *self,
             gboolean    close_after)
{
  RemoteSave *save = g_new0 (RemoteSave, 1);

  save->self = g_object_ref (self);
  save->close_after = close_after;
  self->remote_dirty = FALSE;
  collect (self);
  pb_message_builder_set_include_bcc (self->builder, TRUE);
  pb_message_builder_build_async (self->builder, NULL, draft_built_cb, save);
}

static gboolean
remote_timeout_cb (gpointer user_data)
{
  PbComposer *self = user_data;

  self->remote_timeout_id = 0;
  if (!self->remote_dirty || self->outbox_id != NULL || self->store == NULL)
    return G_SOURCE_REMOVE;
  save_remote (self, FALSE);
  return G_SOURCE_REMOVE;
}

static void
schedule_draft_saves (PbComposer *self)
{
  if (self->local_timeout_id == 0)
    self->local_timeout_id = g_timeout_add (self->local_ms, local_timeout_cb, self);
  if (self->remote_timeout_id == 0)
    self->remote_timeout_id = g_timeout_add (self->remote_ms, remote_timeout_cb, self);
}

static void
mark_dirty (PbComposer *self)
{
  if (self->loading || self->outbox_id != NULL)
    return;
  self->local_dirty = TRUE;
  self->remote_dirty = TRUE;
  schedule_draft_saves (self);
}

static void
field_changed_cb (PbComposer *self)
{
  mark_dirty (self);
}

/* Quoted lines in the GNOME blue, so that one's own words stand out from the quote. Only the
 * first lines are looked at: a reply to a huge message stays fast to type in. */
#define MAX_HIGHLIGHT_LINES 5000

static void
body_changed_cb (PbComposer *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->body_view);
  GtkTextIter start, end, line;
  int n = MIN (gtk_text_buffer_get_line_count (buffer), MAX_HIGHLIGHT_LINES);

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  gtk_text_buffer_remove_tag_by_name (buffer, "quote", &start, &end);
  for (int i = 0; i < n; i++)
    {
      GtkTextIter line_end;

      gtk_text_buffer_get_iter_at_line (buffer, &line, i);
      if (gtk_text_iter_get_char (&line) != '>')
        continue;
      line_end = line;
      if (!gtk_text_iter_ends_line (&line_end))
        gtk_text_iter_forward_to_line_end (&line_end);
      gtk_text_buffer_apply_tag_by_name (buffer, "quote", &line, &line_end);
    }
  mark_dirty (self);
}

void
pb_composer_set_draft_intervals (PbComposer *self,
                                 guint       local_ms,
                                 guint       remote_ms)
{
  g_return_if_fail (PB_IS_COMPOSER (self));

  if (local_ms > 0)
    self->local_ms = local_ms;
  if (remote_ms > 0)
    self->remote_ms = remote_ms;
  g_clear_handle_id (&self->local_timeout_id, g_source_remove);
  g_clear_handle_id (&self->remote_timeout_id, g_source_remove);
  if (self->local_dirty || self->remote_dirty)
    schedule_draft_saves (self);
}

PbDraft *
pb_composer_get_draft (PbComposer *self)
{
  g_return_val_if_fail (PB_IS_COMPOSER (self), NULL);
  return self->draft;
}

const char *
pb_composer_get_outbox_id (PbComposer *self)
{
  g_return_val_if_fail (PB_IS_COMPOSER (self), NULL);
  return self->outbox_id;
}

/* Sending */

static void
draft_discarded_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(PbComposer) self = user_data;
  g_autoptr(GError) error = NULL;

  self->discarding = FALSE;
  if (!pb_draft_discard_finish (PB_DRAFT (source), result, &error))
    g_message ("Draft not removed: %s", error->message);
  if (self->closing)
    gtk_window_destroy (GTK_WINDOW (self));
}

static void
discard_draft (PbComposer *self)
{
  if (self->draft_discarded)
    return;
  self->draft_discarded = TRUE;
  self->discarding = TRUE;
  pb_draft_discard_async (self->draft, selected_account (self), self->store, NULL,
                          draft_discarded_cb, g_object_ref (self));
}

static void
entry_changed_cb (PbOutbox      *outbox,
                  PbOutboxEntry *entry,
                  PbComposer    *self)
{
  PbOutboxState state;
  const char *error;

  if (self->outbox_id == NULL || self->cancelling
      || g_strcmp0 (pb_outbox_entry_get_id (entry), self->outbox_id) != 0)
    return;

  state = pb_outbox_entry_get_state (entry);
  error = pb_outbox_entry_get_error (entry);
  if (state == PB_OUTBOX_STATE_WAITING)
    return;

  /* The undo delay is over: the message is on its way, the draft has done its job. */
  if (self->undo_toast != NULL)
    {
      adw_toast_dismiss (self->undo_toast);
      g_clear_object (&self->undo_toast);
    }
  switch (state)
    {
    case PB_OUTBOX_STATE_QUEUED:
      discard_draft (self);
      if (error != NULL)
        {
          g_autofree char *text = g_strdup_printf (
            _("Not sent yet: %s. Postbote tries again by itself."), error);
          show_error (self, text, FALSE);
        }
      break;
    case PB_OUTBOX_STATE_SENDING:
      discard_draft (self);
      adw_window_title_set_subtitle (self->window_title, _("Sending…"));
      break;
    case PB_OUTBOX_STATE_SENT:
    case PB_OUTBOX_STATE_DONE:
      /* Sent: the window has nothing left to do. It goes once the draft is cleaned up. */
      self->closing = TRUE;
      gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
      g_signal_handler_disconnect (self->outbox, self->entry_changed_id);
      self->entry_changed_id = 0;
      if (self->draft_discarded && !self->discarding)
        gtk_window_destroy (GTK_WINDOW (self));
      else
        discard_draft (self);
      break;
    case PB_OUTBOX_STATE_FAILED:
    case PB_OUTBOX_STATE_UNCERTAIN:
      {
        g_autofree char *text = NULL;

        discard_draft (self);
        /* Closed already: the entry stays in the outbox, where the main window and
         * postbote-cli outbox show it; the window just goes. */
        if (self->closing)
          break;
        if (state == PB_OUTBOX_STATE_FAILED)
          text = g_strdup_printf (_("The message was not sent: %s"),
                                  error != NULL ? error : _("unknown error"));
        else
          text = g_strdup (_("The connection was lost while sending: the message may or may not "
                             "have been sent. Check the Sent folder before sending it again."));
        gtk_widget_set_visible (GTK_WIDGET (self), TRUE);
        show_error (self, text, TRUE);
        adw_window_title_set_subtitle (self->window_title, NULL);
      }
      break;
    case PB_OUTBOX_STATE_WAITING:
    default:
      break;
    }
}

static void
unlock_after_cancel (PbComposer *self)
{
  if (self->entry_changed_id != 0)
    g_signal_handler_disconnect (self->outbox, self->entry_changed_id);
  self->entry_changed_id = 0;
  g_clear_pointer (&self->outbox_id, g_free);
  g_clear_object (&self->outbox);
  self->draft_discarded = FALSE;
  adw_window_title_set_subtitle (self->window_title, NULL);
  set_locked (self, FALSE);
  /* The draft may have been removed: save it again soon. */
  mark_dirty (self);
}

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  PbComposer *self = PB_COMPOSER (widget);
  g_autoptr(GError) error = NULL;

  gboolean cancelled;

  if (self->outbox_id == NULL)
    return;
  self->cancelling = TRUE;
  cancelled = pb_outbox_cancel (self->outbox, self->outbox_id, &error);
  self->cancelling = FALSE;
  if (!cancelled)
    {
      AdwToast *toast = adw_toast_new (_("Too late: the message is already on its way"));

      adw_toast_overlay_add_toast (self->toast_overlay, toast);
      return;
    }
  g_clear_object (&self->undo_toast);
  unlock_after_cancel (self);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (_("Sending cancelled")));
}

static void
error_button_clicked_cb (PbComposer *self)
{
  g_autoptr(GError) error = NULL;
  gboolean cancelled = TRUE;

  /* "Edit Message" after a failure: take it out of the outbox and let the user fix it. */
  self->cancelling = TRUE;
  if (self->outbox_id != NULL)
    cancelled = pb_outbox_cancel (self->outbox, self->outbox_id, &error);
  self->cancelling = FALSE;
  if (!cancelled)
    {
      show_error (self, error->message, FALSE);
      return;
    }
  hide_error (self);
  unlock_after_cancel (self);
}

static void
queued_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(PbComposer) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = pb_outbox_queue_finish (PB_OUTBOX (source), result, &error);
  g_autoptr(PbOutboxEntry) entry = NULL;
  guint delay;

  if (id == NULL)
    {
      /* Not in the outbox: a window closed meanwhile comes back to say so. */
      self->closing = FALSE;
      gtk_widget_set_visible (GTK_WIDGET (self), TRUE);
      show_error (self, error->message, FALSE);
      g_clear_object (&self->outbox);
      set_locked (self, FALSE);
      adw_window_title_set_subtitle (self->window_title, NULL);
      return;
    }
  self->outbox_id = g_steal_pointer (&id);
  delay = pb_outbox_get_delay (self->outbox);
  entry = pb_outbox_lookup (self->outbox, self->outbox_id);

  if (delay > 0 && entry != NULL && pb_outbox_entry_get_state (entry) == PB_OUTBOX_STATE_WAITING)
    {
      g_autofree char *title = g_strdup_printf (
        ngettext ("Sending in %u second", "Sending in %u seconds", delay), delay);

      self->undo_toast = adw_toast_new (title);
      adw_toast_set_button_label (self->undo_toast, _("_Undo"));
      adw_toast_set_action_name (self->undo_toast, "composer.undo");
      adw_toast_set_timeout (self->undo_toast, delay);
      adw_toast_set_priority (self->undo_toast, ADW_TOAST_PRIORITY_HIGH);
      adw_toast_overlay_add_toast (self->toast_overlay, g_object_ref (self->undo_toast));
      adw_window_title_set_subtitle (self->window_title, _("Waiting to send"));
    }
  else if (entry != NULL)
    entry_changed_cb (self->outbox, entry, self);
}

static void
sent_built_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(PbComposer) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) raw = pb_message_builder_build_finish (PB_MESSAGE_BUILDER (source), result,
                                                           &error);
  PbAccount *account = selected_account (self);

  if (raw == NULL || account == NULL)
    {
      self->closing = FALSE;
      gtk_widget_set_visible (GTK_WIDGET (self), TRUE);
      show_error (self, raw == NULL ? error->message : _("Choose an account to send from"),
                  FALSE);
      g_clear_object (&self->outbox);
      set_locked (self, FALSE);
      adw_window_title_set_subtitle (self->window_title, NULL);
      return;
    }
  pb_outbox_queue_async (self->outbox, pb_account_get_name (account), raw, NULL, queued_cb,
                         g_object_ref (self));
}

static void
really_send (PbComposer *self)
{
  PbOutbox *outbox = self->application != NULL ? pb_application_get_outbox (self->application)
                                               : NULL;

  if (outbox == NULL)
    {
      show_error (self, _("The mail store is not open yet; try again in a moment"), FALSE);
      return;
    }
  self->outbox = g_object_ref (outbox);
  if (self->entry_changed_id == 0)
    self->entry_changed_id = g_signal_connect (self->outbox, "entry-changed",
                                               G_CALLBACK (entry_changed_cb), self);
  g_clear_handle_id (&self->local_timeout_id, g_source_remove);
  g_clear_handle_id (&self->remote_timeout_id, g_source_remove);
  set_locked (self, TRUE);
  adw_window_title_set_subtitle (self->window_title, _("Preparing…"));
  collect (self);
  /* The outbox takes the envelope from To, Cc and Bcc, and removes the Bcc header from what
   * it sends and from the Sent copy. */
  pb_message_builder_set_include_bcc (self->builder, TRUE);
  pb_message_builder_set_message_id (self->builder, NULL);
  pb_message_builder_build_async (self->builder, NULL, sent_built_cb, g_object_ref (self));
}

/* Whether the text says something is attached (outside quoted lines). */
static gboolean
mentions_attachment (const char *text)
{
  g_autoptr(GRegex) regex = g_regex_new ("attach|angehängt|anhang|anbei|beigefügt",
                                         G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '>')
        continue;
      /* Stop at the forwarded message or the signature: those are not the user's words. */
      if (g_str_has_prefix (lines[i], "-------- ") || g_strcmp0 (lines[i], "-- ") == 0)
        break;
      if (g_regex_match (regex, lines[i], 0, NULL))
        return TRUE;
    }
  return FALSE;
}

static void
reminder_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      PbComposer       *self)
{
  if (g_strcmp0 (response, "send") == 0)
    really_send (self);
}

static void
send_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  PbComposer *self = PB_COMPOSER (widget);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) recipients = NULL;
  g_autofree char *body = NULL;

  if (self->outbox_id != NULL || self->loading)
    return;
  hide_error (self);
  if (selected_account (self) == NULL)
    {
      show_error (self, _("No account can send mail: add an outgoing server to an account"),
                  FALSE);
      return;
    }
  collect (self);
  recipients = pb_message_builder_get_envelope_recipients (self->builder, &error);
  if (recipients == NULL)
    {
      show_error (self, error->message, FALSE);
      gtk_widget_grab_focus (GTK_WIDGET (self->to_entry));
      return;
    }

  body = body_text (self);
  if (pb_message_builder_get_n_attachments (self->builder) == 0 && mentions_attachment (body))
    {
      GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self),
                                                  _("Send Without Attachment?"),
                                                  _("The message mentions an attachment, but "
                                                    "nothing is attached."));

      adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                        "cancel", _("_Cancel"),
                                        "send", _("_Send Anyway"),
                                        NULL);
      adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "send",
                                                  ADW_RESPONSE_DESTRUCTIVE);
      adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      g_signal_connect (dialog, "response", G_CALLBACK (reminder_response_cb), self);
      gtk_window_present (GTK_WINDOW (dialog));
      return;
    }
  really_send (self);
}

/* Filling in */

static void
fill_from_builder (PbComposer       *self,
                   PbMessageBuilder *builder)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->body_view);
  const char *cc = pb_message_builder_get_cc (builder);
  const char *bcc = pb_message_builder_get_bcc (builder);
  const char *subject = pb_message_builder_get_subject (builder);
  GtkTextIter start;

  g_set_object (&self->builder, builder);
  gtk_editable_set_text (GTK_EDITABLE (self->to_entry),
                         pb_message_builder_get_to (builder) != NULL
                           ? pb_message_builder_get_to (builder) : "");
  gtk_editable_set_text (GTK_EDITABLE (self->cc_entry), cc != NULL ? cc : "");
  gtk_editable_set_text (GTK_EDITABLE (self->bcc_entry), bcc != NULL ? bcc : "");
  gtk_toggle_button_set_active (self->cc_toggle, (cc != NULL && *cc) || (bcc != NULL && *bcc));
  gtk_editable_set_text (GTK_EDITABLE (self->subject_entry), subject != NULL ? subject : "");
  gtk_text_buffer_set_text (buffer, pb_message_builder_get_body (builder) != NULL
                                      ? pb_message_builder_get_body (builder) : "", -1);
  /* Replies are written on top, above the quote. */
  gtk_text_buffer_get_start_iter (buffer, &start);
  gtk_text_buffer_place_cursor (buffer, &start);
  if (subject != NULL && *subject != '\0')
    adw_window_title_set_title (self->window_title, subject);
  rebuild_attachments (self);
}

static void
select_account (PbComposer *self,
                PbAccount  *account)
{
  for (guint i = 0; account != NULL && i < self->accounts->len; i++)
    if (g_ptr_array_index (self->accounts, i) == account)
      gtk_drop_down_set_selected (self->identity_dropdown, i);
}

static void
load_accounts (PbComposer *self)
{
  PbAccountManager *manager = pb_application_get_account_manager (self->application);
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  guint n = manager != NULL ? g_list_model_get_n_items (G_LIST_MODEL (manager)) : 0;

  g_ptr_array_set_size (self->accounts, 0);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PbAccount) account = g_list_model_get_item (G_LIST_MODEL (manager), i);
      const char *display = pb_account_get_display_name (account);
      g_autofree char *label = NULL;

      if (pb_account_get_outgoing (account) == NULL)
        continue;
      if (display != NULL && *display != '\0')
        label = g_strdup_printf ("%s <%s>", display, pb_account_get_email (account));
      else
        label = g_strdup (pb_account_get_email (account));
      gtk_string_list_append (names, label);
      g_ptr_array_add (self->accounts, g_object_ref (account));
    }
  gtk_drop_down_set_model (self->identity_dropdown, G_LIST_MODEL (names));
  if (self->accounts->len == 0)
    show_error (self, _("No account can send mail: add an outgoing server to an account"),
                FALSE);
}

static void
title_changed_cb (PbComposer *self)
{
  const char *subject = entry_text (self->subject_entry);

  adw_window_title_set_title (self->window_title, *subject != '\0' ? subject : _("New Message"));
  mark_dirty (self);
}

/* Closing */

static gboolean
pb_composer_close_request (GtkWindow *window)
{
  PbComposer *self = PB_COMPOSER (window);

  if (self->closing)
    return FALSE;
  g_clear_handle_id (&self->local_timeout_id, g_source_remove);
  g_clear_handle_id (&self->remote_timeout_id, g_source_remove);

  /* Sent, on its way, or being put in the outbox: keep listening (hidden) until the draft is
   * cleaned up. */
  if (self->outbox_id != NULL || self->outbox != NULL)
    {
      self->closing = TRUE;
      gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
      if (self->draft_discarded)
        return FALSE;
      return TRUE;
    }

  self->closing = TRUE;
  if (is_empty (self))
    {
      discard_draft (self);
      gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
      return TRUE;
    }
  /* Nothing is lost: the text goes to Drafts (and stays in the local copy). */
  collect (self);
  if (selected_account (self) != NULL)
    pb_draft_set_account (self->draft, pb_account_get_name (selected_account (self)));
  pb_draft_set_content (self->draft, self->builder);
  pb_draft_save_local_async (self->draft, NULL, local_saved_cb, g_object_ref (self));
  if ((self->remote_dirty || pb_draft_get_remote_uid (self->draft) == 0) && self->store != NULL
      && selected_account (self) != NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
      save_remote (self, TRUE);
      return TRUE;
    }
  return FALSE;
}

static void
pb_composer_dispose (GObject *object)
{
  PbComposer *self = PB_COMPOSER (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->local_timeout_id, g_source_remove);
  g_clear_handle_id (&self->remote_timeout_id, g_source_remove);
  for (guint i = 0; i < G_N_ELEMENTS (self->completions); i++)
    g_clear_pointer (&self->completions[i], pb_address_completion_free);
  if (self->entry_changed_id != 0)
    g_signal_handler_disconnect (self->outbox, self->entry_changed_id);
  self->entry_changed_id = 0;
  g_clear_object (&self->outbox);
  g_clear_object (&self->undo_toast);

  gtk_widget_dispose_template (GTK_WIDGET (self), PB_TYPE_COMPOSER);

  G_OBJECT_CLASS (pb_composer_parent_class)->dispose (object);
}

static void
pb_composer_finalize (GObject *object)
{
  PbComposer *self = PB_COMPOSER (object);

  g_clear_object (&self->application);
  g_clear_object (&self->store);
  g_clear_pointer (&self->accounts, g_ptr_array_unref);
  g_clear_object (&self->builder);
  g_clear_object (&self->draft);
  g_clear_object (&self->cancellable);
  g_free (self->outbox_id);

  G_OBJECT_CLASS (pb_composer_parent_class)->finalize (object);
}

static void
pb_composer_class_init (PbComposerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = pb_composer_dispose;
  object_class->finalize = pb_composer_finalize;
  window_class->close_request = pb_composer_close_request;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/composer/pb-composer.ui");
  gtk_widget_class_bind_template_child (widget_class, PbComposer, window_title);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, error_label);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, error_button);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, editor_box);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, identity_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, to_entry);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, cc_toggle);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, cc_entry);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, bcc_entry);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, subject_entry);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, body_view);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, attachments_revealer);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, attachments_box);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, send_button);
  gtk_widget_class_bind_template_child (widget_class, PbComposer, attach_button);
  gtk_widget_class_bind_template_callback (widget_class, error_dismiss_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, error_button_clicked_cb);

  gtk_widget_class_install_action (widget_class, "composer.send", NULL, send_action);
  gtk_widget_class_install_action (widget_class, "composer.attach", NULL, attach_action);
  gtk_widget_class_install_action (widget_class, "composer.undo", NULL, undo_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK,
                                       "composer.send", NULL);
}

static void
pb_composer_init (PbComposer *self)
{
  GtkDropTarget *drop;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->accounts = g_ptr_array_new_with_free_func (g_object_unref);
  self->builder = pb_message_builder_new (NULL, NULL);
  self->draft = pb_draft_new (NULL);
  self->cancellable = g_cancellable_new ();
  self->local_ms = LOCAL_DRAFT_MS;
  self->remote_ms = REMOTE_DRAFT_MS;


  g_signal_connect_swapped (self->to_entry, "changed", G_CALLBACK (field_changed_cb), self);
  g_signal_connect_swapped (self->cc_entry, "changed", G_CALLBACK (field_changed_cb), self);
  g_signal_connect_swapped (self->bcc_entry, "changed", G_CALLBACK (field_changed_cb), self);
  g_signal_connect_swapped (self->subject_entry, "changed", G_CALLBACK (title_changed_cb), self);
  gtk_text_buffer_create_tag (gtk_text_view_get_buffer (self->body_view), "quote",
                              "foreground", "#3584e4", NULL);
  g_signal_connect_swapped (gtk_text_view_get_buffer (self->body_view), "changed",
                            G_CALLBACK (body_changed_cb), self);
  g_signal_connect_swapped (self->identity_dropdown, "notify::selected",
                            G_CALLBACK (field_changed_cb), self);

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
}

static PbComposer *
composer_new (PbApplication *application,
              PbStore       *store)
{
  PbComposer *self = g_object_new (PB_TYPE_COMPOSER, "application", application, NULL);

  self->application = g_object_ref (application);
  self->store = store != NULL ? g_object_ref (store) : NULL;
  self->completions[0] = pb_address_completion_new (self->to_entry, store);
  self->completions[1] = pb_address_completion_new (self->cc_entry, store);
  self->completions[2] = pb_address_completion_new (self->bcc_entry, store);
  self->loading = TRUE;
  load_accounts (self);
  self->loading = FALSE;
  return self;
}

/**
 * pb_composer_new:
 * @application: the application
 * @store: (nullable): the mail store, for completion and drafts
 * @mailto: (nullable): a mailto: URI that fills in the message
 *
 * Returns: (transfer none): the composer window, not yet shown
 */
PbComposer *
pb_composer_new (PbApplication *application,
                 PbStore       *store,
                 const char    *mailto)
{
  PbComposer *self;

  g_return_val_if_fail (PB_IS_APPLICATION (application), NULL);

  self = composer_new (application, store);
  if (mailto != NULL && *mailto != '\0')
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PbMailto) link = pb_mailto_parse (mailto, &error);

      if (link == NULL)
        show_error (self, error->message, FALSE);
      else
        {
          g_autoptr(PbMessageBuilder) builder = pb_message_builder_new (NULL, NULL);

          self->loading = TRUE;
          pb_message_builder_set_to (builder, link->to);
          pb_message_builder_set_cc (builder, link->cc);
          pb_message_builder_set_bcc (builder, link->bcc);
          pb_message_builder_set_subject (builder, link->subject);
          pb_message_builder_set_body (builder, link->body);
          pb_message_builder_set_in_reply_to (builder, link->in_reply_to);
          fill_from_builder (self, builder);
          self->loading = FALSE;
        }
    }
  return self;
}

/**
 * pb_composer_new_for_draft:
 * @draft: a draft loaded with pb_draft_load()
 *
 * Returns: (transfer none): the composer window with the draft's content, not yet shown
 */
PbComposer *
pb_composer_new_for_draft (PbApplication *application,
                           PbStore       *store,
                           PbDraft       *draft)
{
  PbComposer *self;
  g_autoptr(PbMessageBuilder) builder = NULL;
  PbAccount *account = NULL;

  g_return_val_if_fail (PB_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (PB_IS_DRAFT (draft), NULL);

  self = composer_new (application, store);
  for (guint i = 0; i < self->accounts->len; i++)
    if (g_strcmp0 (pb_account_get_name (g_ptr_array_index (self->accounts, i)),
                   pb_draft_get_account (draft)) == 0)
      account = g_ptr_array_index (self->accounts, i);
  select_account (self, account);
  /* The same draft, so that its copy in Drafts is replaced, not doubled. */
  g_set_object (&self->draft, draft);
  builder = pb_draft_to_builder (draft, NULL, NULL);
  self->loading = TRUE;
  fill_from_builder (self, builder);
  self->loading = FALSE;
  return self;
}

/* Replies */

typedef struct {
  char          *account;
  char          *folder;
  guint32        uid;
  PbComposeMode  mode;
  char          *from_name;
  char          *from_email;
  GStrv          own;
} ReplyRequest;

static void
reply_request_free (ReplyRequest *request)
{
  g_free (request->account);
  g_free (request->folder);
  g_free (request->from_name);
  g_free (request->from_email);
  g_strfreev (request->own);
  g_free (request);
}

static void
reply_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  ReplyRequest *request = task_data;
  PbStore *store = PB_STORE (source_object);
  GError *error = NULL;
  g_autoptr(GBytes) raw = NULL;
  PbMessageBuilder *builder;
  gint64 folder_id;

  folder_id = pb_store_lookup_folder (store, request->account, request->folder, &error);
  if (folder_id == 0)
    {
      if (error == NULL)
        g_set_error (&error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                     _("There is no folder “%s” in account “%s”"), request->folder,
                     request->account);
      g_task_return_error (task, error);
      return;
    }
  raw = pb_store_get_raw (store, folder_id, request->uid, &error);
  if (raw == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  builder = pb_message_builder_new_for_original (raw, request->mode, request->from_name,
                                                 request->from_email,
                                                 (const char * const *) request->own, &error);
  if (builder == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, builder, g_object_unref);
}

static void
reply_loaded_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(PbComposer) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PbMessageBuilder) builder = g_task_propagate_pointer (G_TASK (result), &error);

  /* Closed before the original was read. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->loading = TRUE;
  if (builder == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The original message could not be read: %s"),
                                               error->message);
      show_error (self, text, FALSE);
    }
  else
    fill_from_builder (self, builder);
  self->loading = FALSE;
  adw_window_title_set_subtitle (self->window_title, NULL);
  set_locked (self, FALSE);
  if (builder != NULL)
    {
      if (*entry_text (self->to_entry) == '\0')
        gtk_widget_grab_focus (GTK_WIDGET (self->to_entry));
      else
        gtk_widget_grab_focus (GTK_WIDGET (self->body_view));
    }
}

/**
 * pb_composer_new_reply:
 * @application: the application
 * @account: the account the message is in (and, if it can send, the identity to answer from)
 * @store: the store holding the message
 * @folder: the folder's path
 * @uid: the message
 * @mode: reply, reply-all, forward or forward as attachment
 *
 * The window shows at once and is filled in when the original has been read off the UI
 * thread; it is presented by this function.
 *
 * Returns: (transfer none): the composer window
 */
PbComposer *
pb_composer_new_reply (PbApplication *application,
                       PbAccount     *account,
                       PbStore       *store,
                       const char    *folder,
                       guint32        uid,
                       PbComposeMode  mode)
{
  PbComposer *self;
  ReplyRequest *request;
  g_autoptr(GStrvBuilder) own = g_strv_builder_new ();
  g_autoptr(GTask) task = NULL;
  PbAccount *identity;

  g_return_val_if_fail (PB_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (PB_IS_ACCOUNT (account), NULL);
  g_return_val_if_fail (PB_IS_STORE (store), NULL);
  g_return_val_if_fail (folder != NULL, NULL);

  self = composer_new (application, store);
  select_account (self, account);
  identity = selected_account (self);
  for (guint i = 0; i < self->accounts->len; i++)
    g_strv_builder_add (own, pb_account_get_email (g_ptr_array_index (self->accounts, i)));
  g_strv_builder_add (own, pb_account_get_email (account));

  request = g_new0 (ReplyRequest, 1);
  request->account = g_strdup (pb_account_get_name (account));
  request->folder = g_strdup (folder);
  request->uid = uid;
  request->mode = mode;
  request->from_name = g_strdup (identity != NULL ? pb_account_get_display_name (identity)
                                                  : pb_account_get_display_name (account));
  request->from_email = g_strdup (identity != NULL ? pb_account_get_email (identity)
                                                   : pb_account_get_email (account));
  request->own = g_strv_builder_end (own);

  adw_window_title_set_subtitle (self->window_title, _("Loading the original…"));
  self->loading = TRUE;
  set_locked (self, TRUE);
  task = g_task_new (store, self->cancellable, reply_loaded_cb, g_object_ref (self));
  g_task_set_source_tag (task, pb_composer_new_reply);
  g_task_set_task_data (task, request, (GDestroyNotify) reply_request_free);
  g_task_run_in_thread (task, reply_thread);

  gtk_window_present (GTK_WINDOW (self));
  return self;
}
