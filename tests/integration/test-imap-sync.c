/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "pb-connection.h"
#include "pb-engine.h"
#include "pb-imap-sync.h"
#include "pb-operations.h"
#include "pb-store.h"
#include "pb-test-server.h"
#include "pb-test-util.h"

/*
 * IMAP folder sync against the harness's real Dovecot, through the engine as the app uses it
 * (PbRemoteStore sync into a PbStore). The server side is filled by writing Maildir files
 * (tests/integration/sync-mail.py seed), changed with doveadm, and read back by a second,
 * independent client (sync-mail.py dump: Python's imaplib over IMAPS). Each test compares
 * the whole store with that view: folders, UIDVALIDITY, UIDs, flags, and every body byte for
 * byte (as SHA-256). postbote-cli's own view (list, show --raw) is tested end to end in
 * test-cli-sync.sh.
 */

static PbTestServer *server;
static const char *passwords[] = { "alice", PB_TEST_PASSWORD, "bob", PB_TEST_PASSWORD2, NULL };

/* ---------------------------------------------------------------------------------------- */
/* The server side */

static char *
sync_mail_script (void)
{
  const char *srcdir = g_getenv ("PB_TEST_SRCDIR");

  g_assert_nonnull (srcdir);
  return g_build_filename (srcdir, "integration", "sync-mail.py", NULL);
}

/* Runs sync-mail.py with @args; returns its stdout. Fails the test if it fails. */
static char *
sync_mail (const char *first,
           ...)
{
  g_autofree char *script = sync_mail_script ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) "/usr/bin/python3");
  g_ptr_array_add (argv, script);
  va_start (ap, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  proc = g_subprocess_newv ((const char * const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (proc))
    g_error ("sync-mail.py %s failed: %s%s", first, out, err);
  return g_steal_pointer (&out);
}

static void
doveadm (const char *first,
         ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  va_list ap;

  va_start (ap, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  pb_test_server_doveadm (server, (const char * const *) argv->pdata, NULL, &error);
  g_assert_no_error (error);
}

typedef struct {
  char    *flags;   /* sorted, space-separated, without \Recent */
  guint64  size;
  char    *sha256;
} ServerMessage;

static void
server_message_free (gpointer data)
{
  ServerMessage *m = data;
  g_free (m->flags);
  g_free (m->sha256);
  g_free (m);
}

typedef struct {
  guint32     uidvalidity;
  GHashTable *messages;   /* uid -> ServerMessage */
} ServerFolder;

static void
server_folder_free (gpointer data)
{
  ServerFolder *f = data;
  g_hash_table_unref (f->messages);
  g_free (f);
}

/* What a second client sees now: folder path -> ServerFolder. */
static GHashTable *
server_dump (const char *user)
{
  g_autofree char *out = sync_mail ("dump", pb_test_server_get_dir (server), user, NULL);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  GHashTable *folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                               server_folder_free);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) f = g_strsplit (lines[i], "\t", -1);
      guint n = g_strv_length (f);
      ServerFolder *folder;

      if (n == 0)
        continue;
      folder = g_hash_table_lookup (folders, f[0]);
      if (folder == NULL)
        {
          folder = g_new0 (ServerFolder, 1);
          folder->messages = g_hash_table_new_full (NULL, NULL, NULL, server_message_free);
          g_hash_table_insert (folders, g_strdup (f[0]), folder);
        }
      if (n == 3 && g_str_has_prefix (f[1], "UIDVALIDITY="))
        folder->uidvalidity = g_ascii_strtoull (f[1] + strlen ("UIDVALIDITY="), NULL, 10);
      else if (n == 5)
        {
          ServerMessage *m = g_new0 (ServerMessage, 1);

          m->flags = g_strdup (f[2]);
          m->size = g_ascii_strtoull (f[3], NULL, 10);
          m->sha256 = g_strdup (f[4]);
          g_hash_table_insert (folder->messages,
                               GUINT_TO_POINTER (g_ascii_strtoull (f[1], NULL, 10)), m);
        }
      else
        g_error ("unexpected line from sync-mail.py dump: %s", lines[i]);
    }
  return folders;
}

static ServerMessage *
server_message (GHashTable *dump,
                const char *folder,
                guint32     uid)
{
  ServerFolder *f = g_hash_table_lookup (dump, folder);

  g_assert_nonnull (f);
  return g_hash_table_lookup (f->messages, GUINT_TO_POINTER (uid));
}

static guint
server_count (GHashTable *dump,
              const char *folder)
{
  ServerFolder *f = g_hash_table_lookup (dump, folder);

  g_assert_nonnull (f);
  return g_hash_table_size (f->messages);
}

