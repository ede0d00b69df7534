/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-pop3"

#include "config.h"

#include <glib/gi18n.h>

#include "pb-fault.h"
#include "pb-imap-sync.h"
#include "pb-operations.h"
#include "pb-pop3-sync.h"
#include "pb-store-pop3.h"

/*
 * Downloading a POP3 maildrop into local folders, safely:
 *
 *   RETR -> ledger row PENDING with a local UID -> summary indexed -> body written, fsynced,
 *   committed (synchronous=FULL) -> ledger row STORED (durable) -> only then DELE -> QUIT.
 *
 * Messages are matched by UIDL only; message numbers are used within one session. A crash or
 * cut at any point leaves either no ledger row (downloaded again: nothing was stored), a
 * PENDING row (the next sync checks whether the message made it and keeps it or downloads it
 * again into the same place), or a STORED row (never downloaded again). A DELE the server did
 * not carry out (no +OK to QUIT) is simply sent again by the next sync.
 */

/* One batch: this many messages or bytes, whichever comes first, share one syncfs and a few
 * transactions. POSTBOTE_POP3_BATCH makes batches smaller, so crash tests can stop a sync
 * between batches. */
#define BATCH_MESSAGES 250
#define BATCH_BYTES (16 * 1024 * 1024)
#define POP3_UIDVALIDITY 1

static const struct {
  const char   *path;
  PbFolderRole  role;
} default_folders[] = {
  { "INBOX", PB_FOLDER_ROLE_INBOX },
  { "Drafts", PB_FOLDER_ROLE_DRAFTS },
  { "Sent", PB_FOLDER_ROLE_SENT },
  { "Trash", PB_FOLDER_ROLE_TRASH },
};

/* Now, in Unix time. POSTBOTE_POP3_NOW overrides it so tests can age downloaded messages
 * without waiting days ("delete after N days" counts from the first download). */
gint64
pb_pop3_sync_now (void)
{
  const char *now = g_getenv ("POSTBOTE_POP3_NOW");

  if (now != NULL && *now != '\0')
    return g_ascii_strtoll (now, NULL, 10);
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* A POP3 account's folders are local; the four with a role always exist. */
gboolean
pb_pop3_sync_ensure_folders (PbStore     *store,
                             const char  *account,
                             GError     **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (default_folders); i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(PbFolderInfo) info = NULL;
      gint64 id;

      id = pb_store_lookup_folder (store, account, default_folders[i].path, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (id != 0)
        continue;
      info = pb_folder_info_new (default_folders[i].path, default_folders[i].role, TRUE);
      id = pb_store_ensure_folder (store, account, info, error);
      if (id == 0 || !pb_store_set_folder_state (store, id, POP3_UIDVALIDITY, 1, 0, error))
        return FALSE;
    }
  /* Marked as such, so that moves between them happen in the store (pb_operations_move()). */
  return pb_store_set_folders_local (store, account, error);
}

gint64
pb_pop3_sync_folder_by_role (PbStore       *store,
                             const char    *account,
                             PbFolderRole   role,
                             GError       **error)
{
  g_autoptr(GPtrArray) folders = NULL;

  if (!pb_pop3_sync_ensure_folders (store, account, error))
    return 0;
  folders = pb_store_list_folders (store, account, error);
  if (folders == NULL)
    return 0;
  for (guint i = 0; i < folders->len; i++)
    if (pb_folder_info_get_role (g_ptr_array_index (folders, i)) == role)
      return pb_store_lookup_folder (store, account,
                                     pb_folder_info_get_path (g_ptr_array_index (folders, i)),
                                     error);
  g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
               _("The account “%s” has no folder for %s"), account,
               pb_folder_role_to_string (role));
  return 0;
}

/* Whether the journal entry stands for "deleted locally": a move to the Trash, or a delete
 * inside it (or without one). */
static gboolean
entry_deletes (const PbJournalEntry *entry,
               gint64                trash_id)
{
  if (g_strcmp0 (entry->op, PB_JOURNAL_OP_EXPUNGE) == 0)
    return TRUE;
  return g_strcmp0 (entry->op, PB_JOURNAL_OP_MOVED_LOCALLY) == 0 && entry->folder_id == trash_id;
}

