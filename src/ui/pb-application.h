/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "pb-account-manager.h"
#include "pb-outbox.h"
#include "pb-store.h"
#include "pb-sync-monitor.h"

G_BEGIN_DECLS

#define PB_TYPE_APPLICATION (pb_application_get_type ())
G_DECLARE_FINAL_TYPE (PbApplication, pb_application, PB, APPLICATION, AdwApplication)

PbApplication    *pb_application_new                 (void);
PbAccountManager *pb_application_get_account_manager (PbApplication *self);
PbStore          *pb_application_get_store           (PbApplication *self);
PbSyncMonitor    *pb_application_get_sync_monitor    (PbApplication *self);
void              pb_application_window_closing      (PbApplication *self);
void              pb_application_init_i18n           (void);
PbOutbox         *pb_application_get_outbox          (PbApplication *self);
void              pb_application_compose             (PbApplication *self,
                                                      const char    *mailto);
void              pb_bench_mark                      (const char    *stage);

G_END_DECLS
