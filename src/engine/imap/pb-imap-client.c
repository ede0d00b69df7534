/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "pb-connection.h"
#include "pb-credentials.h"
#include "pb-imap-client-private.h"
#include "pb-imap-parser.h"
#include "pb-imap-utf7.h"
#include "pb-sasl.h"

G_DEFINE_FINAL_TYPE (PbImapClient, pb_imap_client, G_TYPE_OBJECT)

static void
pb_imap_client_dispose (GObject *object)
{
  PbImapClient *self = PB_IMAP_CLIENT (object);

  if (self->connection)
    pb_connection_close (self->connection);
  g_clear_object (&self->connection);
  g_clear_object (&self->service);

  G_OBJECT_CLASS (pb_imap_client_parent_class)->dispose (object);
}

static void
pb_imap_client_finalize (GObject *object)
{
  PbImapClient *self = PB_IMAP_CLIENT (object);

  g_clear_pointer (&self->parser, pb_imap_parser_free);
  g_hash_table_unref (self->capabilities);
  g_free (self->selected);
  g_free (self->namespace_prefix);
  g_free (self->bye_text);

  G_OBJECT_CLASS (pb_imap_client_parent_class)->finalize (object);
}

static void
pb_imap_client_class_init (PbImapClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pb_imap_client_dispose;
  object_class->finalize = pb_imap_client_finalize;
}

static void
pb_imap_client_init (PbImapClient *self)
{
  self->capabilities = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->next_tag = 1;
}

PbImapClient *
pb_imap_client_new (PbService *service)
{
  PbImapClient *self;

  g_return_val_if_fail (PB_IS_SERVICE (service), NULL);
  g_return_val_if_fail (pb_service_get_protocol (service) == PB_PROTOCOL_IMAP, NULL);

  self = g_object_new (PB_TYPE_IMAP_CLIENT, NULL);
  self->service = g_object_ref (service);
  return self;
}

gboolean
pb_imap_client_has_capability (PbImapClient *self,
                               const char   *capability)
{
  g_autofree char *upper = NULL;

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);

  upper = g_ascii_strup (capability, -1);
  return g_hash_table_contains (self->capabilities, upper);
}

gboolean
pb_imap_client_is_authenticated (PbImapClient *self)
{
  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);
  return self->authenticated;
}

/* Server text reaches the user in error messages: keep it printable and short, so a hostile
 * server can neither forge extra lines in a terminal nor flood a dialog. */
char *
pb_imap_client_sanitize_server_text (const char *text)
{
  GString *out = g_string_new (NULL);

  if (text == NULL)
    return g_string_free (out, FALSE);
  for (const char *p = text; *p && out->len < 200; p++)
    g_string_append_c (out, ((guchar) *p < 0x20 || *p == 0x7f) ? ' ' : *p);
  if (!g_utf8_validate (out->str, -1, NULL))
    {
      char *valid = g_utf8_make_valid (out->str, -1);
      g_string_free (out, TRUE);
      return valid;
    }
  return g_string_free (out, FALSE);
}

static void
set_capabilities (PbImapClient *self,
                  GPtrArray    *values,
                  guint         first)
{
  g_hash_table_remove_all (self->capabilities);
  for (guint i = first; i < values->len; i++)
    {
      PbImapValue *value = g_ptr_array_index (values, i);
      if (value->type == PB_IMAP_VALUE_ATOM)
        g_hash_table_add (self->capabilities, g_ascii_strup (value->str, -1));
    }
}

/* Untagged responses that change session state are handled wherever they appear. */
static void
note_response (PbImapClient   *self,
               PbImapResponse *response)
{
  if (response->code != NULL && response->code->len > 0
      && pb_imap_value_is_atom (g_ptr_array_index (response->code, 0), "CAPABILITY"))
    set_capabilities (self, response->code, 1);

  if (response->kind != PB_IMAP_RESPONSE_UNTAGGED)
    return;

  if (response->status == PB_IMAP_STATUS_BYE)
    {
      g_free (self->bye_text);
      self->bye_text = pb_imap_client_sanitize_server_text (response->text);
    }
  else if (response->status == PB_IMAP_STATUS_NONE && response->items->len > 0
           && pb_imap_value_is_atom (g_ptr_array_index (response->items, 0), "CAPABILITY"))
    set_capabilities (self, response->items, 1);
}

