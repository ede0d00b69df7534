/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "pb-imap-sync.h"

/*
 * The operation journal, store -> server: what the user did locally (already applied to the
 * store) is sent to the server in the order it was done, before every sync.
 */

typedef struct {
  PbFolderInfo *info;
  gint64        id;
} StoredFolder;

static void
stored_folder_free (gpointer data)
{
  StoredFolder *sf = data;
  g_object_unref (sf->info);
  g_free (sf);
}

static GHashTable *
map_folders_by_id (PbStore     *store,
                   const char  *account,
                   GError     **error)
{
  g_autoptr(GPtrArray) folders = pb_store_list_folders (store, account, error);
  g_autoptr(GHashTable) map = NULL;

  if (folders == NULL)
    return NULL;
  map = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, stored_folder_free);
  for (guint i = 0; i < folders->len; i++)
    {
      StoredFolder *sf = g_new0 (StoredFolder, 1);

      sf->info = g_object_ref (g_ptr_array_index (folders, i));
      sf->id = pb_store_lookup_folder (store, account, pb_folder_info_get_path (sf->info), error);
      if (sf->id == 0)
        {
          stored_folder_free (sf);
          return NULL;
        }
      g_hash_table_insert (map, &sf->id, sf);
    }
  return g_steal_pointer (&map);
}

static PbFolderInfo *
find_folder_by_path (GHashTable *map,
                     const char *path)
{
  GHashTableIter iter;
  StoredFolder *sf;

  g_hash_table_iter_init (&iter, map);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &sf))
    if (g_strcmp0 (pb_folder_info_get_path (sf->info), path) == 0)
      return sf->info;
  return NULL;
}

/* Turns "+\Seen -\Flagged" into "+FLAGS.SILENT (\Seen)" and "-FLAGS.SILENT (\Flagged)". */
static void
split_flag_changes (const char  *arg,
                    char       **out_add,
                    char       **out_remove)
{
  g_auto(GStrv) words = g_strsplit (arg ? arg : "", " ", -1);
  g_autoptr(GString) add = g_string_new (NULL);
  g_autoptr(GString) remove = g_string_new (NULL);

  for (guint i = 0; words[i] != NULL; i++)
    {
      GString *target = words[i][0] == '+' ? add : words[i][0] == '-' ? remove : NULL;

      if (target == NULL || words[i][1] == '\0')
        continue;
      if (target->len > 0)
        g_string_append_c (target, ' ');
      g_string_append (target, words[i] + 1);
    }
  *out_add = add->len ? g_strdup_printf ("+FLAGS.SILENT (%s)", add->str) : NULL;
  *out_remove = remove->len ? g_strdup_printf ("-FLAGS.SILENT (%s)", remove->str) : NULL;
}

/* Lets the next sync restore the server's truth after the server refused a change: every
 * flag is compared again, and UIDs from @uid up are looked at again, so a message moved away
 * locally but still on the server comes back (messages the store knows are skipped). */
static void
force_full_rescan (PbStore *store,
                   gint64   folder_id,
                   guint32  uid)
{
  guint32 uidvalidity = 0, uidnext = 0;
  guint64 modseq = 0;

  if (pb_store_get_folder_state (store, folder_id, &uidvalidity, &uidnext, &modseq, NULL))
    pb_store_set_folder_state (store, folder_id, uidvalidity,
                               uid != 0 ? MIN (uidnext, uid) : uidnext, 0, NULL);
}

/**
 * pb_imap_sync_replay:
 *
 * Sends the operations the user made locally (already applied to the store) to the server, in
 * the order they were made. Each is idempotent (setting a flag twice, moving or expunging a
 * UID that is gone), so an entry replayed again after a crash does no harm. An entry whose
 * folder was renumbered (UIDVALIDITY) no longer names the same message and is dropped.
 */
