/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-account.h"
#include "pb-credentials.h"
#include "pb-remote-store.h"
#include "pb-service.h"

G_BEGIN_DECLS

#define PB_TYPE_POP3_STORE (pb_pop3_store_get_type ())
G_DECLARE_FINAL_TYPE (PbPop3Store, pb_pop3_store, PB, POP3_STORE, GObject)

PbRemoteStore *pb_pop3_store_new        (const char          *account,
                                         PbService           *service,
                                         PbCredentials       *credentials);
void           pb_pop3_store_set_policy (PbPop3Store         *self,
                                         const PbPop3Policy  *policy);

G_END_DECLS