PbImapResponse *
pb_imap_client_read_response (PbImapClient  *self,
               GCancellable  *cancellable,
               GError       **error)
{
  guint8 buffer[READ_CHUNK];

  for (;;)
    {
      PbImapResponse *response = NULL;
      g_autoptr(GError) local_error = NULL;
      gssize n;

      switch (pb_imap_parser_next (self->parser, &response, error))
        {
        case PB_IMAP_PARSE_OK:
          note_response (self, response);
          return response;
        case PB_IMAP_PARSE_ERROR:
          self->broken = TRUE;
          return NULL;
        case PB_IMAP_PARSE_NEED_MORE:
        default:
          break;
        }

      n = pb_connection_read (self->connection, buffer, sizeof buffer, cancellable, &local_error);
      if (n < 0)
        {
          self->broken = TRUE;
          if (self->bye_text != NULL
              && g_error_matches (local_error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_CLOSED))
            g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_BYE,
                         _("The server closed the connection: %s"), self->bye_text);
          else
            g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      pb_imap_parser_feed (self->parser, buffer, n);
    }
}

gboolean
pb_imap_client_send_line (PbImapClient  *self,
           const char    *line,
           const char    *trace_as,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autofree char *data = g_strconcat (line, "\r\n", NULL);
  g_autofree char *trace = trace_as ? g_strconcat (trace_as, "\r\n", NULL) : NULL;
  gboolean ok;

  ok = pb_connection_write (self->connection, data, -1, trace, cancellable, error);
  explicit_bzero (data, strlen (data));
  if (!ok)
    self->broken = TRUE;
  return ok;
}

/*
 * Sends one command and reads until its tagged completion. Untagged responses in between go to
 * @func. @continuation, when given, is written (traced as @continuation_trace, because it may
 * carry a secret or a whole message) the first time the server asks to continue, or right after
 * the command when @continuation_now is set (a LITERAL+ literal, which needs no go-ahead).
 */
PbImapResponse *
pb_imap_client_run_command_full (PbImapClient        *self,
                  const char          *command,
                  const char          *trace_as,
                  GBytes              *continuation,
                  const char          *continuation_trace,
                  gboolean             continuation_now,
                  PbImapUntaggedFunc   func,
                  gpointer             user_data,
                  GCancellable        *cancellable,
                  GError             **error)
{
  g_autofree char *tag = g_strdup_printf ("A%u", self->next_tag++);
  g_autofree char *line = g_strdup_printf ("%s %s", tag, command);
  g_autofree char *trace = trace_as ? g_strdup_printf ("%s %s", tag, trace_as) : NULL;

  if (self->broken)
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED,
                   _("The connection to the server was lost"));
      return NULL;
    }

  if (!pb_imap_client_send_line (self, line, trace, cancellable, error))
    return NULL;
  explicit_bzero (line, strlen (line));

  if (continuation != NULL && continuation_now)
    {
      if (!pb_connection_write (self->connection, g_bytes_get_data (continuation, NULL),
                                g_bytes_get_size (continuation), continuation_trace, cancellable,
                                error))
        {
          self->broken = TRUE;
          return NULL;
        }
      continuation = NULL;
    }

  for (;;)
    {
      g_autoptr(PbImapResponse) response = pb_imap_client_read_response (self, cancellable, error);

      if (response == NULL)
        return NULL;

      switch (response->kind)
        {
        case PB_IMAP_RESPONSE_TAGGED:
          if (g_strcmp0 (response->tag, tag) != 0)
            {
              self->broken = TRUE;
              g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE,
                           _("The server answered a command that was never sent"));
              return NULL;
            }
          return g_steal_pointer (&response);

        case PB_IMAP_RESPONSE_CONTINUATION:
          if (continuation == NULL)
            {
              self->broken = TRUE;
              g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE,
                           _("The server asked for data the command does not have"));
              return NULL;
            }
          if (!pb_connection_write (self->connection, g_bytes_get_data (continuation, NULL),
                                    g_bytes_get_size (continuation), continuation_trace,
                                    cancellable, error))
            {
              self->broken = TRUE;
              return NULL;
            }
          continuation = NULL;
          break;

        case PB_IMAP_RESPONSE_UNTAGGED:
        default:
          if (response->status == PB_IMAP_STATUS_BYE)
            break;  /* the close that follows reports it */
          if (func != NULL && !func (response, user_data, error))
            {
              self->broken = TRUE;
              return NULL;
            }
          break;
        }
    }
}

static gboolean
collect_untagged (PbImapResponse  *response,
                  gpointer         user_data,
                  GError         **error)
{
  PbImapResponse *copy = g_memdup2 (response, sizeof *response);

  /* Move the contents: the caller frees the original shell only. */
  memset (response, 0, sizeof *response);
  g_ptr_array_add (user_data, copy);
  return TRUE;
}

PbImapResponse *
pb_imap_client_run_command (PbImapClient  *self,
             const char    *command,
             const char    *trace_as,
             const char    *continuation,
             GPtrArray     *untagged,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(GBytes) bytes = NULL;
  PbImapResponse *response;

  if (continuation != NULL)
    {
      char *line = g_strconcat (continuation, "\r\n", NULL);
      bytes = g_bytes_new_with_free_func (line, strlen (line), (GDestroyNotify) pb_password_free,
                                          line);
    }
  response = pb_imap_client_run_command_full (self, command, trace_as, bytes, "********\r\n", FALSE,
                               untagged ? collect_untagged : NULL, untagged, cancellable, error);
  return response;
}

