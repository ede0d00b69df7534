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
 * get_item() answers for the state in between (see pb_message_list_emit_map_position()).
 *
 * The refresh lives in pb-message-list-refresh.c; the two share pb-message-list-private.h.
 *
 * Threads. All of this runs on the thread that created the list; only the store calls run in
 * GTask threads, and their callbacks find the list through a weak reference, so a list that is
 * dropped while a load is in flight is finalized at once.
 */

#define DEFAULT_PAGE_SIZE 100
#define DEFAULT_MAX_PAGES 50

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

/* The folder as the store is asked about it: a list of conversations marks the id (see
 * PB_STORE_THREADS_BIT in pb-store-private.h). */
gint64
pb_message_list_store_folder (PbMessageList *self)
{
  return self->threads ? pb_store_threads_folder (self->folder_id) : self->folder_id;
}

/* Order */

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

void
pb_message_list_forget_detached (PbMessageList *self)
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

guint
pb_message_list_page_length (PbMessageList *self,
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
void
pb_message_list_page_free (PbMessageList *self,
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
  pb_message_list_page_free (self, page, TRUE);

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
      pb_message_list_schedule_loads (self);
    }
  else if (!placeholders_held && request != NULL)
    g_cancellable_cancel (request->cancellable);
}

void
pb_message_list_evict_pages (PbMessageList *self)
{
  while (self->lru.length > self->max_pages)
    evict_page (self, self->lru.tail->data);
}

Page *
pb_message_list_page_new (PbMessageList *self,
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

Page *
pb_message_list_ensure_page (PbMessageList *self,
             guint          index)
{
  Page *page = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (index));
  guint length;

  if (page != NULL)
    {
      touch_page (self, page);
      return page;
    }

  length = pb_message_list_page_length (self, index, self->n_items);
  g_assert (length > 0);
  page = pb_message_list_page_new (self, index, length);
  for (guint i = 0; i < length; i++)
    {
      PbMessageItem *item = adopt_item (self, index * self->page_size + i);

      g_ptr_array_add (page->items, item != NULL ? item : pb_message_item_new (self->folder_id));
    }
  page->loaded = items_loaded (page->items);
  page->stamp = ++self->clock;
  insert_page (self, page);
  pb_message_list_evict_pages (self);
  if (!page->loaded)
    pb_message_list_schedule_loads (self);
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
  guint length = pb_message_list_page_length (self, index, self->n_items);
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
      pb_message_list_schedule_loads (self);
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
  pb_store_list_messages_async (self->store, pb_message_list_store_folder (self), index * self->page_size,
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

void
pb_message_list_schedule_loads (PbMessageList *self)
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
      if (!pb_message_list_emit_map_position (self, position, &position))
        {
          PbMessageItem *old = g_hash_table_lookup (self->emit_old_items,
                                                    GUINT_TO_POINTER (position));

          return old != NULL ? g_object_ref (old) : pb_message_item_new (self->folder_id);
        }
    }
  if (position >= self->n_items)
    return NULL;

  page = pb_message_list_ensure_page (self, position / self->page_size);
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
  pb_message_list_start_reload (self);
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
          pb_message_list_page_free (self, page, FALSE);
        }
      g_clear_pointer (&self->pages, g_hash_table_unref);
      g_clear_pointer (&self->orphans, g_hash_table_unref);
      pb_message_list_forget_detached (self);
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
  pb_message_list_start_reload (self);
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
