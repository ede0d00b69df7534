/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "pb-account-manager.h"
#include "pb-store.h"

G_BEGIN_DECLS

/**
 * PbOutboxState:
 * @PB_OUTBOX_STATE_WAITING: queued and durable on disk, waiting for the undo delay to pass;
 *   pb_outbox_cancel() withdraws it
 * @PB_OUTBOX_STATE_QUEUED: waiting to be sent: no connection yet, offline, or a temporary
 *   error (4xx, network) with a retry planned (see pb_outbox_entry_get_next_attempt());
 *   still cancellable
 * @PB_OUTBOX_STATE_SENDING: being handed to the server now; can no longer be cancelled
 * @PB_OUTBOX_STATE_SENT: the server accepted it (recorded on disk before anything else
 *   happens); the copy to the Sent folder is still to be made. Never sent again.
 * @PB_OUTBOX_STATE_UNCERTAIN: the outcome is unknown (the connection was lost, or the program
 *   stopped, after the message was handed over but before the server confirmed it): it may
 *   have been sent. Never resent on its own; the user checks the Sent folder or asks the
 *   recipient, then calls pb_outbox_retry() or pb_outbox_cancel().
 * @PB_OUTBOX_STATE_FAILED: the server refused it for good (5xx, a rejected password, a message
 *   too large, no recipients …); pb_outbox_entry_get_error() says why, in the server's words.
 *   pb_outbox_retry() tries again, pb_outbox_cancel() discards it.
 * @PB_OUTBOX_STATE_DONE: sent and copied to Sent (or the account keeps no Sent copy), and
 *   removed from the disk; or cancelled. Only ever seen in #PbOutbox::entry-changed, as the
 *   last state of an entry.
 *
 * The life of an outbox entry: WAITING → QUEUED → SENDING → SENT → DONE, with detours to
 * QUEUED (retry later), FAILED and UNCERTAIN.
 */
typedef enum {
  PB_OUTBOX_STATE_WAITING,
  PB_OUTBOX_STATE_QUEUED,
  PB_OUTBOX_STATE_SENDING,
  PB_OUTBOX_STATE_SENT,
  PB_OUTBOX_STATE_UNCERTAIN,
  PB_OUTBOX_STATE_FAILED,
  PB_OUTBOX_STATE_DONE,
} PbOutboxState;

const char *pb_outbox_state_to_string (PbOutboxState state);   /* "queued", "sent", … */
const char *pb_outbox_state_describe  (PbOutboxState state);   /* translated, for people */

#define PB_OUTBOX_ERROR (pb_outbox_error_quark ())

/**
 * PbOutboxError:
 * @PB_OUTBOX_ERROR_FAILED: any other failure (disk full, unreadable outbox)
 * @PB_OUTBOX_ERROR_NOT_FOUND: no entry with that id (already sent, or cancelled)
 * @PB_OUTBOX_ERROR_BUSY: the entry is being sent or was sent; it can no longer be cancelled
 *   or retried
 * @PB_OUTBOX_ERROR_INVALID: the message cannot be queued: unknown account, account without an
 *   outgoing server, no recipients, or a malformed address (CR, LF, NUL …)
 */
typedef enum {
  PB_OUTBOX_ERROR_FAILED,
  PB_OUTBOX_ERROR_NOT_FOUND,
  PB_OUTBOX_ERROR_BUSY,
  PB_OUTBOX_ERROR_INVALID,
} PbOutboxError;

GQuark pb_outbox_error_quark (void);

/**
 * PbOutboxEntry:
 *
 * An immutable snapshot of one message in the outbox (reference counted, boxed). Get a fresh
 * one with pb_outbox_lookup() or from #PbOutbox::entry-changed.
 */
typedef struct _PbOutboxEntry PbOutboxEntry;