/* "UID MOVE 3 Archive" -> "UID MOVE": the words a user can recognise in an error message. */
static char *
command_verb (const char *command)
{
  gsize n = strcspn (command, " ");

  if (g_ascii_strncasecmp (command, "UID ", 4) == 0)
    n = 4 + strcspn (command + 4, " ");
  return g_strndup (command, n);
}

gboolean
pb_imap_client_check_ok (PbImapClient    *self,
          PbImapResponse  *response,
          const char      *what,
          GError         **error)
{
  g_autofree char *text = NULL;

  if (response->status == PB_IMAP_STATUS_OK)
    return TRUE;

  text = pb_imap_client_sanitize_server_text (response->text);
  g_set_error (error, PB_IMAP_ERROR,
               response->status == PB_IMAP_STATUS_NO ? PB_IMAP_ERROR_NO : PB_IMAP_ERROR_BAD,
               /* Translators: first %s is a command like LIST, second the server's words */
               _("The server refused %s: %s"), what, text);
  return FALSE;
}

gboolean
pb_imap_client_command_ok (PbImapClient  *self,
            const char    *command,
            GPtrArray     *untagged,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(PbImapResponse) response = NULL;
  g_autofree char *verb = command_verb (command);

  response = pb_imap_client_run_command (self, command, NULL, NULL, untagged, cancellable, error);
  return response != NULL && pb_imap_client_check_ok (self, response, verb, error);
}

gboolean
pb_imap_client_connect (PbImapClient  *self,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(PbImapResponse) greeting = NULL;
  g_autofree char *trace_name = NULL;
  PbSecurity security;

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);
  g_return_val_if_fail (self->connection == NULL, FALSE);

  security = pb_service_get_security (self->service);
  {
    /* A plain "* SEARCH" of a big folder is one long line (about 6 bytes per UID); allow
     * 8 MiB so 1,000,000 UIDs fit, while other bounds stay at their defaults. */
    PbImapParserLimits limits = { 0 };

    limits.max_line = 8 * 1024 * 1024;
    /* Exchange allows messages of 150 MB. Literals over 1 MiB go to an unlinked file and
     * are read back through a mapping, so a big message costs disk, not heap. */
    limits.max_literal = 256 * 1024 * 1024;
    self->parser = pb_imap_parser_new (&limits);
  }
  {
    /* Under the cache folder rather than /tmp, which is often a RAM-backed tmpfs. */
    g_autofree char *spill = g_build_filename (g_get_user_cache_dir (), "postbote", "spill",
                                               NULL);
    if (g_mkdir_with_parents (spill, 0700) == 0)
      pb_imap_parser_set_spill_dir (self->parser, spill);
  }
  self->connection = pb_connection_new_for_service (self->service);
  trace_name = g_strdup_printf ("imap %s", pb_service_get_host (self->service));
  pb_connection_set_trace_name (self->connection, trace_name);

  if (!pb_connection_connect (self->connection, cancellable, error))
    return FALSE;

  greeting = pb_imap_client_read_response (self, cancellable, error);
  if (greeting == NULL)
    return FALSE;
  if (greeting->kind != PB_IMAP_RESPONSE_UNTAGGED
      || (greeting->status != PB_IMAP_STATUS_OK && greeting->status != PB_IMAP_STATUS_PREAUTH))
    {
      g_autofree char *text = pb_imap_client_sanitize_server_text (greeting->text);
      self->broken = TRUE;
      g_set_error (error, PB_IMAP_ERROR,
                   greeting->status == PB_IMAP_STATUS_BYE ? PB_IMAP_ERROR_BYE : PB_IMAP_ERROR_PARSE,
                   _("The server at %s does not accept connections: %s"),
                   pb_service_get_host (self->service), text);
      return FALSE;
    }

  if (security == PB_SECURITY_STARTTLS)
    {
      g_autoptr(PbImapResponse) response = NULL;

      /* A PREAUTH greeting on a plain connection would mean talking in the clear, and
       * RFC 3501 allows no STARTTLS after it: refuse rather than downgrade. */
      if (greeting->status == PB_IMAP_STATUS_PREAUTH)
        {
          self->broken = TRUE;
          g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_STARTTLS_UNAVAILABLE,
                       _("The server at %s skipped encryption (PREAUTH); refusing to continue "
                         "unencrypted"), pb_service_get_host (self->service));
          return FALSE;
        }
      if (g_hash_table_size (self->capabilities) == 0
          && !pb_imap_client_command_ok (self, "CAPABILITY", NULL, cancellable, error))
        return FALSE;
      if (!pb_imap_client_has_capability (self, "STARTTLS"))
        {
          self->broken = TRUE;
          g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_STARTTLS_UNAVAILABLE,
                       _("The server at %s does not offer STARTTLS, so the connection cannot "
                         "be encrypted; nothing was sent. Use imaps:// if the server supports "
                         "implicit TLS"), pb_service_get_host (self->service));
          return FALSE;
        }
      response = pb_imap_client_run_command (self, "STARTTLS", NULL, NULL, NULL, cancellable, error);
      if (response == NULL || !pb_imap_client_check_ok (self, response, "STARTTLS", error))
        return FALSE;
      /* Anything the parser holds beyond the go-ahead arrived unencrypted and would be read
       * as if it came over TLS: an injection attack (CVE-2011-0411 class). */
      if (pb_imap_parser_get_pending (self->parser) > 0)
        {
          self->broken = TRUE;
          g_set_error (error, PB_CONNECTION_ERROR, PB_CONNECTION_ERROR_STARTTLS_INJECTION,
                       _("The server at %s sent data after agreeing to STARTTLS; the connection "
                         "was closed because it may have been tampered with"),
                       pb_service_get_host (self->service));
          return FALSE;
        }
      if (!pb_connection_start_tls (self->connection, cancellable, error))
        {
          self->broken = TRUE;
          return FALSE;
        }
      /* What the server said before encryption cannot be trusted. */
      g_hash_table_remove_all (self->capabilities);
    }
  else if (greeting->status == PB_IMAP_STATUS_PREAUTH)
    self->authenticated = TRUE;

  if (g_hash_table_size (self->capabilities) == 0
      && !pb_imap_client_command_ok (self, "CAPABILITY", NULL, cancellable, error))
    return FALSE;

  if (!pb_imap_client_has_capability (self, "IMAP4rev1")
      && !pb_imap_client_has_capability (self, "IMAP4rev2"))
    {
      self->broken = TRUE;
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_UNSUPPORTED,
                   _("The server at %s does not speak IMAP4rev1"),
                   pb_service_get_host (self->service));
      return FALSE;
    }
  return TRUE;
}

