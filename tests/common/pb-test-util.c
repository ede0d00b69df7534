/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "pb-test-util.h"

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;
  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

void
pb_test_wait_for_result (GAsyncResult **result,
                         guint          timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, timeout_cb, &timed_out);

  while (*result == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  if (*result == NULL)
    g_error ("operation did not finish within %u ms", timeout_ms);
}

void
pb_test_store_result_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  GAsyncResult **out = user_data;
  *out = g_object_ref (result);
}
