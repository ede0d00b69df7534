/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <sqlite3.h>

#include "pb-store.h"

G_BEGIN_DECLS

/* One SQLite connection with its cache of prepared statements. A connection is only ever used
 * by one thread at a time: the writer under PbStore.write_lock, a reader while it is checked
 * out of the pool. */
typedef struct {
  sqlite3    *db;
  GHashTable *statements;   /* const char *sql (a string literal, by address) -> sqlite3_stmt */
} PbStoreDb;

struct _PbStore
{
  GObject     parent_instance;

  char       *dir;
  char       *db_path;
  int         lock_fd;

  /* All writes go through one connection, one transaction at a time. */
  GMutex      write_lock;
  PbStoreDb  *writer;
  gboolean    writer_durable;

  /* Idle read-only connections; more are opened when all are busy. */
  GMutex      readers_lock;
  GPtrArray  *idle_readers;
};

/* Connections (pb-store.c) */
sqlite3_stmt *pb_store_db_prepare       (PbStoreDb   *db,
                                         const char  *sql,
                                         GError     **error);
gboolean      pb_store_db_exec          (PbStoreDb   *db,
                                         const char  *sql,
                                         GError     **error);
void          pb_store_set_sqlite_error (GError     **error,
                                         sqlite3     *db,
                                         int          rc,
                                         const char  *what);
PbStoreDb    *pb_store_write_begin      (PbStore     *self,
                                         gboolean     durable,
                                         GError     **error);
gboolean      pb_store_write_commit     (PbStore     *self,
                                         GError     **error);
void          pb_store_write_rollback   (PbStore     *self);
PbStoreDb    *pb_store_read_begin       (PbStore     *self,
                                         GError     **error);
void          pb_store_read_end         (PbStore     *self,
                                         PbStoreDb   *db);

/* Body files (pb-store-messages.c) */
char         *pb_store_body_abs_path    (PbStore     *self,
                                         const char  *body_path);
void          pb_store_unlink_bodies    (PbStore     *self,
                                         GPtrArray   *body_paths);
void          pb_store_set_file_error   (GError     **error,
                                         int          saved_errno,
                                         const char  *what,
                                         const char  *path);

/* Parsing (pb-store-parse.c) */
void          pb_store_parse_body       (GBytes      *raw,
                                         char       **preview,
                                         gboolean    *has_attachment,
                                         char       **body_text);

/* Columns of a full message row, in the order pb_store_summary_from_row() reads them. */
#define PB_STORE_SUMMARY_COLUMNS \
  "m.id, m.folder_id, m.uid, m.flags, m.keywords, m.modseq, m.size, m.internaldate, m.date, " \
  "m.subject, m.from_name, m.from_addr, m.to_list, m.cc_list, m.message_id, m.in_reply_to, " \
  "m.refs, m.preview, m.has_attachment, m.body_path IS NOT NULL"
#define PB_STORE_SUMMARY_N_COLUMNS 20

/* The page query of pb_store_list_messages(); shared with the test that checks its plan. */
#define PB_STORE_LIST_MESSAGES_SQL \
  "SELECT " PB_STORE_SUMMARY_COLUMNS " FROM messages m" \
  " WHERE m.folder_id = ? ORDER BY m.date DESC, m.id DESC LIMIT ? OFFSET ?"

PbMessageSummary *pb_store_summary_from_row (sqlite3_stmt *stmt);
char             *pb_store_column_text      (sqlite3_stmt *stmt,
                                             int           column);

G_END_DECLS
