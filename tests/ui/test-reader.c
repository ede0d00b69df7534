/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <webkit/webkit.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "pb-attachment-row.h"
#include "pb-engine.h"
#include "pb-html-view.h"
#include "pb-reader-private.h"
#include "pb-store.h"
#include "pb-test-server.h"
#include "pb-test-util.h"

/*
 * The reader in a real window under Xvfb:
 * - fixtures shown from raw bytes: headers, text with quote levels, HTML (snapshot of the
 *   WebKit view, including a cid: image), attachments, charsets, a subject with markup;
 * - a 1.5 MB text message: how long the main loop stalls while it is shown (reported);
 * - remote content: an HTML mail full of references to a local HTTP server started here
 *   causes no request until "Show", then requests arrive; "Always for this sender" persists;
 * - the demo account on the harness's Dovecot, synced with bodies kept only for one day, so
 *   that the reader has to download the body of the older messages it shows.
 * Screenshots go to <build>/tests/ui/screenshots/reader-*.png.
 */

typedef gboolean (*Condition) (gpointer data);

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
spin_for (guint ms)
{
  gboolean timed_out = FALSE;

  g_timeout_add (ms, timeout_cb, &timed_out);
  while (!timed_out)
    g_main_context_iteration (NULL, TRUE);
}

static void
wait_until (Condition   condition,
            gpointer    data,
            const char *what)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (!condition (data))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Timed out waiting for %s", what);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static GtkWidget *
find_widget (GtkWidget  *root,
             const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
collect_widgets (GtkWidget  *root,
                 GType       type,
                 GPtrArray  *out)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    g_ptr_array_add (out, root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_widgets (child, type, out);
}

static const char *
label_text (PbReader   *reader,
            const char *name)
{
  GtkWidget *label = find_widget (GTK_WIDGET (reader), name);

  g_assert_nonnull (label);
  g_assert_false (gtk_label_get_use_markup (GTK_LABEL (label)));
  return gtk_label_get_text (GTK_LABEL (label));
}

/* The text of every text part, joined. */
static void
collect_named (GtkWidget  *root,
               const char *name,
               GPtrArray  *out)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    g_ptr_array_add (out, root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_named (child, name, out);
}

static gboolean
text_views_settled (gpointer data)
{
  g_autoptr(GPtrArray) views = g_ptr_array_new ();

  collect_named (GTK_WIDGET (data), "text-part", views);
  for (guint i = 0; i < views->len; i++)
    {
      GtkWidget *view = views->pdata[i];
      int min = 0, nat = 0;

      if (GTK_IS_SCROLLED_WINDOW (gtk_widget_get_parent (view)))
        continue;
      gtk_widget_measure (view, GTK_ORIENTATION_VERTICAL, gtk_widget_get_width (view), &min,
                          &nat, NULL, NULL);
      if (gtk_widget_get_height (view) != nat || nat <= 24)
        return FALSE;
    }
  return TRUE;
}

/* The text of every text part, one per line; each must really take its space on screen,
 * which GTK 4.8's text view inside a box once failed to do. */
static char *
body_text (PbReader *reader)
{
  g_autoptr(GPtrArray) views = g_ptr_array_new ();
  GString *out = g_string_new (NULL);

  wait_until (text_views_settled, reader, "the text views to get their height");
  collect_named (GTK_WIDGET (reader), "text-part", views);
  for (guint i = 0; i < views->len; i++)
    {
      GtkTextBuffer *buffer = gtk_text_view_get_buffer (g_ptr_array_index (views, i));
      GtkTextIter start, end;
      g_autofree char *text = NULL;
      int min = 0, nat = 0;

      gtk_text_buffer_get_bounds (buffer, &start, &end);
      text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
      if (gtk_widget_get_height (views->pdata[i]) <= 24)
        {
          gtk_widget_measure (views->pdata[i], GTK_ORIENTATION_VERTICAL,
                              gtk_widget_get_width (views->pdata[i]), &min, &nat, NULL, NULL);
          g_test_message ("text view “%s”: %d x %d, natural height %d, mapped %d", text,
                          gtk_widget_get_width (views->pdata[i]),
                          gtk_widget_get_height (views->pdata[i]), nat,
                          gtk_widget_get_mapped (views->pdata[i]));
        }
      g_clear_pointer (&text, g_free);
      g_assert_cmpint (gtk_widget_get_height (views->pdata[i]), >, 24);
      /* Among other parts, in a box, it must have grown to its whole height. */
      if (!GTK_IS_SCROLLED_WINDOW (gtk_widget_get_parent (views->pdata[i])))
        {
          gtk_widget_measure (views->pdata[i], GTK_ORIENTATION_VERTICAL,
                              gtk_widget_get_width (views->pdata[i]), &min, &nat, NULL, NULL);
          g_assert_cmpint (gtk_widget_get_height (views->pdata[i]), ==, nat);
        }
      gtk_text_buffer_get_bounds (buffer, &start, &end);
      text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
      g_string_append (out, text);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

static GPtrArray *
attachment_rows (PbReader *reader)
{
  GPtrArray *rows = g_ptr_array_new ();

  collect_widgets (GTK_WIDGET (reader), PB_TYPE_ATTACHMENT_ROW, rows);
  return rows;
}

static gboolean
reader_settled (gpointer data)
{
  PbReaderState state = pb_reader_get_state (data);

  return state == PB_READER_STATE_SHOWN || state == PB_READER_STATE_ERROR;
}

static gboolean
html_views_loaded (gpointer data)
{
  GPtrArray *views = pb_reader_get_html_views (data);

  for (guint i = 0; i < views->len; i++)
    if (!pb_html_view_get_loaded (g_ptr_array_index (views, i)))
      return FALSE;
  return TRUE;
}

static void
wait_shown (PbReader *reader)
{
  wait_until (reader_settled, reader, "the reader to show the message");
  if (pb_reader_get_state (reader) == PB_READER_STATE_ERROR)
    {
      GtkWidget *page = find_widget (GTK_WIDGET (reader), "error-page");

      g_error ("The reader shows an error: %s",
               adw_status_page_get_description (ADW_STATUS_PAGE (page)));
    }
  wait_until (html_views_loaded, reader, "the HTML views to load");
  /* Layout and a frame. */
  spin_for (150);

}

static GBytes *
fixture_bytes (const char *name)
{
  g_autofree char *path = g_build_filename (g_getenv ("PB_TEST_SRCDIR"), "data", "mime", name,
                                            NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  return g_bytes_new_take (contents, length);
}

static void
show_fixture (PbReader   *reader,
              const char *name)
{
  g_autoptr(GBytes) raw = fixture_bytes (name);

  pb_reader_show_raw (reader, raw);
  wait_shown (reader);
}

/* Screenshots --------------------------------------------------------------------------- */

static GdkTexture *
render_widget (GtkWidget *widget)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  GtkSnapshot *snapshot;
  GskRenderer *renderer;
  int width, height;

  gtk_test_widget_wait_for_draw (widget);
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);

  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

static guint
count_colours (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  gsize stride = (gsize) width * 4;
  g_autofree guchar *pixels = g_malloc (stride * height);
  g_autoptr(GHashTable) colours = g_hash_table_new (NULL, NULL);

  gdk_texture_download (texture, pixels, stride);
  for (int y = 0; y < height; y += 3)
    for (int x = 0; x < width; x += 3)
      {
        guint32 pixel;

        memcpy (&pixel, pixels + y * stride + x * 4, sizeof pixel);
        g_hash_table_add (colours, GUINT_TO_POINTER (pixel));
      }
  return g_hash_table_size (colours);
}

/* Pixels close to @r, @g, @b (gdk_texture_download gives B, G, R, A in memory). */
static guint
count_pixels_near (GdkTexture *texture,
                   guchar      r,
                   guchar      g,
                   guchar      b)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  gsize stride = (gsize) width * 4;
  g_autofree guchar *pixels = g_malloc (stride * height);
  guint n = 0;

  gdk_texture_download (texture, pixels, stride);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        const guchar *p = pixels + y * stride + x * 4;

        if (ABS (p[2] - r) < 24 && ABS (p[1] - g) < 24 && ABS (p[0] - b) < 24)
          n++;
      }
  return n;
}

static GdkTexture *web_snapshot (WebKitWebView *web_view);

static cairo_surface_t *
texture_to_surface (GdkTexture *texture)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32,
                                                         gdk_texture_get_width (texture),
                                                         gdk_texture_get_height (texture));

  cairo_surface_flush (surface);
  gdk_texture_download (texture, cairo_image_surface_get_data (surface),
                        cairo_image_surface_get_stride (surface));
  cairo_surface_mark_dirty (surface);
  return surface;
}

