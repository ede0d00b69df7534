/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <time.h>

#include "pb-engine.h"
#include "pb-message-item-private.h"
#include "pb-message-list-private.h"
#include "pb-store-private.h"

#define ACCOUNT "work"
#define DATE_BASE 1700000000

typedef struct {
  char    *dir;
  PbStore *store;
  gint64   folder;
} Fixture;

static void
rm_rf (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        rm_rf (child);
      else
        g_unlink (child);
    }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (path);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PbFolderInfo) info = pb_folder_info_new ("INBOX", PB_FOLDER_ROLE_INBOX, TRUE);

  fixture->dir = g_dir_make_tmp ("pb-message-list-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
  fixture->store = pb_store_open (fixture->dir, &error);
  g_assert_no_error (error);
  fixture->folder = pb_store_ensure_folder (fixture->store, ACCOUNT, info, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  /* Whatever a test left in flight (each holds the store) finishes before the store goes. */
  while (G_OBJECT (fixture->store)->ref_count > 1)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  g_assert_finalize_object (fixture->store);
  rm_rf (fixture->dir);
  g_free (fixture->dir);
}

static PbMessageSummary *
make_summary (guint32 uid,
              gint64  date)
{
  PbMessageSummary *summary = pb_message_summary_new ();

  summary->uid = uid;
  summary->date = date;
  summary->internaldate = date;
  summary->subject = g_strdup_printf ("Message %u", uid);
  summary->from_name = g_strdup ("Sender");
  summary->from_addr = g_strdup_printf ("sender%u@example.org", uid % 100);
  summary->preview = g_strdup_printf ("Preview of %u", uid);
  summary->has_attachment = uid % 7 == 0;
  return summary;
}

/* Messages first..last; a later UID is newer, so the list shows them from last down. */
static void
add_messages (Fixture *fixture,
              guint32  first,
              guint32  last)
{
  g_autoptr(GPtrArray) batch =
    g_ptr_array_new_with_free_func ((GDestroyNotify) pb_message_summary_free);
  g_autoptr(GError) error = NULL;

  for (guint32 uid = first; uid <= last; uid++)
    {
      g_ptr_array_add (batch, make_summary (uid, DATE_BASE + uid));
      if (batch->len == 10000 || uid == last)
        {
          g_assert_true (pb_store_add_messages (fixture->store, fixture->folder, batch, &error));
          g_assert_no_error (error);
          g_ptr_array_set_size (batch, 0);
        }
    }
}

static void
add_message_at (Fixture *fixture,
                guint32  uid,
                gint64   date)
{
  g_autoptr(GPtrArray) batch =
    g_ptr_array_new_with_free_func ((GDestroyNotify) pb_message_summary_free);
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (batch, make_summary (uid, date));
  g_assert_true (pb_store_add_messages (fixture->store, fixture->folder, batch, &error));
  g_assert_no_error (error);
}

static void
remove_uid (Fixture *fixture,
            guint32  uid)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (pb_store_remove_uids (fixture->store, fixture->folder, &uid, 1, &error));
  g_assert_no_error (error);
}

/* The folder's UIDs in list order, straight from the store. */
static GArray *
true_order (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = NULL;
  GArray *uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  GThread *guard = fixture->store->guard_thread;

  fixture->store->guard_thread = NULL;
  all = pb_store_list_messages (fixture->store, fixture->folder, 0, G_MAXUINT, &error);
  fixture->store->guard_thread = guard;
  g_assert_no_error (error);
  for (guint i = 0; i < all->len; i++)
    g_array_append_val (uids, ((PbMessageSummary *) g_ptr_array_index (all, i))->uid);
  return uids;
}

static PbMessageList *
new_list (Fixture *fixture,
          guint    page_size,
          guint    max_pages)
{
  return g_object_new (PB_TYPE_MESSAGE_LIST, "store", fixture->store, "folder-id",
                       fixture->folder, "page-size", page_size, "max-pages", max_pages, NULL);
}

/* Runs the main loop until the list has nothing in flight. */
static void
settle (PbMessageList *list)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (pb_message_list_get_loading (list) || pb_message_list_get_n_requests (list) > 0
         || g_main_context_pending (NULL))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static PbMessageItem *
