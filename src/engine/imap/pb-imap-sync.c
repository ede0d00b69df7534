/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-imap"

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pb-imap-sync.h"

/*
 * Folder synchronisation: server -> store, and the operation journal store -> server.
 *
 * Order of work in a folder, chosen so that a crash at any point leaves a store that the next
 * run completes without losing or duplicating anything:
 *   1. SELECT; a changed UIDVALIDITY drops the local copy of that folder (never anything on
 *      the server) and starts it afresh.
 *   2. Changes to known messages: QRESYNC (VANISHED + changed FETCH during SELECT), else
 *      CONDSTORE (CHANGEDSINCE), else a full flag scan; expunges found by UID SEARCH.
 *   3. New messages, newest first in chunks, each chunk committed (rows, then durable bodies)
 *      before the next is fetched, so the list fills from the top at once.
 *   4. Bodies still missing (an earlier run was interrupted).
 *   5. Only then the folder state (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) is saved. Until it is,
 *      a rerun simply repeats steps 2-4, which skip what is already stored.
 */

/* New messages are fetched and committed in chunks of this many, or this many bytes. */
#define CHUNK_MESSAGES 500
#define CHUNK_BYTES    (16 * 1024 * 1024)
/* Two writers: one creates and flushes the files of a chunk while the other holds the
 * database (the store serialises its transactions), so the disk and SQLite overlap. */
#define N_WRITERS      2

typedef struct {
  guint32 first;
  guint32 last;
} UidRange;

/* Parses "1:3,7,9:*" into ranges; "*" means the largest UID. Returns FALSE if malformed. */
static gboolean
parse_uid_set (const char *text,
               GArray     *ranges)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_auto(GStrv) ends = g_strsplit (parts[i], ":", 3);
      UidRange range;
      guint64 a, b;

      if (ends[0] == NULL || (ends[1] != NULL && ends[2] != NULL))
        return FALSE;
      if (g_strcmp0 (ends[0], "*") == 0)
        a = G_MAXUINT32;
      else if (!g_ascii_string_to_unsigned (ends[0], 10, 1, G_MAXUINT32, &a, NULL))
        return FALSE;
      b = a;
      if (ends[1] != NULL)
        {
          if (g_strcmp0 (ends[1], "*") == 0)
            b = G_MAXUINT32;
          else if (!g_ascii_string_to_unsigned (ends[1], 10, 1, G_MAXUINT32, &b, NULL))
            return FALSE;
        }
      range.first = MIN (a, b);
      range.last = MAX (a, b);
      g_array_append_val (ranges, range);
    }
  return TRUE;
}

static gboolean
ranges_contain (GArray  *ranges,
                guint32  uid)
{
  for (guint i = 0; i < ranges->len; i++)
    {
      UidRange *r = &g_array_index (ranges, UidRange, i);
      if (uid >= r->first && uid <= r->last)
        return TRUE;
    }
  return FALSE;
}

gboolean
pb_imap_parse_flags (PbImapValue     *list,
                     PbMessageFlags  *out_flags,
                     char           **out_keywords)
{
  g_autoptr(GString) keywords = g_string_new (NULL);
  PbMessageFlags flags = PB_MESSAGE_FLAG_NONE;

  if (list == NULL || list->type != PB_IMAP_VALUE_LIST)
    return FALSE;
  for (guint i = 0; i < list->list->len; i++)
    {
      PbImapValue *value = g_ptr_array_index (list->list, i);
      PbMessageFlags flag;

      if (value->type != PB_IMAP_VALUE_ATOM)
        return FALSE;
      /* \Recent is session state, not a property of the message. */
      if (g_ascii_strcasecmp (value->str, "\\Recent") == 0)
        continue;
      flag = pb_message_flag_from_keyword (value->str);
      if (flag != PB_MESSAGE_FLAG_NONE)
        flags |= flag;
      else
        {
          if (keywords->len > 0)
            g_string_append_c (keywords, ' ');
          g_string_append (keywords, value->str);
        }
    }
  *out_flags = flags;
  *out_keywords = keywords->len > 0 ? g_string_free (g_steal_pointer (&keywords), FALSE) : NULL;
  return TRUE;
}

/* "17-Jul-1996 02:44:25 -0700" -> Unix time, or 0 when malformed. */
static gint64
parse_internaldate (const char *text)
{
  static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  char month[4] = { 0 };
  int day, year, hour, minute, second, zone, m;
  char sign;
  g_autoptr(GTimeZone) tz = NULL;
  g_autoptr(GDateTime) dt = NULL;
  char zone_text[8];

  if (text == NULL
      || sscanf (text, " %2d-%3s-%4d %2d:%2d:%2d %c%4d", &day, month, &year, &hour, &minute,
                 &second, &sign, &zone) != 8
      || (sign != '+' && sign != '-'))
    return 0;
  for (m = 0; m < 12; m++)
    if (g_ascii_strcasecmp (month, months[m]) == 0)
      break;
  if (m == 12)
    return 0;
  g_snprintf (zone_text, sizeof zone_text, "%c%02d:%02d", sign, zone / 100, zone % 100);
  tz = g_time_zone_new_identifier (zone_text);
  if (tz == NULL)
    return 0;
  dt = g_date_time_new (tz, year, m + 1, day, hour, minute, second);
  return dt ? g_date_time_to_unix (dt) : 0;
}

/* What one FETCH response said. Strings point into the response. */
typedef struct {
  guint32         uid;
  gboolean        has_flags;
  PbMessageFlags  flags;
  char           *keywords;
  guint64         modseq;
  guint64         size;
  gint64          internaldate;
  PbImapValue    *body;
  PbImapValue    *header;   /* BODY[HEADER], for messages outside the offline window */
} FetchItem;

static void
fetch_item_clear (FetchItem *item)
{
  g_free (item->keywords);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FetchItem, fetch_item_clear)

