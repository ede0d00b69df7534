/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-pop3"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "pb-connection.h"
#include "pb-pop3-client.h"
#include "pb-pop3-store.h"
#include "pb-pop3-sync.h"
#include "pb-store-pop3.h"

/*
 * The POP3 side of an account behind PbRemoteStore. The server has one maildrop; everything
 * else is local: the account's folders live in the store (INBOX, Drafts, Sent, Trash and
 * whatever the user makes), messages get local UIDs, and the UIDL ledger remembers what came
 * from where. Each operation runs one blocking session on a GTask worker thread.
 */
struct _PbPop3Store
{
  GObject        parent_instance;

  char          *account;
  PbService     *service;
  PbCredentials *credentials;
  GMutex         lock;          /* guards policy and local */
  GMutex         session_lock;  /* one session of this account at a time in this process */
  PbPop3Policy   policy;
  GWeakRef       local;         /* the PbStore last used, for list_folders */
};

static void remote_store_iface_init (PbRemoteStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PbPop3Store, pb_pop3_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PB_TYPE_REMOTE_STORE,
                                                      remote_store_iface_init))

/* The default poll interval of watch; POSTBOTE_POP3_POLL (seconds) overrides it for tests. */
#define POLL_SECONDS 300

static PbPop3Policy
get_policy (PbPop3Store *self)
{
  PbPop3Policy policy;

  g_mutex_lock (&self->lock);
  policy = self->policy;
  g_mutex_unlock (&self->lock);
  return policy;
}

static void
remember_store (PbPop3Store *self,
                PbStore     *store)
{
  g_weak_ref_set (&self->local, store);
}

/* One session per account at a time, across processes too (`postbote-cli sync` beside the
 * app): a sync that finds a PENDING ledger row cannot tell another process's download in
 * flight from one that a crash cut off, and would fetch the message again. The kernel drops
 * an flock when its process dies, so kill -9 never leaves the account locked. Waits for the
 * other session to end, or until @cancellable is cancelled. Returns the lock's fd, or -1. */
static int
session_begin (PbPop3Store   *self,
               PbStore       *store,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autofree char *name = g_strdup_printf ("pop3-%s.lock", self->account);
  g_autofree char *path = g_build_filename (pb_store_get_dir (store), name, NULL);
  int fd;

  g_mutex_lock (&self->session_lock);
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not open %s: %s"), path, g_strerror (saved_errno));
      g_mutex_unlock (&self->session_lock);
      return -1;
    }
  while (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved_errno = errno;

      if (saved_errno != EWOULDBLOCK && saved_errno != EINTR)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("Could not lock %s: %s"), path, g_strerror (saved_errno));
          break;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        break;
      g_usleep (50 * G_TIME_SPAN_MILLISECOND);
    }
  if (error != NULL && *error != NULL)
    {
      close (fd);
      g_mutex_unlock (&self->session_lock);
      return -1;
    }
  return fd;
}

static void
session_end (PbPop3Store *self,
             int          fd)
{
  close (fd);
  g_mutex_unlock (&self->session_lock);
}

/* Connects, verifies, and logs in; the password lives only for the duration of the login. */
static PbPop3Client *
open_session (PbPop3Store   *self,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(PbPop3Client) client = pb_pop3_client_new (self->service);
  PbPop3Policy policy = get_policy (self);
  char *password;
  gboolean ok;

  pb_pop3_client_set_apop (client, policy.apop);
  if (!pb_pop3_client_connect (client, cancellable, error))
    return NULL;
  password = pb_credentials_lookup (self->credentials, self->service, cancellable, error);
  if (password == NULL)
    return NULL;
  ok = pb_pop3_client_authenticate (client, password, cancellable, error);
  pb_password_free (password);
  return ok ? g_steal_pointer (&client) : NULL;
}