/* The window as GTK draws it, with what each WebKit view shows pasted in: GTK's own snapshot
 * of a web view is empty here, WebKit's snapshot is not. */
static void
save_screenshot (GtkWidget  *widget,
                 const char *file_name)
{
  g_autoptr(GdkTexture) texture = render_widget (widget);
  const char *builddir = g_getenv ("PB_TEST_BUILDDIR");
  g_autofree char *dir = g_build_filename (builddir != NULL ? builddir : ".", "ui", "screenshots",
                                           NULL);
  g_autofree char *path = g_build_filename (dir, file_name, NULL);
  g_autoptr(GPtrArray) views = g_ptr_array_new ();
  cairo_surface_t *surface = texture_to_surface (texture);
  cairo_t *cr = cairo_create (surface);

  /* The web views come from the HTML module; WebKit's own type finds them. */
  collect_widgets (widget, WEBKIT_TYPE_WEB_VIEW, views);
  for (guint i = 0; i < views->len; i++)
    {
      GtkWidget *web = g_ptr_array_index (views, i);
      g_autoptr(GdkTexture) page = NULL;
      cairo_surface_t *page_surface;
      graphene_rect_t bounds;

      if (!gtk_widget_get_mapped (web) || gtk_widget_get_height (web) == 0
          || !gtk_widget_compute_bounds (web, widget, &bounds))
        continue;
      page = web_snapshot (WEBKIT_WEB_VIEW (web));
      page_surface = texture_to_surface (page);
      cairo_save (cr);
      cairo_rectangle (cr, bounds.origin.x, bounds.origin.y, bounds.size.width,
                       bounds.size.height);
      cairo_clip (cr);
      cairo_set_source_surface (cr, page_surface, bounds.origin.x, bounds.origin.y);
      cairo_paint (cr);
      cairo_restore (cr);
      cairo_surface_destroy (page_surface);
    }
  cairo_destroy (cr);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (cairo_surface_write_to_png (surface, path), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (surface);
  g_test_message ("Screenshot: %s", path);
  g_assert_cmpuint (count_colours (texture), >, 8);
}

typedef struct {
  GdkTexture *texture;
  GError     *error;
  gboolean    done;
} Snapshot;

static void
web_snapshot_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Snapshot *snapshot = user_data;

  snapshot->texture = webkit_web_view_get_snapshot_finish (WEBKIT_WEB_VIEW (source), result,
                                                           &snapshot->error);
  snapshot->done = TRUE;
}