/* Returns TRUE if @response is a FETCH; FALSE for other untagged data. A malformed FETCH is an
 * error: better to stop and reconnect than to store half-understood data. */
static gboolean
parse_fetch (PbImapResponse  *response,
             FetchItem       *item,
             gboolean        *is_fetch,
             GError         **error)
{
  PbImapValue *list;

  memset (item, 0, sizeof *item);
  *is_fetch = FALSE;
  if (response->status != PB_IMAP_STATUS_NONE || response->items == NULL
      || response->items->len != 3
      || !pb_imap_value_is_atom (g_ptr_array_index (response->items, 1), "FETCH"))
    return TRUE;
  *is_fetch = TRUE;

  list = g_ptr_array_index (response->items, 2);
  if (list->type != PB_IMAP_VALUE_LIST || list->list->len % 2 != 0)
    goto malformed;

  for (guint i = 0; i < list->list->len; i += 2)
    {
      PbImapValue *name = g_ptr_array_index (list->list, i);
      PbImapValue *value = g_ptr_array_index (list->list, i + 1);

      if (name->type != PB_IMAP_VALUE_ATOM)
        goto malformed;
      if (pb_imap_value_is_atom (name, "UID"))
        {
          if (value->type != PB_IMAP_VALUE_NUMBER || value->number == 0
              || value->number > G_MAXUINT32)
            goto malformed;
          item->uid = value->number;
        }
      else if (pb_imap_value_is_atom (name, "FLAGS"))
        {
          if (!pb_imap_parse_flags (value, &item->flags, &item->keywords))
            goto malformed;
          item->has_flags = TRUE;
        }
      else if (pb_imap_value_is_atom (name, "MODSEQ"))
        {
          PbImapValue *number;

          if (value->type != PB_IMAP_VALUE_LIST || value->list->len != 1)
            goto malformed;
          number = g_ptr_array_index (value->list, 0);
          if (number->type != PB_IMAP_VALUE_NUMBER)
            goto malformed;
          item->modseq = number->number;
        }
      else if (pb_imap_value_is_atom (name, "RFC822.SIZE"))
        {
          if (value->type != PB_IMAP_VALUE_NUMBER)
            goto malformed;
          item->size = value->number;
        }
      else if (pb_imap_value_is_atom (name, "INTERNALDATE"))
        {
          if (value->type != PB_IMAP_VALUE_STRING)
            goto malformed;
          item->internaldate = parse_internaldate (value->str);
        }
      else if (pb_imap_value_is_atom (name, "BODY[HEADER]"))
        {
          if (value->type != PB_IMAP_VALUE_STRING && value->type != PB_IMAP_VALUE_NIL)
            goto malformed;
          item->header = value->type == PB_IMAP_VALUE_STRING ? value : NULL;
        }
      else if (pb_imap_value_is_atom (name, "BODY[]"))
        {
          if (value->type != PB_IMAP_VALUE_STRING && value->type != PB_IMAP_VALUE_NIL)
            goto malformed;
          item->body = value->type == PB_IMAP_VALUE_STRING ? value : NULL;
        }
    }
  return TRUE;

malformed:
  g_clear_pointer (&item->keywords, g_free);
  g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE,
               _("The server sent a malformed FETCH response"));
  return FALSE;
}

/* Messages fetched from the server, waiting to be parsed and stored as one transaction. */
typedef struct {
  GPtrArray *summaries;   /* PbMessageSummary with the FETCH data; headers parsed later */
  GPtrArray *texts;       /* GBytes, parallel: the whole message, or its header only */
  GArray    *is_body;     /* gboolean, parallel: whether texts[i] is the whole message */
  GArray    *body_uids;   /* known messages whose bodies came in this chunk */
  GPtrArray *body_only;   /* GBytes, parallel to body_uids */
  gsize      bytes;
} Chunk;

static Chunk *
chunk_new (void)
{
  Chunk *chunk = g_new0 (Chunk, 1);

  chunk->summaries = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_message_summary_free);
  chunk->texts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  chunk->is_body = g_array_new (FALSE, FALSE, sizeof (gboolean));
  chunk->body_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  chunk->body_only = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  return chunk;
}

static void
chunk_free (Chunk *chunk)
{
  g_ptr_array_unref (chunk->summaries);
  g_ptr_array_unref (chunk->texts);
  g_array_unref (chunk->is_body);
  g_array_unref (chunk->body_uids);
  g_ptr_array_unref (chunk->body_only);
  g_free (chunk);
}

static gboolean
chunk_is_empty (Chunk *chunk)
{
  return chunk->summaries->len == 0 && chunk->body_uids->len == 0;
}

/* State of one folder's sync, shared by the response callbacks. */
typedef struct {
  PbStore            *store;
  const char         *account;
  PbFolderInfo       *folder;
  gint64              folder_id;
  GArray             *updates;      /* PbUidFlags from FETCH FLAGS of known messages */
  GArray             *vanished;     /* UidRange from VANISHED */
  GHashTable         *known;        /* uid -> TRUE for messages in the store */
  /* The chunk being collected from the server. */
  Chunk              *chunk;
  /* The writer thread parses and stores full chunks while the next one arrives, so network,
   * MIME parsing and disk overlap (a sync is otherwise CPU-bound on one core). */
  GThread            *writers[N_WRITERS];
  GAsyncQueue        *queue;
  GMutex              lock;
  GCond               cond;
  guint               in_flight;    /* chunks queued or being written */
  GError             *writer_error; /* first failure of the writer; later chunks are dropped */
  guint               done;         /* written by the writer thread */
  guint               total;
  PbSyncProgressFunc  progress;
  gpointer            user_data;
} FolderSync;

/* At most this many chunks wait for the writers: bounds memory to about 4 chunks. */
#define MAX_IN_FLIGHT 3

static void stop_writer (FolderSync *fs);

