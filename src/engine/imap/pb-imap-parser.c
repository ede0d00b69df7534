/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <string.h>

#include "pb-imap-parser.h"

/*
 * The parser works in two steps so that total work stays linear in the bytes fed, however the
 * server splits them:
 *
 * 1. Framing finds where the current response ends. It looks for LF with memchr() from where
 *    the previous call stopped, and when a line ends in "{n}" CRLF it skips the n literal bytes
 *    without looking at them. Its position is kept between calls, so a 50 MB literal arriving
 *    in 16 KB pieces is never scanned again; each call only costs the new bytes.
 *
 * 2. Once a whole response is buffered it is parsed in one pass from memory. Parsing a complete
 *    response cannot run out of data half-way through a token, which keeps the grammar code
 *    simple, and each response is parsed exactly once.
 *
 * Bounds are enforced in both steps: framing refuses lines longer than max_line (before they
 * end, so an endless line is never buffered beyond the limit), literals larger than
 * max_literal (as soon as the size is announced) and responses larger than max_response, so
 * what one response can make the parser buffer is bounded; the parser enforces nesting depth,
 * items per list and number overflow.
 *
 * Status responses (tagged, untagged OK/NO/BAD/PREAUTH/BYE) and continuations are exactly one
 * line: their text runs to CRLF and may end in something that looks like "{5}", which must not
 * be mistaken for a literal. Framing therefore classifies the first line of each response with
 * the same function the parser uses.
 */

#define DEFAULT_MAX_LINE     ((gsize) 64 * 1024)
#define DEFAULT_MAX_LITERAL  ((gsize) 64 * 1024 * 1024)
#define DEFAULT_MAX_DEPTH    32
#define DEFAULT_MAX_ITEMS    1000000

/* number64 in RFC 9051 is at most 2^63-1. */
#define NUMBER64_MAX         G_GUINT64_CONSTANT (0x7fffffffffffffff)

/* Once a large literal has passed, the buffer is given back instead of keeping its peak size
 * for the rest of the session. */
#define BUFFER_KEEP_SIZE     ((gsize) 64 * 1024)

struct _PbImapParser
{
  PbImapParserLimits  limits;

  /* Bytes fed and not yet handed out as responses start at data + start. */
  guint8             *data;
  gsize               len;
  gsize               alloc;
  gsize               start;
  guint64             stream_base;   /* stream offset of data[0], for error messages */

  /* Framing state of the current response. Offsets are relative to start so that moving the
   * buffer contents does not have to touch them. */
  gsize               scan;          /* bytes before this have been looked at */
  gsize               line_start;
  gsize               line_bytes;    /* bytes of earlier lines, outside literals */
  gsize               literal_end;   /* valid while in_literal */
  gboolean            in_literal;
  gboolean            classified;    /* single_line is known */
  gboolean            single_line;   /* status or continuation: ends at the first LF */

  GError             *failure;       /* sticky until pb_imap_parser_reset() */
};

/* Value helpers */

void
pb_imap_value_free (PbImapValue *value)
{
  if (value == NULL)
    return;

  g_free (value->str);
  g_clear_pointer (&value->list, g_ptr_array_unref);
  g_free (value);
}

const char *
pb_imap_value_get_string (const PbImapValue *value)
{
  if (value == NULL)
    return NULL;

  switch (value->type)
    {
    case PB_IMAP_VALUE_ATOM:
    case PB_IMAP_VALUE_STRING:
    case PB_IMAP_VALUE_NUMBER:
      return value->str;
    case PB_IMAP_VALUE_NIL:
    case PB_IMAP_VALUE_LIST:
      break;
    }

  return NULL;
}

gboolean
pb_imap_value_is_atom (const PbImapValue *value,
                       const char        *atom)
{
  g_return_val_if_fail (atom != NULL, FALSE);

  if (value == NULL || value->type != PB_IMAP_VALUE_ATOM)
    return FALSE;

  /* Atoms never contain NUL, so comparing C strings compares the whole atom. */
  return g_ascii_strcasecmp (value->str, atom) == 0;
}

void
pb_imap_response_free (PbImapResponse *response)
{
  if (response == NULL)
    return;

  g_free (response->tag);
  g_clear_pointer (&response->code, g_ptr_array_unref);
  g_free (response->text);
  g_clear_pointer (&response->items, g_ptr_array_unref);
  g_free (response);
}

