/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-net"

#include "config.h"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <glib/gi18n.h>

#include "pb-connection.h"
#include "pb-util-private.h"

/* One read from the socket fills at most this much; a TLS record is at most 16 KiB, so larger
 * reads would not return more data per call anyway. */
#define BUFFER_SIZE (16 * 1024)

/* Received lines and literal chunks longer than this are cut in the protocol trace, so a trace
 * of a mailbox sync stays readable and does not become a copy of every message. */
#define TRACE_MAX_BYTES 200

#define DEFAULT_TIMEOUT_SECONDS 60

#define TRACE_LOG_DOMAIN "pb-trace"

/* Enough of the end of a line to recognise a literal announcement such as "{123456}\r\n". */
#define TRACE_TAIL_BYTES 24

/*
 * The trace is assembled from the bytes as they are consumed, whichever call consumed them
 * (read_line(), or read() feeding a protocol parser) and however the reads cut the stream: one
 * entry per line, and one per literal that a line ending in "{N}" announces (IMAP; in other
 * protocols such a line only makes the trace group the next N bytes into one entry).
 */
typedef struct
{
  char     direction;
  /* The start of the current line or literal: what the trace shows of it (plus CRLF). */
  guint8   head[TRACE_MAX_BYTES + 2];
  gsize    head_length;
  guint64  total;
  guint8   tail[TRACE_TAIL_BYTES];
  gsize    tail_length;
  guint64  literal_remaining;
} TraceState;

struct _PbConnection
{
  GObject               parent_instance;

  char                 *host;
  guint16               port;
  PbSecurity            security;

  char                 *ca_file;
  char                 *pinned_sha256;
  guint                 timeout;
  char                 *trace_name;
  gboolean              tracing;
  TraceState            trace_in;
  TraceState            trace_out;

  GSocketClient        *client;
  GSocketConnection    *socket_connection;
  GTlsConnection       *tls;
  /* The streams all I/O goes through: the socket's, or the TLS connection's once TLS is up.
   * Borrowed from socket_connection or tls. */
  GInputStream         *input;
  GOutputStream        *output;

  /* The extra trust anchors from ca_file, loaded when connecting. */
  GTlsDatabase         *extra_database;
  /* What accept-certificate saw, kept after a failed handshake so the UI can offer to pin
   * the certificate. */
  GTlsCertificate      *peer_certificate;
  GTlsCertificateFlags  peer_certificate_errors;
  gboolean              pin_mismatch;
  gboolean              certificate_rejected;

  gboolean              started_tls;

  /* With COMPRESS=DEFLATE (RFC 4978) input and output run through zlib; these own the
   * converter streams that input/output then point to. */
  GInputStream         *inflate;
  GOutputStream        *deflate;

  guint8               *buffer;
  gsize                 buffer_start;
  gsize                 buffer_end;
};

G_DEFINE_FINAL_TYPE (PbConnection, pb_connection, G_TYPE_OBJECT)

G_DEFINE_QUARK (pb-connection-error-quark, pb_connection_error)

static void
pb_connection_dispose (GObject *object)
{
  PbConnection *self = PB_CONNECTION (object);

  pb_connection_close (self);
  g_clear_object (&self->client);
  g_clear_object (&self->extra_database);
  g_clear_object (&self->peer_certificate);

  G_OBJECT_CLASS (pb_connection_parent_class)->dispose (object);
}

static void
pb_connection_finalize (GObject *object)
{
  PbConnection *self = PB_CONNECTION (object);

  g_free (self->host);
  g_free (self->ca_file);
  g_free (self->pinned_sha256);
  g_free (self->trace_name);
  g_free (self->buffer);

  G_OBJECT_CLASS (pb_connection_parent_class)->finalize (object);
}

static void
pb_connection_class_init (PbConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pb_connection_dispose;
  object_class->finalize = pb_connection_finalize;
}

static void
pb_connection_init (PbConnection *self)
{
  self->timeout = DEFAULT_TIMEOUT_SECONDS;
  self->buffer = g_malloc (BUFFER_SIZE);
  self->trace_in.direction = 'S';
  self->trace_out.direction = 'C';
}

/* Tracing ------------------------------------------------------------------------------------ */

/* Control characters and bytes that are not UTF-8 are escaped so that a hostile server cannot
 * forge trace lines or terminal escape sequences, and so the log stays valid UTF-8. */
