/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "pb-message-render.h"

G_BEGIN_DECLS

#define PB_TYPE_ATTACHMENT_ROW (pb_attachment_row_get_type ())
G_DECLARE_FINAL_TYPE (PbAttachmentRow, pb_attachment_row, PB, ATTACHMENT_ROW, GtkListBoxRow)

GtkWidget  *pb_attachment_row_new               (PbMessageRender     *render,
                                                 const PbRenderPart  *part);
const char *pb_attachment_row_get_filename      (PbAttachmentRow     *self);
const char *pb_attachment_row_get_size_text     (PbAttachmentRow     *self);
void        pb_attachment_row_save_to_file_async (PbAttachmentRow    *self,
                                                 GFile               *file,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean    pb_attachment_row_save_to_file_finish (PbAttachmentRow   *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
void        pb_attachment_row_write_temp_async  (PbAttachmentRow     *self,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
GFile      *pb_attachment_row_write_temp_finish (PbAttachmentRow     *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

G_END_DECLS
