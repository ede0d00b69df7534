/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "pb-command-credentials.h"
#include "pb-connection.h"
#include "pb-engine.h"
#include "pb-pop3-client.h"
#include "pb-pop3-store.h"
#include "pb-store-pop3.h"
#include "pb-test-util.h"

/*
 * PbPop3Client against a scripted server, for what a real one does not do: no STLS, data
 * injected after the STLS go-ahead, no UIDL, a UIDL listed twice, APOP, a connection closed
 * inside a message. The script is a list of "S: line" (sent) and "C: line" (expected from the
 * client, checked exactly) steps; everything the client sent is recorded.
 */

typedef struct {
  GSocketListener *listener;
  guint16          port;
  const char     **script;
  GString         *received;
  GThread         *thread;
  char            *mismatch;
} Scripted;

static gpointer
scripted_thread (gpointer data)
{
  Scripted *s = data;
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  GOutputStream *out;

  conn = g_socket_listener_accept (s->listener, NULL, NULL, NULL);
  if (conn == NULL)
    return NULL;
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  for (guint i = 0; s->script[i] != NULL; i++)
    {
      const char *step = s->script[i];

      if (g_str_has_prefix (step, "S: "))
        {
          if (!g_output_stream_write_all (out, step + 3, strlen (step + 3), NULL, NULL, NULL))
            break;
        }
      else if (g_str_has_prefix (step, "C: "))
        {
          g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, NULL);

          if (line == NULL)
            break;
          g_string_append_printf (s->received, "%s\n", line);
          if (strcmp (line, step + 3) != 0 && s->mismatch == NULL)
            s->mismatch = g_strdup_printf ("expected “%s”, got “%s”", step + 3, line);
        }
      else if (strcmp (step, "CLOSE") == 0)
        {
          /* The server goes away in the middle of a reply. */
          g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
          return NULL;
        }
    }
  /* Read what else comes (to record it), until the client closes. */
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
      if (line == NULL)
        break;
      g_string_append_printf (s->received, "%s\n", line);
    }
  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
  return NULL;
}

static Scripted *
scripted_start (const char **script)
{
  Scripted *s = g_new0 (Scripted, 1);

  s->listener = g_socket_listener_new ();
  s->port = g_socket_listener_add_any_inet_port (s->listener, NULL, NULL);
  g_assert_cmpuint (s->port, >, 0);
  s->script = script;
  s->received = g_string_new (NULL);
  s->thread = g_thread_new ("scripted-pop3", scripted_thread, s);
  return s;
}

static char *
scripted_finish (Scripted *s)
{
  char *received;

  g_thread_join (s->thread);
  g_socket_listener_close (s->listener);
  g_object_unref (s->listener);
  g_assert_null (s->mismatch);
  received = g_string_free (s->received, FALSE);
  g_free (s);
  return received;
}

static PbPop3Client *
client_for (Scripted   *s,
            const char *scheme)
{
  g_autofree char *url = g_strdup_printf ("%s://alice@127.0.0.1:%u", scheme, s->port);
  g_autoptr(PbService) service = pb_service_new_from_url (url, NULL);

  g_assert_nonnull (service);
  return pb_pop3_client_new (service);
}

static void
test_no_stls (void)
{
  const char *script[] = {
    "S: +OK hello\r\n",
    "C: CAPA",
    "S: +OK\r\nUSER\r\nUIDL\r\n.\r\n",
    NULL,
  };
  Scripted *s = scripted_start (script);
  g_autoptr(PbPop3Client) client = client_for (s, "pop3");
  g_autoptr(GError) error = NULL;
  g_autofree char *received = NULL;

  g_assert_false (pb_pop3_client_connect (client, NULL, &error));
  g_assert_error (error, PB_POP3_ERROR, PB_POP3_ERROR_STARTTLS_UNAVAILABLE);
  pb_pop3_client_close (client);
  received = scripted_finish (s);
  /* Nothing but CAPA went out: no user name, no password. */
  g_assert_cmpstr (received, ==, "CAPA\n");
}

