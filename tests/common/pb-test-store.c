/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "pb-test-store.h"

PbStore *
pb_test_store_open (const char *dir)
{
  g_autoptr (GError) error = NULL;
  PbStore *store = pb_store_open (dir, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

gint64
pb_test_store_add_folder (PbStore      *store,
                          const char   *account,
                          const char   *path,
                          PbFolderRole  role)
{
  g_autoptr (PbFolderInfo) info = pb_folder_info_new (path, role, TRUE);
  g_autoptr (GError) error = NULL;
  gint64 id = pb_store_ensure_folder (store, account, info, &error);

  g_assert_no_error (error);
  g_assert_true (pb_store_set_folder_state (store, id, 7, 100, 0, &error));
  return id;
}

void
pb_test_store_add (PbStore          *store,
                   gint64            folder_id,
                   PbMessageSummary *summary)
{
  g_autoptr (GPtrArray) batch = g_ptr_array_new_with_free_func (
    (GDestroyNotify) pb_message_summary_free);
  g_autoptr (GError) error = NULL;

  g_ptr_array_add (batch, summary);
  g_assert_true (pb_store_add_messages (store, folder_id, batch, &error));
  g_assert_no_error (error);
}
