/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-store.h"

G_BEGIN_DECLS

/* The journal entry of a move between two local folders (a POP3 account's), done in the
 * store already: folder_id/uidvalidity/uid name the message at its new place, arg is the
 * destination's path. Only a POP3 sync replays it (a move to the Trash may mean "delete on the
 * server"); an IMAP account has no local folders. */
#define PB_JOURNAL_OP_MOVED_LOCALLY "moved-locally"

/*
 * What the user does to messages, applied to the local store at once and recorded in the
 * durable operation journal that the next sync replays to the server. The journal entry is
 * written before the store changes: a crash in between replays a change the store does not
 * show yet, and the sync that follows brings the store in line; the other order could lose
 * the change.
 */
gboolean pb_operations_set_flags (PbStore             *store,
                                  const char          *account,
                                  const char          *folder,
                                  guint32              uid,
                                  const char * const  *add,
                                  const char * const  *remove,
                                  GError             **error);
gboolean pb_operations_move      (PbStore             *store,
                                  const char          *account,
                                  const char          *folder,
                                  guint32              uid,
                                  const char          *destination,
                                  GError             **error);
gboolean pb_operations_move_full (PbStore             *store,
                                  const char          *account,
                                  const char          *folder,
                                  guint32              uid,
                                  const char          *destination,
                                  guint32             *new_uid,
                                  GError             **error);
gboolean pb_operations_delete    (PbStore             *store,
                                  const char          *account,
                                  const char          *folder,
                                  guint32              uid,
                                  GError             **error);
gboolean pb_operations_move_back (PbStore             *store,
                                  const char          *account,
                                  const char          *folder,
                                  const char          *destination,
                                  const char          *message_id,
                                  GError             **error);
char    *pb_operations_normalize_flag (const char     *flag);

G_END_DECLS