static void
folder_sync_clear (FolderSync *fs)
{
  g_clear_pointer (&fs->updates, g_array_unref);
  g_clear_pointer (&fs->vanished, g_array_unref);
  g_clear_pointer (&fs->known, g_hash_table_unref);
  stop_writer (fs);
  g_clear_pointer (&fs->chunk, chunk_free);
  g_clear_error (&fs->writer_error);
  g_mutex_clear (&fs->lock);
  g_cond_clear (&fs->cond);
}

static void
add_update (FolderSync *fs,
            FetchItem  *item)
{
  PbUidFlags update = { item->uid, item->flags, item->modseq, g_steal_pointer (&item->keywords) };

  g_array_append_val (fs->updates, update);
}

/* Untagged responses during SELECT and flag fetches: flag changes and VANISHED. */
static gboolean
changes_cb (PbImapResponse  *response,
            gpointer         user_data,
            GError         **error)
{
  FolderSync *fs = user_data;
  g_auto(FetchItem) item = { 0 };
  gboolean is_fetch;

  if (response->status == PB_IMAP_STATUS_NONE && response->items != NULL
      && response->items->len >= 2
      && pb_imap_value_is_atom (g_ptr_array_index (response->items, 0), "VANISHED"))
    {
      PbImapValue *set = g_ptr_array_index (response->items, response->items->len - 1);
      const char *text = set->type == PB_IMAP_VALUE_ATOM ? set->str : NULL;
      g_autofree char *number = NULL;

      if (set->type == PB_IMAP_VALUE_NUMBER)
        text = number = g_strdup_printf ("%" G_GUINT64_FORMAT, set->number);
      if (text == NULL || !parse_uid_set (text, fs->vanished))
        {
          g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE,
                       _("The server sent a malformed VANISHED response"));
          return FALSE;
        }
      return TRUE;
    }

  if (!parse_fetch (response, &item, &is_fetch, error))
    return FALSE;
  if (is_fetch && item.uid != 0 && item.has_flags)
    add_update (fs, &item);
  return TRUE;
}

/* The writer's work on one chunk: parse the headers, add the rows (the list shows them at
 * once), then store the bodies durably with one flush for the whole chunk. A crash in between
 * leaves rows without bodies, which step 4 of the next run fills in. */
static gboolean
write_chunk (FolderSync  *fs,
             Chunk       *chunk,
             GError     **error)
{
  g_autofree guint32 *uids = g_new (guint32, chunk->summaries->len + 1);
  g_autofree GBytes **bodies = g_new (GBytes *, chunk->summaries->len + 1);
  guint n = 0, stored = 0;

  if (chunk->body_uids->len > 0
      && !pb_store_set_bodies (fs->store, fs->folder_id, (guint32 *) chunk->body_uids->data,
                               (GBytes * const *) chunk->body_only->pdata, chunk->body_uids->len,
                               &stored, error))
    return FALSE;

  for (guint i = 0; i < chunk->summaries->len; i++)
    {
      PbMessageSummary *fetched = g_ptr_array_index (chunk->summaries, i);
      GBytes *text = g_ptr_array_index (chunk->texts, i);
      PbMessageSummary *parsed = pb_store_parse_summary (text);

      /* The header fields from the text, the rest from FETCH. */
      parsed->uid = fetched->uid;
      parsed->flags = fetched->flags;
      parsed->keywords = g_steal_pointer (&fetched->keywords);
      parsed->modseq = fetched->modseq;
      parsed->size = fetched->size;
      parsed->internaldate = fetched->internaldate;
      if (parsed->date == 0)
        parsed->date = fetched->internaldate;
      g_ptr_array_index (chunk->summaries, i) = parsed;
      pb_message_summary_free (fetched);

      if (g_array_index (chunk->is_body, gboolean, i))
        {
          uids[n] = parsed->uid;
          bodies[n++] = text;
        }
    }

  if (chunk->summaries->len > 0
      && !pb_store_add_messages (fs->store, fs->folder_id, chunk->summaries, error))
    return FALSE;
  /* Header-only messages (outside the offline window) have no body to store. */
  if (n > 0
      && !pb_store_set_bodies (fs->store, fs->folder_id, uids, (GBytes * const *) bodies, n,
                               &stored, error))
    return FALSE;

  {
    guint done;

    g_mutex_lock (&fs->lock);
    done = fs->done += chunk->summaries->len + chunk->body_uids->len;
    g_mutex_unlock (&fs->lock);
    if (fs->progress && chunk->summaries->len > 0)
      fs->progress (fs->account, pb_folder_info_get_path (fs->folder), done, fs->total,
                    fs->user_data);
  }
  return TRUE;
}

/* Marks the end of the queue (GAsyncQueue takes no NULL). */
static Chunk end_of_queue;

static gpointer
writer_thread (gpointer data)
{
  FolderSync *fs = data;

  for (;;)
    {
      Chunk *chunk = g_async_queue_pop (fs->queue);
      GError *error = NULL;
      gboolean failed;

      if (chunk == &end_of_queue)
        break;
      g_mutex_lock (&fs->lock);
      failed = fs->writer_error != NULL;
      g_mutex_unlock (&fs->lock);
      if (!failed && !write_chunk (fs, chunk, &error))
        {
          g_mutex_lock (&fs->lock);
          fs->writer_error = error;
          g_mutex_unlock (&fs->lock);
        }
      chunk_free (chunk);

      g_mutex_lock (&fs->lock);
      fs->in_flight--;
      g_cond_broadcast (&fs->cond);
      g_mutex_unlock (&fs->lock);
    }
  return NULL;
}

static gboolean
writer_failed (FolderSync  *fs,
               GError     **error)
{
  if (fs->writer_error == NULL)
    return FALSE;
  g_propagate_error (error, g_error_copy (fs->writer_error));
  return TRUE;
}

