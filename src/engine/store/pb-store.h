/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-folder-info.h"
#include "pb-message-summary.h"
#include "pb-store-error.h"

G_BEGIN_DECLS

/**
 * PbJournalEntry:
 * @id: the entry's id; entries are replayed in id order
 * @account: the account the operation belongs to
 * @op: what to do (the sync defines the names, e.g. "flags", "move", "expunge")
 * @folder_id: the folder the operation acts on
 * @uidvalidity: the UIDVALIDITY @uid belongs to, so that a replay can tell a stale entry
 * @uid: the message, 0 if the operation is about the folder
 * @arg: (nullable): the operation's argument, in a form the sync defines
 * @created: when the user did it (Unix time)
 *
 * One operation done while offline (or not yet sent to the server).
 */
typedef struct {
  gint64   id;
  char    *account;
  char    *op;
  gint64   folder_id;
  guint32  uidvalidity;
  guint32  uid;
  char    *arg;
  gint64   created;
} PbJournalEntry;

void pb_journal_entry_free (PbJournalEntry *entry);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PbJournalEntry, pb_journal_entry_free)

/**
 * PB_STORE_FOLDER_INBOXES:
 *
 * A pseudo folder id that pb_store_list_messages(), pb_store_count_messages() and
 * #PbMessageList accept: the inboxes of every account together (the unified inbox), in the
 * same order as one folder.
 */
#define PB_STORE_FOLDER_INBOXES ((gint64) -1)

/**
 * PbStore:
 *
 * One profile's local mail: an SQLite index (WAL) with full-text search and the raw messages
 * as files. Every function may be called from any thread; they block on disk I/O, so the UI
 * thread uses the `_async` variants. Writes are serialised on one connection, reads run on a
 * pool of read-only connections beside them.
 */
#define PB_TYPE_STORE (pb_store_get_type ())
G_DECLARE_FINAL_TYPE (PbStore, pb_store, PB, STORE, GObject)

PbStore          *pb_store_open                    (const char           *dir,
                                                    GError              **error);
const char       *pb_store_get_dir                 (PbStore              *self);

/* Folders */
gint64            pb_store_ensure_folder           (PbStore              *self,
                                                    const char           *account,
                                                    PbFolderInfo         *info,
                                                    GError              **error);
gint64            pb_store_lookup_folder           (PbStore              *self,
                                                    const char           *account,
                                                    const char           *path,
                                                    GError              **error);
GPtrArray        *pb_store_list_folders            (PbStore              *self,
                                                    const char           *account,
                                                    GError              **error);
