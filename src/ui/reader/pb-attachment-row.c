/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-reader"

#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pb-attachment-row.h"

/*
 * One attachment in the reader: its icon, its sanitised name, its size, and Save and Open.
 * The row keeps the part's decoded bytes (and the rendering they belong to), so saving and
 * opening never parse the message again. Writing happens on GIO's worker threads.
 *
 * Open writes the file into a fresh private folder (0700) under $XDG_RUNTIME_DIR, or the
 * cache folder when there is none, with mode 0600 and never executable, and hands it to the
 * default application for its type.
 */

struct _PbAttachmentRow
{
  GtkListBoxRow    parent_instance;

  PbMessageRender *render;   /* keeps @bytes' owner alive */
  GBytes          *bytes;
  char            *filename;
  char            *content_type;
  char            *size_text;
  GtkLabel        *status_label;
  GCancellable    *cancellable;
};

G_DEFINE_FINAL_TYPE (PbAttachmentRow, pb_attachment_row, GTK_TYPE_LIST_BOX_ROW)

static void
show_status (PbAttachmentRow *self,
             const char      *text)
{
  gtk_label_set_text (self->status_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->status_label), text != NULL && *text != '\0');
}

static void
replace_contents_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    g_task_return_pointer (task, g_object_ref (source), g_object_unref);
  else
    g_task_return_error (task, error);
}

/**
 * pb_attachment_row_save_to_file_async:
 * @file: where to save
 *
 * Writes the attachment to @file, replacing it, off the main thread.
 */
void
pb_attachment_row_save_to_file_async (PbAttachmentRow     *self,
                                      GFile               *file,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (PB_IS_ATTACHMENT_ROW (self));
  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pb_attachment_row_save_to_file_async);
  /* The file chooser already asked about overwriting. */
  g_file_replace_contents_bytes_async (file, self->bytes, NULL, FALSE, G_FILE_CREATE_NONE,
                                       cancellable, replace_contents_cb, task);
}

gboolean
pb_attachment_row_save_to_file_finish (PbAttachmentRow  *self,
                                       GAsyncResult     *result,
                                       GError          **error)
{
  g_autoptr(GFile) file = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  file = g_task_propagate_pointer (G_TASK (result), error);
  return file != NULL;
}

/* A new private folder for one opened attachment, so that two attachments of the same name
 * never overwrite each other and no other user can read or swap the file. */
static char *
make_private_dir (GError **error)
{
  const char *runtime = g_getenv ("XDG_RUNTIME_DIR");
  g_autofree char *base = NULL;
  g_autofree char *template = NULL;
  char *dir;

  if (runtime != NULL && g_file_test (runtime, G_FILE_TEST_IS_DIR))
    base = g_build_filename (runtime, "postbote-attachments", NULL);
  else
    base = g_build_filename (g_get_user_cache_dir (), "postbote", "attachments", NULL);
  if (g_mkdir_with_parents (base, 0700) != 0 || g_chmod (base, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Could not create the folder “%s”: %s"), base, g_strerror (saved));
      return NULL;
    }
  template = g_build_filename (base, "open-XXXXXX", NULL);
  dir = g_mkdtemp_full (template, 0700);
  if (dir == NULL)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Could not create a folder in “%s”: %s"), base, g_strerror (saved));
      return NULL;
    }
  return g_strdup (dir);
}

static void
write_temp_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  PbAttachmentRow *self = source_object;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileOutputStream) out = NULL;
  GError *error = NULL;
  gsize written = 0;

  dir = make_private_dir (&error);
  if (dir == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  path = g_build_filename (dir, self->filename, NULL);
  file = g_file_new_for_path (path);
  /* PRIVATE: mode 0600, never executable. */
  out = g_file_create (file, G_FILE_CREATE_PRIVATE, cancellable, &error);
  if (out == NULL
      || !g_output_stream_write_all (G_OUTPUT_STREAM (out), g_bytes_get_data (self->bytes, NULL),
                                     g_bytes_get_size (self->bytes), &written, cancellable,
                                     &error)
      || !g_output_stream_close (G_OUTPUT_STREAM (out), cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&file), g_object_unref);
}