/* The operation journal of a POP3 account is local already (the store applied every change,
 * moves included: pb_store_move_local() took the message and its ledger row to the new
 * folder). What matters for the server is which downloaded messages the user deleted: with
 * "delete when deleted", a message moved to the Trash or expunged is marked for DELE. The
 * entry names the message where it went, so its ledger row is found there; a message moved on
 * again before this sync (e.g. out of the Trash by Undo) is no longer there and stays on the
 * server. A message that exists only locally has no ledger row and nothing to do. */
static gboolean
replay_journal (PbStore             *store,
                const char          *account,
                const PbPop3Policy  *policy,
                GError             **error)
{
  g_autoptr(GPtrArray) entries = pb_store_journal_list (store, account, error);
  gint64 trash_id;

  if (entries == NULL)
    return FALSE;
  if (entries->len == 0)
    return TRUE;
  trash_id = pb_pop3_sync_folder_by_role (store, account, PB_FOLDER_ROLE_TRASH, error);
  if (trash_id == 0)
    return FALSE;

  for (guint i = 0; i < entries->len; i++)
    {
      PbJournalEntry *entry = g_ptr_array_index (entries, i);
      g_autofree char *uidl = NULL;
      g_autoptr(GError) local_error = NULL;
      gboolean legacy_move = g_strcmp0 (entry->op, PB_JOURNAL_OP_MOVE) == 0;

      if (entry->uid != 0 && (legacy_move || entry_deletes (entry, trash_id)))
        uidl = pb_store_pop3_ledger_find (store, account, entry->folder_id, entry->uid,
                                          &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }

      if (uidl != NULL && legacy_move)
        {
          /* Only from a store older than local folders (migration 4), whose move removed the
           * local copy expecting a server to deliver it: downloading it again is all that is
           * left. pb_pop3_sync_ensure_folders() marks the folders local before any new move. */
          gint64 destination = pb_store_lookup_folder (store, account, entry->arg, NULL);
          const char *one[] = { uidl };

          if (destination != 0
              && !pb_store_pop3_ledger_refetch (store, account, uidl, destination, error))
            return FALSE;
          if (destination == trash_id && policy->delete_when_deleted
              && !pb_store_pop3_ledger_set (store, account, one, 1, "delete_wanted", 1, FALSE,
                                            error))
            return FALSE;
        }
      else if (uidl != NULL && policy->delete_when_deleted)
        {
          const char *one[] = { uidl };

          if (!pb_store_pop3_ledger_set (store, account, one, 1, "delete_wanted", 1, FALSE,
                                         error))
            return FALSE;
        }
      if (!pb_store_journal_remove (store, entry->id, error))
        return FALSE;
    }
  return TRUE;
}

/* Settles the rows a crashed or cut sync left PENDING: a message that made it into the store
 * completely is kept; anything else is removed and downloaded again. */
static gboolean
recover_pending (PbStore     *store,
                 const char  *account,
                 GHashTable  *ledger,
                 GError     **error)
{
  g_autoptr(GPtrArray) stored = g_ptr_array_new ();
  GHashTableIter iter;
  PbPop3LedgerRow *row;

  g_hash_table_iter_init (&iter, ledger);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &row))
    {
      g_autoptr(PbMessageSummary) summary = NULL;

      if (row->state != PB_POP3_LEDGER_PENDING)
        continue;
      summary = pb_store_get_message (store, row->folder_id, row->uid, NULL);
      if (summary != NULL && (summary->has_body || row->headers_only))
        {
          g_ptr_array_add (stored, row->uidl);
          row->state = PB_POP3_LEDGER_STORED;
          continue;
        }
      if (summary != NULL && !pb_store_remove_uids (store, row->folder_id, &row->uid, 1, error))
        return FALSE;
      if (!pb_store_pop3_ledger_refetch (store, account, row->uidl, row->folder_id, error))
        return FALSE;
      row->state = PB_POP3_LEDGER_REFETCH;
      row->uid = 0;
    }
  return pb_store_pop3_ledger_set (store, account, (const char * const *) stored->pdata,
                                   stored->len, "state", PB_POP3_LEDGER_STORED, TRUE, error);
}

typedef struct {
  PbStore             *store;
  const char          *account;
  gint64               folder_id;
  gint64               now;
  GPtrArray           *uidls;      /* of the batch, borrowed */
  GArray              *headers;    /* gboolean per message */
  GArray              *sizes;      /* guint64 LIST size per message */
  GPtrArray           *raws;       /* GBytes, filled by the retrieval */
} Batch;

