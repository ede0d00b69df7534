/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include "pb-message-item-private.h"
#include "pb-message-list-private.h"
#include "pb-store-private.h"

/*
 * PbMessageList, part 2: the refresh after the store changed (see "Refresh" in
 * pb-message-list.c's opening comment).
 */

typedef struct {
  GWeakRef      list;
  GCancellable *cancellable;
} ReloadRequest;

/* A run of known positions while a refresh is in flight. */
typedef struct {
  guint      old_start;
  GPtrArray *items;     /* PbMessageItem, owned */
} Window;

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
gboolean
pb_message_list_emit_map_position (PbMessageList *self,
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

void
pb_message_list_emit_edits (PbMessageList *self,
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
  g_object_notify (G_OBJECT (self), "loading");
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
      pb_message_list_page_free (self, page, FALSE);
    }
  g_hash_table_remove_all (self->pages);
  pb_message_list_forget_detached (self);
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
          guint length = pb_message_list_page_length (self, index, new_n_items);

          page = pb_message_list_page_new (self, index, length);
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
  pb_message_list_emit_edits (self, edits, old_n_items, old_items);

  /* Contents after the structure, so that notify handlers see the final list. */
  for (guint i = 0; i < fills->len; i++)
    pb_message_item_update (g_ptr_array_index (fills, i), g_ptr_array_index (fill_rows, i));
  g_clear_object (&self->reload_cancellable);

  /* Only now, when nothing but the views holds the items any more, can eviction tell which
   * placeholders are still wanted. */
  g_clear_pointer (&fills, g_ptr_array_unref);
  g_clear_pointer (&keep_alive, g_ptr_array_unref);
  pb_message_list_evict_pages (self);

  g_debug ("Refreshed folder %" G_GINT64_FORMAT ": %u -> %u messages, %u windows, %u changes",
           self->folder_id, old_n_items, new_n_items, windows->len, edits->len);
  if (old_n_items != new_n_items)
    g_object_notify (G_OBJECT (self), "n-items");

  if (self->reload_again)
    {
      self->reload_again = FALSE;
      pb_message_list_start_reload (self);
      return;
    }
  set_loading (self, FALSE);
  pb_message_list_schedule_loads (self);
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
  pb_message_list_schedule_loads (self);
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

void
pb_message_list_start_reload (PbMessageList *self)
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
      pb_store_count_messages_async (self->store, pb_message_list_store_folder (self), request->cancellable,
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
      pb_store_read_ranges_async (self->store, pb_message_list_store_folder (self), ranges, request->cancellable,
                                  ranges_loaded_cb, request);
    }
}
