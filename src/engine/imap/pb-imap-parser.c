/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pb-imap-parser-private.h"

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

/* Once a large literal has passed, the buffer is given back instead of keeping its peak size
 * for the rest of the session. */
#define BUFFER_KEEP_SIZE     ((gsize) 64 * 1024)

/* Spilled bytes that arrive in small pieces are gathered up to this much per write(), so a
 * literal fed a few bytes at a time does not cost a system call for every piece. */
#define SPILL_STAGING_SIZE   ((gsize) 16 * 1024)

/* Errors */

void
pb_imap_set_limit_error (GError     **error,
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

void
pb_imap_spill_free (gpointer data)
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
    pb_imap_spill_free (g_queue_pop_head (&self->spills));
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
  g_queue_clear_full (&self->spills, pb_imap_spill_free);
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
  while (i > 0 && pb_imap_is_digit (line[i - 1]))
    i--;
  digits_start = i;
  if (digits_start == digits_end || digits_start == 0 || line[digits_start - 1] != '{')
    return TRUE;

  for (i = digits_start; pb_imap_is_digit (line[i]); i++)
    {
      guint digit = line[i] - '0';

      if (size > (NUMBER64_MAX - digit) / 10)
        {
          pb_imap_set_limit_error (error, offset + i, "literal size", NUMBER64_MAX);
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
      self->single_line = !pb_imap_is_untagged_data (line, len);
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
      pb_imap_set_limit_error (error, offset + self->resp_pos, "literal size", self->limits.max_literal);
      return FALSE;
    }
  if (size > self->limits.max_response - self->resp_pos)
    {
      pb_imap_set_limit_error (error, offset + self->resp_pos, "response size",
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
            pb_imap_set_limit_error (error, self->resp_stream + self->line_start, "line length",
                             self->limits.max_line);
          else
            pb_imap_set_limit_error (error, self->resp_stream + self->line_start, "response size",
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
  response = pb_imap_parse_response (self, len, &local_error);
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
