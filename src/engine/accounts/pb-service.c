/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-accounts"

#include "config.h"

#include <glib/gi18n.h>

#include "pb-account-manager.h"
#include "pb-service.h"
#include "pb-util-private.h"

/*
 * A PbService is where one side of an account connects to: protocol, security, host, port and
 * user, written by users as a URL (imaps://alice@example.org:993). The URL never carries a
 * password: one given in it is refused so that it cannot end up in the configuration file.
 */
struct _PbService
{
  GObject     parent_instance;

  PbProtocol  protocol;
  PbSecurity  security;
  char       *host;
  guint16     port;
  char       *user;
  char       *ca_file;
  char       *pinned_sha256;
};

G_DEFINE_FINAL_TYPE (PbService, pb_service, G_TYPE_OBJECT)

static void
pb_service_finalize (GObject *object)
{
  PbService *self = PB_SERVICE (object);

  g_free (self->host);
  g_free (self->user);
  g_free (self->ca_file);
  g_free (self->pinned_sha256);

  G_OBJECT_CLASS (pb_service_parent_class)->finalize (object);
}

static void
pb_service_class_init (PbServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pb_service_finalize;
}

static void
pb_service_init (PbService *self)
{
}

static const struct {
  const char *scheme;
  PbProtocol  protocol;
  PbSecurity  security;
} schemes[] = {
  { "imaps", PB_PROTOCOL_IMAP, PB_SECURITY_TLS },
  { "imap", PB_PROTOCOL_IMAP, PB_SECURITY_STARTTLS },
  { "imap+insecure", PB_PROTOCOL_IMAP, PB_SECURITY_NONE },
  { "pop3s", PB_PROTOCOL_POP3, PB_SECURITY_TLS },
  { "pop3", PB_PROTOCOL_POP3, PB_SECURITY_STARTTLS },
  { "pop3+insecure", PB_PROTOCOL_POP3, PB_SECURITY_NONE },
  { "smtps", PB_PROTOCOL_SMTP, PB_SECURITY_TLS },
  { "smtp", PB_PROTOCOL_SMTP, PB_SECURITY_STARTTLS },
  { "smtp+insecure", PB_PROTOCOL_SMTP, PB_SECURITY_NONE },
};

const char *
pb_protocol_to_string (PbProtocol protocol)
{
  switch (protocol)
    {
    case PB_PROTOCOL_IMAP: return "imap";
    case PB_PROTOCOL_POP3: return "pop3";
    case PB_PROTOCOL_SMTP: return "smtp";
    default: g_assert_not_reached ();
    }
}

guint16
pb_protocol_default_port (PbProtocol protocol,
                          PbSecurity security)
{
  gboolean tls = security == PB_SECURITY_TLS;

  switch (protocol)
    {
    case PB_PROTOCOL_IMAP: return tls ? 993 : 143;
    case PB_PROTOCOL_POP3: return tls ? 995 : 110;
    /* Submission (RFC 6409) rather than 25: clients submit, they do not relay. */
    case PB_PROTOCOL_SMTP: return tls ? 465 : 587;
    default: g_assert_not_reached ();
    }
}

static gboolean
host_is_valid (const char *host)
{
  if (host == NULL || *host == '\0' || strlen (host) > 253)
    return FALSE;
  for (const char *p = host; *p; p++)
    {
      /* Host names, IPv4 and bracket-less IPv6 literals; nothing that could smuggle a path,
       * whitespace or a control character into a connection or a log line. */
      if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-' && *p != ':' && *p != '_')
        return FALSE;
    }
  return TRUE;
}