static gboolean
batch_message_cb (guint      index,
                  GBytes    *raw,
                  gpointer   user_data,
                  GError   **error)
{
  Batch *batch = user_data;

  g_assert (index == batch->raws->len);
  g_ptr_array_add (batch->raws, g_bytes_ref (raw));
  pb_fault_point ("pop3-after-retr");
  return TRUE;
}

/* Stores a downloaded batch, durably, then marks its ledger rows STORED. */
static gboolean
commit_batch (Batch   *batch,
              GError **error)
{
  guint n = batch->raws->len;
  g_autofree guint32 *uids = g_new0 (guint32, n);
  g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func (
    (GDestroyNotify) pb_message_summary_free);
  g_autoptr(GArray) body_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GPtrArray) body_raws = g_ptr_array_new ();
  g_autoptr(GPtrArray) reserved = g_ptr_array_new ();
  guint n_stored = 0;

  if (!pb_store_pop3_ledger_reserve (batch->store, batch->account, batch->folder_id,
                                     (const char * const *) batch->uidls->pdata,
                                     (const gboolean *) batch->headers->data, n, batch->now,
                                     uids, error))
    return FALSE;

  for (guint i = 0; i < n; i++)
    {
      GBytes *raw = g_ptr_array_index (batch->raws, i);
      PbMessageSummary *summary;
      gboolean headers_only = g_array_index (batch->headers, gboolean, i);

      if (uids[i] == 0)
        continue;
      g_ptr_array_add (reserved, g_ptr_array_index (batch->uidls, i));
      summary = pb_store_parse_summary (raw);
      summary->uid = uids[i];
      summary->internaldate = batch->now;
      if (headers_only)
        summary->size = g_array_index (batch->sizes, guint64, i);
      else
        {
          g_array_append_val (body_uids, uids[i]);
          g_ptr_array_add (body_raws, raw);
        }
      g_ptr_array_add (summaries, summary);
    }
  if (!pb_store_add_messages (batch->store, batch->folder_id, summaries, error))
    return FALSE;
  pb_fault_point ("pop3-after-index");
  if (!pb_store_set_bodies (batch->store, batch->folder_id, (const guint32 *) body_uids->data,
                            (GBytes * const *) body_raws->pdata, body_uids->len, &n_stored,
                            error))
    return FALSE;
  pb_fault_point ("pop3-after-write");
  if (n_stored != body_uids->len)
    {
      g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_FAILED,
                   _("Only %u of %u downloaded messages could be stored"), n_stored,
                   body_uids->len);
      return FALSE;
    }
  if (!pb_store_pop3_ledger_set (batch->store, batch->account,
                                 (const char * const *) reserved->pdata, reserved->len, "state",
                                 PB_POP3_LEDGER_STORED, TRUE, error))
    return FALSE;
  pb_fault_point ("pop3-after-commit");
  return TRUE;
}

typedef struct {
  const PbPop3Message *message;
  gint64               folder_id;
} Download;

static gint
download_compare (gconstpointer a,
                  gconstpointer b)
{
  const Download *da = a, *db = b;

  if (da->folder_id != db->folder_id)
    return da->folder_id < db->folder_id ? -1 : 1;
  return da->message->number < db->message->number ? -1 : da->message->number > db->message->number;
}

