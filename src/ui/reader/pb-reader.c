/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-reader"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "pb-attachment-row.h"
#include "pb-html-view.h"
#include "pb-reader-private.h"
#include "pb-store-error.h"

/*
 * The message view. Loading runs on a worker thread (folder lookup, reading the stored
 * bytes, GMime parsing and rendering); when the store has only the summary, the account's
 * remote store downloads the body and the worker runs again. Each new message cancels the
 * previous load, and a generation number drops answers that arrive late anyway.
 *
 * Every text from the sender is put into labels with gtk_label_set_text(), never as markup.
 * Text parts go into read-only text views, with quote levels indented and coloured. HTML
 * parts get one
 * PbHtmlView each. Remote content stays blocked unless the sender's address is in the
 * "trusted-remote-senders" setting or the user clicks Show.
 */

/* Deeper quotes are drawn at this depth. */
#define MAX_QUOTE_BARS 6
/* Height of an HTML view among other parts; a message that is just one HTML document lets
 * its view fill the reader instead. */
#define HTML_VIEW_HEIGHT 480

struct _PbReader
{
  GtkWidget         parent_instance;

  GtkStack         *stack;
  GtkSpinner       *spinner;
  AdwStatusPage    *error_page;
  GtkLabel         *subject_label;
  GtkLabel         *from_name_label;
  GtkLabel         *from_address_label;
  GtkLabel         *date_label;
  GtkLabel         *to_key_label;
  GtkLabel         *to_label;
  GtkLabel         *cc_key_label;
  GtkLabel         *cc_label;
  GtkLabel         *reply_to_key_label;
  GtkLabel         *reply_to_label;
  GtkRevealer      *remote_revealer;
  GtkButton        *always_remote_button;
  GtkBox           *body_box;

  GSettings        *settings;
  GCancellable     *cancellable;
  guint             generation;
  PbReaderState     state;
  PbMessageRender  *render;
  gboolean          remote_shown;
  GPtrArray        *html_views;

  /* The message being loaded. */
  PbAccount        *account;
  PbStore          *store;
  char             *folder_path;
  guint32           uid;
  gboolean          body_fetched;
};

G_DEFINE_FINAL_TYPE (PbReader, pb_reader, GTK_TYPE_WIDGET)
G_DEFINE_ENUM_TYPE (PbReaderState, pb_reader_state,
                    G_DEFINE_ENUM_VALUE (PB_READER_STATE_EMPTY, "empty"),
                    G_DEFINE_ENUM_VALUE (PB_READER_STATE_LOADING, "loading"),
                    G_DEFINE_ENUM_VALUE (PB_READER_STATE_SHOWN, "shown"),
                    G_DEFINE_ENUM_VALUE (PB_READER_STATE_ERROR, "error"))

enum {
  PROP_0,
  PROP_STATE,
  PROP_SUBJECT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void load (PbReader *self);

static void
set_state (PbReader      *self,
           PbReaderState  state)
{
  static const char *pages[] = { "empty", "loading", "message", "error" };

  gtk_stack_set_visible_child_name (self->stack, pages[state]);
  gtk_spinner_set_spinning (self->spinner, state == PB_READER_STATE_LOADING);
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
clear_body (PbReader *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->body_box))) != NULL)
    gtk_box_remove (self->body_box, child);
  g_ptr_array_set_size (self->html_views, 0);
}

static void
reset (PbReader *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->generation++;
  g_clear_object (&self->account);
  g_clear_object (&self->store);
  g_clear_pointer (&self->folder_path, g_free);
  self->body_fetched = FALSE;
  self->remote_shown = FALSE;
  if (self->render != NULL)
    {
      g_clear_object (&self->render);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUBJECT]);
    }
  clear_body (self);
  gtk_revealer_set_reveal_child (self->remote_revealer, FALSE);
}

/* Headers ------------------------------------------------------------------------------- */

static char *
join_addresses (GPtrArray *addresses)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < addresses->len; i++)
    {
      g_autofree char *one = pb_message_render_format_address (g_ptr_array_index (addresses, i));

      if (i > 0)
        g_string_append (out, ", ");
      g_string_append (out, one);
    }
  return g_string_free (out, FALSE);
}

