/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <string.h>

#include "pb-imap-parser-private.h"

/*
 * The grammar half of PbImapParser: turning one complete, framed response into a
 * PbImapResponse (see pb-imap-parser.c for framing, spilling and why the two are apart). It
 * never runs out of data half-way through a token, and it takes spilled literals from the
 * parser's queue at the place framing recorded for them.
 */

/* Value helpers */

void
pb_imap_value_free (PbImapValue *value)
{
  if (value == NULL)
    return;

  /* A STRING's str belongs to its bytes (and is NULL when spilled). */
  if (value->bytes != NULL)
    g_bytes_unref (value->bytes);
  else
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

/**
 * pb_imap_value_get_bytes:
 * @value: (nullable): a value
 *
 * Returns the data of a STRING value, quoted string or literal, spilled to disk or not.
 *
 * Returns: (transfer none) (nullable): the bytes, or %NULL when @value is not a STRING
 */
GBytes *
pb_imap_value_get_bytes (const PbImapValue *value)
{
  if (value == NULL || value->type != PB_IMAP_VALUE_STRING)
    return NULL;

  /* The parser sets bytes on every STRING; only a hand-made value could lack them. */
  g_return_val_if_fail (value->bytes != NULL, NULL);
  return value->bytes;
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

/* Gives a STRING value @str (len bytes, NUL-terminated, from g_malloc()). The GBytes owns the
 * copy, so a caller can keep the bytes after the value is gone. */
static void
value_take_string (PbImapValue *value,
                   char        *str,
                   gsize        len)
{
  g_assert (value->type == PB_IMAP_VALUE_STRING);

  value->str = str;
  value->len = len;
  value->bytes = g_bytes_new_with_free_func (str, len, g_free, str);
}

static PbImapValue *
value_new_bytes (PbImapValueType  type,
                 const guint8    *bytes,
                 gsize            len)
{
  PbImapValue *value = value_new (type);
  char *str = g_malloc (len + 1);

  if (len > 0)
    memcpy (str, bytes, len);
  str[len] = '\0';
  if (type == PB_IMAP_VALUE_STRING)
    {
      value_take_string (value, str, len);
    }
  else
    {
      value->str = str;
      value->len = len;
    }
  return value;
}

static GPtrArray *
value_array_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) pb_imap_value_free);
}

/* Character classes */

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

/* See pb-imap-parser-private.h. */
gboolean
pb_imap_is_untagged_data (const guint8 *line,
                          gsize         len)
{
  const guint8 *end = line + len;

  if (len < 2 || line[0] != '*' || line[1] != ' ')
    return FALSE;

  return status_from_keyword (line + 2, keyword_length (line + 2, end)) == PB_IMAP_STATUS_NONE;
}

/* Parsing a complete response */

typedef struct {
  PbImapParser  *self;
  const guint8  *base;
  const guint8  *p;
  const guint8  *end;
  guint64        offset;    /* stream offset of base */
  guint64        buf_base;  /* logical buffer offset of base */
  guint64        skipped;   /* bytes of spilled literals before p, which are not in memory */
  GError       **error;
} Cursor;

/* Where p is in the response and in the stream, counting spilled bytes, so that errors do not
 * depend on the spill threshold. */
static guint64
cursor_response_offset (Cursor *c)
{
  return (c->p - c->base) + c->skipped;
}

static guint64
cursor_offset (Cursor *c)
{
  return c->offset + cursor_response_offset (c);
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
               " (byte %" G_GUINT64_FORMAT " of the response), found %s",
               expected, cursor_offset (c), cursor_response_offset (c), found);
  return FALSE;
}

static gboolean
fail_limit (Cursor     *c,
            const char *what,
            guint64     limit)
{
  pb_imap_set_limit_error (c->error, cursor_offset (c), what, limit);
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
      if (!pb_imap_is_digit (ch))
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
  char *str, *out;

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

  str = out = g_malloc (len + 1);
  for (q = start; q < c->p; q++)
    {
      if (*q == '\\')
        q++;
      *out++ = *q;
    }
  *out = '\0';
  value = value_new (PB_IMAP_VALUE_STRING);
  value_take_string (value, str, len);

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
  Spill *spill;

  if (*c->p == '~')
    c->p++;
  g_assert (*c->p == '{');
  c->p++;

  digits = c->p;
  while (c->p < c->end && pb_imap_is_digit (*c->p))
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
  /* Framing put a large literal in a file; it is the next spill, queued for this place. */
  spill = g_queue_peek_head (&c->self->spills);
  if (spill != NULL && spill->buf_pos == c->buf_base + (c->p - c->base))
    {
      PbImapValue *value;

      if (spill->size != size)
        {
          fail_expected (c, "literal data");
          return NULL;
        }
      value = value_new (PB_IMAP_VALUE_STRING);
      value->bytes = g_mapped_file_get_bytes (spill->file);
      value->len = size;
      pb_imap_spill_free (g_queue_pop_head (&c->self->spills));
      c->skipped += size;
      return value;
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

PbImapResponse *
pb_imap_parse_response (PbImapParser  *self,
                        gsize          len,
                        GError       **error)
{
  g_autoptr(PbImapResponse) response = g_new0 (PbImapResponse, 1);
  Cursor c = {
    .self = self,
    .base = self->data + self->start,
    .p = self->data + self->start,
    .end = self->data + self->start + len,
    .offset = self->stream_returned,
    .buf_base = self->data_base + self->start,
    .error = error,
  };

  if (!parse_response_into (&c, response))
    return NULL;

  g_assert (c.p == c.end);
  return g_steal_pointer (&response);
}

