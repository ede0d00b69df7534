/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-credentials.h"
#include "pb-service.h"
#include "pb-smtp-client.h"
#include "pb-transport.h"

G_BEGIN_DECLS

/*
 * The SMTP side of an account behind PbTransport. Messages are sent one after another on a
 * worker thread over one session, which stays open for a few seconds after a message so a
 * batch (an outbox flush) costs one connection and one login.
 */
#define PB_TYPE_SMTP_TRANSPORT (pb_smtp_transport_get_type ())
G_DECLARE_FINAL_TYPE (PbSmtpTransport, pb_smtp_transport, PB, SMTP_TRANSPORT, GObject)

PbTransport *pb_smtp_transport_new          (PbService        *service,
                                             PbCredentials    *credentials);
/* Whether the secret from the credentials is a password (default) or an OAuth token. */
void         pb_smtp_transport_set_auth     (PbSmtpTransport  *self,
                                             PbSmtpAuth        auth);
/* Ask for delivery status notifications (DSN) on messages sent from now on. */
void         pb_smtp_transport_set_flags    (PbSmtpTransport  *self,
                                             PbSmtpSendFlags   flags);
/* Seconds an idle session stays open (default 5); 0 closes it after every message. */
void         pb_smtp_transport_set_idle_timeout (PbSmtpTransport *self,
                                                 guint            seconds);

G_END_DECLS
