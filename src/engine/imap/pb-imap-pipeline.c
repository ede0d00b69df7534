/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "pb-imap-client-private.h"

/*
 * PbImapClient, part 4: COMPRESS=DEFLATE (RFC 4978) and commands pipelined ahead of their
 * answers.
 */

/* Compression pays on slow links and costs CPU on fast ones: on by default except to loopback,
 * where it only slows things down. POSTBOTE_IMAP_COMPRESS=always|never overrides (tests and
 * benchmarks use it). */
static gboolean
want_compression (PbImapClient *self)
{
  const char *setting = g_getenv ("POSTBOTE_IMAP_COMPRESS");
  g_autoptr(GInetAddress) address = NULL;

  if (g_strcmp0 (setting, "always") == 0)
    return TRUE;
  if (g_strcmp0 (setting, "never") == 0)
    return FALSE;
  address = g_inet_address_new_from_string (pb_service_get_host (self->service));
  if (address != NULL && g_inet_address_get_is_loopback (address))
    return FALSE;
  return g_ascii_strcasecmp (pb_service_get_host (self->service), "localhost") != 0;
}

/**
 * pb_imap_client_compress:
 *
 * Turns on COMPRESS=DEFLATE (RFC 4978) when the server offers it and it is wanted. Must come
 * after authentication (RFC 4978 3) and before anything is pipelined.
 */
gboolean
pb_imap_client_compress (PbImapClient  *self,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(PbImapResponse) response = NULL;

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);

  if (!self->authenticated || !pb_imap_client_has_capability (self, "COMPRESS=DEFLATE")
      || pb_connection_is_compressed (self->connection) || !want_compression (self))
    return TRUE;

  response = pb_imap_client_run_command_full (self, "COMPRESS DEFLATE", NULL, NULL, NULL, FALSE, NULL, NULL,
                               cancellable, error);
  if (response == NULL)
    return FALSE;
  if (response->status != PB_IMAP_STATUS_OK)
    return TRUE;  /* a refusal is fine: go on uncompressed */
  /* Bytes after the OK are compressed already and must not be read as text. */
  if (pb_imap_parser_get_pending (self->parser) > 0)
    {
      self->broken = TRUE;
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE,
                   _("The server sent data right after agreeing to compress"));
      return FALSE;
    }
  if (!pb_connection_start_compress (self->connection, error))
    {
      self->broken = TRUE;
      return FALSE;
    }
  return TRUE;
}

/* How many commands may be on the wire ahead of their answers. Enough to hide a round trip
 * behind the data of the previous FETCH, small enough to stop soon after an error. */
#define PIPELINE_DEPTH 3

/**
 * pb_imap_client_command_pipeline:
 * @commands: commands without literals (tags are added)
 *
 * Runs @commands with up to PIPELINE_DEPTH of them sent before their answers arrive (RFC 3501
 * 5.5), so the server never waits for the next request. Untagged responses go to @func. The
 * first command the server refuses ends the run with its error; the ones already sent are
 * read to their end so the session stays usable.
 */
gboolean
pb_imap_client_command_pipeline (PbImapClient        *self,
                                 const char * const  *commands,
                                 guint                n_commands,
                                 PbImapUntaggedFunc   func,
                                 gpointer             user_data,
                                 GCancellable        *cancellable,
                                 GError             **error)
{
  g_autoptr(GPtrArray) tags = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) refused = NULL;
  guint sent = 0, finished = 0;

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);

  if (self->broken)
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED,
                   _("The connection to the server was lost"));
      return FALSE;
    }

  while (finished < n_commands)
    {
      g_autoptr(PbImapResponse) response = NULL;

      /* Keep the pipe full, but send nothing new once something was refused. */
      while (refused == NULL && sent < n_commands && sent - finished < PIPELINE_DEPTH)
        {
          g_autofree char *tag = g_strdup_printf ("A%u", self->next_tag++);
          g_autofree char *line = g_strdup_printf ("%s %s", tag, commands[sent]);

          if (!pb_imap_client_send_line (self, line, NULL, cancellable, error))
            return FALSE;
          g_ptr_array_add (tags, g_steal_pointer (&tag));
          sent++;
        }
      if (refused != NULL && finished == sent)
        break;

      response = pb_imap_client_read_response (self, cancellable, error);
      if (response == NULL)
        return FALSE;

      switch (response->kind)
        {
        case PB_IMAP_RESPONSE_TAGGED:
          /* Servers answer pipelined commands in order in practice, but RFC 3501 does not
           * promise it: accept any tag still outstanding. */
          {
            gboolean known = FALSE;

            for (guint i = finished; i < sent; i++)
              if (g_strcmp0 (g_ptr_array_index (tags, i), response->tag) == 0)
                {
                  known = TRUE;
                  /* Move it to the finished part of the list. */
                  g_free (g_ptr_array_index (tags, i));
                  g_ptr_array_index (tags, i) = g_ptr_array_index (tags, finished);
                  g_ptr_array_index (tags, finished) = g_strdup (response->tag);
                  break;
                }
            if (!known)
              {
                self->broken = TRUE;
                g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE,
                             _("The server answered a command that was never sent"));
                return FALSE;
              }
            finished++;
            if (refused == NULL && response->status != PB_IMAP_STATUS_OK)
              pb_imap_client_check_ok (self, response, "UID FETCH", &refused);
          }
          break;

        case PB_IMAP_RESPONSE_CONTINUATION:
          self->broken = TRUE;
          g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE,
                       _("The server asked for data the command does not have"));
          return FALSE;

        case PB_IMAP_RESPONSE_UNTAGGED:
        default:
          if (response->status == PB_IMAP_STATUS_BYE)
            break;
          if (func != NULL && !func (response, user_data, error))
            {
              self->broken = TRUE;
              return FALSE;
            }
          break;
        }
    }

  if (refused != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&refused));
      return FALSE;
    }
  return TRUE;
}
