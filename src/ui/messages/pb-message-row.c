/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-message-row"

#include "config.h"

#include <glib/gi18n.h>

#include "pb-message-row.h"

/*
 * One row of the message list: sender, date, subject and a line of preview, with marks for
 * unread, starred and attachments. A list view makes a few dozen of these and rebinds them
 * while scrolling, so the row is built once in code and binding only sets texts. Everything
 * it shows comes from a sender: plain text only, never markup.
 */

struct _PbMessageRow
{
  GtkWidget      parent_instance;

  PbMessageItem *item;
  gulong         notify_id;

  GtkWidget     *box;
  GtkWidget     *top;
  /* The marks are made when first shown (most rows show none of them); NULL until then. */
  GtkWidget     *unread_dot;
  GtkWidget     *sender;
  GtkWidget     *attachment;
  GtkWidget     *star;
  GtkWidget     *thread_count;
  GtkWidget     *date;
  GtkWidget     *subject;
  GtkWidget     *preview;

  /* The texts wait until the row is in view (see row_in_view()). */
  gboolean       pending;
  gulong         layout_id;
};

G_DEFINE_FINAL_TYPE (PbMessageRow, pb_message_row, GTK_TYPE_WIDGET)

static gint n_alive;

static GtkWidget *
plain_label (const char *name,
             const char *css_class)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_widget_set_name (label, name);
  gtk_label_set_use_markup (GTK_LABEL (label), FALSE);
  gtk_label_set_use_underline (GTK_LABEL (label), FALSE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_single_line_mode (GTK_LABEL (label), TRUE);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

/**
 * pb_message_row_format_date:
 * @date: Unix time
 * @now: the local time now
 *
 * Today's messages show the time, this year's the day and month, older ones the full date.
 */
char *
pb_message_row_format_date (gint64     date,
                            GDateTime *now)
{
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) local = NULL;

  if (date <= 0)
    return g_strdup ("");
  /* In @now's zone, which the caller looked up once: g_date_time_new_from_unix_local() reads
   * the zone again for every row. */
  utc = g_date_time_new_from_unix_utc (date);
  if (utc == NULL)
    return g_strdup ("");
  local = g_date_time_to_timezone (utc, g_date_time_get_timezone (now));
  if (local == NULL)
    return g_strdup ("");
  if (g_date_time_get_year (local) == g_date_time_get_year (now)
      && g_date_time_get_day_of_year (local) == g_date_time_get_day_of_year (now))
    /* Translators: the time of a message received today (strftime format) */
    return g_date_time_format (local, C_("message date", "%H:%M"));
  if (g_date_time_get_year (local) == g_date_time_get_year (now))
    /* Translators: the date of a message received this year (strftime format) */
    return g_date_time_format (local, C_("message date", "%b %-e"));
  /* Translators: the date of an older message (strftime format) */
  return g_date_time_format (local, C_("message date", "%Y-%m-%d"));
}

/* The local time now, for dates relative to today. Looking up the local time zone costs more
 * than the rest of a row's update, and a list binds hundreds of rows at once; a few seconds
 * old is new enough ("today" goes stale by that much at midnight). */
static GDateTime *
now_local (void)
{
  static GTimeZone *zone;
  static GDateTime *now;
  static gint64 checked, zone_checked;
  gint64 mono = g_get_monotonic_time ();

  if (now == NULL || mono - checked > 5 * G_USEC_PER_SEC)
    {
      /* The zone changes when the user travels; a minute late is fine. */
      if (zone == NULL || mono - zone_checked > 60 * G_USEC_PER_SEC)
        {
          g_clear_pointer (&zone, g_time_zone_unref);
          zone = g_time_zone_new_local ();
          zone_checked = mono;
        }
      g_clear_pointer (&now, g_date_time_unref);
      now = g_date_time_new_now (zone);
      checked = mono;
    }
  return g_date_time_ref (now);
}

/* The store keeps about 200 characters of preview; a row shows a third of that. A label
 * lays out (shapes) all of its text to ellipsize it, and GTK 4.8's list view measures 200
 * rows before its first frame, so the preview, the longest text of a row, is cut at a length
 * no row is wide enough for, with the ellipsis the label would have drawn. */
#define PREVIEW_SHOWN_CHARS 120

