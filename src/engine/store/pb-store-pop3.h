/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-store.h"

G_BEGIN_DECLS

/**
 * PbPop3LedgerState:
 * @PB_POP3_LEDGER_PENDING: a local UID is reserved; the message may or may not be stored yet
 *   (a crash in between); the next sync finds out which
 * @PB_POP3_LEDGER_STORED: the message (or its header, see headers_only) is durable locally
 * @PB_POP3_LEDGER_REFETCH: to be downloaded (again) into folder_id (a crashed download, or a
 *   move journalled before folders were local)
 */
typedef enum {
  PB_POP3_LEDGER_PENDING = 0,
  PB_POP3_LEDGER_STORED = 1,
  PB_POP3_LEDGER_REFETCH = 2,
} PbPop3LedgerState;

typedef struct {
  char               *uidl;
  gint64              folder_id;
  guint32             uid;
  gint64              first_seen;
  PbPop3LedgerState   state;
  gboolean            headers_only;
  gboolean            on_server;
  gboolean            delete_wanted;
} PbPop3LedgerRow;

void        pb_pop3_ledger_row_free          (PbPop3LedgerRow     *row);

/* The UIDL ledger of POP3 accounts (migration 3 in pb-store.c). */
GHashTable *pb_store_pop3_ledger_load        (PbStore             *self,
                                              const char          *account,
                                              GError             **error);
gboolean    pb_store_pop3_ledger_reserve     (PbStore             *self,
                                              const char          *account,
                                              gint64               folder_id,
                                              const char * const  *uidls,
                                              const gboolean      *headers_only,
                                              guint                n,
                                              gint64               now,
                                              guint32             *uids_out,
                                              GError             **error);
gboolean    pb_store_pop3_ledger_set         (PbStore             *self,
                                              const char          *account,
                                              const char * const  *uidls,
                                              guint                n,
                                              const char          *column,
                                              gint64               value,
                                              gboolean             durable,
                                              GError             **error);
gboolean    pb_store_pop3_ledger_refetch     (PbStore             *self,
                                              const char          *account,
                                              const char          *uidl,
                                              gint64               folder_id,
                                              GError             **error);
char       *pb_store_pop3_ledger_find        (PbStore             *self,
                                              const char          *account,
                                              gint64               folder_id,
                                              guint32              uid,
                                              GError             **error);
guint32     pb_store_pop3_allocate_uid       (PbStore             *self,
                                              gint64               folder_id,
                                              GError             **error);

/* Local folders (a POP3 account's): the store is their only copy. */
gboolean    pb_store_set_folders_local       (PbStore             *self,
                                              const char          *account,
                                              GError             **error);
gboolean    pb_store_folder_is_local         (PbStore             *self,
                                              gint64               folder_id,
                                              GError             **error);
gboolean    pb_store_move_local              (PbStore             *self,
                                              const char          *account,
                                              gint64               folder_id,
                                              guint32              uid,
                                              gint64               destination_id,
                                              const char          *journal_op,
                                              const char          *journal_arg,
                                              guint32             *new_uid,
                                              GError             **error);

G_END_DECLS
