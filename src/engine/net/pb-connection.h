/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-service.h"

G_BEGIN_DECLS

#define PB_CONNECTION_ERROR (pb_connection_error_quark ())

/**
 * PbConnectionError:
 * @PB_CONNECTION_ERROR_FAILED: any other failure
 * @PB_CONNECTION_ERROR_UNREACHABLE: the host could not be resolved or reached
 * @PB_CONNECTION_ERROR_TIMEOUT: the server did not answer in time
 * @PB_CONNECTION_ERROR_CLOSED: the server closed the connection
 * @PB_CONNECTION_ERROR_CERTIFICATE: the server's certificate is not trusted;
 *   pb_connection_get_peer_certificate() returns it so the user can pin it
 * @PB_CONNECTION_ERROR_TLS: the TLS handshake or TLS layer failed
 * @PB_CONNECTION_ERROR_STARTTLS_INJECTION: bytes arrived after the STARTTLS go-ahead and before
 *   the handshake (CVE-2011-0411 style command injection); the connection is aborted
 * @PB_CONNECTION_ERROR_LINE_TOO_LONG: a line exceeded the caller's limit
 */
typedef enum {
  PB_CONNECTION_ERROR_FAILED,
  PB_CONNECTION_ERROR_UNREACHABLE,
  PB_CONNECTION_ERROR_TIMEOUT,
  PB_CONNECTION_ERROR_CLOSED,
  PB_CONNECTION_ERROR_CERTIFICATE,
  PB_CONNECTION_ERROR_TLS,
  PB_CONNECTION_ERROR_STARTTLS_INJECTION,
  PB_CONNECTION_ERROR_LINE_TOO_LONG,
} PbConnectionError;

GQuark pb_connection_error_quark (void);

#define PB_TYPE_CONNECTION (pb_connection_get_type ())
G_DECLARE_FINAL_TYPE (PbConnection, pb_connection, PB, CONNECTION, GObject)

/*
 * A PbConnection is a blocking, buffered byte stream to one server. Protocol sessions run
 * sequentially on a worker thread (their public API is _async/_finish on GTask), so the
 * connection itself is synchronous: simple to read, and every call takes a GCancellable and
 * honours the socket timeout.
 */
PbConnection     *pb_connection_new                     (const char          *host,
                                                         guint16              port,
                                                         PbSecurity           security);
PbConnection     *pb_connection_new_for_service         (PbService           *service);
void              pb_connection_set_ca_file             (PbConnection        *self,
                                                         const char          *ca_file);
void              pb_connection_set_pinned_sha256       (PbConnection        *self,
                                                         const char          *sha256_hex);
void              pb_connection_set_timeout             (PbConnection        *self,
                                                         guint                seconds);
void              pb_connection_set_trace_name          (PbConnection        *self,
                                                         const char          *name);
gboolean          pb_connection_connect                 (PbConnection        *self,
                                                         GCancellable        *cancellable,
                                                         GError             **error);
gboolean          pb_connection_start_tls               (PbConnection        *self,
                                                         GCancellable        *cancellable,
                                                         GError             **error);
gboolean          pb_connection_start_compress          (PbConnection        *self,
                                                         GError             **error);
gboolean          pb_connection_is_compressed           (PbConnection        *self);
gboolean          pb_connection_is_tls                  (PbConnection        *self);
gsize             pb_connection_get_buffered            (PbConnection        *self);
char             *pb_connection_read_line               (PbConnection        *self,
                                                         gsize                max_length,
                                                         gsize               *out_length,
                                                         GCancellable        *cancellable,
                                                         GError             **error);
gssize            pb_connection_read                    (PbConnection        *self,
                                                         guint8              *buffer,
                                                         gsize                size,
                                                         GCancellable        *cancellable,
                                                         GError             **error);
gboolean          pb_connection_write                   (PbConnection        *self,
                                                         const char          *data,
                                                         gssize               length,
                                                         const char          *trace_as,
                                                         GCancellable        *cancellable,
                                                         GError             **error);
void              pb_connection_close                   (PbConnection        *self);
GTlsCertificate  *pb_connection_get_peer_certificate    (PbConnection        *self);
char             *pb_certificate_sha256                 (GTlsCertificate     *certificate);

G_END_DECLS
