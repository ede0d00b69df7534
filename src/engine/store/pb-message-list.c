/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include "pb-message-item-private.h"
#include "pb-message-list-private.h"
#include "pb-store-private.h"

/*
 * PbMessageList pages a folder out of the store.
 *
 * Pages. Position p lives in page p / page_size. get_item() of a page that is not in memory
 * creates it, full of placeholder items, and schedules its load; the loads start from an idle
 * callback, so that a view that binds 30 rows, or a selection model that walks a range, asks
 * the store once per page that is still wanted afterwards, not once per call. At most one load
 * per page is in flight. When more than max_pages pages are in memory the least recently used
 * one is dropped.
 *
 * Items handed out. A view keeps the items of the rows it shows, and expects a later get_item()
 * of the same position to give the same object. A page holds its items; when it is dropped,
 * the items somebody else still holds are remembered (weakly, by position, in `detached`), and
 * taken back when the page is made again; the load of a dropped page still fills them. So an
 * item is never left a placeholder, and never two objects stand for one position.
 *
 * Loads come from separate snapshots. If the store changed between them (a sync wrote while
 * the user scrolled), a page may not fit its neighbours; a load that finds a different message
 * at a position it had filled before, or a page that does not border its neighbours in the
 * order, starts a refresh, which repairs the list.
 *
 * Refresh. The list takes the runs of positions whose messages it knows ("windows") and asks
 * the store, in one snapshot, for the new total and, for each window, which messages now lie
 * between its first and last message and how many come before it (pb_store_read_ranges()).
 * Both sides are in the same order, so a merge gives exactly the rows that went and came in
 * each window, and a message that stayed keeps its item object, even if it moved. Between
 * windows nothing is known but the length; a change of length is reported at the end of the
 * gap (next to the window below), and placeholders in the gap keep their offset from its start.
 * The edits are emitted one items-changed each, first to last; while they are emitted,
 * get_item() answers for the state in between (see emit_map_position()).
 *
 * Threads. All of this runs on the thread that created the list; only the store calls run in
 * GTask threads, and their callbacks find the list through a weak reference, so a list that is
 * dropped while a load is in flight is finalized at once.
 */

#define DEFAULT_PAGE_SIZE 100
#define DEFAULT_MAX_PAGES 50

typedef struct {
  guint      index;
  GPtrArray *items;    /* PbMessageItem, one reference each (no free function) */
  GList      link;     /* in PbMessageList.lru; data is the page */
  guint64    stamp;    /* when it was last used */
  gboolean   loaded;   /* every item shows its message */
  gboolean   failed;   /* the load failed; no new attempt before the next refresh */
} Page;

typedef struct {
  PbMessageList *self;
  PbMessageItem *item;    /* no reference; a weak reference clears this entry */
  guint          position;
} Detached;

typedef struct {
  GWeakRef      list;
  guint         page;
  guint         generation;
  GCancellable *cancellable;
} PageRequest;

typedef struct {
  GWeakRef      list;
  GCancellable *cancellable;
} ReloadRequest;

/* A run of known positions while a refresh is in flight. */
typedef struct {
  guint      old_start;
  GPtrArray *items;     /* PbMessageItem, owned */
} Window;

/* One items-changed, in the positions before the refresh. */
typedef struct {
  guint old_pos;
  guint removed;
  guint added;
  gint  delta_before;   /* sum of (added - removed) of the edits before this one */
} Edit;

struct _PbMessageList
{
  GObject       parent_instance;

  PbStore      *store;
  gint64        folder_id;
  gboolean      threads;        /* one row per conversation */
  guint         page_size;
  guint         max_pages;

  guint         n_items;
  GHashTable   *pages;          /* page index -> Page */
  GQueue        lru;            /* Page, most recently used first */
  guint64       clock;
  GHashTable   *detached;       /* position -> Detached */
  GHashTable   *requests;       /* page index -> PageRequest, while its load is in flight */
  GHashTable   *orphans;        /* page indexes of dropped pages with placeholders held */
  guint         generation;     /* changes when positions change; older loads are dropped */
  GSource      *load_source;

  gboolean      loading;        /* the count or a refresh is in flight */
  gboolean      reload_again;
  GCancellable *reload_cancellable;
  GPtrArray    *reload_windows; /* Window, while a refresh is in flight */

  /* While a refresh emits its edits */
  Edit         *emit_edits;
  guint         emit_n_edits;
  guint         emit_index;
  guint         emit_old_n_items;
  GHashTable   *emit_old_items;  /* old position -> PbMessageItem, for rows on their way out */
};

static void pb_message_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PbMessageList, pb_message_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      pb_message_list_model_init))

enum {
  PROP_0,
  PROP_STORE,
  PROP_FOLDER_ID,
  PROP_PAGE_SIZE,
  PROP_MAX_PAGES,
  PROP_THREADS,
  PROP_LOADING,
  PROP_N_ITEMS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void start_reload   (PbMessageList *self);
static void schedule_loads (PbMessageList *self);

/* The folder as the store is asked about it: a list of conversations marks the id (see
 * PB_STORE_THREADS_BIT in pb-store-private.h). */
static gint64
store_folder (PbMessageList *self)
{
  return self->threads ? pb_store_threads_folder (self->folder_id) : self->folder_id;
}

/* Order */

/* Whether (date_a, id_a) comes before (date_b, id_b): newest first, like the store. */
static inline gboolean
key_before (gint64 date_a,
            gint64 id_a,
            gint64 date_b,
            gint64 id_b)
{
  return date_a > date_b || (date_a == date_b && id_a > id_b);
}

static inline gboolean
item_before (PbMessageItem *a,
             PbMessageItem *b)
{
  return key_before (pb_message_item_get_date (a), pb_message_item_get_id (a),
                     pb_message_item_get_date (b), pb_message_item_get_id (b));
}

/* Detached items */

static void
detached_item_gone_cb (gpointer  data,
                       GObject  *where_the_object_was)
{
  Detached *detached = data;

  g_hash_table_remove (detached->self->detached, GUINT_TO_POINTER (detached->position));
  g_free (detached);
}

/* Takes over the caller's reference to @item. */
static void
detach_item (PbMessageList *self,
             PbMessageItem *item,
             guint          position)
{
  Detached *detached = g_new0 (Detached, 1);

  g_assert (!g_hash_table_contains (self->detached, GUINT_TO_POINTER (position)));
  detached->self = self;
  detached->item = item;
  detached->position = position;
  g_hash_table_insert (self->detached, GUINT_TO_POINTER (position), detached);
  g_object_weak_ref (G_OBJECT (item), detached_item_gone_cb, detached);
  g_object_unref (item);
}

/* Returns a new reference to the item somebody still holds for @position, or NULL. */
static PbMessageItem *
adopt_item (PbMessageList *self,
            guint          position)
{
  Detached *detached = g_hash_table_lookup (self->detached, GUINT_TO_POINTER (position));
  PbMessageItem *item;

  if (detached == NULL)
    return NULL;
  item = g_object_ref (detached->item);
  g_object_weak_unref (G_OBJECT (item), detached_item_gone_cb, detached);
  g_hash_table_remove (self->detached, GUINT_TO_POINTER (position));
  g_free (detached);
  return item;
}

static void
forget_detached (PbMessageList *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->detached);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Detached *detached = value;