static gboolean
download (PbPop3Client        *client,
          PbStore             *store,
          const char          *account,
          const PbPop3Policy  *policy,
          GArray              *downloads,
          gint64               now,
          PbSyncProgressFunc   progress,
          gpointer             progress_data,
          GCancellable        *cancellable,
          GError             **error)
{
  const char *batch_env = g_getenv ("POSTBOTE_POP3_BATCH");
  guint batch_max = batch_env ? (guint) CLAMP (g_ascii_strtoull (batch_env, NULL, 10), 1,
                                               BATCH_MESSAGES)
                              : BATCH_MESSAGES;
  guint done = 0;

  g_array_sort (downloads, download_compare);
  if (progress != NULL && downloads->len > 0)
    progress (account, "INBOX", 0, downloads->len, progress_data);

  while (done < downloads->len)
    {
      g_autoptr(GPtrArray) uidls = g_ptr_array_new ();
      g_autoptr(GArray) numbers = g_array_new (FALSE, FALSE, sizeof (guint));
      g_autoptr(GArray) headers = g_array_new (FALSE, FALSE, sizeof (gboolean));
      g_autoptr(GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
      g_autoptr(GPtrArray) raws = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      gint64 folder_id = g_array_index (downloads, Download, done).folder_id;
      guint64 bytes = 0;
      Batch batch = { store, account, folder_id, now, uidls, headers, sizes, raws };

      while (done + numbers->len < downloads->len && numbers->len < batch_max
             && (numbers->len == 0 || bytes < BATCH_BYTES))
        {
          const Download *d = &g_array_index (downloads, Download, done + numbers->len);
          gboolean headers_only = policy->headers_only_over > 0
                                  && d->message->size > policy->headers_only_over;

          if (d->folder_id != folder_id)
            break;
          g_ptr_array_add (uidls, d->message->uidl);
          g_array_append_val (numbers, d->message->number);
          g_array_append_val (headers, headers_only);
          g_array_append_val (sizes, d->message->size);
          bytes += headers_only ? 0 : d->message->size;
        }

      if (!pb_pop3_client_retrieve (client, (const guint *) numbers->data,
                                    (const gboolean *) headers->data, numbers->len,
                                    batch_message_cb, &batch, cancellable, error))
        return FALSE;
      if (!commit_batch (&batch, error))
        return FALSE;
      done += numbers->len;
      if (progress != NULL)
        progress (account, "INBOX", done, downloads->len, progress_data);
    }
  return TRUE;
}

static gboolean
wants_delete (const PbPop3LedgerRow *row,
              const PbPop3Policy    *policy,
              gint64                 now)
{
  if (row->state != PB_POP3_LEDGER_STORED)
    return FALSE;
  if (row->delete_wanted)
    return TRUE;
  /* A message of which only the header is here must stay on the server. */
  if (row->headers_only)
    return FALSE;
  if (!policy->leave_on_server)
    return TRUE;
  return policy->delete_after_days > 0
         && now - row->first_seen >= (gint64) policy->delete_after_days * 24 * 60 * 60;
}

/**
 * pb_pop3_sync_account:
 *
 * One sync of a POP3 account on an authenticated session: applies local deletes and moves,
 * downloads new messages into the inbox, deletes on the server what the policy says, and
 * ends the session with QUIT (which is when the server deletes).
 */
gboolean
pb_pop3_sync_account (PbPop3Client        *client,
                      PbStore             *store,
                      const char          *account,
                      const PbPop3Policy  *policy,
                      PbSyncProgressFunc   progress,
                      gpointer             progress_data,
                      GCancellable        *cancellable,
                      GError             **error)
{
  g_autoptr(GHashTable) ledger = NULL;
  g_autoptr(GArray) messages = NULL;
  g_autoptr(GArray) downloads = g_array_new (FALSE, FALSE, sizeof (Download));
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) vanished = g_ptr_array_new ();
  g_autoptr(GPtrArray) returned = g_ptr_array_new ();
  g_autoptr(GArray) delete_numbers = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GPtrArray) delete_uidls = g_ptr_array_new ();
  gint64 now = pb_pop3_sync_now ();
  gint64 inbox_id;
  GHashTableIter iter;
  PbPop3LedgerRow *row;

  inbox_id = pb_pop3_sync_folder_by_role (store, account, PB_FOLDER_ROLE_INBOX, error);
  if (inbox_id == 0 || !replay_journal (store, account, policy, error))
    return FALSE;
  ledger = pb_store_pop3_ledger_load (store, account, error);
  if (ledger == NULL || !recover_pending (store, account, ledger, error))
    return FALSE;

  messages = pb_pop3_client_list_messages (client, cancellable, error);
  if (messages == NULL)
    return FALSE;

  for (guint i = 0; i < messages->len; i++)
    {
      const PbPop3Message *message = &g_array_index (messages, PbPop3Message, i);
      Download d = { message, inbox_id };

      g_hash_table_insert (listed, message->uidl, (gpointer) message);
      row = g_hash_table_lookup (ledger, message->uidl);
      if (row != NULL && !row->on_server)
        g_ptr_array_add (returned, row->uidl);
      if (row == NULL)
        g_array_append_val (downloads, d);
      else if (row->state == PB_POP3_LEDGER_REFETCH)
        {
          d.folder_id = row->folder_id;
          g_array_append_val (downloads, d);
        }
    }
  g_hash_table_iter_init (&iter, ledger);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &row))
    if (row->on_server && !g_hash_table_contains (listed, row->uidl))
      g_ptr_array_add (vanished, row->uidl);
  if (!pb_store_pop3_ledger_set (store, account, (const char * const *) vanished->pdata,
                                 vanished->len, "on_server", 0, FALSE, error)
      || !pb_store_pop3_ledger_set (store, account, (const char * const *) returned->pdata,
                                    returned->len, "on_server", 1, FALSE, error))
    return FALSE;

  if (!download (client, store, account, policy, downloads, now, progress, progress_data,
                 cancellable, error))
    return FALSE;

  /* The rows as they are now, STORED ones included. */
  g_clear_pointer (&ledger, g_hash_table_unref);
  ledger = pb_store_pop3_ledger_load (store, account, error);
  if (ledger == NULL)
    return FALSE;
  for (guint i = 0; i < messages->len; i++)
    {
      const PbPop3Message *message = &g_array_index (messages, PbPop3Message, i);

      row = g_hash_table_lookup (ledger, message->uidl);
      if (row != NULL && wants_delete (row, policy, now))
        {
          g_array_append_val (delete_numbers, message->number);
          g_ptr_array_add (delete_uidls, row->uidl);
        }
    }
  if (delete_numbers->len > 0
      && !pb_pop3_client_delete (client, (const guint *) delete_numbers->data,
                                 delete_numbers->len, cancellable, error))
    return FALSE;

  pb_fault_point ("pop3-before-quit");
  if (!pb_pop3_client_quit (client, cancellable, error))
    return FALSE;
  /* The server has left the UPDATE state with +OK: the messages are gone there. */
  return pb_store_pop3_ledger_set (store, account, (const char * const *) delete_uidls->pdata,
                                   delete_uidls->len, "on_server", 0, FALSE, error);
}

