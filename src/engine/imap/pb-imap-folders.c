/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "pb-imap-client-private.h"
#include "pb-imap-utf7.h"

/*
 * PbImapClient, part 2: the folder list (LIST, with SPECIAL-USE roles or the usual names).
 */

static PbFolderRole
role_from_attributes (PbImapValue *attributes)
{
  static const struct { const char *attribute; PbFolderRole role; } roles[] = {
    { "\\Drafts", PB_FOLDER_ROLE_DRAFTS },
    { "\\Sent", PB_FOLDER_ROLE_SENT },
    { "\\Archive", PB_FOLDER_ROLE_ARCHIVE },
    { "\\All", PB_FOLDER_ROLE_ALL },
    { "\\Flagged", PB_FOLDER_ROLE_FLAGGED },
    { "\\Junk", PB_FOLDER_ROLE_JUNK },
    { "\\Trash", PB_FOLDER_ROLE_TRASH },
  };

  for (guint i = 0; i < attributes->list->len; i++)
    for (guint j = 0; j < G_N_ELEMENTS (roles); j++)
      if (pb_imap_value_is_atom (g_ptr_array_index (attributes->list, i), roles[j].attribute))
        return roles[j].role;
  return PB_FOLDER_ROLE_NONE;
}

/* Servers without SPECIAL-USE still have the usual folders under their usual names. */
static PbFolderRole
role_from_name (const char *path)
{
  static const struct { const char *name; PbFolderRole role; } names[] = {
    { "Drafts", PB_FOLDER_ROLE_DRAFTS },
    { "Sent", PB_FOLDER_ROLE_SENT },
    { "Sent Items", PB_FOLDER_ROLE_SENT },
    { "Sent Messages", PB_FOLDER_ROLE_SENT },
    { "Archive", PB_FOLDER_ROLE_ARCHIVE },
    { "Junk", PB_FOLDER_ROLE_JUNK },
    { "Spam", PB_FOLDER_ROLE_JUNK },
    { "Trash", PB_FOLDER_ROLE_TRASH },
    { "Deleted Items", PB_FOLDER_ROLE_TRASH },
    { "Deleted Messages", PB_FOLDER_ROLE_TRASH },
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (path, names[i].name) == 0)
      return names[i].role;
  return PB_FOLDER_ROLE_NONE;
}

static gboolean
has_attribute (PbImapValue *attributes,
               const char  *attribute)
{
  for (guint i = 0; i < attributes->list->len; i++)
    if (pb_imap_value_is_atom (g_ptr_array_index (attributes->list, i), attribute))
      return TRUE;
  return FALSE;
}

static PbFolderInfo *
folder_from_list_response (PbImapResponse  *response,
                           gboolean         utf8,
                           gboolean         special_use,
                           const char      *prefix,
                           GError         **error)
{
  PbImapValue *attributes, *delimiter, *mailbox;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  PbFolderRole role;
  gboolean selectable;
  PbFolderInfo *folder;
  const char *raw;

  if (response->items->len != 4)
    goto malformed;
  attributes = g_ptr_array_index (response->items, 1);
  delimiter = g_ptr_array_index (response->items, 2);
  mailbox = g_ptr_array_index (response->items, 3);
  if (attributes->type != PB_IMAP_VALUE_LIST
      || (delimiter->type != PB_IMAP_VALUE_STRING && delimiter->type != PB_IMAP_VALUE_NIL)
      || (delimiter->type == PB_IMAP_VALUE_STRING && delimiter->len != 1)
      || (mailbox->type != PB_IMAP_VALUE_STRING && mailbox->type != PB_IMAP_VALUE_ATOM
          && mailbox->type != PB_IMAP_VALUE_NUMBER))
    goto malformed;

  raw = mailbox->type == PB_IMAP_VALUE_NUMBER ? NULL : mailbox->str;
  if (raw == NULL || *raw == '\0' || strlen (raw) != mailbox->len)
    goto malformed;

  if (utf8)
    {
      if (!g_utf8_validate (raw, -1, NULL))
        goto malformed;
      name = g_strdup (raw);
    }
  else
    {
      name = pb_imap_utf7_decode (raw, NULL);
      /* An undecodable name is still a folder the user has: show it as sent. */
      if (name == NULL)
        name = g_utf8_make_valid (raw, -1);
    }

  /* INBOX is case-insensitive (RFC 3501 5.1); everything else is case-sensitive. */
  if (g_ascii_strcasecmp (name, "INBOX") == 0)
    {
      g_free (name);
      name = g_strdup ("INBOX");
    }
  /* Servers like Courier keep every folder under "INBOX.": show "INBOX.Sent" as "Sent". */
  else if (prefix != NULL && *prefix != '\0' && g_str_has_prefix (name, prefix)
           && name[strlen (prefix)] != '\0')
    {
      char *stripped = g_strdup (name + strlen (prefix));
      g_free (name);
      name = stripped;
    }

  if (delimiter->type == PB_IMAP_VALUE_STRING && delimiter->str[0] != '/')
    {
      /* A "/" inside a level of a "."-delimited server would read as a new level. Show it
       * as a look-alike fraction slash instead; the remote name keeps the real one. */
      g_auto(GStrv) levels = g_strsplit (name, delimiter->str, -1);
      for (guint i = 0; levels[i]; i++)
        {
          g_auto(GStrv) parts = g_strsplit (levels[i], "/", -1);
          g_free (levels[i]);
          levels[i] = g_strjoinv ("\u2215", parts);
        }
      path = g_strjoinv ("/", levels);
    }
  else
    path = g_strdup (name);

  /* Empty levels ("a//b", a trailing delimiter) make no sense as a tree. */
  if (*path == '/' || g_str_has_suffix (path, "/") || strstr (path, "//") != NULL)
    goto malformed;

  if (g_strcmp0 (path, "INBOX") == 0)
    role = PB_FOLDER_ROLE_INBOX;
  else
    {
      role = role_from_attributes (attributes);
      if (role == PB_FOLDER_ROLE_NONE && !special_use && strchr (path, '/') == NULL)
        role = role_from_name (path);
    }

  selectable = !has_attribute (attributes, "\\Noselect")
               && !has_attribute (attributes, "\\NonExistent");
  folder = pb_folder_info_new (path, role, selectable);
  pb_folder_info_set_remote_name (folder, raw);
  return folder;

malformed:
  g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE,
               _("The server sent a malformed folder list entry"));
  return NULL;
}

