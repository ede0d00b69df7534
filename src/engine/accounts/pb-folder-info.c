/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-accounts"

#include "config.h"

#include "pb-folder-info.h"

/*
 * What the UI needs to know about one folder of an account. The path is the user-facing name
 * with "/" between levels, whatever the server's hierarchy delimiter; the remote name is what
 * the backend needs to address the folder (for IMAP the modified UTF-7 name).
 */
struct _PbFolderInfo
{
  GObject       parent_instance;

  char         *path;
  const char   *name;   /* points into path */
  guint         depth;
  PbFolderRole  role;
  gboolean      selectable;
  char         *remote_name;
};

G_DEFINE_FINAL_TYPE (PbFolderInfo, pb_folder_info, G_TYPE_OBJECT)

static void
pb_folder_info_finalize (GObject *object)
{
  PbFolderInfo *self = PB_FOLDER_INFO (object);

  g_free (self->path);
  g_free (self->remote_name);

  G_OBJECT_CLASS (pb_folder_info_parent_class)->finalize (object);
}

static void
pb_folder_info_class_init (PbFolderInfoClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pb_folder_info_finalize;
}

static void
pb_folder_info_init (PbFolderInfo *self)
{
}

PbFolderInfo *
pb_folder_info_new (const char   *path,
                    PbFolderRole  role,
                    gboolean      selectable)
{
  PbFolderInfo *self;
  const char *slash;

  g_return_val_if_fail (path != NULL && *path != '\0', NULL);

  self = g_object_new (PB_TYPE_FOLDER_INFO, NULL);
  self->path = g_strdup (path);
  self->role = role;
  self->selectable = selectable;
  slash = strrchr (self->path, '/');
  self->name = slash ? slash + 1 : self->path;
  for (const char *p = self->path; *p; p++)
    if (*p == '/')
      self->depth++;

  return self;
}

const char *
pb_folder_info_get_path (PbFolderInfo *self)
{
  g_return_val_if_fail (PB_IS_FOLDER_INFO (self), NULL);
  return self->path;
}

const char *
pb_folder_info_get_name (PbFolderInfo *self)
{
  g_return_val_if_fail (PB_IS_FOLDER_INFO (self), NULL);
  return self->name;
}

guint
pb_folder_info_get_depth (PbFolderInfo *self)
{
  g_return_val_if_fail (PB_IS_FOLDER_INFO (self), 0);
  return self->depth;
}

PbFolderRole
pb_folder_info_get_role (PbFolderInfo *self)
{
  g_return_val_if_fail (PB_IS_FOLDER_INFO (self), PB_FOLDER_ROLE_NONE);
  return self->role;
}

gboolean
pb_folder_info_get_selectable (PbFolderInfo *self)
{
  g_return_val_if_fail (PB_IS_FOLDER_INFO (self), FALSE);
  return self->selectable;
}

const char *
pb_folder_info_get_remote_name (PbFolderInfo *self)
{
  g_return_val_if_fail (PB_IS_FOLDER_INFO (self), NULL);
  return self->remote_name ? self->remote_name : self->path;
}

void
pb_folder_info_set_remote_name (PbFolderInfo *self,
                                const char   *remote_name)
{
  g_return_if_fail (PB_IS_FOLDER_INFO (self));
  g_free (self->remote_name);
  self->remote_name = g_strdup (remote_name);
}

const char *
pb_folder_role_to_string (PbFolderRole role)
{
  switch (role)
    {
    case PB_FOLDER_ROLE_INBOX: return "inbox";
    case PB_FOLDER_ROLE_DRAFTS: return "drafts";
    case PB_FOLDER_ROLE_SENT: return "sent";
    case PB_FOLDER_ROLE_ARCHIVE: return "archive";
    case PB_FOLDER_ROLE_ALL: return "all";
    case PB_FOLDER_ROLE_FLAGGED: return "flagged";
    case PB_FOLDER_ROLE_JUNK: return "junk";
    case PB_FOLDER_ROLE_TRASH: return "trash";
    case PB_FOLDER_ROLE_NONE: return "none";
    default: g_assert_not_reached ();
    }
}

/* Special folders first, in the order of PbFolderRole, then the tree in path order, so that a
 * parent always comes right before its children. */
int
pb_folder_info_compare (PbFolderInfo *a,
                        PbFolderInfo *b)
{
  gboolean a_special = a->role != PB_FOLDER_ROLE_NONE && a->depth == 0;
  gboolean b_special = b->role != PB_FOLDER_ROLE_NONE && b->depth == 0;
  const char *pa, *pb;

  if (a_special != b_special)
    return a_special ? -1 : 1;
  if (a_special && a->role != b->role)
    return a->role < b->role ? -1 : 1;

  /* Compare level by level so that "A/B" sorts right after "A" and before "A B". */
  for (pa = a->path, pb = b->path; *pa && *pb; pa++, pb++)
    {
      if (*pa == *pb)
        continue;
      if (*pa == '/')
        return -1;
      if (*pb == '/')
        return 1;
      {
        /* Case-insensitive first (users expect "archive" before "Projects" whatever the
         * locale), then the locale's order, then bytes so that the order is total. */
        g_autofree char *fa = g_utf8_casefold (pa, -1);
        g_autofree char *fb = g_utf8_casefold (pb, -1);
        g_autofree char *ka = g_utf8_collate_key_for_filename (fa, -1);
        g_autofree char *kb = g_utf8_collate_key_for_filename (fb, -1);
        int result = strcmp (ka, kb);

        return result != 0 ? result : strcmp (pa, pb);
      }
    }
  return *pa ? 1 : (*pb ? -1 : 0);
}
