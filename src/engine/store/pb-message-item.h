/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "pb-message-summary.h"

G_BEGIN_DECLS

/**
 * PbMessageItem:
 *
 * One row of a [class@MessageList]: what the message list shows about one message.
 *
 * The list hands out an item at once, before the message was read from the store; such an item
 * is a placeholder with #PbMessageItem:loaded %FALSE and empty properties. When the store
 * answers, the same item is filled in and notifies every property that changed, so a row bound
 * to it updates by itself. Items are only used on the thread that created their list.
 */
#define PB_TYPE_MESSAGE_ITEM (pb_message_item_get_type ())
G_DECLARE_FINAL_TYPE (PbMessageItem, pb_message_item, PB, MESSAGE_ITEM, GObject)

PbMessageItem  *pb_message_item_new_for_summary    (const PbMessageSummary *summary);
gint64          pb_message_item_get_folder_id      (PbMessageItem *self);
guint32         pb_message_item_get_uid            (PbMessageItem *self);
const char     *pb_message_item_get_subject        (PbMessageItem *self);
const char     *pb_message_item_get_from_name      (PbMessageItem *self);
const char     *pb_message_item_get_from_addr      (PbMessageItem *self);
gint64          pb_message_item_get_date           (PbMessageItem *self);
PbMessageFlags  pb_message_item_get_flags          (PbMessageItem *self);
const char     *pb_message_item_get_preview        (PbMessageItem *self);
gboolean        pb_message_item_get_has_attachment (PbMessageItem *self);
gboolean        pb_message_item_get_loaded         (PbMessageItem *self);
guint           pb_message_item_get_thread_count   (PbMessageItem *self);

G_END_DECLS
