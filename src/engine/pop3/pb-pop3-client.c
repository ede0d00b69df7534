/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-pop3"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "pb-connection.h"
#include "pb-credentials.h"
#include "pb-fault.h"
#include "pb-pop3-client.h"
#include "pb-sasl.h"

#define READ_CHUNK (64 * 1024)
/* Commands in flight at once with PIPELINING: enough to keep the link busy, few enough that
 * the commands never fill the server's input buffer while we are not reading. */
#define PIPELINE_WINDOW 32
/* A maildrop of more messages than this is refused rather than listed into memory. */
#define MAX_MESSAGES 2000000

struct _PbPop3Client
{
  GObject        parent_instance;

  PbService     *service;
  PbConnection  *connection;
  PbPop3Parser  *parser;
  guint8        *buffer;
  gsize          buffer_start;
  gsize          buffer_end;
  GPtrArray     *capabilities;   /* upper-cased CAPA lines */
  char          *apop_timestamp; /* "<...>" of the greeting, or NULL */
  gboolean       allow_apop;
  gboolean       authenticated;
  gboolean       broken;         /* a protocol error happened; the session cannot go on */
};

G_DEFINE_FINAL_TYPE (PbPop3Client, pb_pop3_client, G_TYPE_OBJECT)

static void
pb_pop3_client_dispose (GObject *object)
{
  PbPop3Client *self = PB_POP3_CLIENT (object);

  if (self->connection)
    pb_connection_close (self->connection);
  g_clear_object (&self->connection);
  g_clear_object (&self->service);

  G_OBJECT_CLASS (pb_pop3_client_parent_class)->dispose (object);
}

static void
pb_pop3_client_finalize (GObject *object)
{
  PbPop3Client *self = PB_POP3_CLIENT (object);

  g_clear_pointer (&self->parser, pb_pop3_parser_free);
  g_ptr_array_unref (self->capabilities);
  g_free (self->buffer);
  g_free (self->apop_timestamp);

  G_OBJECT_CLASS (pb_pop3_client_parent_class)->finalize (object);
}

static void
pb_pop3_client_class_init (PbPop3ClientClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pb_pop3_client_dispose;
  G_OBJECT_CLASS (klass)->finalize = pb_pop3_client_finalize;
}

static void
pb_pop3_client_init (PbPop3Client *self)
{
  self->capabilities = g_ptr_array_new_with_free_func (g_free);
  self->buffer = g_malloc (READ_CHUNK);
  self->parser = pb_pop3_parser_new (NULL);
}

PbPop3Client *
pb_pop3_client_new (PbService *service)
{
  PbPop3Client *self;

  g_return_val_if_fail (PB_IS_SERVICE (service), NULL);

  self = g_object_new (PB_TYPE_POP3_CLIENT, NULL);
  self->service = g_object_ref (service);
  return self;
}

/* APOP (RFC 1939 7) is weak (MD5 of a shared secret) and only used when the user turns it on. */
void
pb_pop3_client_set_apop (PbPop3Client *self,
                         gboolean      allow_apop)
{
  g_return_if_fail (PB_IS_POP3_CLIENT (self));
  self->allow_apop = allow_apop;
}

/* Server text for error messages: no control characters, valid UTF-8, short. */
static char *
sanitize_server_text (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text ? text : ""; *p && out->len < 200; p++)
    g_string_append_c (out, ((guchar) *p < 0x20 || *p == 0x7f) ? ' ' : *p);
  if (!g_utf8_validate (out->str, -1, NULL))
    {
      char *valid = g_utf8_make_valid (out->str, -1);
      g_string_free (out, TRUE);
      return valid;
    }
  return g_string_free (out, FALSE);
}

static gboolean
send_command (PbPop3Client  *self,
              const char    *command,
              const char    *trace_as,
              GCancellable  *cancellable,
              GError       **error)
{
  if (!pb_connection_write (self->connection, command, -1, trace_as, cancellable, error))
    {
      self->broken = TRUE;
      return FALSE;
    }
  return TRUE;
}

