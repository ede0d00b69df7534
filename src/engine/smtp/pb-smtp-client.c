/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-smtp"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "pb-connection.h"
#include "pb-fault.h"
#include "pb-credentials.h"
#include "pb-sasl.h"
#include "pb-smtp-client.h"

/* Chunks of the message written at once (DATA) or announced per BDAT. */
#define WRITE_CHUNK (64 * 1024)
#define BDAT_CHUNK  (1024 * 1024)

struct _PbSmtpClient
{
  GObject             parent_instance;

  PbService          *service;
  PbConnection       *connection;
  PbSmtpReplyParser  *parser;
  GByteArray         *input;       /* read but not yet parsed */
  GHashTable         *extensions;  /* upper-case keyword -> parameters ("" for none) */
  guint64             size_limit;
  gboolean            esmtp;
  gboolean            broken;
};

G_DEFINE_FINAL_TYPE (PbSmtpClient, pb_smtp_client, G_TYPE_OBJECT)

static void
pb_smtp_client_dispose (GObject *object)
{
  PbSmtpClient *self = PB_SMTP_CLIENT (object);

  if (self->connection != NULL)
    pb_connection_close (self->connection);
  g_clear_object (&self->connection);
  g_clear_object (&self->service);

  G_OBJECT_CLASS (pb_smtp_client_parent_class)->dispose (object);
}

static void
pb_smtp_client_finalize (GObject *object)
{
  PbSmtpClient *self = PB_SMTP_CLIENT (object);

  g_clear_pointer (&self->parser, pb_smtp_reply_parser_free);
  g_byte_array_unref (self->input);
  g_hash_table_unref (self->extensions);

  G_OBJECT_CLASS (pb_smtp_client_parent_class)->finalize (object);
}

static void
pb_smtp_client_class_init (PbSmtpClientClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pb_smtp_client_dispose;
  G_OBJECT_CLASS (klass)->finalize = pb_smtp_client_finalize;
}