get_item (PbMessageList *list,
          guint          position)
{
  return g_list_model_get_item (G_LIST_MODEL (list), position);
}

/* CPU time of the calling thread: what the UI thread would spend. */
static gint64
thread_cpu_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static gboolean
running_on_valgrind (void)
{
  const char *preload = g_getenv ("LD_PRELOAD");

  return preload != NULL && strstr (preload, "vgpreload") != NULL;
}

/* Records items-changed. */

typedef struct {
  guint position;
  guint removed;
  guint added;
} Change;

static void
record_change_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  GArray     *changes)
{
  Change change = { position, removed, added };

  g_array_append_val (changes, change);
}

/* A list view in miniature: it follows items-changed and keeps the items it was given, as a
 * view keeps the items of its rows. With eager set it asks for every added item during the
 * signal, as GtkSingleSelection may; otherwise added rows stay empty until show() asks. */
typedef struct {
  GListModel *model;
  GPtrArray  *rows;     /* PbMessageItem or NULL */
  gboolean    eager;
} Mirror;

static void
mirror_changed_cb (GListModel *model,
                   guint       position,
                   guint       removed,
                   guint       added,
                   Mirror     *mirror)
{
  g_assert_cmpuint (position + removed, <=, mirror->rows->len);
  g_ptr_array_remove_range (mirror->rows, position, removed);
  for (guint i = 0; i < added; i++)
    g_ptr_array_insert (mirror->rows, position + i,
                        mirror->eager ? g_list_model_get_item (model, position + i) : NULL);
  g_assert_cmpuint (mirror->rows->len, ==, g_list_model_get_n_items (model));

  /* Between two signals of one refresh, the rows the view holds outside the change are still
   * what the list has there. */
  for (guint i = 0; i < mirror->rows->len; i++)
    {
      g_autoptr(PbMessageItem) item = NULL;

      if (mirror->rows->pdata[i] == NULL || (i >= position && i < position + added))
        continue;
      item = g_list_model_get_item (model, i);
      if (item != mirror->rows->pdata[i])
        g_error ("items-changed (%u, %u, %u): row %u is another item in the list than in the "
                 "view", position, removed, added, i);
    }
}

static void
unref_nullable (gpointer object)
{
  if (object != NULL)
    g_object_unref (object);
}

static Mirror *
mirror_new (PbMessageList *list,
            gboolean       eager)
{
  Mirror *mirror = g_new0 (Mirror, 1);

  mirror->model = G_LIST_MODEL (list);
  mirror->rows = g_ptr_array_new_with_free_func (unref_nullable);
  mirror->eager = eager;
  g_signal_connect (list, "items-changed", G_CALLBACK (mirror_changed_cb), mirror);
  return mirror;
}

static void
mirror_free (Mirror *mirror)
{
  g_signal_handlers_disconnect_by_data (mirror->model, mirror);
  g_ptr_array_unref (mirror->rows);
  g_free (mirror);
}

static void
mirror_show (Mirror *mirror,
             guint   start,
             guint   length)
{
  for (guint i = start; i < MIN (start + length, mirror->rows->len); i++)
    if (mirror->rows->pdata[i] == NULL)
      mirror->rows->pdata[i] = g_list_model_get_item (mirror->model, i);
}

static void
mirror_hide (Mirror *mirror,
             guint   start,
             guint   length)
{
  for (guint i = start; i < MIN (start + length, mirror->rows->len); i++)
    g_clear_object (&mirror->rows->pdata[i]);
}

/* Every row the mirror holds is the list's item for that position and shows the message the
 * store has there. */
static void
mirror_check (Mirror  *mirror,
              Fixture *fixture)
{
  g_autoptr(GArray) order = true_order (fixture);

  g_assert_cmpuint (mirror->rows->len, ==, order->len);
  g_assert_cmpuint (g_list_model_get_n_items (mirror->model), ==, order->len);
  for (guint i = 0; i < mirror->rows->len; i++)
    {
      PbMessageItem *row = mirror->rows->pdata[i];
      g_autoptr(PbMessageItem) item = NULL;

      if (row == NULL)
        continue;
      item = g_list_model_get_item (mirror->model, i);
      if (item != row)
        g_error ("row %u: the list has another item than the view", i);
      if (!pb_message_item_get_loaded (row))
        g_error ("row %u: still a placeholder", i);
      if (pb_message_item_get_uid (row) != g_array_index (order, guint32, i))
        g_error ("row %u: shows UID %u, the store has %u there", i,
                 pb_message_item_get_uid (row), g_array_index (order, guint32, i));
    }
}

