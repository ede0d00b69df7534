/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-imap-client.h"
#include "pb-store.h"

G_BEGIN_DECLS

gboolean   pb_imap_search_needed (PbStore       *store,
                                  const char    *account);
GPtrArray *pb_imap_search_server (PbImapClient  *client,
                                  PbStore       *store,
                                  const char    *account,
                                  const char    *query,
                                  guint          limit,
                                  GCancellable  *cancellable,
                                  GError       **error);

G_END_DECLS