gboolean
pb_imap_sync_replay (PbImapClient  *client,
                     PbStore       *store,
                     const char    *account,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(GPtrArray) entries = pb_store_journal_list (store, account, error);
  g_autoptr(GHashTable) folders = NULL;
  guint32 selected_uidvalidity = 0;
  /* Whatever is selected now was EXAMINEd by a sync; changes need SELECT. */
  gboolean selected_readonly = TRUE;

  if (entries == NULL)
    return FALSE;
  if (entries->len == 0)
    return TRUE;
  folders = map_folders_by_id (store, account, error);
  if (folders == NULL)
    return FALSE;

  for (guint i = 0; i < entries->len; i++)
    {
      PbJournalEntry *entry = g_ptr_array_index (entries, i);
      StoredFolder *sf = g_hash_table_lookup (folders, &entry->folder_id);
      g_autofree char *uid_set = g_strdup_printf ("%u", entry->uid);
      g_autoptr(GError) local_error = NULL;
      const char *remote;
      PbImapMailbox mailbox;
      gboolean done = FALSE;

      if (sf == NULL)
        {
          pb_store_journal_remove (store, entry->id, NULL);
          continue;
        }
      remote = pb_folder_info_get_remote_name (sf->info);

      /* SELECT (read-write) each folder once for a run of entries in it. */
      if (g_strcmp0 (pb_imap_client_get_selected (client), remote) != 0
          || selected_readonly)
        {
          if (!pb_imap_client_select (client, remote, FALSE, 0, 0, NULL, NULL, &mailbox,
                                      cancellable, &local_error))
            {
              if (g_error_matches (local_error, PB_IMAP_ERROR, PB_IMAP_ERROR_NO))
                {
                  /* The folder is gone on the server: nothing left to apply it to. */
                  g_warning ("%s: dropping a change to %s: %s", account,
                             pb_folder_info_get_path (sf->info), local_error->message);
                  pb_store_journal_remove (store, entry->id, NULL);
                  continue;
                }
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          selected_uidvalidity = mailbox.uidvalidity;
          selected_readonly = FALSE;
        }
      if (selected_uidvalidity != entry->uidvalidity)
        {
          pb_store_journal_remove (store, entry->id, NULL);
          continue;
        }

      if (g_strcmp0 (entry->op, PB_JOURNAL_OP_FLAGS) == 0)
        {
          g_autofree char *add = NULL;
          g_autofree char *remove = NULL;

          split_flag_changes (entry->arg, &add, &remove);
          done = (add == NULL || pb_imap_client_uid_store (client, uid_set, add, cancellable,
                                                           &local_error))
                 && (remove == NULL || pb_imap_client_uid_store (client, uid_set, remove,
                                                                 cancellable, &local_error));
        }
      else if (g_strcmp0 (entry->op, PB_JOURNAL_OP_MOVE) == 0)
        {
          PbFolderInfo *destination = find_folder_by_path (folders, entry->arg);

          if (destination == NULL)
            g_set_error (&local_error, PB_IMAP_ERROR, PB_IMAP_ERROR_NO,
                         _("The folder “%s” no longer exists"), entry->arg);
          done = destination != NULL
                 && pb_imap_client_uid_move (client, uid_set,
                                             pb_folder_info_get_remote_name (destination),
                                             cancellable, &local_error);
        }
      else if (g_strcmp0 (entry->op, PB_JOURNAL_OP_EXPUNGE) == 0)
        {
          done = pb_imap_client_uid_store (client, uid_set, "+FLAGS.SILENT (\\Deleted)",
                                           cancellable, &local_error)
                 && pb_imap_client_uid_expunge (client, uid_set, cancellable, &local_error);
        }
      else
        g_warning ("%s: unknown journal operation “%s” dropped", account, entry->op);

      if (!done)
        {
          /* The server refused (NO/BAD): roll back by letting the next sync restore the
           * server's state, and tell the user. A lost connection keeps the entry. */
          if (g_error_matches (local_error, PB_IMAP_ERROR, PB_IMAP_ERROR_NO)
              || g_error_matches (local_error, PB_IMAP_ERROR, PB_IMAP_ERROR_BAD)
              || g_error_matches (local_error, PB_IMAP_ERROR, PB_IMAP_ERROR_UNSUPPORTED))
            {
              g_warning ("%s: the server refused a change in %s: %s", account,
                         pb_folder_info_get_path (sf->info), local_error->message);
              force_full_rescan (store, entry->folder_id, entry->uid);
              pb_store_journal_remove (store, entry->id, NULL);
              continue;
            }
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (!pb_store_journal_remove (store, entry->id, error))
        return FALSE;
    }
  return TRUE;
}