/* Tests */

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 guint      *count)
{
  (*count)++;
}

static void
test_basic (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (Change));
  g_autoptr(PbMessageList) list = NULL;
  g_autoptr(PbMessageItem) first = NULL;
  g_autoptr(PbMessageItem) again = NULL;
  g_autoptr(PbMessageItem) held = NULL;
  g_autoptr(PbMessageItem) orphan = NULL;
  guint subject_notifies = 0, loaded_notifies = 0, n_items_notifies = 0;
  Change *change;

  add_messages (fixture, 1, 250);
  fixture->store->guard_thread = g_thread_self ();

  list = new_list (fixture, 100, 2);
  g_signal_connect (list, "items-changed", G_CALLBACK (record_change_cb), changes);
  g_signal_connect (list, "notify::n-items", G_CALLBACK (count_notify_cb), &n_items_notifies);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (list)) == PB_TYPE_MESSAGE_ITEM);
  g_assert_true (pb_message_list_get_store (list) == fixture->store);
  g_assert_cmpint (pb_message_list_get_folder_id (list), ==, fixture->folder);

  /* Empty until the count arrives. */
  g_assert_true (pb_message_list_get_loading (list));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 0);
  g_assert_null (get_item (list, 0));
  settle (list);
  g_assert_false (pb_message_list_get_loading (list));
  g_assert_cmpuint (changes->len, ==, 1);
  change = &g_array_index (changes, Change, 0);
  g_assert_cmpuint (change->position, ==, 0);
  g_assert_cmpuint (change->removed, ==, 0);
  g_assert_cmpuint (change->added, ==, 250);
  g_assert_cmpuint (n_items_notifies, ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 250);
  g_assert_null (get_item (list, 250));

  /* A placeholder at once; the same object, filled in place. */
  first = get_item (list, 0);
  g_assert_false (pb_message_item_get_loaded (first));
  g_assert_null (pb_message_item_get_subject (first));
  g_assert_cmpint (pb_message_item_get_folder_id (first), ==, fixture->folder);
  again = get_item (list, 0);
  g_assert_true (again == first);
  g_signal_connect (first, "notify::subject", G_CALLBACK (count_notify_cb), &subject_notifies);
  g_signal_connect (first, "notify::loaded", G_CALLBACK (count_notify_cb), &loaded_notifies);
  settle (list);
  g_assert_true (pb_message_item_get_loaded (first));
  g_assert_cmpuint (subject_notifies, ==, 1);
  g_assert_cmpuint (loaded_notifies, ==, 1);
  g_assert_cmpuint (pb_message_item_get_uid (first), ==, 250);
  g_assert_cmpstr (pb_message_item_get_subject (first), ==, "Message 250");
  g_assert_cmpstr (pb_message_item_get_from_name (first), ==, "Sender");
  g_assert_cmpstr (pb_message_item_get_from_addr (first), ==, "sender50@example.org");
  g_assert_cmpstr (pb_message_item_get_preview (first), ==, "Preview of 250");
  g_assert_cmpint (pb_message_item_get_date (first), ==, DATE_BASE + 250);
  g_assert_cmpuint (pb_message_item_get_flags (first), ==, PB_MESSAGE_FLAG_NONE);
  g_assert_false (pb_message_item_get_has_attachment (first));
  {
    g_autofree char *subject = NULL;
    guint uid = 0;
    gboolean loaded = FALSE;

    g_object_get (first, "subject", &subject, "uid", &uid, "loaded", &loaded, NULL);
    g_assert_cmpstr (subject, ==, "Message 250");
    g_assert_cmpuint (uid, ==, 250);
    g_assert_true (loaded);
  }
  {
    g_autoptr(PbMessageItem) seventh = get_item (list, 250 - 245);

    settle (list);
    g_assert_cmpuint (pb_message_item_get_uid (seventh), ==, 245);
    g_assert_true (pb_message_item_get_has_attachment (seventh));
  }

  /* Two pages at most: using page 1 and 2 drops page 0, but the item held from it lives on
   * and comes back as the same object. */
  held = g_steal_pointer (&first);
  g_clear_object (&again);
  g_clear_object (&held);
  held = get_item (list, 3);
  g_object_unref (get_item (list, 150));
  g_object_unref (get_item (list, 249));
  g_assert_cmpuint (pb_message_list_get_n_cached_pages (list), ==, 2);
  {
    g_autoptr(PbMessageItem) back = get_item (list, 3);

    g_assert_true (back == held);
    g_assert_true (pb_message_item_get_loaded (back));
  }
  settle (list);

  /* A placeholder whose page is dropped before its load even started is still filled. */
  g_object_unref (get_item (list, 0));
  g_object_unref (get_item (list, 249));
  settle (list);
  orphan = get_item (list, 120);
  g_assert_false (pb_message_item_get_loaded (orphan));
  g_object_unref (get_item (list, 0));
  g_object_unref (get_item (list, 249));
  g_assert_cmpuint (pb_message_list_get_n_cached_pages (list), ==, 2);
  settle (list);
  g_assert_true (pb_message_item_get_loaded (orphan));
  g_assert_cmpuint (pb_message_item_get_uid (orphan), ==, 130);
  {
    g_autoptr(PbMessageItem) back = get_item (list, 120);

    g_assert_true (back == orphan);
  }

  g_assert_cmpint (fixture->store->guard_hits, ==, 0);
  fixture->store->guard_thread = NULL;

  /* A list dropped with loads in flight goes at once; the loads find it gone. */
  {
    PbMessageList *doomed = new_list (fixture, 10, 2);

    settle (doomed);
    g_object_unref (get_item (doomed, 0));
    g_object_unref (get_item (doomed, 100));
    g_assert_finalize_object (doomed);
  }
}