#define PB_TYPE_OUTBOX_ENTRY (pb_outbox_entry_get_type ())
GType               pb_outbox_entry_get_type         (void) G_GNUC_CONST;
PbOutboxEntry      *pb_outbox_entry_ref              (PbOutboxEntry *entry);
void                pb_outbox_entry_unref            (PbOutboxEntry *entry);
/* A unique, stable id (also the directory name on disk). */
const char         *pb_outbox_entry_get_id           (PbOutboxEntry *entry);
const char         *pb_outbox_entry_get_account      (PbOutboxEntry *entry);
PbOutboxState       pb_outbox_entry_get_state        (PbOutboxEntry *entry);
/* The envelope recipients (To, Cc and Bcc), NULL-terminated. */
const char * const *pb_outbox_entry_get_recipients   (PbOutboxEntry *entry);
/* The Subject header, decoded; may be "". */
const char         *pb_outbox_entry_get_subject      (PbOutboxEntry *entry);
/* When it was queued, Unix time. */
gint64              pb_outbox_entry_get_queued_time  (PbOutboxEntry *entry);
/* How many times sending was tried. */
guint               pb_outbox_entry_get_attempts     (PbOutboxEntry *entry);
/* Unix time of the next automatic attempt (WAITING: end of the undo delay; QUEUED after a
 * temporary error: the retry), or 0 for "as soon as possible" / "never". */
gint64              pb_outbox_entry_get_next_attempt (PbOutboxEntry *entry);
/* The last error, for people: for a server refusal the server's text literally, e.g.
 * "550 5.1.1 <x@example.org>: Recipient address rejected". NULL when there was none. The
 * GError domain and code (PB_SMTP_ERROR_… etc.) are kept as well. */
const char         *pb_outbox_entry_get_error        (PbOutboxEntry *entry);
GQuark              pb_outbox_entry_get_error_domain (PbOutboxEntry *entry);
int                 pb_outbox_entry_get_error_code   (PbOutboxEntry *entry);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PbOutboxEntry, pb_outbox_entry_unref)

/*
 * The durable outbox: messages waiting to be sent through their account's transport (SMTP),
 * then copied to the account's Sent folder (pb_remote_store_append_async()).
 *
 * On disk it is one directory, by default $XDG_DATA_HOME/postbote/outbox, with one
 * subdirectory per message holding message.eml (exactly the bytes to send) and a small state
 * key file that is replaced atomically. A message is on disk (file and directory fsynced)
 * before pb_outbox_queue_finish() returns, and every state change is durable before the next
 * step starts, so a crash or kill at any moment loses nothing and never sends a message twice
 * silently: an entry found in SENDING state at start-up becomes UNCERTAIN.
 *
 * All methods are called on the thread-default main context the outbox was created in; its
 * signals are emitted there too. Disk and network work happens on worker threads.
 *
 * The outbox sends nothing until pb_outbox_start() is called (e.g. after the UI is up, or in
 * postbote-cli send). Messages of the same account are sent one after another, over one SMTP
 * connection when they are ready together.
 */
#define PB_TYPE_OUTBOX (pb_outbox_get_type ())
G_DECLARE_FINAL_TYPE (PbOutbox, pb_outbox, PB, OUTBOX, GObject)

/**
 * pb_outbox_new:
 * @directory: (nullable): the outbox directory; %NULL for $XDG_DATA_HOME/postbote/outbox
 * @accounts: the accounts, to find an entry's transport and remote store by name
 * @store: (nullable): the local store the Sent copy is also written to (passed to
 *   pb_remote_store_append_async()); %NULL skips the Sent copy (tests)
 *
 * Creates the outbox object; nothing is read yet: call pb_outbox_load_async().
 */
PbOutbox      *pb_outbox_new             (const char           *directory,
                                          PbAccountManager     *accounts,
                                          PbStore              *store);
const char    *pb_outbox_get_directory   (PbOutbox             *self);