/* Reads one complete reply. Bytes after it stay in the buffer for the next one. */
static PbPop3Reply *
read_reply (PbPop3Client  *self,
            PbPop3Expect   expect,
            GCancellable  *cancellable,
            GError       **error)
{
  if (self->broken)
    {
      g_set_error_literal (error, PB_POP3_ERROR, PB_POP3_ERROR_FAILED,
                           _("The connection to the POP3 server was lost"));
      return NULL;
    }
  pb_pop3_parser_expect (self->parser, expect);
  for (;;)
    {
      PbPop3Reply *reply = NULL;
      gsize consumed = 0;
      gssize n;

      if (self->buffer_start < self->buffer_end)
        {
          if (!pb_pop3_parser_feed (self->parser, self->buffer + self->buffer_start,
                                    self->buffer_end - self->buffer_start, &consumed, &reply,
                                    error))
            {
              self->broken = TRUE;
              return NULL;
            }
          self->buffer_start += consumed;
          if (reply != NULL)
            return reply;
        }
      self->buffer_start = self->buffer_end = 0;
      n = pb_connection_read (self->connection, self->buffer, READ_CHUNK, cancellable, error);
      if (n < 0)
        {
          /* A reply cut short is dropped with the parser: never half a message. */
          self->broken = TRUE;
          return NULL;
        }
      self->buffer_end = n;
    }
}

static void
set_err_error (PbPop3Client  *self,
               PbPop3Reply   *reply,
               const char    *command,
               GError       **error)
{
  g_autofree char *text = sanitize_server_text (reply->text);

  if (g_str_has_prefix (reply->text, "[IN-USE]"))
    g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_IN_USE,
                 _("The mailbox on %s is in use by another program: %s"),
                 pb_service_get_host (self->service), text);
  else
    g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_ERR,
                 _("The server at %s refused %s: %s"), pb_service_get_host (self->service),
                 command, text);
}

/* Sends a command and reads its reply; an -ERR becomes @error. */
static PbPop3Reply *
run_command (PbPop3Client  *self,
             const char    *command,
             const char    *trace_as,
             PbPop3Expect   expect,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autofree char *line = g_strconcat (command, "\r\n", NULL);
  g_autofree char *trace = trace_as ? g_strconcat (trace_as, "\r\n", NULL) : NULL;
  PbPop3Reply *reply;

  if (!send_command (self, line, trace, cancellable, error))
    {
      explicit_bzero (line, strlen (line));
      return NULL;
    }
  explicit_bzero (line, strlen (line));
  reply = read_reply (self, expect, cancellable, error);
  if (reply != NULL && reply->status == PB_POP3_STATUS_ERR)
    {
      char *verb = g_strndup (trace_as ? trace_as : command,
                              strcspn (trace_as ? trace_as : command, " "));
      set_err_error (self, reply, verb, error);
      g_free (verb);
      pb_pop3_reply_free (reply);
      return NULL;
    }
  return reply;
}