static void
test_large (Fixture       *fixture,
            gconstpointer  data)
{
  const char *env = g_getenv ("PB_TEST_MESSAGE_LIST_SIZE");
  const guint n = env != NULL ? (guint) g_ascii_strtoull (env, NULL, 10) : 100000;
  const guint page_size = 100, max_pages = 50;
  const guint screen = 40;
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (Change));
  g_autoptr(PbMessageList) list = NULL;
  g_autoptr(GPtrArray) shown = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 start, cpu_start, cpu, wall;
  guint max_cached = 0, max_alive = 0, max_requests = 0;
  guint alive_before;
  gboolean timing = !running_on_valgrind ();

  g_assert_cmpuint (n, >=, 10000);
  start = g_get_monotonic_time ();
  add_messages (fixture, 1, n);
  g_test_message ("add_messages: %u summaries in %.0f ms", n,
                  (g_get_monotonic_time () - start) / 1000.0);

  /* Opening a store of this size, after a clean close and after a crash. */
  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(GError) error = NULL;
      gboolean crashed = round == 2;

      g_assert_finalize_object (fixture->store);
      if (crashed)
        {
          g_autofree char *marker = g_build_filename (fixture->dir, PB_STORE_CLEAN_MARKER, NULL);

          g_assert_cmpint (g_unlink (marker), ==, 0);
        }
      start = g_get_monotonic_time ();
      fixture->store = pb_store_open (fixture->dir, &error);
      g_assert_no_error (error);
      g_test_message ("pb_store_open with %u messages %s: %.1f ms", n,
                      crashed ? "after a crash" : "after a clean close",
                      (g_get_monotonic_time () - start) / 1000.0);
      g_assert_true (fixture->store->integrity_checked == crashed);
    }

  /* From here on the test thread is the UI thread: no SQLite on it. */
  fixture->store->guard_thread = g_thread_self ();
  alive_before = pb_message_item_get_n_alive ();

  /* Opening the folder: the count, on the UI thread's clock. */
  start = g_get_monotonic_time ();
  cpu_start = thread_cpu_us ();
  list = new_list (fixture, page_size, max_pages);
  g_signal_connect (list, "items-changed", G_CALLBACK (record_change_cb), changes);
  cpu = thread_cpu_us () - cpu_start;
  settle (list);
  wall = g_get_monotonic_time () - start;
  g_test_message ("new + count of %u messages: %.3f ms UI-thread CPU for the call, %.3f ms "
                  "with the wait (%.1f ms wall)", n, cpu / 1000.0,
                  (thread_cpu_us () - cpu_start) / 1000.0, wall / 1000.0);
  if (timing)
    g_assert_cmpint (thread_cpu_us () - cpu_start, <, 5000);
  g_assert_cmpuint (changes->len, ==, 1);
  g_assert_cmpuint (g_array_index (changes, Change, 0).added, ==, n);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, n);

  /* 1,000 get_item() at positions nobody read yet: placeholders at once, no waiting. */
  cpu_start = thread_cpu_us ();
  for (guint i = 0; i < 1000; i++)
    {
      PbMessageItem *item = get_item (list, n / 2 + i);

      g_assert_false (pb_message_item_get_loaded (item));
      g_ptr_array_add (shown, item);
    }
  cpu = thread_cpu_us () - cpu_start;
  g_test_message ("1000 get_item() of unread positions: %.3f ms UI-thread CPU (%.2f us each)",
                  cpu / 1000.0, cpu / 1000.0);
  if (timing)
    g_assert_cmpint (cpu, <, 20000);
  g_assert_cmpuint (pb_message_list_get_n_requests (list), ==, 0);   /* not before idle */
  start = g_get_monotonic_time ();
  settle (list);
  g_test_message ("... loaded in %.1f ms wall", (g_get_monotonic_time () - start) / 1000.0);
  for (guint i = 0; i < shown->len; i++)
    {
      PbMessageItem *item = g_ptr_array_index (shown, i);

      g_assert_true (pb_message_item_get_loaded (item));
      g_assert_cmpuint (pb_message_item_get_uid (item), ==, n - (n / 2 + i));
    }
  g_ptr_array_set_size (shown, 0);

  /* Jumps all over the folder, 1,000 pages touched without waiting: still bounded. */
  cpu_start = thread_cpu_us ();
  for (guint i = 0; i < 1000; i++)
    g_object_unref (get_item (list, (guint) (((guint64) i * 7919 * page_size) % n)));
  cpu = thread_cpu_us () - cpu_start;
  g_test_message ("1000 get_item() on 1000 different pages: %.3f ms UI-thread CPU",
                  cpu / 1000.0);
  g_assert_cmpuint (pb_message_list_get_n_cached_pages (list), <=, max_pages);
  g_assert_cmpuint (pb_message_item_get_n_alive () - alive_before, <=, max_pages * page_size);
  settle (list);

  /* Scrolling from top to bottom, a screen at a time, as a view would: it holds the rows it
   * shows and lets go of those that scrolled out. */
  start = g_get_monotonic_time ();
  cpu_start = thread_cpu_us ();
  for (guint top = 0; top < n; top += screen)
    {
      g_ptr_array_set_size (shown, 0);
      for (guint i = top; i < MIN (top + screen, n); i++)
        g_ptr_array_add (shown, get_item (list, i));
      max_requests = MAX (max_requests, pb_message_list_get_n_requests (list));
      while (!pb_message_item_get_loaded (g_ptr_array_index (shown, shown->len - 1))
             || !pb_message_item_get_loaded (g_ptr_array_index (shown, 0)))
        g_main_context_iteration (NULL, TRUE);
      max_requests = MAX (max_requests, pb_message_list_get_n_requests (list));
      max_cached = MAX (max_cached, pb_message_list_get_n_cached_pages (list));
      max_alive = MAX (max_alive, pb_message_item_get_n_alive () - alive_before);
      g_assert_cmpuint (pb_message_item_get_uid (g_ptr_array_index (shown, 0)), ==, n - top);
    }
  g_test_message ("scrolled through %u messages in %.0f ms wall, %.0f ms UI-thread CPU; at most "
                  "%u pages and %u items in memory, %u loads in flight", n,
                  (g_get_monotonic_time () - start) / 1000.0,
                  (thread_cpu_us () - cpu_start) / 1000.0, max_cached, max_alive, max_requests);
  g_assert_cmpuint (max_cached, <=, max_pages);
  g_assert_cmpuint (max_alive, <=, max_pages * page_size + screen);
  g_assert_cmpuint (max_requests, <=, 2);

  /* A sync adds 10 new messages, one old one deep down, and removes two of the first
   * screen; the view shows the top and holds one screen from the middle. */
  {
    g_autoptr(PbMessageItem) top_item = NULL;
    g_autoptr(PbMessageItem) middle_item = NULL;
    g_autoptr(PbMessageItem) removed_item = NULL;
    guint total_removed = 0, total_added = 0;
    guint flags_notifies = 0;
    gint64 apply_cpu;

    g_ptr_array_set_size (shown, 0);
    for (guint i = 0; i < screen; i++)
      g_ptr_array_add (shown, get_item (list, i));
    for (guint i = n / 2; i < n / 2 + screen; i++)
      g_ptr_array_add (shown, get_item (list, i));
    settle (list);
    top_item = get_item (list, 0);                   /* UID n */
    removed_item = get_item (list, 2);               /* UID n - 2 */
    middle_item = get_item (list, n / 2);            /* UID n - n / 2 */
    g_signal_connect (top_item, "notify::flags", G_CALLBACK (count_notify_cb), &flags_notifies);

    fixture->store->guard_thread = NULL;
    add_messages (fixture, n + 1, n + 10);
    add_message_at (fixture, n + 11, DATE_BASE + n / 4);   /* lands at about 3/4 n */
    remove_uid (fixture, n - 2);
    remove_uid (fixture, n - 3);
    g_assert_true (pb_store_update_flags (fixture->store, fixture->folder, n,
                                          PB_MESSAGE_FLAG_SEEN, NULL, 0, NULL));
    fixture->store->guard_thread = g_thread_self ();

    g_array_set_size (changes, 0);
    cpu_start = thread_cpu_us ();
    pb_message_list_refresh (list);
    g_assert_true (pb_message_list_get_loading (list));
    settle (list);
    apply_cpu = thread_cpu_us () - cpu_start;
    for (guint i = 0; i < changes->len; i++)
      {
        Change *change = &g_array_index (changes, Change, i);

        g_test_message ("refresh: items-changed (%u, %u, %u)", change->position,
                        change->removed, change->added);
        total_removed += change->removed;
        total_added += change->added;
      }
    g_test_message ("refresh: %.2f ms UI-thread CPU", apply_cpu / 1000.0);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, n + 11 - 2);
    g_assert_cmpuint (total_added - total_removed, ==, 9);
    /* Exactly what happened, no more: 10 at the top, 2 gone, 1 somewhere between the
     * screens the list knows. */
    g_assert_cmpuint (changes->len, ==, 3);
    g_assert_cmpuint (g_array_index (changes, Change, 0).position, ==, 0);
    g_assert_cmpuint (g_array_index (changes, Change, 0).added, ==, 10);
    g_assert_cmpuint (g_array_index (changes, Change, 0).removed, ==, 0);
    g_assert_cmpuint (g_array_index (changes, Change, 1).position, ==, 12);
    g_assert_cmpuint (g_array_index (changes, Change, 1).removed, ==, 2);
    g_assert_cmpuint (g_array_index (changes, Change, 1).added, ==, 0);
    g_assert_cmpuint (g_array_index (changes, Change, 2).removed, ==, 0);
    g_assert_cmpuint (g_array_index (changes, Change, 2).added, ==, 1);

    /* Same objects at their new places, updated in place. */
    {
      g_autoptr(PbMessageItem) moved_top = get_item (list, 10);
      g_autoptr(PbMessageItem) moved_middle = get_item (list, n / 2 + 8);
      g_autoptr(PbMessageItem) newest = get_item (list, 0);

      g_assert_true (moved_top == top_item);
      g_assert_true (moved_middle == middle_item);
      settle (list);
      g_assert_cmpuint (pb_message_item_get_uid (newest), ==, n + 10);
    }
    g_assert_cmpuint (pb_message_item_get_flags (top_item), ==, PB_MESSAGE_FLAG_SEEN);
    g_assert_cmpuint (flags_notifies, ==, 1);
    /* The removed message's item is no longer in the list. */
    for (guint i = 0; i < 20; i++)
      {
        g_autoptr(PbMessageItem) item = get_item (list, i);

        g_assert_true (item != removed_item);
      }
    settle (list);
    {
      g_autoptr(GArray) order = true_order (fixture);

      for (guint i = 0; i < screen; i++)
        {
          g_autoptr(PbMessageItem) item = get_item (list, i);

          g_assert_cmpuint (pb_message_item_get_uid (item), ==, g_array_index (order, guint32, i));
        }
    }
  }

  g_ptr_array_set_size (shown, 0);
  g_assert_cmpint (fixture->store->guard_hits, ==, 0);
  fixture->store->guard_thread = NULL;
  g_clear_object (&list);
  g_assert_cmpuint (pb_message_item_get_n_alive (), ==, alive_before);
}