/* Hands the collected chunk to the writer, waiting while MAX_IN_FLIGHT are queued. */
static gboolean
flush_chunk (FolderSync  *fs,
             GError     **error)
{
  gboolean ok;

  if (chunk_is_empty (fs->chunk))
    {
      g_mutex_lock (&fs->lock);
      ok = !writer_failed (fs, error);
      g_mutex_unlock (&fs->lock);
      return ok;
    }

  if (fs->writers[0] == NULL)
    {
      fs->queue = g_async_queue_new ();
      for (guint i = 0; i < N_WRITERS; i++)
        fs->writers[i] = g_thread_new ("pb-sync-writer", writer_thread, fs);
    }

  g_mutex_lock (&fs->lock);
  while (fs->in_flight >= MAX_IN_FLIGHT && fs->writer_error == NULL)
    g_cond_wait (&fs->cond, &fs->lock);
  ok = !writer_failed (fs, error);
  if (ok)
    fs->in_flight++;
  g_mutex_unlock (&fs->lock);
  if (!ok)
    return FALSE;

  g_async_queue_push (fs->queue, g_steal_pointer (&fs->chunk));
  fs->chunk = chunk_new ();
  return TRUE;
}

/* Waits until everything handed to the writer is stored; the store is then complete. */
static gboolean
drain_writer (FolderSync  *fs,
              GError     **error)
{
  gboolean ok;

  if (!flush_chunk (fs, error))
    return FALSE;
  g_mutex_lock (&fs->lock);
  while (fs->in_flight > 0)
    g_cond_wait (&fs->cond, &fs->lock);
  ok = !writer_failed (fs, error);
  g_mutex_unlock (&fs->lock);
  return ok;
}

static void
stop_writer (FolderSync *fs)
{
  if (fs->writers[0] == NULL)
    return;
  for (guint i = 0; i < N_WRITERS; i++)
    g_async_queue_push (fs->queue, &end_of_queue);
  for (guint i = 0; i < N_WRITERS; i++)
    g_thread_join (g_steal_pointer (&fs->writers[i]));
  g_clear_pointer (&fs->queue, g_async_queue_unref);
}

/* Queues a message the store does not know yet, from its whole text (@is_body) or from its
 * header alone (outside the offline window), and commits the chunk when it is full. */
static gboolean
add_new_message (FolderSync  *fs,
                 FetchItem   *item,
                 GBytes      *text,
                 gboolean     is_body,
                 GError     **error)
{
  PbMessageSummary *summary = pb_message_summary_new ();

  /* The FETCH data now; the header fields are parsed by the writer thread. */
  summary->uid = item->uid;
  summary->flags = item->flags;
  summary->keywords = g_steal_pointer (&item->keywords);
  summary->modseq = item->modseq;
  summary->size = item->size || !is_body ? item->size : g_bytes_get_size (text);
  summary->internaldate = item->internaldate;
  g_hash_table_add (fs->known, GUINT_TO_POINTER (item->uid));
  g_ptr_array_add (fs->chunk->summaries, summary);
  g_ptr_array_add (fs->chunk->texts, g_bytes_ref (text));
  g_array_append_val (fs->chunk->is_body, is_body);
  fs->chunk->bytes += g_bytes_get_size (text);

  if (fs->chunk->summaries->len >= CHUNK_MESSAGES || fs->chunk->bytes >= CHUNK_BYTES)
    return flush_chunk (fs, error);
  return TRUE;
}

/* Untagged responses while fetching new messages or missing bodies. */
static gboolean
bodies_cb (PbImapResponse  *response,
           gpointer         user_data,
           GError         **error)
{
  FolderSync *fs = user_data;
  g_auto(FetchItem) item = { 0 };
  g_autoptr(GBytes) raw = NULL;
  gboolean is_fetch;

  if (!parse_fetch (response, &item, &is_fetch, error))
    return FALSE;
  if (!is_fetch || item.uid == 0)
    return TRUE;
  if (item.body == NULL && item.header != NULL
      && !g_hash_table_contains (fs->known, GUINT_TO_POINTER (item.uid)))
    {
      /* Outside the offline window: the summary from the header alone; the body comes when
       * the user opens the message. */
      return add_new_message (fs, &item, pb_imap_value_get_bytes (item.header), FALSE, error);
    }
  if (item.body == NULL)
    {
      /* An unsolicited flag change of a message we know. */
      if (item.has_flags && g_hash_table_contains (fs->known, GUINT_TO_POINTER (item.uid)))
        add_update (fs, &item);
      return TRUE;
    }

  raw = g_bytes_ref (pb_imap_value_get_bytes (item.body));
  if (g_hash_table_contains (fs->known, GUINT_TO_POINTER (item.uid)))
    {
      /* A known message without its body yet (an earlier run was interrupted): batch the
       * bodies too, with one flush per chunk. */
      g_array_append_val (fs->chunk->body_uids, item.uid);
      g_ptr_array_add (fs->chunk->body_only, g_steal_pointer (&raw));
      fs->chunk->bytes += item.body->len;
      if (fs->chunk->body_uids->len >= CHUNK_MESSAGES || fs->chunk->bytes >= CHUNK_BYTES)
        return flush_chunk (fs, error);
      return TRUE;
    }

  return add_new_message (fs, &item, raw, TRUE, error);
}

typedef struct {
  GArray  *uids;
  guint32  limit;   /* a server cannot have more UIDs than messages: caps ESEARCH ranges */
} SearchData;