static PbImapValue *
value_new (PbImapValueType type)
{
  PbImapValue *value = g_new0 (PbImapValue, 1);

  value->type = type;
  return value;
}

static PbImapValue *
value_new_bytes (PbImapValueType  type,
                 const guint8    *bytes,
                 gsize            len)
{
  PbImapValue *value = value_new (type);

  value->str = g_malloc (len + 1);
  if (len > 0)
    memcpy (value->str, bytes, len);
  value->str[len] = '\0';
  value->len = len;
  return value;
}

static GPtrArray *
value_array_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) pb_imap_value_free);
}

/* Character classes */

static inline gboolean
is_digit (guint8 ch)
{
  return ch >= '0' && ch <= '9';
}

/* Atom characters, a little wider than RFC 3501's ATOM-CHAR because real responses need it:
 * "*" and "%" for sequence sets ("1:*") and "\*", "]" for astrings such as unquoted Gmail
 * names, and 8-bit bytes for servers that send UTF-8 names unquoted. "[" starts a section
 * ("BODY[...]") that is read separately. Inside a response code "]" ends the code. */
static inline gboolean
is_atom_char (guint8   ch,
              gboolean in_code)
{
  if (ch <= 0x20 || ch == 0x7f)
    return FALSE;

  switch (ch)
    {
    case '(':
    case ')':
    case '{':
    case '"':
      return FALSE;
    case ']':
      return !in_code;
    default:
      return TRUE;
    }
}

/* RFC 3501: tag = 1*<any ASTRING-CHAR except "+">. */
static inline gboolean
is_tag_char (guint8 ch)
{
  if (ch <= 0x20 || ch >= 0x7f)
    return FALSE;

  return strchr ("(){%*\"\\+", ch) == NULL;
}

/* Returns the status of an untagged or tagged response keyword, PB_IMAP_STATUS_NONE for any
 * other token. */
static PbImapStatus
status_from_keyword (const guint8 *p,
                     gsize         len)
{
  static const struct {
    const char   *name;
    PbImapStatus  status;
  } keywords[] = {
    { "OK", PB_IMAP_STATUS_OK },
    { "NO", PB_IMAP_STATUS_NO },
    { "BAD", PB_IMAP_STATUS_BAD },
    { "PREAUTH", PB_IMAP_STATUS_PREAUTH },
    { "BYE", PB_IMAP_STATUS_BYE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (keywords); i++)
    {
      if (strlen (keywords[i].name) == len
          && g_ascii_strncasecmp ((const char *) p, keywords[i].name, len) == 0)
        return keywords[i].status;
    }

  return PB_IMAP_STATUS_NONE;
}

/* The keyword after "* " or after a tag ends at SP, CR, LF or "[" (some servers omit the SP
 * before a response code). */
static gsize
keyword_length (const guint8 *p,
                const guint8 *end)
{
  const guint8 *q = p;

  while (q < end && *q != ' ' && *q != '\r' && *q != '\n' && *q != '[')
    q++;
  return q - p;
}

/* Untagged data ("* 3 EXISTS", "* LIST ...") is the only kind of response that can carry
 * literals and so span several lines. Framing and parsing both decide with this function. */
static gboolean
is_untagged_data (const guint8 *line,
                  gsize         len)
{
  const guint8 *end = line + len;

  if (len < 2 || line[0] != '*' || line[1] != ' ')
    return FALSE;

  return status_from_keyword (line + 2, keyword_length (line + 2, end)) == PB_IMAP_STATUS_NONE;
}

/* Errors */

static void
set_limit_error (GError     **error,
                 guint64      offset,
                 const char  *what,
                 guint64      limit)
{
  g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_LIMIT,
               "IMAP response exceeds the %s limit of %" G_GUINT64_FORMAT " at byte %"
               G_GUINT64_FORMAT,
               what, limit, offset);
}

/* Buffer */

static void
buffer_compact (PbImapParser *self)
{
  gsize remaining = self->len - self->start;

  if (self->start == 0)
    return;

  /* Moving costs the bytes still pending, so only move when at least as many bytes were
   * consumed: every byte is then moved a bounded number of times in total. */
  if (remaining > self->start)
    return;

  if (remaining > 0)
    memmove (self->data, self->data + self->start, remaining);
  self->stream_base += self->start;
  self->len = remaining;
  self->start = 0;

  if (self->alloc > BUFFER_KEEP_SIZE && self->len < self->alloc / 4)
    {
      self->alloc = MAX (BUFFER_KEEP_SIZE, self->len * 2);
      self->data = g_realloc (self->data, self->alloc);
    }
}

