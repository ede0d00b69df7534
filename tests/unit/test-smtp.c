/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "pb-connection.h"
#include "pb-engine.h"
#include "pb-sasl.h"
#include "pb-smtp-client.h"
#include "pb-smtp-reply.h"

/*
 * The SMTP reply parser byte by byte, the data preparation (CRLF, dot-stuffing), and the
 * client against small scripted servers that check what real servers cannot be made to do on
 * demand: command batching (PIPELINING), BDAT (CHUNKING), broken and hostile replies, a
 * connection lost after the final dot. The real server is the integration tests' job.
 */

/* ---- Reply parser ------------------------------------------------------------------------ */

/* Feeds @input in pieces of @step bytes; returns the replies as "code|enhanced|l1|l2…". */
static GPtrArray *
parse_all (const char  *input,
           gsize        length,
           gsize        step,
           GError     **error)
{
  g_autoptr(PbSmtpReplyParser) parser = pb_smtp_reply_parser_new ();
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  gsize offset = 0;

  while (offset < length)
    {
      gsize n = MIN (step, length - offset);
      gsize used = 0;

      while (used < n)
        {
          PbSmtpReply *reply = NULL;
          gssize k = pb_smtp_reply_parser_feed (parser, (const guint8 *) input + offset + used,
                                                n - used, &reply, error);
          if (k < 0)
            {
              g_ptr_array_unref (out);
              return NULL;
            }
          used += k;
          if (reply != NULL)
            {
              g_autofree char *lines = g_strjoinv ("|", reply->lines);
              g_ptr_array_add (out, g_strdup_printf ("%u|%s|%s", reply->code, reply->enhanced,
                                                     lines));
              pb_smtp_reply_free (reply);
            }
        }
      offset += n;
    }
  return out;
}

static void
test_reply_byte_by_byte (void)
{
  static const char input[] =
    "220 mx.example ESMTP ready\r\n"
    "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 CHUNKING\r\n"
    "550 5.1.1 <bob@example.org>: no such user\r\n"
    "451-4.3.0 try\r\n451 4.3.0 later\r\n"
    "354\r\n"
    "250 2.0.0\n"
    "530 5.7.0x not enhanced\r\n"
    "421 4.7.0 (closing)\r\n";
  static const char *expected[] = {
    "220||mx.example ESMTP ready",
    "250||mx.example|PIPELINING|SIZE 1000|CHUNKING",
    "550|5.1.1|5.1.1 <bob@example.org>: no such user",
    "451|4.3.0|4.3.0 try|4.3.0 later",
    "354||",
    "250|2.0.0|2.0.0",
    "530||5.7.0x not enhanced",
    "421|4.7.0|4.7.0 (closing)",
  };

  /* Every split point gives the same replies: the parser keeps no assumption about reads. */
  for (gsize step = 1; step <= sizeof input; step++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) replies = parse_all (input, sizeof input - 1, step, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (replies->len, ==, G_N_ELEMENTS (expected));
      for (guint i = 0; i < replies->len; i++)
        g_assert_cmpstr (g_ptr_array_index (replies, i), ==, expected[i]);
    }
}

static void
test_reply_errors (void)
{
  static const struct {
    const char *input;
    int code;
  } cases[] = {
    { "hello\r\n", PB_SMTP_ERROR_PROTOCOL },
    { "25\r\n", PB_SMTP_ERROR_PROTOCOL },
    { "650 out of range\r\n", PB_SMTP_ERROR_PROTOCOL },
    { "250x\r\n", PB_SMTP_ERROR_PROTOCOL },
    { "250-a\r\n251 b\r\n", PB_SMTP_ERROR_PROTOCOL },   /* code changes inside a reply */
    { "1250 a\r\n", PB_SMTP_ERROR_PROTOCOL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) replies = parse_all (cases[i].input, strlen (cases[i].input), 1,
                                                &error);
      g_assert_null (replies);
      g_assert_error (error, PB_SMTP_ERROR, cases[i].code);
    }
}

