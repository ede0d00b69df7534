/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "pb-message-render.h"
#include "pb-reader.h"

G_BEGIN_DECLS

/* For tests: what the reader shows. */
PbMessageRender *pb_reader_get_render       (PbReader *self);
GPtrArray       *pb_reader_get_html_views   (PbReader *self);
gboolean         pb_reader_get_remote_shown (PbReader *self);

G_END_DECLS
