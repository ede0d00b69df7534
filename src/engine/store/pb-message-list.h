/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-message-item.h"
#include "pb-store.h"

G_BEGIN_DECLS

/**
 * PbMessageList:
 *
 * A [iface@Gio.ListModel] of [class@MessageItem]s: the messages of one folder of a
 * [class@Store], newest first.
 *
 * The list reads the store in pages, in GTask threads, and never on the calling thread: the
 * number of items is 0 until the folder's count arrived, and [method@Gio.ListModel.get_item]
 * returns at once, a placeholder if the page is not in memory yet, which is filled in place
 * when it arrives. At most #PbMessageList:max-pages pages are kept, so memory stays bounded in
 * a folder of any size. Call [method@MessageList.refresh] after the store changed (after a
 * sync); the list then tells its views exactly which rows came and went.
 *
 * Use a list only on the thread, and under the thread-default main context, that created it.
 */
#define PB_TYPE_MESSAGE_LIST (pb_message_list_get_type ())
G_DECLARE_FINAL_TYPE (PbMessageList, pb_message_list, PB, MESSAGE_LIST, GObject)

PbMessageList *pb_message_list_new           (PbStore       *store,
                                              gint64         folder_id);
PbMessageList *pb_message_list_new_threads   (PbStore       *store,
                                              gint64         folder_id);
PbStore       *pb_message_list_get_store     (PbMessageList *self);
gboolean       pb_message_list_get_threads   (PbMessageList *self);
gint64         pb_message_list_get_folder_id (PbMessageList *self);
gboolean       pb_message_list_get_loading   (PbMessageList *self);
void           pb_message_list_refresh       (PbMessageList *self);

G_END_DECLS