static void
append_escaped (GString      *out,
                const guint8 *data,
                gsize         length)
{
  gsize i = 0;

  while (i < length)
    {
      guint8 c = data[i];

      if (c == '\r')
        g_string_append (out, "\\r");
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\\')
        g_string_append (out, "\\\\");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\x%02x", c);
      else if (c < 0x80)
        g_string_append_c (out, c);
      else
        {
          gunichar ch = g_utf8_get_char_validated ((const char *) data + i, length - i);

          if (ch == (gunichar) -1 || ch == (gunichar) -2)
            g_string_append_printf (out, "\\x%02x", c);
          else
            {
              const char *next = g_utf8_next_char ((const char *) data + i);
              gsize n = next - ((const char *) data + i);

              g_string_append_len (out, (const char *) data + i, n);
              i += n;
              continue;
            }
        }
      i++;
    }
}

/* Logs one entry: at most TRACE_MAX_BYTES of data, with a note of the full length when cut. */
static void
trace_entry (PbConnection *self,
             char          direction,
             const guint8 *data,
             gsize         available,
             guint64       length)
{
  g_autoptr(GString) text = g_string_new (NULL);

  append_escaped (text, data, MIN (available, MIN (length, TRACE_MAX_BYTES)));
  if (length > TRACE_MAX_BYTES)
    g_string_append_printf (text, "[… %" G_GUINT64_FORMAT " bytes]", length);

  g_log_structured (TRACE_LOG_DOMAIN, G_LOG_LEVEL_DEBUG,
                    "MESSAGE", "%s %c: %s",
                    self->trace_name ? self->trace_name : "", direction, text->str);
}

/* Traces text that stands for itself, line by line, each line without its line ending. */
static void
trace_lines (PbConnection *self,
             char          direction,
             const guint8 *data,
             gsize         length)
{
  while (length > 0)
    {
      const guint8 *newline = memchr (data, '\n', length);
      gsize line_length = newline ? (gsize) (newline - data) : length;
      gsize consumed = newline ? line_length + 1 : length;

      if (newline != NULL && line_length > 0 && data[line_length - 1] == '\r')
        line_length--;
      trace_entry (self, direction, data, line_length, line_length);

      data += consumed;
      length -= consumed;
    }
}

static void
trace_state_append (TraceState   *state,
                    const guint8 *data,
                    gsize         length)
{
  gsize room = sizeof state->head - state->head_length;

  memcpy (state->head + state->head_length, data, MIN (room, length));
  state->head_length += MIN (room, length);
  state->total += length;

  if (length >= TRACE_TAIL_BYTES)
    {
      memcpy (state->tail, data + length - TRACE_TAIL_BYTES, TRACE_TAIL_BYTES);
      state->tail_length = TRACE_TAIL_BYTES;
    }
  else
    {
      gsize keep = MIN (state->tail_length, TRACE_TAIL_BYTES - length);

      memmove (state->tail, state->tail + state->tail_length - keep, keep);
      memcpy (state->tail + keep, data, length);
      state->tail_length = keep + length;
    }
}

static void
trace_state_emit (PbConnection *self,
                  TraceState   *state,
                  guint64       length)
{
  trace_entry (self, state->direction, state->head, state->head_length, length);
  state->head_length = 0;
  state->total = 0;
  state->tail_length = 0;
}

/* The size N of a literal announced by a line ending in "{N}" or "{N+}", or 0. */
static guint64
literal_announced (const guint8 *end_of_line,
                   gsize         length)
{
  gsize digits_end;
  gsize digits_start;
  guint64 value = 0;

  if (length == 0 || end_of_line[length - 1] != '}')
    return 0;
  digits_end = length - 1;
  if (digits_end > 0 && end_of_line[digits_end - 1] == '+')
    digits_end--;
  digits_start = digits_end;
  while (digits_start > 0 && g_ascii_isdigit (end_of_line[digits_start - 1]))
    digits_start--;
  /* 19 digits always fit in 64 bits. */
  if (digits_start == digits_end || digits_end - digits_start > 19 || digits_start == 0
      || end_of_line[digits_start - 1] != '{')
    return 0;

  for (gsize i = digits_start; i < digits_end; i++)
    value = value * 10 + (end_of_line[i] - '0');
  return value;
}

static void
trace_feed (PbConnection *self,
            TraceState   *state,
            const guint8 *data,
            gsize         length)
{
  while (length > 0)
    {
      const guint8 *newline;
      gsize n;

      if (state->literal_remaining > 0)
        {
          n = MIN (length, state->literal_remaining);
          trace_state_append (state, data, n);
          state->literal_remaining -= n;
          data += n;
          length -= n;
          if (state->literal_remaining == 0)
            trace_state_emit (self, state, state->total);
          continue;
        }

      newline = memchr (data, '\n', length);
      n = newline ? (gsize) (newline - data) + 1 : length;
      trace_state_append (state, data, n);
      data += n;
      length -= n;

      if (newline != NULL)
        {
          /* The tail ends with the LF, perhaps after a CR. */
          gsize end = state->tail_length - 1;
          guint64 line_length = state->total - 1;
          guint64 literal;

          if (end > 0 && state->tail[end - 1] == '\r')
            {
              end--;
              line_length--;
            }
          literal = literal_announced (state->tail, end);
          trace_state_emit (self, state, line_length);
          state->literal_remaining = literal;
        }
    }
}

