/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-credentials.h"
#include "pb-remote-store.h"
#include "pb-service.h"
#include "pb-transport.h"

G_BEGIN_DECLS

#define PB_TYPE_ACCOUNT (pb_account_get_type ())
G_DECLARE_FINAL_TYPE (PbAccount, pb_account, PB, ACCOUNT, GObject)

/*
 * One mail account: a name the user picked, an identity (address and display name), one
 * incoming service and an optional outgoing one, and where the password comes from.
 */
PbAccount     *pb_account_new                   (const char    *name,
                                                 const char    *email,
                                                 PbService     *incoming,
                                                 PbService     *outgoing);
const char    *pb_account_get_name              (PbAccount     *self);
const char    *pb_account_get_email             (PbAccount     *self);
const char    *pb_account_get_display_name      (PbAccount     *self);
void           pb_account_set_display_name      (PbAccount     *self,
                                                 const char    *display_name);
PbService     *pb_account_get_incoming          (PbAccount     *self);
PbService     *pb_account_get_outgoing          (PbAccount     *self);
const char    *pb_account_get_password_command  (PbAccount     *self);
void           pb_account_set_password_command  (PbAccount     *self,
                                                 const char    *command);
guint          pb_account_get_offline_days      (PbAccount     *self);
void           pb_account_set_offline_days      (PbAccount     *self,
                                                 guint          days);
PbCredentials *pb_account_get_credentials       (PbAccount     *self);
PbRemoteStore *pb_account_get_remote_store      (PbAccount     *self);
PbTransport   *pb_account_get_transport         (PbAccount     *self);
gboolean       pb_account_get_outgoing_oauth    (PbAccount     *self);
void           pb_account_set_outgoing_oauth    (PbAccount     *self,
                                                 gboolean       oauth);
gboolean       pb_account_name_is_valid         (const char    *name);

G_END_DECLS