/* The UIDs in @folder whose body has @sha256. */
static GArray *
server_find_sha (GHashTable *dump,
                 const char *folder,
                 const char *sha256)
{
  ServerFolder *f = g_hash_table_lookup (dump, folder);
  GArray *uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  GHashTableIter iter;
  gpointer key, value;

  g_assert_nonnull (f);
  g_hash_table_iter_init (&iter, f->messages);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_strcmp0 (((ServerMessage *) value)->sha256, sha256) == 0)
      {
        guint32 uid = GPOINTER_TO_UINT (key);
        g_array_append_val (uids, uid);
      }
  return uids;
}

/* ---------------------------------------------------------------------------------------- */
/* The client side */

static const char *
password_of (const char *user)
{
  for (guint i = 0; passwords[i] != NULL; i += 2)
    if (g_strcmp0 (passwords[i], user) == 0)
      return passwords[i + 1];
  g_assert_not_reached ();
}

/* An account named @user for @user on the imaps port, or on @port if not 0. */
static PbAccount *
make_account (const char *user,
              guint16     port)
{
  g_autofree char *url = g_strdup_printf ("imaps://%s@127.0.0.1:%u", user,
                                          port ? port
                                               : pb_test_server_get_port (server, "imaps"));
  g_autofree char *command = g_strdup_printf ("printf %%s %s", password_of (user));
  g_autofree char *email = g_strdup_printf ("%s@postbote.test", user);
  g_autoptr(GError) error = NULL;
  g_autoptr(PbService) service = pb_service_new_from_url (url, &error);
  PbAccount *account;

  g_assert_no_error (error);
  pb_service_set_ca_file (service, pb_test_server_get_ca_file (server));
  account = pb_account_new (user, email, service, NULL);
  pb_account_set_password_command (account, command);
  return account;
}

static PbStore *
open_store (char **out_dir)
{
  g_autoptr(GError) error = NULL;
  /* Below HOME, which tests/test-env.sh makes for this run and removes afterwards, so that a
   * failed test leaves nothing behind. */
  g_autofree char *dir = g_build_filename (g_get_home_dir (), "pbsync-XXXXXX", NULL);
  PbStore *store;

  g_assert_nonnull (g_mkdtemp (dir));
  store = pb_store_open (dir, &error);
  g_assert_no_error (error);
  if (out_dir != NULL)
    *out_dir = g_steal_pointer (&dir);
  return store;
}

static gboolean
sync_account (PbAccount  *account,
              PbStore    *store,
              GError    **error)
{
  PbRemoteStore *remote = pb_account_get_remote_store (account);
  g_autoptr(GAsyncResult) result = NULL;

  pb_remote_store_sync_async (remote, store, NULL, NULL, NULL, pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, 120000);
  return pb_remote_store_sync_finish (remote, result, error);
}

static void
sync_ok (PbAccount *account,
         PbStore   *store)
{
  g_autoptr(GError) error = NULL;

  sync_account (account, store, &error);
  g_assert_no_error (error);
}

static gint64
folder_id (PbStore    *store,
           const char *account,
           const char *path)
{
  g_autoptr(GError) error = NULL;
  gint64 id = pb_store_lookup_folder (store, account, path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, !=, 0);
  return id;
}

/* g_ptr_array_sort passes pointers to the elements. Byte order, as Python's sorted(). */
static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* The flags of a store row written as the dump writes them: sorted, space-separated. */
static char *
flags_text (PbMessageFlags  flags,
            const char     *keywords)
{
  g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) split = g_strsplit (keywords ? keywords : "", " ", -1);

  for (guint bit = 1; bit <= PB_MESSAGE_FLAG_NOTJUNK; bit <<= 1)
    if (flags & bit)
      g_ptr_array_add (words, g_strdup (pb_message_flag_to_keyword (bit)));
  for (guint i = 0; split[i] != NULL; i++)
    if (*split[i] != '\0')
      g_ptr_array_add (words, g_strdup (split[i]));
  g_ptr_array_sort (words, compare_strings);
  g_ptr_array_add (words, NULL);
  return g_strjoinv (" ", (char **) words->pdata);
}

static char *
local_flags (PbStore    *store,
             const char *account,
             const char *folder,
             guint32     uid)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbMessageSummary) m = pb_store_get_message (store, folder_id (store, account, folder),
                                                        uid, &error);

  g_assert_no_error (error);
  return flags_text (m->flags, m->keywords);
}

static guint
journal_length (PbStore    *store,
                const char *account)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = pb_store_journal_list (store, account, &error);

  g_assert_no_error (error);
  return entries->len;
}

static void
problem (GString    *problems,
         guint      *count,
         const char *format,
         ...) G_GNUC_PRINTF (3, 4);

