/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-cli"

#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>

#include <gmime/gmime.h>
#include <glib-unix.h>
#include <signal.h>

#include "pb-cli-send.h"
#include "pb-connection.h"
#include "pb-engine.h"
#include "pb-operations.h"
#include "pb-store.h"

/*
 * postbote-cli: the engine without a window. It reads and writes the same configuration as the
 * app ($XDG_CONFIG_HOME/postbote), so what works here works there.
 *
 * Exit status: 0 success, 1 the operation failed, 2 the command line was wrong.
 */

enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

/* Longest password read from standard input; longer input is refused, not truncated. */
#define MAX_PASSWORD 4096

static int
fail (const char *format,
      ...) G_GNUC_PRINTF (1, 2);

static int
fail (const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  /* One line, always: a message from a server may carry newlines. */
  g_strdelimit (message, "\r\n", ' ');
  fprintf (stderr, "postbote-cli: %s\n", message);
  return EXIT_FAILED;
}

static int
usage_error (GOptionContext *context,
             const char     *format,
             ...) G_GNUC_PRINTF (2, 3);

static int
usage_error (GOptionContext *context,
             const char     *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  /* One line like every other error, with the way to more help at its end. */
  g_strdelimit (message, "\r\n", ' ');
  if (context != NULL && g_option_context_get_summary (context) != NULL)
    fprintf (stderr, _("postbote-cli: %s (see “postbote-cli %s --help”)\n"), message,
             g_option_context_get_summary (context));
  else
    fprintf (stderr, _("postbote-cli: %s (see “postbote-cli --help”)\n"), message);
  return EXIT_USAGE;
}

/* Runs the default main context until an async callback stored its result. */
static void
store_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static PbAccountManager *
load_accounts (GError **error)
{
  g_autoptr(PbAccountManager) manager = pb_account_manager_new (NULL);

  if (!pb_account_manager_load (manager, error))
    return NULL;
  return g_steal_pointer (&manager);
}

static char *
read_password_stdin (GError **error)
{
  g_autoptr(GString) buffer = g_string_new (NULL);
  int c;

  if (isatty (STDIN_FILENO))
    fprintf (stderr, _("Password: "));

  while ((c = getchar ()) != EOF && c != '\n')
    {
      if (buffer->len >= MAX_PASSWORD)
        {
          explicit_bzero (buffer->str, buffer->len);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("The password on standard input is longer than %d bytes"),
                       MAX_PASSWORD);
          return NULL;
        }
      g_string_append_c (buffer, c);
    }
  if (buffer->len > 0 && buffer->str[buffer->len - 1] == '\r')
    g_string_truncate (buffer, buffer->len - 1);
  if (buffer->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("No password on standard input"));
      return NULL;
    }
  {
    char *password = g_strndup (buffer->str, buffer->len);
    explicit_bzero (buffer->str, buffer->len);
    return password;
  }
}

static gboolean
check_account (PbAccount  *account,
               GError    **error)
{
  PbRemoteStore *store = pb_account_get_remote_store (account);
  g_autoptr(GAsyncResult) result = NULL;

  pb_remote_store_check_async (store, NULL, store_result_cb, &result);
  return pb_remote_store_check_finish (store, wait_for (&result), error);
}

