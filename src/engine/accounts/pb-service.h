/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * PbProtocol:
 * @PB_PROTOCOL_IMAP: IMAP4rev1 (incoming)
 * @PB_PROTOCOL_POP3: POP3 (incoming)
 * @PB_PROTOCOL_SMTP: SMTP submission (outgoing)
 */
typedef enum {
  PB_PROTOCOL_IMAP,
  PB_PROTOCOL_POP3,
  PB_PROTOCOL_SMTP,
} PbProtocol;

/**
 * PbSecurity:
 * @PB_SECURITY_TLS: implicit TLS from the first byte (imaps, pop3s, smtps)
 * @PB_SECURITY_STARTTLS: plain connect, then STARTTLS, which is required: a server that
 *   does not offer it is an error, never a silent downgrade
 * @PB_SECURITY_NONE: no encryption at all; only when the user asked for it explicitly
 *   (`imap+insecure://`)
 */
typedef enum {
  PB_SECURITY_TLS,
  PB_SECURITY_STARTTLS,
  PB_SECURITY_NONE,
} PbSecurity;

#define PB_TYPE_SERVICE (pb_service_get_type ())
G_DECLARE_FINAL_TYPE (PbService, pb_service, PB, SERVICE, GObject)

PbService  *pb_service_new_from_url       (const char  *url,
                                           GError     **error);
char       *pb_service_to_url             (PbService   *self);
PbProtocol  pb_service_get_protocol       (PbService   *self);
PbSecurity  pb_service_get_security       (PbService   *self);
const char *pb_service_get_host           (PbService   *self);
guint16     pb_service_get_port           (PbService   *self);
const char *pb_service_get_user           (PbService   *self);
const char *pb_service_get_ca_file        (PbService   *self);
void        pb_service_set_ca_file        (PbService   *self,
                                           const char  *ca_file);
const char *pb_service_get_pinned_sha256  (PbService   *self);
void        pb_service_set_pinned_sha256  (PbService   *self,
                                           const char  *sha256_hex);
gboolean    pb_service_is_incoming        (PbService   *self);
const char *pb_protocol_to_string         (PbProtocol   protocol);
guint16     pb_protocol_default_port      (PbProtocol   protocol,
                                           PbSecurity   security);

G_END_DECLS