      g_object_weak_unref (G_OBJECT (detached->item), detached_item_gone_cb, detached);
      g_hash_table_iter_remove (&iter);
      g_free (detached);
    }
}

/* Pages */

static guint
page_length (PbMessageList *self,
             guint          index,
             guint          n_items)
{
  guint start = index * self->page_size;

  return start < n_items ? MIN (self->page_size, n_items - start) : 0;
}

static gboolean
items_loaded (GPtrArray *items)
{
  for (guint i = 0; i < items->len; i++)
    if (!pb_message_item_get_loaded (g_ptr_array_index (items, i)))
      return FALSE;
  return TRUE;
}

static void
touch_page (PbMessageList *self,
            Page          *page)
{
  page->stamp = ++self->clock;
  if (self->lru.head == &page->link)
    return;
  g_queue_unlink (&self->lru, &page->link);
  g_queue_push_head_link (&self->lru, &page->link);
}

/* Unrefs (or detaches, with @detach) the items; the page must be out of the table and queue. */
static void
page_free (PbMessageList *self,
           Page          *page,
           gboolean       detach)
{
  for (guint i = 0; i < page->items->len; i++)
    {
      PbMessageItem *item = g_ptr_array_index (page->items, i);

      if (detach)
        detach_item (self, item, page->index * self->page_size + i);
      else
        g_object_unref (item);
    }
  g_ptr_array_unref (page->items);
  g_free (page);
}

static void
evict_page (PbMessageList *self,
            Page          *page)
{
  guint index = page->index;
  PageRequest *request = g_hash_table_lookup (self->requests, GUINT_TO_POINTER (index));
  guint start = index * self->page_size;
  guint length = page->items->len;
  gboolean placeholders_held = FALSE;

  g_queue_unlink (&self->lru, &page->link);
  g_hash_table_remove (self->pages, GUINT_TO_POINTER (index));
  page_free (self, page, TRUE);

  /* The load is still wanted if a placeholder it would fill is held somewhere; it fills the
   * held items even though the page is gone. */
  for (guint i = 0; i < length && !placeholders_held; i++)
    {
      Detached *detached = g_hash_table_lookup (self->detached, GUINT_TO_POINTER (start + i));

      placeholders_held = detached != NULL && !pb_message_item_get_loaded (detached->item);
    }
  if (placeholders_held && request == NULL)
    {
      g_hash_table_add (self->orphans, GUINT_TO_POINTER (index));
      schedule_loads (self);
    }
  else if (!placeholders_held && request != NULL)
    g_cancellable_cancel (request->cancellable);
}

static void
evict_pages (PbMessageList *self)
{
  while (self->lru.length > self->max_pages)
    evict_page (self, self->lru.tail->data);
}

static Page *
page_new (PbMessageList *self,
          guint          index,
          guint          length)
{
  Page *page = g_new0 (Page, 1);

  page->index = index;
  page->items = g_ptr_array_new_full (length, NULL);
  page->link.data = page;
  return page;
}

static void
insert_page (PbMessageList *self,
             Page          *page)
{
  g_hash_table_insert (self->pages, GUINT_TO_POINTER (page->index), page);
  g_queue_push_head_link (&self->lru, &page->link);
}

static Page *
ensure_page (PbMessageList *self,
             guint          index)
{
  Page *page = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (index));
  guint length;

  if (page != NULL)
    {
      touch_page (self, page);
      return page;
    }

  length = page_length (self, index, self->n_items);
  g_assert (length > 0);
  page = page_new (self, index, length);
  for (guint i = 0; i < length; i++)
    {
      PbMessageItem *item = adopt_item (self, index * self->page_size + i);

      g_ptr_array_add (page->items, item != NULL ? item : pb_message_item_new (self->folder_id));
    }
  page->loaded = items_loaded (page->items);
  page->stamp = ++self->clock;
  insert_page (self, page);
  evict_pages (self);
  if (!page->loaded)
    schedule_loads (self);
  return page;
}

/* The item for @position if one exists (cached or held elsewhere), without making a page. */
static PbMessageItem *
peek_item (PbMessageList *self,
           guint          position)
{
  Page *page = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (position / self->page_size));
  Detached *detached;

  if (page != NULL)
    return g_ptr_array_index (page->items, position % self->page_size);
  detached = g_hash_table_lookup (self->detached, GUINT_TO_POINTER (position));
  return detached != NULL ? detached->item : NULL;
}

/* Page loads */

static void
page_request_free (PageRequest *request)
{
  g_weak_ref_clear (&request->list);
  g_clear_object (&request->cancellable);
  g_free (request);
}

/* Fills the items of page @index from @rows, checking that they fit what is known already. */
static void
unref_nullable (gpointer object)
{
  if (object != NULL)
    g_object_unref (object);
}