static void
set_address_row (GtkLabel  *key,
                 GtkLabel  *value,
                 GPtrArray *addresses)
{
  g_autofree char *text = join_addresses (addresses);

  gtk_label_set_text (value, text);
  gtk_widget_set_visible (GTK_WIDGET (key), addresses->len > 0);
  gtk_widget_set_visible (GTK_WIDGET (value), addresses->len > 0);
}

static char *
format_date (GDateTime *date)
{
  g_autoptr(GDateTime) local = NULL;

  if (date == NULL)
    return g_strdup ("");
  local = g_date_time_to_local (date);
  /* TRANSLATORS: the date of a message in the reader, see g_date_time_format() */
  return g_date_time_format (local, _("%a, %-d %b %Y, %H:%M"));
}

static void
show_headers (PbReader *self)
{
  PbMessageRender *render = self->render;
  const PbRenderAddress *from = pb_message_render_get_from (render);
  const char *subject = pb_message_render_get_subject (render);
  g_autofree char *date = format_date (pb_message_render_get_date (render));

  /* Sender text: set as text, never parsed as markup. */
  gtk_label_set_text (self->subject_label, *subject != '\0' ? subject : _("(No subject)"));
  if (from == NULL)
    {
      gtk_label_set_text (self->from_name_label, _("(Unknown sender)"));
      gtk_widget_set_visible (GTK_WIDGET (self->from_address_label), FALSE);
    }
  else if (from->name != NULL)
    {
      g_autofree char *address = g_strdup_printf ("<%s>", from->address);

      gtk_label_set_text (self->from_name_label, from->name);
      gtk_label_set_text (self->from_address_label, address);
      gtk_widget_set_visible (GTK_WIDGET (self->from_address_label), TRUE);
    }
  else
    {
      gtk_label_set_text (self->from_name_label, from->address);
      gtk_widget_set_visible (GTK_WIDGET (self->from_address_label), FALSE);
    }
  gtk_label_set_text (self->date_label, date);
  set_address_row (self->to_key_label, self->to_label, pb_message_render_get_to (render));
  set_address_row (self->cc_key_label, self->cc_label, pb_message_render_get_cc (render));
  set_address_row (self->reply_to_key_label, self->reply_to_label,
                   pb_message_render_get_reply_to (render));
}

/* Text parts ---------------------------------------------------------------------------- */

/* A read-only GtkTextView per text part: it lays out long text incrementally, where wrapped
 * labels re-layout everything several times per size request (16 kB of text stalled the main
 * loop for over half a second in labels, a few milliseconds here). One tag per quote level
 * indents and colours the lines and tints their background; the colours come in a light and
 * a dark set and follow the style manager. */

static void
update_quote_tags (GtkTextBuffer *buffer)
{
  static const char *light[] = { "#1c71d8", "#26a269", "#9141ac" };
  static const char *dark[] = { "#99c1f1", "#8ff0a4", "#dc8add" };
  gboolean is_dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  GtkTextTagTable *table = gtk_text_buffer_get_tag_table (buffer);

  for (guint i = 1; i <= MAX_QUOTE_BARS; i++)
    {
      g_autofree char *name = g_strdup_printf ("quote-%u", i);
      GtkTextTag *tag = gtk_text_tag_table_lookup (table, name);
      GdkRGBA colour, tint;

      if (tag == NULL)
        continue;
      gdk_rgba_parse (&colour, (is_dark ? dark : light)[(i - 1) % 3]);
      tint = colour;
      tint.alpha = 0.07;
      g_object_set (tag, "foreground-rgba", &colour, "paragraph-background-rgba", &tint, NULL);
    }
}

static void
dark_changed_cb (GtkTextBuffer *buffer)
{
  update_quote_tags (buffer);
}

/* GtkTextView reports its height from its last validated layout and validates in idle
 * steps; inside a box (not scrolling itself) GTK 4.8 does not always ask for a new size when
 * that height changes, and can leave the view at a height of 0. So while a view is mapped,
 * compare its natural height with the height it got and ask again when they differ: every
 * frame for the first second, then every 300 ms (a measure that is cached costs nothing). */
typedef struct {
  GtkWidget *view;
  guint      tick_id;
  guint      timeout_id;
  guint      frames;
} HeightFix;