static gboolean
snapshot_done (gpointer data)
{
  return ((Snapshot *) data)->done;
}

/* WebKit's own picture of what it shows (JavaScript is off, so nothing can be asked of the
 * page itself). */
static GdkTexture *
web_snapshot (WebKitWebView *web_view)
{
  Snapshot snapshot = { NULL, NULL, FALSE };
  GtkWidget *web = GTK_WIDGET (web_view);

  g_assert_true (gtk_widget_get_mapped (web));
  g_assert_cmpint (gtk_widget_get_height (web), >, 0);

  webkit_web_view_get_snapshot (web_view, WEBKIT_SNAPSHOT_REGION_VISIBLE,
                                WEBKIT_SNAPSHOT_OPTIONS_NONE, NULL, web_snapshot_cb, &snapshot);
  wait_until (snapshot_done, &snapshot, "a WebKit snapshot");
  g_assert_no_error (snapshot.error);
  g_assert_nonnull (snapshot.texture);
  return snapshot.texture;
}

/* The window ------------------------------------------------------------------------------ */

static GtkWindow *
new_window (PbReader **reader_out)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());
  GtkWidget *reader = pb_reader_new ();

  gtk_window_set_default_size (window, 900, 720);
  gtk_window_set_title (window, "Reader test");
  gtk_window_set_child (window, reader);
  gtk_window_present (window);
  *reader_out = PB_READER (reader);
  return window;
}

static void
destroy_window (GtkWindow *window)
{
  gtk_window_destroy (window);
  spin_for (50);
}

/* Fixtures -------------------------------------------------------------------------------- */

static void
test_reader_plain (void)
{
  PbReader *reader;
  GtkWindow *window = new_window (&reader);
  g_autofree char *text = NULL;

  g_assert_cmpint (pb_reader_get_state (reader), ==, PB_READER_STATE_EMPTY);
  show_fixture (reader, "plain.eml");
  g_assert_cmpstr (label_text (reader, "subject-label"), ==, "Plain text");
  g_assert_cmpstr (label_text (reader, "from-name-label"), ==, "Anna Berger");
  g_assert_cmpstr (label_text (reader, "from-address-label"), ==, "<anna@example.org>");
  g_assert_cmpstr (label_text (reader, "to-label"), ==,
                   "Demo User <demo@postbote.test>, bob@example.org");
  g_assert_cmpstr (label_text (reader, "cc-label"), ==, "Carl <carl@example.org>");
  g_assert_cmpstr (label_text (reader, "reply-to-label"), ==, "Lists <list@example.org>");
  g_assert_true (gtk_widget_get_visible (find_widget (GTK_WIDGET (reader), "reply-to-label")));
  g_assert_cmpstr (label_text (reader, "date-label"), !=, "");
  text = body_text (reader);
  g_assert_nonnull (strstr (text, "this is plain text with Umlauts: äöü ß."));
  g_assert_false (gtk_revealer_get_reveal_child (
    GTK_REVEALER (find_widget (GTK_WIDGET (reader), "remote-revealer"))));
  save_screenshot (GTK_WIDGET (window), "reader-plain.png");

  show_fixture (reader, "quoted.eml");
  g_clear_pointer (&text, g_free);
  text = body_text (reader);
  g_assert_nonnull (strstr (text, "First level.\nSecond level with a space.\nThird level."));
  /* No Reply-To: the row is hidden. */
  g_assert_false (gtk_widget_get_visible (find_widget (GTK_WIDGET (reader), "reply-to-label")));
  save_screenshot (GTK_WIDGET (window), "reader-quoted.png");

  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      ADW_COLOR_SCHEME_FORCE_DARK);
  spin_for (200);
  save_screenshot (GTK_WIDGET (window), "reader-quoted-dark.png");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      ADW_COLOR_SCHEME_DEFAULT);

  pb_reader_clear (reader);
  g_assert_cmpint (pb_reader_get_state (reader), ==, PB_READER_STATE_EMPTY);
  g_assert_null (pb_reader_get_subject (reader));
  destroy_window (window);
}

static void
test_reader_prefer_plain (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  PbReader *reader;
  GtkWindow *window = new_window (&reader);
  g_autofree char *text = NULL;

  /* HTML by default... */
  show_fixture (reader, "alternative.eml");
  g_assert_cmpuint (pb_reader_get_html_views (reader)->len, ==, 1);
  /* ...plain text when the user prefers it. */
  g_settings_set_boolean (settings, "prefer-plain-text", TRUE);
  show_fixture (reader, "alternative.eml");
  g_assert_cmpuint (pb_reader_get_html_views (reader)->len, ==, 0);
  text = body_text (reader);
  g_assert_cmpstr (text, ==, "Plain version.\n");
  g_settings_reset (settings, "prefer-plain-text");
  destroy_window (window);
}

