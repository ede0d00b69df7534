/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "pb-store.h"

G_BEGIN_DECLS

/*
 * Completion of a recipient field from the addresses in the store: after a pause in typing,
 * the address being typed (after the last comma) is looked up off the UI thread, most
 * frequent first; choosing one replaces what was typed and adds ", " for the next.
 * GtkEntryCompletion is deprecated in GTK 4.10 but is the 4.8 way.
 */
typedef struct _PbAddressCompletion PbAddressCompletion;

PbAddressCompletion *pb_address_completion_new  (GtkEntry            *entry,
                                                 PbStore             *store);
void                 pb_address_completion_free (PbAddressCompletion *completion);

G_END_DECLS
