/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-service.h"

G_BEGIN_DECLS

#define PB_CREDENTIALS_ERROR (pb_credentials_error_quark ())

/**
 * PbCredentialsError:
 * @PB_CREDENTIALS_ERROR_FAILED: the provider failed (keyring locked, no Secret Service)
 * @PB_CREDENTIALS_ERROR_NOT_FOUND: no password is stored for this service
 * @PB_CREDENTIALS_ERROR_COMMAND: the password command failed or printed nothing
 */
typedef enum {
  PB_CREDENTIALS_ERROR_FAILED,
  PB_CREDENTIALS_ERROR_NOT_FOUND,
  PB_CREDENTIALS_ERROR_COMMAND,
} PbCredentialsError;

GQuark pb_credentials_error_quark (void);

/*
 * Where a service's password comes from. The sync lookup is called on protocol worker threads;
 * the async one from the main thread. Passwords returned are freed with pb_password_free(),
 * which wipes them.
 */
#define PB_TYPE_CREDENTIALS (pb_credentials_get_type ())
G_DECLARE_INTERFACE (PbCredentials, pb_credentials, PB, CREDENTIALS, GObject)

struct _PbCredentialsInterface
{
  GTypeInterface parent_iface;

  char     *(*lookup) (PbCredentials  *self,
                       PbService      *service,
                       GCancellable   *cancellable,
                       GError        **error);
  gboolean  (*store)  (PbCredentials  *self,
                       PbService      *service,
                       const char     *password,
                       GCancellable   *cancellable,
                       GError        **error);
  gboolean  (*clear)  (PbCredentials  *self,
                       PbService      *service,
                       GCancellable   *cancellable,
                       GError        **error);
};

char     *pb_credentials_lookup         (PbCredentials        *self,
                                         PbService            *service,
                                         GCancellable         *cancellable,
                                         GError              **error);
void      pb_credentials_lookup_async   (PbCredentials        *self,
                                         PbService            *service,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
char     *pb_credentials_lookup_finish  (PbCredentials        *self,
                                         GAsyncResult         *result,
                                         GError              **error);
gboolean  pb_credentials_store          (PbCredentials        *self,
                                         PbService            *service,
                                         const char           *password,
                                         GCancellable         *cancellable,
                                         GError              **error);
gboolean  pb_credentials_clear          (PbCredentials        *self,
                                         PbService            *service,
                                         GCancellable         *cancellable,
                                         GError              **error);
void      pb_password_free              (char                 *password);

G_END_DECLS
