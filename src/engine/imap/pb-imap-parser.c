/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pb-imap-parser.h"

/*
 * The parser works in two steps so that total work stays linear in the bytes fed, however the
 * server splits them:
 *
 * 1. Framing finds where each response ends, as the bytes are fed. Outside literals it looks
 *    for LF with memchr() in the new bytes only, and when a line ends in "{n}" CRLF the next n
 *    bytes are literal data that it passes on without looking at them. Its state is kept
 *    between calls, so a 50 MB literal arriving in 16 KB pieces is never scanned again; each
 *    call only costs the new bytes. Complete responses are queued as frames.
 *
 * 2. pb_imap_parser_next() parses the oldest complete response in one pass from memory.
 *    Parsing a complete response cannot run out of data half-way through a token, which keeps
 *    the grammar code simple, and each response is parsed exactly once.
 *
 * Framing decides what is kept in memory. Lines and literals up to spill_threshold go to the
 * buffer. A larger literal goes, as its bytes arrive, to an unlinked temporary file; once it is
 * complete the file is mapped read-only and closed, and the literal is queued as a spill that
 * remembers where in the buffer its bytes would have been. When the parser reaches a literal
 * at that place it takes the spill instead of reading the buffer, and the value's GBytes is the
 * mapping. So a message of 150 MB costs a few KiB of heap however it arrives, and because
 * framing and parsing agree on every literal (both key on "{n}" CRLF at the end of a line), the
 * responses are the same with or without spilling.
 *
 * Positions come in two kinds. Stream offsets count every byte fed, spilled ones included;
 * error messages and the line and response limits use them, so errors do not depend on the
 * threshold. Logical buffer offsets count the bytes that went to the buffer and never go back
 * when the buffer is compacted, so queued frames and spills can refer to them.
 *
 * Bounds are enforced in both steps: framing refuses lines longer than max_line (before they
 * end, so an endless line is never buffered beyond the limit), literals larger than
 * max_literal (as soon as the size is announced) and responses larger than max_response, so
 * what one response can make the parser buffer (or write to disk) is bounded; the parser
 * enforces nesting depth, items per list and number overflow. Once framing fails it keeps
 * nothing more, and the error is reported after the responses that were complete before it.
 *
 * Status responses (tagged, untagged OK/NO/BAD/PREAUTH/BYE) and continuations are exactly one
 * line: their text runs to CRLF and may end in something that looks like "{5}", which must not
 * be mistaken for a literal. Framing therefore classifies the first line of each response with
 * the same function the parser uses.
 */

#define DEFAULT_MAX_LINE         ((gsize) 64 * 1024)
#define DEFAULT_MAX_LITERAL      ((gsize) 64 * 1024 * 1024)
#define DEFAULT_MAX_DEPTH        32
#define DEFAULT_MAX_ITEMS        1000000
#define DEFAULT_SPILL_THRESHOLD  ((gsize) 1024 * 1024)

/* number64 in RFC 9051 is at most 2^63-1. */
#define NUMBER64_MAX         G_GUINT64_CONSTANT (0x7fffffffffffffff)

/* Once a large literal has passed, the buffer is given back instead of keeping its peak size
 * for the rest of the session. */
#define BUFFER_KEEP_SIZE     ((gsize) 64 * 1024)

/* Spilled bytes that arrive in small pieces are gathered up to this much per write(), so a
 * literal fed a few bytes at a time does not cost a system call for every piece. */
#define SPILL_STAGING_SIZE   ((gsize) 16 * 1024)

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

/* Gives back a buffer that a large response made big, once nothing is left in it. */
static void
buffer_trim (PbImapParser *self)
{
  if (self->len == 0 && self->alloc > BUFFER_KEEP_SIZE)
    {
      g_clear_pointer (&self->data, g_free);
      self->alloc = 0;
    }
}

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
  self->data_base += self->start;
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

static guint64
buffer_end (PbImapParser *self)
{
  return self->data_base + self->len;
}

