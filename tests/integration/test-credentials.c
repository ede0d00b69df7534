/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "pb-command-credentials.h"
#include "pb-engine.h"
#include "pb-secret-credentials.h"
#include "pb-test-util.h"

/* These run against the real gnome-keyring that tests/test-env.sh starts on a private bus. */

static PbService *
service (const char *url)
{
  g_autoptr(GError) error = NULL;
  PbService *s = pb_service_new_from_url (url, &error);

  g_assert_no_error (error);
  return s;
}

static void
test_keyring_round_trip (void)
{
  g_autoptr(PbCredentials) work = pb_secret_credentials_new ("work");
  g_autoptr(PbCredentials) other = pb_secret_credentials_new ("other");
  g_autoptr(PbService) imap = service ("imaps://alice@mail.example.org");
  g_autoptr(PbService) smtp = service ("smtps://alice@mail.example.org");
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  char *password;

  /* Nothing stored yet: a clear "not found", not an empty password. */
  password = pb_credentials_lookup (work, imap, NULL, &error);
  g_assert_null (password);
  g_assert_error (error, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (pb_credentials_store (work, imap, "imap p\xc3\xa4ssword", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pb_credentials_store (work, smtp, "smtp password", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pb_credentials_store (other, imap, "other account", NULL, &error));
  g_assert_no_error (error);

  password = pb_credentials_lookup (work, imap, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (password, ==, "imap p\xc3\xa4ssword");
  pb_password_free (password);

  /* Same server and user, another protocol or account: separate secrets. */
  password = pb_credentials_lookup (work, smtp, NULL, &error);
  g_assert_cmpstr (password, ==, "smtp password");
  pb_password_free (password);
  password = pb_credentials_lookup (other, imap, NULL, &error);
  g_assert_cmpstr (password, ==, "other account");
  pb_password_free (password);

  /* The async form, as the UI uses it, returns the same. */
  pb_credentials_lookup_async (work, imap, NULL, pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, 10000);
  password = pb_credentials_lookup_finish (work, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (password, ==, "imap p\xc3\xa4ssword");
  pb_password_free (password);

  /* Overwriting replaces, clearing removes; clearing twice is fine. */
  g_assert_true (pb_credentials_store (work, imap, "new", NULL, &error));
  password = pb_credentials_lookup (work, imap, NULL, &error);
  g_assert_cmpstr (password, ==, "new");
  pb_password_free (password);
  g_assert_true (pb_credentials_clear (work, imap, NULL, &error));
  g_assert_true (pb_credentials_clear (work, imap, NULL, &error));
  g_assert_no_error (error);
  password = pb_credentials_lookup (work, imap, NULL, &error);
  g_assert_null (password);
  g_assert_error (error, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_NOT_FOUND);
  g_clear_error (&error);
  password = pb_credentials_lookup (other, imap, NULL, &error);
  g_assert_cmpstr (password, ==, "other account");
  pb_password_free (password);
}

static void
test_command (void)
{
  static const struct {
    const char *command;
    const char *password;      /* NULL: must fail */
    const char *in_message;    /* must appear in the error */
  } cases[] = {
    { "printf %s 'hunter2'", "hunter2", NULL },
    { "printf 'line one\\nline two\\n'", "line one", NULL },
    { "printf 'crlf\\r\\n'", "crlf", NULL },
    { "printf ''", NULL, "no password" },
    { "echo 'pass: gpg failed' >&2; exit 3", NULL, "gpg failed" },
    { "kill -9 $$", NULL, "signal 9" },
    { "/nonexistent/command", NULL, "127" },
    /* stdin is a closed pipe: a prompting command fails instead of hanging the app. */
    { "read -r x && printf %s \"$x\"", NULL, "exit status 1" },
  };
  g_autoptr(PbService) imap = service ("imaps://alice@mail.example.org");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PbCredentials) credentials = pb_command_credentials_new (cases[i].command);
      g_autoptr(GError) error = NULL;
      char *password = pb_credentials_lookup (credentials, imap, NULL, &error);

      g_test_message ("%s", cases[i].command);
      if (cases[i].password != NULL)
        {
          g_assert_no_error (error);
          g_assert_cmpstr (password, ==, cases[i].password);
        }
      else
        {
          g_assert_null (password);
          g_assert_error (error, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_COMMAND);
          g_assert_nonnull (strstr (error->message, cases[i].in_message));
        }
      pb_password_free (password);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();

  g_test_add_func ("/credentials/keyring", test_keyring_round_trip);
  g_test_add_func ("/credentials/command", test_command);

  return g_test_run ();
}