/* Reads the entries on disk (after a crash: SENDING becomes UNCERTAIN). Call once. */
void           pb_outbox_load_async      (PbOutbox             *self,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
gboolean       pb_outbox_load_finish     (PbOutbox             *self,
                                          GAsyncResult         *result,
                                          GError              **error);

/* Undo-send: seconds a newly queued message waits (WAITING) before it is sent; 5 by default,
 * 0 sends at once. Applies to messages queued afterwards. Property "delay". */
guint          pb_outbox_get_delay       (PbOutbox             *self);
void           pb_outbox_set_delay       (PbOutbox             *self,
                                          guint                 seconds);

/* Starts / stops sending. While stopped (or offline) messages stay queued. Stopping does not
 * interrupt a message that is in SENDING state. Property "running". */
void           pb_outbox_start           (PbOutbox             *self);
void           pb_outbox_stop            (PbOutbox             *self);

/**
 * pb_outbox_queue_async:
 * @account: the name of the account to send from (envelope sender: its address)
 * @message: an RFC 5322 message. Line ends are normalised to CRLF; envelope recipients are
 *   taken from To, Cc and Bcc; the Bcc header is removed from the copy that is sent (and from
 *   the Sent copy); Date and Message-ID are added when missing.
 *
 * Writes the message durably to the outbox. pb_outbox_queue_finish() returns the new entry's
 * id (free with g_free()), in WAITING state (QUEUED when the delay is 0), or fails with
 * PB_OUTBOX_ERROR_INVALID and a clear message.
 */
void           pb_outbox_queue_async     (PbOutbox             *self,
                                          const char           *account,
                                          GBytes               *message,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
/**
 * PbOutboxQueueFlags:
 * @PB_OUTBOX_QUEUE_NONE: the default: a copy goes to the Sent folder
 * @PB_OUTBOX_QUEUE_NO_SENT_COPY: no copy in Sent (servers such as Gmail's file one
 *   themselves)
 */
typedef enum {
  PB_OUTBOX_QUEUE_NONE         = 0,
  PB_OUTBOX_QUEUE_NO_SENT_COPY = 1 << 0,
} PbOutboxQueueFlags;

/* pb_outbox_queue_async() with flags; finish with pb_outbox_queue_finish(). */
void           pb_outbox_queue_full_async (PbOutbox            *self,
                                           const char          *account,
                                           GBytes              *message,
                                           PbOutboxQueueFlags   flags,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
char          *pb_outbox_queue_finish    (PbOutbox             *self,
                                          GAsyncResult         *result,
                                          GError              **error);

/* Withdraws a WAITING, QUEUED, FAILED or UNCERTAIN entry (undo-send, discard) and deletes it
 * from the disk; fails with PB_OUTBOX_ERROR_BUSY once it is SENDING or SENT. */
gboolean       pb_outbox_cancel          (PbOutbox             *self,
                                          const char           *id,
                                          GError              **error);

/* Sends a QUEUED (skipping the backoff), WAITING (skipping the delay), FAILED or UNCERTAIN
 * entry again, now (once the outbox is started). For UNCERTAIN this is the user's explicit
 * decision to risk a duplicate. For SENT only the copy to Sent is tried again, never the
 * sending. Fails with PB_OUTBOX_ERROR_BUSY while the entry is SENDING. */
gboolean       pb_outbox_retry           (PbOutbox             *self,
                                          const char           *id,
                                          GError              **error);

/* All entries, oldest first, as a GPtrArray of PbOutboxEntry. */
GPtrArray     *pb_outbox_list            (PbOutbox             *self);
/* (nullable) (transfer full): the entry, or NULL. */
PbOutboxEntry *pb_outbox_lookup          (PbOutbox             *self,
                                          const char           *id);
/* Only one process sends from an outbox directory at a time (a lock file): FALSE while
 * another one (the app, postbote-cli) holds it; this outbox then queues and lists, and starts
 * sending once the other lets go. */
gboolean       pb_outbox_has_lock        (PbOutbox             *self);
/* TRUE when nothing is waiting, queued, sending or sent-but-not-copied: every entry is done,
 * failed or uncertain. Property "idle"; postbote-cli waits for it. */
gboolean       pb_outbox_is_idle         (PbOutbox             *self);

/*
 * Signals:
 *
 * PbOutbox::entry-changed (PbOutbox *outbox, PbOutboxEntry *entry, gpointer user_data)
 *   An entry was added, changed state, or got a new error (also on a temporary error: state
 *   QUEUED with pb_outbox_entry_get_error() set). The last signal of an entry has state DONE.
 *
 * Properties: "delay" (guint), "running" (gboolean), "idle" (gboolean, read-only, notify).
 */

G_END_DECLS