/* Spilling large literals to disk */

static void
spill_free (gpointer data)
{
  Spill *spill = data;

  g_mapped_file_unref (spill->file);
  g_free (spill);
}

static const char *
spill_dir (PbImapParser *self)
{
  return self->spill_dir != NULL ? self->spill_dir : g_get_tmp_dir ();
}

static gboolean
spill_error (PbImapParser  *self,
             int            saved_errno,
             GError       **error)
{
  g_autofree char *size = g_format_size (self->spill_size);

  gboolean no_space = saved_errno == ENOSPC;

#ifdef EDQUOT
  no_space = no_space || saved_errno == EDQUOT;
#endif

  /* A full disk is the failure users can do something about, so it says so plainly. */
  if (no_space)
    g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED,
                 "No space left for a large message in %s: %s (a literal of %s)",
                 spill_dir (self), g_strerror (saved_errno), size);
  else
    g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED,
                 "Cannot store a large message in %s: %s (a literal of %s)",
                 spill_dir (self), g_strerror (saved_errno), size);
  return FALSE;
}

/* Opens an anonymous file in the spill directory: O_TMPFILE where the file system has it,
 * otherwise a named file that is unlinked at once. Either way no name is left behind for
 * a crash to leak. */
static int
spill_open (PbImapParser  *self,
            GError       **error)
{
  const char *dir = spill_dir (self);
  g_autofree char *template = NULL;
  int saved_errno;
  int fd;

#ifdef O_TMPFILE
  do
    fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  while (fd < 0 && errno == EINTR);
  if (fd >= 0)
    return fd;
  /* EOPNOTSUPP: the file system lacks O_TMPFILE; EISDIR or EINVAL: the kernel does. */
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    {
      spill_error (self, errno, error);
      return -1;
    }
#endif

  template = g_build_filename (dir, "postbote-literal-XXXXXX", NULL);
  fd = g_mkstemp_full (template, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      spill_error (self, errno, error);
      return -1;
    }
  if (g_unlink (template) != 0)
    {
      saved_errno = errno;
      close (fd);
      spill_error (self, saved_errno, error);
      return -1;
    }
  return fd;
}

static gboolean
spill_write_all (PbImapParser  *self,
                 const guint8  *bytes,
                 gsize          length,
                 GError       **error)
{
  while (length > 0)
    {
      gssize n = write (self->spill_fd, bytes, MIN (length, (gsize) G_MAXSSIZE));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return spill_error (self, errno, error);
      /* write() returns 0 only when it cannot make progress, which on a file means no space. */
      if (n == 0)
        return spill_error (self, ENOSPC, error);
      bytes += n;
      length -= n;
    }
  return TRUE;
}

static gboolean
spill_flush (PbImapParser  *self,
             GError       **error)
{
  gsize staged = self->staged;

  self->staged = 0;
  return spill_write_all (self, self->staging, staged, error);
}

static gboolean
spill_write (PbImapParser  *self,
             const guint8  *bytes,
             gsize          length,
             GError       **error)
{
  if (self->staged + length < SPILL_STAGING_SIZE)
    {
      memcpy (self->staging + self->staged, bytes, length);
      self->staged += length;
      return TRUE;
    }

  if (!spill_flush (self, error))
    return FALSE;
  if (length >= SPILL_STAGING_SIZE)
    return spill_write_all (self, bytes, length, error);
  memcpy (self->staging, bytes, length);
  self->staged = length;
  return TRUE;
}

/* Drops the literal being spilled, if any. */
static void
spill_abort (PbImapParser *self)
{
  if (self->spill_fd >= 0)
    {
      close (self->spill_fd);
      self->spill_fd = -1;
    }
  g_clear_pointer (&self->staging, g_free);
  self->staged = 0;
}

