/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * PbMailto:
 * @to: (nullable): the addresses of the path and every `to=`, joined with ", "
 * @cc: (nullable): every `cc=`, joined with ", "
 * @bcc: (nullable): every `bcc=`, joined with ", "
 * @subject: (nullable): the first `subject=`, on one line
 * @body: (nullable): the first `body=`, with LF line ends
 * @in_reply_to: (nullable): the first `in-reply-to=` that looks like a message id
 *
 * What a mailto: URI (RFC 6068) asks to write. Everything is percent-decoded UTF-8 without
 * control characters (the body keeps its line ends and tabs). `attach=`, `attachment=` and
 * every other header are ignored on purpose: a link must never make the composer read a
 * local file or set headers such as From.
 */
typedef struct {
  char *to;
  char *cc;
  char *bcc;
  char *subject;
  char *body;
  char *in_reply_to;
} PbMailto;

/* The longest URI accepted: a body pasted into a link, but nothing unbounded. */
#define PB_MAILTO_MAX_LENGTH (256 * 1024)
/* The most `hfname=hfvalue` pairs read. */
#define PB_MAILTO_MAX_FIELDS 64

PbMailto *pb_mailto_parse (const char  *uri,
                           GError     **error);
void      pb_mailto_free  (PbMailto    *mailto);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PbMailto, pb_mailto_free)

G_END_DECLS