static gboolean
search_cb (PbImapResponse  *response,
           gpointer         user_data,
           GError         **error)
{
  SearchData *data = user_data;

  if (response->status != PB_IMAP_STATUS_NONE || response->items == NULL
      || response->items->len == 0)
    return TRUE;

  if (pb_imap_value_is_atom (g_ptr_array_index (response->items, 0), "ESEARCH"))
    {
      /* * ESEARCH (TAG "A5") UID ALL 1:5,7 — the ALL set is missing when nothing matched. */
      for (guint i = 1; i + 1 < response->items->len; i++)
        {
          PbImapValue *name = g_ptr_array_index (response->items, i);
          PbImapValue *value = g_ptr_array_index (response->items, i + 1);
          g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (UidRange));
          guint64 count = 0;

          if (!pb_imap_value_is_atom (name, "ALL"))
            continue;
          if ((value->type != PB_IMAP_VALUE_ATOM && value->type != PB_IMAP_VALUE_NUMBER)
              || value->str == NULL || !parse_uid_set (value->str, ranges))
            goto malformed;
          for (guint r = 0; r < ranges->len; r++)
            count += (guint64) g_array_index (ranges, UidRange, r).last
                     - g_array_index (ranges, UidRange, r).first + 1;
          if (count > data->limit)
            goto malformed;
          for (guint r = 0; r < ranges->len; r++)
            for (guint64 uid = g_array_index (ranges, UidRange, r).first;
                 uid <= g_array_index (ranges, UidRange, r).last; uid++)
              {
                guint32 u = uid;
                g_array_append_val (data->uids, u);
              }
        }
      return TRUE;
    }

  if (!pb_imap_value_is_atom (g_ptr_array_index (response->items, 0), "SEARCH"))
    return TRUE;
  for (guint i = 1; i < response->items->len; i++)
    {
      PbImapValue *value = g_ptr_array_index (response->items, i);
      guint32 uid;

      if (value->type != PB_IMAP_VALUE_NUMBER || value->number == 0 || value->number > G_MAXUINT32)
        goto malformed;
      uid = value->number;
      g_array_append_val (data->uids, uid);
    }
  return TRUE;

malformed:
  g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE,
               _("The server sent a malformed SEARCH response"));
  return FALSE;
}

/**
 * pb_imap_sync_uid_search:
 * @criteria: search keys for "UID SEARCH", already quoted
 * @exists: the selected folder's message count, which caps the answer
 *
 * Runs UID SEARCH in the selected folder; with ESEARCH (RFC 4731) the UIDs come as compact
 * ranges. Returns the matching UIDs in the server's order.
 */
GArray *
pb_imap_sync_uid_search (PbImapClient  *client,
                         const char    *criteria,
                         guint32        exists,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autofree char *command = NULL;
  SearchData data = { uids, exists + 1 };

  command = g_strdup_printf ("UID SEARCH %s%s",
                             pb_imap_client_has_capability (client, "ESEARCH")
                             ? "RETURN (ALL) " : "",
                             criteria);
  if (!pb_imap_client_command (client, command, search_cb, &data, cancellable, error))
    return NULL;
  return g_steal_pointer (&uids);
}

/* The UIDs from @first up. */
static GArray *
search_uids (PbImapClient  *client,
             guint32        first,
             guint32        exists,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autofree char *criteria = g_strdup_printf ("UID %u:*", MAX (first, 1));

  return pb_imap_sync_uid_search (client, criteria, exists, cancellable, error);
}

/* The UIDs of messages the server received within the last @days days. */
static GHashTable *
search_recent (PbImapClient  *client,
               guint          days,
               guint32        exists,
               GCancellable  *cancellable,
               GError       **error)
{
  static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  g_autoptr(GArray) uids = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) since = g_date_time_add_days (now, -(gint) MIN (days, 36500));
  g_autofree char *criteria = NULL;
  GHashTable *set;

  criteria = g_strdup_printf ("SINCE %d-%s-%d", g_date_time_get_day_of_month (since),
                              months[g_date_time_get_month (since) - 1],
                              g_date_time_get_year (since));
  uids = pb_imap_sync_uid_search (client, criteria, exists, cancellable, error);
  if (uids == NULL)
    return NULL;
  set = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < uids->len; i++)
    g_hash_table_add (set, GUINT_TO_POINTER (g_array_index (uids, guint32, i)));
  return set;
}

static int
compare_uid_desc (gconstpointer a,
                  gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x > y ? -1 : x < y;
}

/* Fetches @uids (newest first) in chunks with @items, feeding bodies_cb. */
static gboolean
fetch_in_chunks (PbImapClient  *client,
                 FolderSync    *fs,
                 GArray        *uids,
                 const char    *items,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GPtrArray) commands = g_ptr_array_new_with_free_func (g_free);

  /* One command per chunk, newest first, pipelined so that the server streams without
   * waiting for a round trip between chunks. */
  g_array_sort (uids, compare_uid_desc);
  for (guint start = 0; start < uids->len; start += CHUNK_MESSAGES)
    {
      guint n = MIN (CHUNK_MESSAGES, uids->len - start);
      g_autofree char *set = pb_imap_uid_set_from_array (&g_array_index (uids, guint32, start), n);

      g_ptr_array_add (commands, g_strdup_printf ("UID FETCH %s (%s)", set, items));
    }
  return pb_imap_client_command_pipeline (client, (const char * const *) commands->pdata,
                                          commands->len, bodies_cb, fs, cancellable, error)
         && flush_chunk (fs, error);
}

static int
compare_uid_flags (gconstpointer a,
                   gconstpointer b)
{
  guint32 x = ((const PbUidFlags *) a)->uid, y = ((const PbUidFlags *) b)->uid;
  return x < y ? -1 : x > y;
}

