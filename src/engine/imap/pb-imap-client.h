/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-folder-info.h"
#include "pb-imap-error.h"
#include "pb-service.h"

G_BEGIN_DECLS

#define PB_TYPE_IMAP_CLIENT (pb_imap_client_get_type ())
G_DECLARE_FINAL_TYPE (PbImapClient, pb_imap_client, PB, IMAP_CLIENT, GObject)

/*
 * One IMAP session. Its calls block and are meant for a worker thread (PbImapStore runs them
 * inside GTasks); one thread uses a client at a time.
 */
PbImapClient *pb_imap_client_new              (PbService     *service);
gboolean      pb_imap_client_connect          (PbImapClient  *self,
                                               GCancellable  *cancellable,
                                               GError       **error);
gboolean      pb_imap_client_authenticate     (PbImapClient  *self,
                                               const char    *password,
                                               GCancellable  *cancellable,
                                               GError       **error);
GPtrArray    *pb_imap_client_list_folders     (PbImapClient  *self,
                                               GCancellable  *cancellable,
                                               GError       **error);
void          pb_imap_client_logout           (PbImapClient  *self,
                                               GCancellable  *cancellable);
gboolean      pb_imap_client_has_capability   (PbImapClient  *self,
                                               const char    *capability);
gboolean      pb_imap_client_is_authenticated (PbImapClient  *self);

G_END_DECLS