static void
pb_smtp_client_init (PbSmtpClient *self)
{
  self->input = g_byte_array_new ();
  self->extensions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

PbSmtpClient *
pb_smtp_client_new (PbService *service)
{
  PbSmtpClient *self;

  g_return_val_if_fail (PB_IS_SERVICE (service), NULL);

  self = g_object_new (PB_TYPE_SMTP_CLIENT, NULL);
  self->service = g_object_ref (service);
  return self;
}

gboolean
pb_smtp_client_is_usable (PbSmtpClient *self)
{
  g_return_val_if_fail (PB_IS_SMTP_CLIENT (self), FALSE);
  return self->connection != NULL && !self->broken;
}

gboolean
pb_smtp_client_has_extension (PbSmtpClient *self,
                              const char   *keyword)
{
  g_autofree char *upper = g_ascii_strup (keyword, -1);

  g_return_val_if_fail (PB_IS_SMTP_CLIENT (self), FALSE);
  return g_hash_table_contains (self->extensions, upper);
}

guint64
pb_smtp_client_get_size_limit (PbSmtpClient *self)
{
  g_return_val_if_fail (PB_IS_SMTP_CLIENT (self), 0);
  return self->size_limit;
}

static gboolean
write_data (PbSmtpClient  *self,
            const char    *data,
            gsize          length,
            const char    *trace_as,
            GCancellable  *cancellable,
            GError       **error)
{
  if (!pb_connection_write (self->connection, data, length, trace_as, cancellable, error))
    {
      self->broken = TRUE;
      return FALSE;
    }
  return TRUE;
}

/* Reads the next reply; pipelined replies come out one by one, in order. */
static PbSmtpReply *
read_reply (PbSmtpClient  *self,
            GCancellable  *cancellable,
            GError       **error)
{
  for (;;)
    {
      PbSmtpReply *reply = NULL;
      guint8 buffer[4096];
      gssize n;

      if (self->input->len > 0)
        {
          n = pb_smtp_reply_parser_feed (self->parser, self->input->data, self->input->len,
                                         &reply, error);
          if (n < 0)
            {
              self->broken = TRUE;
              return NULL;
            }
          g_byte_array_remove_range (self->input, 0, n);
          if (reply != NULL)
            return reply;
        }
      /* The parser took everything, so the buffer holds at most one read. */
      g_assert (self->input->len == 0);
      n = pb_connection_read (self->connection, buffer, sizeof buffer, cancellable, error);
      if (n < 0)
        {
          self->broken = TRUE;
          return NULL;
        }
      g_byte_array_append (self->input, buffer, n);
    }
}

/* An error for a 4xx/5xx reply: @what says what was refused, the server's words follow
 * literally. */
static void
set_reply_error (GError            **error,
                 const PbSmtpReply  *reply,
                 const char         *what)
{
  g_autofree char *text = pb_smtp_reply_to_string (reply);

  g_set_error (error, PB_SMTP_ERROR,
               reply->code >= 500 ? PB_SMTP_ERROR_PERMANENT
               : reply->code >= 400 ? PB_SMTP_ERROR_TEMPORARY : PB_SMTP_ERROR_PROTOCOL,
               "%s: %s", what, text);
}

/* Sends one command line and reads its reply. @trace_as replaces the line in the protocol
 * trace (for credentials). */
static PbSmtpReply *
command (PbSmtpClient  *self,
         const char    *line,
         const char    *trace_as,
         GCancellable  *cancellable,
         GError       **error)
{
  g_autofree char *full = g_strconcat (line, "\r\n", NULL);
  g_autofree char *trace = trace_as ? g_strconcat (trace_as, "\r\n", NULL) : NULL;

  if (!write_data (self, full, strlen (full), trace, cancellable, error))
    return NULL;
  return read_reply (self, cancellable, error);
}

static void
parse_ehlo (PbSmtpClient      *self,
            const PbSmtpReply *reply)
{
  g_hash_table_remove_all (self->extensions);
  self->size_limit = 0;
  /* The first line is the server's greeting name, the others one extension each. */
  for (guint i = 1; reply->lines[i] != NULL; i++)
    {
      const char *line = reply->lines[i];
      const char *space = strpbrk (line, " =");
      g_autofree char *keyword = g_ascii_strup (line, space ? space - line : -1);
      const char *params = space ? space + 1 : "";

      if (*keyword == '\0')
        continue;
      /* Old servers announce "AUTH=PLAIN LOGIN"; merge it with "AUTH PLAIN". */
      if (g_hash_table_contains (self->extensions, keyword))
        {
          const char *old = g_hash_table_lookup (self->extensions, keyword);
          g_hash_table_insert (self->extensions, g_strdup (keyword),
                               g_strconcat (old, " ", params, NULL));
        }
      else
        g_hash_table_insert (self->extensions, g_strdup (keyword), g_strdup (params));
      if (g_str_equal (keyword, "SIZE"))
        self->size_limit = g_ascii_strtoull (params, NULL, 10);
    }
}

/* EHLO, or HELO when the server does not know EHLO (then: no extensions at all). */
static gboolean
greet (PbSmtpClient  *self,
       GCancellable  *cancellable,
       GError       **error)
{
  g_autoptr(PbSmtpReply) reply = NULL;

  /* An address literal rather than our host name: it identifies nothing about the user. */
  reply = command (self, "EHLO [127.0.0.1]", NULL, cancellable, error);
  if (reply == NULL)
    return FALSE;
  if (reply->code / 100 == 2)
    {
      self->esmtp = TRUE;
      parse_ehlo (self, reply);
      return TRUE;
    }
  if (reply->code / 100 == 4)
    {
      set_reply_error (error, reply, _("The server refused the greeting"));
      return FALSE;
    }
  g_clear_pointer (&reply, pb_smtp_reply_free);
  reply = command (self, "HELO [127.0.0.1]", NULL, cancellable, error);
  if (reply == NULL)
    return FALSE;
  if (reply->code / 100 != 2)
    {
      set_reply_error (error, reply, _("The server refused the greeting"));
      return FALSE;
    }
  self->esmtp = FALSE;
  g_hash_table_remove_all (self->extensions);
  self->size_limit = 0;
  return TRUE;
}

gboolean
pb_smtp_client_connect (PbSmtpClient  *self,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(PbSmtpReply) greeting = NULL;
  g_autofree char *trace_name = NULL;
  const char *host;

  g_return_val_if_fail (PB_IS_SMTP_CLIENT (self), FALSE);
  g_return_val_if_fail (self->connection == NULL, FALSE);

  host = pb_service_get_host (self->service);
  self->parser = pb_smtp_reply_parser_new ();
  self->connection = pb_connection_new_for_service (self->service);
  trace_name = g_strdup_printf ("smtp %s", host);
  pb_connection_set_trace_name (self->connection, trace_name);
  if (!pb_connection_connect (self->connection, cancellable, error))
    {
      self->broken = TRUE;
      return FALSE;
    }

  greeting = read_reply (self, cancellable, error);
  if (greeting == NULL)
    return FALSE;
  if (greeting->code != 220)
    {
      self->broken = TRUE;
      set_reply_error (error, greeting,
                       _("The mail server does not accept connections"));
      return FALSE;
    }
  if (!greet (self, cancellable, error))
    return FALSE;

  if (pb_service_get_security (self->service) == PB_SECURITY_STARTTLS)
    {
      g_autoptr(PbSmtpReply) reply = NULL;

      if (!pb_smtp_client_has_extension (self, "STARTTLS"))
        {
          self->broken = TRUE;
          g_set_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_STARTTLS_UNAVAILABLE,
                       _("The server at %s does not offer STARTTLS, so the connection cannot "
                         "be encrypted; nothing was sent. Use smtps:// if the server supports "
                         "implicit TLS"), host);
          return FALSE;
        }
      reply = command (self, "STARTTLS", NULL, cancellable, error);
      if (reply == NULL)
        return FALSE;
      if (reply->code != 220)
        {
          self->broken = TRUE;
          set_reply_error (error, reply, _("The server refused to start encryption"));
          return FALSE;
        }
      /* Bytes after the go-ahead arrived unencrypted and would be read as if they came over
       * TLS: a command injection (CVE-2011-0411 class). */
      if (self->input->len > 0 || pb_smtp_reply_parser_is_pending (self->parser)
          || pb_connection_get_buffered (self->connection) > 0)
        {
          self->broken = TRUE;
          g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_STARTTLS_INJECTION,
                       _("The server at %s sent data after agreeing to STARTTLS; the "
                         "connection was closed because it may have been tampered with"), host);
          return FALSE;
        }
      if (!pb_connection_start_tls (self->connection, cancellable, error))
        {
          self->broken = TRUE;
          return FALSE;
        }
      /* What the server said before encryption cannot be trusted: ask again. */
      if (!greet (self, cancellable, error))
        return FALSE;
    }
  return TRUE;
}

