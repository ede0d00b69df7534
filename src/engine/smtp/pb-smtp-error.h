/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PB_SMTP_ERROR (pb_smtp_error_quark ())

/**
 * PbSmtpError:
 * @PB_SMTP_ERROR_FAILED: any other failure
 * @PB_SMTP_ERROR_PROTOCOL: the server sent a reply that does not follow RFC 5321
 * @PB_SMTP_ERROR_LIMIT: a reply exceeded a parser bound (line length, lines, total size)
 * @PB_SMTP_ERROR_TEMPORARY: the server answered 4xx: try again later. The message is the
 *   server's reply, literally
 * @PB_SMTP_ERROR_PERMANENT: the server answered 5xx: sending again will not help. The message
 *   is the server's reply, literally
 * @PB_SMTP_ERROR_AUTHENTICATION_FAILED: user name, password or token were rejected (535, 534)
 * @PB_SMTP_ERROR_STARTTLS_UNAVAILABLE: STARTTLS was required but the server does not offer it
 * @PB_SMTP_ERROR_NO_AUTH_MECHANISM: the server offers no login mechanism we can use safely
 * @PB_SMTP_ERROR_INVALID_ADDRESS: an envelope address is empty or contains CR, LF, NUL,
 *   spaces or angle brackets; nothing was sent
 * @PB_SMTP_ERROR_UTF8_UNSUPPORTED: an address is not ASCII and the server does not offer
 *   SMTPUTF8; nothing was sent
 * @PB_SMTP_ERROR_8BIT_UNSUPPORTED: the message has 8-bit data and the server does not offer
 *   8BITMIME; nothing was sent
 * @PB_SMTP_ERROR_MESSAGE_TOO_LARGE: the message exceeds the size the server announced (SIZE);
 *   nothing was sent
 * @PB_SMTP_ERROR_OUTCOME_UNKNOWN: the connection was lost after the end of the message was
 *   sent and before the server confirmed it: the message may have been delivered
 */
typedef enum {
  PB_SMTP_ERROR_FAILED,
  PB_SMTP_ERROR_PROTOCOL,
  PB_SMTP_ERROR_LIMIT,
  PB_SMTP_ERROR_TEMPORARY,
  PB_SMTP_ERROR_PERMANENT,
  PB_SMTP_ERROR_AUTHENTICATION_FAILED,
  PB_SMTP_ERROR_STARTTLS_UNAVAILABLE,
  PB_SMTP_ERROR_NO_AUTH_MECHANISM,
  PB_SMTP_ERROR_INVALID_ADDRESS,
  PB_SMTP_ERROR_UTF8_UNSUPPORTED,
  PB_SMTP_ERROR_8BIT_UNSUPPORTED,
  PB_SMTP_ERROR_MESSAGE_TOO_LARGE,
  PB_SMTP_ERROR_OUTCOME_UNKNOWN,
} PbSmtpError;

GQuark pb_smtp_error_quark (void);

G_END_DECLS
