/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <sys/stat.h>

#include "pb-engine.h"

typedef struct {
  char *dir;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->dir = g_dir_make_tmp ("pb-accounts-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "accounts.ini", NULL);

  g_unlink (path);
  g_rmdir (fixture->dir);
  g_free (fixture->dir);
}

static PbAccount *
make_account (const char *name,
              const char *incoming_url,
              const char *outgoing_url)
{
  g_autoptr(PbService) incoming = pb_service_new_from_url (incoming_url, NULL);
  g_autoptr(PbService) outgoing = outgoing_url ? pb_service_new_from_url (outgoing_url, NULL) : NULL;
  g_autofree char *email = g_strdup_printf ("%s@example.org", name);

  g_assert_nonnull (incoming);
  return pb_account_new (name, email, incoming, outgoing);
}

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    user_data)
{
  guint *count = user_data;
  (*count)++;
}

static void
test_round_trip (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(PbAccountManager) manager = pb_account_manager_new (fixture->dir);
  g_autoptr(PbAccountManager) again = NULL;
  g_autoptr(PbAccount) work = make_account ("work", "imaps://alice@imap.example.org",
                                            "smtps://alice@smtp.example.org");
  g_autoptr(PbAccount) home = make_account ("home", "imap://bob@127.0.0.1:1143", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  GStatBuf st;
  PbAccount *loaded;
  guint changes = 0;

  g_signal_connect (manager, "items-changed", G_CALLBACK (items_changed_cb), &changes);
  g_assert_true (pb_account_manager_load (manager, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 0);

  pb_account_set_display_name (work, "Alice Liddell");
  pb_account_set_password_command (work, "pass show mail/work");
  pb_service_set_ca_file (pb_account_get_incoming (work), "/etc/ssl/work-ca.pem");
  pb_service_set_pinned_sha256 (pb_account_get_outgoing (work), "ab12");
  pb_account_set_outgoing_oauth (work, TRUE);

  g_assert_true (pb_account_manager_add (manager, work, &error));
  g_assert_no_error (error);
  g_assert_true (pb_account_manager_add (manager, home, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (changes, >=, 2);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 2);

  /* A second account of the same name is refused and changes nothing. */
  g_assert_false (pb_account_manager_add (manager, work, &error));
  g_assert_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_EXISTS);
  g_clear_error (&error);

  /* The file is private and never holds a password. */
  g_assert_cmpint (g_stat (pb_account_manager_get_path (manager), &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (pb_account_manager_get_path (manager), &contents, NULL, NULL));
  g_assert_null (strstr (contents, "password="));
  g_assert_nonnull (strstr (contents, "[Account work]"));

  again = pb_account_manager_new (fixture->dir);
  g_assert_true (pb_account_manager_load (again, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (again)), ==, 2);
  loaded = pb_account_manager_lookup (again, "work");
  g_assert_nonnull (loaded);
  g_assert_cmpstr (pb_account_get_email (loaded), ==, "work@example.org");
  g_assert_cmpstr (pb_account_get_display_name (loaded), ==, "Alice Liddell");
  g_assert_cmpstr (pb_account_get_password_command (loaded), ==, "pass show mail/work");
  g_assert_cmpstr (pb_service_get_ca_file (pb_account_get_incoming (loaded)), ==,
                   "/etc/ssl/work-ca.pem");
  g_assert_cmpstr (pb_service_get_pinned_sha256 (pb_account_get_outgoing (loaded)), ==, "ab12");
  g_assert_true (pb_account_get_outgoing_oauth (loaded));
  g_assert_cmpint (pb_service_get_security (pb_account_get_incoming (loaded)), ==, PB_SECURITY_TLS);
  loaded = pb_account_manager_lookup (again, "home");
  g_assert_nonnull (loaded);
  g_assert_null (pb_account_get_outgoing (loaded));
  g_assert_false (pb_account_get_outgoing_oauth (loaded));
  g_assert_cmpint (pb_service_get_security (pb_account_get_incoming (loaded)), ==,
                   PB_SECURITY_STARTTLS);
  g_assert_cmpuint (pb_service_get_port (pb_account_get_incoming (loaded)), ==, 1143);
  /* The account without a password command uses the keyring. */
  g_assert_true (g_type_is_a (G_OBJECT_TYPE (pb_account_get_credentials (loaded)),
                              g_type_from_name ("PbSecretCredentials")));

  g_assert_true (pb_account_manager_remove (again, "work", &error));
  g_assert_no_error (error);
  g_assert_false (pb_account_manager_remove (again, "work", &error));
  g_assert_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (pb_account_manager_load (manager, &error));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 1);
  g_assert_null (pb_account_manager_lookup (manager, "work"));
}

static void
test_invalid_file (Fixture       *fixture,
                   gconstpointer  data)
{
  static const char *bad[] = {
    "[Account work]\nincoming=imaps://a@b\n",                        /* no email */
    "[Account work]\nemail=a@b\n",                                   /* no incoming */
    "[Account work]\nemail=a@b\nincoming=smtps://a@b\n",             /* SMTP as incoming */
    "[Account work]\nemail=a@b\nincoming=imaps://a:pw@b\n",          /* password in URL */
    "[Account ../x]\nemail=a@b\nincoming=imaps://a@b\n",             /* unsafe name */
    "[Account work]\nemail=a@b\nincoming=imaps://a@b\noutgoing=imaps://a@b\n",
    "[Account work]\nemail=a@b\nincoming=imaps://a@b\noutgoing=smtps://a@b\n"
    "outgoing-auth=kerberos\n",                                     /* unknown login */
    "not a key file \x01\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(PbAccountManager) manager = pb_account_manager_new (fixture->dir);
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", bad[i]);
      g_assert_true (g_file_set_contents (pb_account_manager_get_path (manager), bad[i], -1, NULL));
      g_assert_false (pb_account_manager_load (manager, &error));
      g_assert_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID);
      /* The message names the file so the user can fix it. */
      g_assert_nonnull (strstr (error->message, "accounts.ini"));
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();

  g_test_add ("/account-manager/round-trip", Fixture, NULL, fixture_setup, test_round_trip,
              fixture_teardown);
  g_test_add ("/account-manager/invalid-file", Fixture, NULL, fixture_setup, test_invalid_file,
              fixture_teardown);

  return g_test_run ();
}
