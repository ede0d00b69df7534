/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-outbox.h"

G_BEGIN_DECLS

/* Internal to the outbox (pb-outbox.c, pb-outbox-entry.c). */

struct _PbOutboxEntry
{
  gatomicrefcount  ref_count;
  char            *id;
  char            *account;
  PbOutboxState    state;
  char            *from;
  char           **recipients;
  char            *subject;
  gint64           queued_time;
  guint            attempts;
  gint64           next_attempt;
  char            *error;
  GQuark           error_domain;
  int              error_code;
  gboolean         no_sent_copy;
};

PbOutboxEntry *pb_outbox_entry_new            (void);
PbOutboxEntry *pb_outbox_entry_copy           (const PbOutboxEntry  *e);
gboolean       pb_outbox_fsync_path           (const char           *path,
                                               gboolean              directory,
                                               GError              **error);
gboolean       pb_outbox_write_state          (const char           *entry_dir,
                                               const PbOutboxEntry  *e,
                                               GError              **error);
gboolean       pb_outbox_write_sending_marker (const char           *entry_dir,
                                               GError              **error);
PbOutboxEntry *pb_outbox_read_state           (const char           *entry_dir,
                                               const char           *id,
                                               GError              **error);
void           pb_outbox_delete_tree          (const char           *path);
gboolean       pb_outbox_remove_entry_dir     (const char           *entry_dir,
                                               GError              **error);
GBytes        *pb_outbox_prepare_message      (GBytes               *raw,
                                               const char           *from,
                                               char               ***recipients_out,
                                               char                **subject_out,
                                               GError              **error);

G_END_DECLS
