/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "pb-connection.h"

/*
 * PbConnection against small scripted servers. Real servers are the integration tests' job;
 * these servers misbehave on purpose (STARTTLS injection, untrusted certificates, silence,
 * lines cut at odd places), which no real server does on demand.
 */

/* Certificates, made with the openssl tool at run time ---------------------------------------- */

typedef struct
{
  char            *dir;
  char            *ca_file;
  char            *self_signed_file;
  GTlsCertificate *good;        /* signed by the test CA, SAN IP:127.0.0.1 and DNS:localhost */
  GTlsCertificate *wrong_host;  /* signed by the test CA, SAN DNS:wrong.example only */
  GTlsCertificate *self_signed; /* self-signed, SAN IP:127.0.0.1 */
  char            *openssl_fingerprint; /* of self_signed, as "AB:CD:…" */
} Certificates;

static Certificates certs;
static gboolean certs_tried;
static char *certs_error;

static const char openssl_config[] =
  "[req]\n"
  "distinguished_name = dn\n"
  "prompt = no\n"
  "[dn]\n"
  "CN = unused\n"
  "[ca]\n"
  "basicConstraints = critical,CA:TRUE\n"
  "keyUsage = critical,keyCertSign,cRLSign\n"
  "subjectKeyIdentifier = hash\n"
  "[good]\n"
  "basicConstraints = CA:FALSE\n"
  "subjectAltName = IP:127.0.0.1,DNS:localhost\n"
  "extendedKeyUsage = serverAuth\n"
  "[wrong]\n"
  "basicConstraints = CA:FALSE\n"
  "subjectAltName = DNS:wrong.example\n"
  "extendedKeyUsage = serverAuth\n"
  "[self]\n"
  "basicConstraints = CA:FALSE\n"
  "subjectAltName = IP:127.0.0.1\n"
  "extendedKeyUsage = serverAuth\n";

static gboolean
run_openssl (const char  *dir,
             char       **out_stdout,
             GError     **error,
             ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *err_text = NULL;
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, (char *) "openssl");
  va_start (args, error);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_cwd (launcher, dir);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
  if (process == NULL)
    return FALSE;
  if (!g_subprocess_communicate_utf8 (process, NULL, NULL, out_stdout, &err_text, error))
    return FALSE;
  if (!g_subprocess_get_successful (process))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "openssl %s failed: %s",
                   (char *) argv->pdata[1], err_text);
      return FALSE;
    }
  return TRUE;
}

#define EC_KEY "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"

static gboolean
make_certificates (GError **error)
{
  g_autofree char *config = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *good_pem = NULL, *good_key = NULL;
  g_autofree char *wrong_pem = NULL, *wrong_key = NULL;
  g_autofree char *self_key = NULL;
  const char *equals;

  certs.dir = g_dir_make_tmp ("pb-test-connection-XXXXXX", error);
  if (certs.dir == NULL)
    return FALSE;
  config = g_build_filename (certs.dir, "openssl.cnf", NULL);
  if (!g_file_set_contents (config, openssl_config, -1, error))
    return FALSE;

  /* EC keys: generating them takes microseconds, RSA keys would dominate the test's runtime. */
  if (!run_openssl (certs.dir, NULL, error, "req", "-config", config, "-x509", EC_KEY,
                    "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                    "-subj", "/CN=Postbote Test CA", "-extensions", "ca", NULL)
      || !run_openssl (certs.dir, NULL, error, "req", "-config", config, "-new", EC_KEY,
                       "-keyout", "good.key", "-out", "good.csr", "-subj", "/CN=127.0.0.1", NULL)
      || !run_openssl (certs.dir, NULL, error, "x509", "-req", "-in", "good.csr",
                       "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2", "-days", "2",
                       "-extfile", config, "-extensions", "good", "-out", "good.pem", NULL)
      || !run_openssl (certs.dir, NULL, error, "req", "-config", config, "-new", EC_KEY,
                       "-keyout", "wrong.key", "-out", "wrong.csr", "-subj", "/CN=wrong.example",
                       NULL)
      || !run_openssl (certs.dir, NULL, error, "x509", "-req", "-in", "wrong.csr",
                       "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "3", "-days", "2",
                       "-extfile", config, "-extensions", "wrong", "-out", "wrong.pem", NULL)
      || !run_openssl (certs.dir, NULL, error, "req", "-config", config, "-x509", EC_KEY,
                       "-keyout", "self.key", "-out", "self.pem", "-days", "2",
                       "-subj", "/CN=127.0.0.1", "-extensions", "self", NULL)
      || !run_openssl (certs.dir, &fingerprint, error, "x509", "-in", "self.pem", "-noout",
                       "-fingerprint", "-sha256", NULL))
    return FALSE;

  certs.ca_file = g_build_filename (certs.dir, "ca.pem", NULL);
  certs.self_signed_file = g_build_filename (certs.dir, "self.pem", NULL);
  good_pem = g_build_filename (certs.dir, "good.pem", NULL);
  good_key = g_build_filename (certs.dir, "good.key", NULL);
  wrong_pem = g_build_filename (certs.dir, "wrong.pem", NULL);
  wrong_key = g_build_filename (certs.dir, "wrong.key", NULL);
  self_key = g_build_filename (certs.dir, "self.key", NULL);

  certs.good = g_tls_certificate_new_from_files (good_pem, good_key, error);
  if (certs.good == NULL)
    return FALSE;
  certs.wrong_host = g_tls_certificate_new_from_files (wrong_pem, wrong_key, error);
  if (certs.wrong_host == NULL)
    return FALSE;
  certs.self_signed = g_tls_certificate_new_from_files (certs.self_signed_file, self_key, error);
  if (certs.self_signed == NULL)
    return FALSE;

  /* "sha256 Fingerprint=AB:CD:…" (the label's case differs between openssl versions) */
  equals = strchr (fingerprint, '=');
  if (equals == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "odd fingerprint: %s", fingerprint);
      return FALSE;
    }
  certs.openssl_fingerprint = g_strstrip (g_strdup (equals + 1));

  return TRUE;
}

/* Skips the test when there is no openssl to make certificates with. */
static gboolean
need_certificates (void)
{
  if (!certs_tried)
    {
      g_autoptr(GError) error = NULL;

      certs_tried = TRUE;
      if (!make_certificates (&error))
        certs_error = g_strdup (error->message);
    }
  if (certs_error != NULL)
    {
      g_test_skip (certs_error);
      return FALSE;
    }
  return TRUE;
}