/* Logs what is left of a line or literal that never ended. */
static void
trace_flush (PbConnection *self,
             TraceState   *state)
{
  if (state->total > 0)
    trace_state_emit (self, state, state->total);
}

static void
update_tracing (PbConnection *self)
{
  /* POSTBOTE_TRACE turns the trace on for every connection; otherwise a connection traces only
   * when its client named it and someone listens to the trace domain, so that building the
   * escaped lines costs nothing in normal use. */
  if (g_getenv ("POSTBOTE_TRACE") != NULL)
    self->tracing = TRUE;
  else
    self->tracing = self->trace_name != NULL
                    && !g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, TRACE_LOG_DOMAIN);

  if (self->tracing && self->trace_name == NULL)
    self->trace_name = g_strdup_printf ("%s:%u", self->host, self->port);
}

/* Errors ------------------------------------------------------------------------------------- */

/* Maps an error of the underlying streams to the connection's error domain. Cancellation is
 * passed through unchanged so callers can keep testing for G_IO_ERROR_CANCELLED. */
static void
propagate_io_error (PbConnection  *self,
                    GError        *error,
                    GError       **dest)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (dest, error);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      g_set_error (dest, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_TIMEOUT,
                   ngettext ("The server %s did not answer within %u second",
                             "The server %s did not answer within %u seconds", self->timeout),
                   self->host, self->timeout);
      g_error_free (error);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED)
           || g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_EOF))
    {
      g_set_error_literal (dest, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CLOSED,
                           _("The server closed the connection"));
      g_error_free (error);
    }
  else if (error->domain == G_TLS_ERROR)
    {
      g_set_error (dest, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_TLS,
                   _("TLS error on the connection to %s: %s"), self->host, error->message);
      g_error_free (error);
    }
  else
    {
      g_set_error (dest, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_FAILED,
                   _("Connection to %s failed: %s"), self->host, error->message);
      g_error_free (error);
    }
}

/* A TLS failure while reading an established connection is almost always the connection
 * being cut in the middle of a record; say that, rather than something about decoding. */
static void
propagate_read_error (PbConnection  *self,
                      GError        *error,
                      GError       **dest)
{
  if (error->domain == G_TLS_ERROR && !g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_EOF))
    {
      g_set_error (dest, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CLOSED,
                   _("The connection to %s was lost (%s)"), self->host, error->message);
      g_error_free (error);
      return;
    }
  propagate_io_error (self, error, dest);
}

static gboolean
check_connected (PbConnection  *self,
                 GError       **error)
{
  if (self->input != NULL)
    return TRUE;

  g_set_error_literal (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CLOSED,
                       _("The connection is closed"));
  return FALSE;
}

/* Certificates ------------------------------------------------------------------------------- */

