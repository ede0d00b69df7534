/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-sync"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "pb-imap-sync.h"
#include "pb-operations.h"
#include "pb-store-pop3.h"

/**
 * pb_operations_normalize_flag:
 *
 * Accepts "seen", "\\Seen", "flagged", "$Forwarded", "Work" … and returns the IMAP spelling
 * ("\\Seen", "$Forwarded", "Work"), or %NULL for something that cannot be a flag (spaces,
 * brackets, quotes, control characters or an unknown system flag).
 */
char *
pb_operations_normalize_flag (const char *flag)
{
  static const char *system[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft" };

  if (flag == NULL || *flag == '\0' || strlen (flag) > 64)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (system); i++)
    if (g_ascii_strcasecmp (flag, system[i]) == 0 || g_ascii_strcasecmp (flag, system[i] + 1) == 0)
      return g_strdup (system[i]);
  if (flag[0] == '\\')
    return NULL;
  for (const char *p = flag; *p; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f || strchr ("(){%*\"\\]", *p) != NULL)
      return NULL;
  return g_strdup (flag);
}

static gint64
folder_id_or_error (PbStore     *store,
                    const char  *account,
                    const char  *folder,
                    guint32     *uidvalidity,
                    GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  guint32 uidnext;
  guint64 modseq;
  gint64 id;

  id = pb_store_lookup_folder (store, account, folder, &local_error);
  if (id == 0)
    {
      if (local_error != NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                     _("There is no folder “%s” in account “%s” (run a sync first?)"), folder,
                     account);
      return 0;
    }
  if (!pb_store_get_folder_state (store, id, uidvalidity, &uidnext, &modseq, error))
    return 0;
  return id;
}

static PbMessageSummary *
message_or_error (PbStore     *store,
                  gint64       folder_id,
                  const char  *folder,
                  guint32      uid,
                  GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  PbMessageSummary *summary = pb_store_get_message (store, folder_id, uid, &local_error);

  if (summary == NULL)
    {
      if (g_error_matches (local_error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND))
        g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                     _("There is no message %u in “%s”"), uid, folder);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
    }
  return summary;
}

static gboolean
keyword_in (const char *keywords,
            const char *keyword)
{
  g_auto(GStrv) words = g_strsplit (keywords ? keywords : "", " ", -1);
  return g_strv_contains ((const char * const *) words, keyword);
}

gboolean
pb_operations_set_flags (PbStore             *store,
                         const char          *account,
                         const char          *folder,
                         guint32              uid,
                         const char * const  *add,
                         const char * const  *remove,
                         GError             **error)
{
  g_autoptr(PbMessageSummary) message = NULL;
  g_autoptr(GString) arg = g_string_new (NULL);
  g_autoptr(GPtrArray) keywords = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *joined = NULL;
  PbMessageFlags flags;
  guint32 uidvalidity;
  gint64 folder_id;

  folder_id = folder_id_or_error (store, account, folder, &uidvalidity, error);
  if (folder_id == 0)
    return FALSE;
  message = message_or_error (store, folder_id, folder, uid, error);
  if (message == NULL)
    return FALSE;

  flags = message->flags;
  if (message->keywords != NULL)
    {
      g_auto(GStrv) words = g_strsplit (message->keywords, " ", -1);
      for (guint i = 0; words[i]; i++)
        if (*words[i])
          g_ptr_array_add (keywords, g_strdup (words[i]));
    }

  for (guint pass = 0; pass < 2; pass++)
    {
      const char * const *list = pass == 0 ? add : remove;

      for (guint i = 0; list != NULL && list[i] != NULL; i++)
        {
          g_autofree char *flag = pb_operations_normalize_flag (list[i]);
          PbMessageFlags bit;

          if (flag == NULL)
            {
              g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_FAILED,
                           _("“%s” is not a valid flag"), list[i]);
              return FALSE;
            }
          g_string_append_printf (arg, "%s%c%s", arg->len ? " " : "", pass == 0 ? '+' : '-', flag);
          bit = pb_message_flag_from_keyword (flag);
          if (bit != PB_MESSAGE_FLAG_NONE)
            flags = pass == 0 ? (flags | bit) : (flags & ~bit);
          else if (pass == 0 && !keyword_in (message->keywords, flag))
            g_ptr_array_add (keywords, g_strdup (flag));
          else if (pass == 1)
            for (guint k = 0; k < keywords->len; k++)
              if (g_strcmp0 (g_ptr_array_index (keywords, k), flag) == 0)
                g_ptr_array_remove_index (keywords, k--);
        }
    }
  if (arg->len == 0)
    return TRUE;

  g_ptr_array_add (keywords, NULL);
  joined = g_strjoinv (" ", (char **) keywords->pdata);
  return pb_store_journal_add (store, account, PB_JOURNAL_OP_FLAGS, folder_id, uidvalidity, uid,
                               arg->str, error) != 0
         && pb_store_update_flags (store, folder_id, uid, flags, *joined ? joined : NULL, 0,
                                   error);
}

gboolean
pb_operations_move (PbStore     *store,
                    const char  *account,
                    const char  *folder,
                    guint32      uid,
                    const char  *destination,
                    GError     **error)
{
  return pb_operations_move_full (store, account, folder, uid, destination, NULL, error);
}