static void
check_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  g_autoptr(PbPop3Client) client = NULL;
  g_autoptr(GArray) messages = NULL;
  GError *error = NULL;

  client = open_session (source_object, cancellable, &error);
  /* UIDL is required: without it nothing could be told apart or safely deleted. */
  if (client != NULL)
    messages = pb_pop3_client_list_messages (client, cancellable, &error);
  if (messages == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  pb_pop3_client_quit (client, cancellable, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
pb_pop3_store_check_async (PbRemoteStore       *store,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);

  g_task_set_source_tag (task, pb_pop3_store_check_async);
  g_task_run_in_thread (task, check_thread);
}

static void
list_folders_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  PbPop3Store *self = source_object;
  g_autoptr(PbStore) local = g_weak_ref_get (&self->local);
  GPtrArray *folders;
  GError *error = NULL;

  if (local != NULL)
    {
      /* The account's folders are local: those in the store, the four with roles first. */
      if (!pb_pop3_sync_ensure_folders (local, self->account, &error))
        {
          g_task_return_error (task, error);
          return;
        }
      folders = pb_store_list_folders (local, self->account, &error);
      if (folders == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }
  else
    {
      /* Not synced in this process yet: the four folders every POP3 account has, in the
       * order of pb_folder_info_compare(). */
      folders = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (folders, pb_folder_info_new ("INBOX", PB_FOLDER_ROLE_INBOX, TRUE));
      g_ptr_array_add (folders, pb_folder_info_new ("Drafts", PB_FOLDER_ROLE_DRAFTS, TRUE));
      g_ptr_array_add (folders, pb_folder_info_new ("Sent", PB_FOLDER_ROLE_SENT, TRUE));
      g_ptr_array_add (folders, pb_folder_info_new ("Trash", PB_FOLDER_ROLE_TRASH, TRUE));
    }
  g_task_return_pointer (task, folders, (GDestroyNotify) g_ptr_array_unref);
}

static void
pb_pop3_store_list_folders_async (PbRemoteStore       *store,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);

  g_task_set_source_tag (task, pb_pop3_store_list_folders_async);
  g_task_run_in_thread (task, list_folders_thread);
}

/* The shared sync task; the local store is remembered too, because POP3 folders are local
 * and list_folders reads them from it. */
static GTask *
sync_task_new (PbRemoteStore       *store,
               PbStore             *local,
               PbSyncProgressFunc   progress,
               gpointer             progress_data,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  remember_store (PB_POP3_STORE (store), local);
  return pb_remote_store_sync_task_new (store, local, progress, progress_data, cancellable,
                                        callback, user_data);
}

static gboolean
sync_once (PbPop3Store   *self,
           PbRemoteSyncData      *data,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(PbPop3Client) client = NULL;
  PbPop3Policy policy = get_policy (self);
  gboolean ok;

  int lock;

  /* A watch and a sync of the same account, or two processes, would otherwise both download
   * what is new. */
  lock = session_begin (self, data->store, cancellable, error);
  if (lock < 0)
    return FALSE;
  client = open_session (self, cancellable, error);
  ok = client != NULL
       && pb_pop3_sync_account (client, data->store, self->account, &policy, data->progress,
                                data->progress_data, cancellable, error);
  g_clear_object (&client);
  session_end (self, lock);
  return ok;
}