char *
pb_certificate_sha256 (GTlsCertificate *certificate)
{
  g_autoptr(GByteArray) der = NULL;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  g_object_get (certificate, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;

  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
}

/* Compares in time that does not depend on where the strings differ. The digest of a public
 * certificate is hardly a secret, but there is no reason to leak timing either. */
static gboolean
digest_equal (const char *a,
              const char *b)
{
  gsize length = strlen (a);
  guint8 difference = 0;

  if (length != strlen (b))
    return FALSE;

  for (gsize i = 0; i < length; i++)
    difference |= (guint8) a[i] ^ (guint8) b[i];

  return difference == 0;
}

/* Whole sentences, one per reason, so that translations need not glue fragments together. */
static char *
describe_certificate_problem (PbConnection *self)
{
  GTlsCertificateFlags flags = self->peer_certificate_errors;
  g_autoptr(GString) message = g_string_new (NULL);
  gsize reasons_start;

  g_string_printf (message, _("The certificate of %s is not trusted."), self->host);
  reasons_start = message->len;

#define ADD_REASON(text) g_string_append_printf (message, " %s", (text))
  if (self->pin_mismatch)
    ADD_REASON (_("It is not the certificate that was accepted for this server before."));
  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    ADD_REASON (_("It was not issued by a trusted certificate authority."));
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    ADD_REASON (_("It was issued for a different host name."));
  if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    ADD_REASON (_("It is not valid yet."));
  if (flags & G_TLS_CERTIFICATE_EXPIRED)
    ADD_REASON (_("It has expired."));
  if (flags & G_TLS_CERTIFICATE_REVOKED)
    ADD_REASON (_("It has been revoked."));
  if (flags & G_TLS_CERTIFICATE_INSECURE)
    ADD_REASON (_("It uses an insecure algorithm."));
  if ((flags & G_TLS_CERTIFICATE_GENERIC_ERROR) || message->len == reasons_start)
    ADD_REASON (_("It could not be verified."));
#undef ADD_REASON

  return g_string_free (g_steal_pointer (&message), FALSE);
}

/* Called only when verification against the system trust store failed; glib-networking emits
 * it synchronously on the thread that called g_tls_connection_handshake(). Everything accepted
 * here is an explicit choice of the user: the pinned certificate, or one that chains to the CA
 * file configured for this server and names this host. Either is enough: both only add trust. */
static gboolean
accept_certificate_cb (GTlsConnection       *tls,
                       GTlsCertificate      *peer_certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  PbConnection *self = user_data;

  g_set_object (&self->peer_certificate, peer_certificate);
  self->peer_certificate_errors = errors;
  self->pin_mismatch = FALSE;

  if (self->pinned_sha256 != NULL)
    {
      g_autofree char *digest = pb_certificate_sha256 (peer_certificate);

      if (digest != NULL && digest_equal (digest, self->pinned_sha256))
        return TRUE;
      self->pin_mismatch = TRUE;
    }

  if (self->extra_database != NULL)
    {
      /* The handshake verified against the account's CA file alone (@errors is its verdict);
       * the system store still counts, so ask it now. */
      g_autoptr(GSocketConnectable) identity = g_network_address_new (self->host, self->port);
      g_autoptr(GTlsDatabase) system = g_tls_backend_get_default_database (g_tls_backend_get_default ());
      g_autoptr(GError) error = NULL;
      GTlsCertificateFlags flags = G_TLS_CERTIFICATE_UNKNOWN_CA;

      if (system != NULL)
        {
          flags = g_tls_database_verify_chain (system, peer_certificate,
                                               G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                               identity, NULL, G_TLS_DATABASE_VERIFY_NONE, NULL,
                                               &error);
          if (flags == 0 && error == NULL)
            return TRUE;
          if (error != NULL)
            g_debug ("Verifying %s against the system store failed: %s", self->host,
                     error->message);
        }

      /* If it chains to the configured CA, what is wrong is not the authority: tell the user
       * the real reason (say, the host name). */
      self->peer_certificate_errors = !(errors & G_TLS_CERTIFICATE_UNKNOWN_CA) ? errors : flags;
    }

  self->certificate_rejected = TRUE;
  return FALSE;
}

static gboolean
load_extra_database (PbConnection  *self,
                     GError       **error)
{
  g_autolist(GTlsCertificate) certificates = NULL;
  g_autoptr(GError) local_error = NULL;

  if (self->ca_file == NULL || self->extra_database != NULL)
    return TRUE;

  /* GTlsFileDatabase happily loads a file without certificates; a typo in the path or a file
   * of the wrong kind should be reported as such instead of as an untrusted server. */
  certificates = g_tls_certificate_list_new_from_file (self->ca_file, &local_error);
  if (certificates == NULL && local_error == NULL)
    {
      g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_FAILED,
                   _("The file %s contains no CA certificate"), self->ca_file);
      return FALSE;
    }
  if (certificates == NULL)
    {
      g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_FAILED,
                   _("Could not load the CA certificates from %s: %s"), self->ca_file,
                   local_error->message);
      return FALSE;
    }

  self->extra_database = G_TLS_DATABASE (g_tls_file_database_new (self->ca_file, &local_error));
  if (self->extra_database == NULL)
    {
      g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_FAILED,
                   _("Could not load the CA certificates from %s: %s"), self->ca_file,
                   local_error->message);
      return FALSE;
    }

  return TRUE;
}

/* Wraps the socket in TLS and handshakes. On failure the connection is closed, but the peer
 * certificate is kept. */