static void
buffer_append (PbImapParser *self,
               const guint8 *bytes,
               gsize         length)
{
  if (length > G_MAXSIZE - self->len)
    g_error ("IMAP parser buffer size overflow");

  if (self->len + length > self->alloc)
    {
      gsize alloc = MAX (self->alloc, 4096);

      while (alloc < self->len + length)
        alloc = alloc <= G_MAXSIZE / 2 ? alloc * 2 : self->len + length;
      self->data = g_realloc (self->data, alloc);
      self->alloc = alloc;
    }

  memcpy (self->data + self->len, bytes, length);
  self->len += length;
}

static void
framing_reset (PbImapParser *self)
{
  self->scan = 0;
  self->line_start = 0;
  self->line_bytes = 0;
  self->literal_end = 0;
  self->in_literal = FALSE;
  self->classified = FALSE;
  self->single_line = FALSE;
}

/* Public API: lifecycle */

PbImapParser *
pb_imap_parser_new (const PbImapParserLimits *limits)
{
  PbImapParser *self = g_new0 (PbImapParser, 1);

  if (limits != NULL)
    self->limits = *limits;

  /* Zero means "not set" so callers can override only the limits they care about. */
  if (self->limits.max_line == 0)
    self->limits.max_line = DEFAULT_MAX_LINE;
  if (self->limits.max_literal == 0)
    self->limits.max_literal = DEFAULT_MAX_LITERAL;
  if (self->limits.max_depth == 0)
    self->limits.max_depth = DEFAULT_MAX_DEPTH;
  if (self->limits.max_items == 0)
    self->limits.max_items = DEFAULT_MAX_ITEMS;
  /* Room for a message fetched twice over (BODY[] next to BODY[TEXT], say) and a full line. */
  if (self->limits.max_response == 0)
    {
      gsize max = self->limits.max_literal;

      max = max <= G_MAXSIZE / 2 ? max * 2 : G_MAXSIZE;
      max = max <= G_MAXSIZE - self->limits.max_line ? max + self->limits.max_line : G_MAXSIZE;
      self->limits.max_response = max;
    }

  return self;
}

void
pb_imap_parser_free (PbImapParser *self)
{
  if (self == NULL)
    return;

  g_free (self->data);
  g_clear_error (&self->failure);
  g_free (self);
}

void
pb_imap_parser_reset (PbImapParser *self)
{
  g_return_if_fail (self != NULL);

  g_clear_pointer (&self->data, g_free);
  self->len = 0;
  self->alloc = 0;
  self->start = 0;
  self->stream_base = 0;
  framing_reset (self);
  g_clear_error (&self->failure);
}

void
pb_imap_parser_feed (PbImapParser *self,
                     const guint8 *data,
                     gsize         length)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (data != NULL || length == 0);

  /* A failed parser is waiting to be reset; keeping what arrives would only grow memory. */
  if (self->failure != NULL || length == 0)
    return;

  buffer_compact (self);
  buffer_append (self, data, length);
}

gsize
pb_imap_parser_get_pending (PbImapParser *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->len - self->start;
}

/* Framing */

typedef enum {
  FRAME_NEED_MORE,
  FRAME_COMPLETE,
  FRAME_ERROR,
} FrameResult;

/* Looks for "{n}" CRLF or "{n+}" CRLF at the end of a line (line includes its LF). Returns
 * FALSE with @error set when the size overflows. */
static gboolean
find_literal (const guint8 *line,
              gsize         len,
              gboolean     *out_found,
              guint64      *out_size,
              guint64       offset,
              GError      **error)
{
  gsize i, digits_start, digits_end;
  guint64 size = 0;

  *out_found = FALSE;

  if (len < 5 || line[len - 2] != '\r' || line[len - 3] != '}')
    return TRUE;

  /* line[len - 3] is "}"; an optional "+" and at least one digit come before it. */
  digits_end = len - 3;
  if (line[digits_end - 1] == '+')
    digits_end--;
  i = digits_end;
  while (i > 0 && is_digit (line[i - 1]))
    i--;
  digits_start = i;
  if (digits_start == digits_end || digits_start == 0 || line[digits_start - 1] != '{')
    return TRUE;

  for (i = digits_start; is_digit (line[i]); i++)
    {
      guint digit = line[i] - '0';

      if (size > (NUMBER64_MAX - digit) / 10)
        {
          set_limit_error (error, offset + i, "literal size", NUMBER64_MAX);
          return FALSE;
        }
      size = size * 10 + digit;
    }

  *out_found = TRUE;
  *out_size = size;
  return TRUE;
}

