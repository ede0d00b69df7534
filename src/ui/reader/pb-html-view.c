/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-reader"

#include "config.h"

#include <glib/gi18n.h>

#include <webkit/webkit.h>

#include "pb-html-module.h"

/*
 * The HTML module (postbote-html.so; pb-html-module.h says why it is a module).
 *
 * One HTML part of a message in its own WebKit view: each part is its own document, never
 * joined with another. Safe by default, following TESTING.md's recipe:
 * - no JavaScript (neither in the page nor from markup);
 * - no network: a Content-Security-Policy that allows only cid: and data: images, fonts and
 *   inline styles, plus a content filter that blocks http(s), ws(s) and ftp outright (the
 *   filter catches what CSP does not govern, such as prefetches), in an ephemeral network
 *   session so nothing is cached or kept on disk;
 * - a cid: scheme that serves the parts of this message only;
 * - decide-policy lets through only the initial load of the view's own document; a click on a
 *   link opens the browser, and nothing else navigates.
 * With @allow_remote (the user clicked "Show" or trusts the sender) the filter is left out and
 * the policy allows http(s) images, styles and fonts; scripts, frames and forms stay off.
 *
 * The document stays on a light canvas whatever the theme: mail HTML is written for white
 * paper and often sets dark text without a background, so darkening it makes it unreadable.
 * The reader around it follows the theme.
 */

#define CSP_BLOCKED "default-src 'none'; img-src cid: data:; style-src 'unsafe-inline'; " \
                    "font-src cid: data:"
#define CSP_REMOTE "default-src 'none'; img-src cid: data: http: https:; " \
                   "style-src 'unsafe-inline' http: https:; font-src cid: data: http: https:"

#define FILTER_ID "pb-block-remote-1"
#define FILTER_JSON "[" \
  "{\"trigger\":{\"url-filter\":\"^https?:\"},\"action\":{\"type\":\"block\"}}," \
  "{\"trigger\":{\"url-filter\":\"^wss?:\"},\"action\":{\"type\":\"block\"}}," \
  "{\"trigger\":{\"url-filter\":\"^ftp:\"},\"action\":{\"type\":\"block\"}}" \
  "]"

#define PB_TYPE_HTML_VIEW (pb_html_view_get_type ())
G_DECLARE_FINAL_TYPE (PbHtmlView, pb_html_view, PB, HTML_VIEW, GtkWidget)

struct _PbHtmlView
{
  GtkWidget        parent_instance;

  WebKitWebView   *web_view;
  PbHtmlLookupFunc lookup;
  gpointer         lookup_data;
  GDestroyNotify   lookup_destroy;
  char            *html;
  char            *base_uri;
  gboolean         allow_remote;
  gboolean         initial_load_started;
  gboolean         loaded;
};

G_DEFINE_FINAL_TYPE (PbHtmlView, pb_html_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_LOADED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Shared by every view: one web context with the cid: scheme, one ephemeral session, and the
 * compiled content filter (compiled once, asynchronously; views wait for it). */
static WebKitWebContext *shared_context;
static WebKitNetworkSession *shared_session;
static WebKitUserContentFilter *shared_filter;
static WebKitUserContentFilterStore *filter_store;
static GPtrArray *waiting_for_filter;
static gboolean filter_failed;

static void pb_html_view_start_load (PbHtmlView *self);

static void
cid_request_cb (WebKitURISchemeRequest *request,
                gpointer                user_data)
{
  WebKitWebView *web_view = webkit_uri_scheme_request_get_web_view (request);
  PbHtmlView *self = web_view != NULL ? g_object_get_data (G_OBJECT (web_view), "pb-html-view")
                                      : NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *content_type = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;

  if (self != NULL && self->lookup != NULL)
    bytes = self->lookup (webkit_uri_scheme_request_get_uri (request), &content_type,
                          self->lookup_data);
  if (bytes == NULL)
    {
      error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No such part in this message");
      webkit_uri_scheme_request_finish_error (request, error);
      return;
    }
  stream = g_memory_input_stream_new_from_bytes (bytes);
  webkit_uri_scheme_request_finish (request, stream, g_bytes_get_size (bytes),
                                    content_type != NULL ? content_type
                                                         : "application/octet-stream");
}

static void
ensure_shared (void)
{
  if (shared_context != NULL)
    return;
  shared_context = webkit_web_context_new ();
  webkit_web_context_set_cache_model (shared_context, WEBKIT_CACHE_MODEL_DOCUMENT_VIEWER);
  webkit_web_context_register_uri_scheme (shared_context, "cid", cid_request_cb, NULL, NULL);
  shared_session = webkit_network_session_new_ephemeral ();
  waiting_for_filter = g_ptr_array_new ();
}

static void
filter_saved_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) waiting = NULL;

  shared_filter = webkit_user_content_filter_store_save_finish (filter_store, result, &error);
  if (shared_filter == NULL)
    {
      /* Fail closed: without the filter no HTML is shown. */
      g_warning ("Could not compile the remote-content filter: %s", error->message);
      filter_failed = TRUE;
    }
  waiting = g_steal_pointer (&waiting_for_filter);
  waiting_for_filter = g_ptr_array_new ();
  for (guint i = 0; i < waiting->len; i++)
    {
      GWeakRef *ref = g_ptr_array_index (waiting, i);
      g_autoptr(PbHtmlView) view = g_weak_ref_get (ref);

      if (view != NULL)
        pb_html_view_start_load (view);
      g_weak_ref_clear (ref);
      g_free (ref);
    }
}

