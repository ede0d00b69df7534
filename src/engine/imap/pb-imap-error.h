/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PB_IMAP_ERROR (pb_imap_error_quark ())

/**
 * PbImapError:
 * @PB_IMAP_ERROR_FAILED: any other failure
 * @PB_IMAP_ERROR_PARSE: the server sent a response that does not follow RFC 3501/9051
 * @PB_IMAP_ERROR_LIMIT: a response exceeded a parser bound (line, literal, nesting, number)
 * @PB_IMAP_ERROR_NO: the server answered NO to a command
 * @PB_IMAP_ERROR_BAD: the server answered BAD to a command
 * @PB_IMAP_ERROR_BYE: the server closed the session with BYE
 * @PB_IMAP_ERROR_AUTHENTICATION_FAILED: user name or password were rejected
 * @PB_IMAP_ERROR_STARTTLS_UNAVAILABLE: STARTTLS was required but the server does not offer it
 * @PB_IMAP_ERROR_UNSUPPORTED: the server lacks a capability this operation needs
 */
typedef enum {
  PB_IMAP_ERROR_FAILED,
  PB_IMAP_ERROR_PARSE,
  PB_IMAP_ERROR_LIMIT,
  PB_IMAP_ERROR_NO,
  PB_IMAP_ERROR_BAD,
  PB_IMAP_ERROR_BYE,
  PB_IMAP_ERROR_AUTHENTICATION_FAILED,
  PB_IMAP_ERROR_STARTTLS_UNAVAILABLE,
  PB_IMAP_ERROR_UNSUPPORTED,
} PbImapError;

GQuark pb_imap_error_quark (void);

G_END_DECLS