static void
test_reader_markup_subject (void)
{
  PbReader *reader;
  GtkWindow *window = new_window (&reader);

  show_fixture (reader, "encoded-words.eml");
  /* Shown literally, tags and ampersand included. */
  g_assert_cmpstr (label_text (reader, "subject-label"), ==,
                   "Café und Kuchen <b>bold</b> & <i>x</i>");
  g_assert_cmpstr (label_text (reader, "from-name-label"), ==, "Jürgen Müller");
  g_assert_false (gtk_widget_get_visible (find_widget (GTK_WIDGET (reader), "reply-to-label")));
  save_screenshot (GTK_WIDGET (window), "reader-markup-subject.png");
  destroy_window (window);
}

static void
test_reader_html (void)
{
  PbReader *reader;
  GtkWindow *window = new_window (&reader);
  GPtrArray *views;
  g_autoptr(GdkTexture) texture = NULL;

  show_fixture (reader, "html.eml");
  views = pb_reader_get_html_views (reader);
  g_assert_cmpuint (views->len, ==, 1);
  g_assert_nonnull (strstr (((PbRenderPart *) g_ptr_array_index (
    pb_message_render_get_parts (pb_reader_get_render (reader)), 0))->html, "Newsletter"));
  /* A link is not remote content: no bar. */
  g_assert_false (gtk_revealer_get_reveal_child (
    GTK_REVEALER (find_widget (GTK_WIDGET (reader), "remote-revealer"))));
  save_screenshot (GTK_WIDGET (window), "reader-html.png");
  texture = web_snapshot (pb_html_view_get_web_view (g_ptr_array_index (views, 0)));
  /* Text drawn on the white canvas: more than a blank page's one or two colours. */
  g_assert_cmpuint (count_colours (texture), >, 4);

  /* Two HTML parts: two views, two documents, the text part between them. */
  show_fixture (reader, "two-html.eml");
  g_assert_cmpuint (pb_reader_get_html_views (reader)->len, ==, 2);
  {
    g_autofree char *text = body_text (reader);

    g_assert_cmpstr (text, ==, "Text between.\n");
  }
  save_screenshot (GTK_WIDGET (window), "reader-two-html.png");
  destroy_window (window);
}

/* A message whose HTML shows a 64x64 pure green image from a cid: part. */
static GBytes *
cid_message (void)
{
  guchar pixels[8 * 8 * 4];
  g_autoptr(GBytes) pixel_bytes = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GBytes) png = NULL;
  g_autofree char *b64 = NULL;
  char *message;

  for (guint i = 0; i < sizeof pixels; i += 4)
    {
      pixels[i] = 0;
      pixels[i + 1] = 200;
      pixels[i + 2] = 0;
      pixels[i + 3] = 255;
    }
  pixel_bytes = g_bytes_new (pixels, sizeof pixels);
  texture = gdk_memory_texture_new (8, 8, GDK_MEMORY_R8G8B8A8, pixel_bytes, 8 * 4);
  png = gdk_texture_save_to_png_bytes (texture);
  b64 = g_base64_encode (g_bytes_get_data (png, NULL), g_bytes_get_size (png));
  message = g_strdup_printf (
    "From: Grace <grace@example.org>\r\nTo: demo@postbote.test\r\nSubject: Green square\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n"
    "--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    "<p>Inline image:</p><img src=\"cid:green@example.org\" width=\"64\" height=\"64\">\r\n"
    "--r\r\nContent-Type: image/png\r\nContent-ID: <green@example.org>\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--r--\r\n", b64);
  return g_bytes_new_take (message, strlen (message));
}

static void
test_reader_cid (void)
{
  PbReader *reader;
  GtkWindow *window = new_window (&reader);
  g_autoptr(GBytes) raw = cid_message ();
  g_autoptr(GdkTexture) texture = NULL;
  GPtrArray *views;

  pb_reader_show_raw (reader, raw);
  wait_shown (reader);
  views = pb_reader_get_html_views (reader);
  g_assert_cmpuint (views->len, ==, 1);
  /* Give the image a moment after the document's load. */
  spin_for (300);
  texture = web_snapshot (pb_html_view_get_web_view (g_ptr_array_index (views, 0)));
  g_test_message ("%u green pixels", count_pixels_near (texture, 0, 200, 0));
  g_assert_cmpuint (count_pixels_near (texture, 0, 200, 0), >=, 48 * 48);
  /* The image belongs to the HTML: no attachment row for it. */
  g_assert_cmpuint (attachment_rows (reader)->len, ==, 0);
  save_screenshot (GTK_WIDGET (window), "reader-cid.png");
  destroy_window (window);
}

static gboolean
file_written (gpointer data)
{
  return *(GFile **) data != NULL;
}

static void
temp_written_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  *(GFile **) user_data = pb_attachment_row_write_temp_finish (PB_ATTACHMENT_ROW (source),
                                                               result, &error);
  g_assert_no_error (error);
}

