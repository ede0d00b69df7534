/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>
#include <gmodule.h>

G_BEGIN_DECLS

/*
 * The contract between the app and its HTML module (postbote-html.so, pb-html-view.c).
 *
 * WebKitGTK and what it pulls in (JavaScriptCore, ICU, GStreamer, libsoup: about a hundred
 * libraries) cost a third of the app's start-up when linked into the executable: the dynamic
 * loader relocates them all before main(). Only HTML mail needs them, so they live in a
 * module that the reader loads on a worker thread after the window's first frame
 * (pb-html-loader.c). The module knows nothing of the engine: the reader hands it a function
 * that looks up cid: parts.
 *
 * Bump PB_HTML_MODULE_ABI whenever this header changes: the loader refuses a module built
 * against another version instead of calling through a struct of another shape.
 */
#define PB_HTML_MODULE_ABI 1
#define PB_HTML_MODULE_FILE "postbote-html.so"

/**
 * PbHtmlLookupFunc:
 * @uri: a cid: URI from the document
 * @content_type: (out): the part's content type, when found
 * @user_data: what was passed with the function
 *
 * Returns: (transfer full) (nullable): the part's bytes, or %NULL if the message has none
 */
typedef GBytes *(*PbHtmlLookupFunc) (const char  *uri,
                                     char       **content_type,
                                     gpointer     user_data);

typedef struct {
  guint       abi;
  GtkWidget *(*view_new)         (const char       *html,
                                  gboolean          allow_remote,
                                  PbHtmlLookupFunc  lookup,
                                  gpointer          user_data,
                                  GDestroyNotify    destroy);
  gpointer   (*get_web_view)     (GtkWidget        *view);
  gboolean   (*get_loaded)       (GtkWidget        *view);
  gboolean   (*get_allow_remote) (GtkWidget        *view);
} PbHtmlModule;

typedef const PbHtmlModule *(*PbHtmlModuleGetFunc) (void);

/* The one symbol the module exports. */
#define PB_HTML_MODULE_SYMBOL "pb_html_module_get"

G_END_DECLS