static gboolean
read_capabilities (PbPop3Client  *self,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(PbPop3Reply) reply = NULL;
  g_autoptr(GPtrArray) lines = NULL;

  reply = run_command (self, "CAPA", NULL, PB_POP3_EXPECT_MULTI, cancellable, &local_error);
  if (reply == NULL)
    {
      /* A server without CAPA (RFC 1939 only) is fine; it just offers nothing optional. */
      if (g_error_matches (local_error, PB_POP3_ERROR, PB_POP3_ERROR_ERR))
        {
          g_ptr_array_set_size (self->capabilities, 0);
          return TRUE;
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  lines = pb_pop3_parse_capa (reply->data, error);
  if (lines == NULL)
    {
      self->broken = TRUE;
      return FALSE;
    }
  g_ptr_array_unref (self->capabilities);
  self->capabilities = g_steal_pointer (&lines);
  return TRUE;
}

/**
 * pb_pop3_client_has_capability:
 * @name: a capability ("PIPELINING") or a capability and an argument ("SASL PLAIN")
 */
gboolean
pb_pop3_client_has_capability (PbPop3Client *self,
                               const char   *name)
{
  g_autofree char *upper = NULL;
  g_auto(GStrv) words = NULL;

  g_return_val_if_fail (PB_IS_POP3_CLIENT (self), FALSE);

  upper = g_ascii_strup (name, -1);
  words = g_strsplit (upper, " ", 2);
  for (guint i = 0; i < self->capabilities->len; i++)
    {
      const char *line = g_ptr_array_index (self->capabilities, i);
      g_auto(GStrv) have = g_strsplit (line, " ", -1);

      if (g_strcmp0 (have[0], words[0]) != 0)
        continue;
      if (words[1] == NULL)
        return TRUE;
      for (guint k = 1; have[k] != NULL; k++)
        if (g_strcmp0 (have[k], words[1]) == 0)
          return TRUE;
    }
  return FALSE;
}

/* The APOP timestamp of a greeting: "<...@...>" (RFC 1939 7), or NULL. */
static char *
greeting_timestamp (const char *text)
{
  const char *start = strchr (text, '<');
  const char *end = start ? strchr (start, '>') : NULL;

  if (start == NULL || end == NULL || end - start > 256)
    return NULL;
  for (const char *p = start; p <= end; p++)
    if ((guchar) *p < 0x21 || (guchar) *p > 0x7e)
      return NULL;
  return g_strndup (start, end - start + 1);
}

gboolean
pb_pop3_client_connect (PbPop3Client  *self,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(PbPop3Reply) greeting = NULL;
  g_autofree char *trace_name = NULL;
  PbSecurity security;

  g_return_val_if_fail (PB_IS_POP3_CLIENT (self), FALSE);
  g_return_val_if_fail (self->connection == NULL, FALSE);

  security = pb_service_get_security (self->service);
  self->connection = pb_connection_new_for_service (self->service);
  trace_name = g_strdup_printf ("pop3 %s", pb_service_get_host (self->service));
  pb_connection_set_trace_name (self->connection, trace_name);
  if (!pb_connection_connect (self->connection, cancellable, error))
    return FALSE;

  greeting = read_reply (self, PB_POP3_EXPECT_SINGLE, cancellable, error);
  if (greeting == NULL)
    return FALSE;
  if (greeting->status != PB_POP3_STATUS_OK)
    {
      g_autofree char *text = sanitize_server_text (greeting->text);
      self->broken = TRUE;
      g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_ERR,
                   _("The server at %s does not accept connections: %s"),
                   pb_service_get_host (self->service), text);
      return FALSE;
    }
  self->apop_timestamp = greeting_timestamp (greeting->text);

  if (!read_capabilities (self, cancellable, error))
    return FALSE;

  if (security == PB_SECURITY_STARTTLS)
    {
      g_autoptr(PbPop3Reply) reply = NULL;

      if (!pb_pop3_client_has_capability (self, "STLS"))
        {
          self->broken = TRUE;
          g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_STARTTLS_UNAVAILABLE,
                       _("The server at %s does not offer STLS, so the connection cannot be "
                         "encrypted; nothing was sent. Use pop3s:// if the server supports "
                         "implicit TLS"), pb_service_get_host (self->service));
          return FALSE;
        }
      reply = run_command (self, "STLS", NULL, PB_POP3_EXPECT_SINGLE, cancellable, error);
      if (reply == NULL)
        {
          self->broken = TRUE;
          return FALSE;
        }
      /* Anything after the go-ahead arrived unencrypted and would be read as if it came over
       * TLS: an injection attack (CVE-2011-0411 class). */
      if (self->buffer_start < self->buffer_end
          || pb_connection_get_buffered (self->connection) > 0)
        {
          self->broken = TRUE;
          g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_STARTTLS_INJECTION,
                       _("The server at %s sent data after agreeing to STLS; the connection "
                         "was closed because it may have been tampered with"),
                       pb_service_get_host (self->service));
          return FALSE;
        }
      if (!pb_connection_start_tls (self->connection, cancellable, error))
        {
          self->broken = TRUE;
          return FALSE;
        }
      /* What the server said before encryption cannot be trusted (RFC 2595 4). */
      g_clear_pointer (&self->apop_timestamp, g_free);
      if (!read_capabilities (self, cancellable, error))
        return FALSE;
    }
  return TRUE;
}

static void
set_auth_error (PbPop3Client  *self,
                PbPop3Reply   *reply,
                GError       **error)
{
  g_autofree char *text = sanitize_server_text (reply->text);

  if (g_str_has_prefix (reply->text, "[IN-USE]"))
    g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_IN_USE,
                 _("The mailbox on %s is in use by another program: %s"),
                 pb_service_get_host (self->service), text);
  else
    g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_AUTHENTICATION_FAILED,
                 _("The server at %s rejected the user name or password for “%s” (%s)"),
                 pb_service_get_host (self->service), pb_service_get_user (self->service),
                 text);
}

