/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-credentials.h"

G_BEGIN_DECLS

#define PB_TYPE_COMMAND_CREDENTIALS (pb_command_credentials_get_type ())
G_DECLARE_FINAL_TYPE (PbCommandCredentials, pb_command_credentials, PB, COMMAND_CREDENTIALS,
                      GObject)

/* Passwords printed by a command the user chose (`pass show mail/work`, `secret-tool lookup …`),
 * like mbsync's PassCmd. The command runs through /bin/sh; its first output line is the
 * password. Storing is not possible: the command owns the secret. */
PbCredentials *pb_command_credentials_new (const char *command);

G_END_DECLS