/* Picks the mechanism: the kind of secret decides the family, the server's offer the member. */
static const char *
pick_mechanism (PbSmtpClient *self,
                PbSmtpAuth    auth)
{
  const char *offered = g_hash_table_lookup (self->extensions, "AUTH");
  g_auto(GStrv) mechanisms = g_strsplit (offered ? offered : "", " ", -1);
  static const char *password_order[] = { "PLAIN", "LOGIN", NULL };
  static const char *oauth_order[] = { "OAUTHBEARER", "XOAUTH2", NULL };
  const char **order = auth == PB_SMTP_AUTH_OAUTH ? oauth_order : password_order;

  for (guint i = 0; order[i] != NULL; i++)
    for (guint j = 0; mechanisms[j] != NULL; j++)
      if (g_ascii_strcasecmp (mechanisms[j], order[i]) == 0)
        return order[i];
  return NULL;
}

static gboolean
auth_result (PbSmtpClient  *self,
             PbSmtpReply   *reply,
             GError       **error)
{
  if (reply->code == 235)
    return TRUE;
  if (reply->code / 100 == 4)
    set_reply_error (error, reply, _("The server cannot log in now"));
  else
    {
      g_autofree char *text = pb_smtp_reply_to_string (reply);
      g_set_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_AUTHENTICATION_FAILED,
                   _("The server at %s rejected the login: %s"),
                   pb_service_get_host (self->service), text);
    }
  return FALSE;
}

