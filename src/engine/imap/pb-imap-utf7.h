/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Modified UTF-7 mailbox names (RFC 3501 section 5.1.3). Both return NULL with an error on
 * malformed input rather than guessing. */
char *pb_imap_utf7_decode (const char *mutf7, GError **error);
char *pb_imap_utf7_encode (const char *utf8);

G_END_DECLS