static gboolean
height_fix_check (HeightFix *fix)
{
  int width = gtk_widget_get_width (fix->view);
  int min = 0, nat = 0;

  if (width <= 0)
    return FALSE;
  gtk_widget_measure (fix->view, GTK_ORIENTATION_VERTICAL, width, &min, &nat, NULL, NULL);
  if (nat == gtk_widget_get_height (fix->view))
    return FALSE;
  gtk_widget_queue_resize (fix->view);
  return TRUE;
}

static gboolean
height_fix_tick_cb (GtkWidget     *view,
                    GdkFrameClock *clock,
                    gpointer       user_data)
{
  HeightFix *fix = user_data;

  height_fix_check (fix);
  if (++fix->frames < 60)
    return G_SOURCE_CONTINUE;
  fix->tick_id = 0;
  return G_SOURCE_REMOVE;
}

static gboolean
height_fix_timeout_cb (gpointer user_data)
{
  height_fix_check (user_data);
  return G_SOURCE_CONTINUE;
}

static void
height_fix_map_cb (GtkWidget *view,
                   HeightFix *fix)
{
  fix->frames = 0;
  if (fix->tick_id == 0)
    fix->tick_id = gtk_widget_add_tick_callback (view, height_fix_tick_cb, fix, NULL);
  if (fix->timeout_id == 0)
    fix->timeout_id = g_timeout_add (300, height_fix_timeout_cb, fix);
}

static void
height_fix_unmap_cb (GtkWidget *view,
                     HeightFix *fix)
{
  if (fix->tick_id != 0)
    gtk_widget_remove_tick_callback (view, fix->tick_id);
  fix->tick_id = 0;
  g_clear_handle_id (&fix->timeout_id, g_source_remove);
}

static void
height_fix_free (gpointer data)
{
  HeightFix *fix = data;

  g_clear_handle_id (&fix->timeout_id, g_source_remove);
  g_free (fix);
}

static void
height_fix_attach (GtkWidget *view)
{
  HeightFix *fix = g_new0 (HeightFix, 1);

  fix->view = view;
  g_object_set_data_full (G_OBJECT (view), "pb-height-fix", fix, height_fix_free);
  g_signal_connect (view, "map", G_CALLBACK (height_fix_map_cb), fix);
  g_signal_connect (view, "unmap", G_CALLBACK (height_fix_unmap_cb), fix);
}

static GtkWidget *
text_part_new (PbReader           *self,
               const PbRenderPart *part,
               gboolean            fill)
{
  GtkWidget *view = gtk_text_view_new ();
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  g_autoptr(GString) run = g_string_new (NULL);
  guint run_level = 0;
  GtkTextIter end;

  gtk_text_view_set_editable (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_cursor_visible (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (view), 18);
  gtk_text_view_set_right_margin (GTK_TEXT_VIEW (view), 18);
  gtk_text_view_set_top_margin (GTK_TEXT_VIEW (view), 12);
  gtk_text_view_set_bottom_margin (GTK_TEXT_VIEW (view), 12);
  gtk_widget_add_css_class (view, "message-text");
  gtk_widget_set_name (view, "text-part");

  for (guint i = 1; i <= MAX_QUOTE_BARS; i++)
    {
      g_autofree char *name = g_strdup_printf ("quote-%u", i);

      gtk_text_buffer_create_tag (buffer, name, "left-margin", 18 + 14 * (int) i, NULL);
    }
  update_quote_tags (buffer);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (dark_changed_cb), buffer, G_CONNECT_SWAPPED);

  /* Runs of lines at one level go in with one insert each. */
  for (guint i = 0; i <= part->lines->len; i++)
    {
      const PbRenderLine *line = i < part->lines->len ? g_ptr_array_index (part->lines, i)
                                                      : NULL;
      guint level = line != NULL ? MIN (line->level, MAX_QUOTE_BARS) : G_MAXUINT;

      if (line == NULL || (level != run_level && run->len > 0))
        {
          gtk_text_buffer_get_end_iter (buffer, &end);
          if (run_level == 0)
            gtk_text_buffer_insert (buffer, &end, run->str, run->len);
          else
            {
              g_autofree char *name = g_strdup_printf ("quote-%u", run_level);

              gtk_text_buffer_insert_with_tags_by_name (buffer, &end, run->str, run->len, name,
                                                        NULL);
            }
          g_string_truncate (run, 0);
        }
      if (line == NULL)
        break;
      run_level = level;
      g_string_append (run, line->text);
      if (i + 1 < part->lines->len)
        g_string_append_c (run, '\n');
    }

  if (fill)
    {
      /* Alone, the view scrolls itself and lays out only what is on screen. */
      GtkWidget *scrolled = gtk_scrolled_window_new ();

      gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                      GTK_POLICY_AUTOMATIC);
      gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), view);
      gtk_widget_set_vexpand (scrolled, TRUE);
      return scrolled;
    }
  height_fix_attach (view);
  return view;
}