static void
remove_certificates (void)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  g_clear_object (&certs.good);
  g_clear_object (&certs.wrong_host);
  g_clear_object (&certs.self_signed);
  g_clear_pointer (&certs.ca_file, g_free);
  g_clear_pointer (&certs.self_signed_file, g_free);
  g_clear_pointer (&certs.openssl_fingerprint, g_free);
  g_clear_pointer (&certs_error, g_free);

  if (certs.dir == NULL)
    return;
  dir = g_dir_open (certs.dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (certs.dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (certs.dir);
  g_clear_pointer (&certs.dir, g_free);
}

/* A scripted server: one connection, one script, on its own thread --------------------------- */

typedef void (*ServerScript) (GIOStream *stream,
                              gpointer   data);

typedef struct
{
  GSocket      *listener;
  guint16       port;
  GThread      *thread;
  ServerScript  script;
  gpointer      data;
} Server;

static gpointer
server_thread (gpointer user_data)
{
  Server *server = user_data;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;

  socket = g_socket_accept (server->listener, NULL, NULL);
  if (socket == NULL)
    return NULL;

  /* A script waiting for a client that gave up must not hang the test run. */
  g_socket_set_timeout (socket, 5);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  connection = g_socket_connection_factory_create_connection (socket);
  server->script (G_IO_STREAM (connection), server->data);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);

  return NULL;
}

static GSocket *
listen_on_loopback (guint16 *out_port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (socket, &error);
  g_assert_no_error (error);

  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *out_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  return g_steal_pointer (&socket);
}

static Server *
server_start (ServerScript script,
              gpointer     data)
{
  Server *server = g_new0 (Server, 1);

  server->listener = listen_on_loopback (&server->port);
  g_socket_set_timeout (server->listener, 5);
  server->script = script;
  server->data = data;
  server->thread = g_thread_new ("test-server", server_thread, server);

  return server;
}

static void
server_stop (Server *server)
{
  g_thread_join (server->thread);
  g_socket_close (server->listener, NULL);
  g_object_unref (server->listener);
  g_free (server);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Server, server_stop)

static void
server_write_len (GIOStream  *stream,
                  const char *data,
                  gsize       length)
{
  g_output_stream_write_all (g_io_stream_get_output_stream (stream), data, length, NULL, NULL,
                             NULL);
}

static void
server_write (GIOStream  *stream,
              const char *text)
{
  server_write_len (stream, text, strlen (text));
}

/* Byte by byte, so nothing the client sends after the line is swallowed by a buffer (the
 * STARTTLS script hands the stream to TLS right after a line). */
static char *
server_read_line (GIOStream *stream)
{
  GInputStream *input = g_io_stream_get_input_stream (stream);
  g_autoptr(GString) line = g_string_new (NULL);
  char c;

  while (g_input_stream_read (input, &c, 1, NULL, NULL) == 1)
    {
      if (c == '\n')
        {
          if (line->len > 0 && line->str[line->len - 1] == '\r')
            g_string_truncate (line, line->len - 1);
          return g_string_free (g_steal_pointer (&line), FALSE);
        }
      g_string_append_c (line, c);
    }
  return NULL;
}

/* Until the client hangs up (or the 5 s server timeout passes). */
static void
server_wait_close (GIOStream *stream)
{
  GInputStream *input = g_io_stream_get_input_stream (stream);
  char buffer[512];

  while (g_input_stream_read (input, buffer, sizeof buffer, NULL, NULL) > 0)
    ;
}

static GIOStream *
server_tls (GIOStream       *stream,
            GTlsCertificate *certificate)
{
  g_autoptr(GIOStream) tls = NULL;

  tls = g_tls_server_connection_new (stream, certificate, NULL);
  if (tls == NULL)
    return NULL;
  g_tls_connection_set_require_close_notify (G_TLS_CONNECTION (tls), FALSE);
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, NULL))
    return NULL;
  return g_steal_pointer (&tls);
}

/* Scripts ----------------------------------------------------------------------------------- */

typedef struct
{
  const char *data;
  gssize      length;   /* -1: strlen */
  guint       delay_ms; /* before writing */
} Chunk;

#define CHUNKS_END { NULL, 0, 0 }

/* Writes the chunks, then hangs up. */
static void
chunks_script (GIOStream *stream,
               gpointer   data)
{
  const Chunk *chunks = data;

  for (const Chunk *chunk = chunks; chunk->data != NULL; chunk++)
    {
      if (chunk->delay_ms > 0)
        g_usleep (chunk->delay_ms * 1000);
      server_write_len (stream, chunk->data,
                        chunk->length < 0 ? strlen (chunk->data) : (gsize) chunk->length);
    }
}

static void
silent_script (GIOStream *stream,
               gpointer   data)
{
  server_wait_close (stream);
}

static void
tls_script (GIOStream *stream,
            gpointer   data)
{
  g_autoptr(GIOStream) tls = server_tls (stream, data);

  if (tls == NULL)
    return;
  server_write (tls, "* OK hello over TLS\r\n");
  server_wait_close (tls);
  g_io_stream_close (tls, NULL, NULL);
}

typedef enum {
  STARTTLS_GOOD,
  STARTTLS_INJECT_SAME_WRITE,
  STARTTLS_INJECT_SEPARATE_WRITE,
  STARTTLS_INJECT_AFTER_CLIENT_READ,
} StarttlsMode;

typedef struct
{
  StarttlsMode     mode;
  GTlsCertificate *certificate;
  GMutex           mutex;
  GCond            cond;
  gboolean         injected;
  gboolean         client_read_go_ahead;
  char            *command;
  char            *command_over_tls;
} StarttlsServer;

