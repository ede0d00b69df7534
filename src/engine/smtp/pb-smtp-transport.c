/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-smtp"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pb-connection.h"
#include "pb-smtp-transport.h"

struct _PbSmtpTransport
{
  GObject          parent_instance;

  PbService       *service;
  PbCredentials   *credentials;
  PbSmtpAuth       auth;
  PbSmtpSendFlags  flags;
  guint            idle_timeout;

  /* The open session, shared by the worker threads one at a time. */
  GMutex           lock;
  PbSmtpClient    *client;
  gint64           last_used;  /* monotonic µs */
  gboolean         closer;     /* a close_idle_cb is scheduled */
};

static void transport_iface_init (PbTransportInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PbSmtpTransport, pb_smtp_transport, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PB_TYPE_TRANSPORT, transport_iface_init))

typedef struct {
  char            *from;
  char           **recipients;
  GBytes          *message;
  PbSmtpSendFlags  flags;
  GMainContext    *context;
} SendData;

static void
send_data_free (SendData *data)
{
  g_free (data->from);
  g_strfreev (data->recipients);
  g_bytes_unref (data->message);
  g_main_context_unref (data->context);
  g_free (data);
}

static PbSmtpClient *
open_session (PbSmtpTransport  *self,
              GCancellable     *cancellable,
              GError          **error)
{
  g_autoptr(PbSmtpClient) client = pb_smtp_client_new (self->service);
  char *secret;
  gboolean ok;

  if (!pb_smtp_client_connect (client, cancellable, error))
    return NULL;
  if (!pb_smtp_client_has_extension (client, "AUTH"))
    return g_steal_pointer (&client);
  secret = pb_credentials_lookup (self->credentials, self->service, cancellable, error);
  if (secret == NULL)
    return NULL;
  ok = pb_smtp_client_authenticate (client, self->auth, secret, cancellable, error);
  pb_password_free (secret);
  return ok ? g_steal_pointer (&client) : NULL;
}

/* Errors after which a reused session may simply have gone stale (the server's idle timeout);
 * the message was certainly not delivered, so one fresh attempt is safe. */
static gboolean
is_stale_session_error (const GError *error)
{
  return error->domain == PB_CONNECTION_ERROR
         && error->code != PB_CONNECTION_ERROR_CERTIFICATE
         && error->code != PB_CONNECTION_ERROR_STARTTLS_INJECTION;
}

static void close_idle_thread (GTask *, gpointer, gpointer, GCancellable *);

static void
schedule_close (PbSmtpTransport *self,
                GMainContext    *context,
                guint            seconds);

static gboolean
close_idle_cb (gpointer user_data)
{
  PbSmtpTransport *self = user_data;
  g_autoptr(GTask) task = g_task_new (self, NULL, NULL, NULL);

  g_task_set_source_tag (task, close_idle_cb);
  g_task_run_in_thread (task, close_idle_thread);
  return G_SOURCE_REMOVE;
}

static void
close_idle_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  PbSmtpTransport *self = source_object;
  g_autoptr(PbSmtpClient) client = NULL;

  g_mutex_lock (&self->lock);
  self->closer = FALSE;
  if (self->client != NULL
      && g_get_monotonic_time () - self->last_used >= (gint64) self->idle_timeout * G_USEC_PER_SEC)
    client = g_steal_pointer (&self->client);
  else if (self->client != NULL)
    schedule_close (self, g_task_get_context (task), 1);
  g_mutex_unlock (&self->lock);
  if (client != NULL)
    pb_smtp_client_quit (client, NULL);
  g_task_return_boolean (task, TRUE);
}

/* Called with the lock held: close the session once nothing else came for a while. One timer
 * at a time, however many messages go out. */
static void
schedule_close (PbSmtpTransport *self,
                GMainContext    *context,
                guint            seconds)
{
  g_autoptr(GSource) source = NULL;

  if (self->closer)
    return;
  self->closer = TRUE;
  source = g_timeout_source_new_seconds (seconds);
  g_source_set_callback (source, close_idle_cb, g_object_ref (self), g_object_unref);
  g_source_attach (source, context);
}

