/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include "pb-imap-error.h"

G_DEFINE_QUARK (pb-imap-error-quark, pb_imap_error)
