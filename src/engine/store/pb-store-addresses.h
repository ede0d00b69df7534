/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-store.h"

G_BEGIN_DECLS

/**
 * PbAddressSuggestion:
 * @name: (nullable): the display name seen most recently with the address
 * @email: the address
 * @count: how often it appears as sender or recipient in the store
 *
 * One address for completing a recipient field.
 */
typedef struct {
  char *name;
  char *email;
  guint count;
} PbAddressSuggestion;

void  pb_address_suggestion_free   (PbAddressSuggestion *suggestion);
char *pb_address_suggestion_format (PbAddressSuggestion *suggestion);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PbAddressSuggestion, pb_address_suggestion_free)

/* The most rows scanned for one query: completion must answer fast even in a huge store, and
 * the frequent addresses show up well within this many. */
#define PB_STORE_ADDRESSES_MAX_ROWS 20000

GPtrArray *pb_store_query_addresses        (PbStore              *self,
                                            const char           *prefix,
                                            guint                 limit,
                                            GError              **error);
void       pb_store_query_addresses_async  (PbStore              *self,
                                            const char           *prefix,
                                            guint                 limit,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
GPtrArray *pb_store_query_addresses_finish (PbStore              *self,
                                            GAsyncResult         *result,
                                            GError              **error);

G_END_DECLS
