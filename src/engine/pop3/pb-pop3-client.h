/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-pop3-error.h"
#include "pb-pop3-parser.h"
#include "pb-service.h"

G_BEGIN_DECLS

/* One message of the maildrop in this session: its number, size (LIST) and unique id. */
typedef struct {
  guint    number;
  guint64  size;
  char    *uidl;
} PbPop3Message;

/* Called for each message of pb_pop3_client_retrieve(), in the order asked, with the complete
 * (dot-unstuffed) message. Returning FALSE (with @error set) stops the retrieval. */
typedef gboolean (*PbPop3MessageFunc) (guint      index,
                                       GBytes    *raw,
                                       gpointer   user_data,
                                       GError   **error);

#define PB_TYPE_POP3_CLIENT (pb_pop3_client_get_type ())
G_DECLARE_FINAL_TYPE (PbPop3Client, pb_pop3_client, PB, POP3_CLIENT, GObject)

/*
 * A blocking POP3 session (RFC 1939, CAPA RFC 2449, AUTH RFC 5034, STLS RFC 2595) on a
 * PbConnection; runs on a worker thread. Commands are pipelined when the server offers
 * PIPELINING.
 */
PbPop3Client *pb_pop3_client_new               (PbService          *service);
void          pb_pop3_client_set_apop          (PbPop3Client       *self,
                                                gboolean            allow_apop);
gboolean      pb_pop3_client_connect           (PbPop3Client       *self,
                                                GCancellable       *cancellable,
                                                GError            **error);
gboolean      pb_pop3_client_authenticate      (PbPop3Client       *self,
                                                const char         *password,
                                                GCancellable       *cancellable,
                                                GError            **error);
gboolean      pb_pop3_client_has_capability    (PbPop3Client       *self,
                                                const char         *name);
GArray       *pb_pop3_client_list_messages     (PbPop3Client       *self,
                                                GCancellable       *cancellable,
                                                GError            **error);
gboolean      pb_pop3_client_retrieve          (PbPop3Client       *self,
                                                const guint        *numbers,
                                                const gboolean     *headers_only,
                                                guint               n,
                                                PbPop3MessageFunc   func,
                                                gpointer            user_data,
                                                GCancellable       *cancellable,
                                                GError            **error);
gboolean      pb_pop3_client_delete            (PbPop3Client       *self,
                                                const guint        *numbers,
                                                guint               n,
                                                GCancellable       *cancellable,
                                                GError            **error);
gboolean      pb_pop3_client_quit              (PbPop3Client       *self,
                                                GCancellable       *cancellable,
                                                GError            **error);
void          pb_pop3_client_close             (PbPop3Client       *self);

G_END_DECLS
