/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-account.h"
#include "pb-pop3-client.h"
#include "pb-remote-store.h"
#include "pb-store.h"

G_BEGIN_DECLS

gboolean pb_pop3_sync_ensure_folders (PbStore             *store,
                                      const char          *account,
                                      GError             **error);
gint64   pb_pop3_sync_folder_by_role (PbStore             *store,
                                      const char          *account,
                                      PbFolderRole         role,
                                      GError             **error);
gboolean pb_pop3_sync_account        (PbPop3Client        *client,
                                      PbStore             *store,
                                      const char          *account,
                                      const PbPop3Policy  *policy,
                                      PbSyncProgressFunc   progress,
                                      gpointer             progress_data,
                                      GCancellable        *cancellable,
                                      GError             **error);
gboolean pb_pop3_sync_fetch_body     (PbPop3Client        *client,
                                      PbStore             *store,
                                      const char          *account,
                                      const char          *folder,
                                      guint32              uid,
                                      GCancellable        *cancellable,
                                      GError             **error);
gint64   pb_pop3_sync_now            (void);

G_END_DECLS