/* Random syncs against views that hold some rows; after each refresh every held row must be
 * the list's item for its position and show what the store has there. */
static void
run_random_syncs (Fixture  *fixture,
                  gboolean  eager)
{
  g_autoptr(PbMessageList) list = NULL;
  Mirror *mirror;
  guint32 next_uid;
  guint n = 300;

  add_messages (fixture, 1, n);
  next_uid = n + 1;
  list = new_list (fixture, 20, 4);
  mirror = mirror_new (list, eager);
  settle (list);
  fixture->store->guard_thread = g_thread_self ();

  for (guint round = 0; round < 40; round++)
    {
      g_autoptr(GArray) order = true_order (fixture);
      guint n_changes = g_test_rand_int_range (0, 12);
      guint len = mirror->rows->len;

      /* The view shows some screens and lets go of others. */
      if (len > 0)
        {
          mirror_hide (mirror, g_test_rand_int_range (0, len), g_test_rand_int_range (0, 60));
          for (guint s = 0; s < 3; s++)
            mirror_show (mirror, g_test_rand_int_range (0, len), g_test_rand_int_range (1, 40));
        }
      settle (list);
      mirror_check (mirror, fixture);

      /* A sync. */
      fixture->store->guard_thread = NULL;
      for (guint c = 0; c < n_changes; c++)
        {
          guint kind = g_test_rand_int_range (0, 4);

          if (kind == 0)
            {
              guint32 uid = next_uid++;

              add_message_at (fixture, uid, DATE_BASE + 100000 + uid);   /* the newest */
            }
          else if (kind == 1 && order->len > 0)
            {
              /* Between two known messages, or on the same date as one. */
              guint32 near = g_array_index (order, guint32, g_test_rand_int_range (0, order->len));
              gint64 date = DATE_BASE + near;

              add_message_at (fixture, next_uid++, g_test_rand_bit () ? date : date - 1);
            }
          else if (kind == 2 && order->len > 0)
            remove_uid (fixture, g_array_index (order, guint32,
                                                g_test_rand_int_range (0, order->len)));
          else if (order->len > 0)
            {
              guint32 uid = g_array_index (order, guint32, g_test_rand_int_range (0, order->len));

              pb_store_update_flags (fixture->store, fixture->folder, uid,
                                     PB_MESSAGE_FLAG_FLAGGED, NULL, 0, NULL);
            }
        }
      /* A burst of removals now and then, and a whole screen of new mail. */
      if (round % 10 == 5)
        for (guint i = 0; i < 30 && i < order->len; i += 2)
          remove_uid (fixture, g_array_index (order, guint32, i));
      if (round % 10 == 7)
        for (guint i = 0; i < 45; i++)
          {
            guint32 uid = next_uid++;

            add_message_at (fixture, uid, DATE_BASE + 100000 + uid);
          }
      fixture->store->guard_thread = g_thread_self ();

      pb_message_list_refresh (list);
      if (g_test_rand_bit ())
        pb_message_list_refresh (list);   /* a second sync before the first refresh is in */
      settle (list);
      mirror_check (mirror, fixture);
      g_assert_cmpuint (pb_message_list_get_n_cached_pages (list), <=, 4);
    }

  g_assert_cmpint (fixture->store->guard_hits, ==, 0);
  fixture->store->guard_thread = NULL;
  mirror_free (mirror);
}

