/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-composer.h"
#include "pb-draft.h"

G_BEGIN_DECLS

/* For the UI tests: how often the draft is saved locally and to the Drafts folder while the
 * user types (milliseconds; 0 keeps the current value). */
void      pb_composer_set_draft_intervals (PbComposer *self,
                                           guint       local_ms,
                                           guint       remote_ms);
PbDraft  *pb_composer_get_draft           (PbComposer *self);
/* Adds @file as if it had been picked in the file chooser or dropped on the window. */
void      pb_composer_add_attachment      (PbComposer *self,
                                           GFile      *file);
/* The id of the message in the outbox once Send was clicked, else NULL. */
const char *pb_composer_get_outbox_id     (PbComposer *self);

G_END_DECLS
