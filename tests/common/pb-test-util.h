/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Spins the default main context until *result is set (by an async callback storing its
 * GAsyncResult) or timeout_ms passes; fails the test on timeout. */
void        pb_test_wait_for_result (GAsyncResult **result,
                                     guint          timeout_ms);
/* A GAsyncReadyCallback that stores a reference to the result in *(GAsyncResult **)user_data. */
void        pb_test_store_result_cb (GObject       *source,
                                     GAsyncResult  *result,
                                     gpointer       user_data);

G_END_DECLS
