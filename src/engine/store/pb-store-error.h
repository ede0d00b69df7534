/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PB_STORE_ERROR (pb_store_error_quark ())

/**
 * PbStoreError:
 * @PB_STORE_ERROR_FAILED: any other failure (the message says what SQLite reported)
 * @PB_STORE_ERROR_CORRUPT: the database or a body file is damaged; the message says which
 * @PB_STORE_ERROR_NEWER_VERSION: the database was written by a newer Postbote and was left
 *   untouched
 * @PB_STORE_ERROR_NOT_FOUND: no such folder or message, or its body was never downloaded
 * @PB_STORE_ERROR_NO_SPACE: the disk (or the user's quota) is full; the message tells the user
 *   to free space
 * @PB_STORE_ERROR_IO: reading or writing a file failed for another reason
 *
 * Errors of #PbStore.
 */
typedef enum {
  PB_STORE_ERROR_FAILED,
  PB_STORE_ERROR_CORRUPT,
  PB_STORE_ERROR_NEWER_VERSION,
  PB_STORE_ERROR_NOT_FOUND,
  PB_STORE_ERROR_NO_SPACE,
  PB_STORE_ERROR_IO,
} PbStoreError;

GQuark pb_store_error_quark (void);

G_END_DECLS