/* Sends a login command whose reply decides the login; -ERR means the credentials failed. */
static gboolean
login_step (PbPop3Client  *self,
            const char    *command,
            const char    *trace_as,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(PbPop3Reply) reply = NULL;
  g_autofree char *line = g_strconcat (command, "\r\n", NULL);
  g_autofree char *trace = g_strconcat (trace_as, "\r\n", NULL);
  gboolean sent = send_command (self, line, trace, cancellable, error);

  explicit_bzero (line, strlen (line));
  if (!sent)
    return FALSE;
  reply = read_reply (self, PB_POP3_EXPECT_SASL, cancellable, error);
  if (reply == NULL)
    return FALSE;
  if (reply->status == PB_POP3_STATUS_CONTINUE)
    {
      /* We always send an initial response; a challenge back is a protocol error. */
      self->broken = TRUE;
      g_set_error_literal (error, PB_POP3_ERROR, PB_POP3_ERROR_PARSE,
                           _("The server sent an unexpected SASL challenge"));
      return FALSE;
    }
  if (reply->status == PB_POP3_STATUS_ERR)
    {
      set_auth_error (self, reply, error);
      return FALSE;
    }
  return TRUE;
}

gboolean
pb_pop3_client_authenticate (PbPop3Client  *self,
                             const char    *password,
                             GCancellable  *cancellable,
                             GError       **error)
{
  const char *user;
  gboolean ok;

  g_return_val_if_fail (PB_IS_POP3_CLIENT (self), FALSE);
  g_return_val_if_fail (password != NULL, FALSE);

  if (self->authenticated)
    return TRUE;
  /* No password ever goes over an unencrypted link unless the user chose no encryption. */
  if (!pb_connection_is_tls (self->connection)
      && pb_service_get_security (self->service) != PB_SECURITY_NONE)
    {
      g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_FAILED,
                   _("Refusing to send a password over an unencrypted connection"));
      return FALSE;
    }
  user = pb_service_get_user (self->service);
  if (strpbrk (user, "\r\n") != NULL || strpbrk (password, "\r\n") != NULL)
    {
      g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_FAILED,
                   _("The user name or password contains a line break"));
      return FALSE;
    }

  if (self->allow_apop && self->apop_timestamp != NULL)
    {
      g_autofree char *secret = g_strconcat (self->apop_timestamp, password, NULL);
      g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_MD5, secret, -1);
      g_autofree char *command = g_strdup_printf ("APOP %s %s", user, digest);
      g_autofree char *trace = g_strdup_printf ("APOP %s ********", user);

      explicit_bzero (secret, strlen (secret));
      ok = login_step (self, command, trace, cancellable, error);
    }
  else if (pb_pop3_client_has_capability (self, "SASL PLAIN"))
    {
      char *initial = pb_sasl_plain_response (user, password);
      char *command;

      if (initial == NULL)
        {
          g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_FAILED,
                       _("The user name or password cannot be sent with AUTH PLAIN"));
          return FALSE;
        }
      command = g_strconcat ("AUTH PLAIN ", initial, NULL);
      ok = login_step (self, command, "AUTH PLAIN ********", cancellable, error);
      pb_password_free (command);
      pb_password_free (initial);
    }
  else
    {
      g_autofree char *user_command = g_strdup_printf ("USER %s", user);
      char *pass_command = g_strconcat ("PASS ", password, NULL);

      ok = login_step (self, user_command, user_command, cancellable, error)
           && login_step (self, pass_command, "PASS ********", cancellable, error);
      pb_password_free (pass_command);
    }
  if (!ok)
    return FALSE;
  self->authenticated = TRUE;
  /* Capabilities may change after login (RFC 2449 5). */
  return read_capabilities (self, cancellable, error);
}

static gboolean
pipelining (PbPop3Client *self)
{
  return pb_pop3_client_has_capability (self, "PIPELINING");
}

static void
message_clear (gpointer data)
{
  g_free (((PbPop3Message *) data)->uidl);
}

/**
 * pb_pop3_client_list_messages:
 *
 * UIDL and LIST of the whole maildrop, matched by message number. The numbers are valid for
 * this session only; the UIDLs identify messages across sessions.
 *
 * Returns: (transfer full) (element-type PbPop3Message): the messages in number order;
 *   %PB_POP3_ERROR_UNSUPPORTED if the server has no UIDL (without it, messages cannot be told
 *   apart across sessions, and nothing could safely be deleted)
 */
