/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-account.h"
#include "pb-message-builder.h"
#include "pb-store.h"

G_BEGIN_DECLS

/*
 * One message being written, kept safe while it is written: a local key file (every few
 * seconds, durable: nothing typed is lost to a crash) and a copy in the account's Drafts
 * folder (replacing the previous copy there). Discarded, both places, once the message is
 * queued for sending. Uses only the engine (no GTK), so that it can be tested alone.
 */
#define PB_TYPE_DRAFT (pb_draft_get_type ())
G_DECLARE_FINAL_TYPE (PbDraft, pb_draft, PB, DRAFT, GObject)

PbDraft          *pb_draft_new                 (const char        *dir);
PbDraft          *pb_draft_load                (const char        *path,
                                                GError           **error);
char             *pb_draft_default_dir         (void);
GPtrArray        *pb_draft_list_saved          (const char        *dir);
const char       *pb_draft_get_path            (PbDraft           *self);
const char       *pb_draft_get_account         (PbDraft           *self);
void              pb_draft_set_account         (PbDraft           *self,
                                                const char        *account);
guint32           pb_draft_get_remote_uid      (PbDraft           *self);

/* What to save: a snapshot of @builder's fields and attachment files. */
void              pb_draft_set_content         (PbDraft           *self,
                                                PbMessageBuilder  *builder);
/* (transfer full): a builder with the saved fields, for @account's identity. */
PbMessageBuilder *pb_draft_to_builder          (PbDraft           *self,
                                                const char        *from_name,
                                                const char        *from_email);

void              pb_draft_save_local_async    (PbDraft           *self,
                                                GCancellable      *cancellable,
                                                GAsyncReadyCallback callback,
                                                gpointer           user_data);
gboolean          pb_draft_save_local_finish   (PbDraft           *self,
                                                GAsyncResult      *result,
                                                GError           **error);

/* Appends @raw (the built draft) to @account's Drafts folder, then removes the previous copy
 * there for good (journal + replay, as pb_operations_* do). */
void              pb_draft_save_remote_async   (PbDraft           *self,
                                                PbAccount         *account,
                                                PbStore           *store,
                                                GBytes            *raw,
                                                GCancellable      *cancellable,
                                                GAsyncReadyCallback callback,
                                                gpointer           user_data);
gboolean          pb_draft_save_remote_finish  (PbDraft           *self,
                                                GAsyncResult      *result,
                                                GError           **error);

/* Removes the local file and the copy in Drafts. */
void              pb_draft_discard_async       (PbDraft           *self,
                                                PbAccount         *account,
                                                PbStore           *store,
                                                GCancellable      *cancellable,
                                                GAsyncReadyCallback callback,
                                                gpointer           user_data);
gboolean          pb_draft_discard_finish      (PbDraft           *self,
                                                GAsyncResult      *result,
                                                GError           **error);

G_END_DECLS
