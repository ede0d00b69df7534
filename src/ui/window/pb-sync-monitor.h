/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-account-manager.h"
#include "pb-store.h"

G_BEGIN_DECLS

/**
 * PbSyncState:
 * @PB_SYNC_STATE_IDLE: up to date, watching for new mail
 * @PB_SYNC_STATE_SYNCING: a sync is running
 * @PB_SYNC_STATE_OFFLINE: the server cannot be reached; trying again later
 * @PB_SYNC_STATE_ERROR: the server refused (password, certificate); the user has to act
 */
typedef enum {
  PB_SYNC_STATE_IDLE,
  PB_SYNC_STATE_SYNCING,
  PB_SYNC_STATE_OFFLINE,
  PB_SYNC_STATE_ERROR,
} PbSyncState;

/*
 * Keeps every account of an account manager in sync with its server in the background: a sync
 * at start, then watch (IDLE), a new sync soon after the user changed something (so that the
 * operation journal goes up), and retries while offline. Reports each account's state on the
 * main thread.
 */
#define PB_TYPE_SYNC_MONITOR (pb_sync_monitor_get_type ())
G_DECLARE_FINAL_TYPE (PbSyncMonitor, pb_sync_monitor, PB, SYNC_MONITOR, GObject)

PbSyncMonitor *pb_sync_monitor_new              (PbAccountManager  *accounts,
                                                 PbStore           *store);
PbStore       *pb_sync_monitor_get_store        (PbSyncMonitor     *self);
PbAccountManager *pb_sync_monitor_get_accounts  (PbSyncMonitor     *self);
PbSyncState    pb_sync_monitor_get_state        (PbSyncMonitor     *self,
                                                 const char        *account,
                                                 const GError     **error);
double         pb_sync_monitor_get_progress     (PbSyncMonitor     *self);
gboolean       pb_sync_monitor_get_syncing      (PbSyncMonitor     *self);
gboolean       pb_sync_monitor_is_auth_error    (const GError      *error);
void           pb_sync_monitor_sync_soon        (PbSyncMonitor     *self,
                                                 const char        *account);
void           pb_sync_monitor_retry            (PbSyncMonitor     *self,
                                                 const char        *account);

G_END_DECLS
