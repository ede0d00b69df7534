/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-store"

#include "config.h"

#include "pb-message-summary.h"

G_DEFINE_BOXED_TYPE (PbMessageSummary, pb_message_summary,
                     pb_message_summary_copy, pb_message_summary_free)

static const struct {
  PbMessageFlags  flag;
  const char     *keyword;
} flag_keywords[] = {
  { PB_MESSAGE_FLAG_SEEN, "\\Seen" },
  { PB_MESSAGE_FLAG_ANSWERED, "\\Answered" },
  { PB_MESSAGE_FLAG_FLAGGED, "\\Flagged" },
  { PB_MESSAGE_FLAG_DELETED, "\\Deleted" },
  { PB_MESSAGE_FLAG_DRAFT, "\\Draft" },
  { PB_MESSAGE_FLAG_FORWARDED, "$Forwarded" },
  { PB_MESSAGE_FLAG_JUNK, "$Junk" },
  { PB_MESSAGE_FLAG_NOTJUNK, "$NotJunk" },
};

/**
 * pb_message_flag_from_keyword:
 * @keyword: an IMAP flag or keyword such as `\Seen` or `$Junk`
 *
 * Returns: the flag bit for @keyword (compared without regard to ASCII case, as IMAP does), or
 *   %PB_MESSAGE_FLAG_NONE when the store keeps it as text
 */
PbMessageFlags
pb_message_flag_from_keyword (const char *keyword)
{
  g_return_val_if_fail (keyword != NULL, PB_MESSAGE_FLAG_NONE);

  for (guint i = 0; i < G_N_ELEMENTS (flag_keywords); i++)
    if (g_ascii_strcasecmp (keyword, flag_keywords[i].keyword) == 0)
      return flag_keywords[i].flag;
  return PB_MESSAGE_FLAG_NONE;
}

/**
 * pb_message_flag_to_keyword:
 * @flag: exactly one flag bit
 *
 * Returns: (nullable): the IMAP spelling of @flag, or %NULL if @flag is not a single known bit
 */
const char *
pb_message_flag_to_keyword (PbMessageFlags flag)
{
  for (guint i = 0; i < G_N_ELEMENTS (flag_keywords); i++)
    if (flag_keywords[i].flag == flag)
      return flag_keywords[i].keyword;
  return NULL;
}

PbMessageSummary *
pb_message_summary_new (void)
{
  return g_new0 (PbMessageSummary, 1);
}

PbMessageSummary *
pb_message_summary_copy (const PbMessageSummary *self)
{
  PbMessageSummary *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_memdup2 (self, sizeof *self);
  copy->keywords = g_strdup (self->keywords);
  copy->subject = g_strdup (self->subject);
  copy->from_name = g_strdup (self->from_name);
  copy->from_addr = g_strdup (self->from_addr);
  copy->to_list = g_strdup (self->to_list);
  copy->cc_list = g_strdup (self->cc_list);
  copy->message_id = g_strdup (self->message_id);
  copy->in_reply_to = g_strdup (self->in_reply_to);
  copy->references = g_strdup (self->references);
  copy->preview = g_strdup (self->preview);
  copy->account = g_strdup (self->account);
  copy->folder_path = g_strdup (self->folder_path);
  return copy;
}

void
pb_message_summary_free (PbMessageSummary *self)
{
  if (self == NULL)
    return;

  g_free (self->keywords);
  g_free (self->subject);
  g_free (self->from_name);
  g_free (self->from_addr);
  g_free (self->to_list);
  g_free (self->cc_list);
  g_free (self->message_id);
  g_free (self->in_reply_to);
  g_free (self->references);
  g_free (self->preview);
  g_free (self->account);
  g_free (self->folder_path);
  g_free (self);
}

static void
uid_flags_clear (gpointer data)
{
  PbUidFlags *entry = data;

  g_clear_pointer (&entry->keywords, g_free);
}

/**
 * pb_uid_flags_array_new:
 * @reserved_size: how many entries to make room for
 *
 * Returns: (transfer full) (element-type PbUidFlags): an empty array that frees the keywords
 *   of its entries
 */
GArray *
pb_uid_flags_array_new (guint reserved_size)
{
  GArray *array = g_array_sized_new (FALSE, TRUE, sizeof (PbUidFlags), reserved_size);

  g_array_set_clear_func (array, uid_flags_clear);
  return array;
}