static void
compile_filter (void)
{
  g_autofree char *path = g_build_filename (g_get_user_cache_dir (), "postbote",
                                            "content-filters", NULL);
  g_autoptr(GBytes) source = g_bytes_new_static (FILTER_JSON, strlen (FILTER_JSON));

  g_mkdir_with_parents (path, 0700);
  filter_store = webkit_user_content_filter_store_new (path);
  webkit_user_content_filter_store_save (filter_store, FILTER_ID, source, NULL,
                                         filter_saved_cb, NULL);
}

static void
open_uri (PbHtmlView *self,
          const char *uri)
{
  g_autofree char *scheme = g_uri_parse_scheme (uri);
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  /* Only what a browser or a mail client handles; never file: or an app's own scheme. */
  if (scheme == NULL || !(g_ascii_strcasecmp (scheme, "http") == 0
                          || g_ascii_strcasecmp (scheme, "https") == 0
                          || g_ascii_strcasecmp (scheme, "mailto") == 0))
    return;
#if GTK_CHECK_VERSION (4, 10, 0)
  {
    g_autoptr(GtkUriLauncher) launcher = gtk_uri_launcher_new (uri);

    gtk_uri_launcher_launch (launcher, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, NULL,
                             NULL, NULL);
  }
#else
  gtk_show_uri (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, uri, GDK_CURRENT_TIME);
#endif
}

static gboolean
decide_policy_cb (WebKitWebView            *web_view,
                  WebKitPolicyDecision     *decision,
                  WebKitPolicyDecisionType  type,
                  PbHtmlView               *self)
{
  WebKitNavigationAction *action;
  const char *uri;

  if (type == WEBKIT_POLICY_DECISION_TYPE_RESPONSE)
    {
      WebKitResponsePolicyDecision *response = WEBKIT_RESPONSE_POLICY_DECISION (decision);

      /* Nothing is ever downloaded from a message view. */
      if (webkit_response_policy_decision_is_mime_type_supported (response))
        webkit_policy_decision_use (decision);
      else
        webkit_policy_decision_ignore (decision);
      return TRUE;
    }

  action = webkit_navigation_policy_decision_get_navigation_action (
             WEBKIT_NAVIGATION_POLICY_DECISION (decision));
  uri = webkit_uri_request_get_uri (webkit_navigation_action_get_request (action));

  if (type == WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION && !self->initial_load_started
      && g_strcmp0 (uri, self->base_uri) == 0)
    {
      self->initial_load_started = TRUE;
      webkit_policy_decision_use (decision);
      return TRUE;
    }

  if (webkit_navigation_action_get_navigation_type (action) == WEBKIT_NAVIGATION_TYPE_LINK_CLICKED
      && webkit_navigation_action_is_user_gesture (action))
    open_uri (self, uri);
  webkit_policy_decision_ignore (decision);
  return TRUE;
}

