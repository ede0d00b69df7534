/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "pb-connection.h"
#include "pb-engine.h"
#include "pb-imap-client.h"
#include "pb-test-server.h"
#include "pb-test-util.h"

/* One real Dovecot for the whole file; each test makes its own accounts against it. */
static PbTestServer *server;

static PbAccount *
make_account (const char *scheme,
              const char *port_name,
              const char *user,
              const char *password_command,
              gboolean    trust_ca)
{
  g_autofree char *url = g_strdup_printf ("%s://%s@127.0.0.1:%u", scheme, user,
                                          pb_test_server_get_port (server, port_name));
  g_autoptr(GError) error = NULL;
  g_autoptr(PbService) service = pb_service_new_from_url (url, &error);
  PbAccount *account;

  g_assert_no_error (error);
  if (trust_ca)
    pb_service_set_ca_file (service, pb_test_server_get_ca_file (server));
  account = pb_account_new ("test", "alice@postbote.test", service, NULL);
  pb_account_set_password_command (account, password_command);
  return account;
}

static GPtrArray *
list_folders (PbAccount  *account,
              GError    **error)
{
  PbRemoteStore *store = pb_account_get_remote_store (account);
  g_autoptr(GAsyncResult) result = NULL;

  g_assert_nonnull (store);
  pb_remote_store_list_folders_async (store, NULL, pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, 30000);
  return pb_remote_store_list_folders_finish (store, result, error);
}

static gboolean
check (PbAccount  *account,
       GError    **error)
{
  PbRemoteStore *store = pb_account_get_remote_store (account);
  g_autoptr(GAsyncResult) result = NULL;

  pb_remote_store_check_async (store, NULL, pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, 30000);
  return pb_remote_store_check_finish (store, result, error);
}

static void
assert_special_folders (GPtrArray *folders)
{
  static const struct { const char *path; PbFolderRole role; } expected[] = {
    { "INBOX", PB_FOLDER_ROLE_INBOX },
    { "Drafts", PB_FOLDER_ROLE_DRAFTS },
    { "Sent", PB_FOLDER_ROLE_SENT },
    { "Archive", PB_FOLDER_ROLE_ARCHIVE },
    { "Junk", PB_FOLDER_ROLE_JUNK },
    { "Trash", PB_FOLDER_ROLE_TRASH },
  };

  g_assert_cmpuint (folders->len, >=, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      PbFolderInfo *folder = g_ptr_array_index (folders, i);
      g_assert_cmpstr (pb_folder_info_get_path (folder), ==, expected[i].path);
      g_assert_cmpint (pb_folder_info_get_role (folder), ==, expected[i].role);
      g_assert_true (pb_folder_info_get_selectable (folder));
    }
}

