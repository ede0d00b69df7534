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
  GtkWidget     *unread_dot;
  GtkWidget     *sender;
  GtkWidget     *attachment;
  GtkWidget     *star;
  GtkWidget     *thread_count;
  GtkWidget     *date;
  GtkWidget     *subject;
  GtkWidget     *preview;
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

static void
pb_message_row_update (PbMessageRow *self)
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
      gtk_label_set_text (GTK_LABEL (self->sender), "");
      gtk_label_set_text (GTK_LABEL (self->subject), "");
      gtk_label_set_text (GTK_LABEL (self->preview), "");
      gtk_label_set_text (GTK_LABEL (self->date), "");
      gtk_widget_set_visible (self->unread_dot, FALSE);
      gtk_widget_set_visible (self->star, FALSE);
      gtk_widget_set_visible (self->attachment, FALSE);
      gtk_widget_set_visible (self->thread_count, FALSE);
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
  gtk_label_set_text (GTK_LABEL (self->preview),
                      pb_message_item_get_preview (item) != NULL
                      ? pb_message_item_get_preview (item) : "");
  gtk_widget_set_visible (self->preview, pb_message_item_get_preview (item) != NULL
                          && *pb_message_item_get_preview (item) != '\0');
  gtk_label_set_text (GTK_LABEL (self->date), date);
  gtk_widget_set_visible (self->unread_dot, unread);
  gtk_widget_set_visible (self->star, (flags & PB_MESSAGE_FLAG_FLAGGED) != 0);
  gtk_widget_set_visible (self->attachment, pb_message_item_get_has_attachment (item));
  n_thread = pb_message_item_get_thread_count (item);
  if (n_thread > 1)
    {
      g_autofree char *count = g_strdup_printf ("%u", n_thread);

      gtk_label_set_text (GTK_LABEL (self->thread_count), count);
    }
  gtk_widget_set_visible (self->thread_count, n_thread > 1);
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

  self->unread_dot = gtk_image_new_from_icon_name ("media-record-symbolic");
  gtk_image_set_pixel_size (GTK_IMAGE (self->unread_dot), 8);
  gtk_widget_add_css_class (self->unread_dot, "unread-dot");
  /* Not a tooltip: in GTK 4.8 setting one asks the X server where the pointer is, a round
   * trip per row, and a list makes 200 rows at once. Screen readers get the words. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->unread_dot),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Unread"), -1);
  self->sender = plain_label ("message-sender", "sender");
  gtk_widget_set_hexpand (self->sender, TRUE);
  self->attachment = gtk_image_new_from_icon_name ("mail-attachment-symbolic");
  gtk_widget_set_name (self->attachment, "message-attachment");
  gtk_widget_add_css_class (self->attachment, "dim-label");
  self->star = gtk_image_new_from_icon_name ("starred-symbolic");
  gtk_widget_set_name (self->star, "message-star");
  gtk_widget_add_css_class (self->star, "starred");
  /* The size of a conversation, when the list shows conversations. */
  self->thread_count = plain_label ("message-thread-count", "caption");
  gtk_widget_add_css_class (self->thread_count, "dim-label");
  gtk_label_set_ellipsize (GTK_LABEL (self->thread_count), PANGO_ELLIPSIZE_NONE);
  gtk_widget_set_visible (self->thread_count, FALSE);
  /* Its tooltip is made when asked for: setting one with gtk_widget_set_tooltip_text() on
   * every bind costs a round trip to the X server in GTK 4.8. */
  gtk_widget_set_has_tooltip (self->thread_count, TRUE);
  g_signal_connect (self->thread_count, "query-tooltip", G_CALLBACK (thread_count_tooltip_cb),
                    self);
  self->date = plain_label ("message-date", "caption");
  gtk_widget_add_css_class (self->date, "dim-label");
  gtk_label_set_ellipsize (GTK_LABEL (self->date), PANGO_ELLIPSIZE_NONE);
  self->subject = plain_label ("message-subject", "subject");
  self->preview = plain_label ("message-preview", "caption");
  gtk_widget_add_css_class (self->preview, "dim-label");

  gtk_box_append (GTK_BOX (top), self->unread_dot);
  gtk_box_append (GTK_BOX (top), self->sender);
  gtk_box_append (GTK_BOX (top), self->attachment);
  gtk_box_append (GTK_BOX (top), self->star);
  gtk_box_append (GTK_BOX (top), self->thread_count);
  gtk_box_append (GTK_BOX (top), self->date);
  gtk_box_append (GTK_BOX (self->box), top);
  gtk_box_append (GTK_BOX (self->box), self->subject);
  gtk_box_append (GTK_BOX (self->box), self->preview);

  pb_message_row_update (self);
}