static int
cmd_account_add (int    argc,
                 char **argv)
{
  g_autofree char *email = NULL;
  g_autofree char *display_name = NULL;
  g_autofree char *incoming_url = NULL;
  g_autofree char *outgoing_url = NULL;
  g_autofree char *password_command = NULL;
  g_autofree char *ca_file = NULL;
  gboolean password_stdin = FALSE;
  gboolean no_check = FALSE;
  int offline_days = 0;
  gboolean pop3_delete = FALSE;
  int pop3_delete_after_days = 0;
  gboolean pop3_delete_when_deleted = FALSE;
  g_autofree char *pop3_headers_only_over = NULL;
  gboolean pop3_apop = FALSE;
  gboolean oauth = FALSE;
  const GOptionEntry entries[] = {
    { "email", 0, 0, G_OPTION_ARG_STRING, &email, N_("The address you send from"), N_("ADDR") },
    { "name", 0, 0, G_OPTION_ARG_STRING, &display_name, N_("Your name as others see it"),
      N_("NAME") },
    { "incoming", 0, 0, G_OPTION_ARG_STRING, &incoming_url,
      N_("imaps://USER@HOST[:PORT] (TLS), imap://… (STARTTLS, required), "
         "imap+insecure://… (no encryption); pop3s://, pop3://, pop3+insecure:// likewise"),
      N_("URL") },
    { "outgoing", 0, 0, G_OPTION_ARG_STRING, &outgoing_url,
      N_("smtps://USER@HOST[:PORT] (TLS) or smtp://… (STARTTLS, required)"), N_("URL") },
    { "password-command", 0, 0, G_OPTION_ARG_STRING, &password_command,
      N_("A command that prints the password (run with /bin/sh)"), N_("CMD") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &password_stdin,
      N_("Read the password from standard input and keep it in the keyring"), NULL },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file,
      N_("An extra trusted CA certificate (PEM) for this account only"), N_("FILE") },
    { "no-check", 0, 0, G_OPTION_ARG_NONE, &no_check,
      N_("Save without connecting to the server first"), NULL },
    { "offline-days", 0, 0, G_OPTION_ARG_INT, &offline_days,
      N_("Keep bodies offline only for mail of the last N days (default: all)"), N_("N") },
    { "pop3-delete", 0, 0, G_OPTION_ARG_NONE, &pop3_delete,
      N_("POP3: delete messages from the server once downloaded (default: leave them there)"),
      NULL },
    { "pop3-delete-after-days", 0, 0, G_OPTION_ARG_INT, &pop3_delete_after_days,
      N_("POP3: delete messages from the server N days after their download"), N_("N") },
    { "pop3-delete-when-deleted", 0, 0, G_OPTION_ARG_NONE, &pop3_delete_when_deleted,
      N_("POP3: delete a message from the server when you delete it here"), NULL },
    { "pop3-headers-only-over", 0, 0, G_OPTION_ARG_STRING, &pop3_headers_only_over,
      N_("POP3: download only the header of messages larger than SIZE (e.g. 500K, 2M)"),
      N_("SIZE") },
    { "pop3-apop", 0, 0, G_OPTION_ARG_NONE, &pop3_apop,
      N_("POP3: log in with APOP where the server offers it"), NULL },
    { "oauth", 0, 0, G_OPTION_ARG_NONE, &oauth,
      N_("The password command prints an OAuth 2 access token: SMTP logs in with "
         "OAUTHBEARER or XOAUTH2"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("NAME — add an account"));
  g_autoptr(GError) error = NULL;
  g_autoptr(PbAccountManager) manager = NULL;
  g_autoptr(PbService) incoming = NULL;
  g_autoptr(PbService) outgoing = NULL;
  g_autoptr(PbAccount) account = NULL;
  g_autofree char *ca_path = NULL;
  const char *name;

  g_option_context_set_summary (context, "account add");
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, "%s", error->message);
  if (argc != 2)
    return usage_error (context, _("account add needs exactly one NAME"));
  name = argv[1];
  if (!pb_account_name_is_valid (name))
    return usage_error (context, _("“%s” is not a valid account name (letters, digits, “.”, "
                                   "“-” and “_”, at most 64)"), name);
  if (email == NULL || strchr (email, '@') == NULL)
    return usage_error (context, _("--email ADDR is required"));
  if (incoming_url == NULL)
    return usage_error (context, _("--incoming URL is required"));
  if (password_command != NULL && password_stdin)
    return usage_error (context, _("use either --password-command or --password-stdin"));
  if (password_command == NULL && !password_stdin)
    return usage_error (context, _("say where the password comes from: --password-command CMD "
                                   "or --password-stdin"));

  incoming = pb_service_new_from_url (incoming_url, &error);
  if (incoming == NULL)
    return usage_error (context, "--incoming: %s", error->message);
  if (!pb_service_is_incoming (incoming))
    return usage_error (context, _("--incoming must be an IMAP or POP3 server"));
  if (outgoing_url != NULL)
    {
      outgoing = pb_service_new_from_url (outgoing_url, &error);
      if (outgoing == NULL)
        return usage_error (context, "--outgoing: %s", error->message);
      if (pb_service_get_protocol (outgoing) != PB_PROTOCOL_SMTP)
        return usage_error (context, _("--outgoing must be an SMTP server"));
    }
  if (ca_file != NULL)
    {
      g_autoptr(GTlsCertificate) certificate = NULL;

      ca_path = g_canonicalize_filename (ca_file, NULL);
      certificate = g_tls_certificate_new_from_file (ca_path, &error);
      if (certificate == NULL)
        return fail (_("Cannot use %s as a CA certificate: %s"), ca_path, error->message);
      pb_service_set_ca_file (incoming, ca_path);
      if (outgoing != NULL)
        pb_service_set_ca_file (outgoing, ca_path);
    }

  manager = load_accounts (&error);
  if (manager == NULL)
    return fail ("%s", error->message);
  if (pb_account_manager_lookup (manager, name) != NULL)
    return fail (_("An account named “%s” exists already"), name);

  if (offline_days < 0)
    return usage_error (context, _("--offline-days must be 0 (all) or more"));
  account = pb_account_new (name, email, incoming, outgoing);
  pb_account_set_offline_days (account, offline_days);
  if (oauth && outgoing == NULL)
    return usage_error (context, _("--oauth needs an --outgoing server"));
  pb_account_set_outgoing_oauth (account, oauth);
  if (pop3_delete || pop3_delete_after_days != 0 || pop3_delete_when_deleted
      || pop3_headers_only_over != NULL || pop3_apop)
    {
      PbPop3Policy policy = *pb_account_get_pop3_policy (account);

      if (pb_service_get_protocol (incoming) != PB_PROTOCOL_POP3)
        return usage_error (context, _("the --pop3-… options need a POP3 --incoming server"));
      if (pop3_delete_after_days < 0)
        return usage_error (context, _("--pop3-delete-after-days must be 1 or more"));
      policy.leave_on_server = !pop3_delete;
      policy.delete_after_days = pop3_delete_after_days;
      policy.delete_when_deleted = pop3_delete_when_deleted;
      policy.apop = pop3_apop;
      if (pop3_headers_only_over != NULL)
        {
          char *end = NULL;
          guint64 size = g_ascii_strtoull (pop3_headers_only_over, &end, 10);

          if (end == pop3_headers_only_over)
            size = 0;
          else if (g_ascii_strcasecmp (end, "k") == 0)
            size *= 1024;
          else if (g_ascii_strcasecmp (end, "m") == 0)
            size *= 1024 * 1024;
          else if (*end != '\0')
            size = 0;
          if (size == 0)
            return usage_error (context, _("--pop3-headers-only-over needs a size such as "
                                           "500K or 2M"));
          policy.headers_only_over = size;
        }
      pb_account_set_pop3_policy (account, &policy);
    }
  pb_account_set_display_name (account, display_name);
  pb_account_set_password_command (account, password_command);

  if (password_stdin)
    {
      char *password = read_password_stdin (&error);
      gboolean stored;

      if (password == NULL)
        return fail ("%s", error->message);
      stored = pb_credentials_store (pb_account_get_credentials (account), incoming, password,
                                     NULL, &error)
               && (outgoing == NULL
                   || pb_credentials_store (pb_account_get_credentials (account), outgoing,
                                            password, NULL, &error));
      pb_password_free (password);
      if (!stored)
        return fail ("%s", error->message);
    }

  if (!no_check && !check_account (account, &error))
    {
      if (password_stdin)
        {
          pb_credentials_clear (pb_account_get_credentials (account), incoming, NULL, NULL);
          if (outgoing != NULL)
            pb_credentials_clear (pb_account_get_credentials (account), outgoing, NULL, NULL);
        }
      return fail (_("%s (the account was not saved)"), error->message);
    }

  if (!pb_account_manager_add (manager, account, &error))
    return fail ("%s", error->message);

  printf (_("Added account “%s”.\n"), name);
  return EXIT_OK;
}

