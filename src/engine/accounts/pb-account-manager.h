/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-account.h"

G_BEGIN_DECLS

#define PB_ACCOUNT_ERROR (pb_account_error_quark ())

typedef enum {
  PB_ACCOUNT_ERROR_FAILED,
  PB_ACCOUNT_ERROR_INVALID,   /* a malformed URL, name or configuration entry */
  PB_ACCOUNT_ERROR_EXISTS,
  PB_ACCOUNT_ERROR_NOT_FOUND,
} PbAccountError;

GQuark pb_account_error_quark (void);

/*
 * The accounts, as a GListModel of PbAccount, stored as a key file in
 * $XDG_CONFIG_HOME/postbote/accounts.ini. The file never holds a password.
 */
#define PB_TYPE_ACCOUNT_MANAGER (pb_account_manager_get_type ())
G_DECLARE_FINAL_TYPE (PbAccountManager, pb_account_manager, PB, ACCOUNT_MANAGER, GObject)

PbAccountManager *pb_account_manager_new          (const char        *config_dir);
gboolean          pb_account_manager_load         (PbAccountManager  *self,
                                                   GError           **error);
gboolean          pb_account_manager_add          (PbAccountManager  *self,
                                                   PbAccount         *account,
                                                   GError           **error);
gboolean          pb_account_manager_remove       (PbAccountManager  *self,
                                                   const char        *name,
                                                   GError           **error);
PbAccount        *pb_account_manager_lookup       (PbAccountManager  *self,
                                                   const char        *name);
const char       *pb_account_manager_get_path     (PbAccountManager  *self);
char             *pb_default_config_dir           (void);
char             *pb_default_data_dir             (void);

G_END_DECLS
