/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-message-list.h"

G_BEGIN_DECLS

/* For tests: what the list holds in memory and asks of the store right now. */
guint pb_message_list_get_n_cached_pages (PbMessageList *self);
guint pb_message_list_get_n_requests     (PbMessageList *self);

G_END_DECLS
