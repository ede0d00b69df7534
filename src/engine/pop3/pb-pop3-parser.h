/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * PbPop3ParserLimits:
 * @max_line: longest status line, CAPA/LIST/UIDL line, including CRLF (0: 4096; RFC 1939 says
 *   512, real servers send longer -ERR texts)
 * @max_data_line: longest line of a message (0: 1 MiB; RFC 5322 says 998 octets, real mail
 *   has longer lines, and an endless line must not eat memory)
 * @max_data: largest multi-line reply, i.e. message (0: 256 MiB)
 */
typedef struct {
  gsize max_line;
  gsize max_data_line;
  gsize max_data;
} PbPop3ParserLimits;

typedef enum {
  PB_POP3_STATUS_OK,
  PB_POP3_STATUS_ERR,
  PB_POP3_STATUS_CONTINUE,   /* "+ " of a SASL exchange (RFC 5034) */
} PbPop3Status;

/**
 * PbPop3Expect:
 * @PB_POP3_EXPECT_SINGLE: a single-line reply (+OK/-ERR)
 * @PB_POP3_EXPECT_MULTI: a multi-line reply: +OK, then data up to the terminating ".";
 *   -ERR ends it at once
 * @PB_POP3_EXPECT_SASL: a single-line reply or a "+ " continuation
 */
typedef enum {
  PB_POP3_EXPECT_SINGLE,
  PB_POP3_EXPECT_MULTI,
  PB_POP3_EXPECT_SASL,
} PbPop3Expect;

/**
 * PbPop3Reply:
 * @status: +OK, -ERR or a SASL continuation
 * @text: the text after the status indicator (valid UTF-8 not guaranteed; never NULL)
 * @data: (nullable): the data of a multi-line reply, dot-unstuffed, each line with the line
 *   ending the server sent; %NULL for a single-line reply
 */
typedef struct {
  PbPop3Status  status;
  char         *text;
  GBytes       *data;
} PbPop3Reply;

void pb_pop3_reply_free (PbPop3Reply *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PbPop3Reply, pb_pop3_reply_free)

/*
 * An incremental POP3 reply parser: bytes go in as they arrive, in pieces of any size, and a
 * reply comes out only when it is complete: a multi-line reply (a message) only at its
 * terminating line, so a cut connection never yields a partial message. Every line and the
 * whole reply are bounded. It consumes bytes only up to the end of the current reply, so the
 * caller can see what is left over (pipelining, STLS injection).
 */
typedef struct _PbPop3Parser PbPop3Parser;

PbPop3Parser *pb_pop3_parser_new        (const PbPop3ParserLimits *limits);
void          pb_pop3_parser_free       (PbPop3Parser             *self);
void          pb_pop3_parser_expect     (PbPop3Parser             *self,
                                         PbPop3Expect              expect);
gboolean      pb_pop3_parser_feed       (PbPop3Parser             *self,
                                         const guint8             *data,
                                         gsize                     length,
                                         gsize                    *consumed,
                                         PbPop3Reply             **reply,
                                         GError                  **error);
gboolean      pb_pop3_parser_in_reply   (PbPop3Parser             *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PbPop3Parser, pb_pop3_parser_free)

/* One line of a LIST or UIDL listing. */
typedef struct {
  guint    number;
  guint64  size;        /* LIST */
  char    *uidl;        /* UIDL */
} PbPop3ListEntry;

GArray   *pb_pop3_parse_uidl_listing  (GBytes       *data,
                                       guint         max_entries,
                                       GError      **error);
GArray   *pb_pop3_parse_list_listing  (GBytes       *data,
                                       guint         max_entries,
                                       GError      **error);
GPtrArray *pb_pop3_parse_capa         (GBytes       *data,
                                       GError      **error);
gboolean  pb_pop3_uidl_is_valid       (const char   *uidl,
                                       gsize         length);

G_END_DECLS