/* Keeps only copying in the context menu: no "Open image in new window", no downloads. */
static gboolean
context_menu_cb (WebKitWebView       *web_view,
                 WebKitContextMenu   *menu,
                 WebKitHitTestResult *hit_test_result,
                 PbHtmlView          *self)
{
  GList *items = g_list_copy (webkit_context_menu_get_items (menu));

  for (GList *l = items; l != NULL; l = l->next)
    {
      WebKitContextMenuItem *item = l->data;

      switch (webkit_context_menu_item_get_stock_action (item))
        {
        case WEBKIT_CONTEXT_MENU_ACTION_COPY:
        case WEBKIT_CONTEXT_MENU_ACTION_COPY_LINK_TO_CLIPBOARD:
        case WEBKIT_CONTEXT_MENU_ACTION_SELECT_ALL:
          break;
        default:
          webkit_context_menu_remove (menu, item);
          break;
        }
    }
  g_list_free (items);
  return webkit_context_menu_get_n_items (menu) == 0;
}

static void
load_changed_cb (WebKitWebView   *web_view,
                 WebKitLoadEvent  event,
                 PbHtmlView      *self)
{
  if (event == WEBKIT_LOAD_FINISHED && !self->loaded)
    {
      self->loaded = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
    }
}

static void
pb_html_view_start_load (PbHtmlView *self)
{
  if (!self->allow_remote)
    {
      if (shared_filter == NULL)
        {
          if (filter_failed)
            return;
          /* Not compiled yet: load once it is. */
          GWeakRef *ref = g_new0 (GWeakRef, 1);

          g_weak_ref_init (ref, self);
          g_ptr_array_add (waiting_for_filter, ref);
          if (filter_store == NULL)
            compile_filter ();
          return;
        }
      webkit_user_content_manager_add_filter (
        webkit_web_view_get_user_content_manager (self->web_view), shared_filter);
    }
  webkit_web_view_load_html (self->web_view, self->html, self->base_uri);
}

/* PbHtmlModule.view_new: @lookup serves the message's cid: parts; @destroy frees
 * @user_data with the view. Returns a floating reference. */
static GtkWidget *
pb_html_view_new (const char       *html,
                  gboolean          allow_remote,
                  PbHtmlLookupFunc  lookup,
                  gpointer          user_data,
                  GDestroyNotify    destroy)
{
  static guint counter;
  PbHtmlView *self;
  WebKitSettings *settings;
  GdkRGBA white = { 1, 1, 1, 1 };

  g_return_val_if_fail (html != NULL, NULL);

  ensure_shared ();
  self = g_object_new (PB_TYPE_HTML_VIEW, NULL);
  self->lookup = lookup;
  self->lookup_data = user_data;
  self->lookup_destroy = destroy;
  self->html = g_strdup (html);
  self->allow_remote = allow_remote;
  self->base_uri = g_strdup_printf ("postbote-message:///part/%u", ++counter);

  settings = webkit_settings_new ();
  webkit_settings_set_enable_javascript (settings, FALSE);
  webkit_settings_set_enable_javascript_markup (settings, FALSE);
  webkit_settings_set_auto_load_images (settings, TRUE);
  webkit_settings_set_enable_html5_local_storage (settings, FALSE);
  webkit_settings_set_enable_html5_database (settings, FALSE);
  webkit_settings_set_enable_page_cache (settings, FALSE);
  webkit_settings_set_enable_webgl (settings, FALSE);
  webkit_settings_set_enable_webaudio (settings, FALSE);
  webkit_settings_set_enable_webrtc (settings, FALSE);
  webkit_settings_set_enable_media (settings, FALSE);
  webkit_settings_set_enable_media_stream (settings, FALSE);
  webkit_settings_set_enable_mediasource (settings, FALSE);
  webkit_settings_set_enable_encrypted_media (settings, FALSE);
  webkit_settings_set_enable_fullscreen (settings, FALSE);
  webkit_settings_set_enable_developer_extras (settings, FALSE);
  webkit_settings_set_enable_back_forward_navigation_gestures (settings, FALSE);
  webkit_settings_set_allow_file_access_from_file_urls (settings, FALSE);
  webkit_settings_set_allow_universal_access_from_file_urls (settings, FALSE);
  webkit_settings_set_allow_top_navigation_to_data_urls (settings, FALSE);
  webkit_settings_set_javascript_can_open_windows_automatically (settings, FALSE);
  webkit_settings_set_javascript_can_access_clipboard (settings, FALSE);
  webkit_settings_set_allow_modal_dialogs (settings, FALSE);
  webkit_settings_set_media_playback_requires_user_gesture (settings, TRUE);

  self->web_view = g_object_new (WEBKIT_TYPE_WEB_VIEW,
                                 "web-context", shared_context,
                                 "network-session", shared_session,
                                 "settings", settings,
                                 "default-content-security-policy",
                                 allow_remote ? CSP_REMOTE : CSP_BLOCKED,
                                 "hexpand", TRUE,
                                 "vexpand", TRUE,
                                 NULL);
  g_object_unref (settings);
  g_object_set_data (G_OBJECT (self->web_view), "pb-html-view", self);
  webkit_web_view_set_background_color (self->web_view, &white);
  gtk_widget_set_parent (GTK_WIDGET (self->web_view), GTK_WIDGET (self));
  g_signal_connect_object (self->web_view, "decide-policy", G_CALLBACK (decide_policy_cb), self, 0);
  g_signal_connect_object (self->web_view, "context-menu", G_CALLBACK (context_menu_cb), self, 0);
  g_signal_connect_object (self->web_view, "load-changed", G_CALLBACK (load_changed_cb), self, 0);

  pb_html_view_start_load (self);
  return GTK_WIDGET (self);
}