static int
cmd_account_list (int    argc,
                  char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbAccountManager) manager = NULL;
  guint n;

  if (argc != 1)
    return usage_error (NULL, _("account list takes no arguments"));
  manager = load_accounts (&error);
  if (manager == NULL)
    return fail ("%s", error->message);

  n = g_list_model_get_n_items (G_LIST_MODEL (manager));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PbAccount) account = g_list_model_get_item (G_LIST_MODEL (manager), i);
      g_autofree char *incoming = pb_service_to_url (pb_account_get_incoming (account));
      g_autofree char *outgoing = pb_account_get_outgoing (account)
                                  ? pb_service_to_url (pb_account_get_outgoing (account))
                                  : g_strdup ("-");

      printf ("%s\t%s\t%s\t%s\n", pb_account_get_name (account), pb_account_get_email (account),
              incoming, outgoing);
    }
  return EXIT_OK;
}

static int
cmd_account_remove (int    argc,
                    char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbAccountManager) manager = NULL;
  g_autoptr(PbAccount) account = NULL;
  PbCredentials *credentials;

  if (argc != 2)
    return usage_error (NULL, _("account remove needs exactly one NAME"));
  manager = load_accounts (&error);
  if (manager == NULL)
    return fail ("%s", error->message);
  account = pb_account_manager_lookup (manager, argv[1]);
  if (account == NULL)
    return fail (_("There is no account named “%s”"), argv[1]);
  g_object_ref (account);

  if (!pb_account_manager_remove (manager, argv[1], &error))
    return fail ("%s", error->message);

  /* The keyring entries go too: a removed account leaves no password behind. */
  credentials = pb_account_get_credentials (account);
  if (!pb_credentials_clear (credentials, pb_account_get_incoming (account), NULL, &error)
      || (pb_account_get_outgoing (account) != NULL
          && !pb_credentials_clear (credentials, pb_account_get_outgoing (account), NULL,
                                    &error)))
    return fail (_("The account was removed, but its password could not be deleted from the "
                   "keyring: %s"), error->message);

  printf (_("Removed account “%s”.\n"), argv[1]);
  return EXIT_OK;
}

static int
cmd_folders (int    argc,
             char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbAccountManager) manager = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  PbRemoteStore *store;
  PbAccount *account;

  if (argc != 2)
    return usage_error (NULL, _("folders needs exactly one account NAME"));
  manager = load_accounts (&error);
  if (manager == NULL)
    return fail ("%s", error->message);
  account = pb_account_manager_lookup (manager, argv[1]);
  if (account == NULL)
    return fail (_("There is no account named “%s”"), argv[1]);

  store = pb_account_get_remote_store (account);
  pb_remote_store_list_folders_async (store, NULL, store_result_cb, &result);
  folders = pb_remote_store_list_folders_finish (store, wait_for (&result), &error);
  if (folders == NULL)
    return fail ("%s", error->message);

  for (guint i = 0; i < folders->len; i++)
    printf ("%s\n", pb_folder_info_get_path (g_ptr_array_index (folders, i)));
  return EXIT_OK;
}

