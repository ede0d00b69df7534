/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-store.h"

G_BEGIN_DECLS

/* Store fixtures for tests that build a store by hand; each fails the test on error. */

/* Opens (creating) the store in @dir. */
PbStore *pb_test_store_open       (const char       *dir);
/* A folder of @account, as a sync would leave it (UIDVALIDITY 7, UIDNEXT 100). */
gint64   pb_test_store_add_folder (PbStore          *store,
                                   const char       *account,
                                   const char       *path,
                                   PbFolderRole      role);
/* Adds one message; takes @summary. */
void     pb_test_store_add        (PbStore          *store,
                                   gint64            folder_id,
                                   PbMessageSummary *summary);

G_END_DECLS