static void
problem (GString    *problems,
         guint      *count,
         const char *format,
         ...)
{
  va_list ap;

  if ((*count)++ >= 25)
    return;
  va_start (ap, format);
  g_string_append_vprintf (problems, format, ap);
  va_end (ap);
  g_string_append_c (problems, '\n');
}

/*
 * The heart of every test: the store holds exactly what the server holds for @account's
 * @user, in every folder (or only @only, a NULL-terminated list): the folder exists, has the
 * server's UIDVALIDITY, the same UIDs with the same flags, no duplicates, and (with @bodies)
 * every body byte for byte. Lists every difference before failing.
 */
static void
assert_store_equals_server (PbStore            *store,
                            const char         *account,
                            GHashTable         *dump,
                            const char * const *only,
                            gboolean            bodies)
{
  g_autoptr(GString) problems = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) local_folders = pb_store_list_folders (store, account, &error);
  g_autoptr(GHashTable) local_paths = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer key, value;
  guint count = 0, compared = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < local_folders->len; i++)
    {
      PbFolderInfo *info = g_ptr_array_index (local_folders, i);
      if (pb_folder_info_get_selectable (info))
        g_hash_table_add (local_paths, (gpointer) pb_folder_info_get_path (info));
    }
  if (only == NULL)
    {
      g_hash_table_iter_init (&iter, local_paths);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (!g_hash_table_contains (dump, key))
          problem (problems, &count, "folder %s exists only locally", (char *) key);
    }

  g_hash_table_iter_init (&iter, dump);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *path = key;
      ServerFolder *sf = value;
      g_autoptr(GArray) uids = NULL;
      g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
      guint32 uidvalidity = 0, uidnext = 0;
      guint64 modseq = 0;
      guint total = 0, unread = 0, server_unread = 0;
      GHashTableIter miter;
      gpointer mkey, mvalue;
      gint64 id;

      if (only != NULL && !g_strv_contains (only, path))
        continue;
      if (!g_hash_table_contains (local_paths, path))
        {
          problem (problems, &count, "folder %s is missing locally", path);
          continue;
        }
      id = folder_id (store, account, path);
      g_assert_true (pb_store_get_folder_state (store, id, &uidvalidity, &uidnext, &modseq,
                                                &error));
      if (uidvalidity != sf->uidvalidity)
        problem (problems, &count, "%s: UIDVALIDITY %u locally, %u on the server", path,
                 uidvalidity, sf->uidvalidity);

      uids = pb_store_get_uid_flags (store, id, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < uids->len; i++)
        {
          PbUidFlags *l = &g_array_index (uids, PbUidFlags, i);
          ServerMessage *m = g_hash_table_lookup (sf->messages, GUINT_TO_POINTER (l->uid));
          g_autofree char *flags = flags_text (l->flags, l->keywords);

          if (!g_hash_table_add (seen, GUINT_TO_POINTER (l->uid)))
            problem (problems, &count, "%s UID %u: listed twice", path, l->uid);
          if (m == NULL)
            {
              problem (problems, &count, "%s UID %u: only local (flags %s)", path, l->uid, flags);
              continue;
            }
          if (g_strcmp0 (flags, m->flags) != 0)
            problem (problems, &count, "%s UID %u: flags “%s” locally, “%s” on the server", path,
                     l->uid, flags, m->flags);
          if (bodies)
            {
              g_autoptr(GBytes) raw = pb_store_get_raw (store, id, l->uid, &error);
              g_autofree char *sha = NULL;

              if (raw == NULL)
                {
                  problem (problems, &count, "%s UID %u: no body: %s", path, l->uid,
                           error->message);
                  g_clear_error (&error);
                  continue;
                }
              sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, raw);
              if (g_strcmp0 (sha, m->sha256) != 0)
                problem (problems, &count,
                         "%s UID %u: body of %" G_GSIZE_FORMAT " bytes differs from the "
                         "server's %" G_GUINT64_FORMAT, path, l->uid, g_bytes_get_size (raw),
                         m->size);
            }
          compared++;
        }
      g_hash_table_iter_init (&miter, sf->messages);
      while (g_hash_table_iter_next (&miter, &mkey, &mvalue))
        {
          if (!g_hash_table_contains (seen, mkey))
            problem (problems, &count, "%s UID %u: missing locally", path,
                     GPOINTER_TO_UINT (mkey));
          if (strstr (((ServerMessage *) mvalue)->flags, "\\Seen") == NULL)
            server_unread++;
        }

      /* The counts the folder list shows. */
      g_assert_true (pb_store_count_messages (store, id, &total, &unread, &error));
      if (total != g_hash_table_size (sf->messages) || unread != server_unread)
        problem (problems, &count, "%s: store counts %u messages, %u unread; server %u, %u",
                 path, total, unread, g_hash_table_size (sf->messages), server_unread);
    }

  if (count > 25)
    g_string_append_printf (problems, "... %u differences in all\n", count);
  if (problems->len > 0)
    g_test_message ("store and server differ:\n%s", problems->str);
  g_assert_cmpstr (problems->str, ==, "");
  g_test_message ("%s: %u messages equal%s", account, compared, bodies ? " byte for byte" : "");
}