static gboolean
handshake (PbConnection  *self,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(GSocketConnectable) identity = NULL;
  g_autoptr(GIOStream) tls_stream = NULL;
  g_autoptr(GError) local_error = NULL;

  g_assert (self->socket_connection != NULL);
  g_assert (self->tls == NULL);

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_set_error_literal (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_TLS,
                           _("TLS is not available (is glib-networking installed?)"));
      pb_connection_close (self);
      return FALSE;
    }

  /* The server identity is the host as the user typed it: a name is checked against the DNS
   * names of the certificate, an IP address against its IP address entries. */
  identity = g_network_address_new (self->host, self->port);
  /* With a CA file of its own the connection verifies against that file first, and the
   * system store is consulted only if that fails (in accept-certificate). Loading the
   * system store costs GnuTLS about 30 ms, 40% of a no-change resync. */
  tls_stream = g_initable_new (g_tls_backend_get_client_connection_type (g_tls_backend_get_default ()),
                               NULL, &local_error,
                               "base-io-stream", self->socket_connection,
                               "server-identity", identity,
                               self->extra_database ? "database" : NULL, self->extra_database,
                               NULL);
  if (tls_stream == NULL)
    {
      g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_TLS,
                   _("Could not set up TLS for %s: %s"), self->host, local_error->message);
      pb_connection_close (self);
      return FALSE;
    }

  /* Mail protocols delimit their own data, so a truncation attack cannot go unnoticed, and
   * many servers drop the connection without close_notify after LOGOUT or QUIT. */
  g_tls_connection_set_require_close_notify (G_TLS_CONNECTION (tls_stream), FALSE);
  g_signal_connect (tls_stream, "accept-certificate", G_CALLBACK (accept_certificate_cb), self);

  g_clear_object (&self->peer_certificate);
  self->peer_certificate_errors = 0;
  self->pin_mismatch = FALSE;
  self->certificate_rejected = FALSE;

  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls_stream), cancellable, &local_error))
    {
      /* A rejected certificate fails the handshake with a generic "unacceptable certificate";
       * the reasons are what accept-certificate saw. */
      if (self->certificate_rejected)
        {
          g_autofree char *message = describe_certificate_problem (self);

          g_set_error_literal (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CERTIFICATE,
                               message);
        }
      else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
               || g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        propagate_io_error (self, g_steal_pointer (&local_error), error);
      else if (g_error_matches (local_error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS))
        g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_TLS,
                     _("The server %s:%u does not speak TLS"), self->host, self->port);
      else
        g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_TLS,
                     _("The TLS handshake with %s:%u failed: %s"), self->host, self->port,
                     local_error->message);

      /* No close_notify on a session that never came up: just drop the socket. */
      g_signal_handlers_disconnect_by_func (tls_stream, accept_certificate_cb, self);
      pb_connection_close (self);
      return FALSE;
    }

  /* accept-certificate only runs for certificates the system store rejects. */
  if (self->peer_certificate == NULL)
    {
      GTlsCertificate *peer = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (tls_stream));

      g_set_object (&self->peer_certificate, peer);
    }

  self->tls = G_TLS_CONNECTION (g_steal_pointer (&tls_stream));
  self->input = g_io_stream_get_input_stream (G_IO_STREAM (self->tls));
  self->output = g_io_stream_get_output_stream (G_IO_STREAM (self->tls));

  return TRUE;
}

/* Public API --------------------------------------------------------------------------------- */

PbConnection *
pb_connection_new (const char *host,
                   guint16     port,
                   PbSecurity  security)
{
  PbConnection *self;

  g_return_val_if_fail (host != NULL && *host != '\0', NULL);
  g_return_val_if_fail (port != 0, NULL);

  self = g_object_new (PB_TYPE_CONNECTION, NULL);
  self->host = g_strdup (host);
  self->port = port;
  self->security = security;
  update_tracing (self);

  return self;
}

PbConnection *
pb_connection_new_for_service (PbService *service)
{
  PbConnection *self;

  g_return_val_if_fail (PB_IS_SERVICE (service), NULL);

  self = pb_connection_new (pb_service_get_host (service),
                            pb_service_get_port (service),
                            pb_service_get_security (service));
  pb_connection_set_ca_file (self, pb_service_get_ca_file (service));
  pb_connection_set_pinned_sha256 (self, pb_service_get_pinned_sha256 (service));

  return self;
}

void
pb_connection_set_ca_file (PbConnection *self,
                           const char   *ca_file)
{
  g_return_if_fail (PB_IS_CONNECTION (self));

  if (ca_file != NULL && *ca_file == '\0')
    ca_file = NULL;
  if (pb_set_str (&self->ca_file, ca_file))
    g_clear_object (&self->extra_database);
}

/* Accepts the digest as lowercase hex as documented, and is lenient about upper case and
 * colons (the form most tools print fingerprints in). */
