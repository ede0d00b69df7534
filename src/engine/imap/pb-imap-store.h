/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-credentials.h"
#include "pb-remote-store.h"
#include "pb-service.h"

G_BEGIN_DECLS

#define PB_TYPE_IMAP_STORE (pb_imap_store_get_type ())
G_DECLARE_FINAL_TYPE (PbImapStore, pb_imap_store, PB, IMAP_STORE, GObject)

PbRemoteStore *pb_imap_store_new (const char    *account,
                                  PbService     *service,
                                  PbCredentials *credentials);

void           pb_imap_store_set_offline_days (PbImapStore *self,
                                               guint        days);

G_END_DECLS
