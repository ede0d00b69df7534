/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-smtp"

#include "config.h"

#include "pb-smtp-error.h"

G_DEFINE_QUARK (pb-smtp-error-quark, pb_smtp_error)