static void
starttls_script (GIOStream *stream,
                 gpointer   data)
{
  StarttlsServer *s = data;
  g_autoptr(GIOStream) tls = NULL;

  server_write (stream, "* OK ready\r\n");
  s->command = server_read_line (stream);

  switch (s->mode)
    {
    case STARTTLS_GOOD:
      server_write (stream, "A1 OK Begin TLS\r\n");
      tls = server_tls (stream, s->certificate);
      if (tls == NULL)
        return;
      server_write (tls, "* OK over TLS\r\n");
      s->command_over_tls = server_read_line (tls);
      server_write (tls, "A2 OK noop\r\n");
      server_wait_close (tls);
      g_io_stream_close (tls, NULL, NULL);
      return;

    case STARTTLS_INJECT_SAME_WRITE:
      /* One write, so both lines arrive in one segment. */
      server_write (stream, "A1 OK Begin TLS\r\n* OK injected\r\n");
      break;

    case STARTTLS_INJECT_SEPARATE_WRITE:
      server_write (stream, "A1 OK Begin TLS\r\n");
      server_write (stream, "* OK injected\r\n");
      break;

    case STARTTLS_INJECT_AFTER_CLIENT_READ:
      /* The injected line waits in the client's socket, not in its buffer. */
      server_write (stream, "A1 OK Begin TLS\r\n");
      g_mutex_lock (&s->mutex);
      while (!s->client_read_go_ahead)
        g_cond_wait (&s->cond, &s->mutex);
      g_mutex_unlock (&s->mutex);
      server_write (stream, "* OK injected\r\n");
      break;

    default:
      g_assert_not_reached ();
    }

  g_mutex_lock (&s->mutex);
  s->injected = TRUE;
  g_cond_broadcast (&s->cond);
  g_mutex_unlock (&s->mutex);

  server_wait_close (stream);
}

/* Client helpers ----------------------------------------------------------------------------- */

static PbConnection *
connect_plain (guint16 port)
{
  g_autoptr(PbConnection) connection = pb_connection_new ("127.0.0.1", port, PB_SECURITY_NONE);
  g_autoptr(GError) error = NULL;

  pb_connection_set_timeout (connection, 5);
  pb_connection_connect (connection, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (pb_connection_is_tls (connection));

  return g_steal_pointer (&connection);
}

static void
assert_line (PbConnection *connection,
             gsize         max_length,
             const char   *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gsize length = 0;

  line = pb_connection_read_line (connection, max_length, &length, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, expected);
  g_assert_cmpuint (length, ==, strlen (expected));
}

static void
assert_line_error (PbConnection *connection,
                   gsize         max_length,
                   gint          code)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  line = pb_connection_read_line (connection, max_length, NULL, NULL, &error);
  g_assert_error (error, PB_CONNECTION_ERROR, code);
  g_assert_null (line);
}

/* Runs a chunks script and connects a plain client to it. */
#define CHUNKS_CLIENT(chunks) \
  g_autoptr(Server) server = server_start (chunks_script, (gpointer) (chunks)); \
  g_autoptr(PbConnection) connection = connect_plain (server->port)

/* Line reader ------------------------------------------------------------------------------- */

static void
test_line_crlf_and_lf (void)
{
  static const Chunk chunks[] = { { "one\r\ntwo\nthree\r\n\r\nbare\rcr\n", -1, 0 }, CHUNKS_END };
  CHUNKS_CLIENT (chunks);

  assert_line (connection, 100, "one");
  assert_line (connection, 100, "two");
  assert_line (connection, 100, "three");
  assert_line (connection, 100, "");
  /* A CR that does not end the line is data. */
  assert_line (connection, 100, "bare\rcr");
  assert_line_error (connection, 100, PB_CONNECTION_ERROR_CLOSED);
}

static void
test_line_max_length (void)
{
  static const Chunk chunks[] = {
    { "0123456789\r\n", -1, 0 },
    { "abcdefghij\n", -1, 0 },
    { "0123456789X\r\n", -1, 0 },
    { "after\r\n", -1, 0 },
    CHUNKS_END
  };
  CHUNKS_CLIENT (chunks);

  assert_line (connection, 10, "0123456789");
  assert_line (connection, 10, "abcdefghij");
  assert_line_error (connection, 10, PB_CONNECTION_ERROR_LINE_TOO_LONG);
  /* The over-long line ended inside the buffer, so it was dropped whole. */
  assert_line (connection, 10, "after");
}

/* Exactly max_length, with the CR and the LF arriving in separate segments: the reader must
 * hold the CR back instead of counting it into the line. */
static void
test_line_max_length_split_crlf (void)
{
  static const Chunk chunks[] = {
    { "0123456789\r", -1, 0 },
    { "\n", -1, 30 },
    { "0123456789", -1, 30 },
    { "\r", -1, 30 },
    { "\n", -1, 30 },
    CHUNKS_END
  };
  CHUNKS_CLIENT (chunks);

  assert_line (connection, 10, "0123456789");
  assert_line (connection, 10, "0123456789");
}

/* A server sending an endless line must not make the client buffer it all: the megabyte is
 * followed by EOF, so a reader that read on to the end would report CLOSED instead. */
static void
test_line_too_long_bounded (void)
{
  g_autofree char *huge = g_malloc (1024 * 1024 + 1);
  Chunk chunks[] = { { NULL, -1, 0 }, CHUNKS_END };

  memset (huge, 'x', 1024 * 1024);
  huge[1024 * 1024] = '\0';
  chunks[0].data = huge;

  {
    CHUNKS_CLIENT (chunks);

    assert_line_error (connection, 1000, PB_CONNECTION_ERROR_LINE_TOO_LONG);
    pb_connection_close (connection);
  }
}