void
pb_connection_set_pinned_sha256 (PbConnection *self,
                                 const char   *sha256_hex)
{
  g_autoptr(GString) normalized = NULL;

  g_return_if_fail (PB_IS_CONNECTION (self));

  if (sha256_hex == NULL || *sha256_hex == '\0')
    {
      g_clear_pointer (&self->pinned_sha256, g_free);
      return;
    }

  normalized = g_string_new (NULL);
  for (const char *p = sha256_hex; *p != '\0'; p++)
    if (*p != ':')
      g_string_append_c (normalized, g_ascii_tolower (*p));

  g_free (self->pinned_sha256);
  self->pinned_sha256 = g_string_free (g_steal_pointer (&normalized), FALSE);
}

void
pb_connection_set_timeout (PbConnection *self,
                           guint         seconds)
{
  g_return_if_fail (PB_IS_CONNECTION (self));

  self->timeout = seconds;
  if (self->client != NULL)
    g_socket_client_set_timeout (self->client, seconds);
  if (self->socket_connection != NULL)
    g_socket_set_timeout (g_socket_connection_get_socket (self->socket_connection), seconds);
}

void
pb_connection_set_trace_name (PbConnection *self,
                              const char   *name)
{
  g_return_if_fail (PB_IS_CONNECTION (self));

  g_free (self->trace_name);
  self->trace_name = g_strdup (name);
  update_tracing (self);
}

/* GSocketClient's messages repeat "Could not connect to HOST", which our message says already;
 * the common reasons are put in plain words, anything else keeps its own message. */
static const char *
describe_connect_error (const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return _("the connection was refused");
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE))
    return _("the host is unreachable");
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    return _("the network is unreachable");
  if (g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
    return _("the host name was not found");
  if (g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE))
    return _("the host name could not be looked up");

  return error->message;
}

gboolean
pb_connection_connect (PbConnection  *self,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(GSocketConnectable) address = NULL;
  g_autoptr(GError) local_error = NULL;
  GSocket *socket;

  g_return_val_if_fail (PB_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->socket_connection != NULL)
    {
      g_set_error_literal (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_FAILED,
                           _("The connection is already open"));
      return FALSE;
    }

  /* A broken CA file is a configuration error: report it before touching the network. */
  if (!load_extra_database (self, error))
    return FALSE;

  if (self->client == NULL)
    self->client = g_socket_client_new ();
  g_socket_client_set_timeout (self->client, self->timeout);

  address = g_network_address_new (self->host, self->port);
  self->socket_connection = g_socket_client_connect (self->client, address, cancellable,
                                                     &local_error);
  if (self->socket_connection == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
          || g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        propagate_io_error (self, g_steal_pointer (&local_error), error);
      else
        g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_UNREACHABLE,
                     _("Could not connect to %s:%u: %s"), self->host, self->port,
                     describe_connect_error (local_error));
      return FALSE;
    }

  /* Without TCP_NODELAY, Nagle's algorithm and the server's delayed ACK cost about 40 ms on
   * every command/response round trip. Callers coalesce their writes instead. */
  socket = g_socket_connection_get_socket (self->socket_connection);
  if (g_socket_get_family (socket) != G_SOCKET_FAMILY_UNIX)
    {
      g_autoptr(GError) option_error = NULL;

      if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &option_error))
        g_debug ("Could not set TCP_NODELAY: %s", option_error->message);
    }

  self->input = g_io_stream_get_input_stream (G_IO_STREAM (self->socket_connection));
  self->output = g_io_stream_get_output_stream (G_IO_STREAM (self->socket_connection));
  self->buffer_start = self->buffer_end = 0;
  self->started_tls = FALSE;

  if (self->security == PB_SECURITY_TLS)
    return handshake (self, cancellable, error);

  return TRUE;
}

gboolean
pb_connection_start_tls (PbConnection  *self,
                         GCancellable  *cancellable,
                         GError       **error)
{
  GSocket *socket;

  g_return_val_if_fail (PB_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_connected (self, error))
    return FALSE;

  if (self->tls != NULL || self->started_tls)
    {
      g_set_error_literal (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_FAILED,
                           _("TLS is already active on this connection"));
      return FALSE;
    }

  /* Anything the server sent after its go-ahead would be read as if it had come through TLS
   * (CVE-2011-0411): it can only be an injection by someone in the path. The same goes for
   * bytes that have reached the socket but not our buffer yet. */
  socket = g_socket_connection_get_socket (self->socket_connection);
  if (self->buffer_end > self->buffer_start || g_socket_get_available_bytes (socket) > 0)
    {
      g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_STARTTLS_INJECTION,
                   _("The server %s sent data after agreeing to start TLS; this can be an attack "
                     "on the connection, so it was closed"), self->host);
      pb_connection_close (self);
      return FALSE;
    }

  self->started_tls = TRUE;
  return handshake (self, cancellable, error);
}

