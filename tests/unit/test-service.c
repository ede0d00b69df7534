/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "pb-engine.h"

static void
test_service_urls (void)
{
  static const struct {
    const char *url;
    PbProtocol  protocol;
    PbSecurity  security;
    const char *host;
    guint16     port;
    const char *user;
    const char *canonical;
  } cases[] = {
    { "imaps://alice@mail.example.org", PB_PROTOCOL_IMAP, PB_SECURITY_TLS, "mail.example.org", 993,
      "alice", "imaps://alice@mail.example.org:993" },
    { "imap://alice@Example.ORG:1143", PB_PROTOCOL_IMAP, PB_SECURITY_STARTTLS, "example.org", 1143,
      "alice", "imap://alice@example.org:1143" },
    { "imap+insecure://bob@127.0.0.1", PB_PROTOCOL_IMAP, PB_SECURITY_NONE, "127.0.0.1", 143,
      "bob", "imap+insecure://bob@127.0.0.1:143" },
    { "pop3s://u@h", PB_PROTOCOL_POP3, PB_SECURITY_TLS, "h", 995, "u", "pop3s://u@h:995" },
    { "pop3://u@h", PB_PROTOCOL_POP3, PB_SECURITY_STARTTLS, "h", 110, "u", "pop3://u@h:110" },
    { "smtps://u@h", PB_PROTOCOL_SMTP, PB_SECURITY_TLS, "h", 465, "u", "smtps://u@h:465" },
    { "smtp://u@h", PB_PROTOCOL_SMTP, PB_SECURITY_STARTTLS, "h", 587, "u", "smtp://u@h:587" },
    /* A user name that is an address: the @ is percent-encoded in the URL. */
    { "imaps://alice%40example.org@imap.example.org:993/", PB_PROTOCOL_IMAP, PB_SECURITY_TLS,
      "imap.example.org", 993, "alice@example.org",
      "imaps://alice%40example.org@imap.example.org:993" },
    { "imaps://demo@[::1]:9993", PB_PROTOCOL_IMAP, PB_SECURITY_TLS, "::1", 9993, "demo",
      "imaps://demo@[::1]:9993" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PbService) service = pb_service_new_from_url (cases[i].url, &error);
      g_autofree char *url = NULL;
      g_autoptr(PbService) again = NULL;

      g_test_message ("%s", cases[i].url);
      g_assert_no_error (error);
      g_assert_nonnull (service);
      g_assert_cmpint (pb_service_get_protocol (service), ==, cases[i].protocol);
      g_assert_cmpint (pb_service_get_security (service), ==, cases[i].security);
      g_assert_cmpstr (pb_service_get_host (service), ==, cases[i].host);
      g_assert_cmpuint (pb_service_get_port (service), ==, cases[i].port);
      g_assert_cmpstr (pb_service_get_user (service), ==, cases[i].user);
      url = pb_service_to_url (service);
      g_assert_cmpstr (url, ==, cases[i].canonical);

      /* The canonical form reads back to the same service. */
      again = pb_service_new_from_url (url, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (pb_service_get_user (again), ==, cases[i].user);
      g_assert_cmpuint (pb_service_get_port (again), ==, cases[i].port);
    }
}

static void
test_service_invalid (void)
{
  static const char *invalid[] = {
    "",
    "imaps://",
    "imaps://mail.example.org",            /* no user */
    "imaps://alice:secret@example.org",    /* a password never goes into a URL */
    "http://alice@example.org",
    "imaps://alice@example.org:0",
    "imaps://alice@example.org:99999",
    "imaps://alice@example.org/INBOX",
    "imaps://alice@example.org?x=1",
    "imaps://alice@exa mple.org",
    "imaps://al%0Aice@example.org",        /* control characters in the user */
    "imaps://alice@exa%2Fmple.org",
    "not a url",
  };

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PbService) service = pb_service_new_from_url (invalid[i], &error);

      g_test_message ("%s", invalid[i]);
      g_assert_null (service);
      g_assert_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID);
    }
}

static void
test_account_names (void)
{
  g_assert_true (pb_account_name_is_valid ("work"));
  g_assert_true (pb_account_name_is_valid ("Work_2.old-one"));
  g_assert_false (pb_account_name_is_valid (""));
  g_assert_false (pb_account_name_is_valid ("-rf"));
  g_assert_false (pb_account_name_is_valid (".."));
  g_assert_false (pb_account_name_is_valid ("a/b"));
  g_assert_false (pb_account_name_is_valid ("a b"));
  g_assert_false (pb_account_name_is_valid ("Gesch\xc3\xa4""ft"));
  g_assert_true (pb_account_name_is_valid ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
  g_assert_false (pb_account_name_is_valid ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static int
compare_folders (gconstpointer a,
                 gconstpointer b)
{
  return pb_folder_info_compare (*(PbFolderInfo **) a, *(PbFolderInfo **) b);
}

static void
test_folder_order (void)
{
  const char *paths[] = { "Zeta", "Trash", "Projects/Postbote", "INBOX", "Projects", "Sent",
                          "Projects B", "Drafts", "Projects/Alpha", "archive-old" };
  const PbFolderRole roles[] = { PB_FOLDER_ROLE_NONE, PB_FOLDER_ROLE_TRASH, PB_FOLDER_ROLE_NONE,
                                 PB_FOLDER_ROLE_INBOX, PB_FOLDER_ROLE_NONE, PB_FOLDER_ROLE_SENT,
                                 PB_FOLDER_ROLE_NONE, PB_FOLDER_ROLE_DRAFTS, PB_FOLDER_ROLE_NONE,
                                 PB_FOLDER_ROLE_NONE };
  const char *expected[] = { "INBOX", "Drafts", "Sent", "Trash", "archive-old", "Projects",
                             "Projects/Alpha", "Projects/Postbote", "Projects B", "Zeta" };
  g_autoptr(GPtrArray) folders = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    g_ptr_array_add (folders, pb_folder_info_new (paths[i], roles[i], TRUE));
  g_ptr_array_sort (folders, compare_folders);

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpstr (pb_folder_info_get_path (g_ptr_array_index (folders, i)), ==, expected[i]);

  g_assert_cmpstr (pb_folder_info_get_name (g_ptr_array_index (folders, 7)), ==, "Postbote");
  g_assert_cmpuint (pb_folder_info_get_depth (g_ptr_array_index (folders, 7)), ==, 1);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();

  g_test_add_func ("/service/urls", test_service_urls);
  g_test_add_func ("/service/invalid", test_service_invalid);
  g_test_add_func ("/account/names", test_account_names);
  g_test_add_func ("/folder-info/order", test_folder_order);

  return g_test_run ();
}