static void
test_refresh_lazy_view (Fixture       *fixture,
                        gconstpointer  data)
{
  run_random_syncs (fixture, FALSE);
}

static void
test_refresh_eager_view (Fixture       *fixture,
                         gconstpointer  data)
{
  run_random_syncs (fixture, TRUE);
}

/* The store changes between two page loads and nobody calls refresh: the second page does not
 * fit the first, and the list repairs itself. */
static void
test_self_repair (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(PbMessageList) list = NULL;
  g_autoptr(PbMessageItem) first = NULL;
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (Change));
  Mirror *mirror;

  add_messages (fixture, 1, 100);
  list = new_list (fixture, 20, 10);
  mirror = mirror_new (list, FALSE);
  settle (list);
  mirror_show (mirror, 0, 20);
  settle (list);
  first = get_item (list, 0);
  g_assert_cmpuint (pb_message_item_get_uid (first), ==, 100);

  /* Five new messages; page 1 now starts with what page 0 ended with. */
  add_messages (fixture, 101, 105);
  g_signal_connect (list, "items-changed", G_CALLBACK (record_change_cb), changes);
  mirror_show (mirror, 20, 20);
  settle (list);
  g_assert_cmpuint (changes->len, >, 0);
  mirror_show (mirror, 0, 60);
  settle (list);
  mirror_check (mirror, fixture);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 105);
  {
    g_autoptr(PbMessageItem) moved = get_item (list, 5);

    g_assert_true (moved == first);
  }

  /* Messages removed behind the list's back: a short last page. */
  for (guint32 uid = 1; uid <= 10; uid++)
    remove_uid (fixture, uid);
  mirror_show (mirror, 80, 25);
  settle (list);
  mirror_show (mirror, 0, 95);
  settle (list);
  mirror_check (mirror, fixture);
  mirror_free (mirror);
}