static void
apply_page (PbMessageList *self,
            guint          index,
            GPtrArray     *rows)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (unref_nullable);
  guint start = index * self->page_size;
  guint length = page_length (self, index, self->n_items);
  gboolean consistent = rows->len == length;
  PbMessageItem *neighbour;
  Page *page;

  /* Collected first: notify handlers may call get_item(), which may drop this very page. */
  for (guint i = 0; i < MIN (rows->len, length); i++)
    {
      PbMessageItem *item = peek_item (self, start + i);
      PbMessageSummary *row = g_ptr_array_index (rows, i);

      if (item != NULL && pb_message_item_get_loaded (item)
          && pb_message_item_get_id (item) != row->id)
        {
          /* Our positions are out of date; the refresh below sorts it out. */
          consistent = FALSE;
          item = NULL;
        }
      g_ptr_array_add (items, item != NULL ? g_object_ref (item) : NULL);
    }

  if (rows->len > 0 && start > 0
      && (neighbour = peek_item (self, start - 1)) != NULL
      && pb_message_item_get_loaded (neighbour))
    {
      PbMessageSummary *first = g_ptr_array_index (rows, 0);

      if (!key_before (pb_message_item_get_date (neighbour), pb_message_item_get_id (neighbour),
                       first->date, first->id))
        consistent = FALSE;
    }
  if (rows->len >= length && length > 0 && start + length < self->n_items
      && (neighbour = peek_item (self, start + length)) != NULL
      && pb_message_item_get_loaded (neighbour))
    {
      PbMessageSummary *last = g_ptr_array_index (rows, length - 1);

      if (!key_before (last->date, last->id, pb_message_item_get_date (neighbour),
                       pb_message_item_get_id (neighbour)))
        consistent = FALSE;
    }

  page = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (index));
  if (page != NULL)
    page->loaded = TRUE;   /* even if not consistent: the refresh reloads it */

  for (guint i = 0; i < items->len; i++)
    if (g_ptr_array_index (items, i) != NULL)
      pb_message_item_update (g_ptr_array_index (items, i), g_ptr_array_index (rows, i));

  if (!consistent)
    {
      g_debug ("Page %u of folder %" G_GINT64_FORMAT " does not fit the list; refreshing",
               index, self->folder_id);
      pb_message_list_refresh (self);
    }
}

static void
page_loaded_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  PageRequest *request = user_data;
  g_autoptr(PbMessageList) self = g_weak_ref_get (&request->list);
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  Page *page;

  rows = pb_store_list_messages_finish (PB_STORE (source), result, &error);
  if (self == NULL || self->pages == NULL)
    goto out;
  if (g_hash_table_lookup (self->requests, GUINT_TO_POINTER (request->page)) == request)
    g_hash_table_remove (self->requests, GUINT_TO_POINTER (request->page));

  if (request->generation != self->generation
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* Dropped or out of date; the page may be wanted again meanwhile. */
      schedule_loads (self);
      goto out;
    }
  if (rows == NULL)
    {
      g_warning ("Could not read messages of folder %" G_GINT64_FORMAT ": %s",
                 self->folder_id, error->message);
      page = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (request->page));
      if (page != NULL)
        page->failed = TRUE;
      goto out;
    }
  apply_page (self, request->page, rows);

out:
  page_request_free (request);
}

static void
start_page_load (PbMessageList *self,
                 guint          index)
{
  PageRequest *request = g_new0 (PageRequest, 1);

  g_weak_ref_init (&request->list, self);
  request->page = index;
  request->generation = self->generation;
  request->cancellable = g_cancellable_new ();
  g_hash_table_insert (self->requests, GUINT_TO_POINTER (index), request);
  /* Always a whole page, also at the end: more rows than expected mean the folder grew. */
  pb_store_list_messages_async (self->store, store_folder (self), index * self->page_size,
                                self->page_size, request->cancellable, page_loaded_cb, request);
}

static gboolean
load_pages_cb (gpointer user_data)
{
  PbMessageList *self = user_data;
  GHashTableIter iter;
  gpointer key;

  g_clear_pointer (&self->load_source, g_source_unref);
  if (self->reload_cancellable != NULL)
    return G_SOURCE_REMOVE;

  for (GList *l = self->lru.head; l != NULL; l = l->next)
    {
      Page *page = l->data;

      if (!page->loaded && !page->failed
          && !g_hash_table_contains (self->requests, GUINT_TO_POINTER (page->index)))
        start_page_load (self, page->index);
    }
  g_hash_table_iter_init (&iter, self->orphans);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (self->requests, key))
      start_page_load (self, GPOINTER_TO_UINT (key));
  g_hash_table_remove_all (self->orphans);
  return G_SOURCE_REMOVE;
}

static void
schedule_loads (PbMessageList *self)
{
  /* A refresh in flight will change the positions; it schedules the loads when it is done. */
  if (self->load_source != NULL || self->reload_cancellable != NULL)
    return;
  self->load_source = g_idle_source_new ();
  g_source_set_priority (self->load_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->load_source, load_pages_cb, self, NULL);
  g_source_set_static_name (self->load_source, "[postbote] message list page loads");
  g_source_attach (self->load_source, g_main_context_get_thread_default ());
}

/* Refresh: capturing the windows */

typedef struct {
  guint          position;
  PbMessageItem *item;     /* no reference */
  guint64        stamp;    /* of its page, 0 if detached */
} Known;

static gint
known_compare (gconstpointer a,
               gconstpointer b)
{
  guint pa = ((const Known *) a)->position;
  guint pb = ((const Known *) b)->position;

  return pa < pb ? -1 : pa > pb;
}

/* Every item that exists now, with its position, in order of position. */
static GArray *
collect_known (PbMessageList *self)
{
  GArray *known = g_array_new (FALSE, FALSE, sizeof (Known));
  GHashTableIter iter;
  gpointer value;

  for (GList *l = self->lru.head; l != NULL; l = l->next)
    {
      Page *page = l->data;

      for (guint i = 0; i < page->items->len; i++)
        {
          Known k = { page->index * self->page_size + i, g_ptr_array_index (page->items, i),
                      page->stamp };
          g_array_append_val (known, k);
        }
    }
  g_hash_table_iter_init (&iter, self->detached);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Detached *detached = value;
      Known k = { detached->position, detached->item, 0 };

      g_array_append_val (known, k);
    }
  g_array_sort (known, known_compare);
  return known;
}