static void
test_reply_limits (void)
{
  g_autoptr(GString) line = g_string_new ("250 ");
  g_autoptr(GString) many = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) replies = NULL;

  /* An endless line fails once it passes the bound, without waiting for its end. */
  for (guint i = 0; i < PB_SMTP_REPLY_MAX_LINE; i++)
    g_string_append_c (line, 'x');
  replies = parse_all (line->str, line->len, 7, &error);
  g_assert_null (replies);
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_LIMIT);
  g_clear_error (&error);

  for (guint i = 0; i <= PB_SMTP_REPLY_MAX_LINES; i++)
    g_string_append (many, "250-x\r\n");
  g_string_append (many, "250 end\r\n");
  replies = parse_all (many->str, many->len, 64, &error);
  g_assert_null (replies);
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_LIMIT);
}

static void
test_reply_to_string (void)
{
  g_autoptr(GPtrArray) replies = NULL;
  static const char input[] = "550-5.7.1 first\x1b[31m\r\n550 5.7.1 second \xff\r\n";
  g_autoptr(PbSmtpReplyParser) parser = pb_smtp_reply_parser_new ();
  PbSmtpReply *reply = NULL;
  g_autofree char *text = NULL;

  g_assert_cmpint (pb_smtp_reply_parser_feed (parser, (const guint8 *) input, sizeof input - 1,
                                              &reply, NULL), ==, sizeof input - 1);
  g_assert_nonnull (reply);
  text = pb_smtp_reply_to_string (reply);
  /* Literal words, but no escape sequences and valid UTF-8. */
  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_null (strchr (text, '\x1b'));
  g_assert_true (g_str_has_prefix (text, "550 5.7.1 first"));
  g_assert_nonnull (strstr (text, "5.7.1 second"));
  pb_smtp_reply_free (reply);
}

/* ---- Data preparation -------------------------------------------------------------------- */

static void
test_prepare_data (void)
{
  static const struct {
    const char *in;
    const char *data;    /* dot-stuffed, for DATA */
    const char *bdat;    /* for BDAT */
  } cases[] = {
    { "a\nb", "a\r\nb\r\n.\r\n", "a\r\nb\r\n" },
    { "a\r\n.b\r\n..\r\n.", "a\r\n..b\r\n...\r\n..\r\n.\r\n", "a\r\n.b\r\n..\r\n.\r\n" },
    { ".\n", "..\r\n.\r\n", ".\r\n" },
    { "x\ry\r\n", "x\r\ny\r\n.\r\n", "x\r\ny\r\n" },
    { "", ".\r\n", "" },
    { "a.\r\n .b", "a.\r\n .b\r\n.\r\n", "a.\r\n .b\r\n" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) in = g_bytes_new_static (cases[i].in, strlen (cases[i].in));
      g_autoptr(GBytes) data = pb_smtp_prepare_data (in, TRUE, NULL);
      g_autoptr(GBytes) bdat = pb_smtp_prepare_data (in, FALSE, NULL);
      g_autofree char *d = g_strndup (g_bytes_get_data (data, NULL), g_bytes_get_size (data));
      g_autofree char *b = g_strndup (g_bytes_get_data (bdat, NULL), g_bytes_get_size (bdat));

      g_assert_cmpstr (d, ==, cases[i].data);
      g_assert_cmpstr (b, ==, cases[i].bdat);
    }
  {
    gboolean eight = FALSE;
    g_autoptr(GBytes) in = g_bytes_new_static ("Gr\xc3\xbc\xc3\x9f" "e\n", 8);
    g_autoptr(GBytes) out = pb_smtp_prepare_data (in, TRUE, &eight);
    g_assert_true (eight);
  }
}

static void
test_addresses (void)
{
  gboolean ascii = TRUE;

  g_assert_true (pb_smtp_address_is_valid ("bob@example.org", &ascii));
  g_assert_true (ascii);
  g_assert_true (pb_smtp_address_is_valid ("j\xc3\xb6rg@b\xc3\xbc" "cher.de", &ascii));
  g_assert_false (ascii);
  g_assert_false (pb_smtp_address_is_valid ("", NULL));
  g_assert_false (pb_smtp_address_is_valid ("a@b\r\nRCPT TO:<evil@x>", NULL));
  g_assert_false (pb_smtp_address_is_valid ("a@b\n", NULL));
  g_assert_false (pb_smtp_address_is_valid ("a@b\r", NULL));
  g_assert_false (pb_smtp_address_is_valid ("a b@c", NULL));
  g_assert_false (pb_smtp_address_is_valid ("a>@c", NULL));
  g_assert_false (pb_smtp_address_is_valid ("\xff@c", NULL));
}

