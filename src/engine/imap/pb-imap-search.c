/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "pb-imap-error.h"
#include "pb-imap-search.h"
#include "pb-imap-sync.h"
#include "pb-store-error.h"

/*
 * Server-side search, for what the local index cannot see: sync stores the headers of every
 * message, but with offline-days the bodies of older mail stay on the server. So only folders
 * that have such messages are asked, and only the matches among those messages are returned;
 * everything else the local FTS index answers faster and offline.
 */

/* The search key for TEXT @query, or NULL when this server cannot take it. RFC 6855 forbids
 * a CHARSET once UTF8=ACCEPT is on; without it, non-ASCII needs CHARSET UTF-8 and a literal,
 * which can only go inline as a non-synchronising one (LITERAL+ or LITERAL- for short ones). */
static char *
text_criteria (PbImapClient *client,
               const char   *query)
{
  g_autofree char *quoted = NULL;
  gsize len = strlen (query);

  if (strpbrk (query, "\r\n") != NULL || !g_utf8_validate (query, -1, NULL))
    return NULL;
  quoted = pb_imap_quote_string (query);
  if (quoted != NULL)
    return g_strdup_printf ("TEXT %s", quoted);
  if (pb_imap_client_utf8_enabled (client))
    {
      GString *out = g_string_new ("TEXT \"");

      for (const char *p = query; *p; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (out, '\\');
          g_string_append_c (out, *p);
        }
      g_string_append_c (out, '"');
      return g_string_free (out, FALSE);
    }
  if (pb_imap_client_has_capability (client, "LITERAL+")
      || (len <= 4096 && pb_imap_client_has_capability (client, "LITERAL-")))
    return g_strdup_printf ("CHARSET UTF-8 TEXT {%" G_GSIZE_FORMAT "+}\r\n%s", len, query);
  return NULL;
}

/**
 * pb_imap_search_needed:
 *
 * Whether any folder of @account has messages whose body is not stored, that is, whether
 * asking the server could find anything the local index cannot. Saves a connection and a
 * login per search for accounts that keep everything offline (the default).
 */
gboolean
pb_imap_search_needed (PbStore     *store,
                       const char  *account)
{
  g_autoptr(GPtrArray) folders = pb_store_list_folders (store, account, NULL);

  for (guint i = 0; folders != NULL && i < folders->len; i++)
    {
      PbFolderInfo *info = g_ptr_array_index (folders, i);
      g_autoptr(GArray) remote_only = NULL;
      gint64 folder_id = pb_store_lookup_folder (store, account, pb_folder_info_get_path (info),
                                                 NULL);

      if (folder_id == 0)
        continue;
      remote_only = pb_store_get_uids_without_body (store, folder_id, TRUE, 1, NULL);
      if (remote_only != NULL && remote_only->len > 0)
        return TRUE;
    }
  return FALSE;
}

static GHashTable *
uid_set (GArray *uids)
{
  GHashTable *set = g_hash_table_new (NULL, NULL);

  for (guint i = 0; i < uids->len; i++)
    g_hash_table_add (set, GUINT_TO_POINTER (g_array_index (uids, guint32, i)));
  return set;
}

/**
 * pb_imap_search_server:
 *
 * Asks the server which of the messages whose body is not stored locally contain @query
 * (IMAP TEXT: headers and body). Returns at most @limit PbMessageSummary of those messages,
 * from the local store, newest folder order kept as the server gave it.
 */
GPtrArray *
pb_imap_search_server (PbImapClient  *client,
                       PbStore       *store,
                       const char    *account,
                       const char    *query,
                       guint          limit,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(GPtrArray) folders = pb_store_list_folders (store, account, error);
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (
    (GDestroyNotify) pb_message_summary_free);
  g_autofree char *criteria = NULL;

  if (folders == NULL)
    return NULL;
  criteria = text_criteria (client, query);
  if (criteria == NULL)
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_UNSUPPORTED,
                   _("The server cannot search for “%s”"), query);
      return NULL;
    }

  for (guint i = 0; i < folders->len && results->len < limit; i++)
    {
      PbFolderInfo *info = g_ptr_array_index (folders, i);
      g_autoptr(GArray) remote_only = NULL;
      g_autoptr(GArray) matches = NULL;
      g_autoptr(GHashTable) wanted = NULL;
      PbImapMailbox mailbox;
      guint32 uidvalidity, uidnext;
      guint64 modseq;
      gint64 folder_id;

      if (!pb_folder_info_get_selectable (info))
        continue;
      folder_id = pb_store_lookup_folder (store, account, pb_folder_info_get_path (info), error);
      if (folder_id == 0)
        return NULL;
      remote_only = pb_store_get_uids_without_body (store, folder_id, TRUE, 0, error);
      if (remote_only == NULL)
        return NULL;
      if (remote_only->len == 0)
        continue;
      if (!pb_store_get_folder_state (store, folder_id, &uidvalidity, &uidnext, &modseq, error))
        return NULL;

      if (!pb_imap_client_select (client, pb_folder_info_get_remote_name (info), TRUE, 0, 0,
                                  NULL, NULL, &mailbox, cancellable, error))
        return NULL;
      /* UIDs of another UIDVALIDITY would name other messages: the next sync sorts it out. */
      if (mailbox.uidvalidity != uidvalidity)
        continue;
      matches = pb_imap_sync_uid_search (client, criteria, mailbox.exists, cancellable, error);
      if (matches == NULL)
        return NULL;

      wanted = uid_set (remote_only);
      for (guint m = 0; m < matches->len && results->len < limit; m++)
        {
          guint32 uid = g_array_index (matches, guint32, m);
          PbMessageSummary *summary;

          if (!g_hash_table_contains (wanted, GUINT_TO_POINTER (uid)))
            continue;
          summary = pb_store_get_message (store, folder_id, uid, NULL);
          if (summary != NULL)
            g_ptr_array_add (results, summary);
        }
    }
  return g_steal_pointer (&results);
}