static void
window_free (Window *window)
{
  g_ptr_array_unref (window->items);
  g_free (window);
}

/* Runs of loaded items at consecutive positions, in the store's order throughout. A loaded item
 * out of order (left by loads from different snapshots) is left out, which makes the refresh
 * replace it. */
static GPtrArray *
capture_windows (PbMessageList *self)
{
  g_autoptr(GArray) known = collect_known (self);
  GPtrArray *windows = g_ptr_array_new_with_free_func ((GDestroyNotify) window_free);
  PbMessageItem *last = NULL;
  Window *window = NULL;
  guint last_position = 0;

  for (guint i = 0; i < known->len; i++)
    {
      Known *k = &g_array_index (known, Known, i);

      if (!pb_message_item_get_loaded (k->item)
          || (last != NULL && !item_before (last, k->item)))
        {
          window = NULL;
          continue;
        }
      if (window == NULL || k->position != last_position + 1)
        {
          window = g_new0 (Window, 1);
          window->old_start = k->position;
          window->items = g_ptr_array_new_with_free_func (g_object_unref);
          g_ptr_array_add (windows, window);
        }
      g_ptr_array_add (window->items, g_object_ref (k->item));
      last = k->item;
      last_position = k->position;
    }
  return windows;
}

static void
reload_request_free (ReloadRequest *request)
{
  g_weak_ref_clear (&request->list);
  g_clear_object (&request->cancellable);
  g_free (request);
}

/* Refresh: applying the answer */

/* What the list will hold at one position after the refresh. */
typedef struct {
  PbMessageItem    *item;      /* owned; NULL: a new placeholder */
  PbMessageSummary *summary;   /* borrowed from the ranges: fills the item afterwards */
  guint64           stamp;
} Slot;

static void
slot_free (gpointer data)
{
  Slot *slot = data;

  g_clear_object (&slot->item);
  g_free (slot);
}

typedef struct {
  guint old_start;
  guint old_length;
  guint new_start;
  guint new_length;
  guint keep;        /* how many positions at the start keep their items */
} Gap;

static void
add_edit (GArray *edits,
          guint   old_pos,
          guint   removed,
          guint   added)
{
  Edit *last = edits->len > 0 ? &g_array_index (edits, Edit, edits->len - 1) : NULL;

  if (removed == 0 && added == 0)
    return;
  if (last != NULL && last->old_pos + last->removed == old_pos)
    {
      last->removed += removed;
      last->added += added;
      return;
    }
  {
    Edit edit = { old_pos, removed, added, 0 };
    g_array_append_val (edits, edit);
  }
}

/* Merges one window with what the store now has between its first and last message. */
static void
merge_window (PbMessageList *self,
              Window        *window,
              PbStoreRange  *range,
              GHashTable    *stamps,
              GHashTable    *layout,
              GArray        *edits)
{
  GPtrArray *old = window->items;
  guint64 stamp = 0;
  guint i = 0, j = 0;
  guint edit_start = 0, removed = 0, added = 0;

  for (guint k = 0; k < old->len; k++)
    stamp = MAX (stamp, GPOINTER_TO_SIZE (g_hash_table_lookup (stamps, old->pdata[k])));

  while (i < old->len || j < range->keys->len)
    {
      PbStoreOrderKey *key = j < range->keys->len
                             ? &g_array_index (range->keys, PbStoreOrderKey, j) : NULL;
      PbMessageItem *item = i < old->len ? g_ptr_array_index (old, i) : NULL;
      Slot *slot;

      if (item != NULL && key != NULL && pb_message_item_get_id (item) == key->id)
        {
          /* The same message: the same object, wherever it is now. */
          add_edit (edits, window->old_start + edit_start, removed, added);
          removed = added = 0;
          slot = g_new0 (Slot, 1);
          slot->item = g_object_ref (item);
          slot->summary = j < range->rows->len ? g_ptr_array_index (range->rows, j) : NULL;
          slot->stamp = stamp;
          g_hash_table_insert (layout, GUINT_TO_POINTER (range->position + j), slot);
          i++, j++;
          continue;
        }
      if (removed == 0 && added == 0)
        edit_start = i;
      if (key != NULL
          && (item == NULL || key_before (key->date, key->id, pb_message_item_get_date (item),
                                          pb_message_item_get_id (item))))
        {
          /* A message that came: a new item, filled if its row was read. */
          if (j < range->rows->len)
            {
              slot = g_new0 (Slot, 1);
              slot->item = pb_message_item_new (self->folder_id);
              slot->summary = g_ptr_array_index (range->rows, j);
              slot->stamp = stamp;
              g_hash_table_insert (layout, GUINT_TO_POINTER (range->position + j), slot);
            }
          added++;
          j++;
        }
      else
        {
          removed++;
          i++;
        }
    }
  add_edit (edits, window->old_start + edit_start, removed, added);
}

/* The position during the emission of edit emit_index -> the position afterwards. Returns
 * FALSE for a position whose item is about to be removed by a later edit, and its old
 * position in @final. */
static gboolean
emit_map_position (PbMessageList *self,
                   guint          position,
                   guint         *final)
{
  Edit *edit = &self->emit_edits[self->emit_index];
  guint old;
  gint delta;

  /* Everything up to the end of this edit is final already. */
  if ((gint64) position < (gint64) edit->old_pos + edit->delta_before + edit->added)
    {
      *final = position;
      return TRUE;
    }
  /* Behind it, positions are still the old ones, shifted by the edits done so far. */
  delta = edit->delta_before + (gint) edit->added - (gint) edit->removed;
  old = (guint) ((gint64) position - delta);
  for (guint k = self->emit_index + 1; k < self->emit_n_edits; k++)
    {
      Edit *later = &self->emit_edits[k];

      if (later->old_pos > old)
        break;
      if (old < later->old_pos + later->removed)
        {
          *final = old;
          return FALSE;
        }
      delta = later->delta_before + (gint) later->added - (gint) later->removed;
    }
  *final = (guint) ((gint64) old + delta);
  return TRUE;
}

