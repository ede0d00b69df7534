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

static gboolean
has_control (const char *s)
{
  for (; *s; s++)
    if ((guchar) *s < 0x20 || *s == 0x7f)
      return TRUE;
  return FALSE;
}

/* Encodes @length bytes of @data and wipes the plain copy, which may hold a secret. */
static char *
encode_and_wipe (char  *data,
                 gsize  length)
{
  char *encoded = g_base64_encode ((const guchar *) data, length);

  explicit_bzero (data, length);
  g_free (data);
  return encoded;
}

char *
pb_sasl_login_response (const char *text)
{
  g_return_val_if_fail (text != NULL, NULL);
  return g_base64_encode ((const guchar *) text, strlen (text));
}

char *
pb_sasl_xoauth2_response (const char *user,
                          const char *token)
{
  char *message;

  g_return_val_if_fail (user != NULL && token != NULL, NULL);
  if (has_control (user) || has_control (token))
    return NULL;
  message = g_strdup_printf ("user=%s\001auth=Bearer %s\001\001", user, token);
  return encode_and_wipe (message, strlen (message));
}

char *
pb_sasl_oauthbearer_response (const char *user,
                              const char *host,
                              guint16     port,
                              const char *token)
{
  GString *message;
  gsize length;

  g_return_val_if_fail (user != NULL && host != NULL && token != NULL, NULL);
  if (has_control (user) || has_control (host) || has_control (token))
    return NULL;
  /* The GS2 header's authzid is a saslname: ',' and '=' must be escaped (RFC 5801). */
  message = g_string_new ("n,a=");
  for (const char *p = user; *p; p++)
    {
      if (*p == ',')
        g_string_append (message, "=2C");
      else if (*p == '=')
        g_string_append (message, "=3D");
      else
        g_string_append_c (message, *p);
    }
  g_string_append_printf (message, ",\001host=%s\001port=%u\001auth=Bearer %s\001\001", host,
                          port, token);
  length = message->len;
  return encode_and_wipe (g_string_free (message, FALSE), length);
}