static void
set_preview (GtkLabel   *label,
             const char *preview)
{
  const char *end;

  if (preview == NULL)
    preview = "";
  if (g_utf8_strlen (preview, PREVIEW_SHOWN_CHARS * 4 + 1) <= PREVIEW_SHOWN_CHARS)
    {
      gtk_label_set_text (label, preview);
      return;
    }
  end = g_utf8_offset_to_pointer (preview, PREVIEW_SHOWN_CHARS);
  {
    g_autofree char *cut = g_strdup_printf ("%.*s…", (int) (end - preview), preview);

    gtk_label_set_text (label, cut);
  }
}

/*
 * Rows fill their texts only when in view, or near it.
 *
 * GTK 4.8's list view makes and measures up to 200 rows whatever it shows (4.12 makes only
 * those in view), and measuring a label lays out its whole text. With every row filled, the
 * 185 rows nobody sees cost most of the time to the window's first frame. A row out of view
 * keeps empty labels (one line high each, so the list's height estimate does not change) and
 * is filled after the layout that brings it near the view, in the same frame (the frame
 * clock repeats its layout phase when a label asks for it), so it is never seen empty.
 *
 * Outside a list view (or before the list has a size) a row fills at once.
 */
static gboolean
row_in_view (PbMessageRow *self)
{
  GtkWidget *list = gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_LIST_VIEW);
  graphene_rect_t bounds;
  int height;

  if (list == NULL)
    return TRUE;
  height = gtk_widget_get_height (list);
  /* Not allocated yet: where it will be is not known. */
  if (height <= 0 || gtk_widget_get_height (GTK_WIDGET (self)) <= 0
      || !gtk_widget_compute_bounds (GTK_WIDGET (self), list, &bounds))
    return FALSE;
  /* Half a page above and below is filled ahead, for scrolling. */
  return bounds.origin.y + bounds.size.height >= -height / 2
         && bounds.origin.y <= height + height / 2;
}

typedef enum {
  MARK_UNREAD,
  MARK_ATTACHMENT,
  MARK_STAR,
  MARK_THREAD_COUNT,
} Mark;

static gboolean thread_count_tooltip_cb (GtkWidget *label, int x, int y, gboolean keyboard,
                                         GtkTooltip *tooltip, PbMessageRow *self);

static GtkWidget *
mark_new (PbMessageRow *self,
          Mark          mark)
{
  GtkWidget *widget = NULL;

  switch (mark)
    {
    case MARK_UNREAD:
      widget = gtk_image_new_from_icon_name ("media-record-symbolic");
      gtk_image_set_pixel_size (GTK_IMAGE (widget), 8);
      gtk_widget_add_css_class (widget, "unread-dot");
      /* Not a tooltip: in GTK 4.8 setting one asks the X server where the pointer is, a
       * round trip per row. Screen readers get the words. */
      gtk_accessible_update_property (GTK_ACCESSIBLE (widget),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, _("Unread"), -1);
      break;
    case MARK_ATTACHMENT:
      widget = gtk_image_new_from_icon_name ("mail-attachment-symbolic");
      gtk_widget_set_name (widget, "message-attachment");
      gtk_widget_add_css_class (widget, "dim-label");
      break;
    case MARK_STAR:
      widget = gtk_image_new_from_icon_name ("starred-symbolic");
      gtk_widget_set_name (widget, "message-star");
      gtk_widget_add_css_class (widget, "starred");
      break;
    case MARK_THREAD_COUNT:
      /* The size of a conversation, when the list shows conversations. */
      widget = plain_label ("message-thread-count", "caption");
      gtk_widget_add_css_class (widget, "dim-label");
      gtk_label_set_ellipsize (GTK_LABEL (widget), PANGO_ELLIPSIZE_NONE);
      /* Its tooltip is made when asked for: gtk_widget_set_tooltip_text() on every bind
       * would cost a round trip to the X server in GTK 4.8. */
      gtk_widget_set_has_tooltip (widget, TRUE);
      g_signal_connect (widget, "query-tooltip", G_CALLBACK (thread_count_tooltip_cb), self);
      break;
    default:
      g_assert_not_reached ();
    }
  return widget;
}

/* Shows or hides a mark, making it first if needed, in its place: the dot before the sender,
 * the others after it in the order of Mark, the date last. */