/* Between two local folders (a POP3 account's, where the store is the only copy) the message
 * moves in the store at once, body and all, and keeps whatever it was: nothing is downloaded
 * again, and a message that exists only here (a sent copy, a draft) is not lost. The journal
 * entry, written in the same transaction, tells the POP3 sync where the message went. */
static gboolean
move_local (PbStore     *store,
            const char  *account,
            gint64       folder_id,
            guint32      uid,
            gint64       destination_id,
            const char  *destination,
            guint32     *new_uid,
            GError     **error)
{
  return pb_store_move_local (store, account, folder_id, uid, destination_id,
                              PB_JOURNAL_OP_MOVED_LOCALLY, destination, new_uid, error);
}

/**
 * pb_operations_move_full:
 * @new_uid: (out) (optional): the message's UID in @destination when it is known at once
 *   (local folders), else 0: the server assigns it and the next sync brings it
 *
 * pb_operations_move(), telling where the message went.
 */
gboolean
pb_operations_move_full (PbStore     *store,
                         const char  *account,
                         const char  *folder,
                         guint32      uid,
                         const char  *destination,
                         guint32     *new_uid,
                         GError     **error)
{
  g_autoptr(PbMessageSummary) message = NULL;
  g_autoptr(GError) local_error = NULL;
  guint32 uidvalidity, destination_uidvalidity;
  gint64 folder_id, destination_id;
  gboolean local;

  if (new_uid != NULL)
    *new_uid = 0;
  if (g_strcmp0 (folder, destination) == 0)
    {
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_FAILED,
                   _("The message is in “%s” already"), folder);
      return FALSE;
    }
  folder_id = folder_id_or_error (store, account, folder, &uidvalidity, error);
  if (folder_id == 0)
    return FALSE;
  destination_id = folder_id_or_error (store, account, destination, &destination_uidvalidity,
                                       error);
  if (destination_id == 0)
    return FALSE;
  message = message_or_error (store, folder_id, folder, uid, error);
  if (message == NULL)
    return FALSE;

  local = pb_store_folder_is_local (store, folder_id, &local_error)
          && pb_store_folder_is_local (store, destination_id, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (local)
    return move_local (store, account, folder_id, uid, destination_id, destination, new_uid,
                       error);

  /* The local copy leaves the source now; the destination gets it, with its new UID, from the
   * server on the next sync. The server deletes the source only after the copy exists. */
  return pb_store_journal_add (store, account, PB_JOURNAL_OP_MOVE, folder_id, uidvalidity, uid,
                               destination, error) != 0
         && pb_store_remove_uids (store, folder_id, &uid, 1, error);
}

gboolean
pb_operations_delete (PbStore     *store,
                      const char  *account,
                      const char  *folder,
                      guint32      uid,
                      GError     **error)
{
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(PbMessageSummary) message = NULL;
  PbFolderInfo *trash = NULL;
  guint32 uidvalidity;
  gint64 folder_id;

  folder_id = folder_id_or_error (store, account, folder, &uidvalidity, error);
  if (folder_id == 0)
    return FALSE;
  message = message_or_error (store, folder_id, folder, uid, error);
  if (message == NULL)
    return FALSE;

  folders = pb_store_list_folders (store, account, error);
  if (folders == NULL)
    return FALSE;
  for (guint i = 0; i < folders->len; i++)
    if (pb_folder_info_get_role (g_ptr_array_index (folders, i)) == PB_FOLDER_ROLE_TRASH)
      trash = g_ptr_array_index (folders, i);

  /* Delete means "to the Trash", as in every desktop client; only in the Trash itself (or
   * without one) is it final. */
  if (trash != NULL && g_strcmp0 (pb_folder_info_get_path (trash), folder) != 0)
    return pb_operations_move (store, account, folder, uid, pb_folder_info_get_path (trash),
                               error);

  return pb_store_journal_add (store, account, PB_JOURNAL_OP_EXPUNGE, folder_id, uidvalidity,
                               uid, NULL, error) != 0
         && pb_store_remove_uids (store, folder_id, &uid, 1, error);
}

/**
 * pb_operations_move_back:
 * @folder: where the message was moved from, and goes back to
 * @destination: where pb_operations_move() (or a delete to the Trash) put it
 * @message_id: its Message-ID, which finds it again under its new UID
 *
 * Undoes a move: the message has a new UID in @destination, known once a sync brought it
 * there, so it is found by its Message-ID and moved back like any other.
 *
 * Returns: %TRUE on success; %FALSE with %PB_STORE_ERROR_NOT_FOUND while @destination does not
 *   hold the message yet (sync, then try again)
 */
gboolean
pb_operations_move_back (PbStore     *store,
                         const char  *account,
                         const char  *folder,
                         const char  *destination,
                         const char  *message_id,
                         GError     **error)
{
  guint32 uidvalidity;
  gint64 destination_id;
  guint32 uid;
  GError *local_error = NULL;

  destination_id = folder_id_or_error (store, account, destination, &uidvalidity, error);
  if (destination_id == 0)
    return FALSE;
  uid = pb_store_lookup_message_id (store, destination_id, message_id, &local_error);
  if (uid == 0)
    {
      if (local_error != NULL)
        g_propagate_error (error, local_error);
      else
        g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                     _("The message is not in “%s” yet"), destination);
      return FALSE;
    }
  return pb_operations_move (store, account, destination, uid, folder, error);
}
