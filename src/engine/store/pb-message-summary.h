/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * PbMessageFlags:
 * @PB_MESSAGE_FLAG_NONE: no flag
 * @PB_MESSAGE_FLAG_SEEN: read (`\Seen`)
 * @PB_MESSAGE_FLAG_ANSWERED: replied to (`\Answered`)
 * @PB_MESSAGE_FLAG_FLAGGED: starred (`\Flagged`)
 * @PB_MESSAGE_FLAG_DELETED: marked for expunge (`\Deleted`)
 * @PB_MESSAGE_FLAG_DRAFT: a draft (`\Draft`)
 * @PB_MESSAGE_FLAG_FORWARDED: forwarded (`$Forwarded`)
 * @PB_MESSAGE_FLAG_JUNK: junk (`$Junk`)
 * @PB_MESSAGE_FLAG_NOTJUNK: not junk (`$NotJunk`)
 *
 * The flags the store keeps as bits; any other keyword is kept as text. The values are stored
 * in the database and must never change.
 */
typedef enum {
  PB_MESSAGE_FLAG_NONE      = 0,
  PB_MESSAGE_FLAG_SEEN      = 1 << 0,
  PB_MESSAGE_FLAG_ANSWERED  = 1 << 1,
  PB_MESSAGE_FLAG_FLAGGED   = 1 << 2,
  PB_MESSAGE_FLAG_DELETED   = 1 << 3,
  PB_MESSAGE_FLAG_DRAFT     = 1 << 4,
  PB_MESSAGE_FLAG_FORWARDED = 1 << 5,
  PB_MESSAGE_FLAG_JUNK      = 1 << 6,
  PB_MESSAGE_FLAG_NOTJUNK   = 1 << 7,
} PbMessageFlags;

PbMessageFlags pb_message_flag_from_keyword (const char     *keyword);
const char    *pb_message_flag_to_keyword   (PbMessageFlags  flag);

/**
 * PbMessageSummary:
 * @id: the row id in the store, 0 before the summary was stored
 * @folder_id: the folder, 0 before the summary was stored
 * @uid: the UID in the folder (IMAP UID, or the POP3 ledger's number)
 * @flags: the known flags
 * @keywords: (nullable): other keywords, separated by one space
 * @modseq: the CONDSTORE mod-sequence, 0 if unknown
 * @size: the size of the raw message in bytes
 * @internaldate: when the server received the message (Unix time), 0 if unknown
 * @date: the Date header (Unix time); when it is missing the store uses @internaldate
 * @subject: (nullable): decoded subject
 * @from_name: (nullable): decoded display name of the first sender
 * @from_addr: (nullable): address of the first sender
 * @to_list: (nullable): decoded To addresses as display text ("Name <addr>, …")
 * @cc_list: (nullable): decoded Cc addresses as display text
 * @message_id: (nullable): Message-ID without angle brackets
 * @in_reply_to: (nullable): the first In-Reply-To id without angle brackets
 * @references: (nullable): References ids without angle brackets, separated by one space
 * @preview: (nullable): about 200 characters of body text, whitespace collapsed
 * @has_attachment: whether the message carries an attachment (known once the body was seen)
 * @has_body: whether the raw message is stored (only set on summaries read from the store)
 * @account: (nullable): the account, filled by pb_store_search() and pb_store_get_message()
 * @folder_path: (nullable): the folder path, filled like @account
 * @thread_count: how many messages its conversation has in all folders of the account; only
 *   filled by the lists of conversations (see PbMessageList:threads), else 1 or 0
 *
 * What the message list shows about one message. All text is valid UTF-8.
 */
typedef struct {
  gint64          id;
  gint64          folder_id;
  guint32         uid;
  PbMessageFlags  flags;
  char           *keywords;
  guint64         modseq;
  guint64         size;
  gint64          internaldate;
  gint64          date;
  char           *subject;
  char           *from_name;
  char           *from_addr;
  char           *to_list;
  char           *cc_list;
  char           *message_id;
  char           *in_reply_to;
  char           *references;
  char           *preview;
  gboolean        has_attachment;
  gboolean        has_body;
  char           *account;
  char           *folder_path;
  guint           thread_count;
} PbMessageSummary;

#define PB_TYPE_MESSAGE_SUMMARY (pb_message_summary_get_type ())

GType             pb_message_summary_get_type (void) G_GNUC_CONST;
PbMessageSummary *pb_message_summary_new      (void);
PbMessageSummary *pb_message_summary_copy     (const PbMessageSummary *self);
void              pb_message_summary_free     (PbMessageSummary       *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PbMessageSummary, pb_message_summary_free)

/**
 * PbUidFlags:
 * @uid: the UID
 * @flags: its flags
 * @modseq: its mod-sequence, 0 if unknown (in an update: keep the stored one)
 * @keywords: (nullable): other keywords, separated by one space
 *
 * The state of one message as the flag scan of a sync sees it. Arrays of it are made with
 * pb_uid_flags_array_new(), which frees @keywords with the array.
 */
typedef struct {
  guint32         uid;
  PbMessageFlags  flags;
  guint64         modseq;
  char           *keywords;
} PbUidFlags;

GArray *pb_uid_flags_array_new (guint reserved_size);

G_END_DECLS
