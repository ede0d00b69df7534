/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "pb-account-manager.h"
#include "pb-sync-monitor.h"

G_BEGIN_DECLS

#define PB_TYPE_WINDOW (pb_window_get_type ())
G_DECLARE_FINAL_TYPE (PbWindow, pb_window, PB, WINDOW, AdwApplicationWindow)

PbWindow         *pb_window_new                 (GtkApplication   *application,
                                                 PbAccountManager *account_manager);
PbAccountManager *pb_window_get_account_manager (PbWindow         *self);
PbSyncMonitor    *pb_window_get_sync_monitor    (PbWindow         *self);
void              pb_window_set_sync_monitor    (PbWindow         *self,
                                                 PbSyncMonitor    *monitor);
void              pb_window_show_error          (PbWindow         *self,
                                                 const char       *message);
gboolean          pb_window_get_can_undo        (PbWindow         *self);
GListModel       *pb_window_get_message_model   (PbWindow         *self);
void              pb_window_set_message_model   (PbWindow         *self,
                                                 GListModel       *model);

G_END_DECLS
