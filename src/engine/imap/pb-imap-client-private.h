/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-connection.h"
#include "pb-imap-client.h"
#include "pb-imap-parser.h"

G_BEGIN_DECLS

/*
 * The session's state and its command primitives, shared by the files of PbImapClient:
 * pb-imap-client.c (connection, login, SELECT, STORE, MOVE, APPEND), pb-imap-folders.c (LIST),
 * pb-imap-idle.c (IDLE) and pb-imap-pipeline.c (COMPRESS, pipelined commands).
 */

#define READ_CHUNK (64 * 1024)

struct _PbImapClient
{
  GObject        parent_instance;

  PbService     *service;
  PbConnection  *connection;
  PbImapParser  *parser;
  GHashTable    *capabilities;   /* upper-case capability -> itself */
  guint          next_tag;
  gboolean       authenticated;
  gboolean       broken;         /* a protocol error happened; the session cannot go on */
  gboolean       condstore;      /* CONDSTORE enabled (RFC 7162) */
  gboolean       qresync;        /* QRESYNC enabled (RFC 7162) */
  gboolean       utf8;           /* UTF8=ACCEPT enabled (RFC 6855): names are UTF-8 */
  char          *namespace_prefix; /* personal namespace, e.g. "INBOX." on Courier */
  char           namespace_delimiter;
  char          *selected;       /* mailbox selected, or NULL */
  char          *bye_text;
};

/* The next response, read from the connection as needed; NULL on error (the session is then
 * broken). */
PbImapResponse *pb_imap_client_read_response    (PbImapClient        *self,
                                                 GCancellable        *cancellable,
                                                 GError             **error);
gboolean        pb_imap_client_send_line        (PbImapClient        *self,
                                                 const char          *line,
                                                 const char          *trace_as,
                                                 GCancellable        *cancellable,
                                                 GError             **error);
PbImapResponse *pb_imap_client_run_command_full (PbImapClient        *self,
                                                 const char          *command,
                                                 const char          *trace_as,
                                                 GBytes              *continuation,
                                                 const char          *continuation_trace,
                                                 gboolean             continuation_now,
                                                 PbImapUntaggedFunc   func,
                                                 gpointer             user_data,
                                                 GCancellable        *cancellable,
                                                 GError             **error);
PbImapResponse *pb_imap_client_run_command      (PbImapClient        *self,
                                                 const char          *command,
                                                 const char          *trace_as,
                                                 const char          *continuation,
                                                 GPtrArray           *untagged,
                                                 GCancellable        *cancellable,
                                                 GError             **error);
gboolean        pb_imap_client_check_ok         (PbImapClient        *self,
                                                 PbImapResponse      *response,
                                                 const char          *what,
                                                 GError             **error);
gboolean        pb_imap_client_command_ok       (PbImapClient        *self,
                                                 const char          *command,
                                                 GPtrArray           *untagged,
                                                 GCancellable        *cancellable,
                                                 GError             **error);
char           *pb_imap_client_quote_mailbox    (PbImapClient        *self,
                                                 const char          *name);
char           *pb_imap_client_sanitize_server_text (const char      *text);

G_END_DECLS
