/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-credentials.h"
#include "pb-remote-store.h"
#include "pb-service.h"
#include "pb-transport.h"

G_BEGIN_DECLS

/**
 * PbPop3Policy:
 * @leave_on_server: keep messages on the server after downloading them (the default)
 * @delete_after_days: if > 0, delete a message on the server this many days after Postbote
 *   first downloaded it (even with @leave_on_server)
 * @delete_when_deleted: delete a message on the server once the user deletes it locally
 * @headers_only_over: if > 0, download only the header of messages larger than this many
 *   bytes; the rest comes when the message is opened
 * @apop: log in with APOP when the server offers it (off by default: APOP is weak)
 *
 * What a POP3 account does with the server's copy of each message.
 */
typedef struct {
  gboolean leave_on_server;
  guint    delete_after_days;
  gboolean delete_when_deleted;
  guint64  headers_only_over;
  gboolean apop;
} PbPop3Policy;

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
const PbPop3Policy *pb_account_get_pop3_policy (PbAccount   *self);
void           pb_account_set_pop3_policy       (PbAccount          *self,
                                                 const PbPop3Policy *policy);
void           pb_account_load_pop3_policy      (PbAccount     *self,
                                                 GKeyFile      *file,
                                                 const char    *group);
void           pb_account_save_pop3_policy      (PbAccount     *self,
                                                 GKeyFile      *file,
                                                 const char    *group);
PbCredentials *pb_account_get_credentials       (PbAccount     *self);
PbRemoteStore *pb_account_get_remote_store      (PbAccount     *self);
PbTransport   *pb_account_get_transport         (PbAccount     *self);
gboolean       pb_account_get_outgoing_oauth    (PbAccount     *self);
void           pb_account_set_outgoing_oauth    (PbAccount     *self,
                                                 gboolean       oauth);
gboolean       pb_account_name_is_valid         (const char    *name);

G_END_DECLS
