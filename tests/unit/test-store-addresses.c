/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "pb-engine.h"
#include "pb-store.h"
#include "pb-store-addresses.h"
#include "pb-test-util.h"

/* Address completion from the store: distinct addresses from senders, To and Cc, matched on
 * the address or any word of the name, most frequent first, and queried off the UI thread. */

static char *dir;

static void
add (PbStore    *store,
     gint64      folder,
     guint32     uid,
     const char *from_name,
     const char *from_addr,
     const char *to,
     const char *cc)
{
  g_autoptr(GPtrArray) batch =
    g_ptr_array_new_with_free_func ((GDestroyNotify) pb_message_summary_free);
  g_autoptr(GError) error = NULL;
  PbMessageSummary *summary = pb_message_summary_new ();

  summary->uid = uid;
  summary->date = 1700000000 + uid;
  summary->internaldate = summary->date;
  summary->subject = g_strdup ("x");
  summary->from_name = g_strdup (from_name);
  summary->from_addr = g_strdup (from_addr);
  summary->to_list = g_strdup (to);
  summary->cc_list = g_strdup (cc);
  summary->message_id = g_strdup_printf ("%u@example.org", uid);
  g_ptr_array_add (batch, summary);
  g_assert_true (pb_store_add_messages (store, folder, batch, &error));
  g_assert_no_error (error);
}

static PbStore *
make_store (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, "store", NULL);
  PbStore *store = pb_store_open (path, &error);
  g_autoptr(PbFolderInfo) inbox = pb_folder_info_new ("INBOX", PB_FOLDER_ROLE_INBOX, TRUE);
  g_autoptr(PbFolderInfo) sent = pb_folder_info_new ("Sent", PB_FOLDER_ROLE_SENT, TRUE);
  gint64 in_id, sent_id;

  g_assert_no_error (error);
  in_id = pb_store_ensure_folder (store, "work", inbox, &error);
  g_assert_no_error (error);
  sent_id = pb_store_ensure_folder (store, "work", sent, &error);
  g_assert_no_error (error);

  add (store, in_id, 1, "Anna Müller", "anna@example.org", "Me <me@example.org>", NULL);
  add (store, in_id, 2, "Anna Müller", "ANNA@example.org", "Me <me@example.org>",
       "Andreas Bauer <andreas@example.net>, \"Müller, Hans\" <hans@example.com>");
  add (store, in_id, 3, NULL, "newsletter@annals.example", "me@example.org", NULL);
  add (store, sent_id, 11, "Me", "me@example.org", "Anna M. <anna@example.org>", NULL);
  add (store, sent_id, 12, "Me", "me@example.org", "Zoë Ångström <zoe@example.org>",
       "broken <<<");
  add (store, sent_id, 13, "Me", "me@example.org", "50%_off@example.org", NULL);
  return store;
}

static void
test_query (void)
{
  g_autoptr(PbStore) store = make_store ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) an = pb_store_query_addresses (store, "an", 10, &error);
  PbAddressSuggestion *first;

  g_assert_no_error (error);
  /* anna three times (any case), andreas once; ranked by frequency. newsletter@annals only
   * has "an" inside the address, which is not a start. */
  g_assert_cmpuint (an->len, ==, 2);
  first = g_ptr_array_index (an, 0);
  g_assert_cmpstr (first->email, ==, "anna@example.org");
  g_assert_cmpuint (first->count, ==, 3);
  /* The newest name seen with the address. */
  g_assert_cmpstr (first->name, ==, "Anna M.");
  g_assert_cmpstr (((PbAddressSuggestion *) g_ptr_array_index (an, 1))->email, ==,
                   "andreas@example.net");
  {
    g_autofree char *text = pb_address_suggestion_format (first);
    g_assert_cmpstr (text, ==, "\"Anna M.\" <anna@example.org>");
  }

  /* A word of the name, not only its start; case and accents as typed. */
  {
    g_autoptr(GPtrArray) m = pb_store_query_addresses (store, "mül", 10, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (m->len, ==, 2);
    g_assert_cmpint (g_ascii_strcasecmp (
                       ((PbAddressSuggestion *) g_ptr_array_index (m, 0))->email,
                       "anna@example.org"), ==, 0);
    g_assert_cmpstr (((PbAddressSuggestion *) g_ptr_array_index (m, 1))->email, ==,
                     "hans@example.com");
  }
  {
    g_autoptr(GPtrArray) z = pb_store_query_addresses (store, "ÅNG", 10, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (z->len, ==, 1);
    g_assert_cmpstr (((PbAddressSuggestion *) g_ptr_array_index (z, 0))->name, ==,
                     "Zoë Ångström");
  }
  /* LIKE wildcards in what is typed are literal. */
  {
    g_autoptr(GPtrArray) pct = pb_store_query_addresses (store, "50%_", 10, &error);
    g_autoptr(GPtrArray) wild = pb_store_query_addresses (store, "%", 10, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (pct->len, ==, 1);
    g_assert_cmpuint (wild->len, ==, 0);
  }
  /* The limit, and nothing for nothing. */
  {
    g_autoptr(GPtrArray) one = pb_store_query_addresses (store, "a", 1, &error);
    g_autoptr(GPtrArray) none = pb_store_query_addresses (store, "", 10, &error);
    g_autoptr(GPtrArray) nobody = pb_store_query_addresses (store, "qqq", 10, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (one->len, ==, 1);
    g_assert_cmpuint (none->len, ==, 0);
    g_assert_cmpuint (nobody->len, ==, 0);
  }
}

static void
test_async (void)
{
  g_autoptr(PbStore) store = make_store ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  pb_store_query_addresses_async (store, "zo", 5, NULL, pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, 10000);
  found = pb_store_query_addresses_finish (store, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 1);
  g_clear_object (&result);

  /* A query the user typed past is dropped. */
  g_cancellable_cancel (cancellable);
  pb_store_query_addresses_async (store, "zo", 5, cancellable, pb_test_store_result_cb,
                                  &result);
  pb_test_wait_for_result (&result, 10000);
  g_assert_null (pb_store_query_addresses_finish (store, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  pb_engine_init ();
  dir = g_dir_make_tmp ("pb-addresses-XXXXXX", NULL);

  g_test_add_func ("/store/addresses/query", test_query);
  g_test_add_func ("/store/addresses/async", test_async);
  status = g_test_run ();
  return status;
}
