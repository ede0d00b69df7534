/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-mime"

#include "config.h"

#include <glib/gi18n.h>
#include <errno.h>
#include <glib/gstdio.h>

#include "pb-account-manager.h"
#include "pb-draft.h"
#include "pb-imap-sync.h"
#include "pb-message-summary.h"
#include "pb-util-private.h"

#define GROUP "Draft"

struct _PbDraft
{
  GObject  parent_instance;

  char    *path;
  char    *account;
  /* The last content, as key file data: written by the worker, set on the owner's thread. */
  char    *data;
  guint32  remote_uid;
  char    *to, *cc, *bcc, *subject, *body, *in_reply_to, *references;
  GStrv    attachments;
};

G_DEFINE_FINAL_TYPE (PbDraft, pb_draft, G_TYPE_OBJECT)

static void
pb_draft_finalize (GObject *object)
{
  PbDraft *self = PB_DRAFT (object);

  g_free (self->path);
  g_free (self->account);
  g_free (self->data);
  g_free (self->to);
  g_free (self->cc);
  g_free (self->bcc);
  g_free (self->subject);
  g_free (self->body);
  g_free (self->in_reply_to);
  g_free (self->references);
  g_strfreev (self->attachments);

  G_OBJECT_CLASS (pb_draft_parent_class)->finalize (object);
}

static void
pb_draft_class_init (PbDraftClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pb_draft_finalize;
}

static void
pb_draft_init (PbDraft *self)
{
}

/**
 * pb_draft_default_dir:
 *
 * Returns: (transfer full): $XDG_DATA_HOME/postbote/drafts
 */
char *
pb_draft_default_dir (void)
{
  g_autofree char *data = pb_default_data_dir ();
  return g_build_filename (data, "drafts", NULL);
}

/**
 * pb_draft_new:
 * @dir: (nullable): where the local copy lives; %NULL for pb_draft_default_dir()
 */
PbDraft *
pb_draft_new (const char *dir)
{
  PbDraft *self = g_object_new (PB_TYPE_DRAFT, NULL);
  g_autofree char *default_dir = dir == NULL ? pb_draft_default_dir () : NULL;
  g_autofree char *uuid = g_uuid_string_random ();
  g_autofree char *name = g_strconcat (uuid, ".draft", NULL);

  self->path = g_build_filename (dir != NULL ? dir : default_dir, name, NULL);
  return self;
}

/**
 * pb_draft_load:
 * @path: a file pb_draft_save_local_async() wrote
 *
 * Returns: (transfer full): the draft, to be opened again (after a crash, for instance)
 */
PbDraft *
pb_draft_load (const char  *path,
               GError     **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(PbDraft) self = NULL;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, error))
    return NULL;
  self = g_object_new (PB_TYPE_DRAFT, NULL);
  self->path = g_strdup (path);
  self->account = g_key_file_get_string (file, GROUP, "account", NULL);
  self->to = g_key_file_get_string (file, GROUP, "to", NULL);
  self->cc = g_key_file_get_string (file, GROUP, "cc", NULL);
  self->bcc = g_key_file_get_string (file, GROUP, "bcc", NULL);
  self->subject = g_key_file_get_string (file, GROUP, "subject", NULL);
  self->body = g_key_file_get_string (file, GROUP, "body", NULL);
  self->in_reply_to = g_key_file_get_string (file, GROUP, "in-reply-to", NULL);
  self->references = g_key_file_get_string (file, GROUP, "references", NULL);
  self->attachments = g_key_file_get_string_list (file, GROUP, "attachments", NULL, NULL);
  self->remote_uid = (guint32) g_key_file_get_uint64 (file, GROUP, "remote-uid", NULL);
  return g_steal_pointer (&self);
}

/**
 * pb_draft_list_saved:
 * @dir: (nullable): the drafts folder; %NULL for the default
 *
 * Blocks on the disk (a directory listing).
 *
 * Returns: (transfer full) (element-type utf8): the paths of the drafts left there
 */