/* The WebKit view, for tests (snapshots). */
static gpointer
pb_html_view_get_web_view (GtkWidget *view)
{
  g_return_val_if_fail (PB_IS_HTML_VIEW (view), NULL);
  return PB_HTML_VIEW (view)->web_view;
}

/* Whether the document finished loading. */
static gboolean
pb_html_view_get_loaded (GtkWidget *view)
{
  g_return_val_if_fail (PB_IS_HTML_VIEW (view), FALSE);
  return PB_HTML_VIEW (view)->loaded;
}

/* Whether remote content may load in this view. */
static gboolean
pb_html_view_get_allow_remote (GtkWidget *view)
{
  g_return_val_if_fail (PB_IS_HTML_VIEW (view), FALSE);
  return PB_HTML_VIEW (view)->allow_remote;
}

static const PbHtmlModule module_funcs = {
  .abi = PB_HTML_MODULE_ABI,
  .view_new = pb_html_view_new,
  .get_web_view = pb_html_view_get_web_view,
  .get_loaded = pb_html_view_get_loaded,
  .get_allow_remote = pb_html_view_get_allow_remote,
};

G_MODULE_EXPORT const PbHtmlModule *pb_html_module_get (void);

/* The module's one exported symbol (PB_HTML_MODULE_SYMBOL). */
G_MODULE_EXPORT const PbHtmlModule *
pb_html_module_get (void)
{
  return &module_funcs;
}

static void
pb_html_view_dispose (GObject *object)
{
  PbHtmlView *self = PB_HTML_VIEW (object);

  if (self->web_view != NULL)
    {
      g_object_set_data (G_OBJECT (self->web_view), "pb-html-view", NULL);
      webkit_web_view_stop_loading (self->web_view);
      gtk_widget_unparent (GTK_WIDGET (self->web_view));
      self->web_view = NULL;
    }
  if (self->lookup_destroy != NULL)
    g_clear_pointer (&self->lookup_data, self->lookup_destroy);
  self->lookup = NULL;
  G_OBJECT_CLASS (pb_html_view_parent_class)->dispose (object);
}

static void
pb_html_view_finalize (GObject *object)
{
  PbHtmlView *self = PB_HTML_VIEW (object);

  g_free (self->html);
  g_free (self->base_uri);
  G_OBJECT_CLASS (pb_html_view_parent_class)->finalize (object);
}

static void
pb_html_view_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  PbHtmlView *self = PB_HTML_VIEW (object);

  switch (prop_id)
    {
    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_html_view_class_init (PbHtmlViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pb_html_view_dispose;
  object_class->finalize = pb_html_view_finalize;
  object_class->get_property = pb_html_view_get_property;

  /**
   * PbHtmlView:loaded:
   *
   * Whether the document finished loading.
   */
  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "pb-html-view");
}

static void
pb_html_view_init (PbHtmlView *self)
{
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
}