/**
 * pb_attachment_row_write_temp_async:
 *
 * Writes the attachment into a new private folder, for opening it, off the main thread.
 */
void
pb_attachment_row_write_temp_async (PbAttachmentRow     *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PB_IS_ATTACHMENT_ROW (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pb_attachment_row_write_temp_async);
  g_task_run_in_thread (task, write_temp_thread);
}

/**
 * pb_attachment_row_write_temp_finish:
 *
 * Returns: (transfer full): the file written
 */
GFile *
pb_attachment_row_write_temp_finish (PbAttachmentRow  *self,
                                     GAsyncResult     *result,
                                     GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
saved_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  PbAttachmentRow *self = PB_ATTACHMENT_ROW (source);
  g_autoptr(GError) error = NULL;

  if (!pb_attachment_row_save_to_file_finish (self, result, &error))
    {
      g_autofree char *text = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      text = g_strdup_printf (_("Could not save: %s"), error->message);
      show_status (self, text);
    }
  else
    show_status (self, NULL);
}

static void
chooser_response_cb (GtkNativeDialog *chooser,
                     int              response,
                     gpointer         user_data)
{
  PbAttachmentRow *self = PB_ATTACHMENT_ROW (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (file != NULL)
        pb_attachment_row_save_to_file_async (self, file, self->cancellable, saved_cb, NULL);
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  g_object_unref (self);
}

static void
save_clicked_cb (PbAttachmentRow *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *chooser;

  /* GtkFileDialog is GTK 4.10; the native chooser works from 4.8 on and uses the portal. */
  chooser = gtk_file_chooser_native_new (_("Save Attachment"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), self->filename);
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
written_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  PbAttachmentRow *self = PB_ATTACHMENT_ROW (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = pb_attachment_row_write_temp_finish (self, result, &error);
  GtkRoot *root;

  if (file == NULL)
    {
      g_autofree char *text = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      text = g_strdup_printf (_("Could not open: %s"), error->message);
      show_status (self, text);
      return;
    }
  show_status (self, NULL);
  root = gtk_widget_get_root (GTK_WIDGET (self));
#if GTK_CHECK_VERSION (4, 10, 0)
  {
    g_autoptr(GtkFileLauncher) launcher = gtk_file_launcher_new (file);

    gtk_file_launcher_launch (launcher, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, NULL,
                              NULL, NULL);
  }
#else
  {
    g_autofree char *uri = g_file_get_uri (file);

    gtk_show_uri (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, uri, GDK_CURRENT_TIME);
  }
#endif
}

static void
open_clicked_cb (PbAttachmentRow *self)
{
  pb_attachment_row_write_temp_async (self, self->cancellable, written_cb, NULL);
}

/**
 * pb_attachment_row_new:
 * @render: the message
 * @part: one of its leaf parts or nested messages
 *
 * Returns: (transfer floating): a row for @part
 */
GtkWidget *
pb_attachment_row_new (PbMessageRender    *render,
                       const PbRenderPart *part)
{
  PbAttachmentRow *self;
  g_autofree char *type = NULL;
  g_autofree char *description = NULL;
  g_autofree char *size = NULL;
  g_autoptr(GIcon) icon = NULL;
  GtkWidget *box, *labels, *image, *name, *detail, *save, *open;

  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (render), NULL);
  g_return_val_if_fail (part != NULL && part->bytes != NULL, NULL);

  self = g_object_new (PB_TYPE_ATTACHMENT_ROW, NULL);
  self->render = g_object_ref (render);
  self->bytes = g_bytes_ref (part->bytes);
  self->filename = g_strdup (part->filename);
  self->content_type = g_strdup (part->content_type);

  type = g_content_type_from_mime_type (part->content_type);
  if (type == NULL)
    type = g_strdup (part->content_type);
  icon = g_content_type_get_symbolic_icon (type);
  description = g_content_type_get_description (type);
  size = g_format_size (part->size);
  self->size_text = g_strdup (size);

  box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 6);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);

  image = gtk_image_new_from_gicon (icon);
  gtk_image_set_icon_size (GTK_IMAGE (image), GTK_ICON_SIZE_LARGE);
  gtk_box_append (GTK_BOX (box), image);

  labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  gtk_widget_set_hexpand (labels, TRUE);
  gtk_widget_set_valign (labels, GTK_ALIGN_CENTER);
  /* Names come from the sender: plain text only. */
  name = gtk_label_new (NULL);
  gtk_label_set_text (GTK_LABEL (name), part->filename);
  gtk_label_set_use_markup (GTK_LABEL (name), FALSE);
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_set_name (name, "attachment-name");
  gtk_box_append (GTK_BOX (labels), name);
  detail = gtk_label_new (NULL);
  {
    /* TRANSLATORS: an attachment's size and type, e.g. "12.3 kB — PDF document" */
    g_autofree char *text = g_strdup_printf (_("%s — %s"), size, description);

    gtk_label_set_text (GTK_LABEL (detail), text);
  }
  gtk_label_set_xalign (GTK_LABEL (detail), 0);
  gtk_label_set_ellipsize (GTK_LABEL (detail), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (detail, "dim-label");
  gtk_widget_add_css_class (detail, "caption");
  gtk_widget_set_name (detail, "attachment-detail");
  gtk_box_append (GTK_BOX (labels), detail);
  self->status_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->status_label, 0);
  gtk_label_set_wrap (self->status_label, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
  gtk_widget_set_visible (GTK_WIDGET (self->status_label), FALSE);
  gtk_box_append (GTK_BOX (labels), GTK_WIDGET (self->status_label));
  gtk_box_append (GTK_BOX (box), labels);

  open = gtk_button_new_with_mnemonic (_("_Open"));
  gtk_widget_set_valign (open, GTK_ALIGN_CENTER);
  gtk_widget_set_name (open, "open-button");
  gtk_widget_set_tooltip_text (open, _("Open with the default application"));
  g_signal_connect_swapped (open, "clicked", G_CALLBACK (open_clicked_cb), self);
  gtk_box_append (GTK_BOX (box), open);

  save = gtk_button_new_from_icon_name ("document-save-symbolic");
  gtk_widget_set_valign (save, GTK_ALIGN_CENTER);
  gtk_widget_set_name (save, "save-button");
  gtk_widget_set_tooltip_text (save, _("Save…"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (save), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Save…"), -1);
  g_signal_connect_swapped (save, "clicked", G_CALLBACK (save_clicked_cb), self);
  gtk_box_append (GTK_BOX (box), save);

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (self), box);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (self), FALSE);
  return GTK_WIDGET (self);
}

const char *
pb_attachment_row_get_filename (PbAttachmentRow *self)
{
  g_return_val_if_fail (PB_IS_ATTACHMENT_ROW (self), NULL);
  return self->filename;
}

const char *
pb_attachment_row_get_size_text (PbAttachmentRow *self)
{
  g_return_val_if_fail (PB_IS_ATTACHMENT_ROW (self), NULL);
  return self->size_text;
}

static void
pb_attachment_row_dispose (GObject *object)
{
  PbAttachmentRow *self = PB_ATTACHMENT_ROW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->render);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  G_OBJECT_CLASS (pb_attachment_row_parent_class)->dispose (object);
}

static void
pb_attachment_row_finalize (GObject *object)
{
  PbAttachmentRow *self = PB_ATTACHMENT_ROW (object);

  g_free (self->filename);
  g_free (self->content_type);
  g_free (self->size_text);
  G_OBJECT_CLASS (pb_attachment_row_parent_class)->finalize (object);
}

static void
pb_attachment_row_class_init (PbAttachmentRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pb_attachment_row_dispose;
  object_class->finalize = pb_attachment_row_finalize;
}

static void
pb_attachment_row_init (PbAttachmentRow *self)
{
  self->cancellable = g_cancellable_new ();
}