static void
remove_tree (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = g_file_enumerate_children (
      file, G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE,
      G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  GFileInfo *info;

  while (children != NULL
         && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);
      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        remove_tree (child);
      else
        g_unlink (child);
      g_object_unref (info);
    }
  g_rmdir (path);
}

/* ---------------------------------------------------------------------------------------- */
/* Tests */

/* alice's 1,000 messages over five folders (a non-ASCII one among them), four of about 1 MB,
 * 8-bit and odd headers, CRLF and LF files; seeded once for the tests that read them. */
static GHashTable *
seed_thousand (void)
{
  static gboolean seeded;
  GHashTable *dump;

  if (!seeded)
    g_free (sync_mail ("seed", pb_test_server_get_dir (server), "alice", "INBOX=400",
                       "Archive=250", "Lists/gnome-devel=200", "Entw\xc3\xbcrfe & Notizen=100",
                       "Sent=50", "--big", "4", "--seed", "11", "--tag", "thousand", NULL));
  seeded = TRUE;
  dump = server_dump ("alice");
  g_assert_cmpuint (server_count (dump, "INBOX") + server_count (dump, "Archive")
                    + server_count (dump, "Lists/gnome-devel")
                    + server_count (dump, "Entw\xc3\xbcrfe & Notizen")
                    + server_count (dump, "Sent"), ==, 1000);
  return dump;
}

/* Every one of the 1,000 messages arrives byte for byte with its flags, and a second sync
 * without changes keeps it so. */
static void
test_thousand (void)
{
  g_autoptr(PbAccount) account = make_account ("alice", 0);
  g_autofree char *dir = NULL;
  g_autoptr(PbStore) store = open_store (&dir);
  g_autoptr(GHashTable) dump = seed_thousand ();
  gint64 start;

  start = g_get_monotonic_time ();
  sync_ok (account, store);
  g_test_message ("first sync of 1,000 messages: %.1f s",
                  (g_get_monotonic_time () - start) / 1e6);
  assert_store_equals_server (store, "alice", dump, NULL, TRUE);

  sync_ok (account, store);
  assert_store_equals_server (store, "alice", dump, NULL, TRUE);
  g_assert_cmpuint (journal_length (store, "alice"), ==, 0);
  remove_tree (dir);
}

/* The protocol trace (POSTBOTE_TRACE) while capture_compress is set: only the lines about
 * COMPRESS are kept. Everything else goes to GLib's default writer. */
static gint capture_compress;
static GMutex compress_mutex;
static GString *compress_lines;