/* Quotes a string for a command (RFC 3501 quoted), or returns NULL when it needs a literal. */
char *
pb_imap_quote_string (const char *s)
{
  GString *out = g_string_new ("\"");

  for (const char *p = s; *p; p++)
    {
      if (*p == '\r' || *p == '\n' || (guchar) *p >= 0x80)
        {
          g_string_free (out, TRUE);
          return NULL;
        }
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

/* A mailbox name for a command: with UTF8=ACCEPT, UTF-8 may go inside a quoted string. */
char *
pb_imap_client_quote_mailbox (PbImapClient *self,
               const char   *name)
{
  GString *out;

  if (!self->utf8)
    return pb_imap_quote_string (name);
  if (!g_utf8_validate (name, -1, NULL))
    return NULL;
  out = g_string_new ("\"");
  for (const char *p = name; *p; p++)
    {
      if (*p == '\r' || *p == '\n')
        {
          g_string_free (out, TRUE);
          return NULL;
        }
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

static gboolean
namespace_cb (PbImapResponse  *response,
              gpointer         user_data,
              GError         **error)
{
  PbImapClient *self = user_data;
  PbImapValue *personal, *first, *prefix, *delimiter;

  if (response->items == NULL || response->items->len < 2
      || !pb_imap_value_is_atom (g_ptr_array_index (response->items, 0), "NAMESPACE"))
    return TRUE;
  personal = g_ptr_array_index (response->items, 1);
  if (personal->type != PB_IMAP_VALUE_LIST || personal->list->len == 0)
    return TRUE;
  first = g_ptr_array_index (personal->list, 0);
  if (first->type != PB_IMAP_VALUE_LIST || first->list->len < 2)
    return TRUE;
  prefix = g_ptr_array_index (first->list, 0);
  delimiter = g_ptr_array_index (first->list, 1);
  if (prefix->type != PB_IMAP_VALUE_STRING)
    return TRUE;
  g_free (self->namespace_prefix);
  self->namespace_prefix = g_strdup (prefix->str);
  self->namespace_delimiter = delimiter->type == PB_IMAP_VALUE_STRING && delimiter->len == 1
                              ? delimiter->str[0] : '\0';
  return TRUE;
}

/* After login: say who we are (some providers require ID, RFC 2971) and learn the personal
 * namespace, so that "INBOX." prefixes can be hidden. Failures here change nothing. */
static gboolean
after_login (PbImapClient  *self,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(PbImapResponse) response = NULL;

  if (pb_imap_client_has_capability (self, "ID"))
    {
      g_autofree char *command = g_strdup_printf ("ID (\"name\" \"Postbote\" \"version\" \"%s\")",
                                                  PACKAGE_VERSION);
      response = pb_imap_client_run_command_full (self, command, NULL, NULL, NULL, FALSE, NULL, NULL,
                                   cancellable, error);
      if (response == NULL)
        return FALSE;
      g_clear_pointer (&response, pb_imap_response_free);
    }
  if (pb_imap_client_has_capability (self, "NAMESPACE"))
    {
      response = pb_imap_client_run_command_full (self, "NAMESPACE", NULL, NULL, NULL, FALSE, namespace_cb,
                                   self, cancellable, error);
      if (response == NULL)
        return FALSE;
    }
  return TRUE;
}

static void
set_auth_error (PbImapClient    *self,
                PbImapResponse  *response,
                GError         **error)
{
  g_autofree char *text = pb_imap_client_sanitize_server_text (response->text);

  g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_AUTHENTICATION_FAILED,
               _("The server at %s rejected the user name or password for “%s” (%s)"),
               pb_service_get_host (self->service), pb_service_get_user (self->service), text);
}

gboolean
pb_imap_client_authenticate (PbImapClient  *self,
                             const char    *password,
                             GCancellable  *cancellable,
                             GError       **error)
{
  g_autoptr(PbImapResponse) response = NULL;
  const char *user;

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);
  g_return_val_if_fail (password != NULL, FALSE);

  if (self->authenticated)
    return TRUE;

  /* Defence in depth: the connect logic already guarantees this, but no code path may ever
   * send a password in the clear unless the user chose an unencrypted server. */
  if (!pb_connection_is_tls (self->connection)
      && pb_service_get_security (self->service) != PB_SECURITY_NONE)
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED,
                   _("Refusing to send a password over an unencrypted connection"));
      return FALSE;
    }

  user = pb_service_get_user (self->service);

  if (pb_imap_client_has_capability (self, "AUTH=PLAIN"))
    {
      char *initial = pb_sasl_plain_response (user, password);
      g_autofree char *command = NULL;

      if (pb_imap_client_has_capability (self, "SASL-IR"))
        {
          command = g_strdup_printf ("AUTHENTICATE PLAIN %s", initial);
          response = pb_imap_client_run_command (self, command, "AUTHENTICATE PLAIN ********", NULL, NULL,
                                  cancellable, error);
          explicit_bzero (command, strlen (command));
        }
      else
        response = pb_imap_client_run_command (self, "AUTHENTICATE PLAIN", NULL, initial, NULL, cancellable,
                                error);
      pb_password_free (initial);
    }
  else if (!pb_imap_client_has_capability (self, "LOGINDISABLED"))
    {
      g_autofree char *quoted_user = pb_imap_quote_string (user);
      char *quoted_password = pb_imap_quote_string (password);
      g_autofree char *command = NULL;
      g_autofree char *trace = NULL;

      if (quoted_user == NULL || quoted_password == NULL)
        {
          pb_password_free (quoted_password);
          g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_UNSUPPORTED,
                       _("The server offers only LOGIN, which cannot carry this user name or "
                         "password (non-ASCII characters)"));
          return FALSE;
        }
      command = g_strdup_printf ("LOGIN %s %s", quoted_user, quoted_password);
      trace = g_strdup_printf ("LOGIN %s ********", quoted_user);
      response = pb_imap_client_run_command (self, command, trace, NULL, NULL, cancellable, error);
      explicit_bzero (command, strlen (command));
      pb_password_free (quoted_password);
    }
  else
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_UNSUPPORTED,
                   _("The server at %s offers no password login that Postbote supports"),
                   pb_service_get_host (self->service));
      return FALSE;
    }

  if (response == NULL)
    return FALSE;
  if (response->status != PB_IMAP_STATUS_OK)
    {
      set_auth_error (self, response, error);
      return FALSE;
    }

  self->authenticated = TRUE;

  /* Capabilities often grow after login (RFC 3501 7.1): ask again unless the OK told us. */
  if ((response->code == NULL || response->code->len == 0
       || !pb_imap_value_is_atom (g_ptr_array_index (response->code, 0), "CAPABILITY"))
      && !pb_imap_client_command_ok (self, "CAPABILITY", NULL, cancellable, error))
    return FALSE;
  return after_login (self, cancellable, error);
}