/* Body ---------------------------------------------------------------------------------- */

static gboolean
sender_is_trusted (PbReader *self)
{
  const PbRenderAddress *from = pb_message_render_get_from (self->render);
  g_auto(GStrv) trusted = NULL;
  g_autofree char *address = NULL;

  if (from == NULL || *from->address == '\0')
    return FALSE;
  address = g_utf8_strdown (from->address, -1);
  trusted = g_settings_get_strv (self->settings, "trusted-remote-senders");
  return g_strv_contains ((const char * const *) trusted, address);
}

/* The part of an alternative to show: HTML unless the user prefers plain text. */
static const PbRenderPart *
choose_alternative (PbReader           *self,
                    const PbRenderPart *part)
{
  gboolean plain = g_settings_get_boolean (self->settings, "prefer-plain-text");

  if (plain && part->alt_text != NULL)
    return part->alt_text;
  return part->alt_html != NULL ? part->alt_html : part->alt_text;
}

/* %NULL if the HTML module is missing: the caller shows the text alternative instead, or
 * else an error in the part's place. */
static GtkWidget *
html_view_new (PbReader           *self,
               PbMessageRender    *render,
               const PbRenderPart *part,
               GError            **error)
{
  GtkWidget *view = pb_html_view_new (render, part->html, self->remote_shown, error);

  if (view == NULL)
    return NULL;
  gtk_widget_set_name (view, "html-part");
  g_ptr_array_add (self->html_views, view);
  return view;
}

static GtkWidget *
part_error_new (const GError *error)
{
  GtkWidget *label = gtk_label_new (error->message);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_set_margin_start (label, 18);
  gtk_widget_set_margin_end (label, 18);
  gtk_widget_set_margin_top (label, 12);
  gtk_widget_set_margin_bottom (label, 12);
  gtk_widget_add_css_class (label, "error");
  gtk_widget_set_name (label, "part-error");
  return label;
}

static void add_parts (PbReader *self, PbMessageRender *render, GtkBox *into,
                       GtkListBox *attachments, gboolean fill);

static GtkWidget *
nested_message_new (PbReader        *self,
                    PbMessageRender *nested,
                    GtkListBox      *attachments)
{
  const PbRenderAddress *from = pb_message_render_get_from (nested);
  GtkWidget *frame = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *sender = gtk_label_new (NULL);
  g_autofree char *from_text = from != NULL ? pb_message_render_format_address (from)
                                            : g_strdup ("");
  g_autofree char *date = format_date (pb_message_render_get_date (nested));
  g_autofree char *line = g_strdup_printf ("%s%s%s", from_text, *date ? " — " : "", date);
  GtkWidget *body = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  gtk_widget_add_css_class (frame, "card");
  gtk_widget_add_css_class (frame, "nested-message");
  gtk_widget_set_margin_start (frame, 18);
  gtk_widget_set_margin_end (frame, 18);
  gtk_widget_set_margin_top (frame, 6);
  gtk_widget_set_margin_bottom (frame, 6);
  gtk_label_set_text (GTK_LABEL (title), pb_message_render_get_subject (nested));
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_wrap (GTK_LABEL (title), TRUE);
  gtk_widget_add_css_class (title, "heading");
  gtk_widget_set_margin_start (title, 12);
  gtk_widget_set_margin_top (title, 12);
  gtk_box_append (GTK_BOX (frame), title);
  gtk_label_set_text (GTK_LABEL (sender), line);
  gtk_label_set_xalign (GTK_LABEL (sender), 0);
  gtk_label_set_wrap (GTK_LABEL (sender), TRUE);
  gtk_widget_add_css_class (sender, "dim-label");
  gtk_widget_set_margin_start (sender, 12);
  gtk_box_append (GTK_BOX (frame), sender);
  gtk_box_append (GTK_BOX (frame), body);
  add_parts (self, nested, GTK_BOX (body), attachments, FALSE);
  return frame;
}

