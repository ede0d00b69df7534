/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Bounds of one rendering: a message with more parts or deeper nesting is shown up to the
 * bound and pb_message_render_get_truncated() says so. */
#define PB_MESSAGE_RENDER_MAX_PARTS 256
#define PB_MESSAGE_RENDER_MAX_DEPTH 12
/* Text shown of one text part; the rest is cut (the part stays whole for Save). */
#define PB_MESSAGE_RENDER_MAX_TEXT (2 * 1024 * 1024)
/* Longest sanitised attachment file name, in bytes. */
#define PB_MESSAGE_RENDER_MAX_FILENAME 120

#define PB_TYPE_MESSAGE_RENDER (pb_message_render_get_type ())
G_DECLARE_FINAL_TYPE (PbMessageRender, pb_message_render, PB, MESSAGE_RENDER, GObject)

/**
 * PbRenderPartKind:
 * @PB_RENDER_PART_TEXT: a text/plain part: #PbRenderPart.lines
 * @PB_RENDER_PART_HTML: a text/html part: #PbRenderPart.html, its own document
 * @PB_RENDER_PART_ALTERNATIVE: a multipart/alternative: #PbRenderPart.alt_text and/or
 *   #PbRenderPart.alt_html, so that the UI can prefer either
 * @PB_RENDER_PART_ATTACHMENT: anything else, or a part the sender marked as attachment
 * @PB_RENDER_PART_MESSAGE: a message/rfc822 part: #PbRenderPart.message
 */
typedef enum {
  PB_RENDER_PART_TEXT,
  PB_RENDER_PART_HTML,
  PB_RENDER_PART_ALTERNATIVE,
  PB_RENDER_PART_ATTACHMENT,
  PB_RENDER_PART_MESSAGE,
} PbRenderPartKind;

/**
 * PbRenderAddress:
 * @name: (nullable): the display name, decoded, one line
 * @address: the address itself (addr-spec), possibly empty but never %NULL
 */
typedef struct {
  char *name;
  char *address;
} PbRenderAddress;

/**
 * PbRenderLine:
 * @level: the quote level (0 for the sender's own text)
 * @text: the line without its quote marks; a flowed paragraph is one line
 */
typedef struct {
  guint  level;
  char  *text;
} PbRenderLine;

typedef struct _PbRenderPart PbRenderPart;

/**
 * PbRenderPart:
 * @kind: what the part is
 * @index: its number in pb_message_render_get_part() (every leaf and nested message has
 *   one; an alternative has G_MAXUINT)
 * @content_type: lower-case "type/subtype"
 * @content_id: (nullable): the Content-ID without angle brackets
 * @filename: a sanitised file name for Save (always set for leaves and messages)
 * @is_inline: the sender asked for the part to be shown inline
 * @size: the decoded size in bytes
 * @bytes: (nullable): the decoded content (for a nested message: the message as bytes)
 * @lines: (element-type PbRenderLine): text parts: the lines
 * @html: (nullable): HTML parts: the document as valid UTF-8
 * @has_remote_content: HTML parts: the document refers to something on the network
 * @alt_text: (nullable): alternatives: the text/plain choice
 * @alt_html: (nullable): alternatives: the text/html choice
 * @message: (nullable): nested messages: the rendering of that message
 */
struct _PbRenderPart {
  PbRenderPartKind  kind;
  guint             index;
  char             *content_type;
  char             *content_id;
  char             *filename;
  gboolean          is_inline;
  gsize             size;
  GBytes           *bytes;
  GPtrArray        *lines;
  char             *html;
  gboolean          has_remote_content;
  PbRenderPart     *alt_text;
  PbRenderPart     *alt_html;
  PbMessageRender  *message;
};

PbMessageRender   *pb_message_render_new                  (GBytes          *raw,
                                                           GError         **error);
const PbRenderAddress *pb_message_render_get_from         (PbMessageRender *self);
GPtrArray         *pb_message_render_get_to               (PbMessageRender *self);
GPtrArray         *pb_message_render_get_cc               (PbMessageRender *self);
GPtrArray         *pb_message_render_get_reply_to         (PbMessageRender *self);
GDateTime         *pb_message_render_get_date             (PbMessageRender *self);
const char        *pb_message_render_get_subject          (PbMessageRender *self);
GPtrArray         *pb_message_render_get_parts            (PbMessageRender *self);
guint              pb_message_render_get_n_parts          (PbMessageRender *self);
const PbRenderPart *pb_message_render_get_part            (PbMessageRender *self,
                                                           guint            index);
const PbRenderPart *pb_message_render_lookup_content_id   (PbMessageRender *self,
                                                           const char      *content_id);
gboolean           pb_message_render_get_has_remote_content (PbMessageRender *self);
gboolean           pb_message_render_get_truncated        (PbMessageRender *self);

char              *pb_message_render_decode_text          (const char      *data,
                                                           gsize            length,
                                                           const char      *charset);
char              *pb_message_render_sanitize_filename    (const char      *name,
                                                           const char      *content_type);
gboolean           pb_message_render_html_has_remote_content (const char   *html);
char              *pb_message_render_format_address       (const PbRenderAddress *address);

G_END_DECLS