static gboolean
spill_begin (PbImapParser  *self,
             gsize          size,
             GError       **error)
{
  g_assert (self->spill_fd < 0);

  self->spill_size = size;
  self->spill_buf_pos = buffer_end (self);
  self->spill_fd = spill_open (self, error);
  if (self->spill_fd < 0)
    return FALSE;
  self->staging = g_malloc (SPILL_STAGING_SIZE);
  self->staged = 0;
  return TRUE;
}

/* The whole literal is in the file: map it read-only and close the file, so that only one
 * descriptor is ever open per parser, and queue it for the parser. */
static gboolean
spill_end (PbImapParser  *self,
           GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  GMappedFile *file;
  Spill *spill;

  if (!spill_flush (self, error))
    return FALSE;

  file = g_mapped_file_new_from_fd (self->spill_fd, FALSE, &local_error);
  spill_abort (self);
  if (file == NULL)
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED,
                   "Cannot map a large message from %s: %s", spill_dir (self),
                   local_error->message);
      return FALSE;
    }
  if (g_mapped_file_get_length (file) != self->spill_size)
    {
      g_mapped_file_unref (file);
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED,
                   "Cannot store a large message in %s: the temporary file changed size",
                   spill_dir (self));
      return FALSE;
    }

  spill = g_new0 (Spill, 1);
  spill->buf_pos = self->spill_buf_pos;
  spill->size = self->spill_size;
  spill->file = file;
  g_queue_push_tail (&self->spills, spill);
  return TRUE;
}

/* Drops queued spills that lie before @buf_end (those of a response that was just parsed;
 * normally the parser took them all already). */
static void
spills_drop_before (PbImapParser *self,
                    guint64       buf_end)
{
  Spill *spill;

  while ((spill = g_queue_peek_head (&self->spills)) != NULL && spill->buf_pos < buf_end)
    spill_free (g_queue_pop_head (&self->spills));
}

/* Framing state */

static void
framing_next_response (PbImapParser *self)
{
  self->resp_stream += self->resp_pos;
  self->resp_pos = 0;
  self->line_start = 0;
  self->line_bytes = 0;
  self->line_buf = buffer_end (self);
  self->literal_left = 0;
  self->in_literal = FALSE;
  self->classified = FALSE;
  self->single_line = FALSE;
}

/* Forgets every byte held: buffer, queued frames and spills, the response being framed. */
static void
clear_input (PbImapParser *self)
{
  g_clear_pointer (&self->data, g_free);
  self->data_base += self->len;
  self->len = self->alloc = self->start = 0;
  g_array_set_size (self->frames, 0);
  self->frames_head = 0;
  g_queue_clear_full (&self->spills, spill_free);
  spill_abort (self);
  g_clear_error (&self->frame_failure);
  self->stream_returned = self->stream_fed;
  self->resp_pos = 0;
  self->resp_stream = self->stream_fed;
  framing_next_response (self);
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
  if (self->limits.spill_threshold == 0)
    self->limits.spill_threshold = DEFAULT_SPILL_THRESHOLD;

  self->frames = g_array_new (FALSE, FALSE, sizeof (Frame));
  g_queue_init (&self->spills);
  self->spill_fd = -1;

  return self;
}

void
pb_imap_parser_free (PbImapParser *self)
{
  if (self == NULL)
    return;

  clear_input (self);
  g_array_unref (self->frames);
  g_clear_error (&self->failure);
  g_free (self->spill_dir);
  g_free (self);
}

void
pb_imap_parser_reset (PbImapParser *self)
{
  g_return_if_fail (self != NULL);

  clear_input (self);
  g_clear_error (&self->failure);
  self->data_base = 0;
  self->stream_fed = 0;
  self->stream_returned = 0;
  self->resp_stream = 0;
  framing_next_response (self);
}

void
pb_imap_parser_set_spill_dir (PbImapParser *self,
                              const char   *dir)
{
  g_return_if_fail (self != NULL);

  g_free (self->spill_dir);
  self->spill_dir = g_strdup (dir);
}