static void
add_parts (PbReader        *self,
           PbMessageRender *render,
           GtkBox          *into,
           GtkListBox      *attachments,
           gboolean         fill)
{
  GPtrArray *parts = pb_message_render_get_parts (render);

  for (guint i = 0; i < parts->len; i++)
    {
      const PbRenderPart *part = g_ptr_array_index (parts, i);
      const PbRenderPart *alternative = NULL;
      GtkWidget *widget = NULL;
      g_autoptr(GError) error = NULL;

      if (part->kind == PB_RENDER_PART_ALTERNATIVE)
        {
          alternative = part;
          part = choose_alternative (self, part);
        }

      switch (part->kind)
        {
        case PB_RENDER_PART_TEXT:
          widget = text_part_new (self, part, fill);
          break;
        case PB_RENDER_PART_HTML:
          widget = html_view_new (self, render, part, &error);
          if (widget == NULL && alternative != NULL && alternative->alt_text != NULL)
            widget = text_part_new (self, alternative->alt_text, fill);
          else if (widget == NULL)
            widget = part_error_new (error);
          else if (!fill)
            gtk_widget_set_size_request (widget, -1, HTML_VIEW_HEIGHT);
          break;
        case PB_RENDER_PART_MESSAGE:
          widget = nested_message_new (self, part->message, attachments);
          gtk_list_box_append (attachments, pb_attachment_row_new (render, part));
          break;
        case PB_RENDER_PART_ATTACHMENT:
          gtk_list_box_append (attachments, pb_attachment_row_new (render, part));
          break;
        case PB_RENDER_PART_ALTERNATIVE:
        default:
          g_assert_not_reached ();
        }
      if (widget != NULL)
        gtk_box_append (into, widget);
    }
}

/* Whether the message is one text or HTML body (and perhaps attachments), which is most
 * mail: then that view fills the reader and scrolls by itself, which for long text is much
 * cheaper than laying all of it out inside a scrolled box. */
static gboolean
is_single_body (PbReader        *self,
                PbMessageRender *render)
{
  GPtrArray *parts = pb_message_render_get_parts (render);
  guint n_bodies = 0;

  for (guint i = 0; i < parts->len; i++)
    {
      const PbRenderPart *part = g_ptr_array_index (parts, i);

      if (part->kind == PB_RENDER_PART_ALTERNATIVE)
        part = choose_alternative (self, part);
      if (part->kind == PB_RENDER_PART_HTML || part->kind == PB_RENDER_PART_TEXT)
        n_bodies++;
      else if (part->kind != PB_RENDER_PART_ATTACHMENT)
        return FALSE;
    }
  return n_bodies == 1;
}

static void
show_body (PbReader *self)
{
  GtkWidget *attachments = gtk_list_box_new ();
  gboolean fill = is_single_body (self, self->render);
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  clear_body (self);
  gtk_widget_set_name (attachments, "attachment-list");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (attachments), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (attachments, "boxed-list");
  gtk_widget_set_margin_start (attachments, 18);
  gtk_widget_set_margin_end (attachments, 18);
  gtk_widget_set_margin_top (attachments, 12);
  gtk_widget_set_margin_bottom (attachments, 12);

  add_parts (self, self->render, GTK_BOX (content), GTK_LIST_BOX (attachments), fill);
  gtk_widget_set_visible (attachments, gtk_widget_get_first_child (attachments) != NULL);

  if (fill)
    {
      GtkWidget *list_scroller = gtk_scrolled_window_new ();

      /* Many attachments scroll in their own area rather than squeezing the body. */
      gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (list_scroller), GTK_POLICY_NEVER,
                                      GTK_POLICY_AUTOMATIC);
      gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (list_scroller),
                                                        TRUE);
      gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (list_scroller), 240);
      gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (list_scroller), attachments);
      gtk_widget_set_visible (list_scroller, gtk_widget_get_visible (attachments));
      gtk_widget_set_vexpand (content, TRUE);
      gtk_box_append (self->body_box, content);
      gtk_box_append (self->body_box, list_scroller);
    }
  else
    {
      GtkWidget *scrolled = gtk_scrolled_window_new ();

      gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                      GTK_POLICY_AUTOMATIC);
      gtk_widget_set_vexpand (scrolled, TRUE);
      gtk_box_append (GTK_BOX (content), attachments);
      gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), content);
      gtk_box_append (self->body_box, scrolled);
    }

  gtk_revealer_set_reveal_child (self->remote_revealer,
                                 pb_message_render_get_has_remote_content (self->render)
                                 && !self->remote_shown);
  gtk_widget_set_visible (GTK_WIDGET (self->always_remote_button),
                          pb_message_render_get_from (self->render) != NULL);
}