void              pb_store_list_folders_async      (PbStore              *self,
                                                    const char           *account,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
GPtrArray        *pb_store_list_folders_finish     (PbStore              *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
gboolean          pb_store_get_folder_state        (PbStore              *self,
                                                    gint64                folder_id,
                                                    guint32              *uidvalidity,
                                                    guint32              *uidnext,
                                                    guint64              *highestmodseq,
                                                    GError              **error);
gboolean          pb_store_set_folder_state        (PbStore              *self,
                                                    gint64                folder_id,
                                                    guint32               uidvalidity,
                                                    guint32               uidnext,
                                                    guint64               highestmodseq,
                                                    GError              **error);
gboolean          pb_store_reset_folder            (PbStore              *self,
                                                    gint64                folder_id,
                                                    guint32               new_uidvalidity,
                                                    GError              **error);
gboolean          pb_store_remove_folders_except   (PbStore              *self,
                                                    const char           *account,
                                                    const char * const   *paths,
                                                    GError              **error);

/* Messages */
gboolean          pb_store_add_messages            (PbStore              *self,
                                                    gint64                folder_id,
                                                    GPtrArray            *summaries,
                                                    GError              **error);
gboolean          pb_store_set_body                (PbStore              *self,
                                                    gint64                folder_id,
                                                    guint32               uid,
                                                    GBytes               *raw,
                                                    GError              **error);
gboolean          pb_store_set_bodies              (PbStore              *self,
                                                    gint64                folder_id,
                                                    const guint32        *uids,
                                                    GBytes * const       *raws,
                                                    guint                 n,
                                                    guint                *n_stored,
                                                    GError              **error);
GBytes           *pb_store_get_raw                 (PbStore              *self,
                                                    gint64                folder_id,
                                                    guint32               uid,
                                                    GError              **error);
void              pb_store_get_raw_async           (PbStore              *self,
                                                    gint64                folder_id,
                                                    guint32               uid,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
GBytes           *pb_store_get_raw_finish          (PbStore              *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
PbMessageSummary *pb_store_get_message             (PbStore              *self,
                                                    gint64                folder_id,
                                                    guint32               uid,
                                                    GError              **error);
gboolean          pb_store_update_flags            (PbStore              *self,
                                                    gint64                folder_id,
                                                    guint32               uid,
                                                    PbMessageFlags        flags,
                                                    const char           *keywords,
                                                    guint64               modseq,
                                                    GError              **error);
gboolean          pb_store_update_flags_batch      (PbStore              *self,
                                                    gint64                folder_id,
                                                    const PbUidFlags     *updates,
                                                    guint                 n_updates,
                                                    GError              **error);
gboolean          pb_store_remove_uids             (PbStore              *self,
                                                    gint64                folder_id,
                                                    const guint32        *uids,
                                                    guint                 n_uids,
                                                    GError              **error);
GArray           *pb_store_get_uid_flags           (PbStore              *self,
                                                    gint64                folder_id,
                                                    GError              **error);
GArray           *pb_store_get_uids_without_body   (PbStore              *self,
                                                    gint64                folder_id,
                                                    gboolean              newest_first,
                                                    guint                 limit,
                                                    GError              **error);
GPtrArray        *pb_store_list_messages           (PbStore              *self,
                                                    gint64                folder_id,
                                                    guint                 offset,
                                                    guint                 limit,
                                                    GError              **error);
void              pb_store_list_messages_async     (PbStore              *self,
                                                    gint64                folder_id,
                                                    guint                 offset,
                                                    guint                 limit,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
GPtrArray        *pb_store_list_messages_finish    (PbStore              *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
gboolean          pb_store_count_messages          (PbStore              *self,
                                                    gint64                folder_id,
                                                    guint                *total,
                                                    guint                *unread,
                                                    GError              **error);
void              pb_store_count_messages_async    (PbStore              *self,
                                                    gint64                folder_id,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean          pb_store_count_messages_finish   (PbStore              *self,
                                                    GAsyncResult         *result,
                                                    guint                *total,
                                                    guint                *unread,
                                                    GError              **error);

guint32           pb_store_lookup_message_id       (PbStore              *self,
                                                    gint64                folder_id,
                                                    const char           *message_id,
                                                    GError              **error);

/* Search */
GPtrArray        *pb_store_search                  (PbStore              *self,
                                                    const char           *query,
                                                    guint                 limit,
                                                    GError              **error);
void              pb_store_search_async            (PbStore              *self,
                                                    const char           *query,
                                                    guint                 limit,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
GPtrArray        *pb_store_search_finish           (PbStore              *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

/* Offline operation journal */
gint64            pb_store_journal_add             (PbStore              *self,
                                                    const char           *account,
                                                    const char           *op,
                                                    gint64                folder_id,
                                                    guint32               uidvalidity,
                                                    guint32               uid,
                                                    const char           *arg,
                                                    GError              **error);
gboolean          pb_store_journal_add_batch       (PbStore              *self,
                                                    const char           *account,
                                                    const char           *op,
                                                    gint64                folder_id,
                                                    guint32               uidvalidity,
                                                    const guint32        *uids,
                                                    guint                 n,
                                                    const char           *arg,
                                                    GError              **error);
GPtrArray        *pb_store_journal_list            (PbStore              *self,
                                                    const char           *account,
                                                    GError              **error);
gboolean          pb_store_journal_remove          (PbStore              *self,
                                                    gint64                id,
                                                    GError              **error);

/* Parsing (no store needed; safe from any thread after pb_engine_init()) */
PbMessageSummary *pb_store_parse_summary           (GBytes               *raw);

G_END_DECLS