gsize
pb_imap_parser_get_pending (PbImapParser *self)
{
  g_return_val_if_fail (self != NULL, 0);

  if (self->failure != NULL)
    return 0;
  return self->stream_fed - self->stream_returned;
}

gsize
pb_imap_parser_get_buffer_size (PbImapParser *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->alloc + (self->staging != NULL ? SPILL_STAGING_SIZE : 0);
}

/* Framing */

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

static void
frame_complete (PbImapParser *self)
{
  Frame frame = {
    .buf_end = buffer_end (self),
    .stream_end = self->resp_stream + self->resp_pos,
  };

  g_array_append_val (self->frames, frame);
  framing_next_response (self);
}

/* The literal's last byte has arrived; the line after it starts. */
static gboolean
frame_literal_done (PbImapParser  *self,
                    GError       **error)
{
  g_assert (self->in_literal && self->literal_left == 0);

  self->in_literal = FALSE;
  self->line_start = self->resp_pos;
  self->line_buf = buffer_end (self);
  if (self->spill_fd >= 0)
    return spill_end (self, error);
  return TRUE;
}

/* A whole line, LF included, has just been buffered. */
static gboolean
frame_line_done (PbImapParser  *self,
                 GError       **error)
{
  const guint8 *line = self->data + (self->line_buf - self->data_base);
  gsize len = buffer_end (self) - self->line_buf;
  guint64 offset = self->resp_stream;
  gboolean found;
  guint64 size;

  g_assert (len == self->resp_pos - self->line_start);

  if (!self->classified)
    {
      self->single_line = !is_untagged_data (line, len);
      self->classified = TRUE;
    }

  if (self->single_line)
    {
      frame_complete (self);
      return TRUE;
    }

  if (!find_literal (line, len, &found, &size, offset + self->line_start, error))
    return FALSE;

  if (!found)
    {
      frame_complete (self);
      return TRUE;
    }

  if (size > self->limits.max_literal)
    {
      set_limit_error (error, offset + self->resp_pos, "literal size", self->limits.max_literal);
      return FALSE;
    }
  if (size > self->limits.max_response - self->resp_pos)
    {
      set_limit_error (error, offset + self->resp_pos, "response size",
                       self->limits.max_response);
      return FALSE;
    }

  /* Lines joined by literals count as one line, or a server could grow a response without
   * bound by chaining "{0}" literals. */
  self->line_bytes += len;
  self->in_literal = TRUE;
  self->literal_left = size;

  if (size > self->limits.spill_threshold && !spill_begin (self, size, error))
    return FALSE;
  if (size == 0)
    return frame_literal_done (self, error);
  return TRUE;
}

/* Frames @length new bytes: appends lines and small literals to the buffer, writes large
 * literals to their files, and queues every response that completes. */
static gboolean
frame_bytes (PbImapParser  *self,
             const guint8  *bytes,
             gsize          length,
             GError       **error)
{
  while (length > 0)
    {
      const guint8 *nl;
      gsize take, line_len, line_budget, response_budget, budget;

      if (self->in_literal)
        {
          take = MIN (length, self->literal_left);
          if (self->spill_fd >= 0)
            {
              if (!spill_write (self, bytes, take, error))
                return FALSE;
            }
          else
            {
              buffer_append (self, bytes, take);
            }
          bytes += take;
          length -= take;
          self->resp_pos += take;
          self->literal_left -= take;
          if (self->literal_left == 0 && !frame_literal_done (self, error))
            return FALSE;
          continue;
        }

      /* What the current line may still take: its share of max_line, and what max_response
       * leaves. Checking one budget, whichever is smaller, gives the same error however the
       * bytes were split. */
      line_budget = self->limits.max_line - self->line_bytes;
      response_budget = self->limits.max_response - self->line_start;
      budget = MIN (line_budget, response_budget);

      nl = memchr (bytes, '\n', length);
      take = nl != NULL ? (gsize) (nl - bytes) + 1 : length;
      line_len = (self->resp_pos - self->line_start) + take;

      /* An unfinished line will be longer than what is here: refuse it now rather than buffer
       * an endless line. */
      if (nl != NULL ? line_len > budget : line_len >= budget)
        {
          if (line_budget <= response_budget)
            set_limit_error (error, self->resp_stream + self->line_start, "line length",
                             self->limits.max_line);
          else
            set_limit_error (error, self->resp_stream + self->line_start, "response size",
                             self->limits.max_response);
          return FALSE;
        }

      buffer_append (self, bytes, take);
      bytes += take;
      length -= take;
      self->resp_pos += take;
      if (nl != NULL && !frame_line_done (self, error))
        return FALSE;
    }

  return TRUE;
}

