/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "pb-message-item.h"

G_BEGIN_DECLS

#define PB_TYPE_MESSAGE_ROW (pb_message_row_get_type ())
G_DECLARE_FINAL_TYPE (PbMessageRow, pb_message_row, PB, MESSAGE_ROW, GtkWidget)

GtkWidget     *pb_message_row_new          (void);
PbMessageItem *pb_message_row_get_item     (PbMessageRow  *self);
void           pb_message_row_set_item     (PbMessageRow  *self,
                                            PbMessageItem *item);
char          *pb_message_row_format_date  (gint64         date,
                                            GDateTime     *now);
guint          pb_message_row_get_n_alive  (void);

G_END_DECLS