static void
show_render (PbReader        *self,
             PbMessageRender *render)
{
  g_set_object (&self->render, render);
  self->remote_shown = sender_is_trusted (self);
  show_headers (self);
  show_body (self);
  set_state (self, PB_READER_STATE_SHOWN);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUBJECT]);
}

static void
show_error (PbReader   *self,
            const char *message)
{
  /* The description is markup, and the error may quote the message. */
  g_autofree char *escaped = g_markup_escape_text (message, -1);

  adw_status_page_set_description (self->error_page, escaped);
  set_state (self, PB_READER_STATE_ERROR);
}

static void
show_remote_clicked_cb (PbReader *self)
{
  if (self->render == NULL)
    return;
  self->remote_shown = TRUE;
  show_body (self);
}

static void
always_remote_clicked_cb (PbReader *self)
{
  const PbRenderAddress *from;
  g_auto(GStrv) trusted = NULL;
  g_autofree char *address = NULL;

  if (self->render == NULL || (from = pb_message_render_get_from (self->render)) == NULL)
    return;
  address = g_utf8_strdown (from->address, -1);
  trusted = g_settings_get_strv (self->settings, "trusted-remote-senders");
  if (!g_strv_contains ((const char * const *) trusted, address))
    {
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_auto(GStrv) updated = NULL;

      g_strv_builder_addv (builder, (const char **) trusted);
      g_strv_builder_add (builder, address);
      updated = g_strv_builder_end (builder);
      g_settings_set_strv (self->settings, "trusted-remote-senders",
                           (const char * const *) updated);
    }
  show_remote_clicked_cb (self);
}

/* Loading ------------------------------------------------------------------------------- */

typedef struct {
  PbStore *store;
  char    *account;
  char    *folder_path;
  guint32  uid;
  GBytes  *raw;
  guint    generation;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_clear_object (&data->store);
  g_free (data->account);
  g_free (data->folder_path);
  g_clear_pointer (&data->raw, g_bytes_unref);
  g_free (data);
}

#define NEED_BODY_QUARK (g_quark_from_static_string ("pb-reader-need-body"))

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  g_autoptr(GBytes) raw = data->raw != NULL ? g_bytes_ref (data->raw) : NULL;
  GError *error = NULL;
  PbMessageRender *render;

  if (raw == NULL)
    {
      gint64 folder_id = pb_store_lookup_folder (data->store, data->account, data->folder_path,
                                                 &error);

      if (folder_id <= 0)
        {
          if (error == NULL)
            error = g_error_new (PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND,
                                 _("There is no folder “%s” in this account"),
                                 data->folder_path);
          g_task_return_error (task, error);
          return;
        }
      raw = pb_store_get_raw (data->store, folder_id, data->uid, &error);
      if (raw == NULL)
        {
          if (g_error_matches (error, PB_STORE_ERROR, PB_STORE_ERROR_NOT_FOUND))
            {
              g_autoptr(PbMessageSummary) summary =
                pb_store_get_message (data->store, folder_id, data->uid, NULL);

              /* Known but never downloaded: ask the server. */
              if (summary != NULL)
                {
                  g_clear_error (&error);
                  error = g_error_new_literal (NEED_BODY_QUARK, 0, "");
                }
            }
          g_task_return_error (task, error);
          return;
        }
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  render = pb_message_render_new (raw, &error);
  if (render == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, render, g_object_unref);
}