gboolean
pb_smtp_client_authenticate (PbSmtpClient  *self,
                             PbSmtpAuth     auth,
                             const char    *secret,
                             GCancellable  *cancellable,
                             GError       **error)
{
  g_autoptr(PbSmtpReply) reply = NULL;
  const char *user, *mechanism, *host;
  char *response = NULL;
  char *line;

  g_return_val_if_fail (PB_IS_SMTP_CLIENT (self), FALSE);
  g_return_val_if_fail (secret != NULL, FALSE);

  host = pb_service_get_host (self->service);
  user = pb_service_get_user (self->service);
  if (!pb_smtp_client_has_extension (self, "AUTH"))
    return TRUE;
  /* Belt and braces: connect() already refused to continue without TLS. */
  if (!pb_connection_is_tls (self->connection)
      && pb_service_get_security (self->service) != PB_SECURITY_NONE)
    {
      g_set_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_NO_AUTH_MECHANISM,
                   _("Refusing to log in to %s over an unencrypted connection"), host);
      return FALSE;
    }
  mechanism = pick_mechanism (self, auth);
  if (mechanism == NULL)
    {
      const char *offered = g_hash_table_lookup (self->extensions, "AUTH");
      g_set_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_NO_AUTH_MECHANISM,
                   auth == PB_SMTP_AUTH_OAUTH
                   ? _("The server at %s offers no OAuth login (it offers: %s)")
                   : _("The server at %s offers no password login (it offers: %s)"),
                   host, offered);
      return FALSE;
    }

  if (g_str_equal (mechanism, "LOGIN"))
    {
      g_autoptr(PbSmtpReply) step = NULL;
      g_autofree char *user64 = pb_sasl_login_response (user);

      reply = command (self, "AUTH LOGIN", NULL, cancellable, error);
      if (reply == NULL)
        return FALSE;
      if (reply->code != 334)
        return auth_result (self, reply, error);
      step = command (self, user64, NULL, cancellable, error);
      if (step == NULL)
        return FALSE;
      if (step->code != 334)
        return auth_result (self, step, error);
      g_clear_pointer (&reply, pb_smtp_reply_free);
      response = pb_sasl_login_response (secret);
      reply = command (self, response, "[password]", cancellable, error);
      pb_password_free (response);
      return reply != NULL && auth_result (self, reply, error);
    }

  if (g_str_equal (mechanism, "PLAIN"))
    response = pb_sasl_plain_response (user, secret);
  else if (g_str_equal (mechanism, "XOAUTH2"))
    response = pb_sasl_xoauth2_response (user, secret);
  else
    response = pb_sasl_oauthbearer_response (user, host, pb_service_get_port (self->service),
                                             secret);
  if (response == NULL)
    {
      g_set_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_AUTHENTICATION_FAILED,
                   _("The user name or password contains characters that cannot be sent"));
      return FALSE;
    }
  line = g_strdup_printf ("AUTH %s %s", mechanism, response);
  {
    g_autofree char *trace = g_strdup_printf ("AUTH %s [credentials]", mechanism);
    reply = command (self, line, trace, cancellable, error);
  }
  pb_password_free (line);
  pb_password_free (response);
  if (reply == NULL)
    return FALSE;
  if (reply->code == 334)
    {
      /* A challenge here is the OAuth error report (base64 JSON): answer it with the
       * empty / dummy response so the server finishes with its failure reply. */
      g_autoptr(PbSmtpReply) final = NULL;

      final = command (self, g_str_equal (mechanism, "OAUTHBEARER") ? "AQ==" : "", NULL,
                       cancellable, error);
      if (final == NULL)
        return FALSE;
      if (final->code == 235)
        return TRUE;
      return auth_result (self, final->code / 100 == 3 ? reply : final, error);
    }
  return auth_result (self, reply, error);
}

gboolean
pb_smtp_address_is_valid (const char *address,
                          gboolean   *ascii)
{
  gboolean is_ascii = TRUE;

  if (address == NULL || *address == '\0')
    return FALSE;
  for (const guchar *p = (const guchar *) address; *p; p++)
    {
      if (*p <= ' ' || *p == '<' || *p == '>' || *p == 0x7f)
        return FALSE;
      if (*p >= 0x80)
        is_ascii = FALSE;
    }
  if (!is_ascii && !g_utf8_validate (address, -1, NULL))
    return FALSE;
  if (ascii != NULL)
    *ascii = is_ascii;
  return TRUE;
}

