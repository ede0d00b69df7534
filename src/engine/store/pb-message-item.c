/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include "pb-message-item-private.h"

/*
 * A message list row. PbMessageList creates items empty (placeholders) and fills them in place
 * when their page arrives from the store, so that the object a list view bound first is the one
 * that later shows the message. The store row id is kept privately: the list uses it, with the
 * date, to follow a message to its new position when the folder changes.
 */

struct _PbMessageItem
{
  GObject         parent_instance;

  gint64          id;
  gint64          folder_id;
  guint32         uid;
  PbMessageFlags  flags;
  gint64          date;
  char           *subject;
  char           *from_name;
  char           *from_addr;
  char           *preview;
  gboolean        has_attachment;
  guint           thread_count;
  gboolean        loaded;
};

G_DEFINE_FINAL_TYPE (PbMessageItem, pb_message_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_FOLDER_ID,
  PROP_UID,
  PROP_SUBJECT,
  PROP_FROM_NAME,
  PROP_FROM_ADDR,
  PROP_DATE,
  PROP_FLAGS,
  PROP_PREVIEW,
  PROP_HAS_ATTACHMENT,
  PROP_THREAD_COUNT,
  PROP_LOADED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Items alive in the process, for the memory bound in tests. */
static gint n_alive;

static void
pb_message_item_finalize (GObject *object)
{
  PbMessageItem *self = PB_MESSAGE_ITEM (object);

  g_free (self->subject);
  g_free (self->from_name);
  g_free (self->from_addr);
  g_free (self->preview);
  g_atomic_int_add (&n_alive, -1);

  G_OBJECT_CLASS (pb_message_item_parent_class)->finalize (object);
}

static void
pb_message_item_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  PbMessageItem *self = PB_MESSAGE_ITEM (object);

  switch (prop_id)
    {
    case PROP_FOLDER_ID:
      g_value_set_int64 (value, self->folder_id);
      break;
    case PROP_UID:
      g_value_set_uint (value, self->uid);
      break;
    case PROP_SUBJECT:
      g_value_set_string (value, self->subject);
      break;
    case PROP_FROM_NAME:
      g_value_set_string (value, self->from_name);
      break;
    case PROP_FROM_ADDR:
      g_value_set_string (value, self->from_addr);
      break;
    case PROP_DATE:
      g_value_set_int64 (value, self->date);
      break;
    case PROP_FLAGS:
      g_value_set_uint (value, self->flags);
      break;
    case PROP_PREVIEW:
      g_value_set_string (value, self->preview);
      break;
    case PROP_HAS_ATTACHMENT:
      g_value_set_boolean (value, self->has_attachment);
      break;
    case PROP_THREAD_COUNT:
      g_value_set_uint (value, self->thread_count);
      break;
    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_message_item_class_init (PbMessageItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = pb_message_item_finalize;
  object_class->get_property = pb_message_item_get_property;

  /**
   * PbMessageItem:folder-id:
   *
   * The store's folder the message is in.
   */
  properties[PROP_FOLDER_ID] =
    g_param_spec_int64 ("folder-id", NULL, NULL, 0, G_MAXINT64, 0, flags);
  /**
   * PbMessageItem:uid:
   *
   * The message's UID in its folder; 0 while the item is not loaded.
   */
  properties[PROP_UID] = g_param_spec_uint ("uid", NULL, NULL, 0, G_MAXUINT32, 0, flags);
  /**
   * PbMessageItem:subject:
   *
   * The decoded subject, or %NULL.
   */
  properties[PROP_SUBJECT] = g_param_spec_string ("subject", NULL, NULL, NULL, flags);
  /**
   * PbMessageItem:from-name:
   *
   * The display name of the first sender, or %NULL.
   */
  properties[PROP_FROM_NAME] = g_param_spec_string ("from-name", NULL, NULL, NULL, flags);
  /**
   * PbMessageItem:from-addr:
   *
   * The address of the first sender, or %NULL.
   */
  properties[PROP_FROM_ADDR] = g_param_spec_string ("from-addr", NULL, NULL, NULL, flags);
  /**
   * PbMessageItem:date:
   *
   * When the message was sent (Unix time), the order of the list.
   */
  properties[PROP_DATE] =
    g_param_spec_int64 ("date", NULL, NULL, G_MININT64, G_MAXINT64, 0, flags);
  /**
   * PbMessageItem:flags:
   *
   * The #PbMessageFlags of the message.
   */
  properties[PROP_FLAGS] = g_param_spec_uint ("flags", NULL, NULL, 0, G_MAXUINT, 0, flags);
  /**
   * PbMessageItem:preview:
   *
   * About 200 characters of the body text, or %NULL before the body was downloaded.
   */
  properties[PROP_PREVIEW] = g_param_spec_string ("preview", NULL, NULL, NULL, flags);
  /**
   * PbMessageItem:has-attachment:
   *
   * Whether the message carries an attachment (known once the body was downloaded).
   */
  properties[PROP_HAS_ATTACHMENT] =
    g_param_spec_boolean ("has-attachment", NULL, NULL, FALSE, flags);
  /**
   * PbMessageItem:thread-count:
   *
   * How many messages the conversation of this message has, in all folders of its account,
   * when the item comes from a list of conversations (#PbMessageList:threads); else 1.
   */
  properties[PROP_THREAD_COUNT] =
    g_param_spec_uint ("thread-count", NULL, NULL, 0, G_MAXUINT, 1, flags);
  /**
   * PbMessageItem:loaded:
   *
   * Whether the item shows a message; %FALSE while it is a placeholder waiting for the store.
   */
  properties[PROP_LOADED] = g_param_spec_boolean ("loaded", NULL, NULL, FALSE, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pb_message_item_init (PbMessageItem *self)
{
  self->thread_count = 1;
  g_atomic_int_inc (&n_alive);
}

/* Private API for PbMessageList */

PbMessageItem *
pb_message_item_new (gint64 folder_id)
{
  PbMessageItem *self = g_object_new (PB_TYPE_MESSAGE_ITEM, NULL);

  self->folder_id = folder_id;
  return self;
}

static void
set_string (PbMessageItem  *self,
            char          **field,
            const char     *value,
            guint           prop_id)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

#define SET_VALUE(field, value, prop_id) \
  G_STMT_START { \
    if (self->field != (value)) \
      { \
        self->field = (value); \
        g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]); \
      } \
  } G_STMT_END

/* Shows @summary; notifies (once each, after all fields are set) what changed. */
void
pb_message_item_update (PbMessageItem          *self,
                        const PbMessageSummary *summary)
{
  g_return_if_fail (PB_IS_MESSAGE_ITEM (self));
  g_return_if_fail (summary != NULL);

  self->id = summary->id;
  /* Placeholders of the unified inbox learn their folder here. */
  if (summary->folder_id != 0)
    self->folder_id = summary->folder_id;
  /* A refresh fills thousands of items that did not change; they cost a comparison each. */
  if (self->loaded && self->uid == summary->uid && self->date == summary->date
      && self->flags == summary->flags && self->has_attachment == (summary->has_attachment != FALSE)
      && g_strcmp0 (self->subject, summary->subject) == 0
      && g_strcmp0 (self->from_name, summary->from_name) == 0
      && g_strcmp0 (self->from_addr, summary->from_addr) == 0
      && g_strcmp0 (self->preview, summary->preview) == 0
      && self->thread_count == MAX (summary->thread_count, 1))
    return;

  g_object_freeze_notify (G_OBJECT (self));
  SET_VALUE (uid, summary->uid, PROP_UID);
  set_string (self, &self->subject, summary->subject, PROP_SUBJECT);
  set_string (self, &self->from_name, summary->from_name, PROP_FROM_NAME);
  set_string (self, &self->from_addr, summary->from_addr, PROP_FROM_ADDR);
  SET_VALUE (date, summary->date, PROP_DATE);
  SET_VALUE (flags, summary->flags, PROP_FLAGS);
  set_string (self, &self->preview, summary->preview, PROP_PREVIEW);
  SET_VALUE (has_attachment, summary->has_attachment != FALSE, PROP_HAS_ATTACHMENT);
  SET_VALUE (thread_count, MAX (summary->thread_count, 1), PROP_THREAD_COUNT);
  SET_VALUE (loaded, TRUE, PROP_LOADED);
  g_object_thaw_notify (G_OBJECT (self));
}

#undef SET_VALUE

/**
 * pb_message_item_new_for_summary:
 * @summary: a message read from the store (e.g. a search result)
 *
 * An item that shows @summary, for lists that are not a #PbMessageList.
 *
 * Returns: (transfer full): a loaded item
 */
PbMessageItem *
pb_message_item_new_for_summary (const PbMessageSummary *summary)
{
  PbMessageItem *self;

  g_return_val_if_fail (summary != NULL, NULL);

  self = pb_message_item_new (summary->folder_id);
  pb_message_item_update (self, summary);
  return self;
}

/* The store's row id, the identity of the message; 0 while not loaded. */
gint64
pb_message_item_get_id (PbMessageItem *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ITEM (self), 0);
  return self->id;
}

guint
pb_message_item_get_n_alive (void)
{
  return (guint) g_atomic_int_get (&n_alive);
}

/* Public getters */

/**
 * pb_message_item_get_folder_id:
 *
 * Returns: the store's folder id of the message
 */
gint64
pb_message_item_get_folder_id (PbMessageItem *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ITEM (self), 0);
  return self->folder_id;
}