static int
compare_uid_asc (gconstpointer a,
                 gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

static gboolean
apply_changes (FolderSync  *fs,
               GArray      *local,
               GArray      *present,   /* sorted UIDs on the server below uidnext, or NULL */
               GError     **error)
{
  g_autoptr(GArray) removed = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) changed = pb_uid_flags_array_new (fs->updates->len);

  for (guint i = 0; i < local->len; i++)
    {
      PbUidFlags *l = &g_array_index (local, PbUidFlags, i);
      gboolean gone = ranges_contain (fs->vanished, l->uid);

      if (!gone && present != NULL)
        gone = bsearch (&l->uid, present->data, present->len, sizeof (guint32),
                        compare_uid_asc) == NULL;
      if (gone)
        {
          g_array_append_val (removed, l->uid);
          g_hash_table_remove (fs->known, GUINT_TO_POINTER (l->uid));
        }
    }

  /* Only real changes reach the database: a full flag scan of an unchanged folder writes
   * nothing. */
  for (guint i = 0; i < fs->updates->len; i++)
    {
      PbUidFlags *u = &g_array_index (fs->updates, PbUidFlags, i);
      PbUidFlags *l = bsearch (u, local->data, local->len, sizeof (PbUidFlags), compare_uid_flags);
      PbUidFlags copy;

      if (l == NULL || ranges_contain (fs->vanished, u->uid))
        continue;
      if (l->flags == u->flags && g_strcmp0 (l->keywords, u->keywords) == 0)
        continue;
      copy = *u;
      copy.keywords = g_strdup (u->keywords);
      g_array_append_val (changed, copy);
    }

  if (removed->len > 0
      && !pb_store_remove_uids (fs->store, fs->folder_id, (guint32 *) removed->data, removed->len,
                                error))
    return FALSE;
  if (changed->len > 0
      && !pb_store_update_flags_batch (fs->store, fs->folder_id, (PbUidFlags *) changed->data,
                                       changed->len, error))
    return FALSE;
  return TRUE;
}