GBytes *
pb_smtp_prepare_data (GBytes   *message,
                      gboolean  dot_stuff,
                      gboolean *eight_bit)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (message, &length);
  GByteArray *out = g_byte_array_sized_new (length + length / 50 + 8);
  gboolean at_line_start = TRUE, high = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      guint8 c = data[i];

      if (c == '\r' || c == '\n')
        {
          /* CRLF, a lone LF and a lone CR all end a line. */
          if (c == '\r' && i + 1 < length && data[i + 1] == '\n')
            i++;
          g_byte_array_append (out, (const guint8 *) "\r\n", 2);
          at_line_start = TRUE;
          continue;
        }
      if (at_line_start && c == '.' && dot_stuff)
        g_byte_array_append (out, (const guint8 *) ".", 1);
      if (c >= 0x80)
        high = TRUE;
      g_byte_array_append (out, &c, 1);
      at_line_start = FALSE;
    }
  if (!at_line_start)
    g_byte_array_append (out, (const guint8 *) "\r\n", 2);
  if (dot_stuff)
    g_byte_array_append (out, (const guint8 *) ".\r\n", 3);
  if (eight_bit != NULL)
    *eight_bit = high;
  return g_byte_array_free_to_bytes (out);
}

/* Reads the replies still owed for pipelined commands, so the session stays in step. */
static gboolean
drain_replies (PbSmtpClient  *self,
               guint          count,
               GCancellable  *cancellable)
{
  for (guint i = 0; i < count; i++)
    {
      g_autoptr(PbSmtpReply) reply = read_reply (self, cancellable, NULL);
      if (reply == NULL)
        return FALSE;
    }
  return TRUE;
}

/* After a refused transaction: RSET so the next message starts clean. */
static void
reset (PbSmtpClient *self,
       GCancellable *cancellable)
{
  g_autoptr(PbSmtpReply) reply = NULL;

  if (self->broken)
    return;
  reply = command (self, "RSET", NULL, cancellable, NULL);
  if (reply == NULL || reply->code / 100 != 2)
    self->broken = TRUE;
}

/* Writes the message. For DATA @payload is dot-stuffed and ends with the final dot; for BDAT
 * it is sent in chunks. Returns FALSE with *@committed TRUE when the end of the message may
 * have reached the server. */
static gboolean
write_payload (PbSmtpClient  *self,
               GBytes        *payload,
               gboolean       chunking,
               gboolean       pipelining,
               GCancellable  *cancellable,
               GError       **error)
{
  gsize length;
  const char *data = g_bytes_get_data (payload, &length);
  g_autofree char *trace = g_strdup_printf ("[message, %" G_GSIZE_FORMAT " bytes]\r\n",
                                            length);
  gsize offset = 0;

  if (!chunking)
    {
      /* In pieces of WRITE_CHUNK; the last one carries the final ".\r\n", so a small message
       * is one write. Once that write starts the message may be delivered. */
      g_assert (length >= 3);
      while (offset < length)
        {
          gsize n = MIN (WRITE_CHUNK, length - offset);

          pb_fault_point ("smtp-during-data");
          if (!write_data (self, data + offset, n, offset == 0 ? trace : "", cancellable,
                           error))
            return FALSE;
          offset += n;
        }
      return TRUE;
    }

  do
    {
      gsize n = MIN (BDAT_CHUNK, length - offset);
      gboolean last = offset + n == length;
      g_autofree char *header = g_strdup_printf ("BDAT %" G_GSIZE_FORMAT "%s\r\n", n,
                                                 last ? " LAST" : "");
      g_autofree char *block = NULL;

      /* One write per chunk: the header and its data in the same segments. */
      block = g_malloc (strlen (header) + n);
      memcpy (block, header, strlen (header));
      memcpy (block + strlen (header), data + offset, n);
      pb_fault_point ("smtp-during-data");
      if (!write_data (self, block, strlen (header) + n, header, cancellable, error))
        return FALSE;
      offset += n;
      if (!last)
        {
          if (!pipelining)
            {
              g_autoptr(PbSmtpReply) reply = read_reply (self, cancellable, error);
              if (reply == NULL)
                return FALSE;
              if (reply->code / 100 != 2)
                {
                  self->broken = TRUE;
                  set_reply_error (error, reply, _("The server refused the message"));
                  return FALSE;
                }
            }
        }
    }
  while (offset < length);
  /* With pipelining the replies to all chunks are read by the caller, in order. */
  return TRUE;
}