/* The protocol trace goes to stderr as plain lines ("imap host C: …"), so that stdout stays
 * the command's output; everything else keeps GLib's usual handling. */
static GLogWriterOutput
trace_writer (GLogLevelFlags   level,
              const GLogField *fields,
              gsize            n_fields,
              gpointer         user_data)
{
  const char *domain = NULL;
  const char *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }
  if (g_strcmp0 (domain, "pb-trace") == 0 && message != NULL)
    {
      fprintf (stderr, "%s\n", message);
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

static PbStore *
open_store (GError **error)
{
  g_autofree char *dir = pb_default_data_dir ();

  return pb_store_open (dir, error);
}

/* Common start of the commands that take an account NAME. */
static PbAccount *
find_account (PbAccountManager *manager,
              const char       *name,
              GError          **error)
{
  PbAccount *account = pb_account_manager_lookup (manager, name);

  if (account == NULL)
    g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_NOT_FOUND,
                 _("There is no account named “%s”"), name);
  return account;
}

static GMutex progress_mutex;

static void
sync_progress_cb (const char *account,
                  const char *folder,
                  guint       done,
                  guint       total,
                  gpointer    user_data)
{
  /* Called from several sync threads at once. */
  g_mutex_lock (&progress_mutex);
  fprintf (stderr, "%s: %s: %u/%u\n", account, folder, done, total);
  g_mutex_unlock (&progress_mutex);
}

typedef struct {
  PbAccount    *account;
  GAsyncResult *result;
} SyncJob;

static gboolean
stop_watching_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_CONTINUE;
}

static int
cmd_sync (int    argc,
          char **argv)
{
  gboolean watch = FALSE;
  const GOptionEntry entries[] = {
    { "watch", 0, 0, G_OPTION_ARG_NONE, &watch,
      N_("Keep running: wait for new mail (IDLE) and sync it, until interrupted"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("[NAME…] — download mail"));
  g_autoptr(GError) error = NULL;
  g_autoptr(PbAccountManager) manager = NULL;
  g_autoptr(PbStore) store = NULL;
  g_autoptr(GArray) jobs = g_array_new (FALSE, TRUE, sizeof (SyncJob));
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  guint sigint = 0, sigterm = 0;
  int status = EXIT_OK;

  g_option_context_set_summary (context, "sync");
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, "%s", error->message);

  manager = load_accounts (&error);
  if (manager == NULL)
    return fail ("%s", error->message);
  store = open_store (&error);
  if (store == NULL)
    return fail ("%s", error->message);

  if (argc > 1)
    for (int i = 1; i < argc; i++)
      {
        SyncJob job = { find_account (manager, argv[i], &error), NULL };
        if (job.account == NULL)
          return fail ("%s", error->message);
        g_array_append_val (jobs, job);
      }
  else
    for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (manager)); i++)
      {
        g_autoptr(PbAccount) account = g_list_model_get_item (G_LIST_MODEL (manager), i);
        SyncJob job = { account, NULL };
        g_array_append_val (jobs, job);
      }

  if (watch)
    {
      /* Ctrl+C and SIGTERM end the watch cleanly: IDLE is left with DONE, state is saved. */
      sigint = g_unix_signal_add (SIGINT, stop_watching_cb, cancellable);
      sigterm = g_unix_signal_add (SIGTERM, stop_watching_cb, cancellable);
    }

  /* All accounts at once, each on its own worker thread. */
  for (guint i = 0; i < jobs->len; i++)
    {
      SyncJob *job = &g_array_index (jobs, SyncJob, i);
      PbRemoteStore *remote = pb_account_get_remote_store (job->account);

      if (remote == NULL)
        {
          status = fail (_("%s: this kind of account cannot be synced yet"),
                         pb_account_get_name (job->account));
          continue;
        }
      if (watch)
        pb_remote_store_watch_async (remote, store, sync_progress_cb, NULL, cancellable,
                                     store_result_cb, &job->result);
      else
        pb_remote_store_sync_async (remote, store, sync_progress_cb, NULL, cancellable,
                                    store_result_cb, &job->result);
    }
  for (guint i = 0; i < jobs->len; i++)
    {
      SyncJob *job = &g_array_index (jobs, SyncJob, i);
      PbRemoteStore *remote = pb_account_get_remote_store (job->account);
      g_autoptr(GError) job_error = NULL;
      gboolean ok;

      if (remote == NULL)
        continue;
      wait_for (&job->result);
      ok = watch ? pb_remote_store_watch_finish (remote, job->result, &job_error)
                 : pb_remote_store_sync_finish (remote, job->result, &job_error);
      if (!ok)
        status = fail ("%s: %s", pb_account_get_name (job->account), job_error->message);
      else if (!watch)
        fprintf (stderr, _("%s: synchronised\n"), pb_account_get_name (job->account));
      g_clear_object (&job->result);
    }
  if (sigint)
    g_source_remove (sigint);
  if (sigterm)
    g_source_remove (sigterm);
  return status;
}

