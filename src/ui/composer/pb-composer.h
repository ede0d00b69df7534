/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "pb-account.h"
#include "pb-application.h"
#include "pb-draft.h"
#include "pb-message-builder.h"
#include "pb-store.h"

G_BEGIN_DECLS

/*
 * The window in which a message is written: identity, recipients with completion from the
 * store, subject, text, attachments; autosaved as a draft; sent through the outbox with an
 * undo delay.
 */
#define PB_TYPE_COMPOSER (pb_composer_get_type ())
G_DECLARE_FINAL_TYPE (PbComposer, pb_composer, PB, COMPOSER, AdwWindow)

/* A new, empty message; @mailto (nullable) is a mailto: URI (RFC 6068) that fills it in. */
PbComposer *pb_composer_new           (PbApplication *application,
                                       PbStore       *store,
                                       const char    *mailto);
/* A reply, reply-all or forward of the stored message @uid in @folder of @account. The
 * original is read off the UI thread; the window shows at once and fills in when it is read.
 * (transfer none): the window belongs to the application, like every GtkWindow. */
PbComposer *pb_composer_new_reply     (PbApplication *application,
                                       PbAccount     *account,
                                       PbStore       *store,
                                       const char    *folder,
                                       guint32        uid,
                                       PbComposeMode  mode);

/* A draft left in the local drafts folder (the program stopped while it was being written),
 * opened again. */
PbComposer *pb_composer_new_for_draft (PbApplication *application,
                                       PbStore       *store,
                                       PbDraft       *draft);

G_END_DECLS