gboolean
pb_smtp_client_send (PbSmtpClient        *self,
                     const char          *from,
                     const char * const  *recipients,
                     GBytes              *message,
                     PbSmtpSendFlags      flags,
                     GCancellable        *cancellable,
                     GError             **error)
{
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GString) batch = g_string_new (NULL);
  g_autoptr(PbSmtpReply) reply = NULL;
  g_autoptr(GError) rcpt_error = NULL;
  gboolean ascii = TRUE, eight_bit = FALSE, pipelining, chunking, dsn, from_ascii = TRUE;
  guint n_rcpt = 0, owed = 0, chunks;
  gsize payload_size;

  g_return_val_if_fail (PB_IS_SMTP_CLIENT (self), FALSE);
  g_return_val_if_fail (from != NULL && recipients != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  if (!pb_smtp_client_is_usable (self))
    {
      g_set_error_literal (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CLOSED,
                           _("The connection to the mail server was lost"));
      return FALSE;
    }

  /* Everything that can be checked before the first byte goes out is checked here. */
  if (*from != '\0' && !pb_smtp_address_is_valid (from, &from_ascii))
    {
      g_autofree char *shown = g_strescape (from, NULL);
      g_set_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_INVALID_ADDRESS,
                   _("The sender address is not valid: “%s”"), shown);
      return FALSE;
    }
  for (n_rcpt = 0; recipients[n_rcpt] != NULL; n_rcpt++)
    {
      gboolean a = TRUE;

      if (!pb_smtp_address_is_valid (recipients[n_rcpt], &a))
        {
          g_autofree char *shown = g_strescape (recipients[n_rcpt], NULL);
          g_set_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_INVALID_ADDRESS,
                       _("The recipient address is not valid: “%s”"), shown);
          return FALSE;
        }
      ascii = ascii && a;
    }
  if (n_rcpt == 0)
    {
      g_set_error_literal (error, PB_SMTP_ERROR, PB_SMTP_ERROR_INVALID_ADDRESS,
                           _("The message has no recipients"));
      return FALSE;
    }
  ascii = ascii && from_ascii;
  if (!ascii && !pb_smtp_client_has_extension (self, "SMTPUTF8"))
    {
      g_set_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_UTF8_UNSUPPORTED,
                   _("The mail server at %s cannot take addresses with non-ASCII characters "
                     "(no SMTPUTF8); nothing was sent"), pb_service_get_host (self->service));
      return FALSE;
    }

  chunking = pb_smtp_client_has_extension (self, "CHUNKING");
  pipelining = pb_smtp_client_has_extension (self, "PIPELINING");
  dsn = (flags & PB_SMTP_SEND_DSN) && pb_smtp_client_has_extension (self, "DSN");
  payload = pb_smtp_prepare_data (message, !chunking, &eight_bit);
  payload_size = g_bytes_get_size (payload);
  if (eight_bit && !pb_smtp_client_has_extension (self, "8BITMIME"))
    {
      g_set_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_8BIT_UNSUPPORTED,
                   _("The message contains 8-bit text and the mail server at %s does not "
                     "accept that (no 8BITMIME); nothing was sent"),
                   pb_service_get_host (self->service));
      return FALSE;
    }
  if (self->size_limit > 0 && payload_size > self->size_limit)
    {
      g_autofree char *size = g_format_size (payload_size);
      g_autofree char *limit = g_format_size (self->size_limit);
      g_set_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_MESSAGE_TOO_LARGE,
                   _("The message (%s) is larger than the mail server accepts (%s); nothing "
                     "was sent"), size, limit);
      return FALSE;
    }

  g_string_append_printf (batch, "MAIL FROM:<%s>", from);
  if (pb_smtp_client_has_extension (self, "SIZE"))
    g_string_append_printf (batch, " SIZE=%" G_GSIZE_FORMAT, payload_size);
  if (eight_bit || (!ascii && pb_smtp_client_has_extension (self, "8BITMIME")))
    g_string_append (batch, " BODY=8BITMIME");
  if (!ascii)
    g_string_append (batch, " SMTPUTF8");
  if (dsn)
    g_string_append (batch, " RET=HDRS");
  g_string_append (batch, "\r\n");
  for (guint i = 0; i < n_rcpt; i++)
    g_string_append_printf (batch, "RCPT TO:<%s>%s\r\n", recipients[i],
                            dsn ? " NOTIFY=SUCCESS,FAILURE,DELAY" : "");
  /* With CHUNKING, BDAT goes out only after every recipient was accepted: a pipelined
   * BDAT LAST would deliver to the accepted ones even if another was refused. */
  if (!chunking)
    g_string_append (batch, "DATA\r\n");

  pb_fault_point ("smtp-before-mail");
  if (pipelining)
    {
      /* RFC 2920: the whole envelope in one write, then the replies in order. */
      if (!write_data (self, batch->str, batch->len, NULL, cancellable, error))
        return FALSE;
      owed = n_rcpt + 1 + (chunking ? 0 : 1);
    }

  {
    g_auto(GStrv) lines = g_strsplit (batch->str, "\r\n", -1);
    guint accepted = 0;

    for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
      {
        gboolean is_mail = i == 0, is_data = g_str_equal (lines[i], "DATA");

        g_clear_pointer (&reply, pb_smtp_reply_free);
        if (pipelining)
          {
            reply = read_reply (self, cancellable, error);
            owed--;
          }
        else
          {
            /* Without pipelining, stop at the first refusal: nothing more to ask. */
            if (is_data && (rcpt_error != NULL || accepted < n_rcpt))
              break;
            reply = command (self, lines[i], NULL, cancellable, error);
          }
        if (reply == NULL)
          return FALSE;

        if (is_mail && reply->code / 100 != 2)
          {
            set_reply_error (error, reply, _("The server refused the sender"));
            if (pipelining)
              drain_replies (self, owed, cancellable);
            reset (self, cancellable);
            return FALSE;
          }
        if (!is_mail && !is_data)
          {
            if (reply->code / 100 == 2)
              accepted++;
            else if (rcpt_error == NULL)
              {
                g_autofree char *what = g_strdup_printf (_("The server refused the recipient "
                                                           "<%s>"), recipients[i - 1]);
                set_reply_error (&rcpt_error, reply, what);
              }
            if (i == n_rcpt)
              pb_fault_point ("smtp-after-rcpt");
          }
        if (is_data && reply->code != 354)
          {
            if (rcpt_error == NULL)
              set_reply_error (&rcpt_error, reply, _("The server refused the message"));
            break;
          }
        if (is_data && rcpt_error != NULL)
          {
            /* The server waits for the message although a recipient was refused: the only
             * way out without delivering to the others is to drop the connection. */
            self->broken = TRUE;
            pb_connection_close (self->connection);
            g_propagate_error (error, g_steal_pointer (&rcpt_error));
            return FALSE;
          }
      }
    if (rcpt_error != NULL)
      {
        g_propagate_error (error, g_steal_pointer (&rcpt_error));
        reset (self, cancellable);
        return FALSE;
      }
  }

  chunks = chunking ? (payload_size + BDAT_CHUNK - 1) / BDAT_CHUNK : 1;
  if (chunks == 0)
    chunks = 1;
  if (!write_payload (self, payload, chunking, pipelining, cancellable, error))
    return FALSE;
  pb_fault_point ("smtp-after-dot");

  /* From here on a lost connection leaves the outcome unknown. */
  for (guint i = 0; i < (chunking && pipelining ? chunks : 1); i++)
    {
      g_autoptr(GError) local_error = NULL;

      g_clear_pointer (&reply, pb_smtp_reply_free);
      reply = read_reply (self, cancellable, &local_error);
      if (reply == NULL)
        {
          if (local_error->domain == PB_SMTP_ERROR)
            g_propagate_error (error, g_steal_pointer (&local_error));
          else
            g_set_error (error, PB_SMTP_ERROR, PB_SMTP_ERROR_OUTCOME_UNKNOWN,
                         _("The connection was lost after the message was handed over and "
                           "before the server confirmed it; it may have been sent (%s)"),
                         local_error->message);
          return FALSE;
        }
      if (reply->code / 100 != 2)
        {
          set_reply_error (error, reply, _("The server refused the message"));
          if (chunking && pipelining)
            drain_replies (self, chunks - 1 - i, cancellable);
          reset (self, cancellable);
          return FALSE;
        }
    }
  return TRUE;
}

void
pb_smtp_client_quit (PbSmtpClient *self,
                     GCancellable *cancellable)
{
  g_return_if_fail (PB_IS_SMTP_CLIENT (self));

  if (pb_smtp_client_is_usable (self))
    {
      g_autoptr(PbSmtpReply) reply = command (self, "QUIT", NULL, cancellable, NULL);
    }
  if (self->connection != NULL)
    pb_connection_close (self->connection);
  self->broken = TRUE;
}