/* Advances framing over whatever arrived since the last call. On FRAME_COMPLETE, *out_len is
 * the length of the complete response starting at data + start. */
static FrameResult
frame_response (PbImapParser  *self,
                gsize         *out_len,
                GError       **error)
{
  const guint8 *data = self->data + self->start;
  gsize avail = self->len - self->start;
  guint64 offset = self->stream_base + self->start;
  gsize line_budget, response_budget;

  for (;;)
    {
      const guint8 *nl;
      gsize line_end, budget;
      gboolean found;
      guint64 size;

      if (self->in_literal)
        {
          if (avail < self->literal_end)
            return FRAME_NEED_MORE;
          self->in_literal = FALSE;
          self->scan = self->line_start = self->literal_end;
        }

      /* What the current line may still take: its share of max_line, and what max_response
       * leaves. Checking one budget, whichever is smaller, gives the same error however the
       * bytes were split. */
      line_budget = self->limits.max_line - self->line_bytes;
      response_budget = self->limits.max_response - self->line_start;
      budget = MIN (line_budget, response_budget);

      nl = memchr (data + self->scan, '\n', avail - self->scan);
      if (nl == NULL)
        {
          self->scan = avail;
          /* The line is not complete, so it will be longer than what is here: refuse now
           * rather than buffer an endless line. */
          if (avail - self->line_start >= budget)
            goto too_long;
          return FRAME_NEED_MORE;
        }

      line_end = (nl - data) + 1;
      if (line_end - self->line_start > budget)
        goto too_long;
      self->scan = line_end;

      if (!self->classified)
        {
          self->single_line = !is_untagged_data (data, line_end);
          self->classified = TRUE;
        }

      if (self->single_line)
        {
          *out_len = line_end;
          return FRAME_COMPLETE;
        }

      if (!find_literal (data + self->line_start, line_end - self->line_start, &found, &size,
                         offset + self->line_start, error))
        return FRAME_ERROR;

      if (!found)
        {
          *out_len = line_end;
          return FRAME_COMPLETE;
        }

      if (size > self->limits.max_literal)
        {
          set_limit_error (error, offset + line_end, "literal size", self->limits.max_literal);
          return FRAME_ERROR;
        }
      if (size > self->limits.max_response - line_end)
        {
          set_limit_error (error, offset + line_end, "response size", self->limits.max_response);
          return FRAME_ERROR;
        }

      /* Lines joined by literals count as one line, or a server could grow a response without
       * bound by chaining "{0}" literals. */
      self->line_bytes += line_end - self->line_start;
      self->in_literal = TRUE;
      self->literal_end = line_end + size;
    }

too_long:
  if (line_budget <= response_budget)
    set_limit_error (error, offset + self->line_start, "line length", self->limits.max_line);
  else
    set_limit_error (error, offset + self->line_start, "response size",
                     self->limits.max_response);
  return FRAME_ERROR;
}

/* Parsing a complete response */

typedef struct {
  PbImapParser  *self;
  const guint8  *base;
  const guint8  *p;
  const guint8  *end;
  guint64        offset;   /* stream offset of base */
  GError       **error;
} Cursor;

static guint64
cursor_offset (Cursor *c)
{
  return c->offset + (c->p - c->base);
}

static gboolean
fail_expected (Cursor     *c,
               const char *expected)
{
  char found[32];

  if (c->p >= c->end)
    g_strlcpy (found, "end of response", sizeof found);
  else if (*c->p == '\r')
    g_strlcpy (found, "CR", sizeof found);
  else if (*c->p == '\n')
    g_strlcpy (found, "LF", sizeof found);
  else if (*c->p > 0x20 && *c->p < 0x7f)
    g_snprintf (found, sizeof found, "'%c'", *c->p);
  else
    g_snprintf (found, sizeof found, "byte 0x%02x", *c->p);

  g_set_error (c->error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE,
               "Malformed IMAP response: expected %s at byte %" G_GUINT64_FORMAT
               " (byte %" G_GSIZE_FORMAT " of the response), found %s",
               expected, cursor_offset (c), (gsize) (c->p - c->base), found);
  return FALSE;
}

