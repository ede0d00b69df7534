/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-folder-info.h"
#include "pb-store.h"

G_BEGIN_DECLS

/* Progress of a sync, called on the sync's worker thread: @done of @total new messages of
 * @folder are stored. */
typedef void (*PbSyncProgressFunc) (const char *account,
                                    const char *folder,
                                    guint       done,
                                    guint       total,
                                    gpointer    user_data);

/*
 * The incoming side of an account, implemented by IMAP and POP3; everything above this
 * interface (the UI, postbote-cli, sync) is the same for both.
 *
 * An implementation whose _async methods complete a GTask with the store as source object
 * may leave every _finish method unset: the defaults propagate the task's result (a boolean;
 * the folder or search results as a pointer; for append, the new UID as an int, 0 when the
 * server does not tell).
 */
#define PB_TYPE_REMOTE_STORE (pb_remote_store_get_type ())
G_DECLARE_INTERFACE (PbRemoteStore, pb_remote_store, PB, REMOTE_STORE, GObject)

struct _PbRemoteStoreInterface
{
  GTypeInterface parent_iface;

  /* Checks that the server is reachable, verified and accepts the credentials. */
  void       (*check_async)         (PbRemoteStore        *self,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
  gboolean   (*check_finish)        (PbRemoteStore        *self,
                                     GAsyncResult         *result,
                                     GError              **error);

  /* Lists the folders as a GPtrArray of PbFolderInfo, sorted with pb_folder_info_compare(). */
  void       (*list_folders_async)  (PbRemoteStore        *self,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
  GPtrArray *(*list_folders_finish) (PbRemoteStore        *self,
                                     GAsyncResult         *result,
                                     GError              **error);

  /* Sends the local operation journal to the server, then brings @store up to date with the
   * server: folders, flags, new messages and their bodies. */
  void       (*sync_async)          (PbRemoteStore        *self,
                                     PbStore              *store,
                                     PbSyncProgressFunc    progress,
                                     gpointer              progress_data,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
  gboolean   (*sync_finish)         (PbRemoteStore        *self,
                                     GAsyncResult         *result,
                                     GError              **error);

  /* Syncs, then keeps @store up to date (IDLE on the inbox, or polling), reconnecting with
   * backoff after network errors, until @cancellable is cancelled. Fails only for errors
   * that waiting cannot fix, such as a rejected password. */
  void       (*watch_async)         (PbRemoteStore        *self,
                                     PbStore              *store,
                                     PbSyncProgressFunc    progress,
                                     gpointer              progress_data,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
  gboolean   (*watch_finish)        (PbRemoteStore        *self,
                                     GAsyncResult         *result,
                                     GError              **error);

  /* Downloads the body of a message that sync stored without it. */
  void       (*fetch_body_async)    (PbRemoteStore        *self,
                                     PbStore              *store,
                                     const char           *folder,
                                     guint32               uid,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
  gboolean   (*fetch_body_finish)   (PbRemoteStore        *self,
                                     GAsyncResult         *result,
                                     GError              **error);

  /* Stores @raw (RFC 5322, CRLF) in the account's folder with @role (the copy in Sent, a
   * draft), on the server for IMAP (APPEND) or locally for POP3, and in @store. @flags are
   * PbMessageFlags to set. On success *@uid_out (may be NULL) is the new message's UID in
   * that folder, or 0 if the server did not say (no UIDPLUS). The default implementation
   * fails with G_IO_ERROR_NOT_SUPPORTED. */
  void       (*append_async)        (PbRemoteStore        *self,
                                     PbStore              *store,
                                     PbFolderRole          role,
                                     GBytes               *raw,
                                     guint                 flags,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
  gboolean   (*append_finish)       (PbRemoteStore        *self,
                                     GAsyncResult         *result,
                                     guint32              *uid_out,
                                     GError              **error);

  /* Asks the server which messages match @query among those whose text the local index
   * cannot see (bodies not downloaded). Returns a GPtrArray of PbMessageSummary from @store,
   * at most @limit. The default implementation returns an empty array: everything is local. */
  void       (*search_async)        (PbRemoteStore        *self,
                                     PbStore              *store,
                                     const char           *query,
                                     guint                 limit,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
  GPtrArray *(*search_finish)       (PbRemoteStore        *self,
                                     GAsyncResult         *result,
                                     GError              **error);
};

void       pb_remote_store_check_async         (PbRemoteStore        *self,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
gboolean   pb_remote_store_check_finish        (PbRemoteStore        *self,
                                                GAsyncResult         *result,
                                                GError              **error);
void       pb_remote_store_list_folders_async  (PbRemoteStore        *self,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
GPtrArray *pb_remote_store_list_folders_finish (PbRemoteStore        *self,
                                                GAsyncResult         *result,
                                                GError              **error);

void       pb_remote_store_sync_async          (PbRemoteStore        *self,
                                                PbStore              *store,
                                                PbSyncProgressFunc    progress,
                                                gpointer              progress_data,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
gboolean   pb_remote_store_sync_finish         (PbRemoteStore        *self,
                                                GAsyncResult         *result,
                                                GError              **error);

void       pb_remote_store_watch_async         (PbRemoteStore        *self,
                                                PbStore              *store,
                                                PbSyncProgressFunc    progress,
                                                gpointer              progress_data,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
gboolean   pb_remote_store_watch_finish        (PbRemoteStore        *self,
                                                GAsyncResult         *result,
                                                GError              **error);

void       pb_remote_store_fetch_body_async    (PbRemoteStore        *self,
                                                PbStore              *store,
                                                const char           *folder,
                                                guint32               uid,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
gboolean   pb_remote_store_fetch_body_finish   (PbRemoteStore        *self,
                                                GAsyncResult         *result,
                                                GError              **error);

void       pb_remote_store_append_async        (PbRemoteStore        *self,
                                                PbStore              *store,
                                                PbFolderRole          role,
                                                GBytes               *raw,
                                                guint                 flags,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
gboolean   pb_remote_store_append_finish       (PbRemoteStore        *self,
                                                GAsyncResult         *result,
                                                guint32              *uid_out,
                                                GError              **error);

void       pb_remote_store_search_async        (PbRemoteStore        *self,
                                                PbStore              *store,
                                                const char           *query,
                                                guint                 limit,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
GPtrArray *pb_remote_store_search_finish       (PbRemoteStore        *self,
                                                GAsyncResult         *result,
                                                GError              **error);

/* For implementations: sync and watch tasks carry the local store and the progress callback. */
typedef struct {
  PbStore            *store;
  PbSyncProgressFunc  progress;
  gpointer            progress_data;
} PbRemoteSyncData;

GTask     *pb_remote_store_sync_task_new       (PbRemoteStore        *self,
                                                PbStore              *store,
                                                PbSyncProgressFunc    progress,
                                                gpointer              progress_data,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);

G_END_DECLS