GArray *
pb_pop3_client_list_messages (PbPop3Client  *self,
                              GCancellable  *cancellable,
                              GError       **error)
{
  g_autoptr(PbPop3Reply) uidl_reply = NULL;
  g_autoptr(PbPop3Reply) list_reply = NULL;
  g_autoptr(GArray) uidls = NULL;
  g_autoptr(GArray) sizes = NULL;
  g_autoptr(GArray) messages = NULL;
  g_autoptr(GHashTable) seen = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (PB_IS_POP3_CLIENT (self), NULL);

  if (pipelining (self))
    {
      if (!send_command (self, "UIDL\r\nLIST\r\n", NULL, cancellable, error))
        return NULL;
      uidl_reply = read_reply (self, PB_POP3_EXPECT_MULTI, cancellable, error);
      if (uidl_reply == NULL)
        return NULL;
      list_reply = read_reply (self, PB_POP3_EXPECT_MULTI, cancellable, error);
      if (list_reply == NULL)
        return NULL;
      if (uidl_reply->status == PB_POP3_STATUS_ERR)
        goto no_uidl;
      if (list_reply->status == PB_POP3_STATUS_ERR)
        {
          set_err_error (self, list_reply, "LIST", error);
          return NULL;
        }
    }
  else
    {
      uidl_reply = run_command (self, "UIDL", NULL, PB_POP3_EXPECT_MULTI, cancellable,
                                &local_error);
      if (uidl_reply == NULL)
        {
          if (g_error_matches (local_error, PB_POP3_ERROR, PB_POP3_ERROR_ERR))
            goto no_uidl;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      list_reply = run_command (self, "LIST", NULL, PB_POP3_EXPECT_MULTI, cancellable, error);
      if (list_reply == NULL)
        return NULL;
    }

  uidls = pb_pop3_parse_uidl_listing (uidl_reply->data, MAX_MESSAGES, error);
  sizes = uidls ? pb_pop3_parse_list_listing (list_reply->data, MAX_MESSAGES, error) : NULL;
  if (sizes == NULL)
    return NULL;

  messages = g_array_new (FALSE, TRUE, sizeof (PbPop3Message));
  g_array_set_clear_func (messages, message_clear);
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  {
    g_autoptr(GHashTable) size_of = g_hash_table_new (NULL, NULL);

    for (guint i = 0; i < sizes->len; i++)
      {
        PbPop3ListEntry *e = &g_array_index (sizes, PbPop3ListEntry, i);
        g_hash_table_insert (size_of, GUINT_TO_POINTER (e->number),
                             GSIZE_TO_POINTER ((gsize) MIN (e->size, G_MAXSIZE)));
      }
    for (guint i = 0; i < uidls->len; i++)
      {
        PbPop3ListEntry *e = &g_array_index (uidls, PbPop3ListEntry, i);
        PbPop3Message message = { e->number, 0, NULL };
        gpointer size;

        /* A UIDL listed twice cannot say which message it means: download neither twice nor
         * delete by it; the first one stands for it. */
        if (g_hash_table_contains (seen, e->uidl))
          {
            g_message ("%s: UIDL %s listed twice; ignoring message %u",
                       pb_service_get_host (self->service), e->uidl, e->number);
            continue;
          }
        if (!g_hash_table_lookup_extended (size_of, GUINT_TO_POINTER (e->number), NULL, &size))
          continue;
        message.size = GPOINTER_TO_SIZE (size);
        message.uidl = g_strdup (e->uidl);
        g_array_append_val (messages, message);
        g_hash_table_add (seen, g_array_index (messages, PbPop3Message,
                                               messages->len - 1).uidl);
      }
  }
  return g_steal_pointer (&messages);

no_uidl:
  g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_UNSUPPORTED,
               _("The POP3 server at %s does not support UIDL, so messages cannot be told "
                 "apart between sessions"), pb_service_get_host (self->service));
  return NULL;
}

/* Sends the commands of a batch with at most PIPELINE_WINDOW (or, without PIPELINING, one) in
 * flight, reading each reply in order and handing it to @handle. */
typedef gboolean (*ReplyFunc) (PbPop3Client *self,
                               guint         index,
                               PbPop3Reply  *reply,
                               gpointer      user_data,
                               GError      **error);