static void
json_string (GString    *out,
             const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s ? s : ""; *p; p++)
    {
      switch (*p)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if ((guchar) *p < 0x20)
            g_string_append_printf (out, "\\u%04x", (guchar) *p);
          else
            g_string_append_c (out, *p);
        }
    }
  g_string_append_c (out, '"');
}

static char *
format_date (gint64 unix_time)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (unix_time);
  return dt ? g_date_time_format_iso8601 (dt) : g_strdup ("");
}

static char *
format_flags (PbMessageSummary *m,
              gboolean          json)
{
  g_autoptr(GString) out = g_string_new (json ? "[" : "");
  gboolean first = TRUE;

  for (guint bit = 1; bit <= PB_MESSAGE_FLAG_NOTJUNK; bit <<= 1)
    if (m->flags & bit)
      {
        const char *keyword = pb_message_flag_to_keyword (bit);
        if (!first)
          g_string_append (out, json ? "," : " ");
        if (json)
          json_string (out, keyword);
        else
          g_string_append (out, keyword);
        first = FALSE;
      }
  if (m->keywords != NULL)
    {
      g_auto(GStrv) words = g_strsplit (m->keywords, " ", -1);
      for (guint i = 0; words[i]; i++)
        {
          if (!*words[i])
            continue;
          if (!first)
            g_string_append (out, json ? "," : " ");
          if (json)
            json_string (out, words[i]);
          else
            g_string_append (out, words[i]);
          first = FALSE;
        }
    }
  if (json)
    g_string_append_c (out, ']');
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
print_summary (PbMessageSummary *m,
               gboolean          json,
               gboolean          with_location,
               gboolean          first)
{
  g_autofree char *date = format_date (m->date);
  g_autofree char *flags = format_flags (m, json);

  if (json)
    {
      g_autoptr(GString) out = g_string_new (first ? "  {" : ",\n  {");

      if (with_location)
        {
          g_string_append (out, "\"account\": ");
          json_string (out, m->account);
          g_string_append (out, ", \"folder\": ");
          json_string (out, m->folder_path);
          g_string_append (out, ", ");
        }
      g_string_append_printf (out, "\"uid\": %u, \"subject\": ", m->uid);
      json_string (out, m->subject);
      g_string_append (out, ", \"from\": ");
      json_string (out, m->from_addr);
      g_string_append (out, ", \"from_name\": ");
      json_string (out, m->from_name);
      g_string_append (out, ", \"date\": ");
      json_string (out, date);
      g_string_append_printf (out, ", \"flags\": %s, \"size\": %" G_GUINT64_FORMAT
                              ", \"message_id\": ", flags, m->size);
      json_string (out, m->message_id);
      g_string_append (out, "}");
      fputs (out->str, stdout);
      return;
    }
  if (with_location)
    printf ("%s\t%s\t", m->account, m->folder_path);
  printf ("%u\t%s\t%s\t%s\t%s\n", m->uid, date, m->from_addr ? m->from_addr : "",
          flags, m->subject ? m->subject : "");
}

/* The accounts, the store and FOLDER's id in ACCOUNT, for the commands that read one folder.
 * Every failure is a message for the user. */
static gboolean
open_folder (const char        *account,
             const char        *folder,
             PbAccountManager **out_manager,
             PbStore          **out_store,
             gint64            *out_folder_id,
             GError           **error)
{
  g_autoptr(PbAccountManager) manager = load_accounts (error);
  g_autoptr(PbStore) store = NULL;

  if (manager == NULL || find_account (manager, account, error) == NULL)
    return FALSE;
  store = open_store (error);
  if (store == NULL)
    return FALSE;
  *out_folder_id = pb_store_lookup_folder (store, account, folder, error);
  if (*out_folder_id == 0)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                     _("There is no folder “%s” (run a sync first?)"), folder);
      return FALSE;
    }
  *out_manager = g_steal_pointer (&manager);
  *out_store = g_steal_pointer (&store);
  return TRUE;
}

static int
cmd_list (int    argc,
          char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("NAME FOLDER — list messages"));
  g_autoptr(GError) error = NULL;
  g_autoptr(PbAccountManager) manager = NULL;
  g_autoptr(PbStore) store = NULL;
  gint64 folder_id;
  guint offset = 0;

  g_option_context_set_summary (context, "list");
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, "%s", error->message);
  if (argc != 3)
    return usage_error (context, _("list needs an account NAME and a FOLDER"));

  if (!open_folder (argv[1], argv[2], &manager, &store, &folder_id, &error))
    return fail ("%s", error->message);

  if (json)
    printf ("[\n");
  for (;;)
    {
      g_autoptr(GPtrArray) page = pb_store_list_messages (store, folder_id, offset, 1000, &error);

      if (page == NULL)
        return fail ("%s", error->message);
      for (guint i = 0; i < page->len; i++)
        print_summary (g_ptr_array_index (page, i), json, FALSE, offset + i == 0);
      offset += page->len;
      if (page->len < 1000)
        break;
    }
  if (json)
    printf ("%s]\n", offset ? "\n" : "");
  return EXIT_OK;
}

