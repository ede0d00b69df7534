/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-credentials"

#include "config.h"

#include <string.h>

#include "pb-credentials.h"

G_DEFINE_QUARK (pb-credentials-error-quark, pb_credentials_error)
G_DEFINE_INTERFACE (PbCredentials, pb_credentials, G_TYPE_OBJECT)

static void
pb_credentials_default_init (PbCredentialsInterface *iface)
{
}

char *
pb_credentials_lookup (PbCredentials  *self,
                       PbService      *service,
                       GCancellable   *cancellable,
                       GError        **error)
{
  g_return_val_if_fail (PB_IS_CREDENTIALS (self), NULL);
  g_return_val_if_fail (PB_IS_SERVICE (service), NULL);
  return PB_CREDENTIALS_GET_IFACE (self)->lookup (self, service, cancellable, error);
}

gboolean
pb_credentials_store (PbCredentials  *self,
                      PbService      *service,
                      const char     *password,
                      GCancellable   *cancellable,
                      GError        **error)
{
  g_return_val_if_fail (PB_IS_CREDENTIALS (self), FALSE);
  g_return_val_if_fail (PB_IS_SERVICE (service), FALSE);
  g_return_val_if_fail (password != NULL, FALSE);
  return PB_CREDENTIALS_GET_IFACE (self)->store (self, service, password, cancellable, error);
}

gboolean
pb_credentials_clear (PbCredentials  *self,
                      PbService      *service,
                      GCancellable   *cancellable,
                      GError        **error)
{
  g_return_val_if_fail (PB_IS_CREDENTIALS (self), FALSE);
  g_return_val_if_fail (PB_IS_SERVICE (service), FALSE);
  return PB_CREDENTIALS_GET_IFACE (self)->clear (self, service, cancellable, error);
}

static void
lookup_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  GError *error = NULL;
  char *password;

  password = pb_credentials_lookup (source_object, task_data, cancellable, &error);
  if (password == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, password, (GDestroyNotify) pb_password_free);
}

void
pb_credentials_lookup_async (PbCredentials       *self,
                             PbService           *service,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PB_IS_CREDENTIALS (self));
  g_return_if_fail (PB_IS_SERVICE (service));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pb_credentials_lookup_async);
  g_task_set_task_data (task, g_object_ref (service), g_object_unref);
  g_task_run_in_thread (task, lookup_thread);
}

char *
pb_credentials_lookup_finish (PbCredentials  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Wipes a password before freeing it, so that it does not linger in freed heap memory that a
 * later crash dump could show. */
void
pb_password_free (char *password)
{
  if (password == NULL)
    return;
  explicit_bzero (password, strlen (password));
  g_free (password);
}