static void
emit_edits (PbMessageList *self,
            GArray        *edits,
            guint          old_n_items,
            GHashTable    *old_items)
{
  gint delta = 0;

  for (guint k = 0; k < edits->len; k++)
    {
      Edit *edit = &g_array_index (edits, Edit, k);

      edit->delta_before = delta;
      delta += (gint) edit->added - (gint) edit->removed;
    }

  self->emit_edits = (Edit *) edits->data;
  self->emit_n_edits = edits->len;
  self->emit_old_n_items = old_n_items;
  self->emit_old_items = old_items;
  for (guint k = 0; k < edits->len; k++)
    {
      Edit *edit = &g_array_index (edits, Edit, k);

      self->emit_index = k;
      g_list_model_items_changed (G_LIST_MODEL (self),
                                  (guint) ((gint) edit->old_pos + edit->delta_before),
                                  edit->removed, edit->added);
    }
  self->emit_edits = NULL;
  self->emit_n_edits = 0;
  self->emit_old_items = NULL;
}

static gint
page_stamp_compare (gconstpointer a,
                    gconstpointer b)
{
  guint64 sa = (*(Page * const *) a)->stamp;
  guint64 sb = (*(Page * const *) b)->stamp;

  return sa > sb ? -1 : sa < sb;
}

static void
set_loading (PbMessageList *self,
             gboolean       loading)
{
  if (self->loading == loading)
    return;
  self->loading = loading;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

/* Moves the list to @new_n_items messages, of which @ranges (parallel to reload_windows, or
 * NULL with no windows) tell where the known ones went. */
static void
apply_reload (PbMessageList *self,
              guint          new_n_items,
              GArray        *ranges)
{
  g_autoptr(GPtrArray) windows = g_steal_pointer (&self->reload_windows);
  g_autoptr(GHashTable) layout = g_hash_table_new_full (NULL, NULL, NULL, slot_free);
  g_autoptr(GHashTable) stamps = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) in_window = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) old_items = g_hash_table_new (NULL, NULL);
  g_autoptr(GArray) edits = g_array_new (FALSE, FALSE, sizeof (Edit));
  g_autoptr(GArray) gaps = g_array_new (FALSE, FALSE, sizeof (Gap));
  g_autoptr(GArray) known = collect_known (self);
  g_autoptr(GPtrArray) keep_alive = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) new_pages = g_ptr_array_new ();
  g_autoptr(GPtrArray) fills = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) fill_rows = g_ptr_array_new ();
  guint old_n_items = self->n_items;
  guint old_end = 0, new_end = 0;
  gboolean consistent = TRUE;
  GHashTableIter iter;
  gpointer key, value;

  if (windows == NULL)
    windows = g_ptr_array_new_with_free_func ((GDestroyNotify) window_free);
  g_assert (ranges == NULL ? windows->len == 0 : ranges->len == windows->len);

  /* Every item that exists now stays alive until the signals are out. */
  for (guint i = 0; i < known->len; i++)
    {
      Known *k = &g_array_index (known, Known, i);

      g_ptr_array_add (keep_alive, g_object_ref (k->item));
      g_hash_table_insert (stamps, k->item, GSIZE_TO_POINTER ((gsize) k->stamp));
      g_hash_table_insert (old_items, GUINT_TO_POINTER (k->position), k->item);
    }

  /* The gaps between the windows, and the edits inside the windows. The ranges come from one
   * snapshot and the windows are in order, so the new positions are in order too. */
  for (guint w = 0; w <= windows->len; w++)
    {
      Window *window = w < windows->len ? g_ptr_array_index (windows, w) : NULL;
      PbStoreRange *range = window ? &g_array_index (ranges, PbStoreRange, w) : NULL;
      guint old_start = window ? window->old_start : old_n_items;
      guint new_start = window ? range->position : new_n_items;
      Gap gap = { old_end, old_start - old_end, new_end, 0, 0 };

      if (new_start < new_end)
        {
          consistent = FALSE;
          break;
        }
      gap.new_length = new_start - new_end;
      gap.keep = MIN (gap.old_length, gap.new_length);
      g_array_append_val (gaps, gap);
      if (window == NULL)
        break;
      for (guint i = 0; i < window->items->len; i++)
        g_hash_table_add (in_window, g_ptr_array_index (window->items, i));
      old_end = old_start + window->items->len;
      new_end = new_start + range->keys->len;
    }
  if (consistent && new_end > new_n_items)
    consistent = FALSE;

  if (consistent)
    {
      /* A loaded item in a gap is one that was out of order; its gap is replaced from there.
       * Placeholders keep their offset in the gap, if it still has room for them. */
      for (guint i = 0, g = 0; i < known->len; i++)
        {
          Known *k = &g_array_index (known, Known, i);
          Gap *gap;

          if (g_hash_table_contains (in_window, k->item))
            continue;
          while (g + 1 < gaps->len
                 && k->position >= g_array_index (gaps, Gap, g).old_start
                                   + g_array_index (gaps, Gap, g).old_length)
            g++;
          gap = &g_array_index (gaps, Gap, g);
          if (k->position < gap->old_start || k->position >= gap->old_start + gap->old_length)
            continue;   /* cannot happen: window positions hold window items */
          if (pb_message_item_get_loaded (k->item))
            gap->keep = MIN (gap->keep, k->position - gap->old_start);
        }

      for (guint w = 0; w < gaps->len; w++)
        {
          Gap *gap = &g_array_index (gaps, Gap, w);

          add_edit (edits, gap->old_start + gap->keep, gap->old_length - gap->keep,
                    gap->new_length - gap->keep);
          if (w < windows->len)
            merge_window (self, g_ptr_array_index (windows, w),
                          &g_array_index (ranges, PbStoreRange, w), stamps, layout, edits);
        }

      for (guint i = 0, g = 0; i < known->len; i++)
        {
          Known *k = &g_array_index (known, Known, i);
          Gap *gap;
          Slot *slot;

          if (g_hash_table_contains (in_window, k->item))
            continue;
          while (g + 1 < gaps->len
                 && k->position >= g_array_index (gaps, Gap, g).old_start
                                   + g_array_index (gaps, Gap, g).old_length)
            g++;
          gap = &g_array_index (gaps, Gap, g);
          if (k->position < gap->old_start || k->position - gap->old_start >= gap->keep)
            continue;
          slot = g_new0 (Slot, 1);
          slot->item = g_object_ref (k->item);
          slot->stamp = k->stamp;
          g_hash_table_insert (layout,
                               GUINT_TO_POINTER (gap->new_start + k->position - gap->old_start),
                               slot);
        }
    }
  else
    {
      /* Cannot happen with windows in order; if it does, start over rather than guess. */
      g_warning ("The message list of folder %" G_GINT64_FORMAT " lost its order; reloading",
                 self->folder_id);
      add_edit (edits, 0, old_n_items, new_n_items);
    }

  /* Out with the old pages; the items live on in keep_alive and in the layout. */
  while (self->lru.head != NULL)
    {
      Page *page = self->lru.head->data;

      g_queue_unlink (&self->lru, &page->link);
      page_free (self, page, FALSE);
    }
  g_hash_table_remove_all (self->pages);
  forget_detached (self);
  g_hash_table_remove_all (self->orphans);

  /* In with the new ones: every position in the layout, placeholders in the holes. */
  self->n_items = new_n_items;
  g_hash_table_iter_init (&iter, layout);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      guint position = GPOINTER_TO_UINT (key);
      guint index = position / self->page_size;
      Page *page = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (index));

      if (page == NULL)
        {
          guint length = page_length (self, index, new_n_items);

          page = page_new (self, index, length);
          g_ptr_array_set_size (page->items, length);
          page->loaded = TRUE;
          g_hash_table_insert (self->pages, GUINT_TO_POINTER (index), page);
          g_ptr_array_add (new_pages, page);
        }
    }
  g_hash_table_iter_init (&iter, layout);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      guint position = GPOINTER_TO_UINT (key);
      Slot *slot = value;
      Page *page = g_hash_table_lookup (self->pages,
                                        GUINT_TO_POINTER (position / self->page_size));

      page->items->pdata[position % self->page_size] = g_steal_pointer (&slot->item);
      page->stamp = MAX (page->stamp, slot->stamp);
      if (slot->summary != NULL)
        {
          g_ptr_array_add (fills, g_object_ref (page->items->pdata[position % self->page_size]));
          g_ptr_array_add (fill_rows, slot->summary);
        }
      else
        page->loaded = FALSE;
    }
  for (guint p = 0; p < new_pages->len; p++)
    {
      Page *page = g_ptr_array_index (new_pages, p);

      for (guint i = 0; i < page->items->len; i++)
        if (page->items->pdata[i] == NULL)
          {
            page->items->pdata[i] = pb_message_item_new (self->folder_id);
            page->loaded = FALSE;
          }
    }
  g_ptr_array_sort (new_pages, page_stamp_compare);
  for (guint p = 0; p < new_pages->len; p++)
    {
      Page *page = g_ptr_array_index (new_pages, p);

      page->link.data = page;
      g_queue_push_tail_link (&self->lru, &page->link);
    }

  /* The refresh counts as in flight until the end: a handler that asks for another one gets
   * it after this one, not in the middle of it. */
  self->generation++;
  emit_edits (self, edits, old_n_items, old_items);

  /* Contents after the structure, so that notify handlers see the final list. */
  for (guint i = 0; i < fills->len; i++)
    pb_message_item_update (g_ptr_array_index (fills, i), g_ptr_array_index (fill_rows, i));
  g_clear_object (&self->reload_cancellable);

  /* Only now, when nothing but the views holds the items any more, can eviction tell which
   * placeholders are still wanted. */
  g_clear_pointer (&fills, g_ptr_array_unref);
  g_clear_pointer (&keep_alive, g_ptr_array_unref);
  evict_pages (self);

  g_debug ("Refreshed folder %" G_GINT64_FORMAT ": %u -> %u messages, %u windows, %u changes",
           self->folder_id, old_n_items, new_n_items, windows->len, edits->len);
  if (old_n_items != new_n_items)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);

  if (self->reload_again)
    {
      self->reload_again = FALSE;
      start_reload (self);
      return;
    }
  set_loading (self, FALSE);
  schedule_loads (self);
}