typedef struct {
  GBytes *raw;
} FetchOne;

static gboolean
fetch_one_cb (guint      index,
              GBytes    *raw,
              gpointer   user_data,
              GError   **error)
{
  ((FetchOne *) user_data)->raw = g_bytes_ref (raw);
  return TRUE;
}

/* Downloads the whole of a message stored as header only, and replaces it in the store. */
gboolean
pb_pop3_sync_fetch_body (PbPop3Client  *client,
                         PbStore       *store,
                         const char    *account,
                         const char    *folder,
                         guint32        uid,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(GArray) messages = NULL;
  g_autofree char *uidl = NULL;
  g_autoptr(GError) local_error = NULL;
  FetchOne one = { NULL };
  const char *uidls[1];
  gint64 folder_id;
  guint number = 0;
  gboolean ok;

  folder_id = pb_store_lookup_folder (store, account, folder, error);
  if (folder_id == 0)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                     _("There is no folder “%s” in account “%s”"), folder, account);
      return FALSE;
    }
  uidl = pb_store_pop3_ledger_find (store, account, folder_id, uid, &local_error);
  if (uidl == NULL)
    {
      if (local_error != NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_NOT_ON_SERVER,
                     _("Message %u in “%s” did not come from the POP3 server"), uid, folder);
      return FALSE;
    }
  messages = pb_pop3_client_list_messages (client, cancellable, error);
  if (messages == NULL)
    return FALSE;
  for (guint i = 0; i < messages->len && number == 0; i++)
    if (g_strcmp0 (g_array_index (messages, PbPop3Message, i).uidl, uidl) == 0)
      number = g_array_index (messages, PbPop3Message, i).number;
  if (number == 0)
    {
      g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_NOT_ON_SERVER,
                   _("The rest of message %u in “%s” is no longer on the server"), uid, folder);
      return FALSE;
    }
  if (!pb_pop3_client_retrieve (client, &number, NULL, 1, fetch_one_cb, &one, cancellable,
                                error))
    return FALSE;
  uidls[0] = uidl;
  ok = pb_store_set_body (store, folder_id, uid, one.raw, error)
       && pb_store_pop3_ledger_set (store, account, uidls, 1, "headers_only", 0, TRUE, error);
  g_bytes_unref (one.raw);
  if (ok)
    pb_pop3_client_quit (client, cancellable, NULL);
  return ok;
}