static void
sync_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError *error = NULL;

  if (!sync_once (source_object, task_data, cancellable, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
pb_pop3_store_sync_async (PbRemoteStore       *store,
                          PbStore             *local,
                          PbSyncProgressFunc   progress,
                          gpointer             progress_data,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = sync_task_new (store, local, progress, progress_data, cancellable,
                                         callback, user_data);

  g_task_set_source_tag (task, pb_pop3_store_sync_async);
  g_task_run_in_thread (task, sync_thread);
}

/* Errors that waiting cannot fix: the user has to act. */
static gboolean
is_permanent (const GError *error)
{
  return g_error_matches (error, PB_POP3_ERROR, PB_POP3_ERROR_AUTHENTICATION_FAILED)
         || g_error_matches (error, PB_POP3_ERROR, PB_POP3_ERROR_STARTTLS_UNAVAILABLE)
         || g_error_matches (error, PB_POP3_ERROR, PB_POP3_ERROR_UNSUPPORTED)
         || g_error_matches (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE)
         || g_error_matches (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_STARTTLS_INJECTION)
         || error->domain == PB_CREDENTIALS_ERROR
         || error->domain == PB_STORE_ERROR;
}

static void
watch_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  PbPop3Store *self = source_object;
  const char *poll_env = g_getenv ("POSTBOTE_POP3_POLL");
  guint poll = poll_env ? (guint) CLAMP (g_ascii_strtoull (poll_env, NULL, 10), 1, 86400)
                        : POLL_SECONDS;
  guint backoff = 0;

  while (!g_cancellable_is_cancelled (cancellable))
    {
      g_autoptr(GError) error = NULL;
      guint wait;

      if (sync_once (self, task_data, cancellable, &error))
        {
          backoff = 0;
          wait = poll;
        }
      else
        {
          if (g_cancellable_is_cancelled (cancellable))
            break;
          if (is_permanent (error))
            {
              g_task_return_error (task, g_steal_pointer (&error));
              return;
            }
          /* Reconnect after 1, 2, 4 … seconds, at most 5 minutes apart. */
          backoff = backoff == 0 ? 1 : MIN (backoff * 2, 300);
          wait = backoff;
          g_message ("%s: %s; trying again in %u s", self->account, error->message, backoff);
        }
      for (guint i = 0; i < wait * 4 && !g_cancellable_is_cancelled (cancellable); i++)
        g_usleep (G_USEC_PER_SEC / 4);
    }
  g_task_return_boolean (task, TRUE);
}

static void
pb_pop3_store_watch_async (PbRemoteStore       *store,
                           PbStore             *local,
                           PbSyncProgressFunc   progress,
                           gpointer             progress_data,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = sync_task_new (store, local, progress, progress_data, cancellable,
                                         callback, user_data);

  g_task_set_source_tag (task, pb_pop3_store_watch_async);
  /* Cancelling is the normal way to stop watching: finish with success then. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, watch_thread);
}

typedef struct {
  PbStore      *store;
  char         *folder;
  guint32       uid;
  PbFolderRole  role;
  GBytes       *raw;
  guint         flags;
} MessageData;

static void
message_data_free (MessageData *data)
{
  g_object_unref (data->store);
  g_free (data->folder);
  g_clear_pointer (&data->raw, g_bytes_unref);
  g_free (data);
}

static void
fetch_body_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  PbPop3Store *self = source_object;
  MessageData *data = task_data;
  g_autoptr(PbPop3Client) client = NULL;
  GError *error = NULL;

  gboolean ok;

  int lock;

  lock = session_begin (self, data->store, cancellable, &error);
  if (lock < 0)
    {
      g_task_return_error (task, error);
      return;
    }
  client = open_session (self, cancellable, &error);
  ok = client != NULL
       && pb_pop3_sync_fetch_body (client, data->store, self->account, data->folder, data->uid,
                                   cancellable, &error);
  g_clear_object (&client);
  session_end (self, lock);
  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
pb_pop3_store_fetch_body_async (PbRemoteStore       *store,
                                PbStore             *local,
                                const char          *folder,
                                guint32              uid,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);
  MessageData *data = g_new0 (MessageData, 1);

  remember_store (PB_POP3_STORE (store), local);
  data->store = g_object_ref (local);
  data->folder = g_strdup (folder);
  data->uid = uid;
  g_task_set_source_tag (task, pb_pop3_store_fetch_body_async);
  g_task_set_task_data (task, data, (GDestroyNotify) message_data_free);
  g_task_run_in_thread (task, fetch_body_thread);
}

/* A POP3 account has no server folders: the copy of a sent message or a draft is stored
 * locally, durably, under a fresh local UID. */
static void
append_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  PbPop3Store *self = source_object;
  MessageData *data = task_data;
  g_autoptr(PbMessageSummary) summary = NULL;
  g_autoptr(GPtrArray) summaries = NULL;
  GError *error = NULL;
  gint64 folder_id;
  guint32 uid;

  folder_id = pb_pop3_sync_folder_by_role (data->store, self->account, data->role, &error);
  uid = folder_id != 0 ? pb_store_pop3_allocate_uid (data->store, folder_id, &error) : 0;
  if (uid == 0)
    {
      g_task_return_error (task, error);
      return;
    }
  summary = pb_store_parse_summary (data->raw);
  summary->uid = uid;
  summary->flags = data->flags;
  summary->internaldate = pb_pop3_sync_now ();
  summaries = g_ptr_array_new ();
  g_ptr_array_add (summaries, summary);
  if (!pb_store_add_messages (data->store, folder_id, summaries, &error)
      || !pb_store_set_body (data->store, folder_id, uid, data->raw, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_int (task, uid);
}

static void
pb_pop3_store_append_async (PbRemoteStore       *store,
                            PbStore             *local,
                            PbFolderRole         role,
                            GBytes              *raw,
                            guint                flags,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, cancellable, callback, user_data);
  MessageData *data = g_new0 (MessageData, 1);

  remember_store (PB_POP3_STORE (store), local);
  data->store = g_object_ref (local);
  data->role = role;
  data->raw = g_bytes_ref (raw);
  data->flags = flags;
  g_task_set_source_tag (task, pb_pop3_store_append_async);
  g_task_set_task_data (task, data, (GDestroyNotify) message_data_free);
  g_task_run_in_thread (task, append_thread);
}

void
pb_pop3_store_set_policy (PbPop3Store        *self,
                          const PbPop3Policy *policy)
{
  g_return_if_fail (PB_IS_POP3_STORE (self));
  g_return_if_fail (policy != NULL);

  g_mutex_lock (&self->lock);
  self->policy = *policy;
  g_mutex_unlock (&self->lock);
}

static void
remote_store_iface_init (PbRemoteStoreInterface *iface)
{
  iface->check_async = pb_pop3_store_check_async;
  iface->list_folders_async = pb_pop3_store_list_folders_async;
  iface->sync_async = pb_pop3_store_sync_async;
  iface->watch_async = pb_pop3_store_watch_async;
  iface->fetch_body_async = pb_pop3_store_fetch_body_async;
  iface->append_async = pb_pop3_store_append_async;
}

static void
pb_pop3_store_dispose (GObject *object)
{
  PbPop3Store *self = PB_POP3_STORE (object);

  g_clear_object (&self->service);
  g_clear_object (&self->credentials);

  G_OBJECT_CLASS (pb_pop3_store_parent_class)->dispose (object);
}

static void
pb_pop3_store_finalize (GObject *object)
{
  PbPop3Store *self = PB_POP3_STORE (object);

  g_free (self->account);
  g_weak_ref_clear (&self->local);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->session_lock);

  G_OBJECT_CLASS (pb_pop3_store_parent_class)->finalize (object);
}

static void
pb_pop3_store_class_init (PbPop3StoreClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pb_pop3_store_dispose;
  G_OBJECT_CLASS (klass)->finalize = pb_pop3_store_finalize;
}

static void
pb_pop3_store_init (PbPop3Store *self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->session_lock);
  g_weak_ref_init (&self->local, NULL);
  self->policy.leave_on_server = TRUE;
}

PbRemoteStore *
pb_pop3_store_new (const char    *account,
                   PbService     *service,
                   PbCredentials *credentials)
{
  PbPop3Store *self;

  g_return_val_if_fail (account != NULL, NULL);
  g_return_val_if_fail (PB_IS_SERVICE (service), NULL);
  g_return_val_if_fail (PB_IS_CREDENTIALS (credentials), NULL);

  self = g_object_new (PB_TYPE_POP3_STORE, NULL);
  self->account = g_strdup (account);
  self->service = g_object_ref (service);
  self->credentials = g_object_ref (credentials);
  return PB_REMOTE_STORE (self);
}
