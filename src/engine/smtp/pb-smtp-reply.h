/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "pb-smtp-error.h"

G_BEGIN_DECLS

/* Bounds of the reply parser. RFC 5321 allows reply lines of 512 octets; real servers send
 * longer EHLO lines, so we allow more, but never an unbounded amount. */
#define PB_SMTP_REPLY_MAX_LINE  4096
#define PB_SMTP_REPLY_MAX_LINES 128
#define PB_SMTP_REPLY_MAX_SIZE  (64 * 1024)

/**
 * PbSmtpReply:
 * @code: the three-digit reply code (200 … 599)
 * @enhanced: the enhanced status code (RFC 3463) of the first line, e.g. "5.1.1", or ""
 * @lines: the text of each line, without code, separator and CRLF (the enhanced code is kept
 *   in the text); NULL-terminated, at least one (possibly empty) line
 *
 * One complete, possibly multi-line, server reply.
 */
typedef struct {
  guint   code;
  char    enhanced[16];
  char  **lines;
} PbSmtpReply;

void  pb_smtp_reply_free     (PbSmtpReply *reply);
/* The reply as a person should see it: "550 5.1.1 No such user" with lines joined by
 * spaces and control characters replaced, the server's words otherwise literal. */
char *pb_smtp_reply_to_string (const PbSmtpReply *reply);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PbSmtpReply, pb_smtp_reply_free)

/*
 * An incremental, bounded parser of SMTP replies (RFC 5321 4.2). Feed it whatever arrived,
 * in pieces of any size, then take complete replies out. Pipelined replies are kept in
 * order. It never holds more than one line plus the lines of one reply (both bounded).
 */
typedef struct _PbSmtpReplyParser PbSmtpReplyParser;

PbSmtpReplyParser *pb_smtp_reply_parser_new     (void);
void               pb_smtp_reply_parser_free    (PbSmtpReplyParser  *parser);
/* Consumes bytes up to and including the end of the next complete reply, or all of @length
 * if none completes. Returns the number of bytes consumed, or -1 with an error (the parser
 * is then unusable). *@reply_out is set to the reply when one completed, else NULL. */
gssize             pb_smtp_reply_parser_feed    (PbSmtpReplyParser  *parser,
                                                 const guint8       *data,
                                                 gsize               length,
                                                 PbSmtpReply       **reply_out,
                                                 GError            **error);
/* TRUE when part of a reply (a line, or lines of a multi-line reply) has been fed. */
gboolean           pb_smtp_reply_parser_is_pending (PbSmtpReplyParser *parser);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PbSmtpReplyParser, pb_smtp_reply_parser_free)

G_END_DECLS