static void
set_mark (PbMessageRow *self,
          Mark          mark,
          gboolean      visible)
{
  GtkWidget **slots[] = { &self->unread_dot, &self->attachment, &self->star,
                          &self->thread_count };
  GtkWidget *after;

  if (*slots[mark] == NULL)
    {
      if (!visible)
        return;
      *slots[mark] = mark_new (self, mark);
      after = mark == MARK_UNREAD ? NULL : self->sender;
      for (int i = MARK_ATTACHMENT; i < (int) mark; i++)
        if (*slots[i] != NULL)
          after = *slots[i];
      gtk_box_insert_child_after (GTK_BOX (self->top), *slots[mark], after);
    }
  gtk_widget_set_visible (*slots[mark], visible);
}

static void
pb_message_row_clear (PbMessageRow *self)
{
  gtk_label_set_text (GTK_LABEL (self->sender), "");
  gtk_label_set_text (GTK_LABEL (self->subject), "");
  gtk_label_set_text (GTK_LABEL (self->preview), "");
  gtk_label_set_text (GTK_LABEL (self->date), "");
  set_mark (self, MARK_UNREAD, FALSE);
  set_mark (self, MARK_STAR, FALSE);
  set_mark (self, MARK_ATTACHMENT, FALSE);
  set_mark (self, MARK_THREAD_COUNT, FALSE);
}

static void pb_message_row_fill (PbMessageRow *self);

static void
pb_message_row_update (PbMessageRow *self)
{
  if (self->item != NULL && pb_message_item_get_loaded (self->item) && !row_in_view (self))
    {
      if (!self->pending)
        {
          pb_message_row_clear (self);
          gtk_widget_set_visible (self->preview, TRUE);
          self->pending = TRUE;
        }
      return;
    }
  self->pending = FALSE;
  pb_message_row_fill (self);
}

/* After each layout: the pending rows that came into view fill now. */
static void
frame_layout_cb (GdkFrameClock *clock,
                 PbMessageRow  *self)
{
  if (self->pending && row_in_view (self))
    pb_message_row_update (self);
}

static void
pb_message_row_realize (GtkWidget *widget)
{
  PbMessageRow *self = PB_MESSAGE_ROW (widget);

  GTK_WIDGET_CLASS (pb_message_row_parent_class)->realize (widget);
  /* After GTK's own layout handler, which places the rows. */
  self->layout_id = g_signal_connect_after (gtk_widget_get_frame_clock (widget), "layout",
                                            G_CALLBACK (frame_layout_cb), self);
}

static void
pb_message_row_unrealize (GtkWidget *widget)
{
  PbMessageRow *self = PB_MESSAGE_ROW (widget);

  g_clear_signal_handler (&self->layout_id, gtk_widget_get_frame_clock (widget));
  GTK_WIDGET_CLASS (pb_message_row_parent_class)->unrealize (widget);
}

static void
pb_message_row_fill (PbMessageRow *self)
{
  PbMessageItem *item = self->item;
  g_autoptr (GDateTime) now = now_local ();
  g_autofree char *date = NULL;
  const char *sender, *subject;
  PbMessageFlags flags;
  gboolean unread;
  guint n_thread;

  if (item == NULL || !pb_message_item_get_loaded (item))
    {
      pb_message_row_clear (self);
      return;
    }

  flags = pb_message_item_get_flags (item);
  unread = (flags & PB_MESSAGE_FLAG_SEEN) == 0;
  sender = pb_message_item_get_from_name (item);
  if (sender == NULL || *sender == '\0')
    sender = pb_message_item_get_from_addr (item);
  subject = pb_message_item_get_subject (item);
  date = pb_message_row_format_date (pb_message_item_get_date (item), now);

  gtk_label_set_text (GTK_LABEL (self->sender), sender != NULL ? sender : "");
  gtk_label_set_text (GTK_LABEL (self->subject),
                      subject != NULL && *subject != '\0' ? subject : _("(No subject)"));
  set_preview (GTK_LABEL (self->preview), pb_message_item_get_preview (item));
  gtk_widget_set_visible (self->preview, pb_message_item_get_preview (item) != NULL
                          && *pb_message_item_get_preview (item) != '\0');
  gtk_label_set_text (GTK_LABEL (self->date), date);
  set_mark (self, MARK_UNREAD, unread);
  set_mark (self, MARK_STAR, (flags & PB_MESSAGE_FLAG_FLAGGED) != 0);
  set_mark (self, MARK_ATTACHMENT, pb_message_item_get_has_attachment (item));
  n_thread = pb_message_item_get_thread_count (item);
  set_mark (self, MARK_THREAD_COUNT, n_thread > 1);
  if (n_thread > 1)
    {
      g_autofree char *count = g_strdup_printf ("%u", n_thread);

      gtk_label_set_text (GTK_LABEL (self->thread_count), count);
    }
  if (unread)
    gtk_widget_add_css_class (GTK_WIDGET (self), "unread");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "unread");
}