PbService *
pb_service_new_from_url (const char  *url,
                         GError     **error)
{
  g_autoptr(PbService) self = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *scheme;
  const char *path;
  int port;
  gsize i;

  g_return_val_if_fail (url != NULL, NULL);

  uri = g_uri_parse (url, G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_NON_DNS, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                   _("“%s” is not a valid server address: %s"), url, local_error->message);
      return NULL;
    }

  scheme = g_uri_get_scheme (uri);
  for (i = 0; i < G_N_ELEMENTS (schemes); i++)
    if (g_ascii_strcasecmp (scheme, schemes[i].scheme) == 0)
      break;
  if (i == G_N_ELEMENTS (schemes))
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                   _("Unknown server type “%s” (use imaps, imap, pop3s, pop3, smtps or smtp)"),
                   scheme);
      return NULL;
    }

  if (g_uri_get_password (uri) != NULL)
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                   _("A server address must not contain a password; use the keyring or a "
                     "password command"));
      return NULL;
    }

  path = g_uri_get_path (uri);
  if ((path != NULL && *path != '\0' && g_strcmp0 (path, "/") != 0)
      || g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                   _("A server address has only a user, a host and a port: “%s”"), url);
      return NULL;
    }

  if (!host_is_valid (g_uri_get_host (uri)))
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                   _("“%s” has no valid host name"), url);
      return NULL;
    }

  if (g_uri_get_user (uri) == NULL || *g_uri_get_user (uri) == '\0')
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                   _("“%s” has no user name (write it as %s://USER@HOST)"), url, scheme);
      return NULL;
    }

  for (const char *p = g_uri_get_user (uri); *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      {
        g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                     _("The user name in “%s” contains a control character"), url);
        return NULL;
      }

  port = g_uri_get_port (uri);
  if (port == 0 || port > 65535)
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                   _("“%s” has an invalid port"), url);
      return NULL;
    }

  self = g_object_new (PB_TYPE_SERVICE, NULL);
  self->protocol = schemes[i].protocol;
  self->security = schemes[i].security;
  self->host = g_ascii_strdown (g_uri_get_host (uri), -1);
  self->user = g_strdup (g_uri_get_user (uri));
  self->port = port > 0 ? port : pb_protocol_default_port (self->protocol, self->security);

  return g_steal_pointer (&self);
}

char *
pb_service_to_url (PbService *self)
{
  g_autofree char *user = NULL;
  const char *scheme = NULL;
  gboolean ipv6;

  g_return_val_if_fail (PB_IS_SERVICE (self), NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (schemes); i++)
    if (schemes[i].protocol == self->protocol && schemes[i].security == self->security)
      scheme = schemes[i].scheme;
  g_assert (scheme != NULL);

  user = g_uri_escape_string (self->user, G_URI_RESERVED_CHARS_SUBCOMPONENT_DELIMITERS, TRUE);
  ipv6 = strchr (self->host, ':') != NULL;
  return g_strdup_printf ("%s://%s@%s%s%s:%u", scheme, user, ipv6 ? "[" : "", self->host,
                          ipv6 ? "]" : "", self->port);
}

PbProtocol
pb_service_get_protocol (PbService *self)
{
  g_return_val_if_fail (PB_IS_SERVICE (self), 0);
  return self->protocol;
}

PbSecurity
pb_service_get_security (PbService *self)
{
  g_return_val_if_fail (PB_IS_SERVICE (self), 0);
  return self->security;
}

const char *
pb_service_get_host (PbService *self)
{
  g_return_val_if_fail (PB_IS_SERVICE (self), NULL);
  return self->host;
}

guint16
pb_service_get_port (PbService *self)
{
  g_return_val_if_fail (PB_IS_SERVICE (self), 0);
  return self->port;
}

const char *
pb_service_get_user (PbService *self)
{
  g_return_val_if_fail (PB_IS_SERVICE (self), NULL);
  return self->user;
}

const char *
pb_service_get_ca_file (PbService *self)
{
  g_return_val_if_fail (PB_IS_SERVICE (self), NULL);
  return self->ca_file;
}

void
pb_service_set_ca_file (PbService  *self,
                        const char *ca_file)
{
  g_return_if_fail (PB_IS_SERVICE (self));
  pb_set_str (&self->ca_file, ca_file && *ca_file ? ca_file : NULL);
}

const char *
pb_service_get_pinned_sha256 (PbService *self)
{
  g_return_val_if_fail (PB_IS_SERVICE (self), NULL);
  return self->pinned_sha256;
}

void
pb_service_set_pinned_sha256 (PbService  *self,
                              const char *sha256_hex)
{
  g_return_if_fail (PB_IS_SERVICE (self));
  pb_set_str (&self->pinned_sha256, sha256_hex && *sha256_hex ? sha256_hex : NULL);
}

gboolean
pb_service_is_incoming (PbService *self)
{
  g_return_val_if_fail (PB_IS_SERVICE (self), FALSE);
  return self->protocol != PB_PROTOCOL_SMTP;
}
