/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-pop3"

#include "config.h"

#include "pb-pop3-error.h"

G_DEFINE_QUARK (pb-pop3-error-quark, pb_pop3_error)