static gboolean
fail_limit (Cursor     *c,
            const char *what,
            guint64     limit)
{
  set_limit_error (c->error, cursor_offset (c), what, limit);
  return FALSE;
}

/* Succeeds only when exactly CRLF remains. */
static gboolean
expect_end (Cursor *c)
{
  if (c->p < c->end && *c->p == '\r')
    {
      if (c->p + 1 >= c->end || c->p[1] != '\n')
        {
          c->p++;
          return fail_expected (c, "LF after CR");
        }
      if (c->p + 2 != c->end)
        {
          c->p += 2;
          return fail_expected (c, "end of response");
        }
      c->p = c->end;
      return TRUE;
    }

  return fail_expected (c, "CRLF");
}

/* Digits between start and end, up to number64's 2^63-1; callers that need a 32-bit number
 * check the value themselves. */
static gboolean
parse_number (Cursor       *c,
              const guint8 *start,
              const guint8 *end,
              guint64      *out_number)
{
  guint64 number = 0;

  for (const guint8 *p = start; p < end; p++)
    {
      guint digit = *p - '0';

      if (number > (NUMBER64_MAX - digit) / 10)
        {
          c->p = start;
          return fail_limit (c, "number", NUMBER64_MAX);
        }
      number = number * 10 + digit;
    }

  *out_number = number;
  return TRUE;
}

/* An atom, a number or NIL. FETCH item names such as "BODY[HEADER.FIELDS (FROM SUBJECT)]<0>"
 * come out as one atom: after "[" everything up to the matching "]" belongs to the atom,
 * spaces and parentheses included. */
static PbImapValue *
parse_atom (Cursor   *c,
            gboolean  in_code)
{
  const guint8 *start = c->p;
  gboolean all_digits = TRUE;
  gsize len;

  while (c->p < c->end)
    {
      guint8 ch = *c->p;

      if (ch == '[' && !in_code)
        {
          gboolean quoted = FALSE;

          all_digits = FALSE;
          for (c->p++; ; c->p++)
            {
              if (c->p >= c->end)
                {
                  fail_expected (c, "']'");
                  return NULL;
                }
              ch = *c->p;
              if (ch == '\r' || ch == '\n' || ch == '\0')
                {
                  fail_expected (c, quoted ? "'\"'" : "']'");
                  return NULL;
                }
              if (quoted)
                {
                  if (ch == '\\' && c->p + 1 < c->end && (c->p[1] == '"' || c->p[1] == '\\'))
                    c->p++;
                  else if (ch == '"')
                    quoted = FALSE;
                }
              else if (ch == ']')
                {
                  break;
                }
              else if (ch == '"')
                {
                  quoted = TRUE;
                }
              else if (ch == '{' || ch < 0x20 || ch == 0x7f)
                {
                  /* A literal inside a section would be legal for a header name, but no
                   * server echoes one; refusing keeps framing and parsing in agreement. */
                  fail_expected (c, "']'");
                  return NULL;
                }
            }
          c->p++;
          continue;
        }

      if (!is_atom_char (ch, in_code))
        break;
      if (!is_digit (ch))
        all_digits = FALSE;
      c->p++;
    }

  len = c->p - start;
  g_assert (len > 0);

  if (all_digits)
    {
      PbImapValue *value;
      guint64 number;

      if (!parse_number (c, start, c->p, &number))
        return NULL;
      /* The digits are kept too: a mailbox called "2023" arrives as a number. */
      value = value_new_bytes (PB_IMAP_VALUE_NUMBER, start, len);
      value->number = number;
      return value;
    }

  if (len == 3 && g_ascii_strncasecmp ((const char *) start, "NIL", 3) == 0)
    return value_new (PB_IMAP_VALUE_NIL);

  return value_new_bytes (PB_IMAP_VALUE_ATOM, start, len);
}