static void
test_imaps_list (void)
{
  g_autoptr(PbAccount) account = make_account ("imaps", "imaps", PB_TEST_USER,
                                               "printf %s " PB_TEST_PASSWORD, TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = list_folders (account, &error);

  g_assert_no_error (error);
  assert_special_folders (folders);
}

static void
test_starttls_list (void)
{
  g_autoptr(PbAccount) account = make_account ("imap", "imap", PB_TEST_USER,
                                               "printf %s " PB_TEST_PASSWORD, TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = list_folders (account, &error);

  g_assert_no_error (error);
  assert_special_folders (folders);
}

/* Capabilities learned before STARTTLS are forgotten: Dovecot says LOGINDISABLED in the
 * clear and AUTH=PLAIN only over TLS, so a client that kept the old list could not log in. */
static void
test_starttls_capabilities (void)
{
  g_autofree char *url = g_strdup_printf ("imap://%s@127.0.0.1:%u", PB_TEST_USER,
                                          pb_test_server_get_port (server, "imap"));
  g_autoptr(PbService) service = pb_service_new_from_url (url, NULL);
  g_autoptr(PbImapClient) client = NULL;
  g_autoptr(GError) error = NULL;

  pb_service_set_ca_file (service, pb_test_server_get_ca_file (server));
  client = pb_imap_client_new (service);
  g_assert_true (pb_imap_client_connect (client, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (pb_imap_client_has_capability (client, "LOGINDISABLED"));
  g_assert_false (pb_imap_client_has_capability (client, "STARTTLS"));
  g_assert_true (pb_imap_client_has_capability (client, "AUTH=PLAIN"));
  g_assert_true (pb_imap_client_authenticate (client, PB_TEST_PASSWORD, NULL, &error));
  g_assert_no_error (error);
  /* After login Dovecot announces the extensions sync will use. */
  g_assert_true (pb_imap_client_has_capability (client, "CONDSTORE"));
  g_assert_true (pb_imap_client_has_capability (client, "SPECIAL-USE"));
  pb_imap_client_logout (client, NULL);
}

static void
test_nested_and_international (void)
{
  const char *create[] = { "mailbox", "create", "-u", PB_TEST_USER2,
                           "Projects/Postbote", "Projects/Alpha", "Entw\xc3\xbcrfe alt",
                           "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", NULL };
  g_autoptr(PbAccount) account = make_account ("imaps", "imaps", PB_TEST_USER2,
                                               "printf %s " PB_TEST_PASSWORD2, TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GString) listing = g_string_new (NULL);

  g_assert_true (pb_test_server_doveadm (server, create, NULL, &error));
  g_assert_no_error (error);

  folders = list_folders (account, &error);
  g_assert_no_error (error);
  assert_special_folders (folders);
  for (guint i = 0; i < folders->len; i++)
    {
      PbFolderInfo *folder = g_ptr_array_index (folders, i);
      g_string_append_printf (listing, "%s|%u|%s\n", pb_folder_info_get_path (folder),
                              pb_folder_info_get_depth (folder), pb_folder_info_get_name (folder));
    }
  /* Non-ASCII names arrive in modified UTF-7 and are shown decoded; children follow parents. */
  g_assert_nonnull (strstr (listing->str, "Entw\xc3\xbcrfe alt|0|Entw\xc3\xbcrfe alt\n"));
  g_assert_nonnull (strstr (listing->str,
                            "Projects|0|Projects\nProjects/Alpha|1|Alpha\n"
                            "Projects/Postbote|1|Postbote\n"));
  g_assert_nonnull (strstr (listing->str, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e|0|"));
}

static void
test_wrong_password (void)
{
  g_autoptr(PbAccount) account = make_account ("imaps", "imaps", PB_TEST_USER,
                                               "printf %s wrong-password", TRUE);
  g_autoptr(GError) error = NULL;

  g_assert_false (check (account, &error));
  g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_AUTHENTICATION_FAILED);
  g_assert_nonnull (strstr (error->message, PB_TEST_USER));
  g_assert_null (strstr (error->message, "wrong-password"));
}

static void
test_untrusted_certificate (void)
{
  g_autoptr(PbAccount) account = make_account ("imaps", "imaps", PB_TEST_USER,
                                               "printf %s " PB_TEST_PASSWORD, FALSE);
  g_autoptr(GError) error = NULL;

  g_assert_false (check (account, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE);
}

static void
test_untrusted_certificate_starttls (void)
{
  g_autoptr(PbAccount) account = make_account ("imap", "imap", PB_TEST_USER,
                                               "printf %s " PB_TEST_PASSWORD, FALSE);
  g_autoptr(GError) error = NULL;

  g_assert_false (check (account, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE);
}

/* A certificate the user chose to trust is pinned by its SHA-256 and accepted without a CA. */
static void
test_pinned_certificate (void)
{
  g_autofree char *pem = g_build_filename (pb_test_server_get_dir (server), "cert.pem", NULL);
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(PbAccount) account = make_account ("imaps", "imaps", PB_TEST_USER,
                                               "printf %s " PB_TEST_PASSWORD, FALSE);
  g_autoptr(PbAccount) wrong = make_account ("imaps", "imaps", PB_TEST_USER,
                                             "printf %s " PB_TEST_PASSWORD, FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *digest = NULL;

  certificate = g_tls_certificate_new_from_file (pem, &error);
  g_assert_no_error (error);
  digest = pb_certificate_sha256 (certificate);
  g_assert_cmpuint (strlen (digest), ==, 64);

  pb_service_set_pinned_sha256 (pb_account_get_incoming (account), digest);
  g_assert_true (check (account, &error));
  g_assert_no_error (error);

  pb_service_set_pinned_sha256 (pb_account_get_incoming (wrong),
                                "0000000000000000000000000000000000000000000000000000000000000000");
  g_assert_false (check (wrong, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE);
}

static void
test_unreachable (void)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(PbService) service = NULL;
  g_autoptr(PbAccount) account = NULL;
  guint16 port;

  /* A port that was free a moment ago and is closed now: connection refused. */
  g_assert_true (g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error));
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_socket_listener_close (listener);

  url = g_strdup_printf ("imaps://alice@127.0.0.1:%u", port);
  service = pb_service_new_from_url (url, NULL);
  account = pb_account_new ("test", "alice@postbote.test", service, NULL);
  pb_account_set_password_command (account, "printf %s x");
  g_assert_false (check (account, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_UNREACHABLE);
}

static void
test_password_command_fails (void)
{
  g_autoptr(PbAccount) account = make_account ("imaps", "imaps", PB_TEST_USER,
                                               "echo 'gpg: decryption failed' >&2; exit 2", TRUE);
  g_autoptr(GError) error = NULL;

  g_assert_false (check (account, &error));
  g_assert_error (error, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_COMMAND);
  g_assert_nonnull (strstr (error->message, "decryption failed"));
}

/* The protocol trace shows the exchange but never the password, in any encoding. */
static GString *trace;

static GLogWriterOutput
capture_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  gboolean is_trace = FALSE;

  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0 && g_strcmp0 (fields[i].value, "pb-trace") == 0)
      is_trace = TRUE;
  if (!is_trace)
    return g_log_writer_default (level, fields, n_fields, NULL);

  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
      {
        g_mutex_lock (user_data);
        g_string_append_len (trace, fields[i].value,
                             fields[i].length < 0 ? (gssize) strlen (fields[i].value)
                                                  : fields[i].length);
        g_string_append_c (trace, '\n');
        g_mutex_unlock (user_data);
      }
  return G_LOG_WRITER_HANDLED;
}

static void
test_trace_redacts_password (void)
{
  g_autoptr(PbAccount) account = make_account ("imap", "imap", PB_TEST_USER,
                                               "printf %s " PB_TEST_PASSWORD, TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *encoded = NULL;
  static GMutex mutex;

  if (g_test_subprocess ())
    {
      trace = g_string_new (NULL);
      g_setenv ("POSTBOTE_TRACE", "1", TRUE);
      g_setenv ("G_MESSAGES_DEBUG", "pb-trace", TRUE);
      g_log_set_writer_func (capture_writer, &mutex, NULL);
      folders = list_folders (account, &error);
      g_assert_no_error (error);
      g_print ("%s", trace->str);
      return;
    }

  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  /* The exchange is there... */
  g_test_trap_assert_stdout ("*STARTTLS*");
  g_test_trap_assert_stdout ("*AUTHENTICATE PLAIN*");
  g_test_trap_assert_stdout ("*LIST*");
  /* ...the password is not, neither as text nor as the SASL PLAIN base64 blob. */
  g_test_trap_assert_stdout_unmatched ("*" PB_TEST_PASSWORD "*");
  plain = g_strdup_printf ("%c%s%c%s", 0, PB_TEST_USER, 0, PB_TEST_PASSWORD);
  encoded = g_base64_encode ((const guchar *) plain, 2 + strlen (PB_TEST_USER)
                                                     + strlen (PB_TEST_PASSWORD));
  {
    g_autofree char *pattern = g_strdup_printf ("*%s*", encoded);
    g_test_trap_assert_stdout_unmatched (pattern);
  }
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();

  g_test_add_func ("/imap/imaps-list", test_imaps_list);
  g_test_add_func ("/imap/starttls-list", test_starttls_list);
  g_test_add_func ("/imap/starttls-capabilities", test_starttls_capabilities);
  g_test_add_func ("/imap/nested-and-international", test_nested_and_international);
  g_test_add_func ("/imap/wrong-password", test_wrong_password);
  g_test_add_func ("/imap/untrusted-certificate", test_untrusted_certificate);
  g_test_add_func ("/imap/untrusted-certificate-starttls", test_untrusted_certificate_starttls);
  g_test_add_func ("/imap/pinned-certificate", test_pinned_certificate);
  g_test_add_func ("/imap/unreachable", test_unreachable);
  g_test_add_func ("/imap/password-command-fails", test_password_command_fails);
  g_test_add_func ("/imap/trace-redacts-password", test_trace_redacts_password);

  /* Subprocesses of g_test_trap_subprocess() re-run main(); they need a server too. */
  server = pb_test_server_start ("none");
  status = g_test_run ();
  pb_test_server_stop (server);
  return status;
}