static void
test_reader_attachments (void)
{
  PbReader *reader;
  GtkWindow *window = new_window (&reader);
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFile) saved = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *saved_path = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *path = NULL;
  g_autofree char *dir = NULL;
  struct stat st;

  show_fixture (reader, "mixed.eml");
  text = body_text (reader);
  g_assert_nonnull (strstr (text, "See the attachments."));
  g_assert_nonnull (strstr (text, "Inner body."));
  rows = attachment_rows (reader);
  g_assert_cmpuint (rows->len, ==, 4);
  g_assert_cmpstr (pb_attachment_row_get_filename (rows->pdata[0]), ==, "report.pdf");
  g_assert_cmpstr (pb_attachment_row_get_size_text (rows->pdata[0]), ==, "20 bytes");
  g_assert_cmpstr (pb_attachment_row_get_filename (rows->pdata[1]), ==, "Übersicht März.png");
  g_assert_cmpstr (pb_attachment_row_get_filename (rows->pdata[2]), ==, "Grüße.txt");
  g_assert_cmpstr (pb_attachment_row_get_filename (rows->pdata[3]), ==,
                   "The forwarded one.eml");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (find_widget (rows->pdata[0],
                                                               "attachment-name"))), ==,
                   "report.pdf");
  save_screenshot (GTK_WIDGET (window), "reader-attachments.png");

  /* Open: a private folder, a private file. */
  pb_attachment_row_write_temp_async (rows->pdata[0], NULL, temp_written_cb, &file);
  wait_until (file_written, &file, "the attachment to be written");
  path = g_file_get_path (file);
  g_assert_true (g_str_has_prefix (path, g_getenv ("XDG_RUNTIME_DIR")));
  g_assert_true (g_str_has_suffix (path, "/report.pdf"));
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (st.st_size, ==, 20);
  dir = g_path_get_dirname (path);
  g_assert_cmpint (stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  /* Save: the part's bytes, decoded. */
  saved_path = g_build_filename (g_get_tmp_dir (), "pb-reader-saved.pdf", NULL);
  saved = g_file_new_for_path (saved_path);
  pb_attachment_row_save_to_file_async (rows->pdata[0], saved, NULL, pb_test_store_result_cb,
                                        &result);
  pb_test_wait_for_result (&result, 10000);
  g_assert_true (pb_attachment_row_save_to_file_finish (rows->pdata[0], result, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (saved_path, &contents, NULL, NULL));
  g_assert_true (g_str_has_prefix (contents, "%PDF-1.4\n"));
  g_unlink (saved_path);
  destroy_window (window);
}

static void
test_reader_charsets (void)
{
  PbReader *reader;
  GtkWindow *window = new_window (&reader);
  g_autofree char *text = NULL;

  show_fixture (reader, "iso-8859-1.eml");
  g_assert_cmpstr (label_text (reader, "subject-label"), ==, "Grüße aus München");
  text = body_text (reader);
  g_assert_nonnull (strstr (text, "Grüße aus München."));

  show_fixture (reader, "shift-jis.eml");
  g_assert_cmpstr (label_text (reader, "subject-label"), ==, "日本語の件名");
  g_clear_pointer (&text, g_free);
  text = body_text (reader);
  g_assert_nonnull (strstr (text, "こんにちは、世界。"));
  save_screenshot (GTK_WIDGET (window), "reader-shift-jis.png");

  show_fixture (reader, "windows-1252.eml");
  g_clear_pointer (&text, g_free);
  text = body_text (reader);
  g_assert_nonnull (strstr (text, "“Quotes” – and 10 € for coffee."));
  destroy_window (window);
}

/* A long text message (1.5 MB): parsing runs on a worker, and the main loop keeps turning
 * while the message is built and laid out. Reports the longest gap between iterations. */
static void
test_reader_large (void)
{
  PbReader *reader;
  GtkWindow *window = new_window (&reader);
  GString *message = g_string_new ("From: Big <big@example.org>\r\nSubject: Log file\r\n"
                                   "Content-Type: text/plain; charset=utf-8\r\n\r\n");
  g_autoptr(GBytes) raw = NULL;
  gint64 start, last, longest = 0, now;

  /* PB_LARGE_KB: another size, for measuring by hand. */
  const char *kb = g_getenv ("PB_LARGE_KB");
  gsize size = (kb != NULL ? (gsize) atoi (kb) : 1500) * 1024;

  for (guint i = 0; message->len < size; i++)
    g_string_append_printf (message, "%s%06u the quick brown fox jumps over the lazy dog, "
                            "again and again, to make a long line of text\r\n",
                            i % 7 == 0 ? "> " : "", i);
  raw = g_bytes_new_take (message->str, message->len);
  g_string_free (message, FALSE);

  start = last = g_get_monotonic_time ();
  pb_reader_show_raw (reader, raw);
  while (!reader_settled (reader))
    {
      g_main_context_iteration (NULL, FALSE);
      now = g_get_monotonic_time ();
      longest = MAX (longest, now - last);
      last = now;
      g_assert_cmpint (now - start, <, 60 * G_USEC_PER_SEC);
    }
  g_test_message ("shown after %.0f ms, longest main-loop stall %.0f ms",
                  (g_get_monotonic_time () - start) / 1000.0, longest / 1000.0);
  start = last = g_get_monotonic_time ();
  longest = 0;
  while (g_get_monotonic_time () - start < 2 * G_USEC_PER_SEC)
    {
      g_main_context_iteration (NULL, FALSE);
      now = g_get_monotonic_time ();
      longest = MAX (longest, now - last);
      last = now;
    }
  g_test_message ("then longest stall while drawing %.0f ms", longest / 1000.0);
  save_screenshot (GTK_WIDGET (window), "reader-large.png");
  destroy_window (window);
}

/* Remote content ------------------------------------------------------------------------ */

typedef struct {
  GMutex     lock;
  GPtrArray *paths;
  guint16    port;
} HttpServer;

static HttpServer http;

static gboolean
http_run_cb (GThreadedSocketService *service,
             GSocketConnection      *connection,
             GObject                *source,
             gpointer                user_data)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr(GDataInputStream) data = g_data_input_stream_new (in);
  g_autofree char *request = NULL;
  char *line;
  static const char response[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    "Connection: close\r\n\r\nok";

  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (data), FALSE);
  request = g_data_input_stream_read_line (data, NULL, NULL, NULL);
  if (request == NULL)
    return TRUE;
  while ((line = g_data_input_stream_read_line (data, NULL, NULL, NULL)) != NULL)
    {
      gboolean end = line[0] == '\0' || strcmp (line, "\r") == 0;

      g_free (line);
      if (end)
        break;
    }
  g_mutex_lock (&http.lock);
  g_ptr_array_add (http.paths, g_strdup (g_strchomp (request)));
  g_mutex_unlock (&http.lock);
  g_output_stream_write_all (out, response, strlen (response), NULL, NULL, NULL);
  return TRUE;
}