static PbImapValue *
parse_quoted (Cursor *c)
{
  const guint8 *start;
  const guint8 *q;
  PbImapValue *value;
  gsize len = 0;
  char *out;

  g_assert (*c->p == '"');
  start = ++c->p;

  /* First pass: validate and measure, so the copy is allocated once at its exact size. */
  for (;;)
    {
      if (c->p >= c->end)
        {
          fail_expected (c, "'\"'");
          return NULL;
        }
      if (*c->p == '"')
        break;
      if (*c->p == '\r' || *c->p == '\n' || *c->p == '\0')
        {
          fail_expected (c, "'\"' (quoted strings cannot hold CR, LF or NUL)");
          return NULL;
        }
      if (*c->p == '\\')
        {
          c->p++;
          if (c->p >= c->end || (*c->p != '"' && *c->p != '\\'))
            {
              fail_expected (c, "'\"' or '\\' after '\\'");
              return NULL;
            }
        }
      c->p++;
      len++;
    }

  value = value_new (PB_IMAP_VALUE_STRING);
  value->str = out = g_malloc (len + 1);
  value->len = len;
  for (q = start; q < c->p; q++)
    {
      if (*q == '\\')
        q++;
      *out++ = *q;
    }
  *out = '\0';

  c->p++;
  return value;
}

/* "{n}" CRLF n bytes, "~{n}" CRLF n bytes (literal8), and "{n+}" which only commands should
 * use but RFC 9051's grammar shares with responses. */
static PbImapValue *
parse_literal (Cursor *c)
{
  const guint8 *digits;
  guint64 size;

  if (*c->p == '~')
    c->p++;
  g_assert (*c->p == '{');
  c->p++;

  digits = c->p;
  while (c->p < c->end && is_digit (*c->p))
    c->p++;
  if (c->p == digits)
    {
      fail_expected (c, "literal size");
      return NULL;
    }
  if (!parse_number (c, digits, c->p, &size))
    return NULL;
  if (c->p < c->end && *c->p == '+')
    c->p++;
  if (c->p >= c->end || *c->p != '}')
    {
      fail_expected (c, "'}'");
      return NULL;
    }
  c->p++;
  if (c->end - c->p < 2 || c->p[0] != '\r' || c->p[1] != '\n')
    {
      fail_expected (c, "CRLF after literal size");
      return NULL;
    }
  c->p += 2;

  if (size > c->self->limits.max_literal)
    {
      fail_limit (c, "literal size", c->self->limits.max_literal);
      return NULL;
    }
  /* Framing guarantees the bytes are here; checking again costs nothing. */
  if (size > (guint64) (c->end - c->p))
    {
      fail_expected (c, "literal data");
      return NULL;
    }

  c->p += size;
  return value_new_bytes (PB_IMAP_VALUE_STRING, c->p - size, size);
}

/* Parses space-separated values into @top until CRLF (data) or "]" (response code) at the
 * outermost level, leaving the cursor on the terminator. Lists are handled with an explicit
 * stack so hostile nesting cannot exhaust the C stack. */
static gboolean
parse_values (Cursor    *c,
              gboolean   in_code,
              GPtrArray *top)
{
  const PbImapParserLimits *limits = &c->self->limits;
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();
  GPtrArray *current = top;

  for (;;)
    {
      PbImapValue *value;
      guint8 ch;

      /* RFC 3501 asks for exactly one SP between values and none after "(" or before ")",
       * but servers (Exchange among them) add extra spaces; they carry no meaning. */
      while (c->p < c->end && *c->p == ' ')
        c->p++;
      if (c->p >= c->end)
        return fail_expected (c, in_code ? "']'" : "CRLF");

      ch = *c->p;

      if (ch == ')')
        {
          if (stack->len == 0)
            return fail_expected (c, "value (unbalanced ')')");
          g_ptr_array_set_size (stack, stack->len - 1);
          if (stack->len > 0)
            current = ((PbImapValue *) g_ptr_array_index (stack, stack->len - 1))->list;
          else
            current = top;
          c->p++;
          continue;
        }

      if ((in_code && ch == ']') || (!in_code && (ch == '\r' || ch == '\n')))
        {
          if (stack->len > 0)
            return fail_expected (c, "')'");
          return TRUE;
        }

      if (current->len >= limits->max_items)
        return fail_limit (c, "items per list", limits->max_items);

      if (ch == '(')
        {
          if (stack->len >= limits->max_depth)
            return fail_limit (c, "nesting depth", limits->max_depth);
          value = value_new (PB_IMAP_VALUE_LIST);
          value->list = value_array_new ();
          g_ptr_array_add (current, value);
          g_ptr_array_add (stack, value);
          current = value->list;
          c->p++;
          continue;
        }

      if (ch == '"')
        {
          value = parse_quoted (c);
        }
      else if (ch == '{' || (ch == '~' && c->p + 1 < c->end && c->p[1] == '{'))
        {
          /* Status lines are framed as one line, so a literal cannot be followed there. */
          if (in_code)
            return fail_expected (c, "value (no literals in response codes)");
          value = parse_literal (c);
        }
      else if (is_atom_char (ch, in_code))
        {
          value = parse_atom (c, in_code);
        }
      else
        {
          return fail_expected (c, ch == '\0' ? "value (NUL is only allowed in literals)"
                                              : "value");
        }

      if (value == NULL)
        return FALSE;
      g_ptr_array_add (current, value);
    }
}