void
pb_imap_client_logout (PbImapClient *self,
                       GCancellable *cancellable)
{
  g_autoptr(PbImapResponse) response = NULL;

  g_return_if_fail (PB_IS_IMAP_CLIENT (self));

  /* Best effort: the server's answer changes nothing for us. */
  if (self->connection != NULL && !self->broken)
    response = pb_imap_client_run_command (self, "LOGOUT", NULL, NULL, NULL, cancellable, NULL);
  if (self->connection != NULL)
    pb_connection_close (self->connection);
  self->broken = TRUE;
}

gboolean
pb_imap_client_command (PbImapClient        *self,
                        const char          *command,
                        PbImapUntaggedFunc   func,
                        gpointer             user_data,
                        GCancellable        *cancellable,
                        GError             **error)
{
  g_autoptr(PbImapResponse) response = NULL;
  g_autofree char *verb = NULL;

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);

  verb = command_verb (command);
  response = pb_imap_client_run_command_full (self, command, NULL, NULL, NULL, FALSE, func, user_data,
                               cancellable, error);
  return response != NULL && pb_imap_client_check_ok (self, response, verb, error);
}

gboolean
pb_imap_client_qresync_enabled (PbImapClient *self)
{
  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);
  return self->qresync;
}

/* UTF8=ACCEPT is enabled (RFC 6855): quoted strings may carry UTF-8, and SEARCH must not
 * name a CHARSET. */
