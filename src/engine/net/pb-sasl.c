/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-net"

#include "config.h"

#include <string.h>

#include "pb-sasl.h"

char *
pb_sasl_plain_response (const char *user,
                        const char *password)
{
  gsize user_len, password_len, length;
  guint8 *message;
  char *encoded;

  g_return_val_if_fail (user != NULL && password != NULL, NULL);

  /* authzid (empty) NUL authcid NUL password: an empty authorisation identity means "act as
   * the user I authenticate as", which every server accepts. */
  user_len = strlen (user);
  password_len = strlen (password);
  length = 1 + user_len + 1 + password_len;
  message = g_malloc (length);
  message[0] = '\0';
  memcpy (message + 1, user, user_len);
  message[1 + user_len] = '\0';
  memcpy (message + 2 + user_len, password, password_len);

  encoded = g_base64_encode (message, length);
  explicit_bzero (message, length);
  g_free (message);
  return encoded;
}
