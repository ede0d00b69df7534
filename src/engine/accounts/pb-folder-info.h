/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * PbFolderRole:
 * The special use of a folder (RFC 6154), or how the inbox is known. Sorting by this value
 * puts special folders first in the order users expect.
 */
typedef enum {
  PB_FOLDER_ROLE_INBOX,
  PB_FOLDER_ROLE_DRAFTS,
  PB_FOLDER_ROLE_SENT,
  PB_FOLDER_ROLE_ARCHIVE,
  PB_FOLDER_ROLE_ALL,
  PB_FOLDER_ROLE_FLAGGED,
  PB_FOLDER_ROLE_JUNK,
  PB_FOLDER_ROLE_TRASH,
  PB_FOLDER_ROLE_NONE,
} PbFolderRole;

#define PB_TYPE_FOLDER_INFO (pb_folder_info_get_type ())
G_DECLARE_FINAL_TYPE (PbFolderInfo, pb_folder_info, PB, FOLDER_INFO, GObject)

PbFolderInfo *pb_folder_info_new          (const char   *path,
                                           PbFolderRole  role,
                                           gboolean      selectable);
const char   *pb_folder_info_get_path     (PbFolderInfo *self);
const char   *pb_folder_info_get_name     (PbFolderInfo *self);
guint         pb_folder_info_get_depth    (PbFolderInfo *self);
PbFolderRole  pb_folder_info_get_role     (PbFolderInfo *self);
gboolean      pb_folder_info_get_selectable (PbFolderInfo *self);
const char   *pb_folder_info_get_remote_name (PbFolderInfo *self);
void          pb_folder_info_set_remote_name (PbFolderInfo *self,
                                              const char   *remote_name);
const char   *pb_folder_role_to_string    (PbFolderRole  role);
int           pb_folder_info_compare      (PbFolderInfo *a,
                                           PbFolderInfo *b);

G_END_DECLS