gboolean
pb_imap_client_utf8_enabled (PbImapClient *self)
{
  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);
  return self->utf8;
}

gboolean
pb_imap_client_condstore_enabled (PbImapClient *self)
{
  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);
  return self->condstore;
}

const char *
pb_imap_client_get_selected (PbImapClient *self)
{
  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), NULL);
  return self->selected;
}

static gboolean
enabled_cb (PbImapResponse  *response,
            gpointer         user_data,
            GError         **error)
{
  PbImapClient *self = user_data;

  if (response->items == NULL || response->items->len == 0
      || !pb_imap_value_is_atom (g_ptr_array_index (response->items, 0), "ENABLED"))
    return TRUE;
  for (guint i = 1; i < response->items->len; i++)
    {
      PbImapValue *value = g_ptr_array_index (response->items, i);
      if (pb_imap_value_is_atom (value, "CONDSTORE"))
        self->condstore = TRUE;
      else if (pb_imap_value_is_atom (value, "QRESYNC"))
        self->qresync = self->condstore = TRUE;  /* QRESYNC implies CONDSTORE (RFC 7162 3.2.3) */
      else if (pb_imap_value_is_atom (value, "UTF8=ACCEPT"))
        self->utf8 = TRUE;
    }
  return TRUE;
}

/**
 * pb_imap_client_enable:
 *
 * Turns on what fast resynchronisation needs: QRESYNC (which includes CONDSTORE) where offered,
 * else CONDSTORE. A server without ENABLE still gets CONDSTORE by using a CONDSTORE command,
 * which SELECT (CONDSTORE) does.
 */
gboolean
pb_imap_client_enable (PbImapClient  *self,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(GString) command = g_string_new ("ENABLE");

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);
  g_return_val_if_fail (self->authenticated, FALSE);

  if (!pb_imap_client_has_capability (self, "ENABLE"))
    return TRUE;
  if (pb_imap_client_has_capability (self, "QRESYNC"))
    g_string_append (command, " QRESYNC");
  if (pb_imap_client_has_capability (self, "CONDSTORE"))
    g_string_append (command, " CONDSTORE");
  if (pb_imap_client_has_capability (self, "UTF8=ACCEPT"))
    g_string_append (command, " UTF8=ACCEPT");
  if (command->len == strlen ("ENABLE"))
    return TRUE;
  return pb_imap_client_command (self, command->str, enabled_cb, self, cancellable, error);
}

static gboolean
code_number (GPtrArray  *code,
             const char *name,
             guint64     max,
             guint64    *out)
{
  PbImapValue *value;

  if (code == NULL || code->len < 2 || !pb_imap_value_is_atom (g_ptr_array_index (code, 0), name))
    return FALSE;
  value = g_ptr_array_index (code, 1);
  if (value->type != PB_IMAP_VALUE_NUMBER || value->number > max)
    return FALSE;
  *out = value->number;
  return TRUE;
}

typedef struct {
  PbImapMailbox      *mailbox;
  PbImapUntaggedFunc  func;
  gpointer            user_data;
} SelectData;

static gboolean
select_cb (PbImapResponse  *response,
           gpointer         user_data,
           GError         **error)
{
  SelectData *data = user_data;
  guint64 n;

  if (response->status == PB_IMAP_STATUS_OK && response->code != NULL)
    {
      if (code_number (response->code, "UIDVALIDITY", G_MAXUINT32, &n))
        data->mailbox->uidvalidity = n;
      else if (code_number (response->code, "UIDNEXT", G_MAXUINT32, &n))
        data->mailbox->uidnext = n;
      else if (code_number (response->code, "HIGHESTMODSEQ", G_MAXINT64, &n))
        data->mailbox->highestmodseq = n;
      else if (response->code->len > 0
               && pb_imap_value_is_atom (g_ptr_array_index (response->code, 0), "NOMODSEQ"))
        data->mailbox->highestmodseq = 0;
      return TRUE;
    }
  if (response->status == PB_IMAP_STATUS_NONE && response->items->len == 2
      && pb_imap_value_is_atom (g_ptr_array_index (response->items, 1), "EXISTS"))
    {
      PbImapValue *value = g_ptr_array_index (response->items, 0);
      if (value->type == PB_IMAP_VALUE_NUMBER && value->number <= G_MAXUINT32)
        data->mailbox->exists = value->number;
      return TRUE;
    }
  /* VANISHED (EARLIER) and FETCH during a QRESYNC select carry the changes; the caller applies
   * them once the select succeeded. */
  if (data->func != NULL)
    return data->func (response, data->user_data, error);
  return TRUE;
}