static void
reload_failed (PbMessageList *self,
               GError        *error)
{
  g_warning ("Could not read folder %" G_GINT64_FORMAT " of the mail store: %s",
             self->folder_id, error->message);
  g_clear_pointer (&self->reload_windows, g_ptr_array_unref);
  g_clear_object (&self->reload_cancellable);
  /* The old positions are still the best we know; the loads that were dropped are made again. */
  self->generation++;
  self->reload_again = FALSE;
  set_loading (self, FALSE);
  schedule_loads (self);
}

static void
count_loaded_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ReloadRequest *request = user_data;
  g_autoptr(PbMessageList) self = g_weak_ref_get (&request->list);
  g_autoptr(GError) error = NULL;
  guint total = 0;
  gboolean ok;

  ok = pb_store_count_messages_finish (PB_STORE (source), result, &total, NULL, &error);
  if (self != NULL && self->reload_cancellable == request->cancellable
      && !g_cancellable_is_cancelled (request->cancellable))
    {
      if (ok)
        apply_reload (self, total, NULL);
      else
        reload_failed (self, error);
    }
  reload_request_free (request);
}

static void
ranges_loaded_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  ReloadRequest *request = user_data;
  g_autoptr(PbMessageList) self = g_weak_ref_get (&request->list);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ranges = NULL;
  guint total = 0;

  ranges = pb_store_read_ranges_finish (PB_STORE (source), result, &total, &error);
  if (self != NULL && self->reload_cancellable == request->cancellable
      && !g_cancellable_is_cancelled (request->cancellable))
    {
      if (ranges != NULL)
        apply_reload (self, total, ranges);
      else
        reload_failed (self, error);
    }
  reload_request_free (request);
}