gboolean
pb_imap_sync_folder (PbImapClient        *client,
                     PbStore             *store,
                     const char          *account,
                     guint                offline_days,
                     PbFolderInfo        *folder,
                     PbSyncProgressFunc   progress,
                     gpointer             user_data,
                     GCancellable        *cancellable,
                     GError             **error)
{
  FolderSync fs = { 0 };
  PbImapMailbox mailbox;
  guint32 local_uidvalidity = 0, local_uidnext = 0;
  guint64 local_modseq = 0;
  g_autoptr(GArray) local = NULL;
  g_autoptr(GArray) present = NULL;
  g_autoptr(GArray) new_uids = NULL;
  g_autoptr(GArray) missing = NULL;
  g_autoptr(GHashTable) recent = NULL;
  g_autoptr(GArray) old_uids = NULL;
  gboolean qresync_used;
  gboolean ok = FALSE;
  guint32 max_uid = 0;
  const char *fetch_items;

  fs.store = store;
  fs.account = account;
  fs.folder = folder;
  fs.progress = progress;
  fs.user_data = user_data;
  fs.updates = pb_uid_flags_array_new (0);
  fs.vanished = g_array_new (FALSE, FALSE, sizeof (UidRange));
  fs.known = g_hash_table_new (NULL, NULL);
  fs.chunk = chunk_new ();
  g_mutex_init (&fs.lock);
  g_cond_init (&fs.cond);

  fs.folder_id = pb_store_ensure_folder (store, account, folder, error);
  if (fs.folder_id == 0
      || !pb_store_get_folder_state (store, fs.folder_id, &local_uidvalidity, &local_uidnext,
                                     &local_modseq, error))
    goto out;

  qresync_used = pb_imap_client_qresync_enabled (client) && local_uidvalidity != 0
                 && local_modseq != 0;
  if (!pb_imap_client_select (client, pb_folder_info_get_remote_name (folder), TRUE,
                              local_uidvalidity, local_modseq, changes_cb, &fs, &mailbox,
                              cancellable, error))
    goto out;

  if (mailbox.uidvalidity != local_uidvalidity)
    {
      /* The server renumbered the folder: what we hold cannot be matched to it any more. Drop
       * the local copy of this folder and download it again; the server keeps everything. */
      if (local_uidvalidity != 0)
        g_message ("%s/%s: UIDVALIDITY changed from %u to %u; downloading the folder again",
                   account, pb_folder_info_get_path (folder), local_uidvalidity,
                   mailbox.uidvalidity);
      if (!pb_store_reset_folder (store, fs.folder_id, mailbox.uidvalidity, error))
        goto out;
      local_uidnext = 0;
      local_modseq = 0;
      qresync_used = FALSE;
      g_array_set_size (fs.updates, 0);
      g_array_set_size (fs.vanished, 0);
    }

  /* Nothing changed since the last complete sync (QRESYNC reported no change, no new UID,
   * same mod-sequence): the folder is done without reading a single row. Missing bodies
   * cannot be pending either: the state is saved only after they were all stored. */
  if (qresync_used && fs.updates->len == 0 && fs.vanished->len == 0
      && mailbox.uidnext == local_uidnext && mailbox.highestmodseq == local_modseq
      && offline_days == 0)
    {
      ok = TRUE;
      goto out;
    }

  /* Only flags changed (QRESYNC sends exactly the changed messages, and no UID is new): write
   * them as they are, without reading the folder or asking for new UIDs. */
  if (qresync_used && fs.vanished->len == 0 && mailbox.uidnext == local_uidnext
      && offline_days == 0)
    {
      ok = (fs.updates->len == 0
            || pb_store_update_flags_batch (store, fs.folder_id, (PbUidFlags *) fs.updates->data,
                                            fs.updates->len, error))
           && pb_store_set_folder_state (store, fs.folder_id, mailbox.uidvalidity,
                                         mailbox.uidnext, mailbox.highestmodseq, error);
      goto out;
    }

  local = pb_store_get_uid_flags (store, fs.folder_id, error);
  if (local == NULL)
    goto out;
  for (guint i = 0; i < local->len; i++)
    {
      guint32 uid = g_array_index (local, PbUidFlags, i).uid;
      g_hash_table_add (fs.known, GUINT_TO_POINTER (uid));
      max_uid = MAX (max_uid, uid);
    }

  if (local->len > 0 && !qresync_used)
    {
      g_autofree char *command = NULL;
      guint32 last = MAX (local_uidnext, max_uid + 1) - 1;

      /* CONDSTORE: only what changed since the last sync; else every message's flags. */
      if (local_modseq != 0 && mailbox.highestmodseq != 0
          && pb_imap_client_condstore_enabled (client))
        {
          if (mailbox.highestmodseq != local_modseq)
            command = g_strdup_printf ("UID FETCH 1:%u (UID FLAGS) (CHANGEDSINCE %" G_GUINT64_FORMAT
                                       ")", last, local_modseq);
        }
      else
        command = g_strdup_printf ("UID FETCH 1:%u (UID FLAGS)", last);
      if (command != NULL
          && !pb_imap_client_command (client, command, changes_cb, &fs, cancellable, error))
        goto out;
    }

  new_uids = search_uids (client, local_uidnext ? local_uidnext : 1, mailbox.exists, cancellable,
                          error);
  if (new_uids == NULL)
    goto out;

  /* Expunges without QRESYNC: if the server's count does not match ours plus the new ones,
   * ask which of the old UIDs still exist. */
  if (local->len > 0 && !qresync_used)
    {
      guint new_count = 0;

      for (guint i = 0; i < new_uids->len; i++)
        if (!g_hash_table_contains (fs.known, GUINT_TO_POINTER (g_array_index (new_uids, guint32, i))))
          new_count++;
      if (mailbox.exists != local->len + new_count)
        {
          present = search_uids (client, 1, mailbox.exists, cancellable, error);
          if (present == NULL)
            goto out;
          g_array_sort (present, compare_uid_asc);
        }
    }

  if (!apply_changes (&fs, local, present, error))
    goto out;
  g_array_set_size (fs.updates, 0);

  /* New messages: the "*" in "n:*" always matches the highest UID even below n, and a rerun
   * after a crash sees messages it stored already: skip both. */
  missing = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint i = 0; i < new_uids->len; i++)
    {
      guint32 uid = g_array_index (new_uids, guint32, i);
      if (!g_hash_table_contains (fs.known, GUINT_TO_POINTER (uid)))
        g_array_append_val (missing, uid);
    }
  fs.total = missing->len;
  if (offline_days > 0)
    {
      /* Only messages the server received within the window come with their bodies. */
      recent = search_recent (client, offline_days, mailbox.exists, cancellable, error);
      if (recent == NULL)
        goto out;
      old_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
      for (guint i = 0; i < missing->len; i++)
        {
          guint32 uid = g_array_index (missing, guint32, i);
          if (!g_hash_table_contains (recent, GUINT_TO_POINTER (uid)))
            {
              g_array_append_val (old_uids, uid);
              g_array_remove_index_fast (missing, i--);
            }
        }
    }
  fetch_items = pb_imap_client_condstore_enabled (client)
                ? "UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ BODY.PEEK[]"
                : "UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]";
  if (!fetch_in_chunks (client, &fs, missing, fetch_items, cancellable, error))
    goto out;
  if (old_uids != NULL && old_uids->len > 0
      && !fetch_in_chunks (client, &fs, old_uids,
                           pb_imap_client_condstore_enabled (client)
                           ? "UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ BODY.PEEK[HEADER]"
                           : "UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER]",
                           cancellable, error))
    goto out;

  /* Bodies an interrupted run did not store (within the offline window, if there is one).
   * The writer must be done first, or the store would name messages still on their way. */
  if (!drain_writer (&fs, error))
    goto out;
  {
    g_autoptr(GArray) without = pb_store_get_uids_without_body (store, fs.folder_id, TRUE, 0,
                                                                error);
    if (without == NULL)
      goto out;
    if (recent != NULL)
      for (guint i = 0; i < without->len; i++)
        if (!g_hash_table_contains (recent, GUINT_TO_POINTER (g_array_index (without, guint32, i))))
          g_array_remove_index_fast (without, i--);
    if (without->len > 0)
      {
        fs.total = fs.done + without->len;
        if (!fetch_in_chunks (client, &fs, without, "UID BODY.PEEK[]", cancellable, error))
          goto out;
      }
  }

  if (!drain_writer (&fs, error))
    goto out;

  /* Flag changes that arrived unsolicited while fetching. */
  if (fs.updates->len > 0)
    {
      g_autoptr(GArray) now = pb_store_get_uid_flags (store, fs.folder_id, error);
      g_array_set_size (fs.vanished, 0);
      if (now == NULL || !apply_changes (&fs, now, NULL, error))
        goto out;
    }

  ok = pb_store_set_folder_state (store, fs.folder_id, mailbox.uidvalidity,
                                  MAX (mailbox.uidnext, local_uidnext), mailbox.highestmodseq,
                                  error);

out:
  folder_sync_clear (&fs);
  return ok;
}

/**
 * pb_imap_sync_account:
 *
 * One full pass: the journal first (the user's changes win over an older server state), then
 * the folder list, then every folder, the inbox first.
 */
gboolean
pb_imap_sync_account (PbImapClient        *client,
                      PbStore             *store,
                      const char          *account,
                      guint                offline_days,
                      PbSyncProgressFunc   progress,
                      gpointer             user_data,
                      GCancellable        *cancellable,
                      GError             **error)
{
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new ();

  if (!pb_imap_client_compress (client, cancellable, error)
      || !pb_imap_client_enable (client, cancellable, error))
    return FALSE;
  if (!pb_imap_sync_replay (client, store, account, cancellable, error))
    return FALSE;

  folders = pb_imap_client_list_folders (client, cancellable, error);
  if (folders == NULL)
    return FALSE;
  for (guint i = 0; i < folders->len; i++)
    {
      PbFolderInfo *folder = g_ptr_array_index (folders, i);

      g_ptr_array_add (paths, (gpointer) pb_folder_info_get_path (folder));
      if (pb_store_ensure_folder (store, account, folder, error) == 0)
        return FALSE;
    }
  g_ptr_array_add (paths, NULL);
  if (!pb_store_remove_folders_except (store, account, (const char * const *) paths->pdata,
                                       error))
    return FALSE;

  for (guint i = 0; i < folders->len; i++)
    {
      PbFolderInfo *folder = g_ptr_array_index (folders, i);

      if (!pb_folder_info_get_selectable (folder))
        continue;
      if (!pb_imap_sync_folder (client, store, account, offline_days, folder, progress, user_data,
                                cancellable, error))
        return FALSE;
    }
  return TRUE;
}

