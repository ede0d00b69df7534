/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "pb-message-render.h"

G_BEGIN_DECLS

/*
 * HTML parts in WebKit views, from the HTML module (see pb-html-module.h); the functions
 * load it on first use if pb_html_view_preload() has not already.
 */
void       pb_html_view_preload          (void);
GtkWidget *pb_html_view_new              (PbMessageRender *render,
                                          const char      *html,
                                          gboolean         allow_remote,
                                          GError         **error);
/* (transfer none): the view's WebKitWebView, for tests (snapshots) */
gpointer   pb_html_view_get_web_view     (GtkWidget       *view);
gboolean   pb_html_view_get_loaded       (GtkWidget       *view);
gboolean   pb_html_view_get_allow_remote (GtkWidget       *view);

G_END_DECLS