static gboolean
parse_uid (const char *text,
           guint32    *uid)
{
  guint64 n;

  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT32, &n, NULL))
    return FALSE;
  *uid = n;
  return TRUE;
}

/* Writes the readable text of a message: the main headers, then its text parts. HTML is not
 * rendered here; the app shows it safely. */
static void
print_readable (GBytes *raw)
{
  static const char *headers[] = { "From", "To", "Cc", "Date", "Subject" };
  /* GMime 3.2 has no g_autoptr support: plain references. */
  GMimeStream *stream = g_mime_stream_mem_new_with_buffer (g_bytes_get_data (raw, NULL),
                                                           g_bytes_get_size (raw));
  GMimeParser *parser = g_mime_parser_new_with_stream (stream);
  GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);
  GMimeObject *body;

  g_object_unref (parser);
  g_object_unref (stream);
  if (message == NULL)
    {
      fwrite (g_bytes_get_data (raw, NULL), 1, g_bytes_get_size (raw), stdout);
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      const char *value = g_mime_object_get_header (GMIME_OBJECT (message), headers[i]);
      g_autofree char *decoded = value ? g_mime_utils_header_decode_text (NULL, value) : NULL;
      if (decoded != NULL)
        printf ("%s: %s\n", headers[i], decoded);
    }
  printf ("\n");
  body = g_mime_message_get_body (message);
  while (body != NULL && GMIME_IS_MULTIPART (body))
    body = g_mime_multipart_get_count (GMIME_MULTIPART (body)) > 0
           ? g_mime_multipart_get_part (GMIME_MULTIPART (body), 0) : NULL;
  if (body != NULL && GMIME_IS_TEXT_PART (body))
    {
      g_autofree char *content = g_mime_text_part_get_text (GMIME_TEXT_PART (body));
      if (content != NULL)
        printf ("%s\n", content);
    }
  g_object_unref (message);
}

static int
cmd_show (int    argc,
          char **argv)
{
  gboolean raw = FALSE;
  const GOptionEntry entries[] = {
    { "raw", 0, 0, G_OPTION_ARG_NONE, &raw, N_("The message exactly as the server sent it"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("NAME FOLDER UID — show a message"));
  g_autoptr(GError) error = NULL;
  g_autoptr(PbAccountManager) manager = NULL;
  g_autoptr(PbStore) store = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gint64 folder_id;
  guint32 uid;

  g_option_context_set_summary (context, "show");
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, "%s", error->message);
  if (argc != 4 || !parse_uid (argv[3], &uid))
    return usage_error (context, _("show needs an account NAME, a FOLDER and a UID"));

  if (!open_folder (argv[1], argv[2], &manager, &store, &folder_id, &error))
    return fail ("%s", error->message);
  bytes = pb_store_get_raw (store, folder_id, uid, &error);
  if (bytes == NULL && g_error_matches (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND))
    {
      g_autoptr(PbMessageSummary) summary = pb_store_get_message (store, folder_id, uid, NULL);
      PbRemoteStore *remote = pb_account_get_remote_store (
        pb_account_manager_lookup (manager, argv[1]));

      /* Known but kept on the server (outside the offline window): fetch it now. */
      if (summary != NULL && !summary->has_body && remote != NULL)
        {
          g_autoptr(GAsyncResult) result = NULL;

          g_clear_error (&error);
          pb_remote_store_fetch_body_async (remote, store, argv[2], uid, NULL, store_result_cb,
                                            &result);
          if (!pb_remote_store_fetch_body_finish (remote, wait_for (&result), &error))
            return fail ("%s", error->message);
          bytes = pb_store_get_raw (store, folder_id, uid, &error);
        }
    }
  if (bytes == NULL)
    return fail ("%s", error->message);

  if (raw)
    fwrite (g_bytes_get_data (bytes, NULL), 1, g_bytes_get_size (bytes), stdout);
  else
    print_readable (bytes);
  return fflush (stdout) == 0 ? EXIT_OK : fail (_("Could not write the message"));
}

/* After a local change: try to send it to the server now. Offline is not a failure: the
 * journal keeps the change for the next sync. */
static int
push_changes (PbAccount *account,
              PbStore   *store)
{
  PbRemoteStore *remote = pb_account_get_remote_store (account);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  if (remote == NULL)
    return EXIT_OK;
  pb_remote_store_sync_async (remote, store, NULL, NULL, NULL, store_result_cb, &result);
  if (!pb_remote_store_sync_finish (remote, wait_for (&result), &error))
    {
      /* Only "cannot reach it now" waits for the next sync; a certificate or TLS problem
       * needs the user and is reported as a failure. */
      if (g_error_matches (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_UNREACHABLE)
          || g_error_matches (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_TIMEOUT)
          || g_error_matches (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CLOSED))
        {
          fprintf (stderr, _("postbote-cli: saved; the server is not reachable (%s), so the change "
                             "will be sent on the next sync\n"), error->message);
          return EXIT_OK;
        }
      return fail (_("saved locally, but the server sync failed: %s"), error->message);
    }
  return EXIT_OK;
}

static int
cmd_change (int    argc,
            char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbAccountManager) manager = NULL;
  g_autoptr(PbStore) store = NULL;
  const char *verb = argv[0];
  PbAccount *account;
  guint32 uid;
  gboolean ok;

  if (argc < 4 || !parse_uid (argv[3], &uid)
      || (strcmp (verb, "move") == 0 && argc != 5)
      || (strcmp (verb, "delete") == 0 && argc != 4)
      || (strcmp (verb, "flag") == 0 && argc < 5))
    return usage_error (NULL, _("usage: %s NAME FOLDER UID %s"), verb,
                        strcmp (verb, "move") == 0 ? "DEST"
                        : strcmp (verb, "flag") == 0 ? "+FLAG|-FLAG…" : "");

  manager = load_accounts (&error);
  if (manager == NULL || (account = find_account (manager, argv[1], &error)) == NULL)
    return fail ("%s", error->message);
  store = open_store (&error);
  if (store == NULL)
    return fail ("%s", error->message);

  if (strcmp (verb, "flag") == 0)
    {
      g_autoptr(GPtrArray) add = g_ptr_array_new ();
      g_autoptr(GPtrArray) remove = g_ptr_array_new ();

      for (int i = 4; i < argc; i++)
        {
          if ((argv[i][0] != '+' && argv[i][0] != '-') || argv[i][1] == '\0')
            return usage_error (NULL, _("flags are written +FLAG or -FLAG, not “%s”"), argv[i]);
          g_ptr_array_add (argv[i][0] == '+' ? add : remove, argv[i] + 1);
        }
      g_ptr_array_add (add, NULL);
      g_ptr_array_add (remove, NULL);
      ok = pb_operations_set_flags (store, argv[1], argv[2], uid,
                                    (const char * const *) add->pdata,
                                    (const char * const *) remove->pdata, &error);
    }
  else if (strcmp (verb, "move") == 0)
    ok = pb_operations_move (store, argv[1], argv[2], uid, argv[4], &error);
  else
    ok = pb_operations_delete (store, argv[1], argv[2], uid, &error);

  if (!ok)
    return fail ("%s", error->message);
  return push_changes (account, store);
}