/* The range query of the refresh reads the index only and never sorts. */
static void
test_range_plans (Fixture       *fixture,
                  gconstpointer  data)
{
  static const char * const queries[] = {
    PB_STORE_RANGE_POSITION_SQL, PB_STORE_RANGE_KEYS_SQL, PB_STORE_RANGE_ROWS_SQL,
  };
  g_autofree char *db_path = g_build_filename (fixture->dir, "store.sqlite3", NULL);
  sqlite3 *db = NULL;

  add_messages (fixture, 1, 1000);
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
    {
      g_autofree char *sql = g_strconcat ("EXPLAIN QUERY PLAN ", queries[q], NULL);
      g_autoptr(GString) plan = g_string_new (NULL);
      sqlite3_stmt *stmt = NULL;

      g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        g_string_append_printf (plan, "%s; ", sqlite3_column_text (stmt, 3));
      sqlite3_finalize (stmt);
      g_test_message ("plan %u: %s", q, plan->str);
      g_assert_nonnull (strstr (plan->str, "messages_folder_date"));
      g_assert_null (strstr (plan->str, "TEMP B-TREE"));
      if (q < 2)
        g_assert_nonnull (strstr (plan->str, "COVERING INDEX"));
    }
  sqlite3_close (db);

  /* And it answers what the list needs. */
  {
    g_autoptr(GError) error = NULL;
    PbStoreRange range = {
      .first = { DATE_BASE + 900, 0 },
      .last = { DATE_BASE + 801, 0 },
      .max_rows = 10,
    };
    guint total = 0;

    /* Row ids are the UIDs here: one batch into an empty table. */
    range.first.id = 900;
    range.last.id = 801;
    g_assert_true (pb_store_read_ranges (fixture->store, fixture->folder, &range, 1, &total,
                                         &error));
    g_assert_no_error (error);
    g_assert_cmpuint (total, ==, 1000);
    g_assert_cmpuint (range.position, ==, 100);
    g_assert_cmpuint (range.keys->len, ==, 100);
    g_assert_cmpuint (range.rows->len, ==, 10);
    g_assert_cmpuint (((PbMessageSummary *) g_ptr_array_index (range.rows, 0))->uid, ==, 900);
    g_assert_cmpint (g_array_index (range.keys, PbStoreOrderKey, 99).id, ==, 801);
    pb_store_range_clear (&range);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();

#define ADD(path, func) \
  g_test_add ("/message-list/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("basic", test_basic);
  ADD ("large", test_large);
  ADD ("refresh-lazy-view", test_refresh_lazy_view);
  ADD ("refresh-eager-view", test_refresh_eager_view);
  ADD ("self-repair", test_self_repair);
  ADD ("range-plans", test_range_plans);

  return g_test_run ();
}
