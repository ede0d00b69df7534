/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-reader"

#include "config.h"

#include <glib/gi18n.h>

#include "pb-html-module.h"
#include "pb-html-view.h"

/*
 * Loads the HTML module (pb-html-module.h says why it is one) and forwards to it.
 *
 * Where from, in this order:
 * 1. $POSTBOTE_MODULE_DIR, for tests run from the build tree;
 * 2. the executable's own folder, which is where the build puts the module, so that a
 *    binary run from the build tree never picks up an older installed module;
 * 3. PB_MODULEDIR, where `meson install` (and the Flatpak) puts it.
 *
 * pb_html_view_preload() runs the load on a worker thread: dlopen() relocates WebKit there
 * while the main thread goes on drawing. A view wanted before that finished waits for it
 * under the mutex, which is what would have happened anyway.
 */

static GMutex load_lock;
static const PbHtmlModule *module;
static GError *load_error;
static gsize preload_started;

static char *
find_module (void)
{
  const char *env = g_getenv ("POSTBOTE_MODULE_DIR");
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *exe_dir = exe != NULL ? g_path_get_dirname (exe) : NULL;
  const char *dirs[] = { env, exe_dir, PB_MODULEDIR };

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = NULL;

      if (dirs[i] == NULL || *dirs[i] == '\0')
        continue;
      path = g_build_filename (dirs[i], PB_HTML_MODULE_FILE, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&path);
    }
  return g_build_filename (PB_MODULEDIR, PB_HTML_MODULE_FILE, NULL);
}

static void
load_locked (void)
{
  g_autofree char *path = NULL;
  GModule *handle;
  PbHtmlModuleGetFunc get = NULL;
  const PbHtmlModule *found;

  if (module != NULL || load_error != NULL)
    return;

  path = find_module ();
  /* Local symbols: nothing of WebKit's leaks into the global namespace. */
  handle = g_module_open (path, G_MODULE_BIND_LOCAL);
  if (handle == NULL)
    {
      g_set_error (&load_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("The HTML viewer (%s) could not be loaded: %s. Reinstall Postbote."),
                   path, g_module_error ());
      g_warning ("%s", load_error->message);
      return;
    }
  if (!g_module_symbol (handle, PB_HTML_MODULE_SYMBOL, (gpointer *) &get) || get == NULL
      || (found = get ()) == NULL || found->abi != PB_HTML_MODULE_ABI)
    {
      g_set_error (&load_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("The HTML viewer (%s) belongs to another version of Postbote. "
                     "Reinstall Postbote."), path);
      g_warning ("%s", load_error->message);
      g_module_close (handle);
      return;
    }
  /* The module registers GTypes, which cannot be unregistered. */
  g_module_make_resident (handle);
  module = found;
}

static const PbHtmlModule *
get_module (GError **error)
{
  const PbHtmlModule *result;

  g_mutex_lock (&load_lock);
  load_locked ();
  result = module;
  if (result == NULL && error != NULL)
    *error = g_error_copy (load_error);
  g_mutex_unlock (&load_lock);
  return result;
}

static gpointer
preload_thread (gpointer data)
{
  get_module (NULL);
  return NULL;
}

/**
 * pb_html_view_preload:
 *
 * Starts loading the HTML module on a worker thread, once per process. Call it after the
 * first frame: while dlopen() runs it holds the dynamic loader's lock, which GTK's own
 * module loading during start-up would wait for.
 */
void
pb_html_view_preload (void)
{
  if (g_once_init_enter (&preload_started))
    {
      g_thread_unref (g_thread_new ("pb-html-load", preload_thread, NULL));
      g_once_init_leave (&preload_started, 1);
    }
}

static GBytes *
lookup_cid (const char  *uri,
            char       **content_type,
            gpointer     user_data)
{
  const PbRenderPart *part = pb_message_render_lookup_content_id (user_data, uri);

  if (part == NULL || part->bytes == NULL)
    return NULL;
  *content_type = g_strdup (part->content_type);
  return g_bytes_ref (part->bytes);
}

/**
 * pb_html_view_new:
 * @render: the message the document belongs to, for its cid: parts
 * @html: the document
 * @allow_remote: whether remote images, styles and fonts may load
 * @error: why there is no view (the module could not be loaded)
 *
 * Returns: (transfer floating) (nullable): a view of @html
 */
GtkWidget *
pb_html_view_new (PbMessageRender *render,
                  const char      *html,
                  gboolean         allow_remote,
                  GError         **error)
{
  const PbHtmlModule *funcs;

  g_return_val_if_fail (PB_IS_MESSAGE_RENDER (render), NULL);
  g_return_val_if_fail (html != NULL, NULL);

  funcs = get_module (error);
  if (funcs == NULL)
    return NULL;
  return funcs->view_new (html, allow_remote, lookup_cid, g_object_ref (render),
                          g_object_unref);
}

/* The accessors are only ever asked about views, so the module is loaded by then. */
static const PbHtmlModule *
loaded_module (void)
{
  const PbHtmlModule *funcs = get_module (NULL);

  g_return_val_if_fail (funcs != NULL, NULL);
  return funcs;
}

gpointer
pb_html_view_get_web_view (GtkWidget *view)
{
  const PbHtmlModule *funcs = loaded_module ();

  return funcs != NULL ? funcs->get_web_view (view) : NULL;
}

gboolean
pb_html_view_get_loaded (GtkWidget *view)
{
  const PbHtmlModule *funcs = loaded_module ();

  return funcs != NULL && funcs->get_loaded (view);
}

gboolean
pb_html_view_get_allow_remote (GtkWidget *view)
{
  const PbHtmlModule *funcs = loaded_module ();

  return funcs != NULL && funcs->get_allow_remote (view);
}
