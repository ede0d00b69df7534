/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-message-item.h"

G_BEGIN_DECLS

PbMessageItem *pb_message_item_new          (gint64                  folder_id);
void           pb_message_item_update       (PbMessageItem          *self,
                                             const PbMessageSummary *summary);
gint64         pb_message_item_get_id       (PbMessageItem          *self);
guint          pb_message_item_get_n_alive  (void);

G_END_DECLS