GPtrArray *
pb_draft_list_saved (const char *dir)
{
  g_autofree char *default_dir = dir == NULL ? pb_draft_default_dir () : NULL;
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  GDir *d = g_dir_open (dir != NULL ? dir : default_dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".draft"))
      g_ptr_array_add (paths, g_build_filename (dir != NULL ? dir : default_dir, name, NULL));
  if (d != NULL)
    g_dir_close (d);
  return paths;
}

const char *
pb_draft_get_path (PbDraft *self)
{
  g_return_val_if_fail (PB_IS_DRAFT (self), NULL);
  return self->path;
}

const char *
pb_draft_get_account (PbDraft *self)
{
  g_return_val_if_fail (PB_IS_DRAFT (self), NULL);
  return self->account;
}

void
pb_draft_set_account (PbDraft    *self,
                      const char *account)
{
  g_return_if_fail (PB_IS_DRAFT (self));
  pb_set_str (&self->account, account);
}

guint32
pb_draft_get_remote_uid (PbDraft *self)
{
  g_return_val_if_fail (PB_IS_DRAFT (self), 0);
  return self->remote_uid;
}

static void
set_key (GKeyFile   *file,
         const char *key,
         const char *value)
{
  if (value != NULL)
    g_key_file_set_string (file, GROUP, key, value);
}

static void
update_data (PbDraft *self)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();

  set_key (file, "account", self->account);
  set_key (file, "to", self->to);
  set_key (file, "cc", self->cc);
  set_key (file, "bcc", self->bcc);
  set_key (file, "subject", self->subject);
  set_key (file, "body", self->body);
  set_key (file, "in-reply-to", self->in_reply_to);
  set_key (file, "references", self->references);
  if (self->attachments != NULL)
    g_key_file_set_string_list (file, GROUP, "attachments",
                                (const char * const *) self->attachments,
                                g_strv_length (self->attachments));
  g_key_file_set_uint64 (file, GROUP, "remote-uid", self->remote_uid);
  g_free (self->data);
  self->data = g_key_file_to_data (file, NULL, NULL);
}

/**
 * pb_draft_set_content:
 *
 * Takes a snapshot of what @builder holds. Attachments that are not local files (carried
 * over from a forwarded message) are not kept in the local copy.
 */
void
pb_draft_set_content (PbDraft          *self,
                      PbMessageBuilder *builder)
{
  g_autoptr(GStrvBuilder) paths = g_strv_builder_new ();

  g_return_if_fail (PB_IS_DRAFT (self));
  g_return_if_fail (PB_IS_MESSAGE_BUILDER (builder));

  pb_set_str (&self->to, pb_message_builder_get_to (builder));
  pb_set_str (&self->cc, pb_message_builder_get_cc (builder));
  pb_set_str (&self->bcc, pb_message_builder_get_bcc (builder));
  pb_set_str (&self->subject, pb_message_builder_get_subject (builder));
  pb_set_str (&self->body, pb_message_builder_get_body (builder));
  pb_set_str (&self->in_reply_to, pb_message_builder_get_in_reply_to (builder));
  pb_set_str (&self->references, pb_message_builder_get_references (builder));
  for (guint i = 0; i < pb_message_builder_get_n_attachments (builder); i++)
    {
      GFile *file = pb_message_builder_get_attachment_file (builder, i);
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        g_strv_builder_add (paths, path);
    }
  g_strfreev (self->attachments);
  self->attachments = g_strv_builder_end (paths);
  update_data (self);
}

/**
 * pb_draft_to_builder:
 *
 * Returns: (transfer full): a builder holding what was saved
 */