/* The text of a status or continuation response runs to CRLF. */
static gboolean
parse_text (Cursor          *c,
            PbImapResponse  *response)
{
  const guint8 *start = c->p;

  while (c->p < c->end && *c->p != '\r' && *c->p != '\n')
    {
      if (*c->p == '\0')
        return fail_expected (c, "text (NUL is only allowed in literals)");
      c->p++;
    }

  response->text = g_strndup ((const char *) start, c->p - start);
  return expect_end (c);
}

/* A response code that is not a clean list of values, such as "[XYZ some "odd text]", still
 * follows RFC 3501's fallback: resp-text-code = atom [SP 1*<any TEXT-CHAR except "]">]. It
 * becomes the atom plus one string. Returns NULL when there is no such code either, and the
 * bracket is then plain text. */
static GPtrArray *
parse_code_fallback (Cursor *c)
{
  const guint8 *atom = c->p;
  const guint8 *text = NULL;
  GPtrArray *code;

  while (c->p < c->end && is_atom_char (*c->p, TRUE))
    c->p++;
  if (c->p == atom)
    return NULL;

  if (c->p < c->end && *c->p == ' ')
    {
      text = ++c->p;
      while (c->p < c->end && *c->p != ']' && *c->p != '\r' && *c->p != '\n' && *c->p != '\0')
        c->p++;
    }
  if (c->p >= c->end || *c->p != ']')
    return NULL;

  code = value_array_new ();
  g_ptr_array_add (code, value_new_bytes (PB_IMAP_VALUE_ATOM, atom,
                                          (text ? text - 1 : c->p) - atom));
  if (text != NULL)
    g_ptr_array_add (code, value_new_bytes (PB_IMAP_VALUE_STRING, text, c->p - text));
  return code;
}

/* resp-text = ["[" resp-text-code "]" SP] text */
static gboolean
parse_resp_text (Cursor          *c,
                 PbImapResponse  *response)
{
  if (c->p < c->end && *c->p == '[')
    {
      const guint8 *open = c->p;
      g_autoptr(GPtrArray) code = value_array_new ();
      g_autoptr(GError) local_error = NULL;
      GError **saved_error = c->error;

      c->p++;
      c->error = &local_error;
      if (parse_values (c, TRUE, code) && code->len > 0)
        {
          response->code = g_steal_pointer (&code);
        }
      else if (local_error != NULL
               && g_error_matches (local_error, PB_IMAP_ERROR, PB_IMAP_ERROR_LIMIT))
        {
          /* Bounds are bounds, wherever they are hit. */
          c->error = saved_error;
          g_propagate_error (c->error, g_steal_pointer (&local_error));
          return FALSE;
        }
      else
        {
          c->p = open + 1;
          response->code = parse_code_fallback (c);
        }
      c->error = saved_error;

      if (response->code == NULL)
        {
          c->p = open;
        }
      else
        {
          g_assert (*c->p == ']');
          c->p++;
          if (c->p < c->end && *c->p == ' ')
            c->p++;
        }
    }

  return parse_text (c, response);
}

/* After the status keyword: nothing, SP and resp-text, or (leniently) a code right away. */
static gboolean
parse_status_tail (Cursor          *c,
                   PbImapResponse  *response)
{
  if (c->p < c->end && *c->p == ' ')
    c->p++;
  else if (c->p >= c->end || (*c->p != '\r' && *c->p != '['))
    return fail_expected (c, "SP after status");

  return parse_resp_text (c, response);
}

