/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "pb-imap-client-private.h"

/*
 * PbImapClient, part 3: IDLE (RFC 2177), waiting for the server to say a mailbox changed.
 */

static gboolean
is_mailbox_change (PbImapResponse *response)
{
  PbImapValue *second;

  if (response->kind != PB_IMAP_RESPONSE_UNTAGGED || response->status != PB_IMAP_STATUS_NONE
      || response->items == NULL || response->items->len < 2)
    return FALSE;
  if (pb_imap_value_is_atom (g_ptr_array_index (response->items, 0), "VANISHED"))
    return TRUE;
  second = g_ptr_array_index (response->items, 1);
  return pb_imap_value_is_atom (second, "EXISTS") || pb_imap_value_is_atom (second, "EXPUNGE")
         || pb_imap_value_is_atom (second, "FETCH");
}

/**
 * pb_imap_client_idle:
 * @seconds: how long to wait at most; servers drop idle clients after 30 minutes (RFC 2177
 *   asks clients to re-issue IDLE at least every 29)
 * @out_changed: (out): whether the selected mailbox changed
 *
 * Waits in IDLE (RFC 2177) on the selected mailbox until the server reports a change, the time
 * is up, or @cancellable is cancelled; then ends IDLE cleanly. Without IDLE support it fails
 * with %PB_IMAP_ERROR_UNSUPPORTED and the caller polls instead.
 */
gboolean
pb_imap_client_idle (PbImapClient  *self,
                     guint          seconds,
                     gboolean      *out_changed,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autofree char *tag = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean changed = FALSE;
  gboolean ok = TRUE;

  g_return_val_if_fail (PB_IS_IMAP_CLIENT (self), FALSE);
  g_return_val_if_fail (self->selected != NULL, FALSE);

  *out_changed = FALSE;
  if (!pb_imap_client_has_capability (self, "IDLE"))
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_UNSUPPORTED,
                   _("The server does not support IDLE"));
      return FALSE;
    }
  if (self->broken)
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED,
                   _("The connection to the server was lost"));
      return FALSE;
    }

  tag = g_strdup_printf ("A%u", self->next_tag++);
  line = g_strdup_printf ("%s IDLE", tag);
  if (!pb_imap_client_send_line (self, line, NULL, cancellable, error))
    return FALSE;

  /* Until "+ idling": responses may still arrive; a tagged NO ends it at once. */
  for (;;)
    {
      g_autoptr(PbImapResponse) response = pb_imap_client_read_response (self, cancellable, error);

      if (response == NULL)
        return FALSE;
      if (response->kind == PB_IMAP_RESPONSE_CONTINUATION)
        break;
      if (response->kind == PB_IMAP_RESPONSE_TAGGED)
        return pb_imap_client_check_ok (self, response, "IDLE", error);
      if (is_mailbox_change (response))
        changed = TRUE;
    }

  /* Wait with a long socket timeout; a timeout here is the normal end of an idle period. */
  if (!changed)
    {
      pb_connection_set_timeout (self->connection, seconds);
      for (;;)
        {
          g_autoptr(PbImapResponse) response = pb_imap_client_read_response (self, cancellable, &local_error);

          if (response == NULL)
            break;
          if (response->kind == PB_IMAP_RESPONSE_TAGGED)
            {
              /* The server ended IDLE by itself. */
              pb_connection_set_timeout (self->connection, 60);
              *out_changed = TRUE;
              return pb_imap_client_check_ok (self, response, "IDLE", error);
            }
          if (is_mailbox_change (response))
            {
              changed = TRUE;
              break;
            }
        }
      pb_connection_set_timeout (self->connection, 60);
      if (local_error != NULL)
        {
          gboolean timed_out = g_error_matches (local_error, PB_CONNECTION_ERROR,
                                                PB_CONNECTION_ERROR_TIMEOUT);
          gboolean cancelled = g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

          if (!timed_out && !cancelled)
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          /* The read was interrupted before any byte of a response: the stream is intact. */
          self->broken = FALSE;
          if (cancelled)
            ok = FALSE;
        }
    }

  if (!pb_imap_client_send_line (self, "DONE", NULL, NULL, error))
    return FALSE;
  for (;;)
    {
      g_autoptr(PbImapResponse) response = pb_imap_client_read_response (self, NULL, error);

      if (response == NULL)
        return FALSE;
      if (response->kind == PB_IMAP_RESPONSE_TAGGED)
        {
          if (g_strcmp0 (response->tag, tag) != 0)
            {
              self->broken = TRUE;
              g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE,
                           _("The server answered a command that was never sent"));
              return FALSE;
            }
          if (!pb_imap_client_check_ok (self, response, "IDLE", error))
            return FALSE;
          break;
        }
      if (is_mailbox_change (response))
        changed = TRUE;
    }

  *out_changed = changed;
  if (!ok)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Cancelled"));
  return ok;
}
