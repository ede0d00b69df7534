/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* SASL PLAIN (RFC 4616) initial response, base64-encoded. Free with pb_password_free(): it
 * carries the password. Returns NULL if user or password contain NUL-unsafe bytes. */
char *pb_sasl_plain_response (const char *user,
                              const char *password);

G_END_DECLS