/**
 * pb_message_item_get_uid:
 *
 * Returns: the message's UID, 0 while the item is not loaded
 */
guint32
pb_message_item_get_uid (PbMessageItem *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ITEM (self), 0);
  return self->uid;
}

/**
 * pb_message_item_get_subject:
 *
 * Returns: (nullable): the decoded subject
 */
const char *
pb_message_item_get_subject (PbMessageItem *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ITEM (self), NULL);
  return self->subject;
}

/**
 * pb_message_item_get_from_name:
 *
 * Returns: (nullable): the display name of the first sender
 */
const char *
pb_message_item_get_from_name (PbMessageItem *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ITEM (self), NULL);
  return self->from_name;
}

/**
 * pb_message_item_get_from_addr:
 *
 * Returns: (nullable): the address of the first sender
 */
const char *
pb_message_item_get_from_addr (PbMessageItem *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ITEM (self), NULL);
  return self->from_addr;
}

/**
 * pb_message_item_get_date:
 *
 * Returns: the date of the message (Unix time)
 */
gint64
pb_message_item_get_date (PbMessageItem *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ITEM (self), 0);
  return self->date;
}

/**
 * pb_message_item_get_flags:
 *
 * Returns: the flags of the message
 */
PbMessageFlags
pb_message_item_get_flags (PbMessageItem *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ITEM (self), PB_MESSAGE_FLAG_NONE);
  return self->flags;
}

/**
 * pb_message_item_get_preview:
 *
 * Returns: (nullable): the start of the body text
 */
const char *
pb_message_item_get_preview (PbMessageItem *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ITEM (self), NULL);
  return self->preview;
}

/**
 * pb_message_item_get_has_attachment:
 *
 * Returns: whether the message carries an attachment
 */
gboolean
pb_message_item_get_has_attachment (PbMessageItem *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ITEM (self), FALSE);
  return self->has_attachment;
}

/**
 * pb_message_item_get_loaded:
 *
 * Returns: whether the item shows a message yet
 */
gboolean
pb_message_item_get_loaded (PbMessageItem *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ITEM (self), FALSE);
  return self->loaded;
}

/**
 * pb_message_item_get_thread_count:
 *
 * Returns: how many messages the message's conversation has (see #PbMessageItem:thread-count)
 */
guint
pb_message_item_get_thread_count (PbMessageItem *self)
{
  g_return_val_if_fail (PB_IS_MESSAGE_ITEM (self), 1);
  return self->thread_count;
}