static void
fetch_body_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(PbReader) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!pb_remote_store_fetch_body_finish (PB_REMOTE_STORE (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error->message);
      return;
    }
  load (self);
}

static void
load_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  PbReader *self = PB_READER (source);
  LoadData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(PbMessageRender) render = g_task_propagate_pointer (G_TASK (result), &error);

  if (data->generation != self->generation
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (error != NULL && error->domain == NEED_BODY_QUARK && !self->body_fetched
      && self->account != NULL)
    {
      PbRemoteStore *remote = pb_account_get_remote_store (self->account);

      self->body_fetched = TRUE;
      if (remote != NULL)
        {
          pb_remote_store_fetch_body_async (remote, self->store, self->folder_path, self->uid,
                                            self->cancellable, fetch_body_cb,
                                            g_object_ref (self));
          return;
        }
    }
  if (error != NULL)
    {
      show_error (self, error->domain == NEED_BODY_QUARK
                          ? _("The message has not been downloaded yet.")
                          : error->message);
      return;
    }
  show_render (self, render);
}

static void
start_load (PbReader *self,
            GBytes   *raw)
{
  g_autoptr(GTask) task = NULL;
  LoadData *data = g_new0 (LoadData, 1);

  data->generation = self->generation;
  data->raw = raw != NULL ? g_bytes_ref (raw) : NULL;
  if (raw == NULL)
    {
      data->store = g_object_ref (self->store);
      data->account = g_strdup (pb_account_get_name (self->account));
      data->folder_path = g_strdup (self->folder_path);
      data->uid = self->uid;
    }
  set_state (self, PB_READER_STATE_LOADING);
  task = g_task_new (self, self->cancellable, load_cb, NULL);
  g_task_set_source_tag (task, start_load);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_run_in_thread (task, load_thread);
}

static void
load (PbReader *self)
{
  start_load (self, NULL);
}

/* Public API ---------------------------------------------------------------------------- */

/**
 * pb_reader_new:
 *
 * Returns: (transfer floating): an empty reader
 */
GtkWidget *
pb_reader_new (void)
{
  return g_object_new (PB_TYPE_READER, NULL);
}

/**
 * pb_reader_show_message:
 * @account: the account the message belongs to (its remote store downloads a missing body)
 * @store: the local store
 * @folder_path: the folder's path in @account
 * @uid: the message's UID
 *
 * Shows a message from the store, loading it in the background.
 */
void
pb_reader_show_message (PbReader   *self,
                        PbAccount  *account,
                        PbStore    *store,
                        const char *folder_path,
                        guint32     uid)
{
  g_return_if_fail (PB_IS_READER (self));
  g_return_if_fail (PB_IS_ACCOUNT (account));
  g_return_if_fail (PB_IS_STORE (store));
  g_return_if_fail (folder_path != NULL);

  reset (self);
  self->cancellable = g_cancellable_new ();
  self->account = g_object_ref (account);
  self->store = g_object_ref (store);
  self->folder_path = g_strdup (folder_path);
  self->uid = uid;
  load (self);
}

/**
 * pb_reader_show_raw:
 * @raw: a message as RFC 5322 bytes
 *
 * Shows a message that is not in the store (an attached .eml, a draft preview, tests).
 */
void
pb_reader_show_raw (PbReader *self,
                    GBytes   *raw)
{
  g_return_if_fail (PB_IS_READER (self));
  g_return_if_fail (raw != NULL);

  reset (self);
  self->cancellable = g_cancellable_new ();
  start_load (self, raw);
}

/**
 * pb_reader_clear:
 *
 * Shows nothing, and stops loading.
 */
void
pb_reader_clear (PbReader *self)
{
  g_return_if_fail (PB_IS_READER (self));

  reset (self);
  set_state (self, PB_READER_STATE_EMPTY);
}

/**
 * pb_reader_get_state:
 *
 * Returns: what the reader shows
 */
PbReaderState
pb_reader_get_state (PbReader *self)
{
  g_return_val_if_fail (PB_IS_READER (self), PB_READER_STATE_EMPTY);
  return self->state;
}

/**
 * pb_reader_get_subject:
 *
 * Returns: (nullable): the subject of the message shown, decoded, or %NULL
 */
