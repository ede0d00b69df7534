/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-imap-client.h"
#include "pb-remote-store.h"
#include "pb-store.h"

G_BEGIN_DECLS


/* Journal operations (PbJournalEntry.op) and the form of their argument. */
#define PB_JOURNAL_OP_FLAGS   "flags"    /* arg: "+\\Seen -\\Flagged +$Label" */
#define PB_JOURNAL_OP_MOVE    "move"     /* arg: destination folder path */
#define PB_JOURNAL_OP_EXPUNGE "expunge"  /* arg: NULL; \Deleted + UID EXPUNGE of that UID */

gboolean pb_imap_sync_account      (PbImapClient        *client,
                                    PbStore             *store,
                                    const char          *account,
                                    guint                offline_days,
                                    PbSyncProgressFunc   progress,
                                    gpointer             user_data,
                                    GCancellable        *cancellable,
                                    GError             **error);
gboolean pb_imap_sync_replay       (PbImapClient        *client,
                                    PbStore             *store,
                                    const char          *account,
                                    GCancellable        *cancellable,
                                    GError             **error);
gboolean pb_imap_sync_folder       (PbImapClient        *client,
                                    PbStore             *store,
                                    const char          *account,
                                    guint                offline_days,
                                    PbFolderInfo        *folder,
                                    PbSyncProgressFunc   progress,
                                    gpointer             user_data,
                                    GCancellable        *cancellable,
                                    GError             **error);
gboolean pb_imap_sync_idle_inbox  (PbImapClient        *client,
                                    PbStore             *store,
                                    const char          *account,
                                    guint                offline_days,
                                    PbSyncProgressFunc   progress,
                                    gpointer             user_data,
                                    GCancellable        *cancellable,
                                    GError             **error);
gboolean pb_imap_sync_fetch_body   (PbImapClient        *client,
                                    PbStore             *store,
                                    const char          *account,
                                    const char          *folder,
                                    guint32              uid,
                                    GCancellable        *cancellable,
                                    GError             **error);
GArray  *pb_imap_sync_uid_search   (PbImapClient        *client,
                                    const char          *criteria,
                                    guint32              exists,
                                    GCancellable        *cancellable,
                                    GError             **error);
gboolean pb_imap_parse_flags       (PbImapValue         *list,
                                    PbMessageFlags      *out_flags,
                                    char               **out_keywords);

G_END_DECLS
