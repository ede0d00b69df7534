/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "pb-account-manager.h"

G_BEGIN_DECLS

#define PB_TYPE_FOLDER_LIST (pb_folder_list_get_type ())
G_DECLARE_FINAL_TYPE (PbFolderList, pb_folder_list, PB, FOLDER_LIST, AdwBin)

GtkWidget        *pb_folder_list_new                 (void);
PbAccountManager *pb_folder_list_get_account_manager (PbFolderList     *self);
void              pb_folder_list_set_account_manager (PbFolderList     *self,
                                                      PbAccountManager *account_manager);

G_END_DECLS