static gboolean
parse_response_into (Cursor         *c,
                     PbImapResponse *response)
{
  const guint8 *tag;
  gsize keyword_len;

  if (c->p < c->end && *c->p == '+')
    {
      response->kind = PB_IMAP_RESPONSE_CONTINUATION;
      c->p++;
      /* "+" CRLF is not RFC 3501 but servers send it for an empty SASL challenge. */
      if (c->p < c->end && *c->p == ' ')
        c->p++;
      else if (c->p >= c->end || *c->p != '\r')
        return fail_expected (c, "SP after '+'");
      return parse_resp_text (c, response);
    }

  if (c->p < c->end && *c->p == '*')
    {
      response->kind = PB_IMAP_RESPONSE_UNTAGGED;
      c->p++;
      if (c->p >= c->end || *c->p != ' ')
        return fail_expected (c, "SP after '*'");
      c->p++;

      keyword_len = keyword_length (c->p, c->end);
      response->status = status_from_keyword (c->p, keyword_len);
      if (response->status != PB_IMAP_STATUS_NONE)
        {
          c->p += keyword_len;
          return parse_status_tail (c, response);
        }

      response->items = value_array_new ();
      if (!parse_values (c, FALSE, response->items))
        return FALSE;
      if (response->items->len == 0)
        return fail_expected (c, "response data after '*'");
      return expect_end (c);
    }

  response->kind = PB_IMAP_RESPONSE_TAGGED;
  tag = c->p;
  while (c->p < c->end && is_tag_char (*c->p))
    c->p++;
  if (c->p == tag)
    return fail_expected (c, "tag, '*' or '+'");
  response->tag = g_strndup ((const char *) tag, c->p - tag);

  if (c->p >= c->end || *c->p != ' ')
    return fail_expected (c, "SP after tag");
  c->p++;

  keyword_len = keyword_length (c->p, c->end);
  response->status = status_from_keyword (c->p, keyword_len);
  if (response->status != PB_IMAP_STATUS_OK && response->status != PB_IMAP_STATUS_NO
      && response->status != PB_IMAP_STATUS_BAD)
    return fail_expected (c, "OK, NO or BAD after tag");
  c->p += keyword_len;
  return parse_status_tail (c, response);
}

static PbImapResponse *
parse_response (PbImapParser  *self,
                const guint8  *data,
                gsize          len,
                GError       **error)
{
  g_autoptr(PbImapResponse) response = g_new0 (PbImapResponse, 1);
  Cursor c = {
    .self = self,
    .base = data,
    .p = data,
    .end = data + len,
    .offset = self->stream_base + self->start,
    .error = error,
  };

  if (!parse_response_into (&c, response))
    return NULL;

  g_assert (c.p == c.end);
  return g_steal_pointer (&response);
}

/* Public API: parsing */

PbImapParseResult
pb_imap_parser_next (PbImapParser    *self,
                     PbImapResponse **out_response,
                     GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  PbImapResponse *response = NULL;
  FrameResult result;
  gsize len = 0;

  g_return_val_if_fail (self != NULL, PB_IMAP_PARSE_ERROR);
  g_return_val_if_fail (out_response != NULL, PB_IMAP_PARSE_ERROR);
  g_return_val_if_fail (error == NULL || *error == NULL, PB_IMAP_PARSE_ERROR);

  *out_response = NULL;

  if (self->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (self->failure));
      return PB_IMAP_PARSE_ERROR;
    }

  if (self->start == self->len)
    return PB_IMAP_PARSE_NEED_MORE;

  result = frame_response (self, &len, &local_error);
  if (result == FRAME_NEED_MORE)
    return PB_IMAP_PARSE_NEED_MORE;

  if (result == FRAME_COMPLETE)
    {
      response = parse_response (self, self->data + self->start, len, &local_error);
      self->start += len;
      framing_reset (self);
      if (self->start == self->len)
        {
          self->stream_base += self->start;
          self->start = self->len = 0;
        }
    }

  if (response == NULL)
    {
      g_assert (local_error != NULL);
      self->failure = g_error_copy (local_error);
      /* Nothing more will be parsed before a reset, so the buffer can go now. */
      g_clear_pointer (&self->data, g_free);
      self->stream_base += self->start;
      self->len = self->alloc = self->start = 0;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return PB_IMAP_PARSE_ERROR;
    }

  *out_response = response;
  return PB_IMAP_PARSE_OK;
}