/* The conversation size's tooltip, asked for when shown (see pb_message_row_init()). */
static gboolean
thread_count_tooltip_cb (GtkWidget    *label,
                         int           x,
                         int           y,
                         gboolean      keyboard,
                         GtkTooltip   *tooltip,
                         PbMessageRow *self)
{
  guint n_thread = self->item != NULL ? pb_message_item_get_thread_count (self->item) : 0;
  g_autofree char *text = NULL;

  if (n_thread < 2)
    return FALSE;
  text = g_strdup_printf (ngettext ("%u message in this conversation",
                                    "%u messages in this conversation", n_thread), n_thread);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
item_notify_cb (PbMessageRow *self)
{
  pb_message_row_update (self);
}

GtkWidget *
pb_message_row_new (void)
{
  return g_object_new (PB_TYPE_MESSAGE_ROW, NULL);
}

PbMessageItem *
pb_message_row_get_item (PbMessageRow *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ROW (self), NULL);
  return self->item;
}

void
pb_message_row_set_item (PbMessageRow  *self,
                         PbMessageItem *item)
{
  g_return_if_fail (PB_IS_MESSAGE_ROW (self));

  if (self->item == item)
    return;
  if (self->item != NULL)
    g_clear_signal_handler (&self->notify_id, self->item);
  g_set_object (&self->item, item);
  if (item != NULL)
    self->notify_id = g_signal_connect_swapped (item, "notify", G_CALLBACK (item_notify_cb),
                                                self);
  pb_message_row_update (self);
}

/* For tests: how many rows exist, to check that a long list makes only what it shows. */
guint
pb_message_row_get_n_alive (void)
{
  return (guint) g_atomic_int_get (&n_alive);
}

static void
pb_message_row_dispose (GObject *object)
{
  PbMessageRow *self = PB_MESSAGE_ROW (object);

  pb_message_row_set_item (self, NULL);
  g_clear_pointer (&self->box, gtk_widget_unparent);

  G_OBJECT_CLASS (pb_message_row_parent_class)->dispose (object);
}

static void
pb_message_row_finalize (GObject *object)
{
  g_atomic_int_add (&n_alive, -1);

  G_OBJECT_CLASS (pb_message_row_parent_class)->finalize (object);
}

static void
pb_message_row_class_init (PbMessageRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pb_message_row_dispose;
  object_class->finalize = pb_message_row_finalize;

  widget_class->realize = pb_message_row_realize;
  widget_class->unrealize = pb_message_row_unrealize;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "messagerow");
}

static void
pb_message_row_init (PbMessageRow *self)
{
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  g_atomic_int_inc (&n_alive);
  gtk_widget_set_name (GTK_WIDGET (self), "message-row");
  gtk_widget_add_css_class (GTK_WIDGET (self), "message-row");

  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));

  self->sender = plain_label ("message-sender", "sender");
  gtk_widget_set_hexpand (self->sender, TRUE);
  self->date = plain_label ("message-date", "caption");
  gtk_widget_add_css_class (self->date, "dim-label");
  gtk_label_set_ellipsize (GTK_LABEL (self->date), PANGO_ELLIPSIZE_NONE);
  self->subject = plain_label ("message-subject", "subject");
  self->preview = plain_label ("message-preview", "caption");
  gtk_widget_add_css_class (self->preview, "dim-label");

  self->top = top;
  gtk_box_append (GTK_BOX (top), self->sender);
  gtk_box_append (GTK_BOX (top), self->date);
  gtk_box_append (GTK_BOX (self->box), top);
  gtk_box_append (GTK_BOX (self->box), self->subject);
  gtk_box_append (GTK_BOX (self->box), self->preview);

  pb_message_row_update (self);
}