static void
test_sasl (void)
{
  g_autofree char *login = pb_sasl_login_response ("alice");
  g_autofree char *xoauth2 = pb_sasl_xoauth2_response ("a@b.c", "tok");
  g_autofree char *bearer = pb_sasl_oauthbearer_response ("a,=b@c", "smtp.x", 465, "tok");
  g_autofree guchar *x = NULL;
  g_autofree guchar *o = NULL;
  gsize len;

  g_assert_cmpstr (login, ==, "YWxpY2U=");
  x = g_base64_decode (xoauth2, &len);
  {
    static const char want[] = "user=a@b.c\001auth=Bearer tok\001\001";
    g_assert_cmpmem (x, len, want, sizeof want - 1);
  }
  o = g_base64_decode (bearer, &len);
  {
    static const char want[] =
      "n,a=a=2C=3Db@c,\001host=smtp.x\001port=465\001auth=Bearer tok\001\001";
    g_assert_cmpmem (o, len, want, sizeof want - 1);
  }
  g_assert_null (pb_sasl_xoauth2_response ("a", "t\001ok"));
}

/* ---- Scripted servers -------------------------------------------------------------------- */

/*
 * A script is a list of steps, run in order on one connection:
 *   "C:PREFIX"  read the next line from the client; it must start with PREFIX
 *   "S:TEXT"    send TEXT (CRLF is added; "\n" inside makes several lines in one write)
 *   "DATA"      read the message up to the final dot line, into server->data (as on the wire)
 *   "BDAT"      read as many bytes as the last BDAT command announced, into server->data
 *   "CLOSE"     close the connection
 * The server replies only when the script says so, so a client that waits for a reply the
 * script has not sent yet (no pipelining) hangs until the server's 3 s timeout: it fails.
 */
typedef struct {
  const char * const *script;
  GSocketListener    *listener;
  guint16             port;
  GThread            *thread;
  GString            *received;   /* every byte the client sent */
  GString            *data;
  char               *failure;
} Server;

static gboolean
server_read_line (GSocket  *socket,
                  GString  *buffer,
                  GString  *received,
                  char    **line)
{
  for (;;)
    {
      char *eol = memchr (buffer->str, '\n', buffer->len);
      char chunk[4096];
      gssize n;

      if (eol != NULL)
        {
          gsize len = eol - buffer->str + 1;
          *line = g_strndup (buffer->str, len);
          g_string_erase (buffer, 0, len);
          return TRUE;
        }
      n = g_socket_receive (socket, chunk, sizeof chunk, NULL, NULL);
      if (n <= 0)
        return FALSE;
      g_string_append_len (buffer, chunk, n);
      g_string_append_len (received, chunk, n);
    }
}

static gpointer
server_thread (gpointer user_data)
{
  Server *server = user_data;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GString) buffer = g_string_new (NULL);
  GSocket *socket;
  gsize bdat_size = 0;

  connection = g_socket_listener_accept (server->listener, NULL, NULL, NULL);
  if (connection == NULL)
    {
      server->failure = g_strdup ("no connection");
      return NULL;
    }
  socket = g_socket_connection_get_socket (connection);
  g_socket_set_timeout (socket, 3);
  for (guint i = 0; server->script[i] != NULL && server->failure == NULL; i++)
    {
      const char *step = server->script[i];

      if (g_str_has_prefix (step, "C:"))
        {
          g_autofree char *line = NULL;

          if (!server_read_line (socket, buffer, server->received, &line))
            server->failure = g_strdup_printf ("step %u: expected %s, got nothing", i, step);
          else if (!g_str_has_prefix (line, step + 2))
            server->failure = g_strdup_printf ("step %u: expected %s, got %s", i, step, line);
          else if (g_str_has_prefix (line, "BDAT "))
            bdat_size = g_ascii_strtoull (line + 5, NULL, 10);
        }
      else if (g_str_has_prefix (step, "S:"))
        {
          g_auto(GStrv) lines = g_strsplit (step + 2, "\n", -1);
          g_autofree char *joined = g_strjoinv ("\r\n", lines);
          g_autofree char *out = g_strconcat (joined, "\r\n", NULL);

          for (gsize done = 0, len = strlen (out); done < len;)
            {
              gssize n = g_socket_send (socket, out + done, len - done, NULL, NULL);
              if (n <= 0)
                break;
              done += n;
            }
        }
      else if (g_str_equal (step, "DATA"))
        {
          for (;;)
            {
              g_autofree char *line = NULL;

              if (!server_read_line (socket, buffer, server->received, &line))
                {
                  server->failure = g_strdup ("message ended without the final dot");
                  break;
                }
              if (g_str_equal (line, ".\r\n"))
                break;
              g_string_append (server->data, line);
            }
        }
      else if (g_str_equal (step, "BDAT"))
        {
          while (buffer->len < bdat_size)
            {
              char chunk[4096];
              gssize n = g_socket_receive (socket, chunk, sizeof chunk, NULL, NULL);

              if (n <= 0)
                break;
              g_string_append_len (buffer, chunk, n);
              g_string_append_len (server->received, chunk, n);
            }
          if (buffer->len < bdat_size)
            server->failure = g_strdup ("BDAT data cut short");
          else
            {
              g_string_append_len (server->data, buffer->str, bdat_size);
              g_string_erase (buffer, 0, bdat_size);
            }
        }
      else if (g_str_equal (step, "CLOSE"))
        break;
    }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return NULL;
}