static void
ensure_http_server (void)
{
  GSocketService *service;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;

  if (http.port != 0)
    return;
  g_mutex_init (&http.lock);
  http.paths = g_ptr_array_new_with_free_func (g_free);
  service = g_threaded_socket_service_new (4);
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (service), address,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                                NULL, &effective, &error));
  g_assert_no_error (error);
  http.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (service, "run", G_CALLBACK (http_run_cb), NULL);
  g_socket_service_start (service);
}

static guint
http_requests (void)
{
  guint n;

  g_mutex_lock (&http.lock);
  n = http.paths->len;
  g_mutex_unlock (&http.lock);
  return n;
}

static gboolean
http_requested (gpointer data)
{
  const char *path = data;
  gboolean found = FALSE;

  g_mutex_lock (&http.lock);
  for (guint i = 0; i < http.paths->len && !found; i++)
    found = strstr (g_ptr_array_index (http.paths, i), path) != NULL;
  g_mutex_unlock (&http.lock);
  return found;
}

static void
http_reset (void)
{
  g_mutex_lock (&http.lock);
  g_ptr_array_set_size (http.paths, 0);
  g_mutex_unlock (&http.lock);
}

static GBytes *
remote_message (const char *from)
{
  g_autoptr(GBytes) template_bytes = fixture_bytes ("remote-template.html");
  g_autofree char *port = g_strdup_printf ("%u", http.port);
  g_autofree char *template = g_strndup (g_bytes_get_data (template_bytes, NULL),
                                         g_bytes_get_size (template_bytes));
  g_auto(GStrv) pieces = g_strsplit (template, "PORT", -1);
  g_autofree char *html = g_strjoinv (port, pieces);
  char *message = g_strdup_printf (
    "From: %s\r\nTo: demo@postbote.test\r\nSubject: Tracking pixels\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/html; charset=utf-8\r\n\r\n%s", from, html);

  return g_bytes_new_take (message, strlen (message));
}

static gboolean
remote_allowed_view_loaded (gpointer data)
{
  GPtrArray *views = pb_reader_get_html_views (data);

  return views->len == 1 && pb_html_view_get_allow_remote (g_ptr_array_index (views, 0))
         && pb_html_view_get_loaded (g_ptr_array_index (views, 0));
}