/* Adds the server's matches among messages whose bodies are not stored (offline-days) to
 * @results, skipping those the local search found already. One account after the other:
 * search is interactive, and a slow server should not hide the others' errors. */
static gboolean
search_servers (PbStore    *store,
                const char *query,
                guint       limit,
                GPtrArray  *results,
                GError    **error)
{
  g_autoptr(PbAccountManager) manager = load_accounts (error);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);

  if (manager == NULL)
    return FALSE;
  for (guint i = 0; i < results->len; i++)
    g_hash_table_add (seen, &((PbMessageSummary *) g_ptr_array_index (results, i))->id);

  for (guint a = 0; a < g_list_model_get_n_items (G_LIST_MODEL (manager)); a++)
    {
      g_autoptr(PbAccount) account = g_list_model_get_item (G_LIST_MODEL (manager), a);
      PbRemoteStore *remote = pb_account_get_remote_store (account);
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GPtrArray) found = NULL;
      g_autoptr(GError) local_error = NULL;

      if (remote == NULL || results->len >= limit)
        continue;
      pb_remote_store_search_async (remote, store, query, limit - results->len, NULL,
                                    store_result_cb, &result);
      found = pb_remote_store_search_finish (remote, wait_for (&result), &local_error);
      if (found == NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ",
                                      pb_account_get_name (account));
          return FALSE;
        }
      for (guint i = 0; i < found->len && results->len < limit; i++)
        {
          PbMessageSummary *m = g_ptr_array_index (found, i);

          if (g_hash_table_contains (seen, &m->id))
            continue;
          g_ptr_array_index (found, i) = NULL;
          g_ptr_array_add (results, m);
          g_hash_table_add (seen, &m->id);
        }
    }
  return TRUE;
}

static int
cmd_search (int    argc,
            char **argv)
{
  gboolean json = FALSE;
  gboolean server = FALSE;
  int limit = 100;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, N_("At most N results (default 100)"), N_("N") },
    { "server", 0, 0, G_OPTION_ARG_NONE, &server,
      N_("Also ask the servers about mail whose text is not downloaded"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("QUERY — search every account"));
  g_autoptr(GError) error = NULL;
  g_autoptr(PbStore) store = NULL;
  g_autoptr(GPtrArray) results = NULL;

  g_option_context_set_summary (context, "search");
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, "%s", error->message);
  if (argc != 2 || limit <= 0)
    return usage_error (context, _("search needs one QUERY"));

  store = open_store (&error);
  if (store == NULL)
    return fail ("%s", error->message);
  results = pb_store_search (store, argv[1], limit, &error);
  if (results == NULL)
    return fail ("%s", error->message);
  if (server && !search_servers (store, argv[1], limit, results, &error))
    return fail ("%s", error->message);
  if (json)
    printf ("[\n");
  for (guint i = 0; i < results->len; i++)
    print_summary (g_ptr_array_index (results, i), json, TRUE, i == 0);
  if (json)
    printf ("%s]\n", results->len ? "\n" : "");
  return EXIT_OK;
}