static GLogWriterOutput
trace_writer (GLogLevelFlags   level,
              const GLogField *fields,
              gsize            n_fields,
              gpointer         user_data)
{
  const char *domain = NULL, *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
      domain = fields[i].value;
    else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
  if (g_strcmp0 (domain, "pb-trace") == 0)
    {
      if (g_atomic_int_get (&capture_compress) && message != NULL
          && (strstr (message, "COMPRESS") != NULL || strstr (message, "ompression") != NULL))
        {
          g_mutex_lock (&compress_mutex);
          g_string_append_printf (compress_lines, "%s\n", message);
          g_mutex_unlock (&compress_mutex);
        }
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* The same over COMPRESS=DEFLATE (which the engine skips on loopback unless told). */
static void
test_thousand_compressed (void)
{
  g_autoptr(PbAccount) account = make_account ("alice", 0);
  g_autofree char *dir = NULL;
  g_autoptr(PbStore) store = open_store (&dir);
  g_autoptr(GHashTable) dump = seed_thousand ();

  g_setenv ("POSTBOTE_IMAP_COMPRESS", "always", TRUE);
  g_setenv ("POSTBOTE_TRACE", "1", TRUE);
  g_atomic_int_set (&capture_compress, TRUE);
  sync_ok (account, store);
  g_atomic_int_set (&capture_compress, FALSE);
  g_unsetenv ("POSTBOTE_TRACE");
  g_unsetenv ("POSTBOTE_IMAP_COMPRESS");
  /* The trace proves that compression was on, so the comparison below tests it. */
  g_mutex_lock (&compress_mutex);
  g_assert_nonnull (strstr (compress_lines->str, "COMPRESS DEFLATE"));
  g_assert_nonnull (strstr (compress_lines->str, " OK "));
  g_mutex_unlock (&compress_mutex);
  assert_store_equals_server (store, "alice", dump, NULL, TRUE);
  remove_tree (dir);
}

/* Flags set and cleared on the server arrive (twice: the second round goes through the
 * state the first sync saved, CONDSTORE/QRESYNC), flags set locally reach the server, and a
 * local change merges with a different one made on the server meanwhile. */
static void
test_flags_both_ways (void)
{
  g_autoptr(PbAccount) account = make_account ("bob", 0);
  g_autofree char *dir = NULL;
  g_autoptr(PbStore) store = open_store (&dir);
  g_autoptr(GHashTable) dump = NULL;
  g_autoptr(GError) error = NULL;
  const char *only[] = { "Flags", NULL };
  const char *add2[] = { "seen", "Work", NULL };
  const char *remove2[] = { "flagged", NULL };
  const char *add3[] = { "$Junk", NULL };
  const char *remove3[] = { "NewKeyword", "$label1", "\\Seen", NULL };
  const char *add6[] = { "\\Seen", NULL };
  g_autofree char *flags = NULL;

  g_free (sync_mail ("seed", pb_test_server_get_dir (server), "bob", "Flags=30", "--seed", "21",
                     "--tag", "flags", NULL));
  sync_ok (account, store);
  assert_store_equals_server (store, "bob", server_dump ("bob"), only, TRUE);

  /* Server -> local. */
  doveadm ("flags", "add", "-u", "bob", "\\Flagged $label1 NewKeyword", "mailbox", "Flags",
           "uid", "1:10", NULL);
  doveadm ("flags", "remove", "-u", "bob", "\\Seen", "mailbox", "Flags", "uid", "5:15", NULL);
  doveadm ("flags", "replace", "-u", "bob", "\\Answered", "mailbox", "Flags", "uid", "20", NULL);
  doveadm ("flags", "add", "-u", "bob", "\\Deleted $Forwarded", "mailbox", "Flags", "uid", "25",
           NULL);
  sync_ok (account, store);
  dump = server_dump ("bob");
  g_assert_cmpstr (server_message (dump, "Flags", 20)->flags, ==, "\\Answered");
  assert_store_equals_server (store, "bob", dump, only, FALSE);

  doveadm ("flags", "remove", "-u", "bob", "\\Flagged NewKeyword", "mailbox", "Flags", "uid",
           "1:3", NULL);
  doveadm ("flags", "add", "-u", "bob", "\\Seen \\Draft", "mailbox", "Flags", "uid", "12", NULL);
  sync_ok (account, store);
  g_clear_pointer (&dump, g_hash_table_unref);
  dump = server_dump ("bob");
  assert_store_equals_server (store, "bob", dump, only, FALSE);

  /* Local -> server. */
  g_assert_true (pb_operations_set_flags (store, "bob", "Flags", 2, add2, remove2, &error));
  g_assert_no_error (error);
  g_assert_true (pb_operations_set_flags (store, "bob", "Flags", 3, add3, remove3, &error));
  g_assert_no_error (error);
  /* ...while the server gets another change to message 6. */
  g_assert_true (pb_operations_set_flags (store, "bob", "Flags", 6, add6, NULL, &error));
  g_assert_no_error (error);
  doveadm ("flags", "add", "-u", "bob", "\\Flagged", "mailbox", "Flags", "uid", "6", NULL);
  g_assert_cmpuint (journal_length (store, "bob"), ==, 3);
  sync_ok (account, store);
  g_assert_cmpuint (journal_length (store, "bob"), ==, 0);

  g_clear_pointer (&dump, g_hash_table_unref);
  dump = server_dump ("bob");
  flags = g_strdup (server_message (dump, "Flags", 2)->flags);
  g_assert_nonnull (strstr (flags, "\\Seen"));
  g_assert_nonnull (strstr (flags, "Work"));
  g_assert_null (strstr (flags, "\\Flagged"));
  g_clear_pointer (&flags, g_free);
  flags = g_strdup (server_message (dump, "Flags", 3)->flags);
  g_assert_nonnull (strstr (flags, "$Junk"));
  g_assert_null (strstr (flags, "NewKeyword"));
  g_assert_null (strstr (flags, "$label1"));
  g_assert_null (strstr (flags, "\\Seen"));
  g_clear_pointer (&flags, g_free);
  flags = g_strdup (server_message (dump, "Flags", 6)->flags);
  g_assert_nonnull (strstr (flags, "\\Seen"));
  g_assert_nonnull (strstr (flags, "\\Flagged"));
  assert_store_equals_server (store, "bob", dump, only, FALSE);
  remove_tree (dir);
}

/* Moves and expunges on the server are seen locally; local moves, deletes (to the Trash) and
 * deletes in the Trash (for good) reach the server. */
static void
test_move_delete_both_ways (void)
{
  g_autoptr(PbAccount) account = make_account ("bob", 0);
  g_autofree char *dir = NULL;
  g_autoptr(PbStore) store = open_store (&dir);
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GArray) found = NULL;
  g_autoptr(GError) error = NULL;
  const char *only[] = { "Moves", "Archive", "Trash", NULL };
  g_autofree char *sha6 = NULL;
  g_autofree char *sha7 = NULL;
  guint archive, trash;
  guint32 trash_uid;

  g_free (sync_mail ("seed", pb_test_server_get_dir (server), "bob", "Moves=20", "--seed", "31",
                     "--tag", "moves", NULL));
  sync_ok (account, store);
  before = server_dump ("bob");
  assert_store_equals_server (store, "bob", before, only, TRUE);
  archive = server_count (before, "Archive");
  trash = server_count (before, "Trash");

  /* Server -> local. */
  doveadm ("move", "-u", "bob", "Archive", "mailbox", "Moves", "uid", "1:3", NULL);
  doveadm ("expunge", "-u", "bob", "mailbox", "Moves", "uid", "4:5", NULL);
  sync_ok (account, store);
  after = server_dump ("bob");
  g_assert_cmpuint (server_count (after, "Moves"), ==, 15);
  g_assert_cmpuint (server_count (after, "Archive"), ==, archive + 3);
  assert_store_equals_server (store, "bob", after, only, TRUE);

  /* Local -> server: move 6 to Archive, delete 7 (to the Trash). */
  sha6 = g_strdup (server_message (before, "Moves", 6)->sha256);
  sha7 = g_strdup (server_message (before, "Moves", 7)->sha256);
  g_assert_true (pb_operations_move (store, "bob", "Moves", 6, "Archive", &error));
  g_assert_no_error (error);
  g_assert_true (pb_operations_delete (store, "bob", "Moves", 7, &error));
  g_assert_no_error (error);
  sync_ok (account, store);
  g_assert_cmpuint (journal_length (store, "bob"), ==, 0);
  g_clear_pointer (&after, g_hash_table_unref);
  after = server_dump ("bob");
  g_assert_null (server_message (after, "Moves", 6));
  g_assert_null (server_message (after, "Moves", 7));
  g_assert_cmpuint (server_count (after, "Moves"), ==, 13);
  found = server_find_sha (after, "Archive", sha6);
  g_assert_cmpuint (found->len, ==, 1);
  g_clear_pointer (&found, g_array_unref);
  found = server_find_sha (after, "Trash", sha7);
  g_assert_cmpuint (found->len, ==, 1);
  trash_uid = g_array_index (found, guint32, 0);
  g_assert_cmpuint (server_count (after, "Trash"), ==, trash + 1);
  assert_store_equals_server (store, "bob", after, only, TRUE);

  /* Deleting in the Trash is for good. */
  g_assert_true (pb_operations_delete (store, "bob", "Trash", trash_uid, &error));
  g_assert_no_error (error);
  sync_ok (account, store);
  g_clear_pointer (&after, g_hash_table_unref);
  after = server_dump ("bob");
  g_assert_null (server_message (after, "Trash", trash_uid));
  g_assert_cmpuint (server_count (after, "Trash"), ==, trash);
  assert_store_equals_server (store, "bob", after, only, TRUE);
  remove_tree (dir);
}

/* The server renumbers a folder (deleted and created again, with other messages under the
 * same UIDs): the local folder becomes the new content, a change the user made to the old
 * UID 1 is not applied to the new UID 1, and nothing is deleted on the server. A folder
 * deleted on the server disappears locally. */
static void
test_uidvalidity (void)
{
  g_autoptr(PbAccount) account = make_account ("bob", 0);
  g_autofree char *dir = NULL;
  g_autoptr(PbStore) store = open_store (&dir);
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) renumbered = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GError) error = NULL;
  const char *add[] = { "\\Flagged", "Stale", NULL };
  g_autofree char *path = g_strdup ("Renumbered");
  const char *only[] = { path, NULL };
  g_autofree char *uid1_flags = NULL;

  g_free (sync_mail ("seed", pb_test_server_get_dir (server), "bob", "Renumbered=15",
                     "Doomed=3", "--seed", "41", "--tag", "old", NULL));
  sync_ok (account, store);
  before = server_dump ("bob");
  assert_store_equals_server (store, "bob", before, only, TRUE);

  /* A local change to UID 1 that has not reached the server yet... */
  g_assert_true (pb_operations_set_flags (store, "bob", "Renumbered", 1, add, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (journal_length (store, "bob"), ==, 1);

  /* ...and the server makes a new folder of the same name, with 8 other messages. */
  doveadm ("mailbox", "delete", "-u", "bob", "Renumbered", NULL);
  /* A folder deleted for good on the server goes locally too (checked below with all
   * folders). */
  doveadm ("mailbox", "delete", "-u", "bob", "Doomed", NULL);
  doveadm ("mailbox", "create", "-u", "bob", "Renumbered", NULL);
  g_free (sync_mail ("seed", pb_test_server_get_dir (server), "bob", "Renumbered=8",
                     "--seed", "42", "--tag", "new", NULL));
  renumbered = server_dump ("bob");
  g_assert_cmpuint (((ServerFolder *) g_hash_table_lookup (renumbered, "Renumbered"))->uidvalidity,
                    !=,
                    ((ServerFolder *) g_hash_table_lookup (before, "Renumbered"))->uidvalidity);
  g_assert_cmpuint (server_count (renumbered, "Renumbered"), ==, 8);
  g_assert_cmpstr (server_message (renumbered, "Renumbered", 1)->sha256, !=,
                   server_message (before, "Renumbered", 1)->sha256);
  uid1_flags = g_strdup (server_message (renumbered, "Renumbered", 1)->flags);

  sync_ok (account, store);
  g_assert_cmpuint (journal_length (store, "bob"), ==, 0);
  after = server_dump ("bob");
  /* Nothing was deleted or changed on the server. */
  g_assert_cmpuint (server_count (after, "Renumbered"), ==, 8);
  g_assert_cmpstr (server_message (after, "Renumbered", 1)->flags, ==, uid1_flags);
  g_assert_null (strstr (server_message (after, "Renumbered", 1)->flags, "Stale"));
  assert_store_equals_server (store, "bob", after, only, TRUE);
  /* ...and every other folder is still in step. */
  assert_store_equals_server (store, "bob", after, NULL, FALSE);
  remove_tree (dir);
}

/* Changes made while the server cannot be reached wait in the journal, in order, and reach
 * the server with the next sync, merged with what changed there meanwhile. */
static void
test_offline_journal (void)
{
  g_autoptr(PbAccount) account = make_account ("bob", 0);
  g_autoptr(PbAccount) offline = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(PbStore) store = open_store (&dir);
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GArray) found = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) closed = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  const char *only[] = { "Offline", "Archive", "Trash", NULL };
  const char *add1[] = { "\\Flagged", "Offline", NULL };
  const char *remove2[] = { "\\Seen", NULL };
  const char *add2[] = { "\\Answered", NULL };
  const char *add5[] = { "\\Flagged", NULL };
  const char *add9[] = { "$Forwarded", NULL };
  g_autofree char *flags = NULL;
  guint archive, trash;

  g_free (sync_mail ("seed", pb_test_server_get_dir (server), "bob", "Offline=12", "--seed",
                     "51", "--tag", "offline", NULL));
  /* Known starting flags for the messages the test changes. */
  doveadm ("flags", "replace", "-u", "bob", "\\Seen", "mailbox", "Offline", "uid", "1:12", NULL);
  sync_ok (account, store);
  before = server_dump ("bob");
  assert_store_equals_server (store, "bob", before, only, TRUE);
  archive = server_count (before, "Archive");
  trash = server_count (before, "Trash");

  /* A port nobody listens on: bound, never listening. */
  closed = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (closed, address, FALSE, &error));
  bound = g_socket_get_local_address (closed, &error);
  g_assert_no_error (error);
  offline = make_account ("bob", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  g_assert_true (pb_operations_set_flags (store, "bob", "Offline", 1, add1, NULL, &error));
  g_assert_true (pb_operations_set_flags (store, "bob", "Offline", 2, add2, remove2, &error));
  g_assert_true (pb_operations_move (store, "bob", "Offline", 3, "Archive", &error));
  g_assert_true (pb_operations_delete (store, "bob", "Offline", 4, &error));
  /* Flagged, then moved: the copy in the Archive must carry the flag. */
  g_assert_true (pb_operations_set_flags (store, "bob", "Offline", 5, add5, NULL, &error));
  g_assert_true (pb_operations_move (store, "bob", "Offline", 5, "Archive", &error));
  /* Changed here, expunged on the server meanwhile: nothing to do, no error. */
  g_assert_true (pb_operations_set_flags (store, "bob", "Offline", 9, add9, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (journal_length (store, "bob"), ==, 7);

  /* The store shows the changes at once. */
  flags = local_flags (store, "bob", "Offline", 1);
  g_assert_cmpstr (flags, ==, "Offline \\Flagged \\Seen");
  g_clear_pointer (&flags, g_free);
  flags = local_flags (store, "bob", "Offline", 2);
  g_assert_cmpstr (flags, ==, "\\Answered");
  g_clear_pointer (&flags, g_free);
  g_assert_null (pb_store_get_message (store, folder_id (store, "bob", "Offline"), 3, &error));
  g_assert_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Offline: the sync fails as a connection failure (which the CLI reports as "saved") and
   * keeps every entry. */
  g_assert_false (sync_account (offline, store, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_UNREACHABLE);
  g_clear_error (&error);
  g_assert_cmpuint (journal_length (store, "bob"), ==, 7);

  /* Meanwhile on the server. */
  doveadm ("flags", "add", "-u", "bob", "\\Draft", "mailbox", "Offline", "uid", "1", NULL);
  doveadm ("expunge", "-u", "bob", "mailbox", "Offline", "uid", "9", NULL);

  sync_ok (account, store);
  g_assert_cmpuint (journal_length (store, "bob"), ==, 0);
  after = server_dump ("bob");
  g_assert_cmpstr (server_message (after, "Offline", 1)->flags, ==,
                   "Offline \\Draft \\Flagged \\Seen");
  g_assert_cmpstr (server_message (after, "Offline", 2)->flags, ==, "\\Answered");
  g_assert_null (server_message (after, "Offline", 3));
  g_assert_null (server_message (after, "Offline", 4));
  g_assert_null (server_message (after, "Offline", 5));
  g_assert_null (server_message (after, "Offline", 9));
  g_assert_cmpuint (server_count (after, "Offline"), ==, 8);
  g_assert_cmpuint (server_count (after, "Archive"), ==, archive + 2);
  g_assert_cmpuint (server_count (after, "Trash"), ==, trash + 1);
  found = server_find_sha (after, "Archive", server_message (before, "Offline", 3)->sha256);
  g_assert_cmpuint (found->len, ==, 1);
  g_clear_pointer (&found, g_array_unref);
  found = server_find_sha (after, "Archive", server_message (before, "Offline", 5)->sha256);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpstr (server_message (after, "Archive", g_array_index (found, guint32, 0))->flags,
                   ==, "\\Flagged \\Seen");
  g_clear_pointer (&found, g_array_unref);
  found = server_find_sha (after, "Trash", server_message (before, "Offline", 4)->sha256);
  g_assert_cmpuint (found->len, ==, 1);
  assert_store_equals_server (store, "bob", after, only, TRUE);
  remove_tree (dir);
}

/* A move the server refuses (the destination was deleted there meanwhile) is rolled back: the
 * message is back in its folder locally, as it still is on the server. */
static void
test_refused_move_rolls_back (void)
{
  g_autoptr(PbAccount) account = make_account ("bob", 0);
  g_autofree char *dir = NULL;
  g_autoptr(PbStore) store = open_store (&dir);
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GError) error = NULL;
  const char *only[] = { "Refused", NULL };
  GLogLevelFlags fatal;

  g_free (sync_mail ("seed", pb_test_server_get_dir (server), "bob", "Refused=5", "Gone=1",
                     "--seed", "61", "--tag", "refused", NULL));
  sync_ok (account, store);
  g_assert_true (pb_operations_move (store, "bob", "Refused", 2, "Gone", &error));
  g_assert_no_error (error);
  doveadm ("mailbox", "delete", "-u", "bob", "Gone", NULL);

  /* The refusal is not an error of the sync; the engine reports it as a warning (structured
   * logging, which g_test_expect_message() does not see), so warnings are not fatal here. */
  fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  sync_ok (account, store);
  g_log_set_always_fatal (fatal);
  /* Not just late: still there after one more sync. */
  sync_ok (account, store);
  g_assert_cmpuint (journal_length (store, "bob"), ==, 0);
  after = server_dump ("bob");
  g_assert_nonnull (server_message (after, "Refused", 2));
  assert_store_equals_server (store, "bob", after, only, TRUE);
  remove_tree (dir);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();
  compress_lines = g_string_new (NULL);
  g_log_set_writer_func (trace_writer, NULL, NULL);

  g_test_add_func ("/imap-sync/thousand", test_thousand);
  g_test_add_func ("/imap-sync/thousand-compressed", test_thousand_compressed);
  g_test_add_func ("/imap-sync/flags-both-ways", test_flags_both_ways);
  g_test_add_func ("/imap-sync/move-delete-both-ways", test_move_delete_both_ways);
  g_test_add_func ("/imap-sync/uidvalidity", test_uidvalidity);
  g_test_add_func ("/imap-sync/offline-journal", test_offline_journal);
  g_test_add_func ("/imap-sync/refused-move-rolls-back", test_refused_move_rolls_back);

  server = pb_test_server_start ("none");
  status = g_test_run ();
  pb_test_server_stop (server);
  return status;
}
