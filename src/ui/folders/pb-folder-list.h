/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "pb-account-manager.h"
#include "pb-folder-row.h"
#include "pb-sync-monitor.h"

G_BEGIN_DECLS

#define PB_TYPE_FOLDER_LIST (pb_folder_list_get_type ())
G_DECLARE_FINAL_TYPE (PbFolderList, pb_folder_list, PB, FOLDER_LIST, AdwBin)

GtkWidget        *pb_folder_list_new                 (void);
PbAccountManager *pb_folder_list_get_account_manager (PbFolderList     *self);
void              pb_folder_list_set_account_manager (PbFolderList     *self,
                                                      PbAccountManager *account_manager);
void              pb_folder_list_set_monitor         (PbFolderList     *self,
                                                      PbSyncMonitor    *monitor);
void              pb_folder_list_reload              (PbFolderList     *self);
void              pb_folder_list_select_unified_inbox (PbFolderList    *self);
PbFolderRow      *pb_folder_list_find_folder         (PbFolderList     *self,
                                                      PbAccount        *account,
                                                      const char       *path);
PbFolderInfo     *pb_folder_list_find_role           (PbFolderList     *self,
                                                      PbAccount        *account,
                                                      PbFolderRole      role);
GPtrArray        *pb_folder_list_list_folders        (PbFolderList     *self,
                                                      PbAccount        *account);

G_END_DECLS