gboolean
pb_connection_is_tls (PbConnection *self)
{
  g_return_val_if_fail (PB_IS_CONNECTION (self), FALSE);

  return self->tls != NULL;
}

gsize
pb_connection_get_buffered (PbConnection *self)
{
  g_return_val_if_fail (PB_IS_CONNECTION (self), 0);

  return self->buffer_end - self->buffer_start;
}

/* Reads once into the (empty) buffer. EOF is an error: every protocol we speak knows when the
 * server is done, so a closed stream is never the expected answer. */
static gboolean
fill_buffer (PbConnection  *self,
             gboolean       mid_line,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gssize n;

  g_assert (self->buffer_start == self->buffer_end);

  if (!check_connected (self, error))
    return FALSE;

  self->buffer_start = self->buffer_end = 0;
  n = g_input_stream_read (self->input, self->buffer, BUFFER_SIZE, cancellable, &local_error);
  if (n < 0)
    {
      propagate_read_error (self, g_steal_pointer (&local_error), error);
      return FALSE;
    }
  if (n == 0)
    {
      g_set_error_literal (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CLOSED,
                           mid_line ? _("The server closed the connection in the middle of a line")
                                    : _("The server closed the connection"));
      return FALSE;
    }

  self->buffer_end = n;
  return TRUE;
}

char *
pb_connection_read_line (PbConnection  *self,
                         gsize          max_length,
                         gsize         *out_length,
                         GCancellable  *cancellable,
                         GError       **error)
{
  /* Used only when a line spans more than one read; bounded by max_length + 1. */
  g_autoptr(GByteArray) partial = NULL;

  g_return_val_if_fail (PB_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (;;)
    {
      const guint8 *data;
      const guint8 *newline;
      gsize available;
      gsize take;
      gsize total;
      gsize line_length;
      char *line;

      if (self->buffer_start == self->buffer_end
          && !fill_buffer (self, partial != NULL && partial->len > 0, cancellable, error))
        return NULL;

      data = self->buffer + self->buffer_start;
      available = self->buffer_end - self->buffer_start;
      newline = memchr (data, '\n', available);
      take = newline ? (gsize) (newline - data) + 1 : available;
      total = (partial ? partial->len : 0) + take;

      if (newline == NULL)
        {
          /* A trailing CR may still turn out to be part of the line ending. */
          if (total > max_length + 1 || (total == max_length + 1 && data[take - 1] != '\r'))
            goto too_long;

          if (partial == NULL)
            partial = g_byte_array_sized_new (MIN (max_length + 2, 2 * BUFFER_SIZE));
          g_byte_array_append (partial, data, take);
          if (self->tracing)
            trace_feed (self, &self->trace_in, data, take);
          self->buffer_start += take;
          continue;
        }

      /* Strip the LF and, if present, the CR before it. */
      line_length = total - 1;
      if (line_length > 0)
        {
          guint8 before = take >= 2 ? data[take - 2] : partial->data[partial->len - 1];

          if (before == '\r')
            line_length--;
        }
      if (line_length > max_length)
        goto too_long;

      line = g_malloc (line_length + 1);
      if (partial != NULL)
        {
          gsize from_partial = MIN (partial->len, line_length);

          memcpy (line, partial->data, from_partial);
          memcpy (line + from_partial, data, line_length - from_partial);
        }
      else
        memcpy (line, data, line_length);
      line[line_length] = '\0';
      if (self->tracing)
        trace_feed (self, &self->trace_in, data, take);
      self->buffer_start += take;

      if (out_length != NULL)
        *out_length = line_length;
      return line;

    too_long:
      /* Drop what was read of the line: memory stays bounded, and when the end of the line is
       * already here the stream is even back in sync. */
      if (self->tracing)
        trace_feed (self, &self->trace_in, data, take);
      self->buffer_start += take;
      g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_LINE_TOO_LONG,
                   _("The server %s sent a line longer than %lu bytes"), self->host,
                   (gulong) max_length);
      return NULL;
    }
}

gssize
pb_connection_read (PbConnection  *self,
                    guint8        *buffer,
                    gsize          size,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gssize n;

  g_return_val_if_fail (PB_IS_CONNECTION (self), -1);
  g_return_val_if_fail (buffer != NULL || size == 0, -1);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  if (size == 0)
    return 0;

  if (self->buffer_end > self->buffer_start)
    {
      n = MIN (size, self->buffer_end - self->buffer_start);
      memcpy (buffer, self->buffer + self->buffer_start, n);
      self->buffer_start += n;
    }
  else
    {
      if (!check_connected (self, error))
        return -1;

      /* Read straight into the caller's buffer: large literals need no extra copy. */
      n = g_input_stream_read (self->input, buffer, MIN (size, G_MAXSSIZE), cancellable,
                               &local_error);
      if (n < 0)
        {
          propagate_read_error (self, g_steal_pointer (&local_error), error);
          return -1;
        }
      if (n == 0)
        {
          g_set_error_literal (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CLOSED,
                               _("The server closed the connection"));
          return -1;
        }
    }

  if (self->tracing)
    trace_feed (self, &self->trace_in, buffer, n);

  return n;
}

