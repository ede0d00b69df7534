/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "pb-account.h"
#include "pb-folder-info.h"
#include "pb-store.h"

G_BEGIN_DECLS

#define PB_TYPE_FOLDER_ROW (pb_folder_row_get_type ())
G_DECLARE_FINAL_TYPE (PbFolderRow, pb_folder_row, PB, FOLDER_ROW, GtkListBoxRow)

GtkWidget    *pb_folder_row_new                    (PbAccount    *account,
                                                    PbFolderInfo *folder);
PbAccount    *pb_folder_row_get_account            (PbFolderRow  *self);
PbFolderInfo *pb_folder_row_get_folder             (PbFolderRow  *self);
const char   *pb_folder_row_get_title              (PbFolderRow  *self);
gint64        pb_folder_row_get_folder_id          (PbFolderRow  *self);
void          pb_folder_row_set_folder_id          (PbFolderRow  *self,
                                                    gint64        folder_id);
guint         pb_folder_row_get_unread             (PbFolderRow  *self);
void          pb_folder_row_set_unread             (PbFolderRow  *self,
                                                    guint         unread);

char         *pb_folder_row_dup_display_name       (PbFolderInfo *folder);
const char   *pb_folder_row_get_icon_name_for_role (PbFolderRole  role);

G_END_DECLS
