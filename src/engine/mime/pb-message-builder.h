/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * PbComposeMode:
 * @PB_COMPOSE_NEW: a new message
 * @PB_COMPOSE_REPLY: a reply to the sender (Reply-To honoured)
 * @PB_COMPOSE_REPLY_ALL: a reply to the sender and every other recipient except oneself
 * @PB_COMPOSE_FORWARD: the original quoted in the body, its attachments carried along
 * @PB_COMPOSE_FORWARD_ATTACHMENT: the original attached whole (message/rfc822)
 *
 * What a composer window starts from.
 */
typedef enum {
  PB_COMPOSE_NEW,
  PB_COMPOSE_REPLY,
  PB_COMPOSE_REPLY_ALL,
  PB_COMPOSE_FORWARD,
  PB_COMPOSE_FORWARD_ATTACHMENT,
} PbComposeMode;

/**
 * PbMessageBuilder:
 *
 * Turns what the user wrote (identity, recipients, subject, text, attachments) into RFC 5322
 * bytes with CRLF line ends, ready for the outbox: UTF-8 text/plain with format=flowed,
 * RFC 2047 headers, RFC 2231 attachment names. Bcc recipients never appear in the headers
 * (unless asked for, for a draft); they are part of the envelope recipients.
 *
 * The setters are cheap and may be called on any thread; pb_message_builder_build() reads
 * attachment files and must not run on the UI thread (use the `_async` variant there).
 */
#define PB_TYPE_MESSAGE_BUILDER (pb_message_builder_get_type ())
G_DECLARE_FINAL_TYPE (PbMessageBuilder, pb_message_builder, PB, MESSAGE_BUILDER, GObject)

PbMessageBuilder *pb_message_builder_new              (const char        *from_name,
                                                       const char        *from_email);
PbMessageBuilder *pb_message_builder_new_for_original (GBytes            *original,
                                                       PbComposeMode      mode,
                                                       const char        *from_name,
                                                       const char        *from_email,
                                                       const char * const *own_addresses,
                                                       GError           **error);

void         pb_message_builder_set_from          (PbMessageBuilder  *self,
                                                   const char        *name,
                                                   const char        *email);
const char  *pb_message_builder_get_from_email    (PbMessageBuilder  *self);
void         pb_message_builder_set_to            (PbMessageBuilder  *self,
                                                   const char        *addresses);
const char  *pb_message_builder_get_to            (PbMessageBuilder  *self);
void         pb_message_builder_set_cc            (PbMessageBuilder  *self,
                                                   const char        *addresses);
const char  *pb_message_builder_get_cc            (PbMessageBuilder  *self);
void         pb_message_builder_set_bcc           (PbMessageBuilder  *self,
                                                   const char        *addresses);
const char  *pb_message_builder_get_bcc           (PbMessageBuilder  *self);
void         pb_message_builder_set_subject       (PbMessageBuilder  *self,
                                                   const char        *subject);
const char  *pb_message_builder_get_subject       (PbMessageBuilder  *self);
void         pb_message_builder_set_body          (PbMessageBuilder  *self,
                                                   const char        *text);
const char  *pb_message_builder_get_body          (PbMessageBuilder  *self);
void         pb_message_builder_set_in_reply_to   (PbMessageBuilder  *self,
                                                   const char        *message_id);
const char  *pb_message_builder_get_in_reply_to   (PbMessageBuilder  *self);
void         pb_message_builder_set_references    (PbMessageBuilder  *self,
                                                   const char        *references);
const char  *pb_message_builder_get_references    (PbMessageBuilder  *self);
void         pb_message_builder_set_date          (PbMessageBuilder  *self,
                                                   GDateTime         *date);
void         pb_message_builder_set_message_id    (PbMessageBuilder  *self,
                                                   const char        *message_id);
const char  *pb_message_builder_get_message_id    (PbMessageBuilder  *self);
void         pb_message_builder_set_include_bcc   (PbMessageBuilder  *self,
                                                   gboolean           include);
void         pb_message_builder_set_allow_8bit    (PbMessageBuilder  *self,
                                                   gboolean           allow);

void         pb_message_builder_add_attachment_file  (PbMessageBuilder  *self,
                                                      GFile             *file);
void         pb_message_builder_add_attachment_bytes (PbMessageBuilder  *self,
                                                      const char        *filename,
                                                      const char        *content_type,
                                                      GBytes            *data);
guint        pb_message_builder_get_n_attachments    (PbMessageBuilder  *self);
const char  *pb_message_builder_get_attachment_name  (PbMessageBuilder  *self,
                                                      guint              index);
GFile       *pb_message_builder_get_attachment_file  (PbMessageBuilder  *self,
                                                      guint              index);
void         pb_message_builder_remove_attachment    (PbMessageBuilder  *self,
                                                      guint              index);

char       **pb_message_builder_get_envelope_recipients (PbMessageBuilder *self,
                                                         GError          **error);
GBytes      *pb_message_builder_build             (PbMessageBuilder  *self,
                                                   GError           **error);
void         pb_message_builder_build_async       (PbMessageBuilder  *self,
                                                   GCancellable      *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer           user_data);
GBytes      *pb_message_builder_build_finish      (PbMessageBuilder  *self,
                                                   GAsyncResult      *result,
                                                   GError           **error);

/* Helpers, public for the tests and the reader. */
char        *pb_message_builder_flow              (const char        *text);
char        *pb_message_builder_unflow            (const char        *flowed,
                                                   gboolean           delsp);
char        *pb_message_builder_sanitize_filename (const char        *name);

G_END_DECLS