/* Servers drop idle clients after 30 minutes; RFC 2177 asks to renew before that. */
#define IDLE_SECONDS (29 * 60)
/* Without IDLE the inbox is polled this often. */
#define POLL_SECONDS 120

/**
 * pb_imap_sync_idle_inbox:
 *
 * After a full sync: waits on the inbox with IDLE and syncs it whenever the server reports a
 * change, until @cancellable is cancelled (returns TRUE) or the connection fails (FALSE; the
 * caller reconnects with backoff).
 */
gboolean
pb_imap_sync_idle_inbox (PbImapClient        *client,
                         PbStore             *store,
                         const char          *account,
                         guint                offline_days,
                         PbSyncProgressFunc   progress,
                         gpointer             user_data,
                         GCancellable        *cancellable,
                         GError             **error)
{
  g_autoptr(PbFolderInfo) inbox = pb_folder_info_new ("INBOX", PB_FOLDER_ROLE_INBOX, TRUE);
  gboolean can_idle = pb_imap_client_has_capability (client, "IDLE");

  while (!g_cancellable_is_cancelled (cancellable))
    {
      g_autoptr(GError) local_error = NULL;
      gboolean changed = FALSE;

      /* pb_imap_sync_folder left INBOX selected (EXAMINE) when it was synced last. */
      if (g_strcmp0 (pb_imap_client_get_selected (client), "INBOX") != 0
          && !pb_imap_sync_folder (client, store, account, offline_days, inbox, progress,
                                   user_data, cancellable, error))
        return FALSE;

      if (can_idle)
        {
          if (!pb_imap_client_idle (client, IDLE_SECONDS, &changed, cancellable, &local_error))
            {
              if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return TRUE;
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
        }
      else
        {
          /* Poll: sleep in short steps so that cancelling stays quick. */
          for (guint i = 0; i < POLL_SECONDS * 4 && !g_cancellable_is_cancelled (cancellable); i++)
            g_usleep (G_USEC_PER_SEC / 4);
        }
      if (g_cancellable_is_cancelled (cancellable))
        return TRUE;
      /* Also after a quiet idle period: QRESYNC makes it cheap, and it keeps NATs awake.
       * Changes the user made meanwhile (perhaps from another process) go up first. */
      g_debug ("%s: INBOX %s", account, changed ? "changed" : "idle period over");
      if (!pb_imap_sync_replay (client, store, account, cancellable, error))
        return FALSE;
      if (!pb_imap_sync_folder (client, store, account, offline_days, inbox, progress, user_data,
                                cancellable, error))
        return FALSE;
    }
  return TRUE;
}

typedef struct {
  GBytes  *body;
  guint32  uid;
} OneBody;

static gboolean
one_body_cb (PbImapResponse  *response,
             gpointer         user_data,
             GError         **error)
{
  OneBody *one = user_data;
  g_auto(FetchItem) item = { 0 };
  gboolean is_fetch;

  if (!parse_fetch (response, &item, &is_fetch, error))
    return FALSE;
  if (is_fetch && item.uid == one->uid && item.body != NULL && one->body == NULL)
    one->body = g_bytes_ref (pb_imap_value_get_bytes (item.body));
  return TRUE;
}

/**
 * pb_imap_sync_fetch_body:
 *
 * Downloads the body of one message that sync left on the server (outside the offline
 * window) and stores it durably.
 */
gboolean
pb_imap_sync_fetch_body (PbImapClient  *client,
                         PbStore       *store,
                         const char    *account,
                         const char    *folder,
                         guint32        uid,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(GPtrArray) folders = pb_store_list_folders (store, account, error);
  g_autofree char *command = NULL;
  PbFolderInfo *info = NULL;
  OneBody one = { NULL, uid };
  PbImapMailbox mailbox;
  guint32 uidvalidity = 0, uidnext;
  guint64 modseq;
  gint64 folder_id;
  gboolean ok;

  if (folders == NULL)
    return FALSE;
  for (guint i = 0; i < folders->len; i++)
    if (g_strcmp0 (pb_folder_info_get_path (g_ptr_array_index (folders, i)), folder) == 0)
      info = g_ptr_array_index (folders, i);
  folder_id = info ? pb_store_lookup_folder (store, account, folder, error) : 0;
  if (folder_id == 0
      || !pb_store_get_folder_state (store, folder_id, &uidvalidity, &uidnext, &modseq, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                     _("There is no folder “%s” in account “%s”"), folder, account);
      return FALSE;
    }

  if (!pb_imap_client_select (client, pb_folder_info_get_remote_name (info), TRUE, 0, 0, NULL,
                              NULL, &mailbox, cancellable, error))
    return FALSE;
  if (mailbox.uidvalidity != uidvalidity)
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED,
                   _("The folder “%s” changed on the server; sync it first"), folder);
      return FALSE;
    }
  command = g_strdup_printf ("UID FETCH %u (UID BODY.PEEK[])", uid);
  if (!pb_imap_client_command (client, command, one_body_cb, &one, cancellable, error))
    return FALSE;
  if (one.body == NULL)
    {
      g_set_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_NO,
                   _("Message %u is no longer on the server"), uid);
      return FALSE;
    }
  ok = pb_store_set_body (store, folder_id, uid, one.body, error);
  g_bytes_unref (one.body);
  return ok;
}
