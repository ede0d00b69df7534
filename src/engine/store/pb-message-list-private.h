/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-message-list.h"

#include "pb-message-item.h"

G_BEGIN_DECLS

/* For tests: what the list holds in memory and asks of the store right now. */
guint pb_message_list_get_n_cached_pages (PbMessageList *self);
guint pb_message_list_get_n_requests     (PbMessageList *self);

/*
 * Shared by the two files of PbMessageList: pb-message-list.c (pages, GListModel) and
 * pb-message-list-refresh.c (the refresh after a store change).
 */

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

/* One items-changed, in the positions before the refresh. */
typedef struct {
  guint old_pos;
  guint removed;
  guint added;
  gint  delta_before;   /* sum of (added - removed) of the edits before this one */
} Edit;

typedef struct {
  GWeakRef      list;
  guint         page;
  guint         generation;
  GCancellable *cancellable;
} PageRequest;

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

void pb_message_list_evict_pages (PbMessageList *self);
void pb_message_list_forget_detached (PbMessageList *self);
void pb_message_list_page_free (PbMessageList *self, Page *page, gboolean detach);
guint pb_message_list_page_length (PbMessageList *self, guint index, guint n_items);
Page * pb_message_list_page_new (PbMessageList *self, guint index, guint length);
void pb_message_list_schedule_loads (PbMessageList *self);
gint64 pb_message_list_store_folder (PbMessageList *self);
Page * pb_message_list_ensure_page (PbMessageList *self, guint index);
void pb_message_list_emit_edits (PbMessageList *self, GArray *edits, guint old_n_items, GHashTable *old_items);
gboolean pb_message_list_emit_map_position (PbMessageList *self, guint position, guint *final);
void pb_message_list_start_reload (PbMessageList *self);

G_END_DECLS