/**
 * pb_imap_client_select:
 * @known_uidvalidity: with @known_modseq, the state from the last sync for QRESYNC, or 0
 *
 * SELECTs (or EXAMINEs) @mailbox, the remote (modified UTF-7) name. With QRESYNC enabled and a
 * known state, the server reports vanished UIDs and changed flags right here, to @func.
 */
gboolean
pb_imap_client_select (PbImapClient        *self,
                       const char          *mailbox,
                       gboolean             read_only,
                       guint32              known_uidvalidity,
                       guint64              known_modseq,
                       PbImapUntaggedFunc   func,
                       gpointer             user_data,
                       PbImapMailbox       *out_mailbox,
                       GCancellable        *cancellable,
                       GError             **error)
{
  g_autofree char *quoted = NULL;
  g_autofree char *command = NULL;
  g_autoptr(PbImapResponse) response = NULL;
  SelectData data = { out_mailbox, func, user_data };
  const char *verb = read_only ? "EXAMINE" : "SELECT";

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);
  g_return_val_if_fail (out_mailbox != NULL, FALSE);

  memset (out_mailbox, 0, sizeof *out_mailbox);
  g_clear_pointer (&self->selected, g_free);

  quoted = pb_imap_client_quote_mailbox (self, mailbox);
  if (quoted == NULL)
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED, _("Invalid folder name"));
      return FALSE;
    }

  if (self->qresync && known_uidvalidity != 0 && known_modseq != 0)
    command = g_strdup_printf ("%s %s (QRESYNC (%u %" G_GUINT64_FORMAT "))", verb, quoted,
                               known_uidvalidity, known_modseq);
  else if (!self->condstore && pb_imap_client_has_capability (self, "CONDSTORE"))
    command = g_strdup_printf ("%s %s (CONDSTORE)", verb, quoted);
  else
    command = g_strdup_printf ("%s %s", verb, quoted);

  response = pb_imap_client_run_command_full (self, command, NULL, NULL, NULL, FALSE, select_cb, &data,
                               cancellable, error);
  if (response == NULL || !pb_imap_client_check_ok (self, response, verb, error))
    return FALSE;

  if (out_mailbox->uidvalidity == 0)
    {
      /* Without UIDVALIDITY nothing cached can be trusted from one session to the next. */
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_UNSUPPORTED,
                   _("The server did not say the UIDVALIDITY of “%s”"), mailbox);
      return FALSE;
    }
  out_mailbox->read_only = read_only
                           || (response->code != NULL && response->code->len > 0
                               && pb_imap_value_is_atom (g_ptr_array_index (response->code, 0),
                                                         "READ-ONLY"));
  self->selected = g_strdup (mailbox);
  return TRUE;
}

gboolean
pb_imap_client_uid_store (PbImapClient  *self,
                          const char    *uid_set,
                          const char    *change,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autofree char *command = NULL;

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);
  g_return_val_if_fail (self->selected != NULL, FALSE);

  command = g_strdup_printf ("UID STORE %s %s", uid_set, change);
  return pb_imap_client_command (self, command, NULL, NULL, cancellable, error);
}

/**
 * pb_imap_client_uid_expunge:
 *
 * Expunges exactly @uid_set (UIDPLUS). There is deliberately no plain EXPUNGE: it would also
 * remove messages that another client marked \Deleted and the user never meant to delete.
 */
gboolean
pb_imap_client_uid_expunge (PbImapClient  *self,
                            const char    *uid_set,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_autofree char *command = NULL;

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);

  if (!pb_imap_client_has_capability (self, "UIDPLUS"))
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_UNSUPPORTED,
                   _("The server cannot remove single messages safely (no UIDPLUS)"));
      return FALSE;
    }
  command = g_strdup_printf ("UID EXPUNGE %s", uid_set);
  return pb_imap_client_command (self, command, NULL, NULL, cancellable, error);
}

/**
 * pb_imap_client_uid_move:
 *
 * Moves messages with MOVE (RFC 6851), or COPY, then \Deleted and UID EXPUNGE of exactly those
 * UIDs: the source goes only after the copy was confirmed.
 */