static void
test_line_eof_mid_line (void)
{
  static const Chunk chunks[] = { { "complete\r\npartial", -1, 0 }, CHUNKS_END };
  g_autoptr(GError) error = NULL;
  CHUNKS_CLIENT (chunks);

  assert_line (connection, 100, "complete");
  g_assert_null (pb_connection_read_line (connection, 100, NULL, NULL, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CLOSED);
  g_test_message ("%s", error->message);
}

static void
test_line_split_writes (void)
{
  static const Chunk chunks[] = {
    { "A", -1, 0 }, { "1", -1, 5 }, { " ", -1, 5 }, { "OK", -1, 5 }, { " done", -1, 5 },
    { "\r", -1, 5 }, { "\n", -1, 5 }, { "* ", -1, 5 }, { "next\n", -1, 5 },
    CHUNKS_END
  };
  CHUNKS_CLIENT (chunks);

  assert_line (connection, 100, "A1 OK done");
  assert_line (connection, 100, "* next");
}

static void
test_line_nul (void)
{
  static const Chunk chunks[] = { { "a\0b\r\n", 5, 0 }, CHUNKS_END };
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gsize length = 0;
  CHUNKS_CLIENT (chunks);

  line = pb_connection_read_line (connection, 100, &length, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (length, ==, 3);
  g_assert_cmpmem (line, length, "a\0b", 3);
  g_assert_cmpint (line[3], ==, '\0');
}

static void
test_line_read_after_line (void)
{
  static const Chunk chunks[] = { { "* 1 FETCH {5}\r\nhello)\r\n", -1, 0 }, CHUNKS_END };
  g_autoptr(GError) error = NULL;
  guint8 buffer[64];
  gssize n;
  CHUNKS_CLIENT (chunks);

  assert_line (connection, 100, "* 1 FETCH {5}");
  g_assert_cmpuint (pb_connection_get_buffered (connection), ==, 8);

  n = pb_connection_read (connection, buffer, 5, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (buffer, n, "hello", 5);
  g_assert_cmpuint (pb_connection_get_buffered (connection), ==, 3);

  /* read() hands out what is buffered, however much more the caller asks for. */
  n = pb_connection_read (connection, buffer, sizeof buffer, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (buffer, n, ")\r\n", 3);

  /* And then EOF is an error, never 0. */
  n = pb_connection_read (connection, buffer, sizeof buffer, NULL, &error);
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CLOSED);
  g_assert_cmpint (n, ==, -1);
}

/* STARTTLS ---------------------------------------------------------------------------------- */

static void
starttls_server_clear (StarttlsServer *s)
{
  g_free (s->command);
  g_free (s->command_over_tls);
  g_mutex_clear (&s->mutex);
  g_cond_clear (&s->cond);
}

static void
run_starttls_injection (StarttlsMode mode)
{
  StarttlsServer s = { .mode = mode };
  g_autoptr(GError) error = NULL;
  g_autoptr(Server) server = NULL;
  g_autoptr(PbConnection) connection = NULL;
  gboolean ok;

  g_mutex_init (&s.mutex);
  g_cond_init (&s.cond);
  server = server_start (starttls_script, &s);

  connection = pb_connection_new ("127.0.0.1", server->port, PB_SECURITY_STARTTLS);
  pb_connection_set_timeout (connection, 5);
  pb_connection_connect (connection, NULL, &error);
  g_assert_no_error (error);

  assert_line (connection, 1000, "* OK ready");
  pb_connection_write (connection, "A1 STARTTLS\r\n", -1, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_line (connection, 1000, "A1 OK Begin TLS");

  /* Make sure the injected bytes have been sent before the client decides. */
  g_mutex_lock (&s.mutex);
  s.client_read_go_ahead = TRUE;
  g_cond_broadcast (&s.cond);
  while (!s.injected)
    g_cond_wait (&s.cond, &s.mutex);
  g_mutex_unlock (&s.mutex);
  g_usleep (50 * 1000);

  ok = pb_connection_start_tls (connection, NULL, &error);
  g_assert_false (ok);
  g_assert_false (pb_connection_is_tls (connection));
  /* Bytes that arrive in a later segment may, on a slow machine, only come in once the
   * handshake has begun; then the handshake must fail on them. It must never succeed. When the
   * server injected after the client had read the go-ahead, the bytes wait in the socket by
   * now, and start_tls must look there too, not only in its buffer. */
  if (mode == STARTTLS_INJECT_SAME_WRITE || mode == STARTTLS_INJECT_AFTER_CLIENT_READ)
    g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_STARTTLS_INJECTION);
  else if (!g_error_matches (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_TLS))
    g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_STARTTLS_INJECTION);
  g_test_message ("%s", error->message);

  /* The injected line is gone with the connection. */
  g_clear_error (&error);
  assert_line_error (connection, 1000, PB_CONNECTION_ERROR_CLOSED);
  g_assert_cmpstr (s.command, ==, "A1 STARTTLS");

  pb_connection_close (connection);
  g_clear_pointer (&server, server_stop);
  starttls_server_clear (&s);
}

static void
test_starttls_injection_same_write (void)
{
  run_starttls_injection (STARTTLS_INJECT_SAME_WRITE);
}

static void
test_starttls_injection_separate_write (void)
{
  run_starttls_injection (STARTTLS_INJECT_SEPARATE_WRITE);
}

static void
test_starttls_injection_after_client_read (void)
{
  run_starttls_injection (STARTTLS_INJECT_AFTER_CLIENT_READ);
}

static void
test_starttls_success (void)
{
  StarttlsServer s = { .mode = STARTTLS_GOOD };
  g_autoptr(GError) error = NULL;
  g_autoptr(Server) server = NULL;
  g_autoptr(PbConnection) connection = NULL;

  if (!need_certificates ())
    return;

  g_mutex_init (&s.mutex);
  g_cond_init (&s.cond);
  s.certificate = certs.good;
  server = server_start (starttls_script, &s);

  connection = pb_connection_new ("127.0.0.1", server->port, PB_SECURITY_STARTTLS);
  pb_connection_set_timeout (connection, 5);
  pb_connection_set_ca_file (connection, certs.ca_file);
  pb_connection_connect (connection, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (pb_connection_is_tls (connection));
  g_assert_null (pb_connection_get_peer_certificate (connection));

  assert_line (connection, 1000, "* OK ready");
  pb_connection_write (connection, "A1 STARTTLS\r\n", -1, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_line (connection, 1000, "A1 OK Begin TLS");
  g_assert_cmpuint (pb_connection_get_buffered (connection), ==, 0);

  pb_connection_start_tls (connection, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (pb_connection_is_tls (connection));
  g_assert_cmpuint (pb_connection_get_buffered (connection), ==, 0);
  g_assert_true (g_tls_certificate_is_same (pb_connection_get_peer_certificate (connection),
                                            certs.good));

  assert_line (connection, 1000, "* OK over TLS");
  pb_connection_write (connection, "A2 NOOP\r\n", -1, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_line (connection, 1000, "A2 OK noop");

  /* Once is enough. */
  g_assert_false (pb_connection_start_tls (connection, NULL, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_FAILED);

  pb_connection_close (connection);
  pb_connection_close (connection);
  g_clear_pointer (&server, server_stop);
  g_assert_cmpstr (s.command, ==, "A1 STARTTLS");
  g_assert_cmpstr (s.command_over_tls, ==, "A2 NOOP");
  starttls_server_clear (&s);
}

static void
test_starttls_untrusted (void)
{
  StarttlsServer s = { .mode = STARTTLS_GOOD };
  g_autoptr(GError) error = NULL;
  g_autoptr(Server) server = NULL;
  g_autoptr(PbConnection) connection = NULL;

  if (!need_certificates ())
    return;

  g_mutex_init (&s.mutex);
  g_cond_init (&s.cond);
  s.certificate = certs.self_signed;
  server = server_start (starttls_script, &s);

  connection = pb_connection_new ("127.0.0.1", server->port, PB_SECURITY_STARTTLS);
  pb_connection_set_timeout (connection, 5);
  pb_connection_connect (connection, NULL, &error);
  g_assert_no_error (error);
  assert_line (connection, 1000, "* OK ready");
  pb_connection_write (connection, "A1 STARTTLS\r\n", -1, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_line (connection, 1000, "A1 OK Begin TLS");

  g_assert_false (pb_connection_start_tls (connection, NULL, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE);
  g_assert_false (pb_connection_is_tls (connection));
  g_assert_true (g_tls_certificate_is_same (pb_connection_get_peer_certificate (connection),
                                            certs.self_signed));

  g_clear_pointer (&server, server_stop);
  starttls_server_clear (&s);
}

/* TLS certificates -------------------------------------------------------------------------- */

/* Connects with implicit TLS to a server presenting certificate; returns whether it worked and
 * checks that a line can be read over TLS when it did. */
static gboolean
try_tls (GTlsCertificate  *certificate,
         const char       *ca_file,
         const char       *pinned_sha256,
         PbConnection    **out_connection,
         GError          **error)
{
  g_autoptr(Server) server = server_start (tls_script, certificate);
  g_autoptr(PbConnection) connection = NULL;
  gboolean ok;

  connection = pb_connection_new ("127.0.0.1", server->port, PB_SECURITY_TLS);
  pb_connection_set_timeout (connection, 5);
  pb_connection_set_ca_file (connection, ca_file);
  pb_connection_set_pinned_sha256 (connection, pinned_sha256);
  ok = pb_connection_connect (connection, NULL, error);
  if (ok)
    {
      g_assert_true (pb_connection_is_tls (connection));
      assert_line (connection, 1000, "* OK hello over TLS");
    }
  else
    g_assert_false (pb_connection_is_tls (connection));

  pb_connection_close (connection);
  if (out_connection != NULL)
    *out_connection = g_steal_pointer (&connection);
  return ok;
}

static void
test_tls_untrusted_self_signed (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbConnection) connection = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *actual = NULL;
  GTlsCertificate *peer;

  if (!need_certificates ())
    return;

  g_assert_false (try_tls (certs.self_signed, NULL, NULL, &connection, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE);
  g_assert_nonnull (strstr (error->message, "127.0.0.1"));
  g_assert_nonnull (strstr (error->message, "authority"));
  g_test_message ("%s", error->message);

  /* The certificate stays available so the user can be asked to pin it. */
  peer = pb_connection_get_peer_certificate (connection);
  g_assert_nonnull (peer);
  expected = pb_certificate_sha256 (certs.self_signed);
  actual = pb_certificate_sha256 (peer);
  g_assert_cmpstr (actual, ==, expected);
}

static void
test_tls_ca_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbConnection) connection = NULL;

  if (!need_certificates ())
    return;

  g_assert_true (try_tls (certs.good, certs.ca_file, NULL, &connection, &error));
  g_assert_no_error (error);
  g_assert_true (g_tls_certificate_is_same (pb_connection_get_peer_certificate (connection),
                                            certs.good));
}

static void
test_tls_ca_signed_without_ca_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbConnection) connection = NULL;

  if (!need_certificates ())
    return;

  g_assert_false (try_tls (certs.good, NULL, NULL, &connection, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE);
  g_assert_nonnull (pb_connection_get_peer_certificate (connection));
}

static void
test_tls_ca_file_wrong_host (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbConnection) connection = NULL;

  if (!need_certificates ())
    return;

  g_assert_false (try_tls (certs.wrong_host, certs.ca_file, NULL, &connection, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE);
  /* It chains to the trusted CA, so the reason given is the host name. */
  g_assert_nonnull (strstr (error->message, "host name"));
  g_test_message ("%s", error->message);
  g_assert_true (g_tls_certificate_is_same (pb_connection_get_peer_certificate (connection),
                                            certs.wrong_host));
}

/* The CA file vouches only for certificates its CA issued. */
static void
test_tls_ca_file_other_issuer (void)
{
  g_autoptr(GError) error = NULL;

  if (!need_certificates ())
    return;

  g_assert_false (try_tls (certs.self_signed, certs.ca_file, NULL, NULL, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE);
}

static void
test_tls_pinned (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pin = NULL;

  if (!need_certificates ())
    return;

  pin = pb_certificate_sha256 (certs.self_signed);
  g_assert_cmpuint (strlen (pin), ==, 64);
  g_assert_true (try_tls (certs.self_signed, NULL, pin, NULL, &error));
  g_assert_no_error (error);

  /* openssl's spelling of the same digest (upper case, colons) pins the same certificate. */
  g_assert_true (try_tls (certs.self_signed, NULL, certs.openssl_fingerprint, NULL, &error));
  g_assert_no_error (error);
}

static void
test_tls_wrong_pin (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbConnection) connection = NULL;
  g_autofree char *other_pin = NULL;

  if (!need_certificates ())
    return;

  /* Pinned to a different certificate: neither the pin nor the CA file (absent) vouch for it. */
  other_pin = pb_certificate_sha256 (certs.good);
  g_assert_false (try_tls (certs.self_signed, NULL, other_pin, &connection, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE);
  g_assert_nonnull (strstr (error->message, "accepted"));
  g_test_message ("%s", error->message);
  g_assert_nonnull (pb_connection_get_peer_certificate (connection));
  g_clear_error (&error);

  /* A pin does not weaken the CA file: the CA-signed certificate with the wrong name stays
   * rejected when the pin belongs to another certificate. */
  g_assert_false (try_tls (certs.wrong_host, certs.ca_file, other_pin, NULL, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE);
}

static void
test_tls_bad_ca_file (void)
{
  g_autoptr(PbConnection) connection = pb_connection_new ("127.0.0.1", 1, PB_SECURITY_TLS);
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = NULL;

  if (!need_certificates ())
    return;

  missing = g_build_filename (certs.dir, "does-not-exist.pem", NULL);
  pb_connection_set_ca_file (connection, missing);
  g_assert_false (pb_connection_connect (connection, NULL, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_FAILED);
  g_test_message ("%s", error->message);
}

static void
test_starttls_on_implicit_tls (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Server) server = NULL;
  g_autoptr(PbConnection) connection = NULL;

  if (!need_certificates ())
    return;

  server = server_start (tls_script, certs.good);
  connection = pb_connection_new ("127.0.0.1", server->port, PB_SECURITY_TLS);
  pb_connection_set_timeout (connection, 5);
  pb_connection_set_ca_file (connection, certs.ca_file);
  pb_connection_connect (connection, NULL, &error);
  g_assert_no_error (error);

  g_assert_false (pb_connection_start_tls (connection, NULL, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_FAILED);
  g_assert_true (pb_connection_is_tls (connection));
  pb_connection_close (connection);
}

/* A plain-text greeting where a TLS handshake was expected (wrong port or security setting). */
static void
test_tls_not_tls (void)
{
  static const Chunk chunks[] = { { "* OK plain IMAP here\r\n", -1, 0 }, CHUNKS_END };
  g_autoptr(Server) server = server_start (chunks_script, (gpointer) chunks);
  g_autoptr(PbConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = pb_connection_new ("127.0.0.1", server->port, PB_SECURITY_TLS);
  pb_connection_set_timeout (connection, 5);
  g_assert_false (pb_connection_connect (connection, NULL, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_TLS);
  g_assert_null (pb_connection_get_peer_certificate (connection));
  g_test_message ("%s", error->message);
}

static void
worker_connect_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  g_autoptr(PbConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *pin = pb_certificate_sha256 (certs.self_signed);
  g_autofree char *line = NULL;

  connection = pb_connection_new ("127.0.0.1", GPOINTER_TO_UINT (task_data), PB_SECURITY_TLS);
  pb_connection_set_timeout (connection, 5);
  pb_connection_set_pinned_sha256 (connection, pin);
  if (!pb_connection_connect (connection, cancellable, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  line = pb_connection_read_line (connection, 1000, NULL, cancellable, &error);
  if (line == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, g_steal_pointer (&line), g_free);
}

static void
worker_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GMainLoop *loop = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_task_propagate_pointer (G_TASK (result), &error);

  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "* OK hello over TLS");
  g_main_loop_quit (loop);
}

/* How protocol clients use the connection: blocking calls in a GTask thread while the main
 * thread runs its loop. The handshake, with accept-certificate deciding on a pin, must neither
 * need the main context nor deadlock on it. */
static void
test_tls_worker_thread (void)
{
  g_autoptr(Server) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GTask) task = NULL;

  if (!need_certificates ())
    return;

  server = server_start (tls_script, certs.self_signed);
  loop = g_main_loop_new (NULL, FALSE);
  task = g_task_new (NULL, NULL, worker_done_cb, loop);
  g_task_set_task_data (task, GUINT_TO_POINTER (server->port), NULL);
  g_task_run_in_thread (task, worker_connect_thread);
  g_main_loop_run (loop);
}

/* Timeouts and failures to connect ------------------------------------------------------------ */

static void
test_timeout_read (void)
{
  g_autoptr(Server) server = server_start (silent_script, NULL);
  g_autoptr(PbConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;
  gint64 elapsed;

  connection = pb_connection_new ("127.0.0.1", server->port, PB_SECURITY_NONE);
  pb_connection_set_timeout (connection, 1);
  pb_connection_connect (connection, NULL, &error);
  g_assert_no_error (error);

  start = g_get_monotonic_time ();
  g_assert_null (pb_connection_read_line (connection, 1000, NULL, NULL, &error));
  elapsed = g_get_monotonic_time () - start;
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_TIMEOUT);
  g_assert_cmpint (elapsed, >=, G_USEC_PER_SEC * 9 / 10);
  g_assert_cmpint (elapsed, <, G_USEC_PER_SEC * 4);
  pb_connection_close (connection);
}

/* A server that accepts but never says a word to the ClientHello. */
static void
test_timeout_tls_handshake (void)
{
  g_autoptr(Server) server = server_start (silent_script, NULL);
  g_autoptr(PbConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;
  gint64 elapsed;

  connection = pb_connection_new ("127.0.0.1", server->port, PB_SECURITY_TLS);
  pb_connection_set_timeout (connection, 1);

  start = g_get_monotonic_time ();
  g_assert_false (pb_connection_connect (connection, NULL, &error));
  elapsed = g_get_monotonic_time () - start;
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_TIMEOUT);
  g_assert_cmpint (elapsed, <, G_USEC_PER_SEC * 4);
}

static void
test_unreachable (void)
{
  g_autoptr(PbConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autofree char *where = NULL;
  guint16 port;

  /* A port that was just ours and is closed now: nobody listens there. */
  socket = listen_on_loopback (&port);
  g_socket_close (socket, NULL);

  connection = pb_connection_new ("127.0.0.1", port, PB_SECURITY_NONE);
  g_assert_false (pb_connection_connect (connection, NULL, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_UNREACHABLE);
  where = g_strdup_printf ("127.0.0.1:%u", port);
  g_assert_nonnull (strstr (error->message, where));
  g_test_message ("%s", error->message);

  /* Nothing to read or write on a connection that never opened. */
  g_clear_error (&error);
  g_assert_false (pb_connection_write (connection, "x", 1, NULL, NULL, &error));
  g_assert_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CLOSED);
}

static void
test_cancelled (void)
{
  g_autoptr(Server) server = server_start (silent_script, NULL);
  g_autoptr(PbConnection) connection = connect_plain (server->port);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (cancellable);
  g_assert_null (pb_connection_read_line (connection, 1000, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  pb_connection_close (connection);
}

/* Protocol trace ---------------------------------------------------------------------------- */

static GMutex trace_mutex;
static GString *trace_log;

static GLogWriterOutput
capture_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  const char *domain = NULL;
  const char *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
        domain = fields[i].value;
      else if (g_str_equal (fields[i].key, "MESSAGE"))
        message = fields[i].value;
    }

  if (g_strcmp0 (domain, "pb-trace") != 0)
    return g_log_writer_default (level, fields, n_fields, user_data);

  g_mutex_lock (&trace_mutex);
  if (trace_log != NULL)
    {
      g_string_append (trace_log, message);
      g_string_append_c (trace_log, '\n');
    }
  g_mutex_unlock (&trace_mutex);

  return G_LOG_WRITER_HANDLED;
}

static void
trace_start (void)
{
  g_mutex_lock (&trace_mutex);
  trace_log = g_string_new (NULL);
  g_mutex_unlock (&trace_mutex);
}

static char *
trace_stop (void)
{
  char *text;

  g_mutex_lock (&trace_mutex);
  text = g_string_free (g_steal_pointer (&trace_log), FALSE);
  g_mutex_unlock (&trace_mutex);
  g_test_message ("trace:\n%s", text);

  return text;
}

static void
login_script (GIOStream *stream,
              gpointer   data)
{
  g_autofree char *line = NULL;
  g_autofree char *long_line = NULL;

  server_write (stream, "* OK ready\r\n");
  line = server_read_line (stream);
  server_write (stream, "A1 OK logged in\r\n");

  long_line = g_strnfill (500, 'y');
  server_write (stream, long_line);
  server_write (stream, "\r\n");
  server_write (stream, "ctl\x01\x1b[31m\xff end\r\n");
  server_wait_close (stream);
}

static void
run_login (PbConnection *connection)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *long_line = g_strnfill (500, 'y');

  pb_connection_connect (connection, NULL, &error);
  g_assert_no_error (error);
  assert_line (connection, 1000, "* OK ready");
  pb_connection_write (connection, "A1 LOGIN alice secret\r\n", -1, "A1 LOGIN alice ********",
                       NULL, &error);
  g_assert_no_error (error);
  assert_line (connection, 1000, "A1 OK logged in");
  assert_line (connection, 1000, long_line);
  assert_line (connection, 1000, "ctl\x01\x1b[31m\xff end");
  pb_connection_close (connection);
}

static void
test_trace_redaction (void)
{
  g_autoptr(Server) server = server_start (login_script, NULL);
  g_autoptr(PbConnection) connection = NULL;
  g_autofree char *trace = NULL;
  g_autofree char *two_hundred = NULL;
  g_autofree char *truncated = NULL;

  connection = pb_connection_new ("127.0.0.1", server->port, PB_SECURITY_NONE);
  pb_connection_set_timeout (connection, 5);
  pb_connection_set_trace_name (connection, "imap");

  trace_start ();
  run_login (connection);
  trace = trace_stop ();

  g_assert_null (strstr (trace, "secret"));
  g_assert_nonnull (strstr (trace, "imap C: A1 LOGIN alice ********\n"));
  g_assert_nonnull (strstr (trace, "imap S: * OK ready\n"));
  g_assert_nonnull (strstr (trace, "imap S: A1 OK logged in\n"));

  /* Long lines are cut at 200 bytes, and the note gives the real length. */
  two_hundred = g_strnfill (200, 'y');
  truncated = g_strdup_printf ("imap S: %s[… 500 bytes]\n", two_hundred);
  g_assert_nonnull (strstr (trace, truncated));

  /* A hostile server cannot put raw control characters (or invalid UTF-8) into the log. */
  g_assert_nonnull (strstr (trace, "imap S: ctl\\x01\\x1b[31m\\xff end\n"));
  g_assert_null (strchr (trace, '\x1b'));
  g_assert_true (g_utf8_validate (trace, -1, NULL));
}

static void
test_trace_off_without_name (void)
{
  g_autoptr(Server) server = server_start (login_script, NULL);
  g_autoptr(PbConnection) connection = NULL;
  g_autofree char *trace = NULL;

  connection = pb_connection_new ("127.0.0.1", server->port, PB_SECURITY_NONE);
  pb_connection_set_timeout (connection, 5);

  trace_start ();
  run_login (connection);
  trace = trace_stop ();

  g_assert_cmpstr (trace, ==, "");
}

static char *
make_literal (void)
{
  g_autoptr(GString) literal = g_string_new (NULL);

  while (literal->len < 300)
    g_string_append (literal, "Subject: hi\r\n");
  g_string_truncate (literal, 300);

  return g_string_free (g_steal_pointer (&literal), FALSE);
}

static void
literal_script (GIOStream *stream,
                gpointer   data)
{
  g_autofree char *literal = make_literal ();

  server_write (stream, "* 1 FETCH (BODY[] {300}\r\n");
  server_write (stream, literal);
  server_write (stream, ")\r\nA1 OK done\r\n");
  server_wait_close (stream);
}

static guint
count_lines_starting (const char *text,
                      const char *prefix)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  guint count = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      count++;
  return count;
}

/* A protocol parser reads with read() in whatever pieces it likes; the trace still shows one
 * entry per line, and a literal as one entry cut at 200 bytes, not its lines. */
static void
test_trace_literal_and_pieces (void)
{
  g_autoptr(Server) server = server_start (literal_script, NULL);
  g_autoptr(PbConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *literal = make_literal ();
  g_autofree char *response = NULL;
  g_autoptr(GString) received = g_string_new (NULL);
  g_autoptr(GString) expected = g_string_new ("imap S: ");
  g_autofree char *trace = NULL;

  response = g_strconcat ("* 1 FETCH (BODY[] {300}\r\n", literal, ")\r\nA1 OK done\r\n", NULL);

  connection = pb_connection_new ("127.0.0.1", server->port, PB_SECURITY_NONE);
  pb_connection_set_timeout (connection, 5);
  pb_connection_set_trace_name (connection, "imap");
  pb_connection_connect (connection, NULL, &error);
  g_assert_no_error (error);

  trace_start ();
  while (received->len < strlen (response))
    {
      guint8 piece[7];
      gssize n = pb_connection_read (connection, piece, sizeof piece, NULL, &error);

      g_assert_no_error (error);
      g_string_append_len (received, (const char *) piece, n);
    }
  g_assert_cmpstr (received->str, ==, response);

  /* Literals the client sends: a message, and a password that must stay out of the log. */
  pb_connection_write (connection, "A2 APPEND INBOX {5}\r\n", -1, NULL, NULL, &error);
  g_assert_no_error (error);
  pb_connection_write (connection, "hello\r\n", -1, NULL, NULL, &error);
  g_assert_no_error (error);
  pb_connection_write (connection, "A3 LOGIN alice {6}\r\n", -1, NULL, NULL, &error);
  g_assert_no_error (error);
  pb_connection_write (connection, "secret\r\n", -1, "********", NULL, &error);
  g_assert_no_error (error);
  pb_connection_write (connection, "A4 NOOP\r\n", -1, NULL, NULL, &error);
  g_assert_no_error (error);
  pb_connection_close (connection);
  trace = trace_stop ();

  g_assert_nonnull (strstr (trace, "imap S: * 1 FETCH (BODY[] {300}\n"));
  for (guint i = 0; i < 200; i++)
    {
      if (literal[i] == '\r')
        g_string_append (expected, "\\r");
      else if (literal[i] == '\n')
        g_string_append (expected, "\\n");
      else
        g_string_append_c (expected, literal[i]);
    }
  g_string_append (expected, "[… 300 bytes]\n");
  g_assert_nonnull (strstr (trace, expected->str));
  g_assert_nonnull (strstr (trace, "imap S: )\n"));
  g_assert_nonnull (strstr (trace, "imap S: A1 OK done\n"));
  g_assert_cmpuint (count_lines_starting (trace, "imap S: "), ==, 4);

  g_assert_nonnull (strstr (trace, "imap C: A2 APPEND INBOX {5}\nimap C: hello\n"));
  g_assert_nonnull (strstr (trace, "imap C: A3 LOGIN alice {6}\nimap C: ********\n"
                                   "imap C: A4 NOOP\n"));
  g_assert_null (strstr (trace, "secret"));
}

/* POSTBOTE_TRACE turns the trace on without a name; run in a subprocess so the variable is set
 * before any thread exists and never leaks into the other tests. */
static void
test_trace_env (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(Server) server = NULL;
      g_autoptr(PbConnection) connection = NULL;
      g_autofree char *trace = NULL;
      g_autofree char *expected = NULL;

      g_setenv ("POSTBOTE_TRACE", "1", TRUE);
      server = server_start (login_script, NULL);
      connection = pb_connection_new ("127.0.0.1", server->port, PB_SECURITY_NONE);
      pb_connection_set_timeout (connection, 5);

      trace_start ();
      run_login (connection);
      trace = trace_stop ();

      expected = g_strdup_printf ("127.0.0.1:%u C: A1 LOGIN alice ********\n", server->port);
      g_assert_nonnull (strstr (trace, expected));
      g_assert_null (strstr (trace, "secret"));
      return;
    }

  g_test_trap_subprocess (NULL, 10 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* Misc -------------------------------------------------------------------------------------- */

static void
test_certificate_sha256 (void)
{
  g_autofree char *digest = NULL;
  g_autoptr(GString) from_openssl = g_string_new (NULL);

  if (!need_certificates ())
    return;

  digest = pb_certificate_sha256 (certs.self_signed);
  for (const char *p = certs.openssl_fingerprint; *p != '\0'; p++)
    if (*p != ':')
      g_string_append_c (from_openssl, g_ascii_tolower (*p));
  g_assert_cmpstr (digest, ==, from_openssl->str);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *debug = NULL;
  int result;

  /* The trace is on when its domain is listened to; the developer's own trace setting must not
   * change what the tests see. */
  g_unsetenv ("POSTBOTE_TRACE");
  debug = g_strdup (g_getenv ("G_MESSAGES_DEBUG"));
  if (debug == NULL || strstr (debug, "pb-trace") == NULL)
    {
      g_autofree char *value = debug ? g_strconcat (debug, " pb-trace", NULL)
                                     : g_strdup ("pb-trace");

      g_setenv ("G_MESSAGES_DEBUG", value, TRUE);
    }
  g_log_set_writer_func (capture_writer, NULL, NULL);

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/connection/line/crlf-and-lf", test_line_crlf_and_lf);
  g_test_add_func ("/connection/line/max-length", test_line_max_length);
  g_test_add_func ("/connection/line/max-length-split-crlf", test_line_max_length_split_crlf);
  g_test_add_func ("/connection/line/too-long-bounded", test_line_too_long_bounded);
  g_test_add_func ("/connection/line/eof-mid-line", test_line_eof_mid_line);
  g_test_add_func ("/connection/line/split-writes", test_line_split_writes);
  g_test_add_func ("/connection/line/nul", test_line_nul);
  g_test_add_func ("/connection/line/read-after-line", test_line_read_after_line);
  g_test_add_func ("/connection/starttls/injection-same-write",
                   test_starttls_injection_same_write);
  g_test_add_func ("/connection/starttls/injection-separate-write",
                   test_starttls_injection_separate_write);
  g_test_add_func ("/connection/starttls/injection-after-client-read",
                   test_starttls_injection_after_client_read);
  g_test_add_func ("/connection/starttls/success", test_starttls_success);
  g_test_add_func ("/connection/starttls/untrusted", test_starttls_untrusted);
  g_test_add_func ("/connection/starttls/on-implicit-tls", test_starttls_on_implicit_tls);
  g_test_add_func ("/connection/tls/untrusted-self-signed", test_tls_untrusted_self_signed);
  g_test_add_func ("/connection/tls/ca-file", test_tls_ca_file);
  g_test_add_func ("/connection/tls/ca-signed-without-ca-file",
                   test_tls_ca_signed_without_ca_file);
  g_test_add_func ("/connection/tls/ca-file-wrong-host", test_tls_ca_file_wrong_host);
  g_test_add_func ("/connection/tls/ca-file-other-issuer", test_tls_ca_file_other_issuer);
  g_test_add_func ("/connection/tls/pinned", test_tls_pinned);
  g_test_add_func ("/connection/tls/wrong-pin", test_tls_wrong_pin);
  g_test_add_func ("/connection/tls/bad-ca-file", test_tls_bad_ca_file);
  g_test_add_func ("/connection/tls/certificate-sha256", test_certificate_sha256);
  g_test_add_func ("/connection/tls/not-tls", test_tls_not_tls);
  g_test_add_func ("/connection/tls/worker-thread", test_tls_worker_thread);
  g_test_add_func ("/connection/timeout/read", test_timeout_read);
  g_test_add_func ("/connection/timeout/tls-handshake", test_timeout_tls_handshake);
  g_test_add_func ("/connection/unreachable", test_unreachable);
  g_test_add_func ("/connection/cancelled", test_cancelled);
  g_test_add_func ("/connection/trace/redaction", test_trace_redaction);
  g_test_add_func ("/connection/trace/literal-and-pieces", test_trace_literal_and_pieces);
  g_test_add_func ("/connection/trace/off-without-name", test_trace_off_without_name);
  g_test_add_func ("/connection/trace/env", test_trace_env);

  result = g_test_run ();
  remove_certificates ();

  return result;
}