static void
test_reader_remote (void)
{
  PbReader *reader;
  GtkWindow *window = new_window (&reader);
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_auto(GStrv) trusted = NULL;
  GtkRevealer *revealer;

  ensure_http_server ();
  g_settings_reset (settings, "trusted-remote-senders");
  raw = remote_message ("Tracker <news@tracker.example>");
  revealer = GTK_REVEALER (find_widget (GTK_WIDGET (reader), "remote-revealer"));

  /* Blocked: not one request, however long we wait. */
  http_reset ();
  pb_reader_show_raw (reader, raw);
  wait_shown (reader);
  spin_for (1500);
  g_assert_cmpuint (http_requests (), ==, 0);
  g_assert_true (gtk_revealer_get_reveal_child (revealer));
  g_assert_false (pb_reader_get_remote_shown (reader));
  save_screenshot (GTK_WIDGET (window), "reader-remote-blocked.png");

  /* Show: the same message with remote loads allowed, so requests do arrive. */
  g_signal_emit_by_name (find_widget (GTK_WIDGET (reader), "show-remote-button"), "clicked");
  wait_until (remote_allowed_view_loaded, reader, "the view with remote content");
  wait_until (http_requested, "/img.png", "the remote image to be requested");
  g_test_message ("%u requests after Show", http_requests ());
  g_assert_false (gtk_revealer_get_reveal_child (revealer));
  {
    g_autoptr(GString) all = g_string_new (NULL);

    g_mutex_lock (&http.lock);
    for (guint i = 0; i < http.paths->len; i++)
      g_string_append_printf (all, " [%s]", (char *) g_ptr_array_index (http.paths, i));
    g_mutex_unlock (&http.lock);
    g_test_message ("Requested after Show:%s", all->str);
  }
  /* Scripts, frames, plug-ins, media, forms, redirects and links stay dead even now. */
  spin_for (500);
  g_assert_false (http_requested ("/form"));
  g_assert_false (http_requested ("/iframe.html"));
  g_assert_false (http_requested ("/link"));
  g_assert_false (http_requested ("/ping"));
  g_assert_false (http_requested ("/refresh"));
  g_assert_false (http_requested ("/script.js"));
  g_assert_false (http_requested ("/object.swf"));
  g_assert_false (http_requested ("/embed.swf"));
  g_assert_false (http_requested ("/video.mp4"));
  g_assert_false (http_requested ("/audio.mp3"));

  /* Another message of the same sender: blocked again. */
  http_reset ();
  pb_reader_show_raw (reader, raw);
  wait_shown (reader);
  spin_for (500);
  g_assert_cmpuint (http_requests (), ==, 0);
  g_assert_true (gtk_revealer_get_reveal_child (revealer));

  /* Always for this sender: persisted, and loads at once from then on. */
  g_signal_emit_by_name (find_widget (GTK_WIDGET (reader), "always-remote-button"), "clicked");
  trusted = g_settings_get_strv (settings, "trusted-remote-senders");
  g_assert_true (g_strv_contains ((const char * const *) trusted, "news@tracker.example"));
  wait_until (http_requested, "/img.png", "the remote image after Always");

  http_reset ();
  pb_reader_show_raw (reader, raw);
  wait_shown (reader);
  g_assert_true (pb_reader_get_remote_shown (reader));
  g_assert_false (gtk_revealer_get_reveal_child (revealer));
  wait_until (http_requested, "/img.png", "the remote image of a trusted sender");

  /* Trust is per address: someone else's mail stays blocked. */
  g_clear_pointer (&raw, g_bytes_unref);
  raw = remote_message ("Other <other@tracker.example>");
  http_reset ();
  pb_reader_show_raw (reader, raw);
  wait_shown (reader);
  spin_for (1000);
  g_assert_cmpuint (http_requests (), ==, 0);
  g_assert_true (gtk_revealer_get_reveal_child (revealer));

  g_settings_reset (settings, "trusted-remote-senders");
  destroy_window (window);
}

/* The demo account on a real server ----------------------------------------------------- */

static guint32
find_uid (PbStore    *store,
          gint64      folder_id,
          const char *subject_part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = pb_store_list_messages (store, folder_id, 0, 5000, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < messages->len; i++)
    {
      PbMessageSummary *summary = g_ptr_array_index (messages, i);

      if (summary->subject != NULL && strstr (summary->subject, subject_part) != NULL)
        return summary->uid;
    }
  g_error ("No message “%s” in the demo account", subject_part);
  return 0;
}