static gboolean
run_pipelined (PbPop3Client   *self,
               char          **commands,
               guint           n,
               PbPop3Expect    expect,
               ReplyFunc       handle,
               gpointer        user_data,
               GCancellable   *cancellable,
               GError        **error)
{
  guint window = pipelining (self) ? PIPELINE_WINDOW : 1;
  guint sent = 0;

  for (guint done = 0; done < n; done++)
    {
      g_autoptr(PbPop3Reply) reply = NULL;

      /* Refill the window in one write once half of it is answered. */
      if (sent < n && sent - done <= window / 2)
        {
          g_autoptr(GString) batch = g_string_new (NULL);

          while (sent < n && sent - done < window)
            g_string_append (batch, commands[sent++]);
          if (!send_command (self, batch->str, NULL, cancellable, error))
            return FALSE;
        }
      reply = read_reply (self, expect, cancellable, error);
      if (reply == NULL || !handle (self, done, reply, user_data, error))
        {
          /* The replies still in flight cannot be matched any more. */
          if (done + 1 < sent)
            self->broken = TRUE;
          return FALSE;
        }
    }
  return TRUE;
}

typedef struct {
  const guint       *numbers;
  PbPop3MessageFunc  func;
  gpointer           user_data;
} RetrieveData;

static gboolean
retrieve_reply (PbPop3Client  *self,
                guint          index,
                PbPop3Reply   *reply,
                gpointer       user_data,
                GError       **error)
{
  RetrieveData *data = user_data;

  if (reply->status != PB_POP3_STATUS_OK)
    {
      g_autofree char *text = sanitize_server_text (reply->text);
      g_set_error (error, PB_POP3_ERROR, PB_POP3_ERROR_NOT_ON_SERVER,
                   _("The server at %s did not send message %u: %s"),
                   pb_service_get_host (self->service), data->numbers[index], text);
      return FALSE;
    }
  return data->func (index, reply->data, data->user_data, error);
}

/**
 * pb_pop3_client_retrieve:
 * @numbers: (array length=n): message numbers of this session
 * @headers_only: (array length=n) (nullable): per message, TRUE for the header only (TOP n 0)
 * @func: called with each complete message, in order
 *
 * RETR (or TOP n 0) for each message, pipelined when the server allows it.
 */
gboolean
pb_pop3_client_retrieve (PbPop3Client       *self,
                         const guint        *numbers,
                         const gboolean     *headers_only,
                         guint               n,
                         PbPop3MessageFunc   func,
                         gpointer            user_data,
                         GCancellable       *cancellable,
                         GError            **error)
{
  g_autoptr(GPtrArray) commands = g_ptr_array_new_with_free_func (g_free);
  RetrieveData data = { numbers, func, user_data };

  g_return_val_if_fail (PB_IS_POP3_CLIENT (self), FALSE);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (commands, headers_only && headers_only[i]
                                 ? g_strdup_printf ("TOP %u 0\r\n", numbers[i])
                                 : g_strdup_printf ("RETR %u\r\n", numbers[i]));
  return run_pipelined (self, (char **) commands->pdata, n, PB_POP3_EXPECT_MULTI,
                        retrieve_reply, &data, cancellable, error);
}

static gboolean
delete_reply (PbPop3Client  *self,
              guint          index,
              PbPop3Reply   *reply,
              gpointer       user_data,
              GError       **error)
{
  if (reply->status != PB_POP3_STATUS_OK)
    {
      set_err_error (self, reply, "DELE", error);
      return FALSE;
    }
  pb_fault_point ("pop3-after-dele");
  return TRUE;
}

/* Marks messages as deleted; the server removes them only at a successful QUIT. */
gboolean
pb_pop3_client_delete (PbPop3Client  *self,
                       const guint   *numbers,
                       guint          n,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(GPtrArray) commands = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (PB_IS_POP3_CLIENT (self), FALSE);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (commands, g_strdup_printf ("DELE %u\r\n", numbers[i]));
  return run_pipelined (self, (char **) commands->pdata, n, PB_POP3_EXPECT_SINGLE,
                        delete_reply, NULL, cancellable, error);
}

/**
 * pb_pop3_client_quit:
 *
 * Ends the session; the server enters the UPDATE state and removes the messages marked with
 * DELE. Only a +OK says that happened.
 */
gboolean
pb_pop3_client_quit (PbPop3Client  *self,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(PbPop3Reply) reply = NULL;

  g_return_val_if_fail (PB_IS_POP3_CLIENT (self), FALSE);

  if (self->connection == NULL)
    return TRUE;
  reply = run_command (self, "QUIT", NULL, PB_POP3_EXPECT_SINGLE, cancellable, error);
  pb_pop3_client_close (self);
  return reply != NULL;
}

void
pb_pop3_client_close (PbPop3Client *self)
{
  g_return_if_fail (PB_IS_POP3_CLIENT (self));

  if (self->connection != NULL)
    pb_connection_close (self->connection);
  self->broken = TRUE;
}