PbMessageBuilder *
pb_draft_to_builder (PbDraft    *self,
                     const char *from_name,
                     const char *from_email)
{
  PbMessageBuilder *builder;

  g_return_val_if_fail (PB_IS_DRAFT (self), NULL);

  builder = pb_message_builder_new (from_name, from_email);
  pb_message_builder_set_to (builder, self->to);
  pb_message_builder_set_cc (builder, self->cc);
  pb_message_builder_set_bcc (builder, self->bcc);
  pb_message_builder_set_subject (builder, self->subject);
  pb_message_builder_set_body (builder, self->body);
  pb_message_builder_set_in_reply_to (builder, self->in_reply_to);
  pb_message_builder_set_references (builder, self->references);
  for (guint i = 0; self->attachments != NULL && self->attachments[i] != NULL; i++)
    {
      g_autoptr(GFile) file = g_file_new_for_path (self->attachments[i]);
      pb_message_builder_add_attachment_file (builder, file);
    }
  return builder;
}

static void
save_local_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  PbDraft *self = source_object;
  const char *data = task_data;
  g_autofree char *dir = g_path_get_dirname (self->path);
  GError *error = NULL;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                               _("Could not create the drafts folder %s: %s"), dir,
                               g_strerror (saved));
      return;
    }
  /* Durable: written to a new file, flushed, then renamed over the old one. */
  if (!g_file_set_contents_full (self->path, data, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * pb_draft_save_local_async:
 *
 * Writes the content last given to pb_draft_set_content() to the local file, durably.
 */
void
pb_draft_save_local_async (PbDraft             *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PB_IS_DRAFT (self));

  if (self->data == NULL)
    update_data (self);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pb_draft_save_local_async);
  g_task_set_task_data (task, g_strdup (self->data), g_free);
  g_task_run_in_thread (task, save_local_thread);
}

