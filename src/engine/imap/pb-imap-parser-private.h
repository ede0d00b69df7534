/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-imap-parser.h"

G_BEGIN_DECLS

/* Shared by the two halves of the parser: framing (pb-imap-parser.c) and the response
 * grammar (pb-imap-grammar.c). */

/* number64 in RFC 9051 is at most 2^63-1. */
#define NUMBER64_MAX         G_GUINT64_CONSTANT (0x7fffffffffffffff)

/* A complete response waiting to be parsed. It starts where the previous one ended. */
typedef struct {
  guint64  buf_end;      /* logical buffer offset after its last byte */
  guint64  stream_end;   /* stream offset after its last byte */
} Frame;

/* A literal that went to a temporary file. */
typedef struct {
  guint64      buf_pos;  /* logical buffer offset where its bytes would have been */
  gsize        size;
  GMappedFile *file;
} Spill;

struct _PbImapParser
{
  PbImapParserLimits  limits;
  char               *spill_dir;     /* NULL: g_get_tmp_dir () */

  /* Buffered bytes of responses not yet returned start at data + start. data[i] has the
   * logical buffer offset data_base + i. */
  guint8             *data;
  gsize               len;
  gsize               alloc;
  gsize               start;
  guint64             data_base;

  guint64             stream_fed;       /* every byte fed since the last reset */
  guint64             stream_returned;  /* stream offset after the last response returned */

  GArray             *frames;        /* Frame, oldest first from frames_head */
  guint               frames_head;
  GQueue              spills;        /* Spill*, in stream order */

  /* Framing state of the response being received. resp_pos, line_start, line_bytes are stream
   * offsets relative to its start; line_buf is a logical buffer offset. */
  guint64             resp_stream;   /* stream offset of its first byte */
  gsize               resp_pos;      /* its bytes seen so far */
  gsize               line_start;
  gsize               line_bytes;    /* bytes of earlier lines, outside literals */
  guint64             line_buf;
  gsize               literal_left;  /* valid while in_literal */
  gboolean            in_literal;
  gboolean            classified;    /* single_line is known */
  gboolean            single_line;   /* status or continuation: ends at the first LF */

  /* The literal being spilled, while in_literal and spill_fd >= 0. */
  int                 spill_fd;
  guint64             spill_buf_pos;
  gsize               spill_size;
  guint8             *staging;       /* SPILL_STAGING_SIZE bytes while spilling */
  gsize               staged;

  GError             *frame_failure; /* framing stopped; reported after the frames before it */
  GError             *failure;       /* sticky until pb_imap_parser_reset() */
};

static inline gboolean
pb_imap_is_digit (guint8 ch)
{
  return ch >= '0' && ch <= '9';
}

/* Untagged data ("* 3 EXISTS", "* LIST ...") is the only kind of response that can carry
 * literals and so span several lines. Framing and parsing both decide with this function. */
gboolean        pb_imap_is_untagged_data (const guint8  *line,
                                          gsize          len);
void            pb_imap_set_limit_error  (GError       **error,
                                          guint64        offset,
                                          const char    *what,
                                          guint64        limit);
void            pb_imap_spill_free       (gpointer       data);
/* Parses the oldest framed response, @len bytes at self->data + self->start. */
PbImapResponse *pb_imap_parse_response   (PbImapParser  *self,
                                          gsize          len,
                                          GError       **error);

G_END_DECLS