static void
test_stls_injection (void)
{
  const char *script[] = {
    "S: +OK hello\r\n",
    "C: CAPA",
    "S: +OK\r\nSTLS\r\nUIDL\r\n.\r\n",
    "C: STLS",
    "S: +OK Begin TLS\r\n+OK injected before the handshake\r\n",
    NULL,
  };
  Scripted *s = scripted_start (script);
  g_autoptr(PbPop3Client) client = client_for (s, "pop3");
  g_autoptr(GError) error = NULL;
  g_autofree char *received = NULL;

  g_assert_false (pb_pop3_client_connect (client, NULL, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_STARTTLS_INJECTION);
  pb_pop3_client_close (client);
  received = scripted_finish (s);
  g_assert_cmpstr (received, ==, "CAPA\nSTLS\n");
}

/* Without encryption chosen by the user: USER/PASS, or APOP only when it is turned on. */
static void
login (gboolean    apop,
       const char *expected_login)
{
  const char *script[] = {
    "S: +OK ready <1896.697170952@dbc.mtview.ca.us>\r\n",
    "C: CAPA",
    "S: -ERR no CAPA here\r\n",
    NULL, NULL, NULL, NULL, NULL, NULL,
  };
  Scripted *s;
  g_autoptr(PbPop3Client) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *received = NULL;
  guint k = 3;

  if (apop)
    {
      script[k++] = expected_login;
      script[k++] = "S: +OK maildrop locked\r\n";
    }
  else
    {
      script[k++] = "C: USER alice";
      script[k++] = "S: +OK\r\n";
      script[k++] = expected_login;
      script[k++] = "S: +OK logged in\r\n";
    }
  script[k++] = "C: CAPA";
  script[k++] = "S: -ERR no\r\n";
  s = scripted_start (script);
  client = client_for (s, "pop3+insecure");
  pb_pop3_client_set_apop (client, apop);
  g_assert_true (pb_pop3_client_connect (client, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pb_pop3_client_authenticate (client, "tanstaaf", NULL, &error));
  g_assert_no_error (error);
  pb_pop3_client_close (client);
  received = scripted_finish (s);
}

static void
test_login_user_pass (void)
{
  login (FALSE, "C: PASS tanstaaf");
}

static void
test_login_apop (void)
{
  /* The example of RFC 1939 7. */
  login (TRUE, "C: APOP alice c4c9334bac560ecc979e58001b3e22fb");
}

static void
test_no_uidl (void)
{
  const char *script[] = {
    "S: +OK hello\r\n",
    "C: CAPA",
    "S: -ERR\r\n",
    "C: UIDL",
    "S: -ERR unknown command\r\n",
    NULL,
  };
  Scripted *s = scripted_start (script);
  g_autoptr(PbPop3Client) client = client_for (s, "pop3+insecure");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) messages = NULL;
  g_autofree char *received = NULL;

  g_assert_true (pb_pop3_client_connect (client, NULL, &error));
  messages = pb_pop3_client_list_messages (client, NULL, &error);
  g_assert_null (messages);
  g_assert_error (error, PB_POP3_ERROR, PB_POP3_ERROR_UNSUPPORTED);
  pb_pop3_client_close (client);
  received = scripted_finish (s);
}

typedef struct {
  GPtrArray *raws;
} Collect;

static gboolean
collect_cb (guint      index,
            GBytes    *raw,
            gpointer   user_data,
            GError   **error)
{
  g_ptr_array_add (((Collect *) user_data)->raws, g_bytes_ref (raw));
  return TRUE;
}

/* PIPELINING: UIDL and LIST in one write; RETRs in flight together; a UIDL listed twice is
 * used once; dot-stuffing is undone; a message cut by a closed connection is never handed
 * out. */
static void
test_pipelined_listing_and_cut (void)
{
  const char *script[] = {
    "S: +OK hello\r\n",
    "C: CAPA",
    "S: +OK\r\nPIPELINING\r\nUIDL\r\nTOP\r\n.\r\n",
    "C: UIDL",
    "C: LIST",
    "S: +OK\r\n1 aaa\r\n2 bbb\r\n3 aaa\r\n4 ccc\r\n.\r\n"
    "+OK\r\n1 10\r\n2 20\r\n3 30\r\n4 40\r\n.\r\n",
    "C: RETR 1",
    "C: TOP 2 0",
    "C: RETR 4",
    "S: +OK\r\nSubject: one\r\n\r\n..dot\r\n.\r\n+OK\r\nSubject: two\r\n\r\n.\r\n",
    "S: +OK\r\nSubject: four\r\n\r\nhalf a mess",
    "CLOSE",
    NULL,
  };
  Scripted *s = scripted_start (script);
  g_autoptr(PbPop3Client) client = client_for (s, "pop3+insecure");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) messages = NULL;
  g_autoptr(GPtrArray) raws = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autofree char *received = NULL;
  Collect collect = { raws };
  const guint numbers[] = { 1, 2, 4 };
  const gboolean headers[] = { FALSE, TRUE, FALSE };

  g_assert_true (pb_pop3_client_connect (client, NULL, &error));
  messages = pb_pop3_client_list_messages (client, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 3);
  g_assert_cmpstr (g_array_index (messages, PbPop3Message, 2).uidl, ==, "ccc");
  g_assert_cmpuint (g_array_index (messages, PbPop3Message, 2).number, ==, 4);
  g_assert_cmpuint (g_array_index (messages, PbPop3Message, 2).size, ==, 40);

  g_assert_false (pb_pop3_client_retrieve (client, numbers, headers, 3, collect_cb, &collect,
                                           NULL, &error));
  g_assert_nonnull (error);
  g_assert_cmpuint (raws->len, ==, 2);
  g_assert_cmpmem (g_bytes_get_data (g_ptr_array_index (raws, 0), NULL),
                   g_bytes_get_size (g_ptr_array_index (raws, 0)),
                   "Subject: one\r\n\r\n.dot\r\n", 22);
  pb_pop3_client_close (client);
  received = scripted_finish (s);
}

