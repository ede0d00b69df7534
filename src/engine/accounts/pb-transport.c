/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-accounts"

#include "config.h"

#include "pb-transport.h"

G_DEFINE_INTERFACE (PbTransport, pb_transport, G_TYPE_OBJECT)

static void
pb_transport_default_init (PbTransportInterface *iface)
{
}

void
pb_transport_send_async (PbTransport         *self,
                         const char          *envelope_from,
                         const char * const  *recipients,
                         GBytes              *message,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (PB_IS_TRANSPORT (self));
  g_return_if_fail (envelope_from != NULL);
  g_return_if_fail (recipients != NULL && recipients[0] != NULL);
  g_return_if_fail (message != NULL);
  PB_TRANSPORT_GET_IFACE (self)->send_async (self, envelope_from, recipients, message,
                                             cancellable, callback, user_data);
}

gboolean
pb_transport_send_finish (PbTransport   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (PB_IS_TRANSPORT (self), FALSE);
  return PB_TRANSPORT_GET_IFACE (self)->send_finish (self, result, error);
}