static void
start_reload (PbMessageList *self)
{
  ReloadRequest *request;
  GHashTableIter iter;
  gpointer value;

  g_assert (self->reload_cancellable == NULL);
  set_loading (self, TRUE);

  /* Loads of the old positions would only be dropped; those that are wanted are made again
   * after the refresh. */
  self->generation++;
  g_hash_table_iter_init (&iter, self->requests);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_cancellable_cancel (((PageRequest *) value)->cancellable);
  g_hash_table_remove_all (self->requests);
  if (self->load_source != NULL)
    {
      g_source_destroy (self->load_source);
      g_clear_pointer (&self->load_source, g_source_unref);
    }

  request = g_new0 (ReloadRequest, 1);
  g_weak_ref_init (&request->list, self);
  request->cancellable = g_cancellable_new ();
  self->reload_cancellable = g_object_ref (request->cancellable);
  self->reload_windows = capture_windows (self);

  if (self->reload_windows->len == 0)
    {
      pb_store_count_messages_async (self->store, store_folder (self), request->cancellable,
                                     count_loaded_cb, request);
    }
  else
    {
      GArray *ranges = g_array_sized_new (FALSE, TRUE, sizeof (PbStoreRange),
                                          self->reload_windows->len);

      g_array_set_clear_func (ranges, (GDestroyNotify) pb_store_range_clear);
      for (guint w = 0; w < self->reload_windows->len; w++)
        {
          Window *window = g_ptr_array_index (self->reload_windows, w);
          PbMessageItem *first = g_ptr_array_index (window->items, 0);
          PbMessageItem *last = g_ptr_array_index (window->items, window->items->len - 1);
          PbStoreRange range = {
            .first = { pb_message_item_get_date (first), pb_message_item_get_id (first) },
            .last = { pb_message_item_get_date (last), pb_message_item_get_id (last) },
            /* Rows for what the window held and a page of newcomers; more are loaded by
             * page when they are looked at. */
            .max_rows = window->items->len + self->page_size,
          };

          g_array_append_val (ranges, range);
        }
      pb_store_read_ranges_async (self->store, store_folder (self), ranges, request->cancellable,
                                  ranges_loaded_cb, request);
    }
}

/* GListModel */

static GType
pb_message_list_get_item_type (GListModel *model)
{
  return PB_TYPE_MESSAGE_ITEM;
}

static guint
pb_message_list_get_n_items (GListModel *model)
{
  PbMessageList *self = PB_MESSAGE_LIST (model);

  if (self->emit_edits != NULL)
    {
      Edit *edit = &self->emit_edits[self->emit_index];

      return (guint) ((gint) self->emit_old_n_items + edit->delta_before + (gint) edit->added
                      - (gint) edit->removed);
    }
  return self->n_items;
}

static gpointer
pb_message_list_get_item (GListModel *model,
                          guint       position)
{
  PbMessageList *self = PB_MESSAGE_LIST (model);
  Page *page;

  if (self->emit_edits != NULL)
    {
      if (position >= pb_message_list_get_n_items (model))
        return NULL;
      /* A row on its way out: the item it had, or a stand-in if nobody had asked for it. */
      if (!emit_map_position (self, position, &position))
        {
          PbMessageItem *old = g_hash_table_lookup (self->emit_old_items,
                                                    GUINT_TO_POINTER (position));

          return old != NULL ? g_object_ref (old) : pb_message_item_new (self->folder_id);
        }
    }
  if (position >= self->n_items)
    return NULL;

  page = ensure_page (self, position / self->page_size);
  return g_object_ref (g_ptr_array_index (page->items, position % self->page_size));
}

static void
pb_message_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = pb_message_list_get_item_type;
  iface->get_n_items = pb_message_list_get_n_items;
  iface->get_item = pb_message_list_get_item;
}

/* GObject */

static void
pb_message_list_constructed (GObject *object)
{
  PbMessageList *self = PB_MESSAGE_LIST (object);

  G_OBJECT_CLASS (pb_message_list_parent_class)->constructed (object);

  g_return_if_fail (PB_IS_STORE (self->store));
  start_reload (self);
}

static void
pb_message_list_dispose (GObject *object)
{
  PbMessageList *self = PB_MESSAGE_LIST (object);

  if (self->pages != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      if (self->reload_cancellable != NULL)
        g_cancellable_cancel (self->reload_cancellable);
      g_clear_object (&self->reload_cancellable);
      g_clear_pointer (&self->reload_windows, g_ptr_array_unref);
      g_hash_table_iter_init (&iter, self->requests);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        g_cancellable_cancel (((PageRequest *) value)->cancellable);
      g_clear_pointer (&self->requests, g_hash_table_unref);
      if (self->load_source != NULL)
        {
          g_source_destroy (self->load_source);
          g_clear_pointer (&self->load_source, g_source_unref);
        }
      while (self->lru.head != NULL)
        {
          Page *page = self->lru.head->data;

          g_queue_unlink (&self->lru, &page->link);
          page_free (self, page, FALSE);
        }
      g_clear_pointer (&self->pages, g_hash_table_unref);
      g_clear_pointer (&self->orphans, g_hash_table_unref);
      forget_detached (self);
      g_clear_pointer (&self->detached, g_hash_table_unref);
    }
  g_clear_object (&self->store);

  G_OBJECT_CLASS (pb_message_list_parent_class)->dispose (object);
}