static int
compare_folders (gconstpointer a,
                 gconstpointer b)
{
  return pb_folder_info_compare (*(PbFolderInfo **) a, *(PbFolderInfo **) b);
}

/* A server may list "Projects/Postbote" without "Projects"; the tree needs every parent. */
static void
add_missing_parents (GPtrArray *folders)
{
  g_autoptr(GHashTable) paths = g_hash_table_new (g_str_hash, g_str_equal);
  guint n = folders->len;

  for (guint i = 0; i < n; i++)
    g_hash_table_add (paths, (gpointer) pb_folder_info_get_path (g_ptr_array_index (folders, i)));

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *parent = g_strdup (pb_folder_info_get_path (g_ptr_array_index (folders, i)));
      char *slash;

      while ((slash = strrchr (parent, '/')) != NULL)
        {
          PbFolderInfo *folder;

          *slash = '\0';
          if (g_hash_table_contains (paths, parent))
            continue;
          folder = pb_folder_info_new (parent, PB_FOLDER_ROLE_NONE, FALSE);
          g_ptr_array_add (folders, folder);
          g_hash_table_add (paths, (gpointer) pb_folder_info_get_path (folder));
        }
    }
}

GPtrArray *
pb_imap_client_list_folders (PbImapClient  *self,
                             GCancellable  *cancellable,
                             GError       **error)
{
  g_autoptr(GPtrArray) untagged = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_imap_response_free);
  g_autoptr(GPtrArray) folders = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean special_use;
  const char *command;

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), NULL);
  g_return_val_if_fail (self->authenticated, NULL);

  /* With SPECIAL-USE and LIST-EXTENDED the server marks Sent, Trash and friends itself
   * (RFC 6154); otherwise roles are guessed from the usual names. */
  special_use = pb_imap_client_has_capability (self, "SPECIAL-USE")
                && pb_imap_client_has_capability (self, "LIST-EXTENDED");
  command = special_use ? "LIST \"\" \"*\" RETURN (SPECIAL-USE)" : "LIST \"\" \"*\"";
  if (!pb_imap_client_command_ok (self, command, untagged, cancellable, error))
    return NULL;

  for (guint i = 0; i < untagged->len; i++)
    {
      PbImapResponse *response = g_ptr_array_index (untagged, i);
      PbFolderInfo *folder;

      if (response->items->len == 0
          || !pb_imap_value_is_atom (g_ptr_array_index (response->items, 0), "LIST"))
        continue;
      folder = folder_from_list_response (response, self->utf8, special_use,
                                          self->namespace_prefix, error);
      if (folder == NULL)
        return NULL;
      /* A server listing a folder twice must not make it appear twice. */
      if (g_hash_table_contains (seen, pb_folder_info_get_path (folder)))
        {
          g_object_unref (folder);
          continue;
        }
      g_ptr_array_add (folders, folder);
      g_hash_table_add (seen, (gpointer) pb_folder_info_get_path (folder));
    }

  add_missing_parents (folders);
  g_ptr_array_sort (folders, compare_folders);
  return g_steal_pointer (&folders);
}