gboolean
pb_imap_client_uid_move (PbImapClient  *self,
                         const char    *uid_set,
                         const char    *destination,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autofree char *quoted = pb_imap_client_quote_mailbox (self, destination);
  g_autofree char *command = NULL;

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);
  g_return_val_if_fail (self->selected != NULL, FALSE);

  if (quoted == NULL)
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED, _("Invalid folder name"));
      return FALSE;
    }
  if (pb_imap_client_has_capability (self, "MOVE"))
    {
      command = g_strdup_printf ("UID MOVE %s %s", uid_set, quoted);
      return pb_imap_client_command (self, command, NULL, NULL, cancellable, error);
    }
  if (!pb_imap_client_has_capability (self, "UIDPLUS"))
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_UNSUPPORTED,
                   _("The server can neither move messages nor remove single messages safely"));
      return FALSE;
    }
  command = g_strdup_printf ("UID COPY %s %s", uid_set, quoted);
  if (!pb_imap_client_command (self, command, NULL, NULL, cancellable, error))
    return FALSE;
  return pb_imap_client_uid_store (self, uid_set, "+FLAGS.SILENT (\\Deleted)", cancellable, error)
         && pb_imap_client_uid_expunge (self, uid_set, cancellable, error);
}

/**
 * pb_imap_client_append:
 * @flags: (nullable): a flag list without parentheses, e.g. "\\Seen"
 * @out_uid: (out) (optional): the new UID when the server says it (UIDPLUS), else 0
 */
gboolean
pb_imap_client_append (PbImapClient  *self,
                       const char    *mailbox,
                       const char    *flags,
                       GBytes        *message,
                       guint32       *out_uid,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autofree char *quoted = pb_imap_client_quote_mailbox (self, mailbox);
  g_autofree char *command = NULL;
  g_autofree char *trace = NULL;
  g_autoptr(GByteArray) literal = g_byte_array_new ();
  g_autoptr(GBytes) continuation = NULL;
  g_autoptr(PbImapResponse) response = NULL;
  gsize size = g_bytes_get_size (message);
  gboolean non_sync;
  guint64 uid = 0;

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);

  if (quoted == NULL)
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED, _("Invalid folder name"));
      return FALSE;
    }
  /* LITERAL+ saves a round trip; LITERAL- (RFC 7888) allows it up to 4096 bytes. */
  non_sync = pb_imap_client_has_capability (self, "LITERAL+")
             || (pb_imap_client_has_capability (self, "LITERAL-") && size <= 4096);
  command = g_strdup_printf ("APPEND %s%s%s%s {%" G_GSIZE_FORMAT "%s}", quoted,
                             flags ? " (" : "", flags ? flags : "", flags ? ")" : "", size,
                             non_sync ? "+" : "");
  g_byte_array_append (literal, g_bytes_get_data (message, NULL), size);
  g_byte_array_append (literal, (const guint8 *) "\r\n", 2);
  continuation = g_byte_array_free_to_bytes (g_steal_pointer (&literal));
  trace = g_strdup_printf ("[message, %" G_GSIZE_FORMAT " bytes]\r\n", size);

  response = pb_imap_client_run_command_full (self, command, NULL, continuation, trace, non_sync, NULL, NULL,
                               cancellable, error);
  if (response == NULL || !pb_imap_client_check_ok (self, response, "APPEND", error))
    return FALSE;
  if (out_uid != NULL)
    {
      *out_uid = 0;
      if (response->code != NULL && response->code->len == 3
          && pb_imap_value_is_atom (g_ptr_array_index (response->code, 0), "APPENDUID"))
        {
          PbImapValue *value = g_ptr_array_index (response->code, 2);
          if (value->type == PB_IMAP_VALUE_NUMBER && value->number <= G_MAXUINT32)
            uid = value->number;
          *out_uid = uid;
        }
    }
  return TRUE;
}

static int
compare_uids (gconstpointer a,
              gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

/* "1:3,7,9:10" from any list of UIDs; duplicates collapse. */
char *
pb_imap_uid_set_from_array (const guint32 *uids,
                            guint          n_uids)
{
  g_autofree guint32 *sorted = g_memdup2 (uids, n_uids * sizeof *uids);
  GString *out = g_string_new (NULL);
  guint i = 0;

  qsort (sorted, n_uids, sizeof *sorted, compare_uids);
  while (i < n_uids)
    {
      guint j = i;

      while (j + 1 < n_uids && (sorted[j + 1] == sorted[j] || sorted[j + 1] == sorted[j] + 1))
        j++;
      if (out->len > 0)
        g_string_append_c (out, ',');
      if (sorted[j] != sorted[i])
        g_string_append_printf (out, "%u:%u", sorted[i], sorted[j]);
      else
        g_string_append_printf (out, "%u", sorted[i]);
      i = j + 1;
    }
  return g_string_free (out, FALSE);
}