static void
pb_message_list_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  PbMessageList *self = PB_MESSAGE_LIST (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_FOLDER_ID:
      g_value_set_int64 (value, self->folder_id);
      break;
    case PROP_PAGE_SIZE:
      g_value_set_uint (value, self->page_size);
      break;
    case PROP_MAX_PAGES:
      g_value_set_uint (value, self->max_pages);
      break;
    case PROP_THREADS:
      g_value_set_boolean (value, self->threads);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, self->loading);
      break;
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->n_items);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_message_list_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  PbMessageList *self = PB_MESSAGE_LIST (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_FOLDER_ID:
      self->folder_id = g_value_get_int64 (value);
      break;
    case PROP_PAGE_SIZE:
      self->page_size = g_value_get_uint (value);
      break;
    case PROP_MAX_PAGES:
      self->max_pages = g_value_get_uint (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_message_list_class_init (PbMessageListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags construct = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                | G_PARAM_STATIC_STRINGS;
  const GParamFlags read_only = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                | G_PARAM_EXPLICIT_NOTIFY;

  object_class->constructed = pb_message_list_constructed;
  object_class->dispose = pb_message_list_dispose;
  object_class->get_property = pb_message_list_get_property;
  object_class->set_property = pb_message_list_set_property;

  /**
   * PbMessageList:store:
   *
   * The store the messages are read from.
   */
  properties[PROP_STORE] = g_param_spec_object ("store", NULL, NULL, PB_TYPE_STORE, construct);
  /**
   * PbMessageList:folder-id:
   *
   * The store's id of the folder whose messages the list shows.
   */
  properties[PROP_FOLDER_ID] =
    g_param_spec_int64 ("folder-id", NULL, NULL, PB_STORE_FOLDER_INBOXES, G_MAXINT64, 0,
                        construct);
  /**
   * PbMessageList:page-size:
   *
   * How many messages are read from the store at a time.
   */
  properties[PROP_PAGE_SIZE] =
    g_param_spec_uint ("page-size", NULL, NULL, 1, 10000, DEFAULT_PAGE_SIZE, construct);
  /**
   * PbMessageList:max-pages:
   *
   * How many pages are kept in memory at most (the least recently used one goes first). Items
   * that somebody else still holds live on beside them.
   */
  properties[PROP_MAX_PAGES] =
    g_param_spec_uint ("max-pages", NULL, NULL, 1, G_MAXUINT, DEFAULT_MAX_PAGES, construct);
  /**
   * PbMessageList:threads:
   *
   * Whether the list shows conversations: one row per thread (messages joined by In-Reply-To
   * and References), the newest message of the thread in the folder, in the same order as
   * the messages; #PbMessageItem:thread-count gives the thread's size in all folders of the
   * account.
   */
  properties[PROP_THREADS] = g_param_spec_boolean ("threads", NULL, NULL, FALSE, construct);
  /**
   * PbMessageList:loading:
   *
   * Whether the list is reading the folder's number of messages (at first, and during a
   * refresh). Items of pages that are read later are placeholders meanwhile.
   */
  properties[PROP_LOADING] = g_param_spec_boolean ("loading", NULL, NULL, FALSE, read_only);
  /**
   * PbMessageList:n-items:
   *
   * The number of messages, as [method@Gio.ListModel.get_n_items] gives it.
   */
  properties[PROP_N_ITEMS] = g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                                                read_only);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pb_message_list_init (PbMessageList *self)
{
  self->page_size = DEFAULT_PAGE_SIZE;
  self->max_pages = DEFAULT_MAX_PAGES;
  self->pages = g_hash_table_new (NULL, NULL);
  self->detached = g_hash_table_new (NULL, NULL);
  self->requests = g_hash_table_new (NULL, NULL);
  self->orphans = g_hash_table_new (NULL, NULL);
  g_queue_init (&self->lru);
}

/**
 * pb_message_list_new:
 * @store: the store
 * @folder_id: the store's id of the folder
 *
 * Creates the list and starts counting the folder's messages in the background; the list is
 * empty until the count arrives, and then emits #GListModel::items-changed. Reads nothing on
 * the calling thread.
 *
 * Returns: (transfer full): the list
 */
PbMessageList *
pb_message_list_new (PbStore *store,
                     gint64   folder_id)
{
  g_return_val_if_fail (PB_IS_STORE (store), NULL);

  return g_object_new (PB_TYPE_MESSAGE_LIST, "store", store, "folder-id", folder_id, NULL);
}

/**
 * pb_message_list_get_store:
 *
 * Returns: (transfer none): the store
 */
PbStore *
pb_message_list_get_store (PbMessageList *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_LIST (self), NULL);
  return self->store;
}

/**
 * pb_message_list_get_folder_id:
 *
 * Returns: the folder's id in the store
 */
gint64
pb_message_list_get_folder_id (PbMessageList *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_LIST (self), 0);
  return self->folder_id;
}

/**
 * pb_message_list_get_loading:
 *
 * Returns: whether the count (at first, or of a refresh) is being read
 */
gboolean
pb_message_list_get_loading (PbMessageList *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_LIST (self), FALSE);
  return self->loading;
}

/**
 * pb_message_list_refresh:
 *
 * Reads the folder again in the background, after the store changed: the count, and the
 * messages the list holds. When the answer is in, the list emits one
 * #GListModel::items-changed per run of rows that came or went, and the items that stayed
 * (the same objects as before, also where they moved) notify what changed about them (flags,
 * say). Calls while a refresh is in flight make one more refresh after it.
 */
void
pb_message_list_refresh (PbMessageList *self)
{
  g_return_if_fail (PB_IS_MESSAGE_LIST (self));

  if (self->pages == NULL)
    return;
  if (self->reload_cancellable != NULL)
    {
      self->reload_again = TRUE;
      return;
    }
  start_reload (self);
}

/* For tests */

guint
pb_message_list_get_n_cached_pages (PbMessageList *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_LIST (self), 0);
  return self->lru.length;
}

guint
pb_message_list_get_n_requests (PbMessageList *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_LIST (self), 0);
  return self->requests != NULL ? g_hash_table_size (self->requests) : 0;
}

/**
 * pb_message_list_new_threads:
 * @store: the store
 * @folder_id: the store's id of the folder
 *
 * Like pb_message_list_new(), but the list shows conversations (see #PbMessageList:threads).
 *
 * Returns: (transfer full): the list
 */
PbMessageList *
pb_message_list_new_threads (PbStore *store,
                             gint64   folder_id)
{
  g_return_val_if_fail (PB_IS_STORE (store), NULL);

  return g_object_new (PB_TYPE_MESSAGE_LIST, "store", store, "folder-id", folder_id,
                       "threads", TRUE, NULL);
}

/**
 * pb_message_list_get_threads:
 *
 * Returns: whether the list shows conversations
 */
gboolean
pb_message_list_get_threads (PbMessageList *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_LIST (self), FALSE);
  return self->threads;
}
