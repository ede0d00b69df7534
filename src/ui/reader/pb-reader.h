/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "pb-account.h"
#include "pb-store.h"

G_BEGIN_DECLS

/**
 * PbReader:
 *
 * The message view: the headers of one message (every text from the sender shown literally,
 * never as markup), its text parts with quote levels, each HTML part in its own WebKit view
 * (no JavaScript, no remote loads until the user allows them for that sender, links open in
 * the browser only after a click), and its attachments with Save and Open.
 *
 * The reader loads the message itself: it reads the raw bytes from the store and parses them
 * on a worker thread, and when the store holds only the summary it asks the account's
 * [iface@RemoteStore] to download the body first. It never blocks the main thread. Showing
 * another message (or clearing) cancels whatever the previous one was still doing.
 */
#define PB_TYPE_READER (pb_reader_get_type ())
G_DECLARE_FINAL_TYPE (PbReader, pb_reader, PB, READER, GtkWidget)

/**
 * PbReaderState:
 * @PB_READER_STATE_EMPTY: nothing selected (after pb_reader_clear())
 * @PB_READER_STATE_LOADING: reading, downloading or parsing the message
 * @PB_READER_STATE_SHOWN: the message is shown
 * @PB_READER_STATE_ERROR: the message could not be loaded; the reader shows why
 *
 * What the reader shows, as its #PbReader:state property.
 */
typedef enum {
  PB_READER_STATE_EMPTY,
  PB_READER_STATE_LOADING,
  PB_READER_STATE_SHOWN,
  PB_READER_STATE_ERROR,
} PbReaderState;

#define PB_TYPE_READER_STATE (pb_reader_state_get_type ())
GType pb_reader_state_get_type (void) G_GNUC_CONST;

GtkWidget     *pb_reader_new            (void);

void           pb_reader_show_message   (PbReader    *self,
                                         PbAccount   *account,
                                         PbStore     *store,
                                         const char  *folder_path,
                                         guint32      uid);
void           pb_reader_show_raw       (PbReader    *self,
                                         GBytes      *raw);
void           pb_reader_clear          (PbReader    *self);

PbReaderState  pb_reader_get_state      (PbReader    *self);
const char    *pb_reader_get_subject    (PbReader    *self);

G_END_DECLS
