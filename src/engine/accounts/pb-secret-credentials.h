/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-credentials.h"

G_BEGIN_DECLS

#define PB_TYPE_SECRET_CREDENTIALS (pb_secret_credentials_get_type ())
G_DECLARE_FINAL_TYPE (PbSecretCredentials, pb_secret_credentials, PB, SECRET_CREDENTIALS, GObject)

/* Passwords in the Secret Service (GNOME Keyring, KWallet) through libsecret. */
PbCredentials *pb_secret_credentials_new (const char *account_name);

G_END_DECLS
