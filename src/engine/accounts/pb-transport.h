/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * The outgoing side of an account. SMTP implements it (issue: writing mail); the outbox talks
 * only to this interface.
 */
#define PB_TYPE_TRANSPORT (pb_transport_get_type ())
G_DECLARE_INTERFACE (PbTransport, pb_transport, PB, TRANSPORT, GObject)

struct _PbTransportInterface
{
  GTypeInterface parent_iface;

  /* Sends one message (RFC 5322 bytes, CRLF line ends) to the envelope recipients.
   * Succeeds only when the server accepted the message for every recipient. */
  void     (*send_async)  (PbTransport          *self,
                           const char           *envelope_from,
                           const char * const   *recipients,
                           GBytes               *message,
                           GCancellable         *cancellable,
                           GAsyncReadyCallback   callback,
                           gpointer              user_data);
  gboolean (*send_finish) (PbTransport          *self,
                           GAsyncResult         *result,
                           GError              **error);
};

void     pb_transport_send_async  (PbTransport          *self,
                                   const char           *envelope_from,
                                   const char * const   *recipients,
                                   GBytes               *message,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data);
gboolean pb_transport_send_finish (PbTransport          *self,
                                   GAsyncResult         *result,
                                   GError              **error);

G_END_DECLS