static void
test_reader_demo_account (void)
{
  g_autoptr(PbTestServer) server = pb_test_server_start ("demo");
  g_autofree char *url = g_strdup_printf ("imaps://demo@127.0.0.1:%u",
                                          pb_test_server_get_port (server, "imaps"));
  g_autofree char *dir = g_dir_make_tmp ("pb-reader-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PbService) service = pb_service_new_from_url (url, &error);
  g_autoptr(PbAccount) account = NULL;
  g_autoptr(PbStore) store = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(PbMessageSummary) before = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  PbReader *reader;
  GtkWindow *window;
  gint64 inbox, archive, family;
  guint32 uid;

  g_assert_no_error (error);
  pb_service_set_ca_file (service, pb_test_server_get_ca_file (server));
  account = pb_account_new ("demo", "demo@postbote.test", service, NULL);
  pb_account_set_password_command (account, "printf %s demo");
  /* Bodies of the last day only: the reader downloads the rest when asked. */
  pb_account_set_offline_days (account, 1);
  store = pb_store_open (dir, &error);
  g_assert_no_error (error);
  pb_remote_store_sync_async (pb_account_get_remote_store (account), store, NULL, NULL, NULL,
                              pb_test_store_result_cb, &result);
  pb_test_wait_for_result (&result, 60000);
  g_assert_true (pb_remote_store_sync_finish (pb_account_get_remote_store (account), result,
                                              &error));
  g_assert_no_error (error);
  inbox = pb_store_lookup_folder (store, "demo", "INBOX", &error);
  archive = pb_store_lookup_folder (store, "demo", "Archive", &error);
  family = pb_store_lookup_folder (store, "demo", "Family", &error);
  g_assert_cmpint (inbox, >, 0);
  g_assert_cmpint (archive, >, 0);
  g_assert_cmpint (family, >, 0);

  window = new_window (&reader);

  /* A non-UTF-8 message whose body was not downloaded by the sync. */
  uid = find_uid (store, archive, "Kontoauszug");
  before = pb_store_get_message (store, archive, uid, &error);
  g_assert_no_error (error);
  g_assert_false (before->has_body);
  pb_reader_show_message (reader, account, store, "Archive", uid);
  wait_shown (reader);
  g_assert_cmpstr (label_text (reader, "subject-label"), ==, "Kontoauszug verfügbar");
  text = body_text (reader);
  g_assert_nonnull (strstr (text, "Ihr Kontoauszug für den Monat ist ab sofort im "
                                  "Online-Banking verfügbar."));
  g_assert_nonnull (strstr (text, "Freundliche Grüße"));
  save_screenshot (GTK_WIDGET (window), "reader-demo-latin1.png");

  /* HTML newsletter (multipart/alternative). */
  uid = find_uid (store, archive, "The Weekly Byte");
  pb_reader_show_message (reader, account, store, "Archive", uid);
  wait_shown (reader);
  g_assert_cmpuint (pb_reader_get_html_views (reader)->len, ==, 1);
  {
    g_autoptr(GdkTexture) texture = web_snapshot (
      pb_html_view_get_web_view (g_ptr_array_index (pb_reader_get_html_views (reader), 0)));

    g_assert_cmpuint (count_colours (texture), >, 8);
  }
  save_screenshot (GTK_WIDGET (window), "reader-demo-html.png");

  /* Multipart with attachments, Latin-1 text. */
  uid = find_uid (store, family, "München");
  pb_reader_show_message (reader, account, store, "Family", uid);
  wait_shown (reader);
  rows = attachment_rows (reader);
  g_assert_cmpuint (rows->len, ==, 2);
  g_assert_cmpstr (pb_attachment_row_get_filename (rows->pdata[0]), ==, "IMG_2035.png");
  g_assert_cmpstr (pb_attachment_row_get_filename (rows->pdata[1]), ==, "IMG_2036.png");
  g_clear_pointer (&text, g_free);
  text = body_text (reader);
  g_assert_nonnull (strstr (text, "Grüße aus München! Hier ist schon richtig Herbst"));
  save_screenshot (GTK_WIDGET (window), "reader-demo-attachments.png");

  /* A plain one from the inbox. */
  {
    g_autoptr(GPtrArray) messages = pb_store_list_messages (store, inbox, 0, 1, &error);
    PbMessageSummary *first;

    g_assert_no_error (error);
    g_assert_cmpuint (messages->len, ==, 1);
    first = g_ptr_array_index (messages, 0);
    pb_reader_show_message (reader, account, store, "INBOX", first->uid);
    wait_shown (reader);
    g_assert_cmpstr (label_text (reader, "subject-label"), ==, first->subject);
    save_screenshot (GTK_WIDGET (window), "reader-demo-inbox.png");
  }

  /* A message that does not exist: a clear error, no crash. */
  pb_reader_show_message (reader, account, store, "INBOX", 999999);
  wait_until (reader_settled, reader, "the error");
  g_assert_cmpint (pb_reader_get_state (reader), ==, PB_READER_STATE_ERROR);

  destroy_window (window);
}

/* Without the HTML module (a broken install), HTML mail still reads: an alternative shows
 * its text part, an HTML-only part says what is wrong and what to do. In a subprocess,
 * because the module is loaded once per process. */
static void
test_reader_no_html_module (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *dir = g_dir_make_tmp ("pb-no-module-XXXXXX", NULL);
      g_autofree char *bogus = g_build_filename (dir, "postbote-html.so", NULL);
      g_autofree char *text = NULL;
      GtkWidget *error_label;
      PbReader *reader;
      GtkWindow *window;

      g_assert_true (g_file_set_contents (bogus, "not a shared object", -1, NULL));
      g_setenv ("POSTBOTE_MODULE_DIR", dir, TRUE);
      window = new_window (&reader);

      g_test_expect_message ("pb-reader", G_LOG_LEVEL_WARNING, "*could not be loaded*");
      show_fixture (reader, "alternative.eml");
      g_test_assert_expected_messages ();
      g_assert_cmpuint (pb_reader_get_html_views (reader)->len, ==, 0);
      text = body_text (reader);
      g_assert_cmpstr (text, ==, "Plain version.\n");

      show_fixture (reader, "html.eml");
      g_assert_cmpuint (pb_reader_get_html_views (reader)->len, ==, 0);
      error_label = find_widget (GTK_WIDGET (reader), "part-error");
      g_assert_nonnull (error_label);
      g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (error_label)), bogus));
      g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (error_label)),
                                "Reinstall Postbote"));
      save_screenshot (GTK_WIDGET (window), "reader-no-html-module.png");
      destroy_window (window);
      g_unlink (bogus);
      g_rmdir (dir);
      return;
    }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GtkCssProvider) css = NULL;

  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      printf ("1..0 # SKIP no display\n");
      return 0;
    }
  adw_init ();
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
  css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, RESOURCE_PREFIX "/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  pb_engine_init ();

  g_test_add_func ("/ui/reader/plain", test_reader_plain);
  g_test_add_func ("/ui/reader/markup-subject", test_reader_markup_subject);
  g_test_add_func ("/ui/reader/html", test_reader_html);
  g_test_add_func ("/ui/reader/prefer-plain", test_reader_prefer_plain);
  g_test_add_func ("/ui/reader/cid", test_reader_cid);
  g_test_add_func ("/ui/reader/attachments", test_reader_attachments);
  g_test_add_func ("/ui/reader/charsets", test_reader_charsets);
  g_test_add_func ("/ui/reader/large", test_reader_large);
  g_test_add_func ("/ui/reader/remote", test_reader_remote);
  g_test_add_func ("/ui/reader/demo-account", test_reader_demo_account);
  g_test_add_func ("/ui/reader/no-html-module", test_reader_no_html_module);
  return g_test_run ();
}
