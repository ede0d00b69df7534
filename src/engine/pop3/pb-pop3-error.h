/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PB_POP3_ERROR (pb_pop3_error_quark ())

/**
 * PbPop3Error:
 * @PB_POP3_ERROR_FAILED: any other failure
 * @PB_POP3_ERROR_PARSE: the server sent a reply that does not follow RFC 1939/2449
 * @PB_POP3_ERROR_LIMIT: a reply exceeded a parser bound (line length, message size, count)
 * @PB_POP3_ERROR_ERR: the server answered -ERR to a command
 * @PB_POP3_ERROR_AUTHENTICATION_FAILED: user name or password were rejected
 * @PB_POP3_ERROR_STARTTLS_UNAVAILABLE: STLS was required but the server does not offer it
 * @PB_POP3_ERROR_UNSUPPORTED: the server lacks a command this operation needs (UIDL)
 * @PB_POP3_ERROR_IN_USE: the mailbox is locked by another session ([IN-USE], RFC 2449)
 * @PB_POP3_ERROR_NOT_ON_SERVER: the message is no longer on the server
 */
typedef enum {
  PB_POP3_ERROR_FAILED,
  PB_POP3_ERROR_PARSE,
  PB_POP3_ERROR_LIMIT,
  PB_POP3_ERROR_ERR,
  PB_POP3_ERROR_AUTHENTICATION_FAILED,
  PB_POP3_ERROR_STARTTLS_UNAVAILABLE,
  PB_POP3_ERROR_UNSUPPORTED,
  PB_POP3_ERROR_IN_USE,
  PB_POP3_ERROR_NOT_ON_SERVER,
} PbPop3Error;

GQuark pb_pop3_error_quark (void);

G_END_DECLS