gboolean
pb_connection_write (PbConnection  *self,
                     const char    *data,
                     gssize         length,
                     const char    *trace_as,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (PB_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (length < 0)
    length = strlen (data);

  if (!check_connected (self, error))
    return FALSE;

  /* trace_as replaces the data entirely, so a client hides a password by passing a redacted
   * copy of the command; the real bytes never reach the log, not even into the trace state. */
  if (self->tracing && trace_as != NULL)
    {
      TraceState *state = &self->trace_out;

      trace_flush (self, state);
      trace_lines (self, 'C', (const guint8 *) trace_as, strlen (trace_as));
      /* The data may be (part of) an announced literal, say a password sent as one. */
      state->literal_remaining -= MIN (state->literal_remaining, (guint64) length);
    }
  else if (self->tracing)
    trace_feed (self, &self->trace_out, (const guint8 *) data, length);

  if (!g_output_stream_write_all (self->output, data, length, NULL, cancellable, &local_error)
      || (self->deflate != NULL
          && !g_output_stream_flush (self->output, cancellable, &local_error)))
    {
      propagate_io_error (self, g_steal_pointer (&local_error), error);
      return FALSE;
    }

  return TRUE;
}

/**
 * pb_connection_start_compress:
 *
 * Turns on raw DEFLATE in both directions (RFC 4978), right after the server agreed. Every
 * write is then flushed with a zlib sync flush so that a command reaches the server whole.
 * Fails if bytes are buffered already: they would be compressed data read as plain text.
 */
gboolean
pb_connection_start_compress (PbConnection  *self,
                              GError       **error)
{
  g_autoptr(GZlibDecompressor) decompressor = NULL;
  g_autoptr(GZlibCompressor) compressor = NULL;

  g_return_val_if_fail (PB_IS_CONNECTION (self), FALSE);

  if (!check_connected (self, error))
    return FALSE;
  if (self->deflate != NULL)
    {
      g_set_error_literal (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_FAILED,
                           _("Compression is already active on this connection"));
      return FALSE;
    }
  if (self->buffer_end > self->buffer_start)
    {
      g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_FAILED,
                   _("The server %s sent data before compression started"), self->host);
      return FALSE;
    }

  decompressor = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW);
  compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW, 6);
  self->inflate = g_converter_input_stream_new (self->input, G_CONVERTER (decompressor));
  self->deflate = g_converter_output_stream_new (self->output, G_CONVERTER (compressor));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (self->inflate), FALSE);
  g_filter_output_stream_set_close_base_stream (G_FILTER_OUTPUT_STREAM (self->deflate), FALSE);
  self->input = self->inflate;
  self->output = self->deflate;
  return TRUE;
}

gboolean
pb_connection_is_compressed (PbConnection *self)
{
  g_return_val_if_fail (PB_IS_CONNECTION (self), FALSE);
  return self->deflate != NULL;
}

void
pb_connection_close (PbConnection *self)
{
  g_return_if_fail (PB_IS_CONNECTION (self));

  self->input = NULL;
  self->output = NULL;
  self->buffer_start = self->buffer_end = 0;
  /* They do not own the streams under them (close-base-stream is off). */
  g_clear_object (&self->inflate);
  g_clear_object (&self->deflate);

  if (self->tracing)
    {
      trace_flush (self, &self->trace_in);
      trace_flush (self, &self->trace_out);
    }
  self->trace_in.literal_remaining = 0;
  self->trace_out.literal_remaining = 0;

  /* Closing the TLS connection sends close_notify and closes the socket under it. */
  if (self->tls != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->tls, accept_certificate_cb, self);
      g_io_stream_close (G_IO_STREAM (self->tls), NULL, NULL);
      g_clear_object (&self->tls);
    }
  if (self->socket_connection != NULL)
    {
      g_io_stream_close (G_IO_STREAM (self->socket_connection), NULL, NULL);
      g_clear_object (&self->socket_connection);
    }
}

GTlsCertificate *
pb_connection_get_peer_certificate (PbConnection *self)
{
  g_return_val_if_fail (PB_IS_CONNECTION (self), NULL);

  return self->peer_certificate;
}