static void
print_help (FILE *out)
{
  fprintf (out, "%s",
           _("Usage: postbote-cli [--trace] COMMAND [ARGS…]\n"
             "\n"
             "Commands:\n"
             "  account add NAME --email ADDR --incoming URL [--outgoing URL]\n"
             "              (--password-command CMD | --password-stdin) [--ca-file FILE]\n"
             "              [--name \"Your Name\"] [--offline-days N] [--no-check]\n"
             "  account list\n"
             "  account remove NAME\n"
             "  folders NAME            one folder per line, levels separated by “/”\n"
             "  sync [--watch] [NAME…]  download new mail and changes (all accounts at once);\n"
             "                          --watch keeps waiting for new mail until Ctrl+C\n"
             "  list NAME FOLDER [--json]\n"
             "  show NAME FOLDER UID [--raw]\n"
             "  flag NAME FOLDER UID +FLAG|-FLAG…   e.g. +seen -flagged +$Work\n"
             "  move NAME FOLDER UID DEST\n"
             "  delete NAME FOLDER UID  to the Trash; in the Trash, for good\n"
             "  search QUERY [--json] [--limit N] [--server]\n"
             "\n"
             "URLs: imaps://USER@HOST[:PORT] implicit TLS, imap://USER@HOST[:PORT] STARTTLS\n"
             "(required), smtps://… and smtp://… likewise; imap+insecure:// only when you\n"
             "really want no encryption.\n"
             "\n"
             "--trace prints the protocol exchange on stderr, with passwords hidden.\n"
             "Exit status: 0 success, 1 failure, 2 wrong usage.\n"));
  fprintf (out, "%s",
           _("\nPOP3: pop3s://USER@HOST[:PORT] (TLS) or pop3://… (STLS, required). Mail goes\n"
             "to local folders and stays on the server unless account add is given\n"
             "--pop3-delete, --pop3-delete-after-days N or --pop3-delete-when-deleted;\n"
             "--pop3-headers-only-over SIZE downloads only the header of larger messages\n"
             "(show fetches the rest); --pop3-apop allows APOP.\n"));
  pb_cli_send_print_help (out);
}

int
main (int    argc,
      char **argv)
{
  const char *localedir = g_getenv ("POSTBOTE_LOCALEDIR");
  int first = 1;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc > first && strcmp (argv[first], "--trace") == 0)
    {
      g_setenv ("POSTBOTE_TRACE", "1", TRUE);
      g_log_set_writer_func (trace_writer, NULL, NULL);
      first++;
    }

  if (argc <= first || strcmp (argv[first], "--help") == 0 || strcmp (argv[first], "-h") == 0)
    {
      print_help (argc <= first ? stderr : stdout);
      return argc <= first ? EXIT_USAGE : EXIT_OK;
    }
  if (strcmp (argv[first], "--version") == 0)
    {
      printf ("postbote-cli %s\n", PACKAGE_VERSION);
      return EXIT_OK;
    }

  pb_engine_init ();

  if (strcmp (argv[first], "account") == 0 && argc > first + 1)
    {
      const char *sub = argv[first + 1];
      int sub_argc = argc - first - 1;
      char **sub_argv = argv + first + 1;

      if (strcmp (sub, "add") == 0)
        return cmd_account_add (sub_argc, sub_argv);
      if (strcmp (sub, "list") == 0)
        return cmd_account_list (sub_argc, sub_argv);
      if (strcmp (sub, "remove") == 0)
        return cmd_account_remove (sub_argc, sub_argv);
    }
  else if (strcmp (argv[first], "folders") == 0)
    return cmd_folders (argc - first, argv + first);
  else if (strcmp (argv[first], "sync") == 0)
    return cmd_sync (argc - first, argv + first);
  else if (strcmp (argv[first], "list") == 0)
    return cmd_list (argc - first, argv + first);
  else if (strcmp (argv[first], "show") == 0)
    return cmd_show (argc - first, argv + first);
  else if (strcmp (argv[first], "search") == 0)
    return cmd_search (argc - first, argv + first);
  else if (strcmp (argv[first], "send") == 0)
    return pb_cli_send (argc - first, argv + first);
  else if (strcmp (argv[first], "outbox") == 0)
    return pb_cli_outbox (argc - first, argv + first);
  else if (strcmp (argv[first], "flag") == 0 || strcmp (argv[first], "move") == 0
           || strcmp (argv[first], "delete") == 0)
    return cmd_change (argc - first, argv + first);

  fprintf (stderr, _("postbote-cli: unknown command “%s”\n"), argv[first]);
  print_help (stderr);
  return EXIT_USAGE;
}
