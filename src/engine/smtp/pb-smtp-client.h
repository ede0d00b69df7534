/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-service.h"
#include "pb-smtp-error.h"
#include "pb-smtp-reply.h"

G_BEGIN_DECLS

/**
 * PbSmtpAuth:
 * @PB_SMTP_AUTH_PASSWORD: the secret is a password: PLAIN, else LOGIN
 * @PB_SMTP_AUTH_OAUTH: the secret is an OAuth 2 access token (a password command can print
 *   one): OAUTHBEARER, else XOAUTH2
 */
typedef enum {
  PB_SMTP_AUTH_PASSWORD,
  PB_SMTP_AUTH_OAUTH,
} PbSmtpAuth;

/**
 * PbSmtpSendFlags:
 * @PB_SMTP_SEND_NONE: no flags
 * @PB_SMTP_SEND_DSN: ask for delivery status notifications (success, failure, delay) when the
 *   server offers DSN
 */
typedef enum {
  PB_SMTP_SEND_NONE = 0,
  PB_SMTP_SEND_DSN  = 1 << 0,
} PbSmtpSendFlags;

/*
 * A blocking SMTP submission session (RFC 5321, 6409) for one worker thread: connect
 * (implicit TLS or required STARTTLS), EHLO (HELO fallback), AUTH, then any number of
 * messages, each with PIPELINING and CHUNKING when offered.
 */
#define PB_TYPE_SMTP_CLIENT (pb_smtp_client_get_type ())
G_DECLARE_FINAL_TYPE (PbSmtpClient, pb_smtp_client, PB, SMTP_CLIENT, GObject)

PbSmtpClient *pb_smtp_client_new               (PbService        *service);
gboolean      pb_smtp_client_connect           (PbSmtpClient     *self,
                                                GCancellable     *cancellable,
                                                GError          **error);
/* Logs in with @secret when the server offers AUTH; without AUTH it succeeds without logging
 * in (a relay that trusts the network). Never over an unencrypted link unless the service is
 * "no encryption". */
gboolean      pb_smtp_client_authenticate      (PbSmtpClient     *self,
                                                PbSmtpAuth        auth,
                                                const char       *secret,
                                                GCancellable     *cancellable,
                                                GError          **error);
gboolean      pb_smtp_client_has_extension     (PbSmtpClient     *self,
                                                const char       *keyword);
/* The SIZE the server announced, 0 for none. */
guint64       pb_smtp_client_get_size_limit    (PbSmtpClient     *self);
/* Sends one message (RFC 5322; line ends are normalised to CRLF). Fails without sending
 * anything for bad addresses, a message too large, or 8-bit/UTF-8 the server cannot take.
 * PB_SMTP_ERROR_OUTCOME_UNKNOWN means the message may have been delivered. */
gboolean      pb_smtp_client_send              (PbSmtpClient     *self,
                                                const char       *from,
                                                const char * const *recipients,
                                                GBytes           *message,
                                                PbSmtpSendFlags   flags,
                                                GCancellable     *cancellable,
                                                GError          **error);
/* FALSE once the connection failed or is in an unknown state: do not reuse it. */
gboolean      pb_smtp_client_is_usable         (PbSmtpClient     *self);
void          pb_smtp_client_quit              (PbSmtpClient     *self,
                                                GCancellable     *cancellable);

/* Helpers, public for the tests. */
/* The DATA payload: CRLF line ends, dot-stuffed when @dot_stuff, ending in "\r\n.\r\n" when
 * @dot_stuff (else just CRLF). *@eight_bit tells whether a byte >= 0x80 occurs. */
GBytes       *pb_smtp_prepare_data             (GBytes           *message,
                                                gboolean          dot_stuff,
                                                gboolean         *eight_bit);
/* Whether @address may go into MAIL FROM / RCPT TO: non-empty (except an empty @from is
 * allowed by the caller), no CR, LF, NUL, space, '<' or '>'. *@ascii is FALSE for UTF-8. */
gboolean      pb_smtp_address_is_valid         (const char       *address,
                                                gboolean         *ascii);

G_END_DECLS
