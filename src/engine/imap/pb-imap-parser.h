/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "pb-imap-error.h"

G_BEGIN_DECLS

/*
 * An incremental, bounded parser for IMAP server responses (RFC 3501, RFC 9051).
 * Bytes are fed as they arrive; pb_imap_parser_next() returns one complete response or says
 * that it needs more. It never blocks and never reads beyond what was fed. Literals larger
 * than the spill threshold go to an unlinked temporary file as their bytes are fed, so a big
 * message does not sit in memory.
 */

typedef enum {
  PB_IMAP_VALUE_ATOM,    /* also flags (\Seen), and FETCH item names such as BODY[HEADER] */
  PB_IMAP_VALUE_NUMBER,  /* number or number64, checked for overflow */
  PB_IMAP_VALUE_STRING,  /* quoted string or literal; may contain NUL (literal) */
  PB_IMAP_VALUE_NIL,
  PB_IMAP_VALUE_LIST,    /* parenthesised list */
} PbImapValueType;

typedef struct _PbImapValue PbImapValue;
struct _PbImapValue {
  PbImapValueType  type;
  guint64          number;   /* PB_IMAP_VALUE_NUMBER */
  char            *str;      /* ATOM, NUMBER and STRING: NUL-terminated; NULL for a spilled
                                literal (see below) */
  gsize            len;      /* ATOM, NUMBER and STRING: length in bytes without the terminator */
  GPtrArray       *list;     /* LIST: PbImapValue* elements */
  GBytes          *bytes;    /* STRING: always set, the same bytes as str/len */
};
/* A NUMBER also keeps its digits as sent in str/len, because a mailbox named "2023" arrives
 * as a number; pb_imap_value_get_string() returns them. NIL and LIST have str == NULL.
 *
 * A STRING always has bytes, whatever its size, so callers that want the data (message bodies)
 * have one path: pb_imap_value_get_bytes(). A literal larger than the spill threshold never
 * sits in memory: its bytes are backed by a read-only mapping of an unlinked temporary file,
 * its str is NULL and its len is still its size. Smaller strings have both str and bytes, str
 * pointing at the data that bytes holds. The file is closed at once and unmapped when the last
 * reference to bytes goes, so a caller may keep a g_bytes_ref() of it after freeing the
 * response. */

typedef enum {
  PB_IMAP_RESPONSE_TAGGED,        /* "A1 OK ..." */
  PB_IMAP_RESPONSE_UNTAGGED,      /* "* ..." */
  PB_IMAP_RESPONSE_CONTINUATION,  /* "+ ..." */
} PbImapResponseKind;

typedef enum {
  PB_IMAP_STATUS_NONE,   /* untagged data such as "* 3 EXISTS" or "* LIST ..." */
  PB_IMAP_STATUS_OK,
  PB_IMAP_STATUS_NO,
  PB_IMAP_STATUS_BAD,
  PB_IMAP_STATUS_PREAUTH,
  PB_IMAP_STATUS_BYE,
} PbImapStatus;

typedef struct _PbImapResponse PbImapResponse;
struct _PbImapResponse {
  PbImapResponseKind  kind;
  char               *tag;        /* TAGGED only */
  PbImapStatus        status;     /* status responses (tagged, or untagged OK/NO/BAD/PREAUTH/BYE) */
  GPtrArray          *code;       /* resp-text-code "[UIDNEXT 5]" as values, or NULL */
  char               *text;       /* human-readable text of status and continuation responses */
  GPtrArray          *items;      /* untagged data: every value after "*", e.g. 3, EXISTS */
};
/* Status and continuation responses have text (never NULL, maybe "") and items == NULL;
 * untagged data has items (never empty) and code == NULL, text == NULL. */

/* Zero in any field means its default. max_line counts every byte of a response outside its
 * literals, CRLFs included, summed over all lines of the response (so a response cannot grow
 * without bound by chaining small literals). */
typedef struct {
  gsize  max_line;         /* longest line outside literals, default 64 KiB */
  gsize  max_literal;      /* largest literal, in memory or spilled, default 64 MiB */
  guint  max_depth;        /* deepest list nesting, default 32 */
  guint  max_items;        /* most values in one list, default 1,000,000 */
  gsize  max_response;     /* most bytes in one response, literals included,
                              default 2 * max_literal + max_line */
  gsize  spill_threshold;  /* literals larger than this go to a temporary file as they arrive
                              instead of memory, default 1 MiB; G_MAXSIZE keeps all in memory */
} PbImapParserLimits;

typedef enum {
  PB_IMAP_PARSE_NEED_MORE,
  PB_IMAP_PARSE_OK,
  PB_IMAP_PARSE_ERROR,
} PbImapParseResult;

typedef struct _PbImapParser PbImapParser;

PbImapParser      *pb_imap_parser_new            (const PbImapParserLimits *limits);
void               pb_imap_parser_free           (PbImapParser             *parser);
void               pb_imap_parser_feed           (PbImapParser             *parser,
                                                  const guint8             *data,
                                                  gsize                     length);
/* Errors are PB_IMAP_ERROR_PARSE and PB_IMAP_ERROR_LIMIT for what the server sent, and
 * PB_IMAP_ERROR_FAILED when a large literal could not be written to its temporary file (disk
 * full, spill directory missing or read-only). All are sticky until pb_imap_parser_reset(). */
PbImapParseResult  pb_imap_parser_next           (PbImapParser             *parser,
                                                  PbImapResponse          **out_response,
                                                  GError                  **error);
/* Where spilled literals go (NULL: g_get_tmp_dir(), which follows TMPDIR). The files are
 * unlinked as they are created, so none survives the process. Takes effect for the next
 * literal that spills. */
void               pb_imap_parser_set_spill_dir  (PbImapParser             *parser,
                                                  const char               *dir);
/* Bytes fed but not yet returned in a response, spilled literal bytes included (0 after an
 * error). */
gsize              pb_imap_parser_get_pending    (PbImapParser             *parser);
/* Bytes of memory the parser holds for input (its buffer, and its staging area for spilled
 * literals), not counting returned responses. For tests and diagnostics. */
gsize              pb_imap_parser_get_buffer_size (PbImapParser            *parser);
void               pb_imap_parser_reset          (PbImapParser             *parser);

void               pb_imap_response_free         (PbImapResponse           *response);
void               pb_imap_value_free            (PbImapValue              *value);
const char        *pb_imap_value_get_string      (const PbImapValue        *value);
GBytes            *pb_imap_value_get_bytes       (const PbImapValue        *value);
gboolean           pb_imap_value_is_atom         (const PbImapValue        *value,
                                                  const char               *atom);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PbImapParser, pb_imap_parser_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PbImapResponse, pb_imap_response_free)

G_END_DECLS
