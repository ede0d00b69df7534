/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* SASL PLAIN (RFC 4616) initial response, base64-encoded. Free with pb_password_free(): it
 * carries the password. Returns NULL if user or password contain NUL-unsafe bytes. */
char *pb_sasl_plain_response (const char *user,
                              const char *password);

G_END_DECLS

/* SASL LOGIN (draft-murchison-sasl-login): the user name or the password, base64-encoded.
 * Free with pb_password_free() when it carries the password. */
char *pb_sasl_login_response (const char *text);

/* Google's XOAUTH2 initial response, base64-encoded: "user=U^Aauth=Bearer T^A^A".
 * Returns NULL if user or token contain control characters. Free with pb_password_free(). */
char *pb_sasl_xoauth2_response (const char *user,
                                const char *token);

/* OAUTHBEARER (RFC 7628) initial response, base64-encoded, with the GS2 header naming @user
 * (',' and '=' escaped as the RFC asks) and the host and port the client connected to.
 * Returns NULL if an argument contains control characters. Free with pb_password_free(). */
char *pb_sasl_oauthbearer_response (const char *user,
                                    const char *host,
                                    guint16     port,
                                    const char *token);