/* append stores locally: the copy of a sent message lands in the local Sent folder. */
static void
test_append_local (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pb-pop3-append-XXXXXX", NULL);
  g_autoptr(PbStore) store = pb_store_open (dir, NULL);
  g_autoptr(PbService) service = pb_service_new_from_url ("pop3s://alice@127.0.0.1:1", NULL);
  g_autoptr(PbCredentials) credentials = NULL;
  g_autoptr(PbRemoteStore) remote = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) raw = g_bytes_new_static ("From: a@b\r\nSubject: sent\r\n\r\nHi\r\n", 32);
  g_autoptr(GBytes) back = NULL;
  g_autoptr(GError) error = NULL;
  guint32 uid = 0, uid2 = 0;
  gint64 sent;

  g_assert_nonnull (store);
  credentials = pb_command_credentials_new ("false");
  remote = pb_pop3_store_new ("p", service, credentials);
  pb_remote_store_append_async (remote, store, PB_FOLDER_ROLE_SENT, raw, 1, NULL,
                                pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, 10000);
  g_assert_true (pb_remote_store_append_finish (remote, result, &uid, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  pb_remote_store_append_async (remote, store, PB_FOLDER_ROLE_SENT, raw, 1, NULL,
                                pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, 10000);
  g_assert_true (pb_remote_store_append_finish (remote, result, &uid2, &error));
  g_assert_cmpuint (uid, >, 0);
  g_assert_cmpuint (uid2, ==, uid + 1);

  sent = pb_store_lookup_folder (store, "p", "Sent", &error);
  g_assert_cmpint (sent, >, 0);
  back = pb_store_get_raw (store, sent, uid, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, raw));
  g_clear_object (&store);
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
    g_assert_cmpint (system (cmd), ==, 0);
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();
  g_test_add_func ("/pop3-client/no-stls", test_no_stls);
  g_test_add_func ("/pop3-client/stls-injection", test_stls_injection);
  g_test_add_func ("/pop3-client/login-user-pass", test_login_user_pass);
  g_test_add_func ("/pop3-client/login-apop", test_login_apop);
  g_test_add_func ("/pop3-client/no-uidl", test_no_uidl);
  g_test_add_func ("/pop3-client/pipelined-listing-and-cut", test_pipelined_listing_and_cut);
  g_test_add_func ("/pop3-client/append-local", test_append_local);
  return g_test_run ();
}