void
pb_imap_parser_feed (PbImapParser *self,
                     const guint8 *data,
                     gsize         length)
{
  g_autoptr(GError) local_error = NULL;

  g_return_if_fail (self != NULL);
  g_return_if_fail (data != NULL || length == 0);

  /* A failed parser is waiting to be reset; keeping what arrives would only grow memory. */
  if (self->failure != NULL || length == 0)
    return;

  /* Bytes after a framing error count as pending, as they would have without it, but are
   * not kept: nothing after the error will be parsed. */
  self->stream_fed += length;
  if (self->frame_failure != NULL)
    return;

  buffer_compact (self);
  if (!frame_bytes (self, data, length, &local_error))
    {
      self->frame_failure = g_steal_pointer (&local_error);
      spill_abort (self);
    }
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
      spill_free (g_queue_pop_head (&c->self->spills));
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

static PbImapResponse *
parse_response (PbImapParser  *self,
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

/* Public API: parsing */

static void
set_failure (PbImapParser *self,
             GError       *error)
{
  g_assert (self->failure == NULL);

  self->failure = g_error_copy (error);
  /* Nothing more will be parsed before a reset, so everything held can go now. */
  clear_input (self);
}

PbImapParseResult
pb_imap_parser_next (PbImapParser    *self,
                     PbImapResponse **out_response,
                     GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  PbImapResponse *response;
  Frame frame;
  gsize len;

  g_return_val_if_fail (self != NULL, PB_IMAP_PARSE_ERROR);
  g_return_val_if_fail (out_response != NULL, PB_IMAP_PARSE_ERROR);
  g_return_val_if_fail (error == NULL || *error == NULL, PB_IMAP_PARSE_ERROR);

  *out_response = NULL;

  if (self->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (self->failure));
      return PB_IMAP_PARSE_ERROR;
    }

  if (self->frames_head == self->frames->len)
    {
      if (self->frame_failure == NULL)
        return PB_IMAP_PARSE_NEED_MORE;
      /* Every response before the framing error is out; now the error is. */
      local_error = g_steal_pointer (&self->frame_failure);
      set_failure (self, local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return PB_IMAP_PARSE_ERROR;
    }

  frame = g_array_index (self->frames, Frame, self->frames_head++);
  len = frame.buf_end - (self->data_base + self->start);
  response = parse_response (self, len, &local_error);
  if (response == NULL)
    {
      g_assert (local_error != NULL);
      set_failure (self, local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return PB_IMAP_PARSE_ERROR;
    }

  self->start += len;
  self->stream_returned = frame.stream_end;
  spills_drop_before (self, frame.buf_end);

  /* The queue and the buffer are emptied whenever everything in them has been taken, and
   * otherwise moved down once at least half is consumed, which keeps both linear. */
  if (self->frames_head == self->frames->len)
    {
      g_array_set_size (self->frames, 0);
      self->frames_head = 0;
    }
  else if (self->frames_head >= self->frames->len / 2)
    {
      g_array_remove_range (self->frames, 0, self->frames_head);
      self->frames_head = 0;
    }
  if (self->start == self->len)
    {
      self->data_base += self->start;
      self->start = self->len = 0;
      buffer_trim (self);
    }

  *out_response = response;
  return PB_IMAP_PARSE_OK;
}