static Server *
server_start (const char * const *script)
{
  Server *server = g_new0 (Server, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  server->script = script;
  server->received = g_string_new (NULL);
  server->data = g_string_new (NULL);
  server->listener = g_socket_listener_new ();
  g_socket_listener_add_address (server->listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  server->thread = g_thread_new ("scripted-smtp", server_thread, server);
  return server;
}

/* Waits for the script to end; the test fails with the server's complaint, if any. */
static void
server_finish (Server *server)
{
  g_thread_join (server->thread);
  if (server->failure != NULL)
    g_error ("scripted server: %s", server->failure);
  g_socket_listener_close (server->listener);
  g_object_unref (server->listener);
}

static void
server_free (Server *server)
{
  g_string_free (server->received, TRUE);
  g_string_free (server->data, TRUE);
  g_free (server->failure);
  g_free (server);
}

static PbSmtpClient *
client_for (Server     *server,
            const char *scheme)
{
  g_autofree char *url = g_strdup_printf ("%s://alice@127.0.0.1:%u", scheme, server->port);
  g_autoptr(PbService) service = pb_service_new_from_url (url, NULL);

  g_assert_nonnull (service);
  return pb_smtp_client_new (service);
}

static GBytes *
message (const char *text)
{
  return g_bytes_new (text, strlen (text));
}

static const char *const two_rcpts[] = { "bob@example.org", "carol@example.org", NULL };

static void
test_client_pipelining (void)
{
  static const char *const script[] = {
    "S:220 scripted ESMTP",
    "C:EHLO ",
    "S:250-scripted\n250-PIPELINING\n250-SIZE 100000\n250-8BITMIME\n250 AUTH PLAIN LOGIN",
    "C:AUTH PLAIN AGFsaWNlAHNlY3JldA==",
    "S:235 2.7.0 ok",
    /* The whole envelope must arrive before the first reply goes out. */
    "C:MAIL FROM:<alice@example.org> SIZE=",
    "C:RCPT TO:<bob@example.org>",
    "C:RCPT TO:<carol@example.org>",
    "C:DATA",
    "S:250 2.1.0 ok\n250 2.1.5 ok\n250 2.1.5 ok\n354 go ahead",
    "DATA",
    "S:250 2.0.0 queued as 1",
    /* The next message on the same session. */
    "C:MAIL FROM:<alice@example.org>",
    "C:RCPT TO:<bob@example.org>",
    "C:RCPT TO:<carol@example.org>",
    "C:DATA",
    "S:250 ok\n250 ok\n250 ok\n354 go ahead",
    "DATA",
    "S:250 2.0.0 queued as 2",
    "C:QUIT",
    "S:221 bye",
    NULL
  };
  Server *server = server_start (script);
  g_autoptr(PbSmtpClient) client = client_for (server, "smtp+insecure");
  g_autoptr(GBytes) m = message ("Subject: x\n\n.leading dot\nline\r\n..two\n");
  g_autoptr(GError) error = NULL;

  g_assert_true (pb_smtp_client_connect (client, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pb_smtp_client_authenticate (client, PB_SMTP_AUTH_PASSWORD, "secret", NULL,
                                              &error));
  g_assert_true (pb_smtp_client_has_extension (client, "pipelining"));
  g_assert_cmpuint (pb_smtp_client_get_size_limit (client), ==, 100000);
  g_assert_true (pb_smtp_client_send (client, "alice@example.org", two_rcpts, m,
                                      PB_SMTP_SEND_NONE, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pb_smtp_client_send (client, "alice@example.org", two_rcpts, m,
                                      PB_SMTP_SEND_NONE, NULL, &error));
  g_assert_no_error (error);
  pb_smtp_client_quit (client, NULL);
  server_finish (server);
  /* Dot-stuffed, CRLF everywhere. */
  g_assert_cmpstr (server->data->str, ==,
                   "Subject: x\r\n\r\n..leading dot\r\nline\r\n...two\r\n"
                   "Subject: x\r\n\r\n..leading dot\r\nline\r\n...two\r\n");
  /* The envelope went out in one write: all four commands in one segment. */
  g_assert_nonnull (strstr (server->received->str,
                            "RCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.org>\r\n"
                            "DATA\r\n"));
  server_free (server);
}

static void
test_client_chunking (void)
{
  static const char *const script[] = {
    "S:220 scripted ESMTP",
    "C:EHLO ",
    "S:250-scripted\n250-PIPELINING\n250-CHUNKING\n250-8BITMIME\n250 DSN",
    "C:MAIL FROM:<alice@example.org> BODY=8BITMIME RET=HDRS",
    "C:RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE,DELAY",
    "C:RCPT TO:<carol@example.org> NOTIFY=SUCCESS,FAILURE,DELAY",
    "S:250 ok\n250 ok\n250 ok",
    "C:BDAT ",
    "BDAT",
    "S:250 2.0.0 got it",
    "CLOSE",
    NULL
  };
  Server *server = server_start (script);
  g_autoptr(PbSmtpClient) client = client_for (server, "smtp+insecure");
  g_autoptr(GBytes) m = message ("Subject: Gr\xc3\xbc\xc3\x9f" "e\n\n.no stuffing\n");
  g_autoptr(GError) error = NULL;

  g_assert_true (pb_smtp_client_connect (client, NULL, &error));
  /* No AUTH offered: a trusted relay, nothing to log in to. */
  g_assert_true (pb_smtp_client_authenticate (client, PB_SMTP_AUTH_PASSWORD, "secret", NULL,
                                              &error));
  g_assert_true (pb_smtp_client_send (client, "alice@example.org", two_rcpts, m,
                                      PB_SMTP_SEND_DSN, NULL, &error));
  g_assert_no_error (error);
  server_finish (server);
  g_assert_cmpstr (server->data->str, ==, "Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n\r\n.no stuffing\r\n");
  g_assert_nonnull (strstr (server->received->str, "BDAT 34 LAST\r\n"));
  server_free (server);
}

static void
test_client_big_chunks_utf8 (void)
{
  static const char *const script[] = {
    "S:220 scripted ESMTP",
    "C:EHLO ",
    "S:250-scripted\n250-PIPELINING\n250-CHUNKING\n250-8BITMIME\n250 SMTPUTF8",
    /* A UTF-8 address: SMTPUTF8 on MAIL, and the address as it is. */
    "C:MAIL FROM:<alice@example.org> BODY=8BITMIME SMTPUTF8",
    "C:RCPT TO:<j\xc3\xb6rg@example.org>",
    "S:250 ok\n250 ok",
    /* 1.5 MB: two chunks, sent back to back, then both replies. */
    "C:BDAT 1048576\r",
    "BDAT",
    "C:BDAT ",
    "BDAT",
    "S:250 2.0.0 chunk\n250 2.0.0 got it all",
    "CLOSE",
    NULL
  };
  Server *server = server_start (script);
  g_autoptr(PbSmtpClient) client = client_for (server, "smtp+insecure");
  g_autoptr(GString) text = g_string_new ("Subject: big\r\n\r\n");
  g_autoptr(GBytes) m = NULL;
  const char *rcpt[] = { "j\xc3\xb6rg@example.org", NULL };
  g_autoptr(GError) error = NULL;

  while (text->len < 1500000)
    g_string_append (text, ".0123456789012345678901234567890123456789012345678901234567890\r\n");
  m = g_bytes_new (text->str, text->len);
  g_assert_true (pb_smtp_client_connect (client, NULL, &error));
  g_assert_true (pb_smtp_client_send (client, "alice@example.org", rcpt, m, 0, NULL, &error));
  g_assert_no_error (error);
  server_finish (server);
  /* BDAT data is not dot-stuffed and arrives whole. */
  g_assert_cmpuint (server->data->len, ==, text->len);
  g_assert_true (memcmp (server->data->str, text->str, text->len) == 0);
  server_free (server);
}

static void
test_client_helo_no_pipelining (void)
{
  static const char *const script[] = {
    "S:220 old server",
    "C:EHLO ",
    "S:502 5.5.1 what?",
    "C:HELO ",
    "S:250 hello",
    /* One command at a time: the server answers each before the next may come. */
    "C:MAIL FROM:<alice@example.org>\r",
    "S:250 ok",
    "C:RCPT TO:<bob@example.org>",
    "S:250 ok",
    "C:RCPT TO:<carol@example.org>",
    "S:550-5.1.1 carol is unknown\n550 5.1.1 really",
    "C:RSET",
    "S:250 ok",
    "CLOSE",
    NULL
  };
  Server *server = server_start (script);
  g_autoptr(PbSmtpClient) client = client_for (server, "smtp+insecure");
  g_autoptr(GBytes) eight = message ("Subject: \xc3\xa4\n\nx\n");
  g_autoptr(GBytes) m = message ("Subject: x\n\nx\n");
  g_autoptr(GError) error = NULL;

  g_assert_true (pb_smtp_client_connect (client, NULL, &error));
  g_assert_false (pb_smtp_client_has_extension (client, "8BITMIME"));
  /* 8-bit without 8BITMIME: refused before anything goes out. */
  g_assert_false (pb_smtp_client_send (client, "alice@example.org", two_rcpts, eight,
                                       PB_SMTP_SEND_NONE, NULL, &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_8BIT_UNSUPPORTED);
  g_clear_error (&error);
  /* One refused recipient fails the whole message, with the server's words. */
  g_assert_false (pb_smtp_client_send (client, "alice@example.org", two_rcpts, m,
                                       PB_SMTP_SEND_NONE, NULL, &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_PERMANENT);
  g_assert_nonnull (strstr (error->message, "<carol@example.org>"));
  g_assert_nonnull (strstr (error->message, "550 5.1.1 carol is unknown 5.1.1 really"));
  g_assert_true (pb_smtp_client_is_usable (client));
  server_finish (server);
  g_assert_null (strstr (server->received->str, "DATA"));
  server_free (server);
}

static void
test_client_pipelined_refusal (void)
{
  static const char *const script[] = {
    "S:220 scripted",
    "C:EHLO ",
    "S:250-scripted\n250 PIPELINING",
    "C:MAIL FROM:",
    "C:RCPT TO:<bob@example.org>",
    "C:RCPT TO:<carol@example.org>",
    "C:DATA",
    /* A careless server accepts DATA although a recipient was refused. */
    "S:250 ok\n250 ok\n452 4.5.3 too many recipients\n354 go ahead",
    "CLOSE",
    NULL
  };
  Server *server = server_start (script);
  g_autoptr(PbSmtpClient) client = client_for (server, "smtp+insecure");
  g_autoptr(GBytes) m = message ("Subject: x\n\nbody\n");
  g_autoptr(GError) error = NULL;

  g_assert_true (pb_smtp_client_connect (client, NULL, &error));
  g_assert_false (pb_smtp_client_send (client, "alice@example.org", two_rcpts, m,
                                       PB_SMTP_SEND_NONE, NULL, &error));
  /* 4xx: try later; the client hung up instead of delivering to bob alone. */
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_TEMPORARY);
  g_assert_false (pb_smtp_client_is_usable (client));
  server_finish (server);
  g_assert_null (strstr (server->received->str, "body"));
  server_free (server);
}

static void
test_client_lost_after_dot (void)
{
  static const char *const script[] = {
    "S:220 scripted",
    "C:EHLO ",
    "S:250 scripted",
    "C:MAIL FROM:",
    "S:250 ok",
    "C:RCPT TO:",
    "S:250 ok",
    "C:DATA",
    "S:354 go",
    "DATA",
    "CLOSE",
    NULL
  };
  Server *server = server_start (script);
  g_autoptr(PbSmtpClient) client = client_for (server, "smtp+insecure");
  g_autoptr(GBytes) m = message ("Subject: x\n\nbody\n");
  const char *rcpt[] = { "bob@example.org", NULL };
  g_autoptr(GError) error = NULL;

  g_assert_true (pb_smtp_client_connect (client, NULL, &error));
  g_assert_false (pb_smtp_client_send (client, "alice@example.org", rcpt, m, PB_SMTP_SEND_NONE,
                                       NULL, &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_OUTCOME_UNKNOWN);
  server_finish (server);
  server_free (server);
}

static void
test_client_checks_before_sending (void)
{
  static const char *const script[] = {
    "S:220 scripted",
    "C:EHLO ",
    "S:250-scripted\n250 SIZE 50",
    "C:MAIL FROM:<alice@example.org> SIZE=",
    "S:451 4.3.2 not now",
    "C:RSET",
    "S:250 ok",
    "C:QUIT",
    "S:221 bye",
    NULL
  };
  Server *server = server_start (script);
  g_autoptr(PbSmtpClient) client = client_for (server, "smtp+insecure");
  g_autoptr(GBytes) big = message ("Subject: this message is longer than fifty bytes\n\nbody\n");
  g_autoptr(GBytes) m = message ("Subject: x\n\ny\n");
  const char *evil[] = { "bob@example.org>\r\nRCPT TO:<eve@example.org", NULL };
  const char *nul_free[] = { "bob@example.org\n", NULL };
  const char *utf8[] = { "j\xc3\xb6rg@example.org", NULL };
  const char *ok[] = { "bob@example.org", NULL };
  const char *none[] = { NULL };
  g_autoptr(GError) error = NULL;

  g_assert_true (pb_smtp_client_connect (client, NULL, &error));
  g_assert_false (pb_smtp_client_send (client, "alice@example.org", ok, big, 0, NULL, &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);
  g_assert_false (pb_smtp_client_send (client, "alice@example.org", evil, m, 0, NULL, &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_INVALID_ADDRESS);
  g_clear_error (&error);
  g_assert_false (pb_smtp_client_send (client, "alice@example.org", nul_free, m, 0, NULL,
                                       &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_INVALID_ADDRESS);
  g_clear_error (&error);
  g_assert_false (pb_smtp_client_send (client, "alice\r@example.org", ok, m, 0, NULL, &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_INVALID_ADDRESS);
  g_clear_error (&error);
  g_assert_false (pb_smtp_client_send (client, "alice@example.org", none, m, 0, NULL, &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_INVALID_ADDRESS);
  g_clear_error (&error);
  g_assert_false (pb_smtp_client_send (client, "alice@example.org", utf8, m, 0, NULL, &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_UTF8_UNSUPPORTED);
  g_clear_error (&error);
  /* Only now does anything go out, and the 4xx says "later". */
  g_assert_false (pb_smtp_client_send (client, "alice@example.org", ok, m, 0, NULL, &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_TEMPORARY);
  g_assert_nonnull (strstr (error->message, "451 4.3.2 not now"));
  pb_smtp_client_quit (client, NULL);
  server_finish (server);
  g_assert_null (strstr (server->received->str, "eve@"));
  server_free (server);
}

static void
test_client_no_starttls (void)
{
  static const char *const script[] = {
    "S:220 scripted",
    "C:EHLO ",
    "S:250-scripted\n250 AUTH PLAIN LOGIN",
    "CLOSE",
    NULL
  };
  Server *server = server_start (script);
  g_autoptr(PbSmtpClient) client = client_for (server, "smtp");
  g_autoptr(GError) error = NULL;

  g_assert_false (pb_smtp_client_connect (client, NULL, &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_STARTTLS_UNAVAILABLE);
  server_finish (server);
  g_assert_null (strstr (server->received->str, "AUTH"));
  server_free (server);
}

static void
test_client_starttls_injection (void)
{
  static const char *const script[] = {
    "S:220 scripted",
    "C:EHLO ",
    "S:250-scripted\n250 STARTTLS",
    "C:STARTTLS",
    "S:220 go ahead\n250 injected",
    "CLOSE",
    NULL
  };
  Server *server = server_start (script);
  g_autoptr(PbSmtpClient) client = client_for (server, "smtp");
  g_autoptr(GError) error = NULL;

  g_assert_false (pb_smtp_client_connect (client, NULL, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_STARTTLS_INJECTION);
  server_finish (server);
  server_free (server);
}

static void
test_client_auth (void)
{
  static const char *const script[] = {
    "S:220 scripted",
    "C:EHLO ",
    "S:250-scripted\n250 AUTH LOGIN XOAUTH2",
    /* A password goes with LOGIN when PLAIN is not offered. */
    "C:AUTH LOGIN",
    "S:334 VXNlcm5hbWU6",
    "C:YWxpY2U=",
    "S:334 UGFzc3dvcmQ6",
    "C:c2VjcmV0",
    "S:535 5.7.8 bad credentials",
    /* An OAuth token goes with XOAUTH2; its failure comes as a challenge first. */
    "C:AUTH XOAUTH2 ",
    "S:334 eyJzdGF0dXMiOiI0MDEifQ==",
    "C:\r",
    "S:535 5.7.8 token expired",
    "CLOSE",
    NULL
  };
  Server *server = server_start (script);
  g_autoptr(PbSmtpClient) client = client_for (server, "smtp+insecure");
  g_autoptr(GError) error = NULL;

  g_assert_true (pb_smtp_client_connect (client, NULL, &error));
  g_assert_false (pb_smtp_client_authenticate (client, PB_SMTP_AUTH_PASSWORD, "secret", NULL,
                                               &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_AUTHENTICATION_FAILED);
  g_assert_nonnull (strstr (error->message, "535 5.7.8 bad credentials"));
  g_clear_error (&error);
  g_assert_false (pb_smtp_client_authenticate (client, PB_SMTP_AUTH_OAUTH, "tok", NULL,
                                               &error));
  g_assert_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_AUTHENTICATION_FAILED);
  g_assert_nonnull (strstr (error->message, "token expired"));
  server_finish (server);
  server_free (server);
}

static void
test_client_oauthbearer (void)
{
  static const char *const script[] = {
    "S:220 scripted",
    "C:EHLO ",
    "S:250-scripted\n250 AUTH PLAIN XOAUTH2 OAUTHBEARER",
    /* A token prefers OAUTHBEARER even though PLAIN comes first. */
    "C:AUTH OAUTHBEARER ",
    "S:235 2.7.0 ok",
    "CLOSE",
    NULL
  };
  Server *server = server_start (script);
  g_autoptr(PbSmtpClient) client = client_for (server, "smtp+insecure");
  g_autoptr(GError) error = NULL;
  g_autofree char *want = NULL;
  g_autofree char *encoded = NULL;

  g_assert_true (pb_smtp_client_connect (client, NULL, &error));
  g_assert_true (pb_smtp_client_authenticate (client, PB_SMTP_AUTH_OAUTH, "tok", NULL, &error));
  g_assert_no_error (error);
  server_finish (server);
  want = g_strdup_printf ("n,a=alice,\001host=127.0.0.1\001port=%u\001auth=Bearer tok\001\001",
                          server->port);
  encoded = g_base64_encode ((const guchar *) want, strlen (want));
  g_assert_nonnull (strstr (server->received->str, encoded));
  server_free (server);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();

  g_test_add_func ("/smtp/reply/byte-by-byte", test_reply_byte_by_byte);
  g_test_add_func ("/smtp/reply/errors", test_reply_errors);
  g_test_add_func ("/smtp/reply/limits", test_reply_limits);
  g_test_add_func ("/smtp/reply/to-string", test_reply_to_string);
  g_test_add_func ("/smtp/prepare-data", test_prepare_data);
  g_test_add_func ("/smtp/addresses", test_addresses);
  g_test_add_func ("/smtp/sasl", test_sasl);
  g_test_add_func ("/smtp/client/pipelining", test_client_pipelining);
  g_test_add_func ("/smtp/client/chunking", test_client_chunking);
  g_test_add_func ("/smtp/client/big-chunks-utf8", test_client_big_chunks_utf8);
  g_test_add_func ("/smtp/client/helo-no-pipelining", test_client_helo_no_pipelining);
  g_test_add_func ("/smtp/client/pipelined-refusal", test_client_pipelined_refusal);
  g_test_add_func ("/smtp/client/lost-after-dot", test_client_lost_after_dot);
  g_test_add_func ("/smtp/client/checks-before-sending", test_client_checks_before_sending);
  g_test_add_func ("/smtp/client/no-starttls", test_client_no_starttls);
  g_test_add_func ("/smtp/client/starttls-injection", test_client_starttls_injection);
  g_test_add_func ("/smtp/client/auth", test_client_auth);
  g_test_add_func ("/smtp/client/oauthbearer", test_client_oauthbearer);
  return g_test_run ();
}