static void
send_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  PbSmtpTransport *self = source_object;
  SendData *data = task_data;
  GError *error = NULL;
  gboolean ok = FALSE;

  g_mutex_lock (&self->lock);
  for (int attempt = 0; attempt < 2 && !ok; attempt++)
    {
      gboolean reused = self->client != NULL && pb_smtp_client_is_usable (self->client);

      g_clear_error (&error);
      if (!reused)
        {
          g_clear_object (&self->client);
          self->client = open_session (self, cancellable, &error);
          if (self->client == NULL)
            break;
        }
      ok = pb_smtp_client_send (self->client, data->from,
                                (const char * const *) data->recipients, data->message,
                                data->flags, cancellable, &error);
      if (!ok && !(reused && is_stale_session_error (error)))
        break;
    }
  if (self->client != NULL && !pb_smtp_client_is_usable (self->client))
    g_clear_object (&self->client);
  if (self->client != NULL && self->idle_timeout == 0)
    {
      pb_smtp_client_quit (self->client, NULL);
      g_clear_object (&self->client);
    }
  self->last_used = g_get_monotonic_time ();
  if (self->client != NULL)
    schedule_close (self, data->context, self->idle_timeout);
  g_mutex_unlock (&self->lock);

  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
pb_smtp_transport_send_async (PbTransport         *transport,
                              const char          *envelope_from,
                              const char * const  *recipients,
                              GBytes              *message,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  PbSmtpTransport *self = PB_SMTP_TRANSPORT (transport);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  SendData *data = g_new0 (SendData, 1);

  data->from = g_strdup (envelope_from);
  data->recipients = g_strdupv ((char **) recipients);
  data->message = g_bytes_ref (message);
  data->flags = self->flags;
  data->context = g_main_context_ref_thread_default ();
  g_task_set_source_tag (task, pb_smtp_transport_send_async);
  g_task_set_task_data (task, data, (GDestroyNotify) send_data_free);
  g_task_run_in_thread (task, send_thread);
}

static gboolean
pb_smtp_transport_send_finish (PbTransport   *transport,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, transport), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
transport_iface_init (PbTransportInterface *iface)
{
  iface->send_async = pb_smtp_transport_send_async;
  iface->send_finish = pb_smtp_transport_send_finish;
}

static void
pb_smtp_transport_dispose (GObject *object)
{
  PbSmtpTransport *self = PB_SMTP_TRANSPORT (object);

  /* Dropping the connection without QUIT is harmless for SMTP. */
  g_clear_object (&self->client);
  g_clear_object (&self->service);
  g_clear_object (&self->credentials);

  G_OBJECT_CLASS (pb_smtp_transport_parent_class)->dispose (object);
}

static void
pb_smtp_transport_finalize (GObject *object)
{
  g_mutex_clear (&PB_SMTP_TRANSPORT (object)->lock);

  G_OBJECT_CLASS (pb_smtp_transport_parent_class)->finalize (object);
}

static void
pb_smtp_transport_class_init (PbSmtpTransportClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pb_smtp_transport_dispose;
  G_OBJECT_CLASS (klass)->finalize = pb_smtp_transport_finalize;
}

static void
pb_smtp_transport_init (PbSmtpTransport *self)
{
  g_mutex_init (&self->lock);
  self->idle_timeout = 5;
}

PbTransport *
pb_smtp_transport_new (PbService     *service,
                       PbCredentials *credentials)
{
  PbSmtpTransport *self;

  g_return_val_if_fail (PB_IS_SERVICE (service), NULL);
  g_return_val_if_fail (PB_IS_CREDENTIALS (credentials), NULL);

  self = g_object_new (PB_TYPE_SMTP_TRANSPORT, NULL);
  self->service = g_object_ref (service);
  self->credentials = g_object_ref (credentials);
  return PB_TRANSPORT (self);
}

void
pb_smtp_transport_set_auth (PbSmtpTransport *self,
                            PbSmtpAuth       auth)
{
  g_return_if_fail (PB_IS_SMTP_TRANSPORT (self));
  self->auth = auth;
}

void
pb_smtp_transport_set_flags (PbSmtpTransport *self,
                             PbSmtpSendFlags  flags)
{
  g_return_if_fail (PB_IS_SMTP_TRANSPORT (self));
  self->flags = flags;
}

void
pb_smtp_transport_set_idle_timeout (PbSmtpTransport *self,
                                    guint            seconds)
{
  g_return_if_fail (PB_IS_SMTP_TRANSPORT (self));
  self->idle_timeout = seconds;
}