gboolean
pb_draft_save_local_finish (PbDraft       *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Remote copies */

typedef struct {
  PbAccount *account;
  PbStore   *store;
  guint32    old_uid;
  guint32    new_uid;
  gboolean   discard;
} RemoteData;

static void
remote_data_free (RemoteData *data)
{
  g_clear_object (&data->account);
  g_clear_object (&data->store);
  g_free (data);
}

/* Removes @uid from the account's Drafts for good: a journal entry that the next sync replays
 * (UID EXPUNGE), and the row in the store. Like pb_operations_delete() in the Trash, but a
 * replaced draft must not fill the Trash. Runs on a worker thread (SQLite). */
static gboolean
expunge_draft (PbStore     *store,
               const char  *account,
               guint32      uid,
               GError     **error)
{
  g_autoptr(GPtrArray) folders = pb_store_list_folders (store, account, error);
  const char *path = NULL;
  guint32 uidvalidity, uidnext;
  guint64 modseq;
  gint64 folder_id;

  if (folders == NULL)
    return FALSE;
  for (guint i = 0; i < folders->len && path == NULL; i++)
    if (pb_folder_info_get_role (g_ptr_array_index (folders, i)) == PB_FOLDER_ROLE_DRAFTS)
      path = pb_folder_info_get_path (g_ptr_array_index (folders, i));
  if (path == NULL)
    return TRUE;
  folder_id = pb_store_lookup_folder (store, account, path, error);
  if (folder_id == 0)
    return error == NULL || *error == NULL;
  if (!pb_store_get_folder_state (store, folder_id, &uidvalidity, &uidnext, &modseq, error))
    return FALSE;
  return pb_store_journal_add (store, account, PB_JOURNAL_OP_EXPUNGE, folder_id, uidvalidity,
                               uid, NULL, error) != 0
         && pb_store_remove_uids (store, folder_id, &uid, 1, error);
}

static void
expunge_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  PbDraft *self = source_object;
  RemoteData *data = task_data;
  GError *error = NULL;

  if (data->old_uid != 0
      && !expunge_draft (data->store, pb_account_get_name (data->account), data->old_uid, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (data->discard)
    {
      if (g_unlink (self->path) != 0 && errno != ENOENT)
        {
          int saved = errno;
          g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                                   _("Could not remove the draft %s: %s"), self->path,
                                   g_strerror (saved));
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
}

static void
replay_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  /* The expunge waits in the journal when the server cannot be reached: not an error for the
   * draft, which is saved. */
  if (!pb_remote_store_sync_finish (PB_REMOTE_STORE (source), result, &error))
    g_debug ("Draft clean-up not sent yet: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

static void
expunged_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GTask *inner = G_TASK (result);
  RemoteData *data = g_task_get_task_data (task);
  GCancellable *cancellable;
  GError *error = NULL;

  if (!g_task_propagate_boolean (inner, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (data->old_uid == 0)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  cancellable = g_task_get_cancellable (task);
  pb_remote_store_sync_async (pb_account_get_remote_store (data->account), data->store, NULL,
                              NULL, cancellable, replay_done_cb, g_steal_pointer (&task));
}

static void
run_expunge (GTask *task)
{
  PbDraft *self = g_task_get_source_object (task);
  GTask *inner = g_task_new (self, g_task_get_cancellable (task), expunged_cb, task);

  g_task_set_task_data (inner, g_task_get_task_data (task), NULL);
  g_task_run_in_thread (inner, expunge_thread);
  g_object_unref (inner);
}

static void
saved_after_append_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  GTask *task = user_data;
  g_autoptr(GError) error = NULL;

  if (!pb_draft_save_local_finish (PB_DRAFT (source), result, &error))
    g_warning ("Could not note the draft's place in Drafts: %s", error->message);
  run_expunge (task);
}

static void
appended_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GTask *task = user_data;
  PbDraft *self = g_task_get_source_object (task);
  RemoteData *data = g_task_get_task_data (task);
  GError *error = NULL;
  guint32 uid = 0;

  if (!pb_remote_store_append_finish (PB_REMOTE_STORE (source), result, &uid, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  /* Without UIDPLUS the new copy cannot be found again; the old one still goes. */
  data->new_uid = uid;
  self->remote_uid = uid;
  update_data (self);
  pb_draft_save_local_async (self, g_task_get_cancellable (task), saved_after_append_cb, task);
}

/**
 * pb_draft_save_remote_async:
 * @account: the account whose Drafts folder keeps the copy
 * @store: the local store (the copy is also stored there)
 * @raw: the draft as built (pb_message_builder_set_include_bcc() on)
 */
void
pb_draft_save_remote_async (PbDraft             *self,
                            PbAccount           *account,
                            PbStore             *store,
                            GBytes              *raw,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task;
  RemoteData *data;

  g_return_if_fail (PB_IS_DRAFT (self));
  g_return_if_fail (PB_IS_ACCOUNT (account));
  g_return_if_fail (PB_IS_STORE (store));

  data = g_new0 (RemoteData, 1);
  data->account = g_object_ref (account);
  data->store = g_object_ref (store);
  data->old_uid = self->remote_uid;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pb_draft_save_remote_async);
  g_task_set_task_data (task, data, (GDestroyNotify) remote_data_free);
  pb_remote_store_append_async (pb_account_get_remote_store (account), store,
                                PB_FOLDER_ROLE_DRAFTS, raw,
                                PB_MESSAGE_FLAG_SEEN | PB_MESSAGE_FLAG_DRAFT, cancellable,
                                appended_cb, task);
}

gboolean
pb_draft_save_remote_finish (PbDraft       *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * pb_draft_discard_async:
 * @account: (nullable): the account whose Drafts holds a copy; %NULL: only the local file
 * @store: (nullable): the local store
 */
void
pb_draft_discard_async (PbDraft             *self,
                        PbAccount           *account,
                        PbStore             *store,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  GTask *task;
  RemoteData *data;

  g_return_if_fail (PB_IS_DRAFT (self));

  data = g_new0 (RemoteData, 1);
  data->account = account != NULL ? g_object_ref (account) : NULL;
  data->store = store != NULL ? g_object_ref (store) : NULL;
  data->old_uid = account != NULL && store != NULL ? self->remote_uid : 0;
  data->discard = TRUE;
  self->remote_uid = 0;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pb_draft_discard_async);
  g_task_set_task_data (task, data, (GDestroyNotify) remote_data_free);
  run_expunge (task);
}

gboolean
pb_draft_discard_finish (PbDraft       *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
