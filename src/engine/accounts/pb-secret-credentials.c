/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-credentials"

#include "config.h"

#include <glib/gi18n.h>
#include <libsecret/secret.h>

#include "pb-secret-credentials.h"

struct _PbSecretCredentials
{
  GObject  parent_instance;
  char    *account_name;
};

static void credentials_iface_init (PbCredentialsInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PbSecretCredentials, pb_secret_credentials, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PB_TYPE_CREDENTIALS, credentials_iface_init))

/* One item per account and service; the account name keeps two accounts on the same server
 * and user (say, with different identities) from sharing or overwriting a password. */
static const SecretSchema *
get_schema (void)
{
  static const SecretSchema schema = {
    "io.github.postbote.Postbote.Password", SECRET_SCHEMA_NONE,
    {
      { "account", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "protocol", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "host", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "port", SECRET_SCHEMA_ATTRIBUTE_INTEGER },
      { NULL, 0 },
    }
  };
  return &schema;
}

static GHashTable *
make_attributes (PbSecretCredentials *self,
                 PbService           *service)
{
  GHashTable *attributes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  g_hash_table_insert (attributes, "account", g_strdup (self->account_name));
  g_hash_table_insert (attributes, "protocol",
                       g_strdup (pb_protocol_to_string (pb_service_get_protocol (service))));
  g_hash_table_insert (attributes, "user", g_strdup (pb_service_get_user (service)));
  g_hash_table_insert (attributes, "host", g_strdup (pb_service_get_host (service)));
  g_hash_table_insert (attributes, "port", g_strdup_printf ("%u", pb_service_get_port (service)));
  return attributes;
}

static void
wrap_error (GError     **error,
            GError      *local_error,
            const char  *format)
{
  g_set_error (error, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_FAILED, format,
               local_error->message);
  g_error_free (local_error);
}

static char *
pb_secret_credentials_lookup (PbCredentials  *credentials,
                              PbService      *service,
                              GCancellable   *cancellable,
                              GError        **error)
{
  PbSecretCredentials *self = PB_SECRET_CREDENTIALS (credentials);
  g_autoptr(GHashTable) attributes = make_attributes (self, service);
  GError *local_error = NULL;
  char *secret;
  char *password;

  secret = secret_password_lookupv_nonpageable_sync (get_schema (), attributes, cancellable,
                                                     &local_error);
  if (local_error != NULL)
    {
      wrap_error (error, local_error, _("Could not read the password from the keyring: %s"));
      return NULL;
    }
  if (secret == NULL)
    {
      g_set_error (error, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_NOT_FOUND,
                   _("No password for %s@%s is stored in the keyring"),
                   pb_service_get_user (service), pb_service_get_host (service));
      return NULL;
    }

  /* libsecret hands out non-pageable memory; copy into ordinary memory that
   * pb_password_free() wipes, and wipe the original at once. */
  password = g_strdup (secret);
  secret_password_free (secret);
  return password;
}

static gboolean
pb_secret_credentials_store (PbCredentials  *credentials,
                             PbService      *service,
                             const char     *password,
                             GCancellable   *cancellable,
                             GError        **error)
{
  PbSecretCredentials *self = PB_SECRET_CREDENTIALS (credentials);
  g_autoptr(GHashTable) attributes = make_attributes (self, service);
  g_autofree char *label = NULL;
  GError *local_error = NULL;

  label = g_strdup_printf ("Postbote: %s@%s (%s, account %s)", pb_service_get_user (service),
                           pb_service_get_host (service),
                           pb_protocol_to_string (pb_service_get_protocol (service)),
                           self->account_name);
  if (!secret_password_storev_sync (get_schema (), attributes, SECRET_COLLECTION_DEFAULT, label,
                                    password, cancellable, &local_error))
    {
      wrap_error (error, local_error, _("Could not store the password in the keyring: %s"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
pb_secret_credentials_clear (PbCredentials  *credentials,
                             PbService      *service,
                             GCancellable   *cancellable,
                             GError        **error)
{
  PbSecretCredentials *self = PB_SECRET_CREDENTIALS (credentials);
  g_autoptr(GHashTable) attributes = make_attributes (self, service);
  GError *local_error = NULL;

  /* Nothing stored is not an error: removing an account must work either way. */
  secret_password_clearv_sync (get_schema (), attributes, cancellable, &local_error);
  if (local_error != NULL)
    {
      wrap_error (error, local_error, _("Could not remove the password from the keyring: %s"));
      return FALSE;
    }
  return TRUE;
}

static void
credentials_iface_init (PbCredentialsInterface *iface)
{
  iface->lookup = pb_secret_credentials_lookup;
  iface->store = pb_secret_credentials_store;
  iface->clear = pb_secret_credentials_clear;
}

static void
pb_secret_credentials_finalize (GObject *object)
{
  PbSecretCredentials *self = PB_SECRET_CREDENTIALS (object);

  g_free (self->account_name);

  G_OBJECT_CLASS (pb_secret_credentials_parent_class)->finalize (object);
}

static void
pb_secret_credentials_class_init (PbSecretCredentialsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pb_secret_credentials_finalize;
}

static void
pb_secret_credentials_init (PbSecretCredentials *self)
{
}

PbCredentials *
pb_secret_credentials_new (const char *account_name)
{
  PbSecretCredentials *self;

  g_return_val_if_fail (account_name != NULL, NULL);

  self = g_object_new (PB_TYPE_SECRET_CREDENTIALS, NULL);
  self->account_name = g_strdup (account_name);
  return PB_CREDENTIALS (self);
}
