/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-folder-info.h"
#include "pb-imap-error.h"
#include "pb-imap-parser.h"
#include "pb-service.h"

G_BEGIN_DECLS

#define PB_TYPE_IMAP_CLIENT (pb_imap_client_get_type ())
G_DECLARE_FINAL_TYPE (PbImapClient, pb_imap_client, PB, IMAP_CLIENT, GObject)

/*
 * One IMAP session. Its calls block and are meant for a worker thread (PbImapStore runs them
 * inside GTasks); one thread uses a client at a time.
 */
PbImapClient *pb_imap_client_new              (PbService     *service);
gboolean      pb_imap_client_connect          (PbImapClient  *self,
                                               GCancellable  *cancellable,
                                               GError       **error);
gboolean      pb_imap_client_authenticate     (PbImapClient  *self,
                                               const char    *password,
                                               GCancellable  *cancellable,
                                               GError       **error);
GPtrArray    *pb_imap_client_list_folders     (PbImapClient  *self,
                                               GCancellable  *cancellable,
                                               GError       **error);
void          pb_imap_client_logout           (PbImapClient  *self,
                                               GCancellable  *cancellable);
gboolean      pb_imap_client_has_capability   (PbImapClient  *self,
                                               const char    *capability);
gboolean      pb_imap_client_is_authenticated (PbImapClient  *self);

/* Called for every untagged response while a command runs; return FALSE with @error set to
 * abort (the session is then unusable and must be reconnected). */
typedef gboolean (*PbImapUntaggedFunc) (PbImapResponse  *response,
                                        gpointer         user_data,
                                        GError         **error);

/* What SELECT/EXAMINE told about a mailbox. */
typedef struct {
  guint32  uidvalidity;
  guint32  uidnext;
  guint32  exists;
  guint64  highestmodseq;   /* 0: the mailbox has no mod-sequences (NOMODSEQ) */
  gboolean read_only;
} PbImapMailbox;

gboolean      pb_imap_client_command          (PbImapClient        *self,
                                               const char          *command,
                                               PbImapUntaggedFunc   func,
                                               gpointer             user_data,
                                               GCancellable        *cancellable,
                                               GError             **error);
gboolean      pb_imap_client_command_pipeline (PbImapClient        *self,
                                               const char * const  *commands,
                                               guint                n_commands,
                                               PbImapUntaggedFunc   func,
                                               gpointer             user_data,
                                               GCancellable        *cancellable,
                                               GError             **error);
gboolean      pb_imap_client_enable           (PbImapClient        *self,
                                               GCancellable        *cancellable,
                                               GError             **error);
gboolean      pb_imap_client_qresync_enabled  (PbImapClient        *self);
gboolean      pb_imap_client_utf8_enabled     (PbImapClient        *self);
gboolean      pb_imap_client_condstore_enabled (PbImapClient       *self);
gboolean      pb_imap_client_select           (PbImapClient        *self,
                                               const char          *mailbox,
                                               gboolean             read_only,
                                               guint32              known_uidvalidity,
                                               guint64              known_modseq,
                                               PbImapUntaggedFunc   func,
                                               gpointer             user_data,
                                               PbImapMailbox       *out_mailbox,
                                               GCancellable        *cancellable,
                                               GError             **error);
gboolean      pb_imap_client_uid_store        (PbImapClient        *self,
                                               const char          *uid_set,
                                               const char          *change,
                                               GCancellable        *cancellable,
                                               GError             **error);
gboolean      pb_imap_client_uid_move         (PbImapClient        *self,
                                               const char          *uid_set,
                                               const char          *destination,
                                               GCancellable        *cancellable,
                                               GError             **error);
gboolean      pb_imap_client_uid_expunge      (PbImapClient        *self,
                                               const char          *uid_set,
                                               GCancellable        *cancellable,
                                               GError             **error);
gboolean      pb_imap_client_append           (PbImapClient        *self,
                                               const char          *mailbox,
                                               const char          *flags,
                                               GBytes              *message,
                                               guint32             *out_uid,
                                               GCancellable        *cancellable,
                                               GError             **error);
gboolean      pb_imap_client_compress         (PbImapClient        *self,
                                               GCancellable        *cancellable,
                                               GError             **error);
const char   *pb_imap_client_get_selected     (PbImapClient        *self);
gboolean      pb_imap_client_idle             (PbImapClient        *self,
                                               guint                seconds,
                                               gboolean            *out_changed,
                                               GCancellable        *cancellable,
                                               GError             **error);
char         *pb_imap_quote_string            (const char          *s);
char         *pb_imap_uid_set_from_array      (const guint32       *uids,
                                               guint                n_uids);

G_END_DECLS