const char *
pb_reader_get_subject (PbReader *self)
{
  g_return_val_if_fail (PB_IS_READER (self), NULL);
  return self->render != NULL ? pb_message_render_get_subject (self->render) : NULL;
}

PbMessageRender *
pb_reader_get_render (PbReader *self)
{
  return self->render;
}

GPtrArray *
pb_reader_get_html_views (PbReader *self)
{
  return self->html_views;
}

gboolean
pb_reader_get_remote_shown (PbReader *self)
{
  return self->remote_shown;
}

/* GObject ------------------------------------------------------------------------------- */

static void
pb_reader_dispose (GObject *object)
{
  PbReader *self = PB_READER (object);

  reset (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), PB_TYPE_READER);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (pb_reader_parent_class)->dispose (object);
}

static void
pb_reader_finalize (GObject *object)
{
  PbReader *self = PB_READER (object);

  g_clear_pointer (&self->html_views, g_ptr_array_unref);
  G_OBJECT_CLASS (pb_reader_parent_class)->finalize (object);
}

static void
pb_reader_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  PbReader *self = PB_READER (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_SUBJECT:
      g_value_set_string (value, pb_reader_get_subject (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
first_frame_cb (GdkFrameClock *clock,
                PbReader      *self)
{
  /* Once the window is on screen, WebKit is loaded in the background (pb-html-module.h). */
  g_signal_handlers_disconnect_by_func (clock, first_frame_cb, self);
  pb_html_view_preload ();
}

static void
reader_realize_cb (PbReader *self)
{
  g_signal_connect_object (gtk_widget_get_frame_clock (GTK_WIDGET (self)), "after-paint",
                           G_CALLBACK (first_frame_cb), self, 0);
}

static void
pb_reader_class_init (PbReaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pb_reader_dispose;
  object_class->finalize = pb_reader_finalize;
  object_class->get_property = pb_reader_get_property;

  /**
   * PbReader:state:
   *
   * What the reader shows.
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, PB_TYPE_READER_STATE, PB_READER_STATE_EMPTY,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * PbReader:subject:
   *
   * The subject of the message shown, for a window title.
   */
  properties[PROP_SUBJECT] =
    g_param_spec_string ("subject", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX
                                               "/reader/pb-reader.ui");
  gtk_widget_class_bind_template_child (widget_class, PbReader, stack);
  gtk_widget_class_bind_template_child (widget_class, PbReader, spinner);
  gtk_widget_class_bind_template_child (widget_class, PbReader, error_page);
  gtk_widget_class_bind_template_child (widget_class, PbReader, subject_label);
  gtk_widget_class_bind_template_child (widget_class, PbReader, from_name_label);
  gtk_widget_class_bind_template_child (widget_class, PbReader, from_address_label);
  gtk_widget_class_bind_template_child (widget_class, PbReader, date_label);
  gtk_widget_class_bind_template_child (widget_class, PbReader, to_key_label);
  gtk_widget_class_bind_template_child (widget_class, PbReader, to_label);
  gtk_widget_class_bind_template_child (widget_class, PbReader, cc_key_label);
  gtk_widget_class_bind_template_child (widget_class, PbReader, cc_label);
  gtk_widget_class_bind_template_child (widget_class, PbReader, reply_to_key_label);
  gtk_widget_class_bind_template_child (widget_class, PbReader, reply_to_label);
  gtk_widget_class_bind_template_child (widget_class, PbReader, remote_revealer);
  gtk_widget_class_bind_template_child (widget_class, PbReader, always_remote_button);
  gtk_widget_class_bind_template_child (widget_class, PbReader, body_box);
  gtk_widget_class_bind_template_callback (widget_class, show_remote_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, always_remote_clicked_cb);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "pb-reader");
}

static void
pb_reader_init (PbReader *self)
{
  g_type_ensure (ADW_TYPE_STATUS_PAGE);
  gtk_widget_init_template (GTK_WIDGET (self));
  self->settings = g_settings_new (APP_ID);
  self->html_views = g_ptr_array_new ();
  set_state (self, PB_READER_STATE_EMPTY);
  g_signal_connect (self, "realize", G_CALLBACK (reader_realize_cb), NULL);
}
