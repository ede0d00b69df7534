/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>
#include <webkit/webkit.h>

#include "pb-message-render.h"

G_BEGIN_DECLS

#define PB_TYPE_HTML_VIEW (pb_html_view_get_type ())
G_DECLARE_FINAL_TYPE (PbHtmlView, pb_html_view, PB, HTML_VIEW, GtkWidget)

GtkWidget     *pb_html_view_new           (PbMessageRender *render,
                                           const char      *html,
                                           gboolean         allow_remote);
WebKitWebView *pb_html_view_get_web_view  (PbHtmlView      *self);
gboolean       pb_html_view_get_loaded    (PbHtmlView      *self);
gboolean       pb_html_view_get_allow_remote (PbHtmlView   *self);

G_END_DECLS
